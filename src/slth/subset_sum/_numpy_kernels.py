"""NumPy float64 kernels: all subset sums, brute force and meet in the middle on compacted rows.

Every kernel takes ``x`` float64 (R, n) (the n valid candidates of R rows, in slot order) and ``t``
float64 (R,), and returns the chosen subset of each row as an int64 index whose bit j says whether
candidate j is kept. The JAX kernels (`_jax_kernels`) perform the same floating-point operations in the
same order, so both back ends return identical indices.
"""

from __future__ import annotations

import numpy as np


def doubling_sums(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """All 2^k subset sums of x (R, k) by doubling: ``s[m + 2^j] = s[m] + x[j]`` for ``m < 2^j``.

    Doubling costs one addition per sum, against k per sum for a (2^k, k) 0/1 matrix product.
    """
    rows, k = x.shape
    s = np.empty((rows, 1 << k)) if out is None else out
    s[:, 0] = 0.0
    for j in range(k):
        np.add(s[:, : 1 << j], x[:, j, None], out=s[:, 1 << j : 2 << j])
    return s


def all_sums(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """All 2^k subset sums of x (R, k), indexed by subset bits: ``s[:, m] = sum_{j in m} x[:, j]``.

    The low ``k // 2`` candidates and the high ones are doubled separately and combined by one
    broadcast addition ``s[m_lo + 2^k1 m_hi] = lo[m_lo] + hi[m_hi]``: the doubling loop then makes only
    small slices, which matters when R is large and 2^k moderate.
    """
    rows, k = x.shape
    k1 = k // 2
    lo = doubling_sums(x[:, :k1])
    hi = doubling_sums(x[:, k1:])
    s = np.empty((rows, 1 << k)) if out is None else out
    # Splitting the contiguous last axis of a (possibly strided) 2-D view never copies, so the
    # broadcast addition writes straight into `s`.
    np.add(hi[:, :, None], lo[:, None, :], out=s.reshape(rows, hi.shape[1], lo.shape[1]))
    return s


def brute_force_indices(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the subset minimising ``|s_m - t|`` over all 2^n sums; ties go to the smallest m."""
    s = all_sums(x)
    np.subtract(s, t[:, None], out=s)
    np.abs(s, out=s)
    return s.argmin(axis=1).astype(np.int64)


class MitmWorkspace:
    """Preallocated buffers for `mitm_indices` on up to ``rows`` rows of n candidates.

    Reusing them across chunks matters: fresh multi-megabyte temporaries are mapped and page-faulted
    on every call, which measured slower than the sort itself at n = 21.
    """

    def __init__(self, rows: int, n: int):
        size = (1 << (n // 2)) + (1 << (n - n // 2))
        self.keys = np.empty((rows, size))
        self.merged = np.empty((rows, size))
        self.gap = np.empty((rows, size - 1))
        self.penalty = np.empty((rows, size - 1), dtype=np.int64)


# Bit pattern of +inf: the penalty added to differences between two values from the same set.
_INF_BITS = np.float64(np.inf).view(np.int64)


def mitm_indices(x: np.ndarray, t: np.ndarray, work: MitmWorkspace | None = None) -> np.ndarray:
    """Exact subset by meet in the middle (Horowitz and Sahni 1974) with one values-only sort per row.

    Split the n candidates into A (first ``h = n // 2``) and B (the rest). Every subset is a pair (a, b)
    of half sums with error ``|b - q|``, ``q = t - a``, so the optimum is the closest pair between the
    sets Q = {t - a} and {b}. The closest pair between two sets on a line is adjacent in their merged
    sorted order, so one sort of the 2^h + 2^(n-h) values per row followed by a scan of adjacent
    differences finds it. The set each value came from is stored in its lowest mantissa bit (1 for Q,
    0 for B) so the sort moves values only: sorting values is 3-5x faster than an argsort (SUBSET_SUM.md)
    and is the form XLA hands to CUB on GPUs. The perturbation is one unit in the last place; the
    returned error, recomputed from the mask, stays within a few ulps of the brute-force optimum.

    Ties: the first adjacent (Q, B) pair in ascending order with the smallest difference wins; the half
    subsets are then the smallest indices whose (perturbed) values equal that pair.
    """
    rows, n = x.shape
    work = MitmWorkspace(rows, n) if work is None else work
    h = n // 2
    na = 1 << h
    keys, merged = work.keys[:rows], work.merged[:rows]
    gap, penalty = work.gap[:rows], work.penalty[:rows]
    all_sums(x[:, :h], out=keys[:, :na])
    all_sums(x[:, h:], out=keys[:, na:])
    np.subtract(t[:, None], keys[:, :na], out=keys[:, :na])
    bits = keys.view(np.int64)
    bits[:, :na] |= 1
    bits[:, na:] &= ~1
    np.copyto(merged, keys)
    merged.sort(axis=1)
    np.subtract(merged[:, 1:], merged[:, :-1], out=gap)
    # penalty = +inf (as bits) where neighbours carry the same label, 0.0 where they differ; adding it
    # is exact and avoids a masked assignment (measured 5x slower) and a fresh temporary.
    label_bits = merged.view(np.int64)
    np.bitwise_xor(label_bits[:, 1:], label_bits[:, :-1], out=penalty)
    penalty &= 1
    penalty ^= 1
    penalty *= _INF_BITS
    gap += penalty.view(np.float64)
    k = gap.argmin(axis=1)
    r = np.arange(rows)
    left, right = merged[r, k], merged[r, k + 1]
    left_is_q = label_bits[r, k] & 1 == 1
    q = np.where(left_is_q, left, right)
    b = np.where(left_is_q, right, left)
    ia = (keys[:, :na] == q[:, None]).argmax(axis=1).astype(np.int64)
    ib = (keys[:, na:] == b[:, None]).argmax(axis=1).astype(np.int64)
    return ia | (ib << h)
