"""Depth l+1 instead of 2l (Burkholz 2022, "Most Activation Functions Can Win the Lottery Without
Excessive Depth", NeurIPS 2022, arXiv 2205.02321: the L + 1 construction of its Fig. 1(c) and main
theorem, whose exact number and constants were not available to us; docs/theory.md §4.5), for bias-free ReLU
targets, with Pensia et al.'s exact subset sums as the one-dimensional solver.

The random network has the ``l+1`` layout of :class:`slth.nets.RandomSpec` (L = l + 1 layers, ρ = c
copies): layer 1 holds, for each input j, 2c univariate units (the first layer of a block, docs/theory.md §2);
every later hidden layer holds ρ copies of each neuron of the target layer it realises; the output
layer holds one copy of each output neuron. Copy m of neuron k is realised by subset sums:

- target layer 1 (random layer 2): copy (k, m) solves the (k, j, sign) problems of pair 1 of the 2l
  construction on its own row, candidate values a_r = M_2[(k, m), r]·|u_r| over the units r of block j
  of the right sign, target W_1[k, j] (positive units, A⁺) or −W_1[k, j] (negative units, A⁻). The
  units of layer 1 are shared by every copy; only the second-layer entries differ, so copy m computes
  z ↦ A⁺^(m) σ(z) − A⁻^(m) σ(−z) as in docs/theory.md §2.2;
- target layer i >= 2 (random layer i+1): copy (k, m) keeps, for every previous neuron j, the subset
  of the ρ weights M_{i+1}[(k, m), (j, m')], m' < ρ (plain samples of the law, not products) whose sum
  is closest to W_i[k, j]. If every copy of layer i−1 computed exactly t = σ(W_{i-1} ···), copy
  (k, m) would compute Σ_j A^(m)[k, j] t_j with A^(m)[k, j] = Σ of the kept weights: the sums stand in
  for W_i. The output layer (i = l) has one copy per output neuron, fed the same way.

For l = 1 the ``l+1`` and ``pairs`` networks are the same bits, and this construction is the subset-sum
construction. Every one-dimensional problem is solved exactly by :func:`slth.subset_sum.solve`, one
batch per random layer. The paper's statement is logarithmic over-parameterization at depth L + 1;
slth takes ρ = c (one width parameter, nested prefixes) and measures the width with the certificate
of :mod:`slth.measure.deep`, whose propagation factor grows with ρ.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from slth import nets, subset_sum
from slth.constructions import _blocks
from slth.constructions.subset_sum import ALWAYS_FITS as _PAIR_MAX
from slth.errors import InputError
from slth.ticket import Ticket

NAME = "depth-l+1"
#: The random-network layout this construction prunes (a key of :data:`slth.nets.LAYOUTS`; its registry
#: entry's ``layout``): it needs a layout with copies of the target's neurons.
LAYOUT = "l+1"
#: Largest c: random layer 2 has the first pair's problems (up to 2c candidates of one sign), so the
#: exact solver's limit allows the subset-sum construction's ALWAYS_FITS (every draw fits; the drawn counts
#: are not checked here); later layers have c candidates per problem.
MAX_CANDIDATES = _PAIR_MAX


def choose(candidates, targets, valid):
    """The exactly optimal subset per problem (invalid slots never chosen)."""
    return subset_sum.solve(np.asarray(candidates), np.asarray(targets), valid=np.asarray(valid)).mask


def build(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """The depth-l+1 ticket for ``target`` in the random network of ``spec`` (layout ``l+1``).

    ``active`` (1 <= active <= spec.candidates) builds the ticket of ``RandomSpec(candidates=active)``
    embedded in spec's wider network: only the first 2·active units of each layer-1 block (the units of
    the narrower network, about ``active`` per sign) are candidates of random layer 2, only the copies
    m < active of every hidden neuron keep incoming weights, and only those copies are candidates of
    the next layer. The narrower network is a prefix of the wider one bit for bit, so the result keeps
    exactly the narrow ticket's weights (at their places in the wide network) and computes the same
    function; the shapes, hence the compilations, stay those of ``spec`` (the width search's shape
    buckets, :func:`slth.measure.trial_width`).

    Raises:
      InputError: spec of another layout (:func:`slth.measure.network_spec` gives the right one), c
        above :data:`MAX_CANDIDATES`, a target outside the assumptions or of other dims, a bad active.
    """
    if not nets.layouts.layout(spec).has_copies:
        raise InputError(f"the {NAME} construction prunes a random network of layout {LAYOUT!r}; the spec has "
                         f"layout {spec.layout!r} (use measure.network_spec({NAME!r}, spec))")
    if spec.candidates > MAX_CANDIDATES:
        raise InputError(f"candidates {spec.candidates} is above {MAX_CANDIDATES}, the most the {NAME} "
                         f"construction takes (random layer 2 has up to {2 * spec.candidates} candidates of "
                         "one sign per problem, the exact solver's memory budget allows "
                         f"{2 * MAX_CANDIDATES})")
    _blocks.check_build_inputs(target, spec, active)
    live = jnp.asarray(spec.candidates if active is None else active, jnp.int32)
    dtype = jnp.dtype(spec.dtype)
    random = nets.random_network(spec)
    target = tuple(jnp.asarray(w, dtype) for w in target)
    units, d = 2 * spec.candidates, spec.dims            # layer 1: 2c univariate units per input

    # the chosen subsets are combined in numpy: eager jnp ops would compile once per new shape
    rho = spec.copies(1)
    cands, goals, valid = _first_problems(target[0], random[0], random[1], units, rho, live)
    chosen = np.asarray(choose(cands, goals, valid), bool) & np.asarray(valid)
    masks = list(_blocks.pair_masks(chosen, rho * d[1], d[0], units))
    for i in range(2, spec.depth + 1):
        rho, rho_in = spec.copies(i), spec.copies(i - 1)
        cands, goals, valid = _copy_problems(target[i - 1], random[i], rho, rho_in, live)
        chosen = np.asarray(choose(cands, goals, valid), bool) & np.asarray(valid)
        masks.append(jnp.asarray(chosen.reshape(random[i].shape)))
    return Ticket(target=target, random=random, masks=tuple(masks), spec=spec, construction=NAME)


@functools.partial(jax.jit, static_argnames=("units", "copies"))
def _first_problems(w, first, second, units: int, copies: int, live):
    """The (sign, (k, m), j) problems of random layer 2: pair 1's problems for a target whose rows are
    W_1's rows repeated ``copies`` times ((k, m) is row k·copies + m, the layout's order). Units
    r >= 2·live of a block and copies m >= live are invalid."""
    d_in = w.shape[1]
    # through the module, so that a change of the shared block code (or a planted mutation) reaches here
    cands, goals, valid = _blocks.pair_problems(jnp.repeat(w, copies, axis=0), first, second, units, 2 * live,
                                                negative=True)
    copy = (jnp.arange(cands.shape[0]) // d_in) % copies       # rows are (sign, k·copies + m, j)
    return cands, goals, valid & (copy < live)[:, None]


@functools.partial(jax.jit, static_argnames=("copies", "copies_in"))
def _copy_problems(w, layer, copies: int, copies_in: int, live):
    """The ((k, m), j) problems of a later random layer (ρ_i d_i, ρ_{i-1} d_{i-1}): candidates
    layer[(k, m), (j, m')] over m', target W_i[k, j]; copies m, m' >= live are invalid."""
    d_out, d_in = w.shape
    cands = layer.reshape(d_out * copies * d_in, copies_in)
    goals = jnp.repeat(w, copies, axis=0).reshape(-1)
    copy = (jnp.arange(cands.shape[0]) // d_in) % copies
    valid = (copy < live)[:, None] & (jnp.arange(copies_in) < live)[None, :]
    return cands, goals, valid
