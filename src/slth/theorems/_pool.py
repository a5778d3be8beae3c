"""The shared tickets of the theorem suite.

Building a ticket of new shapes costs about a second of XLA compilation, far more than checking it,
so the ticket properties (§2.3, §5.1-5.3, 5.4 on tickets, 5.5, 5.8) check one shared pool of cases,
each built once per session: ``ci`` 8 cases, ``thorough`` 64. The pool is drawn from a fixed seed with
the same adversarial ingredients as :func:`slth.testing.targets` (entries at and just inside ±1,
exact zeros, entries near 0, norms below 1) and :func:`slth.testing.specs` (every weight law, drop_negative), over a small set of target
shapes so that compilations are shared. Cheap properties (the solver, the relaxation, the
probability laws) draw fresh hypothesis examples instead.

The CNN pool (issue 16): the same ticket properties (§5.1-5.3, 5.5) on convolutional targets
(:mod:`slth.nets.conv`), for the constructions that prune the ``conv`` layout (:func:`conv_names`):
``ci`` 2 cases, ``thorough`` 12, drawn from a fixed seed over :data:`CONV_GEOMETRIES` (stride 1 and 2,
kernel 1 and 3, one and two convolutions, one and two input channels). The pool with biases
(docs/theory.md §1.8): the same properties on targets [W_i | b_i] pruned from the ``biased`` layout, and on
CNN targets with biases pruned from the ``conv-biased`` layout (:func:`biased_names`), ``ci`` 2 cases (one
of each; the MLP's has a skip, a residual target with biases), ``thorough`` 16. The residual pool (:mod:`slth.nets.residual`): the
same properties on MLP and CNN targets with skips z ↦ z + F(z), ``ci`` 2 cases (one of each), ``thorough`` 12.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import jax
import numpy as np

from slth import constructions, nets, testing
from slth.nets import conv
from slth.theorems import plugin

#: Target shapes of the pool (depth 1 and 2, rectangular and square).
SHAPES = ((2, 3), (3, 2), (2, 3, 2), (3, 2, 2))
#: Pool sizes per profile.
SIZES = {"ci": 8, "thorough": 64}
SEED = 20261121


#: CNN geometries of the conv pool (maps of at least 3 pixels; small, so a ticket builds in about a second).
CONV_GEOMETRIES = ("1x5x5:2:k3:s1:2", "2x6x6:2,2:k3:s2,1:2", "1x4x4:3:k1:s1:2", "2x4x4:2:k3:s1:3")
#: CNN pool sizes per profile.
CONV_SIZES = {"ci": 2, "thorough": 12}


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


def _side_size(sizes: dict) -> int:
    """A side pool's size: ``sizes`` of the profile, capped by ``SLTH_THEOREM_POOL`` if set."""
    n = sizes["thorough" if plugin.thorough() else "ci"]
    return min(n, size()) if os.environ.get("SLTH_THEOREM_POOL") else n


def conv_size() -> int:
    """CNN pool size: :data:`CONV_SIZES` of the profile (``SLTH_THEOREM_POOL`` caps it too)."""
    return _side_size(CONV_SIZES)


def conv_names(prop: str) -> list[str]:
    """The constructions of :func:`slth.theorems.names` (``prop``) that prune the ``conv`` layout."""
    from slth import theorems

    return [n for n in theorems.names(prop) if constructions.prunes(n, nets.layouts.conv.LAYOUT.name)]


@functools.cache
def conv_case(i: int) -> tuple[conv.Geometry, tuple, nets.RandomSpec]:
    """Case i of the CNN pool: (geometry, explicit target layers, spec of the conv layout), the same on
    every run: a random target of one of :data:`CONV_GEOMETRIES` (each explicit layer at spectral norm 1,
    Gaussian or uniform entries), 1-4 candidates, every weight law (set per construction by
    :func:`conv_ticket`)."""
    rng = np.random.default_rng([SEED, 16, i])
    g = conv.Geometry.parse(CONV_GEOMETRIES[i % len(CONV_GEOMETRIES)])
    target = conv.random_conv_target(g, seed=int(rng.integers(2**31)),
                                     distribution=("gaussian", "uniform")[i % 2]).layers()
    spec = nets.RandomSpec(dims=g.dims(), candidates=int(rng.integers(1, 5)), seed=int(rng.integers(2**31)),
                           distribution=("uniform", "gaussian", "binary")[i % 3],
                           layout=nets.layouts.conv.LAYOUT.name, geometry=g.text())
    return g, tuple(np.asarray(w) for w in target), spec


@functools.cache
def conv_ticket(name: str, i: int):
    """The ticket of construction ``name`` for CNN case i (built once per session), with the weight
    law the construction assumes."""
    _, target, spec = conv_case(i)
    return constructions.build(name, target, constructions.spec_for(name, spec))


#: Cases of the pool of targets with biases (docs/theory.md §1.8): MLPs of depth 1-4 and CNN geometries (the
#: ``conv-biased`` layout: one and two convolutions, kernel 3 and 1, stride 1 and 2), each with its skips (a
#: residual target with biases, :mod:`slth.nets.residual`: from the input to the output, two skips apart).
BIASED_CASES = (((2, 3, 2), (1,)), ("1x4x4:2:k3:s1:2", ()), ((3, 2, 2), ()), ("2x4x4:2,1:k1:s2,1:2", ()),
                ((2, 3), ()), ("2x4x4:2,2:k3:s1,1:2", (1,)), ((2, 3, 2, 3, 2), (1, 3)), ((3, 2, 3), ()))
#: Pool sizes per profile for targets with biases.
BIASED_SIZES = {"ci": 2, "thorough": 16}


def biased_size() -> int:
    """Size of the pool with biases: :data:`BIASED_SIZES` of the profile (``SLTH_THEOREM_POOL`` caps it)."""
    return _side_size(BIASED_SIZES)


def biased_names(prop: str) -> list[str]:
    """The constructions of :func:`slth.theorems.names` (``prop``) that prune the ``biased`` layout."""
    from slth import theorems

    return [n for n in theorems.names(prop) if constructions.prunes(n, nets.layouts.biased.LAYOUT.name)]


@functools.cache
def biased_case(i: int) -> tuple[tuple, nets.RandomSpec]:
    """Case i of the pool with biases: a random target [W_i | b_i] (weights of norm 1, biases uniform in
    [−β, β], β from {0.25, 0.5, 1}: |b| = 1 is the assumptions' boundary), an MLP's or a CNN's (one bias per
    channel, the ``conv-biased`` layout), with the case's skips, 1-4 candidates, every law."""
    rng = np.random.default_rng([SEED, 8, i])
    shape, skips = BIASED_CASES[i % len(BIASED_CASES)]
    seed, bias = int(rng.integers(2**31)), float(rng.choice([0.25, 0.5, 1.0]))
    network = {"layout": nets.layouts.biased.LAYOUT.name}
    if isinstance(shape, str):      # a CNN target with biases, one per channel
        g = conv.Geometry.parse(shape)
        target, shape = conv.random_conv_target(g, seed=seed, bias=bias).layers(), g.dims()
        network = {"layout": nets.layouts.conv_biased.LAYOUT.name, "geometry": g.text()}
    else:
        target = nets.affine.random_target(shape, seed=seed, bias=bias)
    spec = nets.RandomSpec(dims=shape, candidates=int(rng.integers(1, 5)), seed=int(rng.integers(2**31)),
                           distribution=("uniform", "gaussian", "binary")[i % 3], skips=skips, **network)
    return tuple(np.asarray(w) for w in target), spec


@functools.cache
def biased_ticket(name: str, i: int):
    """The ticket of construction ``name`` for case i of the pool with biases (built once per session)."""
    target, spec = biased_case(i)
    return constructions.build(name, target, constructions.spec_for(name, spec))


#: Cases of the pool of residual targets (:mod:`slth.nets.residual`): an MLP's dims or a CNN's geometry, and
#: the skips (a skip into the output layer, skips that follow one another, one from the input itself).
RESIDUAL_CASES = ((2, 3, 2, 2), (1,)), ("2x4x4:2,2:k3:s1,1:2", (1,)), ((3, 2, 3, 2), (1, 2)), \
    ("1x4x4:2,1:k1:s1,1:2", (1,)), ((2, 3, 2), (1,)), ((2, 3, 2, 3, 2), (1, 3)), ((2, 2, 2, 2), (2,))
#: Pool sizes per profile for residual targets.
RESIDUAL_SIZES = {"ci": 2, "thorough": 12}


def residual_size() -> int:
    """Size of the residual pool: :data:`RESIDUAL_SIZES` of the profile (``SLTH_THEOREM_POOL`` caps it)."""
    return _side_size(RESIDUAL_SIZES)


def residual_names(prop: str) -> list[str]:
    """The constructions of :func:`slth.theorems.names` (``prop``) that prune the ``pairs`` layout (every
    layout of layer pairs allows skips; :func:`residual_cases` says which cases each prunes)."""
    from slth import theorems

    return [n for n in theorems.names(prop) if constructions.prunes(n, nets.layouts.DEFAULT.name)]


def residual_cases(name: str) -> list[int]:
    """The residual cases construction ``name`` prunes: every MLP case, the CNN cases if it prunes ``conv``."""
    cnn = constructions.prunes(name, nets.layouts.conv.LAYOUT.name)
    return [i for i in range(residual_size()) if cnn or not isinstance(RESIDUAL_CASES[i % len(RESIDUAL_CASES)][0], str)]


@functools.cache
def residual_case(i: int) -> tuple[tuple, nets.RandomSpec]:
    """Case i of the residual pool: (target, spec with its skips), the same on every run: a random target
    (each layer, each explicit convolution, at spectral norm 1, or 0.9 for odd MLP cases), 1-4 candidates,
    every weight law (set per construction by :func:`residual_ticket`)."""
    rng = np.random.default_rng([SEED, 32, i])
    shape, skips = RESIDUAL_CASES[i % len(RESIDUAL_CASES)]
    candidates, seed = int(rng.integers(1, 5)), int(rng.integers(2**31))
    law = ("uniform", "gaussian", "binary")[i % 3]
    if isinstance(shape, str):
        g = conv.Geometry.parse(shape)
        target = conv.random_conv_target(g, seed=int(rng.integers(2**31))).layers()
        spec = nets.RandomSpec(dims=g.dims(), candidates=candidates, seed=seed, distribution=law, skips=skips,
                               layout=nets.layouts.conv.LAYOUT.name, geometry=g.text())
    else:
        target = nets.random_target(shape, key=jax.random.key(int(rng.integers(2**31))), norm=(1.0, 0.9)[i % 2])
        spec = nets.RandomSpec(dims=shape, candidates=candidates, seed=seed, distribution=law, skips=skips)
    return tuple(np.asarray(w) for w in target), spec


@functools.cache
def residual_ticket(name: str, i: int):
    """The ticket of construction ``name`` for case i of the residual pool (built once per session)."""
    target, spec = residual_case(i)
    return constructions.build(name, target, constructions.spec_for(name, spec))
