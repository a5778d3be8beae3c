"""Argument checks: every value that enters slth is checked by one of these, once, where it enters.

Each check returns the value in its canonical type or raises one :class:`~slth.errors.InputError`
whose message names the argument, the offending value and what is allowed, in one wording for each
kind of value. No JAX (``slth.bounds`` uses these without it). Float64 is not checked here: the
public calls that need it switch it on for themselves (:mod:`slth.precision`).

Three ways to use a check, one wording each:
- directly, ``eps = checks.open_unit("eps", eps)``, in a library function;
- as an argparse type, ``type=checks.arg(checks.open_unit)``, in the command line;
- collecting, ``checks.collect(problems, checks.integer, "[trials] count", v, low=1)``, in a spec
  that reports every problem at once.
"""

from __future__ import annotations

import argparse
import math
import numbers
from collections.abc import Callable, Iterable, Sequence

from slth.errors import InputError

#: Largest seed: ``jax.random.key`` takes a signed 64-bit integer.
MAX_SEED = 2**63 - 1


def integer(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int in [low, high] (either end open when None); bools are not integers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if value is None:
            raise InputError(f"{name} is missing")
        raise InputError(f"{name} {value!r} must be an integer{_range(low, high)}")
    if low is not None and value < low:
        raise InputError(f"{name} {value!r} must be an integer >= {low}")
    if high is not None and value > high:
        raise InputError(f"{name} {value!r} must be an integer <= {high}")
    return int(value)


def count(name: str, value) -> int:
    """A positive integer (a number of trials, candidates, samples, ...)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"{name} {value!r} must be a positive integer")
    return int(value)


def counts(name: str, value, *, high: int | None = None) -> tuple[int, ...]:
    """Positive integers (at most ``high``) from ``"12,16,21"`` or a sequence: at least one."""
    parts = value.split(",") if isinstance(value, str) else value
    try:
        out = tuple(integer(name, int(p) if isinstance(p, str) else p, low=1, high=high) for p in parts)
    except (InputError, TypeError, ValueError):
        raise InputError(f"{name} {value!r} must be comma-separated integers in [1, {high}] such as 12,16"
                         if high is not None else
                         f"{name} {value!r} must be comma-separated positive integers such as 12,16") from None
    if not out:
        raise InputError(f"{name} {value!r} must name at least one integer")
    return out


def seed(name: str, value) -> int:
    """A JAX seed: an integer in [0, 2**63)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= MAX_SEED:
        raise InputError(f"{name} {value!r} must be an integer in [0, 2**63)")
    return int(value)


def real(name: str, value) -> float:
    """A finite real number (not a bool, NaN or infinity)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{name} {value!r} must be a finite real number")
    return float(value)


def open_unit(name: str, value) -> float:
    """A number in the open interval (0, 1): ε, δ, a probability."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not 0 < value < 1:
        raise InputError(f"{name} {value!r} must be a number in (0, 1)")
    return float(value)


def positive(name: str, value) -> float:
    """A finite number > 0."""
    v = real(name, value)
    if not v > 0:
        raise InputError(f"{name} {value!r} must be > 0")
    return v


def nonnegative(name: str, value) -> float:
    """A finite number >= 0."""
    v = real(name, value)
    if not v >= 0:
        raise InputError(f"{name} {value!r} must be >= 0")
    return v


def choice(name: str, value, allowed: Iterable):
    """One of ``allowed`` (names of constructions, laws, methods, ...)."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{name} {value!r} is unknown; allowed: {', '.join(map(str, allowed))}")
    return value


def flag(name: str, value) -> bool:
    """true or false, nothing else."""
    if not isinstance(value, bool):
        raise InputError(f"{name} {value!r} must be true or false")
    return value


def dims(value, *, name: str = "dims") -> tuple[int, ...]:
    """Target widths d_0..d_l from ``"8,16,16,4"`` or a sequence of positive integers: at least two."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        try:
            out = tuple(int(p) for p in parts)
        except ValueError:
            raise InputError(f"--dims {value!r} does not parse: expected comma-separated positive integers "
                             "d_0,...,d_l such as 8,16,16,4") from None
    elif isinstance(value, Sequence) or hasattr(value, "__iter__"):
        try:
            out = tuple(_whole(d) for d in value)
        except (TypeError, ValueError):
            raise InputError(f"{name} {value!r} must be a string like '8,16,4' or a sequence of positive "
                             "integers") from None
    else:
        raise InputError(f"{name} {value!r} must be a string like '8,16,4' or a sequence of positive integers")
    if len(out) < 2:
        raise InputError(f"{name} {out} needs at least two widths (input and output), e.g. 8,4")
    bad = [d for d in out if d < 1]
    if bad:
        raise InputError(f"{name} {out} has non-positive widths {bad}; every width must be >= 1")
    return out


def _whole(d) -> int:
    if isinstance(d, bool):
        raise TypeError(d)
    return int(d)


def arg(check: Callable, *args, **kwargs) -> Callable[[str], object]:
    """``check`` as an argparse ``type``: the text is read as an int (a float for the real-valued checks;
    kept as text for `counts` and `dims`), then checked; a failure is argparse's one-line usage error."""
    real_valued = check in (real, open_unit, positive, nonnegative)
    textual = check in (counts, dims)

    def parse(text: str):
        try:
            value = text if textual else float(text) if real_valued else int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a number' if real_valued else 'an integer'}") \
                from None
        try:
            return check(value, *args, name="", **kwargs) if check is dims else check("", value, *args, **kwargs)
        except InputError as e:
            raise argparse.ArgumentTypeError(str(e).strip()) from None

    parse.__name__ = check.__name__
    return parse


def collect(problems: list[str], check: Callable, *args, **kwargs):
    """Run ``check``; on failure append its message to ``problems`` and return None."""
    try:
        return check(*args, **kwargs)
    except InputError as e:
        problems.append(str(e))
        return None


def _range(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
