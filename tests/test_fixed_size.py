"""The fixed-size construction (Natale et al. 2024, random fixed-size subset sum; docs/theory.md §4.5): the
exact solver against brute force over all k-subsets, monotonicity on nested prefixes, its limits,
tickets (k = 1 is selection; the density guarantee), the acceptance path, and the sparse counting
bounds of :mod:`slth.bounds.natale` against hand values."""

import doctest
import inspect
import itertools
import math

import jax
import numpy as np
import pytest

from slth import bounds, cli, constructions, measure, nets, pipeline
from slth import testing as slt
from slth import ticket as ticket_mod
from slth.bounds import natale
from slth.constructions import fixed_size
from slth.errors import InputError

DIMS, C, SEED = (3, 4, 2), 4, 3


def brute_force(values, target, valid, k):
    """Smallest |Σ_S a − t| over S = ∅ and every k-subset S of the valid slots (plain Python)."""
    best = abs(float(target))
    for subset in itertools.combinations(np.flatnonzero(valid), k):
        best = min(best, abs(float(np.sum(values[list(subset)])) - float(target)))
    return best


def instances(seed, rows=48, units=7):
    """Tiny problems with invalid slots, rows with fewer than k valid slots, exact zeros and ±1
    targets, and repeated values (ties)."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(-1, 1, (rows, units))
    values[:3, 1] = values[:3, 0]
    targets = rng.uniform(-1.5, 1.5, rows)
    targets[3:7] = [0.0, 1.0, -1.0, 1e-10]
    valid = rng.random((rows, units)) < 0.7
    valid[7:10] = False
    valid[8, 0] = valid[9, :2] = True
    return values, targets, valid


@pytest.mark.parametrize("k", [1, 2, 3])
def test_chooser_attains_the_brute_force_optimum(k):
    """Every problem keeps exactly k valid candidates or none, and its error equals the brute-force
    optimum over the empty set and all k-subsets (float64, 1e-12)."""
    values, targets, valid = instances(k)
    kept = np.asarray(fixed_size.choose(values, targets, valid, k=k))
    assert not np.any(kept & ~valid)
    assert set(kept.sum(axis=1)) <= {0, k}
    for b in range(len(targets)):
        err = abs(values[b, kept[b]].sum() - targets[b])
        assert err <= brute_force(values[b], targets[b], valid[b], k) + 1e-12, b
    assert not kept[targets == 0].any() and not kept[valid.sum(axis=1) < k].any()


def test_error_never_grows_on_nested_prefixes():
    """docs/theory.md §5.5 for the exact chooser: the k-subsets of a prefix of the candidate list are k-subsets
    of every longer prefix (and ∅ is always allowed), so the optimum cannot get worse."""
    values, targets, _ = instances(11)
    previous = np.abs(targets)
    for n in range(1, values.shape[1] + 1):
        valid = np.zeros(values.shape, bool)
        valid[:, :n] = True
        kept = np.asarray(fixed_size.choose(values, targets, valid, k=3))
        err = np.abs((values * kept).sum(axis=1) - targets)
        assert np.all(err <= previous + 1e-15), n
        previous = err


def test_limits_are_checked_before_any_work():
    """k must be an integer >= 1; C(U, k) above MAX_COMBINATIONS and c above max_candidates(k) are
    refused with an InputError naming the value."""
    for bad in (0, -1, True, 2.5, "3"):
        with pytest.raises(InputError, match="k "):
            fixed_size.check_k(bad)
    assert fixed_size.MAX_CANDIDATES == fixed_size.max_candidates(3) == 147
    assert math.comb(2 * 147, 3) <= fixed_size.MAX_COMBINATIONS < math.comb(2 * 148, 3)
    with pytest.raises(InputError, match=r"C\(300, 3\)"):
        fixed_size.choose(np.zeros((1, 300)), np.zeros(1), np.ones((1, 300), bool))
    target = nets.random_target(DIMS, key=jax.random.key(0))
    with pytest.raises(InputError, match="candidates 148 is above 147"):
        fixed_size.build(target, nets.RandomSpec(dims=DIMS, candidates=148, seed=0))
    with pytest.raises(InputError, match="k 0"):
        fixed_size.build(target, nets.RandomSpec(dims=DIMS, candidates=2, seed=0), k=0)
    with pytest.raises(InputError, match="above 147"):
        constructions.check_candidates("fixed-size", 148)
    assert fixed_size.max_candidates(2) == 1448


@pytest.fixture(scope="module")
def target():
    return nets.random_target(DIMS, key=jax.random.key(SEED))


@pytest.fixture(scope="module")
def ticket(target):
    return constructions.build("fixed-size", target, nets.RandomSpec(dims=DIMS, candidates=C, seed=SEED))


def test_ticket_problems_are_optimal_k_subsets(ticket):
    """Read back from the masks, every (i, k, j, sign) subset has k or 0 candidates and attains the
    brute-force optimum of that block's candidates of that sign."""
    for where, goal, values, chosen in slt.ticket_problems(ticket):
        assert chosen.sum() in (0, fixed_size.DEFAULT_K), where
        best = brute_force(values, goal, np.ones(len(values), bool), fixed_size.DEFAULT_K)
        assert abs(values[chosen].sum() - goal) <= best + 1e-12, where


def test_density_is_known_in_advance(ticket):
    """At most S·d_i·d_{i-1}·k second-layer and as many first-layer weights per pair (Natale et al.'s
    Theorem 3 count in slth's layout), and the density helper is kept / random."""
    kept, total = ticket.kept_params(), ticket.random_params()
    assert kept <= fixed_size.max_kept(ticket.spec) < total
    assert natale.ticket_density(ticket) == bounds.ticket_density(ticket) == kept / total


def test_k_one_is_selection(target):
    """With k = 1 the rule is Malach et al.'s selection (the closest candidate, or none when 0 is at
    least as close): the masks agree bit for bit."""
    spec = nets.RandomSpec(dims=DIMS, candidates=C, seed=SEED)
    one = fixed_size.build(target, spec, k=1)
    sel = constructions.build("selection", target, spec)
    for a, b in zip(one.masks, sel.masks):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert one.construction == "fixed-size"


def test_registry_entry(ticket):
    info = constructions.info("fixed-size")
    assert info.distribution is None and info.max_candidates == fixed_size.MAX_CANDIDATES
    assert info.properties == {"invariant", "identity", "sandwich", "exactness", "monotonicity", "counting",
                               "no-dead-weight"}
    assert ticket.construction == "fixed-size"


def test_prune_save_verify_cli_and_width_search(ticket, tmp_path, capsys):
    """Acceptance: pipeline.prune -> ticket.save -> pipeline.verify is "valid"; so is `slth prune
    --construction fixed-size ... && slth verify`; min_width runs (here ε = 1e-9: c_max alone)."""
    pruned = pipeline.prune("fixed-size", ticket.target, ticket.spec)
    ticket_mod.save(pruned.ticket, tmp_path / "lib.npz", pruned.meta, witness=pruned.witness)
    report = pipeline.verify(tmp_path / "lib.npz")
    assert report["status"] == "valid", report["problems"]
    assert cli.main(["prune", "--construction", "fixed-size", "--dims", "3,4,2", "--candidates", str(C),
                     "--seed", str(SEED), "--out", str(tmp_path / "cli.npz")]) == 0
    capsys.readouterr()
    assert cli.main(["verify", str(tmp_path / "cli.npz")]) == 0
    assert ": VALID" in capsys.readouterr().out
    res = measure.min_width("fixed-size", DIMS, 1e-9, 0.5, trials=1, seed=SEED, c_max=C)
    assert res.certified is None
    direct = measure.ticket_certificate(ticket)
    assert res.trials[0].certificates == {C: pytest.approx(direct, rel=1e-12)}


# --------------------------------------------------------------------------- bounds.natale

def test_natale_min_params_hand_values():
    """Theorem 5, n·H2(k/n) >= (d²/2) log2(k/ε), smallest n with k <= λn. By hand:
    d = 1, k = 1, ε = 1/32: need 2.5; n = 2 gives 2, n = 3 gives 3·H2(1/3) = 2.755 -> 3.
    d = 2, k = 4, ε = 1/32: need 2·log2(128) = 14; n = 18 gives 18·H2(2/9) = 13.76, n = 19 gives
    19·H2(4/19) = 14.10 -> 19. d = 1, k = 5, ε = 0.05: need ½·log2(100) = 3.32, already met at the
    theorem's smallest n = ⌈5/λ⌉ = 6 (6·H2(5/6) = 3.90) -> 6."""
    assert natale.natale_min_params(1, 1, 1 / 32) == 3
    assert natale.natale_min_params(2, 4, 1 / 32) == 19
    assert natale.natale_min_params(1, 5, 0.05) == 6
    assert 18 * natale.binary_entropy(4 / 18) < 14 <= 19 * natale.binary_entropy(4 / 19)
    # bigger subsets need far fewer parameters: C(n, k) grows like n^k
    n1, n2, n3 = (bounds.natale_min_params(3, k, 0.01) for k in (1, 2, 3))
    assert n3 < n2 < n1


def test_natale_min_density_hand_values():
    """Appendix 7, γ m log2(e/γ) >= d² log2(1/(2ε)) − 1. By hand: d = 2, ε = 1/8, m = 16: need 7;
    γ = 0.088 gives 6.97, γ = 0.089 gives 7.01. A network below the plain counting bound has no
    density (inf); deeper targets use counting_width's sub-class (free = d_0·min d_i, D = 4ε)."""
    g = natale.natale_min_density((2, 2), 1 / 8, 16)
    assert 0.088 < g < 0.089 and g * 16 * math.log2(math.e / g) == pytest.approx(7, rel=1e-12)
    assert natale.natale_min_density((2, 2), 1 / 8, 4) == math.inf        # 4·log2(e) = 5.77 < 7
    assert natale.natale_min_density((2, 2), 0.49, 16) == 0.0            # 4·log2(1/0.98) − 1 < 0
    deep = natale.natale_min_density((8, 8, 8), 0.01, 10**6)
    need = 64 * math.log2(1 / 0.04) - 1
    assert deep * 10**6 * math.log2(math.e / deep) == pytest.approx(need, rel=1e-12)


def test_entropy_density_and_bad_input():
    assert natale.binary_entropy(0.0) == natale.binary_entropy(1.0) == 0.0
    assert natale.binary_entropy(0.5) == 1.0
    assert natale.binary_entropy(0.25) == pytest.approx(0.8112781244591328, rel=1e-15)
    assert natale.density(3, 12) == 0.25
    for fn, args, fragment in [(natale.natale_min_params, (2, 4, 1 / 16), "eps 0.0625"),
                               (natale.natale_min_params, (0, 4, 0.01), "d 0"),
                               (natale.natale_min_params, (2, True, 0.01), "k True"),
                               (natale.natale_min_density, ((2, 2), 0.1, 0), "random_params 0"),
                               (natale.density, (5, 4), "kept 5 exceeds"),
                               (natale.binary_entropy, (1.5,), "1.5")]:
        with pytest.raises(InputError, match=fragment):
            fn(*args)


def test_natale_module_hygiene():
    """Doctests run; like every bounds module it does not import JAX itself."""
    assert doctest.testmod(natale).failed == 0 and doctest.testmod(fixed_size).failed == 0
    src = inspect.getsource(natale)
    assert "import jax" not in src and "from jax" not in src
