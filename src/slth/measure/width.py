"""The smallest width that reaches ε: bisection per random network over nested candidate prefixes,
then the (1 − δ) quantile over independent networks, with an exact binomial interval.

Trial t uses seed s = seed + t for both the target (drawn from ``key(s)``) and the random network,
exactly as ``slth prune --seed s`` does, so every trial can be rebuilt and verified on its own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import jax

from slth import constructions, nets, precision
from slth import checks
from slth.measure.deep import ticket_certificate, ticket_lower_bound, ticket_maps, ticket_norm_certificate

#: Confidence level of the Clopper-Pearson interval reported for the success fraction.
CONFIDENCE = 0.95


def fraction_interval(k: int, n: int) -> tuple[float, float]:
    """The Clopper-Pearson interval (level :data:`CONFIDENCE`) of a success fraction k / n.

    scipy.stats is imported here, not with this module: it takes about 0.4 s, which every command that
    imports the measurement but reports no fraction (``slth prune``, ``verify``, most sweeps) would pay."""
    import scipy.stats

    ci = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return float(ci.low), float(ci.high)


@dataclasses.dataclass(frozen=True)
class TrialWidth:
    """One random network's widths.

    Attributes:
      seed: the trial's seed (target and network).
      certified: smallest c found whose ticket has certificate <= ε; None if the search finds none
        up to c_max.
      optimistic: smallest c found whose ticket has adversarial lower bound <= ε (the optimistic end:
        no width below it can be an ε-ticket by this search's evidence); None if c_max does not.
      certificates: {c: certificate} for every c the certified search evaluated (the tighter
        certificate, :func:`~slth.measure.ticket_certificate`); lower_bounds: {c: lower bound} for every
        c the optimistic search evaluated (a subset: the ascent is only run where that search needs it).
      norm_certificates: {c: docs/theory.md §3's product-of-norms certificate} at the same c as ``certificates``,
        for comparison (:func:`~slth.measure.ticket_norm_certificate`).
      exact: with an exact search (``trial_width(..., exact=seconds)``), the smallest c between the
        optimistic and the certified width whose exact error (:mod:`slth.measure.exact`) is proven
        <= ε (its upper end), found by bisection; None without one or when no c is proven.
      exact_brackets: {c: (lower, upper)} of every exact error that search computed.
    """

    seed: int
    certified: int | None
    optimistic: int | None
    certificates: dict
    lower_bounds: dict
    norm_certificates: dict = dataclasses.field(default_factory=dict)
    exact: int | None = None
    exact_brackets: dict = dataclasses.field(default_factory=dict)


def _smallest(pred, hi: int) -> int:
    """Smallest c in [1, hi] with pred(c), by bisection, given pred(hi). Assumes pred is monotone in
    c, as nested candidate prefixes make the per-weight errors (docs/theory.md §5.5); whatever happens, the
    returned c satisfies pred(c) and, when c > 1, not pred(c − 1)."""
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return hi


def shape_bucket(c: int, c_max: int) -> int:
    """The width whose shapes evaluate c: the next power of two >= c, capped at c_max. The width
    search compiles once per bucket (about log2(c_max) + 1 of them), not once per c.

    >>> [shape_bucket(c, 23) for c in (1, 2, 3, 5, 16, 17, 23)]
    [1, 2, 4, 8, 16, 23, 23]
    """
    return min(c_max, 1 << max(0, c - 1).bit_length())


@precision.float64
def trial_width(construction: str, target: Sequence, *, seed: int, eps: float, c_max: int = 64,
                distribution: str | None = None, drop_negative: bool = False,
                exact: float | None = None, geometry: str | None = None, skips: tuple = ()) -> TrialWidth:
    """Certified and optimistic minimal candidates per block for one target and one random stream.

    Every width evaluated is a prefix of the same stream (``RandomSpec`` nests candidate lists), so
    the search is a bisection of about log2(c_max) ticket builds, not a scan. Width c is evaluated
    in the network of width :func:`shape_bucket` (c, c_max) restricted to its first c candidates per
    block and sign, which is the width-c ticket exactly (the other units are pruned), so repeated
    searches reuse a handful of compiled shapes. The network has the layout the construction prunes
    (:func:`network_spec`), and certificate and lower bound are those of that layout. A construction
    that does not promise monotonicity (docs/theory.md §5.5; its registry properties) gets an upward scan
    over c = 1..c_max for the certified width instead of the bisection, so ``certified`` is the
    smallest certifying c there too (c_max builds at most, each cheap next to one lower bound).
    With ``exact`` (a time limit per ticket, seconds), the exact width is searched between the two by
    bisection on "the exact error's upper end is <= ε" (:class:`TrialWidth`). Every ticket is built and
    measured with JAX's 64-bit mode on (:mod:`slth.precision`), as by ``slth prune``.

    With ``geometry`` (a CNN target's geometry as text, :meth:`slth.nets.conv.Geometry.text`), ``target``
    is that CNN's explicit layers (``random_conv_target(geometry, seed=seed).layers()``, as ``slth prune
    --target-kind conv`` draws it) and the random network is the ``conv`` layout of that geometry
    (:mod:`slth.nets.layouts.conv`): c is then the candidates per kernel entry and sign. A construction
    that does not prune that layout is refused by :func:`network_spec` before any build.

    With ``skips`` the target is residual (:mod:`slth.nets.residual`) and so is the random network.
    """
    dims = nets.dims_of(target)
    distribution = default_distribution(construction, distribution)
    certs, lbs, norms = {}, {}, {}
    network = {} if geometry is None else {"layout": nets.layouts.conv.LAYOUT.name, "geometry": geometry}
    network |= {"skips": tuple(skips)} if skips else {}

    def build(c):
        spec = network_spec(construction, nets.RandomSpec(
            dims=dims, candidates=shape_bucket(c, c_max), seed=seed, distribution=distribution,
            drop_negative=drop_negative, **network))
        ticket = constructions.build(construction, target, spec, active=c)
        maps = ticket_maps(ticket)
        if c not in certs:
            certs[c] = ticket_certificate(ticket, maps)
            norms[c] = ticket_norm_certificate(ticket, maps)
        return ticket, maps

    def cert(c):
        if c not in certs:
            build(c)
        return certs[c]

    def lower(c):  # the ascent costs more than a build: run it only where the optimistic search asks
        if c not in lbs:
            ticket, maps = build(c)
            lbs[c] = ticket_lower_bound(ticket, maps).value
        return lbs[c]

    if "monotonicity" in constructions.info(construction).properties:
        certified = _smallest(lambda c: cert(c) <= eps, c_max) if cert(c_max) <= eps else None
    else:  # no docs/theory.md §5.5 promise, so no bisection: the certificate may dip below ε and rise again
        certified = next((c for c in range(1, c_max + 1) if cert(c) <= eps), None)
    top = certified or c_max
    optimistic = _smallest(lambda c: lower(c) <= eps, top) if lower(top) <= eps else None
    brackets, exact_c = {}, None
    if exact is not None and certified is not None:
        from slth.measure import exact as exact_mod       # SCIP loads only when asked for

        def proven(c):
            if c not in brackets:
                e = exact_mod.exact_error(build(c)[0], time_limit=exact)
                brackets[c] = (e.lower, e.upper)
            return brackets[c][1] <= eps

        # the certified ticket's certificate is <= ε, so its exact upper end is too (the exact method's
        # upper end never exceeds the certificate); below the optimistic width a witnessed gap exceeds ε
        lo = optimistic or 1
        exact_c = lo - 1 + _smallest(lambda k: proven(lo - 1 + k), certified - lo + 1) \
            if proven(certified) else None
    return TrialWidth(seed, certified, optimistic, dict(sorted(certs.items())), dict(sorted(lbs.items())),
                      dict(sorted(norms.items())), exact_c, dict(sorted(brackets.items())))


def layout_of(construction: str) -> str:
    """The random-network layout construction ``construction`` prunes (a key of :data:`slth.nets.LAYOUTS`):
    its registry entry's ``layout``."""
    return constructions.info(construction).layout


def network_spec(construction: str, spec: nets.RandomSpec) -> nets.RandomSpec:
    """``spec`` (dims, candidates, seed, law, dtype) in the layout construction ``construction``
    prunes, its law left as given (:func:`slth.constructions.spec_for` with ``law=False``: a wrong law
    is refused by the build, not rewritten). Raises InputError where the settings do not apply to that
    layout (drop_negative with ``l+1``)."""
    return constructions.spec_for(construction, spec, law=False)


def default_distribution(construction: str, distribution: str | None) -> str:
    """The random weight law to use: ``distribution`` if given, else the one the construction's
    theorem assumes (its registry entry's ``distribution``), else U[-1, 1]."""
    return distribution or constructions.info(construction).distribution or "uniform"


def quantile_width(widths: Sequence[int | None], delta: float) -> tuple[int | None, int]:
    """Smallest c at which at least a (1 − δ) fraction of the trials reach ε: the ⌈(1 − δ) T⌉-th
    smallest per-trial width (None counts as infinite). Returns (c or None, trials reaching ε at c).

    >>> quantile_width([3, 5, None, 4], 0.25)
    (5, 3)
    """
    t = len(widths)
    need = max(1, math.ceil(round((1 - delta) * t, 9)))
    ordered = sorted(math.inf if w is None else w for w in widths)
    c = ordered[need - 1]
    if c == math.inf:
        return None, sum(w != math.inf for w in ordered)
    return int(c), sum(w <= c for w in ordered)


@dataclasses.dataclass(frozen=True)
class MinWidth:
    """The measured minimal width of a construction for (ε, δ) over T independent random networks.

    ``certified`` is the smallest c (candidates per block and sign) at which at least a 1 − δ fraction
    of the trials have a ticket with certificate <= ε; ``optimistic`` the same for the lower bound.
    ``fraction`` is the fraction of trials certified at ``certified`` with its exact (Clopper-Pearson)
    interval at :data:`CONFIDENCE`; ``random_params`` the random network size at ``certified``.
    """

    construction: str
    dims: tuple
    eps: float
    delta: float
    seed: int
    c_max: int
    certified: int | None
    optimistic: int | None
    fraction: float
    fraction_interval: tuple
    random_params: int | None
    trials: tuple
    exact: int | None = None
    skips: tuple = ()


def trial_target(dims, seed: int, distribution: str = "gaussian") -> tuple:
    """The target of the trial with seed ``seed`` in `min_width` (drawn from ``key(seed)``)."""
    return nets.random_target(dims, key=jax.random.key(seed), distribution=distribution)


@precision.float64
def min_width(construction: str, dims, eps: float, delta: float, *, trials: int, seed: int = 0,
              c_max: int | None = None, target_distribution: str = "gaussian", distribution: str | None = None,
              drop_negative: bool = False, progress=None, exact: float | None = None, skips=()) -> MinWidth:
    """Measure the smallest number of candidates per block and sign that yields ε-tickets with
    probability >= 1 − δ (the quantity Theorem 1 of Pensia et al. 2020 bounds by C log(d² l / min(ε, δ))
    and Malach et al. 2020 by a polynomial), for random targets of widths ``dims``.

    Args:
      construction: a registered construction. dims: target widths (string or sequence).
      eps, delta: in (0, 1). trials: T >= 1 independent (target, network) pairs. seed: >= 0.
      c_max: >= 1, the largest width searched (default: the construction's search_limit in the registry).
      progress: optional callable(done, total), called after every trial.
      exact: a time limit per ticket (seconds) to also search the exact width (:func:`trial_width`);
        ``MinWidth.exact`` is then its (1 − δ) quantile. The ticket size is checked against the exact
        method's limit first.
      skips: a residual target's skips (:mod:`slth.nets.residual`; "1,3" or a sequence), in the target and
        the random network alike.
      The rest: as ``slth prune``.
    Returns:
      MinWidth; ``certified`` None means c_max does not suffice for a 1 − δ fraction. Computed with JAX's
      64-bit mode on (:mod:`slth.precision`), as by ``slth check``.
    """
    constructions.get(construction)
    if c_max is None:
        c_max = constructions.search_limit(construction)
    dims = nets.parse_dims(dims)
    eps, delta = checks.open_unit("eps", eps), checks.open_unit("delta", delta)
    trials, c_max, seed = (checks.integer("trials", trials, low=1), checks.integer("c_max", c_max, low=1),
                           checks.seed("seed", seed))
    nets.check_distribution(target_distribution)
    distribution = default_distribution(construction, distribution)
    constructions.check_candidates(construction, c_max, what="c_max")
    skips = nets.residual.check(skips, dims)
    top = network_spec(construction, nets.RandomSpec(dims=dims, candidates=c_max, seed=seed, skips=skips,
                                                     distribution=distribution, drop_negative=drop_negative))
    if exact is not None:
        from slth.measure import exact as exact_mod
        exact_mod.check_affordable(dims, top, time_limit=exact)
    results = []
    for t in range(trials):
        s = seed + t
        target = trial_target(dims, s, target_distribution)
        results.append(trial_width(construction, target, seed=s, eps=eps, c_max=c_max,
                                   distribution=distribution, drop_negative=drop_negative, exact=exact,
                                   skips=skips))
        if progress is not None:
            progress(t + 1, trials)
    certified, k = quantile_width([r.certified for r in results], delta)
    optimistic, _ = quantile_width([r.optimistic for r in results], delta)
    ci = fraction_interval(k, trials)
    params = None if certified is None else network_spec(construction, nets.RandomSpec(
        dims=dims, candidates=certified, seed=seed, drop_negative=drop_negative, skips=skips)).random_params()
    exact_c = None if exact is None else quantile_width([r.exact for r in results], delta)[0]
    return MinWidth(construction, dims, float(eps), float(delta), seed, c_max, certified, optimistic,
                    k / trials, ci, params, tuple(results), exact_c, skips)
