"""Compiled CPU kernels (numba): the NumPy kernels' answers, bit for bit, without a comparison sort.

`solve_indices` returns, for every row of ``x`` float64 (R, n) and ``t`` float64 (R,), the same int64
subset index as `_numpy_kernels.brute_force_indices` (n <= `BRUTE_FORCE_MAX_COUNT`) or
`_numpy_kernels.mitm_indices` (larger n), in parallel over rows (numba ``prange``).

How the NumPy answer is reproduced exactly:

- Subset sums are the floats NumPy computes: `_numpy_kernels.all_sums` adds a doubling sum of the high
  candidates to one of the low candidates, ``hi[m_hi] + lo[m_lo]``. Each half's sums are first put in
  order by Horowitz and Sahni's merge (the sorted list s merged with s + x_j, linear per candidate),
  whose own sums are rounded in another order; they are then replaced by NumPy's floats and the few
  neighbours that rounding swapped are put back in order by an insertion pass (linear when, as for
  real data, almost nothing moves).
- Meet in the middle labels values as NumPy does (lowest mantissa bit 1 for ``q = t - a``, 0 for the
  sums b of the second half). Both relabelings are monotone, so ascending q is the first half's sorted
  sums read backwards; a two-pointer walk over q and b visits NumPy's merged sorted order, and the first
  strictly smallest difference between neighbours of different labels is NumPy's ``argmin``.
- Recovery: NumPy takes the first index whose labelled value equals the chosen q (b); equal values are
  neighbours in sorted order, so the smallest index in that run is the same subset.
- Brute force: the first smallest ``|s_m - t|`` in index order, as NumPy's ``argmin``.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from slth.subset_sum._common import BRUTE_FORCE_MAX_COUNT

# Compiled functions are cached on disk next to this file (numba's cache=True), so only the first
# process after an install pays the compilation (a few seconds).
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
# numba's default threading layer (workqueue) aborts the process when two threads launch parallel
# kernels at once; calls from several Python threads therefore take turns.
_ONE_CALL = threading.Lock()


@numba.njit(**_JIT)
def _doubling(x, start, k, out):
    """out[:2^k] = all subset sums of x[start:start+k] by doubling, as `_numpy_kernels.doubling_sums`."""
    out[0] = 0.0
    for j in range(k):
        size = 1 << j
        xj = x[start + j]
        for m in range(size):
            out[size + m] = out[m] + xj


@numba.njit(**_JIT)
def _sorted_half(x, start, k, vals, idx, other_vals, other_idx, lo, hi):
    """NumPy's subset sums of x[start:start+k] in ascending order, and their subset indices.

    Works in two buffer pairs of 2^k + 1 slots (the last holds a +inf sentinel, which keeps the merge
    free of bounds tests and of branches); returns the pair that holds the result.
    """
    vals[0] = 0.0
    idx[0] = 0
    size = 1
    for j in range(k):
        xj = x[start + j]
        bit = 1 << j
        # Two independent merges, from the front (smallest first, ties to s) and from the back
        # (largest first, ties to s + x_j), each writing half of the output: the merged order is the
        # same and the two dependency chains overlap in the CPU.
        a = 0
        b = 0
        a_end = size - 1
        b_end = size - 1
        for o in range(size):
            va = vals[a]
            vb = vals[b] + xj
            take = va <= vb
            other_vals[o] = va if take else vb
            other_idx[o] = idx[a] if take else idx[b] | bit
            a += take
            b += not take
            wa = vals[a_end]
            wb = vals[b_end] + xj
            back_b = wb >= wa
            other_vals[2 * size - 1 - o] = wb if back_b else wa
            other_idx[2 * size - 1 - o] = idx[b_end] | bit if back_b else idx[a_end]
            b_end -= back_b
            a_end -= not back_b
        size *= 2
        vals, other_vals = other_vals, vals
        idx, other_idx = other_idx, idx
    k1 = k // 2
    _doubling(x, start, k1, lo)
    _doubling(x, start + k1, k - k1, hi)
    low = (1 << k1) - 1
    for i in range(size):
        m = idx[i]
        v = hi[m >> k1] + lo[m & low]
        p = i
        while p > 0 and vals[p - 1] > v:
            vals[p] = vals[p - 1]
            idx[p] = idx[p - 1]
            p -= 1
        vals[p] = v
        idx[p] = m
    return vals, idx


@numba.njit(**_JIT)
def _brute_force_row(x, t, lo, hi):
    n = x.shape[0]
    k1 = n // 2
    _doubling(x, 0, k1, lo)
    _doubling(x, k1, n - k1, hi)
    low = (1 << k1) - 1
    best = np.inf
    best_m = 0
    for m in range(1 << n):
        e = abs(hi[m >> k1] + lo[m & low] - t)
        if e < best:
            best = e
            best_m = m
    return best_m


@numba.njit(**_JIT)
def _mitm_row(x, t, values, indices, lo, hi):
    n = x.shape[0]
    h = n // 2
    na = 1 << h
    nb = 1 << (n - h)
    av, ai = _sorted_half(x, 0, h, values[0], indices[0], values[1], indices[1], lo, hi)
    bv, bi = _sorted_half(x, h, n - h, values[2], indices[2], values[3], indices[3], lo, hi)
    q = values[4]
    for i in range(na):
        q[i] = t - av[na - 1 - i]
    q[:na].view(np.int64)[:] |= 1
    bv[:nb].view(np.int64)[:] &= ~1
    q[na] = np.inf
    bv[nb] = np.inf
    # Walk the merged ascending order; q and b never compare equal (different lowest bits, q != 0).
    # prev = -inf makes the first difference +inf, which never counts as a minimum.
    best = np.inf
    best_q = 0
    best_b = 0
    i = 0
    j = 0
    prev = -np.inf
    prev_is_q = False
    for _ in range(na + nb):
        qi = q[i]
        bj = bv[j]
        take_q = qi < bj
        cur = qi if take_q else bj
        d = cur - prev
        if take_q != prev_is_q and d < best:
            best = d
            best_q = i if take_q else i - 1
            best_b = j - 1 if take_q else j
        prev = cur
        prev_is_q = take_q
        i += take_q
        j += not take_q
    qv = q[best_q]
    ia = ai[na - 1 - best_q]
    p = best_q - 1
    while p >= 0 and q[p] == qv:
        ia = min(ia, ai[na - 1 - p])
        p -= 1
    p = best_q + 1
    while p < na and q[p] == qv:
        ia = min(ia, ai[na - 1 - p])
        p += 1
    bval = bv[best_b]
    ib = bi[best_b]
    p = best_b - 1
    while p >= 0 and bv[p] == bval:
        ib = min(ib, bi[p])
        p -= 1
    p = best_b + 1
    while p < nb and bv[p] == bval:
        ib = min(ib, bi[p])
        p += 1
    return ia | (ib << h)


@numba.njit(parallel=True, **_JIT)
def _solve(x, t, blocks):
    rows, n = x.shape
    out = np.empty(rows, dtype=np.int64)
    h = n // 2
    size = (1 << (n - h)) + 1
    tab = 1 << ((n + 1) // 2)
    for block in numba.prange(blocks):
        lo = np.empty(tab)
        hi = np.empty(tab)
        if n <= BRUTE_FORCE_MAX_COUNT:
            for r in range(block, rows, blocks):
                out[r] = _brute_force_row(x[r], t[r], lo, hi)
        else:
            # Value and index buffers of both halves, two of each (ping-pong merges), and q.
            values = np.empty((5, size))
            indices = np.empty((4, size), dtype=np.int64)
            for r in range(block, rows, blocks):
                out[r] = _mitm_row(x[r], t[r], values, indices, lo, hi)
    return out


def solve_indices(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Subset indices (R,) int64 for rows x (R, n) float64 and targets t (R,): see the module docstring.

    Rows are dealt to a few blocks per thread; each block reuses one set of buffers (nine arrays of
    2^ceil(n/2) + 1 slots, at most the engine's 48 bytes per subset sum of one row,
    `_common.exact_bytes`), so memory grows with the threads, not with R.
    """
    rows = x.shape[0]
    if rows == 0:
        return np.empty(0, dtype=np.int64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    t = np.ascontiguousarray(t, dtype=np.float64)
    with _ONE_CALL:
        return _solve(x, t, min(rows, 4 * numba.get_num_threads()))
