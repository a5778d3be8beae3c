"""The trained-ticket study's units: one row per (method, rewind, round) of IMP on the digits task, the strong tickets of the same dense network beside them, and the instability of a rewind point.

One setup (:class:`Setup`: the dense widths, the training schedule, the pruning rate and rounds) and
one seed per trial. Trial seed s draws everything from ``jax.random.key(s)``: the initial weights
θ_0 (``fold_in`` :data:`THETA0`), the minibatch order of every training (:data:`ORDER`), the weights
of the reinitialisation control (:data:`REINIT` + round) and the masks of the random-pruning control
(:data:`RANDOM` + round), the two data orders of the instability copies (:data:`COPIES`) and the
random networks of the strong tickets (``RandomSpec(seed=s)``). The IMP run of a (setup, seed,
rewind) is computed once per process (:func:`imp_run`) and shared by the rows of every round.

The strong tickets approximate the same network IMP starts from: round 0's dense training, brought
into the theorems' assumptions by positive rescaling (:func:`slth.studies.digits.rescale_target`,
which changes no prediction), so trained and strong tickets are compared on one task, one dense
network, at equal kept parameters.

"Fraction of weights kept" is kept / total weights of the network the ticket is taken from: the dense
network for IMP and its controls, the random network for a strong ticket. Rows give the count
(``kept_params``) too, the axis on which the two kinds of ticket meet.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import numpy as np

from slth import checks, constructions, nets, pipeline, precision
from slth.errors import InputError
from slth.studies.digits.data import N_CLASSES
from slth.studies.digits.certify import guaranteed, margins, rescale_target
from slth.studies.digits.training import predict
from slth.studies.imp import imp, lmc, masks, training

#: The trained tickets' methods: IMP, and its two controls on the same masks.
IMP, REINIT_CONTROL, RANDOM_CONTROL = "imp", "reinit", "random"
TRAINED = (IMP, REINIT_CONTROL, RANDOM_CONTROL)
#: fold_in data of a trial's key (see the module docstring).
THETA0, ORDER, COPIES, REINIT, RANDOM = 0, 1, 2, 1000, 2000

#: The defaults of :class:`Setup` (the quick scale's).
DEFAULTS = dict(dims="64,32,10", epochs=60, batch_size=64, learning_rate=3e-3, fraction=0.2, rounds=10,
                scope="layer")


@dataclasses.dataclass(frozen=True)
class Setup:
    """Everything an IMP run depends on besides its seed and rewind step (hashable: the cache key).

    dims: dense widths, d_0 = 64 pixels and d_l = 10 classes. epochs, batch_size, learning_rate: adam
    on softmax cross-entropy (T = epochs · ⌊n_train / batch_size⌋ steps). fraction: p, the fraction of
    the remaining weights pruned per round. rounds: n. scope: "layer" or "global" magnitude ranking.
    """

    dims: tuple[int, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    fraction: float
    rounds: int
    scope: str

    @property
    def task(self) -> training.Task:
        return _task(self.epochs, self.batch_size, self.learning_rate)


def setup(*, dims=DEFAULTS["dims"], epochs=DEFAULTS["epochs"], batch_size=DEFAULTS["batch_size"],
          learning_rate=DEFAULTS["learning_rate"], fraction=DEFAULTS["fraction"], rounds=DEFAULTS["rounds"],
          scope=DEFAULTS["scope"], rewinds=(0,)) -> Setup:
    """A checked :class:`Setup`: every value, and every rewind step of ``rewinds`` against the
    schedule's length, through :func:`slth.studies.imp.imp.check` (one-line InputError, before any work)."""
    dims = checks.dims(dims)
    s = Setup(dims=dims, epochs=checks.integer("epochs", epochs, low=1),
              batch_size=checks.integer("batch_size", batch_size, low=1),
              learning_rate=checks.positive("learning_rate", learning_rate), fraction=float(fraction),
              rounds=rounds, scope=scope)
    _check_dims(dims)
    for k in rewinds:
        imp.check(s.task, fraction=fraction, rounds=rounds, rewind=k, scope=scope)
    return s


def _check_dims(dims: tuple[int, ...]) -> None:
    if dims[0] != 64 or dims[-1] != N_CLASSES:
        raise InputError(f"dims {','.join(map(str, dims))} do not fit the digits: the first width must be the 64 "
                         f"pixels and the last the {N_CLASSES} classes")


@functools.lru_cache(maxsize=4)
def _task(epochs: int, batch_size: int, learning_rate: float) -> training.Task:
    return training.digits_task(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)


def _key(seed: int, what: int):
    return jax.random.fold_in(jax.random.key(checks.seed("seed", seed)), what)


@functools.lru_cache(maxsize=8)
@precision.float64
def imp_run(s: Setup, seed: int, rewind: int) -> imp.IMPRun:
    """IMP with rewinding to step ``rewind`` for ``s.rounds`` rounds from θ_0 of ``seed``, once per process."""
    theta0 = training.init(s.dims, _key(seed, THETA0))
    return imp.run(s.task, theta0, fraction=s.fraction, rounds=s.rounds, rewind=rewind, scope=s.scope,
                   order_key=_key(seed, ORDER))


def _layers(kept, mask) -> dict:
    sizes = [int(np.size(m)) for m in mask]
    return {"kept_params": int(sum(kept)), "network_params": int(sum(sizes)),
            "fraction_kept": float(sum(kept) / sum(sizes)),
            "fraction_kept_per_layer": tuple(round(k / n, 6) for k, n in zip(kept, sizes))}


@precision.float64
def trained_row(s: Setup, method: str, rewind: int, r: int, seed: int) -> dict:
    """Round ``r`` of ``method`` (``imp``: IMP's own round; ``reinit``, ``random``: its controls on the
    mask of IMP's round r) for the trial ``seed``: fraction kept (overall and per layer), test and
    train accuracy and loss, and the dense network's test accuracy for reference."""
    checks.choice("method", method, TRAINED)
    run = imp_run(s, seed, rewind)
    checks.integer("round", r, low=0, high=len(run.rounds) - 1)
    if method == IMP:
        rnd = run.rounds[r]
    elif method == REINIT_CONTROL:
        rnd = imp.reinit(run, r, _key(seed, REINIT + r))
    else:
        rnd = imp.random_pruning(run, r, _key(seed, RANDOM + r))
    return {"method": method, "rewind": rewind, "round": r, "c": 0, **_layers(rnd.kept, rnd.mask),
            "test_accuracy": rnd.test_accuracy, "test_loss": rnd.test_loss,
            "train_accuracy": rnd.train_accuracy, "train_loss": rnd.train_loss,
            "dense_accuracy": run.rounds[0].test_accuracy,
            "agreement": float("nan"), "certificate": float("nan"), "lower_bound": float("nan"),
            "proven_agreement": float("nan")}


@functools.lru_cache(maxsize=4)
@precision.float64
def dense_target(s: Setup, seed: int):
    """Round 0's dense network (rewind 0) in the theorems' assumptions: (target, test logits' labels,
    test margins); the rescaling changes no prediction."""
    task = s.task
    trained = imp_run(s, seed, 0).rounds[0].params
    target, _ = rescale_target(trained, task.x_train, task.x_test)
    logits, pred = predict(target, task.x_test)
    return target, pred, margins(logits)


@precision.float64
def strong_row(s: Setup, construction: str, c: int, seed: int) -> dict:
    """The strong ticket of ``construction`` with c candidates per block and sign, pruned from the
    random network of ``seed`` (no training of its weights) to approximate round 0's dense network:
    its test accuracy, agreement with the dense network, two-sided error and the fraction kept."""
    constructions.check_candidates(construction, c)
    task = s.task
    target, target_pred, margin = dense_target(s, seed)
    pruned = pipeline.prune(construction, target, nets.RandomSpec(dims=s.dims, candidates=c, seed=seed))
    pred = predict(pruned.ticket.pruned, task.x_test)[1]
    kept = tuple(int(np.count_nonzero(m)) for m in pruned.ticket.masks)
    cert = float(pruned.meta["certificate"])
    return {"method": construction, "rewind": -1, "round": -1, "c": c, **_layers(kept, pruned.ticket.masks),
            "test_accuracy": float(np.mean(pred == task.y_test)), "test_loss": float("nan"),
            "train_accuracy": float("nan"), "train_loss": float("nan"),
            "dense_accuracy": imp_run(s, seed, 0).rounds[0].test_accuracy,
            "agreement": float(np.mean(pred == target_pred)), "certificate": cert,
            "lower_bound": float(pruned.meta["lower_bound"]),
            "proven_agreement": float(np.mean(guaranteed(margin, cert)))}


@precision.float64
def instability_row(s: Setup, rewind: int, r: int, seed: int, points: int = lmc.POINTS) -> dict:
    """Linear mode connectivity from the rewind point ``rewind`` with IMP's mask of round ``r`` (0: the
    dense network): two copies trained to the end with different data orders, and their error barrier
    along the line between them on ``points`` evenly spaced points."""
    start = time.perf_counter()
    run = imp_run(s, seed, rewind)
    checks.integer("round", r, low=0, high=len(run.rounds) - 1)
    copies = (jax.random.fold_in(_key(seed, COPIES), 0), jax.random.fold_in(_key(seed, COPIES), 1))
    b = lmc.instability(run, r, keys=copies, points=points)
    mask = run.rounds[r].mask
    return {"rewind": rewind, "round": r, **_layers(masks.kept(mask), mask), "barrier": float(b.barrier),
            "loss_barrier": float(b.loss_barrier), "end_error_a": float(b.end_errors[0]),
            "end_error_b": float(b.end_errors[1]), "max_error": float(np.max(b.errors)), "points": points,
            "steps": s.task.steps, "time_s": time.perf_counter() - start}


# --------------------------------------------------------------------------- one run, as slth imp prints it

@precision.float64
def imp_table(s: Setup, *, seed: int = 0, rewind: int = 0, controls: bool = True, progress=None) -> list[dict]:
    """Every round of one IMP run with rewinding to ``rewind`` (and, with ``controls``, its two
    controls on each round's mask): the rows of :func:`trained_row`, ``imp`` first. ``progress``:
    optional callable(done, total) after each row."""
    imp.check(s.task, fraction=s.fraction, rounds=s.rounds, rewind=rewind, scope=s.scope)
    units = [(IMP, r) for r in range(s.rounds + 1)]
    if controls:
        units += [(m, r) for r in range(1, s.rounds + 1) for m in TRAINED[1:]]
    rows = []
    for done, (method, r) in enumerate(units, 1):
        rows.append(trained_row(s, method, rewind, r, seed))
        if progress is not None:
            progress(done, len(units))
    return rows


def format_table(s: Setup, rows: list[dict], *, seed: int, rewind: int) -> str:
    """The table ``slth imp`` prints: one line per round, IMP's accuracy and its controls' beside it."""
    by = {(r["method"], r["round"]): r for r in rows}
    dims = "-".join(map(str, s.dims))
    task = s.task
    lines = [f"slth imp: bias-free ReLU MLP {dims} on the digits ({len(task.x_train)} train / {len(task.x_test)} test), "
             f"adam lr {s.learning_rate:g}, {s.epochs} epochs of batch {s.batch_size} ({task.steps} steps), seed {seed}",
             f"  each round prunes {s.fraction:g} of the remaining weights by magnitude ({s.scope}-wise) and rewinds "
             f"to step {rewind}" + (" (θ_0)" if rewind == 0 else ""),
             "",
             f"  {'round':>5s} {'fraction kept':>13s} {'weights kept':>12s} {'IMP acc':>8s} {'IMP loss':>8s} "
             f"{'reinit acc':>10s} {'random acc':>10s}"]
    for r in range(s.rounds + 1):
        row = by[(IMP, r)]
        ctl = [by.get((m, r)) for m in TRAINED[1:]]
        lines.append(f"  {r:>5d} {row['fraction_kept']:>13.4f} {row['kept_params']:>12,} {row['test_accuracy']:>8.1%} "
                     f"{row['test_loss']:>8.3f} "
                     + " ".join(f"{c['test_accuracy']:>10.1%}" if c else f"{'-':>10s}" for c in ctl))
    lines += ["", "  fraction kept: kept weights / all weights of the dense network (not the fraction pruned).",
              "  reinit: IMP's mask, kept weights redrawn, trained from step 0; random: a random mask with IMP's",
              "  per-layer counts, trained from the rewind point. Accuracies on the test set."]
    return "\n".join(lines)
