"""The counting lower bound of Pensia et al. 2020 (THEORY §4.3)."""

from __future__ import annotations

import math

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
