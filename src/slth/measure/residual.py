"""The certificate of a ticket of a residual target: docs/theory.md §3's argument redone with identity skips.

Setting (:mod:`slth.nets.residual`; layouts of layer pairs, ``pairs`` and ``conv``; biases below): target
layer i computes y_i = W_i z_{i-1} + k_i z_{i-2}, with k_i = 1 when a skip joins the input of layer
i − 1 to the output of layer i (skip i − 1) and 0 otherwise, z_0 = x, z_i = σ(y_i) for i < l and
f(x) = y_l. The ticket keeps the same identities and realises each W_i by its pair map
P_i(z) = A⁺_i σ(z) − A⁻_i σ(−z) (:func:`slth.measure.pair_maps`): ỹ_i = P_i(z̃_{i-1}) + k_i z̃_{i-2},
z̃_0 = x. Write s_i = ‖W_i‖_2 and E_i, D_i for bounds on ‖ỹ_i − y_i‖ and ‖z̃_i − z_i‖ over the unit
ball (D_i <= E_i: σ is 1-Lipschitz; D_0 = 0, the input is shared), R_i for a bound on ‖z_i‖:
R_0 = 1, R_i = s_i R_{i-1} + k_i R_{i-2} (‖z_i‖ <= ‖y_i‖, σ(0) = 0).

- Pair 1 (no skip ends there): ỹ_1 − y_1 = [A⁺_1 − W_1 | A⁻_1 − W_1] [σ(x); −σ(−x)] and
  ‖[σ(x); −σ(−x)]‖ = ‖x‖ <= 1, so E_1 = α_1 = ‖[A⁺_1 − W_1 | A⁻_1 − W_1]‖_2.
- Pair i >= 2: z̃_{i-1}, z_{i-1} >= 0 (ReLU outputs: a skip ends before the ReLU), so P_i(z̃_{i-1}) =
  A⁺_i z̃_{i-1} and
      ỹ_i − y_i = A⁺_i (z̃_{i-1} − z_{i-1}) + (A⁺_i − W_i) z_{i-1} + k_i (z̃_{i-2} − z_{i-2}),
      E_i = ‖A⁺_i‖_2 E_{i-1} + α_i R_{i-1} + k_i E_{i-2},  α_i = ‖A⁺_i − W_i‖_2  (E_0 = 0).

Result: sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ <= E_l. What the certificate does with the skip: the skip is exact in
both networks, so it adds no error of its own, but it carries the error E_{i-2} already made at its
start past the block, beside the block's own propagated error; and the target's activations grow by
the identity (R_i gains R_{i-2}), so every later pair's weight error α_i is paid on a larger input. Each
block's Lipschitz bound is 1 + s_{i-1} s_i instead of s_{i-1} s_i. Without skips (every k_i = 0) E_l is at
most §3's Π(s_i + α_i) − Π s_i (‖A⁺_i‖ <= s_i + α_i). Both networks are positively homogeneous (the
identity is), so, as without skips, the bound on the ball is one on the sphere scaled by ‖x‖. The value is rounded
upward (:func:`slth.measure.rounding.round_up`) so that it holds in exact arithmetic.

With biases (the ``biased`` and ``conv-biased`` layouts: target layer i adds b_i, the ticket's pair its
realised bias a_i, :mod:`slth.measure.affine`) the same steps hold for every x of the ball, one at a time
(homogeneity is not used): the pair's difference gains a_i − b_i and the target's activations b_i, so

    E_1 = α_1 + β_1,  E_i = ‖P⁺_i‖_2 E_{i-1} + α_i R_{i-1} + k_i E_{i-2} + β_i,  β_i = ‖a_i − b_i‖,
    R_i = s_i R_{i-1} + k_i R_{i-2} + ‖b_i‖,

with P⁺_i, α_i taken on the weight columns (the constant's column is a_i; its negative half acts on
σ(−1) = 0). The ReLU outputs stay >= 0, so P_i(z̃_{i-1}) = P⁺_i z̃_{i-1} + a_i as before; without a skip
this is :mod:`slth.measure.affine`'s e_l, which :func:`certificate` computes for both.

A second, tighter bound: :func:`network` writes both networks as plain ReLU networks whose skips are carried
by identity units, which :mod:`slth.measure.propagate`'s differential bound propagation (with its branch and
bound) bounds as it bounds any ticket; the certificate of a residual ticket is the smaller of the two
(:func:`slth.measure.ticket_certificate`). The exact program (:mod:`slth.measure.exact`) adds each skip to its
rows (:mod:`slth.measure.exact_net`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slth.measure.error import PairMaps


def _norm(m: np.ndarray) -> float:
    return float(np.linalg.norm(m, 2)) if m.size else 0.0


def _split(layer, m, biases):
    """(W, b, P⁺, P⁻, a) of target layer i and its pair map, float64; without biases b = a = 0."""
    layer, plus, minus = (np.asarray(v, np.float64) for v in (layer, m.plus, m.minus))
    if not biases:
        zero = np.zeros(layer.shape[0])
        return layer, zero, plus, minus, zero
    return layer[:, :-1], layer[:, -1], plus[:, :-1], minus[:, :-1], plus[:, -1]


def certificate(target: Sequence, maps: Sequence[PairMaps], skips: Sequence[int], *, biases: bool = False) -> float:
    """E_l of the module docstring (not yet rounded up) for target skips ``skips``
    (:mod:`slth.nets.residual`): an upper bound on sup_{‖x‖<=1} ‖f(x) − g_S(x)‖, in float64 NumPy.
    ``biases``: layers [W_i | b_i] and maps with the constant's column (the module docstring's β_i terms);
    with no skip it is :mod:`slth.measure.affine`'s e_l, bit for bit."""
    ends = {int(i) + 1 for i in skips}              # layer i + 1 receives z_{i-1}
    errors, reach = [0.0], [1.0]                    # E_0, R_0
    for i, (layer, m) in enumerate(zip(target, maps), start=1):
        w, b, plus, minus, a = _split(layer, m, biases)
        k = 1.0 if i in ends else 0.0
        if i == 1:
            e = _norm(np.concatenate([plus - w, minus - w], axis=1))
        else:
            e = _norm(plus) * errors[-1] + _norm(plus - w) * reach[-1] + k * errors[-2]
        r = _norm(w) * reach[-1] + (k * reach[-2] if i >= 2 else 0.0)
        if biases:
            e, r = e + float(np.linalg.norm(a - b)), r + float(np.linalg.norm(b))
        errors.append(e)
        reach.append(r)
    return float(errors[-1])


def scale(target: Sequence, maps: Sequence[PairMaps], *, biases: bool = False) -> float:
    """A bound on the magnitudes :func:`certificate` combines (for :func:`~slth.measure.rounding.round_up`):
    Π_i (1 + max(1, ‖P⁺_i‖_2, ‖W_i‖_2)), since each step multiplies by at most the larger norm and adds
    a term no larger than the previous ones (the product is the sum over every path through the blocks, a
    skip passing a block by); with ``biases``, times 1 + Σ_i (‖a_i‖ + ‖b_i‖), every source the recursion
    adds besides the input (the β_i and the ‖b_i‖ of R_i), each carried along those paths."""
    product, sources = 1.0, 1.0
    for layer, m in zip(target, maps):
        w, b, plus, _, a = _split(layer, m, biases)
        product *= 1.0 + max(1.0, _norm(plus), _norm(w))
        sources += float(np.linalg.norm(a) + np.linalg.norm(b)) if biases else 0.0
    return product * sources


def network(target: Sequence, maps: Sequence[PairMaps], skips: Sequence[int]):
    """The ticket and its target as one plain ReLU network each, skips carried by identity units, in the form
    :mod:`slth.measure.propagate` bounds ((F_1, G_1, o_1) on the lifted input u = [σ(x); σ(−x)], then
    (W_i, B_i, o_{i-1}, o_i) per layer, every owner the identity; the module docstring's second bound).

    A skip at layer s carries z_{s-1} through layer s: layer s gets extra output units that copy it, which a
    ReLU leaves unchanged because they are >= 0 (z_{s-1} is a ReLU output for s >= 2; for s = 1 the carried
    input is u itself, σ(x) and σ(−x), rows [I | 0] and [0 | I] of the lifted input), and layer s + 1 reads
    them with the identity (with [I, −I] for s = 1: x = σ(x) − σ(−x)) beside W_{s+1}. The ticket's network
    is the same with A⁺_i (A⁻_1) for W_i: its carriers copy the ticket's own z̃_{s-1}, exactly, so every
    identity row has no error of its own, and the differential propagation follows z̃ − z through it.
    ``target`` and ``maps`` are weights only (a target with biases: its constants are the propagation's,
    zero on every carrier row; a carrier copies a ReLU output, >= 0 with biases too)."""
    target = [np.asarray(w, np.float64) for w in target]
    skips = set(skips)
    d0 = target[0].shape[1]
    w1 = target[0]
    f1 = [np.concatenate([w1, -w1], axis=1)]
    g1 = [np.concatenate([np.asarray(maps[0].plus, np.float64), -np.asarray(maps[0].minus, np.float64)], axis=1)]
    if 1 in skips:
        eye = np.eye(2 * d0)
        f1, g1 = f1 + [eye], g1 + [eye]
    layers, width = [], sum(m.shape[0] for m in f1)
    for i in range(2, len(target) + 1):
        w, b = target[i - 1], np.asarray(maps[i - 1].plus, np.float64)
        carried = width - w.shape[1]                       # the carriers of skip i − 1, after z_{i-1}
        consume = np.zeros((w.shape[0], carried))
        if i - 1 in skips:
            consume = np.concatenate([np.eye(d0), -np.eye(d0)], axis=1) if i == 2 else np.eye(carried)
        wide_w, wide_b = [np.concatenate([w, consume], axis=1)], [np.concatenate([b, consume], axis=1)]
        if i in skips:                                     # carry z_{i-1} through layer i
            copy = np.concatenate([np.eye(w.shape[1]), np.zeros((w.shape[1], carried))], axis=1)
            wide_w, wide_b = wide_w + [copy], wide_b + [copy]
        wide_w, wide_b = np.concatenate(wide_w, axis=0), np.concatenate(wide_b, axis=0)
        owners_in, owners_out = np.arange(width), np.arange(wide_w.shape[0])
        layers.append((wide_w, wide_b, owners_in, owners_out))
        width = wide_w.shape[0]
    f1, g1 = np.concatenate(f1, axis=0), np.concatenate(g1, axis=0)
    return (f1, g1, np.arange(f1.shape[0])), layers


__all__ = ["certificate", "network", "scale"]
