"""Registered constructions: each maps a target and a random-network spec to a Ticket.

The CLI, sweeps and figures read :data:`CONSTRUCTIONS`; adding a construction is one entry here.
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


def check_candidates(name: str, c: int) -> None:
    """Raise InputError, before any work, if construction ``name`` cannot take c candidates."""
    get(name)
    limit = MAX_CANDIDATES[name]
    if limit is not None and c > limit:
        raise InputError(f"--candidates {c} is above {limit}, the most the {name} construction takes "
                         "(its exact solver's memory budget)")


def get(name: str) -> Callable[[Sequence, nets.RandomSpec], Ticket]:
    """The construction registered as ``name``."""
    if name not in CONSTRUCTIONS:
        raise InputError(f"unknown construction {name!r}; allowed: {', '.join(CONSTRUCTIONS)}")
    return CONSTRUCTIONS[name]


def build(name: str, target: Sequence, spec: nets.RandomSpec) -> Ticket:
    """Build the ticket of construction ``name``."""
    return get(name)(target, spec)


__all__ = ["CONSTRUCTIONS", "MAX_CANDIDATES", "build", "check_candidates", "get"]
