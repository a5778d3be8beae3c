"""The depth l+1 construction (Burkholz 2022, docs/theory.md §4.5): its ``l+1`` random-network layout, the
ticket, the certificate of :mod:`slth.measure.deep`, and the prune / verify / width-search paths.

Shapes are shared between tests (compilation costs far more than the checks): dims (3, 4, 2) at
c = 4, (3, 4, 3, 2) at c = 2 and 3 (the depth with a copy-to-copy layer), (2, 3) at c = 3, and
(2, 2, 1) at c = 1 and 2 (the width search's shape buckets at c_max = 2).
"""

import dataclasses
import itertools
import json

import jax
import numpy as np
import pytest

from slth import cli, constructions, measure, nets, pipeline
from slth import testing as slt
from slth import ticket as T
from slth.constructions import depth_l_plus_1 as D
from slth.errors import InputError
from slth.theorems.test_invariant import check_l_plus_1_shapes

NAME = D.NAME
DEPTH2, DEPTH3, DEPTH1, SMALL = (3, 4, 2), (3, 4, 3, 2), (2, 3), (2, 2, 1)


def spec(dims, c, seed=0, **kwargs):
    return nets.RandomSpec(dims=dims, candidates=c, seed=seed, layout="l+1", **kwargs)


def target(dims, seed, kind="plain"):
    """A unit-norm random target made adversarial (slth.testing.adversarial_layer); zeroing entries
    ("sparse") can raise a spectral norm above 1, which is scaled back explicitly."""
    layers = nets.random_target(dims, key=jax.random.key(seed))
    gap = 10.0 ** -(seed % 12 + 1)
    return nets.rescale([slt.adversarial_layer(np.asarray(w), kind, gap, np.random.default_rng([seed, k]))
                         for k, w in enumerate(layers)], only_above=True)


@pytest.fixture(scope="module")
def tickets():
    """Tickets of both depths >= 2 over adversarial targets (entries at ±1 and just inside, exact
    zeros, tiny entries); other weight laws: the theorem suite's pool and the prefix test."""
    kinds = ("plain", "corner", "sparse", "near-corner", "tiny")
    return [D.build(target(dims, s, kinds[s]), spec(dims, c, seed=100 + s))
            for dims, c in ((DEPTH2, 4), (DEPTH3, 3)) for s in range(5)]


# --------------------------------------------------------------------------- layout

@pytest.mark.parametrize("law", ["uniform", pytest.param("hyperbolic", marks=pytest.mark.slow)])
def test_wider_network_extends_the_narrower_bit_for_bit(law):
    """Nested prefixes (the width search's premise): every entry of the c = 2 network sits, bit for
    bit, at the place of its units (layer-1 unit (j, r), copy (k, m)) in the c = 3 network. Every
    entry is keyed by its unit indices alone, whatever the law (hyperbolic splits its key)."""
    dims = DEPTH3
    small, big = (nets.random_network(spec(dims, c, seed=9, distribution=law)) for c in (2, 3))
    np.testing.assert_array_equal(np.asarray(small[0]).reshape(3, 4, 3), np.asarray(big[0]).reshape(3, 6, 3)[:, :4])
    np.testing.assert_array_equal(np.asarray(small[1]).reshape(4, 2, 3, 4),
                                  np.asarray(big[1]).reshape(4, 3, 3, 6)[:, :2, :, :4])
    np.testing.assert_array_equal(np.asarray(small[2]).reshape(3, 2, 4, 2),
                                  np.asarray(big[2]).reshape(3, 3, 4, 3)[:, :2, :, :2])
    np.testing.assert_array_equal(np.asarray(small[3]).reshape(2, 3, 2), np.asarray(big[3]).reshape(2, 3, 3)[:, :, :2])
    # the same seed regenerates the same bits; layer 1 is M_1 of the pairs layout (whose pair 1
    # depends on d_0, d_1 and c only)
    again = nets.random_network(spec(dims, 3, seed=9, distribution=law))
    assert all(np.array_equal(a, b) for a, b in zip(big, again))
    pairs = nets.random_network(nets.RandomSpec(dims=dims[:2], candidates=3, seed=9, distribution=law))
    np.testing.assert_array_equal(big[0], pairs[0])


def test_layout_shapes_and_counts():
    s = spec((8, 16, 16, 4), 20)
    assert s.random_depth == 4 and s.widths() == (8, 320, 320, 320, 4)
    assert s.shapes() == ((320, 8), (320, 320), (320, 320), (4, 320))
    assert s.random_params() == 320 * 8 + 2 * 320 * 320 + 4 * 320
    assert s.hidden_widths() == (320, 320, 320) and [s.copies(i) for i in (1, 2, 3)] == [20, 20, 1]
    pairs = nets.RandomSpec(dims=(8, 16, 16, 4), candidates=20, seed=0)
    assert pairs.random_depth == 6 and pairs.random_params() == 2 * 20 * (8 * 24 + 16 * 32 + 16 * 20)


def test_default_layout_leaves_json_and_old_files_unchanged():
    """The default layout adds no key: fingerprints and ticket files of the pairs layout are those of
    specs without the field, and a spec JSON without it loads as pairs."""
    old = {"dims": [3, 4, 2], "candidates": 4, "seed": 7, "distribution": "uniform", "drop_negative": False,
           "dtype": "float64"}
    pairs = nets.spec_from_json(old)
    assert pairs.layout == "pairs" and pairs.to_json() == old
    deep = nets.spec_from_json(old | {"layout": "l+1"})
    assert deep.to_json() == old | {"layout": "l+1"} and deep == spec((3, 4, 2), 4, seed=7)


def test_depth_one_is_the_subset_sum_construction():
    """For l = 1 the two layouts are the same network and the two constructions the same ticket; the
    certificate is docs/theory.md §3's, (s_1 + a_1) − s_1 = a_1, to round-off."""
    for seed in range(3):
        w = target(DEPTH1, seed, ("plain", "corner", "tiny")[seed])
        deep = D.build(w, spec(DEPTH1, 3, seed=seed))
        pairs = constructions.build("subset-sum", w, nets.RandomSpec(dims=DEPTH1, candidates=3, seed=seed))
        for a, b in itertools.chain(zip(deep.random, pairs.random), zip(deep.masks, pairs.masks)):
            assert np.array_equal(a, b)
        cert_2l = measure.certificate(pairs.target, measure.pair_maps(pairs.random, pairs.masks))
        # §3's certificate of either layout, rounded upward by a relative margin far below 1e-10
        assert cert_2l <= measure.ticket_norm_certificate(deep) <= cert_2l * (1 + 1e-10) + 1e-10


# --------------------------------------------------------------------------- ticket

def test_invariant_and_regeneration(tickets):
    """docs/theory.md §5.1 for the layout: depth l + 1, the shapes, layer 1 keeps at most each unit's block
    weight, kept weights are the regenerated random weights bit for bit; a changed weight is caught."""
    for t in tickets:
        assert T.invariant_problems(t) == []
        check_l_plus_1_shapes(t)
    t = tickets[0]
    random = [np.array(r) for r in t.random]
    r, c = np.argwhere(np.asarray(t.masks[2]))[0]
    random[2][r, c] = np.nextafter(random[2][r, c], np.inf)
    assert any("differs from the network regenerated" in p
               for p in T.invariant_problems(dataclasses.replace(t, random=tuple(random))))
    masks = [np.array(m) for m in t.masks]
    masks[0][0, 1] = True                                   # unit 0 serves input 0
    assert any("outside unit 0's block column" in p
               for p in T.invariant_problems(dataclasses.replace(t, masks=tuple(masks))))
    short = dataclasses.replace(t, random=t.random[:-1], masks=t.masks[:-1])
    assert any("depth l + 1" in p for p in T.invariant_problems(short))


def test_identity_of_the_copies(tickets):
    """What the pruned network computes, in float64 to round-off, from unit-by-unit loops: copy m of
    neuron k in random layer 2 computes A⁺^(m)σ(z) − A⁻^(m)σ(−z) (docs/theory.md §2.2 per copy), each later
    copy's effective weight A^(m)[k, j] is the sum of the chosen raw weights over the copies of j, and
    the network equals its compact form x ↦ B_l σ(··· σ(A⁺σ(x) − A⁻σ(−x)))."""
    rng = np.random.default_rng(0)
    for t in tickets:
        s, d = t.spec, t.spec.dims
        pruned = [np.where(m, np.asarray(r), 0.0) for r, m in zip(t.random, t.masks)]
        plus, minus = np.zeros((s.copies(1) * d[1], d[0])), np.zeros((s.copies(1) * d[1], d[0]))
        for r in range(pruned[0].shape[0]):
            for j in np.nonzero(pruned[0][r])[0]:
                u = pruned[0][r, j]
                if u > 0:
                    plus[:, j] += pruned[1][:, r] * u
                else:
                    minus[:, j] -= pruned[1][:, r] * abs(u)
        maps = measure.copy_maps(t.random, t.masks, s)
        np.testing.assert_allclose(maps.first.plus, plus, rtol=0, atol=1e-14)
        np.testing.assert_allclose(maps.first.minus, minus, rtol=0, atol=1e-14)
        z = rng.normal(size=(32, d[0]))
        layer2 = np.maximum(z @ pruned[0].T, 0) @ pruned[1].T
        np.testing.assert_allclose(layer2, np.maximum(z, 0) @ plus.T - np.maximum(-z, 0) @ minus.T, rtol=0, atol=1e-13)
        for i in range(2, s.depth + 1):
            rho, rho_in = s.copies(i), s.copies(i - 1)
            a = maps.effective(i)
            for row, j in itertools.product(range(rho * d[i]), range(d[i - 1])):
                cols = range(j * rho_in, (j + 1) * rho_in)
                assert abs(a[row, j] - sum(pruned[i][row, col] for col in cols)) <= 1e-14
        h = np.maximum(z, 0) @ maps.first.plus.T - np.maximum(-z, 0) @ maps.first.minus.T
        for b in maps.layers:
            h = np.maximum(h, 0) @ b.T
        np.testing.assert_allclose(h, np.asarray(t(z)), rtol=0, atol=1e-12)


def test_every_subset_is_the_brute_force_optimum(tickets):
    """Every one-dimensional problem (random layer 2: per copy, input and sign, candidates u·v of the
    block's units of that sign; later layers: per copy and input, the raw weights over the copies of
    that input) keeps a subset attaining the optimum of brute force over all 2^n subsets. Only the
    copies' own problems exist: no weight outside them is kept."""
    for t in tickets[::3]:
        s, d = t.spec, t.spec.dims
        w = [np.asarray(x) for x in t.target]
        u = np.asarray(t.random[0]).reshape(d[0], 2 * s.candidates, d[0])
        second = np.asarray(t.random[1]).reshape(-1, d[0], 2 * s.candidates)
        chosen2 = np.asarray(t.masks[1]).reshape(-1, d[0], 2 * s.candidates)
        for row, j in itertools.product(range(second.shape[0]), range(d[0])):
            block = u[j, :, j]
            for sign in (1, -1):
                pick = np.sign(block) == sign
                values = second[row, j, pick] * np.abs(block[pick])
                goal = sign * w[0][row // s.copies(1), j]
                best, _ = slt.brute_force_best(values, goal)
                assert abs(values[chosen2[row, j, pick]].sum() - goal) <= best + 1e-12
        for i in range(2, s.depth + 1):
            rho, rho_in = s.copies(i), s.copies(i - 1)
            layer = np.asarray(t.random[i]).reshape(-1, d[i - 1], rho_in)
            chosen = np.asarray(t.masks[i]).reshape(-1, d[i - 1], rho_in)
            for row, j in itertools.product(range(layer.shape[0]), range(d[i - 1])):
                best, _ = slt.brute_force_best(layer[row, j], w[i - 1][row // rho, j])
                assert abs(layer[row, j][chosen[row, j]].sum() - w[i - 1][row // rho, j]) <= best + 1e-12


# --------------------------------------------------------------------------- certificate

def test_certificate_is_above_every_lower_bound(tickets):
    """The certificate of :mod:`slth.measure.deep` is a proof (docs/theory.md §3's induction with copies), so
    the adversarial lower bound (the masked network itself through nets.forward) and the gap at
    sampled points of the unit ball never exceed it. Rule: float64, slack ROUNDOFF, every ticket."""
    for n, t in enumerate(tickets):
        cert = measure.ticket_certificate(t)
        lb = measure.ticket_lower_bound(t, key=jax.random.key(n))
        assert 0 <= lb.value <= cert + measure.ROUNDOFF, n
        x = np.random.default_rng(n).normal(size=(512, t.spec.dims[0]))
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1.0)
        assert measure.gap_at(t.target, t.pruned, x).max() <= cert + measure.ROUNDOFF, n


def test_one_copy_is_at_most_the_product_form():
    """With ρ = c = 1 every hidden layer is one chain of units, and docs/theory.md §3's Π(s_i + a_i) − Π s_i
    (a_1 the layer-1 error map, a_i = ‖A_i − W_i‖_2) is itself a valid bound: the l+1 certificate,
    whose factor ‖B_i‖_2 = ‖A_i‖_2 <= s_i + a_i, never exceeds it."""
    for seed in range(6):
        t = D.build(target(SMALL, seed, ("plain", "corner", "sparse")[seed % 3]), spec(SMALL, 1, seed=seed))
        s = nets.spectral_norms(t.target)
        a = [np.linalg.norm(e, 2) for e in measure.ticket_weight_errors(t)]
        assert measure.ticket_certificate(t) <= measure.ticket_norm_certificate(t)
        assert measure.deep.copy_certificate(t.target, measure.ticket_maps(t)) <= np.prod(s + a) - np.prod(s) + measure.ROUNDOFF


def test_active_prefix_is_the_narrow_ticket_and_weight_errors_shrink():
    """Width 2 evaluated inside the c = 4 network is the c = 2 ticket (same kept weights at the prefix
    units, nothing beyond, same certificate); growing c never increases the weight error of a copy
    that exists at both widths (more candidates per problem, exact solver)."""
    w = target(DEPTH3, 3)
    wide, narrow = spec(DEPTH3, 3, seed=5), spec(DEPTH3, 2, seed=5)
    small, big, full = D.build(w, narrow), D.build(w, wide, active=2), D.build(w, wide)
    first = np.asarray(big.masks[0]).reshape(3, 6, 3)
    np.testing.assert_array_equal(first[:, :4].reshape(-1, 3), small.masks[0])
    second = np.asarray(big.masks[1]).reshape(4, 3, 3, 6)
    np.testing.assert_array_equal(second[:, :2, :, :4].reshape(8, 12), small.masks[1])
    third = np.asarray(big.masks[2]).reshape(3, 3, 4, 3)
    np.testing.assert_array_equal(third[:, :2, :, :2].reshape(6, 8), small.masks[2])
    out = np.asarray(big.masks[3]).reshape(2, 3, 3)
    np.testing.assert_array_equal(out[..., :2].reshape(2, 6), small.masks[3])
    assert not (first[:, 4:].any() or second[:, 2:].any() or second[..., 4:].any() or third[:, 2:].any()
                or third[..., 2:].any() or out[..., 2:].any())
    assert abs(measure.ticket_norm_certificate(small) - measure.ticket_norm_certificate(big)) <= 1e-13
    m_small, m_full = measure.ticket_maps(small), measure.ticket_maps(full)
    wide_target = lambda w, rho: np.tile(np.repeat(np.asarray(w), rho, 0), 2)
    err_small = np.abs(np.hstack([m_small.first.plus, m_small.first.minus]) - wide_target(w[0], 2))
    err_full = np.abs(np.hstack([m_full.first.plus, m_full.first.minus]) - wide_target(w[0], 3))
    assert np.all(err_full.reshape(4, 3, 6)[:, :2] <= err_small.reshape(4, 2, 6) + 1e-12)
    for i, rho in ((2, 2), (3, 1)):
        e_small = np.abs(m_small.effective(i) - np.repeat(np.asarray(w[i - 1]), rho, 0))
        e_full = np.abs(m_full.effective(i) - np.repeat(np.asarray(w[i - 1]), 3 if rho > 1 else 1, 0))
        if rho > 1:
            e_full = e_full.reshape(w[i - 1].shape[0], 3, -1)[:, :2].reshape(e_small.shape)
        assert np.all(e_full <= e_small + 1e-12)


def test_certificate_is_not_monotone_in_c():
    """Why "monotonicity" is not listed for this construction: more copies per neuron add terms to
    ‖B_i‖_2 and new copies whose subset sums may miss, so the certificate can grow with c although no
    existing copy's weight error does (previous test). A fixed instance: target and network seed 3 at
    dims 2,2,1, from c = 1 to c = 2 (1.442 to 1.559; seed 0 doubles it from c = 2 to c = 4)."""
    w = nets.random_target(SMALL, key=jax.random.key(3))
    certs = [measure.ticket_norm_certificate(D.build(w, spec(SMALL, c, seed=3))) for c in (1, 2)]
    assert certs[1] > certs[0] + 0.1


# --------------------------------------------------------------------------- prune, verify, width

@pytest.fixture(scope="module")
def ticket_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("deep") / "t.npz"
    assert cli.main(["prune", "--construction", NAME, "--dims", "3,4,2", "--candidates", "4", "--seed", "1",
                     "--out", str(path)]) == cli.EXIT_OK
    return path


def test_cli_prune_and_verify(capsys, ticket_file):
    capsys.readouterr()
    assert cli.main(["verify", str(ticket_file), "--json"]) == cli.EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "valid" and report["random_widths"] == [3, 24, 16, 2]
    with np.load(ticket_file) as z:
        meta = json.loads(str(z["meta"][()]))
        assert sorted(n for n in z.files if n.startswith("random_")) == ["random_0", "random_1", "random_2"]
    assert meta["layout"] == "l+1" and meta["depth"] == 3 and meta["construction"] == NAME
    assert meta["lower_bound"] <= meta["certificate"] + measure.ROUNDOFF


def test_library_prune_save_verify(tmp_path):
    """pipeline.prune takes the usual (pairs) spec and builds in the construction's layout; the file
    round-trips bit for bit and verifies."""
    w = nets.random_target(DEPTH3, key=jax.random.key(2))
    built = pipeline.prune(NAME, w, nets.RandomSpec(dims=DEPTH3, candidates=3, seed=2))
    assert built.ticket.spec == spec(DEPTH3, 3, seed=2)
    path = T.save(built.ticket, tmp_path / "t.npz", built.meta, witness=built.witness)
    again, meta, _ = T.load(path)
    assert again.spec == built.ticket.spec and meta["random_params"] == again.spec.random_params()
    for a, b in zip(jax.tree_util.tree_leaves(built.ticket), jax.tree_util.tree_leaves(again)):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert pipeline.verify(path)["status"] == "valid"


def test_tampered_ticket_is_invalid(capsys, ticket_file, tmp_path):
    with np.load(ticket_file, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    r, m = arrays["random_2"].copy(), arrays["mask_2"]
    i, j = np.argwhere(m)[0]
    r[i, j] += 1e-9
    np.savez(tmp_path / "weight.npz", **arrays | {"random_2": r})
    mask = arrays["mask_0"].copy()
    mask[0, 1] = True
    np.savez(tmp_path / "block.npz", **arrays | {"mask_0": mask})
    meta = json.loads(str(arrays["meta"][()]))
    meta["certificate"] /= 2
    np.savez(tmp_path / "claim.npz", **arrays | {"meta": np.array(json.dumps(meta))})
    for name, fragment in (("weight", "random_2 differs"), ("block", "outside unit 0's block column"),
                           ("claim", "meta claims certificate")):
        capsys.readouterr()
        assert cli.main(["verify", str(tmp_path / f"{name}.npz")]) == cli.EXIT_INVALID, name
        assert fragment in capsys.readouterr().out, name
    del meta["layout"]                     # read as a pairs file, it lacks a layer
    np.savez(tmp_path / "layout.npz", **arrays | {"meta": np.array(json.dumps(meta))})
    with pytest.raises(T.TicketError, match="missing arrays"):
        T.load(tmp_path / "layout.npz")


def test_min_width_works():
    """measure.min_width searches this construction in its own layout. Its certificate is not monotone
    in c, so the certified width comes from a scan (no bisection): every c below it was evaluated and
    does not certify. The reported size is the l+1 network's."""
    mw = measure.min_width(NAME, SMALL, 0.5, 0.5, trials=2, seed=2, c_max=2)
    assert mw.certified is not None and mw.optimistic is not None and mw.optimistic <= mw.certified
    assert mw.random_params == spec(SMALL, mw.certified).random_params()
    assert spec(SMALL, 2).random_params() == 8 * 2 + 4 * 8 + 1 * 4
    for tw in mw.trials:
        reached = [c for c, v in tw.certificates.items() if v <= 0.5]
        assert tw.certified == (min(reached) if reached else None)
        assert sorted(tw.certificates) == list(range(1, (tw.certified or 2) + 1))
        assert all(tw.lower_bounds[c] <= tw.certificates[c] + measure.ROUNDOFF for c in tw.lower_bounds)


@pytest.mark.parametrize("make, fragment", [
    (lambda: spec(DEPTH2, 2, drop_negative=True), "drop_negative applies to the 'pairs' layout only"),
    (lambda: nets.RandomSpec(dims=DEPTH2, candidates=2, seed=0, layout="l+2"), "layout 'l\\+2' is unknown"),
    (lambda: spec((2, 70000, 1), 2), "every width below 65536"),
    (lambda: D.build(target(DEPTH2, 0), nets.RandomSpec(dims=DEPTH2, candidates=2, seed=0)),
     "prunes a random network of layout 'l\\+1'"),
    (lambda: D.build(target(DEPTH2, 0), spec(DEPTH2, 24)), "candidates 24 is above 23"),
    (lambda: D.build(target(DEPTH2, 0), spec(DEPTH2, 2), active=3), "active 3 must be an integer in \\[1, 2\\]"),
    (lambda: D.build(target(DEPTH1, 0), spec(DEPTH2, 2)), "target dims"),
    (lambda: constructions.build("subset-sum", target(DEPTH2, 0), spec(DEPTH2, 2)), "prunes the .pairs. layout"),
    (lambda: measure.min_width(NAME, "3,2", 0.1, 0.1, trials=1, drop_negative=True), "drop_negative"),
    (lambda: measure.copy_maps([np.ones((2, 2))], [np.ones((2, 2), bool)], spec(DEPTH2, 2)), "layers of shapes"),
])
def test_bad_input_is_refused(make, fragment):
    with pytest.raises(InputError, match=fragment):
        make()
