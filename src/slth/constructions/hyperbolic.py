"""Hyperbolic weights and the greedy "binary" decomposition (Orseau, Hutter, Rivasplata 2020,
"Logarithmic Pruning is All You Need", NeurIPS 2020, arXiv 2006.12156; docs/theory.md §4.5).

Malach et al. realise a target weight w by one random weight close to it, which needs about 1/ε
samples. Orseau et al. instead write w as a sum of O(log 1/ε) random weights, a "binary"
decomposition (their Figure 1: 2 log 1/ε intermediate neurons per target weight, out of
O(log 1/ε) sampled ones), which works when the random weights are drawn from the hyperbolic law:
a random sign times a magnitude of density ∝ 1/|w| on [γ, 1] (``nets.DISTRIBUTIONS["hyperbolic"]``,
γ = ``nets.HYPERBOLIC_GAMMA`` = 2^-12). That law is scale-free: every octave [2^-i-1, 2^-i] of
[γ, 1] has the same probability, so whatever scale the remainder of the decomposition has reached,
a random weight of that scale is as likely as at any other.

The rule (the greedy form of the binary expansion w = Σ_i b_i 2^-i, where bit i is set exactly
when 2^-i still fits into what is left): with remainder r = |t| at the start, scan the problem's
valid candidates of the target's sign from the largest magnitude down, and keep a candidate a iff
|a| <= r, then r <- r − |a|. The remainder never becomes negative (no overshoot) and never grows.
When the candidates are exactly the powers 2^-1, ..., 2^-n the rule reproduces the first n bits of
|t|; with random candidates, every kept candidate that lies in [r/2, r] at least halves the
remainder (the rule keeps the largest candidate <= r, so it keeps one from that octave whenever one
is left), hence n such steps leave r <= 2^-n |t|: the O(log 1/ε) of the paper. Candidates of the
other sign are never kept (one would only move the sum away), and a zero target keeps nothing.

Candidate products. A candidate is a = v·|u| with u, v independent hyperbolic draws, so
ln|a| = ln|u| + ln|v| is the sum of two independent U[ln γ, 0] variables: its law is triangular on
[2 ln γ, 0] with mode ln γ (:func:`product_log_cdf`). In octaves, the product lies in
[2^-i, 2^-i+1] with probability (2i − 1)/(2L²) for i <= L = log2(1/γ) = 12 and (4L + 1 − 2i)/(2L²)
for L < i <= 2L (:func:`octave_probability`). For the decomposition this means: (1) the first
halving steps of a target near ±1 are the rare ones, the top octave [½, 1] having probability
1/288 per product, the same edge effect as the uniform product law of docs/theory.md §2.4; (2) the octaves
get likelier as the remainder shrinks, up to the two octaves next to γ (23/288 each), so once the
first bits are placed the rest come cheaply; (3) no product is below γ² = 2^-24, which floors the
reachable error far below any ε swept; (4) a typical product is near γ, so a block needs many
candidates before the ones of the target's sign even sum to |w|: the widths are large (E|a| =
((1 − γ)/ln(1/γ))² ≈ 0.0145). Unlike selection the decomposition may keep many candidates of a
problem: the tickets are not sparse per weight.

References: L. Orseau, M. Hutter, O. Rivasplata, "Logarithmic Pruning is All You Need", NeurIPS
2020 (arXiv 2006.12156), §3 and Figure 1 (binary decomposition, hyperbolic sampling, product
weights). The greedy rule above is slth's statement of that decomposition; it is a heuristic next
to the exact optimum (:func:`slth.subset_sum.solve`), never better, and it is not monotone in the
number of candidates (a large candidate added to the list can displace a better combination of
smaller ones), so the registry does not list docs/theory.md §5.5 for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from slth import nets
from slth.constructions._blocks import build_blocks
from slth.ticket import Ticket

NAME = "hyperbolic"
#: The random weight law the construction assumes (``constructions.build`` refuses any other).
DISTRIBUTION = "hyperbolic"


def choose(candidates, targets, valid):
    """The greedy binary decomposition of every problem (see the module docstring), in one batch.

    Args:
      candidates: (B, U) candidate values. targets: (B,). valid: (B, U) bool, the usable slots.
    Returns:
      (B, U) bool: the kept candidates, all valid and of the target's sign, summing to at most |t|.
    """
    return _choose(jnp.asarray(candidates), jnp.asarray(targets), jnp.asarray(valid, bool))


@jax.jit
def _choose(candidates, targets, valid):
    return jax.vmap(_greedy)(candidates, targets, valid)


def _greedy(values, target, valid):
    # Magnitude 0 marks a slot the rule may not use (invalid, or of the other sign): it sorts last
    # and fails the `a > 0` test, so it is never kept.
    usable = valid & (values * jnp.sign(target) > 0)
    mag = jnp.where(usable, jnp.abs(values), jnp.zeros_like(values))
    order = jnp.argsort(-mag, stable=True)   # largest first; equal magnitudes by slot index

    def step(rest, a):
        keep = (a > 0) & (a <= rest)
        return jnp.where(keep, rest - a, rest), keep

    _, kept = jax.lax.scan(step, jnp.abs(target), mag[order])
    return jnp.zeros(values.shape, bool).at[order].set(kept)


def build(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """Hyperbolic-decomposition ticket for ``target`` in the random network of ``spec`` (docs/theory.md §4.5,
    Orseau et al. 2020); ``spec.distribution`` should be ``"hyperbolic"``, which
    :func:`slth.constructions.build` enforces. ``active``: see
    :func:`~slth.constructions._blocks.build_blocks`."""
    return build_blocks(target, spec, choose, NAME, active=active)


def product_log_cdf(x, gamma: float = nets.HYPERBOLIC_GAMMA):
    """P(ln|a| <= x) for a product a = v·|u| of two independent hyperbolic draws on [γ, 1]: the CDF of
    the triangular law on [2 ln γ, 0] with mode ln γ (sum of two U[ln γ, 0]).

    >>> float(product_log_cdf(math.log(2.0 ** -12)))      # the mode splits the mass in half
    0.5
    """
    L = -math.log(gamma)
    s = np.clip(np.asarray(x, np.float64) + 2 * L, 0.0, 2 * L)   # shift the support to [0, 2L]
    return np.where(s <= L, s * s / (2 * L * L), 1 - (2 * L - s) ** 2 / (2 * L * L))


def octave_probability(i: int, gamma: float = nets.HYPERBOLIC_GAMMA) -> float:
    """P(|a| in [2^-i, 2^-i+1]) for a product of two hyperbolic draws, i >= 1: (2i − 1)/(2L²) for
    i <= L = log2(1/γ), (4L + 1 − 2i)/(2L²) for L < i <= 2L, 0 beyond (γ a power of 2).

    >>> [round(octave_probability(i) * 288, 9) for i in (1, 12, 13, 24, 25)]
    [1.0, 23.0, 23.0, 1.0, 0.0]
    """
    hi, lo = product_log_cdf(-(i - 1) * math.log(2), gamma), product_log_cdf(-i * math.log(2), gamma)
    return float(hi - lo)
