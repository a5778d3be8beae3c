"""The one result type of the width bounds, in slth's layout (docs/theory.md §2), and the argument checks
they share.

slth's layout (:class:`slth.nets.RandomSpec`): pair i (1-based) realises target layer i with
M_{2i-1} of shape (h_i, d_{i-1}) and M_{2i} of shape (d_i, h_i); its hidden units form d_{i-1}
blocks of 2c_i units (about c_i per sign), so

    h_i = 2 · d_{i-1} · c_i,        random parameters = Σ_i (h_i · d_{i-1} + d_i · h_i).

Every bound states its requirement as c_i, candidates per block and sign, and
:func:`width_from_candidates` turns that into widths and a parameter count the same way for all.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence

from slth import checks
from slth.errors import InputError

#: What a bound's number means. ``explicit``: every constant is known, the number is a guarantee.
#: ``hidden-constant``: the paper proves the form with a universal constant it does not state; the
#: number is the form evaluated at the given C. ``asymptotic``: a headline order of growth.
#: ``lower-bound``: no network with fewer parameters can satisfy the guarantee.
KINDS = ("explicit", "hidden-constant", "asymptotic", "lower-bound")


@dataclasses.dataclass(frozen=True)
class Width:
    """A bound on the random network, in slth's layout.

    Attributes:
      name: the bound (``"pensia"``, ``"malach"``, ``"selection"``, ``"counting"``).
      kind: one of :data:`KINDS`.
      dims: target widths d_0..d_l.
      eps: accuracy ε the bound is for. delta: failure probability δ (None where it has none).
      candidates: c, candidates per block and sign to give ``RandomSpec`` (the largest c_i): an int,
        rounded up, for the constructive bounds; a float (not rounded) for a lower bound.
      candidates_per_pair: c_1..c_l.
      hidden_widths: h_1..h_l, h_i = 2·d_{i-1}·c_i.
      random_params: Σ_i (h_i·d_{i-1} + d_i·h_i); for equal c_i this is exactly
        ``RandomSpec(dims, candidates=c, seed=...).random_params()``.
      constant: the value used for the constant the paper hides (C), None where the bound is
        explicit.
      details: further named numbers of the derivation, e.g. ``(("eta", 0.03), ("q_min", 2.8e-4))``.
    """

    name: str
    kind: str
    dims: tuple[int, ...]
    eps: float
    delta: float | None
    candidates: int | float
    candidates_per_pair: tuple[int | float, ...]
    hidden_widths: tuple[int | float, ...]
    random_params: int | float
    constant: float | None = None
    details: tuple[tuple[str, float], ...] = ()

    @property
    def depth(self) -> int:
        """Target depth l."""
        return len(self.dims) - 1

    def detail(self, key: str) -> float:
        """The named number ``key`` of :attr:`details`."""
        values = dict(self.details)
        if key not in values:
            raise InputError(f"width {self.name!r} has no detail {key!r}; it has {sorted(values)}")
        return values[key]


def width_from_candidates(dims, candidates, *, name: str, kind: str, eps: float, delta: float | None,
                          constant: float | None = None, details=()) -> Width:
    """Build a :class:`Width` from candidates per block and sign: one c for every pair, or c_1..c_l.

    >>> w = width_from_candidates((4, 4, 4), 9, name="example", kind="explicit", eps=0.01, delta=0.1)
    >>> w.hidden_widths, w.random_params
    ((72, 72), 1152)
    """
    dims = check_dims(dims)
    if kind not in KINDS:
        raise InputError(f"kind {kind!r} is not one of {KINDS}")
    depth = len(dims) - 1
    per_pair = tuple(candidates) if isinstance(candidates, Sequence) else (candidates,) * depth
    if len(per_pair) != depth:
        raise InputError(f"candidates {per_pair} has {len(per_pair)} entries; dims {dims} has {depth} pairs")
    for c in per_pair:
        if not (isinstance(c, numbers.Real) and not isinstance(c, bool) and math.isfinite(c) and c >= 0):
            raise InputError(f"candidates {per_pair} must be finite numbers >= 0")
    per_pair = tuple(int(c) if isinstance(c, numbers.Integral) else float(c) for c in per_pair)
    hidden = tuple(2 * dims[i - 1] * per_pair[i - 1] for i in range(1, depth + 1))
    params = sum(h * (dims[i - 1] + dims[i]) for i, h in enumerate(hidden, start=1))
    return Width(name=name, kind=kind, dims=dims, eps=eps, delta=delta, candidates=max(per_pair),
                 candidates_per_pair=per_pair, hidden_widths=hidden, random_params=params,
                 constant=constant, details=tuple(details))


# --------------------------------------------------------------------------- argument checks

#: The bounds' argument checks are :mod:`slth.checks`' (one wording everywhere); these names stay.
check_dims = checks.dims
check_open_unit = checks.open_unit
check_positive = checks.positive
check_nonnegative = checks.nonnegative
check_count = checks.count


def ceil_count(name: str, value: float) -> int:
    """Round a candidate count up; an InputError if the bound overflowed to inf or nan."""
    if not math.isfinite(value):
        raise InputError(f"{name} evaluates to {value}: the arguments are out of the float range")
    return max(1, math.ceil(value))
