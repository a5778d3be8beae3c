"""The ``l+1`` layout: the (l+1)-deep random network of Burkholz 2022 (docs/theory.md §4.5), ρ = c copies.

- layer 1, (2c·d_0, d_0): d_0 blocks of 2c univariate units, drawn exactly as M_1 of the ``pairs``
  layout (the same keys, so the same bits);
- layer t = 2..l (l >= 2), (ρ·d_{t-1}, U_{t-1}): copy m of target neuron k of layer t−1 is row
  k·ρ + m; its columns are the units of layer t−1 (U_1 = 2c·d_0 units (j, r) of layer 1,
  U_t = ρ·d_{t-1} copies (j, m') later). Entry ((k, m), (j, r)) is drawn with
  ``fold_in(fold_in(fold_in(key(seed), t), [k, m]), [j, r])``, one key per entry, because both
  its row and its column index move when c grows; [a, b] = a·2^16 + b names a unit in one
  32-bit word (hence every d_i < 2^16 and 2c < 2^16 in this layout);
- the output layer l+1, (d_l, U_l): unit (j, r) of layer l draws its outgoing column of d_l
  weights with ``fold_in(fold_in(key(seed), l+1), [j, r])``. For l = 1 it is the second half of
  pair 1's unit keys instead, so for l = 1 the two layouts are the same network.

Every entry depends on its unit indices only, never on c: a wider network extends a narrower one bit
for bit (units (j, r) with r < 2c and copies m < c are the prefix). The layout has sign blocks in
layer 1 only, whose input x can be negative, so ``drop_negative`` has no meaning here and is refused.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from slth.errors import InputError
from slth.nets.laws import DISTRIBUTIONS
from slth.nets.layouts.pairs import pair_layers

#: Unit (a, b) is the fold_in word a·UNIT_WORD + b.
UNIT_WORD = 2 ** 16


class LPlus1:
    """The ``l+1`` layout (see the module docstring; members: :mod:`slth.nets.layouts`)."""

    name = "l+1"
    depth_formula = "l + 1"
    has_pairs = False
    has_copies = True
    allows_drop_negative = False
    has_geometry = False
    has_biases = False
    allows_skips = False

    def check(self, spec) -> None:
        """drop_negative is refused; every unit must be nameable in one 32-bit word."""
        if spec.drop_negative:
            raise InputError("drop_negative applies to the 'pairs' layout only: the 'l+1' layout has sign "
                             "blocks in layer 1 alone, whose input x can be negative")
        if max(max(spec.dims), 2 * spec.candidates) >= UNIT_WORD:
            raise InputError(f"the 'l+1' layout names a unit (neuron, copy) in one 32-bit word: it needs every "
                             f"width below {UNIT_WORD} and candidates below {UNIT_WORD // 2}; got dims "
                             f"{spec.dims} and candidates {spec.candidates}")

    def random_depth(self, spec) -> int:
        return spec.depth + 1

    def units_per_block(self, spec, i: int) -> int:
        raise InputError(f"the {spec.layout!r} layout has no layer pairs (blocks of 2c units in layer 1 "
                         "only): a construction of the 'pairs' layout cannot prune it")

    def copies(self, spec, i: int) -> int:
        """ρ_i: c for i < l, 1 for the output layer i = l."""
        return 1 if i == spec.depth else spec.candidates

    def hidden_widths(self, spec) -> tuple[int, ...]:
        """2c·d_0, ρ·d_1, ..., ρ·d_{l-1}."""
        return (2 * spec.candidates * spec.dims[0],) + tuple(spec.candidates * d for d in spec.dims[1:-1])

    def widths(self, spec) -> tuple[int, ...]:
        """d_0, the hidden widths, d_l."""
        return (spec.dims[0],) + self.hidden_widths(spec) + (spec.dims[-1],)

    def block_layers(self, spec) -> tuple[int, ...]:
        """Layer 1 alone."""
        return (1,)

    def blocks(self, spec, i: int) -> int:
        """Blocks of layer 1 (i = 1): one per input."""
        return spec.dims[0]

    def block_units(self, spec, i: int) -> int:
        if i != 1:
            raise InputError(f"the 'l+1' layout has blocks in layer 1 only, not in layer {2 * i - 1}")
        return 2 * spec.candidates

    def generate(self, spec, root, dtype) -> tuple:
        d, c, l, law = spec.dims, spec.candidates, spec.depth, spec.distribution
        # Layer 1 is M_1 of the pairs layout (the same call, so the same compilation): for l >= 2 the
        # columns drawn with it are not used.
        first, second = pair_layers(root, 1, d[0], d[1], 2 * c, law, dtype, False)
        if l == 1:
            return first, second
        layers = [first]
        neurons, units = d[0], 2 * c          # the previous layer: `neurons` groups of `units` units
        for t in range(2, l + 1):
            layers.append(_copy_layer(root, t, d[t - 1], c, neurons, units, law, dtype))
            neurons, units = d[t - 1], c
        layers.append(_output_layer(root, l + 1, d[l], neurons, units, law, dtype))
        return tuple(layers)

    def ties(self, spec) -> dict:
        """No tied weights."""
        return {}

    def skip_edges(self, spec) -> tuple:
        raise InputError("skips apply to layouts of layer pairs; the 'l+1' layout has none")

    def target_neuron_layers(self, spec) -> set[int]:
        """Every unit layer after random layer 1: 2, ..., l."""
        return set(range(2, spec.depth + 1))


LAYOUT = LPlus1()


def _unit_words(groups: int, size: int):
    """fold_in words [a, b] of the units (a, b), a < groups, b < size, in the layout's order."""
    return (jnp.repeat(jnp.arange(groups, dtype=jnp.uint32), size) * UNIT_WORD
            + jnp.tile(jnp.arange(size, dtype=jnp.uint32), groups))


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6, 7))
def _copy_layer(root, t, d_out, copies, neurons, units, distribution, dtype):
    law = DISTRIBUTIONS[distribution]
    layer_key = jax.random.fold_in(root, t)
    cols = _unit_words(neurons, units)

    def row(word):
        row_key = jax.random.fold_in(layer_key, word)
        return jax.vmap(lambda col: law(jax.random.fold_in(row_key, col), (), dtype))(cols)

    return jax.vmap(row)(_unit_words(d_out, copies))


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def _output_layer(root, t, d_out, neurons, units, distribution, dtype):
    law = DISTRIBUTIONS[distribution]
    layer_key = jax.random.fold_in(root, t)
    column = lambda word: law(jax.random.fold_in(layer_key, word), (d_out,), dtype)
    return jax.vmap(column)(_unit_words(neurons, units)).T
