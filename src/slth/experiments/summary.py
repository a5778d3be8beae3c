"""Summaries of a sweep's table: one line per cell beside the bounds, and the fits.

Everything here is computed from ``results.csv`` alone (``slth fit results/<name>`` recomputes it), so a
summary can always be traced to its rows.

Width sweeps, per cell: the certified and optimistic (1 − δ)-quantile widths, the fraction certified
with its Clopper-Pearson interval, Pensia et al.'s width at C = 1 and the C the cell needs, the
selection construction's explicit width, Malach et al.'s form at C = 1, and the counting lower bound.
Fits, per construction: the constant C of Pensia et al.'s logarithmic form and a power law in the
grid variables that vary (d, l, 1/ε), each with a stratified bootstrap interval
(:mod:`slth.measure.fit`); the exponents are printed beside the paper's (4 in d, 2 in l, 2 in 1/ε
for Malach et al.'s form).

Coverage sweeps, per cell (c): quantiles of the covering radius η* of random blocks and the fraction
with η* <= ε; per ε, the smallest c of the grid at which a 1 − ε fraction of blocks are ε-dense
(Lueker's statement) and the constant C = c / ln(2/ε) it implies.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import scipy.stats

from slth import bounds
from slth.errors import InputError
from slth.experiments.check import pensia_log_term
from slth.experiments.spec import Spec
from slth.experiments.store import csv_text, write_set
from slth.measure import fit as fits
from slth.measure.width import CONFIDENCE, quantile_width

#: Bootstrap resamples of the fits.
RESAMPLES = 2000

#: The exponents of Malach et al.'s form as Pensia et al. read it (d⁴ l²) with selection's 1/ε².
PAPER_EXPONENTS = {"d": 4, "l": 2, "inv_eps": 2}

WIDTH_SUMMARY = ("cell", "construction", "dims", "eps", "delta", "trials", "reached", "certified",
                 "optimistic", "fraction", "fraction_low", "fraction_high", "pensia_c_at_C1",
                 "pensia_C_needed", "malach_c_at_C1", "selection_explicit_c", "counting_lower_c",
                 "at_or_above_counting")
COVERAGE_SUMMARY = ("cell", "c", "distribution", "values", "trials", "eta_median", "eta_q90", "eta_max")
WEIGHT_ERROR_SUMMARY = ("cell", "construction", "c", "distribution", "trials", "targets", "median_error",
                        "median_error_q10", "median_error_q90", "max_error", "max_error_q10",
                        "max_error_q90", "kept_mean")
SEPARATION_SUMMARY = ("cell", "method", "d", "c", "inputs", "trials", "random_params", "params",
                      "relative_mean", "relative_min", "relative_max", "sup_bound_median")
DIGITS_SUMMARY = ("cell", "construction", "c", "trials", "target_accuracy", "ticket_accuracy_mean",
                  "ticket_accuracy_min", "agreement_mean", "agreement_min", "certificate_median",
                  "lower_bound_median", "guaranteed_fraction_mean", "guaranteed_disagree_total",
                  "random_params", "kept_params_mean")


def render(spec: Spec, rows: list[dict]) -> tuple[str, str, str]:
    """The summary of ``rows``: the text of ``summary.csv``, the text of ``fits.json`` and the
    printable report."""
    if spec.kind == "width":
        table, fitted, text = width_summary(rows)
        columns = WIDTH_SUMMARY
    elif spec.kind == "separation":
        table, fitted, text = separation_summary(rows)
        columns = SEPARATION_SUMMARY
    elif spec.kind == "digits":
        table, fitted, text = digits_summary(rows)
        columns = DIGITS_SUMMARY
    elif spec.kind == "weight_error":
        table, fitted, text = weight_error_summary(rows)
        columns = WEIGHT_ERROR_SUMMARY
    else:
        table, fitted, text = coverage_summary(rows, spec.summary_eps)
        columns = COVERAGE_SUMMARY
    return csv_text(columns, table), json.dumps(fitted, indent=2, sort_keys=True) + "\n", text


def write(spec: Spec, rows: list[dict], directory, results: str, *, complete: bool = True) -> str:
    """Compute the summary of ``rows`` (the typed rows of ``results``, the text of ``results.csv``),
    write ``results.csv``, ``summary.csv`` and ``fits.json`` into ``directory`` as one set
    (:func:`slth.experiments.store.write_set`), and return the printable report."""
    directory = Path(directory)
    summary_text, fits_text, text = render(spec, rows)
    write_set(directory, {"results.csv": results, "summary.csv": summary_text, "fits.json": fits_text},
              fingerprint=spec.fingerprint, complete=complete)
    return f"{spec.name}: {len(rows)} rows in {directory / 'results.csv'}\n" + text


def _group(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["cell"], []).append(r)
    return out


def width_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per-cell lines, the fits (JSON-ready) and a printable report for a width table."""
    if not rows:
        raise InputError("the results table has no rows")
    table = []
    for key, cell_rows in _group(rows).items():
        r0 = cell_rows[0]
        dims, eps, delta = tuple(r0["dims"]), float(r0["eps"]), float(r0["delta"])
        t = len(cell_rows)
        certified, k = quantile_width([r["certified"] for r in cell_rows], delta)
        optimistic, _ = quantile_width([r["optimistic"] for r in cell_rows], delta)
        ci = scipy.stats.binomtest(k, t).proportion_ci(confidence_level=CONFIDENCE, method="exact")
        limit = 0.5 if len(dims) == 2 else 0.25
        counting = bounds.counting_width(dims, eps).candidates if eps < limit else None
        table.append({
            "cell": key, "construction": r0["construction"], "dims": ",".join(map(str, dims)), "eps": eps,
            "delta": delta, "trials": t, "reached": sum(r["certified"] is not None for r in cell_rows),
            "certified": certified, "optimistic": optimistic, "fraction": k / t,
            "fraction_low": float(ci.low), "fraction_high": float(ci.high),
            "pensia_c_at_C1": bounds.pensia_width(dims, eps, delta).candidates,
            "pensia_C_needed": None if certified is None else certified / pensia_log_term(dims, eps, delta),
            "malach_c_at_C1": bounds.malach_width(dims, eps, delta).candidates,
            "selection_explicit_c": bounds.selection_width(dims, eps, delta).candidates,
            "counting_lower_c": counting,
            "at_or_above_counting": None if counting is None or certified is None else certified >= counting,
        })
    fitted, fit_lines = _width_fits(rows)
    return table, fitted, _width_text(table) + "\n" + "\n".join(fit_lines)


def _width_fits(rows: list[dict]) -> tuple[dict, list[str]]:
    out: dict = {}
    lines = []
    for construction in dict.fromkeys(r["construction"] for r in rows):
        sub = [r for r in rows if r["construction"] == construction]
        entry = out.setdefault(construction, {})
        for which in ("certified", "optimistic"):
            cells = fits.cells_from_rows(sub, which=which)
            try:
                lc = fits.fit_log_constant(cells, n_resamples=RESAMPLES)
                entry[f"log_constant_{which}"] = _log_json(lc)
                if which == "certified":
                    lines.append(f"{construction}, Pensia et al.'s C (certified widths, c = C·ln(max d_(i-1) d_i · l "
                                 f"/ min(ε, δ))): " + lc.summary().replace("\n", " "))
            except InputError as e:
                entry[f"log_constant_{which}"] = {"error": str(e)}
                if which == "certified":
                    lines.append(f"{construction}, Pensia et al.'s C: not fitted ({e})")
            try:
                pl = fits.fit_power_law(cells, n_resamples=RESAMPLES)
                entry[f"power_law_{which}"] = _power_json(pl)
                if which == "certified":
                    paper = ", ".join(f"{v} {pl.exponents[v]} ({_paper_exponent(construction, v)})"
                                      for v in pl.variables)
                    lines.append(f"{construction}, power law (certified widths): exponents {paper}; "
                                 f"A = {pl.A}; {pl.n_cells} cells, {pl.n_resamples} bootstrap resamples"
                                 + (f", {pl.undefined_fraction:.1%} undefined" if pl.undefined_fraction else ""))
            except InputError as e:
                entry[f"power_law_{which}"] = {"error": str(e)}
                if which == "certified":
                    lines.append(f"{construction}, power law: not fitted ({e.args[0].splitlines()[0]})")
    return out, lines


def _paper_exponent(construction: str, variable: str) -> str:
    """What the papers' widths say about an exponent: Malach et al.'s form for selection, a logarithm
    (exponent 0 in the limit) for subset sum, nothing for other constructions."""
    if construction == "selection" and variable in PAPER_EXPONENTS:
        return f"Malach et al.'s form: {PAPER_EXPONENTS[variable]}"
    if construction == "subset-sum" and variable in PAPER_EXPONENTS:
        return "Pensia et al.: logarithmic, exponent -> 0"
    return "no paper value"


def joint_width_fits(tables: list[list[dict]]) -> tuple[dict, str]:
    """Fits over the rows of several width tables at once (e.g. width versus d, l and 1/ε together,
    so that one power law in all three is identifiable). A measurement that two tables share (same
    cell, seed and settings, as when two sweeps both hold the 8,8,8 cell) is counted once; cells
    that differ in settings (c_max, laws, drop_negative) are kept apart."""
    for rows in tables:
        if rows and "construction" not in rows[0]:
            raise InputError("joint fits take width tables only; got a coverage table")
    variants: dict = {}
    for rows in tables:
        for r in rows:
            variants.setdefault(r["cell"], set()).add(_settings(r))
    merged: dict = {}
    for rows in tables:
        for r in rows:
            settings = _settings(r)
            cell = r["cell"] if len(variants[r["cell"]]) == 1 else f"{r['cell']} {settings}"
            merged.setdefault((cell, r["seed"]), {**r, "cell": cell})
    rows = list(merged.values())
    fitted, lines = _width_fits(rows)
    cells = len({r["cell"] for r in rows})
    return fitted, f"joint fits over {len(tables)} tables, {cells} cells, {len(rows)} trials:\n" + "\n".join(lines)


def _settings(r: dict) -> tuple:
    return (r["c_max"], r["target_distribution"], r["distribution"], r["drop_negative"])


def _log_json(f: fits.LogConstantFit) -> dict:
    return {"C": _interval(f.C), "C_cover": _interval(f.C_cover), "n_cells": f.n_cells,
            "n_resamples": f.n_resamples, "seed": f.seed, "undefined_fraction": f.undefined_fraction,
            "points": [{"cell": c, "x": x, "c": w} for c, x, w in f.points]}


def _power_json(f: fits.PowerLawFit) -> dict:
    return {"A": _interval(f.A), "exponents": {k: _interval(v) for k, v in f.exponents.items()},
            "variables": list(f.variables), "n_cells": f.n_cells, "n_resamples": f.n_resamples,
            "seed": f.seed, "undefined_fraction": f.undefined_fraction}


def _interval(i: fits.Interval) -> dict:
    return {"estimate": i.estimate, "low": i.low, "high": i.high, "confidence": i.confidence}


def _fmt(v, digits=3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.{digits}g}"


def _width_text(table: list[dict]) -> str:
    head = (f"{'construction':12s} {'dims':>10s} {'eps':>6s} {'delta':>6s} {'T':>4s} {'cert':>6s} {'opt':>6s} "
            f"{'frac [95% CI]':>20s} {'pensia C=1':>10s} {'C needed':>8s} {'selection':>10s} {'counting':>8s}")
    lines = [head]
    for r in table:
        frac = f"{r['fraction']:.2f} [{r['fraction_low']:.2f},{r['fraction_high']:.2f}]"
        lines.append(f"{r['construction']:12s} {r['dims']:>10s} {r['eps']:>6g} {r['delta']:>6g} {r['trials']:>4d} "
                     f"{_fmt(r['certified']):>6s} {_fmt(r['optimistic']):>6s} {frac:>20s} "
                     f"{_fmt(r['pensia_c_at_C1']):>10s} {_fmt(r['pensia_C_needed']):>8s} "
                     f"{_fmt(r['selection_explicit_c']):>10s} {_fmt(r['counting_lower_c']):>8s}")
    below = [r["cell"] for r in table if r["at_or_above_counting"] is False]
    if below:
        lines.append(f"FINDING: measured widths below the counting lower bound in cells {below}")
    return "\n".join(lines)


def coverage_summary(rows: list[dict], summary_eps=()) -> tuple[list[dict], dict, str]:
    """Per-c quantiles of the covering radius, and Lueker's constant per ε (see the module docstring)."""
    if not rows:
        raise InputError("the results table has no rows")
    table = []
    for key, cell_rows in _group(rows).items():
        eta = np.array([r["eta"] for r in cell_rows])
        table.append({"cell": key, "c": cell_rows[0]["c"], "distribution": cell_rows[0]["distribution"],
                      "values": cell_rows[0]["values"], "trials": len(eta), "eta_median": float(np.median(eta)),
                      "eta_q90": float(np.quantile(eta, 0.9)), "eta_max": float(eta.max())})
    fitted: dict = {"lueker": []}
    lines = [f"{'c':>4s} {'distribution':>12s} {'values':>9s} {'T':>6s} {'median η*':>10s} {'90% η*':>10s} "
             f"{'max η*':>10s}"]
    for r in table:
        lines.append(f"{r['c']:>4d} {r['distribution']:>12s} {r['values']:>9s} {r['trials']:>6d} "
                     f"{r['eta_median']:>10.3g} {r['eta_q90']:>10.3g} {r['eta_max']:>10.3g}")
    for eps in summary_eps:
        for dist, values in dict.fromkeys((r["distribution"], r["values"]) for r in table):
            reached = None
            per_c = {}
            for r in rows:
                if (r["distribution"], r["values"]) == (dist, values):
                    per_c.setdefault(r["c"], []).append(r["eta"] <= eps)
            for c in sorted(per_c):
                if np.mean(per_c[c]) >= 1 - eps:
                    reached = c
                    break
            entry = {"eps": eps, "distribution": dist, "values": values, "c": reached,
                     "C": None if reached is None else reached / math.log(2 / eps)}
            fitted["lueker"].append(entry)
            lines.append(f"ε = {eps:g} ({dist} {values}): " + (
                f"c = {reached} is the smallest grid c with >= {1 - eps:.3g} of blocks ε-dense; "
                f"Lueker's C = c / ln(2/ε) = {entry['C']:.3f}" if reached is not None
                else "no grid c reaches a 1 − ε fraction of ε-dense blocks"))
    return table, fitted, "\n".join(lines)


def weight_error_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per (construction, c): the per-weight error over the trials' candidate lists, median and
    worst over the target grid, each with its 10%-90% range over trials (THEORY §4.1: selection's
    error falls like 1/c; §4.2: subset sum's like 2^-c)."""
    if not rows:
        raise InputError("the results table has no rows")
    table = []
    for key, cell_rows in _group(rows).items():
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


def digits_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per (construction, c): the tickets' test accuracy and agreement with the target over the
    random networks (trials), the two-sided error and the fraction of test points whose agreement the
    margin proves; any proven point that disagrees is reported as a finding (the theorem says none)."""
    if not rows:
        raise InputError("the results table has no rows")
    table = []
    for key, cell_rows in _group(rows).items():
        col = lambda k: np.array([r[k] for r in cell_rows], dtype=float)
        r0 = cell_rows[0]
        table.append({
            "cell": key, "construction": r0["construction"], "c": r0["c"], "trials": len(cell_rows),
            "target_accuracy": r0["target_accuracy"], "ticket_accuracy_mean": float(col("ticket_accuracy").mean()),
            "ticket_accuracy_min": float(col("ticket_accuracy").min()),
            "agreement_mean": float(col("agreement").mean()), "agreement_min": float(col("agreement").min()),
            "certificate_median": float(np.median(col("certificate"))),
            "lower_bound_median": float(np.median(col("lower_bound"))),
            "guaranteed_fraction_mean": float(col("guaranteed_fraction").mean()),
            "guaranteed_disagree_total": int(col("guaranteed_disagree").sum()),
            "random_params": r0["random_params"], "kept_params_mean": float(col("kept_params").mean()),
        })
    lines = [f"{'construction':12s} {'c':>5s} {'T':>3s} {'target':>7s} {'ticket (mean/min)':>18s} "
             f"{'agree (mean/min)':>17s} {'certificate':>11s} {'lower bd':>9s} {'proven':>7s} {'random':>11s}"]
    for r in table:
        lines.append(f"{r['construction']:12s} {r['c']:>5d} {r['trials']:>3d} {r['target_accuracy']:>7.1%} "
                     f"{r['ticket_accuracy_mean']:>9.1%}/{r['ticket_accuracy_min']:<8.1%} "
                     f"{r['agreement_mean']:>8.1%}/{r['agreement_min']:<8.1%} {r['certificate_median']:>11.3g} "
                     f"{r['lower_bound_median']:>9.3g} {r['guaranteed_fraction_mean']:>7.1%} {r['random_params']:>11,}")
    bad = [r["cell"] for r in table if r["guaranteed_disagree_total"]]
    if bad:
        lines.append(f"FINDING: test points with margin > √2·certificate disagree in cells {bad}")
    return table, {}, "\n".join(lines)


def separation_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per (method, d, c, inputs): the relative L2 error (test error / ‖f‖_L2; 1 is the trivial
    predictor) over the seeds, and the certificate where the method has one."""
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
