"""The planted sweep kind: does a search find a ticket known to exist? Edge-popup and IMP on a random network with a planted target, beside the planted ticket and the explicit constructions.

Spec::

    kind = "planted"
    [grid]
    search = ["edge-popup", "imp"]       # searches on the planted network
    factor = [1, 2, 4]                   # keep = factor × the planted ticket's fraction of weights kept
    reference = ["subset-sum", "selection"]   # optional: explicit constructions of the same target
    c = { subset-sum = [4], selection = [16] }
    [trials]
    count = 2                            # trial t: seed + t draws the target, the planting, the searches
    seed = 0
    dims = "8,8,8,4"                     # the target
    widths = "32,32"                     # hidden widths of the random network (one per hidden layer)

Cells: the planted ticket (``planted``), then search × factor, then reference × c. A row is
:func:`slth.studies.planted.study.search_row` or :func:`~slth.studies.planted.study.reference_row`:
the fraction of weights kept, the lower bound and a certificate of the error, and the precision and
recall of the found mask against the planted one.
"""

from __future__ import annotations

import time

import numpy as np

from slth import budget, checks, constructions, nets
from slth.errors import InputError
from slth.experiments.kinds import _shared as shared
from slth.studies.planted import planting, study

NAME = "planted"
GRID = ("search", "factor", "reference", "c")
TRIALS = ("count", "seed", "dims", "widths")
GRID_TABLES = ("c",)
BATCHED = False
ADVICE = "lower its dims, widths or c"
#: Largest factor (keep = factor × the planted fraction, capped at 1).
MAX_FACTOR = 1e6
#: Largest error of the planted ticket counted as round-off (its exact error is 0).
EXACT = 1e-12

COLUMNS = shared.SWEEP + (("method", str), ("factor", float), ("c", int), ("dims", tuple), ("widths", tuple)) \
    + shared.UNIT + (
    ("keep", float), ("kept_params", int), ("network_params", int), ("fraction_kept", float),
    ("fraction_kept_per_layer", str), ("planted_fraction", float), ("lower_bound", float), ("certificate", float),
    ("precision", float), ("recall", float), ("search_s", float)) + shared.PROVENANCE
SUMMARY_COLUMNS = ("cell", "method", "factor", "c", "trials", "fraction_kept_mean", "kept_params_mean",
                   "lower_bound_median", "lower_bound_max", "certificate_median", "precision_mean", "recall_mean")


def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The cells and the (target, widths) of a planted spec; the planting's own checks (a target layer
    wider than its random layer, ...) run on a zero target of the same shapes, before any work."""
    searches = lists.get("search", [])
    shared.one_of(problems, searches, "[grid] search", study.SEARCHES)
    factors = []
    for v in lists.get("factor", [1] if searches else []):
        f = _factor(problems, v)
        if f is not None:
            factors.append(f)
    refs = lists.get("reference", [])
    shared.one_of(problems, refs, "[grid] reference", constructions.CONSTRUCTIONS)
    raw = grid.get("c")
    pairs = []
    if refs and raw is None:
        problems.append(f"[grid] c is missing: the references {refs} need their candidates")
    for con in refs:
        values = shared.as_list((raw.get(con, []) if isinstance(raw, dict) else raw) if raw is not None else [])
        for v in values:
            c = shared.integer(problems, v, f"[grid] c for {con}", 1, shared.MAX_C)
            limit = constructions.MAX_CANDIDATES.get(con)
            if c is not None and limit is not None and c > limit:
                problems.append(f"[grid] c {c} for {con} is above {limit}, the most it takes")
            elif c is not None:
                pairs.append((con, c))
    dims = shared.dims(problems, trials.get("dims", "8,8,8,4"), "[trials] dims")
    widths = _widths(problems, trials.get("widths"))
    if dims is not None and widths is not None:
        try:
            planting.check_widths(tuple(map(int, dims.split(","))), tuple(map(int, widths.split(","))))
        except InputError as e:
            problems.append(f"[trials] {e}")
    return {"search": searches, "factor": factors, "reference": pairs}, {"dims": dims, "widths": widths}


def _widths(problems: list, value) -> str | None:
    """[trials] widths: the random network's hidden widths "n_1,...,n_{l-1}", as text; None with the
    problem noted."""
    if value is None:
        problems.append("[trials] widths is missing (the random network's hidden widths, e.g. \"32,32\")")
        return None
    try:
        widths = tuple(checks.integer("[trials] widths", int(v) if v.strip().lstrip("-").isdigit() else v, low=1,
                                      high=shared.MAX_WIDTH) for v in str(value).split(","))
    except InputError as e:
        problems.append(f"{e} (the random network's hidden widths, e.g. \"32,32\")")
        return None
    return ",".join(map(str, widths))


def _factor(problems: list, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_FACTOR:
        problems.append(f"[grid] factor {value!r} must be a number in (0, {MAX_FACTOR:g}] (keep = factor × the "
                        "planted fraction of weights kept)")
        return None
    return float(value)


def cells(axes: dict, settings: dict):
    yield study.PLANTED, {"method": study.PLANTED, "factor": 1.0, "c": 0}
    for method in axes["search"]:
        for f in axes["factor"]:
            yield f"{method} x{f:g}", {"method": method, "factor": f, "c": 0}
    for con, c in axes["reference"]:
        yield f"{con} c={c}", {"method": con, "factor": None, "c": c}


def estimate(spec, cell) -> budget.Estimate:
    s = spec.settings
    if cell.params["c"]:
        name = cell.params["method"]
        return budget.prune(name, budget.network_for(name, nets.parse_dims(s["dims"]), cell.params["c"]))
    d = nets.parse_dims(s["dims"])
    widths = ",".join(map(str, [d[0], *map(int, s["widths"].split(",")), d[-1]]))
    return budget.planted(widths, 256, 4096)


def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    s, p = spec.settings, cell.params
    dims, widths = tuple(map(int, s["dims"].split(","))), tuple(map(int, s["widths"].split(",")))
    out = []
    for t in trials:
        start = time.perf_counter()
        row = (study.reference_row(dims, widths, p["method"], p["c"], spec.seed + t) if p["c"]
               else study.search_row(dims, widths, p["method"], p["factor"], spec.seed + t))
        row["fraction_kept_per_layer"] = ",".join(f"{v:g}" for v in row["fraction_kept_per_layer"])
        out.append({**shared.base_row(spec, cell, t), **row, "dims": s["dims"], "widths": s["widths"],
                    "wall_s": round(time.perf_counter() - start, 4), **meta})
    return out


def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per cell: fraction kept, the error's two ends, precision and recall; a planted ticket whose
    error is not 0 to round-off is reported as a finding (the planting would not be exact)."""
    table = []
    for key, cell_rows in shared.group(rows).items():
        col = lambda k: np.array([r[k] for r in cell_rows], dtype=float)
        r0 = cell_rows[0]
        table.append({"cell": key, "method": r0["method"], "factor": r0["factor"], "c": r0["c"],
                      "trials": len(cell_rows), "fraction_kept_mean": float(col("fraction_kept").mean()),
                      "kept_params_mean": float(col("kept_params").mean()),
                      "lower_bound_median": float(np.median(col("lower_bound"))),
                      "lower_bound_max": float(col("lower_bound").max()),
                      "certificate_median": float(np.median(col("certificate"))),
                      "precision_mean": float(np.nanmean(col("precision"))) if r0["c"] == 0 else float("nan"),
                      "recall_mean": float(np.nanmean(col("recall"))) if r0["c"] == 0 else float("nan")})
    lines = [f"{'cell':22s} {'T':>3s} {'fraction kept':>13s} {'lower bd':>9s} {'certificate':>11s} "
             f"{'precision':>9s} {'recall':>7s}"]
    for r in table:
        lines.append(f"{r['cell']:22s} {r['trials']:>3d} {r['fraction_kept_mean']:>13.4f} {r['lower_bound_median']:>9.3g} "
                     f"{r['certificate_median']:>11.3g} {r['precision_mean']:>9.3f} {r['recall_mean']:>7.3f}")
    bad = [r["cell"] for r in table if r["method"] == study.PLANTED and r["lower_bound_max"] > EXACT]
    if bad:
        lines.append(f"FINDING: the planted ticket's error exceeds {EXACT:g}: the planting is not exact")
    return table, {"planted_exact": not bad}, "\n".join(lines)

