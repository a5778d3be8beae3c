"""Sweep specifications: the TOML schema, its validation, and the grid of cells it declares.

A spec is a TOML file (``experiments/*.toml``). Two kinds:

``kind = "width"``: the measured minimal width (:func:`slth.measure.min_width`) over a grid::

    kind = "width"
    description = "width versus d"      # optional
    [grid]                               # every list is crossed with the others; a scalar is a 1-list
    construction = ["subset-sum", "selection"]
    d = [2, 4, 8]                        # with l: dims = (d, ..., d), l + 1 entries ...
    l = [2]
    # dims = ["8,16,4"]                  # ... or explicit dims (not together with d and l)
    eps = [0.1]
    delta = [0.1]
    [trials]
    count = 20                           # T networks per cell; trial t uses seed + t
    seed = 0
    c_max = { subset-sum = 23, selection = 2048 }   # or one integer for every construction
    target_distribution = "gaussian"     # optional, these three are the defaults
    distribution = "uniform"
    drop_negative = false

``kind = "coverage"``: random subset-sum coverage (THEORY §4.2) versus the number of candidates c::

    kind = "coverage"
    [grid]
    c = [4, 8, 12, 16]
    distribution = ["uniform"]           # the law of the random network's entries
    values = ["products", "samples"]     # optional (default products): candidates a = v·|u| as in a
                                         # block (THEORY §2.4), or plain samples v (Lueker's setting)
    [trials]
    count = 200
    seed = 0
    [summary]
    eps = [0.1, 0.01]                    # optional: report the width each ε needs, fit Lueker's C

``kind = "separation"``: neuron pruning versus weight pruning on one ReLU neuron (THEORY §4.4)::

    kind = "separation"
    [grid]
    method = ["random-features", "neuron-greedy", "neuron-exact", "subset-sum", "selection"]
    d = [2, 4, 8]
    c = [1, 2, 4, 8]                     # the budget: random parameters of the weight-pruning network
    inputs = ["gaussian"]                # or "sphere"
    [trials]
    count = 2                            # seeds seed .. seed + count - 1
    seed = 0
    n_train = 4000                       # optional, these three are the defaults
    n_test = 4000
    distribution = "uniform"

``kind = "weight_error"``: the per-weight error of a chooser versus the number of candidates c (the
one-dimensional problem every (k, j, sign) of a block solves, THEORY §4.1-4.2)::

    kind = "weight_error"
    [grid]
    construction = ["selection", "subset-sum"]
    c = [1, 2, 4, 8, 16]
    distribution = ["uniform"]           # optional; candidates a = v·|u| of this law
    [trials]
    count = 20                           # candidate lists: trial t draws from seed + t (both
    seed = 0                             # constructions see the same candidates)
    targets = 201                        # optional: target weights evenly spaced in [-1, 1]

(neuron-exact cells whose depth-2 network has more than 16 units are left out of the grid.)

``kind = "digits"``: tickets of a ReLU classifier trained on scikit-learn's digits::

    kind = "digits"
    [grid]
    construction = ["subset-sum", "selection"]
    c = { subset-sum = [8, 16], selection = [64, 256] }   # or one list for every construction
    [trials]
    count = 3                            # random networks: seeds seed .. seed + count - 1
    seed = 0
    dims = "64,32,10"                    # optional, these four are the defaults
    training_seed = 0
    epochs = 60
    # data = "path/to/mnist"             # MNIST files instead of the digits (see slth.data)

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
import itertools
import json
import math
import numbers
import tomllib
from pathlib import Path

from slth import constructions, nets
from slth.errors import InputError

KINDS = ("width", "coverage", "digits", "separation", "weight_error")

#: Candidate values of a coverage cell: block products a = v·|u| (THEORY §2.4) or plain samples v.
COVERAGE_VALUES = ("products", "samples")
#: Constructions a weight_error cell can run: those whose per-weight problem is a chooser over
#: candidate products (the rest build whole networks).
WEIGHT_ERROR_CONSTRUCTIONS = ("selection", "subset-sum")

#: Allowed keys per table and kind: grid keys take a list (or a scalar, read as a 1-list).
_GRID = {
    "width": ("construction", "dims", "d", "l", "eps", "delta"),
    "coverage": ("c", "distribution", "values"),
    "digits": ("construction", "c"),
    "separation": ("method", "d", "c", "inputs"),
    "weight_error": ("construction", "c", "distribution"),
}
_TRIALS = {
    "width": ("count", "seed", "c_max", "target_distribution", "distribution", "drop_negative"),
    "coverage": ("count", "seed"),
    "digits": ("count", "seed", "dims", "training_seed", "epochs", "data"),
    "separation": ("count", "seed", "n_train", "n_test", "distribution"),
    "weight_error": ("count", "seed", "targets"),
}
_TOP = ("kind", "description", "grid", "trials", "summary")
_SUMMARY = ("eps",)

#: Largest c a coverage cell takes (all 2^c subset sums are enumerated).
COVERAGE_MAX_C = 24
#: Largest seed (``jax.random.key`` takes a signed 64-bit integer): every ``seed + t`` must stay at most this.
MAX_SEED = 2**63 - 1
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
    mixed in."""

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

    def units(self) -> list[tuple[Cell, int]]:
        """Every (cell, trial) in order: the unit of work and of the results table (one row each)."""
        return [(cell, t) for cell in self.cells for t in range(self.trials)]


def load(path) -> Spec:
    """Read and validate a spec file; see the module docstring for the schema."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"spec {str(path)!r} is not a file")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"spec {str(path)!r} is not valid TOML: {e}") from None
    return parse(raw, name=path.stem, source=text)


def parse(raw: dict, *, name: str, source: str = "") -> Spec:
    """Validate a spec already read into a dict; every problem is collected, then raised at once."""
    problems: list[str] = []
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(f"kind {kind!r} must be one of {list(KINDS)}")
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

    grid, trials, summary = tables["grid"], tables["trials"], tables["summary"]
    for table, allowed, given in (("grid", _GRID[kind], grid), ("trials", _TRIALS[kind], trials),
                                  ("summary", _SUMMARY, summary)):
        for key in sorted(set(given) - set(allowed)):
            problems.append(f"unknown key {key!r} in [{table}] for kind {kind!r}; allowed: {list(allowed)}")

    lists = {k: (v if isinstance(v, list) else [v]) for k, v in grid.items()
             if k in _GRID[kind] and not (kind == "digits" and k == "c" and isinstance(v, dict))}
    for k, v in lists.items():
        if not v:
            problems.append(f"[grid] {k} is empty")

    count = _integer(trials.get("count"), "[trials] count", 1, problems, MAX_TRIALS)
    seed = _integer(trials.get("seed", 0), "[trials] seed", 0, problems, MAX_SEED)
    if count is not None and seed is not None and seed + count - 1 > MAX_SEED:
        problems.append(f"[trials] seed {seed} with count {count}: trial t uses seed + t, which must stay at "
                        f"most {MAX_SEED} (2**63 - 1, the largest JAX seed), so seed must be at most "
                        f"{MAX_SEED - count + 1}")
    summary_eps = tuple(_unit(e, "[summary] eps", problems) for e in _as_list(summary.get("eps", [])))

    settings: dict = {}
    if kind == "width":
        axes = _width_axes(lists, problems)
        settings = _width_settings(trials, [a for a in axes.get("construction", [])], problems)
    elif kind == "digits":
        axes = {}
        settings = _digits_settings(trials, problems)
        pairs = _digits_cells(grid, problems)
    elif kind == "separation":
        axes = _separation_axes(lists, problems)
        settings = _separation_settings(trials, problems)
    elif kind == "weight_error":
        axes = _weight_error_axes(lists, problems)
        settings = {"targets": _integer(trials.get("targets", 201), "[trials] targets", 1, problems, MAX_SAMPLES)}
    else:
        axes = _coverage_axes(lists, problems)
    if problems:
        raise InputError(_message(name, problems))
    # Bound the grid before it is built (a few long lists would cross to more cells than memory holds).
    size = math.prod(len(v) for v in axes.values()) if axes else len(pairs)
    if size * count > MAX_UNITS:
        raise InputError(_message(name, [f"the grid has {size} cells × {count} trials = {size * count} units, "
                                          f"more than {MAX_UNITS}"]))

    order = list(axes)
    cells = []
    if kind == "digits":
        cells = [Cell(f"{cons} c={c}", {"construction": cons, "c": c}) for cons, c in pairs]
    for values in (itertools.product(*(axes[k] for k in order)) if axes else ()):
        params = dict(zip(order, values))
        if kind == "width":
            params["c_max"] = settings["c_max"][params["construction"]]
            key = "{construction} dims={dims} eps={eps!r} delta={delta!r}".format(**params)
        elif kind == "separation":
            if params["method"] == "neuron-exact" and _exact_too_wide(params["d"], params["c"]):
                continue   # exact neuron pruning enumerates 2^h subsets: only small cells exist
            key = "{method} d={d} c={c} inputs={inputs}".format(**params)
        elif kind == "weight_error":
            key = "{construction} c={c} distribution={distribution}".format(**params)
        else:
            key = "c={c} distribution={distribution} values={values}".format(**params)
        cells.append(Cell(key, params))
    duplicates = sorted(k for k, n in collections.Counter(c.key for c in cells).items() if n > 1)
    if duplicates:
        raise InputError(_message(name, [f"the grid repeats cells {duplicates}"]))
    decided = {"kind": kind, "cells": [c.params for c in cells], "trials": count, "seed": seed,
               "settings": {k: v for k, v in settings.items() if k != "c_max"}}
    fingerprint = hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()[:16]
    return Spec(name=name, kind=kind, description=description if isinstance(description, str) else "",
                cells=tuple(cells), trials=count, seed=seed, settings=settings, summary_eps=summary_eps,
                fingerprint=fingerprint, source=source)


# --------------------------------------------------------------------------- per-kind validation

def _width_axes(lists: dict, problems: list) -> dict:
    axes: dict = {}
    names = list(constructions.CONSTRUCTIONS)
    cons = lists.get("construction")
    if cons is None:
        problems.append("[grid] construction is missing")
    else:
        for c in cons:
            if c not in names:
                problems.append(f"[grid] construction {c!r} is unknown; allowed: {names}")
        axes["construction"] = [c for c in cons if c in names]
    has_dims, has_dl = "dims" in lists, ("d" in lists or "l" in lists)
    if has_dims and has_dl:
        problems.append("[grid] gives dims and d/l: use either dims, or d with l")
    elif has_dims:
        dims = []
        for v in lists["dims"]:
            try:
                parsed = nets.parse_dims(v if isinstance(v, (str, list)) else str(v))
            except InputError as e:
                problems.append(f"[grid] dims {v!r}: {e}")
                continue
            if _dims_in_range(parsed, f"[grid] dims {v!r}", problems):
                dims.append(",".join(map(str, parsed)))
        axes["dims"] = dims
    elif has_dl:
        ds = [_integer(v, "[grid] d", 1, problems, MAX_WIDTH) for v in lists.get("d", [])]
        ls = [_integer(v, "[grid] l", 1, problems, MAX_DEPTH) for v in lists.get("l", [])]
        if "d" not in lists or "l" not in lists:
            problems.append("[grid] needs both d and l (or dims)")
        axes["dims"] = [",".join([str(d)] * (l + 1)) for d, l in itertools.product(ds, ls)
                        if d is not None and l is not None]
    else:
        problems.append("[grid] needs dims, or d and l")
    for key in ("eps", "delta"):
        if key not in lists:
            problems.append(f"[grid] {key} is missing")
        axes[key] = [_unit(v, f"[grid] {key}", problems) for v in lists.get(key, [])]
    return axes


def _width_settings(trials: dict, cons: list, problems: list) -> dict:
    out = {}
    for key in ("target_distribution", "distribution"):
        value = trials.get(key, "gaussian" if key == "target_distribution" else "uniform")
        if value not in nets.DISTRIBUTIONS:
            problems.append(f"[trials] {key} {value!r} is unknown; allowed: {list(nets.DISTRIBUTIONS)}")
        out[key] = value
    drop = trials.get("drop_negative", False)
    if not isinstance(drop, bool):
        problems.append(f"[trials] drop_negative {drop!r} must be true or false")
    out["drop_negative"] = drop
    raw = trials.get("c_max")
    c_max = {}
    for c in cons:
        limit = constructions.MAX_CANDIDATES[c]
        value = raw.get(c) if isinstance(raw, dict) else raw
        if value is None:
            value = constructions.search_limit(c)
        where = f"[trials] c_max{'.' + c if isinstance(raw, dict) else ''}"
        value = _integer(value, where, 1, problems, MAX_C)
        if value is not None and limit is not None and value > limit:
            problems.append(f"{where} {value} is above {limit}, the most the {c} construction takes")
        c_max[c] = value
    if isinstance(raw, dict):
        for key in sorted(set(raw) - set(constructions.CONSTRUCTIONS)):
            problems.append(f"[trials] c_max has unknown construction {key!r}")
    elif raw is not None and not isinstance(raw, int):
        problems.append(f"[trials] c_max {raw!r} must be an integer or a table per construction")
    out["c_max"] = c_max
    return out


def _separation_axes(lists: dict, problems: list) -> dict:
    from slth import separation

    axes = {}
    for key, allowed in (("method", separation.METHODS), ("inputs", separation.INPUTS)):
        values = lists.get(key, ["gaussian"] if key == "inputs" else None)
        if values is None:
            problems.append(f"[grid] {key} is missing")
            values = []
        for v in values:
            if v not in allowed:
                problems.append(f"[grid] {key} {v!r} is unknown; allowed: {list(allowed)}")
        axes[key] = values
    for key in ("d", "c"):
        if key not in lists:
            problems.append(f"[grid] {key} is missing")
        axes[key] = [_integer(v, f"[grid] {key}", 1, problems, MAX_WIDTH if key == "d" else MAX_C)
                     for v in lists.get(key, [])]
    limit = constructions.MAX_CANDIDATES["subset-sum"]
    if "subset-sum" in axes["method"]:
        for c in axes["c"]:
            if c is not None and c > limit:
                problems.append(f"[grid] c {c} is above {limit}, the most subset-sum takes")
    return {k: axes[k] for k in ("method", "d", "c", "inputs")}


def _exact_too_wide(d: int, c: int) -> bool:
    from slth import separation

    return separation.matched_units(d, c)[1] > separation.EXACT_MAX_UNITS


def _separation_settings(trials: dict, problems: list) -> dict:
    dist = trials.get("distribution", "uniform")
    if dist not in nets.DISTRIBUTIONS:
        problems.append(f"[trials] distribution {dist!r} is unknown; allowed: {list(nets.DISTRIBUTIONS)}")
    return {"n_train": _integer(trials.get("n_train", 4000), "[trials] n_train", 2, problems, MAX_SAMPLES),
            "n_test": _integer(trials.get("n_test", 4000), "[trials] n_test", 2, problems, MAX_SAMPLES),
            "distribution": dist}


def _digits_cells(grid: dict, problems: list) -> list[tuple[str, int]]:
    """(construction, c) pairs: ``c`` is one list for every construction, or a table of lists per
    construction (selection needs far more candidates than subset sum)."""
    names = list(constructions.CONSTRUCTIONS)
    cons = _as_list(grid.get("construction", []))
    if not cons:
        problems.append("[grid] construction is missing or empty")
    for c in cons:
        if c not in names:
            problems.append(f"[grid] construction {c!r} is unknown; allowed: {names}")
    raw = grid.get("c")
    if raw is None:
        problems.append("[grid] c is missing")
        return []
    if isinstance(raw, dict):
        for key in sorted(set(raw) - set(cons)):
            problems.append(f"[grid] c has a list for {key!r}, which is not in [grid] construction")
    pairs = []
    for con in cons:
        values = _as_list(raw.get(con, []) if isinstance(raw, dict) else raw)
        if not values:
            problems.append(f"[grid] c has no candidates for {con!r}")
        for v in values:
            c = _integer(v, f"[grid] c for {con}", 1, problems, MAX_C)
            if c is not None and con in names:
                limit = constructions.MAX_CANDIDATES[con]
                if limit is not None and c > limit:
                    problems.append(f"[grid] c {c} for {con} is above {limit}, the most it takes")
                pairs.append((con, c))
    return pairs


def _digits_settings(trials: dict, problems: list) -> dict:
    dims = trials.get("dims", "64,32,10")
    try:
        parsed = nets.parse_dims(dims)
        if _dims_in_range(parsed, f"[trials] dims {dims!r}", problems):
            dims = ",".join(map(str, parsed))
    except InputError as e:
        problems.append(f"[trials] dims {dims!r}: {e}")
    data = trials.get("data")
    if data is not None and not isinstance(data, str):
        problems.append(f"[trials] data {data!r} must be a path (a string)")
    elif data is not None and not Path(data).exists():
        problems.append(f"[trials] data {data!r} does not exist (MNIST: an .npz or a folder of IDX files)")
    return {"dims": dims,
            "training_seed": _integer(trials.get("training_seed", 0), "[trials] training_seed", 0, problems, MAX_SEED),
            "epochs": _integer(trials.get("epochs", 60), "[trials] epochs", 1, problems, MAX_EPOCHS), "data": data}


def _coverage_axes(lists: dict, problems: list) -> dict:
    if "c" not in lists:
        problems.append("[grid] c is missing")
    cs = []
    for v in lists.get("c", []):
        c = _integer(v, "[grid] c", 1, problems, MAX_C)
        if c is not None and c > COVERAGE_MAX_C:
            problems.append(f"[grid] c {c} is above {COVERAGE_MAX_C} (all 2^c subset sums are enumerated)")
        cs.append(c)
    dists = _grid_laws(lists, problems)
    values = lists.get("values", ["products"])
    for v in values:
        if v not in COVERAGE_VALUES:
            problems.append(f"[grid] values {v!r} is unknown; allowed: {list(COVERAGE_VALUES)}")
    return {"c": cs, "distribution": dists, "values": values}


def _grid_laws(lists: dict, problems: list) -> list:
    """[grid] distribution (default ["uniform"]), each a weight law of :data:`slth.nets.DISTRIBUTIONS`."""
    dists = lists.get("distribution", ["uniform"])
    for d in dists:
        if d not in nets.DISTRIBUTIONS:
            problems.append(f"[grid] distribution {d!r} is unknown; allowed: {list(nets.DISTRIBUTIONS)}")
    return dists


def _weight_error_axes(lists: dict, problems: list) -> dict:
    cons = lists.get("construction")
    if cons is None:
        problems.append("[grid] construction is missing")
        cons = []
    for c in cons:
        if c not in WEIGHT_ERROR_CONSTRUCTIONS:
            problems.append(f"[grid] construction {c!r} is not one of {list(WEIGHT_ERROR_CONSTRUCTIONS)}")
    if "c" not in lists:
        problems.append("[grid] c is missing")
    cs = []
    for v in lists.get("c", []):
        c = _integer(v, "[grid] c", 1, problems, MAX_C)
        if c is not None and "subset-sum" in cons and c > COVERAGE_MAX_C:
            problems.append(f"[grid] c {c} is above {COVERAGE_MAX_C}, the most an exact subset-sum cell takes here")
        cs.append(c)
    dists = _grid_laws(lists, problems)
    return {"construction": cons, "c": cs, "distribution": dists}


# --------------------------------------------------------------------------- scalars

def _as_list(v):
    return v if isinstance(v, list) else [v]


def _integer(v, where: str, low: int, problems: list, high: int):
    if isinstance(v, bool) or not isinstance(v, int):
        problems.append(f"{where} {v!r} must be an integer in [{low}, {high}]" if v is not None
                        else f"{where} is missing")
        return None
    if v < low:
        problems.append(f"{where} {v!r} must be an integer >= {low}")
        return None
    if v > high:
        problems.append(f"{where} {v!r} must be an integer <= {high}")
        return None
    return v


def _dims_in_range(dims: tuple[int, ...], where: str, problems: list) -> bool:
    wide = [d for d in dims if d > MAX_WIDTH]
    if wide:
        problems.append(f"{where} has widths {wide} above {MAX_WIDTH}")
    if len(dims) - 1 > MAX_DEPTH:
        problems.append(f"{where} has {len(dims) - 1} layers, more than {MAX_DEPTH}")
    return not wide and len(dims) - 1 <= MAX_DEPTH


def _unit(v, where: str, problems: list):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or not 0 < v < 1:
        problems.append(f"{where} {v!r} must be a number in (0, 1)")
        return None
    return float(v)


def _message(name: str, problems: list[str]) -> str:
    if len(problems) == 1:   # one line, as every other error of the command line
        return f"spec {name!r} has 1 problem: {problems[0]}"
    return "\n".join([f"spec {name!r} has {len(problems)} problems:"] + [f"  - {p}" for p in problems])
