"""Run a sweep: every (cell, trial) of a spec, resumable, with a progress bar, over local devices and,
with ``jax.distributed``, over processes.

- Unit of work: one trial of one cell, one row of the table (:mod:`slth.experiments.store`).
  Width cells run :func:`slth.measure.trial_width` for trial t with seed ``seed + t`` (target and
  network, as ``slth prune --seed``); coverage cells draw all their trials in one batch.
- Resume: units whose rows are in a journal are skipped, so an interrupted sweep (Ctrl-C, kill -9)
  started again computes only what is missing, and the final table has every row exactly once.
- Local devices: the batch of per-weight problems of every ticket is sharded over all local JAX
  devices with ``jax.sharding`` (the subset-sum engine's mesh, the selection chooser's mesh); the
  rows do not depend on the number of devices.
- Processes (``jax.distributed``): process k of n takes the units with index ≡ k (mod n) and writes
  its own journal; after a barrier process 0 writes the table, the summary and the fits.
- Compilation: widths are evaluated in shape buckets (:func:`slth.measure.width.shape_bucket`), so a
  sweep compiles once per bucket and repeating a cell compiles nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from slth import nets, subset_sum
from slth.errors import InputError
from slth.experiments import provenance, summary
from slth.experiments.spec import Cell, Spec
from slth.experiments.store import Store
from slth.measure.width import trial_width


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a run did: ``computed`` units this call, ``skipped`` (already in the journals),
    ``rows`` the whole table (process 0; empty for the others), ``report`` the summary text."""

    directory: str
    computed: int
    skipped: int
    rows: list
    report: str


def run(spec: Spec, *, results: str = "results", progress: bool | None = None,
        process_index: int = 0, process_count: int = 1, barrier=None) -> RunResult:
    """Execute ``spec`` into ``<results>/<spec.name>/`` (see the module docstring).

    Args:
      spec: a validated :class:`~slth.experiments.spec.Spec`.
      results: root directory of results. progress: True (always), False (never) or None (when
        stderr is a terminal): a tqdm bar on stderr with trials done, cells done and the estimated
        time left. process_index, process_count: this process's share.
      barrier: callable run after this process's share, before process 0 assembles (a
        ``jax.distributed`` barrier); None in a single process.
    """
    from tqdm import tqdm

    if not 0 <= process_index < process_count:
        raise InputError(f"process index {process_index} must be in [0, {process_count})")
    if not jax.config.jax_enable_x64:
        raise InputError("a sweep measures in float64: enable jax_enable_x64 (the slth command does)")
    store = Store(results, spec, process=process_index)
    if process_index == 0:
        store.open()
    if barrier is not None:
        barrier("slth-open")
    if process_index != 0:
        store.open()   # now only checks that process 0 made it for this spec
    units = [u for i, u in enumerate(spec.units()) if i % process_count == process_index]
    done = store.done()
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
        if spec.kind in _PER_TRIAL:
            for cell, t in todo:
                store.append([_PER_TRIAL[spec.kind](spec, cell, t, meta)])
                advance(cell, 1)
        else:
            by_cell: dict[str, list[int]] = {}
            cells = {}
            for cell, t in todo:
                by_cell.setdefault(cell.key, []).append(t)
                cells[cell.key] = cell
            for key, trials in by_cell.items():
                store.append(_BATCHED[spec.kind](spec, cells[key], trials, meta))
                advance(cells[key], len(trials))
    except KeyboardInterrupt:
        bar.close()
        if process_count == 1:
            store.assemble()   # the rows so far, readable while the rest waits for a restart
        raise
    finally:
        bar.close()
    if barrier is not None:
        barrier("slth-done")
    if process_index != 0:
        return RunResult(str(store.dir), len(todo), len(units) - len(todo), [], "")
    rows = store.assemble()
    report = summary.write(spec, rows, store.dir)
    return RunResult(str(store.dir), len(todo), len(units) - len(todo), rows, report)


def _provenance() -> dict:
    p = provenance.record()
    return {**{k: p["versions"].get(k) for k in ("slth", "jax", "jaxlib", "numpy", "scipy", "python")},
            "device": p["device"], "git_revision": p["git_revision"]}


def _base(spec: Spec, cell: Cell, t: int) -> dict:
    return {"sweep": spec.name, "fingerprint": spec.fingerprint, "cell": cell.key, "trial": t,
            "seed": spec.seed + t}


def _width_row(spec: Spec, cell: Cell, t: int, meta: dict) -> dict:
    p, s = cell.params, spec.settings
    seed = spec.seed + t
    dims = nets.parse_dims(p["dims"])
    start = time.perf_counter()
    target = nets.random_target(dims, key=jax.random.key(seed), distribution=s["target_distribution"])
    tw = trial_width(p["construction"], target, seed=seed, eps=p["eps"], c_max=p["c_max"],
                     distribution=s["distribution"], drop_negative=s["drop_negative"])
    wall = time.perf_counter() - start
    return {**_base(spec, cell, t), "construction": p["construction"], "dims": p["dims"], "d": max(dims),
            "l": len(dims) - 1, "eps": p["eps"], "delta": p["delta"], "c_max": p["c_max"],
            "target_distribution": s["target_distribution"], "distribution": s["distribution"],
            "drop_negative": s["drop_negative"], "certified": tw.certified, "optimistic": tw.optimistic,
            "certificate": None if tw.certified is None else float(tw.certificates[tw.certified]),
            "lower_bound": None if tw.optimistic is None else float(tw.lower_bounds[tw.optimistic]),
            # both ends for the same ticket: the search always bounds the certified ticket from below
            # and certifies every ticket it builds
            "lower_bound_at_certified": None if tw.certified is None else float(tw.lower_bounds[tw.certified]),
            "certificate_at_optimistic": None if tw.optimistic is None else float(tw.certificates[tw.optimistic]),
            "wall_s": round(wall, 4), **meta}


def coverage_candidates(seed: int, c: int, distribution: str, values: str = "products") -> np.ndarray:
    """The c candidates of one random block and sign: a_r = v_r·|u_r| with u_r, v_r i.i.d. from
    ``distribution`` (the law of a candidate in the block structure, THEORY §2), or with
    ``values="samples"`` the plain draws v_r (Lueker's setting); candidate r is drawn from
    ``split(fold_in(key(seed), r))``, so the lists are nested prefixes in c and the samples are the
    v factors of the products."""
    law = nets.DISTRIBUTIONS[distribution]
    products = values == "products"

    def one(r):
        k_u, k_v = jax.random.split(jax.random.fold_in(jax.random.key(seed), r))
        v = law(k_v, (), jnp.float64)
        return v * jnp.abs(law(k_u, (), jnp.float64)) if products else v

    return np.asarray(jax.vmap(one)(jnp.arange(c)))


def _coverage_rows(spec: Spec, cell: Cell, trials: list[int], meta: dict) -> list[dict]:
    c, dist, values = cell.params["c"], cell.params["distribution"], cell.params["values"]
    start = time.perf_counter()
    cands = np.stack([coverage_candidates(spec.seed + t, c, dist, values) for t in trials])
    eta = subset_sum.coverage(cands)
    wall = (time.perf_counter() - start) / len(trials)
    return [{**_base(spec, cell, t), "c": c, "distribution": dist, "values": values, "eta": float(e),
             "wall_s": round(wall, 4), **meta} for t, e in zip(trials, eta)]


def weight_targets(n: int) -> np.ndarray:
    """n target weights evenly spaced in [-1, 1] (the ends included: the hardest values, THEORY §2.4)."""
    return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)


def _weight_error_rows(spec: Spec, cell: Cell, trials: list[int], meta: dict) -> list[dict]:
    """Per trial, the chooser's error |Σ chosen − w| on every target w of :func:`weight_targets`, with
    the candidate list of ``coverage_candidates(seed + t, c, distribution)`` (one block and sign)."""
    from slth.constructions import selection
    from slth.constructions import subset_sum as subset_sum_construction

    choose = {"selection": selection.choose, "subset-sum": subset_sum_construction.choose}
    c, dist, name = cell.params["c"], cell.params["distribution"], cell.params["construction"]
    w = weight_targets(spec.settings["targets"])
    rows = []
    for t in trials:
        start = time.perf_counter()
        cands = np.broadcast_to(coverage_candidates(spec.seed + t, c, dist), (len(w), c))
        chosen = np.asarray(choose[name](jnp.asarray(cands), jnp.asarray(w), jnp.ones(cands.shape, bool)))
        err = np.abs(np.where(chosen, cands, 0.0).sum(axis=1) - w)
        rows.append({**_base(spec, cell, t), "construction": name, "c": c, "distribution": dist,
                     "targets": len(w), "median_error": float(np.median(err)), "max_error": float(err.max()),
                     "mean_error": float(err.mean()), "kept_mean": float(chosen.sum(axis=1).mean()),
                     "wall_s": round(time.perf_counter() - start, 4), **meta})
    return rows


@functools.lru_cache(maxsize=2)
def _prepared(dims: str, training_seed: int, epochs: int, data: str | None):
    """The trained, rescaled digits target of a spec: trained once per process, shared by its rows."""
    from slth import digits

    return digits.prepare(dims, seed=training_seed, epochs=epochs, data=data)


def _digits_row(spec: Spec, cell: Cell, t: int, meta: dict) -> dict:
    from slth import digits

    s = spec.settings
    start = time.perf_counter()
    p = _prepared(s["dims"], s["training_seed"], s["epochs"], s["data"])
    row = digits.ticket_row(p, cell.params["construction"], cell.params["c"], spec.seed + t)
    wall = time.perf_counter() - start
    fields = {k: v for k, v in dataclasses.asdict(row).items() if k not in ("candidates", "time_s")}
    return {**_base(spec, cell, t), **fields, "c": cell.params["c"], "dims": s["dims"],
            "training_seed": s["training_seed"], "epochs": s["epochs"], "data": s["data"] or "sklearn-digits",
            "train_accuracy": p.train_accuracy, "wall_s": round(wall, 4), **meta}


def _separation_row(spec: Spec, cell: Cell, t: int, meta: dict) -> dict:
    from slth import separation

    p, s = cell.params, spec.settings
    row = separation.row_for(p["method"], p["d"], p["c"], inputs=p["inputs"], seed=spec.seed + t,
                             n_train=s["n_train"], n_test=s["n_test"], distribution=s["distribution"])
    fields = {k: v for k, v in row.to_json().items() if k != "candidates"}
    return {**_base(spec, cell, t), **fields, "c": p["c"], "wall_s": round(row.wall_s, 4), **meta}


_PER_TRIAL = {"width": _width_row, "digits": _digits_row, "separation": _separation_row}
_BATCHED = {"coverage": _coverage_rows, "weight_error": _weight_error_rows}
