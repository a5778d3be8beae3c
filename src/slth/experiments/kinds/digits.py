"""The digits sweep kind: tickets of a ReLU classifier trained on scikit-learn's digits (or MNIST), per (construction, c).

Spec::

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

The target is trained once per process (:func:`slth.studies.digits.prepare`); a row is the study's
:func:`slth.studies.digits.ticket_row` for the random network of seed ``seed + t``; the summary is its
:func:`slth.studies.digits.sweep_summary`, the one aggregation of its rows.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

from slth import budget, constructions, extras
from slth.experiments.kinds import _shared as shared
from slth.studies import digits as study

NAME = "digits"
GRID = ("construction", "c")
TRIALS = ("count", "seed", "dims", "training_seed", "epochs", "data")
#: ``c`` may be a table of lists per construction.
GRID_TABLES = ("c",)
#: One ticket (random network) per call.
BATCHED = False
ADVICE = "lower its c or dims"

COLUMNS = shared.SWEEP + (
    ("construction", str), ("c", int), ("dims", tuple), ("training_seed", int), ("epochs", int), ("data", str)) \
    + shared.UNIT + (
    ("train_accuracy", float), ("target_accuracy", float), ("ticket_accuracy", float), ("agreement", float),
    ("certificate", float), ("lower_bound", float), ("guaranteed_fraction", float), ("guaranteed_disagree", int),
    ("certificate_norms", float), ("guaranteed_fraction_norms", float), ("random_params", int), ("kept_params", int)) + shared.PROVENANCE
SUMMARY_COLUMNS = study.SUMMARY_COLUMNS


# --------------------------------------------------------------------------- schema and cells

def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The settings (target, training, data) and the (construction, c) pairs of a digits spec."""
    settings = _settings(trials, problems)
    return {"cells": pairs(grid, problems)}, settings


def _settings(trials: dict, problems: list) -> dict:
    dims = trials.get("dims", "64,32,10")
    dims = shared.dims(problems, dims, f"[trials] dims {dims!r}") or dims
    data = trials.get("data")
    if data is not None and not isinstance(data, str):
        problems.append(f"[trials] data {data!r} must be a path (a string)")
    elif data is not None and not Path(data).exists():
        problems.append(f"[trials] data {data!r} does not exist (MNIST: an .npz or a folder of IDX files)")
    elif data is None and (message := extras.missing("sklearn", "[trials] the digits data (no data path)")):
        problems.append(message)
    return {"dims": dims,
            "training_seed": shared.integer(problems, trials.get("training_seed", 0), "[trials] training_seed", 0,
                                            shared.MAX_SEED),
            "epochs": shared.integer(problems, trials.get("epochs", 60), "[trials] epochs", 1, shared.MAX_EPOCHS),
            "data": data}


def pairs(grid: dict, problems: list) -> list[tuple[str, int]]:
    """(construction, c) pairs: ``c`` is one list for every construction, or a table of lists per
    construction (selection needs far more candidates than subset sum)."""
    names = list(constructions.CONSTRUCTIONS)
    cons = shared.as_list(grid.get("construction", []))
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
        values = shared.as_list(raw.get(con, []) if isinstance(raw, dict) else raw)
        if not values:
            problems.append(f"[grid] c has no candidates for {con!r}")
        for v in values:
            c = shared.integer(problems, v, f"[grid] c for {con}", 1, shared.MAX_C)
            if c is not None and con in names:
                limit = constructions.MAX_CANDIDATES[con]
                if limit is not None and c > limit:
                    problems.append(f"[grid] c {c} for {con} is above {limit}, the most it takes")
                pairs.append((con, c))
    return pairs


def cells(axes: dict, settings: dict):
    """(key, params) of every (construction, c) pair, in the order of [grid] construction."""
    for con, c in axes["cells"]:
        yield f"{con} c={c}", {"construction": con, "c": c}


def estimate(spec, cell) -> budget.Estimate:
    """Peak memory of one ticket of the cell (:func:`slth.budget.digits`)."""
    s = spec.settings
    return budget.digits(cell.params["construction"], s["dims"], cell.params["c"], data=s["data"])


# --------------------------------------------------------------------------- rows and summary

@functools.lru_cache(maxsize=2)
def prepared(dims: str, training_seed: int, epochs: int, data: str | None):
    """The trained, rescaled target of a spec: trained once per process, shared by its rows."""
    return study.prepare(dims, seed=training_seed, epochs=epochs, data=data)


def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    """One row per trial: :func:`slth.studies.digits.ticket_row` for the network of seed ``seed + t``."""
    return [_row(spec, cell, t, meta) for t in trials]


def _row(spec, cell, t: int, meta: dict) -> dict:
    s = spec.settings
    start = time.perf_counter()
    p = prepared(s["dims"], s["training_seed"], s["epochs"], s["data"])
    row = study.ticket_row(p, cell.params["construction"], cell.params["c"], spec.seed + t)
    wall = time.perf_counter() - start
    fields = {k: v for k, v in dataclasses.asdict(row).items() if k not in ("candidates", "time_s")}
    return {**shared.base_row(spec, cell, t), **fields, "c": cell.params["c"], "dims": s["dims"],
            "training_seed": s["training_seed"], "epochs": s["epochs"], "data": s["data"] or "sklearn-digits",
            "train_accuracy": p.train_accuracy, "wall_s": round(wall, 4), **meta}


def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """The study's one aggregation of a sweep's rows (:func:`slth.studies.digits.sweep_summary`)."""
    return study.sweep_summary(rows)
