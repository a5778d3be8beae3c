"""The width sweep kind: the measured minimal width of a construction over a grid of targets, beside the bounds.

Spec::

    kind = "width"
    [grid]
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
    exact = 0                            # optional: seconds per ticket for the exact error (0: off) ...
    exact_max_binaries = 8               # ... of the tickets whose program has at most this size

A row is :func:`slth.measure.trial_width` for trial t with seed ``seed + t`` (target and network, as
``slth prune --seed``). The summary, per cell: the certified and optimistic (1 − δ)-quantile widths,
the fraction certified with its Clopper-Pearson interval, and the bounds of :data:`slth.bounds.BOUNDS`
at the cell (Pensia et al.'s width at C = 1 and the C the cell needs, Malach et al.'s form at C = 1,
the selection construction's explicit width, the counting lower bound). Fits, per construction: the
constant C of the logarithmic bound (:data:`slth.bounds.LOG_BOUND`) and a power law in the grid
variables that vary (d, l, 1/ε), each with a stratified bootstrap interval (:mod:`slth.measure.fit`);
the exponents are printed beside what the construction's companion bound says
(:func:`slth.constructions.companion`). With ``exact`` > 0, the row also holds the exact error's bracket
(:func:`slth.measure.exact.exact_error`) of the certified and the optimistic ticket wherever the
program's size (:func:`slth.measure.exact.size`) is at most ``exact_max_binaries``: figure 6 sets the
three readings side by side on the same tickets.
"""

from __future__ import annotations

import time

import jax

from slth import budget, checks, constructions, extras, nets
from slth import bounds
from slth.errors import InputError
from slth.experiments.kinds import _shared as shared
from slth.measure import fit as fits
from slth.measure import exact as exact_mod
from slth.measure.width import fraction_interval, network_spec, quantile_width, trial_width

NAME = "width"
GRID = ("construction", "dims", "d", "l", "eps", "delta")
TRIALS = ("count", "seed", "c_max", "target_distribution", "distribution", "drop_negative", "exact",
          "exact_max_binaries")
#: [grid] keys that may be a table instead of a list: none.
GRID_TABLES = ()
#: Trials of a cell run one by one.
BATCHED = False
ADVICE = "lower its c_max or dims"

COLUMNS = shared.SWEEP + (
    ("construction", str), ("dims", tuple), ("d", int), ("l", int), ("eps", float), ("delta", float),
    ("c_max", int), ("target_distribution", str), ("distribution", str), ("drop_negative", bool)) + shared.UNIT + (
    ("certified", int), ("optimistic", int), ("certificate", float), ("lower_bound", float),
    ("lower_bound_at_certified", float), ("certificate_at_optimistic", float),
    ("certificate_norms", float), ("certificate_norms_at_optimistic", float),
    ("exact_lower", float), ("exact_upper", float), ("exact_lower_at_optimistic", float),
    ("exact_upper_at_optimistic", float)) + shared.PROVENANCE
SUMMARY_COLUMNS = ("cell", "construction", "dims", "eps", "delta", "trials", "reached", "certified",
                   "optimistic", "fraction", "fraction_low", "fraction_high", "pensia_c_at_C1",
                   "pensia_C_needed", "malach_c_at_C1", "selection_explicit_c", "counting_lower_c",
                   "at_or_above_counting")
#: Summary column -> the bound of :data:`slth.bounds.BOUNDS` it holds (its candidates c at the cell).
BOUND_COLUMNS = {"pensia_c_at_C1": "pensia", "malach_c_at_C1": "malach",
                 "selection_explicit_c": "selection/frobenius", "counting_lower_c": "counting"}
#: Bootstrap resamples of the fits.
RESAMPLES = 2000


# --------------------------------------------------------------------------- schema and cells

def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The axes (construction, dims, eps, delta) and the settings of a width spec; problems noted."""
    axes = _axes(lists, problems)
    return axes, _settings(trials, axes.get("construction", []), problems)


def _axes(lists: dict, problems: list) -> dict:
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
        dims = (shared.dims(problems, v if isinstance(v, (str, list)) else str(v), f"[grid] dims {v!r}")
                for v in lists["dims"])
        axes["dims"] = [d for d in dims if d is not None]
    elif has_dl:
        ds = [shared.integer(problems, v, "[grid] d", 1, shared.MAX_WIDTH) for v in lists.get("d", [])]
        ls = [shared.integer(problems, v, "[grid] l", 1, shared.MAX_DEPTH) for v in lists.get("l", [])]
        if "d" not in lists or "l" not in lists:
            problems.append("[grid] needs both d and l (or dims)")
        axes["dims"] = [",".join([str(d)] * (l + 1)) for d in ds for l in ls if d is not None and l is not None]
    else:
        problems.append("[grid] needs dims, or d and l")
    for key in ("eps", "delta"):
        if key not in lists:
            problems.append(f"[grid] {key} is missing")
        axes[key] = [shared.unit(problems, v, f"[grid] {key}") for v in lists.get(key, [])]
    return axes


def _settings(trials: dict, cons: list, problems: list) -> dict:
    out = {}
    for key in ("target_distribution", "distribution"):
        value = trials.get(key, "gaussian" if key == "target_distribution" else "uniform")
        shared.one_of(problems, [value], f"[trials] {key}", nets.DISTRIBUTIONS)
        out[key] = value
    drop = trials.get("drop_negative", False)
    checks.collect(problems, checks.flag, "[trials] drop_negative", drop)
    out["drop_negative"] = drop
    exact = trials.get("exact", 0)
    checks.collect(problems, checks.nonnegative, "[trials] exact", exact)
    out["exact"] = exact
    out["exact_max_binaries"] = shared.integer(problems, trials.get("exact_max_binaries", exact_mod.MAX_BINARIES),
                                               "[trials] exact_max_binaries", 1, exact_mod.MAX_BINARIES)
    if isinstance(exact, (int, float)) and not isinstance(exact, bool) and exact > 0 \
            and (message := extras.missing("pyscipopt", "[trials] exact (SCIP)")):
        problems.append(message)
    out["c_max"] = shared.c_max(problems, trials.get("c_max"), cons)
    return out


def cells(axes: dict, settings: dict):
    """(key, params) of every cell: the axes crossed, each with its construction's c_max."""
    for params in shared.crossed(axes):
        params["c_max"] = settings["c_max"][params["construction"]]
        yield "{construction} dims={dims} eps={eps!r} delta={delta!r}".format(**params), params


def estimate(spec, cell) -> budget.Estimate:
    """Peak memory of the cell: its width search peaks at c_max (:func:`slth.budget.prune`)."""
    p, s = cell.params, spec.settings
    network = budget.network_for(p["construction"], nets.parse_dims(p["dims"]), p["c_max"],
                                 distribution=s["distribution"], drop_negative=s["drop_negative"])
    return budget.prune(p["construction"], network)


# --------------------------------------------------------------------------- rows

def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    """One row per trial (see the module docstring)."""
    return [_row(spec, cell, t, meta) for t in trials]


def _row(spec, cell, t: int, meta: dict) -> dict:
    p, s = cell.params, spec.settings
    seed = spec.seed + t
    dims = nets.parse_dims(p["dims"])
    start = time.perf_counter()
    target = nets.random_target(dims, key=jax.random.key(seed), distribution=s["target_distribution"])
    tw = trial_width(p["construction"], target, seed=seed, eps=p["eps"], c_max=p["c_max"],
                     distribution=s["distribution"], drop_negative=s["drop_negative"])
    brackets = _exact(p, s, target, seed, tw)
    wall = time.perf_counter() - start
    return {**shared.base_row(spec, cell, t), "construction": p["construction"], "dims": p["dims"],
            "d": max(dims), "l": len(dims) - 1, "eps": p["eps"], "delta": p["delta"], "c_max": p["c_max"],
            "target_distribution": s["target_distribution"], "distribution": s["distribution"],
            "drop_negative": s["drop_negative"], "certified": tw.certified, "optimistic": tw.optimistic,
            "certificate": None if tw.certified is None else float(tw.certificates[tw.certified]),
            "lower_bound": None if tw.optimistic is None else float(tw.lower_bounds[tw.optimistic]),
            # both ends for the same ticket: the search always bounds the certified ticket from below
            # and certifies every ticket it builds
            "lower_bound_at_certified": None if tw.certified is None else float(tw.lower_bounds[tw.certified]),
            "certificate_at_optimistic": None if tw.optimistic is None else float(tw.certificates[tw.optimistic]),
            # docs/theory.md §3's product of norms at the same two tickets, for comparison with the certificate
            "certificate_norms": None if tw.certified is None else float(tw.norm_certificates[tw.certified]),
            "certificate_norms_at_optimistic": (None if tw.optimistic is None
                                                else float(tw.norm_certificates[tw.optimistic])),
            **brackets, "wall_s": round(wall, 4), **meta}


def _exact(p: dict, s: dict, target, seed: int, tw) -> dict:
    """The exact error's bracket of the certified and the optimistic ticket of a trial (columns
    ``exact_lower``, ``exact_upper`` and their ``_at_optimistic`` twins; None where not computed)."""
    out = dict.fromkeys(("exact_lower", "exact_upper", "exact_lower_at_optimistic", "exact_upper_at_optimistic"))
    if not s["exact"]:
        return out
    dims = nets.parse_dims(p["dims"])
    done = {}
    for c, suffix in ((tw.certified, ""), (tw.optimistic, "_at_optimistic")):
        if c is None:
            continue
        net = network_spec(p["construction"], nets.RandomSpec(dims=dims, candidates=c, seed=seed,
                                                              distribution=s["distribution"],
                                                              drop_negative=s["drop_negative"]))
        if exact_mod.size(net) > s["exact_max_binaries"]:
            continue
        if c not in done:
            done[c] = exact_mod.exact_error(constructions.build(p["construction"], target, net),
                                            time_limit=float(s["exact"]))
        out[f"exact_lower{suffix}"], out[f"exact_upper{suffix}"] = done[c].lower, done[c].upper
    return out


# --------------------------------------------------------------------------- summary

def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """The summary of a width table (see :func:`width_summary`)."""
    return width_summary(rows)


def width_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per-cell lines, the fits (JSON-ready) and a printable report for a width table."""
    table = []
    for key, cell_rows in shared.group(rows).items():
        r0 = cell_rows[0]
        dims, eps, delta = tuple(r0["dims"]), float(r0["eps"]), float(r0["delta"])
        t = len(cell_rows)
        certified, k = quantile_width([r["certified"] for r in cell_rows], delta)
        optimistic, _ = quantile_width([r["optimistic"] for r in cell_rows], delta)
        low, high = fraction_interval(k, t)
        line = {column: _candidates(bounds.bound(name).at(dims, eps, delta))
                for column, name in BOUND_COLUMNS.items()}
        counting = line["counting_lower_c"]
        line.update({
            "cell": key, "construction": r0["construction"], "dims": ",".join(map(str, dims)), "eps": eps,
            "delta": delta, "trials": t, "reached": sum(r["certified"] is not None for r in cell_rows),
            "certified": certified, "optimistic": optimistic, "fraction": k / t,
            "fraction_low": low, "fraction_high": high,
            "pensia_C_needed": None if certified is None else certified / bounds.LOG_BOUND.log_term(dims, eps, delta),
            "at_or_above_counting": None if counting is None or certified is None else certified >= counting,
        })
        table.append({column: line[column] for column in SUMMARY_COLUMNS})
    fitted, fit_lines = _fits(rows)
    return table, fitted, _text(table) + "\n" + "\n".join(fit_lines)


def _candidates(width):
    return None if width is None else width.candidates


def _fits(rows: list[dict]) -> tuple[dict, list[str]]:
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
                    paper = ", ".join(f"{v} {pl.exponents[v]} ({paper_exponent(construction, v)})"
                                      for v in pl.variables)
                    lines.append(f"{construction}, power law (certified widths): exponents {paper}; "
                                 f"A = {pl.A}; {pl.n_cells} cells, {pl.n_resamples} bootstrap resamples"
                                 + (f", {pl.undefined_fraction:.1%} undefined" if pl.undefined_fraction else ""))
            except InputError as e:
                entry[f"power_law_{which}"] = {"error": str(e)}
                if which == "certified":
                    lines.append(f"{construction}, power law: not fitted ({e.args[0].splitlines()[0]})")
    return out, lines


def paper_exponent(construction: str, variable: str) -> str:
    """What the construction's companion bound (its registry entry) says about an exponent of the
    power law: Malach et al.'s form, a logarithm (exponent 0 in the limit), or no paper value."""
    companion = (constructions.companion(construction) if construction in constructions.REGISTRY
                 else bounds.theory.NONE)
    return companion.paper_exponent(variable)


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
            variants.setdefault(r["cell"], set()).add(_settings_of(r))
    merged: dict = {}
    for rows in tables:
        for r in rows:
            settings = _settings_of(r)
            cell = r["cell"] if len(variants[r["cell"]]) == 1 else f"{r['cell']} {settings}"
            merged.setdefault((cell, r["seed"]), {**r, "cell": cell})
    rows = list(merged.values())
    fitted, lines = _fits(rows)
    cells = len({r["cell"] for r in rows})
    return fitted, f"joint fits over {len(tables)} tables, {cells} cells, {len(rows)} trials:\n" + "\n".join(lines)


#: The optional ``joint_fits(tables)`` of the kind interface: fits over several folders of this kind.
joint_fits = joint_width_fits


def _settings_of(r: dict) -> tuple:
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


def _text(table: list[dict]) -> str:
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
