"""The ``conv`` layout: the 2l-deep random convolutional network that realises a CNN target one kernel entry at a time (da Cunha, Natale & Viennot 2022).

A CNN target (:mod:`slth.nets.conv`: m "same" convolutions with ReLU, global average pooling, a dense
head) is, exactly, a bias-free MLP whose layers are the explicit matrices of its maps on the actual
input shape (:func:`slth.nets.conv.explicit`). The random network realises target layer i with a pair:

- a 1×1 random convolution with U = 2c hidden channels per input channel: hidden channel (c, r) has
  the single weight u[c, r] on input channel c, the same at every position;
- a k×k random convolution (stride s_i) from the hidden channels to the C_i output channels whose
  kernel entries v[o, c, r, dy, dx] are the candidates (for the head: global average pooling, then a
  dense map v[o, c, r] from the hidden channels to the classes).

This is da Cunha et al.'s design (their Theorem 1 builds each target convolution from a 1×1 and a k×k
random convolution): every kernel entry K[o, c, dy, dx] is its own one-dimensional problem whose
candidates are v[o, c, r, dy, dx]·|u[c, r]|, r = 1..U, the same at every position. Written out on the
input shape, the pair is exactly the ``pairs`` layout's (docs/theory.md §2) with one block per input
unit (c, y, x) and U units per block, unit r of block j = (c, y, x) at row j·U + r, and weights tied
across positions. So the block constructions whose choice is a function of (target entry, candidates)
alone (selection, subset sum) choose the same subset at every position: the ticket is a pruned CNN,
which :func:`slth.ticket.invariant_problems` checks (:meth:`Conv.ties`). The measurement (pair maps,
certificate, lower bound) runs on the explicit matrices, whose spectral norms are the exact operator
norms of the convolutions on the input shape.

Keying: unit r of input channel c of pair i draws (u[c, r], v[:, c, r]) from the two halves of
``split(fold_in(fold_in(fold_in(key(seed), i), c), r))``: a wider c extends a narrower one (nested
candidate prefixes), as in every layout. ``RandomSpec.geometry`` is the target's geometry as text
(:meth:`slth.nets.conv.Geometry.text`); ``dims`` are its explicit widths.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from slth.errors import InputError
from slth.nets.laws import DISTRIBUTIONS
from slth.nets.layouts.pairs import Pairs


class Conv(Pairs):
    """The ``conv`` layout (see the module docstring; members: :mod:`slth.nets.layouts`). Its shapes, blocks
    and target-neuron layers are the ``pairs`` layout's (inherited; no drop_negative, so 2c units per block)."""

    name = "conv"
    depth_formula = "2l"
    has_pairs = True
    has_copies = False
    allows_drop_negative = False
    has_geometry = True

    def geometry(self, spec):
        from slth.nets.conv import Geometry

        return Geometry.parse(spec.geometry)

    def check(self, spec) -> None:
        """The geometry is given, parses, and its explicit widths are ``spec.dims``; no drop_negative."""
        if spec.drop_negative:
            raise InputError("drop_negative applies to the 'pairs' layout only: the 'conv' layout keeps both signs "
                             "of every hidden channel")
        if not spec.geometry:
            raise InputError("a random network of layout 'conv' needs its target's geometry (RandomSpec.geometry, "
                             "e.g. '1x8x8:4,8:k3:s1,1:10')")
        g = self.geometry(spec)
        if tuple(g.dims()) != tuple(spec.dims):
            raise InputError(f"dims {','.join(map(str, spec.dims))} are not the explicit widths "
                             f"{','.join(map(str, g.dims()))} of the geometry {spec.geometry!r}")

    def generate(self, spec, root, dtype) -> tuple:
        from slth.nets import conv

        g = self.geometry(spec)
        shapes, units, layers = g.shapes(), self.units_per_block(spec, 1), []
        for i in range(1, spec.depth + 1):
            c_in = shapes[i - 1][0]
            head = i == spec.depth
            out_shape = (g.classes,) if head else (shapes[i][0], g.kernel, g.kernel)
            u, v = _draws(root, i, c_in, units, out_shape, spec.distribution, dtype)
            u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)      # (C, U), (C, U, *out)
            n_in = int(np.prod(shapes[i - 1]))
            first = np.zeros((n_in * units, n_in))
            first[np.arange(n_in * units), np.repeat(np.arange(n_in), units)] = _spread(u, n_in // c_in)
            second = np.stack([conv.head_matrix(v[:, r].T, shapes[i - 1]) if head
                               else conv.conv_matrix(np.moveaxis(v[:, r], 1, 0), shapes[i - 1], g.strides[i - 1])
                               for r in range(units)], axis=-1).reshape(-1, n_in * units)
            layers += [jnp.asarray(first, dtype), jnp.asarray(second, dtype)]
        return tuple(layers)

    def ties(self, spec) -> dict[int, np.ndarray]:
        """Random layer -> an int array of its shape: entries with the same non-negative value are copies
        of one random weight (tied across positions) and a ticket keeps all or none of them; -1 marks
        structural zeros. Only the second layer of each pair is tied this way (a first-layer unit may be
        used at one position and not at another, near the border)."""
        from slth.nets import conv

        g = self.geometry(spec)
        units, out = self.units_per_block(spec, 1), {}
        for i in range(1, spec.depth + 1):
            index = conv.kernel_index(g, i)                     # (d_out, d_in): the kernel entry of each
            size = int(index.max()) + 1
            tied = np.where(index[..., None] >= 0, index[..., None] + size * np.arange(units), -1)
            out[2 * i] = tied.reshape(index.shape[0], -1)
        return out


def _spread(u: np.ndarray, positions: int) -> np.ndarray:
    """u[c, r] for every block (c, y, x) in order: block j = c·positions + p, unit r."""
    return np.repeat(u, positions, axis=0).reshape(-1)


LAYOUT = Conv()


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _draws(root, i, c_in, units, out_shape, distribution, dtype):
    """u (C_in, U) and v (C_in, U, *out_shape) of pair i, unit (c, r) from its own key."""
    law = DISTRIBUTIONS[distribution]
    pair_key = jax.random.fold_in(root, i)

    def unit(c, r):
        k_u, k_v = jax.random.split(jax.random.fold_in(jax.random.fold_in(pair_key, c), r))
        return law(k_u, (), dtype), law(k_v, out_shape, dtype)

    cs, rs = jnp.repeat(jnp.arange(c_in), units), jnp.tile(jnp.arange(units), c_in)
    u, v = jax.vmap(unit)(cs, rs)
    return u.reshape(c_in, units), v.reshape(c_in, units, *out_shape)
