"""The table of random-network layouts: how a random network is laid out to realise a target.

A layout is one module here holding one object, registered in :data:`LAYOUTS` under its name (the
name is the file format: ``RandomSpec.layout``, a ticket's meta ``layout``). Code elsewhere asks the
object, ``layouts.layout(spec).random_depth(spec)`` or ``layouts.layout(spec).has_pairs``, and never
compares a layout's name. A new kind of network (a convolutional target, a target with biases) is one
new module whose object provides the members below, and one entry in :data:`LAYOUTS`.

The Layout protocol (``spec`` a :class:`~slth.nets.RandomSpec` of the layout, i 1-based):

Attributes
  ``name``                  str, its key in :data:`LAYOUTS`.
  ``depth_formula``         str, the random depth in words ("2l"); ``ticket.invariant_problems``' message.
  ``has_pairs``             bool: l layer pairs, pair i realising target layer i through blocks in its
                            first layer (docs/theory.md §2), so ``units_per_block`` answers and the pruned network
                            collapses into pair maps. Asked by ``measure.deep`` (pair maps, §3 certificate,
                            the ascent on compact maps), ``budget``, ``constructions.edge_popup`` and the
                            theorem suite; the pair constructions ask ``units_per_block``, which refuses.
  ``has_copies``            bool: the layers after layer 1 hold copies of the target's neurons (Burkholz
                            2022), so ``copies`` answers; ``measure.deep`` measures it with copy maps. Asked
                            by ``measure.deep``, ``constructions.depth_l_plus_1`` and the theorem suite.
                            A layout with neither flag needs its certificate in ``measure.deep`` first.
  ``allows_drop_negative``  bool: ``RandomSpec.drop_negative`` applies (``check`` refuses it otherwise;
                            ``theorems._pool`` clears it).
  ``has_geometry``          bool: the target is a network whose explicit layers come from a geometry
                            (``RandomSpec.geometry``, a CNN's: :mod:`slth.nets.conv`); a spec of another
                            layout refuses a geometry.
  ``has_biases``            bool: every random layer has a last column of biases, read against a constant
                            input 1, and the target's layers are [W_i | b_i] (:mod:`slth.nets.affine`);
                            ``shapes`` are then (out, in + 1). Asked by ``RandomSpec.shapes``, the
                            constructions' blocks, ``measure`` (forward passes, certificate, the ball) and
                            ``ticket_file`` (the target's shapes).
  ``allows_skips``          bool: ``RandomSpec.skips`` applies (a residual target, :mod:`slth.nets.residual`):
                            the random network carries the target's identity skips (``skip_edges``);
                            ``RandomSpec`` refuses skips otherwise.

Methods (``RandomSpec``'s methods of the same names delegate to them)
  ``check(spec) -> None``               raise InputError for settings the layout refuses (``RandomSpec.__post_init__``).
  ``random_depth(spec) -> int``         L, the number of random layers.
  ``hidden_widths(spec) -> tuple``      the l hidden widths the width bounds count (``slth check`` reads [0]).
  ``widths(spec) -> tuple``             every width of the random network, d_0 first, d_l last (``shapes``
                                        and ``random_params`` follow from it).
  ``units_per_block(spec, i) -> int``   units per block of pair i; InputError unless ``has_pairs``.
  ``copies(spec, i) -> int``            ρ_i, copies of each neuron of target layer i; InputError unless ``has_copies``.
  ``block_layers(spec) -> tuple``       the i whose random layer 2i − 1 has docs/theory.md §2's blocks (unit r of block j
                                        is row j·U + r and keeps column j only): ``nets.block_layers``, the
                                        ticket invariant's block check, ``budget``.
  ``block_units(spec, i) -> int``       U of block layer i (InputError for another i): ``nets.block_inputs``, ``budget``.
  ``blocks(spec, i) -> int``            the blocks of block layer i: d_{i-1}, one more (the biases) with ``has_biases``.
  ``generate(spec, root, dtype)``       the tuple M_1..M_L, (out, in) each, from ``root = jax.random.key(spec.seed)``
                                        in ``dtype`` (``nets.random_network``, which checks x64 first): bit for bit
                                        the same per spec, and a wider c extends a narrower one.
  ``ties(spec) -> dict``               random layer -> int array of its shape: entries with one value >= 0 are
                                        copies of one random weight (a CNN's kernel entry at every position),
                                        kept all or none (``ticket.invariant_problems``); {} without ties.
  ``skip_edges(spec) -> tuple``         the random network's skip edges (a, b) of unit layers for ``nets.forward``,
                                        the image of ``spec.skips`` (``allows_skips`` only).
  ``target_neuron_layers(spec) -> set`` unit layers (0 = input, L = output) standing for the target's hidden
                                        neurons (``liveness``, scope ``"layer"``).

A layout with ``has_geometry`` (``conv``) also has a kernel form, in which a weight tied across positions
is one parameter and one file entry (``nets/layouts/conv.py`` documents each):
  ``geometry(spec)``                    its target's :class:`~slth.nets.conv.Geometry`.
  ``params(spec) -> int``               ``RandomSpec.random_params``: each tied group counted once.
  ``kept(spec, masks) -> int``          ``ticket.kept_count``: kept tied groups (kept at one copy or more).
  ``kinds(spec) -> dict``               the meta ``kinds`` of its kernel-form files (``ticket_file``).
  ``kernel_shapes(spec) -> dict``       member name -> shape in a kernel-form file.
  ``kernels(spec, root, dtype)``        the random network in kernel form (``generate`` expands it).
  ``expand(spec, arrays) -> dict``      a kernel-form file's members as explicit arrays (``ticket_file.read``).
  ``compact(spec, target, random, masks, kernels)``  a ticket's kernel-form members, or None where they
                                        would not expand back to it bit for bit (``ticket.save``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from slth import checks
from slth.nets.layouts import biased, conv, conv_biased, l_plus_1, pairs


@runtime_checkable
class Layout(Protocol):
    """What a random-network layout provides (the module docstring says who calls each member)."""

    name: str
    depth_formula: str
    has_pairs: bool
    has_copies: bool
    allows_drop_negative: bool
    has_geometry: bool
    has_biases: bool
    allows_skips: bool

    def check(self, spec) -> None: ...
    def random_depth(self, spec) -> int: ...
    def hidden_widths(self, spec) -> tuple[int, ...]: ...
    def widths(self, spec) -> tuple[int, ...]: ...
    def units_per_block(self, spec, i: int) -> int: ...
    def copies(self, spec, i: int) -> int: ...
    def block_layers(self, spec) -> tuple[int, ...]: ...
    def block_units(self, spec, i: int) -> int: ...
    def blocks(self, spec, i: int) -> int: ...
    def generate(self, spec, root, dtype) -> tuple: ...
    def ties(self, spec) -> dict: ...
    def skip_edges(self, spec) -> tuple: ...
    def target_neuron_layers(self, spec) -> set[int]: ...


#: Every layout by name (the order messages list them in).
LAYOUTS: dict[str, Layout] = {m.LAYOUT.name: m.LAYOUT for m in (pairs, l_plus_1, conv, biased, conv_biased)}
#: The layout of a spec that names none; a spec of it writes no ``layout`` key (files and fingerprints
#: of it are those written before layouts existed).
DEFAULT: Layout = pairs.LAYOUT


def layout(spec_or_name) -> Layout:
    """The layout of a spec (anything with a ``layout`` name) or of a name; one InputError for an
    unknown name."""
    name = spec_or_name if isinstance(spec_or_name, str) else getattr(spec_or_name, "layout", spec_or_name)
    found = LAYOUTS.get(name) if isinstance(name, str) else None
    return found if found is not None else LAYOUTS[checks.choice("layout", name, LAYOUTS)]


def is_default(spec_or_name) -> bool:
    """Whether a spec (or name) has the default layout, :data:`DEFAULT`."""
    return layout(spec_or_name) is DEFAULT


__all__ = ["DEFAULT", "LAYOUTS", "Layout", "is_default", "layout"]
