"""The coverage sweep kind: the covering radius of random subset-sum blocks versus the number of candidates c.

Spec (docs/theory.md §4.2)::

    kind = "coverage"
    [grid]
    c = [4, 8, 12, 16]
    distribution = ["uniform"]           # the law of the random network's entries
    values = ["products", "samples"]     # optional (default products): candidates a = v·|u| as in a
                                         # block (docs/theory.md §2.4), or plain samples v (Lueker's setting)
    [trials]
    count = 200
    seed = 0
    [summary]
    eps = [0.1, 0.01]                    # optional: report the width each ε needs, fit Lueker's C

A cell draws all its trials in one batch (:func:`candidates`, certified by
:func:`slth.subset_sum.coverage`). The summary, per cell (c): quantiles of the covering radius η* and,
per ε, the smallest c of the grid at which a 1 − ε fraction of blocks are ε-dense (Lueker's
statement) and the constant C = c / ln(2/ε) it implies.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from slth import budget, nets, subset_sum
from slth.experiments.kinds import _shared as shared

NAME = "coverage"
GRID = ("c", "distribution", "values")
TRIALS = ("count", "seed")
GRID_TABLES = ()
#: All trials of a cell are drawn and certified at once.
BATCHED = True
ADVICE = "lower its c or [trials] count"

#: Candidate values of a cell: block products a = v·|u| (docs/theory.md §2.4) or plain samples v.
VALUES = ("products", "samples")
#: Largest c a cell takes (all 2^c subset sums are enumerated).
MAX_C = 24

COLUMNS = shared.SWEEP + (("c", int), ("distribution", str), ("values", str)) + shared.UNIT + (
    ("eta", float),) + shared.PROVENANCE
SUMMARY_COLUMNS = ("cell", "c", "distribution", "values", "trials", "eta_median", "eta_q90", "eta_max")


# --------------------------------------------------------------------------- schema and cells

def check(grid: dict, lists: dict, trials: dict, problems: list) -> tuple[dict, dict]:
    """The axes (c, distribution, values) of a coverage spec; no settings beyond count and seed."""
    if "c" not in lists:
        problems.append("[grid] c is missing")
    cs = []
    for v in lists.get("c", []):
        c = shared.integer(problems, v, "[grid] c", 1, shared.MAX_C)
        if c is not None and c > MAX_C:
            problems.append(f"[grid] c {c} is above {MAX_C} (all 2^c subset sums are enumerated)")
        cs.append(c)
    dists = shared.laws(problems, lists)
    values = lists.get("values", ["products"])
    shared.one_of(problems, values, "[grid] values", VALUES)
    return {"c": cs, "distribution": dists, "values": values}, {}


def cells(axes: dict, settings: dict):
    """(key, params) of every cell: the axes crossed."""
    for params in shared.crossed(axes):
        yield "c={c} distribution={distribution} values={values}".format(**params), params


def estimate(spec, cell) -> budget.Estimate:
    """Peak memory of the cell: its trials' 2^c sums, chunked (:func:`slth.budget.coverage`)."""
    return budget.coverage(cell.params["c"], spec.trials)


# --------------------------------------------------------------------------- rows

def candidates(seed: int, c: int, distribution: str, values: str = "products") -> np.ndarray:
    """The c candidates of one random block and sign: a_r = v_r·|u_r| with u_r, v_r i.i.d. from
    ``distribution`` (the law of a candidate in the block structure, docs/theory.md §2), or with
    ``values="samples"`` the plain draws v_r (Lueker's setting); candidate r is drawn from
    ``split(fold_in(key(seed), r))``, so the lists are nested prefixes in c and the samples are the
    v factors of the products. (:func:`candidate_lists` for one seed.)"""
    return candidate_lists([seed], c, distribution, values)[0]


def candidate_lists(seeds, c: int, distribution: str, values: str = "products") -> np.ndarray:
    """:func:`candidates` of every seed, (len(seeds), c): one batched draw, op by op as JAX runs it eagerly,
    so each list is the same bits as drawn alone (tests/test_sweep_kinds.py) for every law, where compiling
    the draw would fuse operations and change the hyperbolic law's last bits; a draw per trial cost 3-7 ms
    of JAX's dispatching, most of a large coverage sweep's time."""
    law = nets.DISTRIBUTIONS[distribution]
    products = values == "products"

    def one(seed, r):
        k_u, k_v = jax.random.split(jax.random.fold_in(jax.random.key(seed), r))
        v = law(k_v, (), jnp.float64)
        return v * jnp.abs(law(k_u, (), jnp.float64)) if products else v

    draws = jax.vmap(lambda seed: jax.vmap(lambda r: one(seed, r))(jnp.arange(c)))
    return np.asarray(draws(jnp.asarray(seeds, dtype=jnp.int64)))


def rows(spec, cell, trials: list[int], meta: dict) -> list[dict]:
    """The rows of ``trials`` of the cell: η* of each trial's candidate list, certified in one batch."""
    c, dist, values = cell.params["c"], cell.params["distribution"], cell.params["values"]
    start = time.perf_counter()
    cands = candidate_lists([spec.seed + t for t in trials], c, dist, values)
    eta = subset_sum.coverage(cands)
    wall = (time.perf_counter() - start) / len(trials)
    return [{**shared.base_row(spec, cell, t), "c": c, "distribution": dist, "values": values, "eta": float(e),
             "wall_s": round(wall, 4), **meta} for t, e in zip(trials, eta)]


# --------------------------------------------------------------------------- summary

def summary(spec, rows: list[dict]) -> tuple[list[dict], dict, str]:
    """The summary of a coverage table at the spec's [summary] eps (see :func:`coverage_summary`)."""
    return coverage_summary(rows, spec.summary_eps)


def coverage_summary(rows: list[dict], summary_eps=()) -> tuple[list[dict], dict, str]:
    """Per-c quantiles of the covering radius, and Lueker's constant per ε (see the module docstring)."""
    table = []
    for key, cell_rows in shared.group(rows).items():
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
