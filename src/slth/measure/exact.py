"""The exact error of a small ticket: E(S) = sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ bracketed to a relative tolerance,
the upper end from SCIP's proofs (dual bounds plus a tolerance margin), the lower end from a witness
re-evaluated through the reference forward pass (:func:`slth.measure.gap_at`), never a solver's objective.

The network program. Without biases both networks are positively homogeneous, so the supremum over
the ball is attained on the sphere; the programs work over the ball, a convex quadratic constraint, so
they hold with biases too, where the supremum may lie inside: each layer's constant (the target's bias,
the ticket's realised bias) is added to its rows and ranges, and the witnesses are searched in the ball
(:mod:`slth.measure.exact_net`, which holds the two networks, their ranges and the witness search).
Skips (a residual target) are identities in both networks: each adds its source's output to its
destination's rows and ranges (same module). With x = p − n,
p = σ(x), n = σ(−x) and one binary s_j per input coordinate (p_j <= s_j, n_j <= 1 − s_j, p, n >= 0,
Σ p_j² + n_j² <= 1), f and g_S become bias-free networks on (p, n):
* ``pairs``: g_S is its collapsed network (``pair_maps``): A₁⁺p − A₁⁻n, then A_i⁺ (pairs i >= 2 see
  inputs >= 0), the target's widths; f's first layer is W₁p − W₁n;
* ``l+1``: the copies stay: layer 1 of g is the copy rows of ``copy_maps``' first maps, later layers the
  pruned random layers, restricted to live units (a unit without a kept outgoing weight, or whose output
  no live unit reads, is dropped).
A hidden unit whose pre-activation z changes sign on the ball gets a binary b and the big-M encoding
h >= z, h >= 0, h <= z − L(1 − b), h <= U b; a unit with U <= 0 is the constant 0, one with L >= 0 is
h = z. Every g unit u has a partner f unit π(u) (the same neuron; the neuron of copy (k, m)), and the
program also states |z_g[u] − z_f[π(u)]| <= D_u and |h_g[u] − h_f[π(u)]| <= D_u, which keeps the LP
relaxation of y = f(x) − g_S(x) at the size of the error, not of the networks (without these rows, the
first formulation, SCIP's bound on (8,8,8) subset-sum c = 12 was still 8.7x the truth after 120 s).
The bounds are SOUND over the whole unit ball: layer 1 exactly, max (a·p − b·n) = ‖(max(a⁺_j, b⁻_j))_j‖
(each coordinate is p_j or n_j, ‖(p, n)‖ <= 1); later layers the smaller of interval arithmetic on
[0, U] and ‖row‖·R, R >= ‖h‖ carried layer to layer by spectral norms; D_u the smallest of the
per-unit recursion |B| D_prev + |A − W̃| U_f, the stacked-norm recursion of ``deep.py`` and
U_g − L_f; every bound inflated by :data:`BOUND_INFLATION` (relative) + 1e-12 for float64 round-off
(~1e-13 for these sums of at most a few thousand products of numbers <= 1). The output rows give
|y_k| <= D_k. ``tests/test_exact.py`` checks every bound at random points.

The algorithm: outer approximation of K = {y(x) : ‖x‖ <= 1}. E = max over K of ‖y‖, and a convex
function's maximum over K is its maximum over conv K, which the support function h(u) = max u·y(x)
describes. h(u) is a MILP with one convex quadratic row (the network program, linear objective): SCIP
solves it in ~0.3-2 s at 24 binaries. P = {|y_k| <= D_k, u_i·y <= h̄(u_i)} ⊇ K (h̄ the dual bound plus
margin); the vertex of P farthest from 0 (Qhull's halfspace intersection, a guide only) gives the next
direction u = v/‖v‖, and each MILP's solution is a witness. When the farthest vertex is within
rtol/2 of the lower end, a small non-convex QP (max t, t <= Σ y_k² over P, d_l variables, SCIP) proves
the upper end: √(its dual bound + margin). The cut's gap follows the bracket (5% far from it, rtol/10
close). Measured (one thread, dims 8,8,8, subset-sum c = 12): maximising ‖y‖² directly in one MIQCP
(t <= Σ y_k², spatial branching on y) left the ratio at 2.3 after 120 s; the cutting planes close it to
1.0004 in 23-44 s. A hand-written branch and bound over activation patterns was not built: each of
its nodes needs the maximum of a convex quadratic over a polyhedral cone in the ball (itself
non-convex), which is what SCIP's spatial branching already does with LP bounds, propagation and cuts,
and the one-MIQCP measurement above shows that this direct route is the slow one.

Measured reach (time_limit 60 s, rtol 1e-3, one SCIP thread, 2-core machine shared with other jobs):
pairs (8,8,8) subset-sum c = 12, 14, 16: 23, 8, 22 s; (4,4,4,4) subset-sum c = 12: 12 s, selection
c = 300: 18 s; (4,4,4) every construction at c = 8: 1-5 s. Not reached in 60 s: (8,8,8) selection
c = 300-1500 (error spread over many output directions: ratio 2.8-3.7 at the limit) and (8,8,8,8)
(38 binaries, MILPs of ~10 s: ratio 4.2). ``l+1``: (4,4,4) c = 4, 8, 16 (22, 36, 61 binaries):
7, 26, 45 s; (4,4,4,4) c = 4: 10 s; (8,8,8) c = 4 (47 binaries) is not reached.

Soundness margin. SCIP computes in floating point with tolerances: feasibility ``numerics/feastol``,
LP dual feasibility ``numerics/dualfeastol`` τ_d (SCIP checks LP solutions against it,
``lp/checkdualfeas``) and comparisons ``numerics/epsilon`` τ_e, all :data:`TOLERANCE` = 1e-9 here.
(i) The primal tolerance only enlarges the set SCIP relaxes (a point violating a row by <= feastol is
accepted), which can only raise a maximum: it never lowers a dual bound below the true optimum.
(ii) An LP declared optimal may be dual infeasible by <= τ_d per reduced cost (of a column or a row's
slack); by weak duality with those infeasibilities priced at the bounds, its value then falls short of
the true LP optimum by at most τ_d · (Σ_j R_j + Σ_i range of row i's activity), R_j the range of
column j (the argument of Neumaier-Shcherbina safe bounds); SCIP's cuts are rows among the same
variables whose activity ranges are bounded the same way. (iii) Pruning a node whose bound exceeds
the incumbent by <= τ_e·max(1, |D|) loses at most that. So each dual bound D gets
    Δ = SAFETY · τ · (Σ_j R_j + Σ_i Σ_j |a_ij| R_j + max(1, |D|)),     SAFETY = 10,
computed from the program's own columns and rows. The programs work in units of σ (the first lower
end; y' = y/σ), so their objectives are O(1) and Δ is ~3e-6 of E on the tickets above (far below
rtol). This is an argument from the solver's documented tolerances, not a machine-checked proof:
SCIP is not a verified (exact-arithmetic) solver, and a bug in it would not be caught here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import math
import time

import numpy as np

from slth import checks, nets, precision
from slth.errors import InputError

log = logging.getLogger(__name__)

#: Largest size (binaries, :func:`size`) :func:`exact_error` accepts: 64 admits (8,8,8,8) (56), which runs
#: to its time limit with a bracket, and (16,16,16); digits (64,32,10) (128) is refused.
MAX_BINARIES = 64

from slth.measure.exact_net import BOUND_INFLATION, POLISH_STEPS  # noqa: E402,F401
from slth.measure.exact_net import bounds as _bounds, layout as _layout, polish as _polish  # noqa: E402
from slth.measure.exact_net import search as _search, stack as _stack  # noqa: E402
from slth.measure.exact_program import SAFETY, TOLERANCE, _certify, _farthest, _Program  # noqa: E402,F401


@dataclasses.dataclass(frozen=True)
class ExactError:
    """A bracket lower <= E(S) <= upper, and the input that attains ``lower``.

    Attributes:
      lower: gap_at(target, pruned, witness) in float64 (the reference forward pass).
      upper: √(SCIP's dual bound on ‖y‖² + margin).
      witness: unit-norm float64 (d_0,).
      status: "optimal" (upper <= lower·(1 + rtol)) or "time_limit" (the bracket reached in time).
      seconds: wall time of the whole call.
      binaries: binaries of the program (input signs + unstable live hidden units).
      nodes: branch-and-bound nodes SCIP explored, over all support problems.
      cuts: support problems solved (facets of the outer polytope).
    """

    lower: float
    upper: float
    witness: np.ndarray
    status: str
    seconds: float
    binaries: int
    nodes: int
    cuts: int


# --------------------------------------------------------------------------- size and checks

def size(spec: nets.RandomSpec) -> int:
    """Size of the exact program of a ticket of ``spec``, known before anything is built: the most
    binaries it can have, d_0 (input signs) + Σ_{i<l} d_i (target hidden units) + the hidden units of g
    (Σ_{i<l} d_i in the ``pairs`` layout, Σ_{i<l} ρ_i d_i copies in the ``l+1`` layout)."""
    lay = _layout(spec)
    hidden = spec.dims[1:-1]
    if lay.has_copies:
        g = sum(spec.copies(i) * d for i, d in enumerate(hidden, start=1))
    else:
        g = sum(hidden)
    return int(spec.dims[0] + sum(hidden) + g)


def check_affordable(target, spec: nets.RandomSpec, *, time_limit: float = 60.0, rtol: float = 1e-3) -> None:
    """Raise InputError (one line) unless :func:`exact_error` accepts a ticket of ``spec``: rtol in (0, 1),
    time_limit > 0, a layout of pairs or copies, a size at most :data:`MAX_BINARIES`, and SCIP
    installed. ``target`` (its layers, or its dims d_0..d_l) is checked against ``spec.dims``."""
    checks.open_unit("rtol", rtol)
    checks.positive("time_limit", time_limit)
    lay = _layout(spec)
    if all(isinstance(v, (int, np.integer)) for v in target):
        dims = tuple(int(v) for v in target)
    else:
        dims = nets.dims_of(target, biases=bool(lay.has_biases))
    if dims != tuple(spec.dims):
        raise InputError(f"target of dims {dims} does not match the spec's dims {tuple(spec.dims)}")
    n = size(spec)
    if n > MAX_BINARIES:
        raise InputError(f"ticket of dims {tuple(spec.dims)} at c = {spec.candidates} ({spec.layout}) has size {n} "
                         f"binaries > MAX_BINARIES = {MAX_BINARIES} for the exact error; use the certificate: "
                         "slth.measure.ticket_certificate")
    if importlib.util.find_spec("pyscipopt") is None:
        raise InputError("the exact error needs SCIP, which is not installed: pip install 'slth[exact]' "
                         "(pyscipopt); without it, use the certificate: slth.measure.ticket_certificate")


# --------------------------------------------------------------------------- the entry point

@precision.float64
def exact_error(ticket, *, rtol: float = 1e-3, time_limit: float = 60.0) -> ExactError:
    """E(S) of ``ticket`` to relative tolerance ``rtol``: lower <= E(S) <= upper and, when status is
    "optimal", upper <= lower·(1 + rtol). In float64 (NumPy, SCIP, JAX under :mod:`slth.precision`'s scope).

    The lower end is the reference gap ``gap_at(target, pruned, witness[None])`` at a unit-norm
    witness: the best of a cheap multi-start search on the stacked network, the adversarial search's
    witness (:func:`~slth.measure.ticket_lower_bound`, so the lower end is never below it) and every
    support problem's solution, each polished by projected ascent; never a solver's objective. The
    upper end is σ·√(D + Δ), D the dual bound of the final QP over the outer polytope (module
    docstring), Δ its margin. Before any cut, or when ``time_limit`` runs out, the bracket reached so
    far comes back with status "time_limit": the last quarter of the time is kept to prove the
    polytope's bound, and without any cut the upper end is ‖D‖, the output rows' own bounds. At the
    time limit the program's bound can exceed :func:`~slth.measure.ticket_certificate`, also a proof,
    so the upper end returned is the smaller of the two. "time_limit" also stands where the margin alone
    exceeds rtol·E (an error of ~1e-6 of the networks' scale); an error that is provably 0 (every
    output bound 0) returns lower = upper = 0, "optimal".

    Reach: module docstring (pairs (8,8,8) and (4,4,4,4) in <= 25 s; ``l+1`` to (4,4,4) c = 16).

    Raises:
      InputError (one line, before any work): rtol outside (0, 1), time_limit <= 0, a layout of neither
        pairs nor copies, a ticket larger than :data:`MAX_BINARIES` (:func:`size`), or a hidden unit
        of a block layer that keeps more than one incoming weight (not the block structure).
    """
    start = time.perf_counter()
    rtol = checks.open_unit("rtol", rtol)
    time_limit = checks.positive("time_limit", time_limit)
    check_affordable(ticket.target, ticket.spec, time_limit=time_limit, rtol=rtol)
    from slth.measure.deep import ticket_gap_at, ticket_lower_bound

    net = _stack(ticket)
    bounds = _bounds(net)
    d0 = net.f[0].shape[1]
    box = bounds.diff[-1]                                   # |y_k| <= box_k over the ball
    top = float(np.linalg.norm(box))

    def reference(xs):
        """The best of xs (moved onto the sphere, or into the ball with biases) by the reference gap,
        and that gap recomputed for it alone."""
        xs = np.array([net.project(x) for x in xs if x is not None and (net.biased or np.linalg.norm(x) > 0)])
        x = xs[int(np.argmax(ticket_gap_at(ticket, xs)))]
        return float(ticket_gap_at(ticket, x[None])[0]), x

    # starting witnesses: a cheap multi-start on the stacked network and the adversarial search's own
    # witness, so the lower end is never below ticket_lower_bound's
    points = _search(net, d0, ticket.spec.seed)
    points.append(np.asarray(ticket_lower_bound(ticket).witness, np.float64))
    lower, witness = reference(points)
    upper, nodes, binaries, cuts = top, 0, 0, []
    if upper > lower * (1 + rtol):
        sigma = lower if lower > 0 else top                 # the program works in units of σ
        prog = _Program(net, bounds, sigma)
        binaries = prog.binaries
        scaled = box / sigma
        reserve = 0.25 * time_limit                         # kept for the final certification
        y0 = net.forward(witness[None])[0]
        u = y0 / np.linalg.norm(y0) if np.linalg.norm(y0) > 0 else np.eye(len(box))[0]
        certified, ratio = False, top / max(lower, 1e-300)
        while True:
            left = time_limit - (time.perf_counter() - start)
            if left <= reserve:
                break
            best = max(points, key=lambda x: float(u @ net.forward(x[None])[0]))
            # a cut far from the maximum need not be tight: its gap follows the bracket's width
            gap = min(0.05, max(rtol / 10, (ratio - 1) / 8))
            t0 = time.perf_counter()
            h, x, n = prog.support(u, best, gap=gap, time_limit=left - reserve)
            t1 = time.perf_counter()
            nodes += n
            if x is None and h >= float(np.abs(u) @ scaled):     # the solver failed: try a nearby direction
                u = u + 1e-3 * np.random.default_rng(len(cuts)).standard_normal(len(u))
                u = u / np.linalg.norm(u)
                continue
            cuts.append((u, h))
            if x is not None and (net.biased or np.linalg.norm(x) > 0):
                x = net.project(x)
                points += [x, _polish(net, x)]
                cand, xw = reference([witness, *points[-2:]])
                if cand > lower:
                    lower, witness = cand, xw
            v = _farthest(cuts, scaled)
            ratio = sigma * np.linalg.norm(v) / lower if v is not None else math.inf
            log.debug("cut %d: h=%.6g gap=%.2g nodes=%d milp=%.2fs lower=%.6g farthest/lower=%.5f qhull=%.2fs t=%.2fs",
                      len(cuts), h * sigma, gap, n, t1 - t0, lower, ratio, time.perf_counter() - t1,
                      time.perf_counter() - start)
            if v is None or sigma * np.linalg.norm(v) <= lower * (1 + rtol / 2):
                left = time_limit - (time.perf_counter() - start)
                t2, w = _certify(cuts, scaled, v, gap=rtol / 2,
                                 time_limit=left - reserve if v is None else left)
                upper = min(upper, sigma * math.sqrt(t2))
                certified = True
                if upper <= lower * (1 + rtol):
                    break
                v = w if v is None else v
                if v is None:
                    break
            else:
                certified = False
            u = v / np.linalg.norm(v)
        if not certified and cuts:
            left = time_limit - (time.perf_counter() - start)
            upper = min(upper, sigma * math.sqrt(_certify(cuts, scaled, None, gap=rtol / 2, time_limit=left)[0]))
    # the certificate is a proof too: at a time limit it can be the better upper end
    from slth.measure.deep import ticket_certificate
    upper = min(upper, ticket_certificate(ticket))
    status = "optimal" if upper <= lower * (1 + rtol) else "time_limit"
    return ExactError(lower=lower, upper=upper, witness=witness, status=status,
                      seconds=time.perf_counter() - start, binaries=int(binaries), nodes=nodes,
                      cuts=len(cuts))
