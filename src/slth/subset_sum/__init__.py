"""Batched exact subset sum for strong lottery tickets (Pensia et al. 2020, Horowitz and Sahni 1974).

Every weight of a target network is matched by a subset of random candidates (products of random
weights) whose sum is closest to it. This package solves millions of such problems exactly:

- `solve`: exact (brute force / meet in the middle), first-within-tol, or the MILP reference;
- `brute_force`: plain NumPy enumeration of all 2^c subsets, the test reference;
- `coverage` and `subset_sums`: the universality certificate of docs/theory.md §4.2.
"""

from slth.subset_sum._common import (
    BRUTE_FORCE_MAX_COUNT,
    DEFAULT_MEMORY_BUDGET,
    METHODS,
    SubsetSumResult,
    exact_bytes,
    max_exact_count,
    subset_error,
)
from slth.subset_sum.certificate import coverage, subset_sums
from slth.subset_sum.reference import brute_force
from slth.subset_sum.engine import solve

__all__ = [
    "BRUTE_FORCE_MAX_COUNT",
    "DEFAULT_MEMORY_BUDGET",
    "METHODS",
    "SubsetSumResult",
    "brute_force",
    "coverage",
    "exact_bytes",
    "max_exact_count",
    "solve",
    "subset_error",
    "subset_sums",
]
