"""Selection (Malach, Yehudai, Shalev-Shwartz, Shamir 2020, "Proving the Lottery Ticket Hypothesis:
Pruning is All You Need", Theorem 2.1 and its proof).

Each (k, j, sign) keeps the single candidate whose product a_r = M_{2i}[k, r]·|u_r| is closest to the
target weight ("find a random weight close to w"), THEORY §4.1, or keeps nothing when the target is
closer to 0 than every candidate. The empty choice only lowers the error (the analysis needs one
candidate within η, which then beats the empty choice whenever η < |w|), and it makes the error
monotone in c: a first candidate of a sign that lands far from w would otherwise raise it. With c
candidates of the right sign the miss probability at accuracy η is (1 − q(w, η))^c, which makes the
width polynomial in 1/ε.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from slth import nets
from slth.constructions._blocks import build_blocks
from slth.ticket import Ticket

NAME = "selection"


@jax.jit
def choose(candidates, targets, valid):
    """At most one candidate per problem: the valid slot minimising |a − t| (the first on ties), kept
    only if it beats the empty choice, |a − t| < |t|."""
    dist = jnp.where(valid, jnp.abs(candidates - targets[:, None]), jnp.inf)
    best = jnp.argmin(dist, axis=1)
    better = jnp.take_along_axis(dist, best[:, None], axis=1) < jnp.abs(targets)[:, None]
    return (jnp.arange(candidates.shape[1])[None, :] == best[:, None]) & better


def build(target: Sequence, spec: nets.RandomSpec) -> Ticket:
    """Selection ticket for ``target`` in the random network of ``spec`` (THEORY §4.1)."""
    return build_blocks(target, spec, choose, NAME)
