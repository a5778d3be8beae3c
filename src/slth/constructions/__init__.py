"""Registered constructions: each maps a target and a random-network spec to a Ticket.

The CLI, sweeps and figures read :data:`CONSTRUCTIONS`; adding a construction is one entry here. A
construction is ``build(target, spec, *, active=None)``; ``active`` restricts it to a nested prefix
of the candidates (see :func:`slth.constructions._blocks.build_blocks`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from slth import nets
from slth.constructions import selection, subset_sum
from slth.errors import InputError
from slth.ticket import Ticket

CONSTRUCTIONS: dict[str, Callable[[Sequence, nets.RandomSpec], Ticket]] = {
    selection.NAME: selection.build,
    subset_sum.NAME: subset_sum.build,
}


#: Largest candidates per block and sign each construction accepts (None: only memory limits it).
MAX_CANDIDATES: dict[str, int | None] = {
    selection.NAME: None,
    subset_sum.NAME: subset_sum.MAX_CANDIDATES,
}


def check_candidates(name: str, c: int, *, what: str = "--candidates") -> None:
    """Raise InputError, before any work, if construction ``name`` cannot take c candidates
    (``what`` names the argument in the message)."""
    get(name)
    limit = MAX_CANDIDATES[name]
    if limit is not None and c > limit:
        raise InputError(f"{what} {c} is above {limit}, the most the {name} construction takes "
                         "(its exact solver's memory budget)")


def get(name: str) -> Callable[[Sequence, nets.RandomSpec], Ticket]:
    """The construction registered as ``name``."""
    if name not in CONSTRUCTIONS:
        raise InputError(f"unknown construction {name!r}; allowed: {', '.join(CONSTRUCTIONS)}")
    return CONSTRUCTIONS[name]


def build(name: str, target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """Build the ticket of construction ``name``; with ``active``, the ticket of
    ``RandomSpec(candidates=active)`` embedded in spec's wider network (its other units pruned)."""
    build_fn = get(name)
    return build_fn(target, spec) if active is None else build_fn(target, spec, active=active)


__all__ = ["CONSTRUCTIONS", "MAX_CANDIDATES", "build", "check_candidates", "get"]
