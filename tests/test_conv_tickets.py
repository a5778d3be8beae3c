"""Tickets of convolutional targets (issue 16, items 1, 2 and 5): the ``conv`` layout's random network,
subset-sum and selection tickets whose kernel entries are tied across positions, their two-sided
error on images in the unit ball, the ticket file and verify, and the refusals."""

import numpy as np
import pytest

from slth import measure, nets, pipeline, ticket as ticket_mod
from slth.errors import InputError
from slth.nets import conv

GEOMETRY = conv.Geometry(image=(1, 6, 6), channels=(2,), kernel=3, strides=(1,), classes=3)
STRIDED = conv.Geometry(image=(2, 6, 6), channels=(2, 3), kernel=3, strides=(2, 1), classes=2)


def spec_of(g, c, seed=0):
    return nets.RandomSpec(dims=g.dims(), candidates=c, seed=seed, layout="conv", geometry=g.text())


@pytest.fixture(scope="module", params=[("subset-sum", GEOMETRY, 6), ("selection", STRIDED, 8)],
                ids=["subset-sum", "selection-strided"])
def pruned(request):
    name, g, c = request.param
    target = conv.random_conv_target(g, seed=1)
    return name, g, target, pipeline.prune(name, target.layers(), spec_of(g, c))


def test_the_random_network_is_a_tied_random_cnn_and_wider_c_extends_it():
    narrow, wide = nets.random_network(spec_of(GEOMETRY, 2)), nets.random_network(spec_of(GEOMETRY, 3))
    index = conv.kernel_index(GEOMETRY, 1)
    second = np.asarray(narrow[1]).reshape(index.shape[0], index.shape[1], 4)
    for r in range(4):       # unit r's outgoing weights: one value per kernel entry, 0 off the support
        values = second[:, :, r]
        assert np.all(values[index < 0] == 0)
        for e in np.unique(index[index >= 0]):
            assert np.unique(values[index == e]).size == 1
    wide_second = np.asarray(wide[1]).reshape(index.shape[0], index.shape[1], 6)
    assert np.array_equal(wide_second[:, :, :4], second)          # nested prefixes: more width extends
    first = np.asarray(narrow[0])
    assert np.count_nonzero(first) == first.shape[0]              # one weight per hidden unit (its block)


def test_tickets_keep_every_kernel_entry_at_every_position_or_none(pruned):
    name, g, target, p = pruned
    assert ticket_mod.invariant_problems(p.ticket) == []
    assert p.meta["layout"] == "conv" and p.meta["geometry"] == g.text()
    broken = list(p.ticket.masks)
    rows, cols = np.nonzero(np.asarray(broken[1]))
    one = np.asarray(broken[1]).copy()
    one[rows[0], cols[0]] = False                                 # drop one copy of a kept kernel entry
    broken[1] = one
    problems = ticket_mod.invariant_problems(ticket_mod.Ticket(
        target=p.ticket.target, random=p.ticket.random, masks=tuple(broken), spec=p.ticket.spec,
        construction=name), regenerate=False)
    assert any("copies of 1 tied weights" in m for m in problems)


def test_each_realised_kernel_entry_is_the_chosen_subset_sum_at_every_position(pruned):
    """Pair i computes z ↦ A⁺σ(z) − A⁻σ(−z) (docs/theory.md §2); for a CNN, A± tie: one value per kernel
    entry, the sum of the candidates chosen for it, the same at every position it acts at."""
    name, g, target, p = pruned
    maps = measure.pair_maps(p.ticket.random, p.ticket.masks)
    for i, (m, w) in enumerate(zip(maps, target.layers()), start=1):
        index = conv.kernel_index(g, i)
        for a in (np.asarray(m.plus), np.asarray(m.minus)):
            assert np.all(a[index < 0] == 0)
            for e in np.unique(index[index >= 0]):
                assert np.ptp(a[index == e]) <= 1e-15 * max(1.0, np.abs(a).max())
        for a in (m.plus, m.minus) if i == 1 else (m.plus,):     # both approximate W (σ(−z) = 0 for i >= 2)
            assert np.max(np.abs(np.asarray(a) - np.asarray(w))) <= p.meta["max_weight_error"] + 1e-15


def test_the_error_is_bracketed_on_images_of_the_unit_ball(pruned):
    name, g, target, p = pruned
    assert p.lower_bound <= p.certificate + measure.ROUNDOFF
    x = np.random.default_rng(0).normal(size=(4000, g.dims()[0]))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    gaps = measure.gap_at(target.layers(), p.ticket.pruned, x)
    assert gaps.max() <= p.lower_bound + 1e-12 or gaps.max() <= p.certificate
    assert gaps.max() <= p.certificate + measure.ROUNDOFF


def test_a_conv_ticket_file_verifies(tmp_path, pruned):
    name, g, target, p = pruned
    path = p.save(tmp_path / "conv.npz")
    report = pipeline.verify(path)
    assert report["status"] == "valid", report


def test_conv_specs_and_constructions_are_refused_in_one_line():
    g = GEOMETRY
    with pytest.raises(InputError, match="needs its target's geometry"):
        nets.RandomSpec(dims=g.dims(), candidates=2, seed=0, layout="conv")
    with pytest.raises(InputError, match="applies to the layouts with a geometry"):
        nets.RandomSpec(dims=g.dims(), candidates=2, seed=0, geometry=g.text())
    with pytest.raises(InputError, match="are not the explicit widths"):
        nets.RandomSpec(dims=(36, 50, 3), candidates=2, seed=0, layout="conv", geometry=g.text())
    target = conv.random_conv_target(g, seed=0)
    for name in ("edge-popup", "depth-l+1", "fixed-size"):
        with pytest.raises(InputError, match="does not prune the 'conv' layout") as e:
            pipeline.prune(name, target.layers(), spec_of(g, 2))
        assert "\n" not in str(e.value)
