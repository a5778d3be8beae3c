"""Targets with biases: each layer's bias stored as its last column, a weight on a constant input 1.

A target with biases f(x) = W_l σ(··· σ(W_1 x + b_1) ···) + b_l is held as the layers
L_i = [W_i | b_i] of shape (d_i, d_{i-1} + 1): every layer reads its input with a constant 1 appended,
so L_i [h; 1] = W_i h + b_i (docs/theory.md §1: a bias is a weight on a constant input coordinate). The
random networks that realise such targets (the ``biased`` layout, :mod:`slth.nets.layouts.biased`) are
held the same way, their random biases in the last column, so a ticket's masks prune biases exactly
like weights (Fischer & Burkholz 2022) and the ticket file needs no new array.

The theorems' assumptions become ‖W_i‖_2 <= 1 and |b_i| <= 1 entrywise (the reach of a subset sum of
products of U[-1, 1] weights). Positive homogeneity is lost: f(αx) ≠ αf(x), so the supremum of the
error over the unit ball is no longer attained on its sphere; the error measures of such targets search
and bound the whole ball (:mod:`slth.measure.affine`).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from slth import checks, precision
from slth.errors import InputError
from slth.nets import targets
from slth.nets.laws import sample
from slth.nets.targets import check_target as check_weights
from slth.nets.targets import parse_dims, random_target as random_weights

__all__ = ["BIAS_SCALE", "augment", "check_target", "forward", "random_target", "split"]

#: Default largest |b| of a random target's biases (drawn uniformly in [−BIAS_SCALE, BIAS_SCALE]).
BIAS_SCALE = 0.5


def augment(weights: Sequence, biases: Sequence) -> tuple:
    """The layers [W_i | b_i] of weights W_i (d_i, d_{i-1}) and biases b_i (d_i,)."""
    if len(weights) != len(biases):
        raise InputError(f"{len(weights)} weight matrices but {len(biases)} bias vectors; one bias vector per layer")
    out = []
    for i, (w, b) in enumerate(zip(weights, biases)):
        w, b = np.asarray(w), np.asarray(b)
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise InputError(f"layer {i}: bias of shape {b.shape} for weights of shape {w.shape}; expected ({w.shape[0]},)")
        out.append(np.concatenate([w, b[:, None].astype(w.dtype)], axis=1))
    return tuple(out)


def split(layers: Sequence) -> tuple[tuple, tuple]:
    """(weights, biases) of layers [W_i | b_i]."""
    return tuple(np.asarray(m)[:, :-1] for m in layers), tuple(np.asarray(m)[:, -1] for m in layers)


def forward(layers: Sequence, x, *, skips: Sequence[tuple[int, int]] = ()):
    """Evaluate f on a batch ``x`` (batch, d_0): each layer reads its input with a constant 1 appended,
    σ after every layer but the last; ``skips`` as in :func:`slth.nets.forward`, which this is with
    ``biases=True``."""
    return targets.forward(layers, x, skips=skips, biases=True)


def check_target(layers: Sequence, *, max_norm: float = 1.0) -> None:
    """Check a target with biases: finite 2-D layers of at least two columns chaining as (d_i, d_{i-1} + 1),
    ‖W_i‖_2 <= max_norm (with :func:`slth.nets.check_target`'s rounding slack) and every |b| <= 1.

    Raises:
      InputError: naming the first violated assumption, the layer and its value.
    """
    if len(layers) == 0:
        raise InputError("target has no layers")
    for i, m in enumerate(layers):
        m = np.asarray(m)
        if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] < 2:
            raise InputError(f"target layer {i} has shape {m.shape}; a layer with biases is (out, in + 1), in >= 1")
        if i > 0 and m.shape[1] != np.shape(layers[i - 1])[0] + 1:
            raise InputError(f"target layer {i} has shape {m.shape} but layer {i - 1} outputs "
                             f"{np.shape(layers[i - 1])[0]} values: with biases, shapes chain (d_i, d_(i-1) + 1)")
    weights, biases = split(layers)
    check_weights(weights, max_norm=max_norm)          # finite, floating, ‖W_i‖_2 <= max_norm
    for i, b in enumerate(biases):
        if not np.all(np.isfinite(b)):
            raise InputError(f"target layer {i} has NaN or infinite biases; all must be finite")
        if np.max(np.abs(b)) > 1.0:
            raise InputError(f"target layer {i} has a bias of size {float(np.max(np.abs(b)))!r} > 1, outside the "
                             "theorems' assumption |b| <= 1 (the reach of the subset sums)")


@precision.float64
def random_target(dims: Sequence[int], *, seed: int, distribution: str = "gaussian", norm: float = 1.0,
                  bias: float = BIAS_SCALE) -> tuple:
    """A random target with biases: the weights of :func:`slth.nets.random_target` (``dims``, ``seed``,
    ``distribution``, ``norm``) bit for bit, so a target and its bias-free twin share their weights, and
    biases drawn uniformly in [−bias, bias] from ``fold_in(key(seed), 2**31 + i)`` for layer i (0-based),
    float64. Returns the layers [W_i | b_i]."""
    dims = parse_dims(dims)
    bias = checks.real("bias", bias)
    if not 0 <= bias <= 1:
        raise InputError(f"bias scale {bias!r} is outside [0, 1], the theorems' assumption |b| <= 1")
    weights = random_weights(dims, seed=seed, distribution=distribution, norm=norm)
    key = jax.random.key(checks.seed("seed", seed))
    biases = [bias * np.asarray(sample("uniform", jax.random.fold_in(key, 2**31 + i), (d,), jnp.float64))
              for i, d in enumerate(dims[1:])]
    return augment([np.asarray(w, np.float64) for w in weights], biases)
