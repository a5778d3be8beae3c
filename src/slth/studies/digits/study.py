"""The digits study: the target prepared once, the unit (one ticket), the grid of tickets, their dataclasses.

:func:`prepare` trains and rescales the target; :func:`ticket_row` is the unit a sweep runs;
:func:`digits` (``slth digits``) runs the grid of (construction, c) with them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

import jax
import numpy as np

from slth import checks, constructions, nets, pipeline, precision, provenance
from slth.errors import InputError
from slth.studies.digits import training
from slth.studies.digits.certify import guaranteed, margins, normalise, rescale_target
from slth.studies.digits.data import N_CLASSES, Dataset, load_digits, load_mnist
from slth.studies.digits.training import predict

#: ``digits()`` with no arguments: the quick default (well under 90 s on a 2-core CPU).
DEFAULTS = dict(dims="64,32,10", seed=0, network_seed=0, split_seed=0, test_size=0.2, epochs=60,
                batch_size=64, learning_rate=3e-3)

#: Candidates per block and sign tried by default. Selection keeps one candidate per weight, so its
#: error falls like 1/c (docs/theory.md §4.1) and it needs far more candidates than subset sum (≈ 2^-c).
DEFAULT_CANDIDATES: dict[str, tuple[int, ...]] = {
    "subset-sum": (4, 8, 12, 16, 20),
    "selection": (16, 64, 256, 512),
}


@dataclasses.dataclass(frozen=True)
class DigitsRow:
    """One (construction, c): the ticket pruned from the random network with c candidates per block
    and sign, evaluated on the test set.

    Attributes:
      target_accuracy, ticket_accuracy: test accuracies. agreement: fraction of test points on which the
        ticket predicts the target's label. certificate, lower_bound: the two ends of
        sup_{‖x‖<=1} ‖f(x) − g(x)‖_2. guaranteed_fraction: fraction of test points with margin > √2·certificate
        (agreement proven, :func:`guaranteed`). guaranteed_disagree: how many of those disagree
        (the theorem says 0). certificate_norms, guaranteed_fraction_norms: docs/theory.md §3's product-of-norms
        certificate and the fraction it proves, for comparison. random_params, kept_params: sizes of the random network and the ticket.
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
    certificate_norms: float
    guaranteed_fraction_norms: float
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


def _check_candidates(candidates) -> dict[str, tuple[int, ...]]:
    if not isinstance(candidates, Mapping) or not candidates:
        raise InputError(f"candidates {candidates!r} must be a non-empty mapping construction -> list of c, e.g. "
                         f"{DEFAULT_CANDIDATES}")
    out = {}
    for name, cs in candidates.items():
        constructions.get(name)
        if isinstance(cs, (int, np.integer)):
            cs = (cs,)
        cs = tuple(checks.integer(f"candidates for {name}:", c, low=1) for c in cs)
        if not cs:
            raise InputError(f"candidates for {name} is empty; give at least one c >= 1")
        for c in cs:
            constructions.check_candidates(name, c, what=f"candidates for {name}:")
        out[name] = cs
    return out


def _check_dims(dims, data: Dataset) -> tuple[int, ...]:
    dims = checks.dims(dims)
    if dims[0] != data.input_dim or dims[-1] != N_CLASSES:
        raise InputError(f"dims {','.join(map(str, dims))} do not fit {data.source}: the first width must be the "
                         f"input dimension {data.input_dim} (no constant coordinate is appended) and the last "
                         f"the number of classes {N_CLASSES}")
    return dims


@precision.float64
def digits(dims=DEFAULTS["dims"], *, candidates: Mapping[str, Sequence[int]] | None = None,
           seed: int = DEFAULTS["seed"], network_seed: int = DEFAULTS["network_seed"],
           split_seed: int = DEFAULTS["split_seed"], test_size: float = DEFAULTS["test_size"],
           epochs: int = DEFAULTS["epochs"], batch_size: int = DEFAULTS["batch_size"],
           learning_rate: float = DEFAULTS["learning_rate"], data: str | None = None,
           progress=None, biases: bool = False) -> DigitsReport:
    """Train a target on real data, rescale it into the theorems' assumptions and measure its tickets:
    :func:`prepare` once, then :func:`ticket_row` per (construction, c), the units a sweep runs. In
    float64 (training included): JAX's 64-bit mode is on for the call (:mod:`slth.precision`).

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
      biases: a target with biases, pruned out of random networks with random biases (:func:`prepare`).
    Returns:
      a :class:`DigitsReport`.
    Raises:
      InputError: bad arguments, before any training.
    """
    start = time.perf_counter()
    candidates = _check_candidates(DEFAULT_CANDIDATES if candidates is None else candidates)
    network_seed = checks.seed("network_seed", network_seed)
    say = progress or (lambda msg: None)
    p = prepare(dims, seed=seed, split_seed=split_seed, test_size=test_size, epochs=epochs,
                batch_size=batch_size, learning_rate=learning_rate, data=data, progress=say, biases=biases)
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
    biases: bool = False


@precision.float64
def prepare(dims=DEFAULTS["dims"], *, seed: int = DEFAULTS["seed"], split_seed: int = DEFAULTS["split_seed"],
            test_size: float = DEFAULTS["test_size"], epochs: int = DEFAULTS["epochs"],
            batch_size: int = DEFAULTS["batch_size"], learning_rate: float = DEFAULTS["learning_rate"],
            data: str | None = None, progress=None, biases: bool = False) -> Prepared:
    """Load the data, train the target and rescale it (arguments as :func:`digits`), in float64
    (:mod:`slth.precision`'s scope; outside x64 the target comes back as NumPy arrays). With ``biases``
    the target has a bias per neuron (its layers [W_i | b_i], :mod:`slth.nets.affine`), its weights
    initialised as the bias-free twin's of the same seed, and its tickets come from random networks
    with random biases (the ``biased`` layout)."""
    biases = checks.flag("biases", biases)
    seed = checks.seed("seed", seed)
    epochs = checks.integer("epochs", epochs, low=1)
    batch_size = checks.integer("batch_size", batch_size, low=1)
    checks.positive("learning_rate", learning_rate)
    checks.dims(dims)
    say = progress or (lambda msg: None)
    dataset = load_digits(test_size=test_size, random_state=split_seed) if data is None else load_mnist(data)
    dims = _check_dims(dims, dataset)

    x_train, x_test, input_scale, clipped = normalise(dataset.x_train, dataset.x_test)
    say(f"training {'-'.join(map(str, dims))} on {dataset.source} ({len(x_train)} train, {len(x_test)} test)")
    t0 = time.perf_counter()
    trained = training.train(dims, x_train, dataset.y_train, key=jax.random.key(seed), epochs=epochs,
                             batch_size=batch_size, learning_rate=learning_rate, biases=biases)
    jax.block_until_ready(trained)
    train_s = time.perf_counter() - t0
    target, factors = rescale_target(trained, x_train, x_test, biases=biases)
    train_acc = float(np.mean(predict(target, x_train, biases=biases)[1] == dataset.y_train))
    logits, target_pred = predict(target, x_test, biases=biases)
    return Prepared(
        dataset=dataset, dims=dims, seed=seed,
        training={"optimizer": "adam", "loss": "softmax cross-entropy", "epochs": epochs,
                  "batch_size": batch_size, "learning_rate": learning_rate, "init": "he-normal", "bias": biases},
        x_train=x_train, x_test=x_test, input_scale=input_scale, test_clipped=clipped, target=target,
        layer_scales=tuple(float(f) for f in factors), train_accuracy=train_acc,
        target_accuracy=float(np.mean(target_pred == dataset.y_test)), target_pred=target_pred,
        margin=margins(logits), train_s=train_s, biases=biases)


@precision.float64
def ticket_row(p: Prepared, name: str, c: int, network_seed: int) -> DigitsRow:
    """The study's unit: prune the random network (c candidates per block and sign, ``network_seed``)
    for the prepared target with construction ``name`` and evaluate the ticket on the test set. Both
    :func:`digits` and a ``digits`` sweep build every row with it. In float64 (:mod:`slth.precision`)."""
    constructions.check_candidates(name, c)
    t1 = time.perf_counter()
    layout = {"layout": nets.layouts.biased.LAYOUT.name} if p.biases else {}
    spec = nets.RandomSpec(dims=p.dims, candidates=c, seed=network_seed, **layout)
    pruned = pipeline.prune(name, p.target, spec)
    ticket_pred = predict(pruned.ticket.pruned, p.x_test, biases=p.biases)[1]
    agree = ticket_pred == p.target_pred
    sure = guaranteed(p.margin, pruned.meta["certificate"])
    return DigitsRow(
        construction=name, candidates=c, target_accuracy=p.target_accuracy,
        ticket_accuracy=float(np.mean(ticket_pred == p.dataset.y_test)),
        agreement=float(np.mean(agree)),
        certificate=float(pruned.meta["certificate"]), lower_bound=float(pruned.meta["lower_bound"]),
        guaranteed_fraction=float(np.mean(sure)), guaranteed_disagree=int(np.sum(sure & ~agree)),
        certificate_norms=float(pruned.meta["certificate_norms"]),
        guaranteed_fraction_norms=float(np.mean(guaranteed(p.margin, pruned.meta["certificate_norms"]))),
        random_params=int(pruned.meta["random_params"]), kept_params=int(pruned.meta["kept_params"]),
        time_s=time.perf_counter() - t1)
