"""The counting lower bound of Pensia et al. 2020 (docs/theory.md §4.3)."""

from __future__ import annotations

import dataclasses
import math

from slth.bounds.width import Width, check_dims, width_from_candidates
from slth import checks
from slth.errors import InputError


def _check(d: int, eps: float) -> None:
    checks.count("d", d)
    if not 0 < checks.real("eps", eps) < 0.5:
        raise InputError(f"eps {eps!r} must be in (0, 1/2): the bound is vacuous from 1/2 on")


def counting_domain(dims) -> float:
    """The ε below which :func:`counting_width` holds: 1/2 for one layer, 1/4 for deeper targets."""
    return 0.5 if len(check_dims(dims)) == 2 else 0.25


def counting_applies(dims, eps: float) -> bool:
    """Whether :func:`counting_width` is defined at (dims, ε): ε below :func:`counting_domain`."""
    return eps < counting_domain(dims)


def counting_min_params(d: int, eps: float) -> float:
    """Fewest prunable parameters N of any network whose subnetworks ε-approximate every linear map
    x ↦ Wx, W ∈ R^{d×d}, ‖W‖_2 <= 1, with probability >= 1/2:

        N >= d² log2(1/(2ε)) − 1.

    A network with N prunable parameters has at most 2^N subnetworks, and the class needs at least
    ½ (1/(2ε))^{d²} of them (Pensia et al. 2020, Theorem 2; docs/theory.md §4.3). The constant is explicit.

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
    """The counting lower bound on the random network, in slth's layout (c candidates per block and
    sign, random parameters Σ_i 2 d_{i-1} c (d_{i-1} + d_i)):

        one layer (l = 1):  N >= d_1 · d_0 · log2(1/(2ε)) − 1,           ε in (0, 1/2);
        deeper (l >= 2):    N >= m · d_0 · log2(1/(4ε)) − 1,  m = min(d_1, ..., d_l),  ε in (0, 1/4).

    It holds for every network with N prunable parameters and every pruning rule that ε-approximates,
    with probability >= ½, a target drawn uniformly from a class of targets (for instance a
    construction with a per-target guarantee at δ <= ½), in the sup norm over the unit ball. The
    constants are explicit: kind ``lower-bound``.

    One layer (Pensia et al. 2020, Theorem 2; docs/theory.md §4.3, rectangular layers included because the
    volume argument never uses squareness): the class is K = {W ∈ R^{d_1×d_0}: ‖W‖_2 <= 1}. A
    subnetwork g serves targets within operator-norm diameter 2ε, a set inside a ball 2εK of volume
    (2ε)^n vol(K), n = d_1·d_0; the 2^N subnetworks must cover half of K, so 2^N (2ε)^n >= ½.

    Deeper targets (slth's extension of the same argument; summing per-layer bounds is *not* valid,
    because rescaling a hidden unit's weights by α and 1/α leaves the network unchanged). Take the
    sub-class of depth-l targets x ↦ P σ(W x): W ∈ R^{d_1×d_0} has its first m rows free with
    ‖W‖_2 <= 1 and the rest zero, and layers 2..l are the coordinate maps that carry the first m
    coordinates through (norm 1, allowed); ReLU is idempotent, so these are depth-l targets of the
    class. Two of them are far apart: for v = (W − W')x, the gaps at x and −x have coordinates p, q
    with p − q = v, so one of them has norm >= ‖v‖/2, and sup_x ‖f_W − f_W'‖ >= ½ ‖W − W'‖_2. A
    subnetwork therefore serves W's of operator-norm diameter <= 4ε, inside a ball of volume
    (4ε)^n vol(K), n = m·d_0, and 2^N (4ε)^n >= ½ as before. (Any subset of the class yields a valid
    bound for the whole class: a distribution on the sub-class is a distribution on the class.)

    References: Pensia et al. 2020, Theorem 2 (the counting argument, stated for d × d, one layer).

    Args:
      dims: d_0..d_l, a string or sequence. eps: accuracy in (0, 1/2) for l = 1, (0, 1/4) for l >= 2.
    Returns:
      A :class:`~slth.bounds.width.Width` of kind ``lower-bound`` whose ``random_params`` is the
      bound on N (floored at 0, where it is vacuous) and whose candidates and hidden widths are the
      matching unrounded floats (the same c for every pair); ``delta`` is recorded as ½, the success
      probability it assumes; ``details`` hold ``free_params`` (n) and ``diameter`` (2ε or 4ε).

    >>> w = counting_width((2, 2), 0.125)    # 4 · log2(4) − 1 = 7, h = 7 / 4, c = 7 / 16
    >>> w.random_params, w.hidden_widths, w.candidates
    (7.0, (1.75,), 0.4375)
    >>> w = counting_width((2, 3, 2), 1 / 16)    # m = 2, n = 4: 4 · log2(4) − 1 = 7 = c · (2·2·5 + 2·3·5)
    >>> w.random_params, w.candidates
    (7.0, 0.14)
    """
    dims = check_dims(dims)
    depth = len(dims) - 1
    limit = counting_domain(dims)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < limit:
        raise InputError(f"eps {eps!r} must be in (0, {limit}) for a depth-{depth} target: "
                         f"the bound is vacuous from {limit} on")
    free = dims[0] * (dims[1] if depth == 1 else min(dims[1:]))
    diameter = (2 if depth == 1 else 4) * eps
    params = free * math.log2(1 / diameter) - 1
    per_c = sum(2 * dims[i - 1] * (dims[i - 1] + dims[i]) for i in range(1, depth + 1))
    c = max(params, 0.0) / per_c
    w = width_from_candidates(dims, c, name="counting", kind="lower-bound", eps=float(eps), delta=0.5,
                              details=(("free_params", float(free)), ("diameter", diameter)))
    return dataclasses.replace(w, random_params=max(params, 0.0))
