"""Certificate, lower bound and per-weight errors (docs/theory.md §3) on hand-built cases."""

import jax
import numpy as np
import pytest

from slth import measure
from slth.errors import InputError


def one_layer_ticket(w, delta):
    """A pair whose A⁺ = A⁻ = W + Δ: unit 2j has u = 1 at input j, unit 2j+1 has u = −1."""
    d_out, d_in = w.shape
    first = np.zeros((2 * d_in, d_in))
    second = np.zeros((d_out, 2 * d_in))
    for j in range(d_in):
        first[2 * j, j], first[2 * j + 1, j] = 1.0, -1.0
        second[:, 2 * j] = (w + delta)[:, j]
        second[:, 2 * j + 1] = -(w + delta)[:, j]
    return (first, second), (first != 0, np.ones_like(second, bool))


def test_exact_pair_has_zero_certificate():
    w = np.array([[0.3, -0.2], [0.1, 0.4]])
    random, masks = one_layer_ticket(w, np.zeros_like(w))
    maps = measure.pair_maps(random, masks)
    np.testing.assert_allclose(maps[0].plus, w, atol=1e-16)
    np.testing.assert_allclose(maps[0].minus, w, atol=1e-16)
    assert measure.certificate([w], maps) == 0.0
    assert measure.max_weight_error([w], maps) == 0.0


@pytest.mark.parametrize("compact", [False, True])
def test_one_layer_sup_error_is_found(compact):
    """For l = 1 with A⁺ = A⁻ = W + Δ the ticket computes (W + Δ)x, so E = ‖Δ‖_2 exactly; the
    certificate is ‖[Δ | Δ]‖_2 = √2 ‖Δ‖_2, and the ascent (on the masked network or on the compact
    pair maps) must reach ‖Δ‖_2."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 4))
    w /= np.linalg.norm(w, 2)
    delta = 0.01 * rng.normal(size=(3, 4))
    random, masks = one_layer_ticket(w, delta)
    maps = measure.pair_maps(random, masks)
    exact = np.linalg.norm(delta, 2)
    np.testing.assert_allclose(measure.certificate([w], maps), np.sqrt(2) * exact, rtol=1e-12)
    pruned = [np.where(m, r, 0) for r, m in zip(random, masks)]
    lb = measure.lower_bound([w], pruned, key=jax.random.key(0), maps=maps if compact else None)
    assert exact * (1 - 1e-9) <= lb.value <= exact * (1 + 1e-12)


def test_certificate_two_layers_by_hand():
    """Π(s_i + a_i) − Π s_i with hand-chosen norms: s = (0.5, 1), a = (0.1·√2, 0.2)."""
    w1, w2 = 0.5 * np.eye(2), np.eye(2)
    r1, m1 = one_layer_ticket(w1, 0.1 * np.eye(2))
    first2 = np.eye(2)
    second2 = w2 + 0.2 * np.eye(2)
    random = (*r1, first2, second2)
    masks = (*m1, np.ones((2, 2), bool) & (first2 != 0), np.ones((2, 2), bool))
    maps = measure.pair_maps(random, masks)
    expected = (0.5 + 0.1 * np.sqrt(2)) * 1.2 - 0.5
    assert measure.certificate([w1, w2], maps) == pytest.approx(expected, rel=1e-14)


def test_pair_maps_rejects_dense_first_layer():
    with pytest.raises(InputError, match="keeps 2 weights in hidden unit 0"):
        measure.pair_maps([np.ones((2, 2)), np.ones((1, 2))], [np.ones((2, 2), bool), np.ones((1, 2), bool)])


def test_lower_bound_rejects_bad_arguments():
    with pytest.raises(InputError, match="starts=0"):
        measure.lower_bound([np.eye(2)], [np.eye(2)], key=jax.random.key(0), starts=0)


def test_compact_forward_equals_the_masked_network():
    """The compact form z ↦ A⁺σ(z) − A⁻σ(−z) per pair computes the masked random network (docs/theory.md §2),
    in float64 to round-off, for both constructions and both layouts."""
    from slth import constructions, nets

    target = nets.random_target((5, 4, 3, 2), key=jax.random.key(2))
    x = np.random.default_rng(2).normal(size=(64, 5))
    for name in constructions.having("identity"):
        for drop in (False, True):
            spec = constructions.spec_for(name, nets.RandomSpec(dims=(5, 4, 3, 2), candidates=4, seed=2,
                                                                drop_negative=drop))
            ticket = constructions.build(name, target, spec)
            maps = measure.pair_maps(ticket.random, ticket.masks)
            np.testing.assert_allclose(measure.compact_forward(maps, x), ticket(x), rtol=0, atol=1e-13)


def _dense_pair_maps(random, masks):
    """The dense reference: R_1, R_2 masked in float64, A± = R_2·relu(±R_1) with R_1 stored sparse."""
    import scipy.sparse
    maps = []
    for i in range(len(random) // 2):
        r1 = np.where(masks[2 * i], np.asarray(random[2 * i], np.float64), 0.0)
        r2 = np.where(masks[2 * i + 1], np.asarray(random[2 * i + 1], np.float64), 0.0)
        plus = scipy.sparse.csr_matrix(np.maximum(r1, 0.0))
        minus = scipy.sparse.csr_matrix(np.maximum(-r1, 0.0))
        maps.append((np.asarray((plus.T @ r2.T).T), -np.asarray((minus.T @ r2.T).T)))
    return maps


def _pruned_ticket(seed=3, dims=(6, 5, 3), candidates=4):
    from slth import constructions, nets

    target = nets.random_target(dims, key=jax.random.key(seed))
    return constructions.build("subset-sum", target, nets.RandomSpec(dims=dims, candidates=candidates, seed=seed))


def test_pair_maps_read_only_kept_weights_and_equal_the_dense_form_bit_for_bit():
    """pair_maps reads the kept weights sparse; its maps are the dense float64 form's, bit for bit,
    also where a kept first-layer weight is exactly 0 (no unit) or a kept second-layer weight is."""
    ticket = _pruned_ticket()
    random = [np.array(r) for r in ticket.random]
    masks = [np.array(m) for m in ticket.masks]
    rows = np.flatnonzero(masks[0].any(axis=1))
    random[0][rows[0], np.flatnonzero(masks[0][rows[0]])[0]] = 0.0      # a kept zero: not a unit
    random[1][masks[1]] = np.where(np.arange(masks[1].sum()) % 7 == 0, 0.0, random[1][masks[1]])
    for got, (plus, minus) in zip(measure.pair_maps(random, masks), _dense_pair_maps(random, masks)):
        assert got.plus.tobytes() == np.ascontiguousarray(plus).tobytes()
        assert got.minus.tobytes() == np.ascontiguousarray(minus).tobytes()


def test_compact_lower_bound_is_the_reference_maximum_over_all_points():
    """With maps, only the points near the compact maximum go through the reference pass; the witness
    is still the reference argmax over every point of the search, and the value is gap_at there."""
    from slth.measure import error

    for seed in (0, 1, 2):
        ticket = _pruned_ticket(seed, dims=(8, 6, 4, 3), candidates=3)
        maps = measure.pair_maps(ticket.random, ticket.masks)
        key = measure.lower_bound_key(seed)
        lb = measure.lower_bound(ticket.target, ticket.pruned, key=key, maps=maps)
        target = tuple(np.asarray(w, np.float64) for w in ticket.target)
        model = tuple(measure.PairMaps(m.plus, m.minus) for m in maps)
        x = np.asarray(error._ascend(target, model, key, 32, 200, 2048, True))
        every = measure.gap_at(ticket.target, ticket.pruned, x)
        assert np.array_equal(lb.witness, x[np.argmax(every)])
        assert lb.value == float(measure.gap_at(ticket.target, ticket.pruned, lb.witness[None])[0])
        assert abs(lb.value - every.max()) <= 1e-14 * max(1.0, every.max())


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (5, 8), (7, 3), (40, 13), (64, 784)])
def test_kept_entries_are_nonzeros(shape):
    """pair_maps reads a mask's kept entries eight at a time: the same arrays as ``np.nonzero``, for masks
    with a size that is or is not a multiple of 8, sparse or dense, and views that are not contiguous."""
    from slth.measure.error import _kept

    rng = np.random.default_rng(sum(shape))
    for density in (0.0, 0.02, 0.5, 1.0):
        mask = rng.random(shape) < density
        for m in (mask, mask[:, ::-1], mask.T):
            got, want = _kept(m), np.nonzero(m)
            assert all(g.dtype == w.dtype and np.array_equal(g, w) for g, w in zip(got, want, strict=True))
