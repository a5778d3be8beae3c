"""docs/theory.md §5.8: no construction reports an ε-ticket with fewer parameters than counting allows."""

import pytest
from slth import bounds, measure
from slth import theorems
from slth.theorems import _pool

NAMES = theorems.names("counting")


@pytest.mark.theorem("§5.8 counting")
@pytest.mark.parametrize("name", NAMES)
def test_eps_tickets_respect_the_counting_bound(evidence, name):
    """Statement (docs/theory.md §4.3 and §5.8; Pensia et al. 2020, Theorem 2, extended to deep targets in
    :func:`slth.bounds.counting_width`): a random network with N prunable parameters that serves a
    random target of the class with probability >= ½ has N >= d_1 d_0 log2(1/(2ε)) − 1 (one layer;
    m·d_0 log2(1/(4ε)) − 1 deeper). The theorem is about a class of targets, not one ticket (a
    network can serve one target whose norm is below ε by keeping nothing); the sweeps check it as
    stated, on the measured (1 − δ)-quantile width (``at_or_above_counting`` in every width
    summary). Here, the per-ticket consequence on the pool, whose targets have layer norms 0.5 to 1:
    a ticket with certificate <= ε lives in a random network at least that large. Rule: exact
    comparison, every pool ticket at every ε of a grid above its certificate."""
    for i in range(_pool.size()):
        ticket = _pool.ticket(name, i)
        spec = ticket.spec
        cert = measure.ticket_certificate(ticket)
        for eps in (0.2, 0.1, 0.05, 0.01, 0.001):
            if cert <= eps:
                assert spec.random_params() >= bounds.counting_width(spec.dims, eps).random_params, (i, eps)
        evidence.example()
