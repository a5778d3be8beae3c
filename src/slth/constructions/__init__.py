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


def get(name: str) -> Callable[[Sequence, nets.RandomSpec], Ticket]:
    """The construction registered as ``name``."""
    if name not in CONSTRUCTIONS:
        raise InputError(f"unknown construction {name!r}; allowed: {', '.join(CONSTRUCTIONS)}")
    return CONSTRUCTIONS[name]


def build(name: str, target: Sequence, spec: nets.RandomSpec) -> Ticket:
    """Build the ticket of construction ``name``."""
    return get(name)(target, spec)


__all__ = ["CONSTRUCTIONS", "build", "get"]
