"""A certificate for any mask of a planted network: a sound upper bound on its error against the target.

Let P_i = network_i * planted mask_i (the exact ticket, :meth:`Planted.ticket`) and S_i = network_i *
mask_i for any mask S of the same network, g_P and g_S their networks. The planting makes f = g_P
exactly (in exact arithmetic; :mod:`.planting`), so the error of S is the distance between two masks of one
network. Telescoping through the hybrids H_k = P_l σ ··· P_{k+1} σ S_k σ ··· S_1 (H_0 = g_P, H_l = g_S):
H_{k-1} and H_k share the input h = σ(S_{k-1} ··· σ(S_1 x)), ‖h‖ <= Π_{j<k} ‖S_j‖_2 ‖x‖, differ in layer
k by (P_k − S_k) h, and then go through the same P-suffix, which is Π_{j>k} ‖P_j‖_2-Lipschitz because σ is
1-Lipschitz. Hence, for ‖x‖ <= 1,

    ‖f(x) − g_S(x)‖ <= T(S) = Σ_k (Π_{j>k} ‖P_j‖_2) ‖P_k − S_k‖_2 (Π_{j<k} ‖S_j‖_2),

and also, by the triangle inequality, ‖f(x) − g_S(x)‖ <= ‖g_P(x)‖ + ‖g_S(x)‖ <= Π ‖P_j‖_2 + Π ‖S_j‖_2.
The certificate is the smaller of the two. Spectral norms by NumPy's SVD in float64. P_k − S_k is
computed exactly (its entries are network weights, their negatives or zeros), so the only rounding is
that of the SVDs and of the products and sums of nonnegative numbers, a relative error of the value
itself: :func:`slth.measure.rounding.round_up` (the project's rounding rule for certificates) with
terms = the widest layer, depth = l and scale 0 makes the result a bound in exact arithmetic. For the
planted mask itself every P_k − S_k is exactly 0, so T = 0 exactly and the certificate is 0.0, unrounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from slth.measure.rounding import round_up
from slth.studies.planted.planting import Planted, check_mask


def certificate(planted: Planted, mask: Sequence) -> float:
    """Sound upper bound on sup_{‖x‖<=1} ‖f(x) − g_S(x)‖_2, g_S = planted.network * mask, for ANY bool
    mask of the planted network's shapes (module docstring: min of the telescoping bound against the
    planted ticket and the triangle bound, rounded up). Exactly 0.0 for ``planted.mask``.

    Raises:
      InputError: a mask that is not l bool arrays of the network's shapes.
    """
    mask = check_mask(mask, [w.shape for w in planted.network])
    ticket = planted.ticket()
    pruned = tuple(np.where(m, w, 0.0) for w, m in zip(planted.network, mask))
    diffs = [p - s for p, s in zip(ticket, pruned)]
    if not any(np.any(d) for d in diffs):
        return 0.0
    norm_p = [_norm(p) for p in ticket]
    norm_s = [_norm(s) for s in pruned]
    norm_d = [_norm(d) for d in diffs]
    telescoping = sum(math.prod(norm_p[k + 1:]) * norm_d[k] * math.prod(norm_s[:k]) for k in range(len(diffs)))
    triangle = math.prod(norm_p) + math.prod(norm_s)
    widest = max(max(w.shape) for w in planted.network)
    return round_up(min(telescoping, triangle), terms=widest, depth=len(ticket), scale=0.0)


def _norm(w: np.ndarray) -> float:
    """‖w‖_2, the largest singular value (NumPy SVD, float64); exactly 0 for a zero matrix."""
    return float(np.linalg.norm(w, 2)) if np.any(w) else 0.0
