"""The two networks of the exact error (:mod:`slth.measure.exact`) on (p, n) = (σ(x), σ(−x)), their sound
ranges over the unit ball, and the witness search on them.

With biases (the ``biased`` and ``conv-biased`` layouts) every layer carries a constant: f's are the
target's biases b_i, g's the realised biases a_i (the last column of A⁺_i, :func:`slth.measure.pair_maps`
with ``biases``; the constant input's negative half acts on σ(−1) = 0). The ranges then shift by the
constants and are rounded outward in both directions (a lower end may be positive, an upper end
negative); the differences gain |a_i − b_i| per unit and ‖a_i − b_i‖ in the stacked recursion; the radii
‖h_i‖ gain ‖b_i‖ (σ is 1-Lipschitz with σ(0) = 0, so ‖σ(Wh + b)‖ <= ‖W‖‖h‖ + ‖b‖). The witness
search then runs over the ball, not the sphere: positive homogeneity is lost, and the supremum may
lie inside.

With skips (a residual target, :mod:`slth.nets.residual`; the ``pairs`` and ``conv`` layouts) a skip edge
(a, b) adds h_a (the input x when a = 0, else σ(z_a)) to z_b in both networks, the ticket's identity being
exact. The ranges of z_b gain h_a's ([−1, 1] per coordinate for x, [0, u_a] after a ReLU); the differences
gain |h^g_a − h^f_a| per unit (0 for x) and its norm bound in the stacked recursion; the radii gain ‖h_a‖.
No hidden unit of g is dropped then (a skip reads every unit of its layer). Biases and skips together (a
residual target with biases) combine both: the ranges with skips added are rounded outward in both directions.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from slth import nets
from slth.errors import InputError
from slth.nets import layouts

#: Relative inflation of every pre-activation bound (float64 round-off is ~1e-13 of these sums).
BOUND_INFLATION = 1e-9

#: Gradient steps of the witness polish (projected ascent on the sphere, or the ball with biases).
POLISH_STEPS = 60


def layout(spec):
    """The layout of ``spec`` if the exact program encodes it (pairs or copies, with biases or skips or
    neither); else InputError in one line."""
    lay = layouts.layout(spec)
    if not (lay.has_pairs or lay.has_copies) or (spec.skips and lay.has_copies):
        raise InputError(f"exact_error needs layer pairs or copies (skips with pairs only); got "
                         f"{lay.name!r}, skips {list(spec.skips)}")
    return lay


@dataclasses.dataclass(frozen=True)
class Net:
    """The target f and the compact form of g_S, float64, on (p, n) = (σ(x), σ(−x)).

    f: W_1..W_l, ``cf`` their constants (the biases; zeros without). g: first layer
    z = gp·p − gq·n + cg[0], then the matrices ``g`` (one per later layer) with constants cg[1:]; row u
    of g's layer i approximates row ``partner[i−1][u]`` of f's layer i (the same neuron in ``pairs``, the
    neuron k of copy (k, m) in ``l+1``); the output rows are partners of themselves. ``biased``: whether
    any constant can be non-zero (the search then covers the ball). ``skips``: the target's skip edges
    (a, b), 2 <= b, h_a added to z_b in both networks (``pairs`` partners only, every unit kept).
    """

    f: tuple
    gp: np.ndarray
    gq: np.ndarray
    g: tuple
    partner: tuple
    cf: tuple
    cg: tuple
    biased: bool = False
    skips: tuple = ()

    def into(self, b: int) -> list[int]:
        """The layers a whose output h_a a skip adds to z_b."""
        return [a for a, t in self.skips if t == b]

    def pre_activations(self, x: np.ndarray):
        """Per layer (z_f, z_g) for a batch x (batch, d_0); the last pair is the outputs."""
        p, n = np.maximum(x, 0.0), np.maximum(-x, 0.0)
        zf, zg = x @ self.f[0].T + self.cf[0], p @ self.gp.T - n @ self.gq.T + self.cg[0]
        out, hf, hg = [(zf, zg)], [x], [x]
        for j, (w, b, c, d) in enumerate(zip(self.f[1:], self.g, self.cf[1:], self.cg[1:]), start=2):
            hf.append(np.maximum(zf, 0.0))
            hg.append(np.maximum(zg, 0.0))
            zf, zg = hf[-1] @ w.T + c, hg[-1] @ b.T + d
            for a in self.into(j):
                zf, zg = zf + hf[a], zg + hg[a]
            out.append((zf, zg))
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = f(x) − g_S(x) for a batch (batch, d_0)."""
        zf, zg = self.pre_activations(x)[-1]
        return zf - zg

    def project(self, x: np.ndarray) -> np.ndarray:
        """x moved onto the search's domain: the unit sphere, or with biases the unit ball."""
        norm = np.linalg.norm(x)
        if self.biased:
            return x / norm if norm > 1 else x
        return x / norm


def stack(ticket) -> Net:
    """The :class:`Net` of ``ticket`` (pairs: :func:`~slth.measure.pair_maps`, copies: ``copy_maps``),
    with g's hidden units that no later row reads dropped."""
    from slth.measure.deep import copy_maps
    from slth.measure.error import pair_maps

    lay = layout(ticket.spec)
    biased = bool(lay.has_biases)
    layers = [np.asarray(w, np.float64) for w in ticket.target]
    if biased:
        f, cf = tuple(w[:, :-1] for w in layers), [w[:, -1] for w in layers]
    else:
        f, cf = tuple(layers), [np.zeros(w.shape[0]) for w in layers]
    l = len(f)
    if lay.has_copies:
        cm = copy_maps(ticket.random, ticket.masks, ticket.spec)
        live = [np.asarray(v, bool) for v in cm.live] + [np.ones(f[-1].shape[0], bool)]
        gp, gq = cm.first.plus[live[0]], cm.first.minus[live[0]]
        g = [cm.layers[i][live[i + 1]][:, live[i]] for i in range(l - 1)]
        partner = [np.flatnonzero(live[i]) // cm.copies[i] for i in range(l)]
        cg = [np.zeros(len(p)) for p in partner]
    else:
        maps = pair_maps(ticket.random, ticket.masks, biases=biased)
        plus = [np.asarray(m.plus, np.float64) for m in maps]
        minus0 = np.asarray(maps[0].minus, np.float64)
        if biased:      # the constant column: A⁺'s is the realised bias, A⁻'s acts on σ(−1) = 0
            gp, gq, cg = plus[0][:, :-1], minus0[:, :-1], [a[:, -1] for a in plus]
            g = [a[:, :-1] for a in plus[1:]]
        else:
            gp, gq, g, cg = plus[0], minus0, plus[1:], [np.zeros(a.shape[0]) for a in plus]
        partner = [np.arange(w.shape[0]) for w in f]
    skips = nets.residual.edges(ticket.spec.skips)
    # drop g's hidden units whose output no later row reads, from the last hidden layer back
    for i in range(l - 1 if not skips else 0, 0, -1):
        used = np.any(g[i - 1] != 0, axis=0)
        g[i - 1] = g[i - 1][:, used]
        partner[i - 1], cg[i - 1] = partner[i - 1][used], cg[i - 1][used]
        if i == 1:
            gp, gq = gp[used], gq[used]
        else:
            g[i - 2] = g[i - 2][used]
    return Net(f, gp, gq, tuple(g), tuple(partner), tuple(cf), tuple(cg), biased, skips)


# --------------------------------------------------------------------------- sound ranges

def inflate(v):
    """A computed bound moved away from 0 by the float64 round-off allowance (bias-free ranges, whose
    lower ends are <= 0 and upper ends >= 0; an exact 0 stays 0)."""
    return v + np.sign(v) * BOUND_INFLATION * np.abs(v) + np.sign(v) * 1e-12


def _up(v):
    """An upper end rounded upward (any sign)."""
    return v + BOUND_INFLATION * np.abs(v) + 1e-12


def _down(v):
    """A lower end rounded downward (any sign)."""
    return v - BOUND_INFLATION * np.abs(v) - 1e-12


def _shift(lo, up, c, exact):
    """The range [lo, up] moved by the constants c, rounded outward; rows that are ``exact`` (no weight,
    no constant: the value is 0 in any arithmetic) stay [0, 0]."""
    return np.where(exact, 0.0, _down(lo + c)), np.where(exact, 0.0, _up(up + c))


def _plus(v: float, extra: float) -> float:
    """v + extra (both >= 0) rounded upward; v itself when extra is 0."""
    return v if extra == 0 else float(inflate(v + extra))


def norm2(m: np.ndarray) -> float:
    """‖m‖_2 rounded upward (0 for an empty matrix)."""
    return float(inflate(np.linalg.norm(m, 2))) if m.size else 0.0


def _first(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact range of z = a·p − b·n + c over p, n >= 0, p_j n_j = 0, ‖(p, n)‖ <= 1: each coordinate takes
    p_j or n_j, so max z = ‖(max(a⁺_j, b⁻_j))_j‖ + c and min z = −‖(max(a⁻_j, b⁺_j))_j‖ + c."""
    up = np.sqrt((np.maximum(np.maximum(a, 0), np.maximum(-b, 0)) ** 2).sum(axis=1))
    lo = -np.sqrt((np.maximum(np.maximum(-a, 0), np.maximum(b, 0)) ** 2).sum(axis=1))
    if not np.any(c):
        return inflate(lo), inflate(up)
    return _shift(lo, up, c, (up == 0) & (lo == 0) & (c == 0))


def _next(m: np.ndarray, upper: np.ndarray, radius: float, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Range of z = m h + c over 0 <= h <= upper, ‖h‖ <= radius: interval arithmetic and the norm bound."""
    up, lo = np.maximum(m, 0) @ upper, -(np.maximum(-m, 0) @ upper)
    nb = np.linalg.norm(m, axis=1) * radius
    lo, up = np.maximum(lo, -nb), np.minimum(up, nb)
    if not np.any(c):
        return inflate(lo), inflate(up)
    return _shift(lo, up, c, (up == 0) & (lo == 0) & (c == 0))


@dataclasses.dataclass(frozen=True)
class Bounds:
    """Sound ranges over the unit ball, per layer i = 1..l: f's and g's pre-activations, and
    ``diff``, a bound on |z_g[u] − z_f[partner(u)]| (so on |h_g[u] − h_f[partner(u)]| too, σ being
    1-Lipschitz); for the output layer ``diff`` bounds |y_k|."""

    f: list
    g: list
    diff: list


def bounds(net: Net) -> Bounds:
    """The ranges of :class:`Bounds` (see :mod:`slth.measure.exact` and, for the constants, this module)."""
    l = len(net.f)
    fb = [_first(net.f[0], net.f[0], net.cf[0])]
    gb = [_first(net.gp, net.gq, net.cg[0])]
    w0 = net.f[0][net.partner[0]]
    ea, eb = net.gp - w0, net.gq - w0
    dc = np.abs(net.cg[0] - net.cf[0][net.partner[0]])
    # every quantity below is >= 0; the constants' terms are 0 without biases (``_plus`` then adds
    # nothing, which leaves the bias-free bounds bit for bit as they were)
    diff = [inflate(np.sqrt((np.maximum(np.abs(ea), np.abs(eb)) ** 2).sum(axis=1)) + dc)]
    stacked = _plus(norm2(np.concatenate([ea, eb], axis=1)), np.linalg.norm(dc))   # ‖Δ_1‖ (deep.py's E_1)
    rf = min(_plus(norm2(net.f[0]), np.linalg.norm(net.cf[0])), float(np.linalg.norm(np.maximum(fb[0][1], 0))))
    rg = min(_plus(norm2(np.concatenate([net.gp, net.gq], axis=1)), np.linalg.norm(net.cg[0])),
             float(np.linalg.norm(np.maximum(gb[0][1], 0))))
    # per layer a (0 the input): post-activation upper ends, radii, per-unit and norm differences, for skips
    post = {0: (None, None, 1.0, 1.0, 0.0, 0.0)}
    for i in range(1, l):
        w, b = net.f[i], net.g[i - 1]
        uf, ug = np.maximum(fb[-1][1], 0), np.maximum(gb[-1][1], 0)
        fb.append(_next(w, uf, rf, net.cf[i]))
        gb.append(_next(b, ug, rg, net.cg[i]))
        prev = net.partner[i - 1]
        onehot = np.zeros((b.shape[1], w.shape[1]))
        onehot[np.arange(b.shape[1]), prev] = 1.0
        err = b @ onehot - w[net.partner[i]]                  # A_i − W̃_i
        dc = np.abs(net.cg[i] - net.cf[i][net.partner[i]])   # |a_i − b_i|, 0 without biases
        # post-activation differences: |σ(a) − σ(b)| <= min(|a − b|, max(a⁺, b⁺))
        dprev = np.minimum(diff[-1], np.maximum(ug, uf[prev]))
        stacked = min(stacked, float(np.linalg.norm(dprev)))
        post[i] = (uf, ug, rf, rg, dprev, stacked)
        per_unit = np.abs(b) @ dprev + np.abs(err) @ uf + dc
        by_norm = np.linalg.norm(b, axis=1) * stacked + np.linalg.norm(err, axis=1) * rf + dc
        next_stacked = norm2(b) * stacked + norm2(err) * rf + np.linalg.norm(dc)
        sources = net.into(i + 1)
        if sources:                                           # skips into layer i + 1: h_a in both networks
            (flo, fup), (glo, gup) = fb[-1], gb[-1]
            for a in sources:
                a_uf, a_ug, _, _, a_d, a_s = post[a]
                if a == 0:                                    # x itself: |x_k| <= 1, the same in both
                    flo, fup, glo, gup = flo - 1.0, fup + 1.0, glo - 1.0, gup + 1.0
                else:
                    fup, gup = fup + a_uf, gup + a_ug
                    per_unit, by_norm = per_unit + a_d, by_norm + a_d
                next_stacked += a_s
            if net.biased:                                    # ends of any sign: round outward
                fb[-1], gb[-1] = (_down(flo), _up(fup)), (_down(glo), _up(gup))
            else:
                fb[-1], gb[-1] = (inflate(flo), inflate(fup)), (inflate(glo), inflate(gup))
        apart = np.maximum(gb[-1][1] - fb[-1][0][net.partner[i]], fb[-1][1][net.partner[i]] - gb[-1][0])
        diff.append(inflate(np.minimum(np.minimum(per_unit, by_norm), apart)))
        stacked = inflate(next_stacked)
        if i < l - 1:
            rf_next = _plus(norm2(w) * rf, np.linalg.norm(net.cf[i]))
            rg_next = _plus(norm2(b) * rg, np.linalg.norm(net.cg[i]))
            for a in sources:
                rf_next, rg_next = float(inflate(rf_next + post[a][2])), float(inflate(rg_next + post[a][3]))
            rf = min(rf_next, float(np.linalg.norm(np.maximum(fb[-1][1], 0))))
            rg = min(rg_next, float(np.linalg.norm(np.maximum(gb[-1][1], 0))))
    return Bounds(fb, gb, diff)


# --------------------------------------------------------------------------- witness search and polish

def gradient(net: Net, x: np.ndarray) -> tuple[float, np.ndarray]:
    """‖y(x)‖² and its gradient at x (one point; the activation pattern of x, ties taken as inactive)."""
    pre = net.pre_activations(x[None])
    y = (pre[-1][0] - pre[-1][1])[0]
    l = len(net.f)
    # gradients by the pre-activation z_j (f, g), j = l..1, and by the outputs h_a the skips read
    gz = {l: (2 * y, -2 * y)}
    gh = {a: (0.0, 0.0) for a, _ in net.skips}
    gx = 0.0
    for j in range(l, 1, -1):
        gf, gg = gz[j]
        for a in net.into(j):
            if a == 0:
                gx = gx + gf + gg
            else:
                gh[a] = (gh[a][0] + gf, gh[a][1] + gg)
        hf, hg = net.f[j - 1].T @ gf, net.g[j - 2].T @ gg
        if j - 1 in gh:
            hf, hg = hf + gh[j - 1][0], hg + gh[j - 1][1]
        gz[j - 1] = (hf * (pre[j - 2][0][0] > 0), hg * (pre[j - 2][1][0] > 0))
    gf, gg = gz[1]
    jac = np.where(x > 0, net.gp, net.gq)          # d z_g / d x_j: gp[:, j] for x_j > 0, gq[:, j] below
    return float(y @ y), net.f[0].T @ gf + jac.T @ gg + gx


def polish(net: Net, x: np.ndarray, steps: int = POLISH_STEPS) -> np.ndarray:
    """Projected normalised gradient ascent of ‖y‖² on the sphere (the ball with biases) from x, step
    1e-2 decaying to 1e-7; the best point visited (by the stacked forward pass)."""
    best_x = x = net.project(x)
    best = gradient(net, x)[0]
    for lr in np.geomspace(1e-2, 1e-7, steps):
        v, g = gradient(net, x)
        if v > best:
            best, best_x = v, x
        gn = np.linalg.norm(g)
        if not gn > 0:
            break
        x = net.project(x + lr * g / gn)
    v = gradient(net, x)[0]
    return x if v > best else best_x


def search(net: Net, d0: int, seed: int, points: int = 4096, starts: int = 8) -> list[np.ndarray]:
    """Cheap starting witnesses: the best ``starts`` of ``points`` uniform points on the sphere (with
    biases, uniform in the ball, and the origin), polished."""
    rng = np.random.default_rng([seed, 0x5ec7])
    pts = rng.standard_normal((points, d0))
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    if net.biased:
        pts *= rng.random((points, 1)) ** (1.0 / d0)
        pts[0] = 0.0
    vals = np.sum(net.forward(pts) ** 2, axis=1)
    return [polish(net, pts[i]) for i in np.argsort(-vals)[:starts]]
