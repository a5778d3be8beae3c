"""Training a masked bias-free ReLU MLP: the tasks, the initialisation, and one jitted adam loop.

A :class:`Task` holds the data and the training length T; :func:`train` runs optimiser steps
s..t-1 of it as one ``lax.scan`` in one compiled program per (shapes, number of steps): the mask, the
data, the step where it starts, the data-order key and the learning rate are arguments, not constants,
so every round of an IMP run (the same T - k steps) reuses it (:data:`TRACES` counts the traces).
The minibatch of step s depends only on (order key, s): step s takes batch s mod B of epoch s div B,
and epoch e is the permutation drawn from ``fold_in(order_key, e)`` (B batches per epoch, the last
incomplete batch dropped). So training 0..k and then k..T gives the bits of training 0..T, which is
what makes rewinding to step k well defined. Gradients and weights are masked: a pruned weight stays
exactly 0.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from slth import checks, nets, precision
from slth.errors import InputError
from slth.studies.digits.certify import normalise
from slth.studies.digits.data import load_digits

#: What a task asks: classification (integer labels, softmax cross-entropy, error = 1 - accuracy) or
#: regression (float targets (n, d_out), loss mean ‖f(x) - y‖², error = relative L2 error on the set).
KINDS = ("classification", "regression")

#: Traces of the jitted programs, by name ("train", "metrics"): a second round must not add one.
TRACES: collections.Counter = collections.Counter()

#: Sub-streams of a regression task's seed.
TRAIN_STREAM, TEST_STREAM = 0, 1


@dataclasses.dataclass(frozen=True, eq=False)
class Task:
    """Data and training schedule: T = ``steps`` adam steps on minibatches of ``batch_size``.

    x_train (n, d_0), x_test (m, d_0) float64; y int64 labels (classification) or float64 (n, d_out)."""

    name: str
    kind: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    steps: int
    batch_size: int
    learning_rate: float


def check_task(task) -> Task:
    """``task`` if it is a :class:`Task` of a known kind with a usable schedule, else one InputError."""
    if not isinstance(task, Task):
        raise InputError(f"task {task!r} must be a slth.studies.imp.Task (digits_task, regression_task)")
    checks.choice("task kind", task.kind, KINDS)
    checks.integer("task steps", task.steps, low=1)
    checks.integer("task batch_size", task.batch_size, low=1, high=len(task.x_train))
    checks.positive("task learning_rate", task.learning_rate)
    return task


def check_params(params, task: Task, *, name: str = "params") -> tuple:
    """``params`` if it is l >= 1 finite matrices (d_i, d_{i-1}) that chain from the task's inputs to its
    outputs, else one InputError."""
    if not isinstance(params, Sequence) or not params:
        raise InputError(f"{name} must be a non-empty sequence of weight matrices (d_i, d_(i-1))")
    shapes = [np.shape(w) for w in params]
    d_in = task.x_train.shape[1]
    d_out = int(max(task.y_train.max(), task.y_test.max())) + 1 if task.kind == "classification" \
        else task.y_train.shape[1]
    ok = all(len(s) == 2 for s in shapes) and all(a[0] == b[1] for a, b in zip(shapes, shapes[1:]))
    if not ok or shapes[0][1] != d_in or shapes[-1][0] != d_out:
        raise InputError(f"{name} have shapes {shapes}; expected matrices (d_i, d_(i-1)) chaining from the "
                         f"task's {d_in} inputs to its {d_out} outputs")
    if not all(np.all(np.isfinite(np.asarray(w))) for w in params):
        raise InputError(f"{name} have NaN or infinite entries; all must be finite")
    return tuple(params)


@precision.float64
def digits_task(*, epochs: int = 60, batch_size: int = 64, learning_rate: float = 3e-3, split_seed: int = 0,
                test_size: float = 0.2) -> Task:
    """scikit-learn's digits as a classification task, inputs normalised into the unit ball as the digits
    study does (:func:`slth.studies.digits.certify.normalise`); T = epochs · (n_train // batch_size)."""
    epochs = checks.integer("epochs", epochs, low=1)
    batch_size = checks.integer("batch_size", batch_size, low=1)
    learning_rate = checks.positive("learning_rate", learning_rate)
    data = load_digits(test_size=test_size, random_state=split_seed)
    batch_size = checks.integer("batch_size", batch_size, low=1, high=len(data.x_train))
    x_train, x_test, _, _ = normalise(data.x_train, data.x_test)
    return Task("digits", "classification", x_train, data.y_train, x_test, data.y_test,
                steps=epochs * (len(x_train) // batch_size), batch_size=batch_size, learning_rate=learning_rate)


@precision.float64
def regression_task(target: Sequence, *, seed: int, n_train: int = 4096, n_test: int = 4096, steps: int = 2000,
                    batch_size: int = 256, learning_rate: float = 1e-3, name: str = "regression") -> Task:
    """Fit the bias-free ReLU network ``target`` (l matrices (d_i, d_{i-1})) on inputs uniform in the unit
    ball of R^{d_0} (direction Gaussian, radius U^{1/d_0}), labels target(x) (:func:`slth.nets.forward`).
    Train and test points from the sub-streams :data:`TRAIN_STREAM`, :data:`TEST_STREAM` of ``seed``."""
    seed = checks.seed("seed", seed)
    n_train = checks.count("n_train", n_train)
    n_test = checks.count("n_test", n_test)
    steps = checks.count("steps", steps)
    batch_size = checks.integer("batch_size", batch_size, low=1, high=n_train)
    learning_rate = checks.positive("learning_rate", learning_rate)
    shapes = [np.shape(w) for w in target] if isinstance(target, Sequence) else []
    if not shapes or any(len(s) != 2 for s in shapes) or any(a[0] != b[1] for a, b in zip(shapes, shapes[1:])):
        raise InputError(f"target with shapes {shapes} must be a non-empty sequence of matrices (d_i, d_(i-1)) "
                         "that chain")
    layers = [jnp.asarray(w, jnp.float64) for w in target]
    key = jax.random.key(seed)

    def sample(stream: int, n: int):
        k_dir, k_rad = jax.random.split(jax.random.fold_in(key, stream))
        g = jax.random.normal(k_dir, (n, shapes[0][1]), jnp.float64)
        r = jax.random.uniform(k_rad, (n, 1), jnp.float64) ** (1.0 / shapes[0][1])
        x = g / jnp.linalg.norm(g, axis=1, keepdims=True) * r
        return np.asarray(x), np.asarray(nets.forward(layers, x))

    (x_train, y_train), (x_test, y_test) = sample(TRAIN_STREAM, n_train), sample(TEST_STREAM, n_test)
    return Task(name, "regression", x_train, y_train, x_test, y_test, steps=steps, batch_size=batch_size,
                learning_rate=learning_rate)


@precision.float64
def init(dims, key) -> tuple:
    """He-normal weights (d_i, d_{i-1}) ~ N(0, 2/d_{i-1}), the digits training's law and bits: the weights
    :func:`slth.studies.digits.train` starts from with the same key."""
    dims = checks.dims(dims)
    keys = jax.random.split(key, len(dims))
    return tuple(jax.random.normal(k, (dims[i + 1], dims[i]), jnp.float64) * math.sqrt(2.0 / dims[i])
                 for i, k in enumerate(keys[1:]))


@dataclasses.dataclass(frozen=True)
class State:
    """Weights, adam's state, and the number of optimiser steps taken."""

    params: tuple
    opt_state: tuple
    step: int


def _adam(learning_rate):
    return optax.adam(learning_rate)


def _masked(mask, tree):
    return tuple(jnp.where(m, w, jnp.zeros((), w.dtype)) for m, w in zip(mask, tree))


@precision.float64
def start(params: Sequence, mask: Sequence) -> State:
    """params · mask (pruned weights exactly +0), a fresh adam state, step 0."""
    params = _masked(mask, [jnp.asarray(w, jnp.float64) for w in params])
    return State(params, _adam(1.0).init(params), 0)      # adam's state does not depend on the rate


@precision.float64
def rewound(state: State, mask: Sequence) -> State:
    """``state`` under ``mask``: its weights and adam's moment estimates of pruned weights set to 0, its
    step count (and adam's) kept. The start of an IMP round rewound to ``state``."""
    opt_state = optax.tree_utils.tree_map_params(
        _adam(1.0), lambda v, m: jnp.where(m, v, jnp.zeros((), v.dtype)), state.opt_state, tuple(mask))
    return State(_masked(mask, state.params), opt_state, state.step)


@precision.float64
def train(state: State, mask: Sequence, task: Task, order_key, stop: int) -> State:
    """Adam steps state.step .. stop-1 of ``task`` under ``mask`` (see the module docstring: the batch of
    step s depends only on (order_key, s)); ``stop`` in [state.step, task.steps]."""
    check_task(task)
    check_params(state.params, task)
    stop = checks.integer("stop", stop, low=state.step, high=task.steps)
    if stop == state.step:
        return state
    params, opt_state = _loop(tuple(state.params), state.opt_state, tuple(jnp.asarray(m, bool) for m in mask),
                              jnp.asarray(task.x_train, jnp.float64), jnp.asarray(task.y_train), order_key,
                              jnp.asarray(state.step, jnp.int64), jnp.asarray(task.learning_rate, jnp.float64),
                              n_steps=stop - state.step, batch_size=task.batch_size, kind=task.kind)
    return State(params, opt_state, stop)


def batches(order_key, first, n_steps: int, n: int, batch_size: int):
    """(n_steps, batch_size) example indices of steps first..first+n_steps-1 (traceable in ``first``)."""
    per_epoch = n // batch_size
    steps = first + jnp.arange(n_steps)
    epoch0 = first // per_epoch
    n_epochs = (n_steps - 1) // per_epoch + 2                 # every epoch these steps can touch
    perms = jax.vmap(lambda e: jax.random.permutation(jax.random.fold_in(order_key, e), n))(
        epoch0 + jnp.arange(n_epochs))
    cols = (steps % per_epoch)[:, None] * batch_size + jnp.arange(batch_size)
    return perms[(steps // per_epoch - epoch0)[:, None], cols]


def loss(params, x, y, kind: str):
    """Mean softmax cross-entropy (classification) or mean ‖f(x) - y‖² (regression)."""
    out = nets.forward(params, x)
    if kind == "classification":
        return optax.softmax_cross_entropy_with_integer_labels(out, y).mean()
    return jnp.mean(jnp.sum((out - y) ** 2, axis=1))


@functools.partial(jax.jit, static_argnames=("n_steps", "batch_size", "kind"))
def _loop(params, opt_state, mask, x, y, order_key, first, learning_rate, *, n_steps, batch_size, kind):
    TRACES["train"] += 1
    opt = _adam(learning_rate)

    def step(carry, batch):
        params, state = carry
        grads = _masked(mask, jax.grad(loss)(params, x[batch], y[batch], kind))
        updates, state = opt.update(grads, state, params)
        return (_masked(mask, optax.apply_updates(params, updates)), state), None

    (params, opt_state), _ = jax.lax.scan(step, (params, opt_state),
                                          batches(order_key, first, n_steps, x.shape[0], batch_size))
    return params, opt_state


def metrics(params, x, y, kind: str):
    """(error, loss, accuracy) as JAX scalars; accuracy is nan for regression (traceable)."""
    out = nets.forward(params, x)
    if kind == "classification":
        accuracy = jnp.mean((jnp.argmax(out, axis=1) == y).astype(out.dtype))   # a mean of bools is float32
        return 1.0 - accuracy, loss(params, x, y, kind), accuracy
    error = jnp.linalg.norm(out - y) / jnp.linalg.norm(y)
    return error, loss(params, x, y, kind), jnp.asarray(jnp.nan, out.dtype)


@functools.partial(jax.jit, static_argnames=("kind",))
def _metrics(params, mask, x, y, kind):
    TRACES["metrics"] += 1
    return metrics(_masked(mask, params), x, y, kind)


@precision.float64
def evaluate(params: Sequence, mask: Sequence, x, y, kind: str) -> tuple[float, float, float]:
    """(error, loss, accuracy) of params · mask on (x, y): error = 1 - accuracy (classification) or the
    relative L2 error ‖f(X) - Y‖_F / ‖Y‖_F (regression, accuracy nan)."""
    kind = checks.choice("kind", kind, KINDS)
    values = _metrics(tuple(jnp.asarray(w, jnp.float64) for w in params), tuple(jnp.asarray(m, bool) for m in mask),
                      jnp.asarray(x, jnp.float64), jnp.asarray(y), kind)
    return tuple(float(v) for v in values)
