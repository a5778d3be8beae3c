"""Sweep specifications: the TOML file's common schema, its validation, and the grid of cells it declares.

A spec is a TOML file (those slth ships are in ``slth/specs/``: :mod:`slth.experiments.shipped`)::

    kind = "width"                       # one of slth.experiments.kinds.KINDS
    description = "width versus d"      # optional
    [grid]                               # every list is crossed with the others; a scalar is a 1-list
    ...                                  # the kind's grid keys
    [trials]
    count = 20                           # T trials per cell; trial t uses seed + t
    seed = 0
    ...                                  # the kind's settings
    [summary]
    eps = [0.1, 0.01]                    # optional (read by the coverage summary)

What a kind allows in [grid] and [trials], what it defaults, how its grid becomes cells and their
keys: its module of :mod:`slth.experiments.kinds` (whose docstrings show each kind's spec). This
module checks what every spec shares (the kind, the tables, count, seed, [summary] eps, the size of
the grid) and asks the kind for the rest; it names no kind.

:func:`load` returns a :class:`Spec` or raises one :class:`~slth.errors.InputError` listing every
problem it found (unknown keys, wrong types, empty grids, ε or δ outside (0, 1), dims that do not
parse, integers out of range, ...), before any work starts and before any folder is made. Every integer
has a range: seeds are JAX seeds (trial t uses ``seed + t``, so ``seed + count - 1`` must stay at most
:data:`MAX_SEED`), counts and sizes have the caps below (sizes that fit them can still need more memory
than a machine has; that is checked separately, before the run).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import math
import tomllib
from pathlib import Path

from slth import checks
from slth.errors import InputError
from slth.experiments.kinds import KINDS as _KINDS
from slth.experiments.kinds import _shared, coverage, weight_error
from slth.experiments.kinds._shared import (MAX_C, MAX_DEPTH, MAX_EPOCHS, MAX_SAMPLES, MAX_SEED,  # noqa: F401
                                            MAX_TRIALS, MAX_UNITS, MAX_WIDTH)

#: The kinds a spec may name, in the order messages list them.
KINDS = tuple(_KINDS)
#: Candidate values of a coverage cell (:data:`slth.experiments.kinds.coverage.VALUES`).
COVERAGE_VALUES = coverage.VALUES
#: Largest c a coverage cell takes (:data:`slth.experiments.kinds.coverage.MAX_C`).
COVERAGE_MAX_C = coverage.MAX_C
#: Constructions a weight_error cell can run (:data:`slth.experiments.kinds.weight_error.CONSTRUCTIONS`).
WEIGHT_ERROR_CONSTRUCTIONS = weight_error.CONSTRUCTIONS

_TOP = ("kind", "description", "grid", "trials", "summary")
_SUMMARY = ("eps",)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One grid point. ``key`` identifies it in the results (stable across runs of the same spec);
    ``params`` holds its grid values (and settings) as plain JSON types."""

    key: str
    params: dict


@dataclasses.dataclass(frozen=True)
class Spec:
    """A validated sweep. ``cells`` in grid order; ``trials`` T per cell; ``fingerprint`` hashes
    everything that decides the rows (not ``description``), so results of another spec are never
    mixed in. :attr:`plan` is its kind's module (what the runner, the store, the summary and the
    budget read)."""

    name: str
    kind: str
    description: str
    cells: tuple[Cell, ...]
    trials: int
    seed: int
    settings: dict
    summary_eps: tuple[float, ...]
    fingerprint: str
    source: str

    @property
    def plan(self):
        """The kind's module of :data:`slth.experiments.kinds.KINDS` (None for an unknown kind)."""
        return _KINDS.get(self.kind)

    def units(self) -> list[tuple[Cell, int]]:
        """Every (cell, trial) in order: the unit of work and of the results table (one row each)."""
        return [(cell, t) for cell in self.cells for t in range(self.trials)]


def load(path, *, name: str | None = None) -> Spec:
    """Read and validate a spec file; see the module docstring for the schema. The sweep's name is
    ``name`` or, by default, the file's stem (a results folder's ``spec.toml`` is named by its folder)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"spec {str(path)!r} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"spec {str(path)!r} is unreadable: {e}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"spec {str(path)!r} is not valid TOML: {e}") from None
    return parse(raw, name=path.stem if name is None else name, source=text)


def parse(raw: dict, *, name: str, source: str = "") -> Spec:
    """Validate a spec already read into a dict; every problem is collected, then raised at once."""
    problems: list[str] = []
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        problems.append(f"kind {kind!r} must be one of {list(_KINDS)}")
        kind = None
    for key in sorted(set(raw) - set(_TOP)):
        problems.append(f"unknown top-level key {key!r}; allowed: {list(_TOP)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.append(f"description {description!r} must be a string")
    tables = {}
    for table in ("grid", "trials", "summary"):
        value = raw.get(table, {})
        if not isinstance(value, dict):
            problems.append(f"[{table}] must be a table; got {value!r}")
            value = {}
        tables[table] = value
    if "grid" not in raw:
        problems.append("[grid] is missing")
    if "trials" not in raw:
        problems.append("[trials] is missing")
    if kind is None:
        raise InputError(_message(name, problems))

    plan = _KINDS[kind]
    grid, trials, summary = tables["grid"], tables["trials"], tables["summary"]
    for table, allowed, given in (("grid", plan.GRID, grid), ("trials", plan.TRIALS, trials),
                                  ("summary", _SUMMARY, summary)):
        for key in sorted(set(given) - set(allowed)):
            problems.append(f"unknown key {key!r} in [{table}] for kind {kind!r}; allowed: {list(allowed)}")

    lists = {k: _shared.as_list(v) for k, v in grid.items()
             if k in plan.GRID and not (k in plan.GRID_TABLES and isinstance(v, dict))}
    for k, v in lists.items():
        if not v:
            problems.append(f"[grid] {k} is empty")

    count = _shared.integer(problems, trials.get("count"), "[trials] count", 1, MAX_TRIALS)
    seed = _shared.integer(problems, trials.get("seed", 0), "[trials] seed", 0, MAX_SEED)
    if count is not None and seed is not None and seed + count - 1 > MAX_SEED:
        problems.append(f"[trials] seed {seed} with count {count}: trial t uses seed + t, which must stay at "
                        f"most {MAX_SEED} (2**63 - 1, the largest JAX seed), so seed must be at most "
                        f"{MAX_SEED - count + 1}")
    summary_eps = tuple(checks.collect(problems, checks.open_unit, "[summary] eps", e)
                        for e in _shared.as_list(summary.get("eps", [])))

    axes, settings = plan.check(grid, lists, trials, problems)
    if problems:
        raise InputError(_message(name, problems))
    # Bound the grid before it is built (a few long lists would cross to more cells than memory holds).
    size = math.prod(len(v) for v in axes.values())
    if size * count > MAX_UNITS:
        raise InputError(_message(name, [f"the grid has {size} cells × {count} trials = {size * count} units, "
                                          f"more than {MAX_UNITS}"]))
    cells = [Cell(key, params) for key, params in plan.cells(axes, settings)]
    duplicates = sorted(k for k, n in collections.Counter(c.key for c in cells).items() if n > 1)
    if duplicates:
        raise InputError(_message(name, [f"the grid repeats cells {duplicates}"]))
    decided = {"kind": kind, "cells": [c.params for c in cells], "trials": count, "seed": seed,
               "settings": {k: v for k, v in settings.items() if k != "c_max"}}
    fingerprint = hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()[:16]
    return Spec(name=name, kind=kind, description=description if isinstance(description, str) else "",
                cells=tuple(cells), trials=count, seed=seed, settings=settings, summary_eps=summary_eps,
                fingerprint=fingerprint, source=source)


def _message(name: str, problems: list[str]) -> str:
    if len(problems) == 1:   # one line, as every other error of the command line
        return f"spec {name!r} has 1 problem: {problems[0]}"
    return "\n".join([f"spec {name!r} has {len(problems)} problems:"] + [f"  - {p}" for p in problems])
