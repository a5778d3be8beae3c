"""Edge-popup (Ramanujan et al. 2020, arXiv 1911.13299; docs/theory.md §4.5), the learned baseline: its ticket
stays in the block hypothesis space of docs/theory.md §2, is reproducible bit for bit, keeps exactly the
documented top-k of every layer, is the narrow ticket inside a shape bucket, and training lowers the
error of the mask it starts from. The §5 properties it lists in the registry run in the theorem suite."""

import dataclasses
import doctest
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slth import cli, constructions, measure, nets, pipeline
from slth import ticket as ticket_mod
from slth.constructions import edge_popup
from slth.errors import InputError
from slth.testing import count_compiles

DIMS = (3, 4, 2)


def case(seed=1, candidates=4, dims=DIMS, **spec):
    target = nets.random_target(dims, key=jax.random.key(seed))
    return target, nets.RandomSpec(dims=dims, candidates=candidates, seed=seed, **spec)


@pytest.fixture(scope="module")
def built():
    target, spec = case()
    return edge_popup.build(target, spec)


def eligible_counts(spec, i, active=None):
    """(first, second) eligible weights of pair i (1-based): one block-column weight per unit of the
    (narrow) network, every second-layer weight of those units."""
    live = (spec if active is None else dataclasses.replace(spec, candidates=active)).units_per_block(i)
    d_in, d_out = spec.dims[i - 1], spec.dims[i]
    return d_in * live, d_out * d_in * live


@pytest.mark.parametrize("spec_args", [
    dict(),
    dict(distribution="gaussian", drop_negative=True),
    pytest.param(dict(distribution="hyperbolic", candidates=2, dims=(2, 3, 2, 2)), marks=pytest.mark.slow),
])
def test_ticket_stays_in_the_block_space(spec_args):
    """docs/theory.md §5.1 and §2: the invariant holds (kept weights are the regenerated random weights,
    first-layer kept weights in their unit's block column), so every hidden unit keeps at most one
    incoming weight and the §3 certificate applies; nothing beyond the eligible units is kept."""
    target, spec = case(**spec_args)
    ticket = edge_popup.build(target, spec)
    assert ticket.construction == edge_popup.NAME == "edge-popup"
    assert ticket_mod.invariant_problems(ticket) == []
    for i in range(1, spec.depth + 1):
        first = np.asarray(ticket.masks[2 * i - 2])
        assert first.sum(axis=1).max() <= 1
    maps = measure.pair_maps(ticket.random, ticket.masks)
    assert np.isfinite(measure.certificate(ticket.target, maps))


def test_same_seed_same_mask_bit_for_bit(built):
    """Scores, batches and the network all come from spec.seed: a rebuild gives the same masks; another
    seed gives other masks (the check can fail)."""
    target, spec = case()
    again = edge_popup.build(target, spec)
    for a, b in zip(built.masks, again.masks):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = edge_popup.build(target, dataclasses.replace(spec, seed=2))
    assert any(not np.array_equal(a, b) for a, b in zip(built.masks, other.masks))


@pytest.mark.parametrize("keep, active", [(0.01, None), (0.3, 3), (0.7, None), (1.0, 3)])
def test_keeps_exactly_the_documented_top_k(keep, active):
    """Every layer keeps kept_count(keep, n) = max(1, ⌊keep·n + ½⌋) of its n eligible weights (the
    block-column weight of each eligible unit in M_{2i-1}, every weight of those units in M_{2i})."""
    target, spec = case()
    ticket = edge_popup.build(target, spec, keep=keep, active=active)
    for i in range(1, spec.depth + 1):
        for mask, n in zip(ticket.masks[2 * i - 2: 2 * i], eligible_counts(spec, i, active)):
            assert np.count_nonzero(np.asarray(mask)) == edge_popup.kept_count(keep, n), (keep, active, i)


def test_kept_count_rounds_half_up():
    assert doctest.testmod(edge_popup).failed == 0
    assert [edge_popup.kept_count(k, n) for k, n in [(0.7, 10), (0.5, 5), (0.5, 4), (0.01, 10), (1.0, 7),
                                                      (0.3, 10), (0.25, 6)]] == [7, 3, 2, 1, 7, 3, 2]


def test_topk_ties_go_to_the_lower_index_and_never_to_ineligible_entries():
    """The tie rule against a reference: rank eligible entries by (−score, flat index)."""
    rng = np.random.default_rng(0)
    topk = jax.jit(edge_popup.topk_mask)
    for trial in range(20):
        scores = rng.integers(0, 4, size=(3, 7)).astype(np.float64)    # many ties
        eligible = rng.random((3, 7)) < 0.7
        eligible.flat[0] = True
        kept = int(rng.integers(1, eligible.sum() + 1))
        got = np.asarray(topk(jnp.asarray(scores), jnp.asarray(eligible), kept))
        order = sorted(np.flatnonzero(eligible), key=lambda k: (-scores.flat[k], k))
        expected = np.zeros(scores.size, bool)
        expected[order[:kept]] = True
        np.testing.assert_array_equal(got.reshape(-1), expected, err_msg=str(trial))
    top = np.asarray(edge_popup.topk_mask(jnp.array([0.0, 9.0, 1.0]), jnp.array([True, False, True]), 1))
    assert top.tolist() == [False, False, True]


def test_training_lowers_the_error_of_the_initial_mask():
    """Edge-popup starts from the top-k mask of its initial scores; where training moves the mask, it
    lowers the L2 error on held-out inputs (uniform in the ball, drawn with numpy, not from the
    training stream) and the adversarial lower bound. Fixed seeds; seed 2's start is a network that
    outputs 0 on the whole ball, where no score gets a gradient and the mask stays (a failure mode of
    edge-popup on unscaled weights, kept here so that the test sees it)."""
    rng = np.random.default_rng(123)
    x = rng.normal(size=(4096, DIMS[0]))
    x *= (rng.random((4096, 1)) ** (1 / DIMS[0])) / np.linalg.norm(x, axis=1, keepdims=True)
    moved = []
    for seed in (1, 2, 3):
        target, spec = case(seed=seed, candidates=8)
        before, after = edge_popup.initial_ticket(target, spec), edge_popup.build(target, spec)
        if all(np.array_equal(a, b) for a, b in zip(before.masks, after.masks)):
            continue
        moved.append(seed)
        l2 = [np.sqrt(np.mean(measure.gap_at(t.target, t.pruned, x) ** 2)) for t in (before, after)]
        lb = [measure.lower_bound(t.target, t.pruned, key=jax.random.key(seed),
                                  maps=measure.pair_maps(t.random, t.masks)).value for t in (before, after)]
        assert l2[1] < l2[0] and lb[1] < lb[0], (seed, l2, lb)
    assert moved == [1, 3]


def test_the_trained_network_is_the_ticket():
    """The compact forward pass edge-popup trains is the masked random network: the first step's loss
    is the initial ticket's mean squared error on the first batch (the documented stream), to
    round-off."""
    target, spec = case(seed=3, candidates=8)
    _, losses = edge_popup.train(target, spec)
    assert losses.shape == (edge_popup.STEPS,)
    root = jax.random.fold_in(jax.random.key(spec.seed), edge_popup.STREAM)
    x = edge_popup._ball(jax.random.fold_in(jax.random.fold_in(root, 0), 0), edge_popup.BATCH, DIMS[0],
                         jnp.float64)
    assert np.allclose(np.linalg.norm(x, axis=1) <= 1, True)
    initial = edge_popup.initial_ticket(target, spec)
    expected = np.mean(measure.gap_at(initial.target, initial.pruned, x) ** 2)
    assert abs(float(losses[0]) - expected) <= 1e-12 * max(1.0, expected)


def test_lower_bound_never_exceeds_the_certificate(built):
    """docs/theory.md §5.3 on an edge-popup ticket: the certificate is a proof for any block ticket."""
    maps = measure.pair_maps(built.random, built.masks)
    cert = measure.certificate(built.target, maps)
    lb = measure.lower_bound(built.target, built.pruned, key=jax.random.key(0), maps=maps)
    assert lb.value <= cert + measure.ROUNDOFF


@pytest.mark.parametrize("drop_negative", [False, True])
def test_active_prefix_in_its_shape_bucket_is_the_narrow_ticket(drop_negative):
    """Width c evaluated in its shape bucket (measure.shape_bucket, as the width search does) is the
    width-c ticket bit for bit: the same kept weights on the prefix units, nothing beyond, the same
    certificate. So a width the search reports is rebuilt exactly by ``build`` at that width."""
    target, _ = case()
    for c, c_max in ([(3, 8)] if drop_negative else [(3, 8), (6, 8)]):     # buckets 4 and 8
        wide = nets.RandomSpec(dims=DIMS, candidates=measure.shape_bucket(c, c_max), seed=4,
                               drop_negative=drop_negative)
        narrow = dataclasses.replace(wide, candidates=c)
        small, big = edge_popup.build(target, narrow), edge_popup.build(target, wide, active=c)
        for i in range(1, len(DIMS)):
            d_in, u_small, u_big = DIMS[i - 1], narrow.units_per_block(i), wide.units_per_block(i)
            first = np.asarray(big.masks[2 * i - 2]).reshape(d_in, u_big, d_in)
            second = np.asarray(big.masks[2 * i - 1]).reshape(DIMS[i], d_in, u_big)
            np.testing.assert_array_equal(first[:, :u_small].reshape(-1, d_in), small.masks[2 * i - 2])
            np.testing.assert_array_equal(second[:, :, :u_small].reshape(DIMS[i], -1), small.masks[2 * i - 1])
            assert not first[:, u_small:].any() and not second[:, :, u_small:].any()
        certs = [measure.certificate(t.target, measure.pair_maps(t.random, t.masks)) for t in (small, big)]
        assert certs[0] == certs[1]


def test_a_second_build_of_the_same_shapes_does_not_recompile():
    """active, keep, the seed and the target's values are traced: the width search compiles once per
    shape bucket."""
    target, spec = case(seed=5, candidates=4)
    edge_popup.build(target, spec, active=3)
    other_target, other_spec = case(seed=6, candidates=4)
    with count_compiles() as n:
        ticket = edge_popup.build(other_target, other_spec, active=2, keep=0.4)
        jax.block_until_ready(ticket.masks)
    assert n[0] == 0


def test_prune_and_verify_through_the_library_and_the_cli(capsys, tmp_path):
    """Acceptance: pipeline.prune -> ticket.save -> pipeline.verify reports "valid", and so do
    ``slth prune --construction edge-popup`` and ``slth verify``."""
    target, spec = case(seed=3)
    pruned = pipeline.prune(edge_popup.NAME, target, spec)
    path = ticket_mod.save(pruned.ticket, tmp_path / "lib.npz", pruned.meta, witness=pruned.witness)
    report = pipeline.verify(path)
    assert report["status"] == "valid", report["problems"]
    assert report["construction"] == "edge-popup"
    out = tmp_path / "cli.npz"
    assert cli.main(["prune", "--construction", "edge-popup", "--dims", "3,4,2", "--candidates", "4",
                     "--seed", "3", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["verify", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "valid"
    with np.load(out) as z:       # the CLI's ticket is the library's (same target seed and network)
        for k, mask in enumerate(pruned.ticket.masks):
            np.testing.assert_array_equal(z[f"mask_{k}"], np.asarray(mask))


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(keep=0.0), "keep 0.0"),
    (dict(keep=-0.1), "keep -0.1"),
    (dict(keep=1.5), "keep 1.5"),
    (dict(keep=float("nan")), "keep nan"),
    (dict(keep=True), "keep True"),
    (dict(keep="0.5"), "keep '0.5'"),
    (dict(steps=0), "steps 0"),
    (dict(steps=-3), "steps -3"),
    (dict(steps=2.5), "steps 2.5"),
    (dict(steps=True), "steps True"),
    (dict(active=0), "active 0"),
    (dict(active=5), "active 5"),
])
def test_bad_input_is_rejected_before_any_work(kwargs, fragment):
    target, spec = case()
    with count_compiles() as n, pytest.raises(InputError, match=fragment.replace("(", r"\(")):
        edge_popup.build(target, spec, **kwargs)
    assert n[0] == 0


def test_rejects_the_l_plus_1_layout():
    target, spec = case()
    with pytest.raises(InputError, match="'pairs' layout"):
        edge_popup.build(target, dataclasses.replace(spec, layout="l+1"))


def test_rejects_a_target_of_other_dims():
    target, _ = case()
    _, spec = case(dims=(3, 4, 3))
    with pytest.raises(InputError, match="differ from the spec"):
        edge_popup.build(target, spec)


def test_registry_entry():
    """Registered with the §5 properties that hold for any trained block ticket; not monotonicity:
    a trained heuristic's error need not fall as c grows."""
    entry = constructions.info("edge-popup")
    assert entry.build is edge_popup.build and entry.distribution is None
    assert entry.properties == {"invariant", "identity", "sandwich", "counting"}
    assert "edge-popup" not in constructions.having("monotonicity")


def test_min_width_runs_and_matches_build():
    """Acceptance: the width search runs on edge-popup, and every certificate it records for a width c
    (built in c's shape bucket) is the certificate of ``build`` at width c itself, exactly; it reports
    a certified width iff some recorded certificate is <= ε, and lower bounds stay below certificates."""
    eps = 0.5
    result = measure.min_width("edge-popup", DIMS, eps, 0.5, trials=1, c_max=4)
    (trial,) = result.trials
    target = nets.random_target(DIMS, key=jax.random.key(trial.seed))
    assert trial.certificates
    for c, recorded in trial.certificates.items():
        ticket = edge_popup.build(target, nets.RandomSpec(dims=DIMS, candidates=c, seed=trial.seed))
        assert measure.ticket_certificate(ticket) == recorded, c
    assert (trial.certified is not None) == (min(trial.certificates.values()) <= eps)
    for c, lb in trial.lower_bounds.items():
        assert lb <= trial.certificates[c] + measure.ROUNDOFF
