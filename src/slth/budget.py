"""Peak-memory estimates of every command and sweep cell, and the guard that refuses work that does not fit.

One job: the memory (and disk) model. It is long because every term of every estimate is written
out beside the measurement its constant comes from; nothing else lives here.

A command that does not fit in memory must say so before it starts, in one line, and not die minutes
later (out of memory in NumPy or ``gap_at``) or abort the process: XLA's CPU client aborts (``Check
failed: buffer_.IsConcrete()``, SIGABRT) when NumPy reads an output buffer whose allocation failed,
which is what ``slth prune --dims 100000,100000`` did with its 80 GB target. That abort is the limit;
no int32 indexing limit was found below it (arrays of more than 2^31 elements matmul, reduce and
argmin correctly on CPU), so memory is the one thing to check. Each estimate is a sum of terms, each a
size the work will hold times the bytes per element that ``benchmarks/memory.py`` measured, and the
sum times :data:`MARGIN`:

- random parameters of the network the construction prunes (its layout and width), split into block
  layers (:data:`PER_BLOCK_PARAM`: the layer, mask, pruned copy, pair maps) and the others
  (:data:`PER_PARAM`, per construction: those, plus the per-weight problems they feed);
- lower-bound activations, (starts + random points of :func:`slth.measure.lower_bound`) × the widest
  layer: ``gap_at`` and the ascent evaluate the masked network on that batch; :data:`PER_ACTIVATION`;
- target parameters, drawn and normalised in float64 before anything else; :data:`PER_TARGET_PARAM`;
- the exact subset-sum engine's tables (constructions that call it): one row of 2^(n/2) + 2^(n - n/2)
  half sums per worker thread at least, n up to the units of a block; :data:`PER_SUBSET_SUM`;
- per sweep kind, what its cells hold: coverage's 2^c sums per chunk and its trials' rows, the
  weight-error problem matrix, separation's feature matrices, the digits data, the result rows;
- a fixed part: Python, JAX and compiled code (:data:`BASE`, per construction).

:func:`require` compares an estimate with the memory this process may use (:func:`available`):
``SLTH_MEMORY_LIMIT`` if set, else MemAvailable capped by a cgroup limit and by ``ulimit -v``, plus
this process's own resident memory (already part of the peak). :func:`check_output` checks, before
any work, that an output file can be created in its folder and that the folder has room for it. The
entry points: :func:`check_prune`, :func:`check_width` (``slth check``, one construction or several),
:func:`check_digits`, :func:`check_separation` and, for a sweep before its folder exists,
:func:`check_spec`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from slth import constructions, nets
from slth.errors import InputError
from slth.ticket_file import MAX_RANDOM_PARAMS   # what a ticket file holds, hence what slth prune writes

# --------------------------------------------------------------------------- measured constants
# From `python benchmarks/memory.py --out benchmarks/out/memory.json` (benchmarks/README.md, "Peak
# memory"), two runs on 2026-12-01, CPU (2 cores, 24 GB, shared), jax 0.10.2: 24 jobs, each in its
# own process, peak RSS read from its ru_maxrss. The selection jobs fit base + a1·(block-layer
# parameters) + a2·(other parameters) + b·(lower-bound activations) by non-negative least squares;
# every other construction has one job dominated by its own a2. Each constant is the larger of the two
# runs' fits rounded up (the fits follow in brackets). Terms are summed although the construction's
# peak and the lower bound's come one after the other, so an estimate errs high where both matter.

#: Every estimate is the sum of its terms times this: machines differ in allocator, thread count and
#: XLA's buffers; the fits' own scatter was a few percent.
MARGIN = 1.25
#: Bytes per random parameter of a block layer (the first layer of a pair, layer 1 of ``l+1``): the
#: layer, its mask, its pruned copy and the pair maps' dense copies; the same for every construction
#: (the block structure is shared) [24.3, 24.2].
PER_BLOCK_PARAM = 25.0
#: Bytes per random parameter of the other layers, per construction: the layer, its mask and pruned
#: copy, and the construction's per-weight problems (candidates, validity, choices) that these layers
#: feed [selection 35.3, 35.4; subset-sum 57.3, 57.1; hyperbolic 85.4, 85.2; binary 50.8, 50.8;
#: fixed-size 19.4, 22.8; depth-l+1 58.7, 58.3; edge-popup 66.7, 70.5 (10 training steps: a scan's
#: memory does not grow with its length)].
PER_PARAM = {
    "selection": 36.0,
    "subset-sum": 58.0,
    "hyperbolic": 86.0,
    "fixed-size": 23.0,
    "binary": 51.0,
    "depth-l+1": 59.0,
    "edge-popup": 71.0,
}
#: Bytes per other random parameter of a construction registered after this table was measured.
PER_PARAM_UNMEASURED = max(PER_PARAM.values())
#: Bytes per lower-bound activation: a float64 of the batch × the widest layer, with the ReLU's copy
#: beside it in ``gap_at`` [16.0, 16.0].
PER_ACTIVATION = 17.0
#: Bytes per target parameter: the float64 target, the random bits it is drawn from, its rescaled
#: copy [25.1, 25.2].
PER_TARGET_PARAM = 26.0
#: Fixed bytes per construction: Python, JAX and the compiled code; fixed-size's chunks of k-subset
#: sums (its own 256 MB budget) and edge-popup's optimiser are in theirs [selection 386, 385 MB;
#: fixed-size 491, 477 MB; edge-popup 491, 488 MB; the others share selection's, on an idle machine].
#: Under load the same jobs take more: glibc gives busy threads malloc arenas of their own, and in
#: CI-like runs (the test suite on both cores) depth-l+1 at 16-16-16, c = 16 peaked at 736 and 854 MB
#: where it takes 537 MB idle, and a 2,000-trial coverage cell of c = 16 at 857 MB where it takes
#: 353 MB idle; so the fixed part is 0.9 GB (1 GB with fixed-size's and edge-popup's extra), enough
#: for the worst loaded peak seen. (2026-12-02: the measurement used ``ru_maxrss``, which Linux carries
#: across fork and exec, so a job launched from a large test worker reported the worker's size: selection
#: at 4-4, c = 2048 read 1.9-2.0 GB in the full suite and 0.5 GB alone. ``benchmarks/memory.py`` now reads
#: the child's own ``VmHWM``; the loaded peaks above were measured the old way and may be overstated.)
BASE = {
    "selection": 0.90e9,
    "subset-sum": 0.90e9,
    "hyperbolic": 0.90e9,
    "fixed-size": 1.0e9,
    "binary": 0.90e9,
    "depth-l+1": 0.90e9,
    "edge-popup": 1.0e9,
}
BASE_UNMEASURED = max(BASE.values())
#: Fixed bytes of a process that builds no ticket (coverage, weight_error, separation sweeps)
#: [326, 322 MB; one 2,000-trial coverage cell of c = 16 peaked at 480 MB once, under load, where it
#: usually takes 340 MB: glibc gives busy threads arenas of their own; 857 MB once in a CI-like run,
#: as for BASE].
BASE_PLAIN = 0.90e9
#: Bytes per subset sum held by the exact engine: its own model's 48 (``slth.subset_sum``), above
#: the measured [40.4, 40.3].
PER_SUBSET_SUM = 48.0
#: Bytes per result row of a sweep held in memory (a dict of about 25 fields) [coverage: 6,499 and
#: 7,635 per trial, its candidates included], and written to disk (its journal line, its line of
#: results.csv, its share of summary.csv) [1,671, 1,669].
PER_ROW = 7_700.0
PER_ROW_ON_DISK = 1_700.0
#: Coverage: bytes per enumerated subset sum of a chunk [33.0, 33.9], and per candidate of a trial (two
#: float64 copies, from the code: the per-trial lists and their stack).
PER_COVERAGE_SUM = 34.0
PER_COVERAGE_CANDIDATE = 16.0
#: weight_error: bytes per (target weight, candidate) entry of a trial's problem matrix [18.4, 20.6].
PER_WEIGHT_ERROR_ENTRY = 21.0
#: separation: bytes per (sample, hidden unit) entry of the feature matrices (least squares' copies
#: included) [15.0, 15.9].
PER_FEATURE = 16.0
#: digits: bytes per input value of the data set: raw, normalised, and the training copies (from the
#: code; the digits job, 115k values, cannot resolve it).
PER_DATA_VALUE = 32.0

#: Environment variable that caps the memory slth may use (bytes, or with a K, M, G or T suffix).
LIMIT_VARIABLE = "SLTH_MEMORY_LIMIT"

#: Sizes of data sets the digits experiment may load: scikit-learn's digits (1797 images of 64
#: pixels, 360 in the test split) and MNIST (70,000 images of 784).
DIGITS_SAMPLES = 1797
MNIST_SAMPLES = 70_000
MNIST_TEST = 10_000
DIGITS_TEST = 360


class BudgetError(InputError):
    """Work refused up front: it would not fit in memory (or on disk). The message names the estimate,
    the limit and what to change."""


class Term(NamedTuple):
    """``count`` things of ``per`` bytes each (``per`` None: ``count`` is bytes, a fixed part)."""

    name: str
    count: float
    per: float | None = None

    @property
    def bytes(self) -> float:
        return self.count if self.per is None else self.count * self.per

    def text(self) -> str:
        if self.per is None:
            return f"{gigabytes(self.count)} {self.name}"
        return f"{self.per:g} B × {_count(self.count)} {self.name}"


@dataclasses.dataclass(frozen=True)
class Estimate:
    """Peak resident memory of one piece of work: ``what`` it is, its terms and their sum times
    :data:`MARGIN` (``bytes``)."""

    what: str
    terms: tuple[Term, ...]

    @property
    def bytes(self) -> int:
        return int(MARGIN * sum(t.bytes for t in self.terms))

    def formula(self) -> str:
        """The terms that matter (1% of the sum or more), e.g. ``1.25 × (17 B × 16.6G lower-bound
        activations)``."""
        total = sum(t.bytes for t in self.terms)
        shown = [t.text() for t in self.terms if t.bytes >= 0.01 * total] or [t.text() for t in self.terms]
        return f"{MARGIN:g} × ({' + '.join(shown)})"

    def plus(self, *terms: Term) -> "Estimate":
        return dataclasses.replace(self, terms=self.terms + tuple(terms))


def gigabytes(n: float) -> str:
    """``n`` bytes for a message: ``19.3 GB``, ``412 MB``, ``3.2 TB`` (decimal units)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}" if n < 1000 * size else f"{n / size:,.0f} {unit}"
    return f"{int(n)} B"


def _count(n: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}" if n < 1000 * size else f"{n / size:,.0f}{unit}"
    return f"{n:.0f}"


# --------------------------------------------------------------------------- estimates

def lower_bound_points() -> int:
    """Inputs the adversarial lower bound evaluates at once: its random points plus its ascent starts
    (the defaults of :func:`slth.measure.lower_bound`, which ``slth prune`` and the width search use)."""
    import inspect

    from slth.measure.error import lower_bound

    params = inspect.signature(lower_bound).parameters
    return params["random_points"].default + params["starts"].default


def lower_bound_rows(spec: nets.RandomSpec) -> int:
    """Inputs held at once through the widest layer of ``spec``: the ascent of the ``pairs`` layout
    runs on the compact pair maps, so there only :func:`slth.measure.error.gap_at`'s chunk goes through
    the wide network; the ``l+1`` layout's ascent evaluates every point through it."""
    from slth.measure.error import gap_rows

    points = lower_bound_points()
    return min(points, gap_rows(max(spec.widths()))) if nets.layouts.layout(spec).has_pairs else points


def _label(name: str, dims: Sequence[int], c: int) -> str:
    return f"{name} at {'-'.join(map(str, dims))}, c = {c:,}"


def network_for(name: str, dims, c: int, *, distribution: str | None = None,
                drop_negative: bool = False) -> nets.RandomSpec:
    """The random network construction ``name`` prunes at dims and c, as ``slth prune`` and the width
    search draw it (its layout, its weight law unless ``distribution`` is given)."""
    from slth.measure.width import default_distribution, network_spec

    return network_spec(name, nets.RandomSpec(dims=tuple(dims), candidates=c, seed=0,
                                              distribution=default_distribution(name, distribution),
                                              drop_negative=drop_negative))


def computed_network(name: str, spec: nets.RandomSpec) -> nets.RandomSpec:
    """The network the construction computes with: edge-popup pads every block to
    :func:`~slth.constructions.edge_popup.padded_units` units (at least 16)."""
    computed = constructions.info(name).computed_spec
    return spec if computed is None else computed(spec)


def split_params(spec: nets.RandomSpec) -> tuple[int, int]:
    """(parameters of the block layers, the others) of ``spec``: the first layer of every pair
    (``pairs``) or layer 1 (``l+1``), whose units keep one weight each, cost less per parameter than
    the layers every per-weight problem reads its candidates from."""
    sizes = [a * b for a, b in spec.shapes()]
    block = sum(sizes[2 * i - 2] for i in nets.block_layers(spec))
    return block, sum(sizes) - block


def _uses_engine(name: str) -> bool:
    return constructions.info(name).uses_engine


def engine_terms(units: int) -> list[Term]:
    """The exact engine's working set for rows of up to ``units`` candidates: per worker thread, a
    chunk of rows whose sums fill the cache target, and never less than one row (see
    :func:`slth.subset_sum.solve`)."""
    from slth.subset_sum import _common

    n = min(units, _common.max_exact_count(_common.DEFAULT_MEMORY_BUDGET))
    sums = _common.sums_per_instance(n)
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    rows = _common.chunk_rows(sums, _common.DEFAULT_MEMORY_BUDGET, workers)
    return [Term(f"subset sums ({workers} workers, n = {n})", workers * rows * sums, PER_SUBSET_SUM)]


def prune(name: str, spec: nets.RandomSpec) -> Estimate:
    """Peak memory of building construction ``name``'s ticket in the random network ``spec`` (in the
    layout the construction prunes), measuring it and writing its file: ``slth prune``, one width of
    ``slth check`` and of a width sweep, one ticket of ``slth digits``."""
    constructions.info(name)
    computed = computed_network(name, spec)
    block, other = split_params(computed)
    target = sum(a * b for a, b in zip(spec.dims[1:], spec.dims[:-1]))
    terms = [Term("block-layer parameters", block, PER_BLOCK_PARAM),
             Term("other random parameters", other, PER_PARAM.get(name, PER_PARAM_UNMEASURED)),
             Term("lower-bound activations", lower_bound_rows(computed) * max(computed.widths()), PER_ACTIVATION),
             Term("target parameters", target, PER_TARGET_PARAM)]
    if _uses_engine(name):
        units = max(nets.layouts.layout(spec).block_units(spec, i) for i in nets.block_layers(spec))
        terms += engine_terms(units)
    terms.append(Term("fixed", BASE.get(name, BASE_UNMEASURED)))
    return Estimate(_label(name, spec.dims, spec.candidates), tuple(terms))


def coverage(c: int, trials: int) -> Estimate:
    """A coverage cell: ``trials`` candidate lists of c drawn and certified at once (all 2^c subset
    sums per row, rows chunked within the engine's budget), and one result row per trial."""
    from slth.subset_sum import _common

    sums = 1 << c
    rows = min(trials, _common.chunk_rows(sums, _common.DEFAULT_MEMORY_BUDGET))
    return Estimate(f"coverage at c = {c}, {trials:,} trials", (
        Term("subset sums of a chunk", rows * sums, PER_COVERAGE_SUM),
        Term("candidates", trials * c, PER_COVERAGE_CANDIDATE),
        Term("result rows", trials, PER_ROW),
        Term("fixed", BASE_PLAIN)))


def weight_error(name: str, c: int, targets: int, trials: int) -> Estimate:
    """A weight_error cell: per trial, ``targets`` problems of c candidates each through the chooser."""
    terms = [Term("problem entries", targets * c, PER_WEIGHT_ERROR_ENTRY), Term("result rows", trials, PER_ROW),
             Term("fixed", BASE_PLAIN)]
    if _uses_engine(name):
        terms += engine_terms(c)
    return Estimate(f"weight_error {name} at c = {c:,}, {targets:,} targets", tuple(terms))


def separation(method: str, d: int, c: int, *, n_train: int, n_test: int) -> Estimate:
    """One separation cell: the feature matrices (samples × hidden units) of a neuron method, or the
    ticket of a weight method evaluated on the samples."""
    from slth import separation as sep

    samples = n_train + n_test
    if method in sep.WEIGHT_METHODS:
        spec = sep.weight_spec(d, sep.weight_bucket(method, c), seed=0)
        ticket = prune(method, spec)
        return Estimate(f"separation {method} at d = {d}, c = {c:,}", ticket.terms + (
            Term("sample activations", samples * max(spec.widths()), PER_FEATURE),))
    _, h = sep.matched_units(d, c)
    return Estimate(f"separation {method} at d = {d}, c = {c:,} ({h:,} units)", (
        Term("feature entries", samples * h, PER_FEATURE), Term("Gram entries", h * h, PER_FEATURE),
        Term("fixed", BASE_PLAIN)))


def digits(name: str, dims, c: int, *, data: str | None = None) -> Estimate:
    """One ticket of the digits experiment: the data set, the trained target, and ``prune`` of the
    random network at c, whose test predictions add test rows × the widest layer."""
    dims = nets.parse_dims(dims)
    samples, test = (DIGITS_SAMPLES, DIGITS_TEST) if data is None else (MNIST_SAMPLES, MNIST_TEST)
    spec = network_for(name, dims, c)
    ticket = prune(name, spec)
    return Estimate(_label(name, dims, c), ticket.terms + (
        Term("data values", samples * dims[0], PER_DATA_VALUE),
        Term("test activations", test * max(computed_network(name, spec).widths()), PER_ACTIVATION)))


def trained(dims, rounds: int, batch_size: int) -> Estimate:
    """One cell of the trained-ticket sweeps (imp, instability): the digits data, and per round of the
    IMP run held in memory the weights and mask (adam's two moments and the gradient besides while it
    trains), and a batch's activations."""
    dims = nets.parse_dims(dims)
    weights = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return Estimate(f"IMP of {'-'.join(map(str, dims))} for {rounds} rounds", (
        Term("data values", DIGITS_SAMPLES * dims[0], PER_DATA_VALUE),
        Term("weights, masks and adam state", weights * (2 * (rounds + 1) + 4), 8.0),
        Term("activations", max(batch_size, DIGITS_SAMPLES) * max(dims), PER_ACTIVATION),
        Term("fixed", BASE_PLAIN)))


def planted(widths, batch: int, samples: int) -> Estimate:
    """One cell of the planted sweep: the planted network (weights, mask, scores and adam state of the
    searches) and the activations of a search's batch and of the regression data."""
    widths = nets.parse_dims(widths)
    weights = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    return Estimate(f"planted network {'-'.join(map(str, widths))}", (
        Term("weights, masks, scores and adam state", weights * 12, 8.0),
        Term("activations", (batch + samples) * max(widths), PER_ACTIVATION),
        Term("fixed", BASE_PLAIN)))


def ticket_file_bytes(spec: nets.RandomSpec) -> int:
    """Size of the ticket file ``slth prune`` writes: float64 target and random weights, one byte per
    mask entry, the witness, and a few KB of metadata and zip headers."""
    target = sum(a * b for a, b in zip(spec.dims[1:], spec.dims[:-1]))
    return 8 * target + 9 * spec.entries() + 8 * spec.dims[0] + 64 * 1024   # explicit: bounds a kernel-form conv file


# --------------------------------------------------------------------------- the limit

def _parse_size(text: str) -> int:
    units = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    raw = text.strip().upper().removesuffix("B")
    suffix = raw[-1:] if raw[-1:] in units and raw[-1:] else ""
    try:
        value = float(raw[: len(raw) - len(suffix)]) * units[suffix]
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{LIMIT_VARIABLE}={text!r} must be a positive size in bytes, optionally with a K, M, "
                         "G or T suffix (e.g. 16G)")
    return int(value)


def _meminfo(field: str) -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _own(field: str) -> int:
    """This process's VmRSS or VmSize (bytes; 0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _address_space_room() -> int | None:
    """Bytes of address space left under ``ulimit -v`` (RLIMIT_AS; None: unlimited). Every resident
    byte is mapped, so the peak cannot grow by more than this."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else max(0, soft - _own("VmSize"))


def _cgroup_room() -> int | None:
    """Bytes left under a cgroup v2 memory limit (None: no limit)."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def available() -> tuple[int, str]:
    """(bytes this process may hold at its peak, where the figure comes from).

    ``SLTH_MEMORY_LIMIT`` if set; else MemAvailable of /proc/meminfo (or the free pages of
    ``os.sysconf``), capped by the room under a cgroup v2 limit and under ``ulimit -v``, plus this
    process's resident memory, which the estimates count as part of the peak."""
    text = os.environ.get(LIMIT_VARIABLE)
    if text:
        return _parse_size(text), f"{LIMIT_VARIABLE}={text}"
    free = _meminfo("MemAvailable")
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 1 << 62, "unknown"
    for room in (_cgroup_room(), _address_space_room()):
        if room is not None:
            free = min(free, room)
    return free + _own("VmRSS"), "available"


def require(estimate: Estimate, advice: str, *, what: str | None = None) -> Estimate:
    """Raise :class:`BudgetError` unless ``estimate`` fits in :func:`available` memory; the message
    is one line: the work, the estimate and its formula, the limit, and ``advice``."""
    limit, source = available()
    if estimate.bytes > limit:
        where = f"the {gigabytes(limit)} available" if source == "available" else f"{source}"
        raise BudgetError(f"{what or estimate.what} needs about {gigabytes(estimate.bytes)} "
                          f"({estimate.formula()}), above {where}; {advice}")
    return estimate


def check_output(path, size: int, *, flag: str = "--out") -> None:
    """Before any work: ``path`` must be a file (or not exist yet) in a folder where a file can be
    created (a probe file is made and removed: permissions, read-only mounts and the like are what
    they are for root too), with about ``size`` bytes free."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not path.is_file():
        raise BudgetError(f"{flag} {str(path)!r} exists and is not a regular file; name a file to write")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
        stat = os.statvfs(folder)
    except OSError as e:
        raise BudgetError(f"cannot write {str(path)!r}: {e.strerror or e}") from None
    free = stat.f_bavail * stat.f_frsize
    if size > free:
        raise BudgetError(f"cannot write {str(path)!r}: it needs about {gigabytes(size)} and {str(folder)!r} has "
                          f"{gigabytes(free)} free")


def check_folder(path, size: int = 0, *, flag: str = "--out") -> None:
    """Before any work: the folder ``path`` (made later if it does not exist yet) can receive files,
    probed in the nearest existing folder at or above it, with about ``size`` bytes free."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BudgetError(f"{flag} {str(path)!r} exists and is not a folder")
    check_output(_ancestor(path) / ".slth-write-probe", size, flag=flag)


def _ancestor(path: Path) -> Path:
    """The nearest existing folder at or above ``path``."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


# --------------------------------------------------------------------------- per command

def check_prune(name: str, spec: nets.RandomSpec, *, out=None,
                advice: str = "lower --candidates or --dims") -> Estimate:
    """``slth prune``: refuse, before any work, a random network above what a ticket file holds
    (:data:`MAX_RANDOM_PARAMS`) or a ticket that does not fit in memory, and an ``out`` file that
    cannot be written (see :func:`check_output`)."""
    estimate = prune(name, spec)
    params = spec.entries()      # explicit entries: what memory and ticket_file's limit count (conv: every copy)
    if params > MAX_RANDOM_PARAMS:
        limit, _ = available()
        memory = (f"needs about {gigabytes(estimate.bytes)} ({estimate.formula()})"
                  + (f", above the {gigabytes(limit)} available" if estimate.bytes > limit else ""))
        raise BudgetError(f"{estimate.what} has {params:,} explicit random entries, above the limit "
                          f"{MAX_RANDOM_PARAMS:,} of a ticket file (what slth verify reads), and {memory}; {advice}")
    require(estimate, advice)
    if out is not None:
        check_output(out, ticket_file_bytes(spec))
    return estimate


def check_width(names: Iterable[str], dims, *, c_max: int | dict | None = None, distribution: str | None = None,
                drop_negative: bool = False, advice: str = "lower --c-max or --dims") -> Estimate:
    """``slth check`` (one construction or several): the width search of each construction peaks at
    its largest c (``c_max``, else its search limit), so the largest of those estimates is the peak."""
    dims = nets.parse_dims(dims)
    worst = None
    for name in names:
        cm = c_max.get(name) if isinstance(c_max, dict) else c_max
        cm = constructions.search_limit(name) if cm is None else cm
        constructions.check_candidates(name, cm, what="c_max")
        estimate = prune(name, network_for(name, dims, cm, distribution=distribution, drop_negative=drop_negative))
        worst = estimate if worst is None or estimate.bytes > worst.bytes else worst
    return require(worst, advice)


def check_digits(dims, candidates: dict, *, data: str | None = None,
                 advice: str = "lower --candidates or --dims") -> Estimate:
    """``slth digits``: the largest of its tickets' estimates (construction -> list of c)."""
    estimates = [digits(name, dims, c, data=data) for name, cs in candidates.items() for c in cs]
    return require(max(estimates, key=lambda e: e.bytes), advice)


def check_separation(d_values: Sequence[int], candidates: Sequence[int], *, n_train: int, n_test: int,
                     methods: Sequence[str] | None = None, exact_max_units: int | None = None,
                     advice: str = "lower --d, --candidates, --n-train or --n-test") -> Estimate:
    """``slth separation``: the largest cell (cells run one after another)."""
    from slth import separation as sep

    methods = sep.METHODS if methods is None else methods
    exact_max = sep.DEFAULTS["exact_max_units"] if exact_max_units is None else exact_max_units
    # Values the experiment refuses anyway (non-positive, unknown methods) are left to its own message.
    d_values = [d for d in d_values if isinstance(d, int) and d >= 1]
    candidates = [c for c in candidates if isinstance(c, int) and c >= 1]
    estimates = [separation(m, d, c, n_train=n_train, n_test=n_test) for d in d_values for c in candidates
                 for m in methods if m in sep.METHODS
                 and (m != "neuron-exact" or sep.matched_units(d, c)[1] <= exact_max)]
    if not estimates:
        return Estimate("separation", (Term("fixed", BASE_PLAIN),))
    return require(max(estimates, key=lambda e: e.bytes), advice)


# --------------------------------------------------------------------------- sweeps

def cell_estimate(spec, cell) -> Estimate:
    """Peak memory of one cell of a validated sweep ``spec`` (:class:`slth.experiments.spec.Spec`):
    its kind's ``estimate(spec, cell)`` (``spec.plan``, a module of :mod:`slth.experiments.kinds`,
    which builds it from the estimates above; this module does not import the experiments)."""
    plan = getattr(spec, "plan", None)
    if plan is None or not callable(getattr(plan, "estimate", None)):
        raise InputError(f"sweep kind {spec.kind!r} has no memory model")
    return plan.estimate(spec, cell)


def check_spec(spec, *, results=None) -> Estimate:
    """Refuse a sweep, before its results folder is created, if one of its cells would not fit in
    memory (cells run one after another; the whole table of rows is held once at the end), or, with
    ``results`` (the root folder of results), if that folder cannot be written or lacks the room for
    its rows.

    Args:
      spec: a validated :class:`slth.experiments.spec.Spec` of any kind; its ``plan`` (the kind's
        module) gives each cell's ``estimate`` and the ``ADVICE`` of a refusal (duck typed: this
        module does not import the experiments).
      results: optional root folder of results (created later by the runner if missing).
    Returns:
      the estimate of the largest cell, the result rows included.
    Raises:
      BudgetError: one line naming the sweep, the cell, the estimate, the limit and what to change.
    """
    rows = len(spec.cells) * spec.trials
    worst, worst_cell = None, None
    for cell in spec.cells:
        estimate = cell_estimate(spec, cell).plus(Term("rows of the table", rows, PER_ROW))
        if worst is None or estimate.bytes > worst.bytes:
            worst, worst_cell = estimate, cell
    if worst is None:
        return Estimate(f"sweep {spec.name!r}", (Term("fixed", BASE_PLAIN),))
    advice = getattr(getattr(spec, "plan", None), "ADVICE", "make its cells smaller")
    require(worst, f"{advice} in the spec",
            what=f"sweep {spec.name!r}, cell {worst_cell.key!r} ({worst.what})")
    if results is not None:
        folder = _ancestor(Path(results))
        try:
            fd, probe = tempfile.mkstemp(prefix=".slth-", suffix=".probe", dir=folder)
            os.close(fd)
            os.unlink(probe)
            stat = os.statvfs(folder)
        except OSError as e:
            raise BudgetError(f"cannot write {str(results)!r}: {e.strerror or e}") from None
        need = int(rows * PER_ROW_ON_DISK)
        if need > stat.f_bavail * stat.f_frsize:
            raise BudgetError(f"cannot write {str(results)!r}: sweep {spec.name!r} writes about {gigabytes(need)} "
                              f"({rows:,} rows) and {str(folder)!r} has "
                              f"{gigabytes(stat.f_bavail * stat.f_frsize)} free")
    return worst


__all__ = ["BudgetError", "Estimate", "LIMIT_VARIABLE", "MARGIN", "Term", "available", "cell_estimate",
           "check_digits", "check_folder", "check_output", "check_prune", "check_separation", "check_spec", "check_width",
           "computed_network", "coverage", "digits", "planted", "gigabytes", "lower_bound_points", "network_for", "prune",
           "require", "separation", "split_params", "ticket_file_bytes", "trained", "weight_error"]
