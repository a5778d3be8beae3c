"""Certifying the digits target: put it under the theorems, then turn a certificate into proven agreement.

Inputs go into the unit ball and every layer to spectral norm 1 (:func:`normalise`,
:func:`rescale_target`); the margin test :func:`guaranteed` proves where ticket and target agree.

No biases: the target is f(x) = W_l σ(··· σ(W_1 x)) on the normalised pixels, as in docs/theory.md §1. A
bias-free ReLU network is positively homogeneous, which is what makes both the input normalisation
and the layer rescaling harmless for classification.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from slth import measure, nets
from slth.errors import InputError
from slth.studies.digits.training import predict

SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------- the margin theorem

def margins(logits) -> np.ndarray:
    """Classification margin per row of ``logits`` (batch, classes): top logit − second logit (>= 0)."""
    z = np.sort(np.asarray(logits, np.float64), axis=1)
    return z[:, -1] - z[:, -2]


def guaranteed(margin, certificate: float) -> np.ndarray:
    """The points whose ticket prediction provably equals the target's: margin(x) > √2·certificate.

    Let a = argmax_k f_k(x), δ = f(x) − g(x) and E >= ‖δ‖_2 (the certificate bounds
    sup_{‖x‖<=1} ‖f(x) − g(x)‖_2, docs/theory.md §3). For every b ≠ a,

        |(f_a − f_b) − (g_a − g_b)| = |δ_a − δ_b| <= √2·√(δ_a² + δ_b²) <= √2·‖δ‖_2 <= √2·E

    (Cauchy–Schwarz with the vector (1, −1), whose norm is √2; equality at δ_a = −δ_b, so √2 is the exact
    constant). Hence g_a − g_b >= (f_a − f_b) − √2·E >= margin(x) − √2·E > 0: a is g's unique argmax.
    Both sides are computed in float64; a slack of :data:`slth.measure.ROUNDOFF` keeps round-off from
    admitting a point that sits on the boundary. (Homogeneity would even allow √2·‖x‖·E; the
    report uses the uniform √2·E.)
    """
    return np.asarray(margin) > SQRT2 * float(certificate) + measure.ROUNDOFF


# --------------------------------------------------------------------------- into the assumptions

def normalise(x_train, x_test) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Scale inputs into the unit ball: divide by the largest training norm, then scale down the test
    points whose norm still exceeds 1 (only those) to norm 1.

    Returns: (x_train, x_test, scale, n_clipped) with ``scale`` the divisor and ``n_clipped`` the number of
    test points scaled. A positive scale of an input scales a bias-free ReLU network's logits and
    keeps the prediction, so neither step changes a label.
    """
    x_train = np.asarray(x_train, np.float64)
    x_test = np.asarray(x_test, np.float64)
    scale = float(np.linalg.norm(x_train, axis=1).max())
    if scale == 0:
        raise InputError("every training input is zero; nothing to normalise")
    x_train, x_test = x_train / scale, x_test / scale
    norms = np.linalg.norm(x_test, axis=1)
    above = norms > 1
    x_test[above] /= norms[above, None]
    return x_train, x_test, scale, int(above.sum())


def rescale_target(layers: Sequence, *inputs, biases: bool = False) -> tuple[tuple, np.ndarray]:
    """Scale each layer by a positive factor into the theorems' assumptions and check that no prediction
    changes.

    With ReLU and no biases f_{cW}(x) = (Π c_i)·f_W(x) for positive c_i, so every argmax is unchanged;
    this is verified on every batch in ``inputs`` (not assumed: a tie broken differently by round-off
    would show here), then the theorems' assumptions are checked with :func:`slth.nets.check_target`.
    Bias-free: c_i = 1/‖W_i‖_2. With ``biases`` (layers [W_i | b_i]) the same holds when b_i is scaled by
    P_i = c_1···c_i: σ(c_i(W_i z + b_i/P_{i-1})) = c_i σ(···), so the logits are P_l f(x); c_i =
    1/max(‖W_i‖_2, ‖b_i‖_∞/P_{i-1}) makes ‖c_i W_i‖_2 <= 1 and |P_i b_i| <= 1.

    Returns: (layers as float64 numpy arrays, ‖W_i‖_2 = 1 (or below, for a large bias), the factors c_i).
    Raises:
      RuntimeError: a prediction changed.
    """
    layers = tuple(np.asarray(w, np.float64) for w in layers)
    weights = [w[:, :-1] for w in layers] if biases else list(layers)
    norms = nets.spectral_norms(weights)
    if np.any(norms == 0):
        raise InputError(f"a trained layer is zero (spectral norms {norms.tolist()}); nothing to rescale")
    if biases:
        factors, reach, scaled = [], 1.0, []
        for w, s in zip(layers, norms):
            c = 1.0 / (max(float(s), float(np.abs(w[:, -1]).max()) * reach) * (1 + 2.0**-50))   # |P_i b_i| <= 1 after rounding
            reach *= c
            factors.append(c)
            scaled.append(np.concatenate([w[:, :-1] * c, w[:, -1:] * reach], axis=1))
        scaled, factors = tuple(scaled), np.array(factors)
    else:
        scaled = tuple(np.asarray(w, np.float64) for w in nets.rescale(layers, norm=1.0))
        factors = 1.0 / norms
    for x in inputs:
        before, after = predict(layers, x, biases=biases)[1], predict(scaled, x, biases=biases)[1]
        if not np.array_equal(before, after):
            bad = np.flatnonzero(before != after)
            raise RuntimeError(f"rescaling changed {bad.size} predictions (first at row {bad[0]}); positive "
                               "scaling of a ReLU network must not change any argmax")
    nets.check_target(scaled, biases=biases)
    return scaled, factors
