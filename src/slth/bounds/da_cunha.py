"""The logarithmic width of a random CNN that contains every CNN target: da Cunha, Natale & Viennot 2022, Theorem 1.

The theorem, in the paper's notation: a target CNN f = K^(ℓ) * σ(... σ(K^(1) * X)) with kernels
K^(i) ∈ R^{d_i × d_i × c_{i-1} × c_i} (‖K^(i)‖₁ <= 1, inputs in [−1, 1]^{D×D×c_0}) is approximated within ε
(max norm, sup over the inputs) by pruning the random 2ℓ-layer CNN whose layer 2i − 1 is a 1×1 convolution
from c_{i-1} to 2n_i·c_{i-1} channels and layer 2i a d_i × d_i convolution from those to c_i channels
(entries i.i.d. U[−1, 1]), with probability >= 1 − δ over the random CNN and for every target at once, if

    n_i >= C · ln(d_i² · c_{i-1} · c_i · ℓ / min(ε, δ))        for every i,

C a universal constant the paper does not give numerically (:mod:`slth.bounds.pensia`'s convention: C is a
keyword, default 1, a placeholder and not a claim). The argument of the logarithm is m_i ℓ / min(ε, δ) with
m_i = d_i² c_{i-1} c_i the number of parameters of kernel i: the Pensia et al. form (Theorem 1 of their 2020
paper, m_i = d_{i-1} d_i there) with the union bound taken over kernel entries, not positions (weights are
shared), so the image size D does not enter. Caveat on the source: the paper's text could not be retrieved
while this module was written; the form above is Theorem 1 as recalled, and it is exactly the Pensia-style
form with m_i = the kernel's parameter count. Check the statement against the paper before quoting a
number from here.

How its quantities map onto slth's ``conv`` layout (:mod:`slth.nets.layouts.conv`, the same design):

- the 1×1 random convolution gives each input channel U = 2c hidden channels, so the paper's 2n_i·c_{i-1}
  channels are slth's U·C_{i-1}, and n_i is slth's c, the candidates per kernel entry and sign
  (``RandomSpec.candidates``; slth uses one c for every layer, hence the largest n_i);
- d_i = k (one kernel size for every convolution), c_{i-1}, c_i = the geometry's channels;
- slth's target also has global average pooling and a dense head (classes × C_m): a 1×1 convolution on the
  pooled map, so it counts as layer ℓ = m + 1 with m_ℓ = C_m · classes.

slth's targets are normalised differently (each explicit layer at spectral norm 1, inputs in the unit L2
ball, the error a sup of the L2 norm), so the theorem's guarantee does not apply to them as stated: what is
compared is the form, and the C a measurement needs is a constant of that form under slth's normalisation.

References: A. da Cunha, E. Natale, L. Viennot, "Proving the Strong Lottery Ticket Hypothesis for
Convolutional Neural Networks", ICLR 2022, Theorem 1; A. Pensia et al., NeurIPS 2020, Theorem 1.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from slth import checks
from slth.bounds.width import Width, ceil_count, check_open_unit, check_positive, width_from_candidates
from slth.errors import InputError

NAME = "da-cunha"
_FIELDS = ("image", "channels", "kernel", "strides", "classes")


def _fields(geometry) -> dict:
    """The geometry's fields as plain ints: a :class:`slth.nets.conv.Geometry` (checked where it was made)
    or its ``to_json()`` dict. The bounds do not import :mod:`slth.nets` (a higher layer)."""
    raw = geometry.to_json() if hasattr(geometry, "to_json") else geometry
    if not isinstance(raw, Mapping) or set(raw) != set(_FIELDS):
        raise InputError(f"geometry {geometry!r} must be a slth.nets.conv.Geometry or its to_json() dict "
                         f"with the keys {list(_FIELDS)}")
    image, channels, strides = (_counts(f"geometry {name}", raw[name]) for name in ("image", "channels", "strides"))
    if len(image) != 3 or len(channels) != len(strides):
        raise InputError(f"geometry {dict(raw)!r}: image must be (C, H, W) and strides one per channel entry")
    return {"image": image, "channels": channels, "strides": strides,
            "kernel": checks.integer("geometry kernel", raw["kernel"], low=1),
            "classes": checks.integer("geometry classes", raw["classes"], low=1)}


def _counts(name: str, value) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or not list(value):
        raise InputError(f"{name} {value!r} must be a non-empty sequence of positive integers")
    return tuple(checks.integer(name, v, low=1) for v in value)


def kernel_params(geometry) -> tuple[int, ...]:
    """m_1..m_ℓ: k²·C_{i-1}·C_i for each convolution, then C_m·classes for the head (ℓ = m + 1).

    >>> kernel_params({"image": [1, 8, 8], "channels": [4], "kernel": 3, "strides": [1], "classes": 10})
    (36, 40)
    """
    g = _fields(geometry)
    chans = (g["image"][0],) + g["channels"]
    convs = tuple(g["kernel"] ** 2 * a * b for a, b in zip(chans, chans[1:]))
    return convs + (chans[-1] * g["classes"],)


def explicit_dims(geometry) -> tuple[int, ...]:
    """C·H·W of the input and after each convolution, then classes: the target's explicit widths (the same
    as :meth:`slth.nets.conv.Geometry.dims`)."""
    g = _fields(geometry)
    (c, h, w), out = g["image"], [math.prod(g["image"])]
    for ch, s in zip(g["channels"], g["strides"]):
        h, w = h // s, w // s
        out.append(ch * h * w)
    return tuple(out) + (g["classes"],)


def da_cunha_log_term(geometry, eps: float, delta: float) -> float:
    """x = ln(max_i m_i · ℓ / min(ε, δ)): the factor of C once every layer gets the same c (slth's layout),
    so a measured width c reads as C = c / x.

    >>> round(da_cunha_log_term({"image": [1, 8, 8], "channels": [4], "kernel": 3, "strides": [1],
    ...                          "classes": 10}, 0.1, 0.1), 4)          # ln(40 · 2 / 0.1) = ln 800
    6.6846
    """
    m = kernel_params(geometry)
    eps, delta = check_open_unit("eps", eps), check_open_unit("delta", delta)
    return math.log(max(m) * len(m) / min(eps, delta))


def da_cunha_width(geometry, eps: float, delta: float, *, C: float = 1.0) -> Width:
    """Candidates per kernel entry and sign of da Cunha et al.'s random CNN (module docstring):

        n_i = ⌈C · ln(m_i · ℓ / min(ε, δ))⌉,    m_i = k² C_{i-1} C_i (convolutions), C_m · classes (head),

    natural logarithm. The :class:`Width` is in slth's terms: ``candidates`` the largest n_i (slth's c),
    ``dims`` the target's explicit widths and ``hidden_widths`` the ``conv`` layout's explicit ones at n_i,
    2·d_{i-1}·n_i; ``random_params`` counts a weight tied across positions once, Σ_i 2n_i (C_{i-1} + m_i)
    (the 1×1 layer's C_{i-1}·2n_i, the k×k layer's m_i·2n_i: ``RandomSpec(..., layout="conv").random_params()``
    at equal n_i). ``details`` hold ℓ, the largest m_i, the paper's hidden channels 2 n_i C_{i-1} of each
    pair (``random_channels_i``) and the explicit matrices' entries (``explicit_entries``). Kind
    ``hidden-constant``.

    Args:
      geometry: a :class:`slth.nets.conv.Geometry` or its ``to_json()`` dict.
      eps: accuracy ε in (0, 1). delta: failure probability δ in (0, 1). C: the hidden constant, > 0.

    >>> g = {"image": [1, 8, 8], "channels": [4], "kernel": 3, "strides": [1], "classes": 10}
    >>> w = da_cunha_width(g, 0.1, 0.1)      # n = (⌈ln(36·2/0.1)⌉, ⌈ln(40·2/0.1)⌉) = (⌈6.58⌉, ⌈6.68⌉)
    >>> w.candidates_per_pair, w.dims, w.hidden_widths, w.detail("random_channels_1")
    ((7, 7), (64, 256, 10), (896, 3584), 14.0)
    >>> w.random_params                        # 14·(1 + 36) + 14·(4 + 40)
    1134
    >>> da_cunha_width(g, 0.1, 0.1, C=0.5).candidates          # ⌈0.5 · 6.68⌉
    4
    """
    m = kernel_params(geometry)
    eps, delta = check_open_unit("eps", eps), check_open_unit("delta", delta)
    C = check_positive("C", C)
    depth = len(m)
    n = tuple(ceil_count("da Cunha n_i", C * math.log(mi * depth / min(eps, delta))) for mi in m)
    g = _fields(geometry)
    chans = (g["image"][0],) + g["channels"]
    details = (("layers", float(depth)), ("kernel_params_max", float(max(m)))) + tuple(
        (f"random_channels_{i}", float(2 * ni * ci)) for i, (ni, ci) in enumerate(zip(n, chans), start=1))
    explicit = width_from_candidates(explicit_dims(geometry), n, name=NAME, kind="hidden-constant", eps=eps,
                                     delta=delta, constant=C, details=details)
    # a weight tied across positions is one parameter (the conv layout's count): 2n_i (C_{i-1} + m_i) per pair
    params = sum(2 * ni * (ci + mi) for ni, ci, mi in zip(n, chans, m))
    return dataclasses.replace(explicit, random_params=params,
                               details=details + (("explicit_entries", float(explicit.random_params)),))


def is_geometry(value, eps=None) -> bool:
    """Whether ``value`` is a CNN geometry (what this bound reads) rather than MLP dims: the ``applies``
    of its :class:`~slth.bounds.theory.Bound`, so the MLP tables leave it out."""
    return hasattr(value, "to_json") or (isinstance(value, Mapping) and set(value) == set(_FIELDS))
