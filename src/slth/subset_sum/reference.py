"""Reference solvers: plain NumPy brute force (for tests) and the MILP baseline (Pensia et al. 2020)."""

from __future__ import annotations

import numpy as np

from slth.subset_sum import _common
from slth.subset_sum._common import SubsetSumResult

# Brute force holds a (rows, 2^c) table; this many sums per chunk keeps it near 64 MiB.
_BRUTE_FORCE_CHUNK_SUMS = 1 << 23


def brute_force(candidates, targets, valid=None) -> SubsetSumResult:
    """Exact subset sum by enumerating all 2^c subsets in NumPy float64: the test reference.

    Computes every sum ``s_m = sum_{j: bit j of m} candidates[b, j]`` (m = 0 .. 2^c - 1) by doubling,
    gives subsets that use an invalid slot an infinite error, and keeps the smallest m minimising
    ``|s_m - targets[b]|``. It shares no code path with meet in the middle beyond the doubling.

    Args:
        candidates: real (B, c), 1 <= c <= 24 in practice (2^c work and memory per row); finite where
            valid.
        targets: real (B,), finite.
        valid: optional bool (B, c); None means all slots valid.

    Returns:
        `SubsetSumResult`: mask bool (B, c), error float64 (B,) from `subset_error`, found all True.
    """
    cand, valid_arr = _common.as_candidates(candidates, valid)
    tgt = _common.as_targets(targets, cand.shape[0])
    rows, c = cand.shape
    # +inf makes every subset through an invalid slot infinitely far from any finite target.
    x = np.where(valid_arr, cand, np.inf)
    index = np.empty(rows, dtype=np.int64)
    step = max(1, _BRUTE_FORCE_CHUNK_SUMS >> c)
    for start in range(0, rows, step):
        s = np.zeros((min(step, rows - start), 1))
        for j in range(c):
            s = np.concatenate([s, s + x[start : start + step, j, None]], axis=1)
        index[start : start + step] = np.abs(s - tgt[start : start + step, None]).argmin(axis=1)
    mask = _common.bits_to_mask(index, c)
    error = _common.subset_error(cand, tgt, mask)
    return SubsetSumResult(mask, error, np.ones(rows, dtype=bool))


def milp_masks(cand: np.ndarray, tgt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Masks (B, c) from Pensia et al.'s MILP, solved by HiGHS one row at a time.

    Variables (x_1..x_n, s) over the n valid candidates a: minimise s subject to a.x - s <= w and
    a.x + s >= w, x binary, s >= 0. HiGHS treats binaries within a feasibility tolerance (~1e-6), so x is
    rounded at 1/2 and the caller recomputes the error from the rounded mask.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp   # here: 0.2 s to load, for this method only

    mask = np.zeros(cand.shape, dtype=bool)
    for b in range(cand.shape[0]):
        cols = np.flatnonzero(valid[b])
        if cols.size == 0:
            continue
        a = cand[b, cols]
        n = a.size
        row = np.concatenate([a, [0.0]])
        slack = np.zeros(n + 1)
        slack[-1] = 1.0
        constraints = LinearConstraint(np.stack([row - slack, row + slack]), [-np.inf, tgt[b]],
                                       [tgt[b], np.inf])
        cost = slack
        integrality = np.concatenate([np.ones(n), [0]])
        res = milp(cost, constraints=constraints, integrality=integrality,
                   bounds=Bounds(np.zeros(n + 1), np.concatenate([np.ones(n), [np.inf]])))
        if res.x is None:
            raise RuntimeError(f"scipy.optimize.milp found no solution for row {b}: {res.message}")
        mask[b, cols] = res.x[:n] > 0.5
    return mask
