"""The hyperbolic construction (Orseau, Hutter, Rivasplata 2020; docs/theory.md §4.5): the greedy binary
decomposition against a plain NumPy reference of the same rule, against the exact subset-sum optimum,
on tickets, the product law it relies on, the nested-prefix counterexample that keeps docs/theory.md §5.5 off
its registry entry, and the acceptance path (prune, save, verify; the CLI; the width search)."""

import dataclasses
import doctest

import jax
import numpy as np
import pytest
import scipy.stats

from slth import cli, constructions, measure, nets, pipeline, subset_sum
from slth import testing as slt
from slth import ticket as ticket_mod
from slth.constructions import hyperbolic
from slth.errors import InputError

#: False-alarm rate of the distributional test of the product law.
FALSE_ALARM = 1e-3
DIMS, C, SEED = (3, 4, 2), 16, 8     # one compiled shape for the ticket tests, the CLI and §5.5


def greedy_reference(values, target, valid):
    """The rule of :mod:`slth.constructions.hyperbolic`, one candidate at a time: scan the valid
    candidates of the target's sign from the largest magnitude down (ties by slot index) and keep one
    when its magnitude fits into the remainder."""
    values = np.asarray(values, np.float64)
    usable = [r for r in range(len(values)) if valid[r] and values[r] * np.sign(target) > 0]
    keep, rest = np.zeros(len(values), bool), abs(float(target))
    for r in sorted(usable, key=lambda r: (-abs(values[r]), r)):
        if abs(values[r]) <= rest:
            keep[r], rest = True, rest - abs(values[r])
    return keep


def hyperbolic_products(rng, shape):
    u = nets.sample("hyperbolic", jax.random.key(int(rng.integers(2**31))), shape)
    v = nets.sample("hyperbolic", jax.random.key(int(rng.integers(2**31))), shape)
    return np.asarray(v) * np.abs(np.asarray(u))


def instances(seed, rows=64, units=9):
    """Tiny problems: hyperbolic products, random validity, targets in [−1.2, 1.2] with exact zeros,
    ±1 and tiny values, and rows whose candidates are exact powers of two (ties and exact fits)."""
    rng = np.random.default_rng(seed)
    values = hyperbolic_products(rng, (rows, units))
    values[:4] = rng.choice([-1, 1], (4, units)) * 2.0 ** -rng.integers(1, 4, (4, units))
    targets = rng.uniform(-1.2, 1.2, rows)
    targets[4:10] = [0.0, 1.0, -1.0, 1e-9, -0.75, 0.5]
    valid = rng.random((rows, units)) < 0.8
    return values, targets, valid


@pytest.mark.parametrize("seed", range(3))
def test_chooser_equals_the_reference_greedy(seed):
    """The jitted, vmapped chooser keeps exactly the reference's candidates on every problem."""
    values, targets, valid = instances(seed)
    got = np.asarray(hyperbolic.choose(values, targets, valid))
    for b in range(len(targets)):
        np.testing.assert_array_equal(got[b], greedy_reference(values[b], targets[b], valid[b]), err_msg=str(b))


def test_greedy_never_beats_the_exact_optimum_and_never_overshoots():
    """On the same valid candidates the greedy error is >= the exact optimum of
    :func:`slth.subset_sum.solve` (brute force over all subsets), the kept candidates share the
    target's sign and sum to at most |t|, and a zero target keeps nothing."""
    values, targets, valid = instances(7)
    kept = np.asarray(hyperbolic.choose(values, targets, valid))
    greedy = np.abs((values * kept).sum(axis=1) - targets)
    exact = subset_sum.solve(values, targets, valid=valid)
    assert np.all(greedy >= exact.error - 1e-15)
    assert np.any(greedy > exact.error + 1e-6)            # the heuristic is not the optimum
    assert not np.any(kept & ~valid)
    assert np.all(values[kept] * np.repeat(np.sign(targets), kept.sum(axis=1)) > 0)
    assert np.all(np.abs((values * kept).sum(axis=1)) <= np.abs(targets) + 1e-15)
    assert not kept[targets == 0].any()


def test_powers_of_two_give_the_binary_expansion():
    """With candidates 2^-1..2^-n the rule sets exactly the bits of |t|: 0.8125 = 0.1101b keeps 1/2,
    1/4 and 1/16, and every t in [0, 1) is reached within 2^-n (the halving argument)."""
    n = 9                                   # the shapes of `instances`: one compilation
    targets = np.random.default_rng(0).uniform(-1, 1, 64)
    targets[0] = 0.8125
    rows = np.sign(targets)[:, None] * 2.0 ** -np.arange(1, n + 1)
    kept = np.asarray(hyperbolic.choose(rows, targets, np.ones(rows.shape, bool)))
    np.testing.assert_array_equal(np.flatnonzero(kept[0]), [0, 1, 3])
    assert np.all(np.abs((rows * kept).sum(axis=1) - targets) < 2.0 ** -n)


def test_product_log_magnitude_is_triangular():
    """ln|v·|u|| for hyperbolic u, v has the triangular law of :func:`hyperbolic.product_log_cdf`
    (Kolmogorov-Smirnov, 20 000 products, fixed seed, false alarm :data:`FALSE_ALARM`), and the octave
    probabilities sum to 1 with the top octave at 1/288."""
    a = hyperbolic_products(np.random.default_rng(11), (20_000,))
    assert scipy.stats.kstest(np.log(np.abs(a)), hyperbolic.product_log_cdf).pvalue > FALSE_ALARM
    probs = [hyperbolic.octave_probability(i) for i in range(1, 30)]
    assert sum(probs) == pytest.approx(1.0, abs=1e-12) and probs[0] == pytest.approx(1 / 288, rel=1e-12)
    assert doctest.testmod(hyperbolic).failed == 0


@pytest.fixture(scope="module")
def ticket():
    target = nets.random_target(DIMS, key=jax.random.key(SEED))
    spec = nets.RandomSpec(dims=DIMS, candidates=C, seed=SEED, distribution="hyperbolic")
    return constructions.build("hyperbolic", target, spec)


def test_ticket_problems_follow_the_rule(ticket):
    """Every (i, k, j, sign) subset of a ticket, read back from its masks, is the reference greedy on
    that block's candidates of that sign."""
    count = 0
    for where, goal, values, chosen in slt.ticket_problems(ticket):
        np.testing.assert_array_equal(chosen, greedy_reference(values, goal, np.ones(len(values), bool)),
                                      err_msg=str(where))
        count += 1
    assert count == 2 * 3 * 4 + 4 * 2     # pair 1: two signs, d_0·d_1; pair 2: d_1·d_2


def test_registry_entry_and_weight_law(ticket):
    """The entry assumes the hyperbolic law: build refuses another, spec_for rewrites to it; the
    properties listed are the ones that hold (no §5.4 exactness: greedy; no §5.5: see below)."""
    info = constructions.info("hyperbolic")
    assert info.distribution == "hyperbolic" and info.max_candidates is None
    assert info.properties == {"invariant", "identity", "sandwich", "counting", "no-dead-weight"}
    uniform = nets.RandomSpec(dims=DIMS, candidates=C, seed=SEED)
    with pytest.raises(InputError, match="hyperbolic"):
        constructions.build("hyperbolic", ticket.target, uniform)
    assert constructions.spec_for("hyperbolic", uniform) == ticket.spec


def test_error_can_grow_with_nested_candidates(ticket):
    """docs/theory.md §5.5 fails for the greedy: (a) by hand, candidates (0.3, 0.2) hit 0.5 exactly, and the
    extended list (0.3, 0.2, 0.4) keeps 0.4 and then nothing fits: error 0.1; (b) in a real network,
    dims (3, 4, 2), target and network seed 8, c = 14 versus c = 15 candidates (nested prefixes of
    one stream, evaluated as the width search does, with ``active``): the error of pair 1's weight
    (3, 2), negative part, grows from 8.69e-6 to 3.77e-5."""
    values, valid = np.array([[0.3, 0.2, 0.4]]), np.array([[True, True, False], [True, True, True]])
    kept = np.asarray(hyperbolic.choose(np.repeat(values, 2, 0), np.array([0.5, 0.5]), valid))
    errors = np.abs((values * kept).sum(axis=1) - 0.5)
    assert errors[0] == 0.0 and errors[1] == pytest.approx(0.1)
    errs = []
    for c in (14, 15):
        t = constructions.build("hyperbolic", ticket.target, ticket.spec, active=c)
        errs.append(abs(measure.weight_errors(t.target, measure.pair_maps(t.random, t.masks))[0][3, 3 + 2]))
    assert errs[0] == pytest.approx(8.6907e-6, rel=1e-4) and errs[1] == pytest.approx(3.7744e-5, rel=1e-4)


def test_prune_save_verify_and_cli(ticket, tmp_path, capsys):
    """Acceptance: pipeline.prune -> ticket.save -> pipeline.verify is "valid"; so is
    `slth prune --construction hyperbolic ... && slth verify`."""
    pruned = pipeline.prune("hyperbolic", ticket.target, ticket.spec)
    ticket_mod.save(pruned.ticket, tmp_path / "lib.npz", pruned.meta, witness=pruned.witness)
    report = pipeline.verify(tmp_path / "lib.npz")
    assert report["status"] == "valid", report["problems"]
    assert cli.main(["prune", "--construction", "hyperbolic", "--dims", "3,4,2", "--candidates", str(C),
                     "--seed", str(SEED), "--out", str(tmp_path / "cli.npz")]) == 0
    assert "hyperbolic entries" in capsys.readouterr().out
    assert cli.main(["verify", str(tmp_path / "cli.npz")]) == 0
    assert ": VALID" in capsys.readouterr().out


def test_min_width_runs(ticket):
    """The width search runs (hyperbolic law by default, through ``active``) and records the
    certificate of the ticket a direct build gives. c_max = 1 keeps it to one new compiled shape;
    the widths at 8,8,8 are in the report (hyperbolic tickets need c in the hundreds)."""
    res = measure.min_width("hyperbolic", DIMS, 0.05, 0.5, trials=1, seed=SEED, c_max=1)
    assert res.certified is None and res.optimistic is None and res.construction == "hyperbolic"
    direct = constructions.build("hyperbolic", ticket.target, dataclasses.replace(ticket.spec, candidates=1),
                                 active=1)   # the search's compiled shape (active is traced)
    assert res.trials[0].certificates == {1: pytest.approx(measure.ticket_certificate(direct), rel=1e-12)}
