"""Dead weights: kept weights that cannot change a ticket's output (docs/theory.md §2.3).

A kept weight of the pruned network g(x) = R_L σ(··· σ(R_1 x)) is *live* when it lies on a path from
an input to an output through hidden units that can be active (output > 0 for some input), and
*dead* otherwise. Removing every dead weight leaves g unchanged on every input, bit for bit; a dead
weight only inflates the kept-parameter count, the density and every figure built on them.

The rule (sound: a weight it calls dead is dead; it ignores cancellations between live paths, so it
may call a weight live that no input ever needs):

- forward, "can be active": an input x_b takes either sign on the unit ball, so a unit of random
  layer 1 can be active iff it keeps a non-zero incoming weight. A unit of a later layer receives
  ReLU outputs, which are >= 0 and are 0 for a unit that is never active, so it can be active iff
  it keeps a weight > 0 from a unit that can be active (its pre-activation is <= 0 otherwise). This
  is how docs/theory.md §2.3's useless negative candidates show up: in pair i >= 2 a unit with u_r < 0 is
  never active, and its kept weights are dead;
- backward, "used": every output is used (no ReLU there); a hidden unit is used iff it can be active
  and keeps a non-zero weight to a used unit of the next layer (to an output, or to a used unit that
  can be active);
- a kept weight R_k[a, b] is live iff it is non-zero, its source b is an input or can be active, and
  its destination a is an output or used.

Biases (a layout with ``has_biases``: every layer's last column is read against a constant input 1,
:mod:`slth.nets.affine`): the constant is a source that is always active and always positive, so a
unit of random layer 1 can be active iff it keeps a non-zero weight from an input or a positive bias,
a unit of a later layer iff it keeps a weight > 0 from an active unit or a positive bias, and a kept
bias is live iff its unit is used (or is an output).

Skips (a residual target, :mod:`slth.nets.residual`): an edge (a, b) adds unit layer a's outputs to unit
layer b's pre-activations through a fixed identity, a path without a weight. Unit j of layer b can be
active if unit j of layer a can (an input takes either sign, a ReLU output is >= 0 and adds positively),
and unit j of layer a is used if it can be active and unit j of layer b is used.

Scopes. ``"network"`` applies the rule to the whole network: what :func:`live_params` counts. It
also calls dead the weights that realise a dead neuron *of the target* (a target neuron with no
outgoing weight, a hidden target neuron of layer >= 2 whose incoming weights are all <= 0) and those
a layer-by-layer construction leaves behind when a later layer keeps nothing for a neuron, so no
construction that builds one target layer at a time can promise it. ``"layer"`` judges each target
layer's realisation on its own: the random units that stand for the target's hidden neurons (the
outputs of pair i < l in the ``pairs`` layout; every unit after random layer 1 in the ``l+1``
layout, Burkholz 2022) count as able to be active and as used, so only the helper units between
them are judged: in the ``pairs`` layout the hidden units of each pair, in the ``l+1`` layout the
univariate units of random layer 1. That is the registry's ``no-dead-weight`` property
(:data:`slth.constructions.PROPERTIES`): the construction keeps no weight that its own target layer
cannot use.
"""

from __future__ import annotations

import numpy as np

from slth.errors import InputError
from slth.nets import layouts

#: Scopes of :func:`dead_weights` (see the module docstring).
SCOPES = ("network", "layer")


def dead_weights(ticket, *, scope: str = "network") -> tuple[np.ndarray, ...]:
    """The dead kept weights of ``ticket``: one boolean array per random layer, the shape of its mask,
    True where a kept weight is dead (see the module docstring for the rule and the scopes).

    Args:
      ticket: a :class:`slth.ticket.Ticket` (either layout).
      scope: ``"network"`` (the whole network) or ``"layer"`` (each target layer's realisation, the
        target's hidden neurons taken as active and used).
    Returns:
      L boolean arrays; ``dead[k] & ~masks[k]`` is all False.
    """
    if scope not in SCOPES:
        raise InputError(f"scope {scope!r} is unknown; allowed: {', '.join(SCOPES)}")
    # Signs of the kept weights read in the random network's own dtype: no float64 copy of the network.
    masks = [np.asarray(m, bool) for m in ticket.masks]
    random = [np.asarray(r) for r in ticket.random]
    depth = len(masks)                       # L; unit layer 0 is the input, unit layer L the output
    kept = [m & (r != 0) for r, m in zip(random, masks)]
    layout = layouts.layout(ticket.spec)
    boundary = layout.target_neuron_layers(ticket.spec) if scope == "layer" else set()
    bias = layout.has_biases
    constant = [np.ones(1, bool)] if bias else []           # the constant input of every layer: always active

    def sources(k):     # layer k's inputs as columns of R_{k+1}: its units, then the constant
        return np.concatenate([active[k]] + constant)

    inputs = masks[0].shape[1] - int(bias)
    skips = ticket.spec.skip_edges()                        # (a, b): identity from unit layer a into b
    active = [np.ones(inputs, bool)]                        # inputs: any sign
    for k in range(1, depth):
        if k in boundary:
            active.append(np.ones(masks[k - 1].shape[0], bool))
        elif k == 1:
            from_inputs = kept[0][:, :inputs].any(axis=1)
            active.append(from_inputs | ((masks[0] & (random[0] > 0))[:, inputs:].any(axis=1)))
        else:
            positive = masks[k - 1] & (random[k - 1] > 0)
            active.append((positive & sources(k - 1)[None, :]).any(axis=1))
        for a, b in skips:
            if b == k:
                active[k] = active[k] | active[a]

    used = [None] * (depth + 1)
    used[depth] = np.ones(masks[-1].shape[0], bool)
    for k in range(depth - 1, 0, -1):
        if k in boundary:
            used[k] = np.ones(masks[k - 1].shape[0], bool)
        else:
            into = (kept[k] & used[k + 1][:, None]).any(axis=0)
            used[k] = active[k] & (into[:-1] if bias else into)
            for a, b in skips:
                if a == k:
                    used[k] = used[k] | (active[k] & used[b])

    return tuple(m & ~(kept[k] & used[k + 1][:, None] & sources(k)[None, :]) for k, m in enumerate(masks))


def live_params(ticket) -> int:
    """Kept weights of ``ticket`` that are not dead in the whole network (scope ``"network"``): the
    kept-parameter count without the weights that cannot change the output (explicit entries; a ``conv``
    ticket's kernel-form count is :func:`slth.pipeline.parameter_counts`)."""
    dead = dead_weights(ticket)
    return int(sum(np.count_nonzero(np.asarray(m)) - np.count_nonzero(d) for m, d in zip(ticket.masks, dead)))


__all__ = ["SCOPES", "dead_weights", "live_params"]
