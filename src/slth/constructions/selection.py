"""Selection (Malach, Yehudai, Shalev-Shwartz, Shamir 2020, "Proving the Lottery Ticket Hypothesis:
Pruning is All You Need", Theorem 2.1 and its proof).

Each (k, j, sign) keeps the single candidate whose product a_r = M_{2i}[k, r]·|u_r| is closest to the
target weight ("find a random weight close to w"), docs/theory.md §4.1, or keeps nothing when the target is
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
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from slth import nets
from slth.constructions._blocks import build_blocks
from slth.ticket import Ticket

NAME = "selection"


def choose(candidates, targets, valid):
    """At most one candidate per problem: the valid slot minimising |a − t| (the first on ties), kept
    only if it beats the empty choice, |a − t| < |t|.

    With more than one local JAX device the batch of problems is sharded over a 1-D mesh of them
    (``jax.sharding``; rows padded to a multiple of the device count with invalid rows). Every row is
    independent, so the masks do not depend on the number of devices.
    """
    devices = jax.local_devices()
    if len(devices) == 1:
        return _choose(candidates, targets, valid)
    rows, ndev = candidates.shape[0], len(devices)
    pad = -rows % ndev
    mesh = jax.make_mesh((ndev,), ("batch",), axis_types=(AxisType.Auto,), devices=devices)
    put = lambda x, spec: jax.device_put(jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)),
                                         NamedSharding(mesh, spec))
    out = _choose(put(candidates, P("batch", None)), put(targets, P("batch")), put(valid, P("batch", None)))
    return out[:rows]


@jax.jit
def _choose(candidates, targets, valid):
    dist = jnp.where(valid, jnp.abs(candidates - targets[:, None]), jnp.inf)
    best = jnp.argmin(dist, axis=1)
    better = jnp.take_along_axis(dist, best[:, None], axis=1) < jnp.abs(targets)[:, None]
    return (jnp.arange(candidates.shape[1])[None, :] == best[:, None]) & better


def build(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """Selection ticket for ``target`` in the random network of ``spec`` (docs/theory.md §4.1); ``active``: see
    :func:`~slth.constructions._blocks.build_blocks`."""
    return build_blocks(target, spec, choose, NAME, active=active)
