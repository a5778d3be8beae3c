"""hypothesis strategies for targets, random networks and candidate lists, and reference checks.

Exported so that a user can test their own construction with the same properties as slth's own
suite (docs/theory.md §5). Needs hypothesis (``pip install slth[test]``).
"""

from __future__ import annotations

import contextlib
import itertools

import jax
import numpy as np
from hypothesis import strategies as st

from slth import nets


@st.composite
def dims(draw, *, max_depth: int = 3, max_width: int = 6, min_depth: int = 1):
    """Target widths d_0..d_l with l in [min_depth, max_depth] and widths in [1, max_width]."""
    depth = draw(st.integers(min_depth, max_depth))
    return tuple(draw(st.integers(1, max_width)) for _ in range(depth + 1))


@st.composite
def targets(draw, *, max_depth: int = 3, max_width: int = 6, adversarial: bool = True):
    """A target satisfying the theorems' assumptions (‖W_i‖_2 <= 1), as a tuple of float64 arrays.

    With ``adversarial``, some targets have an entry at ±1 or just inside it (where candidate
    products are rarest, docs/theory.md §2.4), entries at exactly 0, or entries near 0 (scaled by 10^-k), not
    only spectrally normalised Gaussian layers.
    """
    shape = draw(dims(max_depth=max_depth, max_width=max_width))
    seed = draw(st.integers(0, 2**31 - 1))
    norm = draw(st.sampled_from([1.0, 0.5, 0.9]))
    layers = [np.asarray(w) for w in nets.random_target(shape, key=jax.random.key(seed), norm=norm)]
    if adversarial:
        kind = draw(st.sampled_from(["plain", "corner", "near-corner", "sparse", "tiny"]))
        gap = 10.0 ** -draw(st.integers(1, 12))
        layers = [adversarial_layer(w, kind, gap, np.random.default_rng([seed, i])) for i, w in enumerate(layers)]
    return tuple(layers)


def adversarial_layer(w: np.ndarray, kind: str, gap: float, rng) -> np.ndarray:
    """One target layer of kind ``plain`` (unchanged), ``corner`` (one entry at ±1, the rest 0: the
    spectral norm is exactly 1), ``near-corner`` (one entry at ±(1 − gap)), ``sparse`` (half the entries
    set to exactly 0) or ``tiny`` (every entry scaled by ``gap``, near 0)."""
    if kind in ("corner", "near-corner"):
        out = np.zeros_like(w)
        out[rng.integers(w.shape[0]), rng.integers(w.shape[1])] = rng.choice([-1.0, 1.0]) * (
            1.0 if kind == "corner" else 1.0 - gap)
        return out
    if kind == "sparse":
        return np.where(rng.random(w.shape) < 0.5, 0.0, w)
    if kind == "tiny":
        return w * gap
    return w


@st.composite
def specs(draw, target_dims, *, max_candidates: int = 6, distributions=("uniform", "gaussian", "binary")):
    """A random-network spec for a target of widths ``target_dims``."""
    return nets.RandomSpec(
        dims=tuple(target_dims),
        candidates=draw(st.integers(1, max_candidates)),
        seed=draw(st.integers(0, 2**31 - 1)),
        distribution=draw(st.sampled_from(distributions)),
        drop_negative=draw(st.booleans()),
    )


def candidate_lists(*, max_size: int = 12, bound: float = 1.0):
    """Candidate values in [-bound, bound] (finite floats), as a numpy array."""
    return st.lists(st.floats(-bound, bound, allow_nan=False), min_size=1, max_size=max_size).map(np.array)


def brute_force_best(values, target) -> tuple[float, tuple[int, ...]]:
    """Smallest |Σ_{r∈S} values_r − target| over all 2^n subsets S (the first in the order of
    itertools.combinations by size on ties), in float64 numpy: the reference for every solver."""
    values = np.asarray(values, np.float64)
    best, best_set = abs(float(target)), ()
    for size in range(1, len(values) + 1):
        for subset in itertools.combinations(range(len(values)), size):
            err = abs(float(values[list(subset)].sum()) - float(target))
            if err < best:
                best, best_set = err, subset
    return best, best_set


def subset_sum_optimum(values, target) -> np.ndarray:
    """An optimal subset of ``values`` for ``target``: the bool mask of a subset S minimising
    |Σ_{r∈S} values_r − target|, by sorted halves (Horowitz and Sahni 1974) in float64 NumPy.

    The reference for the solver at candidate counts where :func:`brute_force_best`'s 2^n Python loop
    is out of reach (up to the solver's limit, 46): every subset sum of the first n//2 values and of
    the rest, indexed by subset bits and built bit by bit; the second list sorted; for every sum a of
    the first, the two sorted neighbours of target − a by binary search. It shares no code with
    :mod:`slth.subset_sum` (whose meet in the middle merges both lists in one labelled sort). Its
    own rounding is within :func:`exactness_slack`. Memory and time: 2^(n/2) values per half
    (8M at n = 46: about 10 s on one CPU core).
    """
    x = np.asarray(values, np.float64).reshape(-1)
    h = x.size // 2
    low, high = _subset_sums(x[:h]), _subset_sums(x[h:])
    order = np.argsort(high, kind="stable")
    ordered = high[order]
    need = float(target) - low
    above = np.minimum(np.searchsorted(ordered, need), ordered.size - 1)
    below = np.maximum(above - 1, 0)
    err_above, err_below = np.abs(ordered[above] - need), np.abs(ordered[below] - need)
    pick = np.where(err_above < err_below, above, below)
    i = int(np.argmin(np.minimum(err_above, err_below)))
    j = int(order[pick[i]])
    return np.concatenate([(i >> np.arange(h)) & 1, (j >> np.arange(x.size - h)) & 1]).astype(bool)


def _subset_sums(x: np.ndarray) -> np.ndarray:
    """All 2^k subset sums of x (k,): entry m sums the x_j whose bit j of m is set."""
    m = np.arange(1 << x.size)
    sums = np.zeros(m.size)
    for j, v in enumerate(x):
        sums += np.where((m >> j) & 1 == 1, v, 0.0)
    return sums


def exactness_slack(values, target) -> float:
    """How far the recomputed float64 errors of an exact solver's subset and of a reference optimum
    may differ: 4·(n + 3)·u·M, M = Σ|values| + |target|, u = 2^-53.

    Derivation: a float64 sum of n + 1 terms (the kept values and −target, any order) is within
    γ·M of the exact one, γ = γ_{n+1} = (n + 1)u/(1 − (n + 1)u) (Higham, Accuracy and Stability of
    Numerical Algorithms, §4.2). A solver that minimises a computed error returns a subset whose
    exact error is within 2γM of the optimum; meet in the middle's label in the last mantissa bit of
    each half sum (:mod:`slth.subset_sum`) moves every compared difference by at most 2u·M, so 4u·M
    more. With the recomputation of the solver's error (γM) and of the reference's (γM), the
    solver's recomputed error exceeds the reference's by at most 4γM + 4uM <= 4(n + 3)·u·M. For
    values in [−1, 1] that is about 2e-14 at n = 7, where distinct subset sums of random values lie
    about n·2^-7 apart, and 5e-13 at n = 46.
    """
    x = np.asarray(values, np.float64)
    return 4 * (x.size + 3) * 2.0 ** -53 * float(np.abs(x).sum() + abs(float(target)))


@contextlib.contextmanager
def count_compiles():
    """Count XLA executables built or loaded inside the block: ``with count_compiles() as n: ...; n[0]``.

    It listens to JAX's ``/jax/core/compile/backend_compile_duration`` event, which fires once per
    backend compilation, and to ``/jax/compilation_cache/cache_hits``, which fires when an executable
    is read from the persistent compilation cache instead (the test suite turns that cache on). Reusing
    compiled shapes in memory fires neither, so a repeated computation counts 0.
    """
    count = [0]

    def on_duration(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            count[0] += 1

    def on_event(event, **kwargs):
        if event == "/jax/compilation_cache/cache_hits":
            count[0] += 1

    jax.monitoring.register_event_duration_secs_listener(on_duration)
    jax.monitoring.register_event_listener(on_event)
    try:
        yield count
    finally:
        jax.monitoring.unregister_event_duration_listener(on_duration)
        jax.monitoring.unregister_event_listener(on_event)


@st.composite
def cases(draw, *, max_candidates: int = 5, max_depth: int = 2, max_width: int = 4):
    """A (target, spec) pair for one ticket: :func:`targets` (adversarial entries included) and a
    matching :func:`specs`."""
    target = draw(targets(max_depth=max_depth, max_width=max_width))
    spec = draw(specs(nets.dims_of(target), max_candidates=max_candidates))
    return target, spec


def naive_pair_maps(ticket, i: int) -> tuple[np.ndarray, np.ndarray]:
    """A⁺, A⁻ of pair i (0-based) by a plain loop over hidden units, docs/theory.md §2.2 verbatim: a kept unit
    r with first-layer weight u in column j adds M_2[:, r]·u to column j of A⁺ (u > 0) or
    M_2[:, r]·|u| to column j of A⁻ (u < 0). Shares no code with :func:`slth.measure.pair_maps`."""
    m1 = np.where(ticket.masks[2 * i], ticket.random[2 * i], 0.0)
    m2 = np.where(ticket.masks[2 * i + 1], ticket.random[2 * i + 1], 0.0)
    d_out, d_in = np.shape(ticket.target[i])
    plus, minus = np.zeros((d_out, d_in)), np.zeros((d_out, d_in))
    for r in range(m1.shape[0]):
        (cols,) = np.nonzero(m1[r])
        if len(cols) == 0:
            continue
        j, u = cols[0], m1[r, cols[0]]
        if u > 0:
            plus[:, j] += m2[:, r] * u
        else:
            minus[:, j] -= m2[:, r] * abs(u)
    return plus, minus


def block_problems(ticket, i: int):
    """Yield (k, j, sign, candidate values, chosen flags) for every problem of pair i (0-based), by
    loops over the block structure of docs/theory.md §2 and the ticket's masks."""
    spec = ticket.spec
    m1, m2 = np.asarray(ticket.random[2 * i]), np.asarray(ticket.random[2 * i + 1])
    s2 = np.asarray(ticket.masks[2 * i + 1])
    units = spec.units_per_block(i + 1)
    d_out, d_in = np.shape(ticket.target[i])
    for k in range(d_out):
        for j in range(d_in):
            rows = range(j * units, (j + 1) * units)
            for sign in ([1, -1] if i == 0 else [1]):
                rs = [r for r in rows if np.sign(m1[r, j]) == sign]
                yield k, j, sign, np.array([m2[k, r] * abs(m1[r, j]) for r in rs]), s2[k, rs]


def ticket_problems(ticket):
    """Yield ((i, k, j, sign), goal, candidate values, chosen flags) for every problem of every pair
    of ``ticket``: goal = sign·W_i[k, j], the value the chosen candidates of that sign should sum to."""
    for i, w in enumerate(ticket.target):
        w = np.asarray(w)
        for k, j, sign, values, chosen in block_problems(ticket, i):
            yield (i, k, j, sign), w[k, j] * sign, values, chosen


def exact_range_problems(ticket, x) -> list[str]:
    """Where the exact method's networks and ranges (:mod:`slth.measure.exact_net`) fail a ticket at the
    points ``x`` (batch, d_0) of the unit ball: its gap differs from the reference gap
    (:func:`slth.measure.ticket_gap_at`, relative 1e-12), or a sampled pre-activation of f or g, or the
    difference of partners, leaves its proven range. One line per failing layer; empty when all hold."""
    from slth import measure
    from slth.measure import exact_net

    net = exact_net.stack(ticket)
    b = exact_net.bounds(net)
    out = []
    if not np.allclose(np.linalg.norm(net.forward(x), axis=1), measure.ticket_gap_at(ticket, x), rtol=1e-12, atol=1e-14):
        out.append("the program's gap differs from the reference gap")
    for i, (zf, zg) in enumerate(net.pre_activations(x)):
        for side, z, (lo, up) in (("f", zf, b.f[i]), ("g", zg, b.g[i])):
            if not (np.all(z >= lo) and np.all(z <= up)):
                out.append(f"layer {i + 1}: a value of {side} leaves its range")
        if not np.all(np.abs(zg - zf[:, net.partner[i]]) <= b.diff[i]):
            out.append(f"layer {i + 1}: a difference of partners exceeds its bound")
    return out


#: hypothesis profiles: ``ci`` (few examples, derandomised: the same examples on every run) and
#: ``thorough`` (many more, for a GPU or a long run). :func:`register_profiles` registers both.
PROFILES = ("ci", "thorough")


def register_profiles() -> None:
    """Register the ``ci`` and ``thorough`` hypothesis profiles (idempotent)."""
    from hypothesis import HealthCheck, settings

    # function_scoped_fixture: the theorem suite's ``evidence`` fixture is meant to be shared by all
    # examples of one test (it counts them).
    quiet = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
    settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True, suppress_health_check=quiet)
    settings.register_profile("thorough", max_examples=200, deadline=None, suppress_health_check=quiet)
