"""Registered constructions: each maps a target and a random-network spec to a Ticket.

The CLI, sweeps, the theorem suite and the figures read :data:`REGISTRY`; adding a construction is
one :class:`Construction` entry here. A construction's ``build(target, spec, *, active=None)``
returns a Ticket; ``active`` restricts it to a nested prefix of the candidates (see
:func:`slth.constructions._blocks.build_blocks`), which is how the width search shares compiled shapes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from slth import nets, precision
from slth.bounds import theory as bounds
from slth.constructions import selection, subset_sum
from slth.constructions import depth_l_plus_1
from slth.constructions import fixed_size, hyperbolic
from slth.constructions import binary
from slth.constructions import edge_popup
from slth.constructions._blocks import too_many
from slth.errors import InputError
from slth.ticket import Ticket

#: Properties a construction may promise, by the name the theorem suite uses: docs/theory.md §5's, and
#: ``no-dead-weight`` (docs/theory.md §2.3): no kept weight is dead within its target layer's realisation
#: (:func:`slth.liveness.dead_weights` with ``scope="layer"``), so the kept-parameter counts hold no
#: weight the construction could have pruned.
PROPERTIES = frozenset({"invariant", "identity", "sandwich", "exactness", "monotonicity", "counting",
                        "no-dead-weight"})


@dataclasses.dataclass(frozen=True)
class Construction:
    """A registered construction.

    Attributes:
      name: the name the CLI, specs and result rows use.
      build: ``build(target, spec, *, active=None) -> Ticket``.
      cite: the paper and theorem it implements.
      max_candidates: largest c it accepts (None: only memory limits it).
      distribution: the random weight law its theorem assumes; a spec of another law is rewritten to
        it by :func:`spec_for` (None: any law).
      properties: the properties that hold for it (a subset of :data:`PROPERTIES`); the theorem
        suite checks exactly these.
      layout: the random network's layout it prunes, a key of :data:`slth.nets.LAYOUTS` (``pairs``, the
        2l-deep network of docs/theory.md §1, or ``l+1``, Burkholz's); with ``distribution``, the one answer to
        "which network does it prune": :func:`spec_for` sets both, :func:`build` checks the law.
      other_layouts: layouts besides ``layout`` that it prunes unchanged: ``conv`` (a CNN target, whose
        explicit pairs tie every kernel entry across positions) for the constructions whose choice is a
        function of (target entry, candidates) alone, so that the ties hold (selection, subset sum);
        ``biased`` (a target with biases, each bias a weight of the constant input's block) for the same
        two, whose choice of a bias is that of a weight; ``conv-biased`` (a CNN target with biases) for the
        same two, for both reasons.
      uses_engine: whether it calls the exact subset-sum engine (:func:`slth.subset_sum.solve`), whose
        tables the memory model counts.
      computed_spec: ``computed_spec(spec) -> RandomSpec``, the network it computes with where that is
        wider than the one it prunes (edge-popup pads its blocks), or None.
      limit_reason: why ``max_candidates`` is the limit (the message of every refusal of a larger c).
      bound: the name of its companion bound in :data:`slth.bounds.BOUNDS` (the paper's width its
        measurements are read against: its hidden constant fitted in sweeps and figures), or None.
      search_limit: the largest c a width search tries when none is given (``slth check``,
        :func:`slth.measure.min_width`): enough for ε = 0.01 on the small targets of the README,
        capped by ``max_candidates``.
    """

    name: str
    build: Callable[..., Ticket]
    cite: str
    max_candidates: int | None = None
    distribution: str | None = None
    properties: frozenset = PROPERTIES
    search_limit: int = 64
    layout: str = nets.layouts.DEFAULT.name
    other_layouts: tuple[str, ...] = ()
    bound: str | None = None
    limit_reason: str = "its exact solver's memory budget"
    uses_engine: bool = False
    computed_spec: Callable | None = None

    def __post_init__(self):
        unknown = set(self.properties) - PROPERTIES
        if unknown:
            raise ValueError(f"construction {self.name!r} lists unknown properties {sorted(unknown)}")
        if self.bound is not None and self.bound not in bounds.BY_NAME:
            raise ValueError(f"construction {self.name!r} names unknown bound {self.bound!r}")


#: The CNN layout (:mod:`slth.nets.layouts.conv`), the layout with biases (:mod:`slth.nets.layouts.biased`) and
#: the CNN layout with biases (:mod:`slth.nets.layouts.conv_biased`), which the constructions that choose per
#: target entry (selection, subset sum) also prune.
CONV = nets.layouts.conv.LAYOUT.name
BIASED = nets.layouts.biased.LAYOUT.name
CONV_BIASED = nets.layouts.conv_biased.LAYOUT.name

REGISTRY: dict[str, Construction] = {c.name: c for c in (
    Construction(selection.NAME, selection.build, "Malach et al. 2020, Thm 2.1", search_limit=16384, bound="malach",
                 other_layouts=(CONV, BIASED, CONV_BIASED)),
    Construction(subset_sum.NAME, subset_sum.build, "Pensia et al. 2020, Thm 1",
                 max_candidates=subset_sum.MAX_CANDIDATES, search_limit=subset_sum.SEARCH_LIMIT, bound="pensia",
                 limit_reason=subset_sum.LIMIT_REASON, uses_engine=True, other_layouts=(CONV, BIASED, CONV_BIASED)),
    Construction(hyperbolic.NAME, hyperbolic.build,
                 "Orseau, Hutter, Rivasplata 2020, §3 (greedy binary decomposition, hyperbolic weights)",
                 distribution=hyperbolic.DISTRIBUTION, search_limit=1024,
                 properties=frozenset({"invariant", "identity", "sandwich", "counting", "no-dead-weight"})),
    Construction(fixed_size.NAME, fixed_size.build,
                 "Natale et al. 2024, Thm 3 (random fixed-size subset sum, k = 3 per subset)",
                 max_candidates=fixed_size.MAX_CANDIDATES, limit_reason=fixed_size.limit_reason(),
                 properties=frozenset({"invariant", "identity", "sandwich", "exactness", "monotonicity",
                                       "counting", "no-dead-weight"})),
    Construction(binary.NAME, binary.build,
                 "Diffenderfer & Kailkhura 2021 (binary weights, MPT-1/32) via Pensia et al. 2020's blocks",
                 distribution=binary.LAW, search_limit=4096),
    Construction(depth_l_plus_1.NAME, depth_l_plus_1.build,
                 "Burkholz 2022, the depth L+1 construction (ρ = c copies per neuron, exact subset sums)",
                 max_candidates=depth_l_plus_1.MAX_CANDIDATES, uses_engine=True,
                 properties=frozenset({"invariant", "sandwich", "exactness", "counting", "no-dead-weight"}),
                 layout=depth_l_plus_1.LAYOUT),
    Construction(edge_popup.NAME, edge_popup.build,
                 "Ramanujan et al. 2020, Algorithm 1 (edge-popup; learned baseline, no guarantee)",
                 properties=frozenset({"invariant", "identity", "sandwich", "counting"}),
                 search_limit=16,    # every width is a training run and is scanned (no monotonicity)
                 computed_spec=edge_popup.computed_spec),
)}

#: The construction the others are compared with at equal size (``slth check --construction all``):
#: Pensia et al.'s, the optimal one.
REFERENCE = subset_sum.NAME

#: name -> build, for callers that only build.
CONSTRUCTIONS: dict[str, Callable[..., Ticket]] = {n: c.build for n, c in REGISTRY.items()}
#: Largest candidates per block and sign each construction accepts (None: only memory limits it).
MAX_CANDIDATES: dict[str, int | None] = {n: c.max_candidates for n, c in REGISTRY.items()}


def companion(name: str) -> bounds.Bound:
    """The companion bound of construction ``name`` (:attr:`Construction.bound`), or
    :data:`slth.bounds.theory.NONE` if it has none."""
    entry = info(name)
    return bounds.NONE if entry.bound is None else bounds.bound(entry.bound)


def search_limit(name: str) -> int:
    """The default largest c of a width search for construction ``name`` (see :class:`Construction`)."""
    entry = info(name)
    return min(entry.search_limit, entry.max_candidates or entry.search_limit)


def having(prop: str) -> list[str]:
    """Sorted names of the constructions for which property ``prop`` (:data:`PROPERTIES`) holds."""
    if prop not in PROPERTIES:
        raise InputError(f"unknown property {prop!r}; allowed: {sorted(PROPERTIES)}")
    return sorted(n for n, c in REGISTRY.items() if prop in c.properties)


def prunes(name: str, layout: str) -> bool:
    """Whether construction ``name`` prunes random networks of ``layout`` (its ``layout`` or one of its
    ``other_layouts``)."""
    entry = info(name)
    return layout == entry.layout or layout in entry.other_layouts


def spec_for(name: str, spec: nets.RandomSpec, *, law: bool = True) -> nets.RandomSpec:
    """``spec`` in the layout construction ``name`` prunes and with the random weight law it assumes
    (the law unchanged if it takes any), both read from its registry entry. With ``law=False`` only
    the layout is set (:func:`slth.measure.network_spec`: a wrong law is then refused by
    :func:`build`, not rewritten). Raises InputError where a setting does not apply to that layout
    (drop_negative with ``l+1``)."""
    entry = info(name)
    changes = {}
    if law and entry.distribution is not None and spec.distribution != entry.distribution:
        changes["distribution"] = entry.distribution
    if not prunes(name, spec.layout):
        lay = nets.layouts.layout(spec)
        if lay.has_geometry or lay.has_biases:     # a CNN target, or one with biases, fits no other layout
            raise InputError(f"construction {name!r} does not prune the {spec.layout!r} layout; those that do: "
                             f"{[n for n, c in REGISTRY.items() if spec.layout in c.other_layouts]}")
        changes["layout"] = entry.layout
    return dataclasses.replace(spec, **changes) if changes else spec


def check_candidates(name: str, c: int, *, what: str = "--candidates") -> None:
    """Raise InputError, before any work, if construction ``name`` cannot take c candidates
    (``what`` names the argument in the message, which says why: :attr:`Construction.limit_reason`)."""
    entry = info(name)
    if entry.max_candidates is not None and c > entry.max_candidates:
        raise too_many(c, entry.max_candidates, name, entry.limit_reason, what=what)


def info(name: str) -> Construction:
    """The registry entry of ``name``."""
    if name not in REGISTRY:
        raise InputError(f"unknown construction {name!r}; allowed: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def get(name: str) -> Callable[..., Ticket]:
    """The build function of the construction registered as ``name``."""
    return info(name).build


@precision.float64
def build(name: str, target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """Build the ticket of construction ``name``; with ``active``, the ticket of
    ``RandomSpec(candidates=active)`` embedded in spec's wider network (its other units pruned). With
    JAX's 64-bit mode on (:mod:`slth.precision`), as ``slth prune`` builds it."""
    build_fn = get(name)
    entry = info(name)
    if not prunes(name, spec.layout):
        raise InputError(f"construction {name!r} prunes the {entry.layout!r} layout"
                         + (f" and {list(entry.other_layouts)}" if entry.other_layouts else "")
                         + f", not {spec.layout!r} (slth.constructions.spec_for puts a spec in its layout)")
    nets.require_law(name, entry.distribution, spec.distribution)
    return build_fn(target, spec) if active is None else build_fn(target, spec, active=active)


__all__ = ["CONSTRUCTIONS", "MAX_CANDIDATES", "PROPERTIES", "REFERENCE", "REGISTRY", "Construction", "build",
           "check_candidates", "companion", "get", "having", "info", "prunes", "search_limit", "spec_for"]
