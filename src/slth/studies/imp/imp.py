"""Iterative magnitude pruning with rewinding, and its two controls on the same masks.

IMP (Frankle & Carbin 2019, with late rewinding from Frankle, Dziugaite, Roy & Carbin 2020): train the
dense network from θ_0 for T steps; remove a fraction p of the remaining weights with the smallest
magnitude (:func:`slth.studies.imp.masks.magnitude_prune`, per layer or globally); reset the kept ones
to their values at step k (k = 0: θ_0 itself) and train again to T; repeat. After n rounds the mask
keeps (1 - p)^n of the weights, to rounding. The controls of both papers: random reinitialisation
(the IMP mask, the kept weights redrawn) and random pruning (a random mask with the same kept count
in every layer).

Choices where the papers or open_lth (facebookresearch/open_lth) differ or leave room:
- Optimiser: adam (the digits study's), not SGD with momentum. At a rewind point k > 0 the round starts
  from the dense run's full state at step k, adam's moment estimates and step count included (those of
  pruned weights zeroed), so a round is the dense run's continuation under a mask; open_lth restarts
  the optimiser at the rewind step. At k = 0 both are the same: a fresh adam state.
- Every layer is prunable, the output layer included, at the same rate (Frankle & Carbin prune the
  output layer of their MLPs at half the rate). No biases to exclude: the networks have none.
- Controls' starting point: random reinitialisation trains from step 0 with a fresh adam state and
  the run's data order (as the 2019 paper: new weights are a new initialisation); random pruning
  starts from the rewind point, as IMP does, so only the mask differs from IMP's round.
- Each round removes round(p · kept) per layer (halves up), so counts are exact integers; open_lth's
  global scope removes ceil(p · kept) and prunes every weight tied at the threshold.
- Every round trains with the same data order (``order_key``): the minibatch of step s is the same in
  every round, so rounds differ only by their masks.

References:
  Frankle & Carbin, "The Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural Networks",
  ICLR 2019, arXiv:1803.03635.
  Frankle, Dziugaite, Roy & Carbin, "Linear Mode Connectivity and the Lottery Ticket Hypothesis",
  ICML 2020, arXiv:1912.05671.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Sequence

import jax
import numpy as np

from slth import checks, precision
from slth.errors import InputError
from slth.studies.imp import masks, training
from slth.studies.imp.training import State, Task


@dataclasses.dataclass(frozen=True, eq=False)
class Round:
    """One trained network of a run: round ``index`` (0 = dense), its mask and trained weights (masked),
    the kept weights per layer and the fraction of weights kept, and its errors, losses and accuracies
    (accuracy nan for regression)."""

    index: int
    mask: tuple
    params: tuple
    kept: tuple[int, ...]
    fraction_kept: float
    test_error: float
    test_loss: float
    test_accuracy: float
    train_error: float
    train_loss: float
    train_accuracy: float


@dataclasses.dataclass(frozen=True, eq=False)
class IMPRun:
    """An IMP run: the task, θ_0, the rewind step k and the dense run's state there, p, the scope,
    rounds 0..n, the seed recorded for it (None if not given) and the data-order key every round used."""

    task: Task
    theta0: tuple
    rewind: int
    rewind_state: State
    fraction: float
    scope: str
    rounds: tuple[Round, ...]
    seed: int | None
    order_key: object


def check(task, *, fraction, rounds, rewind, scope) -> None:
    """One InputError for bad arguments of :func:`run`: a task that is no :class:`Task` or of an unknown
    kind, p outside (0, 1), rounds < 1, a rewind step outside [0, T], an unknown scope."""
    training.check_task(task)
    checks.open_unit("fraction", fraction)
    checks.integer("rounds", rounds, low=1)
    rewind = checks.integer("rewind", rewind)
    if not 0 <= rewind <= task.steps:
        raise InputError(f"rewind {rewind!r} must be a step in [0, {task.steps}], the task's training length T")
    checks.choice("scope", scope, masks.SCOPES)


def as_key(name: str, value):
    """A JAX key from a seed (``jax.random.key(seed)``) or a typed JAX key as is; else one InputError."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return jax.random.key(checks.seed(name, value))
    if isinstance(value, jax.Array) and jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key) \
            and value.shape == ():
        return value
    raise InputError(f"{name} {value!r} must be a seed in [0, 2**63) or a key from jax.random.key")


@precision.float64
def run(task: Task, theta0: Sequence, *, fraction: float, rounds: int, rewind: int = 0, scope: str = "layer",
        order_key, progress: Callable[[str], None] | None = None, seed: int | None = None) -> IMPRun:
    """Iterative magnitude pruning with rewinding to step ``rewind``.

    Round 0 trains the dense network from θ_0 for T = task.steps steps; the run keeps its state after
    ``rewind`` steps (adam's included). Round r >= 1: mask_r = magnitude_prune(round r-1's weights,
    mask_{r-1}, fraction, scope), then training from that state under mask_r (:func:`training.rewound`)
    to step T. Every training uses ``order_key``'s data order and the same compiled loop.

    Args:
      task: a :class:`Task`. theta0: l matrices (d_i, d_{i-1}) that fit it. fraction: p in (0, 1), the
        fraction of the remaining weights each round removes. rounds: n >= 1 pruning rounds.
      rewind: k in [0, T]. scope: "layer" or "global". order_key: a seed or a JAX key for the data order.
      progress: optional callable(str) told about each round. seed: recorded in the run (defaults to
        ``order_key`` when that is a seed).
    Returns:
      an :class:`IMPRun` with rounds 0..n.
    Raises:
      InputError: bad arguments, before any training.
    """
    check(task, fraction=fraction, rounds=rounds, rewind=rewind, scope=scope)
    theta0 = training.check_params(theta0, task, name="theta0")
    if seed is not None:
        seed = checks.seed("seed", seed)
    elif isinstance(order_key, numbers.Integral) and not isinstance(order_key, bool):
        seed = int(order_key)
    order_key = as_key("order_key", order_key)
    say = progress or (lambda msg: None)

    mask = masks.full(theta0)
    rewind_state = training.train(training.start(theta0, mask), mask, task, order_key, int(rewind))
    done = [_round(0, mask, training.train(rewind_state, mask, task, order_key, task.steps), task)]
    say(_line(done[-1], rounds))
    for r in range(1, rounds + 1):
        mask = masks.magnitude_prune(done[-1].params, done[-1].mask, fraction, scope)
        state = training.train(training.rewound(rewind_state, mask), mask, task, order_key, task.steps)
        done.append(_round(r, mask, state, task))
        say(_line(done[-1], rounds))
    return IMPRun(task=task, theta0=tuple(theta0), rewind=int(rewind), rewind_state=rewind_state,
                  fraction=float(fraction), scope=scope, rounds=tuple(done), seed=seed, order_key=order_key)


@precision.float64
def reinit(run: IMPRun, r: int, key) -> Round:
    """Control: round r's mask with the kept weights redrawn by :func:`training.init` (``key``), trained
    from step 0 with a fresh adam state to step T, in the run's data order."""
    mask = _mask(run, r)
    dims = (np.shape(run.theta0[0])[1], *(np.shape(w)[0] for w in run.theta0))
    weights = training.init(dims, as_key("key", key))
    state = training.train(training.start(weights, mask), mask, run.task, run.order_key, run.task.steps)
    return _round(r, mask, state, run.task)


@precision.float64
def random_pruning(run: IMPRun, r: int, key) -> Round:
    """Control: a uniformly random mask with round r's kept count in every layer
    (:func:`masks.random_like`, ``key``), trained from the run's rewind point to step T."""
    mask = masks.random_like(_mask(run, r), as_key("key", key))
    state = training.train(training.rewound(run.rewind_state, mask), mask, run.task, run.order_key,
                           run.task.steps)
    return _round(r, mask, state, run.task)


def _mask(run: IMPRun, r) -> tuple:
    r = checks.integer("round", r, low=0, high=len(run.rounds) - 1)
    return run.rounds[r].mask


def _round(index: int, mask, state: State, task: Task) -> Round:
    test = training.evaluate(state.params, mask, task.x_test, task.y_test, task.kind)
    train = training.evaluate(state.params, mask, task.x_train, task.y_train, task.kind)
    return Round(index=index, mask=tuple(mask), params=tuple(state.params), kept=masks.kept(mask),
                 fraction_kept=masks.fraction_kept(mask), test_error=test[0], test_loss=test[1],
                 test_accuracy=test[2], train_error=train[0], train_loss=train[1], train_accuracy=train[2])


def _line(done: Round, rounds: int) -> str:
    return (f"round {done.index}/{rounds}: fraction of weights kept {done.fraction_kept:.4f}, "
            f"test error {done.test_error:.4f}")
