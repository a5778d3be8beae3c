"""Float64 where slth needs it without JAX's global switch: the one home of slth's 64-bit scope.

Why a scope. The certificate, the lower bound, the exact error and a float64 random network are
float64 computations, and library code never flips ``jax_enable_x64`` (STYLE §4). So every public
entry point that computes with JAX in float64 runs under :func:`run` (or its decorator
:func:`float64`): inside the call JAX's 64-bit mode is on through ``jax.enable_x64(True)``, JAX's
thread-local context; after it the mode is what it was, also when the call raised. A caller with the
mode already on (the CLI, the test suite, an enclosing slth call) is not touched: the function runs as
it is and its result comes back as it is, so results are those of a run with the global switch on,
bit for bit.

What comes back. A 64-bit JAX array held outside x64 is a trap: the next jnp operation on it
truncates it to 32 bits (with a warning for some operations, silently for others). So when a call
turned the mode on itself, every concrete 64-bit JAX array of its result (float64, int64, uint64,
complex128; inside tuples, lists, dicts, dataclasses and pytrees such as a Ticket) comes back as a
NumPy array of the same dtype and bits (:func:`host`). NumPy keeps it 64-bit; JAX reads it like any
host array (as float32 outside x64, as float64 inside ``jax.enable_x64(True)`` or an slth call).

Threads. The mode is thread-local: a thread started inside a scope runs with the global setting.
slth starts threads only in the subset-sum engine's NumPy path, which does not use JAX.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import TypeVar

import jax
import numpy as np

F = TypeVar("F", bound=Callable)

#: The dtypes whose JAX arrays :func:`host` moves to NumPy: the ones JAX truncates outside x64.
WIDE = frozenset(np.dtype(t) for t in ("float64", "int64", "uint64", "complex128"))


def run(fn: Callable, /, *args, **kwargs):
    """``fn(*args, **kwargs)`` with JAX's 64-bit mode on: as is when it is on already, else inside
    ``jax.enable_x64(True)`` with the result's 64-bit JAX arrays handed back as NumPy (:func:`host`)."""
    if jax.config.jax_enable_x64:
        return fn(*args, **kwargs)
    with jax.enable_x64(True):
        return host(fn(*args, **kwargs))


def float64(fn: F) -> F:
    """Decorator: ``fn`` always computes with JAX's 64-bit mode on (:func:`run`)."""

    @functools.wraps(fn)
    def scoped(*args, **kwargs):
        return run(fn, *args, **kwargs)

    return scoped


def host(tree):
    """``tree`` with every concrete 64-bit JAX array (dtype in :data:`WIDE`) replaced by a NumPy array
    of the same dtype and bits; containers keep their type and order, everything else is returned
    as is (tracers too)."""
    if isinstance(tree, jax.Array):
        concrete = not isinstance(tree, jax.core.Tracer)
        return np.asarray(tree) if concrete and tree.dtype in WIDE else tree
    if isinstance(tree, dict):           # by hand: jax.tree would sort the keys
        return type(tree)((k, host(v)) for k, v in tree.items())
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type) and not _is_node(tree):
        fields = {f.name: getattr(tree, f.name) for f in dataclasses.fields(tree) if f.init}
        moved = {k: host(v) for k, v in fields.items()}
        changed = {k: v for k, v in moved.items() if v is not fields[k]}
        return dataclasses.replace(tree, **changed) if changed else tree
    children, treedef = jax.tree_util.tree_flatten(tree, is_leaf=lambda x: x is not tree)
    if jax.tree_util.treedef_is_leaf(treedef):
        return tree
    return jax.tree_util.tree_unflatten(treedef, [host(c) for c in children])


def _is_node(x) -> bool:
    """True when ``x`` is a registered pytree node (a dataclass registered with JAX, such as a Ticket)."""
    return not jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(x, is_leaf=lambda y: y is not x))
