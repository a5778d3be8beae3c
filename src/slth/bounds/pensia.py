"""Subset sum widths: Pensia et al. 2020, Theorem 1, and Lueker's random subset sum (docs/theory.md §4.2).

Both bounds have a universal constant C that the papers prove exists but do not state numerically.
slth does not invent it: C is a keyword argument (default 1, a placeholder, not a claim), and the
toolkit measures the C that the data need.
"""

from __future__ import annotations

import math

from slth.bounds.width import (Width, ceil_count, check_count, check_dims, check_open_unit,
                               check_positive, width_from_candidates)


def pensia_width(dims, eps: float, delta: float, *, C: float = 1.0) -> Width:
    """Candidates per block and sign of Pensia et al.'s subset-sum construction:

        n_i = ⌈C · ln(d_{i-1} · d_i · l / min(ε, δ))⌉        for pair i = 1..l,

    with natural logarithms, hidden width h_i = 2·d_{i-1}·n_i. With probability >= 1 − δ over the
    random network, every target with these widths (‖W_i‖_2 <= 1) has an ε-ticket in it (the
    statement is universal over targets). C is a universal constant the paper does not give
    numerically (a change of log base only rescales it); the value passed is recorded in
    ``Width.constant``. Kind ``hidden-constant``.

    References: Pensia, Rajput, Nagle, Vishwakarma, Papailiopoulos, "Optimal Lottery Tickets via
    SubsetSum: Logarithmic Over-Parameterization is Sufficient", NeurIPS 2020, Theorem 1.

    Args:
      dims: target widths d_0..d_l, a string ``"8,16,4"`` or a sequence of positive integers.
      eps: accuracy ε in (0, 1). delta: failure probability δ in (0, 1). C: the hidden constant, > 0.
    Returns:
      A :class:`Width` with c_i = n_i.

    >>> w = pensia_width((4, 4, 4), 0.01, 0.1)     # n = ⌈ln(4·4·2 / 0.01)⌉ = ⌈ln 3200⌉ = ⌈8.07⌉
    >>> w.candidates, w.hidden_widths, w.random_params
    (9, (72, 72), 1152)
    """
    dims = check_dims(dims)
    eps = check_open_unit("eps", eps)
    delta = check_open_unit("delta", delta)
    C = check_positive("C", C)
    depth = len(dims) - 1
    n = tuple(ceil_count("pensia n_i", C * math.log(dims[i - 1] * dims[i] * depth / min(eps, delta)))
              for i in range(1, depth + 1))
    return width_from_candidates(dims, n, name="pensia", kind="hidden-constant", eps=eps, delta=delta,
                                 constant=C)


def pensia_log_term(dims, eps: float, delta: float) -> float:
    """x = ln(max_i d_{i-1} d_i · l / min(ε, δ)), the factor multiplying C in Pensia et al.'s width
    once every pair gets the same c (slth's layout): a measured width c reads as C = c / x."""
    dims = check_dims(dims)
    depth = len(dims) - 1
    return math.log(max(dims[i - 1] * dims[i] for i in range(1, depth + 1)) * depth / min(eps, delta))


def pensia_random_params_asymptotic(d: int, l: int, eps: float, *, C: float = 1.0) -> float:
    """Pensia et al.'s headline random parameter count for a width-d, depth-l target:

        4 · C · m · ln(m / ε),        m = d² · l target parameters.

    It is :func:`pensia_width` for dims (d, ..., d) with δ >= ε, before rounding n up: each of the
    l pairs has hidden width 2dn and 2d·2dn parameters, with n = C ln(d²l/ε). Natural logarithm; C
    as in :func:`pensia_width` (not given numerically by the paper). Kind ``asymptotic``.

    References: Pensia et al. 2020, Theorem 1 and the discussion after it (docs/theory.md §4.2).

    Args:
      d: target width >= 1. l: target depth >= 1. eps: accuracy in (0, 1). C: hidden constant > 0.
    Returns:
      The parameter count, a float (not rounded).

    >>> round(pensia_random_params_asymptotic(4, 2, 0.01), 3)    # m = 32: 4·32·ln(3200)
    1033.076
    """
    d = check_count("d", d)
    l = check_count("l", l)
    eps = check_open_unit("eps", eps)
    C = check_positive("C", C)
    m = d * d * l
    return 4 * C * m * math.log(m / eps)


def lueker_samples(eps: float, *, C: float = 1.0) -> float:
    """Samples after which random subset sums are ε-dense (Lueker 1998):

        n >= C · ln(2 / ε).

    n i.i.d. samples from a distribution containing a uniform component approximate every
    z ∈ [−1, 1] within ε by some subset sum, with probability >= 1 − ε. Natural logarithm; C is a
    universal constant (it depends on the weight of the uniform component, ln(2)/4 for the law of
    b·σ(a), a, b ~ U[−1, 1]) that is not given numerically. Kind ``hidden-constant``.

    References: G. S. Lueker, "Exponentially small bounds on the expected optimum of the partition
    and subset sum problems", Random Structures & Algorithms 12 (1998); the lemma behind
    Pensia et al. 2020, Theorem 1.

    Args:
      eps: accuracy and failure probability, in (0, 1). C: the hidden constant, > 0.
    Returns:
      The sample count, a float (round up for a count).

    >>> round(lueker_samples(0.02), 6)                            # ln(100)
    4.60517
    """
    eps = check_open_unit("eps", eps)
    C = check_positive("C", C)
    return C * math.log(2 / eps)
