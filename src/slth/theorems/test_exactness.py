"""THEORY §5.4, exactness of the subset-sum solver, and the selection rule it is compared with."""

import numpy as np
import pytest
from hypothesis import given

from slth import subset_sum
from slth import testing as slt
from slth.theorems import _pool


@pytest.mark.theorem("§5.4 exactness")
def test_subset_sum_ticket_attains_the_brute_force_optimum(evidence):
    """Statement (THEORY §4.2 and §5.4; Pensia et al. 2020, Lemma 1 assumes the best subset): every
    (k, j, sign) subset of the subset-sum construction attains the optimum of brute force over all
    2^n subsets of that block's candidates of that sign. Rule: float64, 1e-12; every problem of every
    pool ticket."""
    for case in range(_pool.size()):
        check_optimal(_pool.ticket("subset-sum", case), evidence)


def check_optimal(ticket, evidence):
    for where, goal, values, chosen in slt.ticket_problems(ticket):
        best, _ = slt.brute_force_best(values, goal)
        assert abs(values[chosen].sum() - goal) <= best + 1e-12, where
        evidence.example()


@pytest.mark.theorem("§5.4 exactness")
@given(values=slt.candidate_lists(max_size=12), goal=slt.candidate_lists(max_size=1))
def test_solver_matches_brute_force(evidence, values, goal):
    """Statement (THEORY §5.4): ``slth.subset_sum.solve`` (meet in the middle / enumeration) returns a
    subset whose error equals the brute-force optimum over all 2^c subsets, recomputed in float64
    from the returned mask. Rule: 1e-12."""
    res = subset_sum.solve(values[None, :], goal[:1])
    best, _ = slt.brute_force_best(values, goal[0])
    assert abs(values[res.mask[0]].sum() - goal[0]) <= best + 1e-12
    assert abs(res.error[0] - abs(values[res.mask[0]].sum() - goal[0])) <= 1e-15
    evidence.example()


@pytest.mark.theorem("§4.1 selection rule")
def test_selection_keeps_the_closest_candidate_or_none(evidence):
    """Statement (THEORY §4.1; Malach et al. 2020): selection keeps at most one candidate per
    (k, j, sign), the one closest to the target value, or none when the target is closer to 0 than
    every candidate. Rule: exact; every problem of every pool ticket."""
    for case in range(_pool.size()):
        check_closest(_pool.ticket("selection", case), evidence)


def check_closest(ticket, evidence):
    for where, goal, values, chosen in slt.ticket_problems(ticket):
        assert chosen.sum() <= 1, where
        assert abs(values[chosen].sum() - goal) == min([abs(goal), *np.abs(values - goal)]), where
        evidence.example()
