"""Shared pieces of the subset-sum engine: result type, input checks, buckets, memory model."""

from __future__ import annotations

import math
from typing import Iterator, NamedTuple

import numpy as np

from slth.errors import InputError

METHODS = ("exact", "first-within", "milp")

DEFAULT_MEMORY_BUDGET = 1 << 30
"""Bytes of working memory one `solve` / `coverage` call may use at once (1 GiB).

The batch is cut into chunks so that the live arrays of all concurrently processed chunks stay under
this figure; it does not count the inputs and outputs themselves (B x c values)."""

BRUTE_FORCE_MAX_COUNT = 6
"""Rows with at most this many valid candidates are solved by enumerating all 2^n sums (no sort);
larger rows by meet in the middle. Both are exact; the crossover was measured (benchmarks/README.md)."""

# Live float64-sized arrays per subset sum in the kernels (sums, perturbed copy, sorted copy, labels,
# differences, comparison masks), rounded up: the memory model behind the chunk sizes and the c limit.
_BYTES_PER_SUM = 48
# Rows per chunk are chosen so that one chunk's sums fill about this many float64s: small enough to stay
# in the L2 cache of a CPU core, large enough to amortise NumPy's per-call overhead (measured best).
_CACHE_SUMS = 1 << 18


class SubsetSumResult(NamedTuple):
    """Chosen subsets and their errors, as host NumPy arrays.

    Attributes:
        mask: bool (B, c); True where a candidate is kept. Invalid slots are always False.
        error: float64 (B,); ``abs(np.where(mask, candidates, 0.0).sum(axis=1) - targets)`` computed in
            float64 from the returned mask (see `subset_error`), so anyone can reproduce it bit for bit.
        found: bool (B,); ``error <= tol`` when a tolerance is given, else all True.
    """

    mask: np.ndarray
    error: np.ndarray
    found: np.ndarray


def subset_error(candidates: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Error of given subsets, recomputed in float64: ``|sum(candidates[b, mask[b]]) - targets[b]|``.

    The sum is ``np.where(mask, candidates, 0.0).sum(axis=1)`` (NumPy's reduction over the slots in slot
    order), the exact formula every `SubsetSumResult.error` uses.

    Args:
        candidates: (B, c) real values; unmasked slots may hold anything (they are replaced by 0.0).
        targets: (B,) real values.
        mask: bool (B, c).

    Returns:
        float64 (B,) absolute errors.
    """
    cand = np.asarray(candidates, dtype=np.float64)
    total = np.where(np.asarray(mask, dtype=bool), cand, 0.0).sum(axis=1)
    return np.abs(total - np.asarray(targets, dtype=np.float64))


def sums_per_instance(n: int) -> int:
    """Number of subset sums meet in the middle (or brute force, for small n) holds for n candidates."""
    if n <= BRUTE_FORCE_MAX_COUNT:
        return 1 << n
    h = n // 2
    return (1 << h) + (1 << (n - h))


def exact_bytes(n: int) -> int:
    """Working memory of one exact solve of n candidates in the engine's model (bytes)."""
    return sums_per_instance(n) * _BYTES_PER_SUM


def max_exact_count(memory_budget_bytes: int) -> int:
    """Largest candidate count whose exact solve fits ``memory_budget_bytes`` for one instance."""
    n = 0
    while exact_bytes(n + 1) <= memory_budget_bytes:
        n += 1
    return n


def chunk_rows(sums: int, memory_budget_bytes: int, workers: int = 1) -> int:
    """Rows per chunk for instances holding ``sums`` values each, within the budget and cache target."""
    by_budget = memory_budget_bytes // (workers * sums * _BYTES_PER_SUM)
    return max(1, min(by_budget, max(1, _CACHE_SUMS // sums)))


def as_candidates(candidates, valid) -> tuple[np.ndarray, np.ndarray]:
    """Checked float64 candidates (B, c) and boolean validity (B, c); non-finite values are allowed only
    in invalid slots."""
    raw = np.asarray(candidates)
    if raw.ndim != 2:
        raise InputError(f"candidates must be a 2-D array (B, c); got ndim={raw.ndim}, shape={raw.shape}")
    valid_arr = as_valid(valid, raw.shape)
    return as_float_matrix("candidates", raw, allow_nonfinite=valid_arr), valid_arr


def as_float_matrix(name: str, value, allow_nonfinite: np.ndarray | None = None) -> np.ndarray:
    """Convert to float64 (B, c), raising InputError (a ValueError) on wrong ndim or non-finite entries."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D array (B, c); got ndim={arr.ndim}, shape={arr.shape}")
    if arr.shape[1] == 0:
        raise InputError(f"{name} must have at least one column (c >= 1); got shape={arr.shape}")
    check_finite(name, arr, where=allow_nonfinite)
    return arr


def check_finite(name: str, arr: np.ndarray, where: np.ndarray | None = None) -> None:
    """Raise InputError naming the first NaN/inf of ``arr`` (only where ``where`` is True, if given)."""
    with np.errstate(over="ignore", invalid="ignore"):     # an overflowing sum only sends us to the full check
        if np.isfinite(np.sum(arr)):     # a NaN or an infinity anywhere makes the sum one: all finite, in one read
            return
    bad = ~np.isfinite(arr)
    if where is not None:
        bad &= where
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where_bad = ", ".join(map(str, idx))
        raise InputError(f"{name} must be finite; {name}[{where_bad}] = {float(arr[idx])}")


def as_valid(valid, shape: tuple[int, int]) -> np.ndarray:
    """Validate the optional (B, c) boolean mask of usable slots; None means every slot is usable."""
    if valid is None:
        return np.ones(shape, dtype=bool)
    arr = np.asarray(valid)
    if arr.shape != shape:
        raise InputError(f"valid must have the shape of candidates {shape}; got shape={arr.shape}")
    if arr.dtype != np.bool_:
        raise InputError(f"valid must be a boolean array; got dtype={arr.dtype}")
    return arr


def as_targets(targets, batch: int) -> np.ndarray:
    """Validate targets as finite float64 (B,)."""
    arr = np.asarray(targets, dtype=np.float64)
    if arr.ndim != 1:
        raise InputError(f"targets must be a 1-D array (B,); got ndim={arr.ndim}, shape={arr.shape}")
    if arr.shape[0] != batch:
        raise InputError(
            f"targets must have one entry per row of candidates (B={batch}); got shape={arr.shape}"
        )
    check_finite("targets", arr)
    return arr


def check_budget(memory_budget_bytes) -> int:
    """Validate the memory budget (a positive integer number of bytes)."""
    if isinstance(memory_budget_bytes, bool) or not isinstance(memory_budget_bytes, (int, np.integer)):
        raise InputError(f"memory_budget_bytes must be a positive int; got {memory_budget_bytes!r}")
    if memory_budget_bytes <= 0:
        raise InputError(f"memory_budget_bytes must be a positive int; got {memory_budget_bytes!r}")
    return int(memory_budget_bytes)


def check_tol(tol, required: bool) -> float | None:
    """Validate tol: None (allowed unless required) or a finite float > 0."""
    if tol is None:
        if required:
            raise InputError('method="first-within" needs tol, a finite float > 0; got tol=None')
        return None
    value = float(tol)
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(f"tol must be a finite float > 0; got tol={tol!r}")
    return value


def buckets(valid: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Group rows by their number of valid slots, with the valid columns compacted to the front.

    Yields ``(n, rows, cols)`` for every count n >= 1 present, in increasing n: ``rows`` (R,) are the row
    indices with n valid slots and ``cols`` (R, n) their valid column indices in slot order, so that the
    work for a row scales with n, not with c. Rows without valid slots are not yielded.
    """
    counts = valid.sum(axis=1)
    for n in np.unique(counts):
        if n == 0:
            continue
        rows = np.flatnonzero(counts == n)
        cols = np.nonzero(valid[rows])[1].reshape(rows.size, int(n))
        yield int(n), rows, cols


def bits_to_mask(index: np.ndarray, n: int) -> np.ndarray:
    """bool (R, n) with column j set where bit j of ``index`` (R,) is set."""
    return ((index[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(bool)
