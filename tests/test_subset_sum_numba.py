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
    if kind in EXTRA_KINDS:
        return _extra_rows(rng, kind, rows, n)
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
        want = ss.solve(cand, targets, valid=valid, method=method, tol=1e-2, cpu_kernel="numpy")
        for kernel in ("numba", "auto", None):
            got = ss.solve(cand, targets, valid=valid, method=method, tol=1e-2, cpu_kernel=kernel)
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



# Further row kinds for the large comparison: integer values (many subsets tie exactly, so the tie rule
# decides), a fine grid (a few pairs tie at the minimum, the kernel's own tie resolution), products of
# uniforms (the construction's candidates), targets beyond every sum (the two sets do not overlap),
# zeros of both signs, denormal values (bucket widths beyond float range), sums that overflow to inf.
EXTRA_KINDS = ("integers", "fine-grid", "products", "far", "zeros", "denormal", "overflow")


def _extra_rows(rng, kind, rows, n):
    if kind == "integers":
        return rng.integers(-3, 4, (rows, n)).astype(float), rng.integers(-6, 7, rows).astype(float)
    if kind == "fine-grid":
        return rng.integers(-512, 513, (rows, n)) / 64.0, rng.integers(-256, 257, rows) / 128.0
    if kind == "products":
        return rng.uniform(-1, 1, (rows, n)) * rng.uniform(-1, 1, (rows, n)), rng.uniform(-0.5, 0.5, rows)
    if kind == "far":
        x = rng.uniform(-1, 1, (rows, n))
        reach = np.abs(x).sum(axis=1) + rng.uniform(0.0, 2.0, rows)
        return x, np.where(rng.random(rows) < 0.5, -reach, reach)
    if kind == "zeros":
        x = rng.uniform(-1, 1, (rows, n))
        x[rng.random((rows, n)) < 0.4] = 0.0
        x[rng.random((rows, n)) < 0.2] = -0.0
        return x, rng.choice([0.0, -0.0, 0.5, -0.25], rows)
    if kind == "denormal":
        return rng.uniform(-1, 1, (rows, n)) * 1e-310, rng.uniform(-1, 1, rows) * 1e-309
    x = rng.uniform(-1, 1, (rows, n))
    x[:, : max(1, n // 3)] *= 1.5e308  # overflow: some subset sums are +-inf, some differences NaN
    return x, rng.uniform(-1, 1, rows)


def _large_comparison_rows(n):
    """Rows per kind and count n in the large comparison (about 220,000 rows over all kinds)."""
    if n <= 12:
        return 3000
    if n <= 16:
        return 1500
    if n <= 20:
        return 400
    return 100 if n <= 23 else 30


@pytest.mark.parametrize("kind", ["uniform", "grid", "duplicates", "scales", *EXTRA_KINDS])
def test_numba_kernel_equals_numpy_kernel_on_many_rows(kind):
    """Counts n from 1 to 26, every row kind, negative and positive targets: same index as NumPy."""
    rng = np.random.default_rng([11, len(kind), ord(kind[0])])
    for n in range(1, 27):
        x, t = _rows(rng, kind, _large_comparison_rows(n), n)
        t = np.where(rng.random(t.size) < 0.5, -t, t)
        got = _numba_kernels.solve_indices(x, t)
        with np.errstate(invalid="ignore", over="ignore"):
            want = _numpy_indices(x, t)
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (kind, n, bad[:5], got[bad[:5]], want[bad[:5]])


def test_kernel_resolves_ties_between_non_adjacent_pairs():
    """Rows where several (q', b') pairs share the smallest difference, adjacent or not.

    Values on a 2^-6 grid moved by a few units of 2^-50: many pairs tie exactly or after rounding, so
    the first adjacent pair in sorted order must win, not the first pair the hashing pass meets.
    """
    rng = np.random.default_rng(5)
    for n in (7, 8, 11, 14, 17):
        base = rng.integers(-64, 65, (4000, n)) / 64.0
        jitter = rng.integers(-2, 3, (4000, n)) * 2.0**-50
        x, t = base + jitter, rng.integers(-64, 65, 4000) / 128.0
        got = _numba_kernels.solve_indices(x, t)
        np.testing.assert_array_equal(got, _numpy_indices(x, t))


def test_numba_kernel_matches_brute_force_optimum_exactly_on_small_rows():
    """n = 7..14: the meet-in-the-middle answer is an optimal subset (errors within round-off)."""
    rng = np.random.default_rng(3)
    for n in range(7, 15):
        x, t = rng.uniform(-1, 1, (2000, n)), rng.normal(0, 2, 2000)
        index = _numba_kernels.solve_indices(x, t)
        mask = _common.bits_to_mask(index, n)
        error = _common.subset_error(x, t, mask)
        best = _common.subset_error(x, t, _common.bits_to_mask(_numpy_kernels.brute_force_indices(x, t), n))
        np.testing.assert_allclose(error, best, rtol=0, atol=ROUND_OFF)


def _threads_case():
    """Both drivers on fixed rows (meet in the middle; counts 0 to 42 per row in the one pass): (blocks of
    the one pass, the indices as hex, a digest of the masks and errors)."""
    import hashlib

    rng = np.random.default_rng(4)
    x, t = rng.uniform(-1, 1, (3000, 15)), rng.uniform(-1, 1, 3000)
    cand, valid = rng.uniform(-1, 1, (9000, 42)), rng.random((9000, 42)) < 0.5
    mask, error = _numba_kernels.solve_valid(cand, valid, rng.uniform(-1, 1, 9000))
    return (_numba_kernels._blocks(9000), _numba_kernels.solve_indices(x, t).tobytes().hex(),
            hashlib.sha256(mask.tobytes() + error.tobytes()).hexdigest())


def test_numba_kernel_is_independent_of_threads_and_row_order():
    """Rows are solved one at a time: a permuted batch gives the permuted answers, and the kernels on two
    threads (a subprocess: the suite runs numba on one, tests/conftest.py) give the answers of one."""
    import os
    import subprocess
    import sys

    import numba

    rng = np.random.default_rng(4)
    x, t = rng.uniform(-1, 1, (3000, 15)), rng.uniform(-1, 1, 3000)
    perm = rng.permutation(3000)
    np.testing.assert_array_equal(_numba_kernels.solve_indices(x, t)[perm],
                                  _numba_kernels.solve_indices(x[perm], t[perm]))
    child = ("import sys; sys.path.insert(0, sys.argv[1]); import numba, test_subset_sum_numba as m; "
             "print(numba.get_num_threads(), *m._threads_case())")
    out = subprocess.run([sys.executable, "-c", child, os.path.dirname(__file__)],
                         env={**os.environ, "NUMBA_NUM_THREADS": "2"}, capture_output=True, text=True, timeout=300,
                         check=True).stdout.split()
    here = _threads_case()
    assert out[:2] == ["2", "8"] and here[0] == 4 * numba.get_num_threads()   # the blocks really ran on two threads
    assert tuple(out[2:]) == here[1:]


def test_rows_the_hashing_pass_leaves_are_settled_by_numpys_kernel():
    """Rows whose subset sums overflow are left unsettled by the compiled pass (index -1) and solved by
    `_numpy_kernels.mitm_indices` itself (`_numba_kernels._settle`): the same indices, masks and errors."""
    rng = np.random.default_rng(7)
    x, t = rng.uniform(-1, 1, (40, 24)), rng.uniform(-1, 1, 40)
    x[20:, :8] *= 1.5e308                    # rows 20..39: some sums are +-inf, some differences NaN
    ro = _numba_kernels._readonly
    valid = np.ones(x.shape, dtype=bool)
    index, mask, error = np.zeros(40, dtype=np.int64), np.zeros(x.shape, dtype=bool), np.empty(40)
    _numba_kernels._solve_block(ro(x, np.float64), ro(valid, np.bool_), ro(t, np.float64), 0, 1, 24, index, mask,
                                error)
    assert (index[20:] == -1).all() and (index[:20] >= 0).all()
    with np.errstate(over="ignore", invalid="ignore"):
        want = _numpy_kernels.mitm_indices(x, t)
        want_error = _common.subset_error(x, t, _common.bits_to_mask(want, 24))
    np.testing.assert_array_equal(_numba_kernels.solve_indices(x, t), want)
    got_mask, got_error = _numba_kernels.solve_valid(x, valid, t)
    np.testing.assert_array_equal(got_mask, _common.bits_to_mask(want, 24))
    np.testing.assert_array_equal(got_error.view(np.int64), want_error.view(np.int64))


def test_pairwise_sum_is_numpys_bit_for_bit():
    """The one-pass path recomputes each row's error itself: NumPy's float64 row sums, every length."""
    from slth.subset_sum import _numba_arith

    rng = np.random.default_rng(11)
    for n in range(0, _numba_kernels.MAX_SLOTS + 1):
        a = rng.standard_normal((300, n)) * np.exp(rng.uniform(-30, 30, (300, n)))
        a[rng.random(a.shape) < 0.4] = 0.0
        a[rng.random(a.shape) < 0.05] *= -0.0
        want = np.where(a != 0, a, 0.0).sum(axis=1)
        got = np.array([0.0 + _numba_arith.pairwise_sum(row, n) for row in np.where(a != 0, a, 0.0)])
        np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64), err_msg=f"n={n}")


def test_half_sum_extremes_and_bit_casts_are_numpys():
    """The kernel reads the extremes of a half's sums off its two quarters (`_numba_arith.halves`) and
    labels values through bit casts: the same values as NumPy's min and max of all the sums (non-finite
    where a sum is NaN), and the same bits as ``.view``, on every kind of value the rows can hold (zeros
    of both signs, denormals, infinities)."""
    import numba

    from slth.subset_sum import _numba_arith

    @numba.njit
    def casts(v):
        out_bits = np.empty(v.shape[0], dtype=np.int64)
        out_back = np.empty(v.shape[0])
        for i in range(v.shape[0]):
            out_bits[i] = _numba_arith.bits(v[i])
            out_back[i] = _numba_arith.from_bits(out_bits[i] ^ 1)
        return out_bits, out_back

    rng = np.random.default_rng(12)
    for trial in range(600):
        k = int(rng.integers(1, 15))
        x = rng.standard_normal(k) * np.exp(rng.uniform(-3, 3, k))
        if trial % 4 == 0:                      # huge: sums overflow to +-inf, and inf + -inf is NaN
            x = np.sign(x) * np.exp(rng.uniform(-745, 709.7, k) if trial % 8 else rng.uniform(707, 709.7, k))
        x[rng.random(k) < 0.2] = 0.0
        x[rng.random(k) < 0.1] = -0.0
        tab = np.empty(1 << ((k + 1) // 2))
        lo, hi = tab.copy(), tab.copy()
        with np.errstate(over="ignore", invalid="ignore"):
            want = _numpy_kernels.all_sums(x[None])[0]
            got = _numba_arith.halves(x, 0, k, lo, hi)
        if np.isnan(want).any():            # inf + -inf: then an extreme is not finite, and the row unsettled
            assert not np.isfinite(got).all(), (trial, x)
        else:
            assert (got[0], got[1]) == (want.min(), want.max()), (trial, x)
        b, back = casts(want)
        np.testing.assert_array_equal(b, want.view(np.int64))
        np.testing.assert_array_equal(back.view(np.int64), want.view(np.int64) ^ 1)


# the "overflow" rows: NumPy's threads warn (np.errstate does not reach them)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("kind", ["uniform", "grid", "duplicates", "scales", *EXTRA_KINDS])
def test_one_pass_equals_the_buckets_bit_for_bit(kind, monkeypatch):
    """`solve` on one pass (`_numba_kernels.solve_valid`) and on NumPy's buckets: the same masks and
    the same error bits, with counts 0..2c per row as the construction draws them (and wider), NaN and
    inf in invalid slots."""
    from slth.subset_sum import engine

    rng = np.random.default_rng(100 + (["uniform", "grid", "duplicates", "scales", *EXTRA_KINDS]).index(kind))
    monkeypatch.setattr(engine, "FUSED_FROM_ROWS", 1)
    for slots, p, rows in [(8, 0.5, 3000), (42, 0.5, 1500), (40, 0.7, 60), (130, 0.05, 200)]:
        cand, targets = _rows(rng, kind, rows, slots)
        valid = rng.random((rows, slots)) < p
        valid[:3] = False
        valid[3] = slots <= 36
        cand = np.where(valid, cand, rng.choice([np.nan, np.inf, 7.0], cand.shape))
        want = ss.solve(cand, targets, valid=valid, cpu_kernel="numpy")
        assert engine._fused("auto", None, int(valid.sum(axis=1).max()), rows, slots,
                             _common.DEFAULT_MEMORY_BUDGET) == (slots <= _numba_kernels.MAX_SLOTS)
        for kernel in ("auto", "numba"):
            got = ss.solve(cand, targets, valid=valid, cpu_kernel=kernel)
            np.testing.assert_array_equal(got.mask, want.mask)
            np.testing.assert_array_equal(got.error.view(np.int64), want.error.view(np.int64))


def test_one_pass_is_taken_only_where_it_pays_and_fits():
    from slth.subset_sum import engine

    budget = _common.DEFAULT_MEMORY_BUDGET
    rows = engine.FUSED_FROM_ROWS
    assert engine._fused("auto", None, 21, rows, 42, budget)
    assert not engine._fused("auto", None, 21, rows - 1, 42, budget)           # small batch: buckets
    assert not engine._fused("numpy", None, 21, rows, 42, budget)
    assert not engine._fused("auto", ["a device"], 21, rows, 42, budget)
    assert not engine._fused("auto", None, engine.FUSED_MAX_COUNT + 1, rows, 64, budget)
    assert not engine._fused("auto", None, 30, rows, 42, _numba_kernels.block_bytes(30, rows) - 1)


def test_compiled_kernels_are_cached_in_slths_cache_folder_not_beside_the_module():
    from slth import caches

    from slth import numba_runtime

    locator = _numba_kernels._solve_block._cache._impl._locator
    if numba_runtime._numba_caching.config.CACHE_DIR:
        pytest.skip("NUMBA_CACHE_DIR is set: numba's own locator decides")
    assert isinstance(locator, numba_runtime._SlthCacheLocator)
    assert str(caches.folder("numba")) in locator.get_cache_path()


_TINY_KERNEL = """
import numba
from slth import numba_runtime

numba_runtime.cache_in_slth_folder(__file__)


@numba.njit(cache=True)
def double(x):
    return 2.0 * x
"""


def test_a_kernel_is_compiled_once_by_processes_that_start_together(tmp_path, monkeypatch):
    """`numba_runtime.compiled` compiles under a lock file in the kernel's cache folder: a caller that finds
    it held waits, and a process that comes later reads the kernel from disk instead of compiling it."""
    import fcntl
    import importlib
    import os
    import subprocess
    import sys
    import threading
    import time

    from slth import numba_runtime

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "caches"))
    (tmp_path / "tiny_kernel.py").write_text(_TINY_KERNEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tiny_kernel", raising=False)    # and dropped again after the test
    module = importlib.import_module("tiny_kernel")
    folder = module.double._cache._cache_path
    assert folder.startswith(str(tmp_path / "caches" / "slth" / "numba"))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "compile.lock"), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)                  # another process compiling
        waiter = threading.Thread(target=numba_runtime.compiled, args=(module.double, 1.5))
        waiter.start()
        time.sleep(0.5)
        assert waiter.is_alive() and not module.double.overloads
    waiter.join(timeout=120)
    assert not waiter.is_alive() and module.double(1.5) == 3.0 and len(module.double.overloads) == 1
    assert any(name.endswith(".nbi") for name in os.listdir(folder))
    child = ("import sys; sys.path.insert(0, sys.argv[1]); import tiny_kernel as m; "
             "from slth import numba_runtime as r; r.compiled(m.double, 1.5); "
             "print(sum(m.double.stats.cache_hits.values()), sum(m.double.stats.cache_misses.values()))")
    proc = subprocess.run([sys.executable, "-c", child, str(tmp_path)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "caches")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["1", "0"]              # read from disk, not compiled


_DEPENDENT_KERNEL = """
import numba
import tiny_factor
from slth import numba_runtime

numba_runtime.cache_in_slth_folder(__file__, reads=(tiny_factor.__file__,))
FACTOR = tiny_factor.FACTOR


@numba.njit(cache=True)
def scale(x):
    return FACTOR * x
"""


def test_a_cached_kernel_is_compiled_again_when_a_file_it_reads_changes(tmp_path):
    """numba's cache checks only the kernel's own source file; a constant frozen from another module (as
    `_numba_kernels` freezes `_common`'s and calls `_numba_arith`) would otherwise stay stale on disk."""
    import os
    import subprocess
    import sys

    (tmp_path / "tiny_factor.py").write_text("FACTOR = 2.0\n")
    (tmp_path / "dependent_kernel.py").write_text(_DEPENDENT_KERNEL)
    child = ("import sys; sys.path.insert(0, sys.argv[1]); import dependent_kernel as m; "
             "print(m.scale(1.5), sum(m.scale.stats.cache_hits.values()))")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "caches"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NUMBA_CACHE_DIR", None)

    def run():
        proc = subprocess.run([sys.executable, "-c", child, str(tmp_path)], capture_output=True, text=True,
                              timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout.split()

    assert run() == ["3.0", "0"]                # compiled and cached
    assert run() == ["3.0", "1"]                # read from the cache
    (tmp_path / "tiny_factor.py").write_text("FACTOR = 30.0\n")
    assert run() == ["45.0", "0"]               # the file it reads changed: compiled again, not the stale 3.0


def test_ctrl_c_during_a_kernel_call_is_raised_when_it_returns():
    """A SIGINT inside a kernel call (numba calls back into Python, where a KeyboardInterrupt raised
    mid-call crashed the process) is held until the call ends, then delivered as usual."""
    import signal
    import threading

    from slth import numba_runtime

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    before = signal.getsignal(signal.SIGINT)
    finished = False
    with pytest.raises(KeyboardInterrupt):
        with numba_runtime.one_call():
            signal.raise_signal(signal.SIGINT)
            finished = True
    assert finished and signal.getsignal(signal.SIGINT) is before
