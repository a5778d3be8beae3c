"""The CNN width sweep (issue 16 item 8): trial_width on a conv target, the conv_width kind's spec checks,
its rows and summary, beside da Cunha et al.'s bound (the bound's own values are in tests/test_bounds.py)."""

import math

import pytest

from slth import bounds, constructions, nets
from slth.errors import InputError
from slth.experiments import spec as specs
from slth.experiments.kinds import conv_width
from slth.measure.deep import ticket_certificate
from slth.measure.width import trial_width
from slth.nets import conv

#: Tiny: a 1×1 convolution with stride 2 on a 2×2 image, so the pooled map is 1×1 (explicit dims 4, 2, 1).
TINY = "1x2x2:2:k1:s2:1"
EPS = 0.2


def _spec(grid: dict, trials: dict | None = None):
    return specs.parse({"kind": "conv_width", "grid": {"construction": ["subset-sum"], "eps": [EPS],
                                                       "delta": [0.5], **grid},
                        "trials": {"count": 1, "seed": 3, "c_max": 16, **(trials or {})}}, name="cw")


@pytest.fixture(scope="module")
def tiny_trial():
    target = conv.random_conv_target(TINY, seed=3).layers()
    return target, trial_width("subset-sum", target, seed=3, eps=EPS, c_max=16, geometry=TINY)


def test_the_certified_width_is_the_smallest_certified_conv_ticket(tiny_trial):
    """The certified width's ticket, rebuilt on its own in the conv network of exactly that width, has
    certificate <= ε; one candidate less does not (the search's guarantee where certified > 1)."""
    target, tw = tiny_trial
    c = tw.certified
    assert c is not None and tw.optimistic is not None and tw.optimistic <= c
    g = conv.Geometry.parse(TINY)
    spec = nets.RandomSpec(dims=g.dims(), candidates=c, seed=3, layout="conv", geometry=TINY)
    ticket = constructions.build("subset-sum", target, spec)
    assert ticket.spec.layout == "conv" and ticket_certificate(ticket) == pytest.approx(tw.certificates[c], abs=1e-12)
    assert ticket_certificate(ticket) <= EPS
    if c > 1:
        assert tw.certificates[c - 1] > EPS


def test_a_construction_that_does_not_prune_the_conv_layout_is_refused(tiny_trial):
    target, _ = tiny_trial
    with pytest.raises(InputError, match="does not prune the 'conv' layout"):
        trial_width("hyperbolic", target, seed=3, eps=EPS, c_max=4, geometry=TINY)


@pytest.mark.parametrize("grid, trials, fragment", [
    ({"construction": ["hyperbolic"], "geometry": [TINY]}, {}, "construction 'hyperbolic' is unknown; allowed"),
    ({"geometry": [TINY], "kernel": [3]}, {}, "gives geometry and ['kernel']"),
    ({"geometry": ["1x8x8"]}, {}, "does not parse"),
    ({"image": ["1x8x8"], "channels": [2], "kernel": [4], "classes": [2]}, {}, "conv kernel 4 is even"),
    ({"image": ["1x8x8"], "channels": [2], "kernel": [3], "strides": ["1,2"], "classes": [2]}, {}, "strides"),
    ({"image": ["1x8x8"], "channels": [2], "kernel": [3]}, {}, "missing ['classes']"),
    ({"image": ["one"], "channels": [2], "kernel": [3], "classes": [2]}, {}, "[grid] image 'one'"),
    ({"geometry": [TINY]}, {"c_max": 99}, "c_max 99"),
    ({"geometry": [TINY]}, {"c_max": {"selection": 4}}, "c_max has construction 'selection'"),
    ({"geometry": [TINY]}, {"drop_negative": True}, "unknown key 'drop_negative'"),
])
def test_bad_specs_are_refused_in_one_line(grid, trials, fragment):
    with pytest.raises(InputError) as e:
        _spec(grid, trials)
    assert fragment in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_the_grid_crosses_shapes_into_canonical_geometries():
    spec = _spec({"image": ["1x8x8", [1, 4, 4]], "channels": [2, "2,3"], "kernel": [3], "classes": [2]})
    assert [c.params["geometry"] for c in spec.cells] == ["1x8x8:2:k3:s1:2", "1x8x8:2,3:k3:s1,1:2",
                                                           "1x4x4:2:k3:s1:2", "1x4x4:2,3:k3:s1,1:2"]
    assert set(conv_width.conv_constructions()) == {"selection", "subset-sum"}


def test_rows_of_a_toy_cell_are_the_library_trial_and_the_summary_fits_da_cunha(tiny_trial):
    target, tw = tiny_trial
    spec = _spec({"geometry": [TINY]})
    meta = dict.fromkeys(("slth", "jax", "jaxlib", "numpy", "scipy", "python", "device", "git_revision"), "x")
    [row] = conv_width.rows(spec, spec.cells[0], [0], meta)
    assert (row["seed"], row["certified"], row["optimistic"]) == (3, tw.certified, tw.optimistic)
    assert row["certificate"] == float(tw.certificates[tw.certified]) <= EPS
    assert (row["geometry"], row["channels"], row["kernel"], row["layers"], row["kernel_params_max"]) == \
        (TINY, "2", 1, 2, 2)
    u = 2 * tw.certified                        # U hidden channels per input channel; m = (1·1·2, 2·1)
    assert row["random_weights"] == u * ((1 + 2) + (2 + 2)) and row["target_weights"] == 4
    assert set(row) == {c for c, _ in conv_width.COLUMNS}
    assert conv_width.estimate(spec, spec.cells[0]).bytes > 0
    table, fitted, text = conv_width.summary(spec, [row, {**row, "trial": 1, "seed": 4}])
    [line] = table
    x = bounds.da_cunha_log_term(conv.Geometry.parse(TINY), EPS, 0.5)
    assert line["log_term"] == x == math.log(2 * 2 / EPS)
    assert line["da_cunha_C_needed"] == tw.certified / x and line["certified"] == tw.certified
    assert line["da_cunha_c_at_C1"] == math.ceil(x)
    fit = fitted["subset-sum"]["log_constant_certified"]["C"]
    assert fit["estimate"] == pytest.approx(tw.certified / x) and fit["low"] <= fit["estimate"] <= fit["high"]
    assert "da Cunha et al.'s C" in text
    [cell] = conv_width.log_cells([row])
    assert bounds.pensia_log_term(cell.dims, cell.eps, cell.delta) == x
