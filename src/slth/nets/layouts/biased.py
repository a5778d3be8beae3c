"""The ``biased`` layout: the 2l-deep random network with random biases that realises a target with biases.

A target with biases holds layer i as [W_i | b_i], a weight on a constant input 1 (:mod:`slth.nets.affine`),
and so does this network: every random layer has a last column of random biases, and every layer
reads its input with a 1 appended. Pair i is the ``pairs`` layout's pair for d_{i-1} + 1 inputs, the
last of them the constant (Fischer & Burkholz 2022, a bias as a weight pruned like the others):

- M_{2i-1}, (h_i, d_{i-1} + 1), h_i = (d_{i-1} + 1)·2c: d_{i-1} + 1 blocks of 2c units; unit r of block
  j is row j·2c + r and draws its row (d_{i-1} weights and its bias, the last entry) and its outgoing
  column with ``split(fold_in(fold_in(fold_in(key(seed), i), j), r))``, as in ``pairs``. The units
  of block j < d_{i-1} are candidates for the weights of input j (their bias is pruned); those of the
  last block, the bias block, keep their bias alone and compute σ(bias): candidates for b_i.
- M_{2i}, (d_i, h_i + 1): the outgoing columns, then the pair's output biases, drawn with
  ``fold_in(fold_in(key(seed), i), 2**31)``.

A unit of the bias block with a negative bias computes σ(bias) = 0: only the positive half serves
(σ(1) = 1, σ(−1) = 0), so b_i is a subset sum of about c products, like a weight of a pair i >= 2.
Every entry depends on its unit indices only, never on c: a wider network extends a narrower one bit
for bit. ``drop_negative`` is refused (the bias block needs no other rule). Skips (a residual target with
biases, :mod:`slth.nets.residual`) are the ``pairs`` layout's, (2i − 2, 2i + 2): an identity between unit
layers that hold the units standing for z_{i-1} and y_{i+1}; the constant input is no unit and no skip carries it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from slth.errors import InputError
from slth.nets.laws import DISTRIBUTIONS
from slth.nets.layouts.pairs import Pairs, pair_layers

#: fold_in word of a pair's output biases (no unit index reaches it: d_{i-1} + 1 < 2**31).
OUTPUT_BIASES = 2 ** 31


class Biased(Pairs):
    """The ``biased`` layout (see the module docstring; members: :mod:`slth.nets.layouts`)."""

    name = "biased"
    allows_drop_negative = False
    has_biases = True
    allows_skips = True

    def check(self, spec) -> None:
        """drop_negative is refused."""
        if spec.drop_negative:
            raise InputError("drop_negative applies to the 'pairs' layout only: the 'biased' layout's bias "
                             "blocks read the constant 1 and keep both signs of their other blocks")

    def units_per_block(self, spec, i: int) -> int:
        return 2 * spec.candidates

    def blocks(self, spec, i: int) -> int:
        """Blocks of pair i: one per input of target layer i and one for its biases."""
        return spec.dims[i - 1] + 1

    def hidden_widths(self, spec) -> tuple[int, ...]:
        """h_1..h_l, h_i = (d_{i-1} + 1)·2c."""
        return tuple(self.blocks(spec, i) * self.units_per_block(spec, i) for i in range(1, spec.depth + 1))

    def generate(self, spec, root, dtype) -> tuple:
        layers = []
        for i in range(1, spec.depth + 1):
            d_in, d_out, u = spec.dims[i - 1], spec.dims[i], self.units_per_block(spec, i)
            first, second = pair_layers(root, i, d_in + 1, d_out, u, spec.distribution, dtype, False)
            biases = _output_biases(root, i, d_out, spec.distribution, dtype)
            layers += [first, jnp.concatenate([second, biases[:, None]], axis=1)]
        return tuple(layers)


def _output_biases(root, i, d_out, distribution, dtype):
    return DISTRIBUTIONS[distribution](jax.random.fold_in(jax.random.fold_in(root, i), OUTPUT_BIASES), (d_out,), dtype)


LAYOUT = Biased()
