"""Registered constructions: each maps a target and a random-network spec to a Ticket.

The CLI, sweeps, the theorem suite and the figures read :data:`REGISTRY`; adding a construction is
one :class:`Construction` entry here. A construction's ``build(target, spec, *, active=None)``
returns a Ticket; ``active`` restricts it to a nested prefix of the candidates (see
:func:`slth.constructions._blocks.build_blocks`), which is how the width search shares compiled shapes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from slth import nets
from slth.constructions import selection, subset_sum
from slth.errors import InputError
from slth.ticket import Ticket

#: THEORY §5 properties a construction may promise, by the name the theorem suite uses.
PROPERTIES = frozenset({"invariant", "identity", "sandwich", "exactness", "monotonicity", "counting"})


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
      properties: the THEORY §5 properties that hold for it (a subset of :data:`PROPERTIES`); the
        theorem suite checks exactly these.
    """

    name: str
    build: Callable[..., Ticket]
    cite: str
    max_candidates: int | None = None
    distribution: str | None = None
    properties: frozenset = PROPERTIES

    def __post_init__(self):
        unknown = set(self.properties) - PROPERTIES
        if unknown:
            raise ValueError(f"construction {self.name!r} lists unknown properties {sorted(unknown)}")


REGISTRY: dict[str, Construction] = {c.name: c for c in (
    Construction(selection.NAME, selection.build, "Malach et al. 2020, Thm 2.1"),
    Construction(subset_sum.NAME, subset_sum.build, "Pensia et al. 2020, Thm 1",
                 max_candidates=subset_sum.MAX_CANDIDATES),
)}

#: name -> build, for callers that only build.
CONSTRUCTIONS: dict[str, Callable[..., Ticket]] = {n: c.build for n, c in REGISTRY.items()}
#: Largest candidates per block and sign each construction accepts (None: only memory limits it).
MAX_CANDIDATES: dict[str, int | None] = {n: c.max_candidates for n, c in REGISTRY.items()}


def having(prop: str) -> list[str]:
    """Sorted names of the constructions for which THEORY §5 property ``prop`` holds."""
    if prop not in PROPERTIES:
        raise InputError(f"unknown property {prop!r}; allowed: {sorted(PROPERTIES)}")
    return sorted(n for n, c in REGISTRY.items() if prop in c.properties)


def spec_for(name: str, spec: nets.RandomSpec) -> nets.RandomSpec:
    """``spec`` with the random weight law construction ``name`` assumes (unchanged if it takes any)."""
    law = info(name).distribution
    return spec if law is None or spec.distribution == law else dataclasses.replace(spec, distribution=law)


def check_candidates(name: str, c: int, *, what: str = "--candidates") -> None:
    """Raise InputError, before any work, if construction ``name`` cannot take c candidates
    (``what`` names the argument in the message)."""
    limit = info(name).max_candidates
    if limit is not None and c > limit:
        raise InputError(f"{what} {c} is above {limit}, the most the {name} construction takes "
                         "(its exact solver's memory budget)")


def info(name: str) -> Construction:
    """The registry entry of ``name``."""
    if name not in REGISTRY:
        raise InputError(f"unknown construction {name!r}; allowed: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def get(name: str) -> Callable[..., Ticket]:
    """The build function of the construction registered as ``name``."""
    return info(name).build


def build(name: str, target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """Build the ticket of construction ``name``; with ``active``, the ticket of
    ``RandomSpec(candidates=active)`` embedded in spec's wider network (its other units pruned)."""
    build_fn = get(name)
    law = info(name).distribution
    if law is not None and spec.distribution != law:
        raise InputError(f"the {name} construction assumes random weights of law {law!r}; the spec has "
                         f"{spec.distribution!r} (use constructions.spec_for or --dist {law})")
    return build_fn(target, spec) if active is None else build_fn(target, spec, active=active)


__all__ = ["CONSTRUCTIONS", "MAX_CANDIDATES", "PROPERTIES", "REGISTRY", "Construction", "build",
           "check_candidates", "get", "having", "info", "spec_for"]
