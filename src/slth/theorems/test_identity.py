"""docs/theory.md §5.2, the pair identity, for every registered construction."""

import numpy as np
import pytest

from slth import measure, nets
from slth import testing as slt
from slth import theorems
from slth.nets import conv
from slth.theorems import _pool

NAMES = theorems.names("identity")


@pytest.mark.theorem("§5.2 pair identity")
@pytest.mark.parametrize("name", NAMES)
def test_pair_identity(evidence, name):
    """Statement (docs/theory.md §2.2 and §5.2; the decomposition behind Pensia et al. 2020, Lemma 1): layer
    pair i of the pruned network computes exactly z ↦ A⁺σ(z) − A⁻σ(−z), with A⁺, A⁻ summed from the
    chosen candidate sets; slth's compact maps equal a unit-by-unit loop, and the compact forward
    pass equals the masked network. Rule: float64, absolute round-off 1e-13, on z of both signs, for
    every pool case."""
    for i in range(_pool.size()):
        check_identity(_pool.ticket(name, i), np.random.default_rng(i), i)
        evidence.example()


def check_identity(ticket, rng, case):
    maps = measure.pair_maps(ticket.random, ticket.masks)
    for i, m in enumerate(maps):
        plus, minus = slt.naive_pair_maps(ticket, i)
        np.testing.assert_allclose(m.plus, plus, rtol=0, atol=1e-14, err_msg=f"case {case}, pair {i}")
        np.testing.assert_allclose(m.minus, minus, rtol=0, atol=1e-14, err_msg=f"case {case}, pair {i}")
        z = rng.normal(size=(16, ticket.spec.dims[i]))
        r1 = np.where(ticket.masks[2 * i], ticket.random[2 * i], 0.0)
        r2 = np.where(ticket.masks[2 * i + 1], ticket.random[2 * i + 1], 0.0)
        pair = np.maximum(z @ r1.T, 0.0) @ r2.T
        expected = np.maximum(z, 0.0) @ plus.T - np.maximum(-z, 0.0) @ minus.T
        np.testing.assert_allclose(pair, expected, rtol=0, atol=1e-13, err_msg=f"case {case}, pair {i}")
    x = rng.normal(size=(8, ticket.spec.dims[0]))
    g = x
    for k, (r, m) in enumerate(zip(ticket.random, ticket.masks)):
        g = g @ np.where(m, r, 0.0).T
        g = np.maximum(g, 0.0) if k < len(ticket.random) - 1 else g
    np.testing.assert_allclose(np.asarray(measure.compact_forward(maps, x)), g, rtol=0, atol=1e-12)


@pytest.mark.theorem("§5.2 pair identity")
@pytest.mark.parametrize("name", _pool.conv_names("identity"))
def test_cnn_pair_identity_per_kernel_entry(evidence, name):
    """Statement (docs/theory.md §5.2 for CNN targets, §1.7; da Cunha et al. 2022's decomposition): the
    pair identity above holds for the explicit layers of a CNN ticket, and A± tie like the target's
    convolution: one realised value per kernel entry, the chosen subset's sum, the same at every
    position, and zero off the support (the unit-by-unit loop of the test above gives each value).
    Rule: float64, absolute round-off 1e-13 (identity) and relative 1e-15 (ties), on every case of the
    CNN pool."""
    for i in range(_pool.conv_size()):
        g = _pool.conv_case(i)[0]
        ticket = _pool.conv_ticket(name, i)
        check_identity(ticket, np.random.default_rng(i), i)
        for layer, m in enumerate(measure.pair_maps(ticket.random, ticket.masks), start=1):
            index = conv.kernel_index(g, layer)
            for a in (m.plus, m.minus) if layer == 1 else (m.plus,):
                a = np.asarray(a)
                assert np.all(a[index < 0] == 0), (i, layer)
                groups = index[index >= 0]
                lo = np.full(groups.max() + 1, np.inf)
                hi = np.full(groups.max() + 1, -np.inf)
                np.minimum.at(lo, groups, a[index >= 0])
                np.maximum.at(hi, groups, a[index >= 0])
                assert np.all(hi - lo <= 1e-15 * max(1.0, np.abs(a).max())), (i, layer)
        evidence.example()


@pytest.mark.theorem("§5.2 pair identity")
@pytest.mark.parametrize("name", _pool.biased_names("identity"))
def test_pair_identity_with_biases(evidence, name):
    """Statement (docs/theory.md §5.2 for targets with biases, §1.8): pair i of a ticket with biases
    computes z ↦ A⁺σ([z; 1]) − A⁻σ(−[z; 1]), A⁺'s last column the realised bias: the sum over the kept
    bias-block units of (outgoing weight)·σ(bias), plus any kept output bias, recomputed here unit by
    unit; the compact forward pass equals the masked network with a 1 appended to every layer's input (and,
    for a residual target with biases, the skips' identities between its units, written out here); for
    a CNN target with biases the realised bias is one value per output channel, the same at every position.
    Rule: float64, absolute round-off 1e-13 (1e-15 across positions), on every case of the pool with biases."""
    for i in range(_pool.biased_size()):
        ticket = _pool.biased_ticket(name, i)
        maps = measure.ticket_maps(ticket)
        pruned = [np.where(np.asarray(s), np.asarray(r, np.float64), 0.0) for r, s in zip(ticket.random, ticket.masks)]
        geometry = ticket.spec.geometry and conv.Geometry.parse(ticket.spec.geometry)
        positions = [h * w for _, h, w in geometry.shapes()[1:]] + [1] if geometry else []
        for p, m in enumerate(maps):
            first, second = pruned[2 * p], pruned[2 * p + 1]
            bias = second[:, -1].copy()
            for r in range(first.shape[0]):          # a unit keeping its bias alone computes σ(bias)
                if first[r, -1] != 0 and not first[r, :-1].any():
                    bias += second[:, r] * max(first[r, -1], 0.0)
            np.testing.assert_allclose(np.asarray(m.plus)[:, -1], bias, rtol=0, atol=1e-13, err_msg=f"case {i}, pair {p}")
            if nets.layouts.layout(ticket.spec).has_geometry:      # a CNN: one realised bias per output channel
                spread = np.asarray(m.plus)[:, -1].reshape(ticket.target[p].shape[0] // positions[p], -1)
                assert np.all(spread.max(axis=1) - spread.min(axis=1) <= 1e-15), (i, p)
        x = np.random.default_rng(i).normal(size=(16, ticket.spec.dims[0]))
        ends = {2 * s + 2: 2 * s - 2 for s in ticket.spec.skips}     # a residual target: unit layer a into b
        g, outs = x, [x]
        for k, w in enumerate(pruned, start=1):
            g = g @ w[:, :-1].T + w[:, -1]
            g = g + outs[ends[k]] if k in ends else g
            g = np.maximum(g, 0.0) if k < len(pruned) else g
            outs.append(g)
        import jax
        with jax.enable_x64(True):
            compact = np.asarray(measure.compact_forward(maps, x, biases=True,
                                                         skips=nets.residual.edges(ticket.spec.skips)))
        np.testing.assert_allclose(compact, g, rtol=0, atol=1e-12, err_msg=f"case {i}")
        np.testing.assert_allclose(np.asarray(ticket(x)), g, rtol=0, atol=1e-12, err_msg=f"case {i}")
        evidence.example()


def masked_forward_with_skips(ticket, x):
    """The masked random network on x with the skip identities between its units, written out here: pair i
    realises target layer i, so skip i adds unit layer 2i − 2 (the input for i = 1) to the pre-activation of
    unit layer 2i + 2, before its ReLU."""
    ends = {2 * i + 2: 2 * i - 2 for i in ticket.spec.skips}
    outs, g = [x], x
    for k, (r, m) in enumerate(zip(ticket.random, ticket.masks), start=1):
        g = g @ np.where(m, np.asarray(r, np.float64), 0.0).T
        g = g + outs[ends[k]] if k in ends else g
        g = np.maximum(g, 0.0) if k < len(ticket.random) else g
        outs.append(g)
    return g


@pytest.mark.theorem("§5.2 pair identity")
@pytest.mark.parametrize("name", _pool.residual_names("identity"))
def test_pair_identity_with_skips(evidence, name):
    """Statement (docs/theory.md §5.2 for residual targets, §1.9): a ticket of a target with skips keeps the
    target's identities and prunes only its pairs, so every pair still computes z ↦ A⁺σ(z) − A⁻σ(−z)
    (the unit-by-unit loop of the first test), and the compact forward pass with the target's skips equals
    the masked network with its identities between the units that stand for the target's activations,
    written out here from the skips alone. Rule: float64, absolute round-off 1e-13 (1e-12 end to end), on
    every case of the residual pool the construction prunes."""
    import jax

    for i in _pool.residual_cases(name):
        ticket = _pool.residual_ticket(name, i)
        maps = measure.ticket_maps(ticket)
        for p, m in enumerate(maps):
            plus, minus = slt.naive_pair_maps(ticket, p)
            np.testing.assert_allclose(m.plus, plus, rtol=0, atol=1e-14, err_msg=f"case {i}, pair {p}")
            np.testing.assert_allclose(m.minus, minus, rtol=0, atol=1e-14, err_msg=f"case {i}, pair {p}")
        x = np.random.default_rng(i).normal(size=(16, ticket.spec.dims[0]))
        g = masked_forward_with_skips(ticket, x)
        with jax.enable_x64(True):
            compact = np.asarray(measure.compact_forward(maps, x, skips=nets.residual.edges(ticket.spec.skips)))
        np.testing.assert_allclose(compact, g, rtol=0, atol=1e-12, err_msg=f"case {i}")
        np.testing.assert_allclose(np.asarray(ticket(x)), g, rtol=0, atol=1e-12, err_msg=f"case {i}")
        evidence.example()
