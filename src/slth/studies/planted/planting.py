"""Planting a target inside a random network, so that an exact (ε = 0) ticket exists at a known sparsity.

Fischer & Burkholz 2022 ("Plant 'n' Seek: Can You Find the Winning Ticket?", ICLR 2022, arXiv
2111.11153, §3) ask whether ticket searches find a ticket that is known to exist. Their benchmark
plants a target into a random network; this module does the same for slth's bias-free ReLU targets
f(x) = W_l σ(··· σ(W_1 x)), with a planting that keeps the ticket exact in floating point.

The random network. It has the target's depth l and widths n_0 = d_0 (inputs), n_l = d_l (outputs) and
hidden n_i >= d_i (``widths``). Its weights are i.i.d. of ``law`` (:data:`LAWS`), He scaled (variance
2/fan_in, fan_in = n_{i-1}), layer i drawn from fold_in(key(seed), i), 1 <= i <= l.

Planting. In every hidden layer i a random injection (its own stream, fold_in(key(seed), :data:`PLANT`),
then fold_in(·, i)) picks the unit units[i][k] that stands for target neuron k; inputs and outputs
stand for themselves. The weights between planted units of consecutive layers are overwritten with
α_i W_i: network[i][units[i][k], units[i-1][j]] = α_i W_i[k, j]; every other weight stays random
(including the other incoming weights of a planted unit: the ticket prunes them). The planted mask
keeps exactly those d_i d_{i-1} edges per layer (also where W_i[k, j] = 0), so the fraction of
weights kept is Σ d_i d_{i-1} / Σ n_i n_{i-1}.

Exactness. The scales α_i are powers of two with Π α_i = 1 exactly (:func:`scales_for`). A bias-free
ReLU network is positively homogeneous, σ(a z) = a σ(z) for a > 0, so the ticket (network * mask),
whose non-planted hidden units have no incoming weight and output σ(0) = 0, computes
Π α_i · f(x) = f(x) in exact arithmetic. In float64 multiplying by a power of two is exact (barring
under- or overflow, refused below) and commutes with every rounding, and the pruned weights enter as
exact zeros, so the ticket differs from f only by the order in which the matrix products sum their
terms: a few units of round-off.

Scales. α_i is chosen so that the planted weights look like the random ones in magnitude, which is
what makes the ticket hard to spot by magnitude (IMP) rather than trivially visible. With σ_i the
law's standard deviation √(2/n_{i-1}) and rms(W_i) the root mean square of the target's layer,
r_i = log2(σ_i / rms(W_i)) is the exponent that would match layer i alone. The product constraint
fixes Σ log2 α_i = 0, so the exponents are the integers e_i with Σ e_i = 0 nearest (least squares) to
r_i − mean(r): every layer's planted weights are off from the random ones by the same factor
2^-mean(r) up to a rounding of at most one octave, instead of all the mismatch landing on the last
layer. (Plant 'n' Seek rescales per neuron by a search for a correlated random unit; a per-layer power
of two is what keeps slth's ticket exact.)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import jax
import numpy as np

from slth import checks, nets, precision
from slth.errors import InputError

#: Weight laws of the random network, both of variance 2/fan_in (He et al. 2015): ``he-normal``
#: N(0, 2/fan_in), ``he-uniform`` U[−√(6/fan_in), √(6/fan_in)].
LAWS = ("he-normal", "he-uniform")

#: ``fold_in`` datum of the planting stream (the injections). Layer i >= 1 of the random network uses
#: fold_in(key(seed), i) and :func:`slth.measure.lower_bound_key` fold_in(key(seed), 0), so this stream
#: shares no key with either (l < 2^32 − 2 layers).
PLANT = 2**32 - 2


@dataclasses.dataclass(frozen=True)
class Planted:
    """A random network with a target planted in it (:func:`plant`). NumPy arrays, float64.

    Fields:
      target: the target's l matrices (d_i, d_{i-1}).
      network: l matrices (n_i, n_{i-1}), n_0 = d_0, n_l = d_l, n_i >= d_i.
      mask: l bool matrices of the network's shapes: the planted ticket (edges between planted units).
      units: per layer 0..l an int array (d_i,): the random unit standing for each target neuron
        (the identity for the inputs and the outputs).
      scales: α_1..α_l, powers of two, product exactly 1.
      seed: the seed of the network and of the planting. law: the random weights' law (:data:`LAWS`).
    """

    target: tuple
    network: tuple
    mask: tuple
    units: tuple
    scales: tuple[float, ...]
    seed: int
    law: str = "he-normal"

    def ticket(self) -> tuple:
        """network * mask: the exact ticket (pruned weights +0.0)."""
        return tuple(np.where(m, w, 0.0) for w, m in zip(self.network, self.mask))

    @property
    def widths(self) -> tuple[int, ...]:
        """n_0..n_l, the random network's widths."""
        return nets.dims_of(self.network)

    @property
    def fraction_kept(self) -> float:
        """Fraction of the network's weights the planted ticket keeps: Σ d_i d_{i-1} / Σ n_i n_{i-1}."""
        return fraction_kept(self.mask)


def fraction_kept(mask: Sequence) -> float:
    """Kept weights over all weights of a mask (fraction of weights KEPT, not pruned)."""
    return sum(int(np.count_nonzero(m)) for m in mask) / sum(int(np.size(m)) for m in mask)


@precision.float64
def plant(target: Sequence, widths: Sequence[int], *, seed: int, law: str = "he-normal") -> Planted:
    """Plant ``target`` in a random network of hidden widths ``widths`` (see the module docstring).

    Args:
      target: l finite matrices (d_i, d_{i-1}) that chain (no norm condition: planting is exact for any
        scale). widths: the hidden widths n_1..n_{l-1} (l − 1 integers, n_i >= d_i; empty for l = 1).
      seed: integer in [0, 2**63): the random weights and the injections. law: one of :data:`LAWS`.
    Returns:
      Planted, whose ``ticket()`` computes the target to round-off.
    Raises:
      InputError (one line, before any work): a target that is not a chain of finite matrices, the
      wrong number of widths, a width that is not an integer or narrower than its target layer, an
      unknown law, a seed outside [0, 2**63), a target whose rescaled entries under- or overflow.
    """
    target, widths, seed, law = _check(target, widths, seed, law)
    dims = nets.dims_of(target)
    n = (dims[0], *widths, dims[-1])
    scales = scales_for(target, n)
    planted = [alpha * w for alpha, w in zip(scales, target)]
    if not all(np.array_equal(p / alpha, w) for p, alpha, w in zip(planted, scales, target)):
        raise InputError(f"target entries between {min(np.abs(w).min() for w in target):.3g} and "
                         f"{max(np.abs(w).max() for w in target):.3g} under- or overflow when scaled by "
                         f"{scales}; rescale the target to entries of moderate size")
    root = jax.random.key(seed)
    stream = jax.random.fold_in(root, PLANT)
    units = [np.arange(dims[0])]
    for i in range(1, len(target)):
        order = jax.random.permutation(jax.random.fold_in(stream, i), n[i])
        units.append(np.asarray(order[:dims[i]], np.int64))
    units.append(np.arange(dims[-1]))
    network, mask = [], []
    for i in range(1, len(n)):
        w = np.array(_sample(law, jax.random.fold_in(root, i), (n[i], n[i - 1])), np.float64)
        m = np.zeros(w.shape, bool)
        rows, cols = np.ix_(units[i], units[i - 1])
        w[rows, cols] = planted[i - 1]
        m[rows, cols] = True
        network.append(w)
        mask.append(m)
    return Planted(target=target, network=tuple(network), mask=tuple(mask), units=tuple(units),
                   scales=scales, seed=seed, law=law)


def scales_for(target: Sequence, widths: Sequence[int]) -> tuple[float, ...]:
    """α_1..α_l for ``target`` in a network of widths n_0..n_l: 2^e_i, e the integers with Σ e_i = 0
    nearest (least squares) to r − mean(r), r_i = log2(√(2/n_{i-1}) / rms(W_i)) (r_i = 0 for an all-zero
    layer). The optimum: e = ⌊t⌋ plus 1 on the −Σ⌊t⌋ entries of largest fractional part (ties to the
    lower index), t = r − mean(r).

    >>> scales_for([np.full((2, 2), 0.5)], (2, 2))
    (1.0,)
    """
    r = []
    for w, fan_in in zip(target, widths[:-1]):
        rms = float(np.sqrt(np.mean(np.square(np.asarray(w, np.float64)))))
        r.append(math.log2(math.sqrt(2.0 / fan_in) / rms) if rms > 0 else 0.0)
    t = np.asarray(r) - np.mean(r)
    e = np.floor(t)
    up = int(round(-e.sum()))
    order = np.argsort(-(t - e), kind="stable")
    e[order[:up]] += 1
    return tuple(float(2.0 ** int(k)) for k in e)


def precision_recall(found_mask: Sequence, planted_mask: Sequence) -> tuple[float, float]:
    """Precision and recall of a found mask against the planted one, over edges (weights):
    precision = |found ∩ planted| / |found|, recall = |found ∩ planted| / |planted|.
    A found mask that keeps nothing has precision nan (undefined) and recall 0.

    >>> precision_recall([np.array([[True, True], [False, False]])], [np.array([[True, False], [True, False]])])
    (0.5, 0.5)
    """
    planted_mask = check_mask(planted_mask, [np.shape(m) for m in planted_mask], "planted_mask")
    found_mask = check_mask(found_mask, [m.shape for m in planted_mask], "found_mask")
    both = sum(int(np.count_nonzero(f & p)) for f, p in zip(found_mask, planted_mask))
    found = sum(int(np.count_nonzero(f)) for f in found_mask)
    planted = sum(int(np.count_nonzero(p)) for p in planted_mask)
    return (both / found if found else math.nan), (both / planted if planted else math.nan)


def check_mask(mask, shapes: Sequence[tuple[int, ...]], name: str = "mask") -> tuple:
    """``mask`` as a tuple of NumPy bool arrays of ``shapes`` (one per layer), or one InputError."""
    if isinstance(mask, np.ndarray) or not isinstance(mask, Sequence) or len(mask) != len(shapes):
        length = f" of length {len(mask)}" if isinstance(mask, Sequence) else ""
        raise InputError(f"{name} must be a sequence of {len(shapes)} bool arrays (one per layer); "
                         f"got {type(mask).__name__}{length}")
    out = []
    for i, (m, shape) in enumerate(zip(mask, shapes)):
        m = np.asarray(m)
        if m.dtype != np.bool_ or m.shape != tuple(shape):
            raise InputError(f"{name} layer {i} has dtype {m.dtype} and shape {m.shape}; expected bool of "
                             f"shape {tuple(shape)}")
        out.append(m)
    return tuple(out)


def _check(target, widths, seed, law):
    """Every argument of :func:`plant`, checked before any work."""
    seed = checks.seed("seed", seed)
    law = checks.choice("law", law, LAWS)
    if isinstance(target, np.ndarray) or not isinstance(target, Sequence):
        raise InputError(f"target must be a sequence of (d_i, d_(i-1)) matrices; got {type(target).__name__}")
    nets.check_target(target, max_norm=math.inf)
    target = tuple(np.asarray(w, np.float64) for w in target)
    return target, check_widths(nets.dims_of(target), widths), seed, law


def check_widths(dims: Sequence[int], widths) -> tuple[int, ...]:
    """The hidden widths n_1..n_{l-1} of a random network that a target of widths ``dims`` = d_0..d_l
    can be planted in (l − 1 integers, n_i >= d_i), as a tuple, or one InputError."""
    dims = tuple(dims)
    if isinstance(widths, np.ndarray) and widths.ndim == 1:
        widths = tuple(widths.tolist())
    if isinstance(widths, (str, np.ndarray)) or not isinstance(widths, Sequence):
        raise InputError(f"widths {widths!r} must be a sequence of the {len(dims) - 2} hidden widths n_1..n_(l-1)")
    if len(widths) != len(dims) - 2:
        raise InputError(f"widths {tuple(widths)} has {len(widths)} hidden widths; the target {dims} has depth "
                         f"{len(dims) - 1}, so exactly {len(dims) - 2} are allowed")
    widths = tuple(checks.integer(f"widths[{i}]", n, low=1) for i, n in enumerate(widths))
    narrow = [(i + 1, n, d) for i, (n, d) in enumerate(zip(widths, dims[1:-1])) if n < d]
    if narrow:
        i, n, d = narrow[0]
        raise InputError(f"the target's layer {i} ({d} neurons) is wider than the random network's layer {i} "
                         f"({n} units): planting needs n_i >= d_i (widths {widths}, target {dims})")
    return widths


def _sample(law: str, key, shape):
    """He-scaled weights of ``law``, (out, in), float64 (inside :func:`plant`'s 64-bit scope)."""
    fan_in = shape[1]
    if law == LAWS[0]:
        return jax.random.normal(key, shape, np.float64) * math.sqrt(2.0 / fan_in)
    bound = math.sqrt(6.0 / fan_in)
    return jax.random.uniform(key, shape, np.float64, -bound, bound)
