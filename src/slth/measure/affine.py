"""The certificate of a ticket of a target with biases: docs/theory.md §3's argument redone for affine layers.

Setting (the ``biased`` layout, :mod:`slth.nets.affine`): target layer i is y_i = W_i z_{i-1} + b_i,
z_i = σ(y_i) for i < l, z_0 = x, ‖x‖ <= 1, and pair i of the ticket computes
ỹ_i = A⁺_i σ([z̃_{i-1}; 1]) − A⁻_i σ(−[z̃_{i-1}; 1]) (:func:`slth.measure.pair_maps` with ``biases``).
Split A± = [P± | p±] into their weight columns and their constant column: since σ(1) = 1 and
σ(−1) = 0, the pair computes P⁺σ(z̃) − P⁻σ(−z̃) + a_i with a_i = p⁺ (the realised bias: the bias
block's subset sum plus any kept output bias). Write s_i = ‖W_i‖_2, R_0 = 1 and
R_i = s_i R_{i-1} + ‖b_i‖, so ‖y_i‖ <= R_i and ‖z_i‖ <= R_i (σ is 1-Lipschitz with σ(0) = 0).
The bias-free argument's homogeneity is not needed: every step is a bound for each x of the ball.

- Pair 1: z̃_0 = z_0 = x and W x = W σ(x) − W σ(−x), so
  ỹ_1 − y_1 = [P⁺ − W_1 | P⁻ − W_1] [σ(x); −σ(−x)] + (a_1 − b_1), and ‖[σ(x); −σ(−x)]‖ = ‖x‖ <= 1:
      e_1 <= α_1 + β_1,  α_1 = ‖[P⁺_1 − W_1 | P⁻_1 − W_1]‖_2,  β_1 = ‖a_1 − b_1‖.
- Pair i >= 2: z̃_{i-1} = σ(ỹ_{i-1}) >= 0, so σ(−z̃) = 0 and
  ỹ_i − y_i = P⁺_i (z̃_{i-1} − z_{i-1}) + (P⁺_i − W_i) z_{i-1} + (a_i − b_i), with
  ‖z̃_{i-1} − z_{i-1}‖ <= ‖ỹ_{i-1} − y_{i-1}‖:
      e_i <= ‖P⁺_i‖_2 e_{i-1} + α_i R_{i-1} + β_i,  α_i = ‖P⁺_i − W_i‖_2,  β_i = ‖a_i − b_i‖.

Result: sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ <= e_l. With b = 0 and no kept bias it is at most §3's
Π(s_i + α_i) − Π s_i (‖P⁺_i‖ <= s_i + α_i). The value is rounded upward
(:func:`slth.measure.rounding.round_up`) so that it holds in exact arithmetic. The certificate of such a
ticket is the smaller of this bound and :mod:`slth.measure.propagate`'s bound propagation, which carries
b_i and a_i − b_i as constants of z^f_i and δ_i (its input cones only: a phase constraint is affine with
biases, which its Lagrangian step does not take). The exact program (:mod:`slth.measure.exact`) takes the
biases as its layers' constants (:mod:`slth.measure.exact_net`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slth.measure import residual
from slth.measure.error import PairMaps


def _norm(m: np.ndarray) -> float:
    return float(np.linalg.norm(m, 2)) if m.size else 0.0


def weight_errors(target: Sequence, maps: Sequence[PairMaps]) -> list[np.ndarray]:
    """Per-parameter errors of a ticket with biases: for pair 1 the (d_1, 2 d_0 + 1) matrix
    [P⁺ − W | P⁻ − W | a − b], for i >= 2 [P⁺ − W | a − b] (module docstring; the negative half of the
    constant column acts on σ(−1) = 0 and of later pairs on σ(−z̃) = 0, so neither counts). Float64."""
    errs = []
    for i, (layer, m) in enumerate(zip(target, maps)):
        layer = np.asarray(layer, np.float64)
        w, b = layer[:, :-1], layer[:, -1:]
        plus, minus = np.asarray(m.plus, np.float64), np.asarray(m.minus, np.float64)
        bias_err = plus[:, -1:] - b
        weight_err = [plus[:, :-1] - w] + ([minus[:, :-1] - w] if i == 0 else [])
        errs.append(np.concatenate(weight_err + [bias_err], axis=1))
    return errs


def certificate(target: Sequence, maps: Sequence[PairMaps], skips: Sequence[int] = ()) -> float:
    """e_l of the module docstring (not yet rounded up): an upper bound on sup_{‖x‖<=1} ‖f(x) − g_S(x)‖
    for a ticket of a target with biases, in float64 NumPy; with ``skips`` (a residual target with biases)
    the recursion of :mod:`slth.measure.residual`, which computes both."""
    return residual.certificate(target, maps, skips, biases=True)


def constants(target: Sequence, maps: Sequence[PairMaps]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer i the constants the bound propagation (:mod:`slth.measure.propagate`) adds for biases:
    (b_i, a_i − b_i), the target's bias in z^f_i = W_i h + b_i and the realised bias's error in δ_i, a_i the
    last column of A⁺_i. Float64."""
    out = []
    for layer, m in zip(target, maps):
        b = np.asarray(layer, np.float64)[:, -1]
        out.append((b, np.asarray(m.plus, np.float64)[:, -1] - b))
    return out


def scale(target: Sequence, maps: Sequence[PairMaps]) -> float:
    """A bound on the magnitudes :func:`certificate` combines (for :func:`~slth.measure.rounding.round_up`):
    Π_i max(1, ‖P⁺_i‖_2, ‖W_i‖_2) times max(1, R_l) and the depth."""
    product, reach = 1.0, 1.0
    for layer, m in zip(target, maps):
        layer = np.asarray(layer, np.float64)
        w = layer[:, :-1]
        product *= max(1.0, _norm(np.asarray(m.plus, np.float64)[:, :-1]), _norm(w))
        reach = _norm(w) * reach + float(np.linalg.norm(layer[:, -1]))
    return product * max(1.0, reach) * len(target)
