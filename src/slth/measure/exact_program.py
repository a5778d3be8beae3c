"""The SCIP programs of the exact error (:mod:`slth.measure.exact`, whose docstring states them and the
tolerance margin): the network program solved for the support of the output set in one direction, and
the outer polytope's farthest vertex and final bound. pyscipopt is imported only when a program is built.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:                       # annotations only: exact_net needs nothing from here
    from slth.measure.exact_net import Bounds, Net

log = logging.getLogger("slth.measure.exact")

#: SCIP's feasibility, dual-feasibility and comparison tolerance.
TOLERANCE = 1e-9

#: Factor over the tolerance bound of :mod:`slth.measure.exact`'s margin (ii)-(iii).
SAFETY = 10.0


# --------------------------------------------------------------------------- the program

@contextlib.contextmanager
def _solver_chatter_to_log():
    """Route what the solver writes straight to file descriptor 2 into this module's log (DEBUG).

    SCIP's ``hideOutput`` silences SCIP, but SoPlex prints some warnings itself, for example "Cannot set
    optimality tolerance to small value 1e-12 without GMP - using 1e-10." when SCIP asks its LP for a
    tighter tolerance after numerical trouble (harmless here: the margin assumes 1e-9). A user of
    ``slth prune --exact`` should not see it on the terminal; it goes to the ``slth.measure.exact``
    logger at DEBUG level instead. Where descriptor 2 cannot be duplicated, nothing is redirected."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace").strip()
            if text:
                log.debug("solver output: %s", text)


def _model():
    """A silent SCIP model with the tolerances of the margin argument and a fixed random seed."""
    import pyscipopt

    m = pyscipopt.Model()
    m.hideOutput()
    for name in ("numerics/feastol", "numerics/dualfeastol", "numerics/epsilon"):
        m.setParam(name, TOLERANCE)
    m.setParam("numerics/sumepsilon", 1e3 * TOLERANCE)
    m.setParam("randomization/randomseedshift", 0)
    return m


class _Program:
    """The network program (module docstring) in a pyscipopt Model, with y' = y/σ; :meth:`support`
    solves it for one direction."""

    def __init__(self, net: Net, bounds: Bounds, sigma: float):
        import pyscipopt

        self.net, self.sigma = net, sigma
        m = _model()
        m.setEmphasis(pyscipopt.SCIP_PARAMEMPHASIS.EASYCIP)
        self.model = m
        d0 = net.f[0].shape[1]
        self.ranges, self.rows = [], []           # column ranges and row activity ranges, for the margin
        self.binaries = 0
        self.s = [self._var(0.0, 1.0, "B") for _ in range(d0)]
        self.p = [self._var(0.0, 1.0) for _ in range(d0)]
        self.n = [self._var(0.0, 1.0) for _ in range(d0)]
        for j in range(d0):
            self._row(self.p[j] <= self.s[j], 2.0)
            self._row(self.n[j] <= 1 - self.s[j], 2.0)
        m.addCons(pyscipopt.quicksum(v * v for v in self.p + self.n) <= 1)
        self.units = []                              # per hidden layer: (f units, g units), each [(z, h, b)]
        hf = [(self.p[j] - self.n[j], 2.0) for j in range(d0)]
        hs = {0: (hf, hf)}                           # per layer a, (f's, g's) outputs, for the skips
        l = len(net.f)
        zf = self._affine(net.f[0], hf, bounds.f[0], net.cf[0])
        zg = [(self._var(lo, up),) for lo, up in zip(*bounds.g[0])]
        for u, (z,) in enumerate(zg):
            expr = pyscipopt.quicksum(float(net.gp[u, j]) * self.p[j] - float(net.gq[u, j]) * self.n[j]
                                      for j in range(d0) if net.gp[u, j] or net.gq[u, j])
            self._row(z == expr + float(net.cg[0][u]), float(np.abs(net.gp[u]).sum() + np.abs(net.gq[u]).sum()))
        for i in range(1, l):
            uf = self._relus(zf, bounds.f[i - 1])
            ug = self._relus(zg, bounds.g[i - 1])
            self.units.append((uf, ug))
            part, dd = net.partner[i - 1], bounds.diff[i - 1]
            for u in range(len(zg)):
                if dd[u] < max(bounds.g[i - 1][1][u] - bounds.g[i - 1][0][u], 0):
                    k = part[u]
                    self._row(zg[u][0] - zf[k][0] <= float(dd[u]), 2 * float(dd[u]))
                    self._row(zg[u][0] - zf[k][0] >= -float(dd[u]), 2 * float(dd[u]))
                    hg, hfk = ug[u], uf[k]
                    if hg[1] is not None or hfk[1] is not None:
                        e = (hg[1] if hg[1] is not None else 0) - (hfk[1] if hfk[1] is not None else 0)
                        self._row(e <= float(dd[u]), 2 * float(dd[u]))
                        self._row(e >= -float(dd[u]), 2 * float(dd[u]))
            hin_f = [(h, float(max(up, 0))) for (_, h, _), up in zip(uf, bounds.f[i - 1][1])]
            hin_g = [(h, float(max(up, 0))) for (_, h, _), up in zip(ug, bounds.g[i - 1][1])]
            hs[i] = (hin_f, hin_g)
            sources = net.into(i + 1)
            if i < l - 1:
                zf = self._affine(net.f[i], hin_f, bounds.f[i], net.cf[i], [hs[a][0] for a in sources])
                zg = self._affine(net.g[i - 1], hin_g, bounds.g[i], net.cg[i], [hs[a][1] for a in sources])
            else:
                # a skip into the output adds h_a to both networks: x cancels in y, h_a^f − h_a^g stays
                self.out = (hin_f, hin_g, [hs[a] for a in sources if a > 0])
        if l == 1:
            self.out = None
        self._output(bounds)

    def _var(self, lo, up, vtype="C"):
        v = self.model.addVar(lb=float(lo), ub=float(up), vtype=vtype)
        self.ranges.append(float(up) - float(lo))
        self.binaries += vtype == "B"
        return v

    def _row(self, cons, activity_range: float):
        self.model.addCons(cons)
        self.rows.append(activity_range)

    def _affine(self, a, inputs, bounds, const, skips=()):
        """Variables z = a · inputs + const + Σ_s s_k over the skipped outputs s (each a list like inputs,
        unit k adding to row k), inputs [(expression or None, range)], each z with its bounds."""
        import pyscipopt

        zs = []
        for k in range(a.shape[0]):
            z = self._var(*(b[k] for b in bounds))
            expr = pyscipopt.quicksum(float(a[k, j]) * inputs[j][0] for j in range(a.shape[1])
                                      if a[k, j] and inputs[j][0] is not None)
            expr = expr + pyscipopt.quicksum(h[k][0] for h in skips if h[k][0] is not None)
            self._row(z == expr + float(const[k]), float(sum(abs(a[k, j]) * inputs[j][1] for j in range(a.shape[1])))
                      + float(sum(h[k][1] for h in skips)) + float(bounds[1][k] - bounds[0][k]))
            zs.append(z)
        return [(z,) for z in zs]

    def _relus(self, zs, bounds):
        """h = σ(z) per unit: (z, None, None) constant 0, (z, z, None) stably active, (z, h, b) big-M."""
        lo, up = bounds
        out = []
        for k, (z,) in enumerate(zs):
            if up[k] <= 0:
                out.append((z, None, None))
            elif lo[k] >= 0:
                out.append((z, z, None))
            else:
                h, b = self._var(0.0, up[k]), self._var(0.0, 1.0, "B")
                r = float(up[k] - lo[k])
                self._row(h >= z, r)
                self._row(h <= z - float(lo[k]) * (1 - b), 2 * r)
                self._row(h <= float(up[k]) * b, 2 * r)
                out.append((z, h, b))
        return out

    def _output(self, bounds):
        """y' = (z_f − z_g)/σ of the output layer (constants included), |y'_k| <= diff_k/σ."""
        import pyscipopt

        net, sigma = self.net, self.sigma
        dy = bounds.diff[-1] / sigma
        self.y = [self._var(-d, d) for d in dy]
        d0 = net.f[0].shape[1]
        for k, y in enumerate(self.y):
            if self.out is None:                                    # l = 1: y is linear in (p, n)
                a, b = net.f[0][k] - net.gp[k], net.f[0][k] - net.gq[k]
                expr = pyscipopt.quicksum(float(a[j]) * self.p[j] - float(b[j]) * self.n[j]
                                          for j in range(d0) if a[j] or b[j])
                act = float(np.abs(a).sum() + np.abs(b).sum())
            else:
                (hf, hg, skipped), w, g = self.out, net.f[-1][k], net.g[-1][k]
                expr = pyscipopt.quicksum(float(w[j]) * hf[j][0] for j in range(len(w))
                                          if w[j] and hf[j][0] is not None) \
                    - pyscipopt.quicksum(float(g[j]) * hg[j][0] for j in range(len(g)) if g[j] and hg[j][0] is not None)
                act = float(sum(abs(w[j]) * hf[j][1] for j in range(len(w)))
                            + sum(abs(g[j]) * hg[j][1] for j in range(len(g))))
                for sf, sg in skipped:
                    expr = expr + (sf[k][0] if sf[k][0] is not None else 0) - (sg[k][0] if sg[k][0] is not None else 0)
                    act += sf[k][1] + sg[k][1]
            const = float(net.cf[-1][k] - net.cg[-1][k])
            self._row(sigma * y == expr + const, act + 2 * float(bounds.diff[-1][k]))
        self.dy = dy

    def support(self, u: np.ndarray, start: np.ndarray, *, gap: float, time_limit: float):
        """A sound upper bound on max_{‖x‖<=1} u·y(x)/σ (SCIP's dual bound plus the margin), the best x
        SCIP found (or None) and its node count."""
        import pyscipopt

        m = self.model
        m.freeTransform()
        m.setObjective(pyscipopt.quicksum(float(u[k]) * v for k, v in enumerate(self.y) if u[k]), "maximize")
        m.setParam("limits/gap", gap)
        m.setParam("limits/time", max(time_limit, 1e-3))
        self.add_start(start)
        trivial = float(np.abs(u) @ self.dy)
        try:
            with _solver_chatter_to_log():
                m.optimize()
        except Exception:                       # SCIP's "error in LP solver": no bound from this solve
            return trivial, None, 0
        trivial = float(np.abs(u) @ self.dy)
        dual = min(m.getDualbound(), trivial)
        bound = min(dual + _margin(self.ranges, self.rows, dual), trivial)
        x = self.x_of(m.getBestSol()) if m.getNSols() else None
        return bound, x, int(m.getNNodes())

    def add_start(self, x: np.ndarray) -> None:
        """Offer SCIP the complete solution at x (every auxiliary variable from the forward pass)."""
        m, net = self.model, self.net
        sol = m.createSol()
        p, n = np.maximum(x, 0.0), np.maximum(-x, 0.0)
        for j in range(len(x)):
            m.setSolVal(sol, self.s[j], 1.0 if x[j] > 0 else 0.0)
            m.setSolVal(sol, self.p[j], float(p[j]))
            m.setSolVal(sol, self.n[j], float(n[j]))
        pre = net.pre_activations(x[None])
        for (zf, zg), units in zip(pre, self.units):
            for zs, units_ in ((zf[0], units[0]), (zg[0], units[1])):
                for k, (z, h, b) in enumerate(units_):
                    m.setSolVal(sol, z, float(zs[k]))
                    if b is not None:
                        m.setSolVal(sol, h, float(max(zs[k], 0.0)))
                        m.setSolVal(sol, b, 1.0 if zs[k] > 0 else 0.0)
        y = (pre[-1][0] - pre[-1][1])[0] / self.sigma
        for k, v in enumerate(self.y):
            m.setSolVal(sol, v, float(y[k]))
        m.addSol(sol, free=True)

    def x_of(self, sol) -> np.ndarray:
        m = self.model
        return np.array([m.getSolVal(sol, p) - m.getSolVal(sol, n) for p, n in zip(self.p, self.n)])


def _margin(ranges, rows, dual: float) -> float:
    """Δ of the module docstring: SAFETY · τ · (Σ column ranges + Σ row activity ranges + max(1, |D|))."""
    return SAFETY * TOLERANCE * (float(np.sum(ranges)) + float(np.sum(rows)) + max(1.0, abs(dual)))


# --------------------------------------------------------------------------- the outer polytope

def _farthest(cuts, box: np.ndarray) -> np.ndarray | None:
    """The vertex of P = {|y_k| <= box_k, u_i·y <= h_i} farthest from 0, by Qhull's halfspace
    intersection (a guide only: the bound that counts is :func:`_certify`'s). None if Qhull fails."""
    from scipy.optimize import linprog
    from scipy.spatial import HalfspaceIntersection, QhullError

    dl = len(box)
    a = np.concatenate([np.array([u for u, _ in cuts]).reshape(-1, dl), np.eye(dl), -np.eye(dl)])
    h = np.concatenate([np.array([c for _, c in cuts]), box, box])
    if dl == 1:
        ends = np.array([min(h[a[:, 0] > 0] / a[a[:, 0] > 0, 0]), max(h[a[:, 0] < 0] / a[a[:, 0] < 0, 0])])
        return ends[np.argmax(np.abs(ends))][None]
    norms = np.linalg.norm(a, axis=1)
    res = linprog(np.r_[np.zeros(dl), -1.0], A_ub=np.c_[a, norms], b_ub=h,
                  bounds=[(None, None)] * dl + [(0, None)], method="highs")
    if res.status != 0 or res.x[-1] <= 1e-12:
        return None
    try:
        v = HalfspaceIntersection(np.c_[a, -h], res.x[:dl]).intersections
    except (QhullError, ValueError):
        return None
    return v[int(np.argmax(np.linalg.norm(v, axis=1)))]


def _certify(cuts, box: np.ndarray, start: np.ndarray | None, *, gap: float,
             time_limit: float) -> tuple[float, np.ndarray | None]:
    """A sound upper bound on max ‖y‖² over P (SCIP's dual bound of the non-convex QP max t,
    t <= Σ y_k², plus the margin) and the farthest point SCIP found."""
    import pyscipopt

    dl = len(box)
    m = _model()
    m.setParam("limits/gap", gap)
    m.setParam("limits/time", max(time_limit, 1e-3))
    y = [m.addVar(lb=-float(b), ub=float(b)) for b in box]
    rows = []
    for u, c in cuts:
        m.addCons(pyscipopt.quicksum(float(u[k]) * y[k] for k in range(dl) if u[k]) <= float(c))
        rows.append(2 * float(np.abs(u) @ box))
    top = float(box @ box)
    t = m.addVar(lb=0.0, ub=top)
    m.addCons(t <= pyscipopt.quicksum(v * v for v in y))
    m.setObjective(t, "maximize")
    if start is not None:
        sol = m.createSol()
        for k, v in enumerate(y):
            m.setSolVal(sol, v, float(start[k]))
        m.setSolVal(sol, t, float(start @ start) * (1 - 1e-9))
        m.addSol(sol, free=True)
    with _solver_chatter_to_log():
        m.optimize()
    dual = min(m.getDualbound(), top)
    ranges = np.r_[2 * box, top]
    bound = min(dual + _margin(ranges, rows + [2 * top], dual), top)
    v = np.array([m.getSolVal(m.getBestSol(), w) for w in y]) if m.getNSols() else None
    return bound, v
