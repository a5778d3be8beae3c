"""Neuron pruning versus weight pruning on one ReLU neuron, at equal numbers of random parameters.

THEORY §4.4 (Malach et al. 2020 §3; Yehudai & Shamir 2019). The target is a single neuron
f(x) = σ(⟨w*, x⟩) in dimension d with ‖w*‖ = 1, i.e. the depth-2 slth target of widths (d, 1, 1),
W_1 = w*ᵀ and W_2 = [[1]]. Inputs are x ~ N(0, I_d/d) (``"gaussian"``) or x uniform on the unit
sphere (``"sphere"``); under both laws ⟨w*, x⟩ is symmetric with variance 1/d, so
‖f‖_L2² = E[σ(⟨w*, x⟩)²] = 1/(2d) exactly (:func:`target_l2_norm`).

Methods, at one parameter budget (the size of the weight-pruning random network,
``RandomSpec(dims=(d, 1, 1), candidates=c).random_params()`` = 2cd(d+1) + 4c):

* ``random-features``: a random depth-2 net g(x) = Σ_r v_r σ(⟨u_r, x⟩) with h = ⌊budget/(d+1)⌋
  hidden units (h(d+1) random parameters), u_r and v_r i.i.d. from ``distribution``; the output
  weights are refitted freely by least squares on a training sample. Choosing any real output
  vector relaxes choosing a 0/1 mask over the fixed v_r, so on the same net and the same sample its
  training error lower-bounds every neuron-pruning training error (THEORY §5.7).
* ``neuron-greedy``: neuron pruning of the same net (same u_r, its own v_r): forward selection of
  whole units, each step adding the unit that lowers the empirical squared error most, stopping
  when no unit lowers it.
* ``neuron-exact``: the best of all 2^h subsets of units (h <= :data:`EXACT_MAX_UNITS`).
* ``subset-sum`` and ``selection``: weight pruning (THEORY §4.1-4.2) of the random network of
  ``RandomSpec(dims=(d, 1, 1), candidates=c, seed=seed)``; its certificate (THEORY §3) bounds the sup
  error over the unit ball.

Every method is scored on the same independent test sample: the L2 error sqrt(E[(f − g)²]) with a
95% CLT interval (:func:`l2_error`), the relative error L2 / ‖f‖_L2 (g = 0 scores 1 up to sampling
error), and, as the other end of the sup error, ``sup_observed`` = max over test points of
|f(x) − g(x)| / ‖x‖, a lower bound on sup_{‖x‖<=1} |f − g| (both f and g are positively homogeneous).

Randomness: JAX keys, all derived with ``fold_in`` from ``seed``. This module's streams live under
``fold_in(key(seed), STREAM)`` (target, neuron network, training and test samples, see
:func:`_keys`); the weight-pruning network is ``RandomSpec(seed=seed)``'s own stream
(``fold_in(key(seed), i)`` for pair i = 1, 2), which ``STREAM`` never equals. Hidden unit r of the
neuron network draws from ``fold_in(net_key, r)``, so a wider network extends a narrower one. The
same arguments give the same bits; everything after sampling is float64 NumPy/SciPy.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.stats

from slth import constructions, measure, nets
from slth.errors import InputError
from slth.experiments import provenance

#: The methods, in table order.
METHODS = ("random-features", "neuron-greedy", "neuron-exact", "subset-sum", "selection")
#: Methods that prune whole hidden units (or relax that) of the depth-2 random network.
NEURON_METHODS = ("random-features", "neuron-greedy", "neuron-exact")
#: Methods that prune weights of the 2l-deep random network (slth's constructions).
WEIGHT_METHODS = ("subset-sum", "selection")
#: Input laws: N(0, I_d/d) and uniform on the unit sphere.
INPUTS = ("gaussian", "sphere")
#: Most hidden units the exact neuron pruning enumerates (2^16 subsets, each scored in O(h²)).
EXACT_MAX_UNITS = 16
#: Confidence level of the L2 interval.
CONFIDENCE = 0.95
#: How the L2 interval is computed (recorded with every report).
INTERVAL = ("CLT normal interval on the mean squared error over the test sample, mse ± z·sd/√n, "
            "endpoints mapped through sqrt (lower end clipped at 0)")
#: Smallest candidate bucket of the weight-pruning builds (see :func:`weight_bucket`).
WEIGHT_BUCKET = 8
#: Tag of this module's key stream under key(seed); pairs of RandomSpec(seed) use fold_in 1..l.
STREAM = 0x5E9A
#: Near-ties of the Gram-form subset score within this fraction of ‖y‖² are rescored directly: for a
#: subset scoring near the minimum (so ‖a s‖ <= 2‖y‖) the Gram form's round-off is about
#: 10·h·2⁻⁵²·‖y‖², far below it, so the subset that is best when scored directly is among them.
_EXACT_TIE = 1e-9
_EXACT_RESCORE = 256
#: Units per compiled draw of the neuron network (see :func:`neuron_network`).
_CHUNK = 64

#: ``separation()`` with no arguments: a quick run (well under a minute on a 2-core CPU).
DEFAULTS = dict(d_values=(2, 4, 8, 16), candidates=(1, 2, 4, 8), inputs="gaussian", n_train=4000,
                n_test=4000, seed=0, exact_max_units=12, distribution="uniform")


# --------------------------------------------------------------------------- estimates

@dataclasses.dataclass(frozen=True)
class L2Estimate:
    """sqrt(E[r²]) estimated from n residuals r, with its interval [low, high] at ``confidence``."""

    value: float
    low: float
    high: float
    n: int
    confidence: float = CONFIDENCE


def l2_error(residuals, *, confidence: float = CONFIDENCE) -> L2Estimate:
    """L2 norm of a residual from samples: sqrt(mean r²), with a CLT interval (see :data:`INTERVAL`).

    Args:
      residuals: (n,) values f(x_i) − g(x_i) at i.i.d. inputs, n >= 2, finite.
      confidence: in (0, 1).
    Returns:
      L2Estimate(value, low, high, n).
    """
    r = np.asarray(residuals, np.float64).reshape(-1)
    if r.size < 2 or not np.all(np.isfinite(r)):
        raise InputError(f"l2_error needs at least 2 finite residuals; got {r.size} values, "
                         f"{int(r.size - np.isfinite(r).sum())} not finite")
    if not 0 < confidence < 1:
        raise InputError(f"confidence {confidence!r} must lie in (0, 1)")
    sq = r * r
    mse = float(sq.mean())
    half = float(scipy.stats.norm.ppf(0.5 + confidence / 2) * sq.std(ddof=1) / math.sqrt(sq.size))
    return L2Estimate(math.sqrt(mse), math.sqrt(max(mse - half, 0.0)), math.sqrt(mse + half), int(sq.size),
                      confidence)


def target_l2_norm(d: int) -> float:
    """‖f‖_L2 = sqrt(1/(2d)) for f = σ(⟨w*, ·⟩), ‖w*‖ = 1, under both input laws of :data:`INPUTS`
    (⟨w*, x⟩ is symmetric with E⟨w*, x⟩² = 1/d, and σ keeps half of the second moment)."""
    return math.sqrt(1.0 / (2 * d))


# --------------------------------------------------------------------------- budget

def weight_spec(d: int, c: int, *, seed: int, distribution: str = "uniform") -> nets.RandomSpec:
    """The weight-pruning random network for the (d, 1, 1) target with c candidates per block and sign."""
    return nets.RandomSpec(dims=(d, 1, 1), candidates=c, seed=seed, distribution=distribution)


def weight_bucket(method: str, c: int) -> int:
    """Candidates of the network a weight-pruning ticket with c candidates is built in: the power of
    two >= max(c, :data:`WEIGHT_BUCKET`), capped at the construction's limit. The ticket is that of
    ``RandomSpec(candidates=c)``, a nested prefix of the wider network, with the other units pruned
    (``constructions.build(..., active=c)``): the same function, compiled once per (d, bucket)."""
    limit = constructions.MAX_CANDIDATES[method]
    bucket = 1 << (max(c, WEIGHT_BUCKET) - 1).bit_length()
    return max(c, bucket if limit is None else min(bucket, limit))


def matched_units(d: int, c: int) -> tuple[int, int]:
    """(budget, h): the weight-pruning network's random parameters 2cd(d+1) + 4c and the hidden
    width h = ⌊budget/(d+1)⌋ of the depth-2 network with at most that many, h(d+1)."""
    budget = weight_spec(d, c, seed=0).random_params()
    return budget, budget // (d + 1)


# --------------------------------------------------------------------------- sampling

def _keys(seed: int) -> dict:
    root = jax.random.fold_in(jax.random.key(seed), STREAM)
    return {name: jax.random.fold_in(root, i) for i, name in enumerate(("target", "network", "train", "test"))}


def single_neuron_target(d: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(W_1, W_2) = (w*ᵀ of shape (1, d), [[1]]), w* uniform on the unit sphere (float64)."""
    w = np.asarray(jax.random.normal(_keys(seed)["target"], (d,), jnp.float64))
    return (w / np.linalg.norm(w))[None, :], np.ones((1, 1))


def sample_inputs(inputs: str, n: int, d: int, *, key) -> np.ndarray:
    """n i.i.d. inputs (n, d) of law ``inputs``: N(0, I_d/d) or uniform on the unit sphere."""
    z = np.asarray(jax.random.normal(key, (n, d), jnp.float64))
    if inputs == "gaussian":
        return z / math.sqrt(d)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def neuron_network(d: int, h: int, *, seed: int, distribution: str = "uniform") -> tuple[np.ndarray, np.ndarray]:
    """(u (h, d), v (h,)): the depth-2 random network g(x) = Σ_r v_r σ(⟨u_r, x⟩), entries i.i.d.
    from ``distribution``; unit r draws from fold_in(network key, r), so widths nest.

    Units are drawn in chunks of :data:`_CHUNK` with a traced offset, so the draw compiles once per
    (d, distribution), not once per width."""
    _positive_int("d", d)
    _positive_int("h", h)
    nets.check_distribution(distribution)
    key = _keys(seed)["network"]
    chunks = [_units(key, jnp.asarray(start), d, distribution) for start in range(0, h, _CHUNK)]
    return (np.concatenate([np.asarray(u) for u, _ in chunks])[:h],
            np.concatenate([np.asarray(v) for _, v in chunks])[:h])


@functools.partial(jax.jit, static_argnums=(2, 3))
def _units(key, start, d, distribution):
    law = nets.DISTRIBUTIONS[distribution]

    def unit(r):
        k_in, k_out = jax.random.split(jax.random.fold_in(key, r))
        return law(k_in, (d,), jnp.float64), law(k_out, (), jnp.float64)

    return jax.vmap(unit)(start + jnp.arange(_CHUNK))


def features(u: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Hidden activations σ(⟨u_r, x⟩), shape (n, h)."""
    return np.maximum(x @ u.T, 0.0)


# --------------------------------------------------------------------------- fits

def random_features(phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares output weights (h,) minimising ‖y − phi·c‖ (scipy.linalg.lstsq, gelsd)."""
    return scipy.linalg.lstsq(phi, y, lapack_driver="gelsd")[0]


def _gram(a: np.ndarray, y: np.ndarray):
    return a.T @ a, a.T @ y, float(y @ y)


def greedy_subset(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Forward selection of columns of ``a`` (n, h) minimising ‖y − a·s‖², s ∈ {0,1}^h: add the
    column that lowers the error most, stop when none lowers it. Returns s as a bool (h,) mask.

    Adding column r to S changes the error by G_rr + 2(G s)_r − 2 b_r (G = aᵀa, b = aᵀy)."""
    g, b, _ = _gram(a, y)
    s = np.zeros(a.shape[1], bool)
    gs = np.zeros(a.shape[1])
    for _ in range(a.shape[1]):
        gain = np.where(s, np.inf, np.diag(g) + 2 * gs - 2 * b)
        r = int(np.argmin(gain))
        if not gain[r] < 0:
            break
        s[r] = True
        gs += g[:, r]
    return s


def exact_subset(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The subset s ∈ {0,1}^h minimising ‖y − a·s‖² over all 2^h subsets (h <= EXACT_MAX_UNITS),
    ties to the lowest subset index Σ_r s_r 2^r. Scores every subset in the Gram form
    ‖y‖² − 2 bᵀs + sᵀGs, then rescores the near-ties directly on the sample."""
    h = a.shape[1]
    if h > EXACT_MAX_UNITS:
        raise InputError(f"exact neuron pruning enumerates 2^h subsets; h = {h} is above {EXACT_MAX_UNITS}")
    g, b, yy = _gram(a, y)
    subsets = ((np.arange(2**h)[:, None] >> np.arange(h)[None, :]) & 1).astype(np.float64)
    scores = yy - 2 * subsets @ b + np.einsum("ij,ij->i", subsets @ g, subsets)
    near = np.flatnonzero(scores <= scores.min() + _EXACT_TIE * max(yy, 1e-300))
    near = near[np.argsort(scores[near], kind="stable")[:_EXACT_RESCORE]]
    near.sort()
    direct = np.sum((y[:, None] - a @ subsets[near].T) ** 2, axis=0)
    return subsets[near[int(np.argmin(direct))]].astype(bool)


# --------------------------------------------------------------------------- rows

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


@dataclasses.dataclass(frozen=True)
class _Cell:
    d: int
    c: int
    target: tuple
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    budget: int
    units: int


def _cell(d, c, *, inputs, seed, n_train, n_test) -> _Cell:
    keys = _keys(seed)
    target = single_neuron_target(d, seed=seed)
    x_train = sample_inputs(inputs, n_train, d, key=keys["train"])
    x_test = sample_inputs(inputs, n_test, d, key=keys["test"])

    def f(x):
        return np.maximum(x @ target[0][0], 0.0)

    budget, units = matched_units(d, c)
    return _Cell(d, c, target, x_train, f(x_train), x_test, f(x_test), budget, units)


def _fit(method, cell: _Cell, *, seed, distribution):
    """(predict: x -> g(x), params, hidden units, kept params, sup bound or None) of one method."""
    d = cell.d
    if method in NEURON_METHODS:
        u, v = neuron_network(d, cell.units, seed=seed, distribution=distribution)
        phi = features(u, cell.x_train)
        if method == "random-features":
            out, kept = random_features(phi, cell.y_train), cell.units
        else:
            choose = greedy_subset if method == "neuron-greedy" else exact_subset
            s = choose(phi * v, cell.y_train)
            out, kept = np.where(s, v, 0.0), int(s.sum())
        return (lambda x: features(u, x) @ out), cell.units * (d + 1), cell.units, kept * (d + 1), None
    spec = weight_spec(d, cell.c, seed=seed, distribution=distribution)
    wide = weight_spec(d, weight_bucket(method, cell.c), seed=seed, distribution=distribution)
    ticket = constructions.build(method, cell.target, wide, active=cell.c)
    pruned = ticket.pruned
    cert = measure.certificate(ticket.target, measure.pair_maps(ticket.random, ticket.masks))

    def predict(x):
        return np.asarray(nets.forward(pruned, jnp.asarray(x)))[:, 0]

    return predict, spec.random_params(), spec.hidden_widths()[0], ticket.kept_params(), cert


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


# --------------------------------------------------------------------------- checks

def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} {value!r} must be an integer >= {minimum}")
    return int(value)


def _check(methods, d_values, candidates, *, inputs, seed, n_train, n_test, exact_max_units,
           distribution) -> None:
    """Every argument check, before any sampling or tracing."""
    if not jax.config.jax_enable_x64:
        raise InputError("separation runs in float64 and needs jax_enable_x64 (set JAX_ENABLE_X64=1 or "
                         "jax.config.update('jax_enable_x64', True))")
    for name, values in (("methods", methods), ("d_values", d_values), ("candidates", candidates)):
        if len(values) == 0:
            raise InputError(f"{name} is empty; give at least one value")
    for m in methods:
        if m not in METHODS:
            raise InputError(f"unknown method {m!r}; allowed: {', '.join(METHODS)}")
    if inputs not in INPUTS:
        raise InputError(f"unknown input law {inputs!r}; allowed: {', '.join(INPUTS)}")
    nets.check_distribution(distribution)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
        raise InputError(f"seed {seed!r} must be an integer in [0, 2**63)")
    for d in d_values:
        _positive_int("d", d)
    for c in candidates:
        _positive_int("candidates c", c)
        for m in methods:
            if m in WEIGHT_METHODS:
                constructions.check_candidates(m, int(c), what="candidates c")
    _positive_int("n_train", n_train)
    _positive_int("n_test", n_test, 2)
    if isinstance(exact_max_units, bool) or not isinstance(exact_max_units, numbers.Integral) \
            or not 0 <= exact_max_units <= EXACT_MAX_UNITS:
        raise InputError(f"exact_max_units {exact_max_units!r} must be an integer in [0, {EXACT_MAX_UNITS}] "
                         "(the exact neuron pruning enumerates 2^h subsets)")
    for d in d_values:
        for c in candidates:
            _, h = matched_units(int(d), int(c))
            if "random-features" in methods and n_train < h:
                raise InputError(f"n_train {n_train} is below the h = {h} hidden units of d = {d}, c = {c}: "
                                 "least squares for random features needs n_train >= h")


# --------------------------------------------------------------------------- public entry points

def row_for(method: str, d: int, c: int, *, inputs: str = DEFAULTS["inputs"], seed: int = DEFAULTS["seed"],
            n_train: int = DEFAULTS["n_train"], n_test: int = DEFAULTS["n_test"],
            distribution: str = DEFAULTS["distribution"]) -> SeparationRow:
    """One method on one (d, c) cell, the same row (``wall_s`` aside) as :func:`separation` gives.

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


def separation(d_values: Sequence[int] = DEFAULTS["d_values"], candidates: Sequence[int] = DEFAULTS["candidates"],
               *, inputs: str = DEFAULTS["inputs"], n_train: int = DEFAULTS["n_train"],
               n_test: int = DEFAULTS["n_test"], seed: int = DEFAULTS["seed"],
               exact_max_units: int = DEFAULTS["exact_max_units"], methods: Sequence[str] = METHODS,
               distribution: str = DEFAULTS["distribution"], progress=None) -> SeparationReport:
    """Neuron pruning (and its random-features relaxation) versus weight pruning on one ReLU neuron,
    at matched random-parameter budgets (THEORY §4.4; Malach et al. 2020 §3; Yehudai & Shamir 2019).

    For every d and c: budget = 2cd(d+1) + 4c random parameters for weight pruning, h = ⌊budget/(d+1)⌋
    hidden units for the neuron methods; ``neuron-exact`` only where h <= ``exact_max_units``.

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
        cell = _cell(d, c, inputs=inputs, seed=int(seed), n_train=int(n_train), n_test=int(n_test))
        for m in plan[(d, c)]:
            rows.append(_row(m, cell, inputs=inputs, seed=int(seed), distribution=distribution))
            if progress is not None:
                progress(len(rows), total)
    settings = dict(d_values=list(map(int, d_values)), candidates=list(map(int, candidates)), inputs=inputs,
                    n_train=int(n_train), n_test=int(n_test), seed=int(seed), exact_max_units=int(exact_max_units),
                    methods=order, distribution=distribution)
    return SeparationReport(tuple(rows), settings, time.perf_counter() - start, provenance.record())


# --------------------------------------------------------------------------- text

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


__all__ = [
    "CONFIDENCE", "DEFAULTS", "EXACT_MAX_UNITS", "INPUTS", "INTERVAL", "METHODS", "NEURON_METHODS", "STREAM",
    "WEIGHT_BUCKET", "WEIGHT_METHODS", "L2Estimate", "SeparationReport", "SeparationRow", "exact_subset",
    "features", "format_report", "greedy_subset", "l2_error", "matched_units", "neuron_network",
    "random_features", "row_for", "sample_inputs", "separation", "single_neuron_target", "target_l2_norm",
    "weight_bucket", "weight_spec",
]
