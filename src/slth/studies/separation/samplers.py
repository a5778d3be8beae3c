"""What a separation cell draws at random: key streams, target neuron, inputs, and two matched random nets.

Randomness: JAX keys, all derived with ``fold_in`` from ``seed``. The study's streams live under
``fold_in(key(seed), STREAM)`` (target, neuron network, training and test samples, see :func:`_keys`);
the weight-pruning network is ``RandomSpec(seed=seed)``'s own stream (``fold_in(key(seed), i)`` for
pair i = 1, 2), which ``STREAM`` never equals. Hidden unit r of the neuron network draws from
``fold_in(net_key, r)``, so a wider network extends a narrower one.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from slth import checks, constructions, nets

#: Input laws: N(0, I_d/d) and uniform on the unit sphere.
INPUTS = ("gaussian", "sphere")
#: Smallest candidate bucket of the weight-pruning builds (see :func:`weight_bucket`).
WEIGHT_BUCKET = 8
#: Tag of this study's key stream under key(seed); pairs of RandomSpec(seed) use fold_in 1..l.
STREAM = 0x5E9A
#: Units per compiled draw of the neuron network (see :func:`neuron_network`).
_CHUNK = 64


# --------------------------------------------------------------------------- budget

def weight_spec(d: int, c: int, *, seed: int, distribution: str = "uniform") -> nets.RandomSpec:
    """The weight-pruning random network for the (d, 1, 1) target with c candidates per block and sign."""
    return nets.RandomSpec(dims=(d, 1, 1), candidates=c, seed=seed, distribution=distribution)


def weight_bucket(method: str, c: int) -> int:
    """Candidates of the network a weight-pruning ticket with c candidates is built in: the power of
    two >= max(c, :data:`WEIGHT_BUCKET`), capped at the construction's limit. The ticket is that of
    ``RandomSpec(candidates=c)``, a nested prefix of the wider network, with the other units pruned
    (``constructions.build(..., active=c)``): the same function, compiled once per (d, bucket)."""
    limit = constructions.MAX_CANDIDATES[method]
    bucket = 1 << (max(c, WEIGHT_BUCKET) - 1).bit_length()
    return max(c, bucket if limit is None else min(bucket, limit))


def matched_units(d: int, c: int) -> tuple[int, int]:
    """(budget, h): the weight-pruning network's random parameters 2cd(d+1) + 4c and the hidden
    width h = ⌊budget/(d+1)⌋ of the depth-2 network with at most that many, h(d+1)."""
    budget = weight_spec(d, c, seed=0).random_params()
    return budget, budget // (d + 1)


# --------------------------------------------------------------------------- sampling

def _keys(seed: int) -> dict:
    root = jax.random.fold_in(jax.random.key(seed), STREAM)
    return {name: jax.random.fold_in(root, i) for i, name in enumerate(("target", "network", "train", "test"))}


def single_neuron_target(d: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(W_1, W_2) = (w*ᵀ of shape (1, d), [[1]]), w* uniform on the unit sphere (float64)."""
    w = np.asarray(jax.random.normal(_keys(seed)["target"], (d,), jnp.float64))
    return (w / np.linalg.norm(w))[None, :], np.ones((1, 1))


def sample_inputs(inputs: str, n: int, d: int, *, key) -> np.ndarray:
    """n i.i.d. inputs (n, d) of law ``inputs``: N(0, I_d/d) or uniform on the unit sphere."""
    z = np.asarray(jax.random.normal(key, (n, d), jnp.float64))
    if inputs == "gaussian":
        return z / math.sqrt(d)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def neuron_network(d: int, h: int, *, seed: int, distribution: str = "uniform") -> tuple[np.ndarray, np.ndarray]:
    """(u (h, d), v (h,)): the depth-2 random network g(x) = Σ_r v_r σ(⟨u_r, x⟩), entries i.i.d.
    from ``distribution``; unit r draws from fold_in(network key, r), so widths nest.

    Units are drawn in chunks of :data:`_CHUNK` with a traced offset, so the draw compiles once per
    (d, distribution), not once per width."""
    checks.integer("d", d, low=1)
    checks.integer("h", h, low=1)
    nets.check_distribution(distribution)
    key = _keys(seed)["network"]
    chunks = [_units(key, jnp.asarray(start), d, distribution) for start in range(0, h, _CHUNK)]
    return (np.concatenate([np.asarray(u) for u, _ in chunks])[:h],
            np.concatenate([np.asarray(v) for _, v in chunks])[:h])


@functools.partial(jax.jit, static_argnums=(2, 3))
def _units(key, start, d, distribution):
    law = nets.DISTRIBUTIONS[distribution]

    def unit(r):
        k_in, k_out = jax.random.split(jax.random.fold_in(key, r))
        return law(k_in, (d,), jnp.float64), law(k_out, (), jnp.float64)

    return jax.vmap(unit)(start + jnp.arange(_CHUNK))


# --------------------------------------------------------------------------- one cell's draws

@dataclasses.dataclass(frozen=True)
class _Cell:
    d: int
    c: int
    target: tuple
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    budget: int
    units: int


def _cell(d, c, *, inputs, seed, n_train, n_test) -> _Cell:
    keys = _keys(seed)
    target = single_neuron_target(d, seed=seed)
    x_train = sample_inputs(inputs, n_train, d, key=keys["train"])
    x_test = sample_inputs(inputs, n_test, d, key=keys["test"])

    def f(x):
        return np.maximum(x @ target[0][0], 0.0)

    budget, units = matched_units(d, c)
    return _Cell(d, c, target, x_train, f(x_train), x_test, f(x_test), budget, units)
