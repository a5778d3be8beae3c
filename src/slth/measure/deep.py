"""The two-sided error of a ticket in the ``l+1`` layout (Burkholz 2022, docs/theory.md §4.5), and the entry
points that measure a ticket in its own layout, chosen by the layout's flags (:mod:`slth.nets.layouts`):
pair maps and docs/theory.md §3's certificate for a layout of layer pairs, copy maps and the certificate below
for a layout of copies.

Certificate of the ``l+1`` layout (docs/theory.md §3's argument, redone for copies; a proof, float64).
Write t_0 = x, t_i = σ(W_i t_{i-1}) for the target's hidden vectors (i < l), s_i = ‖W_i‖_2 and
P_i = s_1···s_i (P_0 = 1), so ‖t_i‖ <= P_i ‖x‖ (σ is 1-Lipschitz with σ(0) = 0). Random layer i+1
holds ρ_i copies of each neuron of target layer i (ρ_i = c for i < l, ρ_l = 1); unit (k, m) is copy m
of neuron k, y_i(k, m) its output. Stack the errors of the *live* units of layer i (those with a kept
outgoing weight; the others cannot reach the output) into Δ_i = (y_i(k, m) − t_i[k])_(k,m) live.

- Layer 1. Every layer-1 unit keeps one weight u_r from its input j, so unit (k, m) of random layer 2
  has pre-activation A⁺[(k,m)] σ(x) − A⁻[(k,m)] σ(−x) (docs/theory.md §2.2, one row of A± per copy). Minus
  W_1[k] x = W_1[k] σ(x) − W_1[k] σ(−x), and with ‖[σ(x); −σ(−x)]‖ = ‖x‖, σ 1-Lipschitz:
  ‖Δ_1‖ <= E_1 ‖x‖,  E_1 = ‖[A⁺ − W̃_1 | A⁻ − W̃_1]‖_2 over the live rows, W̃_i[(k,m)] = W_i[k].
- Layer i >= 2. Let B_i be the pruned random layer i+1 restricted to live rows and live columns
  (the other columns are zero or dead) and A_i[(k,m), j] = Σ_{m'} B_i[(k,m), (j,m')] the map copy
  (k, m) applies to one copy of each input neuron. Its pre-activation minus W_i[k] t_{i-1} is
      Σ_{(j,m')} B_i[(k,m),(j,m')] (y_{i-1}(j,m') − t_{i-1}[j]) + (A_i − W̃_i)[(k,m)] t_{i-1},
  and σ (only for i < l) does not increase it. Two bounds follow, both by induction over layers:
    stacked:   ‖Δ_i‖ <= E_i ‖x‖,  E_i = ‖B_i‖_2 E_{i-1} + ‖A_i − W̃_i‖_2 P_{i-1};
    per unit:  |Δ_i| <= δ_i ‖x‖ entrywise,  δ_i = |B_i| δ_{i-1} + P_{i-1} (‖(A_i − W̃_i)[u]‖)_u,
  with δ_1 the row norms of layer 1's error map, so ‖Δ_i‖ <= ‖δ_i‖ ‖x‖ as well. Both hold at once, so
  each layer carries E_i ← min(E_i, ‖δ_i‖) into the next. The output layer (ρ_l = 1) gives
      sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ <= E_l.

For l = 1 this is a_1 = ‖[A⁺ − W_1 | A⁻ − W_1]‖_2 (‖δ_1‖ is its Frobenius norm, never smaller), i.e.
docs/theory.md §3's certificate (s_1 + a_1) − s_1: the layouts coincide there. With one copy (ρ = 1),
‖B_i‖_2 = ‖A_i‖_2 <= s_i + a_i and the stacked recursion is at most §3's product form. ‖B_i‖_2 is
the price of copies (about √ρ times the size of one copy's weights, where §3 pays s_i); the per-unit
bound is the tighter one when a few copies carry most of the error (a copy whose subset sums miss),
the stacked one when the error is spread. Bounding copy by copy, max_m Σ_{m'} ‖B^(m,m')‖_2 per step,
would pay about ρ instead of √ρ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from slth import nets, precision
from slth.errors import InputError
from slth.measure.error import (LowerBound, PairMaps, certificate, gap_at, lower_bound, lower_bound_key,
                                pair_maps, weight_errors)
from slth.measure.rounding import round_up, terms
from slth.nets import layouts


@dataclasses.dataclass(frozen=True)
class CopyMaps:
    """What a pruned ``l+1`` network computes, in float64 numpy (see the module docstring).

    Attributes:
      first: A⁺, A⁻ of random layer 2, (ρ_1·d_1, d_0) each, row k·ρ_1 + m for copy m of neuron k.
      layers: the pruned random layers 3..l+1, dense, (ρ_i·d_i, ρ_{i-1}·d_{i-1}).
      copies: ρ_1..ρ_l.
      live: for each hidden layer of copies i = 1..l−1, a boolean (ρ_i·d_i,): the unit has a kept
        outgoing weight in random layer i+2.
    """

    first: PairMaps
    layers: tuple
    copies: tuple
    live: tuple

    def effective(self, i: int) -> np.ndarray:
        """A_i (ρ_i·d_i, d_{i-1}) for target layer i >= 2: row (k, m) sums copy (k, m)'s kept weights
        over the copies m' of each input neuron j."""
        b = self.layers[i - 2]
        return b.reshape(b.shape[0], -1, self.copies[i - 2]).sum(axis=2)


def copy_maps(random: Sequence, masks: Sequence, spec: nets.RandomSpec) -> CopyMaps:
    """The maps of a pruned ``l+1`` network of ``spec`` (float64; see :class:`CopyMaps`).

    Raises:
      InputError: ``spec``'s layout has no copies (only ``l+1`` has), the layer count or shapes differ
        from ``spec.shapes()``, or a layer-1 unit keeps more than one incoming weight.
    """
    if not layouts.layout(spec).has_copies:
        raise InputError(f"copy_maps needs a spec of layout 'l+1'; got {spec.layout!r}")
    shapes = [tuple(np.shape(m)) for m in random]
    if len(random) != len(masks) or shapes != list(spec.shapes()) \
            or [tuple(np.shape(s)) for s in masks] != shapes:
        raise InputError(f"a pruned l+1 network of {spec.dims} at c = {spec.candidates} has layers of shapes "
                         f"{list(spec.shapes())}; got {shapes} and masks {[np.shape(s) for s in masks]}")
    (first,) = pair_maps(random[:2], masks[:2])
    layers = tuple(np.where(s, np.asarray(m, np.float64), 0.0) for m, s in zip(random[2:], masks[2:]))
    live = tuple(np.asarray(s, bool).any(axis=0) for s in masks[2:])
    return CopyMaps(first, layers, tuple(spec.copies(i) for i in range(1, spec.depth + 1)), live)


def copy_weight_errors(target: Sequence, maps: CopyMaps) -> list[np.ndarray]:
    """Per-weight errors of the live units: [A⁺ − W̃_1 | A⁻ − W̃_1] for target layer 1 and A_i − W̃_i for
    i >= 2, rows of live units only (W̃_i repeats row k of W_i for each copy of neuron k)."""
    errs = []
    for i, w in enumerate(target, start=1):
        wide = np.repeat(np.asarray(w, np.float64), maps.copies[i - 1], axis=0)
        if i == 1:
            e = np.concatenate([maps.first.plus - wide, maps.first.minus - wide], axis=1)
        else:
            e = maps.effective(i) - wide
        errs.append(e[_live(maps, i)])
    return errs


def copy_certificate(target: Sequence, maps: CopyMaps) -> float:
    """Exact upper bound on sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ for a pruned ``l+1`` network (module docstring):
    E_1 = ‖[A⁺ − W̃_1 | A⁻ − W̃_1]‖_2, then per layer the smaller of the stacked bound
    ‖B_i‖_2 E_{i-1} + ‖A_i − W̃_i‖_2 s_1···s_{i-1} and the norm of the per-unit bound; returns E_l."""
    s = nets.spectral_norms(target)
    errs = copy_weight_errors(target, maps)
    stacked, per_unit = _norm(errs[0]), np.linalg.norm(errs[0], axis=1)
    for i in range(2, len(target) + 1):
        b = maps.layers[i - 2][_live(maps, i)][:, _live(maps, i - 1)]
        reach = float(np.prod(s[:i - 1]))                     # P_{i-1} >= ‖t_{i-1}‖ for ‖x‖ <= 1
        stacked = _norm(b) * stacked + _norm(errs[i - 1]) * reach
        per_unit = np.abs(b) @ per_unit + np.linalg.norm(errs[i - 1], axis=1) * reach
        stacked = min(stacked, float(np.linalg.norm(per_unit)))
    return float(stacked)


def _live(maps: CopyMaps, i: int) -> np.ndarray:
    """Live units of target layer i: those with a kept outgoing weight, every unit of the output."""
    if i <= len(maps.live):
        return maps.live[i - 1]
    return np.ones((maps.first.plus if i == 1 else maps.layers[i - 2]).shape[0], bool)


def _norm(m: np.ndarray) -> float:
    return float(np.linalg.norm(m, 2)) if m.size else 0.0


# --------------------------------------------------------------------------- any layout

def _copies(spec) -> bool:
    """Whether ``spec``'s layout is measured with copy maps (it has copies, ``l+1``) rather than pair
    maps (it has layer pairs, ``pairs``)."""
    layout = layouts.layout(spec)
    if not (layout.has_copies or layout.has_pairs):
        raise InputError(f"no certificate is known for the {layout.name!r} layout (neither layer pairs nor copies)")
    return layout.has_copies


def _biases(spec) -> bool:
    """Whether ``spec``'s layout has biases (its layers' last column; :mod:`slth.nets.affine`)."""
    return layouts.layout(spec).has_biases


def ticket_maps(ticket) -> list[PairMaps] | CopyMaps:
    """The compact maps of ``ticket`` in its layout: pair maps (``pairs``, ``conv``, and ``biased`` with
    the constant input's column) or copy maps (``l+1``), in float64 (NumPy)."""
    if _copies(ticket.spec):
        return copy_maps(ticket.random, ticket.masks, ticket.spec)
    return pair_maps(ticket.random, ticket.masks, biases=_biases(ticket.spec))


def _affine_certificate(ticket, maps) -> float:
    """:mod:`slth.measure.affine`'s certificate of a ticket with biases (with skips, a residual target with
    biases: :mod:`slth.measure.residual`'s recursion with the biases' terms), rounded upward."""
    from slth.measure import affine, residual
    skips = ticket.spec.skips
    scale = (residual.scale(ticket.target, maps, biases=True) if skips else affine.scale(ticket.target, maps))
    return round_up(affine.certificate(ticket.target, maps, skips), terms=terms(ticket), depth=len(ticket.target),
                    scale=scale)


def _residual_certificate(ticket, maps) -> float:
    """:mod:`slth.measure.residual`'s certificate of a ticket of a residual target, rounded upward."""
    from slth.measure import residual
    return round_up(residual.certificate(ticket.target, maps, ticket.spec.skips), terms=terms(ticket),
                    depth=len(ticket.target), scale=residual.scale(ticket.target, maps))


def ticket_norm_certificate(ticket, maps=None) -> float:
    """docs/theory.md §3's certificate of ``ticket`` in its layout (``maps``: :func:`ticket_maps`, if known): the
    product of norms for ``pairs``, the copy recursion above for ``l+1``; rounded upward
    (:func:`slth.measure.propagate.norm_certificate`), so it bounds the sup error in exact arithmetic.
    In float64 NumPy (no JAX). A ticket with biases: :mod:`slth.measure.affine`'s certificate; of a residual
    target (skips): :mod:`slth.measure.residual`'s (both, with the biases' terms, for a residual target with biases)."""
    from slth.measure import propagate
    maps = ticket_maps(ticket) if maps is None else maps
    if _biases(ticket.spec):
        return _affine_certificate(ticket, maps)
    if ticket.spec.skips:
        return _residual_certificate(ticket, maps)
    return propagate.norm_certificate(ticket, maps)


def ticket_certificate(ticket, maps=None, *, method: str | None = None) -> float:
    """The certificate of ``ticket``: the smaller of :func:`ticket_norm_certificate` and the bound
    propagation of :func:`slth.measure.propagate.tight_certificate`, both proofs that
    sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ is at most it, rounded upward. In float64 NumPy (no JAX). A ticket with
    biases: the smaller of :mod:`slth.measure.affine`'s certificate and the bound propagation with the biases as
    constants (input cones only, no phase branching). A ticket of a residual
    target (skips): the smaller of :mod:`slth.measure.residual`'s recursion and the bound propagation of its
    network with the skips carried by identity units (:func:`slth.measure.residual.network`).
    ``method``: the bound propagation's effort (:data:`slth.measure.propagate.METHODS`; default the
    current one, :data:`~slth.measure.propagate.METHOD`)."""
    from slth.measure import propagate
    method = propagate.METHOD if method is None else method
    propagate.effort(method)
    maps = ticket_maps(ticket) if maps is None else maps
    if _biases(ticket.spec):
        return min(_affine_certificate(ticket, maps), propagate.propagated_certificate(ticket, maps, method=method))
    if ticket.spec.skips:
        return min(_residual_certificate(ticket, maps), propagate.propagated_certificate(ticket, maps, method=method))
    return propagate.tight_certificate(ticket, maps, method=method)


def ticket_weight_errors(ticket, maps=None) -> list[np.ndarray]:
    """Per-weight errors of ``ticket`` in its layout (:func:`~slth.measure.weight_errors` or
    :func:`copy_weight_errors`), in float64 (NumPy)."""
    maps = ticket_maps(ticket) if maps is None else maps
    if _copies(ticket.spec):
        return copy_weight_errors(ticket.target, maps)
    if _biases(ticket.spec):
        from slth.measure import affine
        return affine.weight_errors(ticket.target, maps)
    return weight_errors(ticket.target, maps)


def ticket_max_weight_error(ticket, maps=None) -> float:
    """Largest per-weight error of ``ticket`` (0 when no weight has one), in float64 (NumPy)."""
    return float(max((np.abs(e).max(initial=0.0) for e in ticket_weight_errors(ticket, maps)), default=0.0))


def ticket_gap_at(ticket, x) -> np.ndarray:
    """‖f(x) − g_S(x)‖ of ``ticket`` at a batch x (batch, d_0) through the reference forward pass in its own
    layout (:func:`~slth.measure.gap_at` with its biases or its skips), float64."""
    spec = ticket.spec
    return gap_at(ticket.target, ticket.pruned, x, biases=_biases(spec), skips=nets.residual.edges(spec.skips),
                  random_skips=spec.skip_edges())


@precision.float64
def ticket_lower_bound(ticket, maps=None, *, key=None, **kwargs) -> LowerBound:
    """Adversarial lower bound of ``ticket`` (:func:`~slth.measure.lower_bound`; ``key`` defaults to
    :func:`~slth.measure.lower_bound_key` of its seed). The ascent runs on the pair maps in the
    ``pairs`` layout and on the masked network itself in the ``l+1`` layout, whose copies do not
    collapse into one map per layer; with biases it searches the whole ball; with skips (a residual target)
    both networks add their identities. In float64 (JAX under :mod:`slth.precision`'s scope, the masked
    weights included)."""
    maps = ticket_maps(ticket) if maps is None else maps
    key = lower_bound_key(ticket.spec.seed) if key is None else key
    compact = None if _copies(ticket.spec) else maps
    spec = ticket.spec
    return lower_bound(ticket.target, ticket.pruned, key=key, maps=compact, biases=_biases(spec),
                       skips=nets.residual.edges(spec.skips), random_skips=spec.skip_edges(), **kwargs)
