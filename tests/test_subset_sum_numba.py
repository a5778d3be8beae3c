"""The numba CPU kernel returns the NumPy kernels' subsets bit for bit (same optimum, same tie rule).

The NumPy path's tie rule (`_numpy_kernels`): brute force (n <= BRUTE_FORCE_MAX_COUNT) keeps the smallest
subset index among the smallest ``|s_m - t|``; meet in the middle keeps the first closest (q, b) pair of
differently labelled neighbours in the merged sorted order of the labelled values, then the smallest
half-subset indices whose labelled values equal q and b. Equal masks imply equal errors, since the error
is recomputed from the mask by one formula.
"""

import numpy as np
import pytest

from slth import subset_sum as ss
from slth.subset_sum import _common, _numpy_kernels

pytest.importorskip("numba")
from slth.subset_sum import _numba_kernels  # noqa: E402

# Rows per count n in the kernel comparison; fewer where one row costs more.
ROWS = {n: 2000 if n <= 12 else 400 if n <= 18 else 60 for n in range(1, 25)}
ROUND_OFF = 1e-12


def _numpy_indices(x, t):
    if x.shape[1] <= _common.BRUTE_FORCE_MAX_COUNT:
        return _numpy_kernels.brute_force_indices(x, t)
    return _numpy_kernels.mitm_indices(x, t)


def _rows(rng, kind, rows, n):
    """Rows of n candidates and targets: continuous, or on a coarse grid with many exact ties."""
    if kind == "uniform":
        return rng.uniform(-1, 1, (rows, n)), rng.uniform(-1, 1, rows)
    if kind == "grid":  # quarters: many subsets share a sum, many targets are hit exactly or halfway
        return rng.integers(-4, 5, (rows, n)) / 4.0, rng.integers(-8, 9, rows) / 8.0
    if kind == "duplicates":  # few distinct values, repeated; targets include -0.0 and exact sums
        x = rng.choice([-0.5, 0.25, 0.25, 1.0, 1e-3, -0.0], (rows, n))
        t = np.where(rng.random(rows) < 0.3, -0.0, x[:, : max(1, n // 3)].sum(axis=1))
        return x, t
    return rng.uniform(-1, 1, (rows, n)) * 10.0 ** rng.integers(-8, 9, (rows, 1)), rng.normal(0, 3, rows)


@pytest.mark.parametrize("kind", ["uniform", "grid", "duplicates", "scales"])
def test_numba_kernel_equals_numpy_kernel_bit_for_bit(kind):
    """Every count n from 1 to 24 (both sides of the brute force / meet in the middle switch)."""
    rng = np.random.default_rng(["uniform", "grid", "duplicates", "scales"].index(kind))
    for n, rows in ROWS.items():
        x, t = _rows(rng, kind, rows, n)
        got = _numba_kernels.solve_indices(x, t)
        want = _numpy_indices(x, t)
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (kind, n, bad[:5], got[bad[:5]], want[bad[:5]])


def test_ties_follow_the_numpy_rule():
    """Rows whose optimum is shared by many subsets pick the NumPy path's subset, not just an optimum."""
    x = np.array([[0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25], [1.0] * 8, [0.5, -0.5] * 4])
    t = np.array([0.75, 3.0, 0.0])
    got = _numba_kernels.solve_indices(x, t)
    np.testing.assert_array_equal(got, _numpy_indices(x, t))
    # Several subsets reach each optimum exactly, so the rule, not the optimum, fixes the answer.
    sums = _numpy_kernels.all_sums(x)
    assert ((sums == t[:, None]).sum(axis=1) > 1).all()


@pytest.mark.parametrize("c", [5, 14, 26])
def test_solve_with_numba_equals_numpy_with_invalid_slots(c):
    """Through `solve`: counts 0..c drawn per row (buckets), NaN and inf in invalid slots, both methods."""
    rng = np.random.default_rng(c)
    rows = 3000 if c < 20 else 40
    cand = rng.uniform(-1, 1, (rows, c))
    valid = rng.random((rows, c)) < rng.random((rows, 1))
    cand[~valid] = rng.choice([np.nan, np.inf, 7.0], int((~valid).sum()))
    targets = rng.uniform(-1, 1, rows)
    for method in ("exact", "first-within"):
        got = ss.solve(cand, targets, valid=valid, method=method, tol=1e-2, cpu_kernel="numba")
        want = ss.solve(cand, targets, valid=valid, method=method, tol=1e-2, cpu_kernel="numpy")
        np.testing.assert_array_equal(got.mask, want.mask)
        np.testing.assert_array_equal(got.error, want.error)
        assert not (got.mask & ~valid).any()
    assert len(np.unique(valid.sum(axis=1))) > c // 2


def test_numba_solve_equals_brute_force():
    rng = np.random.default_rng(7)
    for c in range(1, 17):
        cand = rng.uniform(-1, 1, (300, c))
        valid = rng.random((300, c)) < 0.8
        targets = rng.uniform(-1, 1, 300)
        got = ss.solve(cand, targets, valid=valid, cpu_kernel="numba")
        ref = ss.brute_force(cand, targets, valid=valid)
        np.testing.assert_allclose(got.error, ref.error, rtol=0, atol=ROUND_OFF)

