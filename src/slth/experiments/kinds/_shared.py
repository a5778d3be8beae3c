"""What every sweep kind is built from: the limits of a spec, its checks in the spec's wording, typed columns.

The kinds (:mod:`slth.experiments.kinds`) validate their [grid] and [trials] tables with the checks of
:mod:`slth.checks` (collected, so a spec reports every problem at once) and with the few spec-specific
ones here; their tables start with :data:`SWEEP` and end with :data:`PROVENANCE`.
"""

from __future__ import annotations

import itertools

from slth import checks, constructions, nets
from slth.errors import InputError

#: Largest seed (``jax.random.key`` takes a signed 64-bit integer): every ``seed + t`` must stay at most this.
MAX_SEED = checks.MAX_SEED
#: Most trials per cell, and most units (cells × trials) per spec: one journal line each.
MAX_TRIALS = 1_000_000
MAX_UNITS = 1_000_000
#: Largest layer width (d, every entry of dims) and depth (l) of a grid.
MAX_WIDTH = 65_536
MAX_DEPTH = 64
#: Largest number of candidates per block and sign (c, c_max) where the construction sets no limit.
MAX_C = 1 << 20
#: Largest sample size (n_train, n_test, targets) and number of training epochs.
MAX_SAMPLES = 1 << 24
MAX_EPOCHS = 1_000_000

#: A column of a results table: its name and the type its text is read back as (``tuple``: widths
#: ``"8,16,4"`` as a tuple of ints; ``bool``: ``True``/``False``).
Column = tuple[str, type]
#: The first columns of every table: which sweep, spec and cell a row belongs to.
SWEEP: tuple[Column, ...] = (("sweep", str), ("fingerprint", str), ("cell", str))
#: The unit of a row: its trial and the seed it used (``seed + trial``).
UNIT: tuple[Column, ...] = (("trial", int), ("seed", int))
#: The last columns of every table: wall time and provenance (they may differ between two runs).
PROVENANCE: tuple[Column, ...] = (("wall_s", float), ("slth", str), ("jax", str), ("jaxlib", str),
                                  ("numpy", str), ("scipy", str), ("python", str), ("device", str),
                                  ("git_revision", str))


def as_list(value) -> list:
    """A grid value as a list (a scalar is a 1-list)."""
    return value if isinstance(value, list) else [value]


def integer(problems: list, value, where: str, low: int, high: int):
    """:func:`slth.checks.integer` in [low, high], collected: the int, or None with its problem noted."""
    return checks.collect(problems, checks.integer, where, value, low=low, high=high)


def unit(problems: list, value, where: str):
    """:func:`slth.checks.open_unit`, collected: the float in (0, 1), or None with its problem noted."""
    return checks.collect(problems, checks.open_unit, where, value)


def one_of(problems: list, values, where: str, allowed) -> None:
    """Note every value of ``values`` that is not in ``allowed`` (names of laws, methods, ...), in the
    spec's wording (``allowed: ['a', 'b']``; :func:`slth.checks.choice` words a single argument)."""
    for v in values:
        if v not in allowed:
            problems.append(f"{where} {v!r} is unknown; allowed: {list(allowed)}")


def dims(problems: list, value, where: str) -> str | None:
    """Widths d_0..d_l (:func:`slth.checks.dims`) within :data:`MAX_WIDTH` and :data:`MAX_DEPTH`, as
    the text ``"8,16,4"``; None with the problem noted."""
    parsed = checks.collect(problems, _dims, value, where)
    if parsed is None:
        return None
    wide = [d for d in parsed if d > MAX_WIDTH]
    if wide:
        problems.append(f"{where} has widths {wide} above {MAX_WIDTH}")
    if len(parsed) - 1 > MAX_DEPTH:
        problems.append(f"{where} has {len(parsed) - 1} layers, more than {MAX_DEPTH}")
    return None if wide or len(parsed) - 1 > MAX_DEPTH else ",".join(map(str, parsed))


def _dims(value, where: str) -> tuple[int, ...]:
    try:
        return checks.dims(value)
    except InputError as e:
        raise InputError(f"{where}: {e}") from None


def laws(problems: list, lists: dict) -> list:
    """[grid] distribution (default ``["uniform"]``), each a weight law of :data:`slth.nets.DISTRIBUTIONS`."""
    values = lists.get("distribution", ["uniform"])
    one_of(problems, values, "[grid] distribution", nets.DISTRIBUTIONS)
    return values


def crossed(axes: dict):
    """Every combination of the axes' values, as params dicts in grid order (the last axis fastest)."""
    order = list(axes)
    for values in itertools.product(*(axes[k] for k in order)):
        yield dict(zip(order, values))


def base_row(spec, cell, t: int) -> dict:
    """The first fields of every row: sweep, spec fingerprint, cell, trial and its seed."""
    return {"sweep": spec.name, "fingerprint": spec.fingerprint, "cell": cell.key, "trial": t,
            "seed": spec.seed + t}


def group(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows by cell, in table order; refuses an empty table."""
    if not rows:
        raise InputError("the results table has no rows")
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["cell"], []).append(r)
    return out


def c_max(problems: list, raw, cons: list) -> dict:
    """``[trials] c_max`` of a width search: one integer for every construction or a table per
    construction (keys among ``cons``, the [grid] constructions), each in [1, the construction's
    largest c] and by default its :func:`slth.constructions.search_limit`. Problems are appended."""
    if isinstance(raw, bool) or (raw is not None and not isinstance(raw, (int, dict))):
        problems.append(f"[trials] c_max {raw!r} must be an integer or a table per construction")
        raw = None
    if isinstance(raw, dict):
        for key in sorted(set(raw) - set(cons)):
            problems.append(f"[trials] c_max has construction {key!r}, which is not in [grid] construction {cons}")
    out = {}
    for c in cons:
        value = raw.get(c) if isinstance(raw, dict) else raw
        where = f"[trials] c_max{'.' + c if isinstance(raw, dict) else ''}"
        value = integer(problems, constructions.search_limit(c) if value is None else value, where, 1, MAX_C)
        limit = constructions.MAX_CANDIDATES[c]
        if value is not None and limit is not None and value > limit:
            problems.append(f"{where} {value} is above {limit}, the most the {c} construction takes")
            value = None
        out[c] = value
    return out
