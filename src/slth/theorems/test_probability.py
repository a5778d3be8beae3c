"""docs/theory.md §5.6: failure rates against the probabilities the analyses claim, by exact binomial tests
with the false-alarm rate :data:`slth.theorems.FALSE_ALARM` and fixed seeds.

Subset sum has no probabilistic statement with explicit constants to test (Pensia et al.'s and
Lueker's C are not given numerically; slth measures C instead, ``slth fit``). The selection
construction's explicit width and the exact law of the block structure do have one each.
"""

import jax
import numpy as np
import pytest

from slth import bounds, constructions, measure, nets
from slth.theorems import binomial_verdict, plugin


def trials(ci: int, thorough: int) -> int:
    return thorough if plugin.thorough() else ci


@pytest.mark.theorem("§5.6 probability")
@pytest.mark.parametrize("dims, eps, delta, weight", [((1, 1), 0.3, 0.2, 1.0), ((1, 1), 0.3, 0.2, -1.0),
                                                      ((2, 1), 0.4, 0.25, None)])
def test_selection_fails_at_most_delta_at_its_explicit_width(evidence, dims, eps, delta, weight):
    """Statement (docs/theory.md §4.1 and §5.6; Malach et al. 2020, Theorem 2.1's construction, slth's explicit
    union bound :func:`slth.bounds.selection_width`): at c = selection_width(dims, ε, δ), for a fixed
    target with ‖W‖_2 <= 1, the selection ticket of a random network has certificate > ε with
    probability <= δ. Targets: the worst weights ±1, and a Gaussian target at spectral norm 1.
    Rule: failures in T networks (seeds 0..T−1) judged by the one-sided exact binomial test against δ,
    false alarm :data:`FALSE_ALARM`."""
    c = bounds.selection_width(dims, eps, delta).candidates
    if weight is None:
        target = tuple(np.asarray(w) for w in nets.random_target(dims, key=jax.random.key(7)))
    else:
        target = (np.full((dims[1], dims[0]), weight),)
    n = trials(60, 600)
    failures = 0
    for seed in range(n):
        ticket = constructions.build("selection", target, nets.RandomSpec(dims=dims, candidates=c, seed=seed))
        failures += measure.certificate(ticket.target, measure.pair_maps(ticket.random, ticket.masks)) > eps
        evidence.example()
    verdict = evidence.verdict(binomial_verdict(int(failures), n, delta))
    assert verdict.passed, verdict


@pytest.mark.theorem("§5.6 probability")
@pytest.mark.parametrize("w, eta, c", [(0.5, 0.1, 3), (0.95, 0.2, 4), (0.0, 0.05, 2)])
def test_block_hit_probability_is_exact(evidence, w, eta, c):
    """Statement (docs/theory.md §2 and §4.1): in slth's layout a block has 2c i.i.d. units; each is a
    positive-sign candidate with probability ½ and its value a = v·|u| (u, v ~ U[−1, 1]) has the
    product density, so the positive problem of target value w has a candidate within η with
    probability exactly 1 − (1 − q(w, η)/2)^{2c}, q from :func:`slth.bounds.q_hit`. This is the law
    behind the selection width's union bound. Rule: hits in T networks (seeds 0..T−1), two-sided exact
    binomial test against that probability, false alarm :data:`FALSE_ALARM`."""
    q = float(bounds.q_hit(w, eta))
    p = 1 - (1 - q / 2) ** (2 * c)
    n = trials(400, 4000)
    hits = 0
    for seed in range(n):
        first, second = nets.random_network(nets.RandomSpec(dims=(1, 1), candidates=c, seed=seed))
        u, v = np.asarray(first)[:, 0], np.asarray(second)[0]
        values = v[u > 0] * u[u > 0]
        hits += bool(np.any(np.abs(values - w) <= eta))
        evidence.example()
    verdict = evidence.verdict(binomial_verdict(hits, n, p, alternative="two-sided"))
    assert verdict.passed, verdict
