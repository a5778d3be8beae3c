"""docs/theory.md §1: a target outside the theorems' assumptions (‖W_i‖_2 <= 1) is refused, at the boundary."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slth import constructions, nets
from slth import theorems
from slth.errors import InputError
from slth.theorems import _pool

NAMES = theorems.names("invariant")


def unit_layer(m: int, n: int, seed: int, kind: str) -> np.ndarray:
    """An (m, n) float64 layer of spectral norm 1 (to float64 rounding): Gaussian, ±1 (the pattern
    whose norm storage rounding can move most, see :func:`slth.nets.norm_tolerance`), rank 1, or
    Gaussian with half its entries 0."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(m, n))
    if kind == "signs":
        w = np.sign(w)
    elif kind == "rank-1":
        w = np.outer(rng.normal(size=m), rng.normal(size=n))
    elif kind == "sparse":
        w = np.where(rng.random((m, n)) < 0.5, 0.0, w)
        w[0, 0] = 1.0
    return w / np.linalg.norm(w, 2)


@pytest.mark.theorem("§1 target assumptions")
@given(m=st.integers(1, 12), n=st.integers(1, 12), seed=st.integers(0, 2**31 - 1),
       kind=st.sampled_from(["gaussian", "signs", "rank-1", "sparse"]),
       dtype=st.sampled_from(["float64", "float32"]))
def test_norm_check_refuses_a_layer_just_above_one_and_accepts_rounding(evidence, m, n, seed, kind, dtype):
    """Statement (docs/theory.md §1; the assumption ‖W_i‖_2 <= 1 of Malach et al. 2020, Theorem 2.1, and
    Pensia et al. 2020, Theorem 1: a target that violates it is refused, never used silently; the
    only slack is rounding): a layer normalised to norm 1 in float64 and stored in ``dtype``, or
    rescaled in ``dtype`` by :func:`slth.nets.rescale`, passes :func:`slth.nets.check_target`; the same
    layer times 1 + 4(ε·√min(m, n) + (m + n)·ε₆₄), a few roundings of a ``dtype`` layer (ε its
    machine epsilon: 6.9e-15 above 1 for a 3×3 float64 layer, 8.3e-7 for float32), is refused by
    it and by every registered construction before any work. Rule: exact (refused or not); shapes up
    to 12×12, Gaussian, ±1, rank-1 and sparse layers."""
    w = unit_layer(m, n, seed, kind)
    nets.check_target([w.astype(dtype)])
    nets.check_target([np.asarray(nets.rescale([(3 * w).astype(dtype)])[0])])
    roundings = float(np.finfo(dtype).eps) * np.sqrt(min(m, n)) + (m + n) * float(np.finfo(np.float64).eps)
    above = (w * (1 + 4 * roundings)).astype(dtype)
    with pytest.raises(InputError, match="spectral norm"):
        nets.check_target([above])
    for name in NAMES:
        spec = _pool.network_spec(name, nets.RandomSpec(dims=(n, m), candidates=1, seed=0))
        with pytest.raises(InputError, match="spectral norm"):
            constructions.build(name, (above,), spec)
    evidence.example()
