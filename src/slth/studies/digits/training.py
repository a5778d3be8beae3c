"""Training the digits target: a ReLU MLP (bias-free, or with biases) fitted with adam, and its float64 predictions."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from slth import nets


def train(dims: Sequence[int], x, y, *, key, epochs: int, batch_size: int, learning_rate: float,
          dtype=None, biases: bool = False) -> tuple:
    """Train a ReLU MLP of widths ``dims`` with adam on softmax cross-entropy, bias-free or, with
    ``biases``, with a bias per neuron held as the last column of its layer (:mod:`slth.nets.affine`).

    He-normal initialisation (the weights are the bias-free network's, bit for bit, and the biases start
    at 0), minibatches drawn by a fresh permutation per epoch (the last incomplete batch is dropped);
    everything from ``key``, so the same key gives the same bits.

    Args:
      dims: d_0..d_l. x: (n, d_0) inputs. y: (n,) integer labels in [0, d_l).
      key: JAX PRNG key. epochs >= 1, batch_size >= 1 (capped at n), learning_rate > 0.
    Returns:
      l matrices (d_i, d_{i-1}), or (d_i, d_{i-1} + 1) [W_i | b_i] with ``biases``.
    """
    dtype = dtype or nets.default_dtype()
    keys = jax.random.split(key, len(dims))
    layers = tuple(jax.random.normal(k, (dims[i + 1], dims[i]), dtype) * math.sqrt(2.0 / dims[i])
                   for i, k in enumerate(keys[1:]))
    if biases:
        layers = tuple(jnp.concatenate([w, jnp.zeros((w.shape[0], 1), dtype)], axis=1) for w in layers)
    x = jnp.asarray(x, dtype)
    y = jnp.asarray(y, jnp.int32)
    return _fit(layers, x, y, keys[0], jnp.asarray(learning_rate, dtype), int(epochs),
                min(int(batch_size), x.shape[0]), bool(biases))


def forward(layers, x, biases: bool = False):
    """The MLP's logits: :func:`slth.nets.forward`, or :func:`slth.nets.affine.forward` with ``biases``."""
    return (nets.affine.forward if biases else nets.forward)(layers, x)


@functools.partial(jax.jit, static_argnums=(5, 6, 7))
def _fit(layers, x, y, key, learning_rate, epochs, batch_size, biases):
    opt = optax.adam(learning_rate)
    n_batches = x.shape[0] // batch_size

    def loss(params, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(forward(params, xb, biases), yb).mean()

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


def predict(layers: Sequence, x, *, biases: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(logits (n, d_l), predictions (n,)) of the network on x (n, d_0), in float64 (``biases``: each
    layer's last column is its bias)."""
    logits = np.asarray(forward([jnp.asarray(w, jnp.float64) for w in layers], jnp.asarray(x, jnp.float64), biases))
    return logits, np.argmax(logits, axis=1)
