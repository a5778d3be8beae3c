"""Residual targets with biases (issue 16, items 3 and 4 together): y_{i+1} = W_{i+1}σ(W_i z + b_i) + b_{i+1} + z,
pruned from the ``biased`` and ``conv-biased`` layouts with the target's identities; the forward pass, the
certificate's recursion with both kinds of terms, the exact error over the ball against a proven brute-force
bracket, and prune → verify from the command line."""

import json

import numpy as np
import pytest

from slth import cli, constructions, measure, nets, testing
from slth import ticket as ticket_mod
from slth.measure import residual
from slth.nets import affine


def spec_of(dims, c, skips, seed=2):
    return nets.RandomSpec(dims=dims, candidates=c, seed=seed, layout="biased", skips=skips)


def test_the_forward_pass_adds_the_bias_then_the_skip_before_the_relu():
    """z_1 = σ(W_1 x + b_1), y_2 = W_2 z_1 + b_2 + x, by hand in NumPy, for the target and through ``affine``."""
    layers = affine.random_target((3, 4, 3), seed=1, bias=0.7)
    x = np.random.default_rng(0).standard_normal((5, 3))
    (w1, b1), (w2, b2) = [(m[:, :-1], m[:, -1]) for m in layers]
    by_hand = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2 + x
    for out in (nets.forward(layers, x, skips=((0, 2),), biases=True), affine.forward(layers, x, skips=((0, 2),))):
        np.testing.assert_allclose(np.asarray(out), by_hand, rtol=0, atol=1e-14)


def lipschitz(layers, edges):
    """A Lipschitz bound of a ReLU chain with skip edges (a, b) (biases aside: a bias shifts, it does not
    stretch): L_0 = 1, L_k = ‖M_k‖ L_{k-1} + Σ_{(a, k)} L_a."""
    lip = [1.0]
    for k, m in enumerate(layers, start=1):
        lip.append(float(np.linalg.norm(np.asarray(m, np.float64)[:, :-1], 2)) * lip[-1]
                   + sum(lip[a] for a, b in edges if b == k))
    return lip[-1]


def disk_bracket(ticket, n=401):
    """A proven bracket of E(S) for d_0 = 2 over the disk: the largest gap on a square grid of spacing
    h = 2/(n − 1) projected onto the disk (non-expansive), and that + (L_f + L_g)·h/√2."""
    grid = np.linspace(-1.0, 1.0, n)
    q = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1.0)
    gaps = measure.ticket_gap_at(ticket, q)
    lip = (lipschitz(ticket.target, nets.residual.edges(ticket.spec.skips))
           + lipschitz(ticket.pruned, ticket.spec.skip_edges()))
    return float(gaps.max()), float(gaps.max()) + lip * (2.0 / (n - 1)) / np.sqrt(2.0)


@pytest.mark.parametrize("name,c,dims,skips", [
    ("subset-sum", 4, (2, 3, 2), (1,)), ("selection", 16, (2, 3, 2), (1,)),
    pytest.param("subset-sum", 3, (2, 3, 2, 3, 2), (1, 3), marks=pytest.mark.slow(
        reason="a depth-4 case of the same bracket (two skips, about 40 s); CI runs two depth-2 cases"))])
def test_both_proofs_and_the_exact_error_meet_the_disk_bracket(name, c, dims, skips):
    """The certificate (the smaller of the recursion with skips and biases and the bound propagation with the
    carriers' constants 0) and each proof alone are above the grid's proven maximum; the lower bound (a search
    of the ball) is below the grid's proven upper end; the exact bracket meets the grid's and sits between them."""
    pytest.importorskip("pyscipopt")
    from slth.measure import exact, propagate

    ticket = constructions.build(name, affine.random_target(dims, seed=5, bias=0.8), spec_of(dims, c, skips))
    low, high = disk_bracket(ticket)
    norms, propagated = measure.ticket_norm_certificate(ticket), propagate.propagated_certificate(ticket)
    assert measure.ticket_certificate(ticket) == min(norms, propagated)
    assert min(norms, propagated) >= low - measure.ROUNDOFF, (norms, propagated, low)
    lb = measure.ticket_lower_bound(ticket)
    assert np.linalg.norm(lb.witness) <= 1 + 1e-12 and 0.99 * low <= lb.value <= high + 1e-12, (lb.value, low, high)
    e = exact.exact_error(ticket, rtol=1e-3, time_limit=60.0)
    assert e.status == "optimal" and e.upper <= e.lower * (1 + 1e-3)
    assert e.lower <= high + 1e-12 and e.upper >= low - 1e-12, (e.lower, e.upper, low, high)
    assert lb.value - 1e-12 <= e.lower and e.upper <= measure.ticket_certificate(ticket)
    assert e.lower == float(measure.ticket_gap_at(ticket, e.witness[None])[0])


def test_the_exact_program_with_skips_and_biases_is_the_ticket_and_its_ranges_hold_in_the_ball():
    """The program's two networks are the ticket and its target (20,000 points of the ball), and every range,
    some of them off 0 (biases), bounds the sampled values, across two skips of a depth-4 target."""
    from slth.measure import exact

    dims = (3, 4, 3, 4, 3)
    ticket = constructions.build("subset-sum", affine.random_target(dims, seed=9, bias=0.9),
                                 spec_of(dims, 3, (1, 3), seed=4))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20000, 3))
    x *= rng.random((20000, 1)) ** (1 / 3) / np.linalg.norm(x, axis=1, keepdims=True)
    assert testing.exact_range_problems(ticket, x) == []
    b = exact._bounds(exact._stack(ticket))
    assert any(np.any(lo > 0) or np.any(up < 0) for lo, up in b.f + b.g)


def test_with_zero_biases_the_recursion_is_the_bias_free_one_bit_for_bit():
    """The biases' terms are the only change: a target and maps whose constant columns are all 0 give the
    bias-free residual recursion's value exactly (β_i = ‖0‖ = 0, ‖b_i‖ = 0)."""
    dims, skips = (3, 4, 3, 4, 3), (1, 2, 3)
    target = nets.random_target(dims, key=__import__("jax").random.key(3))
    ticket = constructions.build("subset-sum", target, nets.RandomSpec(dims=dims, candidates=5, seed=1, skips=skips))
    maps = measure.ticket_maps(ticket)
    widened = [np.concatenate([np.asarray(w, np.float64), np.zeros((np.shape(w)[0], 1))], axis=1) for w in target]
    zero = [type(m)(np.concatenate([np.asarray(m.plus), np.zeros((m.plus.shape[0], 1))], axis=1),
                    np.concatenate([np.asarray(m.minus), np.zeros((m.minus.shape[0], 1))], axis=1)) for m in maps]
    assert residual.certificate(widened, zero, skips, biases=True) == residual.certificate(target, maps, skips) > 0


def test_slth_prune_and_verify_residual_targets_with_biases_and_a_forged_bias_is_caught(tmp_path, capsys):
    """MLP (the ``biased`` layout) and CNN (``conv-biased``, kernel form) tickets with skips and biases are
    written, verify recomputes every claim with both, and a kept random bias changed by one ulp is reported."""
    out = tmp_path / "rb.npz"
    assert cli.main(["prune", "--dims", "4,6,4", "--skips", "1", "--biases", "0.5", "--candidates", "4",
                     "--out", str(out), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["layout"] == "biased" and meta["skips"] == [1] and meta["lower_bound"] <= meta["certificate"]
    assert cli.main(["verify", str(out)]) == 0
    capsys.readouterr()
    with np.load(out) as f:
        arrays = dict(f)
    mask = arrays["mask_0"]
    r = np.flatnonzero(mask[:, -1])[0]                       # a kept bias of the first random layer
    arrays["random_0"] = arrays["random_0"].copy()
    arrays["random_0"][r, -1] = np.nextafter(arrays["random_0"][r, -1], np.inf)
    forged = tmp_path / "forged.npz"
    np.savez(forged, **arrays)
    assert cli.main(["verify", str(forged)]) != 0
    assert "INVALID" in capsys.readouterr().out

    cnn = tmp_path / "rcb.npz"
    assert cli.main(["prune", "--target-kind", "conv", "--image", "2,4,4", "--channels", "2,2", "--kernel", "3",
                     "--classes", "2", "--skips", "1", "--biases", "0.3", "--candidates", "3", "--out", str(cnn),
                     "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["layout"] == "conv-biased" and meta["skips"] == [1] and meta["lower_bound"] <= meta["certificate"]
    assert cli.main(["verify", str(cnn)]) == 0
    ticket, read, _ = ticket_mod.load(cnn)
    assert ticket.spec.skips == (1,) and any(k.endswith("+bias") for k in read["kinds"]["random"])
