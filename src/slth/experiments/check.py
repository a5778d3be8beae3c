"""``slth check``: one measured minimal width beside every bound of docs/theory.md §4, with the ratios.

"Does the bound hold, and how loose is it?" For a construction, target widths, ε and δ, it measures
the smallest candidates per block and sign at which a 1 − δ fraction of T random networks yield
ε-tickets (certified, and the optimistic end from the adversarial lower bound), then evaluates the
width bounds at the same (dims, ε, δ): Pensia et al.'s logarithmic width at C = 1 together with the C
the measurement needs, Malach et al.'s polynomial form at C = 1, the selection construction's explicit
union bound, and the counting lower bound. Every number is in the same unit (candidates per block and
sign, slth's layout), so the ratio bound / measured reads directly as "how loose".
"""

from __future__ import annotations

import dataclasses
import time

from slth import bounds, budget, constructions, nets
from slth import provenance
from slth.bounds import pensia_log_term  # noqa: F401  (its home before slth.bounds; kept as an alias)
from slth.measure.width import MinWidth, min_width, trial_target

#: ``slth check`` with no arguments: the README's main job, about 15 s on an idle 2-core machine.
DEFAULTS = dict(construction="subset-sum", dims="16,16,16", eps=0.01, delta=0.1, trials=20, seed=0)


@dataclasses.dataclass(frozen=True)
class BoundRow:
    """One bound evaluated at the checked (dims, ε, δ).

    Attributes:
      name: the bound. kind: see :data:`slth.bounds.KINDS`. constant: the C used (None: explicit).
      candidates: c per block and sign (a float for the lower bound). hidden_width: h_1.
      random_params: the random network size. ratio: candidates / measured certified c (None when
        the measurement did not reach ε within c_max). note: what the row assumes.
    """

    name: str
    kind: str
    constant: float | None
    candidates: float
    hidden_width: float
    random_params: float
    ratio: float | None
    note: str


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """A measurement and the bounds beside it. ``pensia_C_needed`` is the C at which Pensia et al.'s
    form ⌈C ln(max_i d_{i-1} d_i · l / min(ε, δ))⌉ equals the measured certified width (the constant
    this one measurement asks for; ``slth run`` sweeps fit it with an interval). ``outside``: for
    each bound with an assumption slth does not enforce (:attr:`slth.bounds.Bound.outside`, e.g. Malach
    et al.'s entrywise one), its value per trial target (<= 1: inside the theorem's class)."""

    measured: MinWidth
    bounds: tuple[BoundRow, ...]
    pensia_C_needed: float | None
    wall_s: float
    provenance: dict
    outside: dict = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        m = self.measured
        return {
            "construction": m.construction, "dims": list(m.dims), "skips": list(m.skips), "eps": m.eps,
            "delta": m.delta,
            "trials": len(m.trials), "seed": m.seed, "c_max": m.c_max,
            "measured": {
                "certified": m.certified, "optimistic": m.optimistic, "fraction": m.fraction,
                "fraction_interval": list(m.fraction_interval), "random_params": m.random_params,
                "exact": m.exact,
                "per_trial": [{"seed": t.seed, "certified": t.certified, "optimistic": t.optimistic,
                               "exact": t.exact,
                               "exact_brackets": {str(c): list(b) for c, b in t.exact_brackets.items()}}
                              for t in m.trials],
            },
            "bounds": [dataclasses.asdict(b) for b in self.bounds],
            "pensia_C_needed": self.pensia_C_needed,
            "outside": {name: list(v) for name, v in self.outside.items()},
            "wall_s": self.wall_s,
            **self.provenance,
        }


def check(construction: str = DEFAULTS["construction"], dims=DEFAULTS["dims"], eps: float = DEFAULTS["eps"],
          delta: float = DEFAULTS["delta"], *, trials: int = DEFAULTS["trials"], seed: int = DEFAULTS["seed"],
          c_max: int | None = None, progress=None, exact: float | None = None, skips=()) -> CheckReport:
    """Measure :func:`slth.measure.min_width` and evaluate every bound at the same arguments.

    Args: as :func:`slth.measure.min_width`; ``progress``: optional callable(done, total) per trial;
      ``exact``: a time limit per ticket (seconds) for the exact width (:mod:`slth.measure.exact`);
      ``skips``: a residual target's (:mod:`slth.nets.residual`; the bounds printed beside it are the
      bias-free chain's, whose assumptions a residual target does not meet, and the table says so).
    Returns: a :class:`CheckReport`.
    Raises: :class:`slth.budget.BudgetError` before any work when the search at ``c_max`` would not fit
    in memory (:func:`slth.budget.check_width`).
    """
    # The search peaks at its largest c: refuse it now if that does not fit, not after the first trials.
    budget.check_width([construction], dims, c_max=c_max)
    start = time.perf_counter()
    measured = min_width(construction, dims, eps, delta, trials=trials, seed=seed, c_max=c_max,
                         progress=progress, exact=exact, skips=skips)
    wall = time.perf_counter() - start
    dims = measured.dims
    ref = measured.certified
    x = bounds.LOG_BOUND.log_term(dims, eps, delta)

    def row(w: bounds.Width, note: str) -> BoundRow:
        return BoundRow(w.name, w.kind, w.constant, w.candidates, w.hidden_widths[0], w.random_params,
                        None if ref is None else w.candidates / ref, note)

    rows = [row(w, b.note) for b in bounds.BOUNDS for w in [b.at(dims, eps, delta)] if w is not None]
    targets = [trial_target(dims, t.seed) for t in measured.trials]
    outside = {b.name: tuple(b.outside(w) for w in targets) for b in bounds.BOUNDS if b.outside is not None}
    return CheckReport(measured, tuple(rows), None if ref is None else ref / x, wall, provenance.record(),
                       outside)


def _num(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.3g}" if v < 1e6 else f"{v:.3e}"
    return f"{int(v):,}" if abs(v) < 1e12 else f"{v:.3e}"


def format_report(r: CheckReport) -> str:
    """The side-by-side table ``slth check`` prints."""
    m = r.measured
    t = len(m.trials)
    need = t - sum(x.certified is None for x in m.trials)
    dims = "-".join(map(str, m.dims))
    spec = (constructions.spec_for(m.construction, nets.RandomSpec(dims=m.dims, candidates=m.certified, seed=m.seed,
                                                                   skips=m.skips)) if m.certified else None)
    lines = [
        f"slth check: {m.construction}, target {dims} (l = {len(m.dims) - 1}"
        f"{', skips ' + ','.join(map(str, m.skips)) + ': the bounds below assume no skip' if m.skips else ''}), "
        f"ε = {m.eps:g}, δ = {m.delta:g}, "
        f"{t} trials (seeds {m.seed}..{m.seed + t - 1}), c searched in [1, {m.c_max}]",
        "",
        f"  {'':34s} {'c per block':>14s} {'hidden h_1':>15s} {'random params':>16s} {'bound / measured':>17s}",
    ]

    def line(label, c, h, p, ratio):
        lines.append(f"  {label:34s} {_num(c):>14s} {_num(h):>15s} {_num(p):>16s} {_num(ratio):>17s}")

    if spec:
        line("measured, certified", m.certified, spec.hidden_widths()[0], spec.random_params(), 1.0)
    else:
        line(f"measured, certified (> {m.c_max})", None, None, None, None)
    if m.optimistic:
        opt = constructions.spec_for(m.construction, nets.RandomSpec(dims=m.dims, candidates=m.optimistic,
                                                                     seed=m.seed, skips=m.skips))
        line("measured, optimistic", m.optimistic, opt.hidden_widths()[0], opt.random_params(),
             m.optimistic / m.certified if m.certified else None)
    else:
        line(f"measured, optimistic (> {m.c_max})", None, None, None, None)
    searched_exact = any(t.exact_brackets for t in m.trials)
    if m.exact:
        ex = constructions.spec_for(m.construction, nets.RandomSpec(dims=m.dims, candidates=m.exact, seed=m.seed))
        line("measured, exact", m.exact, ex.hidden_widths()[0], ex.random_params(),
             m.exact / m.certified if m.certified else None)
    elif searched_exact:
        line("measured, exact (not proven)", None, None, None, None)
    for b in r.bounds:
        label = b.name + (f" (C = {b.constant:g})" if b.constant is not None else f" ({b.kind})")
        line(label, b.candidates, b.hidden_width, b.random_params, b.ratio)
    lines += [
        "",
        f"  certified: the smallest c at which >= {1 - m.delta:.0%} of the trials have certificate <= ε; "
        f"{round(m.fraction * t)}/{t} = {m.fraction:.2f} do at that c",
        f"             (95% Clopper-Pearson interval [{m.fraction_interval[0]:.3f}, {m.fraction_interval[1]:.3f}]); "
        f"{need}/{t} trials reach ε within c_max",
        "  optimistic: the same with the adversarial lower bound in place of the certificate",
    ]
    if searched_exact:
        lines.append("  exact: the same with the exact error's proven upper end (slth.measure.exact, relative "
                     "tolerance 1e-3), searched between the two")
    if r.pensia_C_needed is not None:
        lines.append(f"  pensia: the measurement needs C = {r.pensia_C_needed:.3f} "
                     f"(measured c / ln(max d_(i-1) d_i · l / min(ε, δ)) = {m.certified} / "
                     f"{m.certified / r.pensia_C_needed:.3f})")
    for b in r.bounds:
        lines.append(f"  {b.name}: {b.note}")
        values = r.outside.get(b.name, ())
        if any(v > 1 for v in values):
            lines.append(f"    its theorem also assumes {bounds.bound(b.name).assumption}:")
            lines.append(f"    {sum(v > 1 for v in values)} of {len(values)} targets here are outside that class "
                         f"(up to {max(values):.3g}), so this row compares with a theorem whose hypotheses they "
                         "do not meet")
    at_limit = [name for name, c in (("certified", m.certified), ("optimistic", m.optimistic)) if c == m.c_max]
    if at_limit:
        lines.append(f"  NOTE: the {' and '.join(at_limit)} width equals the search limit c_max = {m.c_max}: the "
                     "quantile's trial needed the whole range, and trials needing more read as not reached; "
                     "a larger --c-max shows how far above it the other trials lie")
    if m.certified is not None and any(b.kind == "lower-bound" and b.candidates > m.certified for b in r.bounds):
        lines.append("  FINDING: the measured width is below the counting lower bound")
    lines.append(f"  wall time {r.wall_s:.1f} s on {r.provenance['device']}, slth at {r.provenance['git_revision']}")
    return "\n".join(lines)


__all__ = ["DEFAULTS", "BoundRow", "CheckReport", "check", "format_report", "pensia_log_term"]

