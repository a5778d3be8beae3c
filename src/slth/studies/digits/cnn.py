"""The digits CNN: a bias-free convolutional classifier trained on scikit-learn's digits, brought into the theorems' assumptions, and its tickets pruned out of random CNNs.

The target is :mod:`slth.nets.conv`'s CNN (k×k "same" convolutions with ReLU, global average pooling,
a dense head; no biases) on the 8×8 digit images, trained with adam on softmax cross-entropy from
He-normal kernels, minibatches by a fresh permutation per epoch, everything from one seed. It is then
rescaled into the theorems' assumptions as the MLP digits target is: inputs into the unit ball
(:func:`slth.studies.digits.certify.normalise`), every explicit layer (a convolution as a map on its
input shape, head ∘ pooling) divided by its exact operator norm where that is above 1
(:func:`slth.nets.conv.conv_target` with ``rescale=True``). Positive factors change no prediction of a
bias-free ReLU network (checked). A ticket (:func:`ticket_row`) is pruned from the random CNN of the
``conv`` layout (:mod:`slth.nets.layouts.conv`) and read like the MLP digits tickets: test accuracy,
agreement with the target, the two-sided error and the test points whose margin proves agreement.
A ``digits_cnn`` sweep (:mod:`slth.experiments.kinds.digits_cnn`) runs :func:`ticket_row` per random
network; :func:`sweep_summary` is the one aggregation of its rows.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from slth import checks, constructions, nets, pipeline, precision
from slth.errors import InputError
from slth.nets import conv
from slth.studies.cells import group as _group
from slth.studies.digits.certify import guaranteed, margins, normalise
from slth.studies.digits.data import N_CLASSES, load_digits
from slth.studies.digits.training import predict

#: The defaults of :func:`prepare` (95.8% test accuracy at seed 0).
DEFAULTS = dict(geometry="1x8x8:8,16:k3:s1,2:10", seed=0, epochs=100, batch_size=64, learning_rate=1e-2)


@dataclasses.dataclass(frozen=True, eq=False)
class Prepared:
    """The trained CNN in the theorems' assumptions, with the normalised test set and its margins."""

    geometry: conv.Geometry
    target: conv.ConvTarget
    x_test: np.ndarray
    y_test: np.ndarray
    target_pred: np.ndarray
    margin: np.ndarray
    train_accuracy: float
    target_accuracy: float
    norms_before: tuple[float, ...]
    train_s: float


def _forward(params, x, g: conv.Geometry):
    kernels, head = params
    h = x.reshape(-1, *g.image)
    pad = (g.kernel - 1) // 2
    for k, s in zip(kernels, g.strides):
        h = jax.nn.relu(jax.lax.conv_general_dilated(h, k, (s, s), [(pad, pad), (pad, pad)]))
    return h.mean(axis=(2, 3)) @ head.T


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _fit(params, x, y, g, epochs, batch_size, learning_rate, key):
    opt = optax.adam(learning_rate)
    n_batches = x.shape[0] // batch_size

    def loss(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(_forward(p, xb, g), yb).mean()

    def step(carry, idx):
        p, state = carry
        updates, state = opt.update(jax.grad(loss)(p, x[idx], y[idx]), state, p)
        return (optax.apply_updates(p, updates), state), None

    def epoch(carry, k):
        order = jax.random.permutation(k, x.shape[0])[: n_batches * batch_size]
        return jax.lax.scan(step, carry, order.reshape(n_batches, batch_size))[0], None

    (params, _), _ = jax.lax.scan(epoch, (params, opt.init(params)), jax.random.split(key, epochs))
    return params


def train(g: conv.Geometry, x, y, *, seed: int, epochs: int, batch_size: int, learning_rate: float):
    """(kernels, head) of the CNN ``g`` trained on (x, y): He-normal kernels (variance 2 / (C_in k²)) and head
    (2 / C_m) from ``fold_in(key(seed), i)``, adam, ``epochs`` permutations from ``fold_in(key(seed), m + 1)``."""
    key = jax.random.key(seed)
    shapes = g.shapes()
    kernels = tuple(jax.random.normal(jax.random.fold_in(key, i), (c, shapes[i][0], g.kernel, g.kernel), jnp.float64)
                    * math.sqrt(2.0 / (shapes[i][0] * g.kernel ** 2)) for i, c in enumerate(g.channels))
    head = jax.random.normal(jax.random.fold_in(key, len(g.channels)), (g.classes, g.channels[-1]), jnp.float64) \
        * math.sqrt(2.0 / g.channels[-1])
    return _fit((kernels, head), jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.int32), g, int(epochs),
                min(int(batch_size), len(x)), float(learning_rate), jax.random.fold_in(key, len(g.channels) + 1))


@precision.float64
def prepare(geometry: str = DEFAULTS["geometry"], *, seed: int = DEFAULTS["seed"], epochs: int = DEFAULTS["epochs"],
            batch_size: int = DEFAULTS["batch_size"], learning_rate: float = DEFAULTS["learning_rate"],
            split_seed: int = 0) -> Prepared:
    """Train the digits CNN of ``geometry`` and rescale it into the theorems' assumptions (module docstring).

    Raises:
      InputError: a geometry that does not read 1×8×8 images or does not output the 10 classes, or bad
        training settings, before any training; a rescaling that changed a prediction (it cannot).
    """
    g = conv.Geometry.parse(geometry) if isinstance(geometry, str) else geometry
    if g.image != (1, 8, 8) or g.classes != N_CLASSES:
        raise InputError(f"geometry {g.text()!r} does not fit the digits: it must read 1x8x8 images and output "
                         f"{N_CLASSES} classes")
    seed = checks.seed("seed", seed)
    epochs, batch_size = checks.integer("epochs", epochs, low=1), checks.integer("batch_size", batch_size, low=1)
    checks.positive("learning_rate", learning_rate)
    data = load_digits(random_state=split_seed)
    x_train, x_test, _, _ = normalise(data.x_train, data.x_test)
    t0 = time.perf_counter()
    kernels, head = jax.block_until_ready(train(g, x_train, data.y_train, seed=seed, epochs=epochs,
                                                batch_size=batch_size, learning_rate=learning_rate))
    train_s = time.perf_counter() - t0
    kernels, head = tuple(np.asarray(k) for k in kernels), np.asarray(head)
    before = tuple(conv.spectral_norm(w) for w in conv.explicit(kernels, head, g))
    raw_pred = predict(conv.explicit(kernels, head, g), x_test)[1]
    target = conv.conv_target(kernels, head, g, rescale=True)
    logits, pred = predict(target.layers(), x_test)
    if not np.array_equal(pred, raw_pred):
        raise InputError("rescaling the trained CNN changed a prediction; positive factors cannot, so the "
                         "explicit layers are wrong")
    return Prepared(geometry=g, target=target, x_test=x_test, y_test=data.y_test, target_pred=pred,
                    margin=margins(logits),
                    train_accuracy=float(np.mean(predict(target.layers(), x_train)[1] == data.y_train)),
                    target_accuracy=float(np.mean(pred == data.y_test)), norms_before=before, train_s=train_s)


@precision.float64
def ticket_row(p: Prepared, name: str, c: int, network_seed: int) -> dict:
    """The ticket of construction ``name`` (c candidates per block and sign) in the random CNN of
    ``network_seed``: test accuracy, agreement with the target, certificate, lower bound, the fraction of
    test points whose margin proves agreement (and any of those that disagree: the theorem says none),
    the same with docs/theory.md §3's product-of-norms certificate, the random network's size (its
    spec's :meth:`~slth.nets.RandomSpec.random_params`) and the ticket's, and the timings."""
    constructions.check_candidates(name, c)
    if not constructions.prunes(name, nets.layouts.conv.LAYOUT.name):
        raise InputError(f"construction {name!r} does not prune random CNNs; those that do: {cnn_constructions()}")
    start = time.perf_counter()
    spec = nets.RandomSpec(dims=p.geometry.dims(), candidates=c, seed=checks.seed("network_seed", network_seed),
                           layout=nets.layouts.conv.LAYOUT.name, geometry=p.geometry.text())
    pruned = pipeline.prune(name, p.target.layers(), spec)
    pred = predict(pruned.ticket.pruned, p.x_test)[1]
    agree = pred == p.target_pred
    sure = guaranteed(p.margin, pruned.certificate)
    return {"construction": name, "c": c, "network_seed": spec.seed, "target_accuracy": p.target_accuracy,
            "ticket_accuracy": float(np.mean(pred == p.y_test)), "agreement": float(np.mean(agree)),
            "certificate": pruned.certificate, "lower_bound": pruned.lower_bound,
            "guaranteed_fraction": float(np.mean(sure)), "guaranteed_disagree": int(np.sum(sure & ~agree)),
            "certificate_norms": float(pruned.meta["certificate_norms"]),
            "guaranteed_fraction_norms": float(np.mean(guaranteed(p.margin, pruned.meta["certificate_norms"]))),
            "random_params": int(spec.random_params()), "kept_params": int(pruned.meta["kept_params"]),
            "target_params": target_params(p), "construction_time_s": float(pruned.meta["construction_time_s"]),
            "measure_time_s": float(pruned.meta["measure_time_s"]), "time_s": time.perf_counter() - start}


def cnn_constructions() -> list[str]:
    """The registered constructions that prune random CNNs (the ``conv`` layout), in registry order."""
    return [n for n in constructions.REGISTRY if constructions.prunes(n, nets.layouts.conv.LAYOUT.name)]


def target_params(p: Prepared) -> int:
    """The trained CNN's weights: its kernels' entries and its head's (each kernel entry once)."""
    return sum(int(np.size(k)) for k in p.target.kernels) + int(np.size(p.target.head))


# --------------------------------------------------------------------------- a sweep

#: Columns of :func:`sweep_summary`'s table (a ``digits_cnn`` sweep's ``summary.csv``).
SUMMARY_COLUMNS = ("cell", "construction", "c", "trials", "target_accuracy", "ticket_accuracy_mean",
                   "ticket_accuracy_min", "agreement_mean", "agreement_min", "guaranteed_fraction_mean",
                   "guaranteed_fraction_min", "trials_all_agree", "certificate_median", "lower_bound_median",
                   "guaranteed_disagree_total", "random_params", "kept_params_mean")


def sweep_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per (construction, c), over the random networks (trials): the tickets' test accuracy, agreement
    with the target and fraction of test points proven to agree (mean and min), how many tickets agree
    on every test image, the two-sided error; per construction, the smallest c of the grid at which
    every ticket agrees on every test image (``fits.json``: ``all_agree_c``, None where none does). A
    proven point that disagrees is reported as a finding (the theorem says none).

    ``rows`` are a sweep's typed rows (each :func:`ticket_row` row with its ``cell``); returns (the
    table, one dict per cell with :data:`SUMMARY_COLUMNS`; ``{"all_agree_c": {construction: c}}``;
    the printable text)."""
    if not rows:
        raise InputError("the results table has no rows")
    table = []
    for key, cell_rows in _group(rows).items():
        col = lambda k: np.array([r[k] for r in cell_rows], dtype=float)   # noqa: E731
        r0 = cell_rows[0]
        table.append({
            "cell": key, "construction": r0["construction"], "c": r0["c"], "trials": len(cell_rows),
            "target_accuracy": r0["target_accuracy"], "ticket_accuracy_mean": float(col("ticket_accuracy").mean()),
            "ticket_accuracy_min": float(col("ticket_accuracy").min()),
            "agreement_mean": float(col("agreement").mean()), "agreement_min": float(col("agreement").min()),
            "guaranteed_fraction_mean": float(col("guaranteed_fraction").mean()),
            "guaranteed_fraction_min": float(col("guaranteed_fraction").min()),
            "trials_all_agree": int(np.sum(col("agreement") == 1.0)),
            "certificate_median": float(np.median(col("certificate"))),
            "lower_bound_median": float(np.median(col("lower_bound"))),
            "guaranteed_disagree_total": int(col("guaranteed_disagree").sum()),
            "random_params": r0["random_params"], "kept_params_mean": float(col("kept_params").mean()),
        })
    smallest = {}
    for r in table:
        smallest.setdefault(r["construction"], None)
        if r["trials_all_agree"] == r["trials"] and (smallest[r["construction"]] is None
                                                     or r["c"] < smallest[r["construction"]]):
            smallest[r["construction"]] = r["c"]
    lines = [f"{'construction':12s} {'c':>5s} {'T':>3s} {'target':>7s} {'ticket (mean/min)':>18s} "
             f"{'agree (mean/min)':>17s} {'proven (mean/min)':>18s} {'all':>4s} {'certificate':>11s} "
             f"{'lower bd':>9s} {'random':>11s}"]
    for r in table:
        lines.append(f"{r['construction']:12s} {r['c']:>5d} {r['trials']:>3d} {r['target_accuracy']:>7.1%} "
                     f"{r['ticket_accuracy_mean']:>9.1%}/{r['ticket_accuracy_min']:<8.1%} "
                     f"{r['agreement_mean']:>8.1%}/{r['agreement_min']:<8.1%} "
                     f"{r['guaranteed_fraction_mean']:>9.1%}/{r['guaranteed_fraction_min']:<8.1%} "
                     f"{r['trials_all_agree']:>4d} {r['certificate_median']:>11.3g} {r['lower_bound_median']:>9.3g} "
                     f"{r['random_params']:>11,}")
    lines.append("all: random networks whose ticket agrees with the target on every test image; proven: test "
                 "points with margin > √2·certificate")
    for con, c in smallest.items():
        lines.append(f"{con}: every ticket agrees on every test image from c = {c}" if c is not None else
                     f"{con}: no c of the grid gives agreement on every test image for every random network")
    bad = [r["cell"] for r in table if r["guaranteed_disagree_total"]]
    if bad:
        lines.append(f"FINDING: test points with margin > √2·certificate disagree in cells {bad}")
    return table, {"all_agree_c": smallest}, "\n".join(lines)
