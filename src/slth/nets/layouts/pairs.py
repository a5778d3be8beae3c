"""The ``pairs`` layout: the 2l-deep random network of docs/theory.md §1-2 (Malach et al. 2020, Pensia et al. 2020).

Layer pair i (1-based) realises target layer i: M_{2i-1} has shape (h_i, d_{i-1}) and M_{2i} has shape
(d_i, h_i). Its hidden units come in d_{i-1} blocks of ``units_per_block(i)`` units; block j's units are
the candidates for input j (docs/theory.md §2), unit r of block j is row j·U + r. Every hidden unit r of block j
of pair i draws its incoming row and its outgoing column from the two halves of
``split(fold_in(fold_in(fold_in(key(seed), i), j), r))``, so a wider network (larger ``candidates``)
extends a narrower one: nested candidate prefixes from one stream per block.

``drop_negative``: for pairs i >= 2 the negative candidates are useless (their input is a ReLU output);
with the flag those blocks hold c units whose first-layer weights are drawn as |D|, halving the inner
widths.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from slth.errors import InputError
from slth.nets import _numba_draws, residual
from slth.nets.laws import DISTRIBUTIONS
from slth.quick_jit import quick_jit


class Pairs:
    """The ``pairs`` layout (see the module docstring; members: :mod:`slth.nets.layouts`)."""

    name = "pairs"
    depth_formula = "2l"
    has_pairs = True
    has_copies = False
    allows_drop_negative = True
    has_geometry = False
    has_biases = False
    allows_skips = True

    def check(self, spec) -> None:
        """Nothing beyond RandomSpec's own checks."""

    def random_depth(self, spec) -> int:
        return 2 * spec.depth

    def units_per_block(self, spec, i: int) -> int:
        return spec.candidates if (spec.drop_negative and i >= 2) else 2 * spec.candidates

    def copies(self, spec, i: int) -> int:
        raise InputError(f"copies is defined for the 'l+1' layout; this spec has layout {spec.layout!r}")

    def blocks(self, spec, i: int) -> int:
        """Blocks of pair i: one per input of target layer i."""
        return spec.dims[i - 1]

    def hidden_widths(self, spec) -> tuple[int, ...]:
        """h_1..h_l, h_i = d_{i-1}·units_per_block(i)."""
        return tuple(spec.dims[i - 1] * self.units_per_block(spec, i) for i in range(1, spec.depth + 1))

    def widths(self, spec) -> tuple[int, ...]:
        """d_0, h_1, d_1, h_2, ..., h_l, d_l."""
        out = [spec.dims[0]]
        for i, h in enumerate(self.hidden_widths(spec), start=1):
            out += [h, spec.dims[i]]
        return tuple(out)

    def block_layers(self, spec) -> tuple[int, ...]:
        """Every pair."""
        return tuple(range(1, spec.depth + 1))

    def block_units(self, spec, i: int) -> int:
        return self.units_per_block(spec, i)

    def generate(self, spec, root, dtype) -> tuple:
        layers = []
        for i in range(1, spec.depth + 1):
            d_in, d_out, u = spec.dims[i - 1], spec.dims[i], self.units_per_block(spec, i)
            positive = spec.drop_negative and i >= 2
            first, second = pair_layers(root, i, d_in, d_out, u, spec.distribution, dtype, positive)
            layers += [first, second]
        return tuple(layers)

    def ties(self, spec) -> dict:
        """No tied weights."""
        return {}

    def skip_edges(self, spec) -> tuple:
        """Unit layer 2i stands for the target's z_i, so skip i is the edge (2i − 2, 2i + 2)."""
        return residual.pair_edges(spec.skips)

    def target_neuron_layers(self, spec) -> set[int]:
        """The outputs of pairs 1..l−1: unit layers 2, 4, ..., 2(l−1)."""
        return {2 * i for i in range(1, spec.depth)}


LAYOUT = Pairs()


#: Draws of at most this many entries (padded rows × (padded d_in + padded d_out)) are computed at shapes
#: rounded up to powers of two and cut to size, so that networks of nearby widths share one compiled
#: program (compiling the draw, five threefry hashes per unit, takes about 0.6 s on a 2-core machine: much of a
#: small job's time, and about a quarter of the test suite's compiling before this). Larger draws are
#: computed at their own shapes (no memory spent on padding, one compile per network anyway).
BUCKET_ENTRIES = 2 ** 22

#: Floors of the bucketed shapes: rows and columns of at least MIN_LENGTH entries, and at least MIN_UNITS units
#: where the padded draw stays within FLOOR_ENTRIES entries (:func:`_units`). Every draw of a small network
#: (at most 256 units, inputs and outputs at most 16) is then one program per law, dtype and sign rule,
#: whatever its widths. Compiling a new shape costs 0.2-0.6 s (the test suite compiled 371 draw programs
#: before the floors); a padded entry costs a few nanoseconds, and floors of 1,024 units and 32 entries
#: (2^16 entries) made every small draw about 1 ms slower (1.5 against 0.55 ms), a cost every sweep of many
#: small networks would pay: these floors add about 0.1 ms.
MIN_UNITS, MIN_LENGTH, FLOOR_ENTRIES = 256, 16, 2 ** 13


def _bucket(n: int, floor: int = 1) -> int:
    """The smallest power of two >= n and >= floor."""
    return max(floor, 1 << max(0, (n - 1).bit_length()))


def _units(n: int, entries_per_unit: int) -> int:
    """Bucketed count of ``n`` units that draw ``entries_per_unit`` entries each: the power of two >= n,
    raised to the largest power of two <= MIN_UNITS whose padded draw keeps within FLOOR_ENTRIES entries
    (no raise where one unit's draw alone exceeds them)."""
    room = max(1, FLOOR_ENTRIES // max(1, entries_per_unit))
    return _bucket(n, min(MIN_UNITS, 1 << (room.bit_length() - 1)))


def pair_layers(root, i, d_in, d_out, units, distribution, dtype, positive):
    """M_{2i-1}, M_{2i} of pair i: d_in blocks of ``units`` units (the ``l+1`` layout's layer 1 too).

    Drawn by numba's kernel where :func:`slth.nets._numba_draws.available` says so (a large pair of the
    uniform law on the CPU: no XLA compiling), else by :func:`xla_pair_layers`; the same bits either way."""
    if _numba_draws.available(root, distribution, dtype, d_in * units * (d_in + d_out)):
        return _numba_draws.pair_layers(root, i, d_in, d_out, units, dtype, positive)
    return xla_pair_layers(root, i, d_in, d_out, units, distribution, dtype, positive)


def xla_pair_layers(root, i, d_in, d_out, units, distribution, dtype, positive):
    """:func:`pair_layers` drawn by XLA, for every law on every device.

    Unit r of block j draws its row and column from its own key, and a draw of shape (m,) is the first
    m entries of any longer draw from the same key (JAX's partitionable threefry, on since JAX 0.5;
    ``tests/test_layouts.py`` pins the bits), so computing extra units and longer rows at a bucketed
    shape and cutting them off gives the same bits as the exact shape."""
    n = d_in * units
    length_in, length_out = _bucket(d_in, MIN_LENGTH), _bucket(d_out, MIN_LENGTH)
    shape = (_units(n, length_in + length_out), length_in, length_out)
    if shape[0] * (shape[1] + shape[2]) > BUCKET_ENTRIES:
        shape = (n, d_in, d_out)
    js, rs = np.zeros(shape[0], np.int32), np.zeros(shape[0], np.int32)   # padding units: copies of unit (0, 0)
    js[:n], rs[:n] = np.repeat(np.arange(d_in), units), np.tile(np.arange(units), d_in)
    rows, cols = _unit_draws(root, i, js, rs, shape[1], shape[2], distribution, dtype, positive)
    return _cut(rows, cols, n, d_in, d_out)


@quick_jit(static_argnums=(4, 5, 6, 7, 8))
def _unit_draws(root, i, js, rs, d_in, d_out, distribution, dtype, positive):
    """Rows (len(js), d_in) and columns (len(js), d_out) of the units (js[k], rs[k]) of pair i."""
    law = DISTRIBUTIONS[distribution]
    pair_key = jax.random.fold_in(root, i)

    def unit(j, r):
        k_in, k_out = jax.random.split(jax.random.fold_in(jax.random.fold_in(pair_key, j), r))
        row = law(k_in, (d_in,), dtype)
        return (jnp.abs(row) if positive else row), law(k_out, (d_out,), dtype)

    return jax.vmap(unit)(js, rs)


@quick_jit(static_argnums=(2, 3, 4))
def _cut(rows, cols, n, d_in, d_out):
    return rows[:n, :d_in], cols[:n, :d_out].T
