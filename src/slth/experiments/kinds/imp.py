"""The imp sweep kind: trained tickets (IMP with rewinding, its reinitialisation and random-pruning controls) beside strong tickets of the same dense digits network.

Spec::

    kind = "imp"
    [grid]
    method = ["imp", "reinit", "random", "subset-sum", "selection", "edge-popup"]
    rewind = [0]                         # rewind steps k of IMP (0: to θ_0)
    c = { subset-sum = [2, 4], selection = [4, 16], edge-popup = [8] }   # the strong tickets' candidates
    [trials]
    count = 2                            # trial t: seed + t draws θ_0, the data orders, the controls'
    seed = 0                             # draws and the strong tickets' random networks
    dims = "64,32,10"                    # optional, these are the defaults
    epochs = 60
    batch_size = 64
    learning_rate = 3e-3
    fraction = 0.2                       # p: fraction of the remaining weights pruned per round
    rounds = 10
    scope = "layer"                      # or "global"

Cells: per trained method and rewind step, one cell per round (``imp`` from round 0, the dense
network; its controls from round 1), then one cell per strong construction and c. A row is
:func:`slth.studies.imp.study.trained_row` or :func:`~slth.studies.imp.study.strong_row`: the
fraction of weights kept (overall and per layer; of the dense network for trained tickets, of the
random network for strong ones) and the count of weights kept, test accuracy and loss.
"""

from __future__ import annotations

import time

import numpy as np

from slth import budget, constructions, extras
from slth.errors import InputError
from slth.experiments.kinds import _shared as shared
from slth.studies.imp import study

NAME = "imp"
GRID = ("method", "rewind", "c")
TRIALS = ("count", "seed", "dims", "epochs", "batch_size", "learning_rate", "fraction", "rounds", "scope")
GRID_TABLES = ("c",)
BATCHED = False
ADVICE = "lower its dims, c or rounds"

COLUMNS = shared.SWEEP + (
    ("method", str), ("rewind", int), ("round", int), ("c", int), ("dims", tuple), ("fraction", float),
    ("scope", str)) + shared.UNIT + (
    ("kept_params", int), ("network_params", int), ("fraction_kept", float), ("fraction_kept_per_layer", str),
    ("test_accuracy", float), ("test_loss", float), ("train_accuracy", float), ("train_loss", float),
    ("dense_accuracy", float), ("agreement", float), ("certificate", float), ("lower_bound", float),
    ("proven_agreement", float)) + shared.PROVENANCE
SUMMARY_COLUMNS = ("cell", "method", "rewind", "round", "c", "trials", "kept_params_mean", "fraction_kept_mean",
                   "test_accuracy_mean", "test_accuracy_min", "test_accuracy_max", "test_loss_mean",
                   "dense_accuracy_mean", "certificate_median", "lower_bound_median")


# --------------------------------------------------------------------------- schema and cells

def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The cells (trained methods × rewind × round, strong constructions × c) and the setup of an imp spec."""
    methods = lists.get("method")
    if not methods:
        problems.append("[grid] method is missing")
        methods = []
    allowed = list(study.TRAINED) + list(constructions.CONSTRUCTIONS)
    shared.one_of(problems, methods, "[grid] method", allowed)
    rewinds = [shared.integer(problems, v, "[grid] rewind", 0, shared.MAX_SAMPLES) for v in lists.get("rewind", [0])]
    settings = _settings(trials, problems, [k for k in rewinds if k is not None])
    strong = [m for m in methods if m in constructions.CONSTRUCTIONS]
    raw = grid.get("c")
    if strong and raw is None:
        problems.append(f"[grid] c is missing: the strong tickets {strong} need their candidates")
    pairs = []
    if isinstance(raw, dict):
        for key in sorted(set(raw) - set(strong)):
            problems.append(f"[grid] c has a list for {key!r}, which is not a strong method of [grid] method")
    for con in strong:
        values = shared.as_list((raw.get(con, []) if isinstance(raw, dict) else raw) if raw is not None else [])
        if raw is not None and not values:
            problems.append(f"[grid] c has no candidates for {con!r}")
        for v in values:
            c = shared.integer(problems, v, f"[grid] c for {con}", 1, shared.MAX_C)
            if c is not None:
                limit = constructions.MAX_CANDIDATES[con]
                if limit is not None and c > limit:
                    problems.append(f"[grid] c {c} for {con} is above {limit}, the most it takes")
                pairs.append((con, c))
    trained = [m for m in methods if m in study.TRAINED]
    return {"trained": trained, "rewind": [k for k in rewinds if k is not None], "strong": pairs}, settings


def _settings(trials: dict, problems: list, rewinds: list[int]) -> dict:
    d = study.DEFAULTS
    dims = trials.get("dims", d["dims"])
    dims = shared.dims(problems, dims, f"[trials] dims {dims!r}")
    values = {"dims": dims,
              "epochs": shared.integer(problems, trials.get("epochs", d["epochs"]), "[trials] epochs", 1,
                                       shared.MAX_EPOCHS),
              "batch_size": shared.integer(problems, trials.get("batch_size", d["batch_size"]),
                                           "[trials] batch_size", 1, shared.MAX_SAMPLES),
              "learning_rate": trials.get("learning_rate", d["learning_rate"]),
              "fraction": trials.get("fraction", d["fraction"]),
              "rounds": shared.integer(problems, trials.get("rounds", d["rounds"]), "[trials] rounds", 1, 1000),
              "scope": trials.get("scope", d["scope"])}
    if (message := extras.missing("sklearn", "[trials] the digits data")):
        problems.append(message)
    elif None not in values.values():
        try:
            study.setup(**values, rewinds=rewinds)
        except InputError as e:
            problems.append(f"[trials] {e}")
    return values


def cells(axes: dict, settings: dict):
    """Trained cells (method, rewind, round) in method order, then the strong (construction, c) cells."""
    for method in axes["trained"]:
        for k in axes["rewind"]:
            for r in range(0 if method == study.IMP else 1, settings["rounds"] + 1):
                yield f"{method} k={k} r={r}", {"method": method, "rewind": k, "round": r, "c": 0}
    for con, c in axes["strong"]:
        yield f"{con} c={c}", {"method": con, "rewind": -1, "round": -1, "c": c}


def estimate(spec, cell) -> budget.Estimate:
    """Peak memory of one cell: the training (:func:`slth.budget.trained`) or a strong ticket of the
    dense network (:func:`slth.budget.digits`)."""
    s = spec.settings
    if cell.params["c"]:
        return budget.digits(cell.params["method"], s["dims"], cell.params["c"])
    return budget.trained(s["dims"], s["rounds"], s["batch_size"])


# --------------------------------------------------------------------------- rows and summary

def setup_of(spec) -> study.Setup:
    """The :class:`~slth.studies.imp.study.Setup` of a validated imp or instability spec."""
    s = spec.settings
    return study.setup(**{k: s[k] for k in study.DEFAULTS}, rewinds=())


def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    """One row per trial (seed = seed + t)."""
    out = []
    for t in trials:
        start = time.perf_counter()
        p, seed = cell.params, spec.seed + t
        row = (study.strong_row(setup_of(spec), p["method"], p["c"], seed) if p["c"]
               else study.trained_row(setup_of(spec), p["method"], p["rewind"], p["round"], seed))
        row["fraction_kept_per_layer"] = ",".join(f"{v:g}" for v in row["fraction_kept_per_layer"])
        out.append({**shared.base_row(spec, cell, t), **row, "dims": spec.settings["dims"],
                    "fraction": spec.settings["fraction"], "scope": spec.settings["scope"],
                    "wall_s": round(time.perf_counter() - start, 4), **meta})
    return out


def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per cell: mean fraction and count kept, test accuracy (mean, min, max over trials); then the
    findings the issue asks for (:func:`findings`)."""
    table = []
    for key, cell_rows in shared.group(rows).items():
        col = lambda k: np.array([r[k] for r in cell_rows], dtype=float)
        r0 = cell_rows[0]
        table.append({"cell": key, "method": r0["method"], "rewind": r0["rewind"], "round": r0["round"],
                      "c": r0["c"], "trials": len(cell_rows), "kept_params_mean": float(col("kept_params").mean()),
                      "fraction_kept_mean": float(col("fraction_kept").mean()),
                      "test_accuracy_mean": float(col("test_accuracy").mean()),
                      "test_accuracy_min": float(col("test_accuracy").min()),
                      "test_accuracy_max": float(col("test_accuracy").max()),
                      "test_loss_mean": float(col("test_loss").mean()),
                      "dense_accuracy_mean": float(col("dense_accuracy").mean()),
                      "certificate_median": float(np.median(col("certificate"))),
                      "lower_bound_median": float(np.median(col("lower_bound")))})
    lines = [f"{'cell':22s} {'T':>3s} {'kept':>9s} {'fraction kept':>13s} {'test acc (mean, min-max)':>26s}"]
    for r in table:
        lines.append(f"{r['cell']:22s} {r['trials']:>3d} {r['kept_params_mean']:>9,.0f} {r['fraction_kept_mean']:>13.4f} "
                     f"{r['test_accuracy_mean']:>10.1%} ({r['test_accuracy_min']:.1%}-{r['test_accuracy_max']:.1%})")
    found = findings(table)
    return table, found, "\n".join(lines + ["", *found["lines"]])


def findings(table: list[dict], *, within: float = 0.01) -> dict:
    """The issue's readings, per rewind step: the smallest fraction of weights kept at which IMP's
    mean test accuracy is still within ``within`` (one point) of the dense network's, the gap to the
    reinitialisation control there, and whether IMP > reinit > random holds at IMP's sparsest round."""
    out = {"within": within, "rewinds": {}, "lines": []}
    rewinds = sorted({r["rewind"] for r in table if r["method"] == study.IMP})
    for k in rewinds:
        by = {(r["method"], r["round"]): r for r in table if r["rewind"] == k}
        rounds = sorted(r for m, r in by if m == study.IMP)
        dense = by[(study.IMP, 0)]["test_accuracy_mean"]
        matching = [r for r in rounds if by[(study.IMP, r)]["test_accuracy_mean"] >= dense - within]
        r_match = max(matching)
        entry = {"dense_accuracy": dense, "matching_round": r_match,
                 "matching_fraction_kept": by[(study.IMP, r_match)]["fraction_kept_mean"],
                 "matching_accuracy": by[(study.IMP, r_match)]["test_accuracy_mean"]}
        if ("reinit", r_match) in by:
            entry["reinit_accuracy_there"] = by[("reinit", r_match)]["test_accuracy_mean"]
        last = rounds[-1]
        acc = {m: by[(m, last)]["test_accuracy_mean"] for m in study.TRAINED if (m, last) in by}
        entry["sparsest"] = {"round": last, "fraction_kept": by[(study.IMP, last)]["fraction_kept_mean"], **acc}
        if len(acc) == 3:
            entry["published_pattern_holds"] = bool(acc[study.IMP] > acc[study.REINIT_CONTROL] > acc[study.RANDOM_CONTROL])
        out["rewinds"][str(k)] = entry
        line = (f"rewind {k}: IMP matches the dense accuracy {dense:.1%} within {100 * within:g} point down to "
                f"{entry['matching_fraction_kept']:.2%} of the weights kept (round {r_match}, {entry['matching_accuracy']:.1%})")
        if "reinit_accuracy_there" in entry:
            line += f"; reinitialised there: {entry['reinit_accuracy_there']:.1%}"
        out["lines"].append(line)
        if "published_pattern_holds" in entry:
            out["lines"].append(
                f"rewind {k}, sparsest round {last} ({entry['sparsest']['fraction_kept']:.2%} kept): IMP {acc[study.IMP]:.1%}, "
                f"reinit {acc[study.REINIT_CONTROL]:.1%}, random pruning {acc[study.RANDOM_CONTROL]:.1%}: IMP > reinit > random "
                f"{'holds' if entry['published_pattern_holds'] else 'does NOT hold'}")
    return out
