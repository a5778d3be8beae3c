"""Searching a planted network for its ticket: edge-popup (scores on every weight) and IMP.

Both searches see only the random network and the target's input-output map, never the planting,
and return a bool mask of the network's shapes; the found ticket is network * mask with the random
(untrained) weights, a strong ticket, judged by :func:`slth.measure.lower_bound`, by
:func:`~slth.studies.planted.certify.certificate` and by
:func:`~slth.studies.planted.planting.precision_recall` against the planted mask.

``keep`` is the fraction of each layer's weights kept, in (0, 1]: layer i keeps
:func:`slth.constructions.edge_popup.kept_count` (keep, n_i n_{i-1}) = max(1, ⌊keep·n_i n_{i-1} + ½⌋)
weights (IMP: as close to that as its rounds allow, :func:`imp_search`). Plant 'n' Seek (Fischer &
Burkholz 2022, §4) searches at the planted sparsity and above; keep below the planted fraction is
allowed too (no exact ticket of that size need exist then).

Measured (target 16,16,16,10 in 64,64, seed 0; the planted ticket keeps 11.7%): neither search finds
the planted ticket. Edge-popup's precision is about twice chance and its error a third to a half of
sup‖f‖; IMP's precision is below chance (the planted weights, α_i W_i with α_i = 1 here, are smaller
than the He-normal ones, so magnitude pruning removes them early) and its untrained ticket is worse
than the zero network.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from slth import checks, nets, precision
from slth.constructions.edge_popup import kept_count, topk_mask
from slth.errors import InputError
from slth.studies import imp
from slth.studies.planted.planting import Planted

#: Edge-popup's optimisation steps (one fresh batch of inputs each).
STEPS = 2000
#: Inputs per step, uniform in the unit ball.
BATCH = 256
#: Initial Adam step size of the scores, cosine-decayed to 0. Target 16,16,16,10 (random_target seed 0,
#: sup‖f‖ about 0.30) planted in 64,64 (seed 0), lower bound of the found ticket at keep = the planted
#: fraction / 4× it, by step size (2000 steps; 6000 steps): 1e-3: 0.137 / 0.155 (0.128 / 0.090),
#: 3e-3: 0.131 / 0.109 (0.125 / 0.091), 1e-2: 0.121 / 0.101 (0.142 / 0.094), 3e-2: 0.142 / 0.101
#: (0.112 / 0.093), 0.1: 0.127 / 0.133 (0.127 / 0.118); none found the planted ticket (precision at
#: most 0.25 at 1×). The differences are within the seed-to-seed spread; 1e-2 and 2000 steps are cheap.
LEARNING_RATE = 1e-2
#: IMP's default pruning rate: the default number of rounds is the fewest whose rate
#: p = 1 − keep^(1/rounds) is at most this (Frankle & Carbin 2019 prune 20% per round).
IMP_RATE = 0.2
#: Half-width of the relative window around 1 − keep^(1/rounds) in which :func:`imp_schedule` looks for
#: the rate whose integer rounds land on the kept counts, and the number of rates it tries there.
RATE_WINDOW, RATE_TRIES = 0.05, 1001
#: ``fold_in`` datum of a search's stream, fold_in(key(seed), SEARCH): distinct from the planting's
#: streams (layers 0..l and :data:`~slth.studies.planted.planting.PLANT`) should a search reuse its seed.
SEARCH = 2**32 - 3


@precision.float64
def edge_popup(planted: Planted, keep: float, *, seed: int, steps: int = STEPS, batch: int = BATCH,
               learning_rate: float = LEARNING_RATE) -> tuple:
    """Edge-popup (Ramanujan, Wortsman, Kembhavi, Farhadi, Rastegari 2020, "What's Hidden in a Randomly
    Weighted Neural Network?", CVPR 2020, arXiv 1911.13299, Algorithm 1) on the whole planted network.

    Every weight has a real score, initialised kaiming-uniform U[−1/√fan_in, 1/√fan_in] as in the
    paper's code; the forward pass uses the weights whose scores are the top ``keep`` fraction of their
    layer (:func:`~slth.constructions.edge_popup.topk_mask`, ties to the lower index); the backward pass
    treats the mask as the identity (straight-through), so ∂L/∂s = ∂L/∂(w·m)·w. The loss is the mean
    of ‖f(x) − g_S(x)‖² over a fresh batch uniform in the unit ball every step, minimised by Adam with a
    cosine-decayed step size (the regression analogue of the paper's classification loss, on the inputs
    the error is measured on; Adam as in :mod:`slth.constructions.edge_popup`). The loop is one
    ``lax.scan`` in one compiled function per shape. Randomness: fold_in(key(seed), :data:`SEARCH`),
    then fold_in(·, i) for layer i's scores and fold_in(·, 0) for the batches.

    Args:
      planted: from :func:`~slth.studies.planted.planting.plant`. keep: fraction in (0, 1] of each layer's
        weights kept. seed: integer in [0, 2**63). steps, batch: integers >= 1. learning_rate: > 0.
    Returns:
      The top-``keep`` mask of the final scores: l bool arrays of the network's shapes.
    """
    keep = check_keep(keep)
    _check_planted(planted)
    seed = checks.seed("seed", seed)
    steps, batch = checks.count("steps", steps), checks.count("batch", batch)
    learning_rate = checks.positive("learning_rate", learning_rate)
    network = tuple(jnp.asarray(w, jnp.float64) for w in planted.network)
    target = tuple(jnp.asarray(w, jnp.float64) for w in planted.target)
    kept = jnp.asarray([kept_count(keep, w.size) for w in planted.network], jnp.int32)
    root = jax.random.fold_in(jax.random.key(seed), SEARCH)
    masks = _popup(network, target, kept, root, jnp.float64(learning_rate), steps, batch)
    return tuple(np.asarray(m, bool) for m in masks)


@precision.float64
def imp_search(planted: Planted, keep: float, *, seed: int, rounds: int | None = None, steps: int = 2000,
               learning_rate: float = 1e-3, progress=None) -> tuple:
    """Iterative magnitude pruning (Frankle & Carbin 2019; :mod:`slth.studies.imp`) of the planted network,
    read as a strong-ticket search: the mask it ends with, on the untrained weights.

    The task is :func:`slth.studies.imp.regression_task` (target, seed=:func:`task_seed` (seed),
    steps=steps, learning_rate=learning_rate): inputs uniform in the unit ball, labels f(x).
    θ_0 = planted.network, rewind to step 0, scope "layer", data order
    fold_in(fold_in(key(seed), :data:`SEARCH`), 0); the rate p and the
    number of rounds are :func:`imp_schedule`'s, so that layer i ends with
    kept_count(keep, n_i n_{i-1}) weights, or as close as one rate's integer rounds allow. Only the
    final mask is returned: the found ticket is planted.network * mask, the random weights as they were
    (IMP's trained weights only choose the mask). keep = 1 returns the full mask without training.

    Args:
      planted: from :func:`~slth.studies.planted.planting.plant`. keep: fraction in (0, 1] of each layer's
        weights kept. seed: integer in [0, 2**63) (training data and data order). rounds: None (the fewest
        with p <= :data:`IMP_RATE`) or an integer >= 1. steps: optimiser steps per round, >= 1.
        learning_rate: adam's, > 0. progress: optional callable(str), told about each round.
    Returns:
      The final mask: l bool arrays of the network's shapes.
    """
    keep = check_keep(keep)
    _check_planted(planted)
    seed = checks.seed("seed", seed)
    if rounds is not None:
        rounds = checks.count("rounds", rounds)
    steps = checks.count("steps", steps)
    learning_rate = checks.positive("learning_rate", learning_rate)
    fraction, rounds, _ = imp_schedule(planted, keep, rounds=rounds)
    if fraction == 0.0:
        return imp.full(planted.network)
    root = jax.random.fold_in(jax.random.key(seed), SEARCH)
    task = imp.regression_task(planted.target, seed=task_seed(seed), steps=steps, learning_rate=learning_rate)
    run = imp.run(task, planted.network, fraction=fraction, rounds=rounds, rewind=0, scope="layer",
                  order_key=jax.random.fold_in(root, 0), seed=seed, progress=progress)
    return tuple(np.asarray(m, bool) for m in run.rounds[-1].mask)


@precision.float64
def task_seed(seed: int) -> int:
    """The seed of :func:`imp_search`'s regression task: 63 random bits of fold_in(fold_in(key(seed),
    :data:`SEARCH`), 1). Not ``seed`` itself: the task draws from fold_in(key(seed), 0) and (·, 1), which
    are the adversarial lower bound's key and layer 1's weights of the network planted with that seed."""
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(checks.seed("seed", seed)), SEARCH), 1)
    return int(jax.random.bits(key, dtype=jnp.uint64)) >> 1


def imp_schedule(planted: Planted, keep: float, *, rounds: int | None = None) -> tuple[float, int, tuple]:
    """(p, rounds, kept per layer) of :func:`imp_search` at ``keep``.

    rounds: as given, else the fewest with 1 − keep^(1/rounds) <= :data:`IMP_RATE`. p: among
    :data:`RATE_TRIES` rates evenly spread over p_0·(1 ± :data:`RATE_WINDOW`), p_0 = 1 − keep^(1/rounds),
    the one whose layer-wise integer rounds (:func:`slth.studies.imp.kept_after`) end nearest to
    kept_count(keep, n_i n_{i-1}) summed over layers, then nearest p_0, then the smallest; p = 0 for
    keep = 1 (nothing to prune). kept: the counts that rate ends with.
    """
    keep = check_keep(keep)
    sizes = [int(np.size(w)) for w in planted.network]
    if keep == 1.0:
        return 0.0, 0, tuple(sizes)
    if rounds is None:
        rounds = max(1, math.ceil(math.log(keep) / math.log(1.0 - IMP_RATE) - 1e-9))
    rounds = checks.count("rounds", rounds)
    wanted = [kept_count(keep, n) for n in sizes]
    p0 = 1.0 - keep ** (1.0 / rounds)
    tries = [p for p in np.linspace(p0 * (1 - RATE_WINDOW), p0 * (1 + RATE_WINDOW), RATE_TRIES).tolist()
             if 0 < p < 1] + [p0]

    def miss(p):
        return sum(abs(imp.kept_after(n, p, rounds) - k) for n, k in zip(sizes, wanted)), abs(p - p0), p

    p = min(tries, key=miss) if 0 < p0 < 1 else p0
    return float(p), rounds, tuple(imp.kept_after(n, p, rounds) for n in sizes)


def check_keep(keep) -> float:
    """``keep`` as a float in (0, 1], the fraction of each layer's weights kept, or one InputError."""
    if isinstance(keep, bool) or not isinstance(keep, (int, float, np.integer, np.floating)) \
            or not math.isfinite(keep) or not 0 < keep <= 1:
        raise InputError(f"keep {keep!r} must be a fraction in (0, 1] (the fraction of each layer's weights "
                         "kept, not pruned)")
    return float(keep)


def _check_planted(planted) -> None:
    if not isinstance(planted, Planted):
        raise InputError(f"planted must be a Planted (slth.studies.planted.plant(...)); got {type(planted).__name__}")


def _ball(key, batch: int, d: int):
    """``batch`` points uniform in the unit ball of R^d: the first d coordinates of points uniform on
    the sphere of R^{d+2} (Voelker, Gosmann, Stewart 2017)."""
    x = jax.random.normal(key, (batch, d + 2), jnp.float64)
    return (x / jnp.linalg.norm(x, axis=1, keepdims=True))[:, :d]


@functools.partial(jax.jit, static_argnums=(5, 6))
def _popup(network, target, kept, root, learning_rate, steps, batch):
    """Train the scores; return the final top-k masks."""
    scores = tuple(jax.random.uniform(jax.random.fold_in(root, i), w.shape, w.dtype, -1.0, 1.0)
                   / jnp.sqrt(jnp.asarray(w.shape[1], w.dtype)) for i, w in enumerate(network, start=1))
    ones = tuple(jnp.ones(w.shape, bool) for w in network)

    def masks_of(s):
        return [topk_mask(si, ok, k) for si, ok, k in zip(s, ones, kept)]

    def loss(s, x):
        m = masks_of(jax.lax.stop_gradient(s))
        # Straight-through: the forward value is the 0/1 mask, the gradient flows to the scores as is.
        layers = [w * (mi.astype(w.dtype) + si - jax.lax.stop_gradient(si)) for w, mi, si in zip(network, m, s)]
        return jnp.mean(jnp.sum((nets.forward(target, x) - nets.forward(layers, x)) ** 2, axis=1))

    data = jax.random.fold_in(root, 0)
    optimizer = optax.adam(optax.cosine_decay_schedule(learning_rate, steps))

    def step(carry, n):
        s, state = carry
        g = jax.grad(loss)(s, _ball(jax.random.fold_in(data, n), batch, network[0].shape[1]))
        updates, state = optimizer.update(g, state, s)
        return (optax.apply_updates(s, updates), state), None

    (scores, _), _ = jax.lax.scan(step, (scores, optimizer.init(scores)), jnp.arange(steps))
    return tuple(masks_of(scores))
