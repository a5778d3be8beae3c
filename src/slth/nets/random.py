"""Random networks: the spec that regenerates one bit for bit, and the generation itself."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from slth import checks, precision
from slth.errors import InputError
from slth.nets import layouts, residual
from slth.nets.laws import check_distribution
from slth.nets.targets import parse_dims

#: Float dtypes of a random network.
DTYPES = ("float64", "float32")


@dataclasses.dataclass(frozen=True)
class RandomSpec:
    """Everything needed to regenerate a random network bit for bit.

    The layout says how the random network realises the target and how each entry is keyed: ``pairs``,
    the 2l-deep layout of docs/theory.md §1-2 (:mod:`slth.nets.layouts.pairs`), or ``l+1``, the (l+1)-deep
    layout of Burkholz 2022 (:mod:`slth.nets.layouts.l_plus_1`). In every layout each entry depends on
    its unit indices only, never on c: a wider network extends a narrower one bit for bit (nested
    candidate prefixes). The shape methods below answer through the layout
    (:func:`slth.nets.layouts.layout`).

    Attributes:
      dims: target widths d_0..d_l.
      candidates: c, candidates per block and sign (each block has 2c units, about c per sign); in the
        ``l+1`` layout also ρ, the copies of each hidden target neuron.
      seed: integer seed of the random network.
      distribution: entry law, a key of :data:`~slth.nets.DISTRIBUTIONS`.
      drop_negative: ``pairs`` only: for pairs i >= 2 the negative candidates are useless (their
        input is a ReLU output); with this flag those blocks hold c units whose first-layer weights
        are drawn as |D|, halving the inner widths. Off by default so the papers' widths are
        reproduced. A layout without it (``l+1``: sign blocks in layer 1 only) refuses it.
      dtype: "float64" or "float32".
      layout: a key of :data:`~slth.nets.LAYOUTS`; ``pairs`` (:data:`slth.nets.layouts.DEFAULT`) by
        default, which :meth:`to_json` leaves out, so fingerprints and files of the ``pairs`` layout are
        those of specs without the field.
      geometry: ``conv`` layout only: the CNN target's geometry as text
        (:meth:`slth.nets.conv.Geometry.text`, e.g. ``"1x8x8:4,8:k3:s1,1:10"``); ``dims`` are then its
        explicit widths. Empty (and left out of :meth:`to_json`) for every other layout.
      skips: the target's skip connections (:mod:`slth.nets.residual`): target layers i whose input is added
        to the output of layer i + 1, a residual block z ↦ z + F(z); the random network carries the same
        identities (:meth:`skip_edges`). Only in a layout with ``allows_skips``; empty (and left out of
        :meth:`to_json`) for a plain chain.
    """

    dims: tuple[int, ...]
    candidates: int
    seed: int
    distribution: str = "uniform"
    drop_negative: bool = False
    dtype: str = "float64"
    layout: str = layouts.DEFAULT.name
    geometry: str = ""
    skips: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "dims", parse_dims(self.dims))
        candidates = checks.count("candidates", self.candidates)
        seed = checks.seed("seed", self.seed)
        check_distribution(self.distribution)
        checks.choice("dtype", self.dtype, DTYPES)
        layout = layouts.layout(self.layout)
        if not isinstance(self.geometry, str):
            raise InputError(f"geometry {self.geometry!r} must be a string such as '1x8x8:4,8:k3:s1,1:10'")
        if self.geometry and not layout.has_geometry:
            raise InputError(f"geometry {self.geometry!r} applies to the layouts with a geometry "
                             f"({[n for n, v in layouts.LAYOUTS.items() if v.has_geometry]}); this spec has layout "
                             f"{self.layout!r}")
        skips = residual.check(self.skips, self.dims)
        if skips and not layout.allows_skips:
            raise InputError(f"skips {list(skips)} apply to the layouts "
                             f"{[n for n, v in layouts.LAYOUTS.items() if v.allows_skips]}; this spec has layout "
                             f"{self.layout!r}")
        object.__setattr__(self, "candidates", candidates)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "skips", skips)
        layout.check(self)

    @property
    def depth(self) -> int:
        """Target depth l."""
        return len(self.dims) - 1

    @property
    def random_depth(self) -> int:
        """Depth L of the random network: 2l (``pairs``) or l + 1 (``l+1``)."""
        return layouts.layout(self).random_depth(self)

    def copies(self, i: int) -> int:
        """``l+1`` layout: ρ_i, the copies of each neuron of target layer i (1-based): c for i < l, 1
        for the output layer i = l. A layout without copies refuses."""
        return layouts.layout(self).copies(self, i)

    def units_per_block(self, i: int) -> int:
        """Hidden units per block of pair i (1-based), ``pairs`` layout. A layout without layer pairs
        (``l+1``: blocks of 2c units in layer 1 only, :func:`block_inputs`) refuses, so a construction
        of the ``pairs`` layout that asks is refused here."""
        return layouts.layout(self).units_per_block(self, i)

    def hidden_widths(self) -> tuple[int, ...]:
        """The l hidden widths: h_1..h_l (``pairs``), or 2c·d_0, ρ·d_1, ..., ρ·d_{l-1} (``l+1``)."""
        return layouts.layout(self).hidden_widths(self)

    def widths(self) -> tuple[int, ...]:
        """Widths of the random network: d_0, h_1, d_1, h_2, ..., h_l, d_l (``pairs``), or d_0, then the
        hidden widths, then d_l (``l+1``)."""
        return layouts.layout(self).widths(self)

    def skip_edges(self) -> tuple[tuple[int, int], ...]:
        """The random network's skip edges for :func:`slth.nets.forward` (the layout's image of ``skips``)."""
        return layouts.layout(self).skip_edges(self) if self.skips else ()

    def shapes(self) -> tuple[tuple[int, int], ...]:
        """(out, in) of each random layer; (out, in + 1) in a layout with biases (their last column)."""
        w, bias = self.widths(), int(layouts.layout(self).has_biases)
        return tuple((w[k + 1], w[k] + bias) for k in range(len(w) - 1))

    def random_params(self) -> int:
        """Parameters of the random network: the entries of its L matrices, except for a layout with a
        geometry (``conv``), where a weight tied across positions (a kernel entry, a hidden channel's 1×1
        weight) is one parameter however many explicit copies it has (``Conv.params``). This is what a
        ticket file's ``random_params`` records (files written before kernel-form counts: the entries)."""
        lay = layouts.layout(self)
        return lay.params(self) if lay.has_geometry else self.entries()

    def entries(self) -> int:
        """Entries of the L explicit random matrices (what memory and an explicit ticket file hold):
        :meth:`random_params` for every layout without a geometry, more for ``conv``."""
        return sum(a * b for a, b in self.shapes())

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["dims"] = list(self.dims)
        if layouts.is_default(self):
            del d["layout"]
        if not self.geometry:
            del d["geometry"]
        if self.skips:
            d["skips"] = list(self.skips)
        else:
            del d["skips"]
        return d


@precision.float64
def random_network(spec: RandomSpec) -> tuple:
    """Generate the random matrices M_1..M_L of ``spec`` (i.i.d. entries; see the layout's module for
    how each entry is keyed), in ``spec.dtype``.

    Precision: drawn with JAX's 64-bit mode on whatever the caller's (:mod:`slth.precision`): a
    float32 network's bits depend on the mode for some laws (binary, hyperbolic), and the one slth
    regenerates is the one drawn with it on. Outside x64 a float64 network comes back as NumPy arrays."""
    dtype = jnp.dtype(spec.dtype)
    root = jax.random.key(spec.seed)
    return layouts.layout(spec).generate(spec, root, dtype)


def block_inputs(spec: RandomSpec, i: int) -> np.ndarray:
    """For block layer i (1-based; random layer 2i − 1), the input index j served by each hidden unit
    (its block): every pair in the ``pairs`` layout, i = 1 only in the ``l+1`` layout (layer 1's 2c
    univariate units per input)."""
    layout = layouts.layout(spec)
    return np.repeat(np.arange(layout.blocks(spec, i)), layout.block_units(spec, i))


def block_layers(spec: RandomSpec) -> tuple[int, ...]:
    """The pairs i (1-based) whose first layer (random layer 2i−1) has the block structure: every
    pair in the ``pairs`` layout, layer 1 alone in the ``l+1`` layout."""
    return layouts.layout(spec).block_layers(spec)


def spec_from_json(d: dict) -> RandomSpec:
    fields = {f.name for f in dataclasses.fields(RandomSpec)}
    unknown = set(d) - fields
    if unknown:
        raise InputError(f"random network spec has unknown keys {sorted(unknown)}; allowed: {sorted(fields)}")
    missing = {"dims", "candidates", "seed"} - set(d)
    if missing:
        raise InputError(f"random network spec lacks {sorted(missing)}")
    return RandomSpec(**{**d, "dims": tuple(d["dims"])})
