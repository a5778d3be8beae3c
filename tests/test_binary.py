"""The ``binary`` construction: Diffenderfer & Kailkhura 2021's binary random weights (±s, the law
``binary-scaled``) under the subset-sum block structure (docs/theory.md §2, §4.2, §4.5). The shared
properties (§5.1-5.3, 5.5, 5.8) run in the theorem suite through the registry; here: the law, the
exact optimum against brute force over all 2^n subsets and against ``slth.subset_sum.solve`` (§5.4),
the lattice floor, nested prefixes, bad input, and the prune -> verify path."""

import dataclasses

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slth import cli, constructions, measure, nets, pipeline, subset_sum
from slth import testing as slt
from slth import ticket as ticket_mod
from slth.constructions import binary
from slth.errors import InputError

S = binary.SPACING
DIMS = (2, 3, 2)


def spec(c, seed=0, **kw):
    return nets.RandomSpec(dims=kw.pop("dims", DIMS), candidates=c, seed=seed, distribution=binary.LAW, **kw)


def certificate(ticket):
    return measure.certificate(ticket.target, measure.pair_maps(ticket.random, ticket.masks))


def lattice_target(rng, dims=DIMS):
    """Entries on the lattice m·S, half-way between lattice points (m + ½)·S (where the floor S/2 is
    attained), below the floor, and exact zeros: all small, so every spectral norm is below 1."""
    layers = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        m = rng.integers(-6, 7, size=(d_out, d_in)).astype(float)
        kind = rng.permutation(np.arange(d_out * d_in) % 4).reshape(d_out, d_in)   # every kind present
        below = rng.uniform(-S / 2, S / 2, m.shape)
        layers.append(np.select([kind == 0, kind == 1, kind == 2], [m * S, (m + 0.5) * S, below], 0.0))
    nets.check_target(layers)
    return tuple(layers)


def test_law_is_plus_minus_s_and_products_are_exact():
    """The law is uniform on {−s, +s}, s = nets.BINARY_SCALE, in float64 and float32 alike, and every
    candidate product v·|u| of the block structure is ±s² bit for bit (the lattice of the sums)."""
    for dtype in ("float64", "float32"):
        net = nets.random_network(spec(4, seed=3, dtype=dtype))
        for m in net:
            assert set(np.unique(np.asarray(m)).tolist()) == {-nets.BINARY_SCALE, nets.BINARY_SCALE}
        first, second = (np.asarray(m, np.float64) for m in net[:2])
        products = second[:, :, None] * np.abs(first)[None]
        assert set(np.unique(products).tolist()) == {-S, S}
    assert S == 2.0 ** -10 and binary.FLOOR == S / 2


@given(signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=1, max_size=12),
       valid=st.lists(st.booleans(), min_size=12, max_size=12),
       goal=st.one_of(st.floats(-16 * S, 16 * S), st.integers(-16, 16).map(lambda m: (m + 0.5) * S),
                      st.integers(-16, 16).map(lambda m: m * S), st.sampled_from([-1.0, 1.0, 0.0])))
def test_chooser_is_the_brute_force_optimum(signs, valid, goal):
    """docs/theory.md §5.4 for this law: the chooser's subset attains the optimum over all 2^n subsets of the
    valid candidates ±S (slth.testing.brute_force_best) and the optimum of the exact solver
    slth.subset_sum.solve, keeps the fewest weights among optimal subsets, and never an invalid
    slot. Rule: float64, 1e-12 (the sums are exact lattice points)."""
    values = np.asarray(signs) * S
    ok = np.asarray(valid[:len(values)])
    chosen = np.asarray(binary.choose(values[None], np.array([goal]), ok[None]))[0]
    assert not (chosen & ~ok).any()
    best, best_set = slt.brute_force_best(values[ok], goal)
    err = abs(values[chosen].sum() - goal)
    assert err <= best + 1e-12
    assert chosen.sum() == len(best_set)              # the first optimum by size is the sparsest
    if ok.any():
        exact = subset_sum.solve(values[None], np.array([goal]), valid=ok[None])
        assert abs(err - exact.error[0]) <= 1e-12


@pytest.mark.theorem("§5.4 exactness")
@given(seed=st.integers(0, 2**31 - 1), c=st.sampled_from([1, 4]), drop=st.booleans(),
       kind=st.sampled_from(["lattice", "gaussian", "corner"]))
def test_ticket_attains_the_brute_force_optimum(evidence, seed, c, drop, kind):
    """docs/theory.md §4.2 and §5.4: every (k, j, sign) problem of a binary ticket (read back from its masks by
    slth.testing.ticket_problems) attains the brute-force optimum over all 2^n subsets of that block's
    candidates of that sign, with the fewest kept weights among optima. Targets on and half-way
    between lattice points, below the floor, Gaussian at spectral norm 1, and a single entry at ±1.
    Rule: float64, 1e-12."""
    rng = np.random.default_rng(seed)
    if kind == "lattice":
        target = lattice_target(rng)
    else:
        target = tuple(np.asarray(w) for w in nets.random_target(DIMS, key=jax.random.key(seed)))
        if kind == "corner":
            target = tuple(slt.adversarial_layer(w, "corner", 0.0, rng) for w in target)
    ticket = constructions.build(binary.NAME, target, spec(c, seed, drop_negative=drop))
    for where, goal, values, chosen in slt.ticket_problems(ticket):
        best, best_set = slt.brute_force_best(values, goal)
        assert abs(values[chosen].sum() - goal) <= best + 1e-12, where
        assert chosen.sum() == len(best_set), where
        evidence.example()


def test_the_floor_is_reached_and_never_beaten():
    """The lattice argument: with enough candidates every weight error is <= S/2 (the floor), and a
    weight half-way between lattice points keeps error exactly S/2 at every width, nested prefixes
    included (no subset sum lies off the lattice)."""
    rng = np.random.default_rng(0)
    target = lattice_target(rng)
    half = [np.abs(np.round(w / S) - w / S) == 0.5 for w in target]
    big = spec(32, seed=1)
    for c in (1, 8, 32):
        ticket = constructions.build(binary.NAME, target, big, active=c)
        errors = measure.weight_errors(ticket.target, measure.pair_maps(ticket.random, ticket.masks))
        for i, (e, h) in enumerate(zip(errors, half)):
            e, h = np.abs(e), (np.hstack([h, h]) if i == 0 else h)   # pair 1: [A⁺ − W | A⁻ − W]
            assert h.any() and np.all(e[h] >= binary.FLOOR - 1e-15)
            if c == 32:   # |m| <= 6 lattice steps: 32 candidates per block and sign are plenty here
                assert np.all(e <= binary.FLOOR + 1e-15)


def test_nested_prefixes_and_monotonicity():
    """docs/theory.md §5.5 and the width search's contract: the ticket of width c built inside a wider network
    (``active=c``) is RandomSpec(c)'s ticket embedded (same kept weights, same pair maps), and no
    per-weight error grows with c. Rule: exact equality of the maps; errors compared to 1e-12."""
    target = tuple(np.asarray(w) for w in nets.random_target(DIMS, key=jax.random.key(5)))
    wide = spec(32, seed=5)
    previous = None
    for c in range(1, 33):
        inside = constructions.build(binary.NAME, target, wide, active=c)
        maps = measure.pair_maps(inside.random, inside.masks)
        if c in (1, 4):   # the widths the other tests compile
            alone = constructions.build(binary.NAME, target, dataclasses.replace(wide, candidates=c))
            for a, b in zip(maps, measure.pair_maps(alone.random, alone.masks)):
                np.testing.assert_array_equal(a.plus, b.plus)
                np.testing.assert_array_equal(a.minus, b.minus)
        errors = [np.abs(e) for e in measure.weight_errors(inside.target, maps)]
        if previous is not None:
            for before, after in zip(previous, errors):
                assert np.all(after <= before + 1e-12), c
        previous = errors


def test_bad_input_is_refused_before_any_work():
    """Another weight law is refused by name, by the registry and by build itself; spec_for rewrites a
    spec to the law; the chooser refuses candidates off ±S (its optimality needs the lattice)."""
    target = tuple(np.asarray(w) for w in nets.random_target(DIMS, key=jax.random.key(0)))
    uniform = nets.RandomSpec(dims=DIMS, candidates=2, seed=0)
    with pytest.raises(InputError, match="'binary-scaled'.*'uniform'"):
        constructions.build(binary.NAME, target, uniform)
    with pytest.raises(InputError, match="'binary-scaled'.*'uniform'"):
        binary.build(target, uniform)
    assert constructions.spec_for(binary.NAME, uniform).distribution == binary.LAW
    assert constructions.info(binary.NAME).distribution == "binary-scaled"
    with pytest.raises(InputError, match="needs candidate products"):
        binary.choose(np.array([[S, 0.5]]), np.zeros(1), np.ones((1, 2), bool))
    with pytest.raises(InputError, match="active 0"):
        constructions.build(binary.NAME, target, spec(2), active=0)


def test_the_width_search_reports_a_true_eps_ticket():
    """§5.3 on a ticket that does certify: on a target whose entries are a few lattice steps (norm
    about 2.4S, so the empty ticket is no ε-ticket), the width search's certified width c* rebuilt on
    its own has certificate <= ε, c* − 1 does not certify, and the search's lower bound at c* stays
    below the certificate."""
    eps = 0.001
    target = (np.array([[2.0, -1.0], [1.0, 0.0]]) * S,)
    assert nets.spectral_norms(target)[0] > eps
    tw = measure.trial_width(binary.NAME, target, seed=3, eps=eps, c_max=4)
    assert tw.certified is not None and tw.certified > 1 and tw.optimistic <= tw.certified
    ticket = constructions.build(binary.NAME, target, spec(tw.certified, seed=3, dims=(2, 2)))
    cert = measure.ticket_certificate(ticket)
    assert cert <= eps and cert == tw.certificates[tw.certified] and tw.certificates[tw.certified - 1] > eps
    assert tw.lower_bounds[tw.certified] <= cert + measure.ROUNDOFF


def test_prune_save_verify(tmp_path, capsys):
    """Acceptance: the library path pipeline.prune -> ticket.save -> pipeline.verify reports "valid",
    and so does ``slth prune --construction binary ... && slth verify`` (the CLI picks the law)."""
    target = nets.random_target((3, 4, 2), key=jax.random.key(1))
    ticket, meta, witness = pipeline.prune(binary.NAME, target, spec(4, seed=1, dims=(3, 4, 2)))
    path = ticket_mod.save(ticket, tmp_path / "lib.npz", meta, witness=witness)
    assert pipeline.verify(path)["status"] == "valid"
    out = tmp_path / "cli.npz"
    assert cli.main(["prune", "--construction", "binary", "--dims", "3,4,2", "--candidates", "4",
                     "--out", str(out)]) == 0
    assert "binary-scaled entries" in capsys.readouterr().out
    assert cli.main(["verify", str(out)]) == 0
    assert "VALID" in capsys.readouterr().out
