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

A wider c extends a narrower one bit for bit (every draw is keyed by unit indices). Kernel form: not yet;
ticket files of this layout are explicit (meta ``kinds`` all ``"dense"``), and its parameter counts are in
kernel form all the same (:meth:`ConvBiased.params`). Skips are refused (``allows_skips`` is False).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from slth.nets.laws import DISTRIBUTIONS
from slth.nets.layouts.conv import Conv, _hidden_order

#: fold_in word of the hidden channels' biases and of the pair's output biases (no channel index reaches it).
BIAS_WORD = 2 ** 31


class ConvBiased(Conv):
    """The ``conv-biased`` layout (see the module docstring; members: :mod:`slth.nets.layouts`)."""

    name = "conv-biased"
    has_biases = True
    allows_skips = False

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
        """Explicit only (no kernel form with biases yet): every layer ``"dense"``."""
        return {"target": ["dense"] * spec.depth, "random": ["dense"] * spec.random_depth}

    def compact(self, spec, target, random, masks, kernels) -> None:
        """No kernel form with biases yet: a ticket file of this layout is explicit."""
        return None

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


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _bias_draws(root, i, c_in, units, outs, distribution, dtype):
    """Pair i's biases: the hidden channels' (C_in, U), the bias block's biases (U,) and weights (outs, U), the
    pair's output biases (outs,); keyed as the module docstring says."""
    law = DISTRIBUTIONS[distribution]
    pair_key = jax.random.fold_in(root, i)

    def hidden(c, r):
        return law(jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(pair_key, c), r), BIAS_WORD), (), dtype)

    def block(r):
        k_in, k_out = jax.random.split(jax.random.fold_in(jax.random.fold_in(pair_key, c_in), r))
        return law(k_in, (), dtype), law(k_out, (outs,), dtype)

    cs, rs = jnp.repeat(jnp.arange(c_in), units), jnp.tile(jnp.arange(units), c_in)
    hidden_bias = jax.vmap(hidden)(cs, rs).reshape(c_in, units)
    block_bias, block_out = jax.vmap(block)(jnp.arange(units))
    out_bias = law(jax.random.fold_in(pair_key, BIAS_WORD), (outs,), dtype)
    return hidden_bias, block_bias, block_out.T, out_bias
