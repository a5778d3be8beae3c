"""The weight_error sweep kind: the per-weight error of a construction's chooser versus the number of candidates c.

The one-dimensional problem every (k, j, sign) of a block solves (docs/theory.md §4.1-4.2). Spec::

    kind = "weight_error"
    [grid]
    construction = ["selection", "subset-sum"]
    c = [1, 2, 4, 8, 16]
    distribution = ["uniform"]           # optional; candidates a = v·|u| of this law
    [trials]
    count = 20                           # candidate lists: trial t draws from seed + t (both
    seed = 0                             # constructions see the same candidates)
    targets = 201                        # optional: target weights evenly spaced in [-1, 1]

A row is, for trial t, the chooser's error |Σ chosen − w| on every target w of :func:`targets_grid`
with the candidate list of :func:`slth.experiments.kinds.coverage.candidates` (one block and sign).
The summary, per (construction, c): the median and worst error over the targets, each with its
10%-90% range over trials (docs/theory.md §4.1: selection's error falls like 1/c; §4.2: subset sum's like 2^-c).
"""

from __future__ import annotations

import time

import jax.numpy as jnp
import numpy as np

from slth import budget
from slth.constructions import selection, subset_sum
from slth.experiments.kinds import _shared as shared
from slth.experiments.kinds import coverage

NAME = "weight_error"
GRID = ("construction", "c", "distribution")
TRIALS = ("count", "seed", "targets")
GRID_TABLES = ()
#: The trials of a cell run in one call (one candidate list each).
BATCHED = True
ADVICE = "lower its c or [trials] targets"

#: The choosers a cell can run, by construction: those whose per-weight problem is a chooser over
#: candidate products (the rest build whole networks), ``choose(candidates, targets, valid)``.
CHOOSERS = {m.NAME: m.choose for m in (selection, subset_sum)}
#: Constructions a cell can run.
CONSTRUCTIONS = tuple(CHOOSERS)
#: The choosers that enumerate subsets exactly, hence take c up to coverage's limit only.
EXACT = (subset_sum.NAME,)

COLUMNS = shared.SWEEP + (("construction", str), ("c", int), ("distribution", str), ("targets", int)) \
    + shared.UNIT + (("median_error", float), ("max_error", float), ("mean_error", float),
                     ("kept_mean", float)) + shared.PROVENANCE
SUMMARY_COLUMNS = ("cell", "construction", "c", "distribution", "trials", "targets", "median_error",
                   "median_error_q10", "median_error_q90", "max_error", "max_error_q10",
                   "max_error_q90", "kept_mean")


# --------------------------------------------------------------------------- schema and cells

def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The axes (construction, c, distribution) and the settings (targets) of a weight_error spec."""
    cons = lists.get("construction")
    if cons is None:
        problems.append("[grid] construction is missing")
        cons = []
    for c in cons:
        if c not in CONSTRUCTIONS:
            problems.append(f"[grid] construction {c!r} is not one of {list(CONSTRUCTIONS)}")
    if "c" not in lists:
        problems.append("[grid] c is missing")
    cs = []
    exact = [name for name in EXACT if name in cons]
    for v in lists.get("c", []):
        c = shared.integer(problems, v, "[grid] c", 1, shared.MAX_C)
        if c is not None and exact and c > coverage.MAX_C:
            problems.append(f"[grid] c {c} is above {coverage.MAX_C}, the most an exact {exact[0]} cell takes here")
        cs.append(c)
    dists = shared.laws(problems, lists)
    targets = shared.integer(problems, trials.get("targets", 201), "[trials] targets", 1, shared.MAX_SAMPLES)
    return {"construction": cons, "c": cs, "distribution": dists}, {"targets": targets}


def cells(axes: dict, settings: dict):
    """(key, params) of every cell: the axes crossed."""
    for params in shared.crossed(axes):
        yield "{construction} c={c} distribution={distribution}".format(**params), params


def estimate(spec, cell) -> budget.Estimate:
    """Peak memory of the cell: its targets × c problem matrix through the chooser."""
    p = cell.params
    return budget.weight_error(p["construction"], p["c"], spec.settings["targets"], spec.trials)


# --------------------------------------------------------------------------- rows

def targets_grid(n: int) -> np.ndarray:
    """n target weights evenly spaced in [-1, 1] (the ends included: the hardest values, docs/theory.md §2.4)."""
    return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)


def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    """Per trial, the chooser's error |Σ chosen − w| on every target w of :func:`targets_grid`, with
    the candidate list of ``coverage.candidates(seed + t, c, distribution)`` (one block and sign)."""
    c, dist, name = cell.params["c"], cell.params["distribution"], cell.params["construction"]
    choose = CHOOSERS[name]
    w = targets_grid(spec.settings["targets"])
    out = []
    for t in trials:
        start = time.perf_counter()
        cands = np.broadcast_to(coverage.candidates(spec.seed + t, c, dist), (len(w), c))
        chosen = np.asarray(choose(jnp.asarray(cands), jnp.asarray(w), jnp.ones(cands.shape, bool)))
        err = np.abs(np.where(chosen, cands, 0.0).sum(axis=1) - w)
        out.append({**shared.base_row(spec, cell, t), "construction": name, "c": c, "distribution": dist,
                    "targets": len(w), "median_error": float(np.median(err)), "max_error": float(err.max()),
                    "mean_error": float(err.mean()), "kept_mean": float(chosen.sum(axis=1).mean()),
                    "wall_s": round(time.perf_counter() - start, 4), **meta})
    return out


# --------------------------------------------------------------------------- summary

def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """The summary of a weight_error table (see :func:`weight_error_summary`)."""
    return weight_error_summary(rows)


def weight_error_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per (construction, c): the per-weight error over the trials' candidate lists, median and
    worst over the target grid, each with its 10%-90% range over trials."""
    table = []
    for key, cell_rows in shared.group(rows).items():
        med = np.array([r["median_error"] for r in cell_rows])
        worst = np.array([r["max_error"] for r in cell_rows])
        r0 = cell_rows[0]
        table.append({"cell": key, "construction": r0["construction"], "c": r0["c"],
                      "distribution": r0["distribution"], "trials": len(cell_rows), "targets": r0["targets"],
                      "median_error": float(np.median(med)), "median_error_q10": float(np.quantile(med, 0.1)),
                      "median_error_q90": float(np.quantile(med, 0.9)), "max_error": float(np.median(worst)),
                      "max_error_q10": float(np.quantile(worst, 0.1)),
                      "max_error_q90": float(np.quantile(worst, 0.9)),
                      "kept_mean": float(np.mean([r["kept_mean"] for r in cell_rows]))})
    lines = [f"{'construction':12s} {'c':>4s} {'T':>4s} {'median error':>13s} {'worst error':>12s} {'kept':>6s}"]
    for r in table:
        lines.append(f"{r['construction']:12s} {r['c']:>4d} {r['trials']:>4d} {r['median_error']:>13.3g} "
                     f"{r['max_error']:>12.3g} {r['kept_mean']:>6.2f}")
    return table, {}, "(medians over trials)\n" + "\n".join(lines)
