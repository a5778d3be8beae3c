"""Random fixed-size subset sum (Natale, Ferré, Giambartolomei, Giroire, Mallmann-Trenn 2024, "On the
Sparsity of the Strong Lottery Ticket Hypothesis", arXiv 2410.14754; docs/theory.md §4.5).

Each (k_out, j, sign) problem keeps a subset of EXACTLY k of its candidates, the one whose product
sum is closest to the target weight, or keeps nothing when the empty sum (0) is at least as close.
Natale et al.'s Theorem 3 (sparse SLTH for dense networks) runs Pensia et al.'s construction with
their Corollary 1 (random fixed-size subset sum: n >= c_amp log2²(k/ε) / H2(k/n) i.i.d. samples
containing a uniform component approximate every z in [−√k, √k] by a k-subset, w.p. >= 1 − ε) in
place of Lueker's lemma, so every problem keeps k of its candidates, and the ticket keeps at most
4·d_{i-1}·d_i·k second- and first-layer weights per layer pair: a density at most ρ·k/n known in
advance (their proof of Theorem 3). The empty choice is slth's addition: the paper's statement is a
density upper bound ("sparsity at least α"), which keeping nothing can only improve, and it makes
the construction exact on zero targets, monotone in c for nested candidate lists (the feasible sets
of a prefix are feasible sets of the wider list), and defined when a problem has fewer than k valid
candidates of its sign.

How k is set. ``build`` takes ``k`` (default :data:`DEFAULT_K` = 3). The paper's regime is k small
against n (Theorem 2 needs k <= n/2), and its Theorem 2 asks for n with n·H2(k/n) >= c_hyp·log2(k/ε)
samples per problem. With c_hyp = 1 the fewest samples are needed at k = 3 for ε = 0.01 (n = 38, 12,
9, 9, 10, 12 for k = 1..6) and at k = 2 or 3 for ε = 0.05 (8, 6, 6, 8): k = 3 is the smallest k
that is narrowest at both, and a larger k only keeps more weights per problem. k = 1 is Malach et al.'s
selection (``test_fixed_size`` checks the masks agree). The registered name builds with
k = :data:`DEFAULT_K`; library callers pass ``k=``.

The solver is exact: every k-subset of a problem's U slots (U = units per block) is enumerated from
a precomputed index table of C(U, k) rows, invalid slots excluded, and the argmin taken, in chunks
of problems whose working set stays under :data:`MEMORY_BUDGET`. The table is the limit:
C(U, k) <= :data:`MAX_COMBINATIONS`, checked before any work.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from slth import nets
from slth.constructions._blocks import build_blocks, too_many
from slth.errors import InputError
from slth.ticket import Ticket

NAME = "fixed-size"

#: Subset size k of the registered construction (see the module docstring for why 3).
DEFAULT_K = 3
#: Most k-subsets enumerated per problem: C(U, k) for U units per block (2c on the first pair).
MAX_COMBINATIONS = 2 ** 22
#: Bytes of working set per chunk of problems (about 24 bytes per enumerated subset and problem).
MEMORY_BUDGET = 2 ** 28
_BYTES_PER_SUBSET = 24


def check_k(k) -> int:
    """``k`` as an int, or InputError unless it is an integer >= 1."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k {k!r} must be an integer >= 1 (the number of candidates each subset keeps)")
    return int(k)


def max_candidates(k: int = DEFAULT_K) -> int:
    """Largest c whose first pair (2c units per block, all of which may share one sign) has at most
    :data:`MAX_COMBINATIONS` k-subsets per problem.

    >>> max_candidates(1), max_candidates(3)
    (2097152, 147)
    """
    k = check_k(k)
    lo, hi = 1, 1
    while math.comb(2 * hi, k) <= MAX_COMBINATIONS:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:   # C(2c, k) grows with c: bisect on the largest c that fits
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if math.comb(2 * mid, k) <= MAX_COMBINATIONS else (lo, mid)
    return lo


#: Largest c of the registered construction (k = :data:`DEFAULT_K`).
MAX_CANDIDATES = max_candidates(DEFAULT_K)


def limit_reason(k: int = DEFAULT_K) -> str:
    """Why c stops at :func:`max_candidates` (k): the subsets a block's units give per problem."""
    limit = max_candidates(k)
    return (f"k = {k}: a block's {2 * (limit + 1)} units at c = {limit + 1} give "
            f"C({2 * (limit + 1)}, {k}) = {math.comb(2 * (limit + 1), k):,} subsets per problem, above the "
            f"enumeration limit {MAX_COMBINATIONS:,}")


def check_candidates(c: int, k: int = DEFAULT_K, *, what: str = "candidates") -> None:
    """InputError, before any work, if c candidates per block and sign are too many for subsets of k."""
    limit = max_candidates(k)
    if c > limit:
        raise too_many(c, limit, NAME, limit_reason(k), what=what)


@functools.cache
def subset_table(units: int, k: int) -> np.ndarray:
    """All k-subsets of range(units) as a (C(units, k), k) int32 array, in lexicographic order."""
    flat = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(units), k)), np.int32,
                       count=math.comb(units, k) * k)
    flat.setflags(write=False)
    return flat.reshape(-1, k)


def choose(candidates, targets, valid, *, k: int = DEFAULT_K):
    """Per problem, the k valid candidates whose sum is closest to the target (the first such subset
    in lexicographic order on ties), or none when |t| is at most that distance.

    Args:
      candidates: (B, U). targets: (B,). valid: (B, U) bool. k: subset size >= 1.
    Returns:
      (B, U) bool with k or 0 True entries per row, all valid.
    Raises:
      InputError: k not an integer >= 1, or C(U, k) above :data:`MAX_COMBINATIONS`.
    """
    k = check_k(k)
    candidates, targets = jnp.asarray(candidates), jnp.asarray(targets)
    valid = jnp.asarray(valid, bool)
    rows, units = candidates.shape
    if k > units or rows == 0:
        return jnp.zeros((rows, units), bool)
    count = math.comb(units, k)
    if count > MAX_COMBINATIONS:
        raise InputError(f"C({units}, {k}) = {count:,} subsets per problem is above the enumeration limit "
                         f"{MAX_COMBINATIONS:,}; lower the candidates or k")
    chunk = max(1, min(rows, MEMORY_BUDGET // (_BYTES_PER_SUBSET * count)))
    pad = -rows % chunk

    def split(x):   # padded rows have no valid slot, so they keep nothing; they are cut off below
        return jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)).reshape(-1, chunk, *x.shape[1:])

    out = _solve(split(candidates), split(targets), split(valid), jnp.asarray(subset_table(units, k)))
    return out.reshape(-1, units)[:rows]


@jax.jit
def _solve(candidates, targets, valid, table):
    return jax.lax.map(lambda args: _chunk(*args, table), (candidates, targets, valid))


def _chunk(values, targets, valid, table):
    # One gather per subset position (k of them, a static count): the working set is a few
    # (chunk, C(U, k)) arrays, never (chunk, C(U, k), k).
    sums = values[:, table[:, 0]]
    ok = valid[:, table[:, 0]]
    for j in range(1, table.shape[1]):
        sums = sums + values[:, table[:, j]]
        ok = ok & valid[:, table[:, j]]
    err = jnp.where(ok, jnp.abs(sums - targets[:, None]), jnp.inf)
    # Two plain reductions fuse with the sums above; reading err[best] back (or scattering into
    # the mask) would materialise the (chunk, C(U, k)) array and costs about ten times more.
    best = jnp.argmin(err, axis=1)
    use = jnp.min(err, axis=1) < jnp.abs(targets)
    slots = jnp.arange(values.shape[1])
    hit = (slots[None, :, None] == table[best][:, None, :]).any(axis=2)
    return hit & use[:, None]


def build(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None, k: int = DEFAULT_K) -> Ticket:
    """Fixed-size ticket (subsets of exactly k candidates, or none) for ``target`` in the random network
    of ``spec`` (Natale et al. 2024, Theorem 3's pruning); ``active``: see
    :func:`~slth.constructions._blocks.build_blocks`.

    Raises:
      InputError: k not an integer >= 1, or spec.candidates above :func:`max_candidates` (k).
    """
    k = check_k(k)
    check_candidates(spec.candidates, k)
    return build_blocks(target, spec, functools.partial(choose, k=k), NAME, active=active)


def max_kept(spec: nets.RandomSpec, k: int = DEFAULT_K) -> int:
    """Most weights a fixed-size ticket of ``spec`` can keep: per pair i, each of its S·d_i·d_{i-1}
    problems (S = 2 signs for i = 1, else 1) keeps k second-layer weights or none, and the first layer
    keeps one weight per unit used, at most min(d_{i-1}·U_i, S·d_i·d_{i-1}·k). This is the density
    guarantee of the paper's Theorem 3 (at most 4·d_{i-1}·d_i·k weights per pair) in slth's layout.

    >>> max_kept(nets.RandomSpec(dims=(2, 3), candidates=4, seed=0), 3)     # 36 + min(16, 36)
    52
    """
    k = check_k(k)
    total = 0
    for i in range(1, spec.depth + 1):
        d_in, d_out = spec.dims[i - 1], spec.dims[i]
        units = spec.units_per_block(i)
        per_problem = k if k <= units else 0
        problems = (2 if i == 1 else 1) * d_in * d_out
        total += problems * per_problem + min(d_in * units, problems * per_problem)
    return total
