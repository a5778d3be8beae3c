"""Two-sided error of a ticket: the certificate (a proof), the adversarial lower bound, per-weight errors.

The true error E(S) = sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ lies in [lower_bound, certificate] (docs/theory.md §3).
Everything on this path is float64: NumPy, or JAX under slth's 64-bit scope (:mod:`slth.precision`),
which needs no global ``jax_enable_x64``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse

from slth import nets, precision
from slth.errors import InputError

if TYPE_CHECKING:   # shapes for the reader (jaxtyping); tests/test_shapes.py checks they resolve
    from jaxtyping import ArrayLike, Float

#: Round-off allowed when comparing a lower bound with a certificate in float64: both are sums of a
#: few thousand products of numbers of size <= 1, so their rounding error is far below this.
ROUNDOFF = 1e-12


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class PairMaps:
    """What layer pair i computes, z ↦ A⁺ σ(z) − A⁻ σ(−z) (docs/theory.md §2), both (d_i, d_{i-1})."""

    plus: np.ndarray
    minus: np.ndarray


def pair_maps(random: Sequence, masks: Sequence, *, biases: bool = False) -> list[PairMaps]:
    """Effective maps of every layer pair of a pruned 2l-deep network, in float64 (NumPy, no JAX).

    A pair (R_1, R_2) whose first layer keeps at most one weight u_r per hidden unit r (at input j_r)
    computes Σ_r R_2[k, r] σ(u_r z_{j_r}) = Σ_{u_r>0} R_2[k,r] u_r σ(z_j) + Σ_{u_r<0} R_2[k,r] |u_r| σ(−z_j),
    so A⁺ = R_2 · relu(R_1) and A⁻ = −R_2 · relu(−R_1), computed with R_1 stored sparse.

    With ``biases`` (the ``biased`` layout, :mod:`slth.nets.affine`) every layer reads its input with a
    constant 1 appended: R_1's last column is the units' biases (input j = d_{i-1}, the constant) and
    R_2's last column the pair's output biases, which, read against σ(1) = 1, are added to A⁺'s last
    column. The pair then computes z ↦ A⁺σ([z; 1]) − A⁻σ(−[z; 1]), A± of shape (d_i, d_{i-1} + 1).

    Raises:
      InputError: a hidden unit keeps more than one incoming weight (not the block structure).
    """
    if len(random) % 2 or len(random) != len(masks):
        raise InputError(f"expected an even number of random layers with as many masks; got "
                         f"{len(random)} layers and {len(masks)} masks")
    maps = []
    for i in range(len(random) // 2):
        # Only the kept weights are read: R_1 as (unit, input, value) triples, R_2 in the columns of the
        # units that keep a non-zero incoming weight. The products and their order (units ascending)
        # are those of the dense form, so the maps are the same bit for bit.
        first = np.asarray(random[2 * i])
        units, inputs = _kept(np.asarray(masks[2 * i]))
        u = np.asarray(first[units, inputs], np.float64)
        units, inputs, u = units[u != 0], inputs[u != 0], u[u != 0]
        per_row = np.bincount(units, minlength=first.shape[0])
        if per_row.max(initial=0) > 1:
            r = int(np.argmax(per_row))
            raise InputError(
                f"layer {2 * i} keeps {per_row[r]} weights in hidden unit {r}; the certificate needs the "
                "block structure (at most one kept incoming weight per hidden unit)")
        second = np.asarray(random[2 * i + 1])
        out_bias = None
        if biases:
            out_bias = np.where(np.asarray(masks[2 * i + 1])[:, -1], np.asarray(second[:, -1], np.float64), 0.0)
        # R_2's columns of those units (a copy), its pruned entries zeroed in place: one array of d_i × units
        # instead of two (the second's fresh pages cost 0.2 s on the Pensia-scale ticket).
        r2 = np.asarray(second[:, units], np.float64)
        np.copyto(r2, 0.0, where=~np.asarray(masks[2 * i + 1])[:, units])
        shape = (len(units), first.shape[1])
        rows = np.arange(len(units))
        plus = scipy.sparse.csr_matrix((np.maximum(u, 0.0), (rows, inputs)), shape=shape)
        minus = scipy.sparse.csr_matrix((np.maximum(-u, 0.0), (rows, inputs)), shape=shape)
        plus.eliminate_zeros()
        minus.eliminate_zeros()
        a_plus = np.asarray((plus.T @ r2.T).T)
        if out_bias is not None:
            a_plus[:, -1] += out_bias
        maps.append(PairMaps(plus=a_plus, minus=-np.asarray((minus.T @ r2.T).T)))
    return maps


def _kept(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D boolean mask with few kept entries (the same arrays), reading it eight entries
    at a time: 0.01 s against 0.07 s for the Pensia-scale ticket's first layer (25.8 M entries, one kept per
    row at most)."""
    flat = mask.reshape(-1)
    if mask.dtype != np.bool_ or mask.size == 0 or flat.size % 8 or not flat.flags.c_contiguous:
        return np.nonzero(mask)
    words = np.flatnonzero(flat.view(np.uint64))
    word, offset = np.nonzero(flat.reshape(-1, 8)[words])
    rows, cols = np.divmod(words[word] * 8 + offset, mask.shape[1])
    return rows, cols


def weight_errors(target: Sequence, maps: Sequence[PairMaps]) -> list[np.ndarray]:
    """Per-weight errors: for pair 1, the (d_1, 2 d_0) matrix [A⁺ − W | A⁻ − W]; for i >= 2,
    A⁺ − W (the negative part acts on σ(−z) = 0 there, docs/theory.md §2.3). In float64 (NumPy)."""
    errs = []
    for i, (w, m) in enumerate(zip(target, maps)):
        w = np.asarray(w, np.float64)
        errs.append(np.concatenate([m.plus - w, m.minus - w], axis=1) if i == 0 else m.plus - w)
    return errs


def certificate(target: Sequence[Float[ArrayLike, "d_out d_in"]], maps: Sequence[PairMaps]) -> float:
    """Exact upper bound on E(S) for inputs in the unit ball (docs/theory.md §3):

        E(S) <= Π_i (s_i + a_i) − Π_i s_i,   s_i = ‖W_i‖_2,  a_i = ‖pair error map‖_2,

    a_1 = ‖[A⁺_1 − W_1 | A⁻_1 − W_1]‖_2 and a_i = ‖A⁺_i − W_i‖_2 for i >= 2. In float64 (NumPy, no JAX).
    """
    s = nets.spectral_norms(target)
    a = np.array([np.linalg.norm(e, 2) for e in weight_errors(target, maps)])
    return float(np.prod(s + a) - np.prod(s))


def max_weight_error(target: Sequence, maps: Sequence[PairMaps]) -> float:
    return float(max(np.abs(e).max() for e in weight_errors(target, maps)))


@dataclasses.dataclass(frozen=True)
class LowerBound:
    """A lower bound on E(S) and the input that attains it (‖witness‖ = 1)."""

    value: float
    witness: Float[np.ndarray, " d_0"]


#: Most activations (batch rows × the widest layer) :func:`gap_at` holds at once: 2^24 float64, 128 MiB.
GAP_CHUNK_ELEMENTS = 1 << 24


def gap_rows(widest: int) -> int:
    """Inputs :func:`gap_at` evaluates at once through a network whose widest layer has ``widest``
    units: all of them up to :data:`GAP_CHUNK_ELEMENTS` activations, else chunks of this many rows
    (so a wide random network's measurement needs memory for one chunk, not for the whole batch)."""
    return max(1, GAP_CHUNK_ELEMENTS // max(1, widest))


@precision.float64
def gap_at(target: Sequence[Float[ArrayLike, "d_out d_in"]], pruned: Sequence[Float[ArrayLike, "out in"]],
           x: Float[ArrayLike, "batch d_0"], *, biases: bool = False, skips: tuple = (),
           random_skips: tuple = ()) -> Float[np.ndarray, " batch"]:
    """‖f(x) − g_S(x)‖_2 for a batch x (batch, d_0), both networks through the reference forward
    pass in float64 (the masked random weights themselves; JAX under :mod:`slth.precision`'s scope).
    Rows are independent, so a batch wider than :func:`gap_rows` allows is evaluated in chunks of that
    many rows. ``biases``: every layer's last column is its bias (:func:`slth.nets.affine.forward`).
    ``skips``, ``random_skips``: the skip edges of the target and of the random network (a residual target,
    :mod:`slth.nets.residual`; ``RandomSpec.skip_edges``)."""
    x = jnp.asarray(x, jnp.float64)
    target = [jnp.asarray(w, jnp.float64) for w in target]
    pruned = [jnp.asarray(w, jnp.float64) for w in pruned]
    rows = gap_rows(max(np.shape(w)[0] for w in (*target, *pruned)))

    def gaps(xs):
        return np.asarray(jnp.linalg.norm(nets.forward(target, xs, skips=skips, biases=biases)
                                          - nets.forward(pruned, xs, skips=random_skips, biases=biases), axis=1))

    if x.shape[0] <= rows:
        return gaps(x)
    return np.concatenate([gaps(x[i:i + rows]) for i in range(0, x.shape[0], rows)])


def compact_forward(maps: Sequence[PairMaps], x, *, biases: bool = False, skips: tuple = ()):
    """The pruned network evaluated through its pair maps, z ↦ A⁺σ(z) − A⁻σ(−z) per pair, on a
    batch x (batch, d_0). Mathematically identical to the masked network (docs/theory.md §2, the identity
    the tests check) at a cost of O(d_i d_{i-1}) per pair instead of O(d_i h_i). JAX, in the dtype of
    its inputs (float64 inside :func:`lower_bound`). ``biases``: z is read as [z; 1] (:func:`pair_maps`).
    ``skips``: the target's skip edges (:func:`slth.nets.residual.edges`), added as in :func:`slth.nets.forward`."""
    into: dict[int, list[int]] = {}
    for a, b in skips:
        into.setdefault(b, []).append(a)
    outputs = [x]
    h = x
    for i, m in enumerate(maps, start=1):
        if biases:
            h = jnp.concatenate([h, jnp.ones(h.shape[:-1] + (1,), h.dtype)], axis=-1)
        h = jax.nn.relu(h) @ m.plus.T - jax.nn.relu(-h) @ m.minus.T
        for a in into.get(i, ()):
            h = h + outputs[a]
        if i < len(maps):
            h = jax.nn.relu(h)
        outputs.append(h)
    return h


@precision.float64
def lower_bound(target: Sequence[Float[ArrayLike, "d_out d_in"]], pruned: Sequence[Float[ArrayLike, "out in"]], *,
                key, maps: Sequence[PairMaps] | None = None, starts: int = 32, steps: int = 200,
                random_points: int = 2048, scouts: int | None = None, scout_steps: int = 30,
                perturb: float = 1.0, biases: bool = False, skips: tuple = (),
                random_skips: tuple = ()) -> LowerBound:
    """Adversarial lower bound on E(S): a multi-start ascent of ‖f(x) − g_S(x)‖ over the unit sphere,
    or over the whole unit ball for networks with biases.

    Both networks are positively homogeneous (ReLU, no biases), so ‖f(x) − g(x)‖ = ‖x‖·‖f(x̂) − g(x̂)‖
    and the supremum over the ball is attained on the sphere: projecting onto the sphere loses nothing.
    The search (:func:`_ascend`) draws ``random_points`` points on the sphere, the ± coordinate
    directions among them; the ``scouts`` best (default min(4·starts, random_points)) take
    ``scout_steps`` short ascent steps; the ``starts`` best of those ascend ``steps`` more. Each step
    is a normalised gradient step with a geometrically decaying step size, raced (with ``perturb`` > 0) against a random step of ``perturb`` times that
    size from the start's best point so far; the best point of all trajectories is kept. The gap is
    piecewise linear with many kinks where gradient steps alone stall, so the random steps matter
    (``perturb=0`` turns them off). With ``maps`` the search runs on the compact form of the ticket
    (:func:`compact_forward`, much cheaper for wide random networks); either way the value returned is
    the reference gap (the masked random weights themselves, :func:`gap_at`) at the best point found,
    random points included, so it is a true lower bound. With ``maps`` only the points whose compact
    gap is within :data:`NEAR_TIE` of the best go through the reference pass (the same argmax, at a
    fraction of the cost), and the value is :func:`gap_at` of the witness alone, the number
    ``slth verify`` recomputes. The same key gives the same bits. In float64 (JAX under
    :mod:`slth.precision`'s scope; ``pruned`` is read as float64, so pass a float64 ticket's weights
    as they are, not rounded to float32).

    With ``biases`` (every layer's last column its bias, :mod:`slth.nets.affine`) the networks are not
    positively homogeneous and the supremum may lie inside the ball: the points are drawn uniformly in
    the ball (radius U^(1/d_0) times a sphere point), the origin and the ± coordinate directions
    among them, and every step projects onto the ball, x / max(1, ‖x‖), instead of the sphere.

    With ``skips`` and ``random_skips`` (a residual target: the skip edges of the target and of the random
    network, :mod:`slth.nets.residual`) both networks add their identities; without biases they stay
    positively homogeneous, so the search stays on the sphere (with biases too, it covers the ball).

    Args:
      target: l matrices (d_i, d_{i-1}). pruned: the ticket's masked random weights.
      key: a JAX PRNG key. maps: optional pair maps of the same ticket (:func:`pair_maps`).
      starts >= 1, steps >= 0, random_points >= scouts >= starts, scout_steps >= 0, perturb >= 0
      (scouts = starts or scout_steps = 0 skips the scouting stage).
    Returns:
      LowerBound(value, witness (d_0,)).
    """
    if scouts is None:
        scouts = max(starts, min(4 * starts, random_points))
    if (starts < 1 or steps < 0 or random_points < starts or scouts < starts or random_points < scouts
            or scout_steps < 0 or not perturb >= 0):
        raise InputError(f"lower_bound needs starts >= 1, steps >= 0, random_points >= scouts >= starts, "
                         f"scout_steps >= 0, perturb >= 0; got starts={starts}, steps={steps}, "
                         f"random_points={random_points}, scouts={scouts}, scout_steps={scout_steps}, "
                         f"perturb={perturb}")
    target = tuple(jnp.asarray(w, jnp.float64) for w in target)
    if maps is None:
        model = tuple(jnp.asarray(w, jnp.float64) for w in pruned)
    else:
        model = tuple(PairMaps(jnp.asarray(m.plus), jnp.asarray(m.minus)) for m in maps)
    skips, random_skips = _edges(skips), _edges(random_skips)
    x = _ascend(target, model, key, starts, steps, random_points, maps is not None, scouts, scout_steps,
                float(perturb), bool(biases), skips)
    x = np.asarray(x)
    if maps is not None:
        # The compact form is the masked network (docs/theory.md §2) up to round-off far below NEAR_TIE, so the
        # reference argmax over all points lies among the points within NEAR_TIE of the compact maximum:
        # only those go through the (wide) reference forward pass.
        compact = np.asarray(_compact_gaps(target, model, x, bool(biases), skips))
        top = float(compact.max())
        x = x[compact >= top - NEAR_TIE * max(1.0, top)]
    gaps = gap_at(target, pruned, x, biases=biases, skips=skips, random_skips=random_skips)
    best = int(np.argmax(gaps))
    value = float(gaps[best])
    if maps is not None and len(x) > 1:
        value = float(gap_at(target, pruned, x[best:best + 1], biases=biases, skips=skips,
                             random_skips=random_skips)[0])   # what verify recomputes
    return LowerBound(value=value, witness=x[best])


#: Points whose compact-form gap is within this (relative, absolute below 1) of the best compact gap
#: are evaluated through the reference forward pass by :func:`lower_bound`. The two forms differ by
#: float64 round-off of sums of a few ten thousand products of numbers <= 1 (about 1e-13 at most),
#: so this margin keeps every point that can be the reference maximum.
NEAR_TIE = 1e-9


def _edges(skips) -> tuple:
    """Skip edges as a hashable tuple of int pairs (a static argument of the jitted search)."""
    return tuple((int(a), int(b)) for a, b in skips)


@jax.jit(static_argnums=(3, 4))
def _compact_gaps(target, maps, x, biases=False, skips=()):
    reference = nets.forward(target, x, skips=skips, biases=biases)
    return jnp.linalg.norm(reference - compact_forward(maps, x, biases=biases, skips=skips), axis=1)


def _ascend(target, model, key, starts, steps, random_points, compact, scouts=None, scout_steps=30, perturb=1.0,
            biases=False, skips=()):
    """The points :func:`lower_bound` chooses its answer from, (1 + random_points, d_0): the best point
    the ascents visited, then the initial points on the sphere. Only one ascent point is returned:
    the ascents often converge to one point, and copies of it whose gaps differ by round-off alone
    would make the reference argmax depend on the batch the gaps are computed in."""
    scouts = max(starts, min(4 * starts, random_points)) if scouts is None else scouts
    return _search(target, model, key, starts, steps, random_points, compact, scouts, scout_steps, perturb, biases,
                   skips)


def _sphere(x):
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-300)


def _ball(x):
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1.0)


@jax.jit(static_argnums=(3, 4, 5, 6, 7, 8, 9, 10, 11))
def _search(target, model, key, starts, steps, random_points, compact, scouts, scout_steps, perturb, biases, skips):
    d0 = target[0].shape[1] - int(biases)

    def forward(layers, x):
        return nets.forward(layers, x, skips=skips, biases=biases)

    if compact:
        def approx(maps, x):
            return compact_forward(maps, x, biases=biases, skips=skips)
    else:
        approx = forward
    _project = _ball if biases else _sphere

    def gap2(x):
        diff = forward(target, x[None]) - approx(model, x[None])
        return jnp.sum(diff**2)

    gaps2 = jax.vmap(gap2)
    grad = jax.vmap(jax.grad(gap2))
    points_key, step_key = jax.random.split(key)
    # The ± coordinate directions (where a target's single input is read alone) and uniform points.
    axes = jnp.concatenate([jnp.eye(d0), -jnp.eye(d0)]) if random_points >= 2 * d0 + scouts else jnp.zeros((0, d0))
    if biases:      # the origin, then points uniform in the ball
        axes = jnp.concatenate([jnp.zeros((1, d0)), axes])
    uniform = _sphere(jax.random.normal(points_key, (random_points - len(axes), d0), jnp.float64))
    if biases:
        radii = jax.random.uniform(jax.random.fold_in(points_key, 1), (len(uniform), 1), jnp.float64) ** (1.0 / d0)
        uniform = uniform * radii
    pts = jnp.concatenate([axes, uniform])
    values = gaps2(pts)
    order = jnp.argsort(-values)[:scouts]
    best, best_v = pts[order], values[order]
    stages = ((scouts, scout_steps), (starts, steps)) if scouts > starts and scout_steps > 0 else ((starts, steps),)
    for stage, (n, count) in enumerate(stages):
        keep = jnp.argsort(-best_v)[:n]
        best, best_v = best[keep], best_v[keep]
        lrs = 0.5 * (1e-3 / 0.5) ** (jnp.arange(count, dtype=jnp.float64) / max(count - 1, 1))
        keys = jax.random.split(jax.random.fold_in(step_key, stage), count)

        def step(carry, inputs):
            x, best, best_v = carry
            lr, k = inputs
            g = grad(x)
            x = _project(x + lr * g / jnp.maximum(jnp.linalg.norm(g, axis=-1, keepdims=True), 1e-300))
            v = gaps2(x)
            if perturb > 0:     # a random step from the best point so far, taken when it beats the gradient step
                y = _project(best + perturb * lr * jax.random.normal(k, best.shape, jnp.float64))
                vy = gaps2(y)
                x, v = jnp.where((vy > v)[:, None], y, x), jnp.maximum(v, vy)
            better = v > best_v
            return (x, jnp.where(better[:, None], x, best), jnp.where(better, v, best_v)), None

        (_, best, best_v), _ = jax.lax.scan(step, (best, best, best_v), (lrs, keys))
    return jnp.concatenate([best[jnp.argmax(best_v)][None], pts])


def lower_bound_key(seed: int):
    """Key of the adversarial search for a ticket of network seed ``seed``: fold_in(key(seed), 0).
    Pair i >= 1 of the random network uses fold_in(key(seed), i), so the search never reuses the
    network's randomness."""
    return jax.random.fold_in(jax.random.key(seed), 0)
