"""The planted-ticket study's unit: one row per (method, kept fraction) of a search for a ticket planted in a random network, or per (construction, c) of the explicit constructions of the same target.

Trial seed s: the target is ``nets.random_target(dims, seed=s)`` (spectral norm 1 per layer), planted
into a random network of hidden ``widths`` with ``plant(target, widths, seed=s)``; the searches draw
from seed s too (their own streams), and the reference constructions prune the 2l-deep random network
``RandomSpec(dims, c, seed=s)``. The planted ticket, built before any search, is a row of its own
(method ``planted``): its error is 0 to round-off, which is the check that the planting is exact.

Every row gives the adversarial lower bound (:func:`slth.measure.lower_bound`, the key
``lower_bound_key(s)``) and a certificate: for a mask of the planted network the telescoping bound of
:func:`slth.studies.planted.certificate`, sound for any mask; for a reference construction the
registry's certificate. Precision and recall compare a found mask with the planted one, edge by edge.
A search runs at ``keep`` = factor × the planted fraction of weights kept (factor >= 1: at the planted
sparsity and above).
"""

from __future__ import annotations

import functools
import time

import numpy as np

from slth import checks, constructions, measure, nets, pipeline, precision
from slth.studies.planted import certify, planting, search

#: The searches a row can run on the planted network, by name.
SEARCHES = {"edge-popup": search.edge_popup, "imp": search.imp_search}
#: The method name of the planted ticket itself.
PLANTED = "planted"


@functools.lru_cache(maxsize=4)
@precision.float64
def planted(dims: tuple[int, ...], widths: tuple[int, ...], seed: int) -> planting.Planted:
    """The target of ``seed`` planted in the random network of hidden ``widths`` (once per process)."""
    target = nets.random_target(dims, seed=checks.seed("seed", seed))
    return planting.plant(target, widths, seed=seed)


def _fractions(mask) -> tuple[int, int, tuple[float, ...]]:
    kept = [int(np.count_nonzero(m)) for m in mask]
    sizes = [int(np.size(m)) for m in mask]
    return sum(kept), sum(sizes), tuple(round(k / n, 6) for k, n in zip(kept, sizes))


def planted_fraction(p: planting.Planted) -> float:
    """Fraction of the planted network's weights the planted ticket keeps."""
    kept, total, _ = _fractions(p.mask)
    return kept / total


@precision.float64
def search_row(dims, widths, method: str, factor: float, seed: int, **options) -> dict:
    """The ticket ``method`` finds at ``keep`` = ``factor`` × the planted fraction (capped at 1), or the
    planted ticket itself (``method="planted"``, factor ignored): its fraction kept, error (lower bound
    and certificate) and precision and recall against the planted mask. ``options`` go to the search."""
    checks.choice("method", method, [PLANTED, *SEARCHES])
    p = planted(tuple(dims), tuple(widths), seed)
    start = time.perf_counter()
    if method == PLANTED:
        mask, keep = p.mask, planted_fraction(p)
    else:
        keep = min(1.0, checks.positive("factor", factor) * planted_fraction(p))
        mask = SEARCHES[method](p, keep, seed=seed, **options)
    pruned = [np.asarray(w) * np.asarray(m) for w, m in zip(p.network, mask)]
    lb = measure.lower_bound(p.target, pruned, key=measure.lower_bound_key(seed))
    precision_, recall = planting.precision_recall(mask, p.mask)
    kept, total, per_layer = _fractions(mask)
    return {"method": method, "factor": 1.0 if method == PLANTED else float(factor), "c": 0, "keep": keep,
            "kept_params": kept, "network_params": total, "fraction_kept": kept / total,
            "fraction_kept_per_layer": per_layer, "planted_fraction": planted_fraction(p),
            "lower_bound": lb.value, "certificate": certify.certificate(p, mask), "precision": precision_,
            "recall": recall, "search_s": time.perf_counter() - start}


@precision.float64
def reference_row(dims, widths, construction: str, c: int, seed: int) -> dict:
    """The explicit construction's ticket of the same target (its own 2l-deep random network with c
    candidates per block and sign): fraction kept, lower bound and certificate; no planted mask to
    compare with (precision and recall are NaN)."""
    constructions.check_candidates(construction, c)
    p = planted(tuple(dims), tuple(widths), seed)
    start = time.perf_counter()
    pruned = pipeline.prune(construction, p.target, nets.RandomSpec(dims=tuple(dims), candidates=c, seed=seed))
    kept, total, per_layer = _fractions(pruned.ticket.masks)
    return {"method": construction, "factor": float("nan"), "c": c, "keep": kept / total, "kept_params": kept,
            "network_params": total, "fraction_kept": kept / total, "fraction_kept_per_layer": per_layer,
            "planted_fraction": planted_fraction(p), "lower_bound": float(pruned.meta["lower_bound"]),
            "certificate": float(pruned.meta["certificate"]), "precision": float("nan"),
            "recall": float("nan"), "search_s": time.perf_counter() - start}


# --------------------------------------------------------------------------- one run, as slth plant prints it

@precision.float64
def plant_table(dims, widths, *, searches=tuple(SEARCHES), factors=(1.0, 2.0, 4.0), seed: int = 0,
                progress=None) -> list[dict]:
    """The planted ticket's row, then every search at every factor (:func:`search_row`).
    ``progress``: optional callable(done, total) after each row."""
    for s in searches:
        checks.choice("search", s, SEARCHES)
    factors = [checks.positive("factor", f) for f in factors]
    planted(tuple(dims), tuple(widths), seed)            # the planting's checks, before any search
    units = [(PLANTED, 1.0)] + [(s, f) for s in searches for f in factors]
    rows = []
    for done, (method, f) in enumerate(units, 1):
        rows.append(search_row(dims, widths, method, f, seed))
        if progress is not None:
            progress(done, len(units))
    return rows


def format_table(dims, widths, rows: list[dict], *, seed: int) -> str:
    """The table ``slth plant`` prints: one line per ticket."""
    net = "-".join(map(str, [dims[0], *widths, dims[-1]]))
    lines = [f"slth plant: random target {'-'.join(map(str, dims))} (spectral norm 1 per layer, seed {seed}) planted in "
             f"a random network {net} ({rows[0]['network_params']:,} weights); the planted ticket keeps "
             f"{rows[0]['planted_fraction']:.2%} of the weights",
             "",
             f"  {'method':10s} {'x planted':>9s} {'fraction kept':>13s} {'lower bound':>11s} {'certificate':>11s} "
             f"{'precision':>9s} {'recall':>7s} {'time':>7s}"]
    for r in rows:
        lines.append(f"  {r['method']:10s} {r['factor']:>9g} {r['fraction_kept']:>13.4f} {r['lower_bound']:>11.3g} "
                     f"{r['certificate']:>11.3g} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['search_s']:>6.1f}s")
    lines += ["", "  sup_{|x|<=1} |f(x) - g(x)|_2 lies between the lower bound (adversarial search) and the certificate",
              "  (telescoping against the planted ticket, sound for any mask); precision and recall: the found mask's",
              "  edges against the planted ones. fraction kept: kept weights / all weights of the random network."]
    return "\n".join(lines)
