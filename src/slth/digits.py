"""Tickets for networks trained on real data: does pruning a random network keep a trained classifier?

A small bias-free ReLU MLP is trained on scikit-learn's digits (or user-provided MNIST files,
:mod:`slth.data`) with adam, brought into the theorems' assumptions (inputs in the unit ball, every
layer of spectral norm 1) by positive rescaling, which changes no prediction, and then approximated by
the tickets of the weight-pruning constructions at increasing candidates per block. Per (construction, c)
the report gives both accuracies, how often ticket and target agree, the two-sided error
[lower bound, certificate] (THEORY §3), and the fraction of test points whose margin *proves* agreement
(:func:`guaranteed`).

No biases: the target is f(x) = W_l σ(··· σ(W_1 x)) on the normalised pixels, as in THEORY §1. No
constant input coordinate is appended, so the default shape is 64-32-10 and the input width is the
number of pixels. A bias-free ReLU network is positively homogeneous, which is what makes both the
input normalisation and the layer rescaling harmless for classification.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from slth import constructions, measure, nets, pipeline
from slth.data import N_CLASSES, Dataset, load_digits, load_mnist
from slth.errors import InputError
from slth.experiments import provenance

#: ``digits()`` with no arguments: the quick default (well under 90 s on a 2-core CPU).
DEFAULTS = dict(dims="64,32,10", seed=0, network_seed=0, split_seed=0, test_size=0.2, epochs=60,
                batch_size=64, learning_rate=3e-3)

#: Candidates per block and sign tried by default. Selection keeps one candidate per weight, so its
#: error falls like 1/c (THEORY §4.1) and it needs far more candidates than subset sum (≈ 2^-c).
DEFAULT_CANDIDATES: dict[str, tuple[int, ...]] = {
    "subset-sum": (4, 8, 12, 16, 20),
    "selection": (16, 64, 256, 512),
}

SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------- the margin theorem

def margins(logits) -> np.ndarray:
    """Classification margin per row of ``logits`` (batch, classes): top logit − second logit (>= 0)."""
    z = np.sort(np.asarray(logits, np.float64), axis=1)
    return z[:, -1] - z[:, -2]


def guaranteed(margin, certificate: float) -> np.ndarray:
    """The points whose ticket prediction provably equals the target's: margin(x) > √2·certificate.

    Let a = argmax_k f_k(x), δ = f(x) − g(x) and E >= ‖δ‖_2 (the certificate bounds
    sup_{‖x‖<=1} ‖f(x) − g(x)‖_2, THEORY §3). For every b ≠ a,

        |(f_a − f_b) − (g_a − g_b)| = |δ_a − δ_b| <= √2·√(δ_a² + δ_b²) <= √2·‖δ‖_2 <= √2·E

    (Cauchy–Schwarz with the vector (1, −1), whose norm is √2; equality at δ_a = −δ_b, so √2 is the exact
    constant). Hence g_a − g_b >= (f_a − f_b) − √2·E >= margin(x) − √2·E > 0: a is g's unique argmax.
    Both sides are computed in float64; a slack of :data:`slth.measure.ROUNDOFF` keeps round-off from
    admitting a point that sits on the boundary. (Homogeneity would even allow √2·‖x‖·E; the
    report uses the uniform √2·E.)
    """
    return np.asarray(margin) > SQRT2 * float(certificate) + measure.ROUNDOFF


# --------------------------------------------------------------------------- inputs and training

def normalise(x_train, x_test) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Scale inputs into the unit ball: divide by the largest training norm, then scale down the test
    points whose norm still exceeds 1 (only those) to norm 1.

    Returns: (x_train, x_test, scale, n_clipped) with ``scale`` the divisor and ``n_clipped`` the number of
    test points scaled. A positive scale of an input scales a bias-free ReLU network's logits and
    keeps the prediction, so neither step changes a label.
    """
    x_train = np.asarray(x_train, np.float64)
    x_test = np.asarray(x_test, np.float64)
    scale = float(np.linalg.norm(x_train, axis=1).max())
    if scale == 0:
        raise InputError("every training input is zero; nothing to normalise")
    x_train, x_test = x_train / scale, x_test / scale
    norms = np.linalg.norm(x_test, axis=1)
    above = norms > 1
    x_test[above] /= norms[above, None]
    return x_train, x_test, scale, int(above.sum())


def train(dims: Sequence[int], x, y, *, key, epochs: int, batch_size: int, learning_rate: float,
          dtype=None) -> tuple:
    """Train a bias-free ReLU MLP of widths ``dims`` with adam on softmax cross-entropy.

    He-normal initialisation, minibatches drawn by a fresh permutation per epoch (the last incomplete
    batch is dropped); everything from ``key``, so the same key gives the same bits.

    Args:
      dims: d_0..d_l. x: (n, d_0) inputs. y: (n,) integer labels in [0, d_l).
      key: JAX PRNG key. epochs >= 1, batch_size >= 1 (capped at n), learning_rate > 0.
    Returns:
      l matrices (d_i, d_{i-1}).
    """
    dtype = dtype or nets.default_dtype()
    keys = jax.random.split(key, len(dims))
    layers = tuple(jax.random.normal(k, (dims[i + 1], dims[i]), dtype) * math.sqrt(2.0 / dims[i])
                   for i, k in enumerate(keys[1:]))
    x = jnp.asarray(x, dtype)
    y = jnp.asarray(y, jnp.int32)
    return _fit(layers, x, y, keys[0], jnp.asarray(learning_rate, dtype), int(epochs),
                min(int(batch_size), x.shape[0]))


@functools.partial(jax.jit, static_argnums=(5, 6))
def _fit(layers, x, y, key, learning_rate, epochs, batch_size):
    opt = optax.adam(learning_rate)
    n_batches = x.shape[0] // batch_size

    def loss(params, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(nets.forward(params, xb), yb).mean()

    def step(carry, idx):
        params, state = carry
        grads = jax.grad(loss)(params, x[idx], y[idx])
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    def epoch(carry, k):
        order = jax.random.permutation(k, x.shape[0])[: n_batches * batch_size]
        return jax.lax.scan(step, carry, order.reshape(n_batches, batch_size))[0], None

    (params, _), _ = jax.lax.scan(epoch, (layers, opt.init(layers)), jax.random.split(key, epochs))
    return params


def predict(layers: Sequence, x) -> tuple[np.ndarray, np.ndarray]:
    """(logits (n, d_l), predictions (n,)) of the network on x (n, d_0), in float64."""
    logits = np.asarray(nets.forward([jnp.asarray(w, jnp.float64) for w in layers], jnp.asarray(x, jnp.float64)))
    return logits, np.argmax(logits, axis=1)


def rescale_target(layers: Sequence, *inputs) -> tuple[tuple, np.ndarray]:
    """Scale each layer by a positive factor to spectral norm 1 and check that no prediction changes.

    With ReLU and no biases f_{cW}(x) = (Π c_i)·f_W(x) for positive c_i, so every argmax is unchanged;
    this is verified on every batch in ``inputs`` (not assumed: a tie broken differently by round-off
    would show here), then the theorems' assumptions are checked with :func:`slth.nets.check_target`.

    Returns: (layers as float64 numpy arrays with ‖W_i‖_2 = 1, the factors c_i).
    Raises:
      RuntimeError: a prediction changed.
    """
    layers = tuple(np.asarray(w, np.float64) for w in layers)
    norms = nets.spectral_norms(layers)
    if np.any(norms == 0):
        raise InputError(f"a trained layer is zero (spectral norms {norms.tolist()}); nothing to rescale")
    scaled = tuple(np.asarray(w, np.float64) for w in nets.rescale(layers, norm=1.0))
    for x in inputs:
        before, after = predict(layers, x)[1], predict(scaled, x)[1]
        if not np.array_equal(before, after):
            bad = np.flatnonzero(before != after)
            raise RuntimeError(f"rescaling changed {bad.size} predictions (first at row {bad[0]}); positive "
                               "scaling of a bias-free ReLU network must not change any argmax")
    nets.check_target(scaled)
    return scaled, 1.0 / norms


# --------------------------------------------------------------------------- the experiment

@dataclasses.dataclass(frozen=True)
class DigitsRow:
    """One (construction, c): the ticket pruned from the random network with c candidates per block
    and sign, evaluated on the test set.

    Attributes:
      target_accuracy, ticket_accuracy: test accuracies. agreement: fraction of test points on which the
        ticket predicts the target's label. certificate, lower_bound: the two ends of
        sup_{‖x‖<=1} ‖f(x) − g(x)‖_2. guaranteed_fraction: fraction of test points with margin > √2·certificate
        (agreement proven, :func:`guaranteed`). guaranteed_disagree: how many of those disagree
        (the theorem says 0). random_params, kept_params: sizes of the random network and the ticket.
      time_s: pruning, measuring and evaluating this row.
    """

    construction: str
    candidates: int
    target_accuracy: float
    ticket_accuracy: float
    agreement: float
    certificate: float
    lower_bound: float
    guaranteed_fraction: float
    guaranteed_disagree: int
    random_params: int
    kept_params: int
    time_s: float


@dataclasses.dataclass(frozen=True)
class DigitsReport:
    """The trained target, how it was brought into the theorems' assumptions, and one row per ticket.

    Attributes:
      data: ``sklearn-digits`` or the MNIST path. split: how train/test were split. n_train, n_test.
      dims: target widths. seed: training seed (initialisation and minibatch order). network_seed: seed of
        the random networks. training: epochs, batch size, learning rate, optimiser.
      train_accuracy, target_accuracy: of the trained target (test accuracy is unchanged by rescaling).
      input_scale: the divisor that put the training inputs into the unit ball. test_clipped: test points
        that still had norm > 1 and were scaled to 1. layer_scales: the factor c_i applied to layer i;
        logit_scale = Π c_i. median_margin, min_margin: of the rescaled target on the test set.
      target_params: trained weights. rows: :class:`DigitsRow` per (construction, c).
      train_s, wall_s: training and total time. provenance: versions, device, git revision.
    """

    data: str
    split: dict
    n_train: int
    n_test: int
    dims: tuple[int, ...]
    seed: int
    network_seed: int
    training: dict
    train_accuracy: float
    target_accuracy: float
    input_scale: float
    test_clipped: int
    layer_scales: tuple[float, ...]
    logit_scale: float
    median_margin: float
    min_margin: float
    target_params: int
    rows: tuple[DigitsRow, ...]
    train_s: float
    wall_s: float
    provenance: dict

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["dims"] = list(self.dims)
        d["layer_scales"] = list(self.layer_scales)
        d["rows"] = [dataclasses.asdict(r) for r in self.rows]
        prov = d.pop("provenance")
        return {**d, **prov}


def _check_int(name: str, value, low: int, what: str, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low \
            or (high is not None and value >= high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high:#x})"
        raise InputError(f"{name} {value!r} must be an integer {allowed} ({what})")
    return int(value)


def _check_candidates(candidates) -> dict[str, tuple[int, ...]]:
    if not isinstance(candidates, Mapping) or not candidates:
        raise InputError(f"candidates {candidates!r} must be a non-empty mapping construction -> list of c, e.g. "
                         f"{DEFAULT_CANDIDATES}")
    out = {}
    for name, cs in candidates.items():
        constructions.get(name)
        if isinstance(cs, (int, np.integer)):
            cs = (cs,)
        cs = tuple(_check_int(f"candidates for {name}:", c, 1, "candidates per block and sign") for c in cs)
        if not cs:
            raise InputError(f"candidates for {name} is empty; give at least one c >= 1")
        for c in cs:
            constructions.check_candidates(name, c, what=f"candidates for {name}:")
        out[name] = cs
    return out


def _check_dims(dims, data: Dataset) -> tuple[int, ...]:
    dims = nets.parse_dims(dims)
    if dims[0] != data.input_dim or dims[-1] != N_CLASSES:
        raise InputError(f"dims {','.join(map(str, dims))} do not fit {data.source}: the first width must be the "
                         f"input dimension {data.input_dim} (no constant coordinate is appended) and the last "
                         f"the number of classes {N_CLASSES}")
    return dims


def digits(dims=DEFAULTS["dims"], *, candidates: Mapping[str, Sequence[int]] | None = None,
           seed: int = DEFAULTS["seed"], network_seed: int = DEFAULTS["network_seed"],
           split_seed: int = DEFAULTS["split_seed"], test_size: float = DEFAULTS["test_size"],
           epochs: int = DEFAULTS["epochs"], batch_size: int = DEFAULTS["batch_size"],
           learning_rate: float = DEFAULTS["learning_rate"], data: str | None = None,
           progress=None) -> DigitsReport:
    """Train a target on real data, rescale it into the theorems' assumptions and measure its tickets.

    Args:
      dims: target widths "d_0,...,10" (d_0 = 64 for the digits, the pixel count for MNIST).
      candidates: construction -> candidates per block and sign to try (default
        :data:`DEFAULT_CANDIDATES`); every c >= 1 and within the construction's limit.
      seed: training seed. network_seed: seed of every random network (c grows by nested prefixes of
        one stream, so a larger c extends the smaller network). split_seed, test_size: the digits split
        (ignored for MNIST, whose files fix the split).
      epochs, batch_size >= 1, learning_rate > 0: adam on softmax cross-entropy.
      data: None for scikit-learn's digits, or a path for :func:`slth.data.load_mnist`.
      progress: optional callable(str) told about each step.
    Returns:
      a :class:`DigitsReport`.
    Raises:
      InputError: bad arguments, before any training.
    """
    start = time.perf_counter()
    candidates = _check_candidates(DEFAULT_CANDIDATES if candidates is None else candidates)
    network_seed = _check_int("network_seed", network_seed, 0, "random network seed", 2**63)
    say = progress or (lambda msg: None)
    p = prepare(dims, seed=seed, split_seed=split_seed, test_size=test_size, epochs=epochs,
                batch_size=batch_size, learning_rate=learning_rate, data=data, progress=say)
    rows = []
    for name, cs in candidates.items():
        for c in cs:
            say(f"{name}, c = {c}")
            rows.append(ticket_row(p, name, c, network_seed))
    return DigitsReport(
        data=p.dataset.source, split=p.dataset.split, n_train=len(p.x_train), n_test=len(p.x_test),
        dims=p.dims, seed=p.seed, network_seed=network_seed, training=p.training,
        train_accuracy=p.train_accuracy, target_accuracy=p.target_accuracy, input_scale=p.input_scale,
        test_clipped=p.test_clipped, layer_scales=p.layer_scales, logit_scale=float(np.prod(p.layer_scales)),
        median_margin=float(np.median(p.margin)), min_margin=float(p.margin.min()),
        target_params=sum(int(np.size(w)) for w in p.target), rows=tuple(rows), train_s=p.train_s,
        wall_s=time.perf_counter() - start, provenance=provenance.record())


@dataclasses.dataclass(frozen=True, eq=False)
class Prepared:
    """A trained target in the theorems' assumptions, with its normalised data and test margins: what
    every ticket of :func:`ticket_row` is measured against (built once by :func:`prepare`)."""

    dataset: Dataset
    dims: tuple[int, ...]
    seed: int
    training: dict
    x_train: np.ndarray
    x_test: np.ndarray
    input_scale: float
    test_clipped: int
    target: tuple
    layer_scales: tuple[float, ...]
    train_accuracy: float
    target_accuracy: float
    target_pred: np.ndarray
    margin: np.ndarray
    train_s: float


def prepare(dims=DEFAULTS["dims"], *, seed: int = DEFAULTS["seed"], split_seed: int = DEFAULTS["split_seed"],
            test_size: float = DEFAULTS["test_size"], epochs: int = DEFAULTS["epochs"],
            batch_size: int = DEFAULTS["batch_size"], learning_rate: float = DEFAULTS["learning_rate"],
            data: str | None = None, progress=None) -> Prepared:
    """Load the data, train the target and rescale it (arguments as :func:`digits`)."""
    seed = _check_int("seed", seed, 0, "training seed", 2**63)
    epochs = _check_int("epochs", epochs, 1, "training epochs")
    batch_size = _check_int("batch_size", batch_size, 1, "minibatch size")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) \
            or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise InputError(f"learning_rate {learning_rate!r} must be a positive finite number")
    if not jax.config.jax_enable_x64:
        raise InputError("digits measures certificates in float64 and needs jax_enable_x64 "
                         "(set JAX_ENABLE_X64=1 or jax.config.update('jax_enable_x64', True))")
    nets.parse_dims(dims)
    say = progress or (lambda msg: None)
    dataset = load_digits(test_size=test_size, random_state=split_seed) if data is None else load_mnist(data)
    dims = _check_dims(dims, dataset)

    x_train, x_test, input_scale, clipped = normalise(dataset.x_train, dataset.x_test)
    say(f"training {'-'.join(map(str, dims))} on {dataset.source} ({len(x_train)} train, {len(x_test)} test)")
    t0 = time.perf_counter()
    trained = train(dims, x_train, dataset.y_train, key=jax.random.key(seed), epochs=epochs,
                    batch_size=batch_size, learning_rate=learning_rate)
    jax.block_until_ready(trained)
    train_s = time.perf_counter() - t0
    target, factors = rescale_target(trained, x_train, x_test)
    train_acc = float(np.mean(predict(target, x_train)[1] == dataset.y_train))
    logits, target_pred = predict(target, x_test)
    return Prepared(
        dataset=dataset, dims=dims, seed=seed,
        training={"optimizer": "adam", "loss": "softmax cross-entropy", "epochs": epochs,
                  "batch_size": batch_size, "learning_rate": learning_rate, "init": "he-normal", "bias": False},
        x_train=x_train, x_test=x_test, input_scale=input_scale, test_clipped=clipped, target=target,
        layer_scales=tuple(float(f) for f in factors), train_accuracy=train_acc,
        target_accuracy=float(np.mean(target_pred == dataset.y_test)), target_pred=target_pred,
        margin=margins(logits), train_s=train_s)


def ticket_row(p: Prepared, name: str, c: int, network_seed: int) -> DigitsRow:
    """Prune the random network (c candidates per block and sign, ``network_seed``) for the prepared
    target with construction ``name`` and evaluate the ticket on the test set."""
    constructions.check_candidates(name, c)
    t1 = time.perf_counter()
    spec = nets.RandomSpec(dims=p.dims, candidates=c, seed=network_seed)
    pruned = pipeline.prune(name, p.target, spec)
    ticket_pred = predict(pruned.ticket.pruned, p.x_test)[1]
    agree = ticket_pred == p.target_pred
    sure = guaranteed(p.margin, pruned.meta["certificate"])
    return DigitsRow(
        construction=name, candidates=c, target_accuracy=p.target_accuracy,
        ticket_accuracy=float(np.mean(ticket_pred == p.dataset.y_test)),
        agreement=float(np.mean(agree)),
        certificate=float(pruned.meta["certificate"]), lower_bound=float(pruned.meta["lower_bound"]),
        guaranteed_fraction=float(np.mean(sure)), guaranteed_disagree=int(np.sum(sure & ~agree)),
        random_params=int(pruned.meta["random_params"]), kept_params=int(pruned.meta["kept_params"]),
        time_s=time.perf_counter() - t1)


# --------------------------------------------------------------------------- the table

def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def format_report(r: DigitsReport) -> str:
    """The table ``digits`` prints: one line per (construction, c)."""
    dims = "-".join(map(str, r.dims))
    t = r.training
    split = (f"train_test_split(test_size={r.split['test_size']}, random_state={r.split['random_state']}, "
             "stratified)" if "test_size" in r.split else r.split["method"])
    lines = [
        f"slth digits: bias-free ReLU target {dims} ({r.target_params:,} weights) trained on {r.data}, "
        f"{r.n_train} train / {r.n_test} test, {split}",
        f"  training: adam, lr {t['learning_rate']:g}, {t['epochs']} epochs of batch {t['batch_size']}, seed "
        f"{r.seed}: train accuracy {_pct(r.train_accuracy)}, test accuracy {_pct(r.target_accuracy)} "
        f"({r.train_s:.1f} s)",
        f"  unit ball: inputs / {r.input_scale:.4g} (max training norm); {r.test_clipped} test points scaled down "
        "to norm 1",
        f"  spectral norm 1: layers scaled by {', '.join(f'{s:.4g}' for s in r.layer_scales)} (logits x "
        f"{r.logit_scale:.4g}); predictions identical before and after",
        f"  test margins (top − second logit) of the rescaled target: median {r.median_margin:.4g}, "
        f"min {r.min_margin:.3g}",
        f"  random networks: seed {r.network_seed}, uniform[-1,1], c candidates per block and sign",
        "",
        f"  {'construction':12s} {'c':>4s} {'random':>11s} {'kept':>9s} {'target acc':>10s} {'ticket acc':>10s} "
        f"{'agree':>7s} {'lower bd':>9s} {'certificate':>11s} {'guaranteed':>10s} {'time':>7s}",
    ]
    for row in r.rows:
        lines.append(
            f"  {row.construction:12s} {row.candidates:>4d} {row.random_params:>11,} {row.kept_params:>9,} "
            f"{_pct(row.target_accuracy):>10s} {_pct(row.ticket_accuracy):>10s} {_pct(row.agreement):>7s} "
            f"{row.lower_bound:>9.3g} {row.certificate:>11.3g} {_pct(row.guaranteed_fraction):>10s} "
            f"{row.time_s:>6.1f}s")
    lines += [
        "",
        "  agree: test points where ticket and target predict the same label. lower bd, certificate: the true",
        "  sup_{|x|<=1} |f(x) − g(x)|_2 lies between them. guaranteed: test points with margin > √2·certificate,",
        "  whose agreement is proven (|(f_a − f_b) − (g_a − g_b)| <= √2 |f − g|_2).",
    ]
    bad = [row for row in r.rows if row.guaranteed_disagree]
    for row in bad:
        lines.append(f"  FINDING: {row.construction} c = {row.candidates}: {row.guaranteed_disagree} guaranteed points "
                     "disagree; the certificate or the margin argument is wrong")
    lines.append(f"  wall time {r.wall_s:.1f} s on {r.provenance['device']}, slth at {r.provenance['git_revision']}")
    return "\n".join(lines)


__all__ = ["DEFAULTS", "DEFAULT_CANDIDATES", "DigitsReport", "DigitsRow", "digits", "format_report",
           "guaranteed", "margins", "normalise", "predict", "rescale_target", "train"]
