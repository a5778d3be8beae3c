"""docs/theory.md §5.4, exactness of the subset-sum solver, and the selection rule it is compared with."""

import numpy as np
import pytest
from hypothesis import given

from slth import subset_sum
from slth import testing as slt
from slth.theorems import _pool, plugin

SEED = 20261122


@pytest.mark.theorem("§5.4 exactness")
def test_subset_sum_ticket_attains_the_brute_force_optimum(evidence):
    """Statement (docs/theory.md §4.2 and §5.4; Pensia et al. 2020, Lemma 1 assumes the best subset): every
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


def rows_at(n: int) -> tuple[int, int]:
    """(random-target rows, planted-target rows) at n valid candidates. ``ci``: 3 random rows up to
    n = 36 (the sorted-halves reference costs 0.1 s there, 10 s at 46) and one planted row at every n;
    ``thorough``: 16 random rows up to 36, 2 above, and 4 planted rows."""
    if plugin.thorough():
        return (16 if n <= 36 else 2), 4
    return (3 if n <= 36 else 0), 1


@pytest.mark.theorem("§5.4 exactness")
def test_solver_is_exact_at_every_candidate_count(evidence):
    """Statement (docs/theory.md §5.4; Pensia et al. 2020, Lemma 1 assumes the best subset): for every number
    n of valid candidates from 1 to the solver's limit ``max_exact_count(DEFAULT_MEMORY_BUDGET)``
    (46: what the constructions' c <= 23 can hand it), odd and even, on both sides of
    ``BRUTE_FORCE_MAX_COUNT`` (enumeration up to 6, meet in the middle above), ``solve`` returns a
    subset whose error is the optimum. References: :func:`slth.testing.subset_sum_optimum` (sorted
    halves, written apart from the solver) for random targets in [−1, 1]; for planted targets, the
    sum of a random subset, that subset (optimum 0 up to rounding, no enumeration needed). The n
    values sit in n + 2 slots, the other two invalid and NaN, never to be chosen. Rule: the
    recomputed errors agree within :func:`slth.testing.exactness_slack` (4(n + 3)·2^-53·(Σ|a| + |t|),
    the rounding two exact solvers may differ by); rows per n: :func:`rows_at`, seeds fixed."""
    limit = subset_sum.max_exact_count(subset_sum.DEFAULT_MEMORY_BUDGET)
    assert limit > subset_sum.BRUTE_FORCE_MAX_COUNT + 1
    for n in range(1, limit + 1):
        rng = np.random.default_rng([SEED, n])
        random_rows, planted_rows = rows_at(n)
        rows = random_rows + planted_rows
        values = rng.uniform(-1.0, 1.0, (rows, n))
        planted = rng.random((planted_rows, n)) < 0.5
        targets = np.concatenate([rng.uniform(-1.0, 1.0, random_rows),
                                  np.where(planted, values[random_rows:], 0.0).sum(axis=1)])
        cols = np.sort(rng.permuted(np.tile(np.arange(n + 2), (rows, 1)), axis=1)[:, :n], axis=1)
        candidates, valid = np.full((rows, n + 2), np.nan), np.zeros((rows, n + 2), bool)
        np.put_along_axis(candidates, cols, values, axis=1)
        np.put_along_axis(valid, cols, True, axis=1)
        mask = subset_sum.solve(candidates, targets, valid=valid).mask
        assert not np.any(mask & ~valid), n
        for r in range(rows):
            best = (slt.subset_sum_optimum(values[r], targets[r]) if r < random_rows
                    else planted[r - random_rows])
            error = abs(values[r][np.take_along_axis(mask[r], cols[r], axis=0)].sum() - targets[r])
            optimum = abs(values[r][best].sum() - targets[r])
            assert error <= optimum + slt.exactness_slack(values[r], targets[r]), (n, r, error, optimum)
        evidence.example(rows)


@pytest.mark.theorem("§5.4 exactness")
@given(values=slt.candidate_lists(max_size=12), goal=slt.candidate_lists(max_size=1))
def test_solver_matches_brute_force(evidence, values, goal):
    """Statement (docs/theory.md §5.4): ``slth.subset_sum.solve`` (meet in the middle / enumeration) returns a
    subset whose error equals the brute-force optimum over all 2^c subsets, recomputed in float64
    from the returned mask. Rule: 1e-12."""
    res = subset_sum.solve(values[None, :], goal[:1])
    best, _ = slt.brute_force_best(values, goal[0])
    assert abs(values[res.mask[0]].sum() - goal[0]) <= best + 1e-12
    assert abs(res.error[0] - abs(values[res.mask[0]].sum() - goal[0])) <= 1e-15
    evidence.example()


@pytest.mark.theorem("§4.1 selection rule")
def test_selection_keeps_the_closest_candidate_or_none(evidence):
    """Statement (docs/theory.md §4.1; Malach et al. 2020): selection keeps at most one candidate per
    (k, j, sign), the one closest to the target value, or none when the target is closer to 0 than
    every candidate. Rule: exact; every problem of every pool ticket."""
    for case in range(_pool.size()):
        check_closest(_pool.ticket("selection", case), evidence)


def check_closest(ticket, evidence):
    for where, goal, values, chosen in slt.ticket_problems(ticket):
        assert chosen.sum() <= 1, where
        assert abs(values[chosen].sum() - goal) == min([abs(goal), *np.abs(values - goal)]), where
        evidence.example()
