"""The separation study: the unit (one method on one (d, c) cell), the grid of units, their dataclasses.

:func:`row_for` is the unit a sweep runs; :func:`separation` (``slth separation``) runs the grid with it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence

import numpy as np

from slth import checks, constructions, nets, precision, provenance
from slth.errors import InputError
from slth.studies.separation.estimators import CONFIDENCE, INTERVAL, l2_error, target_l2_norm
from slth.studies.separation.methods import EXACT_MAX_UNITS, METHODS, WEIGHT_METHODS, _fit
from slth.studies.separation.samplers import INPUTS, _cell, _Cell, matched_units

#: ``separation()`` with no arguments: a quick run (well under a minute on a 2-core CPU).
DEFAULTS = dict(d_values=(2, 4, 8, 16), candidates=(1, 2, 4, 8), inputs="gaussian", n_train=4000,
                n_test=4000, seed=0, exact_max_units=12, distribution="uniform")


@dataclasses.dataclass(frozen=True)
class SeparationRow:
    """One method on one (d, c) cell.

    Attributes:
      method: one of :data:`METHODS`. d: input dimension. inputs: input law. candidates: c, which sets
        the budget. distribution: the random weights' entry law. seed: the cell's seed.
      random_params: the budget, the weight-pruning network's random parameters 2cd(d+1) + 4c.
      params: this method's random network's parameters (h(d+1) for the neuron methods, the budget
        for weight pruning). hidden_units: h (neuron methods) or h_1 = 2cd (weight pruning).
      kept_params: parameters the method keeps (all h(d+1) for random features, whose output weights
        are refitted, not pruned). n_train, n_test: sample sizes.
      train_l2: empirical L2 error on the training sample.
      test_l2, test_l2_low, test_l2_high: L2 error on the test sample with its interval (:data:`INTERVAL`).
      relative, relative_low, relative_high: the same divided by ‖f‖_L2 = sqrt(1/(2d)).
      sup_bound: the certificate, a proven bound on sup_{‖x‖<=1} |f − g| (weight pruning), else None.
      sup_observed: max over the test sample of |f(x) − g(x)| / ‖x‖, a lower bound on that sup.
      wall_s: seconds for this method's fit and evaluation (compilation on a shape's first use included;
        the shared sampling excluded).
    """

    method: str
    d: int
    inputs: str
    candidates: int
    distribution: str
    seed: int
    random_params: int
    params: int
    hidden_units: int
    kept_params: int
    n_train: int
    n_test: int
    train_l2: float
    test_l2: float
    test_l2_low: float
    test_l2_high: float
    relative: float
    relative_low: float
    relative_high: float
    sup_bound: float | None
    sup_observed: float
    wall_s: float

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _row(method, cell: _Cell, *, inputs, seed, distribution) -> SeparationRow:
    start = time.perf_counter()
    predict, params, hidden, kept, cert = _fit(method, cell, seed=seed, distribution=distribution)
    train_res = cell.y_train - predict(cell.x_train)
    test_res = cell.y_test - predict(cell.x_test)
    wall = time.perf_counter() - start
    est = l2_error(test_res)
    norm = target_l2_norm(cell.d)
    sup_obs = float(np.max(np.abs(test_res) / np.maximum(np.linalg.norm(cell.x_test, axis=1), 1e-300)))
    return SeparationRow(
        method=method, d=cell.d, inputs=inputs, candidates=cell.c, distribution=distribution, seed=seed,
        random_params=cell.budget, params=params, hidden_units=hidden, kept_params=kept,
        n_train=cell.y_train.size, n_test=cell.y_test.size,
        train_l2=float(math.sqrt(np.mean(train_res**2))),
        test_l2=est.value, test_l2_low=est.low, test_l2_high=est.high,
        relative=est.value / norm, relative_low=est.low / norm, relative_high=est.high / norm,
        sup_bound=cert, sup_observed=sup_obs, wall_s=wall)


def _check(methods, d_values, candidates, *, inputs, seed, n_train, n_test, exact_max_units,
           distribution) -> None:
    """Every argument check, before any sampling or tracing."""
    for name, values in (("methods", methods), ("d_values", d_values), ("candidates", candidates)):
        if len(values) == 0:
            raise InputError(f"{name} is empty; give at least one value")
    for m in methods:
        checks.choice("method", m, METHODS)
    checks.choice("inputs", inputs, INPUTS)
    nets.check_distribution(distribution)
    checks.seed("seed", seed)
    for d in d_values:
        checks.integer("d", d, low=1)
    for c in candidates:
        checks.integer("candidates c", c, low=1)
        for m in methods:
            if m in WEIGHT_METHODS:
                constructions.check_candidates(m, int(c), what="candidates c")
    checks.integer("n_train", n_train, low=1)
    checks.integer("n_test", n_test, low=2)
    checks.integer("exact_max_units", exact_max_units, low=0, high=EXACT_MAX_UNITS)
    for d in d_values:
        for c in candidates:
            _, h = matched_units(int(d), int(c))
            if "random-features" in methods and n_train < h:
                raise InputError(f"n_train {n_train} is below the h = {h} hidden units of d = {d}, c = {c}: "
                                 "least squares for random features needs n_train >= h")


@precision.float64
def row_for(method: str, d: int, c: int, *, inputs: str = DEFAULTS["inputs"], seed: int = DEFAULTS["seed"],
            n_train: int = DEFAULTS["n_train"], n_test: int = DEFAULTS["n_test"],
            distribution: str = DEFAULTS["distribution"]) -> SeparationRow:
    """One method on one (d, c) cell: the study's unit, from which both :func:`separation` and a
    ``separation`` sweep build every row. The same arguments give the same row (``wall_s`` aside).
    In float64: JAX's 64-bit mode is on for the call (:mod:`slth.precision`).

    Raises:
      InputError: bad arguments (see :func:`separation`), or ``neuron-exact`` with more than
        :data:`EXACT_MAX_UNITS` hidden units, before any work.
    """
    _check((method,), (d,), (c,), inputs=inputs, seed=seed, n_train=n_train, n_test=n_test,
           exact_max_units=EXACT_MAX_UNITS, distribution=distribution)
    if method == "neuron-exact" and matched_units(d, c)[1] > EXACT_MAX_UNITS:
        raise InputError(f"neuron-exact at d = {d}, c = {c} has h = {matched_units(d, c)[1]} hidden units, "
                         f"above {EXACT_MAX_UNITS} (2^h subsets are enumerated)")
    cell = _cell(int(d), int(c), inputs=inputs, seed=int(seed), n_train=int(n_train), n_test=int(n_test))
    return _row(method, cell, inputs=inputs, seed=int(seed), distribution=distribution)


@dataclasses.dataclass(frozen=True)
class SeparationReport:
    """Rows of :func:`separation`, ordered by d, then c, then :data:`METHODS`, with its settings."""

    rows: tuple[SeparationRow, ...]
    settings: dict
    wall_s: float
    provenance: dict

    def to_json(self) -> dict:
        return {"experiment": "separation", **self.settings, "interval": INTERVAL, "confidence": CONFIDENCE,
                "rows": [r.to_json() for r in self.rows], "wall_s": self.wall_s, **self.provenance}


@precision.float64
def separation(d_values: Sequence[int] = DEFAULTS["d_values"], candidates: Sequence[int] = DEFAULTS["candidates"],
               *, inputs: str = DEFAULTS["inputs"], n_train: int = DEFAULTS["n_train"],
               n_test: int = DEFAULTS["n_test"], seed: int = DEFAULTS["seed"],
               exact_max_units: int = DEFAULTS["exact_max_units"], methods: Sequence[str] = METHODS,
               distribution: str = DEFAULTS["distribution"], progress=None) -> SeparationReport:
    """Neuron pruning (and its random-features relaxation) versus weight pruning on one ReLU neuron,
    at matched random-parameter budgets (docs/theory.md §4.4; Malach et al. 2020 §3; Yehudai & Shamir 2019).

    For every d and c: budget = 2cd(d+1) + 4c random parameters for weight pruning, h = ⌊budget/(d+1)⌋
    hidden units for the neuron methods; ``neuron-exact`` only where h <= ``exact_max_units``. Every
    row is :func:`row_for`'s, the unit a sweep runs. In float64 (:mod:`slth.precision`'s scope).

    Args:
      d_values: input dimensions, integers >= 1. candidates: c per block and sign, integers >= 1
        (subset-sum caps it, see :data:`slth.constructions.MAX_CANDIDATES`).
      inputs: one of :data:`INPUTS`. n_train: >= h of every cell when random features run.
      n_test: >= 2. seed: in [0, 2**63). exact_max_units: in [0, :data:`EXACT_MAX_UNITS`].
      methods: a subset of :data:`METHODS`. distribution: random weights' law, a key of
        :data:`slth.nets.DISTRIBUTIONS`. progress: optional callable(done, total) per row.
    Returns:
      A :class:`SeparationReport`.
    Raises:
      InputError: naming the bad argument, its value and what is allowed, before any work.
    """
    d_values, candidates, methods = tuple(d_values), tuple(candidates), tuple(methods)
    _check(methods, d_values, candidates, inputs=inputs, seed=seed, n_train=n_train, n_test=n_test,
           exact_max_units=exact_max_units, distribution=distribution)
    start = time.perf_counter()
    order = [m for m in METHODS if m in methods]
    cells = [(int(d), int(c)) for d in d_values for c in candidates]
    plan = {dc: [m for m in order if m != "neuron-exact" or matched_units(*dc)[1] <= exact_max_units]
            for dc in cells}
    total, rows = sum(map(len, plan.values())), []
    for d, c in cells:
        for m in plan[(d, c)]:
            rows.append(row_for(m, d, c, inputs=inputs, seed=int(seed), n_train=int(n_train), n_test=int(n_test),
                                distribution=distribution))
            if progress is not None:
                progress(len(rows), total)
    settings = dict(d_values=list(map(int, d_values)), candidates=list(map(int, candidates)), inputs=inputs,
                    n_train=int(n_train), n_test=int(n_test), seed=int(seed), exact_max_units=int(exact_max_units),
                    methods=order, distribution=distribution)
    return SeparationReport(tuple(rows), settings, time.perf_counter() - start, provenance.record())
