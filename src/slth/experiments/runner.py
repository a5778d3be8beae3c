"""Run a sweep: every (cell, trial) of a spec, resumable, over local devices and processes, with a progress bar.

- Unit of work: one trial of one cell, one row of the table (:mod:`slth.experiments.store`), made
  by the kind's ``rows`` (:mod:`slth.experiments.kinds`) for trial t with seed ``seed + t``: one
  trial per call, or all the trials of a cell in one batch where the kind is ``BATCHED``.
- Before anything is written, :func:`preflight` checks what can be checked (the results folder, the
  float64 flag, the memory and disk budget); a spec is already validated in range when it is loaded.
- Resume: units whose rows are in a journal are skipped, so an interrupted sweep (Ctrl-C, kill -9, a
  full disk) started again computes only what is missing, and the final table has every row exactly
  once. One run per results folder at a time (the store's locks); ``wait=True`` queues behind another.
- Ctrl-C: while a sweep runs, the first SIGINT only asks it to stop, which it does between two units
  (writing the rows so far as ``results.csv``) by raising KeyboardInterrupt; a second SIGINT ends the
  process at once with status 130 (``os._exit``; committed rows are safe, a torn line is dropped on
  the next run). Why not Python's default KeyboardInterrupt: raised while the main thread waited
  for a jit compilation, it left that compilation running on XLA's compile thread pool; at exit the
  garbage collector freed the CPU client (its devices first, then the pool, whose destructor joins
  the thread), and the compilation, still making the executable's shardings, read a freed device:
  SIGSEGV in ``xla::ifrt::SingleDeviceSharding::Create`` during ``Py_FinalizeEx``. Between two units
  nothing is compiling, so the interpreter exits cleanly.
- Local devices: the batch of per-weight problems of every ticket is sharded over all local JAX
  devices with ``jax.sharding`` (the subset-sum engine's mesh, the selection chooser's mesh); the
  rows do not depend on the number of devices.
- Processes (``jax.distributed``): process k of n takes the units with index ≡ k (mod n) and writes
  its own journal; after a barrier process 0 writes the table, the summary and the fits.
- Compilation: widths are evaluated in shape buckets (:func:`slth.measure.width.shape_bucket`), so a
  sweep compiles once per bucket and repeating a cell compiles nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
from pathlib import Path

from slth import budget, compiled, precision, provenance
from slth.errors import InputError
from slth.experiments import kinds, summary
from slth.experiments.spec import Cell, Spec
from slth.experiments.store import Store

#: Exit status of a process ended by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a run did: ``computed`` units this call, ``skipped`` (already in the journals),
    ``rows`` the whole table (process 0; empty for the others), ``report`` the summary text,
    ``dropped`` one line per damaged journal line that was dropped (its unit computed again)."""

    directory: str
    computed: int
    skipped: int
    rows: list
    report: str
    dropped: tuple[str, ...] = ()


class _Interrupt:
    """The SIGINT handler of :func:`deferred_interrupts`."""

    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame) -> None:
        if self.requested:
            _say(b"slth: interrupted again: stopping now (committed rows are kept)\n")
            os._exit(EXIT_INTERRUPTED)
        self.requested = True
        _say(b"slth: interrupted: stopping after the current trial (Ctrl-C again to stop now)\n")

    def check(self) -> None:
        """Raise KeyboardInterrupt if SIGINT arrived: call it only where no XLA work is in flight."""
        if self.requested:
            raise KeyboardInterrupt


def _say(line: bytes) -> None:
    # os.write, not sys.stderr: the handler may run inside a write of the progress bar; and an error
    # here (a closed stderr) would be raised wherever the main thread happens to be
    try:
        os.write(2, line)
    except OSError:
        pass


@contextlib.contextmanager
def deferred_interrupts():
    """While the block runs, SIGINT only records the request (``.check()`` raises KeyboardInterrupt
    where it is safe); a second SIGINT exits at once with status 130. Nested blocks share the
    outer handler; off the main thread (where no signal arrives) and where SIGINT is ignored, nothing
    is installed."""
    current = signal.getsignal(signal.SIGINT)
    if isinstance(current, _Interrupt):
        yield current
        return
    handler = _Interrupt()
    if threading.current_thread() is not threading.main_thread() or current == signal.SIG_IGN:
        yield handler
        return
    signal.signal(signal.SIGINT, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGINT, current)
    handler.check()   # a request that came after the block's last check is honoured on the way out


def preflight(spec: Spec, results: str = "results", *, process_index: int = 0, process_count: int = 1) -> Path:
    """Every check that can refuse a run before it creates or writes anything; returns the results
    folder ``<results>/<spec.name>``.

    This is the one place for checks that must pass before the results folder exists. The spec's
    values were validated in range when it was loaded (:func:`slth.experiments.spec.parse`: seeds,
    counts, sizes); here come the process index, the folder (a directory of this
    spec, or absent with a writable parent) and the memory and disk the cells need
    (:func:`slth.budget.check_spec`). Process k > 0 checks its folder once process 0 has made it
    (:meth:`Store.open`)."""
    if not 0 <= process_index < process_count:
        raise InputError(f"process index {process_index} must be in [0, {process_count})")
    directory = Path(results) / spec.name
    if process_index == 0:
        Store(results, spec).check()
        existing = directory
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise InputError(f"results path {str(existing)!r} is not a directory: cannot create {directory} in it")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise InputError(f"results folder {str(existing)!r} is not writable: pass --results to write elsewhere")
    # The memory (and disk) budget of the sweep: the single place it is checked before a run.
    budget.check_spec(spec, results=results)
    return directory


@precision.float64
def run(spec: Spec, *, results: str = "results", progress: bool | None = None,
        process_index: int = 0, process_count: int = 1, barrier=None, wait: bool = False) -> RunResult:
    """Execute ``spec`` into ``<results>/<spec.name>/`` (see the module docstring), with JAX's 64-bit
    mode on for the call (:mod:`slth.precision`), as under ``slth run``.

    Args:
      spec: a validated :class:`~slth.experiments.spec.Spec`.
      results: root directory of results. progress: True (always), False (never) or None (when
        stderr is a terminal): a tqdm bar on stderr with trials done, cells done and the estimated
        time left. process_index, process_count: this process's share.
      barrier: callable run after this process's share, before process 0 assembles (a
        ``jax.distributed`` barrier); None in a single process.
      wait: if another run holds the results folder, wait for it (then resume from its rows)
        instead of refusing.

    Raises:
      InputError: a folder of another spec, a folder another run holds (without ``wait``), a full
        disk; KeyboardInterrupt: SIGINT, raised between two units.
    """
    with deferred_interrupts() as interrupt:
        preflight(spec, results, process_index=process_index, process_count=process_count)
        store = Store(results, spec, process=process_index, processes=process_count)
        on_wait = _announce_wait(interrupt) if wait else None
        if process_index == 0:
            store.open(on_wait=on_wait)
        try:
            if barrier is not None:
                barrier("slth-open")
            if process_index != 0:
                store.open(on_wait=on_wait)   # checks that process 0 made it for this spec
            interrupt.check()
            return _run_units(spec, store, interrupt, progress, process_index, process_count, barrier)
        finally:
            store.close()


def _announce_wait(interrupt: _Interrupt):
    said = []

    def on_wait(holder: str) -> None:
        interrupt.check()
        if not said:
            print(f"slth run: waiting for {holder} (--wait)", file=sys.stderr, flush=True)
            said.append(holder)

    return on_wait


def _run_units(spec: Spec, store: Store, interrupt: _Interrupt, progress, process_index: int,
               process_count: int, barrier) -> RunResult:
    from tqdm import tqdm

    units = [u for i, u in enumerate(spec.units()) if i % process_count == process_index]
    done, dropped = store.scan()
    todo = [(cell, t) for cell, t in units if (cell.key, t) not in done]
    meta = _provenance()
    bar = tqdm(total=len(units), initial=len(units) - len(todo), unit="trial", file=sys.stderr,
               disable=(None if progress is None else not progress), dynamic_ncols=True,
               desc=f"{spec.name}" + (f" [p{process_index}/{process_count}]" if process_count > 1 else ""))
    remaining: dict[str, int] = {}
    for cell, _ in todo:
        remaining[cell.key] = remaining.get(cell.key, 0) + 1
    cells_total = len({cell.key for cell, _ in units})
    cells_done = cells_total - len(remaining)

    def advance(cell: Cell, n: int) -> None:
        nonlocal cells_done
        remaining[cell.key] -= n
        cells_done += remaining[cell.key] == 0
        bar.set_postfix_str(f"cells {cells_done}/{cells_total}", refresh=False)
        bar.update(n)

    bar.set_postfix_str(f"cells {cells_done}/{cells_total}", refresh=False)
    try:
        # interrupt.check() before each unit: the previous unit's results are on the host by now, so
        # no XLA work is in flight when KeyboardInterrupt unwinds
        for cell, trials in _batches(todo, spec.plan.BATCHED):
            interrupt.check()
            store.append(spec.plan.rows(spec, cell, trials, meta))
            advance(cell, len(trials))
            compiled.relieve()   # a sweep runs many shapes in one process (see slth.compiled)
        interrupt.check()
    except KeyboardInterrupt:
        bar.close()
        if process_count == 1:
            text, _, complete = store.table()
            store.write(text, complete=complete)   # the rows so far, readable while the rest waits
        raise
    finally:
        bar.close()
    if barrier is not None:
        barrier("slth-done")
    if process_index != 0:
        return RunResult(str(store.dir), len(todo), len(units) - len(todo), [], "", tuple(dropped))
    text, rows, complete = store.table()
    report = summary.write(spec, rows, store.dir, text, complete=complete)
    interrupt.check()
    return RunResult(str(store.dir), len(todo), len(units) - len(todo), rows, report, tuple(dropped))


def _provenance() -> dict:
    p = provenance.record()
    return {**{k: p["versions"].get(k) for k in ("slth", "jax", "jaxlib", "numpy", "scipy", "python")},
            "device": p["device"], "git_revision": p["git_revision"]}


def _batches(todo: list[tuple[Cell, int]], batched: bool) -> list[tuple[Cell, list[int]]]:
    """The calls of a kind's ``rows``: every unit alone, or (``batched``) the units of a cell together."""
    if not batched:
        return [(cell, [t]) for cell, t in todo]
    by_cell: dict[str, tuple[Cell, list[int]]] = {}
    for cell, t in todo:
        by_cell.setdefault(cell.key, (cell, []))[1].append(t)
    return list(by_cell.values())


# The kinds' helpers under the names tests and benchmarks import from here.
coverage_candidates = kinds.coverage.candidates
weight_targets = kinds.weight_error.targets_grid
