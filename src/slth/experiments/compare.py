"""Every registered construction under the same check: measured width at one (dims, ε, δ) on the same
targets, ranked by random parameters, kept parameters and time (``slth check --construction all``).

Trial t of every construction uses the target and random-network seed ``seed + t`` (the target drawn
as in :func:`slth.measure.min_width`), so the constructions are compared on the same targets; each
builds its ticket in the random network its theorem assumes (:func:`slth.constructions.spec_for`:
the weight law, the layout). For each construction:

- the certified and optimistic widths (:func:`slth.measure.min_width`);
- at the certified width (or, if ε is not certified within c_max, at the optimistic width, flagged),
  every trial's ticket is built again: random parameters, kept parameters (mean over trials; the
  density kept / random), construction time (median over trials; compile time excluded by building
  once before timing) and the certificate and lower bound of those tickets (medians);
- the search's wall time.

Ranking: constructions that certify ε first, by random parameters, then by kept parameters; those that
reach ε only optimistically next; those that reach nothing last.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence

import jax

from slth import budget, constructions, measure, nets
from slth.errors import InputError
from slth import provenance


@dataclasses.dataclass(frozen=True)
class CompareRow:
    """One construction's line of the comparison (see the module docstring)."""

    construction: str
    cite: str
    certified: int | None
    optimistic: int | None
    width_used: int | None
    width_kind: str            # "certified", "optimistic" or "none"
    random_params: int | None
    kept_params: float | None
    density: float | None
    build_s: float | None
    certificate: float | None
    lower_bound: float | None
    search_s: float
    c_max: int
    certificate_at_ref: float | None = None
    lower_bound_at_ref: float | None = None


@dataclasses.dataclass(frozen=True)
class Comparison:
    dims: tuple
    eps: float
    delta: float
    trials: int
    seed: int
    rows: tuple[CompareRow, ...]
    provenance: dict
    reference_width: int | None = None

    def to_json(self) -> dict:
        return {"dims": list(self.dims), "eps": self.eps, "delta": self.delta, "trials": self.trials,
                "seed": self.seed, "reference_width": self.reference_width,
                "rows": [dataclasses.asdict(r) for r in self.rows], **self.provenance}


def _rank(r: CompareRow) -> tuple:
    order = {"certified": 0, "optimistic": 1, "none": 2}[r.width_kind]
    return (order, r.random_params if r.random_params is not None else float("inf"),
            r.kept_params if r.kept_params is not None else float("inf"), r.construction)


def compare(names: Sequence[str], dims, eps: float, delta: float, *, trials: int, seed: int = 0,
            c_max: dict | int | None = None, progress=None) -> Comparison:
    """Measure every construction of ``names`` at (dims, ε, δ) on the same T targets (see the module
    docstring). ``c_max``: one integer, a dict per construction, or None (each construction's default
    in :func:`slth.measure.min_width`). ``progress``: callable(done, total) over constructions.
    Raises :class:`slth.budget.BudgetError` before any work when the largest width searched (or
    measured at subset sum's certified width) would not fit in memory."""
    names = list(dict.fromkeys(names))
    if not names:
        raise InputError("compare needs at least one construction")
    for n in names:
        constructions.info(n)
    if isinstance(c_max, dict):
        unknown = sorted(set(c_max) - set(names))
        if unknown:
            raise InputError(f"c_max names constructions {unknown} that are not compared ({names})")
    dims = nets.parse_dims(dims)
    budget.check_width(names, dims, c_max=_searched(names, c_max))
    rows = []
    for i, name in enumerate(names):
        cm = c_max.get(name) if isinstance(c_max, dict) else c_max
        start = time.perf_counter()
        mw = measure.min_width(name, dims, eps, delta, trials=trials, seed=seed, c_max=cm)
        search = time.perf_counter() - start
        width, kind = ((mw.certified, "certified") if mw.certified is not None else
                       (mw.optimistic, "optimistic") if mw.optimistic is not None else (None, "none"))
        stats = _at_width(name, dims, width, trials, seed) if width is not None else {}
        rows.append(CompareRow(name, constructions.info(name).cite, mw.certified, mw.optimistic, width, kind,
                               stats.get("random_params"), stats.get("kept_params"), stats.get("density"),
                               stats.get("build_s"), stats.get("certificate"), stats.get("lower_bound"),
                               search, mw.c_max))
        if progress is not None:
            progress(i + 1, len(names))
    ref = next((r.certified for r in rows if r.construction == constructions.REFERENCE), None)
    if ref is not None:
        rows = [_with_reference(r, dims, ref, trials, seed) for r in rows]
    return Comparison(dims, float(eps), float(delta), trials, seed, tuple(sorted(rows, key=_rank)),
                      provenance.record(), ref)


def _searched(names: Sequence[str], c_max: dict | int | None) -> dict:
    """The largest c each construction is built at: its search's c_max, or subset sum's c_max where its
    tickets are also measured at subset sum's certified width (:func:`_with_reference`)."""
    def top(name):
        cm = c_max.get(name) if isinstance(c_max, dict) else c_max
        return constructions.search_limit(name) if cm is None else cm

    ref = top(constructions.REFERENCE) if constructions.REFERENCE in names else 0
    out = {}
    for name in names:
        entry = constructions.info(name)
        shares = entry.distribution is None and nets.layouts.is_default(entry.layout) and (entry.max_candidates or ref) >= ref
        out[name] = max(top(name), ref) if shares else top(name)
    return out


def _with_reference(row: CompareRow, dims, ref: int, trials: int, seed: int) -> CompareRow:
    """The row with its tickets' median certificate and lower bound at c = ``ref`` (subset sum's
    certified width) in the very same random networks, for the constructions that prune the default
    network (U[-1, 1] weights, 2l-deep layout): the error at equal size."""
    entry = constructions.info(row.construction)
    if entry.distribution is not None or not nets.layouts.is_default(entry.layout) or (entry.max_candidates or ref) < ref:
        return row
    if row.width_used == ref:
        return dataclasses.replace(row, certificate_at_ref=row.certificate, lower_bound_at_ref=row.lower_bound)
    stats = _at_width(row.construction, dims, ref, trials, seed)
    return dataclasses.replace(row, certificate_at_ref=stats["certificate"], lower_bound_at_ref=stats["lower_bound"])


def _at_width(name: str, dims, c: int, trials: int, seed: int) -> dict:
    from slth import pipeline

    kept, times, certs, lowers, params = [], [], [], [], None
    for t in range(trials):
        s = seed + t
        target = nets.random_target(dims, key=jax.random.key(s))
        spec = constructions.spec_for(name, nets.RandomSpec(dims=dims, candidates=c, seed=s))
        if t == 0:   # compile outside the timing
            jax.block_until_ready(constructions.build(name, target, spec).masks)
        start = time.perf_counter()
        ticket = constructions.build(name, target, spec)
        jax.block_until_ready(ticket.masks)
        times.append(time.perf_counter() - start)
        m = pipeline.measure_ticket(ticket)
        kept.append(m["live_params"])   # dead weights (slth.liveness) change nothing: not counted
        certs.append(m["certificate"])
        lowers.append(m["lower_bound"])
        params = m["random_params"]
    mean_kept = statistics.fmean(kept)
    return {"random_params": params, "kept_params": mean_kept, "density": mean_kept / params,
            "build_s": statistics.median(times), "certificate": statistics.median(certs),
            "lower_bound": statistics.median(lowers)}


def _num(v, fmt="{:,}") -> str:
    if v is None:
        return "-"
    return fmt.format(v)


def format_comparison(c: Comparison) -> str:
    """The ranked table ``slth check --construction all`` prints."""
    dims = "-".join(map(str, c.dims))
    lines = [f"slth check: every construction on the same {c.trials} targets {dims} (seeds {c.seed}.."
             f"{c.seed + c.trials - 1}), ε = {c.eps:g}, δ = {c.delta:g}; ranked by random parameters at "
             "the certified width, then kept parameters", "",
             f"  {'rank':>4s} {'construction':12s} {'certified':>9s} {'optimistic':>10s} {'random params':>14s} "
             f"{'kept params':>12s} {'density':>8s} {'build s':>8s} {'certificate':>11s} {'lower bd':>9s} "
             f"{'search s':>8s} {'cert@ref':>9s} {'lower@ref':>9s}"]
    for i, r in enumerate(c.rows, start=1):
        flag = "" if r.width_kind == "certified" else (" *" if r.width_kind == "optimistic" else "")
        cert = _num(r.certified) if r.certified is not None else f">{r.c_max}"
        opt = _num(r.optimistic) if r.optimistic is not None else f">{r.c_max}"
        lines.append(f"  {i:>4d} {r.construction:12s} {cert:>9s} {opt:>10s} {_num(r.random_params) + flag:>14s} "
                     f"{_num(r.kept_params, '{:,.0f}'):>12s} {_num(r.density, '{:.2%}'):>8s} "
                     f"{_num(r.build_s, '{:.3f}'):>8s} {_num(r.certificate, '{:.3g}'):>11s} "
                     f"{_num(r.lower_bound, '{:.3g}'):>9s} {r.search_s:>8.1f} "
                     f"{_num(r.certificate_at_ref, '{:.3g}'):>9s} {_num(r.lower_bound_at_ref, '{:.3g}'):>9s}")
    lines += ["",
              "  certified / optimistic: the smallest c (candidates per block and sign; copies for depth-l+1) at "
              f"which >= {1 - c.delta:.0%} of the trials have certificate / adversarial lower bound <= ε",
              "  random params, kept params (mean), density, build time (median), certificate and lower bound "
              "(medians): the trials' tickets at the certified width; kept params count only the kept weights that can "
              "change the output (dead weights excluded, slth.liveness)",
              "  * not certified within c max: measured at the optimistic width instead"]
    if c.reference_width is not None:
        lines.append(f"  cert@ref, lower@ref: certificate and lower bound (medians) at c = {c.reference_width}, subset sum's "
                     "certified width, in the same U[-1, 1] 2l-deep random networks (constructions that prune them)")
    lines += [f"  {r.construction}: {r.cite}" for r in c.rows]
    lines.append(f"  {c.provenance['device']}, slth at {c.provenance['git_revision']}")
    return "\n".join(lines)


__all__ = ["CompareRow", "Comparison", "compare", "format_comparison"]
