"""Exactness and contract tests of the batched subset-sum engine (docs/theory.md §5, property 4).

The guarantee under test: `solve(method="exact")` returns, for every row, a subset of the valid
candidates whose float64 error equals the optimum over all 2^c subsets (brute force) to round-off.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slth import subset_sum as ss
from slth.subset_sum import engine

# Errors are recomputed from masks in float64; two optimal subsets may differ by round-off in the sums.
ROUND_OFF = 1e-12


def _problems(seed, batch, c, *, p_valid=1.0, scale=1.0):
    rng = np.random.default_rng(seed)
    cand = rng.uniform(-scale, scale, (batch, c))
    targets = rng.uniform(-1.0, 1.0, batch)
    valid = rng.random((batch, c)) < p_valid
    return cand, targets, valid


@settings(deadline=None)
@given(
    c=st.integers(1, 14),
    batch=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    p_valid=st.sampled_from([1.0, 0.8, 0.5, 0.1]),
    scale=st.sampled_from([1.0, 1e-3, 10.0]),
)
def test_exact_equals_brute_force(c, batch, seed, p_valid, scale):
    cand, targets, valid = _problems(seed, batch, c, p_valid=p_valid, scale=scale)
    got = ss.solve(cand, targets, valid=valid)
    ref = ss.brute_force(cand, targets, valid=valid)
    assert not (got.mask & ~valid).any()
    np.testing.assert_allclose(got.error, ref.error, rtol=0, atol=ROUND_OFF)


@settings(deadline=None)
@given(
    values=st.lists(st.floats(-1, 1, allow_nan=False, width=64), min_size=1, max_size=12),
    target=st.floats(-3, 3, allow_nan=False),
)
def test_exact_equals_brute_force_on_drawn_values(values, target):
    cand = np.array([values])
    got = ss.solve(cand, [target])
    ref = ss.brute_force(cand, [target])
    np.testing.assert_allclose(got.error, ref.error, rtol=0, atol=ROUND_OFF)


@pytest.mark.parametrize(("c", "batch"), [(15, 1500), (16, 1500), (17, 300), (18, 200)])
def test_exact_equals_brute_force_seeded_batch(c, batch):
    cand, targets, _ = _problems(c, batch, c)
    got = ss.solve(cand, targets)
    ref = ss.brute_force(cand, targets)
    np.testing.assert_allclose(got.error, ref.error, rtol=0, atol=ROUND_OFF)


def test_buckets_with_binomial_counts_equal_per_row_brute_force():
    cand, targets, valid = _problems(7, 400, 24, p_valid=0.5)
    valid[:3] = False  # rows without candidates return the empty subset
    got = ss.solve(cand, targets, valid=valid)
    assert not (got.mask & ~valid).any()
    assert not got.mask[:3].any()
    np.testing.assert_array_equal(got.error[:3], np.abs(targets[:3]))
    for b in range(3, 400):
        cols = np.flatnonzero(valid[b])
        ref = ss.brute_force(cand[b : b + 1, cols], targets[b : b + 1])
        assert abs(got.error[b] - ref.error[0]) <= ROUND_OFF


@pytest.mark.parametrize("rows, kwargs", [
    (50, {}),
    (50, {"cpu_kernel": "numpy"}),
    (50, {"cpu_kernel": "numba"}),
    (engine.FUSED_FROM_ROWS, {}),                   # numba's one pass over the batch
    (50, {"method": "first-within", "tol": 1e-3}),
    (5, {"method": "milp"}),
    (50, {"sharded": True}),                        # the JAX path
], ids=["default", "numpy", "numba", "one-pass", "first-within", "milp", "jax"])
def test_invalid_slots_are_ignored_even_when_not_finite(rows, kwargs):
    """Every method and back end reads only valid slots: NaN and inf elsewhere change nothing."""
    if kwargs.get("cpu_kernel") == "numba" or rows == engine.FUSED_FROM_ROWS:
        pytest.importorskip("numba", reason="the numba kernels need the numba extra")
    cand, targets, valid = _problems(3, rows, 10, p_valid=0.6)
    poisoned = np.where(valid, cand, np.where(np.arange(10) % 2, np.nan, -np.inf))
    got = ss.solve(poisoned, targets, valid=valid, **kwargs)
    ref = ss.solve(np.where(valid, cand, 0.0), targets, valid=valid, **kwargs)
    np.testing.assert_array_equal(got.mask, ref.mask)
    np.testing.assert_array_equal(got.error, ref.error)


def test_chunked_equals_unchunked_and_is_deterministic():
    cand, targets, valid = _problems(11, 300, 20, p_valid=0.8)
    whole = ss.solve(cand, targets, valid=valid)
    again = ss.solve(cand, targets, valid=valid)
    tiny = ss.solve(cand, targets, valid=valid, memory_budget_bytes=200_000)
    np.testing.assert_array_equal(whole.mask, again.mask)
    np.testing.assert_array_equal(whole.mask, tiny.mask)
    np.testing.assert_array_equal(whole.error, tiny.error)


def test_ties_are_broken_deterministically():
    cand = np.full((4, 12), 0.25)
    cand[2:] = np.tile([0.5, -0.5, 0.25, -0.25, 0.125, -0.125], 2)
    targets = np.array([0.5, 1.0, 0.0, 0.375])
    first = ss.solve(cand, targets)
    np.testing.assert_array_equal(first.error, 0.0)
    for _ in range(3):
        np.testing.assert_array_equal(ss.solve(cand, targets).mask, first.mask)


def test_error_is_the_documented_float64_formula():
    cand, targets, valid = _problems(5, 200, 16, p_valid=0.9)
    res = ss.solve(np.float32(cand), targets, valid=valid)
    cand64 = np.float32(cand).astype(np.float64)
    expected = np.abs(np.where(res.mask, cand64, 0.0).sum(axis=1) - targets)
    np.testing.assert_array_equal(res.error, expected)
    assert res.mask.dtype == bool and res.error.dtype == np.float64 and res.found.all()


def test_jax_kernels_match_numpy_bit_for_bit():
    pytest.importorskip("jax")
    cand, targets, valid = _problems(13, 64, 14, p_valid=0.75)       # sharded=True scopes float64 itself
    numpy_path = ss.solve(cand, targets, valid=valid, sharded=False)
    jax_path = ss.solve(cand, targets, valid=valid, sharded=True)
    np.testing.assert_array_equal(numpy_path.mask, jax_path.mask)
    np.testing.assert_array_equal(numpy_path.error, jax_path.error)


def test_first_within_reports_truthfully():
    tol = 1e-2
    cand, targets, valid = _problems(17, 600, 16, p_valid=0.85)
    cand[:40] *= 0.01  # rows whose sums cannot reach most targets: some truly have no subset within tol
    got = ss.solve(cand, targets, valid=valid, method="first-within", tol=tol)
    ref = ss.brute_force(cand, targets, valid=valid)
    assert not (got.mask & ~valid).any()
    assert (got.error[got.found] <= tol).all()
    assert (ref.error[~got.found] > tol).all()
    assert (~got.found).any() and got.found.any()
    exact = ss.solve(cand, targets, valid=valid, tol=tol)
    np.testing.assert_array_equal(exact.found, got.found)


def test_first_within_beyond_the_exact_limit():
    cand, targets, _ = _problems(19, 20, 30)
    budget = 1 << 20
    with pytest.raises(ValueError, match="c=30"):
        ss.solve(cand, targets, memory_budget_bytes=budget)
    got = ss.solve(cand, targets, method="first-within", tol=1e-3, memory_budget_bytes=budget)
    assert (got.error[got.found] <= 1e-3).all()
    assert got.found.mean() > 0.9


def test_milp_agrees_with_exact():
    cand, targets, valid = _problems(23, 3, 10, p_valid=0.9)
    milp = ss.solve(cand, targets, valid=valid, method="milp")
    exact = ss.solve(cand, targets, valid=valid)
    assert not (milp.mask & ~valid).any()
    assert (milp.error >= exact.error - ROUND_OFF).all()
    np.testing.assert_allclose(milp.error, exact.error, rtol=0, atol=1e-6)


@pytest.mark.parametrize("p_valid", [1.0, 0.6])
@pytest.mark.parametrize(("lo", "hi"), [(-1.0, 1.0), (-0.3, 0.7)])
def test_coverage_against_a_grid_of_targets(p_valid, lo, hi):
    cand, _, valid = _problems(29, 6, 8, p_valid=p_valid, scale=0.6)
    valid[0] = False
    eta = ss.coverage(cand, valid, lo=lo, hi=hi)
    spacing = 1e-4
    grid = np.linspace(lo, hi, int(round((hi - lo) / spacing)) + 1)
    for b in range(cand.shape[0]):
        cols = np.flatnonzero(valid[b])
        sums = ss.subset_sums(cand[b : b + 1, cols])[0] if cols.size else np.zeros(1)
        pos = np.clip(np.searchsorted(sums, grid), 1, sums.size - 1) if sums.size > 1 else 0
        best = np.minimum(np.abs(grid - sums[pos - 1 if sums.size > 1 else 0]),
                          np.abs(grid - sums[pos]))
        assert best.max() <= eta[b] + ROUND_OFF
        assert eta[b] - best.max() <= spacing


def test_subset_sums_are_all_sums_sorted():
    cand, _, _ = _problems(31, 3, 9)
    bits = (np.arange(1 << 9)[:, None] >> np.arange(9)) & 1
    expected = np.sort(cand @ bits.T, axis=1)
    np.testing.assert_allclose(ss.subset_sums(cand), expected, rtol=0, atol=ROUND_OFF)


def test_an_empty_batch_is_fine():
    res = ss.solve(np.zeros((0, 5)), np.zeros(0))
    assert res.mask.shape == (0, 5) and res.error.shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"candidates": np.zeros(3)}, "candidates.*ndim=1"),
        ({"candidates": np.zeros((2, 0)), "targets": np.zeros(2)}, r"c >= 1"),
        ({"targets": np.zeros((2, 1))}, "targets.*ndim=2"),
        ({"targets": np.zeros(3)}, r"targets.*B=2.*\(3,\)"),
        ({"valid": np.ones((2, 3), bool)}, r"valid.*\(2, 3\)"),
        ({"valid": np.ones((2, 4), int)}, "valid.*dtype=int"),
        ({"candidates": np.array([[0.1, np.nan, 0, 0], [0, 0, 0, 0]])}, r"candidates\[0, 1\] = nan"),
        ({"targets": np.array([0.0, np.inf])}, r"targets\[1\] = inf"),
        ({"method": "greedy"}, r"\('exact', 'first-within', 'milp'\).*'greedy'"),
        ({"method": "first-within"}, "tol=None"),
        ({"method": "first-within", "tol": 0.0}, "tol=0.0"),
        ({"tol": -1.0}, "tol=-1.0"),
        ({"memory_budget_bytes": 0}, "memory_budget_bytes.*0"),
        ({"sharded": "yes"}, "sharded='yes'"),
    ],
)
def test_bad_input_is_rejected_with_the_offending_value(kwargs, pattern):
    args = {"candidates": np.zeros((2, 4)), "targets": np.zeros(2), **kwargs}
    cand = args.pop("candidates")
    targets = args.pop("targets")
    with pytest.raises(ValueError, match=pattern):
        ss.solve(cand, targets, **args)


def test_too_large_for_exact_names_c_limit_and_alternatives():
    with pytest.raises(ValueError, match=r"c=48.*at most 46.*first-within.*milp"):
        ss.solve(np.zeros((1, 48)), np.zeros(1))


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: ss.coverage(np.zeros((1, 3)), lo=1.0, hi=-1.0), "lo=1.0, hi=-1.0"),
        (lambda: ss.coverage(np.full((1, 3), np.inf)), r"candidates\[0, 0\] = inf"),
        (lambda: ss.subset_sums(np.zeros((1, 40))), "c=40"),
    ],
)
def test_certificate_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_cpu_kernel_is_checked_and_falls_back_without_numba(monkeypatch):
    cand, targets = np.ones((2, 3)), np.zeros(2)
    with pytest.raises(ValueError, match=r"cpu_kernel must be None or one of \('auto', 'numpy', 'numba'\); "
                                         r"got cpu_kernel='fortran'"):
        ss.solve(cand, targets, cpu_kernel="fortran")
    monkeypatch.setattr(engine, "HAVE_NUMBA", False)
    monkeypatch.setattr(engine, "DEFAULT_CPU_KERNEL", "numba")
    assert engine._cpu_kernel(None) == "numpy"
    with pytest.raises(ValueError, match='cpu_kernel="numba" needs numba'):
        ss.solve(cand, targets, cpu_kernel="numba")
    with pytest.raises(ValueError, match='cpu_kernel="auto" needs numba'):
        ss.solve(cand, targets, cpu_kernel="auto")
    monkeypatch.setattr(engine, "HAVE_NUMBA", True)
    assert engine._cpu_kernel(None) == "numba"
