"""Tickets of convolutional targets (issue 16, items 1, 2 and 5): the ``conv`` layout's random network,
subset-sum and selection tickets whose kernel entries are tied across positions, their two-sided
error on images in the unit ball, the ticket file and verify, and the refusals."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from slth import measure, nets, pipeline, ticket as ticket_mod
from slth.errors import InputError
from slth.nets import conv

GEOMETRY = conv.Geometry(image=(1, 6, 6), channels=(2,), kernel=3, strides=(1,), classes=3)
STRIDED = conv.Geometry(image=(2, 6, 6), channels=(2, 3), kernel=3, strides=(2, 1), classes=2)


def spec_of(g, c, seed=0):
    return nets.RandomSpec(dims=g.dims(), candidates=c, seed=seed, layout="conv", geometry=g.text())


@pytest.fixture(scope="module", params=[("subset-sum", GEOMETRY, 4), ("selection", STRIDED, 4)],
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
    with pytest.raises(InputError, match="drop_negative applies to the 'pairs' layout only"):
        nets.RandomSpec(dims=g.dims(), candidates=2, seed=0, layout="conv", geometry=g.text(), drop_negative=True)
    with pytest.raises(InputError, match="are not the explicit widths"):
        nets.RandomSpec(dims=(36, 50, 3), candidates=2, seed=0, layout="conv", geometry=g.text())
    target = conv.random_conv_target(g, seed=0)
    for name in ("edge-popup", "depth-l+1", "fixed-size"):
        with pytest.raises(InputError, match="does not prune the 'conv' layout") as e:
            pipeline.prune(name, target.layers(), spec_of(g, 2))
        assert "\n" not in str(e.value)


def test_slth_prune_draws_a_cnn_target_and_verify_accepts_its_ticket(tmp_path, capsys):
    from slth import cli

    out = tmp_path / "cnn.npz"
    assert cli.main(["prune", "--target-kind", "conv", "--image", "1,6,6", "--channels", "2", "--kernel", "3",
                     "--classes", "3", "--candidates", "4", "--out", str(out), "--json"]) == 0
    meta = __import__("json").loads(capsys.readouterr().out)
    assert meta["layout"] == "conv" and meta["geometry"] == "1x6x6:2:k3:s1:3"
    assert cli.main(["verify", str(out)]) == 0
    for argv, fragment in ((["--kernel", "4"], "conv kernel 4 is even"), (["--strides", "3"], "strides"),
                           (["--construction", "edge-popup"], "does not prune the 'conv' layout"),
                           (["--drop-negative"], "drop_negative"), (["--target-norm", "0.5"], "--target-norm")):
        assert cli.main(["prune", "--target-kind", "conv", "--image", "1,6,6", "--channels", "2",
                         "--out", str(tmp_path / "x.npz"), *argv]) == 2
        assert fragment in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


@st.composite
def small_cnns(draw):
    """Small CNN geometries (1-2 convolutions, k in {1, 3}, strides dividing the maps) and a seed."""
    m = draw(st.integers(1, 2))
    side = draw(st.sampled_from([4, 6]))
    strides = tuple(draw(st.sampled_from([1, 2])) if i == 0 and side == 6 else 1 for i in range(m))   # maps >= 3
    g = conv.Geometry(image=(draw(st.integers(1, 2)), side, side),
                      channels=tuple(draw(st.integers(1, 3)) for _ in range(m)), kernel=draw(st.sampled_from([1, 3])),
                      strides=strides, classes=draw(st.integers(1, 3)))
    return g, draw(st.integers(0, 2**16)), draw(st.sampled_from(["subset-sum", "selection"])), draw(st.integers(1, 5))


@settings(max_examples=2, deadline=None, derandomize=True)
@given(small_cnns())
def test_property_every_cnn_ticket_is_tied_realises_its_kernels_and_is_bracketed(case):
    """For random small CNNs: the invariant (ties included), the identity (one realised value per kernel
    entry, within the reported max weight error of it), and the sandwich (no lower bound above the
    certificate; no sampled gap above it)."""
    g, seed, name, c = case
    target = conv.random_conv_target(g, seed=seed)
    p = pipeline.prune(name, target.layers(), spec_of(g, c, seed))
    assert ticket_mod.invariant_problems(p.ticket) == []
    for i, (m, w) in enumerate(zip(measure.pair_maps(p.ticket.random, p.ticket.masks), target.layers()), start=1):
        index = conv.kernel_index(g, i)
        for a in (m.plus, m.minus) if i == 1 else (m.plus,):
            a = np.asarray(a)
            assert np.all(a[index < 0] == 0)
            assert np.max(np.abs(a - np.asarray(w))) <= p.meta["max_weight_error"] + 1e-15
            groups = index[index >= 0]
            lo = np.full(groups.max() + 1, np.inf)
            hi = np.full(groups.max() + 1, -np.inf)
            np.minimum.at(lo, groups, a[index >= 0])
            np.maximum.at(hi, groups, a[index >= 0])
            assert np.all(hi - lo <= 1e-15 * max(1.0, np.abs(a).max()))
    assert p.lower_bound <= p.certificate + measure.ROUNDOFF
    x = np.random.default_rng(seed).normal(size=(500, g.dims()[0]))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert measure.gap_at(target.layers(), p.ticket.pruned, x).max() <= p.certificate + measure.ROUNDOFF


def test_verify_refuses_a_forged_cnn_ticket_file(tmp_path, pruned):
    """A kernel-form file has one mask bit per kernel entry, so it cannot keep an entry at some positions
    only; an explicit file (``kinds`` all dense, or none: written before ``kinds``) can, and verify finds
    the broken tie against the regenerated network. A meta naming another geometry is refused on reading
    a kernel-form file (its kernels have the wrong shapes) and found invalid in an explicit one."""
    import json

    from slth import ticket_file

    name, g, target, p = pruned
    good = dict(np.load(p.save(tmp_path / "good.npz")))
    meta = json.loads(str(good["meta"]))
    assert good["mask_1"].ndim == 4 and meta["kinds"] != ticket_file.explicit_kinds(p.ticket.spec)
    explicit = {f"target_{i}": np.asarray(w) for i, w in enumerate(p.ticket.target)} | \
        {f"random_{k}": np.asarray(m) for k, m in enumerate(p.ticket.random)} | \
        {f"mask_{k}": np.asarray(m) for k, m in enumerate(p.ticket.masks)} | {"witness": good["witness"]}
    mask = explicit["mask_1"].copy()
    r, c = np.argwhere(mask)[0]
    mask[r, c] = False
    dense = meta | {"kinds": ticket_file.explicit_kinds(p.ticket.spec)}
    before = {k: v for k, v in meta.items() if k != "kinds"}
    for which, m in (("dense", dense), ("before", before)):
        path = tmp_path / f"untied-{which}.npz"
        np.savez(path, **explicit | {"mask_1": mask, "meta": np.array(json.dumps(m, sort_keys=True))})
        report = pipeline.verify(path)
        assert report["status"] == "invalid" and any("tied weights" in x for x in report["problems"]), which
    other = g.text().replace(":k3:", ":k1:")
    np.savez(tmp_path / "geometry.npz", **{**good, "meta": np.array(json.dumps(meta | {"geometry": other}))})
    with pytest.raises(ticket_mod.TicketError, match=r"mask_1 has shape \(\d+, \d+, 3, 3\); expected \(\d+, \d+, 1, 1\)"):
        pipeline.verify(tmp_path / "geometry.npz")
    np.savez(tmp_path / "geometry-dense.npz", **explicit | {"meta": np.array(json.dumps(dense | {"geometry": other}))})
    assert pipeline.verify(tmp_path / "geometry-dense.npz")["status"] == "invalid"
