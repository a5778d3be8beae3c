"""Planted tickets (issue 18, item 3): the planting is an exact ticket before any search runs, the
certificate bounds every mask's error, precision and recall count edges, and the searches return
masks of the requested sparsity; bad input is refused in one line."""

from __future__ import annotations

import doctest
import importlib
import itertools
import math

import jax
import numpy as np
import pytest

from slth import measure, nets
from slth.constructions.edge_popup import kept_count
from slth.errors import InputError
from slth.studies import planted as pl
from slth.testing import count_compiles

#: Largest gap an exact ticket may show: float64 round-off of sums of a few dozen products (the
#: summation order of the two networks' matrix products differs), far below any search's error.
EXACT = 1e-12


@pytest.fixture(scope="module")
def small():
    target = nets.random_target((4, 8, 8, 3), seed=1)
    return target, pl.plant(target, (16, 20), seed=3)


def _sphere(n, d, seed):
    x = np.random.default_rng(seed).normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _pruned(planted, mask):
    return tuple(np.where(m, w, 0.0) for w, m in zip(planted.network, mask))


def test_planting_layout(small):
    target, p = small
    assert p.widths == (4, 16, 20, 3)
    assert [w.shape for w in p.network] == [(16, 4), (20, 16), (3, 20)]
    assert [u.tolist() for u in (p.units[0], p.units[-1])] == [list(range(4)), list(range(3))]
    for u, n, d in zip(p.units, p.widths, nets.dims_of(target)):
        assert len(set(u.tolist())) == d and u.min() >= 0 and u.max() < n        # an injection
    for i, (w, m, a, t) in enumerate(zip(p.network, p.mask, p.scales, target), start=1):
        rows, cols = np.ix_(p.units[i], p.units[i - 1])
        assert np.array_equal(w[rows, cols], a * t) and m[rows, cols].all() and m.sum() == t.size
        # every other weight is the He-normal draw of layer i's stream
        draw = np.asarray(jax.random.normal(jax.random.fold_in(jax.random.key(3), i), w.shape, np.float64)
                          ) * math.sqrt(2.0 / w.shape[1])
        assert np.array_equal(w[~m], draw[~m])
    assert all(math.log2(a) == round(math.log2(a)) for a in p.scales) and math.prod(p.scales) == 1.0
    assert p.fraction_kept == (32 + 64 + 24) / (64 + 320 + 60)
    again = pl.plant(target, (16, 20), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(again.network, p.network))
    other = pl.plant(target, (16, 20), seed=4)
    assert not np.array_equal(other.network[1], p.network[1])


def test_the_planted_ticket_is_exact_before_any_search(small):
    """Issue 18's acceptance: gap 0 to round-off on 10,000 points of the unit sphere and at the
    adversarial search's best point, for unit-norm and rescaled targets, both laws."""
    target, p = small
    lopsided = (8 * target[0], target[1], target[2] / 8)     # a positive rescaling: nontrivial scales
    cases = [(target, p), (lopsided, pl.plant(lopsided, (16, 20), seed=5, law="he-uniform"))]
    assert cases[1][1].scales != (1.0, 1.0, 1.0) and math.prod(cases[1][1].scales) == 1.0
    x = _sphere(10_000, 4, seed=0)
    for t, planted in cases:
        ticket = planted.ticket()
        assert measure.gap_at(t, ticket, x).max() <= EXACT
        best = measure.lower_bound(t, ticket, key=measure.lower_bound_key(0))
        assert best.value <= EXACT
        assert measure.gap_at(t, ticket, best.witness[None])[0] <= EXACT
        assert pl.certificate(planted, planted.mask) == 0.0


def test_scales_are_the_least_squares_powers_of_two():
    """Brute force over integer exponents with sum 0: scales_for picks the nearest to r - mean(r)."""
    rng = np.random.default_rng(0)
    for trial in range(20):
        dims = tuple(rng.integers(2, 6, size=4))
        widths = (dims[0], *(d + int(rng.integers(0, 40)) for d in dims[1:-1]), dims[-1])
        target = [rng.normal(size=(dims[i + 1], dims[i])) * 2.0 ** rng.uniform(-6, 6) for i in range(3)]
        e = np.log2(pl.scales_for(target, widths))
        r = np.array([math.log2(math.sqrt(2 / n) / np.sqrt(np.mean(w**2))) for w, n in zip(target, widths)])
        t = r - r.mean()
        best = min((c for c in itertools.product(range(-12, 13), repeat=3) if sum(c) == 0),
                   key=lambda c: float(np.sum((np.array(c) - t) ** 2)))
        assert e.sum() == 0 and np.sum((e - t) ** 2) <= np.sum((np.array(best) - t) ** 2) + 1e-12


def test_certificate_bounds_every_mask(small):
    """certificate >= the adversarial lower bound and >= dense sampling, on random masks of several
    densities and on the planted mask with a few edges flipped (where it is tightest)."""
    target, p = small
    rng = np.random.default_rng(0)
    x = _sphere(4096, 4, seed=1)
    masks = [tuple(rng.random(w.shape) < q for w in p.network) for q in (0.1, 0.3, 0.7, 1.0)]
    for flips in (1, 3):
        near = [m.copy() for m in p.mask]
        for _ in range(flips):
            i = int(rng.integers(0, 3))
            j = tuple(int(rng.integers(0, s)) for s in near[i].shape)
            near[i][j] = ~near[i][j]
        masks.append(tuple(near))
    for mask in masks:
        cert = pl.certificate(p, mask)
        pruned = _pruned(p, mask)
        lower = measure.lower_bound(target, pruned, key=measure.lower_bound_key(0), starts=8, steps=60,
                                    random_points=512)
        assert lower.value <= cert and measure.gap_at(target, pruned, x).max() <= cert
        assert cert > 0


def test_precision_recall_on_hand_made_masks():
    planted = (np.array([[1, 1, 0], [0, 0, 0]], bool), np.array([[1, 0]], bool))        # 3 edges
    found = (np.array([[1, 0, 1], [0, 1, 0]], bool), np.array([[1, 1]], bool))          # 5 edges, 2 right
    assert pl.precision_recall(found, planted) == (2 / 5, 2 / 3)
    assert pl.precision_recall(planted, planted) == (1.0, 1.0)
    empty = tuple(np.zeros_like(m) for m in planted)
    precision, recall = pl.precision_recall(empty, planted)
    assert math.isnan(precision) and recall == 0.0
    full = tuple(np.ones_like(m) for m in planted)
    assert pl.precision_recall(full, planted) == (3 / 8, 1.0)
    with pytest.raises(InputError, match="found_mask layer 1"):
        pl.precision_recall((found[0], np.ones((1, 3), bool)), planted)
    assert doctest.testmod(importlib.import_module("slth.studies.planted.planting")).failed == 0


def test_edge_popup_keeps_its_fraction_and_repeats(small):
    target, p = small
    for keep in (p.fraction_kept, 0.5):
        mask = pl.edge_popup(p, keep, seed=0, steps=20, batch=32)
        assert [int(m.sum()) for m in mask] == [kept_count(keep, w.size) for w in p.network]
        assert all(m.dtype == np.bool_ and m.shape == w.shape for m, w in zip(mask, p.network))
    again = pl.edge_popup(p, 0.5, seed=0, steps=20, batch=32)
    assert all(np.array_equal(a, b) for a, b in zip(again, mask))
    with count_compiles() as n:             # keep and the seed are traced: one program per shape
        other = pl.edge_popup(p, 0.3, seed=1, steps=20, batch=32)
    assert n[0] == 0 and not all(np.array_equal(a, b) for a, b in zip(other, mask))
    assert pl.certificate(p, mask) >= measure.lower_bound(target, _pruned(p, mask), key=measure.lower_bound_key(0),
                                                          starts=8, steps=60, random_points=512).value


def test_imp_search_prunes_to_its_schedule(small):
    """IMP ends at the counts of its schedule, which land on kept_count(keep, size) per layer or next
    to it; keep = 1 is the full mask, without training."""
    target, p = small
    fraction, rounds, kept = pl.imp_schedule(p, p.fraction_kept, rounds=2)
    wanted = [kept_count(p.fraction_kept, w.size) for w in p.network]
    assert rounds == 2 and 0 < fraction < 1 and max(abs(a - b) for a, b in zip(kept, wanted)) <= 1
    lines = []
    mask = pl.imp_search(p, p.fraction_kept, seed=0, rounds=2, steps=30, progress=lines.append)
    assert [int(m.sum()) for m in mask] == list(kept) and len(lines) == 3
    assert all(m.dtype == np.bool_ and m.shape == w.shape for m, w in zip(mask, p.network))
    assert 0 <= pl.task_seed(0) < 2**63 and pl.task_seed(0) != pl.task_seed(1)     # a fresh stream
    assert pl.imp_schedule(p, 1.0) == (0.0, 0, tuple(w.size for w in p.network))
    assert all(m.all() for m in pl.imp_search(p, 1.0, seed=0))
    for keep in (0.05, 0.3, 0.9):           # the default rounds: the fewest with a rate <= IMP_RATE
        fraction, rounds, _ = pl.imp_schedule(p, keep)
        assert 1 - keep ** (1 / rounds) <= pl.IMP_RATE
        assert rounds == 1 or 1 - keep ** (1 / (rounds - 1)) > pl.IMP_RATE


@pytest.mark.parametrize("call, match", [
    (lambda t: pl.plant(t, (16,), seed=0), "exactly 2 are allowed"),
    (lambda t: pl.plant(t, (16, 7), seed=0), r"layer 2 \(8 neurons\) is wider than the random network.s layer 2 \(7 units\)"),
    (lambda t: pl.plant(t, (16, 2.5), seed=0), r"widths\[1\] 2.5 must be an integer"),
    (lambda t: pl.plant(t, (16, 20), seed=-1), r"seed -1 must be an integer in \[0, 2\*\*63\)"),
    (lambda t: pl.plant(t, (16, 20), seed=0, law="gaussian"), "law 'gaussian' is unknown; allowed: he-normal"),
    (lambda t: pl.plant((t[0], t[1] * np.nan, t[2]), (16, 20), seed=0), "target layer 1 has 64 NaN"),
    (lambda t: pl.plant((t[0], t[0]), (16,), seed=0), "shapes must chain"),
])
def test_plant_refuses_bad_input_in_one_line(small, call, match):
    with pytest.raises(InputError, match=match) as e:
        call(small[0])
    assert "\n" not in str(e.value)


def test_widths_are_checked_without_a_target():
    assert pl.check_widths((4, 8, 8, 3), [16, np.int64(8)]) == (16, 8)
    assert pl.check_widths((4, 3), ()) == ()
    with pytest.raises(InputError, match=r"layer 2 \(8 neurons\) is wider than the random network.s layer 2 \(7 units\)"):
        pl.check_widths((4, 8, 8, 3), (16, 7))


@pytest.mark.parametrize("keep", [0, -0.1, 1.5, math.nan, True, "0.5"])
@pytest.mark.parametrize("search", [pl.edge_popup, pl.imp_search])
def test_searches_refuse_bad_keep(small, keep, search):
    with pytest.raises(InputError, match=r"keep .* must be a fraction in \(0, 1\]"):
        search(small[1], keep, seed=0)


def test_certificate_refuses_bad_masks(small):
    _, p = small
    with pytest.raises(InputError, match="3 bool arrays"):
        pl.certificate(p, p.mask[:2])
    with pytest.raises(InputError, match="mask layer 0 has dtype float64"):
        pl.certificate(p, (p.network[0], *p.mask[1:]))
