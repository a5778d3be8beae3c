"""The separation methods fitted on one cell: neuron pruning (random features, greedy, exact) and weight pruning.

* ``random-features``: a random depth-2 net g(x) = Σ_r v_r σ(⟨u_r, x⟩) with h = ⌊budget/(d+1)⌋
  hidden units, u_r and v_r i.i.d. from ``distribution``; the output weights are refitted freely by
  least squares on a training sample. Choosing any real output vector relaxes choosing a 0/1 mask
  over the fixed v_r, so on the same net and the same sample its training error lower-bounds every
  neuron-pruning training error (docs/theory.md §5.7).
* ``neuron-greedy``: neuron pruning of the same net (same u_r, its own v_r): forward selection of
  whole units, each step adding the unit that lowers the empirical squared error most, stopping
  when no unit lowers it.
* ``neuron-exact``: the best of all 2^h subsets of units (h <= :data:`EXACT_MAX_UNITS`).
* ``subset-sum`` and ``selection``: weight pruning (docs/theory.md §4.1-4.2) of the random network of
  ``RandomSpec(dims=(d, 1, 1), candidates=c, seed=seed)``; its certificate (docs/theory.md §3) bounds the sup
  error over the unit ball.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import scipy.linalg

from slth import constructions, measure, nets
from slth.errors import InputError
from slth.studies.separation.samplers import _Cell, neuron_network, weight_bucket, weight_spec

#: The methods, in table order.
METHODS = ("random-features", "neuron-greedy", "neuron-exact", "subset-sum", "selection")
#: Methods that prune whole hidden units (or relax that) of the depth-2 random network.
NEURON_METHODS = ("random-features", "neuron-greedy", "neuron-exact")
#: Methods that prune weights of the 2l-deep random network (slth's constructions).
WEIGHT_METHODS = ("subset-sum", "selection")
#: Most hidden units the exact neuron pruning enumerates (2^16 subsets, each scored in O(h²)).
EXACT_MAX_UNITS = 16
#: Near-ties of the Gram-form subset score within this fraction of ‖y‖² are rescored directly: for a
#: subset scoring near the minimum (so ‖a s‖ <= 2‖y‖) the Gram form's round-off is about
#: 10·h·2⁻⁵²·‖y‖², far below it, so the subset that is best when scored directly is among them.
_EXACT_TIE = 1e-9
_EXACT_RESCORE = 256


def features(u: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Hidden activations σ(⟨u_r, x⟩), shape (n, h)."""
    return np.maximum(x @ u.T, 0.0)


def random_features(phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares output weights (h,) minimising ‖y − phi·c‖ (scipy.linalg.lstsq, gelsd)."""
    return scipy.linalg.lstsq(phi, y, lapack_driver="gelsd")[0]


def _gram(a: np.ndarray, y: np.ndarray):
    return a.T @ a, a.T @ y, float(y @ y)


def greedy_subset(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Forward selection of columns of ``a`` (n, h) minimising ‖y − a·s‖², s ∈ {0,1}^h: add the
    column that lowers the error most, stop when none lowers it. Returns s as a bool (h,) mask.

    Adding column r to S changes the error by G_rr + 2(G s)_r − 2 b_r (G = aᵀa, b = aᵀy)."""
    g, b, _ = _gram(a, y)
    s = np.zeros(a.shape[1], bool)
    gs = np.zeros(a.shape[1])
    for _ in range(a.shape[1]):
        gain = np.where(s, np.inf, np.diag(g) + 2 * gs - 2 * b)
        r = int(np.argmin(gain))
        if not gain[r] < 0:
            break
        s[r] = True
        gs += g[:, r]
    return s


def exact_subset(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The subset s ∈ {0,1}^h minimising ‖y − a·s‖² over all 2^h subsets (h <= EXACT_MAX_UNITS),
    ties to the lowest subset index Σ_r s_r 2^r. Scores every subset in the Gram form
    ‖y‖² − 2 bᵀs + sᵀGs, then rescores the near-ties directly on the sample."""
    h = a.shape[1]
    if h > EXACT_MAX_UNITS:
        raise InputError(f"exact neuron pruning enumerates 2^h subsets; h = {h} is above {EXACT_MAX_UNITS}")
    g, b, yy = _gram(a, y)
    subsets = ((np.arange(2**h)[:, None] >> np.arange(h)[None, :]) & 1).astype(np.float64)
    scores = yy - 2 * subsets @ b + np.einsum("ij,ij->i", subsets @ g, subsets)
    near = np.flatnonzero(scores <= scores.min() + _EXACT_TIE * max(yy, 1e-300))
    near = near[np.argsort(scores[near], kind="stable")[:_EXACT_RESCORE]]
    near.sort()
    direct = np.sum((y[:, None] - a @ subsets[near].T) ** 2, axis=0)
    return subsets[near[int(np.argmin(direct))]].astype(bool)


def _fit(method, cell: _Cell, *, seed, distribution):
    """(predict: x -> g(x), params, hidden units, kept params, sup bound or None) of one method."""
    d = cell.d
    if method in NEURON_METHODS:
        u, v = neuron_network(d, cell.units, seed=seed, distribution=distribution)
        phi = features(u, cell.x_train)
        if method == "random-features":
            out, kept = random_features(phi, cell.y_train), cell.units
        else:
            choose = greedy_subset if method == "neuron-greedy" else exact_subset
            s = choose(phi * v, cell.y_train)
            out, kept = np.where(s, v, 0.0), int(s.sum())
        return (lambda x: features(u, x) @ out), cell.units * (d + 1), cell.units, kept * (d + 1), None
    spec = weight_spec(d, cell.c, seed=seed, distribution=distribution)
    wide = weight_spec(d, weight_bucket(method, cell.c), seed=seed, distribution=distribution)
    ticket = constructions.build(method, cell.target, wide, active=cell.c)
    pruned = ticket.pruned
    cert = measure.certificate(ticket.target, measure.pair_maps(ticket.random, ticket.masks))

    def predict(x):
        return np.asarray(nets.forward(pruned, jnp.asarray(x)))[:, 0]

    return predict, spec.random_params(), spec.hidden_widths()[0], ticket.kept_params(), cert
