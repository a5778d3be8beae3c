"""Subset sum (Pensia, Rajput, Nagle, Vishwakarma, Papailiopoulos 2020, "Optimal Lottery Tickets via
SubsetSum: Logarithmic Over-Parameterization is Sufficient", Theorem 1 and Lemma 1).

Each (k, j, sign) keeps the subset of its candidates whose product sum is closest to the target weight,
found exactly by :func:`slth.subset_sum.solve` (THEORY §4.2). By Lueker's theorem
c = O(log(d_{i-1} d_i l / min(ε, δ))) candidates per block and sign suffice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slth import nets, subset_sum
from slth.constructions._blocks import build_blocks
from slth.errors import InputError
from slth.ticket import Ticket

NAME = "subset-sum"

#: Largest c: all 2c units of a block may share one sign, and the exact solver takes at most
#: ``max_exact_count(DEFAULT_MEMORY_BUDGET)`` candidates per problem.
MAX_CANDIDATES = subset_sum.max_exact_count(subset_sum.DEFAULT_MEMORY_BUDGET) // 2


def choose(candidates, targets, valid):
    """The exactly optimal subset per problem (invalid slots never chosen)."""
    return subset_sum.solve(np.asarray(candidates), np.asarray(targets), valid=np.asarray(valid)).mask


def build(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """Subset-sum ticket for ``target`` in the random network of ``spec`` (THEORY §4.2); ``active``: see
    :func:`~slth.constructions._blocks.build_blocks`."""
    check_candidates(spec.candidates)
    return build_blocks(target, spec, choose, NAME, active=active)


def check_candidates(c: int) -> None:
    if c > MAX_CANDIDATES:
        raise InputError(
            f"candidates {c} is above {MAX_CANDIDATES}, the most the exact subset-sum solver takes "
            f"(a block's {2 * c} units may all share one sign; at most {2 * MAX_CANDIDATES} candidates per "
            "problem fit its memory budget)")
