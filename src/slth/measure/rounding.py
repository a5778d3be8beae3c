"""The rounding rule of slth's certificates: a bound computed in float64 is raised so that it holds in
exact arithmetic (:func:`round_up`), with the longest sum of a ticket's arithmetic (:func:`terms`) as its
size. The derivation is in :mod:`slth.measure.propagate`'s docstring (Rounding)."""

from __future__ import annotations

import numpy as np

from slth import checks, nets

#: Unit round-off of float64.
UNIT_ROUNDOFF = 2.0 ** -53


def rounding_margin(terms: int, depth: int = 1) -> float:
    """γ of :func:`round_up`: max(1e-12, 64·terms·u)·(depth + 2), u = 2^-53."""
    return max(1e-12, 64.0 * max(int(terms), 1) * UNIT_ROUNDOFF) * (int(depth) + 2)


def round_up(value: float, *, terms: int, depth: int = 1, scale: float = 1.0) -> float:
    """``value`` rounded upward so that it is >= the exact-arithmetic value of the bound it computes:
    value + γ(|value| + scale), one float further up (np.nextafter), γ = :func:`rounding_margin`.

    ``terms``: the longest sum (or the largest dimension of a norm / SVD) in the computation, e.g. the
    widest layer of the random network. ``depth``: the number of layers it composes. ``scale``: a bound
    on the magnitudes of the quantities it combines beyond the value itself: for docs/theory.md §3's product
    certificate Π(s_i + a_i) − Π s_i, Π_i max(1, s_i) (=1 for targets with ‖W_i‖_2 <= 1, the default);
    for deep.py's copy recursion the same. Strictly greater than ``value`` for every finite value.
    """
    v = checks.real("value", value)
    terms, depth = checks.count("terms", terms), checks.count("depth", depth)
    scale = checks.nonnegative("scale", scale)
    up = v + rounding_margin(terms, depth) * (abs(v) + float(scale))
    return float(np.nextafter(up, np.inf))


def terms(ticket) -> int:
    """The longest sum in the arithmetic: the most kept weights in one row or one column of a random
    layer (a sum of the maps or of the masked forward pass has at most that many non-zero terms, and
    zero terms add no rounding), or twice the widest target layer (the propagation's sums over the
    lifted input and the target's widths). It depends on the kept weights only, so a ticket built
    inside a wider network of the width search (``active=c``) rounds exactly as the same ticket built
    at width c."""
    kept = max(max(int(np.max(np.sum(m, axis=a), initial=0)) for a in (0, 1)) for m in
               (np.asarray(m, bool) for m in ticket.masks))
    return int(max(kept, (3 if ticket.spec.skips else 2) * max(nets.dims_of(ticket.target))))   # skips: carriers
