"""THEORY §5 properties 1-5 for the selection and subset-sum constructions, with hypothesis.

Reference computations here are deliberately naive (Python loops over units, all 2^n subsets), so
they share no code path with the batched constructions they check.
"""

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slth import constructions, measure, nets, pipeline
from slth import testing as slt
from slth.ticket import check_invariant, invariant_problems

NAMES = sorted(constructions.CONSTRUCTIONS)


@st.composite
def cases(draw, max_candidates=5):
    target = draw(slt.targets(max_depth=2, max_width=4))
    spec = draw(slt.specs(nets.dims_of(target), max_candidates=max_candidates))
    return target, spec


def naive_pair_maps(ticket, i):
    """A⁺, A⁻ of pair i (0-based) by a loop over hidden units (THEORY §2.2 verbatim)."""
    m1 = np.where(ticket.masks[2 * i], ticket.random[2 * i], 0.0)
    m2 = np.where(ticket.masks[2 * i + 1], ticket.random[2 * i + 1], 0.0)
    d_out, d_in = np.shape(ticket.target[i])
    plus, minus = np.zeros((d_out, d_in)), np.zeros((d_out, d_in))
    for r in range(m1.shape[0]):
        (cols,) = np.nonzero(m1[r])
        if len(cols) == 0:
            continue
        j, u = cols[0], m1[r, cols[0]]
        if u > 0:
            plus[:, j] += m2[:, r] * u
        else:
            minus[:, j] -= m2[:, r] * abs(u)
    return plus, minus


def block_problems(ticket, i):
    """Yield (k, j, sign, candidate values, chosen flags) of pair i by loops, from the masks."""
    spec = ticket.spec
    m1, m2 = np.asarray(ticket.random[2 * i]), np.asarray(ticket.random[2 * i + 1])
    s2 = np.asarray(ticket.masks[2 * i + 1])
    units = spec.units_per_block(i + 1)
    d_out, d_in = np.shape(ticket.target[i])
    for k in range(d_out):
        for j in range(d_in):
            rows = range(j * units, (j + 1) * units)
            for sign in ([1, -1] if i == 0 else [1]):
                rs = [r for r in rows if np.sign(m1[r, j]) == sign]
                yield k, j, sign, np.array([m2[k, r] * abs(m1[r, j]) for r in rs]), s2[k, rs]


def check_invariant_and_shapes(ticket):
    """THEORY §5.1: masks are 0/1, kept weights equal the random weights bit for bit (checked by
    regenerating the network from its seed), depth 2l, shapes as in §1-2 (h_i = 2 d_{i-1} c, or
    d_{i-1} c for i >= 2 with drop_negative), and the first layer of every pair is block-diagonal."""
    spec = ticket.spec
    assert invariant_problems(ticket) == []
    assert len(ticket.random) == 2 * spec.depth
    for i in range(1, spec.depth + 1):
        per_block = spec.candidates if (spec.drop_negative and i >= 2) else 2 * spec.candidates
        assert ticket.random[2 * i - 2].shape == (spec.dims[i - 1] * per_block, spec.dims[i - 1])
        assert ticket.random[2 * i - 1].shape == (spec.dims[i], spec.dims[i - 1] * per_block)
        if spec.drop_negative and i >= 2:
            assert np.all(np.asarray(ticket.random[2 * i - 2]) >= 0)


def check_pair_identity(ticket, maps, z_rng):
    """THEORY §5.2: layer pair i of the pruned network computes exactly z ↦ A⁺σ(z) − A⁻σ(−z), with A⁺,
    A⁻ summed from the chosen candidate sets; checked in float64 to round-off on z of both signs."""
    for i, m in enumerate(maps):
        plus, minus = naive_pair_maps(ticket, i)
        np.testing.assert_allclose(m.plus, plus, rtol=0, atol=1e-14)
        np.testing.assert_allclose(m.minus, minus, rtol=0, atol=1e-14)
        z = z_rng.normal(size=(16, ticket.spec.dims[i]))
        r1 = np.where(ticket.masks[2 * i], ticket.random[2 * i], 0.0)
        r2 = np.where(ticket.masks[2 * i + 1], ticket.random[2 * i + 1], 0.0)
        pair = np.maximum(z @ r1.T, 0.0) @ r2.T
        expected = np.maximum(z, 0.0) @ m.plus.T - np.maximum(-z, 0.0) @ m.minus.T
        np.testing.assert_allclose(pair, expected, rtol=0, atol=1e-13)


def check_sandwich(ticket, maps, rng):
    """THEORY §5.3: the adversarial lower bound never exceeds the certificate (up to float64
    round-off), and no input of the unit ball shows a larger gap than the certificate."""
    cert = measure.certificate(ticket.target, maps)
    lb = measure.lower_bound(ticket.target, ticket.pruned, key=jax.random.key(ticket.spec.seed), steps=50)
    assert lb.value <= cert + measure.ROUNDOFF
    assert abs(np.linalg.norm(lb.witness) - 1) < 1e-12
    x = rng.normal(size=(256, ticket.spec.dims[0]))
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1.0)
    assert measure.gap_at(ticket.target, ticket.pruned, x).max() <= cert + measure.ROUNDOFF


@pytest.mark.parametrize("name", NAMES)
@given(case=cases(), zseed=st.integers(0, 2**31 - 1))
def test_ticket_properties(name, case, zseed):
    """THEORY §5.1-5.3 on one ticket per example (building is the slow part): the invariant, the
    pair identity and the sandwich lower bound <= certificate; each check states its property."""
    target, spec = case
    ticket = constructions.build(name, target, spec)
    maps = measure.pair_maps(ticket.random, ticket.masks)
    rng = np.random.default_rng(zseed)
    check_invariant_and_shapes(ticket)
    check_pair_identity(ticket, maps, rng)
    check_sandwich(ticket, maps, rng)


@given(case=cases(max_candidates=4))
def test_subset_sum_exact(case):
    """THEORY §5.4: every (k, j, sign) subset of the subset-sum construction attains the optimum of
    brute force over all 2^n subsets of that block's candidates of that sign (Pensia et al. 2020,
    Lemma 1 assumes the best subset)."""
    target, spec = case
    ticket = constructions.build("subset-sum", target, spec)
    for i, w in enumerate(ticket.target):
        w = np.asarray(w)
        for k, j, sign, values, chosen in block_problems(ticket, i):
            goal = w[k, j] * sign
            best, _ = slt.brute_force_best(values, goal)
            got = abs(values[chosen].sum() - goal)
            assert got <= best + 1e-12, (i, k, j, sign, got, best)


@given(case=cases())
def test_selection_picks_closest(case):
    """THEORY §4.1: selection keeps at most one candidate per (k, j, sign): the one closest to the
    target value (Malach et al. 2020), or none when the target is closer to 0 than every candidate."""
    target, spec = case
    ticket = constructions.build("selection", target, spec)
    for i, w in enumerate(ticket.target):
        w = np.asarray(w)
        for k, j, sign, values, chosen in block_problems(ticket, i):
            goal = w[k, j] * sign
            assert chosen.sum() <= 1
            assert abs(values[chosen].sum() - goal) == min([abs(goal), *np.abs(values - goal)])


@pytest.mark.parametrize("name", NAMES)
@given(target=slt.targets(max_depth=2, max_width=3), seed=st.integers(0, 2**31 - 1),
       c1=st.integers(1, 4), extra=st.integers(1, 3))
def test_monotone_in_candidates(name, target, seed, c1, extra):
    """THEORY §5.5: with nested candidate lists (the first 2c units of each block are the same for
    every c, one random stream per block) no per-weight error grows when c grows."""
    errs = []
    for c in (c1, c1 + extra):
        spec = nets.RandomSpec(dims=nets.dims_of(target), candidates=c, seed=seed)
        ticket = constructions.build(name, target, spec)
        errs.append(measure.weight_errors(ticket.target, measure.pair_maps(ticket.random, ticket.masks)))
    for small, large in zip(*errs):
        assert np.all(np.abs(large) <= np.abs(small) + 1e-12)


def test_readme_example_certificates():
    """Issue 2, acceptance 2: at dims 8,16,16,4, c = 20, seed 0 (the README's example), the
    subset-sum ticket is a 0.01-ticket and the selection ticket's certificate is >= 10 times larger."""
    target = nets.random_target((8, 16, 16, 4), key=jax.random.key(0))
    spec = nets.RandomSpec(dims=(8, 16, 16, 4), candidates=20, seed=0)
    certs = {}
    for name in NAMES:
        ticket = constructions.build(name, target, spec)
        check_invariant(ticket)
        certs[name] = measure.certificate(ticket.target, measure.pair_maps(ticket.random, ticket.masks))
    assert certs["subset-sum"] < 0.01
    assert certs["selection"] >= 10 * certs["subset-sum"]


def test_prune_records_both_ends():
    """A prune result records the certificate, a lower bound below it and a unit-norm witness."""
    target = nets.random_target((3, 4, 2), key=jax.random.key(3))
    spec = nets.RandomSpec(dims=(3, 4, 2), candidates=5, seed=3)
    _, meta, witness = pipeline.prune("subset-sum", target, spec)
    assert 0 <= meta["lower_bound"] <= meta["certificate"] + measure.ROUNDOFF
    assert abs(np.linalg.norm(witness) - 1) < 1e-12
    assert meta["kept_params"] <= meta["random_params"] == spec.random_params()
