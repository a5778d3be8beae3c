"""The certificate of a ticket of a residual target: docs/theory.md §3's argument redone with identity skips.

Setting (:mod:`slth.nets.residual`; layouts of layer pairs, ``pairs`` and ``conv``, no biases): target
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
upward (:func:`slth.measure.propagate.round_up`) so that it holds in exact arithmetic. No bound propagation
(:mod:`slth.measure.propagate`) and no exact program (:mod:`slth.measure.exact`) exist for skips yet: this is
the certificate of such tickets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slth.measure.error import PairMaps


def _norm(m: np.ndarray) -> float:
    return float(np.linalg.norm(m, 2)) if m.size else 0.0


def certificate(target: Sequence, maps: Sequence[PairMaps], skips: Sequence[int]) -> float:
    """E_l of the module docstring (not yet rounded up) for target skips ``skips``
    (:mod:`slth.nets.residual`): an upper bound on sup_{‖x‖<=1} ‖f(x) − g_S(x)‖, in float64 NumPy."""
    ends = {int(i) + 1 for i in skips}              # layer i + 1 receives z_{i-1}
    errors, reach = [0.0], [1.0]                    # E_0, R_0
    for i, (layer, m) in enumerate(zip(target, maps), start=1):
        w = np.asarray(layer, np.float64)
        plus, minus = np.asarray(m.plus, np.float64), np.asarray(m.minus, np.float64)
        k = 1.0 if i in ends else 0.0
        if i == 1:
            e = _norm(np.concatenate([plus - w, minus - w], axis=1))
        else:
            e = _norm(plus) * errors[-1] + _norm(plus - w) * reach[-1] + k * errors[-2]
        r = _norm(w) * reach[-1] + (k * reach[-2] if i >= 2 else 0.0)
        errors.append(e)
        reach.append(r)
    return float(errors[-1])


def scale(target: Sequence, maps: Sequence[PairMaps]) -> float:
    """A bound on the magnitudes :func:`certificate` combines (for :func:`~slth.measure.propagate.round_up`):
    Π_i (1 + max(1, ‖A⁺_i‖_2, ‖W_i‖_2)), since each step multiplies by at most the larger norm and adds
    a term no larger than the previous ones."""
    product = 1.0
    for layer, m in zip(target, maps):
        product *= 1.0 + max(1.0, _norm(np.asarray(m.plus, np.float64)), _norm(np.asarray(layer, np.float64)))
    return product


__all__ = ["certificate", "scale"]
