"""The digits_cnn sweep kind: tickets of a bias-free CNN trained on scikit-learn's digits, pruned out of random CNNs, per (construction, c).

Spec::

    kind = "digits_cnn"
    [grid]
    construction = ["subset-sum", "selection"]             # those that prune random CNNs
    c = { subset-sum = [8, 16], selection = [64, 256] }   # or one list for every construction
    [trials]
    count = 3                            # random networks: seeds seed .. seed + count - 1
    seed = 0
    geometry = "1x8x8:8,16:k3:s1,2:10"   # optional, these five are the defaults
    training_seed = 0
    epochs = 100
    batch_size = 64
    learning_rate = 0.01

The target is trained once per process (:func:`slth.studies.digits.cnn.prepare`); a row is the study's
:func:`slth.studies.digits.cnn.ticket_row` for the random CNN of seed ``seed + t``; the summary is its
:func:`slth.studies.digits.cnn.sweep_summary`, the one aggregation of its rows.
"""

from __future__ import annotations

import functools
import time

from slth import budget, checks, constructions, extras, nets
from slth.errors import InputError
from slth.experiments.kinds import _shared as shared
from slth.experiments.kinds import digits as mlp
from slth.nets import conv
from slth.studies.digits import cnn as study
from slth.studies.digits.data import N_CLASSES

NAME = "digits_cnn"
GRID = ("construction", "c")
TRIALS = ("count", "seed", "geometry", "training_seed", "epochs", "batch_size", "learning_rate")
#: ``c`` may be a table of lists per construction.
GRID_TABLES = ("c",)
#: One ticket (random CNN) per call.
BATCHED = False
ADVICE = "lower its c or the geometry's channels"
#: The image shape the digits have (channels, height, width).
IMAGE = (1, 8, 8)

COLUMNS = shared.SWEEP + (
    ("construction", str), ("c", int), ("geometry", str), ("training_seed", int), ("epochs", int),
    ("batch_size", int), ("learning_rate", float)) + shared.UNIT + (
    ("train_accuracy", float), ("target_accuracy", float), ("ticket_accuracy", float), ("agreement", float),
    ("certificate", float), ("lower_bound", float), ("guaranteed_fraction", float), ("guaranteed_disagree", int),
    ("certificate_norms", float), ("guaranteed_fraction_norms", float), ("random_params", int),
    ("kept_params", int), ("target_params", int), ("train_s", float), ("construction_time_s", float),
    ("measure_time_s", float)) + shared.PROVENANCE
SUMMARY_COLUMNS = study.SUMMARY_COLUMNS


# --------------------------------------------------------------------------- schema and cells

def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The settings (geometry, training) and the (construction, c) pairs of a digits_cnn spec; only the
    constructions that prune random CNNs are allowed."""
    settings = _settings(trials, problems)
    pairs = mlp.pairs(grid, problems)      # the digits kind's (construction, c) pairs and their checks
    for con in dict.fromkeys(con for con, _ in pairs):
        if not constructions.prunes(con, nets.layouts.conv.LAYOUT.name):
            problems.append(f"[grid] construction {con!r} does not prune random CNNs; allowed: "
                            f"{study.cnn_constructions()}")
    return {"cells": pairs}, settings


def _settings(trials: dict, problems: list) -> dict:
    defaults = study.DEFAULTS
    text = trials.get("geometry", defaults["geometry"])
    g = checks.collect(problems, _geometry, text)
    if (message := extras.missing("sklearn", "[trials] the digits data")):
        problems.append(message)
    rate = checks.collect(problems, checks.positive, "[trials] learning_rate",
                          trials.get("learning_rate", defaults["learning_rate"]))
    return {"geometry": g.text() if g is not None else None,
            "training_seed": shared.integer(problems, trials.get("training_seed", defaults["seed"]),
                                            "[trials] training_seed", 0, shared.MAX_SEED),
            "epochs": shared.integer(problems, trials.get("epochs", defaults["epochs"]), "[trials] epochs", 1,
                                     shared.MAX_EPOCHS),
            "batch_size": shared.integer(problems, trials.get("batch_size", defaults["batch_size"]),
                                         "[trials] batch_size", 1, shared.MAX_SAMPLES),
            "learning_rate": rate}


def _geometry(text) -> conv.Geometry:
    """The CNN geometry of ``[trials] geometry``: it must read the digits' 1×8×8 images and output their classes."""
    if not isinstance(text, str):
        raise InputError(f"[trials] geometry {text!r} must be a string such as '1x8x8:8,16:k3:s1,2:10'")
    try:
        g = conv.Geometry.parse(text)
    except InputError as e:
        raise InputError(f"[trials] geometry: {e}") from None
    if g.image != IMAGE or g.classes != N_CLASSES:
        raise InputError(f"[trials] geometry {text!r} does not fit the digits: it must read "
                                f"{'x'.join(map(str, IMAGE))} images and output {N_CLASSES} classes")
    return g


def cells(axes: dict, settings: dict):
    """(key, params) of every (construction, c) pair, in the order of [grid] construction."""
    yield from mlp.cells(axes, settings)


def network(spec, cell) -> nets.RandomSpec:
    """The random CNN of a cell (seed 0: the size and memory do not depend on the seed)."""
    g = conv.Geometry.parse(spec.settings["geometry"])
    return nets.RandomSpec(dims=g.dims(), candidates=cell.params["c"], seed=0,
                           layout=nets.layouts.conv.LAYOUT.name, geometry=g.text())


def estimate(spec, cell) -> budget.Estimate:
    """Peak memory of one ticket of the cell: :func:`slth.budget.prune` of its random CNN (explicit
    layers), the digits data, and the test predictions through the widest layer."""
    net = network(spec, cell)
    return budget.prune(cell.params["construction"], net).plus(
        budget.Term("data values", budget.DIGITS_SAMPLES * net.dims[0], budget.PER_DATA_VALUE),
        budget.Term("test activations", budget.DIGITS_TEST * max(net.widths()), budget.PER_ACTIVATION))


# --------------------------------------------------------------------------- rows and summary

@functools.lru_cache(maxsize=2)
def prepared(geometry: str, training_seed: int, epochs: int, batch_size: int, learning_rate: float):
    """The trained, rescaled CNN of a spec: trained once per process, shared by its rows."""
    return study.prepare(geometry, seed=training_seed, epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate)


def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    """One row per trial: :func:`slth.studies.digits.cnn.ticket_row` for the random CNN of seed ``seed + t``."""
    return [_row(spec, cell, t, meta) for t in trials]


def _row(spec, cell, t: int, meta: dict) -> dict:
    s = spec.settings
    start = time.perf_counter()
    p = prepared(s["geometry"], s["training_seed"], s["epochs"], s["batch_size"], s["learning_rate"])
    row = study.ticket_row(p, cell.params["construction"], cell.params["c"], spec.seed + t)
    fields = {k: v for k, v in row.items() if k not in ("network_seed", "time_s")}
    return {**shared.base_row(spec, cell, t), **fields, **{k: s[k] for k in ("geometry", "training_seed", "epochs",
                                                                               "batch_size", "learning_rate")},
            "train_accuracy": p.train_accuracy, "train_s": p.train_s,
            "wall_s": round(time.perf_counter() - start, 4), **meta}


def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """The study's one aggregation of a sweep's rows (:func:`slth.studies.digits.cnn.sweep_summary`)."""
    return study.sweep_summary(rows)
