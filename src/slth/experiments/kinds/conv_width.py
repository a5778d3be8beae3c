"""The conv_width sweep kind: the measured minimal width of CNN tickets over channels and kernel size, beside da Cunha et al.'s bound.

Spec::

    kind = "conv_width"
    [grid]
    construction = ["subset-sum", "selection"]   # those that prune the conv layout
    image = ["1x4x4"]                    # C x H x W (or [1, 4, 4]) ...
    channels = [1, 2, 4]                 # one integer per convolution: 4, or "4,8" / [4, 8] for two
    kernel = [3]                         # odd k
    strides = ["2"]                      # optional: one per convolution (default: 1 for every one)
    classes = [2]
    # geometry = ["1x4x4:2:k3:s2:2"]     # ... or explicit geometries (not together with the five above)
    eps = [0.2]
    delta = [0.2]
    [trials]
    count = 10                           # T (target, network) pairs per cell; trial t uses seed + t
    seed = 0
    c_max = { subset-sum = 23, selection = 2048 }   # or one integer for every construction
    target_distribution = "gaussian"     # optional, these two are the defaults
    distribution = "uniform"

The grid's image, channels, kernel, strides and classes are crossed into geometries
(:class:`slth.nets.conv.Geometry`; a combination it refuses is a problem of the spec). A row is
:func:`slth.measure.trial_width` with ``geometry`` for trial t with seed s = seed + t: the CNN target
``random_conv_target(geometry, seed=s)`` and the ``conv`` random network of seed s, exactly as ``slth prune
--target-kind conv --seed s`` draws them; c is the candidates per kernel entry and sign. Each row also
holds the random network's size at the certified width: ``random_params`` (its explicit matrices, as
``RandomSpec.random_params``) and ``random_weights`` (the random CNN's own weights, tied copies counted
once: U·Σ_i (C_{i-1} + m_i), U = 2c hidden channels per input channel, m_i the kernel's parameters).

The summary, per cell: the certified and optimistic (1 − δ)-quantile widths, the fraction certified with
its Clopper-Pearson interval, da Cunha et al.'s width at C = 1 (:func:`slth.bounds.da_cunha_width`) and the
C the cell needs (certified width / :func:`slth.bounds.da_cunha_log_term`). Fits, per construction: the C
of c = C·ln(max_i m_i · ℓ / min(ε, δ)) with a stratified bootstrap interval, by
:func:`slth.measure.fit.fit_log_constant` (see :func:`log_cells` for how a CNN cell enters it).
"""

from __future__ import annotations

import itertools
import time


from slth import bounds, budget, constructions, nets
from slth.bounds import da_cunha
from slth.errors import InputError
from slth.experiments.kinds import _shared as shared
from slth.measure import fit as fits
from slth.measure.width import fraction_interval, network_spec, quantile_width, trial_width

NAME = "conv_width"
SHAPE = ("image", "channels", "kernel", "strides", "classes")
GRID = ("construction", "geometry") + SHAPE + ("eps", "delta")
TRIALS = ("count", "seed", "c_max", "target_distribution", "distribution")
#: [grid] keys that may be a table instead of a list: none.
GRID_TABLES = ()
#: Trials of a cell run one by one.
BATCHED = False
ADVICE = "lower its c_max, channels or image"
#: Bootstrap resamples of the fits.
RESAMPLES = 2000

COLUMNS = shared.SWEEP + (
    ("construction", str), ("geometry", str), ("image", str), ("channels", tuple), ("kernel", int),
    ("strides", tuple), ("classes", int), ("layers", int), ("kernel_params_max", int), ("eps", float),
    ("delta", float), ("c_max", int), ("target_distribution", str), ("distribution", str)) + shared.UNIT + (
    ("certified", int), ("optimistic", int), ("certificate", float), ("lower_bound", float),
    ("lower_bound_at_certified", float), ("certificate_at_optimistic", float), ("random_params", int),
    ("random_weights", int), ("target_weights", int)) + shared.PROVENANCE
SUMMARY_COLUMNS = ("cell", "construction", "geometry", "channels", "kernel", "eps", "delta", "trials", "reached",
                   "certified", "optimistic", "fraction", "fraction_low", "fraction_high", "log_term",
                   "da_cunha_c_at_C1", "da_cunha_C_needed", "random_params", "random_weights")


# --------------------------------------------------------------------------- schema and cells

def conv_constructions() -> list[str]:
    """The registered constructions that prune the ``conv`` layout (asked of the registry through
    :func:`slth.constructions.spec_for`, which refuses the others)."""
    g = nets.conv.Geometry((1, 1, 1), (1,), 1, (1,), 1)
    probe = nets.RandomSpec(dims=g.dims(), candidates=1, seed=0, layout=nets.layouts.conv.LAYOUT.name,
                            geometry=g.text())
    out = []
    for name in constructions.CONSTRUCTIONS:
        try:
            constructions.spec_for(name, probe, law=False)
        except InputError:
            continue
        out.append(name)
    return out


def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The axes (construction, geometry, eps, delta) and the settings of a conv_width spec; problems noted."""
    axes: dict = {}
    allowed = conv_constructions()
    cons = lists.get("construction")
    if cons is None:
        problems.append("[grid] construction is missing")
    else:
        shared.one_of(problems, cons, "[grid] construction", allowed)
        axes["construction"] = [c for c in cons if c in allowed]
    axes["geometry"] = _geometries(lists, problems)
    for key in ("eps", "delta"):
        if key not in lists:
            problems.append(f"[grid] {key} is missing")
        axes[key] = [shared.unit(problems, v, f"[grid] {key}") for v in lists.get(key, [])]
    return axes, _settings(trials, axes.get("construction", []), problems)


def _geometries(lists: dict, problems: list) -> list[str]:
    """Canonical geometry texts: the [grid] geometry list, or image × channels × kernel × strides × classes."""
    given = [k for k in SHAPE if k in lists]
    if "geometry" in lists:
        if given:
            problems.append(f"[grid] gives geometry and {given}: use either geometry, or {list(SHAPE)}")
            return []
        texts = [v if isinstance(v, str) else repr(v) for v in lists["geometry"]]
        return [g for g in (_geometry(problems, f"[grid] geometry {t!r}", lambda t=t: nets.conv.Geometry.parse(t))
                            for t in texts) if g is not None]
    missing = [k for k in SHAPE if k not in lists and k != "strides"]
    if missing:
        problems.append(f"[grid] needs geometry, or image, channels, kernel and classes (strides optional); "
                        f"missing {missing}")
        return []
    images = [_numbers(problems, v, "[grid] image", sep="x") for v in lists["image"]]
    channels = [_numbers(problems, v, "[grid] channels") for v in lists["channels"]]
    strides = [_numbers(problems, v, "[grid] strides") for v in lists["strides"]] if "strides" in lists else [None]
    out = []
    for image, chans, k, s, classes in itertools.product(images, channels, lists["kernel"], strides,
                                                         lists["classes"]):
        if image is None or chans is None or (s is None and "strides" in lists):
            continue
        s = (1,) * len(chans) if s is None else s
        where = f"[grid] image {image} channels {chans} kernel {k!r} strides {s} classes {classes!r}"
        g = _geometry(problems, where, lambda: nets.conv.Geometry(image, chans, k, s, classes))
        if g is not None:
            out.append(g)
    return out


def _numbers(problems: list, value, where: str, sep: str = ","):
    """An int, a text ``"4,8"`` (``"1x8x8"`` with sep x) or a list of ints as a tuple; None with the problem noted."""
    try:
        if isinstance(value, str):
            return tuple(int(p) for p in value.split(sep))
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return tuple(value)
    except ValueError:
        pass
    problems.append(f"{where} {value!r} must be an integer, a list of integers or a text like "
                    f"{'1x8x8' if sep == 'x' else '4,8'}")
    return None


def _geometry(problems: list, where: str, make) -> str | None:
    """The canonical text of ``make()``'s geometry, within slth's explicit-matrix limit; None with the problem noted."""
    try:
        g = make()
    except InputError as e:
        problems.append(f"{where}: {e}")
        return None
    dims = g.dims()
    big = [i for i, (a, b) in enumerate(zip(dims, dims[1:]), start=1) if a * b > nets.conv.MAX_ENTRIES]
    if big:
        problems.append(f"{where}: target layer {big[0]} has an explicit matrix above slth's limit of "
                        f"{nets.conv.MAX_ENTRIES} entries; use a smaller image or fewer channels")
        return None
    return g.text()


def _settings(trials: dict, cons: list, problems: list) -> dict:
    out = {}
    for key, default in (("target_distribution", "gaussian"), ("distribution", "uniform")):
        out[key] = trials.get(key, default)
        shared.one_of(problems, [out[key]], f"[trials] {key}", nets.DISTRIBUTIONS)
    out["c_max"] = shared.c_max(problems, trials.get("c_max"), cons)
    return out


def cells(axes: dict, settings: dict):
    """(key, params) of every cell: the axes crossed, each with its construction's c_max."""
    for params in shared.crossed(axes):
        params["c_max"] = settings["c_max"][params["construction"]]
        yield "{construction} geometry={geometry} eps={eps!r} delta={delta!r}".format(**params), params


def network(construction: str, geometry: str, c: int, seed: int = 0, distribution: str = "uniform"):
    """The ``conv`` random network of ``geometry`` that ``construction`` prunes at width c (as the rows draw it)."""
    g = nets.conv.Geometry.parse(geometry)
    return network_spec(construction, nets.RandomSpec(dims=g.dims(), candidates=c, seed=seed, distribution=distribution,
                                                      layout=nets.layouts.conv.LAYOUT.name, geometry=g.text()))


def estimate(spec, cell) -> budget.Estimate:
    """Peak memory of the cell: its width search peaks at c_max (:func:`slth.budget.prune` of that network)."""
    p = cell.params
    return budget.prune(p["construction"], network(p["construction"], p["geometry"], p["c_max"],
                                                   distribution=spec.settings["distribution"]))


# --------------------------------------------------------------------------- rows

def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    """One row per trial (see the module docstring)."""
    return [_row(spec, cell, t, meta) for t in trials]


def random_weights(spec: nets.RandomSpec, geometry) -> int:
    """The random CNN's own weights (each tied weight once): U·Σ_i (C_{i-1} + m_i), U hidden channels per
    input channel (the 1×1 layer's C_{i-1}·U, the k×k layer's m_i·U)."""
    units = nets.layouts.layout(spec).units_per_block(spec, 1)
    chans = (geometry.image[0],) + geometry.channels
    return units * sum(c + m for c, m in zip(chans, da_cunha.kernel_params(geometry)))


def _row(spec, cell, t: int, meta: dict) -> dict:
    p, s = cell.params, spec.settings
    seed = spec.seed + t
    g = nets.conv.Geometry.parse(p["geometry"])
    start = time.perf_counter()
    target = nets.conv.random_conv_target(g, seed=seed, distribution=s["target_distribution"]).layers()
    tw = trial_width(p["construction"], target, seed=seed, eps=p["eps"], c_max=p["c_max"],
                     distribution=s["distribution"], geometry=g.text())
    net = None if tw.certified is None else network(p["construction"], g.text(), tw.certified, seed,
                                                    s["distribution"])
    m = da_cunha.kernel_params(g)
    wall = time.perf_counter() - start
    return {**shared.base_row(spec, cell, t), "construction": p["construction"], "geometry": g.text(),
            "image": "x".join(map(str, g.image)), "channels": ",".join(map(str, g.channels)), "kernel": g.kernel,
            "strides": ",".join(map(str, g.strides)), "classes": g.classes, "layers": len(m),
            "kernel_params_max": max(m), "eps": p["eps"], "delta": p["delta"], "c_max": p["c_max"],
            "target_distribution": s["target_distribution"], "distribution": s["distribution"],
            "certified": tw.certified, "optimistic": tw.optimistic,
            "certificate": None if tw.certified is None else float(tw.certificates[tw.certified]),
            "lower_bound": None if tw.optimistic is None else float(tw.lower_bounds[tw.optimistic]),
            "lower_bound_at_certified": None if tw.certified is None else float(tw.lower_bounds[tw.certified]),
            "certificate_at_optimistic": None if tw.optimistic is None else float(tw.certificates[tw.optimistic]),
            "random_params": None if net is None else net.random_params(),
            "random_weights": None if net is None else random_weights(net, g), "target_weights": sum(m),
            "wall_s": round(wall, 4), **meta}


# --------------------------------------------------------------------------- summary

def _geometry_of(row: dict) -> nets.conv.Geometry:
    return nets.conv.Geometry.parse(row["geometry"])


def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per-cell lines, the fits (JSON-ready) and a printable report."""
    table = []
    for key, cell_rows in shared.group(rows).items():
        r0 = cell_rows[0]
        g, eps, delta, t = _geometry_of(r0), float(r0["eps"]), float(r0["delta"]), len(cell_rows)
        certified, k = quantile_width([r["certified"] for r in cell_rows], delta)
        optimistic, _ = quantile_width([r["optimistic"] for r in cell_rows], delta)
        low, high = fraction_interval(k, t)
        x = bounds.da_cunha_log_term(g, eps, delta)
        net = None if certified is None else network(r0["construction"], g.text(), certified)
        table.append({
            "cell": key, "construction": r0["construction"], "geometry": g.text(),
            "channels": ",".join(map(str, g.channels)), "kernel": g.kernel, "eps": eps, "delta": delta, "trials": t,
            "reached": sum(r["certified"] is not None for r in cell_rows), "certified": certified,
            "optimistic": optimistic, "fraction": k / t, "fraction_low": low,
            "fraction_high": high, "log_term": x,
            "da_cunha_c_at_C1": bounds.da_cunha_width(g, eps, delta).candidates,
            "da_cunha_C_needed": None if certified is None else certified / x,
            "random_params": None if net is None else net.random_params(),
            "random_weights": None if net is None else random_weights(net, g)})
    fitted, lines = _fits(rows)
    return table, fitted, _text(table) + "\n" + "\n".join(lines)


def log_cells(rows: list[dict], which: str = "certified") -> list[fits.Cell]:
    """The cells of a conv_width table as :func:`slth.measure.fit.fit_log_constant` reads them. That fitter
    takes the log term of a cell from its dims (Pensia et al.'s ln(max_i d_{i-1} d_i · l / min(ε, δ))), so a
    CNN cell enters with the stand-in dims (M, 1, ..., 1), ℓ + 1 entries, M = max_i m_i: their Pensia term is
    ln(M ℓ / min(ε, δ)), da Cunha et al.'s (checked here, bit for bit). The fit is the same code as the MLP
    width fits', not a second fitter."""
    out = []
    for key, cell_rows in shared.group(rows).items():
        r0 = cell_rows[0]
        g, eps, delta = _geometry_of(r0), float(r0["eps"]), float(r0["delta"])
        m = da_cunha.kernel_params(g)
        stand_in = (max(m),) + (1,) * len(m)
        if bounds.pensia_log_term(stand_in, eps, delta) != bounds.da_cunha_log_term(g, eps, delta):
            raise AssertionError(f"the stand-in dims {stand_in} do not carry da Cunha et al.'s log term")
        out.append(fits.Cell(key, stand_in, eps, delta, tuple(r[which] for r in cell_rows)))
    return out


def _fits(rows: list[dict]) -> tuple[dict, list[str]]:
    out: dict = {}
    lines = []
    for construction in dict.fromkeys(r["construction"] for r in rows):
        sub = [r for r in rows if r["construction"] == construction]
        entry = out.setdefault(construction, {})
        for which in ("certified", "optimistic"):
            try:
                lc = fits.fit_log_constant(log_cells(sub, which), n_resamples=RESAMPLES)
            except InputError as e:
                entry[f"log_constant_{which}"] = {"error": str(e)}
                lines.append(f"{construction}, da Cunha et al.'s C ({which} widths): not fitted ({e})")
                continue
            entry[f"log_constant_{which}"] = {
                "C": _interval(lc.C), "C_cover": _interval(lc.C_cover), "n_cells": lc.n_cells,
                "n_resamples": lc.n_resamples, "seed": lc.seed, "undefined_fraction": lc.undefined_fraction,
                "points": [{"cell": c, "x": x, "c": w} for c, x, w in lc.points]}
            lines.append(f"{construction}, da Cunha et al.'s C ({which} widths, c = C·ln(max_i k²C_(i-1)C_i · ℓ / "
                         f"min(ε, δ))): " + lc.summary().replace("\n", " "))
    return out, lines


def _interval(i: fits.Interval) -> dict:
    return {"estimate": i.estimate, "low": i.low, "high": i.high, "confidence": i.confidence}


def _text(table: list[dict]) -> str:
    def num(v):
        return "-" if v is None else f"{v:,}" if isinstance(v, int) else f"{v:.3g}"

    lines = [f"{'construction':12s} {'geometry':>22s} {'eps':>5s} {'delta':>5s} {'T':>3s} {'cert':>5s} {'opt':>5s} "
             f"{'frac [95% CI]':>18s} {'dC C=1':>6s} {'C needed':>8s} {'random weights':>14s}"]
    for r in table:
        frac = f"{r['fraction']:.2f} [{r['fraction_low']:.2f},{r['fraction_high']:.2f}]"
        lines.append(f"{r['construction']:12s} {r['geometry']:>22s} {r['eps']:>5g} {r['delta']:>5g} {r['trials']:>3d} "
                     f"{num(r['certified']):>5s} {num(r['optimistic']):>5s} {frac:>18s} "
                     f"{num(r['da_cunha_c_at_C1']):>6s} {num(r['da_cunha_C_needed']):>8s} "
                     f"{num(r['random_weights']):>14s}")
    return "\n".join(lines)
