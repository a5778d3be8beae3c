"""The jaxtyping shapes on public functions are valid annotations, and the shapes they state hold."""

from __future__ import annotations

import typing

import jax
import numpy as np
import pytest

jaxtyping = pytest.importorskip("jaxtyping", reason="jaxtyping is in the [test] extra")

from slth import measure, nets  # noqa: E402
from slth.measure import error  # noqa: E402

ANNOTATED = [nets.forward, error.gap_at, error.certificate, error.lower_bound, error.LowerBound]


@pytest.mark.parametrize("fn", ANNOTATED, ids=lambda f: f.__qualname__)
def test_annotations_resolve(fn):
    names = {"Array": jaxtyping.Array, "ArrayLike": jaxtyping.ArrayLike, "Float": jaxtyping.Float}
    hints = typing.get_type_hints(fn, globalns={**vars(__import__(fn.__module__, fromlist=["_"])), **names})
    assert any("Float[" in repr(h) for h in hints.values()), hints


def test_the_stated_shapes_hold():
    """forward: (batch, d_0) -> (batch, d_L); gap_at: (batch,); a lower bound's witness: (d_0,)."""
    target = nets.random_target((3, 4, 2), key=jax.random.key(0))
    x = np.ones((5, 3)) / np.sqrt(3)
    assert nets.forward(target, x).shape == (5, 2)
    assert error.gap_at(target, target, x).shape == (5,)
    lb = measure.lower_bound(target, target, key=jax.random.key(1), starts=2, steps=2, random_points=8)
    assert lb.witness.shape == (3,)
