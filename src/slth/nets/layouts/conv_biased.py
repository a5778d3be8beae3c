"""The ``conv-biased`` layout: the random CNN with random biases that realises a CNN target with biases.

A CNN target with biases (:class:`slth.nets.conv.ConvTarget` with ``biases``) has one bias per output channel
of each convolution and per class of the head; its explicit layers are [W_i | b_i] (:mod:`slth.nets.affine`),
a channel's bias repeated at each of its positions. This layout is the ``conv`` layout (:mod:`.conv`: a 1×1
random convolution with U = 2c hidden channels per input channel, then a k×k one whose kernel entries are
the candidates) with random biases, pruned like weights (Fischer & Burkholz 2022), and one more block per
pair, the *bias block*, as in the ``biased`` layout (:mod:`.biased`):

- the 1×1 convolution's hidden channel (c, r) has a random bias β[c, r], the same at every position (drawn
  with ``fold_in(fold_in(fold_in(fold_in(key(seed), i), c), r), 2**31)``, beside the channel's own draws);
  the constructions prune it (a unit keeps the weight of its input channel alone);
- the bias block: U hidden channels r that read only the constant and compute σ(β_r), the same value at
  every position, so the explicit network holds each once (U units, the last block of pair i); its k×k
  kernel to output channel o reads it with its centre tap alone, one weight v_b[o, r] at every output
  position (tied); unit r draws (β_r, v_b[:, r]) from ``split(fold_in(fold_in(key(seed), i), C_{i-1}), r)``,
  the block after the input channels, as the ``biased`` layout keys block d_{i-1}. The target's bias b_o
  of channel o is a subset sum of about c products v_b[o, r]·σ(β_r), the same problem at every position,
  so subset sum and selection choose the same subset everywhere, which the ticket invariant checks (ties);
- the k×k convolution's own bias per output channel (per class for the head's pair), drawn with
  ``fold_in(fold_in(key(seed), i), 2**31)``, tied across positions, is pruned.

A wider c extends a narrower one bit for bit (every draw is keyed by unit indices). Kernel form
(:meth:`ConvBiased.kernel_shapes`): the ``conv`` layout's kernels and, per layer, one bias member:
``target_bias_i`` the target's channel biases (C_i,) (classes for the head); for pair i, ``random_bias_{2i-2}``
(C·U + U,) the hidden channels' biases (channel c·U + r) then the bias block's, and ``random_bias_{2i-1}``
(C_i, U + 1) the bias block's tied weights to each output channel then its own tied output bias;
``mask_bias_k`` their masks. Expanding gives the explicit layers; a hidden unit keeps its channel's bias
where the next layer reads it (as its 1×1 weight). Its parameter counts are in kernel form
(:meth:`ConvBiased.params`). Skips (a residual CNN target with biases) are the ``conv`` layout's: an identity
between the units standing for the same (C, H, W) map, never pruned; the constant is not carried by them.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from slth.errors import InputError
from slth.nets.laws import DISTRIBUTIONS
from slth.nets.layouts.conv import LAYOUT as CONV, Conv, _same_bits
from slth.nets.layouts.pairs import MIN_LENGTH, _bucket, _units

#: fold_in word of the hidden channels' biases and of the pair's output biases (no channel index reaches it).
BIAS_WORD = 2 ** 31


class ConvBiased(Conv):
    """The ``conv-biased`` layout (see the module docstring; members: :mod:`slth.nets.layouts`)."""

    name = "conv-biased"
    has_biases = True
    allows_skips = True

    def blocks(self, spec, i: int) -> int:
        """Blocks of pair i: one per input unit (channel and position) of target layer i, and the bias block."""
        return spec.dims[i - 1] + 1

    def hidden_widths(self, spec) -> tuple[int, ...]:
        """h_i = (d_{i-1} + 1)·2c: the 1×1 convolution's hidden units at every position, then the bias block."""
        return tuple(self.blocks(spec, i) * self.units_per_block(spec, i) for i in range(1, spec.depth + 1))

    def generate(self, spec, root, dtype) -> tuple:
        """The explicit layers [M | biases]: the ``conv`` layout's, a bias column on each, the bias block."""
        weights = self.expand_random(spec, self.kernels(spec, root, np.float64))
        g, units, out = self.geometry(spec), self.units_per_block(spec, 1), []
        shapes = g.shapes()
        for i in range(1, spec.depth + 1):
            (c_in, h, w), head = shapes[i - 1], i == spec.depth
            outs = g.classes if head else shapes[i][0]
            positions = 1 if head else shapes[i][1] * shapes[i][2]
            hidden_bias, block_bias, block_out, out_bias = (np.asarray(a, np.float64) for a in _bias_draws(
                root, i, c_in, units, outs, spec.distribution, jnp.dtype(spec.dtype)))
            first, second = weights[2 * i - 2], weights[2 * i - 1]
            # explicit hidden unit (c, p, r) of the pairs order has the bias of hidden channel (c, r)
            e = np.arange(first.shape[0])
            c, r = e // (h * w * units), e % units
            first = np.block([[first, hidden_bias[c, r][:, None]],
                              [np.zeros((units, first.shape[1])), block_bias[:, None]]])
            second = np.concatenate([second, np.repeat(block_out, positions, axis=0), np.repeat(out_bias, positions)[:, None]],
                                    axis=1)
            out += [jnp.asarray(first, dtype), jnp.asarray(second, dtype)]
        return tuple(out)

    def kinds(self, spec) -> dict[str, list[str]]:
        """The ``conv`` layout's kinds, each layer ``+bias`` (its bias member holds the rest, module docstring)."""
        return {side: [k + "+bias" for k in kinds] for side, kinds in super().kinds(spec).items()}

    def kernel_shapes(self, spec) -> dict[str, tuple[int, ...]]:
        """The ``conv`` layout's members and the bias members of the module docstring."""
        g, units = self.geometry(spec), self.units_per_block(spec, 1)
        chans, out = [s[0] for s in g.shapes()] + [g.classes], super().kernel_shapes(spec)
        for i in range(1, spec.depth + 1):
            out[f"target_bias_{i - 1}"] = (chans[i],)
            out[f"random_bias_{2 * i - 2}"] = out[f"mask_bias_{2 * i - 2}"] = (chans[i - 1] * units + units,)
            out[f"random_bias_{2 * i - 1}"] = out[f"mask_bias_{2 * i - 1}"] = (chans[i], units + 1)
        return out

    def expand(self, spec, arrays: dict) -> dict:
        """The explicit [M | b] layers of a kernel-form file (members as :meth:`kernel_shapes`), in their
        dtypes; one-line InputError naming the member (NaN or infinity)."""
        for name in [n for n in self.kernel_shapes(spec) if "_bias_" in n and not n.startswith("mask")]:
            if not np.all(np.isfinite(np.asarray(arrays[name], np.float64))):
                raise InputError(f"{name}: NaN or infinite value")
        out = super().expand(spec, arrays)
        units, shapes = self.units_per_block(spec, 1), self.geometry(spec).shapes()
        for i in range(1, spec.depth + 1):
            (c_in, h, w), head = shapes[i - 1], i == spec.depth
            positions = 1 if head else shapes[i][1] * shapes[i][2]
            t = out[f"target_{i - 1}"]
            out[f"target_{i - 1}"] = np.concatenate(
                [t, np.repeat(np.asarray(arrays[f"target_bias_{i - 1}"], t.dtype), t.shape[0] // len(
                    arrays[f"target_bias_{i - 1}"]))[:, None]], axis=1)
            channel = _channel_of(c_in, h * w, units)
            for side in ("random", "mask"):
                first, second = out[f"{side}_{2 * i - 2}"], out[f"{side}_{2 * i - 1}"]
                a, b = (np.asarray(arrays[f"{side}_bias_{k}"], first.dtype) for k in (2 * i - 2, 2 * i - 1))
                column = a[channel] & second.any(axis=0) if side == "mask" else a[channel]
                first = np.block([[first, column[:, None]],
                                  [np.zeros((units, first.shape[1]), first.dtype), a[c_in * units:, None]]])
                second = np.concatenate([second, np.repeat(b, positions, axis=0)], axis=1)
                out[f"{side}_{2 * i - 2}"], out[f"{side}_{2 * i - 1}"] = first, second
        return out

    def compact(self, spec, target, random, masks, kernels) -> dict | None:
        """The kernel-form members of an explicit ticket (the ``conv`` layout's of its weight parts, and the
        bias members read off its bias columns), or None where :meth:`expand` of them would not give its
        arrays back bit for bit (a broken tie, a bias kept at some positions of its channel only)."""
        g, units, shapes = self.geometry(spec), self.units_per_block(spec, 1), self.geometry(spec).shapes()
        given = {f"target_{i}": np.asarray(a) for i, a in enumerate(target)} | \
            {f"random_{k}": np.asarray(a) for k, a in enumerate(random)} | {f"mask_{k}": np.asarray(a) for k, a in enumerate(masks)}
        if len(given) != 2 * spec.random_depth + spec.depth or any(
                given.get(n, np.empty(0)).shape != s for n, s in self._explicit_shapes(spec).items()):
            return None
        bare, out = {}, {}
        for i in range(1, spec.depth + 1):
            (c_in, h, w), head = shapes[i - 1], i == spec.depth
            positions = 1 if head else shapes[i][1] * shapes[i][2]
            hidden = c_in * h * w * units
            t = given[f"target_{i - 1}"]
            bare[f"target_{i - 1}"] = t[:, :-1]
            out[f"target_bias_{i - 1}"] = np.ascontiguousarray(t[::positions, -1])
            first_of = _first_unit_of(c_in, h * w, units)
            for side in ("random", "mask"):
                first, second = given[f"{side}_{2 * i - 2}"], given[f"{side}_{2 * i - 1}"]
                bare[f"{side}_{2 * i - 2}"], bare[f"{side}_{2 * i - 1}"] = first[:hidden, :-1], second[:, :hidden]
                column = first[:hidden, -1]
                if side == "mask":
                    kept = np.zeros(c_in * units, bool)
                    np.logical_or.at(kept, _channel_of(c_in, h * w, units), column)
                    per_channel = kept
                else:
                    per_channel = column[first_of]
                out[f"{side}_bias_{2 * i - 2}"] = np.concatenate([per_channel, first[hidden:, -1]]).astype(first.dtype)
                block = second[:, hidden:].reshape(-1, positions, units + 1)
                out[f"{side}_bias_{2 * i - 1}"] = (block.any(axis=1) if side == "mask" else block[:, 0]).astype(second.dtype)
        # the weight parts are a ``conv`` ticket of the same geometry and c
        weights = CONV.compact(dataclasses.replace(spec, layout="conv"),
                                      [bare[f"target_{i}"] for i in range(spec.depth)],
                                      [bare[f"random_{k}"] for k in range(spec.random_depth)],
                                      [bare[f"mask_{k}"] for k in range(spec.random_depth)], kernels)
        if weights is None:
            return None
        out |= weights
        try:
            back = self.expand(spec, out)
        except InputError:
            return None
        return out if all(_same_bits(back[n], given[n]) for n in given) else None

    def _explicit_shapes(self, spec) -> dict:
        shapes = {f"target_{i}": (b, a + 1) for i, (a, b) in enumerate(zip(spec.dims[:-1], spec.dims[1:]))}
        return shapes | {f"{m}_{k}": s for k, s in enumerate(spec.shapes()) for m in ("random", "mask")}

    def params(self, spec) -> int:
        """The ``conv`` layout's kernel-form count, plus per pair: the hidden channels' biases (C_{i-1}·U), the
        bias block's biases and its tied weights (U·(1 + C_i)), the output biases (C_i; classes for the head)."""
        g, units = self.geometry(spec), self.units_per_block(spec, 1)
        chans = [s[0] for s in g.shapes()] + [g.classes]
        return super().params(spec) + sum(c_in * units + units * (1 + c_out) + c_out
                                          for c_in, c_out in zip(chans, chans[1:]))

    def kept(self, spec, masks) -> int:
        """Kept parameters in kernel form: the ``conv`` count of the weight parts, then each tied bias group
        (a hidden channel's bias, a bias-block weight to an output channel, an output bias) kept at one
        position or more once, and each kept bias-block bias."""
        g, units = self.geometry(spec), self.units_per_block(spec, 1)
        shapes, weights, count = g.shapes(), [], 0
        for i in range(1, spec.depth + 1):
            first, second = (np.asarray(masks[k], bool) for k in (2 * i - 2, 2 * i - 1))
            hidden = first.shape[0] - units
            weights += [first[:hidden, :-1], second[:, :hidden]]
            (c_in, h, w), head = shapes[i - 1], i == spec.depth
            outs, positions = (g.classes, 1) if head else (shapes[i][0], shapes[i][1] * shapes[i][2])
            e = np.arange(hidden)
            channel = (e // (h * w * units)) * units + e % units
            count += len(np.unique(channel[first[:hidden, -1]]))                   # hidden channels' biases
            count += int(np.count_nonzero(first[hidden:, -1]))                      # the bias block's biases
            count += int(np.count_nonzero(second[:, hidden:-1].reshape(outs, positions, units).any(axis=1)))
            count += int(np.count_nonzero(second[:, -1].reshape(outs, positions).any(axis=1)))
        return super().kept(spec, weights) + count

    def ties(self, spec) -> dict[int, np.ndarray]:
        """The ``conv`` ties of the weight columns, and across positions the bias block's weight to each output
        channel and each output bias; the hidden channels' biases are not tied (as a first layer's weights)."""
        g, units = self.geometry(spec), self.units_per_block(spec, 1)
        shapes, out = g.shapes(), {}
        for k, tied in super().ties(spec).items():
            i = k // 2
            head = i == spec.depth
            outs, positions = (g.classes, 1) if head else (shapes[i][0], shapes[i][1] * shapes[i][2])
            base = int(tied.max()) + 1
            channel = np.repeat(np.arange(outs), positions)
            block = base + channel[:, None] * units + np.arange(units)[None, :]
            own = base + outs * units + channel[:, None]
            out[k] = np.concatenate([tied, block, own], axis=1)
        return out


LAYOUT = ConvBiased()


def _channel_of(channels: int, positions: int, units: int) -> np.ndarray:
    """For each explicit hidden unit e = (c·positions + p)·U + r (the ``pairs`` order), its channel c·U + r."""
    e = np.arange(channels * positions * units)
    return (e // (positions * units)) * units + e % units


def _first_unit_of(channels: int, positions: int, units: int) -> np.ndarray:
    """For each hidden channel c·U + r, its explicit unit at position 0, (c·positions)·U + r."""
    ch = np.arange(channels * units)
    return (ch // units) * positions * units + ch % units


def _bias_draws(root, i, c_in, units, outs, distribution, dtype):
    """Pair i's biases (NumPy): the hidden channels' (C_in, U), the bias block's biases (U,) and weights
    (outs, U), the pair's output biases (outs,); keyed as the module docstring says. Computed at
    power-of-two sizes and cut, as :func:`slth.nets.layouts.conv._draws` (the same bits)."""
    n = c_in * units
    length = _bucket(outs, MIN_LENGTH)
    cs, rs = np.zeros((2, _units(n, 1)), np.int32)
    cs[:n], rs[:n] = np.repeat(np.arange(c_in), units), np.tile(np.arange(units), c_in)
    rows = np.zeros(_units(units, length + 1), np.int32)
    rows[:units] = np.arange(units)
    hidden_bias, block_bias, block_out, out_bias = (np.asarray(a) for a in _padded_bias_draws(
        root, i, c_in, cs, rs, rows, length, distribution, dtype))
    return (hidden_bias[:n].reshape(c_in, units), block_bias[:units], block_out[:units, :outs].T,
            out_bias[:outs])


@functools.partial(jax.jit, static_argnums=(6, 7, 8))
def _padded_bias_draws(root, i, c_in, cs, rs, rows, outs, distribution, dtype):
    """The draws of :func:`_bias_draws` for the hidden channels (cs[k], rs[k]) and the bias-block units
    ``rows``, ``outs`` output biases and weights per unit (c_in, the bias block's index, is traced)."""
    law = DISTRIBUTIONS[distribution]
    pair_key = jax.random.fold_in(root, i)

    def hidden(c, r):
        return law(jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(pair_key, c), r), BIAS_WORD), (), dtype)

    def block(r):
        k_in, k_out = jax.random.split(jax.random.fold_in(jax.random.fold_in(pair_key, c_in), r))
        return law(k_in, (), dtype), law(k_out, (outs,), dtype)

    block_bias, block_out = jax.vmap(block)(rows)
    return jax.vmap(hidden)(cs, rs), block_bias, block_out, law(jax.random.fold_in(pair_key, BIAS_WORD), (outs,), dtype)
