"""docs/theory.md §2.3: no dead weight. Every kept weight can change the output of its target layer's
realisation (:mod:`slth.liveness`), so kept-parameter counts and densities hold no wasted weight."""

import dataclasses

import jax
import numpy as np
import pytest

from slth import constructions, liveness, nets
from slth import theorems
from slth.theorems import _pool

NAMES = theorems.names("no-dead-weight")
#: Every construction: the analysis itself is checked on all of them.
ALL = theorems.names("invariant")
#: docs/theory.md §2.3's situation, checked beside the pool (a small pool may hold no dense deep case without
#: drop_negative): a dense depth-3 target, pairs 2 and 3 offered negative candidates.
WITNESS = nets.RandomSpec(dims=(2, 3, 3, 2), candidates=4, seed=13)


def witness(name: str):
    """The ticket of construction ``name`` for :data:`WITNESS` (a Gaussian target at norm 1)."""
    target = tuple(np.asarray(w) for w in nets.random_target(WITNESS.dims, key=jax.random.key(WITNESS.seed)))
    return constructions.build(name, target, _pool.network_spec(name, WITNESS))


@pytest.mark.theorem("§2.3 no dead weight")
@pytest.mark.parametrize("name", NAMES)
def test_no_kept_weight_is_dead(evidence, name):
    """Statement (docs/theory.md §2.2-2.3; the constructions of Malach et al. 2020 and Pensia et al. 2020 keep
    a hidden unit only for the candidate it supplies): within each target layer's realisation every
    kept weight lies on a path through hidden units that can be active. A unit of pair i >= 2
    receives ReLU outputs (>= 0), so one whose kept incoming weights are all <= 0 (a negative
    candidate, useless there) is never active; a unit without a kept incoming or outgoing weight
    makes its other kept weights dead; a unit of random layer 1 sees inputs of both signs. The
    target's neurons count as active and used (a construction cannot prune for a target neuron that
    is itself dead): :func:`slth.liveness.dead_weights` with ``scope="layer"``. Rule: exact, no dead
    kept weight on every pool case and on :data:`WITNESS`."""
    for i, ticket in [*((i, _pool.ticket(name, i)) for i in range(_pool.size())), ("witness", witness(name))]:
        dead = liveness.dead_weights(ticket, scope="layer")
        assert not any(d.any() for d in dead), (i, [np.argwhere(d).tolist() for d in dead])
        evidence.example()


@pytest.mark.theorem("§2.3 no dead weight")
@pytest.mark.parametrize("name", ALL)
def test_dead_weights_are_dead(evidence, name):
    """The analysis behind the property is sound: removing every weight that
    :func:`slth.liveness.dead_weights` calls dead in the whole network (``scope="network"``, a
    superset of the ``"layer"`` scope's) leaves the pruned network's output unchanged, bit for bit,
    on inputs of both signs; and it is not vacuous: a hidden unit of random layer 1 kept without an
    outgoing weight, and in pair 2 a negative unit kept with an outgoing weight, are reported dead in
    both scopes. Rule: exact equality (float64) on 64 Gaussian inputs; every pool case."""
    for i in range(_pool.size()):
        ticket = _pool.ticket(name, i)
        dead = liveness.dead_weights(ticket)
        x = np.random.default_rng(i).normal(size=(64, ticket.spec.dims[0]))
        kept = [np.asarray(m) for m in ticket.masks]
        pruned = [m & ~d for m, d in zip(kept, dead)]
        np.testing.assert_array_equal(forward(ticket.random, pruned, x), forward(ticket.random, kept, x),
                                      err_msg=f"case {i}")
        assert liveness.live_params(ticket) == sum(int(p.sum()) for p in pruned)
        for planted, where in plants(ticket):
            for scope in liveness.SCOPES:
                found = liveness.dead_weights(planted, scope=scope)
                assert all(found[k][r, c] for k, r, c in where), (i, scope, where)
        evidence.example()


def forward(random, masks, x):
    """g(x) = R_L σ(··· σ(R_1 x)) with R_k = random_k ⊙ mask_k, in float64 NumPy."""
    h = x
    for k, (r, m) in enumerate(zip(random, masks)):
        h = h @ np.where(m, np.asarray(r, np.float64), 0.0).T
        h = np.maximum(h, 0.0) if k < len(random) - 1 else h
    return h


def plants(ticket):
    """(ticket with dead weights added, [(layer, row, column)] of the added weights): a unit of random
    layer 1 with only its block weight kept (no outgoing weight); in the pairs layout with l >= 2, a
    unit of pair 2 with a negative block weight, kept with one outgoing weight."""
    spec, masks = ticket.spec, [np.array(m) for m in ticket.masks]
    random = [np.asarray(r) for r in ticket.random]
    units = 2 * spec.candidates
    idle = [r for r in range(masks[0].shape[0]) if not masks[0][r].any() and not masks[1][:, r].any()
            and random[0][r, r // units] != 0]
    if idle:
        r = idle[0]
        yield with_masks(ticket, masks, [(0, r, r // units)]), [(0, r, r // units)]
    if nets.layouts.layout(spec).has_pairs and spec.depth >= 2:
        per = spec.units_per_block(2)
        negative = [r for r in range(masks[2].shape[0]) if random[2][r, r // per] < 0]
        if negative:
            r = negative[0]
            where = [(2, r, r // per), (3, 0, r)]
            yield with_masks(ticket, masks, where), where


def with_masks(ticket, masks, where):
    masks = [m.copy() for m in masks]
    for k, r, c in where:
        masks[k][r, c] = True
    return dataclasses.replace(ticket, masks=tuple(masks))


@pytest.mark.theorem("§2.3 no dead weight")
@pytest.mark.parametrize("name", _pool.residual_names("invariant"))
def test_dead_weights_are_dead_with_skips(evidence, name):
    """The analysis is sound with skips (a residual target, :mod:`slth.nets.residual`): removing every weight
    it calls dead in the whole network leaves the masked network with its identities unchanged, bit for
    bit; and, for the constructions with the property, no kept weight is dead within its target layer.
    Rule: exact equality (float64) on 64 Gaussian inputs; every case of the residual pool the construction prunes."""
    from slth.theorems.test_identity import masked_forward_with_skips

    for i in _pool.residual_cases(name):
        ticket = _pool.residual_ticket(name, i)
        dead = liveness.dead_weights(ticket)
        x = np.random.default_rng(i).normal(size=(64, ticket.spec.dims[0]))
        live = dataclasses.replace(ticket, masks=tuple(np.asarray(m) & ~d for m, d in zip(ticket.masks, dead)))
        np.testing.assert_array_equal(masked_forward_with_skips(live, x), masked_forward_with_skips(ticket, x),
                                      err_msg=f"case {i}")
        if name in NAMES:
            assert not any(d.any() for d in liveness.dead_weights(ticket, scope="layer")), i
        evidence.example()
