"""The instability sweep kind: linear mode connectivity (the error barrier between two copies trained from one rewind point) against the rewind step, for the dense network and IMP masks.

Spec::

    kind = "instability"
    [grid]
    rewind = [0, 25, 50, 100, 200]       # rewind steps k
    round = [0, 4, 8]                    # 0: the dense network; r: IMP's mask after r rounds (rewound to k)
    [trials]
    count = 2                            # trial t: seed + t (θ_0, data orders, the copies' orders)
    seed = 0
    points = 31                          # optional: points on the line (at least 30)
    dims = "64,32,10"                    # optional, as in an imp spec
    epochs = 60
    batch_size = 64
    learning_rate = 3e-3
    fraction = 0.2
    scope = "layer"

A row is :func:`slth.studies.imp.study.instability_row` (Frankle et al. 2020): from θ_k with the
mask of the cell, two copies trained to the end with different data orders, the test error on
``points`` evenly spaced points of the segment between them, and the barrier: the largest error on
the segment minus the mean of the two ends' errors.
"""

from __future__ import annotations

import time

import numpy as np

from slth import budget
from slth.experiments.kinds import _shared as shared
from slth.experiments.kinds.imp import _settings as imp_settings, setup_of
from slth.studies.imp import lmc, study

NAME = "instability"
GRID = ("rewind", "round")
TRIALS = ("count", "seed", "points", "dims", "epochs", "batch_size", "learning_rate", "fraction", "scope")
GRID_TABLES = ()
BATCHED = False
ADVICE = "lower its dims or rounds"
#: Fewest points on the segment (the issue's grid of at least 30 points).
MIN_POINTS = 30
#: A mean barrier below this counts as stable (Frankle et al. 2020 call a network stable when the
#: barrier is within 2%).
STABLE = 0.02

COLUMNS = shared.SWEEP + (("rewind", int), ("round", int), ("dims", tuple), ("fraction", float), ("scope", str)) \
    + shared.UNIT + (
    ("kept_params", int), ("network_params", int), ("fraction_kept", float), ("fraction_kept_per_layer", str),
    ("barrier", float), ("loss_barrier", float), ("end_error_a", float), ("end_error_b", float),
    ("max_error", float), ("points", int), ("steps", int)) + shared.PROVENANCE
SUMMARY_COLUMNS = ("cell", "rewind", "round", "trials", "fraction_kept_mean", "barrier_mean", "barrier_min",
                   "barrier_max", "loss_barrier_mean", "end_error_mean")


def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The axes (rewind, round) and the setup of an instability spec; the IMP run has max(round) rounds."""
    rewinds = [k for k in (shared.integer(problems, v, "[grid] rewind", 0, shared.MAX_SAMPLES)
                           for v in lists.get("rewind", [])) if k is not None]
    if "rewind" not in lists:
        problems.append("[grid] rewind is missing")
    rounds = [r for r in (shared.integer(problems, v, "[grid] round", 0, 1000) for v in lists.get("round", [0]))
              if r is not None]
    given = dict(trials)
    given["rounds"] = max([1, *rounds])
    settings = imp_settings(given, problems, rewinds)
    settings["points"] = shared.integer(problems, trials.get("points", lmc.POINTS), "[trials] points", MIN_POINTS,
                                        100_000)
    return {"rewind": rewinds, "round": rounds}, settings


def cells(axes: dict, settings: dict):
    for params in shared.crossed(axes):
        yield f"k={params['rewind']} r={params['round']}", params


def estimate(spec, cell) -> budget.Estimate:
    s = spec.settings
    return budget.trained(s["dims"], s["rounds"], s["batch_size"])


def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    out = []
    for t in trials:
        start = time.perf_counter()
        row = study.instability_row(setup_of(spec), cell.params["rewind"], cell.params["round"], spec.seed + t,
                                    spec.settings["points"])
        row.pop("time_s")
        row["fraction_kept_per_layer"] = ",".join(f"{v:g}" for v in row["fraction_kept_per_layer"])
        out.append({**shared.base_row(spec, cell, t), **row, "dims": spec.settings["dims"],
                    "fraction": spec.settings["fraction"], "scope": spec.settings["scope"],
                    "wall_s": round(time.perf_counter() - start, 4), **meta})
    return out


def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per (rewind, round): the barrier's mean and range over trials; the rewind step from which the
    mean barrier stays below 2% (Frankle et al.'s threshold for "stable"), per round."""
    table = []
    for key, cell_rows in shared.group(rows).items():
        col = lambda k: np.array([r[k] for r in cell_rows], dtype=float)
        r0 = cell_rows[0]
        table.append({"cell": key, "rewind": r0["rewind"], "round": r0["round"], "trials": len(cell_rows),
                      "fraction_kept_mean": float(col("fraction_kept").mean()),
                      "barrier_mean": float(col("barrier").mean()), "barrier_min": float(col("barrier").min()),
                      "barrier_max": float(col("barrier").max()), "loss_barrier_mean": float(col("loss_barrier").mean()),
                      "end_error_mean": float(np.concatenate([col("end_error_a"), col("end_error_b")]).mean())})
    lines = [f"{'cell':14s} {'T':>3s} {'fraction kept':>13s} {'barrier (mean, min-max)':>26s} {'end error':>9s}"]
    for r in table:
        lines.append(f"{r['cell']:14s} {r['trials']:>3d} {r['fraction_kept_mean']:>13.4f} {r['barrier_mean']:>10.2%} "
                     f"({r['barrier_min']:.2%}-{r['barrier_max']:.2%}) {r['end_error_mean']:>9.2%}")
    stable = {}
    for rnd in sorted({r["round"] for r in table}):
        mine = sorted((r for r in table if r["round"] == rnd), key=lambda r: r["rewind"])
        later = [r["rewind"] for i, r in enumerate(mine) if all(q["barrier_mean"] < STABLE for q in mine[i:])]
        stable[str(rnd)] = {"fraction_kept": mine[0]["fraction_kept_mean"], "stable_from_rewind": later[0] if later else None}
        lines.append(f"round {rnd} ({mine[0]['fraction_kept_mean']:.2%} kept): barrier below {STABLE:.0%} "
                     + (f"from rewind step {later[0]} on" if later else "at no rewind step tried"))
    return table, {"stable_threshold": STABLE, "rounds": stable}, "\n".join(lines)

