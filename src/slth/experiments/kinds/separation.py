"""The separation sweep kind: neuron pruning versus weight pruning on one ReLU neuron, over a grid of (method, d, c).

Spec (docs/theory.md §4.4)::

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

(neuron-exact cells whose depth-2 network has more than 16 units are left out of the grid.) A row is
the study's :func:`slth.studies.separation.row_for`; the summary is its
:func:`slth.studies.separation.sweep_summary`, the one aggregation of its rows.
"""

from __future__ import annotations

from slth import budget, constructions, nets
from slth.experiments.kinds import _shared as shared
from slth.studies import separation as study

NAME = "separation"
GRID = ("method", "d", "c", "inputs")
TRIALS = ("count", "seed", "n_train", "n_test", "distribution")
GRID_TABLES = ()
#: One trial (seed) per call.
BATCHED = False
ADVICE = "lower its d, c, n_train or n_test"

COLUMNS = shared.SWEEP + (
    ("method", str), ("d", int), ("c", int), ("inputs", str), ("distribution", str), ("n_train", int),
    ("n_test", int)) + shared.UNIT + (
    ("random_params", int), ("params", int), ("hidden_units", int), ("kept_params", int), ("train_l2", float),
    ("test_l2", float), ("test_l2_low", float), ("test_l2_high", float), ("relative", float),
    ("relative_low", float), ("relative_high", float), ("sup_bound", float), ("sup_observed", float)) \
    + shared.PROVENANCE
SUMMARY_COLUMNS = study.SUMMARY_COLUMNS


# --------------------------------------------------------------------------- schema and cells

def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The axes (method, d, c, inputs) and the settings (sample sizes, weight law) of a separation spec."""
    axes = {}
    for key, allowed in (("method", study.METHODS), ("inputs", study.INPUTS)):
        values = lists.get(key, ["gaussian"] if key == "inputs" else None)
        if values is None:
            problems.append(f"[grid] {key} is missing")
            values = []
        shared.one_of(problems, values, f"[grid] {key}", allowed)
        axes[key] = values
    for key in ("d", "c"):
        if key not in lists:
            problems.append(f"[grid] {key} is missing")
        axes[key] = [shared.integer(problems, v, f"[grid] {key}", 1, shared.MAX_WIDTH if key == "d" else shared.MAX_C)
                     for v in lists.get(key, [])]
    exact = [m for m in study.WEIGHT_METHODS if m in axes["method"] and constructions.MAX_CANDIDATES[m] is not None]
    for m in exact:
        limit = constructions.MAX_CANDIDATES[m]
        for c in axes["c"]:
            if c is not None and c > limit:
                problems.append(f"[grid] c {c} is above {limit}, the most {m} takes")
    dist = trials.get("distribution", "uniform")
    shared.one_of(problems, [dist], "[trials] distribution", nets.DISTRIBUTIONS)
    settings = {"n_train": shared.integer(problems, trials.get("n_train", 4000), "[trials] n_train", 2,
                                          shared.MAX_SAMPLES),
                "n_test": shared.integer(problems, trials.get("n_test", 4000), "[trials] n_test", 2,
                                         shared.MAX_SAMPLES),
                "distribution": dist}
    return {k: axes[k] for k in ("method", "d", "c", "inputs")}, settings


def cells(axes: dict, settings: dict):
    """(key, params) of every cell: the axes crossed, without the neuron-exact cells too wide to
    enumerate (exact neuron pruning tries all 2^h subsets of h units)."""
    for params in shared.crossed(axes):
        if params["method"] == "neuron-exact" and study.matched_units(params["d"], params["c"])[1] > \
                study.EXACT_MAX_UNITS:
            continue
        yield "{method} d={d} c={c} inputs={inputs}".format(**params), params


def estimate(spec, cell) -> budget.Estimate:
    """Peak memory of the cell (:func:`slth.budget.separation`)."""
    p, s = cell.params, spec.settings
    return budget.separation(p["method"], p["d"], p["c"], n_train=s["n_train"], n_test=s["n_test"])


# --------------------------------------------------------------------------- rows and summary

def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    """One row per trial: :func:`slth.studies.separation.row_for` at seed ``seed + t``."""
    return [_row(spec, cell, t, meta) for t in trials]


def _row(spec, cell, t: int, meta: dict) -> dict:
    p, s = cell.params, spec.settings
    row = study.row_for(p["method"], p["d"], p["c"], inputs=p["inputs"], seed=spec.seed + t,
                        n_train=s["n_train"], n_test=s["n_test"], distribution=s["distribution"])
    fields = {k: v for k, v in row.to_json().items() if k != "candidates"}
    return {**shared.base_row(spec, cell, t), **fields, "c": p["c"], "wall_s": round(row.wall_s, 4), **meta}


def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """The study's one aggregation of a sweep's rows (:func:`slth.studies.separation.sweep_summary`)."""
    return study.sweep_summary(rows)
