"""Counting lower bounds for sparse tickets (Natale, Ferré, Giambartolomei, Giroire, Mallmann-Trenn
2024, "On the Sparsity of the Strong Lottery Ticket Hypothesis", arXiv 2410.14754), and a ticket's
density, so that a measured density can stand next to the bound.

Both bounds refine the counting argument of Pensia et al. 2020, Theorem 2 (docs/theory.md §4.3): a network
with m prunable parameters whose subnetworks may keep only a few of them has far fewer than 2^m
subnetworks, so it must be larger to serve the same class of targets.

- :func:`natale_min_params`: Theorem 5 of Natale et al., for subnetworks of exactly k parameters
  and targets x ↦ Wx with ‖W‖_2 <= √k (the range Theorem 2's k-subsets cover). Explicit constants.
- :func:`natale_min_density`: their Appendix 7 bound, for subnetworks of at most γm parameters and
  slth's target class ‖W_i‖_2 <= 1, extended to rectangular and deep targets by the same sub-class
  as :func:`slth.bounds.counting_width`. Explicit constants.
"""

from __future__ import annotations

import math

import numpy as np

from slth.bounds.counting import counting_width
from slth import checks
from slth.errors import InputError

#: Theorem 5 assumes k <= λ n with λ = 1 − 1/(2π), which keeps the √(2πk(n−k)/n) term of the
#: binomial bound >= 1.
LAMBDA = 1 - 1 / (2 * math.pi)


def binary_entropy(x):
    """H2(x) = −x log2 x − (1 − x) log2(1 − x) on [0, 1] (0 at the ends), elementwise.

    >>> float(binary_entropy(0.5)), round(float(binary_entropy(0.25)), 6)
    (1.0, 0.811278)
    """
    x = np.asarray(x, np.float64)
    if np.any((x < 0) | (x > 1)):
        raise InputError(f"binary entropy argument {x!r} must lie in [0, 1]")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -x * np.log2(x) - (1 - x) * np.log2(1 - x)
    return np.where((x == 0) | (x == 1), 0.0, h)


def natale_min_params(d: int, k: int, eps: float) -> int:
    """Fewest parameters n of a network that, pruned down to exactly k of them, ε-approximates every
    linear map x ↦ Wx, W ∈ R^{d×d}, ‖W‖_2 <= √k, with probability >= ½ (sup over ‖x‖ <= 1):

        n · H2(k/n) >= (d²/2) · log2(k/ε),        for ε < 1/16 and k <= λ n, λ = 1 − 1/(2π).

    The subnetworks of exactly k parameters number C(n, k) <= 2^{n H2(k/n)} / √(2π k (n−k)/n),
    and a 2ε-separated set of the class has at least (√k/(2ε))^{d²} members, of which each
    subnetwork serves at most one (Pensia et al.'s packing); taking logs gives the inequality.
    n · H2(k/n) grows with n (its derivative is log2(n/(n−k)) > 0), so the inequality holds exactly
    from some n on; this returns that n, and not less than the smallest n the theorem covers
    (k <= λ n). Kind ``lower-bound``, explicit constants.

    References: Natale, Ferré, Giambartolomei, Giroire, Mallmann-Trenn, "On the Sparsity of the
    Strong Lottery Ticket Hypothesis" (arXiv 2410.14754), Theorem 5 and its proof (Appendix 14).

    Args:
      d: target width >= 1. k: parameters kept, >= 1. eps: accuracy in (0, 1/16).
    Returns:
      The smallest integer n >= k/λ with n · H2(k/n) >= (d²/2) log2(k/ε).

    >>> natale_min_params(1, 1, 1 / 32), natale_min_params(2, 4, 1 / 32)
    (3, 19)
    """
    d = checks.integer("d", d, low=1)
    k = checks.integer("k", k, low=1)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1 / 16:
        raise InputError(f"eps {eps!r} must be in (0, 1/16), the range of Natale et al.'s Theorem 5")
    need = d * d / 2 * math.log2(k / eps)
    ok = lambda n: n * float(binary_entropy(k / n)) >= need
    lo = math.ceil(k / LAMBDA)          # the theorem's scope; below it the bound says nothing
    if ok(lo):
        return lo
    hi = 2 * lo
    while not ok(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:                  # ok(lo) is false, ok(hi) true, ok monotone in n
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def natale_min_density(dims, eps: float, random_params: int) -> float:
    """Smallest density γ = kept / m of a ticket in a random network of m prunable parameters that
    ε-approximates a target of widths ``dims`` (‖W_i‖_2 <= 1) with probability >= ½:

        γ m log2(e/γ) >= n · log2(1/D) − 1,

    with n the free parameters and D the operator-norm diameter of :func:`slth.bounds.counting_width`
    (n = d_1 d_0 and D = 2ε for one layer; n = d_0 · min(d_1..d_l) and D = 4ε deeper). A network
    whose subnetworks keep at most γm weights has at most Σ_{i <= γm} C(m, i) <= 2^{γ m log2(e/γ)}
    of them, and the class needs ½ (1/D)^n (Pensia et al.'s count). γ m log2(e/γ) grows with γ on
    (0, 1], so the bound is the root of the equality, found by bisection. Kind ``lower-bound``,
    explicit constants; for d × d, one layer, it is Natale et al.'s Appendix 7 inequality
    γ m log2(e/γ) >= d² log2(1/(2ε)) − 1.

    References: Natale et al. 2024 (arXiv 2410.14754), Appendix 7 ("Lower bound on the ticket size
    in Pensia et al."); Pensia et al. 2020, Theorem 2.

    Args:
      dims: target widths d_0..d_l. eps: as :func:`slth.bounds.counting_width`. random_params: m >= 1.
    Returns:
      γ in (0, 1]; 0.0 if the right side is <= 0 (vacuous); ``math.inf`` if even γ = 1 falls short
      (no ticket of any density: the plain counting bound already fails).

    >>> round(natale_min_density((2, 2), 1 / 8, 16), 6)       # 16 γ log2(e/γ) = 7
    0.088567
    """
    m = checks.integer("random_params", random_params, low=1)
    w = counting_width(dims, eps)
    details = dict(w.details)
    need = details["free_params"] * math.log2(1 / details["diameter"]) - 1
    if need <= 0:
        return 0.0
    f = lambda g: g * m * math.log2(math.e / g)
    if f(1.0) < need:
        return math.inf
    lo, hi = 0.0, 1.0
    for _ in range(200):                # bisection to the float resolution of (0, 1]
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (lo, mid) if f(mid) >= need else (mid, hi)
    return hi


def density(kept: int, random_params: int) -> float:
    """Kept over random parameters, the density γ of the bounds above.

    >>> density(52, 120)
    0.43333333333333335
    """
    kept = checks.integer("kept", kept, low=0)
    random_params = checks.integer("random_params", random_params, low=1)
    if kept > random_params:
        raise InputError(f"kept {kept} exceeds random_params {random_params}")
    return kept / random_params


def ticket_density(ticket) -> float:
    """The density of a ticket: ``ticket.kept_params() / ticket.random_params()``, to put next to
    :func:`natale_min_density` (its ``random_params``)."""
    return density(ticket.kept_params(), ticket.random_params())
