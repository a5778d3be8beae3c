"""hypothesis strategies for targets, random networks and candidate lists, and reference checks.

Exported so that a user can test their own construction with the same properties as slth's own
suite (THEORY §5). Needs hypothesis (``pip install slth[test]``).
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

    With ``adversarial``, some targets have entries pushed to ±1 (where candidate products are
    rarest, THEORY §2.4) or to exactly 0, not only spectrally normalised Gaussian layers.
    """
    shape = draw(dims(max_depth=max_depth, max_width=max_width))
    seed = draw(st.integers(0, 2**31 - 1))
    norm = draw(st.sampled_from([1.0, 0.5, 0.9]))
    layers = [np.asarray(w) for w in nets.random_target(shape, key=jax.random.key(seed), norm=norm)]
    if adversarial:
        kind = draw(st.sampled_from(["plain", "corner", "sparse"]))
        rng = np.random.default_rng(seed)
        for i, w in enumerate(layers):
            if kind == "corner":
                # One entry at ±1 and the rest zero keeps the spectral norm at exactly 1.
                w = np.zeros_like(w)
                w[rng.integers(w.shape[0]), rng.integers(w.shape[1])] = rng.choice([-1.0, 1.0])
            elif kind == "sparse":
                w = np.where(rng.random(w.shape) < 0.5, 0.0, w)
            layers[i] = w
    return tuple(layers)


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


@contextlib.contextmanager
def count_compiles():
    """Count XLA compilations inside the block: ``with count_compiles() as n: ...; n[0]``.

    It listens to JAX's ``/jax/core/compile/backend_compile_duration`` event, which fires once per
    backend compilation (cache hits do not fire), so a repeated computation that reuses its compiled
    shapes counts 0.
    """
    count = [0]

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            count[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield count
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
