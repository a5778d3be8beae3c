"""Universality certificates: sorted subset sums and the covering radius of a block (docs/theory.md §4.2)."""

from __future__ import annotations

import numpy as np

from slth.errors import InputError
from slth.subset_sum import _common, _numpy_kernels
from slth.subset_sum._common import DEFAULT_MEMORY_BUDGET

# Live float64 arrays per subset sum while certifying: sums, sorted sums, midpoints, half gaps, masks.
_COVERAGE_BYTES_PER_SUM = 48


def subset_sums(candidates, *, memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET) -> np.ndarray:
    """All 2^c subset sums of every row, sorted ascending, in float64.

    Args:
        candidates: finite real (B, c), c >= 1, with 2^c * 8 bytes per row within the budget (c <= ~26).
        memory_budget_bytes: positive int, bytes of working memory.

    Returns:
        float64 (B, 2^c): row b holds the sums ``sum_{j in m} candidates[b, j]`` over all subsets m,
        sorted (the empty subset contributes 0.0).
    """
    budget = _common.check_budget(memory_budget_bytes)
    cand = _common.as_float_matrix("candidates", candidates)
    rows, c = cand.shape
    _check_coverage_budget(c, budget)
    out = np.empty((rows, 1 << c))
    step = _common.chunk_rows(1 << c, budget)
    for start in range(0, rows, step):
        block = out[start : start + step]
        _numpy_kernels.all_sums(cand[start : start + step], out=block)
        block.sort(axis=1)
    return out


def coverage(candidates, valid=None, *, lo: float = -1.0, hi: float = 1.0,
             memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET) -> np.ndarray:
    """Covering radius eta* of each block's subset sums over [lo, hi]: the universality certificate.

    With f(z) = min_m |z - s_m| the distance from z to the nearest subset sum,
    ``eta* = max_{z in [lo, hi]} f(z)``. f is piecewise linear with peaks at the midpoints of consecutive
    sorted sums, so ``eta* = max(f(lo), f(hi), max{(s_{i+1} - s_i) / 2 : lo <= (s_i + s_{i+1}) / 2 <= hi})``
    exactly (sums outside [lo, hi] count as neighbours). A block serves every target in [lo, hi] within
    eta iff eta* <= eta (docs/theory.md §4.2; Pensia et al. 2020 and Lueker 1998 bound eta* in probability, this
    measures it). Computed in float64 from all 2^n sums of the n valid candidates, rows bucketed by n.

    Args:
        candidates: real (B, c), c >= 1; finite where valid, 2^n * 48 bytes within the budget.
        valid: optional bool (B, c); invalid slots are left out. A row with none has the sums {0}.
        lo, hi: finite floats, lo <= hi.
        memory_budget_bytes: positive int, bytes of working memory.

    Returns:
        float64 (B,) covering radii.
    """
    budget = _common.check_budget(memory_budget_bytes)
    cand, valid_arr = _common.as_candidates(candidates, valid)
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise InputError(f"lo and hi must be finite with lo <= hi; got lo={lo!r}, hi={hi!r}")
    _check_coverage_budget(int(valid_arr.sum(axis=1).max(initial=0)), budget)
    # The only sum of an empty block is 0.
    eta = np.full(cand.shape[0], max(abs(lo), abs(hi)))
    for n, rows, cols in _common.buckets(valid_arr):
        x = np.take_along_axis(cand[rows], cols, axis=1)
        step = _common.chunk_rows(1 << n, budget)
        for start in range(0, rows.size, step):
            eta[rows[start : start + step]] = _radius(x[start : start + step], lo, hi)
    return eta


def _radius(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    s = np.sort(_numpy_kernels.all_sums(x), axis=1)
    at_ends = np.maximum(np.abs(s - lo).min(axis=1), np.abs(s - hi).min(axis=1))
    mid = 0.5 * (s[:, 1:] + s[:, :-1])
    half_gap = np.where((mid >= lo) & (mid <= hi), 0.5 * (s[:, 1:] - s[:, :-1]), 0.0)
    return np.maximum(at_ends, half_gap.max(axis=1))


def _check_coverage_budget(n: int, budget: int) -> None:
    if (1 << n) * _COVERAGE_BYTES_PER_SUM > budget:
        raise InputError(
            f"c={n} valid candidates need 2^{n} subset sums ({(1 << n) * _COVERAGE_BYTES_PER_SUM} bytes),"
            f" more than memory_budget_bytes={budget}; lower c or raise the budget"
        )
