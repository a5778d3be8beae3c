"""Binary random weights (Diffenderfer & Kailkhura 2021, "Multi-Prize Lottery Ticket Hypothesis: Finding
Accurate Binary Neural Networks by Pruning a Randomly Weighted Network", ICLR 2021: binary-weight
tickets, MPT-1/32), built with the subset-sum block structure of Pensia et al. 2020 (docs/theory.md §2, §4.2,
§4.5).

The random network's entries are ±s, s = :data:`slth.nets.BINARY_SCALE` (the law ``binary-scaled``).
In the paper a ticket's kept weights are α·sign(w) with a per-layer gain α; the signs of i.i.d.
symmetric weights are i.i.d. ±1, so such a ticket is a pruned ±1 network times the gains. An slth
ticket changes no weight and ``slth verify`` regenerates the network from its spec, so the gain has to
be part of the random law; it must also not depend on the width, or a wider network would not extend
a narrower one (nested prefixes, which the width search relies on). Hence one fixed scale s.

Consequence (docs/theory.md §2): every candidate product a = v·|u| is ±s² exactly, so the subset sums of a
(k, j, sign) problem are the lattice points m·s², −n₋ <= m <= n₊ (n± = its candidates of product
sign ±), and the exact subset-sum optimum is the lattice point nearest the target in that range:
m* = clip(round(t/s²), −n₋, n₊), realised by the first |m*| candidates of sign m*. This is what
:func:`choose` computes; it is the optimum over all 2^n subsets (tests: against brute force and
against :func:`slth.subset_sum.solve`), in O(n) instead of 2^(n/2), so the width is not capped by
the meet-in-the-middle solver's memory (46 candidates per block and sign, so c <= 32; an 8-8-8 target needs
about a thousand under this law).

What that implies, a finding rather than a defect:

- a per-weight error floor s²/2 (2^-11 for s = 2^-5) that no width removes;
- reaching w needs |w|/s² candidates of its product sign, each of a block's 2c units being one with
  probability 1/4: c ≈ 2|w|/s² per block and sign, whatever ε above the floor is asked for;
- for a given ε one would choose s² ∝ ε, giving a width ∝ 1/ε: polynomial in 1/ε (like Malach et
  al.'s selection), not Pensia et al.'s log(1/ε). Sreenivasan et al. 2022 ("Finding Nearly
  Everything within Random Binary Networks", AISTATS) reach a polylogarithmic width with ±1 weights
  only by making the random network deeper as well, which the 2l-deep layout here does not allow.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from slth import nets
from slth.constructions._blocks import build_blocks
from slth.errors import InputError
from slth.ticket import Ticket

NAME = "binary"

#: The random weight law the construction assumes (entries ±s, s = nets.BINARY_SCALE).
LAW = "binary-scaled"

#: Lattice spacing of the subset sums: every candidate product is ±SPACING exactly.
SPACING = nets.BINARY_SCALE ** 2

#: Per-weight error floor: the largest distance from a point of [−1, 1] to the lattice, reached once
#: enough candidates of each sign are present; no width does better.
FLOOR = SPACING / 2


def choose(candidates, targets, valid):
    """The exactly optimal subset per problem for candidates ±SPACING (invalid slots never chosen).

    Keeps the first |m*| valid candidates of sign m*, m* = clip(round(t/SPACING), −n₋, n₊); a target
    exactly half-way between two lattice points rounds towards 0 (fewer kept weights, same error).

    Raises:
      InputError: a valid candidate is not ±SPACING (the candidates of another weight law, for which
        the nearest lattice point is not the subset-sum optimum).
    """
    cand, valid = np.asarray(candidates), np.asarray(valid, bool)
    off = valid & (np.abs(cand) != SPACING)
    if off.any():
        raise InputError(f"the {NAME} chooser needs candidate products ±{SPACING} (law {LAW!r}); got "
                         f"{cand[off][0]!r}")
    return _choose(cand, np.asarray(targets), valid)


@jax.jit
def _choose(candidates, targets, valid):
    positive, negative = valid & (candidates > 0), valid & (candidates < 0)
    x = targets / SPACING                                   # exact: SPACING is a power of two
    m = jnp.sign(x) * jnp.ceil(jnp.abs(x) - 0.5)            # nearest integer, halves towards 0
    m = jnp.clip(m, -negative.sum(axis=1), positive.sum(axis=1))
    side = jnp.where((m > 0)[:, None], positive, negative)
    # the first |m| of that sign: a prefix, so a narrower network's choice uses its own units only
    return side & (jnp.cumsum(side, axis=1) <= jnp.abs(m)[:, None])


def build(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """Binary ticket for ``target`` in the random ±s network of ``spec`` (law :data:`LAW`);
    ``active``: see :func:`~slth.constructions._blocks.build_blocks`. Another law is refused by the
    registry's one law check (:func:`slth.nets.require_law`, as :func:`slth.constructions.build`), so
    a direct call is refused too."""
    nets.require_law(NAME, LAW, spec.distribution)
    return build_blocks(target, spec, choose, NAME, active=active)
