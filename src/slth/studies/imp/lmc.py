"""Linear mode connectivity: the error barrier between two trainings that share a rewind point.

Frankle, Dziugaite, Roy & Carbin 2020 (instability analysis): from the weights at step k, train two copies with
different data orders to T, and evaluate the error along the straight line (1 - α)·θ_a + α·θ_b. The
instability is the error barrier, max_α err(α) - (err(0) + err(1))/2, on a grid of α; the network is
stable at k when it is about 0. Here: the test set, :data:`POINTS` values of α evenly spaced in [0, 1]
(the paper uses 30), and the copies start from the IMP run's full state at k under the round's mask
(adam's state included, as every IMP round does; :mod:`slth.studies.imp.imp`).

The path is evaluated as θ_a + α·(θ_b - θ_a), with θ_b itself at α = 1: both ends are exactly the two
networks, and two identical trainings (the same keys) give every point the same weights, hence a
barrier of exactly 0.

References:
  Frankle, Dziugaite, Roy & Carbin, "Linear Mode Connectivity and the Lottery Ticket Hypothesis",
  ICML 2020, arXiv:1912.05671.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from slth import checks, precision
from slth.errors import InputError
from slth.studies.imp import masks, training
from slth.studies.imp.imp import IMPRun, as_key
from slth.studies.imp.training import Task

#: Values of α on the path, 0 and 1 included (the issue asks for at least 30).
POINTS = 31


@dataclasses.dataclass(frozen=True, eq=False)
class Barrier:
    """The test error and loss along the path between two trained networks and their barriers.

    Attributes:
      alphas, errors, losses: arrays of ``points`` values (α from 0 to 1). barrier: max error - mean of
        the two end errors (>= 0). loss_barrier: the same for the loss. end_errors: err(0), err(1).
      rewind, round: where the two trainings started (None from :func:`interpolate` unless given).
      fraction_kept: of the mask both networks share.
    """

    alphas: np.ndarray
    errors: np.ndarray
    losses: np.ndarray
    barrier: float
    loss_barrier: float
    end_errors: tuple[float, float]
    rewind: int | None
    round: int | None
    fraction_kept: float


@precision.float64
def interpolate(params_a: Sequence, params_b: Sequence, mask: Sequence, task: Task, points: int = POINTS, *,
                rewind: int | None = None, round: int | None = None) -> Barrier:
    """The test error along θ_a + α·(θ_b - θ_a) under ``mask`` at ``points`` >= 2 values of α in [0, 1]
    and its barrier (module docstring)."""
    training.check_task(task)
    params_a = training.check_params(params_a, task, name="params_a")
    params_b = training.check_params(params_b, task, name="params_b")
    points = checks.integer("points", points, low=2)
    alphas = np.linspace(0.0, 1.0, points)
    errors, losses = _path(tuple(jnp.asarray(w, jnp.float64) for w in params_a),
                           tuple(jnp.asarray(w, jnp.float64) for w in params_b),
                           tuple(jnp.asarray(m, bool) for m in mask), jnp.asarray(alphas),
                           jnp.asarray(task.x_test, jnp.float64), jnp.asarray(task.y_test), task.kind)
    errors, losses = np.asarray(errors), np.asarray(losses)
    return Barrier(alphas=alphas, errors=errors, losses=losses,
                   barrier=float(errors.max() - (errors[0] + errors[-1]) / 2),
                   loss_barrier=float(losses.max() - (losses[0] + losses[-1]) / 2),
                   end_errors=(float(errors[0]), float(errors[-1])), rewind=rewind, round=round,
                   fraction_kept=masks.fraction_kept(mask))


@functools.partial(jax.jit, static_argnames=("kind",))
def _path(params_a, params_b, mask, alphas, x, y, kind):
    training.TRACES["path"] += 1

    def at(alpha):
        params = tuple(jnp.where(alpha == 1, b, a + alpha * (b - a)) for a, b in zip(params_a, params_b))
        error, loss, _ = training.metrics(tuple(jnp.where(m, w, 0.0) for m, w in zip(mask, params)), x, y, kind)
        return error, loss

    return jax.vmap(at)(alphas)


@precision.float64
def instability(run: IMPRun, r: int, keys: Sequence, points: int = POINTS) -> Barrier:
    """Frankle et al. 2020's instability of round ``r`` (0: the dense network) at the run's rewind step:
    two copies from ``run.rewind_state`` under round r's mask, trained to T with the data orders
    ``keys[0]`` and ``keys[1]`` (seeds or JAX keys), and the barrier between them. The same key twice
    gives a barrier of exactly 0."""
    r = checks.integer("round", r, low=0, high=len(run.rounds) - 1)
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence) or len(keys) != 2:
        raise InputError(f"keys {keys!r} must be a pair (key_a, key_b) of seeds or JAX keys")
    key_a, key_b = as_key("keys[0]", keys[0]), as_key("keys[1]", keys[1])
    points = checks.integer("points", points, low=2)
    mask = run.rounds[r].mask
    begin = training.rewound(run.rewind_state, mask)
    a = training.train(begin, mask, run.task, key_a, run.task.steps)
    b = training.train(begin, mask, run.task, key_b, run.task.steps)
    return interpolate(a.params, b.params, mask, run.task, points, rewind=run.rewind, round=r)
