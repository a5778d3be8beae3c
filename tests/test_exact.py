"""The exact error of small tickets (:mod:`slth.measure.exact`): its bracket against a proven brute-force
bracket on d_0 = 2 (a dense grid of the unit circle plus a Lipschitz margin), against the certificate and
the adversarial search, the soundness of its pre-activation bounds, its bad inputs and its time limit.

Every ticket here is small (d_0 = 2 or 3, widths <= 4, c <= 8): each SCIP run takes well under a second
or two. Targets include hand-made adversarial layers (weights ±1, spectral norm exactly 1) and the
``corner`` layers of :func:`slth.testing.adversarial_layer`.
"""

import dataclasses

import jax
import numpy as np
import pytest

from slth import constructions, measure, nets
from slth import testing as slt
from slth.errors import InputError
from slth.measure import exact as X

RTOL = 1e-3


def build(name, target, c, seed=0):
    dims = (np.shape(target[0])[1],) + tuple(np.shape(w)[0] for w in target)
    spec = nets.RandomSpec(dims=dims, candidates=c, seed=seed)
    s = measure.network_spec(name, constructions.spec_for(name, spec))
    return constructions.build(name, tuple(np.asarray(w, np.float64) for w in target), s)


def random_target(dims, seed=0):
    return tuple(np.asarray(w) for w in nets.random_target(dims, key=jax.random.key(seed)))


#: Hand-made adversarial layers: entries ±1 (or 0), spectral norm exactly 1 (signed permutations).
SWAP = np.array([[0.0, 1.0], [-1.0, 0.0]])
FLIP = np.array([[-1.0, 0.0], [0.0, 1.0]])


def corner(dims, seed):
    """Targets whose every layer is :func:`slth.testing.adversarial_layer`'s ``corner`` (one entry ±1)."""
    rng = np.random.default_rng(seed)
    return tuple(slt.adversarial_layer(w, "corner", 0.0, rng) for w in random_target(dims, seed))


def grid_bracket(ticket, points=200_000):
    """A proven bracket of E(S) for d_0 = 2: [max gap on N equally spaced points of the unit circle,
    that + L·π/N]. Every point of the circle lies within chord 2 sin(π/2N) <= π/N of a grid point, and
    the gap is L-Lipschitz with L = Π‖W_i‖ + Π‖R_k‖ (f and g_S are compositions of linear maps and
    1-Lipschitz ReLUs; ‖f − g‖ is Lipschitz with the sum of their constants)."""
    theta = 2 * np.pi * np.arange(points) / points
    x = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    gaps = measure.gap_at(ticket.target, ticket.pruned, x)
    lip = float(np.prod(nets.spectral_norms(ticket.target)) +
                np.prod([np.linalg.norm(np.asarray(w, np.float64), 2) for w in ticket.pruned]))
    low = float(gaps.max())
    return low, low + lip * np.pi / points + 1e-12


#: In CI (the suite's 15-minute budget): one case per construction and the adversarial targets; the
#: others run with --run-slow.
SLOW = pytest.mark.slow(reason="more brute-force cases of the same constructions; CI runs one per construction")
CASES = [   # (construction, target, c): depths 1-3, four constructions, adversarial targets
    ("subset-sum", random_target((2, 3)), 6),
    pytest.param("subset-sum", random_target((2, 4, 2), 1), 6, marks=SLOW),
    ("subset-sum", (SWAP, FLIP, SWAP), 6),
    pytest.param("subset-sum", corner((2, 3, 3, 2), 3), 5, marks=SLOW),
    pytest.param("selection", random_target((2, 4, 2), 2), 8, marks=SLOW),
    ("selection", (FLIP, SWAP), 8),
    ("fixed-size", random_target((2, 3, 2), 4), 6),
    pytest.param("depth-l+1", random_target((2, 3, 2), 5), 3, marks=SLOW),
    ("depth-l+1", (SWAP, FLIP, SWAP), 2),
    pytest.param("depth-l+1", random_target((2, 3)), 4, marks=SLOW),
]


def _case_id(i, case):
    values = case.values if hasattr(case, "values") else case
    return f"{values[0]}-{len(values[1])}-{i}"


@pytest.mark.parametrize("name,target,c", CASES, ids=[_case_id(i, c) for i, c in enumerate(CASES)])
def test_exact_brackets_the_brute_force_bracket(name, target, c):
    ticket = build(name, target, c)
    e = X.exact_error(ticket, rtol=RTOL, time_limit=30.0)
    ref_low, ref_up = grid_bracket(ticket)
    assert e.status == "optimal"
    assert e.lower <= ref_up + 1e-12, (e.lower, ref_up)
    assert e.upper >= ref_low - 1e-12, (e.upper, ref_low)
    assert e.lower <= e.upper
    assert e.upper <= e.lower * (1 + RTOL) or e.upper == e.lower == 0.0
    assert e.witness.dtype == np.float64 and e.witness.shape == (2,)
    assert abs(np.linalg.norm(e.witness) - 1) < 1e-12
    assert e.lower == float(measure.gap_at(ticket.target, ticket.pruned, e.witness[None])[0])


@pytest.mark.parametrize("name,dims,c", [("subset-sum", (3, 4, 3), 6),
                                         pytest.param("selection", (3, 3, 3, 2), 16, marks=SLOW),
                                         ("depth-l+1", (3, 3, 2), 3),
                                         pytest.param("fixed-size", (3, 3), 4, marks=SLOW)])
def test_exact_within_certificate_and_above_search(name, dims, c):
    ticket = build(name, random_target(dims, 7), c)
    e = X.exact_error(ticket, time_limit=30.0)
    assert e.status == "optimal"
    assert e.upper <= measure.ticket_certificate(ticket) * (1 + 1e-9)
    assert e.lower >= measure.ticket_lower_bound(ticket).value - 1e-12


@pytest.mark.parametrize("name,dims,c", [("subset-sum", (3, 4, 3, 2), 5), ("depth-l+1", (3, 3, 3, 2), 2),
                                         ("selection", (2, 3), 5)])
def test_program_network_and_bounds_are_the_ticket(name, dims, c):
    """The stacked network the program encodes is the ticket (its gap equals the reference gap), and
    every bound of the program holds at 20000 random points of the unit sphere."""
    ticket = build(name, random_target(dims, 11), c)
    x = np.random.default_rng(0).standard_normal((20000, dims[0]))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert slt.exact_range_problems(ticket, x) == []


def small_ticket():
    return build("subset-sum", random_target((3, 4, 3), 3), 6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(rtol=0.0), "rtol 0.0 must be a number in \\(0, 1\\)"),
    (dict(rtol=1.0), "rtol 1.0 must be a number in \\(0, 1\\)"),
    (dict(rtol=float("nan")), "rtol nan must be a number in \\(0, 1\\)"),
    (dict(time_limit=0.0), "time_limit 0.0 must be > 0"),
    (dict(time_limit=-1), "time_limit -1 must be > 0"),
])
def test_bad_arguments_are_one_line_errors(kwargs, match):
    with pytest.raises(InputError, match=match) as err:
        X.exact_error(small_ticket(), **kwargs)
    assert "\n" not in str(err.value)


def test_too_large_ticket_is_refused_before_work(monkeypatch):
    ticket = small_ticket()
    monkeypatch.setattr(X, "_stack", lambda t: pytest.fail("work started"))
    assert X.size(ticket.spec) == 3 + 4 + 4
    monkeypatch.setattr(X, "MAX_BINARIES", 10)
    with pytest.raises(InputError) as err:
        X.exact_error(ticket)
    msg = str(err.value)
    assert "\n" not in msg and "size 11" in msg and "MAX_BINARIES = 10" in msg
    assert "slth.measure.ticket_certificate" in msg


def test_size_counts_copies_in_the_l_plus_1_layout():
    spec = nets.RandomSpec(dims=(3, 4, 5, 2), candidates=6, seed=0, layout="l+1")
    assert X.size(spec) == 3 + (4 + 5) + 6 * (4 + 5)
    digits = nets.RandomSpec(dims=(64, 32, 10), candidates=8, seed=0)
    with pytest.raises(InputError, match="size 128 binaries > MAX_BINARIES"):
        X.check_affordable([np.zeros((32, 64)), np.zeros((10, 32))], digits)


def test_layout_without_pairs_or_copies_is_refused(monkeypatch):
    ticket = small_ticket()
    flat = dataclasses.make_dataclass("Flat", ["name", "has_pairs", "has_copies"])("flat", False, False)
    from slth.measure import exact_net
    monkeypatch.setattr(exact_net.layouts, "layout", lambda spec: flat)
    with pytest.raises(InputError, match="needs layer pairs or copies \\(skips with pairs only\\); got .flat.") as err:
        X.exact_error(ticket)
    assert "\n" not in str(err.value)


def test_no_block_structure_is_refused():
    ticket = small_ticket()
    masks = [np.asarray(m).copy() for m in ticket.masks]
    unit = int(np.flatnonzero(masks[0].any(axis=1))[0])
    masks[0][unit, :] = True                                   # one hidden unit keeps every input
    bad = dataclasses.replace(ticket, masks=tuple(masks))
    with pytest.raises(InputError, match="keeps 3 weights in hidden unit") as err:
        X.exact_error(bad)
    assert "\n" not in str(err.value)


def test_time_limit_returns_a_valid_bracket():
    ticket = build("subset-sum", random_target((3, 4, 3), 5), 6)
    e = X.exact_error(ticket, time_limit=0.01)
    assert e.status == "time_limit"
    assert 0 < e.lower <= e.upper
    full = X.exact_error(ticket, time_limit=30.0)
    assert full.status == "optimal"
    assert e.lower <= full.upper and full.lower <= e.upper


def test_exact_ticket_has_zero_error():
    """A target of zeros: every pair map of subset-sum is exactly zero too, so E = 0 with both ends."""
    ticket = build("subset-sum", (np.zeros((2, 2)), np.zeros((2, 2))), 4)
    e = X.exact_error(ticket)
    assert (e.lower, e.upper, e.status) == (0.0, 0.0, "optimal")


#: CNN tickets with d_0 = 2 (a 1×2 image with one channel, or a 1×1 image with two), so that the circle
#: grid proves the reference bracket: 1×1 kernels tied across the two positions, one or two convolutions.
CONV_CASES = [("subset-sum", "1x2x1:2:k1:s1:2", 5), pytest.param("selection", "2x1x1:3:k1:s1:2", 8, marks=SLOW),
              pytest.param("subset-sum", "1x2x1:2,2:k1:s1,1:2", 4, marks=SLOW)]


@pytest.mark.parametrize("name,geometry,c", CONV_CASES)
def test_cnn_exact_brackets_the_brute_force_bracket_and_sits_below_the_certificate(name, geometry, c):
    """Issue 16 (acceptance 2): the exact method applies to CNN tickets unchanged (a bias-free CNN is the
    MLP of its explicit layers, the conv layout one of layer pairs), its bracket meets the proven circle
    bracket, and both certificates, computed from the convolutions' exact operator norms on the actual
    input shape, are above it."""
    from slth.nets import conv

    g = conv.Geometry.parse(geometry)
    spec = nets.RandomSpec(dims=g.dims(), candidates=c, seed=7, layout="conv", geometry=g.text())
    ticket = constructions.build(name, conv.random_conv_target(g, seed=11).layers(),
                                 constructions.spec_for(name, spec))
    e = X.exact_error(ticket, rtol=RTOL, time_limit=30.0)
    ref_low, ref_up = grid_bracket(ticket)
    assert e.status == "optimal"
    assert e.lower <= ref_up + 1e-12 and e.upper >= ref_low - 1e-12, (e.lower, e.upper, ref_low, ref_up)
    assert e.upper <= e.lower * (1 + RTOL) or e.upper == e.lower == 0.0
    assert measure.ticket_certificate(ticket) >= max(e.lower, ref_low) - measure.ROUNDOFF
    assert measure.ticket_norm_certificate(ticket) >= measure.ticket_certificate(ticket)


def test_what_the_solver_writes_to_descriptor_2_goes_to_the_log(capfd, caplog):
    """SoPlex prints some warnings straight to file descriptor 2, past SCIP's hideOutput: during a solve
    they go to the slth.measure.exact logger (DEBUG), and descriptor 2 is the terminal again afterwards."""
    import logging
    import os

    from slth.measure import exact_program

    with caplog.at_level(logging.DEBUG, logger="slth.measure.exact"):
        with exact_program._solver_chatter_to_log():
            os.write(2, b"Cannot set optimality tolerance to small value 1e-12 without GMP - using 1e-10.\n")
        os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
    assert any("without GMP" in r.getMessage() for r in caplog.records)
