"""The ``conv`` layout: the 2l-deep random convolutional network that realises a CNN target one kernel entry at a time (da Cunha, Natale & Viennot 2022).

A CNN target (:mod:`slth.nets.conv`: m "same" convolutions with ReLU, global average pooling, a dense
head) is, exactly, a bias-free MLP whose layers are the explicit matrices of its maps on the actual
input shape (:func:`slth.nets.conv.explicit`). The random network realises target layer i with a pair:

- a 1×1 random convolution with U = 2c hidden channels per input channel: hidden channel (c, r) has
  the single weight u[c, r] on input channel c, the same at every position;
- a k×k random convolution (stride s_i) from the hidden channels to the C_i output channels whose
  kernel entries v[o, c, r, dy, dx] are the candidates (for the head: pooling, then a dense map
  v[o, c, r] from the hidden channels to the classes).

The head's pooling: the target's head reads global average pooling (mean over the H·W positions), so
its explicit layer head/(H·W) has norm ‖head‖/√(H·W) and, rescaled to norm 1, a head whose entries
reach √(H·W). The random head pair pools with the sum divided by √(H·W) (a pooling of norm 1;
``ngap-dense``), so that each of its kernel entries approximates head/√(H·W), inside [−1, 1] like every
weight of the theorems: with mean pooling the random head would have to reach entries up to √(H·W)
with candidates in [−1, 1], and the head, not the convolutions, would set the width.

This is da Cunha et al.'s design (their Theorem 1 builds each target convolution from a 1×1 and a k×k
random convolution): every kernel entry K[o, c, dy, dx] is its own one-dimensional problem whose
candidates are v[o, c, r, dy, dx]·|u[c, r]|, r = 1..U, the same at every position. Written out on the
input shape, the pair is exactly the ``pairs`` layout's (docs/theory.md §2) with one block per input
unit (c, y, x) and U units per block, unit r of block j = (c, y, x) at row j·U + r, and weights tied
across positions. So the block constructions whose choice is a function of (target entry, candidates)
alone (selection, subset sum) choose the same subset at every position: the ticket is a pruned CNN,
which :func:`slth.ticket.invariant_problems` checks (:meth:`Conv.ties`). The measurement (pair maps,
certificate, lower bound) runs on the explicit matrices, whose spectral norms are the exact operator
norms of the convolutions on the input shape.

Keying: unit r of input channel c of pair i draws (u[c, r], v[:, c, r]) from the two halves of
``split(fold_in(fold_in(fold_in(key(seed), i), c), r))``: a wider c extends a narrower one (nested
candidate prefixes), as in every layout. ``RandomSpec.geometry`` is the target's geometry as text
(:meth:`slth.nets.conv.Geometry.text`); ``dims`` are its explicit widths.

Kernel form: the same network as convolutions (:meth:`Conv.kernels`, :meth:`Conv.kernel_shapes`), pair i
a 1×1 kernel (C·U, C, 1, 1), hidden channel c·U + r reading channel c with weight u[c, r], then a k×k
kernel (C_i, C·U, k, k) (the head's pair: a dense (classes, C·U) map after global average pooling).
:meth:`Conv.generate` expands it (:meth:`Conv.expand_random`); ticket files store it (:mod:`slth.ticket`).
Parameter counts are in kernel form (:meth:`Conv.params`, :meth:`Conv.kept`): a weight tied across
positions, a kernel entry or a hidden channel's 1×1 weight, is one parameter however many copies the
explicit matrices hold.

Residual CNNs (:mod:`slth.nets.residual`): skips join two convolutions whose maps have the same (C, H, W) at
both ends (:meth:`Conv.check`), with the ``pairs`` layout's edges between the explicit layers.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from slth.errors import InputError
from slth.nets.laws import DISTRIBUTIONS
from slth.nets.layouts.pairs import MIN_LENGTH, Pairs, _bucket, _units
from slth.quick_jit import quick_jit


class Conv(Pairs):
    """The ``conv`` layout (see the module docstring; members: :mod:`slth.nets.layouts`). Its shapes, blocks
    and target-neuron layers are the ``pairs`` layout's (inherited; no drop_negative, so 2c units per block)."""

    name = "conv"
    depth_formula = "2l"
    has_pairs = True
    has_copies = False
    allows_drop_negative = False
    has_geometry = True

    def geometry(self, spec):
        from slth.nets.conv import Geometry

        return Geometry.parse(spec.geometry)

    def check(self, spec) -> None:
        """The geometry is given, parses, and its explicit widths are ``spec.dims``; no drop_negative."""
        if spec.drop_negative:
            raise InputError("drop_negative applies to the 'pairs' layout only: the 'conv' layout keeps both signs "
                             "of every hidden channel")
        if not spec.geometry:
            raise InputError("a random network of layout 'conv' needs its target's geometry (RandomSpec.geometry, "
                             "e.g. '1x8x8:4,8:k3:s1,1:10')")
        g = self.geometry(spec)
        if tuple(g.dims()) != tuple(spec.dims):
            raise InputError(f"dims {','.join(map(str, spec.dims))} are not the explicit widths "
                             f"{','.join(map(str, g.dims()))} of the geometry {spec.geometry!r}")
        shapes = g.shapes()
        for i in spec.skips:        # a skip joins two maps of one shape: the input of conv i, the output of conv i + 1
            if i + 1 >= len(shapes) or shapes[i - 1] != shapes[i + 1]:
                got = "the dense head" if i + 1 >= len(shapes) else "x".join(map(str, shapes[i + 1]))
                raise InputError(f"skip {i} adds the {'x'.join(map(str, shapes[i - 1]))} input of convolution {i} to "
                                 f"the output of {got}; a CNN's skip needs two convolutions with equal channels and "
                                 "stride 1")

    def generate(self, spec, root, dtype) -> tuple:
        """The explicit layers: :meth:`kernels` written out by :meth:`expand_random`."""
        return tuple(jnp.asarray(m, dtype) for m in self.expand_random(spec, self.kernels(spec, root, np.float64)))

    def kernels(self, spec, root, dtype) -> tuple:
        """The random network in kernel form (:meth:`kernel_shapes`), in ``dtype`` (NumPy): pair i's 1×1
        kernel holds u[c, r] at [c·U + r, c] (zero elsewhere), its k×k kernel v[c, r, o, dy, dx] at
        [o, c·U + r, dy, dx] (the head's: v[c, r, o] at [o, c·U + r]). Drawn as the module docstring says,
        in ``spec.dtype``; call it with JAX's 64-bit mode on (:func:`slth.nets.random_network` does)."""
        g = self.geometry(spec)
        shapes, units, out = g.shapes(), self.units_per_block(spec, 1), []
        for i in range(1, spec.depth + 1):
            c_in, head = shapes[i - 1][0], i == spec.depth
            out_shape = (g.classes,) if head else (shapes[i][0], g.kernel, g.kernel)
            u, v = _draws(root, i, c_in, units, out_shape, spec.distribution, jnp.dtype(spec.dtype))
            u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)      # (C, U), (C, U, *out)
            first = np.zeros((c_in * units, c_in, 1, 1))
            first[np.arange(c_in * units), np.repeat(np.arange(c_in), units), 0, 0] = u.reshape(-1)
            flat = v.reshape(c_in * units, *out_shape)                           # row c·U + r
            out += [first, flat.T if head else np.moveaxis(flat, 0, 1)]
        return tuple(np.asarray(a, dtype) for a in out)

    def kinds(self, spec) -> dict[str, list[str]]:
        """How a kernel-form file stores each layer (its meta ``kinds``): ``"conv-s1"``/``"conv-s2"``, a
        zero-padded "same" convolution of kernel (out, in, k, k) and stride 1 or 2 on images (C, H, W);
        ``"gap-dense"``, global average pooling then a dense (out, C) map (the target's head); ``"ngap-dense"``,
        the sum over the H·W positions divided by √(H·W), then a dense map (the random head: a pooling of
        operator norm 1, :data:`slth.nets.conv.POOLINGS`). (``"dense"``, an explicit (out,
        in) matrix on flat vectors, is every layer of an explicit file, :data:`slth.ticket_file.DENSE`.)"""
        g = self.geometry(spec)
        convs = [f"conv-s{s}" for s in g.strides]
        return {"target": convs + ["gap-dense"],
                "random": [k for s in convs for k in ("conv-s1", s)] + ["conv-s1", "ngap-dense"]}

    def kernel_shapes(self, spec) -> dict[str, tuple[int, ...]]:
        """member name -> shape of a kernel-form file: ``target_{i-1}`` (C_i, C_{i-1}, k, k) (the head:
        (classes, C_m)); pair i's ``random_{2i-2}`` (C_{i-1}·U, C_{i-1}, 1, 1) and ``random_{2i-1}``
        (C_i, C_{i-1}·U, k, k) (the head's: (classes, C_m·U)), U = 2c hidden channels per input channel,
        hidden channel (c, r) at c·U + r; ``mask_k`` the shape of ``random_k``."""
        g = self.geometry(spec)
        chans, k, units, out = [s[0] for s in g.shapes()] + [g.classes], g.kernel, self.units_per_block(spec, 1), {}
        for i in range(1, spec.depth + 1):
            c_in, c_out, head = chans[i - 1], chans[i], i == spec.depth
            out[f"target_{i - 1}"] = (c_out, c_in) if head else (c_out, c_in, k, k)
            out[f"random_{2 * i - 2}"] = out[f"mask_{2 * i - 2}"] = (c_in * units, c_in, 1, 1)
            out[f"random_{2 * i - 1}"] = out[f"mask_{2 * i - 1}"] = \
                (c_out, c_in * units) if head else (c_out, c_in * units, k, k)
        return out

    def expand_random(self, spec, kernels) -> tuple:
        """The explicit random layers of kernel-form ones (:meth:`kernel_shapes`), in their dtypes: the
        matrices of the convolutions on the actual shapes, hidden units in the order of the ``pairs``
        layout (unit r of block (c, y, x) at row (c·H·W + y·W + x)·U + r). InputError names the member."""
        return tuple(self._expand(spec, dict(enumerate(kernels)), "random_{}", masks=False))

    def expand(self, spec, arrays: dict) -> dict:
        """The explicit ``target_i``, ``random_k`` and ``mask_k`` of a kernel-form file's (members as
        :meth:`kernel_shapes`), in their dtypes; one-line InputError naming the member (NaN or infinity).

        A mask of a k×k layer keeps a kernel entry at every position (so a kernel entry kept at some
        positions only cannot be written); a 1×1 layer's mask keeps hidden channel (c, r) at every position
        whose unit a kept weight of the next layer reads (elsewhere nothing reads it: a dead weight the
        constructions do not keep)."""
        from slth.nets import conv

        g, out = self.geometry(spec), {}
        for i, shape in enumerate(g.shapes()):
            a = np.asarray(arrays[f"target_{i}"])
            with _naming(f"target_{i}"):
                w = conv.head_matrix(a, shape) if i == spec.depth - 1 else conv.conv_matrix(a, shape, g.strides[i])
            out[f"target_{i}"] = np.ascontiguousarray(w, a.dtype)
        random = self._expand(spec, {k: arrays[f"random_{k}"] for k in range(spec.random_depth)}, "random_{}",
                              masks=False)
        masks = self._expand(spec, {k: arrays[f"mask_{k}"] for k in range(spec.random_depth)}, "mask_{}",
                             masks=True)
        return out | {f"random_{k}": m for k, m in enumerate(random)} | {f"mask_{k}": m for k, m in enumerate(masks)}

    def _expand(self, spec, kernels: dict, name: str, *, masks: bool) -> list:
        from slth.nets import conv

        g, units, out = self.geometry(spec), self.units_per_block(spec, 1), []
        for i, shape in zip(range(1, spec.depth + 1), g.shapes()):
            c, h, w = shape
            order = _hidden_order(c, h * w, units)
            hidden = (c * units, h, w)
            a, b = (np.asarray(kernels[k]) for k in (2 * i - 2, 2 * i - 1))
            with _naming(name.format(2 * i - 1)):
                if i == spec.depth:
                    second = np.repeat(b, h * w, axis=1) if masks else conv.head_matrix(b, hidden, pooling="norm")
                else:
                    second = (conv.conv_mask if masks else conv.conv_matrix)(b, hidden, g.strides[i - 1])
            with _naming(name.format(2 * i - 2)):
                first = (conv.conv_mask if masks else conv.conv_matrix)(a, shape, 1)[order]
            second = second[:, order]
            if masks:
                first &= second.any(axis=0)[:, None]
            out += [np.ascontiguousarray(first, a.dtype), np.ascontiguousarray(second, b.dtype)]
        return out

    def compact(self, spec, target, random, masks, kernels) -> dict | None:
        """The kernel-form members (:meth:`kernel_shapes`) of a ticket whose explicit layers are ``target``,
        ``random`` and ``masks``, ``kernels`` being its random network in kernel form (:meth:`kernels`);
        None where :meth:`expand` of them would not give these arrays back bit for bit (a target that is
        not this geometry's CNN, a random network that is not ``kernels``, a mask that breaks a tie or
        keeps a unit no kept weight reads)."""
        from slth.nets import conv

        g = self.geometry(spec)
        shapes, chans = g.shapes(), [s[0] for s in g.shapes()]
        given = {f"target_{i}": np.asarray(w) for i, w in enumerate(target)} | \
            {f"random_{k}": np.asarray(m) for k, m in enumerate(random)} | \
            {f"mask_{k}": np.asarray(m) for k, m in enumerate(masks)}
        shapes_wanted = [(n, (a, b)) for n, (a, b) in zip([f"target_{i}" for i in range(spec.depth)],
                                                           zip(spec.dims[1:], spec.dims[:-1]))]
        shapes_wanted += [(f"{m}_{k}", s) for k, s in enumerate(spec.shapes()) for m in ("random", "mask")]
        if len(given) != len(shapes_wanted) or any(given.get(n, np.empty(0)).shape != s for n, s in shapes_wanted):
            return None
        out = {f"random_{k}": np.asarray(a) for k, a in enumerate(kernels)}
        out |= {f"mask_{k}": m for k, m in enumerate(self.mask_kernels(spec, masks))}
        for i, shape in enumerate(shapes):
            w = given[f"target_{i}"]
            out[f"target_{i}"] = (conv.head_of(w, shape).astype(w.dtype) if i == spec.depth - 1
                                  else conv.kernel_of(w, chans[i + 1], shape, g.kernel, g.strides[i]))
        try:
            back = self.expand(spec, out)
        except InputError:
            return None
        return out if all(_same_bits(back[n], given[n]) for n in back) else None

    def mask_kernels(self, spec, masks) -> list[np.ndarray]:
        """Kernel-form masks (:meth:`kernel_shapes`) of explicit ones: a kernel entry (a hidden channel's
        1×1 weight) is True where some copy of it is kept. Shapes as ``spec.shapes()`` (unchecked here)."""
        from slth.nets import conv

        g, units, out = self.geometry(spec), self.units_per_block(spec, 1), []
        for i, (c, h, w) in zip(range(1, spec.depth + 1), g.shapes()):
            inverse = np.argsort(_hidden_order(c, h * w, units))
            first, second = (np.asarray(masks[k], bool) for k in (2 * i - 2, 2 * i - 1))
            out.append(conv.kernel_of(first[inverse], c * units, (c, h, w), 1, 1))
            second = second[:, inverse]
            out.append(second.reshape(g.classes, c * units, h * w).any(axis=2) if i == spec.depth else
                       conv.kernel_of(second, g.shapes()[i][0], (c * units, h, w), g.kernel, g.strides[i - 1]))
        return out

    def params(self, spec) -> int:
        """Parameters of the random network in kernel form, each tied group once: pair i has C_{i-1}·U
        weights in its 1×1 convolution (one per hidden channel, U = 2c) and C_i·C_{i-1}·U·k² kernel entries
        in its k×k one (the head's pair: classes·C_m·U)."""
        g, units = self.geometry(spec), self.units_per_block(spec, 1)
        chans, taps = [s[0] for s in g.shapes()] + [g.classes], [g.kernel ** 2] * len(g.channels) + [1]
        return sum(c_in * units * (1 + c_out * t) for c_in, c_out, t in zip(chans, chans[1:], taps))

    def kept(self, spec, masks) -> int:
        """Parameters the explicit ``masks`` keep, in kernel form: a kernel entry (a hidden channel's 1×1
        weight) kept at one position or more counts once (:meth:`mask_kernels`)."""
        return int(sum(np.count_nonzero(m) for m in self.mask_kernels(spec, masks)))

    def ties(self, spec) -> dict[int, np.ndarray]:
        """Random layer -> an int array of its shape: entries with the same non-negative value are copies
        of one random weight (tied across positions) and a ticket keeps all or none of them; -1 marks
        structural zeros. Only the second layer of each pair is tied this way (a first-layer unit may be
        used at one position and not at another, near the border)."""
        from slth.nets import conv

        g = self.geometry(spec)
        units, out = self.units_per_block(spec, 1), {}
        for i in range(1, spec.depth + 1):
            index = conv.kernel_index(g, i)                     # (d_out, d_in): the kernel entry of each
            size = int(index.max()) + 1
            tied = np.where(index[..., None] >= 0, index[..., None] + size * np.arange(units), -1)
            out[2 * i] = tied.reshape(index.shape[0], -1)
        return out


def _hidden_order(channels: int, positions: int, units: int) -> np.ndarray:
    """For each explicit hidden unit e = (c·positions + p)·U + r (the ``pairs`` layout's order: unit r of
    block (c, p)), its row in a convolution's channel-major output, (c·U + r)·positions + p."""
    e = np.arange(channels * positions * units)
    c, p, r = e // (positions * units), (e // units) % positions, e % units
    return (c * units + r) * positions + p


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(*(np.ascontiguousarray(x).view(np.uint8)
                                                                          for x in (a, b)))


@contextlib.contextmanager
def _naming(member: str):
    """Prefix an InputError raised inside with the file member it is about."""
    try:
        yield
    except InputError as e:
        raise InputError(f"{member}: {e}") from None


LAYOUT = Conv()


def _draws(root, i, c_in, units, out_shape, distribution, dtype):
    """u (C_in, U) and v (C_in, U, *out_shape) of pair i (NumPy), unit (c, r) from its own key.

    Computed for a power-of-two number of units with v flattened to a power-of-two length, then cut
    (:func:`slth.nets.layouts.pairs.pair_layers`: a draw is a prefix of any longer draw from its key, and
    a draw of a shape is the draw of its flattened length, reshaped), so nearby geometries share one
    compiled program and get the same bits as at their own shapes; small ones share that module's
    floors (:func:`slth.nets.layouts.pairs._units`)."""
    n, size = c_in * units, int(np.prod(out_shape, dtype=np.int64))
    length = _bucket(size, MIN_LENGTH)
    cs, rs = np.zeros((2, _units(n, length + 1)), np.int32)
    cs[:n], rs[:n] = np.repeat(np.arange(c_in), units), np.tile(np.arange(units), c_in)
    u, v = _unit_draws(root, i, cs, rs, length, distribution, dtype)
    u, v = np.asarray(u)[:n], np.asarray(v)[:n, :size]
    return u.reshape(c_in, units), v.reshape(c_in, units, *out_shape)


@quick_jit(static_argnums=(4, 5, 6))
def _unit_draws(root, i, cs, rs, size, distribution, dtype):
    """u (len(cs),) and v (len(cs), size): unit (cs[k], rs[k]) of pair i, v flattened."""
    law = DISTRIBUTIONS[distribution]
    pair_key = jax.random.fold_in(root, i)

    def unit(c, r):
        k_u, k_v = jax.random.split(jax.random.fold_in(jax.random.fold_in(pair_key, c), r))
        return law(k_u, (), dtype), law(k_v, (size,), dtype)

    return jax.vmap(unit)(cs, rs)
