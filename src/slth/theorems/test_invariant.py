"""docs/theory.md §5.1, the ticket invariant, for every registered construction."""

import dataclasses

import numpy as np
import pytest

from slth import nets, theorems
from slth.theorems import _pool
from slth.ticket import invariant_problems

NAMES = theorems.names("invariant")


@pytest.mark.theorem("§5.1 ticket invariant")
@pytest.mark.parametrize("name", NAMES)
def test_ticket_invariant(evidence, name):
    """Statement (docs/theory.md §5.1; the object of Malach et al. 2020 and Pensia et al. 2020): masks are 0/1,
    every kept weight equals the random weight regenerated from the seed bit for bit, the random
    network has depth 2l, pair i has shapes (h_i, d_{i-1}) and (d_i, h_i) with h_i = 2 d_{i-1} c
    (d_{i-1} c for i >= 2 with drop_negative, whose first-layer weights are then >= 0); in the l+1
    layout (Burkholz 2022) depth l + 1 with the shapes of :func:`check_l_plus_1_shapes`.
    Rule: exact equality, on every case of the shared pool (entries at ±1 and 0, every weight law,
    drop_negative)."""
    for i in range(_pool.size()):
        check_invariant(_pool.ticket(name, i), i)
        evidence.example()


def check_invariant(ticket, i):
    spec = ticket.spec
    assert invariant_problems(ticket) == [], i
    layout = nets.layouts.layout(spec)
    if layout.has_copies:
        check_l_plus_1_shapes(ticket)
        return
    assert layout.has_pairs, f"no independent shape check for the {layout.name!r} layout"
    assert len(ticket.random) == len(ticket.masks) == 2 * spec.depth
    for i in range(1, spec.depth + 1):
        units = spec.candidates if (spec.drop_negative and i >= 2) else 2 * spec.candidates
        h = spec.dims[i - 1] * units
        assert np.shape(ticket.random[2 * i - 2]) == (h, spec.dims[i - 1])
        assert np.shape(ticket.random[2 * i - 1]) == (spec.dims[i], h)
        assert np.asarray(ticket.masks[2 * i - 2]).dtype == bool
        if spec.drop_negative and i >= 2:
            assert np.all(np.asarray(ticket.random[2 * i - 2]) >= 0)


def check_l_plus_1_shapes(ticket):
    """Burkholz 2022's layout (docs/theory.md §4.5): depth l + 1, layer 1 of shape (2c·d_0, d_0) keeping at most
    each unit's block weight, copy layers of ρ = c copies per hidden target neuron, d_l outputs."""
    spec, d, c = ticket.spec, ticket.spec.dims, ticket.spec.candidates
    assert len(ticket.random) == len(ticket.masks) == spec.depth + 1
    widths = [d[0], 2 * c * d[0]] + [c * w for w in d[1:-1]] + [d[-1]]
    for k, (m, s) in enumerate(zip(ticket.random, ticket.masks)):
        assert np.shape(m) == np.shape(s) == (widths[k + 1], widths[k])
        assert np.asarray(s).dtype == bool
    first = np.asarray(ticket.masks[0]).reshape(d[0], 2 * c, d[0])
    assert not np.any(first & ~np.eye(d[0], dtype=bool)[:, None, :])


@pytest.mark.theorem("§5.1 ticket invariant")
@pytest.mark.parametrize("name", NAMES)
def test_invariant_check_catches_a_modified_weight(evidence, name):
    """The check behind §5.1 is not vacuous: a ticket whose kept weight differs from the regenerated
    random weight by one unit in the last place is reported. Rule: exact, on every pool case."""
    for i in range(_pool.size()):
        tamper(_pool.ticket(name, i))
        evidence.example()


def tamper(ticket):
    masks = [np.asarray(m) for m in ticket.masks]
    k = next((k for k, m in enumerate(masks) if m.any()), None)
    if k is None:
        return
    random = [np.array(r) for r in ticket.random]
    r, c = np.argwhere(masks[k])[0]
    random[k][r, c] = np.nextafter(random[k][r, c], np.inf)
    tampered = dataclasses.replace(ticket, random=tuple(random))
    assert invariant_problems(tampered) != []


@pytest.mark.theorem("§5.1 ticket invariant")
@pytest.mark.parametrize("name", _pool.conv_names("invariant"))
def test_cnn_ticket_invariant(evidence, name):
    """Statement (docs/theory.md §5.1 for CNN targets, §1.7): the invariant above in the ``conv`` layout,
    where it also says that every kernel entry of the random k×k convolution is kept at every position
    it acts at or at none (the ties) and that nothing off the convolution's support is kept; pair i has
    the explicit shapes (2c·d_{i-1}, d_{i-1}) and (d_i, 2c·d_{i-1}) (a 1×1 convolution with 2c channels per
    input channel, then the k×k one). The check is not vacuous: dropping one copy of a kept kernel entry
    is reported. Rule: exact, on every case of the CNN pool."""
    for i in range(_pool.conv_size()):
        ticket = _pool.conv_ticket(name, i)
        check_invariant(ticket, i)
        masks = [np.asarray(m) for m in ticket.masks]
        k = next((k for k in range(1, len(masks), 2) if masks[k].any()), None)
        if k is not None:
            untied = masks[k].copy()
            untied[tuple(np.argwhere(untied)[0])] = False
            broken = dataclasses.replace(ticket, masks=tuple(masks[:k] + [untied] + masks[k + 1:]))
            assert any("tied" in m for m in invariant_problems(broken, regenerate=False)), i
        evidence.example()


@pytest.mark.theorem("§5.1 ticket invariant")
@pytest.mark.parametrize("name", _pool.biased_names("invariant"))
def test_ticket_invariant_with_biases(evidence, name):
    """Statement (docs/theory.md §5.1 for targets with biases, §1.8): the invariant in the ``biased``
    layout: kept weights and biases equal the regenerated ones bit for bit, every layer has shape
    (out, in + 1) (its biases last), pair i has d_{i-1} + 1 blocks of 2c units (the last one the bias
    block, whose units keep their bias alone), the output biases are pruned; a weight one ulp off is
    reported. Rule: exact, on every case of the pool with biases."""
    for i in range(_pool.biased_size()):
        ticket = _pool.biased_ticket(name, i)
        spec = ticket.spec
        assert invariant_problems(ticket) == [], i
        assert [np.shape(m) for m in ticket.random] == [np.shape(s) for s in ticket.masks] == list(spec.shapes())
        for p in range(spec.depth):
            h, d_in = 2 * spec.candidates * (spec.dims[p] + 1), spec.dims[p]
            assert np.shape(ticket.random[2 * p]) == (h, d_in + 1) and np.shape(ticket.random[2 * p + 1])[1] == h + 1
            assert not np.asarray(ticket.masks[2 * p + 1])[:, -1].any(), i
        tamper(ticket)
        evidence.example()


@pytest.mark.theorem("§5.1 ticket invariant")
@pytest.mark.parametrize("name", _pool.residual_names("invariant"))
def test_ticket_invariant_with_skips(evidence, name):
    """Statement (docs/theory.md §5.1 for residual targets, §1.9): a skip is an identity, not a weight, so the
    random network of a residual target has exactly the layers, shapes, blocks (and ties, for a CNN) of the
    same target without skips, bit for bit, and the invariant holds unchanged; the skips are the spec's and
    their random edges join unit layer 2i − 2 to 2i + 2; a weight one ulp off is reported. Rule: exact, on
    every case of the residual pool the construction prunes."""
    for i in _pool.residual_cases(name):
        ticket = _pool.residual_ticket(name, i)
        spec = ticket.spec
        assert invariant_problems(ticket) == [], i
        plain = nets.random_network(dataclasses.replace(spec, skips=()))
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(ticket.random, plain)), i
        assert spec.skip_edges() == tuple((2 * s - 2, 2 * s + 2) for s in spec.skips) != (), i
        tamper(ticket)
        evidence.example()
