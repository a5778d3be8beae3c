"""`solve`: batched subset sum (exact, first-within, MILP reference) with buckets, chunks and sharding."""

from __future__ import annotations

import importlib.util
import math
import os
from concurrent.futures import ThreadPoolExecutor

import jax
import numpy as np

from slth import precision
from slth.errors import InputError
from slth.subset_sum import _common, _numpy_kernels
from slth.subset_sum._common import DEFAULT_MEMORY_BUDGET, METHODS, SubsetSumResult

# numba is optional (the "numba" extra): without it the NumPy kernels are the only CPU path. It is
# imported on first use only, so that importing slth does not pay for it.
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
#: CPU kernels: "auto" takes numba's for rows of at least `NUMBA_FROM_COUNT` valid candidates and
#: NumPy's below, and numba's for every row of a large batch (`_fused`); "numpy" and "numba" one of
#: them for every row. All three give the same masks and errors bit for bit.
CPU_KERNELS = ("auto", "numpy", "numba")

#: The CPU kernel `solve` uses by default where numba is installed (NumPy's otherwise). Chosen by
#: benchmarks/README.md, "CPU, 2026-12-02": numba's hashing kernel (no sort) ran 4.4-4.9x NumPy's
#: instances per second on one core at c = 21 and 2.6-3x at n = 16, but NumPy's AVX-512 sort is as fast
#: or faster for n <= 12, hence the count threshold.
DEFAULT_CPU_KERNEL = "auto"
NUMBA_FROM_COUNT = 16
#: Largest valid count for which "auto" and "numba" solve a whole exact batch in one compiled pass
#: (`_fused`): gathering each row's valid slots, solving and computing its error there instead of
#: bucketing rows by count in NumPy. Rows of every count, small ones included, then take numba's kernel
#: (the same answers; within 10% of NumPy's below `NUMBA_FROM_COUNT`). On Binomial rows at c = 21 (the
#: construction's) one pass measured 1.48x the buckets' instances per second in the same run
#: (benchmarks/README.md, "CPU, 2026-12-02, later"). Above this count, a block's buffers grow past a few
#: megabytes and the buckets are used.
FUSED_MAX_COUNT = 36
#: Smallest batch solved in one pass: a parallel numba call costs milliseconds to start, which a small
#: batch (a width search's, a test's) would feel; NumPy's buckets start in microseconds.
FUSED_FROM_ROWS = 8192

# Extra candidates solved exactly beyond log2(1/tol) by "first-within" before falling back to the full
# solve: with 6 extra, about 1% of U[-1, 1] rows miss tol (SUBSET_SUM.md).
_FIRST_WITHIN_EXTRA = 6


def solve(
    candidates,
    targets,
    *,
    method: str = "exact",
    valid=None,
    tol: float | None = None,
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
    sharded: bool | None = None,
    cpu_kernel: str | None = None,
) -> SubsetSumResult:
    """Pick, for every row b, a subset of the valid candidates whose sum is closest to ``targets[b]``.

    Solves ``min_{x in {0,1}^c, x_j = 0 where not valid} |targets[b] - sum_j candidates[b, j] x_j|`` for
    all rows at once: the subset-sum step of Pensia et al. 2020 (each weight of the target network is
    matched by a subset of c random products), solved exactly by Horowitz and Sahni's 1974 meet in the
    middle instead of a MIP solver. Lueker 1998 explains why ~log2(1/eps) random candidates suffice.

    Rows are grouped by their number n of valid candidates, which are moved to the front (the work of a
    row depends on n, not on c). Rows with n <= `BRUTE_FORCE_MAX_COUNT` enumerate all 2^n sums; larger
    rows use meet in the middle with one values-only sort of 2^(n//2) + 2^(n - n//2) values. Each bucket
    is cut into chunks within ``memory_budget_bytes``.

    Numerics and back ends: the search always runs in float64. On a single CPU device it runs in NumPy
    (chunks spread over threads; NumPy's sort releases the GIL), which measured faster than XLA on CPU.
    With several JAX devices (or ``sharded=True``), or when the default JAX device is an accelerator, it
    runs in JAX with the batch sharded over a 1-D mesh, in float64 (:mod:`slth.precision`'s scope):
    where ``jax_enable_x64`` is off, sharded=None keeps the NumPy path and ``sharded=True`` switches it
    on for the search alone. Both back ends perform the same floating-point operations in the same
    order and return identical masks.

    Ties (subsets whose errors agree to the last bit) are broken deterministically: by the smallest
    subset index (bit j = candidate j) for brute force, by the first closest pair in sorted order and
    then the smallest half-subset indices for meet in the middle (`_numpy_kernels.mitm_indices`).

    Args:
        candidates: real (B, c), c >= 1, NumPy or JAX. Entries of valid slots must be finite; invalid
            slots are ignored (they may hold anything, NaN included).
        targets: real (B,), finite.
        method: one of `METHODS`. ``"exact"``: the optimum. ``"first-within"``: some subset with error
            <= tol; the first ceil(log2(1/tol)) + 6 valid candidates are solved exactly and only the rows
            that miss tol are solved on all candidates. ``"milp"``: Pensia et al.'s formulation
            (min s subject to -s <= w - a.x <= s, x binary) through `scipy.optimize.milp` (HiGHS), one
            row at a time: the slow reference baseline.
        valid: optional bool (B, c); False slots are never chosen. None: all slots valid.
        tol: finite float > 0. Required for "first-within"; for the other methods it only sets `found`.
        memory_budget_bytes: positive int, bytes of working memory (see `DEFAULT_MEMORY_BUDGET`).
            "exact" raises InputError up front when one row does not fit (n > `max_exact_count`).
            "first-within" then solves rows on their first `max_exact_count` valid candidates.
        sharded: None (shard when this process has more than one local JAX device and x64 is on),
            True (shard over all local devices) or False (one device). Only this process's devices
            are used, so processes of a ``jax.distributed`` run solve their own batches independently.
        cpu_kernel: None (`DEFAULT_CPU_KERNEL`, or "numpy" when numba is missing), "auto", "numpy" or
            "numba": the kernels of the CPU path (no effect when the search runs in JAX). "numba"
            finds the closest pair by hashing bucketed half sums (no sort), parallel over rows, and
            returns the same masks as "numpy" bit for bit (`_numba_kernels`); "auto" uses it for rows
            of at least `NUMBA_FROM_COUNT` valid candidates. Both need numba installed.

    Returns:
        `SubsetSumResult` of host arrays: mask bool (B, c), error float64 (B,) recomputed from the mask by
        `subset_error` (``abs(np.where(mask, candidates, 0.0).sum(axis=1) - targets)`` in float64), and
        found bool (B,) = error <= tol (all True when tol is None). For "first-within", found False means
        no subset within tol exists among the row's first `max_exact_count` valid candidates (all of
        them when they fit the budget).

    Raises:
        InputError (a ValueError): before any work, on an unknown method, wrong ndim, mismatched shapes, c = 0,
            non-finite values, a non-boolean ``valid``, a missing or non-positive tol for
            "first-within", a non-positive budget, rows too large for "exact", or an unknown (or,
            for "numba", uninstalled) cpu_kernel.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}; got method={method!r}")
    budget = _common.check_budget(memory_budget_bytes)
    kernel = _cpu_kernel(cpu_kernel)
    cand, valid_arr = _common.as_candidates(candidates, valid)
    tgt = _common.as_targets(targets, cand.shape[0])
    tol_value = _common.check_tol(tol, required=method == "first-within")
    devices = _devices(sharded)
    limit = _common.max_exact_count(budget)
    largest = int(valid_arr.sum(axis=1).max(initial=0))
    if method == "exact" and largest > limit:
        raise InputError(
            f"c={cand.shape[1]} ({largest} valid candidates in the largest row) is too large for "
            f'method="exact" within memory_budget_bytes={budget}: at most {limit} candidates per row '
            'fit. Use method="first-within" with a tol, method="milp", or a larger memory_budget_bytes.'
        )

    if method == "milp":
        from slth.subset_sum.reference import milp_masks

        mask = milp_masks(cand, tgt, valid_arr)
    elif method == "exact" and _fused(kernel, devices, largest, *cand.shape, budget):
        from slth.subset_sum import _numba_kernels

        mask, error = _numba_kernels.solve_valid(cand, valid_arr, tgt)
        return SubsetSumResult(mask, error, np.ones_like(error, dtype=bool))
    elif method == "exact":
        mask = _exact_masks(cand, tgt, valid_arr, budget, devices, kernel)
    else:
        mask = _first_within_masks(cand, tgt, valid_arr, tol_value, budget, devices, limit, kernel)
    error = _common.subset_error(cand, tgt, mask)
    found = np.ones_like(error, dtype=bool) if tol_value is None else error <= tol_value
    return SubsetSumResult(mask, error, found)


def _cpu_kernel(name: str | None) -> str:
    """The checked CPU kernel name: None picks `DEFAULT_CPU_KERNEL` where numba is installed."""
    if name is None:
        return DEFAULT_CPU_KERNEL if HAVE_NUMBA else "numpy"
    if name not in CPU_KERNELS:
        raise InputError(f"cpu_kernel must be None or one of {CPU_KERNELS}; got cpu_kernel={name!r}")
    if name in ("auto", "numba") and not HAVE_NUMBA:
        raise InputError(f'cpu_kernel="{name}" needs numba (pip install "slth[numba]"); it is not installed')
    return name


def _fused(kernel: str, devices, largest: int, rows: int, slots: int, budget: int) -> bool:
    """Whether numba solves the whole batch in one pass (`_numba_kernels.solve_valid`: no buckets, and
    the error computed in the same pass): on the CPU path with numba's kernel or "auto", for a batch of at
    least `FUSED_FROM_ROWS` rows whose largest valid count is at most `FUSED_MAX_COUNT` and whose buffers
    (one set per block, sized for that count) fit the budget. Same masks and errors bit for bit as the bucketed path (tests/test_subset_sum_numba.py)."""
    if devices is not None or kernel == "numpy" or rows < FUSED_FROM_ROWS or largest > FUSED_MAX_COUNT:
        return False
    from slth.subset_sum import _numba_kernels

    if slots > _numba_kernels.MAX_SLOTS:
        return False
    return _numba_kernels.block_bytes(largest, rows) <= budget


def _devices(sharded: bool | None) -> list | None:
    """JAX devices to run on, or None for the NumPy float64 path (see `solve`, back ends)."""
    x64 = bool(jax.config.read("jax_enable_x64"))
    if sharded is True:
        return jax.local_devices()
    if sharded is not None and sharded is not False:
        raise InputError(f"sharded must be None, True or False; got sharded={sharded!r}")
    if not x64:
        return None
    if sharded is None and jax.local_device_count() > 1:
        return jax.local_devices()
    if jax.default_backend() != "cpu":
        return jax.local_devices()[:1]
    return None


def _exact_masks(cand, tgt, valid, budget, devices, kernel="numpy") -> np.ndarray:
    """Exact masks (B, c): bucket rows by valid count, solve each bucket, scatter back."""
    mask = np.zeros(cand.shape, dtype=bool)
    for n, rows, cols in _common.buckets(valid):
        x = np.take_along_axis(cand[rows], cols, axis=1)
        t = tgt[rows]
        if devices is None and (kernel == "numba" or (kernel == "auto" and n >= NUMBA_FROM_COUNT)):
            from slth.subset_sum import _numba_kernels

            index = _numba_kernels.solve_indices(x, t)
        elif devices is None:
            index = _numpy_indices(x, t, budget)
        else:
            from slth.subset_sum import _jax_kernels

            index = precision.run(_jax_kernels.solve_indices, x, t, devices=devices, memory_budget_bytes=budget)
        mask[rows[:, None], cols] = _common.bits_to_mask(index, n)
    return mask


def _numpy_indices(x: np.ndarray, t: np.ndarray, budget: int) -> np.ndarray:
    """Subset indices for one bucket with the NumPy kernels, chunks spread over the CPU cores.

    Worker i takes every workers-th chunk from chunk i on and reuses one workspace for all of them;
    rows are solved independently, so the result does not depend on the number of workers.
    """
    rows, n = x.shape
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    size = _common.chunk_rows(_common.sums_per_instance(n), budget, workers)
    starts = list(range(0, rows, size))
    groups = [starts[i::workers] for i in range(workers) if starts[i::workers]]
    out = np.empty(rows, dtype=np.int64)

    def run(group: list[int]) -> None:
        if n <= _common.BRUTE_FORCE_MAX_COUNT:
            for start in group:
                stop = start + size
                out[start:stop] = _numpy_kernels.brute_force_indices(x[start:stop], t[start:stop])
            return
        work = _numpy_kernels.MitmWorkspace(min(size, rows), n)
        for start in group:
            stop = start + size
            out[start:stop] = _numpy_kernels.mitm_indices(x[start:stop], t[start:stop], work)

    if len(groups) == 1:
        run(groups[0])
    else:
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            list(pool.map(run, groups))
    return out


def _first_within_masks(cand, tgt, valid, tol, budget, devices, limit, kernel) -> np.ndarray:
    """Masks within tol where one exists: exact on a prefix, then exact on all candidates for misses."""
    prefix = min(limit, max(1, math.ceil(math.log2(1.0 / tol)) + _FIRST_WITHIN_EXTRA))
    rank = np.cumsum(valid, axis=1)
    mask = _exact_masks(cand, tgt, valid & (rank <= prefix), budget, devices, kernel)
    retry = (_common.subset_error(cand, tgt, mask) > tol) & (rank[:, -1] > prefix)
    if prefix < limit and retry.any():
        rows = np.flatnonzero(retry)
        mask[rows] = _exact_masks(
            cand[rows], tgt[rows], valid[rows] & (rank[rows] <= limit), budget, devices, kernel
        )
    return mask
