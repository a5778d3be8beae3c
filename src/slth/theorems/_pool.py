"""The shared tickets of the theorem suite.

Building a ticket of new shapes costs about a second of XLA compilation, far more than checking it,
so the ticket properties (§2.3, §5.1-5.3, 5.4 on tickets, 5.5, 5.8) check one shared pool of cases,
each built once per session: ``ci`` 8 cases, ``thorough`` 64. The pool is drawn from a fixed seed with
the same adversarial ingredients as :func:`slth.testing.targets` (entries at and just inside ±1,
exact zeros, entries near 0, norms below 1) and :func:`slth.testing.specs` (every weight law, drop_negative), over a small set of target
shapes so that compilations are shared. Cheap properties (the solver, the relaxation, the
probability laws) draw fresh hypothesis examples instead.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import jax
import numpy as np

from slth import constructions, nets, testing
from slth.theorems import plugin

#: Target shapes of the pool (depth 1 and 2, rectangular and square).
SHAPES = ((2, 3), (3, 2), (2, 3, 2), (3, 2, 2))
#: Pool sizes per profile.
SIZES = {"ci": 8, "thorough": 64}
SEED = 20261121


def size() -> int:
    """Pool size: :data:`SIZES` of the profile, or ``SLTH_THEOREM_POOL`` if set (the mutation script
    runs the suite on a small pool)."""
    override = os.environ.get("SLTH_THEOREM_POOL")
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ValueError(f"SLTH_THEOREM_POOL {override!r} must be a positive integer")
        return int(override)
    return SIZES["thorough" if plugin.thorough() else "ci"]


@functools.cache
def case(i: int) -> tuple[tuple, nets.RandomSpec]:
    """Case i of the pool: (target, spec), the same on every run."""
    rng = np.random.default_rng([SEED, i])
    dims = SHAPES[i % len(SHAPES)]
    seed = int(rng.integers(2**31))
    layers = [np.asarray(w) for w in nets.random_target(dims, key=jax.random.key(seed),
                                                          norm=float(rng.choice([1.0, 0.9, 0.5])))]
    kinds = ("plain", "corner", "sparse", "near-corner", "tiny")
    kind = kinds[i % len(kinds)]
    gap = 10.0 ** -float(rng.integers(1, 13))
    layers = [testing.adversarial_layer(w, kind, gap, np.random.default_rng([SEED, i, k]))
              for k, w in enumerate(layers)]
    spec = nets.RandomSpec(dims=dims, candidates=int(rng.integers(1, 5)), seed=int(rng.integers(2**31)),
                           distribution=("uniform", "gaussian", "binary")[i % 3],
                           drop_negative=bool(rng.integers(2)))
    return tuple(layers), spec


@functools.cache
def ticket(name: str, i: int):
    """The ticket of construction ``name`` for case i (built once per session), in the network layout
    ``name`` prunes (drop_negative only where the layout has it)."""
    target, spec = case(i)
    return constructions.build(name, target, network_spec(name, spec))


def network_spec(name: str, spec: nets.RandomSpec) -> nets.RandomSpec:
    """``spec`` with the weight law and the layout construction ``name`` assumes (its registry entry,
    :func:`slth.constructions.spec_for`); drop_negative is dropped for a layout without it (``l+1``)."""
    if not nets.layouts.layout(constructions.info(name).layout).allows_drop_negative:
        spec = dataclasses.replace(spec, drop_negative=False)
    return constructions.spec_for(name, spec)
