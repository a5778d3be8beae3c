"""Edge-popup (Ramanujan, Wortsman, Kembhavi, Farhadi, Rastegari 2020, "What's Hidden in a Randomly
Weighted Neural Network?", CVPR 2020, arXiv 1911.13299, §3 and Algorithm 1), the learned baseline of
docs/theory.md §4.5: a practical score-based search for a mask, compared with the explicit constructions at
equal random network size.

Hypothesis space. The random network is the one every construction prunes (``nets.random_network(spec)``,
any weight law), and only the weights a block ticket (docs/theory.md §2) may keep carry a score: in the first
layer M_{2i-1} of pair i, the block-column weight u_r = M_{2i-1}[r, j_r] of every hidden unit r (unit r
of block j is row j·U + r, see :class:`~slth.nets.RandomSpec`); in the second layer M_{2i}, every
weight. So the learned ticket lies in the same hypothesis space as selection and subset sum, keeps at
most one incoming weight per hidden unit, and the §3 certificate (:func:`slth.measure.pair_maps`,
:func:`slth.measure.certificate`) applies to it unchanged.

Algorithm, as in the paper: every eligible weight w has a real score s; the forward pass uses the
weights whose scores are among the top ``keep`` fraction of their layer's eligible scores; the
backward pass treats the 0/1 mask as the identity (straight-through), so ∂L/∂s = ∂L/∂(w·m)·w and a
pruned weight whose score grows "pops up" into the subnetwork. Scores start kaiming-uniform as in the
paper's code (U[−1/√fan_in, 1/√fan_in]). The loss is the mean squared error ‖f(x) − g_S(x)‖² on a
fresh batch of inputs uniform in the unit ball every step (the regression analogue of the paper's
classification loss, on the inputs the theorems' error is measured on), minimised with Adam (not the
paper's SGD with momentum; see :data:`LEARNING_RATE`) for a fixed number of steps with the paper's
cosine-decayed step size. The whole loop is one ``lax.scan`` in one compiled function per target shape
and padded width (:func:`padded_units`). The ticket is the top-``keep`` mask of the final scores.

This is a heuristic with no approximation guarantee. The end-to-end loss leaves the hidden
representation free (pair 1 may learn any map that pair 2 undoes), which the layer-by-layer §3
certificate does not credit, so its certificate is typically far above its lower bound. Its error need
not fall as c grows (docs/theory.md §5.5 does not hold for it): with the random weights unscaled, a fixed keep
fraction keeps ever larger sums of products, and past a width the search collapses to a network that
outputs (nearly) 0, error ‖f‖ (see :data:`KEEP`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from slth import nets
from slth.constructions._blocks import check_build_inputs
from slth.errors import InputError
from slth.ticket import Ticket

NAME = "edge-popup"

#: Fraction of each layer's eligible weights kept. Not the paper's k = 50%: the paper scales its
#: random weights to the kept fraction ("scaled Kaiming"), while here the weights are the spec's,
#: unscaled, and keeping half of them gives sums of products so large that training collapses to
#: the network that outputs 0. Mean relative L2 error ‖f − g‖/‖f‖ on the ball at dims 8,8,8
#: (Gaussian targets, seeds 0-2, this module's defaults otherwise), by keep and c = 4, 16, 32, 64:
#: 0.5: 0.86, 0.97, 0.99, 1.00; 0.3: 0.85, 0.80, 0.92, 1.00; 0.2: 0.99, 0.82, 0.74, 1.00;
#: 0.1: 0.99, 0.91, 0.83, 0.57; 0.05: 1.00, 0.99, 0.92, 0.76 (1.00: the zero network). Over seeds
#: 0-7 at c = 16 and 32: 0.2 gives 0.76 and 0.73, 0.1 gives 0.91 and 0.77. 0.2 is the best where
#: the constructions are compared (c = 16 to 32); no fixed fraction is good at every c (the kept sums
#: grow with c: 0.1 is better at c = 64).
KEEP = 0.2
#: Optimisation steps (one fresh batch each).
STEPS = 1000
#: Inputs per step, uniform in the unit ball.
BATCH = 256
#: Initial Adam step size, cosine-decayed to 0. Adam is invariant to the loss's scale, which here varies
#: with the target norm, the weight law and c, where the paper's SGD step 0.1 is tuned to its
#: classification loss (SGD with momentum 0.9 was tried only at keep 0.5, where at 1e-3, 1e-2 and 0.1
#: it collapsed to the zero network as Adam did). At dims 8,8,8, c = 16, keep 0.2, seeds 0-2 (an
#: earlier batch stream), relative L2 error by step size: 5e-4: 0.67, 1e-3: 0.62, 2e-3: 0.73,
#: 5e-3: 0.81, 2e-2: 0.82.
LEARNING_RATE = 1e-3
#: ``fold_in`` datum of the score and batch stream: pair i of the random network uses
#: fold_in(key(seed), i) with 1 <= i <= l and the adversarial lower bound fold_in(key(seed), 0), so
#: this stream shares no key with either.
STREAM = 2**32 - 1
#: Fewest units per block the training computes with (see :func:`padded_units`): up to c = 8 every
#: width runs in one compiled shape, at a cost no larger than c = 8's.
MIN_PADDED = 16


def build(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None, keep: float = KEEP,
          steps: int = STEPS) -> Ticket:
    """Edge-popup ticket for ``target`` in the random network of ``spec`` (docs/theory.md §4.5).

    Args:
      target: l matrices (d_i, d_{i-1}) with spectral norm <= 1, widths ``spec.dims``.
      spec: the random network (any weight law).
      active: 1 <= active <= spec.candidates: only the units of ``RandomSpec(candidates=active)`` (the
        first ones of every block, the nested prefix of
        :func:`~slth.constructions._blocks.build_blocks`) are eligible; the shapes, hence the
        compilation, stay those of ``spec``. When spec and that narrower spec pad to the same units
        per block (:func:`padded_units`: true of every shape bucket :func:`slth.measure.trial_width`
        evaluates a width in), the ticket is the narrower spec's ticket, embedded, bit for bit;
        otherwise the training runs in other shapes and may round differently.
      keep: fraction in (0, 1] of the eligible weights kept per layer: the top
        :func:`kept_count` (keep, n) scores among a layer's n eligible ones, ties to the lower index.
      steps: >= 1 optimisation steps.
    Returns:
      A Ticket whose masks are the top-``keep`` masks of the trained scores.
    """
    return train(target, spec, active=active, keep=keep, steps=steps)[0]


def train(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None, keep: float = KEEP,
          steps: int = STEPS):
    """:func:`build`, also returning the training loss of every step, shape (steps,): the mean of
    ‖f(x) − g(x)‖² over that step's batch, for the mask the step started from."""
    narrow = _check(target, spec, active, keep, steps)
    return _train(target, spec, narrow, float(keep), int(steps))


def initial_ticket(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None,
                   keep: float = KEEP) -> Ticket:
    """The ticket edge-popup starts from: the top-``keep`` mask of the initial scores, before any
    training (a random block subnetwork of the same sparsity). Arguments as :func:`build`."""
    narrow = _check(target, spec, active, keep, 1)
    return _train(target, spec, narrow, float(keep), 0)[0]


def kept_count(keep: float, n: int) -> int:
    """Weights kept out of a layer's n eligible ones: max(1, ⌊keep·n + ½⌋), keep·n rounded half up
    (rounded, not the paper's ⌈keep·n⌉, so that keep·n = 7.000000000000001 keeps 7).

    >>> [kept_count(0.7, 10), kept_count(0.5, 5), kept_count(0.01, 10)]
    [7, 3, 1]
    """
    return max(1, math.floor(keep * n + 0.5))


def computed_spec(spec):
    """The network edge-popup computes with: every block padded to :func:`padded_units` units (the
    memory model counts this one, not the narrower network it prunes)."""
    return dataclasses.replace(spec, candidates=max(spec.candidates, padded_units(2 * spec.candidates) // 2))


def padded_units(units: int) -> int:
    """Units per block in the compiled layout: the next power of two, at least :data:`MIN_PADDED`. A
    width c and its shape bucket (:func:`slth.measure.shape_bucket`) pad to the same number, so they
    run the very same computation on the very same numbers (the padding and inactive slots are never
    eligible and enter as exact zeros), which makes the bucketed ticket the narrow one bit for bit;
    and all small widths share one compilation.

    >>> [padded_units(u) for u in (1, 2, 16, 17, 24, 64)]
    [16, 16, 16, 32, 32, 64]
    """
    return max(MIN_PADDED, 1 << max(0, units - 1).bit_length())


def _check(target, spec, active, keep, steps) -> nets.RandomSpec:
    """Validate everything before any work; return the spec whose units are eligible."""
    if isinstance(keep, bool) or not isinstance(keep, (int, float, np.floating, np.integer)) \
            or not 0 < keep <= 1:
        raise InputError(f"keep {keep!r} must be a fraction in (0, 1] (the share of each layer's eligible "
                         "weights kept)")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps {steps!r} must be an integer >= 1")
    if not nets.layouts.layout(spec).has_pairs:
        raise InputError(f"edge-popup prunes the 'pairs' layout (docs/theory.md §2 blocks); the spec has layout "
                         f"{spec.layout!r}")
    check_build_inputs(target, spec, active)
    return spec if active is None else dataclasses.replace(spec, candidates=active)


def _train(target, spec: nets.RandomSpec, narrow: nets.RandomSpec, keep: float, steps: int):
    dtype = jnp.dtype(spec.dtype)
    random = nets.random_network(spec)
    target = tuple(jnp.asarray(w, dtype) for w in target)
    units = tuple(spec.units_per_block(i) for i in range(1, spec.depth + 1))
    live = [narrow.units_per_block(i) for i in range(1, spec.depth + 1)]
    # Counts in Python, not under jit: exactly kept_count's arithmetic whatever the spec's dtype.
    kept = [kept_count(keep, n) for i, c in enumerate(live)
            for n in (spec.dims[i] * c, spec.dims[i + 1] * spec.dims[i] * c)]
    root = jax.random.fold_in(jax.random.key(spec.seed), STREAM)
    u, v = _compact(random, units)
    first, second, losses = _fit(target, u, v, jnp.asarray(live, jnp.int32), jnp.asarray(kept, jnp.int32),
                                 root, steps, skips=spec.skips)
    masks = _expand(first, second, units)
    return Ticket(target=target, random=random, masks=masks, spec=spec, construction=NAME), losses


@functools.partial(jax.jit, static_argnums=1)
def _compact(random, units):
    """Per pair, the block-column weights u (d_in, P), u[j, r] = M_{2i-1}[j·U + r, j], and the second
    layer v (d_out, d_in, P), v[k, j, r] = M_{2i}[k, j·U + r], zero-padded from U to P =
    :func:`padded_units` (U) units per block."""
    us, vs = [], []
    for i, u_count in enumerate(units):
        first, second = random[2 * i], random[2 * i + 1]
        d_in, d_out, pad = first.shape[1], second.shape[0], padded_units(u_count)
        u = first.reshape(d_in, u_count, d_in)[jnp.arange(d_in), :, jnp.arange(d_in)]
        us.append(jnp.pad(u, ((0, 0), (0, pad - u_count))))
        vs.append(jnp.pad(second.reshape(d_out, d_in, u_count), ((0, 0), (0, 0), (0, pad - u_count))))
    return tuple(us), tuple(vs)


@functools.partial(jax.jit, static_argnums=2)
def _expand(first, second, units):
    """The compact masks back in the random network's layout: M_{2i-1} keeps (j·U + r, j) where
    first[i][j, r], nothing off the block column; M_{2i} keeps (k, j·U + r) where second[i][k, j, r]."""
    masks = []
    for f, s, u_count in zip(first, second, units):
        d_out, d_in = s.shape[:2]
        kept = f[:, :u_count].reshape(-1)
        block = jnp.repeat(jnp.arange(d_in), u_count)
        masks.append((jnp.arange(d_in)[None, :] == block[:, None]) & kept[:, None])
        masks.append(s[:, :, :u_count].reshape(d_out, d_in * u_count))
    return tuple(masks)


def topk_mask(scores, eligible, kept):
    """The ``kept`` eligible entries of ``scores`` (any shape, no NaN) with the highest scores, ties
    (−0 = +0 included) to the lower flat index; never an ineligible entry (all eligible ones if fewer
    than ``kept``). Works under jit with ``kept`` traced.

    Selection without a sort (XLA's CPU sort costs about ten times more, and this runs every step):
    the scores map to unsigned integers in the same order, and the kept-th largest one, T, is built
    bit by bit from the top (T gets a bit when at least ``kept`` eligible keys are >= T with it); the
    entries above T are kept, then the first of those equal to T up to ``kept``.
    """
    flat, ok = scores.reshape(-1), eligible.reshape(-1)
    key = _ordered_bits(jnp.where(flat == 0, 0, flat))
    width = jnp.iinfo(key.dtype).bits
    kept = jnp.minimum(kept, jnp.sum(ok))

    def bit(i, t):
        with_bit = t | (jnp.ones((), key.dtype) << (width - 1 - i).astype(key.dtype))
        return jnp.where(jnp.sum(ok & (key >= with_bit)) >= kept, with_bit, t)

    t = jax.lax.fori_loop(0, width, bit, jnp.zeros((), key.dtype))
    above, tie = ok & (key > t), ok & (key == t)
    return (above | (tie & (jnp.cumsum(tie) <= kept - jnp.sum(above)))).reshape(scores.shape)


def _ordered_bits(x):
    """Unsigned integers in the order of the floats x (IEEE: flip every bit of a negative, then the
    sign bit of all)."""
    signed, unsigned = {4: (jnp.int32, jnp.uint32), 8: (jnp.int64, jnp.uint64)}[x.dtype.itemsize]
    b = jax.lax.bitcast_convert_type(x, signed)
    b = jnp.where(b < 0, b ^ jnp.iinfo(signed).max, b)
    return jax.lax.bitcast_convert_type(b, unsigned) ^ (jnp.ones((), unsigned) << (8 * x.dtype.itemsize - 1))


def _ball(key, batch: int, d: int, dtype):
    """``batch`` points uniform in the unit ball of R^d: the first d coordinates of points uniform on
    the sphere S^{d+1} of R^{d+2} (Voelker, Gosmann, Stewart 2017), one Gaussian draw (one random-bits
    kernel to compile instead of two for direction and radius)."""
    x = jax.random.normal(key, (batch, d + 2), dtype)
    return (x / jnp.linalg.norm(x, axis=1, keepdims=True))[:, :d]


def _straight_through(mask, scores):
    """``mask`` in the forward pass, gradient 1 to ``scores`` (the paper's straight-through estimator);
    s − stop_gradient(s) is exactly 0, so the forward value is the 0/1 mask itself."""
    return mask.astype(scores.dtype) + (scores - jax.lax.stop_gradient(scores))


@functools.partial(jax.jit, static_argnames=("steps", "skips"))
def _fit(target, us, vs, live, kept, root, steps, skips=()):
    """Train the scores on the compact layout (:func:`_compact`) and return the final top-k masks,
    first (d_in, P) and second (d_out, d_in, P) per pair, and the loss of every step. Shapes depend
    on the dims and the padded units P only, so every c with the same P shares one compilation. ``skips``:
    the target's skip connections (:mod:`slth.nets.residual`), kept as identities in both networks."""
    dtype = target[0].dtype
    # Eligible: the first `live` units of every block; padding and inactive slots never are.
    eligible = [jnp.broadcast_to(jnp.arange(u.shape[1])[None, :] < live[i], u.shape)
                for i, u in enumerate(us)]
    scores = _initial_scores(root, tuple(w.shape for w in target), tuple(u.shape[1] for u in us), live, dtype)

    def current_masks(s):
        out = []
        for i, ok in enumerate(eligible):
            out.append(topk_mask(s[2 * i], ok, kept[2 * i]))
            second = jnp.broadcast_to(ok[None], s[2 * i + 1].shape)
            out.append(topk_mask(s[2 * i + 1], second, kept[2 * i + 1]))
        return out

    def loss(s, x):
        m = current_masks(jax.lax.stop_gradient(s))
        z, outs = x, [x]
        for i, (u, v, ok) in enumerate(zip(us, vs, eligible)):
            # Eligibility by where, not by multiplication: ineligible slots enter as exact zeros.
            ue = jnp.where(ok, u, 0) * _straight_through(m[2 * i], s[2 * i])
            ve = jnp.where(ok[None], v, 0) * _straight_through(m[2 * i + 1], s[2 * i + 1])
            h = jax.nn.relu(z[:, :, None] * ue[None])                      # (B, d_in, P): one input per unit
            z = h.reshape(h.shape[0], -1) @ ve.reshape(ve.shape[0], -1).T
            if i in skips:                              # skip i ends at target layer i + 1 (0-based i): + z_{i-1}
                z = z + outs[i - 1]
            if i < len(us) - 1:
                z = jax.nn.relu(z)
            outs.append(z)
        reference = nets.forward(target, x, skips=nets.residual.edges(skips))
        return jnp.mean(jnp.sum((reference - z) ** 2, axis=1))

    import optax   # here, not at the top: ``import slth; slth.prune`` loads the registry, not the trainer

    data = jax.random.fold_in(root, 0)
    optimizer = optax.adam(optax.cosine_decay_schedule(LEARNING_RATE, max(steps, 1)))
    value_and_grad = jax.value_and_grad(loss)

    def step(carry, n):
        s, state = carry
        x = _ball(jax.random.fold_in(data, n), BATCH, target[0].shape[1], dtype)
        value, g = value_and_grad(s, x)
        updates, state = optimizer.update(g, state, s)
        return (optax.apply_updates(s, updates), state), value

    (scores, _), losses = jax.lax.scan(step, (scores, optimizer.init(scores)), jnp.arange(steps))
    final = current_masks(scores)
    return tuple(final[0::2]), tuple(final[1::2]), losses


def _initial_scores(root, shapes, pads, live, dtype):
    """Kaiming-uniform scores U[−1/√fan_in, 1/√fan_in] (the paper's code: kaiming_uniform with a = √5)
    of every pair: the first layer's (d_in, P), one per unit, fan-in d_in; the second's
    (d_out, d_in, P), fan-in d_in·live (the eligible width). Unit r of block j of pair i draws
    1 + max d_out uniforms with fold_in(fold_in(fold_in(root, i), j), r) and uses the first for its
    first-layer score and the next d_out for its second-layer ones, so a unit's scores depend on
    neither the number of units nor c; all units of all pairs share one vmapped draw."""
    width = 1 + max(d_out for d_out, _ in shapes)
    index = np.concatenate([
        np.stack(np.meshgrid([i], np.arange(d_in), np.arange(pad), indexing="ij"), -1).reshape(-1, 3)
        for i, ((_, d_in), pad) in enumerate(zip(shapes, pads), start=1)])

    def unit(i, j, r):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(root, i), j), r)
        return jax.random.uniform(key, (width,), dtype, -1.0, 1.0)

    draws = jax.vmap(unit)(*jnp.asarray(index.T, jnp.uint32))
    out, start = [], 0
    for i, ((d_out, d_in), pad) in enumerate(zip(shapes, pads)):
        block = draws[start:start + d_in * pad].reshape(d_in, pad, width)
        start += d_in * pad
        out.append(block[:, :, 0] / jnp.sqrt(jnp.asarray(d_in, dtype)))
        out.append(jnp.moveaxis(block[:, :, 1:1 + d_out], 2, 0) / jnp.sqrt((d_in * live[i]).astype(dtype)))
    return tuple(out)
