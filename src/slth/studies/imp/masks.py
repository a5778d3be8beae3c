"""Pruning masks of a bias-free MLP: the full mask, magnitude pruning, random masks at equal counts.

A mask is a tuple of boolean NumPy arrays, one per layer, of the weights' shapes (d_i, d_{i-1}); True
keeps a weight. Every layer is prunable, the output layer included, at the same rate (Frankle & Carbin
2019 prune the output layer of their MLPs at half the rate of the others; open_lth's layer-wise
strategy prunes every layer alike, as here). Masks are made on the host with NumPy: the choice of
weights is exact and deterministic (ties go by the lower flat index), and the result goes into the
jitted training loop as an argument, so a new mask never recompiles it.

References:
  Frankle & Carbin, "The Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural Networks",
  ICLR 2019, arXiv:1803.03635 (§2: prune p% of the remaining weights per round, layer-wise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import numpy as np

from slth import checks

#: Where the smallest weights are counted: in each layer on its own, or over all layers at once.
SCOPES = ("layer", "global")


def full(params: Sequence) -> tuple[np.ndarray, ...]:
    """The mask that keeps every weight of ``params``."""
    return tuple(np.ones(np.shape(w), bool) for w in params)


def removed(kept_count: int, fraction: float) -> int:
    """How many of ``kept_count`` kept weights a round removes: round(fraction · kept), halves up."""
    return int(math.floor(fraction * kept_count + 0.5))


def kept_after(count: int, fraction: float, rounds: int) -> int:
    """The kept count of a layer of ``count`` weights after ``rounds`` layer-wise rounds at ``fraction``
    (the integer recursion :func:`magnitude_prune` follows; never below 1 for count >= 1)."""
    kept_now = count
    for _ in range(rounds):
        kept_now = max(kept_now - removed(kept_now, fraction), min(kept_now, 1))
    return kept_now


def magnitude_prune(params: Sequence, mask: Sequence, fraction: float, scope: str = "layer") -> tuple:
    """Remove ``fraction`` of the currently kept weights, those of smallest magnitude.

    Scope ``"layer"``: layer i loses round(fraction · kept_i) of its kept weights. Scope ``"global"``:
    round(fraction · Σ kept_i) weights go, the smallest |w| over all layers. Ties: the lower flat index
    (layer by layer, row-major) goes first, so the result is deterministic. A layer never loses its
    last kept weight (its largest goes nowhere). Pruned weights stay pruned whatever their value.

    Args:
      params: l arrays (d_i, d_{i-1}), the trained weights. mask: the current mask, same shapes.
      fraction: in (0, 1). scope: one of :data:`SCOPES`.
    Returns:
      the new mask, a tuple of bool arrays.
    """
    fraction = checks.open_unit("fraction", fraction)
    scope = checks.choice("scope", scope, SCOPES)
    weights = [np.abs(np.asarray(w, np.float64)).ravel() for w in params]
    flat = [np.asarray(m, bool).ravel() for m in mask]
    out = [f.copy() for f in flat]
    # Candidates: the kept weights in ascending |w| (stable: lower index first among ties), less each
    # layer's largest, which protects its last weight.
    order = [np.flatnonzero(f)[np.argsort(w[f], kind="stable")] for w, f in zip(weights, flat)]
    if scope == "layer":
        for o, m in zip(order, out):
            m[o[:min(removed(o.size, fraction), max(o.size - 1, 0))]] = False
    else:
        layer = np.concatenate([np.full(max(o.size - 1, 0), i) for i, o in enumerate(order)]).astype(int)
        index = np.concatenate([o[:-1] for o in order])
        size = np.concatenate([w[o[:-1]] for w, o in zip(weights, order)])
        total = sum(o.size for o in order)
        drop = np.argsort(size, kind="stable")[:min(removed(total, fraction), size.size)]
        for i, j in zip(layer[drop], index[drop]):
            out[i][j] = False
    return tuple(m.reshape(np.shape(w)) for m, w in zip(out, params))


def random_like(mask: Sequence, key) -> tuple[np.ndarray, ...]:
    """A uniformly random mask with the same kept count in every layer as ``mask`` (layer i's positions
    from ``fold_in(key, i)``): random pruning at the same per-layer sparsity."""
    out = []
    for i, m in enumerate(mask):
        m = np.asarray(m, bool)
        picks = np.asarray(jax.random.permutation(jax.random.fold_in(key, i), m.size))[:int(m.sum())]
        new = np.zeros(m.size, bool)
        new[picks] = True
        out.append(new.reshape(m.shape))
    return tuple(out)


def kept(mask: Sequence) -> tuple[int, ...]:
    """Kept weights per layer."""
    return tuple(int(np.sum(m)) for m in mask)


def fraction_kept(mask: Sequence) -> float:
    """The fraction of weights kept: kept / total over all layers (1 for the dense network)."""
    return sum(kept(mask)) / sum(int(np.size(m)) for m in mask)
