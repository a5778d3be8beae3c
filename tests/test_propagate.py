"""The tighter certificate (slth.measure.propagate): sound against a dense grid of the unit circle, the
adversarial lower bound and the exact error, never above the norm certificate, caught when its
relaxation is broken or its Lagrange multipliers go negative, deterministic, and its upward rounding.

Tickets are built with the constructions directly (no measuring pipeline) and shared through module
fixtures; every construction that compiles a JAX program (binary, hyperbolic, depth-l+1, edge-popup)
is built at few shapes, since each new shape recompiles."""

import importlib.util

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from slth import constructions, measure, nets, testing
from slth.errors import InputError
from slth.measure import propagate, rounding

CONSTRUCTIONS = sorted(constructions.REGISTRY)

#: Circle tickets (construction, dims): every construction, both layouts, depths 1-4. The constructions
#: without a JAX program take every depth; the others one or two shapes each (a shape costs a compile).
CIRCLE = [(name, dims) for name in ("subset-sum", "selection", "fixed-size")
          for dims in [(2, 3), (2, 4, 2), (2, 4, 3, 2), (2, 3, 3, 3, 2)]] + [
    ("depth-l+1", (2, 4, 2)), ("depth-l+1", (2, 4, 3, 2)), ("binary", (2, 4, 3, 2)),
    ("hyperbolic", (2, 3, 3, 3, 2)), ("edge-popup", (2, 4, 2))]


def _build(name, target, candidates, seed):
    spec = measure.network_spec(name, constructions.spec_for(
        name, nets.RandomSpec(dims=nets.dims_of(target), candidates=candidates, seed=seed)))
    if name == "edge-popup":      # the trained mask; few steps (what is checked is the certificate)
        return constructions.get(name)(target, spec, steps=5)
    return constructions.build(name, target, spec)


def _grid_max(ticket, points=20000):
    angle = np.linspace(0.0, 2 * np.pi, points, endpoint=False)
    return float(measure.gap_at(ticket.target, ticket.pruned, np.stack([np.cos(angle), np.sin(angle)], 1)).max())


def _checked(ticket, points=20000):
    """The certificate of a d_0 = 2 ticket, checked against the norm certificate and the circle grid."""
    maps = measure.ticket_maps(ticket)
    tight = propagate.tight_certificate(ticket, maps)
    assert tight <= propagate.norm_certificate(ticket, maps)
    assert tight >= _grid_max(ticket, points) - 1e-15
    return tight


class _Tickets(dict):
    """The circle tickets, each built when a test first asks for it (so its build time, mostly a JAX
    compile, falls on that test, not on one fixture setup)."""

    def __missing__(self, key):
        name, dims = key
        self[key] = _build(name, nets.random_target(dims, key=jax.random.key(7)), 4, 3)
        return self[key]


@pytest.fixture(scope="module")
def circle_tickets():
    return _Tickets()


@pytest.mark.parametrize("name, dims", CIRCLE, ids=[f"{n}-l{len(d) - 1}" for n, d in CIRCLE])
def test_never_below_the_circle(circle_tickets, name, dims):
    _checked(circle_tickets[name, dims])


def test_the_circle_tickets_cover_both_layouts_and_every_construction():
    assert {n for n, _ in CIRCLE} == set(CONSTRUCTIONS)
    layouts = {measure.network_spec(n, constructions.spec_for(n, nets.RandomSpec(dims=d, candidates=4, seed=0))).layout
               for n, d in CIRCLE}
    assert len(layouts) == 2
    assert {len(d) - 1 for n, d in CIRCLE if n == "subset-sum"} == {1, 2, 3, 4}


#: Adversarial layer kinds of :func:`slth.testing.adversarial_layer`.
KINDS = ["plain", "corner", "near-corner", "sparse", "tiny"]


@settings(max_examples=6, deadline=None, derandomize=True)
@given(case=st.sampled_from(CIRCLE[:12] + CIRCLE[12:14]), kinds=st.lists(st.sampled_from(KINDS), min_size=5,
                                                                         max_size=5),
       gap=st.sampled_from([0.0, 1e-3, 0.3]), seed=st.integers(0, 2**20))
def test_adversarial_targets_on_the_circle(case, kinds, gap, seed):
    """Adversarial targets (slth.testing: a weight at ±1 or just inside, exact zeros, tiny layers) on the
    circle, in the shapes of the circle tickets (a new shape, also a new number of candidates, would
    recompile the random network), both layouts."""
    name, dims = case
    rng = np.random.default_rng(seed)
    base = nets.random_target(dims, key=jax.random.key(seed))
    target = tuple(testing.adversarial_layer(np.asarray(w, np.float64), kind, gap, rng) for w, kind in zip(base, kinds))
    _checked(_build(name, target, 4, seed), 4000)


@pytest.fixture(scope="module")
def deep_tickets():
    cases = {"subset-sum": ((8, 8, 8, 8), 8), "selection": ((8, 8, 8, 8), 200), "depth-l+1": ((8, 8, 8), 10)}
    return {name: _build(name, nets.random_target(dims, key=jax.random.key(1)), c, 0)
            for name, (dims, c) in cases.items()}


@pytest.mark.parametrize("name", ["subset-sum", "selection", "depth-l+1"])
def test_tighter_than_the_norm_certificate_at_depth(deep_tickets, name):
    ticket = deep_tickets[name]
    maps = measure.ticket_maps(ticket)
    tight = propagate.tight_certificate(ticket, maps)
    assert tight < 0.9 * propagate.norm_certificate(ticket, maps)
    if name != "depth-l+1":     # the pairs tickets share one compiled ascent; copies are checked by the exact error
        assert tight >= measure.ticket_lower_bound(ticket, maps, starts=8, steps=60).value
    assert tight == propagate.tight_certificate(ticket, maps)            # deterministic, bit for bit


def test_every_method_is_sound_and_each_one_tightens_the_last(deep_tickets):
    """Every effort a ticket file may name (propagate.METHODS) bounds the witnessed gap; on the 8-8-8-8
    tickets propagate-2 is tighter than propagate-1 and propagate-3 at least 5% tighter than propagate-2
    (its phase leaves), and propagate-4 is propagate-3 bit for bit (it differs only where d_0 <= 4); on a
    4-4-4-4 ticket propagate-4, which starts there from every orthant, is tighter than propagate-3."""
    assert sorted(propagate.METHODS) == ["propagate-1", "propagate-2", "propagate-3", "propagate-4"]
    for name in ("subset-sum", "selection"):
        ticket = deep_tickets[name]
        low = measure.ticket_lower_bound(ticket, starts=8, steps=60).value
        maps = measure.ticket_maps(ticket)
        p1, p2, p3, p4 = (propagate.tight_certificate(ticket, maps, method=m) for m in sorted(propagate.METHODS))
        assert min(p1, p2, p3, p4) >= low, (name, p1, p2, p3, p4, low)
        assert p2 < p1 and p3 <= 0.95 * p2 and p4 == p3, (name, p1, p2, p3, p4)
    small = _build("subset-sum", nets.random_target((4, 4, 4, 4), key=jax.random.key(2)), 12, 2)
    maps = measure.ticket_maps(small)
    p3, p4 = (propagate.tight_certificate(small, maps, method=m) for m in ("propagate-3", "propagate-4"))
    assert measure.ticket_lower_bound(small, maps, starts=8, steps=60).value <= p4 < p3, (p3, p4)
    assert propagate.METHOD == max(propagate.METHODS)


@pytest.mark.skipif(importlib.util.find_spec("pyscipopt") is None,
                    reason="pyscipopt (SCIP) is not installed: no exact error to compare with")
@pytest.mark.parametrize("name, dims", [("selection", (2, 4, 2)), ("depth-l+1", (2, 4, 2)), ("binary", (2, 4, 3, 2))])
def test_never_below_the_exact_error(circle_tickets, name, dims):
    from slth.measure import exact
    ticket = circle_tickets[name, dims]
    result = exact.exact_error(ticket, time_limit=2.0)
    assert propagate.tight_certificate(ticket) >= result.lower - 1e-12


def test_a_broken_relaxation_is_caught(monkeypatch):
    """Treating every ticket unit as switched off where its neuron is (Δh = 0, a wrong relaxation: the
    first layers' errors are then dropped) must fail the circle check on some ticket."""
    def wrong(p, *bounds):
        zero = np.zeros_like(p)
        return zero, zero, zero, zero
    monkeypatch.setattr(propagate, "_change", wrong)
    monkeypatch.setattr(propagate, "norm_certificate", lambda ticket, maps=None: 1e6)
    caught = 0
    for seed in range(6):
        ticket = _build("subset-sum", nets.random_target((2, 4, 3, 2), key=jax.random.key(seed)), 4, seed)
        caught += propagate.tight_certificate(ticket) < _grid_max(ticket, 4000)
    assert caught


def test_round_up():
    for v in [0.0, 1e-300, 1e-12, 0.1, 3.0, 1e6]:
        r = rounding.round_up(v, terms=100)
        assert r > v and r == rounding.round_up(v, terms=100)
        assert r - v <= 1e-9 * (v + 1)
    assert rounding.round_up(-1.0, terms=1) > -1.0
    assert rounding.round_up(0.5, terms=10**6) > rounding.round_up(0.5, terms=10)
    assert rounding.round_up(0.5, terms=10, depth=4) > rounding.round_up(0.5, terms=10, depth=1)
    assert rounding.round_up(0.5, terms=10, scale=10.0) > rounding.round_up(0.5, terms=10)


@pytest.mark.parametrize("bad", [dict(terms=0), dict(terms=1.5), dict(terms=3, scale=-1.0)])
def test_round_up_refuses(bad):
    with pytest.raises(InputError):
        rounding.round_up(0.1, **bad)


def test_budget_is_checked(deep_tickets):
    with pytest.raises(InputError):
        propagate.tight_certificate(deep_tickets["selection"], budget=0)


def test_a_negative_multiplier_is_caught(circle_tickets, monkeypatch):
    """The Lagrangian step of a leaf's phase constraints is sound only for λ >= 0: letting the
    multipliers go negative (no projection) must fail the circle check."""
    monkeypatch.setattr(propagate, "_project", lambda lam: lam)
    monkeypatch.setattr(propagate, "norm_certificate", lambda ticket, maps=None: 1e6)
    ticket = circle_tickets["subset-sum", (2, 4, 3, 2)]
    assert propagate.tight_certificate(ticket) < _grid_max(ticket, 4000)
