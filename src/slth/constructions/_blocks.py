"""The block structure shared by the weight-pruning constructions (docs/theory.md §2), built once.

For target layer i, pair (M_{2i-1}, M_{2i}) has d_{i-1} blocks of U units. Unit r of block j has
first-layer weight u_r = M_{2i-1}[r, j]; for output k its candidate value is a = M_{2i}[k, r]·|u_r|.
Positive units (u_r > 0) are candidates for A⁺_kj ≈ W_kj; negative ones for A⁻_kj ≈ W_kj, i.e. their
values should sum to −W_kj. Every (k, j, sign) is an independent one-dimensional problem, and all of
them go to the chooser in one batch. Negative problems exist only for i = 1 (for i >= 2 the input
of the pair is a ReLU output and σ(−z) = 0).

A target with biases (the ``biased`` layout, :mod:`slth.nets.affine`) is the same problem on the input
[z; 1]: its layer [W | b] has one more column, the pair one more block (the bias block, whose units
keep only their bias), and b is chosen like a weight of that column. The constant input is 1, so
σ(−1) = 0: the negative problems of that column are invalid (a unit with a negative bias is dead),
and the random biases of the pair's second layer are pruned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax

import jax.numpy as jnp
import numpy as np

from slth import nets
from slth.errors import InputError
from slth.quick_jit import quick_jit
from slth.ticket import Ticket

#: A chooser takes candidates (B, U), targets (B,) and a validity mask (B, U) and returns the
#: chosen subsets as a boolean (B, U) array that never selects an invalid slot.
Chooser = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@quick_jit(static_argnames=("units", "negative"))
def pair_problems(w, first, second, units: int, active=None, *, negative: bool):
    """Candidates, targets and validity of every (k, j, sign) problem of one layer pair.

    Args:
      w: target layer (d_out, d_in). first: M_{2i-1} (d_in·U, d_in). second: M_{2i} (d_out, d_in·U).
      units: U, units per block. active: only the first ``active`` units of every block are valid
        (traced, so every active <= U shares one compilation); None: all U.
      negative: include the negative-sign problems.
    Returns:
      candidates (S·d_out·d_in, U), targets (S·d_out·d_in,), valid (S·d_out·d_in, U), S = 1 or 2,
      ordered (sign, k, j) with the positive sign first.
    """
    d_out, d_in = w.shape
    u = first.reshape(d_in, units, d_in)[jnp.arange(d_in), :, jnp.arange(d_in)]  # (d_in, U): u[j, r]
    values = second.reshape(d_out, d_in, units) * jnp.abs(u)[None]               # (d_out, d_in, U)
    if active is not None:
        u = jnp.where(jnp.arange(units)[None, :] < active, u, 0)                   # 0 is never valid
    signs = [(u > 0, w)] + ([(u < 0, -w)] if negative else [])
    cands = jnp.concatenate([values.reshape(-1, units)] * len(signs))
    targets = jnp.concatenate([t.reshape(-1) for _, t in signs])
    valid = jnp.concatenate([jnp.broadcast_to(v[None], values.shape).reshape(-1, units) for v, _ in signs])
    return cands, targets, valid


@quick_jit(static_argnums=(1, 2, 3))
def pair_masks(chosen, d_out: int, d_in: int, units: int):
    """Masks of (M_{2i-1}, M_{2i}) from the chosen subsets (S·d_out·d_in, U) of ``pair_problems``.

    M_{2i} keeps entry (k, r) if unit r is chosen for (k, j_r) in either sign; M_{2i-1} keeps the
    block weight (r, j_r) of every unit that some output uses, and nothing else.
    """
    per_sign = chosen.reshape(-1, d_out, d_in, units).any(axis=0)                # (d_out, d_in, U)
    second = per_sign.reshape(d_out, d_in * units)
    used = second.any(axis=0)                                                      # (d_in·U,)
    block = jnp.repeat(jnp.arange(d_in), units)
    first = (jnp.arange(d_in)[None, :] == block[:, None]) & used[:, None]
    return first, second


@quick_jit(static_argnums=(1, 2))
def constant_negatives_invalid(valid, d_out: int, d_in: int):
    """``valid`` of ``pair_problems(..., negative=True)`` (ordered sign, k, j) with the negative problems
    of the last input j = d_in − 1, the constant 1, made invalid."""
    rows = jnp.arange(valid.shape[0])
    drop = (rows >= d_out * d_in) & (rows % d_in == d_in - 1)
    return valid & ~drop[:, None]


def too_many(c: int, limit: int, name: str, reason: str, *, what: str = "candidates") -> InputError:
    """The one message for a candidate count above what construction ``name`` takes (``what`` names
    the argument: ``--candidates``, ``c_max``, ...; ``reason`` says why the limit is there)."""
    return InputError(f"{what} {c} is above {limit}, the most the {name} construction takes ({reason})")


def check_build_inputs(target: Sequence, spec: nets.RandomSpec, active: int | None) -> None:
    """Raise InputError, before any work, unless ``target`` meets the theorems' assumptions (with its
    biases in a layout with biases: :func:`slth.nets.affine.check_target`), has the spec's dims, and
    ``active`` is None or an integer in [1, spec.candidates]."""
    biases = nets.layouts.layout(spec).has_biases
    nets.check_target(target, biases=biases)
    if nets.dims_of(target, biases=biases) != spec.dims:
        raise InputError(f"target dims {nets.dims_of(target, biases=biases)} differ from the spec's {spec.dims}")
    if active is not None and (isinstance(active, bool) or not isinstance(active, int)
                               or not 1 <= active <= spec.candidates):
        raise InputError(f"active {active!r} must be an integer in [1, {spec.candidates}] (the spec's candidates)")


def build_blocks(target: Sequence, spec: nets.RandomSpec, choose: Chooser, construction: str, *,
                 active: int | None = None) -> Ticket:
    """Prune the random network of ``spec`` for ``target``, choosing every (k, j, sign) subset with
    ``choose`` in one batch per layer pair.

    ``active`` (1 <= active <= spec.candidates) restricts every block to the units of
    ``RandomSpec(candidates=active)``, a prefix of spec's (nested prefixes): the ticket is then that
    narrower network's ticket, embedded in spec's network with the other units pruned. The shapes,
    hence the compilations, stay those of ``spec``, which is how the width search evaluates many c
    per compiled shape bucket.
    """
    check_build_inputs(target, spec, active)
    narrow = None if active is None else dataclasses.replace(spec, candidates=active)
    biases = nets.layouts.layout(spec).has_biases
    dtype = jnp.dtype(spec.dtype)
    random = nets.random_network(spec)
    target = tuple(jnp.asarray(w, dtype) for w in target)
    masks = []
    for i, w in enumerate(target, start=1):
        units = spec.units_per_block(i)
        live = None if narrow is None else jnp.asarray(narrow.units_per_block(i), jnp.int32)
        second = random[2 * i - 1][:, :-1] if biases else random[2 * i - 1]
        cands, targets, valid = pair_problems(w, random[2 * i - 2], second, units, live, negative=(i == 1))
        if biases and i == 1:       # the negative problems of the constant column: σ(−1) = 0
            valid = constant_negatives_invalid(valid, *w.shape)
        # A candidate of value exactly 0 adds nothing to any sum: keeping it would only keep a dead weight
        # (the structural zeros of a CNN's explicit layers, outside every kernel's support, are such).
        # Combined in NumPy: eager jnp operations would compile a program per shape, in every process.
        chosen = np.asarray(choose(cands, targets, valid), bool) & np.asarray(valid) & (np.asarray(cands) != 0)
        first_mask, second_mask = pair_masks(chosen, *w.shape, units)
        if biases:                  # the pair's output biases are pruned
            second_mask = jnp.concatenate([second_mask, jnp.zeros((w.shape[0], 1), bool)], axis=1)
        masks += [first_mask, second_mask]
    return Ticket(target=target, random=random, masks=tuple(masks), spec=spec, construction=construction)
