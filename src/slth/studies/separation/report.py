"""The separation study's reports: one run's text and the one per-cell aggregation of a sweep's rows.

:func:`format_report` prints a :class:`~slth.studies.separation.study.SeparationReport`
(``slth separation``); :func:`sweep_summary` aggregates a ``separation`` sweep's rows per cell over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slth.errors import InputError
from slth.studies.cells import group as _group
from slth.studies.separation.estimators import INTERVAL
from slth.studies.separation.methods import METHODS, WEIGHT_METHODS
from slth.studies.separation.study import SeparationReport

#: Columns of :func:`sweep_summary`'s table (a sweep's ``summary.csv``).
SUMMARY_COLUMNS = ("cell", "method", "d", "c", "inputs", "trials", "random_params", "params",
                   "relative_mean", "relative_min", "relative_max", "sup_bound_median")


# --------------------------------------------------------------------------- one run

def _trend(values: Sequence[float]) -> str:
    if len(values) < 2:
        return "a single d"
    steps = np.diff(values)
    if np.all(steps > 0):
        return "rises with d at every step"
    if np.all(steps < 0):
        return "falls with d at every step"
    return "is not monotone in d"


def _g(v) -> str:
    return "-" if v is None else f"{v:.3g}"


def format_report(report: SeparationReport) -> str:
    """A table, one line per (d, budget, method), then the trends computed from it."""
    s = report.settings
    lines = [
        f"slth separation: one ReLU neuron σ(<w*,x>), ||w*|| = 1, inputs {s['inputs']}, random weights "
        f"{s['distribution']}, n_train {s['n_train']}, n_test {s['n_test']}, seed {s['seed']}",
        "",
        f"  {'d':>3s} {'c':>2s} {'budget':>7s} {'params':>7s} {'h':>4s}  {'method':<16s} {'kept':>6s} "
        f"{'train L2':>9s} {'test L2 [95% CI]':>28s} {'rel':>6s} {'sup bound':>9s} {'sup obs':>8s} {'wall s':>6s}",
    ]
    for r in report.rows:
        ci = f"{r.test_l2:.4f} [{r.test_l2_low:.4f}, {r.test_l2_high:.4f}]"
        lines.append(
            f"  {r.d:>3d} {r.candidates:>2d} {r.random_params:>7,d} {r.params:>7,d} {r.hidden_units:>4d}  "
            f"{r.method:<16s} {r.kept_params:>6,d} {r.train_l2:>9.4f} {ci:>28s} {r.relative:>6.3f} "
            f"{_g(r.sup_bound):>9s} {r.sup_observed:>8.3g} {r.wall_s:>6.2f}")
    lines += [
        "",
        "  budget: random parameters of the weight-pruning network (d,1,1), 2cd(d+1) + 4c; params: this "
        "method's random network, h(d+1) for the neuron methods, h = floor(budget/(d+1))",
        "  rel: test L2 / ||f||_L2, ||f||_L2 = sqrt(1/(2d)); g = 0 scores 1. sup bound: the certificate over "
        "||x|| <= 1; sup obs: max over the test sample of |f - g| / ||x||",
        f"  interval: {INTERVAL}",
        "  trend, relative test error at the largest budget of each d (the budget itself grows with d):",
    ]
    for m in [m for m in METHODS if m in s["methods"]]:
        by_d = {}
        for r in report.rows:
            if r.method == m and (r.d not in by_d or r.random_params > by_d[r.d].random_params):
                by_d[r.d] = r
        if not by_d:
            continue
        pts = [by_d[d] for d in sorted(by_d)]
        vals = ", ".join(f"d={r.d} (c={r.candidates}): {r.relative:.3f}" for r in pts)
        lines.append(f"    {m:<16s} {vals}; {_trend([r.relative for r in pts])}")
    for other in ("random-features", "neuron-greedy"):
        ref = {(r.d, r.candidates): r for r in report.rows if r.method == other}
        for m in WEIGHT_METHODS:
            rows = [r for r in report.rows if r.method == m and (r.d, r.candidates) in ref]
            if rows:
                below = sum(r.relative < ref[(r.d, r.candidates)].relative for r in rows)
                clear = sum(r.relative_high < ref[(r.d, r.candidates)].relative_low for r in rows)
                lines.append(f"  {m} has lower test error than {other} in {below} of {len(rows)} cells "
                             f"({clear} with disjoint 95% intervals)")
    lines.append(f"  wall time {report.wall_s:.1f} s on {report.provenance['device']}, "
                 f"slth at {report.provenance['git_revision']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- a sweep

def sweep_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per (method, d, c, inputs): the relative L2 error (test error / ‖f‖_L2; 1 is the trivial
    predictor) over the seeds, and the certificate where the method has one.

    ``rows`` are a sweep's typed rows (each :func:`~slth.studies.separation.study.row_for` row with
    its ``cell`` and ``c``); returns (the table, one dict per cell with :data:`SUMMARY_COLUMNS`, the
    fits (none: ``{}``), the printable text)."""
    if not rows:
        raise InputError("the results table has no rows")
    table = []
    for key, cell_rows in _group(rows).items():
        rel = np.array([r["relative"] for r in cell_rows])
        sups = [r["sup_bound"] for r in cell_rows if r["sup_bound"] is not None]
        r0 = cell_rows[0]
        table.append({"cell": key, "method": r0["method"], "d": r0["d"], "c": r0["c"], "inputs": r0["inputs"],
                      "trials": len(cell_rows), "random_params": r0["random_params"], "params": r0["params"],
                      "relative_mean": float(rel.mean()), "relative_min": float(rel.min()),
                      "relative_max": float(rel.max()),
                      "sup_bound_median": float(np.median(sups)) if sups else None})
    methods = list(dict.fromkeys(r["method"] for r in table))
    budgets = sorted({(r["d"], r["c"], r["inputs"], r["random_params"]) for r in table})
    lines = [f"relative L2 error (test error / ||f||_L2, mean over seeds; 1 = the zero predictor)",
             f"{'d':>4s} {'c':>4s} {'inputs':>8s} {'budget':>9s} " + " ".join(f"{m:>15s}" for m in methods)]
    index = {(r["method"], r["d"], r["c"], r["inputs"]): r for r in table}
    for d, c, inputs, budget in budgets:
        cells = [index.get((m, d, c, inputs)) for m in methods]
        lines.append(f"{d:>4d} {c:>4d} {inputs:>8s} {budget:>9,} "
                     + " ".join(f"{'-' if x is None else format(x['relative_mean'], '.3f'):>15s}" for x in cells))
    return table, {}, "\n".join(lines)
