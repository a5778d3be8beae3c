"""The counting lower bound of Pensia et al. 2020 (THEORY §4.3)."""

from __future__ import annotations

import math

from slth.bounds.width import Width, check_dims, width_from_candidates
from slth.errors import InputError


def _check(d: int, eps: float) -> None:
    if not isinstance(d, int) or d < 1:
        raise InputError(f"d {d!r} must be a positive integer")
    if not 0 < eps < 0.5:
        raise InputError(f"eps {eps!r} must be in (0, 1/2): the bound is vacuous from 1/2 on")


def counting_min_params(d: int, eps: float) -> float:
    """Fewest prunable parameters N of any network whose subnetworks ε-approximate every linear map
    x ↦ Wx, W ∈ R^{d×d}, ‖W‖_2 <= 1, with probability >= 1/2:

        N >= d² log2(1/(2ε)) − 1.

    A network with N prunable parameters has at most 2^N subnetworks, and the class needs at least
    ½ (1/(2ε))^{d²} of them (Pensia et al. 2020, Theorem 2; THEORY §4.3). The constant is explicit.

    Args:
      d: target width, >= 1. eps: accuracy in (0, 1/2).
    Returns:
      The lower bound on N (a float; round up for a count).

    >>> counting_min_params(2, 0.125)
    7.0
    """
    _check(d, eps)
    return d * d * math.log2(1 / (2 * eps)) - 1


def counting_min_hidden_width(d: int, eps: float) -> float:
    """The same bound as a hidden width h of a depth-2 network d → h → d (N = 2 d h):

        h >= (d/2) log2(1/(2ε)) − 1/(2d).

    >>> counting_min_hidden_width(2, 0.125)
    1.75
    """
    return counting_min_params(d, eps) / (2 * d)


def counting_width(dims, eps: float) -> Width:
    """The counting lower bound for a one-layer target d_0 → d_1, in slth's layout:

        N >= d_1 · d_0 · log2(1/(2ε)) − 1        random (prunable) parameters,

    i.e. c >= N / (2 d_0 (d_0 + d_1)) candidates per block and sign of a depth-2 random network.
    It holds for every network and every pruning rule that ε-approximates a target drawn uniformly
    from K = {W ∈ R^{d_1×d_0}: ‖W‖_2 <= 1} with probability >= ½ (for instance, a construction with
    a per-target guarantee at δ <= ½). The constant is explicit: kind ``lower-bound``.

    Rectangular layers (d_0 ≠ d_1) are covered because the argument of THEORY §4.3 is a volume
    argument that never uses squareness. The error sup_{‖x‖<=1} ‖g(x) − Wx‖ <= ε of one subnetwork g
    confines the targets it serves to a set of operator-norm diameter <= 2ε, inside a ball 2εK of
    volume (2ε)^n vol(K), n = d_1·d_0; the 2^N subnetworks must cover half the volume of K, so
    2^N (2ε)^n >= ½. For d_0 = d_1 = d this is :func:`counting_min_params`.

    Deeper targets (l >= 2) are refused: summing this bound over layers is not a theorem we can
    justify. Different weight tuples give the same network (each hidden unit's incoming weights can
    be scaled by α and its outgoing ones by 1/α), so the targets served by one subnetwork are not
    confined to a product of small balls and the volume argument does not multiply over layers.

    References: Pensia et al. 2020, Theorem 2 (the counting argument, stated for d × d).

    Args:
      dims: (d_0, d_1), a string or sequence. eps: accuracy in (0, 1/2).
    Returns:
      A :class:`~slth.bounds.width.Width` of kind ``lower-bound`` whose ``random_params`` is the
      bound on N (floored at 0, where it is vacuous) and whose candidates and hidden width are the
      matching unrounded floats; ``delta`` is recorded as ½, the success probability it assumes.

    >>> w = counting_width((2, 2), 0.125)    # 4 · log2(4) − 1 = 7, h = 7 / 4, c = 7 / 16
    >>> w.random_params, w.hidden_widths, w.candidates
    (7.0, (1.75,), 0.4375)
    """
    dims = check_dims(dims)
    if len(dims) != 2:
        raise InputError(
            f"dims {dims} has depth {len(dims) - 1}; counting_width is proven for one-layer targets "
            "(d_0, d_1) only: the per-layer counting bounds do not add up over layers"
        )
    d_in, d_out = dims
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 0.5:
        raise InputError(f"eps {eps!r} must be in (0, 1/2): the bound is vacuous from 1/2 on")
    params = d_out * d_in * math.log2(1 / (2 * eps)) - 1
    c = max(params, 0.0) / (2 * d_in * (d_in + d_out))
    return width_from_candidates(dims, c, name="counting", kind="lower-bound", eps=float(eps), delta=0.5)
