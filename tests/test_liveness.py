"""Dead weights (slth.liveness): the rule on hand-built networks, soundness on random masks, and the
kept-parameter count without them."""

import dataclasses

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slth import constructions, liveness, nets
from slth.errors import InputError
from slth.ticket import Ticket


def ticket_of(layers, masks=None, *, dims=None, layout="pairs"):
    """A Ticket over hand-written random layers (masks: all kept by default); the spec only names the
    layout and depth the analysis reads."""
    layers = tuple(np.asarray(w, np.float64) for w in layers)
    masks = tuple(np.ones(w.shape, bool) if masks is None else np.asarray(m, bool)
                  for w, m in zip(layers, masks or [None] * len(layers)))
    dims = dims or (layers[0].shape[1], layers[-1].shape[0])
    spec = nets.RandomSpec(dims=dims, candidates=1, seed=0, layout=layout)
    return Ticket(target=(), random=layers, masks=masks, spec=spec, construction="hand")


def dead_list(ticket, scope="network"):
    return [np.argwhere(d).tolist() for d in liveness.dead_weights(ticket, scope=scope)]


def test_a_never_active_unit_makes_its_weights_dead():
    """Unit 0 of layer 2 sees ReLU outputs (>= 0) through weights -1 and -2: never active, so its
    incoming and outgoing weights are dead, and unit 1 of layer 1, which feeds only it, is unused."""
    first = [[1.0], [-1.0]]                 # layer 1 sees x of either sign: both units can be active
    second = [[-1.0, -2.0], [3.0, 0.0]]     # 0.0 is a kept zero weight: dead too
    third = [[5.0, 7.0]]
    t = ticket_of([first, second, third], dims=(1, 2, 1), layout="l+1")   # unit layer 2: a target neuron
    assert dead_list(t) == [[[1, 0]], [[0, 0], [0, 1], [1, 1]], [[0, 0]]]
    assert liveness.live_params(t) == 3
    # as a target neuron, unit layer 2 counts as active and used: only the kept zero is dead
    assert dead_list(t, "layer") == [[], [[1, 1]], []]


def test_a_unit_without_outgoing_weight_makes_its_incoming_weights_dead():
    first = [[1.0, -2.0], [0.5, 0.0], [-1.0, 1.0]]
    second = [[1.0, 0.0, -1.0]]
    masks = [np.ones((3, 2)), [[True, False, True]]]
    t = ticket_of([first, second], masks)
    assert dead_list(t) == [[[1, 0], [1, 1]], []]        # unit 1: no outgoing weight; its 0.0 is kept
    assert liveness.live_params(t) == 6


def test_layer_one_units_see_inputs_of_both_signs():
    """A unit of random layer 1 with only negative incoming weights is active for x < 0."""
    t = ticket_of([[[-1.0, -3.0]], [[2.0]]])
    assert dead_list(t) == [[], []] and liveness.live_params(t) == 3


def test_negative_units_of_later_pairs_are_dead_in_both_scopes():
    """docs/theory.md §2.3: in pair 2 a unit with u_r < 0 receives the pair-1 outputs (>= 0) and never fires."""
    spec = nets.RandomSpec(dims=(2, 2, 2), candidates=3, seed=4)
    target = nets.random_target((2, 2, 2), key=jax.random.key(1))
    ticket = constructions.build("subset-sum", target, spec)
    assert not any(d.any() for d in liveness.dead_weights(ticket, scope="layer"))
    first = np.asarray(ticket.random[2])
    units = spec.units_per_block(2)
    r = next(r for r in range(first.shape[0]) if first[r, r // units] < 0)
    masks = [np.array(m) for m in ticket.masks]
    masks[2][r, r // units] = masks[3][:, r] = True
    planted = dataclasses.replace(ticket, masks=tuple(masks))
    for scope in liveness.SCOPES:
        dead = liveness.dead_weights(planted, scope=scope)
        assert dead[2][r, r // units] and dead[3][:, r].all()
    assert liveness.live_params(planted) == liveness.live_params(ticket)


def test_a_zero_column_of_the_next_target_layer_is_dead_in_the_network_only():
    """A target neuron no later layer uses: pair 1's weights for it are dead in the whole network (and
    not counted by live_params), but not within pair 1's own realisation."""
    target = (np.array([[0.6, 0.0], [0.0, -0.7]]), np.array([[0.8, 0.0]]))   # neuron 1 unused
    spec = nets.RandomSpec(dims=(2, 2, 1), candidates=4, seed=0)
    ticket = constructions.build("subset-sum", target, spec)
    network, layer = liveness.dead_weights(ticket), liveness.dead_weights(ticket, scope="layer")
    assert not any(d.any() for d in layer)
    assert network[1][1].any() and not network[1][0].any() and not network[3].any()
    assert liveness.live_params(ticket) == ticket.kept_params() - sum(int(d.sum()) for d in network)


def test_unknown_scope_is_refused():
    with pytest.raises(InputError, match="scope 'pair'"):
        liveness.dead_weights(ticket_of([[[1.0]], [[1.0]]]), scope="pair")


@st.composite
def pruned_networks(draw):
    widths = draw(st.lists(st.integers(1, 5), min_size=2, max_size=6))
    seed = draw(st.integers(0, 2**31 - 1))
    density = draw(st.sampled_from([0.2, 0.5, 0.8]))
    rng = np.random.default_rng(seed)
    layers = [rng.normal(size=(b, a)) * (rng.random((b, a)) < 0.9) for a, b in zip(widths, widths[1:])]
    masks = [rng.random(w.shape) < density for w in layers]
    depth = len(layers)
    layout = draw(st.sampled_from(["pairs", "l+1"])) if depth % 2 == 0 else "l+1"
    l = depth // 2 if layout == "pairs" else depth - 1
    if l < 1:
        layout, l = "pairs", 1
    dims = (widths[0],) + (1,) * (l - 1) + (widths[-1],)
    return ticket_of(layers, masks, dims=dims, layout=layout), rng


@given(case=pruned_networks())
def test_removing_dead_weights_never_changes_the_output(case):
    """Soundness: dropping every weight dead_weights reports (either scope) leaves g(x) unchanged bit
    for bit on inputs of both signs, on random networks with random masks (many dead units)."""
    ticket, rng = case
    x = rng.normal(size=(32, ticket.random[0].shape[1]))
    full = forward(ticket.random, ticket.masks, x)
    for scope in liveness.SCOPES:
        dead = liveness.dead_weights(ticket, scope=scope)
        assert all(not (d & ~m).any() for d, m in zip(dead, ticket.masks))
        np.testing.assert_array_equal(forward(ticket.random, [m & ~d for m, d in zip(ticket.masks, dead)], x),
                                      full)


def forward(random, masks, x):
    h = x
    for k, (r, m) in enumerate(zip(random, masks)):
        h = h @ np.where(m, r, 0.0).T
        h = np.maximum(h, 0.0) if k < len(random) - 1 else h
    return h


@given(case=pruned_networks())
def test_dead_weights_read_signs_in_the_networks_own_dtype(case):
    """The rule reads only which kept weights are non-zero and which are positive, so a float32 network
    gives the dead weights of its float64 copy (float32 keeps every sign, and a zero stays zero)."""
    ticket, _ = case
    single = dataclasses.replace(ticket, random=tuple(np.asarray(r, np.float32) for r in ticket.random))
    for scope in liveness.SCOPES:
        for a, b in zip(liveness.dead_weights(single, scope=scope), liveness.dead_weights(ticket, scope=scope)):
            np.testing.assert_array_equal(a, b)
    assert liveness.live_params(single) == liveness.live_params(ticket)
