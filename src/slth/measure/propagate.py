"""A tighter certificate of a ticket: differential bound propagation over cones of the input refined
by branch and bound on first-layer phases, with the upward rounding that makes any float64 certificate
a bound in exact arithmetic.

One job: the tighter certificate. Its relaxations, branch and bound and rounding share one derivation
(below), which every function here implements a step of, so they stay in one module.

Derivation (a proof sketch; float64 rounding is treated at the end).
Lifted input. For x in the unit ball write u = [σ(x); σ(−x)] (2 d_0 entries): u >= 0 and
‖u‖ = ‖x‖ <= 1. The target's first pre-activation is z^f_1 = W_1 x = F_1 u with F_1 = [W_1 | −W_1].
Both layouts compute their first random pair exactly as z ↦ A⁺σ(z) − A⁻σ(−z) (docs/theory.md §2.2; in
``l+1`` one row per copy), so the ticket's first pre-activations are z^g_1 = G_1 u, G_1 = [A⁺ | −A⁻].
Units and owners. Unit r of the ticket's layer i stands for target neuron o_i(r): the same neuron in
``pairs`` (o_i the identity, the collapsed network has the target's widths), copy (k, m) of neuron k in
``l+1`` (only live units, those with a kept outgoing weight: a dead unit cannot reach the output and
is dropped exactly, deep.py). Let R_i be the 0/1 matrix with R_i[r, o_i(r)] = 1 and let
δ_i = z^g_i − R_i z^f_i (per unit, ticket pre-activation minus its neuron's). Then δ_1 = E_1 u,
E_1 = G_1 − R_1 F_1, and with B_i the ticket's layer i on units (A⁺_i for ``pairs``, the pruned random
layer restricted to live units for ``l+1``) and E_i = B_i R_{i-1} − R_i W_i (the per-weight error map
of deep.py / weight_errors):
    δ_i = B_i (σ(z^g_{i-1}) − σ(R z^f_{i-1})) + E_i σ(z^f_{i-1})   (exact).        (*)
At the output (ρ_l = 1, no σ) δ_l = g_S(x) − f(x).
Concretisation. Over a set D = {u >= 0, ‖u‖ <= 1, u_j = 0 off a support} of lifted inputs,
sup_{u in D} a·u + c = ‖max(a, 0) ⊙ 1_D‖ + c (Cauchy–Schwarz on the support, attained at the
normalised positive part), and inf = c − ‖max(−a, 0) ⊙ 1_D‖. On a leaf D' = D ∩ {c_k·u >= 0, k <= m}
(phase constraints, below) the Lagrangian step: for every λ in R^m with λ >= 0 and u in D',
a·u <= a·u + Σ_k λ_k c_k·u = (a + λC)·u, so sup_{D'} a·u <= sup_D (a + λC)·u = ‖max(a + λC, 0) ⊙ 1_D‖.
Any λ >= 0 is sound (and the minimum over λ >= 0 equals the sup: strong duality for a polyhedral
cone, sup_{K ∩ ball} a·u = dist(a, −K*)), so only the value matters, not how λ is found: ``steps``
accelerated projected-gradient (FISTA) steps on ½‖max(a + λC, 0) ⊙ 1_D‖² from λ = 0 (convex, gradient
Lipschitz with constant ‖C ⊙ 1_D‖_2²), then, at the output only, ``newton`` active-set Newton steps (least
squares of a + λC on its positive entries, multipliers that come out negative dropped); after every
step λ is clipped at 0 (:func:`_project`) and scaled down so that Σ_k λ_k ‖c_k ⊙ 1_D‖ <= 2‖a ⊙ 1_D‖
(for the rounding), and the smallest value met is kept (each is a bound). (A negative λ would be
unsound: c_k·u >= 0 then lowers nothing; a test checks that it is caught.)
Relaxations. Each hidden layer i < l gets, per cone, linear bounds of its two nonlinearities.
(R1) Target: for z = z^f_i[k] in [a, b] on D (concrete bounds, below), αz <= σ(z) <= tz + s with
identity (α = t = 1, s = 0) if a >= 0, zero if b <= 0, else t = b/(b − a), s = −ta and α = 1 if
b >= −a else 0 (the triangle relaxation with CROWN's adaptive lower slope; sound because σ is convex
and αz <= σ(z) for every α in [0, 1]).
(R2) Ticket change: Δh = σ(z + δ) − σ(z) (z = z^f of the unit's neuron, δ its δ_i) always lies between
min(δ, 0) and max(δ, 0) (σ monotone and 1-Lipschitz); with δ in [p, q], p < 0 < q, the chords
q(δ − p)/(q − p) >= max(δ, 0) and −p/(q − p)·δ + pq/(q − p) <= min(δ, 0) bound them (convex / concave),
δ itself / 0 when p >= 0 or q <= 0. Four refinements, each an identity: z >= 0 on D gives
Δh = max(δ, −z) >= δ; z + δ >= 0 gives Δh = min(δ, z + δ) <= δ; z <= 0 gives Δh = σ(z + δ) >= 0;
z + δ <= 0 gives Δh = −σ(z) <= 0 (a unit stable in both networks is carried exactly). So
lt δ + ls <= Δh <= ut δ + us with per-unit (lt, ls, ut, us), and h^f = σ(z^f) between α z^f and t z^f + s.
Back-substitution (CROWN / DeepPoly). For an objective cf·z^f_j + cd·δ_j (any coefficient rows),
(*) and z^f_j = W_j h^f_{j-1} write it exactly as a·h^f_{j-1} + c·Δ_{j-1} with a = cf W_j + cd E_j,
c = cd B_j. Each term is bounded above by its relaxation chosen by the coefficient's sign:
a_k h_k <= a_k⁺(t_k z_k + s_k) + a_k⁻ α_k z_k and c_r Δ_r <= c_r⁺(ut_r δ_r + us_r) + c_r⁻(lt_r δ_r + ls_r),
which is again an objective cf'·z^f_{j-1} + cd'·δ_{j-1} plus a constant. Repeating down to layer 1,
where z^f_1 = F_1 u and δ_1 = E_1 u exactly, gives an upper form A u + c valid on D, concretised as
above; lower bounds are minus the upper bound of the negated objective. Per hidden layer j, in order
j = 1, 2, ..., l − 1, this bounds z^f_j, δ_j and z^g_j = R_j z^f_j + δ_j (the objectives' rows
(e_k, 0), (0, e_r), (e_{o(r)}, e_r)), whose concrete bounds choose layer j's relaxations (R1, R2);
the relaxations of layers < j are already fixed, so every step uses only proved bounds. Unlike
forward propagation of forms, the sign choice is made on the combined coefficient of each unit, so
no form is split into upper and lower parts that no longer cancel. At the output (layer l) the rows
±e_k of δ_l give, for every k, forms L_k u + l_k <= δ_l[k] <= U_k u + c_k on D.
Norm of the output. With C = (U + L)/2, c0 = (c + l)/2 and the radius ρ(u) = (U − L)u/2 +
(c − l)/2 >= 0 on D, δ_l = Cu + c0 + r with |r| <= ρ(u), so
    sup_D ‖δ_l‖ <= min( ‖(max(|inf δ_l[k]|, |sup δ_l[k]|))_k‖,  ‖C 1_D‖_2 + ‖c0‖ + ‖(sup_D ρ_k)_k‖ ),
the first the per-coordinate box, the second a norm bound that does not pay √d_l when the error
is one linear map (it is ‖E_1‖_2 on D for l = 1). Third, the box in a rotated basis: with Q (d_l × d_l,
columns q_k) the eigenvectors of C Cᵀ, back-substitute the objectives ±q_k·δ_l (same relaxations) and
concretise them; ‖δ_l‖ <= ‖Qᵀδ_l‖ / √(1 − ‖QᵀQ − I‖_F) (σ_min(Q)² >= 1 − ‖QᵀQ − I‖_2, the defect
computed and increased by η, used only when below 1/2), so ‖(max(|inf q_k·δ_l|, |sup q_k·δ_l|))_k‖
over that root bounds it; this box is tight along the centre's principal directions.
Cones. The unit ball is covered by the cones {x_j >= 0 for j in P, x_j <= 0 for j in N} over a set
S = P ∪ N of split coordinates; on such a cone u_{d_0 + j} = 0 (j in P) and u_j = 0 (j in N), so the
bound above with D's support restricted applies, and E(S) <= max over the 2^|S| cones. S is the
min(d_0, ⌊log2 budget⌋) coordinates with the largest columns of E_1 (all of them for d_0 <= 8 at the
default budget 256: the orthants), fewer when 2^|S| times the work of one propagation would exceed
:data:`WORK` multiply-adds. Everything is evaluated for all cones at once (a leading axis).
Phase leaves (branch and bound, networks with a hidden layer). Then only ⌊log2 budget⌋ // s coordinates
are split (s = 2 for propagate-1 and -2, 16 cones at the default budget; s = 4 for propagate-3 and -4,
4 cones) and the rest of the budget goes to first-layer phases; where d_0 <= 4, propagate-4 also runs
the search from all 2^d_0 orthants and keeps the smaller of the two bounds (each is a bound). A
leaf is a cone with phases fixed for some first-layer target neurons k (z^f_1[k] = F_1[k]·u >= 0 or
<= 0) and ticket units r (z^g_1[r] = G_1[r]·u >= 0 or <= 0): its set is the cone's D intersected with
the constraints ±F_1[k]·u >= 0, ±G_1[r]·u >= 0, all linear in u and exact on the leaf. Splitting a
leaf on one more phase replaces it by two leaves whose sets cover it (every u has one sign or the
other; the hyperplane is in both), so by induction the leaves cover the ball and E(S) <= max over
leaves of any valid leaf bound. On a leaf every concretisation uses the Lagrangian step with the
leaf's constraints (the box, the radius; the spectral term of the centre ignores them, sup over D'
<= sup over D), and layer 1's concrete bounds of a fixed phase are clipped to its sign (z >= 0 or
<= 0 holds exactly on the leaf), which makes R1 exact and triggers R2's refinements. A child's bound
is the minimum of its own and its parent's (the parent's bound holds on the child's subset). Best
first: each round splits the BATCH leaves with the largest bounds (that still have an unstable
first-layer phase) on their phase with the largest triangle gap −ab/(b − a) (a < 0 < b its bounds),
until ``splits``·budget leaves are evaluated or ``split_work`` multiply-adds spent, or (propagate-3, -4)
``patience`` rounds in a row leave the largest bound where it was (the effort, :class:`Effort`; every
stopping rule is sound, since any set of leaves that covers the ball bounds E(S); a leaf's constraints
are stored in its first rows, so their number is its depth).
Result. tight_certificate returns min(this bound, the norm certificate of the layout: docs/theory.md §3's
product Π(s_i + a_i) − Π s_i for ``pairs``, deep.py's copy recursion for ``l+1``), both rounded up.

Rounding. Every computed quantity is a sum of at most n products (n: the widest layer of the random
network, >= every width and 2 d_0 here), a composition of at most l + 1 such steps, a norm of such a
vector or an SVD 2-norm; each has absolute error at most about p(n)·u times the sum of the absolute
values of its terms (u = 2^-53; LAPACK's bound, p a modest polynomial, here taken as 64 n). In the
back-substitution the objective rows have norm <= √2, every slope (α, t, lt, ut) is in [0, 1] and the
coefficients of a step are |cf|·|W_i| + |cd|·(|E_i| + |B_i|) at most entrywise, so every coefficient
row, and every constant (the shifts s, us, ls are bounded by the concrete bounds, themselves
concretised rows), is bounded in absolute value by √2·M with M = Π_i max(1, ‖W_i‖_F + ‖B_i‖_F +
‖E_i‖_F) (layer 1: ‖F_1‖_F + ‖E_1‖_F), and so are the output forms whose norms make the value.
In a Lagrangian row a + λC (on the support) every entry of λC is at most Σ_k λ_k ‖c_k‖ <= 2‖a‖ in
absolute value (the cap on λ), so its entries are bounded by 3√2·M and its rounding is covered by
scale 6M below. Concrete bounds that choose a relaxation are widened outward by η(|a| + |b|) (η = 64 n u) before use,
so a relaxation chosen from them stays valid for the exact quantities (a relaxation of R1 or R2 is
valid for every z, δ in the widened interval, and the exact bounds lie inside it); the remaining
error of the final value is then at most a few η·(l + 1)·(value + M). :func:`round_up` adds
γ(|value| + scale) with γ = max(10^-12, 64 n u)·(depth + 2) and scale = 6M for the propagation bound,
then steps one float up. The same call bounds the old certificates: round_up(certificate(...),
terms=n, depth=l, scale=Π max(1, s_i)) bounds docs/theory.md §3's product (whose absolute rounding error is
at most a few γ Π(s_i + a_i) = a few γ (value + Π s_i)), and likewise copy_certificate.

Cost. For L cones, n^f_j neurons and n^g_j units in layer j and m = 2 d_0: layer j's bounds
back-substitute K_j = 2(n^f_j + 2 n^g_j) rows through j − 1 layers, O(L Σ_j K_j Σ_{i<=j}
(n^f_i n^f_{i-1} + n^g_i (n^f_{i-1} + n^g_{i-1})) + L K_j (n^f_1 + n^g_1) m) multiply-adds (:func:`_work`),
plus L SVDs of (d_l, m). :data:`WORK` caps L·work (fewer cones are split); the branch and bound
evaluates at most splits·budget leaves, fewer if split_work is reached (:class:`Effort`), each with
steps (+ newton at the output) Lagrangian steps of O(K m·D) each (D the leaf's number of
constraints). Measured with propagate-1 (a loaded shared 2-core machine): pairs (8,8,8) 120-160 ms,
(8,8,8,8) and (8,)*5 55-130 ms, (16,16,16) about 35 ms, ``l+1`` (8,)*4 at c = 10 about 30 ms, digits
(64,32,10) pairs about 0.13 s (``l+1`` digits about 1 s, as before the branch and bound). propagate-2
costs 1.6-1.7 times as much on the pairs cases (2026-12-02, seed 0: (8,8,8) subset sum c = 16 0.19 s
against 0.12 s, bound 0.0614 against 0.0651; selection c = 512 0.19 s against 0.11 s, 0.00934 against
0.00988; (8,8,8,8) 0.13 s, (8,)*5 0.10 s, (16,16,16) 0.06 s, their bounds within 0.7%). propagate-3
(2026-12-03, idle machine): 1.9 times propagate-2's time at the median over 21 tickets (8-8-8 selection
0.4-0.5 s, 8-8-8-8 0.3-0.4 s, 4-4-4 and 3-4-2 0.05-0.1 s, where the early stop ends the search below
propagate-2's cost), its bounds 1-20% lower (median certificate / lower bound 1.455 -> 1.303).
propagate-4 is propagate-3 where d_0 > 4 (the same computation, bit for bit); where d_0 <= 4 it costs up
to twice as much (a second search, from every orthant), on networks that small a few tens of ms.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from slth import checks, nets
from slth.errors import InputError
from slth.measure.deep import _copies, _live, copy_certificate, ticket_maps
from slth.measure.error import certificate
from slth.measure.rounding import UNIT_ROUNDOFF, round_up, terms

#: Default number of input cones (2^k for the k split coordinates).
BUDGET = 256


# --------------------------------------------------------------------------- the compact network

def _network(ticket, maps):
    """(first, layers): first = (F_1, G_1, o_1) on the lifted input; layers = [(W_i, B_i, o_{i-1}, o_i)]
    for i >= 2, B_i on (live) units, o_i the neuron each unit stands for; a residual target's skips are
    carried by identity units (:func:`slth.measure.residual.network`)."""
    target = [np.asarray(w, np.float64) for w in ticket.target]
    if _biased(ticket):                              # weights only; the biases are _constants'
        target = [w[:, :-1] for w in target]
        maps = [type(m)(np.asarray(m.plus, np.float64)[:, :-1], np.asarray(m.minus, np.float64)[:, :-1]) for m in maps]
    if ticket.spec.skips:
        from slth.measure import residual
        return residual.network(target, maps, ticket.spec.skips)
    d = [target[0].shape[1]] + [w.shape[0] for w in target]
    w1 = target[0]
    f1 = np.concatenate([w1, -w1], axis=1)
    if _copies(ticket.spec):
        copies = maps.copies
        owners = [np.repeat(np.arange(d[i]), copies[i - 1])[_live(maps, i)] for i in range(1, len(target) + 1)]
        live1 = _live(maps, 1)
        g1 = np.concatenate([maps.first.plus, -maps.first.minus], axis=1)[live1]
        bs = [maps.layers[i - 2][_live(maps, i)][:, _live(maps, i - 1)] for i in range(2, len(target) + 1)]
    else:
        owners = [np.arange(d[i]) for i in range(1, len(target) + 1)]
        g1 = np.concatenate([maps[0].plus, -maps[0].minus], axis=1)
        bs = [np.asarray(m.plus, np.float64) for m in maps[1:]]
    layers = [(target[i - 1], bs[i - 2], owners[i - 2], owners[i - 1]) for i in range(2, len(target) + 1)]
    return (f1, g1, owners[0]), layers


def _biased(ticket) -> bool:
    from slth.nets import layouts
    return layouts.layout(ticket.spec).has_biases


def _constants(ticket, maps, rows=None):
    """Per layer the constants of z^f_i and δ_i of a ticket with biases (:func:`slth.measure.affine.constants`),
    None without biases. ``rows``: each layer's row count in :func:`_network`, whose rows past the target's
    (a residual target's carriers, :func:`slth.measure.residual.network`) get the constant 0."""
    from slth.measure import affine
    if not _biased(ticket):
        return None
    consts = affine.constants(ticket.target, maps)
    if rows is None:
        return consts
    return [tuple(np.pad(v, (0, n - len(v))) for v in pair) for pair, n in zip(consts, rows)]


#: Most multiply-adds one propagation may spend (cones × Σ_i units_i·units_{i-1}·2 d_0): fewer cones
#: are used for networks so large that the budget would exceed it.
WORK = 2 * 10 ** 7


def _cones(e1: np.ndarray, d0: int, budget: int, work: int) -> np.ndarray:
    """Support masks (L, 2 d_0) of the input cones: the k = min(d_0, ⌊log2 budget⌋) coordinates with
    the largest error columns split by sign (fewer while 2^k·work > WORK), the others keep both halves
    of the lifted input."""
    k = min(d0, int(math.floor(math.log2(budget))))
    while k > 0 and 2 ** k * work > WORK:
        k -= 1
    weight = np.linalg.norm(e1[:, :d0], axis=0) + np.linalg.norm(e1[:, d0:], axis=0)
    split = np.sort(np.argsort(-weight, kind="stable")[:k])
    signs = ((np.arange(2 ** k)[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)   # (L, k)
    mask = np.ones((2 ** k, 2 * d0))
    mask[:, split] = signs
    mask[:, d0 + split] = ~signs
    return mask


# --------------------------------------------------------------------------- back-substitution

@dataclasses.dataclass(frozen=True)
class Effort:
    """How hard the branch and bound works: at most ``splits``·budget leaves and ``split_work``
    multiply-adds (leaves × the work of one), ``steps`` projected-gradient steps of each leaf's Lagrange
    multipliers, then ``newton`` active-set Newton steps at the output. ``cone_share``: the branch and
    bound starts from 2^(⌊log2 budget⌋ // cone_share) input cones, and where d_0 <= ``orthants`` also
    from every orthant (2^d_0 cones; the smaller bound is kept). ``patience``: it stops early after
    that many rounds in a row that lowered the largest leaf bound by less than a relative 10^-6 (None:
    never). Any effort gives a sound bound; more gives a tighter one."""

    splits: int
    split_work: int
    steps: int
    newton: int
    cone_share: int = 2
    patience: int | None = None
    orthants: int = 0


#: Every effort slth has computed certificates with, by the name a ticket file records
#: (``certificate_method``), so that ``slth verify`` recomputes a file's certificate with its own.
#: "propagate-1": until 2026-12-02; "propagate-2": twice the leaves, more gradient steps and no Newton
#: steps (measured on 8-8-8 selection tickets: the Newton steps moved the bound by < 0.1% at 57% of
#: the time, the gradient steps and leaves by 5-10%; ``benchmarks/sandwich.py``).
#: "propagate-3" (2026-12-03): twice propagate-2's leaves, the branch and bound started from 4 cones
#: instead of 16 (its leaves go to first-layer phases, which tighten more than input signs: measured on
#: 21 tickets of 8-8-8, 8-8-8-8, 4-4-4 and 3-4-2 targets at equal leaves, splitting every input sign
#: first was the loosest of five orders), and an early stop after 4 rounds without progress (the small
#: tickets whose phases are all split by then); on those tickets the median certificate / lower bound
#: went from 1.455 (propagate-2) to 1.303 in 1.9 times the time (0.29 s against 0.13 s, median), and
#: four times propagate-2's leaves would give 1.287 in 5.5 times the time. Where d_0 <= 4 it can be
#: up to 5% looser than propagate-2, whose 16 cones are then every orthant (benchmarks/README.md).
#: "propagate-4" (2026-12-03): propagate-3, and where d_0 <= 4 the smaller of that and the same search
#: started from every orthant (2^d_0 <= 16 cones), which keeps both gains: on the eight tickets whose exact
#: error is known (benchmarks/sandwich.py, seeds 0-2), median certificate / exact 1.292 (propagate-2 1.294,
#: propagate-3 1.301); identical to propagate-3 where d_0 > 4.
METHODS = {"propagate-1": Effort(splits=2, split_work=2 * 10 ** 7, steps=12, newton=2),
           "propagate-2": Effort(splits=4, split_work=3 * 10 ** 7, steps=16, newton=0),
           "propagate-3": Effort(splits=8, split_work=6 * 10 ** 7, steps=16, newton=0, cone_share=4, patience=4),
           "propagate-4": Effort(splits=8, split_work=6 * 10 ** 7, steps=16, newton=0, cone_share=4, patience=4,
                                 orthants=4)}

#: The effort of the certificate slth computes now.
METHOD = "propagate-4"


def effort(method: str) -> Effort:
    """The :class:`Effort` named ``method`` (a key of :data:`METHODS`); InputError otherwise."""
    if method not in METHODS:
        raise InputError(f"certificate method {method!r} is not one of {sorted(METHODS)}")
    return METHODS[method]


def _positive_norm(form, mask, cons, newton=0, steps=METHODS[METHOD].steps):
    """sup of form·u over each leaf {u >= 0 on the mask's support, ‖u‖ <= 1, cons·u >= 0}: without
    constraints ‖max(form, 0) ⊙ mask‖ (attained); with them ‖max(form + λ·cons, 0) ⊙ mask‖ at a
    λ >= 0 found by projected gradient steps on ½‖max(form + λ·cons, 0)‖², the smallest value met
    (every λ >= 0 gives an upper bound: the module docstring's Lagrangian step). form (L, K, n),
    mask (L, n), cons (L, D, n) or None; λ is capped by Σ_k λ_k ‖c_k‖ <= 2‖form‖ (rounding)."""
    a = form * mask[:, None, :]
    best = np.sqrt(np.sum(np.square(np.maximum(a, 0.0)), axis=-1))
    if cons is None or cons.shape[1] == 0:
        return best
    c = cons * mask[:, None, :]
    cnorm = np.linalg.norm(c, axis=-1)                                   # (L, D)
    lip = np.linalg.eigvalsh(np.matmul(c, np.swapaxes(c, 1, 2)))[:, -1]   # ‖C ⊙ 1_D‖_2², the gradient's Lipschitz constant
    step = 1.0 / np.maximum(lip, 1e-300)                                 # (L,)
    cap = 2.0 * np.linalg.norm(a, axis=-1)                               # (L, K)
    lam = np.zeros(a.shape[:2] + (c.shape[1],))
    ct, point, momentum = np.swapaxes(c, 1, 2), lam, 1.0
    for _ in range(steps):                          # accelerated projected gradient (FISTA) from λ = 0
        pos = np.maximum(a + np.matmul(point, c), 0.0)
        new = _project(point - step[:, None, None] * np.matmul(pos, ct))
        total = np.matmul(new, cnorm[..., None])[..., 0]
        new = new * np.minimum(1.0, cap / np.maximum(total, 1e-300))[..., None]
        value = np.sqrt(np.sum(np.square(np.maximum(a + np.matmul(new, c), 0.0)), axis=-1))
        best = np.minimum(best, value)
        following = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * momentum ** 2))
        point, lam, momentum = new + ((momentum - 1.0) / following) * (new - lam), new, following
    for _ in range(newton):                         # active-set Newton: least squares on the positive part
        on = (a + np.matmul(lam, c) > 0.0).astype(np.float64)             # (L, K, n)
        free = ~((lam <= 0.0) & (np.matmul(on * (a + np.matmul(lam, c)), ct) > 0.0))   # not held at 0 by the gradient
        free = free.astype(np.float64)
        gram = np.matmul(c[:, None] * on[:, :, None, :], ct[:, None]) * free[..., :, None] * free[..., None, :]
        gram = gram + np.eye(lam.shape[-1]) * (1e-12 * np.trace(gram, axis1=-2, axis2=-1)[..., None, None] + 1e-300)
        rhs = -np.matmul(on * a, ct) * free
        try:
            solved = np.linalg.solve(gram, rhs[..., None])[..., 0] * free
        except np.linalg.LinAlgError:
            break
        new = _project(solved)
        total = np.matmul(new, cnorm[..., None])[..., 0]
        new = new * np.minimum(1.0, cap / np.maximum(total, 1e-300))[..., None]
        value = np.sqrt(np.sum(np.square(np.maximum(a + np.matmul(new, c), 0.0)), axis=-1))
        lam = np.where((value < best)[..., None], new, lam)
        best = np.minimum(best, value)
    return best


def _project(lam):
    """Projection onto the multipliers the Lagrangian step allows, λ >= 0."""
    return np.maximum(lam, 0.0)


def _sup(form, const, mask, cons=None, newton=0, steps=METHODS[METHOD].steps):
    """sup over each leaf of form·u + const (:func:`_positive_norm` + const).
    form (L, K, 2 d_0), const (L, K), mask (L, 2 d_0), cons (L, D, 2 d_0) or None."""
    return _positive_norm(form, mask, cons, newton, steps) + const


def _widen(a, b, eta):
    w = eta * (np.abs(a) + np.abs(b))
    return a - w, b + w


def _relu(a, b):
    """Triangle relaxation of σ(z), z in [a, b] (concrete, per cone): (α, t, s) with
    αz <= σ(z) <= tz + s on [a, b]."""
    active, unstable = a >= 0, (a < 0) & (b > 0)
    gap = np.where(unstable, b - a, 1.0)
    t = np.where(active, 1.0, np.where(unstable, b / gap, 0.0))
    shift = np.where(unstable, -t * a, 0.0)
    alpha = np.where(active | (unstable & (b >= -a)), 1.0, 0.0)
    return alpha, t, shift


def _change(p, q, fa, fb, ga, gb):
    """Relaxation of Δh = σ(z + δ) − σ(z) in δ from concrete bounds δ in [p, q], z in [fa, fb],
    z + δ in [ga, gb] (module docstring): (lt, ls, ut, us) with lt δ + ls <= Δh <= ut δ + us."""
    mixed = (p < 0) & (q > 0)
    gap = np.where(mixed, q - p, 1.0)
    # upper: max(δ, 0) <= chord; δ if p >= 0; 0 if q <= 0
    ut = np.where(p >= 0, 1.0, np.where(mixed, q / gap, 0.0))
    us = np.where(mixed, -ut * p, 0.0)
    # lower: min(δ, 0) >= chord; δ if q <= 0; 0 if p >= 0
    lt = np.where(q <= 0, 1.0, np.where(mixed, -p / gap, 0.0))
    ls = np.where(mixed, p * q / gap, 0.0)
    # refinements (identities): z >= 0 -> Δh >= δ; z + δ >= 0 -> Δh <= δ; z <= 0 -> Δh >= 0; z + δ <= 0 -> Δh <= 0
    lt, ls = np.where(fa >= 0, 1.0, lt), np.where(fa >= 0, 0.0, ls)
    ut, us = np.where(ga >= 0, 1.0, ut), np.where(ga >= 0, 0.0, us)
    lt, ls = np.where(fb <= 0, 0.0, lt), np.where(fb <= 0, 0.0, ls)
    ut, us = np.where(gb <= 0, 0.0, ut), np.where(gb <= 0, 0.0, us)
    return lt, ls, ut, us


def _back(cf, cd, j, first, layers, relax, consts=None):
    """Back-substitution: an upper form of cf·z^f_j + cd·δ_j (cf (L, K, n^f_j), cd (L, K, n^g_j)) as
    form·u + const (form (L, K, 2 d_0), const (L, K)), valid on each cone (module docstring). ``consts``
    (:func:`_constants`): each layer's constants, added where the layer is substituted."""
    const = np.zeros(cf.shape[:2])
    for i in range(j, 1, -1):
        if consts is not None:
            const = const + np.matmul(cf, consts[i - 1][0]) + np.matmul(cd, consts[i - 1][1])
        w, b, e = layers[i - 2]
        alpha, t, s, lt, ls, ut, us = relax[i - 2]
        a, c = np.matmul(cf, w) + np.matmul(cd, e), np.matmul(cd, b)      # on h^f_{i-1}, Δ_{i-1}
        ap, an, cp, cn = np.maximum(a, 0.0), np.minimum(a, 0.0), np.maximum(c, 0.0), np.minimum(c, 0.0)
        cf = ap * t[:, None] + an * alpha[:, None]
        cd = cp * ut[:, None] + cn * lt[:, None]
        const = const + np.matmul(ap, s[..., None])[..., 0] + np.matmul(cp, us[..., None])[..., 0] \
            + np.matmul(cn, ls[..., None])[..., 0]
    f1, e1 = first
    if consts is not None:
        const = const + np.matmul(cf, consts[0][0]) + np.matmul(cd, consts[0][1])
    return np.matmul(cf, f1) + np.matmul(cd, e1), const


def _leaf_bounds(f1, e1, owners, layers, mask, cons, fixed, eta, effort, consts=None):
    """The bound of each leaf (L,) and its layer-1 concrete bounds (fa, fb, ga, gb) of z^f_1, z^g_1.
    mask (L, 2 d_0) the cone's support, cons (L, D, 2 d_0) its phase constraints (rows c, c·u >= 0)
    or None, fixed = (sf (L, n^f_1), sg (L, n^g_1)) the fixed phases (+1 active, −1 inactive, 0 free)."""
    cones = mask.shape[0]
    relax, first = [], None
    for j in range(1, len(owners)):                 # bounds of layer j's pre-activations, its relaxations
        nf, o = (layers[j - 2][0].shape[0] if j >= 2 else f1.shape[0]), owners[j - 1]
        nu, r = len(o), _onehot(o, nf)
        # objectives: z^f_j (nf), δ_j (nu), z^g_j = R z^f_j + δ_j (nu); both signs
        cf = np.concatenate([np.eye(nf), np.zeros((nu, nf)), r], 0)
        cd = np.concatenate([np.zeros((nf, nu)), np.eye(nu), np.eye(nu)], 0)
        cf, cd = np.concatenate([cf, -cf], 0), np.concatenate([cd, -cd], 0)
        k = cf.shape[0] // 2
        form, const = _back(np.broadcast_to(cf, (cones,) + cf.shape), np.broadcast_to(cd, (cones,) + cd.shape),
                            j, (f1, e1), layers, relax, consts)
        sup = _sup(form, const, mask, cons, 0, effort.steps)
        lo, hi = _widen(-sup[:, k:], sup[:, :k], eta)
        fa, fb, p, q, ga, gb = lo[:, :nf], hi[:, :nf], lo[:, nf:nf + nu], hi[:, nf:nf + nu], lo[:, nf + nu:], hi[:, nf + nu:]
        if j == 1:                                  # a fixed phase holds exactly on its leaf
            sf, sg = fixed
            fa, fb = np.where(sf > 0, np.maximum(fa, 0.0), fa), np.where(sf < 0, np.minimum(fb, 0.0), fb)
            ga, gb = np.where(sg > 0, np.maximum(ga, 0.0), ga), np.where(sg < 0, np.minimum(gb, 0.0), gb)
            first = (fa, fb, ga, gb)
        relax.append(_relu(fa, fb) + _change(p, q, fa[:, o], fb[:, o], ga, gb))
    nf = layers[-1][0].shape[0] if layers else f1.shape[0]
    n = len(owners[-1])
    cd = np.concatenate([np.eye(n), -np.eye(n)], 0)
    form, const = _back(np.zeros((cones, 2 * n, nf)), np.broadcast_to(cd, (cones,) + cd.shape), len(owners),
                        (f1, e1), layers, relax, consts)
    up, uc, lo, lc = form[:, :n], const[:, :n], -form[:, n:], -const[:, n:]
    # one Lagrangian solve for the three sets of rows: sup of δ_l (up), of −δ_l (−lo) and of the radius
    norms = _positive_norm(np.concatenate([up, -lo, 0.5 * (up - lo)], 1), mask, cons, effort.newton, effort.steps)
    sup_up, inf_lo, radius = norms[:, :n] + uc, lc - norms[:, n:2 * n], norms[:, 2 * n:] + 0.5 * (uc - lc)
    box = np.linalg.norm(np.maximum(np.abs(inf_lo), np.abs(sup_up)), axis=1)
    centre = 0.5 * (lo + up) * mask[:, None, :]
    spectral = np.linalg.svd(centre, compute_uv=False)[:, 0] if centre.shape[1] and centre.shape[2] else 0.0
    norm = spectral + np.linalg.norm(0.5 * (lc + uc), axis=1) + np.linalg.norm(np.maximum(radius, 0.0), axis=1)
    bound = np.minimum(box, norm)
    if n >= 2 and centre.shape[2]:                  # the box in the basis of the centre's left singular vectors
        basis = np.linalg.eigh(np.matmul(centre, np.swapaxes(centre, 1, 2)))[1]   # (L, n, n), columns q_k
        rows = np.swapaxes(basis, 1, 2)
        form, const = _back(np.zeros((cones, 2 * n, nf)), np.concatenate([rows, -rows], 1), len(owners),
                            (f1, e1), layers, relax, consts)
        sup = _sup(form, const, mask, cons, effort.newton, effort.steps)
        side = np.linalg.norm(np.maximum(np.abs(sup[:, :n]), np.abs(sup[:, n:])), axis=1)
        defect = np.linalg.norm(np.matmul(rows, basis) - np.eye(n), axis=(1, 2)) + eta
        bound = np.where(defect < 0.5, np.minimum(bound, side / np.sqrt(np.maximum(1.0 - defect, 0.5))), bound)
    return bound, first


#: Leaves split per round of the branch and bound (the largest bounds first).
BATCH = 32


def _unstable(lo, hi):
    """Split score of a phase: the triangle relaxation's largest gap −lo·hi/(hi − lo) where lo < 0 < hi."""
    mixed = (lo < 0) & (hi > 0)
    return np.where(mixed, -lo * hi / np.where(mixed, hi - lo, 1.0), 0.0)


def propagation_bound(ticket, maps=None, *, budget: int = BUDGET, method: str = METHOD) -> float:
    """The differential bound propagation of the module docstring, before rounding and before the
    minimum with the norm certificate: max over the leaves (input cones, refined by the phases of
    first-layer neurons) of the bound on sup ‖δ_l‖, with the effort named ``method`` (:data:`METHODS`);
    where d_0 <= ``orthants`` the smaller of that and the same search started from every orthant."""
    effort_ = effort(method)
    maps = ticket_maps(ticket) if maps is None else maps
    (f1, g1, o1), net = _network(ticket, maps)
    d0 = f1.shape[1] // 2
    eta = 64.0 * terms(ticket) * UNIT_ROUNDOFF
    e1 = g1 - f1[o1]
    owners = [o1] + [o_out for _, _, _, o_out in net]
    layers = [(w, b, b @ _onehot(o_in, w.shape[1]) - w[o_out]) for w, b, o_in, o_out in net]
    work = _work(f1, owners, layers)
    consts = _constants(ticket, maps, [f1.shape[0]] + [w.shape[0] for w, _, _ in layers])
    # hidden layers: ⌊log2 budget⌋ // cone_share input signs split into cones, the rest on phases (not with
    # biases: a phase constraint c·u + b >= 0 is affine, which the Lagrangian step does not take)
    split = len(owners) >= 2 and consts is None
    if not split:
        mask = _cones(e1, d0, budget, work)
        fixed = (np.zeros((mask.shape[0], f1.shape[0])), np.zeros((mask.shape[0], g1.shape[0])))
        return float(np.max(_leaf_bounds(f1, e1, owners, layers, mask, None, fixed, eta, effort_, consts)[0]))
    k = int(math.floor(math.log2(budget))) // effort_.cone_share
    starts = [k] + ([d0] if k < d0 <= effort_.orthants else [])
    return min(_branch_and_bound(f1, g1, e1, owners, layers, _cones(e1, d0, 2 ** k, work), eta, effort_,
                                 min(effort_.splits * budget, effort_.split_work // max(work, 1))) for k in starts)


def _branch_and_bound(f1, g1, e1, owners, layers, mask, eta, effort_, allowed) -> float:
    """The largest leaf bound once the best-first search from the cones ``mask`` has evaluated
    ``allowed`` leaves (or stopped early: ``effort_.patience``); every set of leaves covers the ball."""
    cones = mask.shape[0]
    fixed = (np.zeros((cones, f1.shape[0])), np.zeros((cones, g1.shape[0])))
    bound, first = _leaf_bounds(f1, e1, owners, layers, mask, None, fixed, eta, effort_)
    rows = np.concatenate([f1, g1], 0)             # phase constraints: ±(row)·u >= 0
    cons = np.zeros((cones, 0, f1.shape[1]))
    depth = np.zeros(cones, int)                    # each leaf's constraints: cons[:, :depth], zeros after
    sign = np.concatenate(fixed, 1)
    spent = cones
    best, idle = float(np.max(bound)), 0            # the largest leaf bound so far, rounds without progress
    while spent + 2 <= allowed and (effort_.patience is None or idle < effort_.patience):
        score = np.concatenate([_unstable(first[0], first[1]), _unstable(first[2], first[3])], 1)
        score = np.where(sign != 0, 0.0, score)
        order = np.argsort(-bound, kind="stable")
        order = order[score[order].max(axis=1) > 0][:min(BATCH, (allowed - spent) // 2)]
        if not len(order):
            break
        pick = np.argmax(score[order], axis=1)
        at = depth[order]                           # the new constraint's row in each child
        if at.max() + 1 > cons.shape[1]:
            cons = np.concatenate([cons, np.zeros((cons.shape[0], 1, cons.shape[2]))], 1)
        child_mask = np.concatenate([mask[order], mask[order]], 0)
        child_sign = np.concatenate([sign[order], sign[order]], 0)
        child_cons = np.concatenate([cons[order], cons[order]], 0)
        child_depth = np.concatenate([at, at]) + 1
        idx, m = np.arange(len(order)), len(order)
        child_sign[idx, pick], child_sign[m + idx, pick] = 1.0, -1.0
        child_cons[idx, at], child_cons[m + idx, at] = rows[pick], -rows[pick]
        nf1 = f1.shape[0]
        cb, cfirst = _leaf_bounds(f1, e1, owners, layers, child_mask, child_cons,
                                  (child_sign[:, :nf1], child_sign[:, nf1:]), eta, effort_)
        cb = np.minimum(cb, np.concatenate([bound[order], bound[order]]))   # the parent's bound holds too
        keep = np.ones(len(bound), bool)
        keep[order] = False
        mask, sign, cons = (np.concatenate([x[keep], y], 0) for x, y in ((mask, child_mask), (sign, child_sign),
                                                                           (cons, child_cons)))
        bound, depth = np.concatenate([bound[keep], cb]), np.concatenate([depth[keep], child_depth])
        first = tuple(np.concatenate([x[keep], y], 0) for x, y in zip(first, cfirst))
        spent += 2 * m
        now = float(np.max(bound))
        idle = 0 if now < best * (1.0 - 1e-6) else idle + 1
        best = min(best, now)
    return float(np.max(bound))


def _work(f1, owners, layers):
    """Multiply-adds of one cone's back-substitution (the objectives of every layer through every
    layer below it), the unit of :data:`WORK`."""
    total, sizes = 0, [(f1.shape[0], len(owners[0]))] + [(w.shape[0], len(o)) for (w, _, _), o in zip(layers, owners[1:])]
    for j in range(1, len(sizes) + 1):
        k = 2 * (sizes[j - 1][0] + 2 * sizes[j - 1][1])
        total += k * (sum(sizes[i - 1][0] * sizes[i - 2][0] + sizes[i - 1][1] * (sizes[i - 2][0] + sizes[i - 2][1])
                          for i in range(2, j + 1)) + f1.shape[1] * (sizes[0][0] + sizes[0][1]))
    return total


def _onehot(owner, n):
    r = np.zeros((len(owner), n))
    r[np.arange(len(owner)), owner] = 1.0
    return r


def _scale(ticket, maps) -> float:
    """M of the module docstring's rounding: Π_i max(1, ‖W_i‖_F + ‖B_i‖_F + ‖E_i‖_F), each factor with the
    norms of layer i's constants added for a ticket with biases (:func:`_constants`)."""
    (f1, g1, o1), net = _network(ticket, maps)
    consts = _constants(ticket, maps) or [(np.zeros(0), np.zeros(0))] * (len(net) + 1)
    extra = [float(np.linalg.norm(b) + np.linalg.norm(d)) for b, d in consts]
    m = max(1.0, float(np.linalg.norm(f1) + np.linalg.norm(g1 - f1[o1])) + extra[0])
    for (w, b, o_in, o_out), more in zip(net, extra[1:]):
        e = b @ _onehot(o_in, w.shape[1]) - w[o_out]
        m *= max(1.0, float(np.linalg.norm(w) + np.linalg.norm(b) + np.linalg.norm(e)) + more)
    return m


def norm_certificate(ticket, maps=None) -> float:
    """The layout's norm certificate (docs/theory.md §3's product or deep.py's copy recursion), rounded up."""
    maps = ticket_maps(ticket) if maps is None else maps
    s = nets.spectral_norms(ticket.target)
    value = copy_certificate(ticket.target, maps) if _copies(ticket.spec) else certificate(ticket.target, maps)
    return round_up(value, terms=terms(ticket), depth=len(ticket.target),
                    scale=float(np.prod(np.maximum(1.0, s))))


def propagated_certificate(ticket, maps=None, *, budget: int = BUDGET, method: str = METHOD) -> float:
    """:func:`propagation_bound` rounded up (:func:`round_up`): a proof by itself, without the norm certificate."""
    effort(method)
    maps = ticket_maps(ticket) if maps is None else maps
    bound = propagation_bound(ticket, maps, budget=int(checks.count("budget", budget)), method=method)
    return round_up(bound, terms=terms(ticket), depth=len(ticket.target), scale=6.0 * _scale(ticket, maps))


def tight_certificate(ticket, maps=None, *, budget: int = BUDGET, method: str = METHOD) -> float:
    """Upper bound on sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ of ``ticket`` (either layout), in exact arithmetic:
    the smaller of :func:`propagation_bound` over at most ``budget`` input cones and the layout's norm
    certificate, each rounded up (:func:`round_up`). ``maps``: :func:`slth.measure.ticket_maps`;
    ``method``: the branch and bound's effort (:data:`METHODS`). In float64 NumPy (no JAX), so it needs
    no x64 mode."""
    budget = checks.count("budget", budget)
    effort(method)
    maps = ticket_maps(ticket) if maps is None else maps
    return min(norm_certificate(ticket, maps), propagated_certificate(ticket, maps, budget=budget, method=method))
