"""The explicit width of the selection construction, from the exact law of a candidate (docs/theory.md §2-4.1).

A candidate of the block structure is a product a = u·v of u ~ U(0, 1] (the first-layer weight's
magnitude) and v ~ U[−1, 1] (the second-layer weight). Its density and the probability that it lands
within η of a target weight w are known in closed form, and a union bound over the weights turns
them into a width with no hidden constant.
"""

from __future__ import annotations

import math

import numpy as np

from slth.bounds.width import (Width, ceil_count, check_dims, check_open_unit, width_from_candidates)
from slth.errors import InputError

#: Error splits of :func:`selection_width` (see there).
SPLITS = ("frobenius", "layer")

# Below this the tail series is used: its terms shrink by a factor <= 0.25 each.
_SERIES_BELOW = 0.25
_SERIES_TERMS = 40


def product_density(t):
    """Density of a = u·v, u ~ U(0, 1], v ~ U[−1, 1]:  p(t) = −½ ln|t| on [−1, 1], 0 outside.

    It is +inf at t = 0 and vanishes at ±1 (docs/theory.md §2.4).

    >>> float(product_density(math.exp(-2)))
    1.0
    """
    t = np.asarray(t, np.float64)
    with np.errstate(divide="ignore"):
        p = -0.5 * np.log(np.abs(t))
    return np.where(np.abs(t) <= 1, p, 0.0)


def product_cdf_from_zero(t):
    """F(t) = ∫_0^t p = ½ (t − t ln|t|) on [−1, 1] (odd, F(±1) = ±½); clipped to ±½ outside.

    >>> float(product_cdf_from_zero(1.0)), float(product_cdf_from_zero(0.0))
    (0.5, 0.0)
    """
    from scipy.special import xlogy     # here, not at import: scipy.special takes 0.1 s to load

    t = np.clip(np.asarray(t, np.float64), -1.0, 1.0)
    return 0.5 * (t - np.sign(t) * xlogy(np.abs(t), np.abs(t)))


def _tail(x):
    """F(1) − F(1 − x) for x in [0, 1], without cancellation:

        ½ (x + (1 − x) ln(1 − x)) = ½ Σ_{k>=2} x^k / (k (k − 1)) = x²/4 + x³/12 + ...
    """
    from scipy.special import xlogy

    x = np.asarray(x, np.float64)
    small = np.minimum(x, _SERIES_BELOW)
    k = np.arange(2, _SERIES_TERMS + 2, dtype=np.float64)
    series = 0.5 * np.sum(small[..., None] ** k / (k * (k - 1)), axis=-1)
    closed = 0.5 * (x + xlogy(1 - x, 1 - x))
    return np.where(x < _SERIES_BELOW, series, closed)


def q_hit(w, eta):
    """Probability that one candidate a = u·v lands within η of w (docs/theory.md §4.1):

        q(w, η) = ∫_{w−η}^{w+η} p(t) dt = F(min(w + η, 1)) − F(max(w − η, −1)).

    Vectorised over w and η (broadcast). A window cut off at ±1 is evaluated through the tail series
    of F, so q(±1, η) ≈ η²/4 keeps full relative precision for tiny η; elsewhere the plain
    difference of F is used.

    Args:
      w: target values in [−1, 1]. eta: half-widths > 0.
    Returns:
      q, a float64 array of the broadcast shape.

    >>> round(float(q_hit(1.0, 0.01)), 10)   # 0.01²/4 + 0.01³/12 + ...
    2.50838e-05
    """
    w = np.asarray(w, np.float64)
    eta = np.asarray(eta, np.float64)
    if not np.all(np.isfinite(w) & (np.abs(w) <= 1)):
        raise InputError(f"w {w[~(np.isfinite(w) & (np.abs(w) <= 1))].ravel()[:3]} must lie in [-1, 1]")
    if not np.all(np.isfinite(eta) & (eta > 0)):
        raise InputError(f"eta {eta[~(np.isfinite(eta) & (eta > 0))].ravel()[:3]} must be finite and > 0")
    w, eta = np.broadcast_arrays(w, eta)
    top, bottom = w + eta >= 1, w - eta <= -1
    # A window cut at +1 (resp. −1) with its other end on the same side of 0 is a tail.
    up_tail = top & ~bottom & (w - eta >= 0)
    down_tail = bottom & ~top & (w + eta <= 0)
    plain = product_cdf_from_zero(w + eta) - product_cdf_from_zero(w - eta)
    q = np.where(up_tail, _tail((1 - w) + eta), plain)
    return np.where(down_tail, _tail((1 + w) + eta), q)


def q_min(eta: float) -> float:
    """min over w ∈ [−1, 1] of q(w, η) = q(1, η).

    The minimum is at the ends: for 0 <= w the derivative p(w + η) − p(w − η) is <= 0 because p is
    even and decreasing in |t| (and −p(w − η) <= 0 once the window is cut at 1); q is even in w.
    """
    return float(q_hit(1.0, eta))


def selection_eta(dims, eps: float, *, split: str = "frobenius") -> tuple[float, ...]:
    """Per-weight error budget η_i of pair i that makes the certificate <= ε (docs/theory.md §3).

    If every chosen candidate is within η_i of its target weight, a_i <= ‖E_i‖_F <= η_i·√N_i with
    N_1 = 2·d_1·d_0 (both signs: a_1 is the norm of the d_1 × 2d_0 concatenation) and
    N_i = d_i·d_{i-1} for i >= 2. Since s_i = ‖W_i‖_2 <= 1,

        Π(s_i + a_i) − Π s_i = Σ_{∅≠T} Π_{i∈T} a_i Π_{i∉T} s_i <= Σ_{∅≠T} Π_{i∈T} a_i
                             = Π(1 + a_i) − 1 <= exp(Σ a_i) − 1,

    which is <= ε once Σ_i η_i √N_i <= ln(1 + ε).

    split ``"frobenius"``: one η for every weight, η = ln(1 + ε) / Σ_i √N_i.
    split ``"layer"``: each pair gets an equal share, η_i = ln(1 + ε) / (l · √N_i).

    >>> [round(e, 6) for e in selection_eta((2, 2), 0.1)]   # ln(1.1) / √8
    [0.033697]
    """
    dims = check_dims(dims)
    eps = check_open_unit("eps", eps)
    if split not in SPLITS:
        raise InputError(f"split {split!r} is not one of {SPLITS}")
    sizes = _problem_counts(dims)
    budget = math.log1p(eps)
    if split == "frobenius":
        eta = budget / sum(math.sqrt(n) for n in sizes)
        return (eta,) * len(sizes)
    return tuple(budget / (len(sizes) * math.sqrt(n)) for n in sizes)


def _problem_counts(dims) -> tuple[int, ...]:
    """N_i: (k, j, sign) problems of pair i; both signs only for i = 1 (docs/theory.md §2.3)."""
    return tuple((2 if i == 1 else 1) * dims[i] * dims[i - 1] for i in range(1, len(dims)))


def selection_width(dims, eps: float, delta: float, *, split: str = "frobenius") -> Width:
    """Explicit candidates per block and sign for the selection construction (docs/theory.md §4.1):

        c_i = ⌈ ln(P / δ) / (−2 ln(1 − q_min(η_i) / 2)) ⌉,
        P = Σ_i N_i = 2 d_1 d_0 + Σ_{i>=2} d_i d_{i-1}     (problems, docs/theory.md §2),

    with η_i from :func:`selection_eta` and q_min(η) = q(1, η) ≈ η²/4 (:func:`q_min`). No hidden
    constant: kind ``explicit``.

    Derivation. In slth's layout block j of pair i has 2c_i units; each has the right sign with
    probability ½ and, independently, a product a = u·v with density p, so it serves a given
    (k, j, sign) problem within η_i with probability ½·q(w, η_i) >= ½·q_min(η_i), independently
    across units. A problem therefore misses with probability <= (1 − q_min/2)^{2c_i}, which the
    formula makes <= δ/P; the union bound over all P problems fails with probability <= δ. When no
    problem misses, every weight error is <= η_i (selection keeps the closest candidate or nothing,
    and nothing is kept only when it is closer still), so the certificate is <= ε by
    :func:`selection_eta`. The guarantee is for each fixed target with ‖W_i‖_2 <= 1 (so |w| <= 1),
    with probability >= 1 − δ over the random network; unlike Pensia et al.'s it is not uniform over
    all targets at once. It covers the worst weight |w| = 1; weights with |w| <= η are served by the
    empty choice. Inner pairs keep their (useless) negative units, as ``RandomSpec`` does by default.

    References: Malach et al. 2020, Theorem 2.1 and its proof (the construction); the constants are
    slth's own derivation.

    Args:
      dims: target widths d_0..d_l (string or sequence). eps: accuracy in (0, 1). delta: failure
      probability in (0, 1). split: ``"frobenius"`` or ``"layer"`` (see :func:`selection_eta`).
    Returns:
      A :class:`Width`; ``details`` holds ``eta_i`` and ``q_min_i`` per pair and ``problems`` (P).

    >>> w = selection_width((2, 2), 0.1, 0.1)   # η = 0.033697, q_min = 2.87119e-4, P = 8
    >>> w.candidates, w.hidden_widths           # ⌈ln 80 / (−2 ln(1 − 1.435597e-4))⌉ = ⌈15260.9⌉
    (15261, (61044,))
    """
    dims = check_dims(dims)
    eps = check_open_unit("eps", eps)
    delta = check_open_unit("delta", delta)
    etas = selection_eta(dims, eps, split=split)
    problems = sum(_problem_counts(dims))
    qs = [q_min(e) for e in etas]
    if min(qs) == 0.0:
        raise InputError(f"eps {eps!r} is too small: the hit probability underflows to 0")
    need = math.log(problems / delta)
    cs = tuple(ceil_count("selection c_i", need / (-2 * math.log1p(-q / 2))) for q in qs)
    details = [("problems", float(problems))]
    details += [(f"eta_{i}", e) for i, e in enumerate(etas, start=1)]
    details += [(f"q_min_{i}", q) for i, q in enumerate(qs, start=1)]
    return width_from_candidates(dims, cs, name=f"selection/{split}", kind="explicit", eps=eps,
                                 delta=delta, details=details)
