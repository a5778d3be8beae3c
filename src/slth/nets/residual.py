"""Residual targets: skip connections z ↦ z + F(z) across two target layers, their checks and their edges.

A target (or a CNN target's convolutions) with skips ``(i, ...)``: a skip at target layer i
(1 <= i <= l − 1) adds the input of layer i, z_{i-1} (x itself for i = 1), to the pre-activation of layer
i + 1, so the block of layers i, i + 1 computes

    y_{i+1} = W_{i+1} σ(W_i z_{i-1}) + z_{i-1} = z_{i-1} + F(z_{i-1}),   z_{i+1} = σ(y_{i+1}) (i + 1 < l),

the two-layer residual block of He et al. 2016 with its ReLU after the sum (as in Burkholz 2022's
ResNets), and the plain sum y_l = z_{l-2} + F(z_{l-2}) when layer i + 1 is the output. The skip is an
identity: it needs d_{i-1} = d_{i+1} (for a CNN, the same (C, H, W) map, :mod:`slth.nets.layouts.conv`),
it has no weight, and the random network that realises the target carries the same identity between the
units standing for z_{i-1} and y_{i+1}, never pruned (the ticket "keeps the skip connection and
realises F", Burkholz 2022). Skips may follow one another (i and i + 1 both) and any set of them is a
valid network. Without biases every map stays positively homogeneous (the identity is), so the supremum
of a ticket's error over the unit ball is still attained on the sphere; the certificate is
:mod:`slth.measure.residual`'s. A residual target may have biases too (the ``biased`` and ``conv-biased``
layouts): each layer adds its bias b_i before the skip's sum, y_{i+1} = W_{i+1} σ(W_i z_{i-1} + b_i) +
b_{i+1} + z_{i-1}; the identity carries the units' outputs, never the constant input, and the error is then
read over the whole ball (the same certificate with the biases' terms).

Edges: a skip is written for :func:`slth.nets.forward` as an edge (a, b) of unit layers (0 the input,
L the output) of a chain of L matrices: the output of unit layer a is added to the pre-activation of
unit layer b. Target skip i is the edge (i − 1, i + 1) (:func:`edges`); a layout maps it onto its random
network (``Layout.skip_edges``: (2i − 2, 2i + 2) for layer pairs).
"""

from __future__ import annotations

from collections.abc import Sequence

from slth.errors import InputError


def parse(value) -> tuple[int, ...]:
    """Skips from text (``"1,3"``; ``""`` for none) or a sequence of integers: sorted, without repeats.
    Raises InputError for anything else (this checks the form; :func:`check` checks them against dims)."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")] if value.strip() else []
        if not all(p.isdigit() for p in parts):
            raise InputError(f"skips {value!r} must be target layers as integers separated by commas, e.g. '1,3'")
        items = [int(p) for p in parts]
    elif isinstance(value, Sequence):
        items = list(value)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            raise InputError(f"skips {value!r} must be integers (target layers i, a skip from the input of "
                             "layer i to the output of layer i + 1)")
    else:
        raise InputError(f"skips {value!r} must be a list of target layers such as [1, 3] or the text '1,3'")
    if len(set(items)) != len(items):
        raise InputError(f"skips {value!r} repeat a layer; each skip i appears once")
    return tuple(sorted(items))


def check(skips: Sequence[int], dims: Sequence[int]) -> tuple[int, ...]:
    """Check skips against target widths d_0..d_l: each i in 1..l−1 with d_{i-1} = d_{i+1}; returns
    :func:`parse`'s tuple. One InputError naming the skip, the widths and what is allowed."""
    skips = parse(skips)
    depth = len(dims) - 1
    for i in skips:
        if not 1 <= i <= depth - 1:
            raise InputError(f"skip {i} is outside 1..{depth - 1}: a skip at target layer i joins the input of "
                             f"layer i to the output of layer i + 1, and this target has {depth} layers")
        if dims[i - 1] != dims[i + 1]:
            raise InputError(f"skip {i} adds the input of layer {i} (width d_{i - 1} = {dims[i - 1]}) to the output "
                             f"of layer {i + 1} (width d_{i + 1} = {dims[i + 1]}); an identity skip needs equal widths")
    return skips


def edges(skips: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """The target's skip edges for :func:`slth.nets.forward`: (i − 1, i + 1) for each skip i."""
    return tuple((i - 1, i + 1) for i in skips)


def pair_edges(skips: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """The skip edges of a random network of layer pairs (pair i realises target layer i, so unit layer 2i
    stands for the target's z_i): (2i − 2, 2i + 2) for each skip i."""
    return tuple((2 * i - 2, 2 * i + 2) for i in skips)


__all__ = ["check", "edges", "pair_edges", "parse"]
