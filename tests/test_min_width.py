"""The minimal-width search: bisection over nested prefixes, the (1 − δ) quantile, exact intervals."""

import dataclasses
import doctest

import jax
import numpy as np
import pytest

from slth import constructions, measure, nets
from slth.errors import InputError
from slth.testing import count_compiles
from slth.measure import width


def test_quantile_width_by_hand():
    assert doctest.testmod(width).failed == 0
    assert measure.quantile_width([3, 5, None, 4], 0.5) == (4, 2)
    assert measure.quantile_width([3, 5, None, 4], 0.1) == (None, 3)
    # (1 − 0.1)·20 is 18.000000000000004 in floating point; the quantile must still be the 18th.
    assert measure.quantile_width(list(range(1, 21)), 0.1) == (18, 18)


@pytest.mark.parametrize("name, eps", [("subset-sum", 0.05), ("selection", 3.0)])
def test_trial_width_is_a_bisection_boundary(name, eps):
    """The certified width certifies and one candidate fewer does not (when evaluated); the
    optimistic width is at most the certified one; about log2(c_max) widths are built, not c_max."""
    target = nets.random_target((3, 3, 2), key=jax.random.key(5))
    tw = measure.trial_width(name, target, seed=5, eps=eps, c_max=20)
    assert tw.certified is not None
    assert tw.certificates[tw.certified] <= eps
    if tw.certified > 1:
        assert tw.certificates[tw.certified - 1] > eps
    assert tw.optimistic <= tw.certified
    assert tw.lower_bounds[tw.optimistic] <= eps
    assert len(tw.certificates) <= 2 * 5 + 1
    assert set(tw.lower_bounds) <= set(tw.certificates)
    for c, lb in tw.lower_bounds.items():
        assert lb <= tw.certificates[c] + measure.ROUNDOFF


@pytest.mark.parametrize("name", ["selection", "subset-sum"])
@pytest.mark.parametrize("drop_negative", [False, True])
def test_active_prefix_is_the_narrow_ticket(name, drop_negative):
    """Width c evaluated inside a wider (bucket) network is the width-c ticket: the same kept
    weights on the prefix units, nothing kept beyond, the same certificate to round-off."""
    dims = (3, 4, 2)
    target = nets.random_target(dims, key=jax.random.key(2))
    wide = nets.RandomSpec(dims=dims, candidates=8, seed=4, drop_negative=drop_negative)
    for c in (1, 3, 5, 8):
        narrow = dataclasses.replace(wide, candidates=c)
        small = constructions.build(name, target, narrow)
        big = constructions.build(name, target, wide, active=c)
        for i in range(1, len(dims)):
            d_in, u_small, u_big = dims[i - 1], narrow.units_per_block(i), wide.units_per_block(i)
            first = np.asarray(big.masks[2 * i - 2]).reshape(d_in, u_big, d_in)
            second = np.asarray(big.masks[2 * i - 1]).reshape(dims[i], d_in, u_big)
            np.testing.assert_array_equal(first[:, :u_small].reshape(-1, d_in), small.masks[2 * i - 2])
            np.testing.assert_array_equal(second[:, :, :u_small].reshape(dims[i], -1), small.masks[2 * i - 1])
            assert not first[:, u_small:].any() and not second[:, :, u_small:].any()
        cert_small = measure.certificate(small.target, measure.pair_maps(small.random, small.masks))
        cert_big = measure.certificate(big.target, measure.pair_maps(big.random, big.masks))
        assert abs(cert_small - cert_big) <= 1e-13


def test_active_out_of_range_is_refused():
    spec = nets.RandomSpec(dims=(2, 2), candidates=4, seed=0)
    target = nets.random_target((2, 2), key=jax.random.key(0))
    for bad in (0, 5, 2.0):
        with pytest.raises(InputError, match=f"active {bad!r} must be an integer in \\[1, 4\\]"):
            constructions.build("selection", target, spec, active=bad)


def test_width_search_reuses_compiled_shapes():
    """Repeating a search compiles nothing new: widths are evaluated in shape buckets and every
    jitted function is defined once at module level."""
    args = ("subset-sum", "3,3,2", 0.05, 0.4)
    first = measure.min_width(*args, trials=2, seed=3, c_max=12)
    with count_compiles() as compiles:
        again = measure.min_width(*args, trials=2, seed=3, c_max=12)
    assert compiles[0] == 0
    with count_compiles() as compiles:     # the counter does count: a new shape compiles
        measure.min_width("subset-sum", "3,4,2", 0.05, 0.4, trials=1, seed=3, c_max=12)
    assert compiles[0] > 0
    assert again == first


def test_min_width_summary_and_reproducibility():
    kwargs = dict(trials=3, seed=11, c_max=20)
    a = measure.min_width("subset-sum", "3,3,2", 0.05, 0.4, **kwargs)
    b = measure.min_width("subset-sum", (3, 3, 2), 0.05, 0.4, **kwargs)
    assert a == b
    assert [t.seed for t in a.trials] == [11, 12, 13]
    assert a.fraction >= 0.6 and a.fraction_interval[0] <= a.fraction <= a.fraction_interval[1]
    assert a.optimistic <= a.certified
    assert a.random_params == nets.RandomSpec(dims=(3, 3, 2), candidates=a.certified, seed=0).random_params()


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(eps=0.0), "eps 0.0"), (dict(delta=1.0), "delta 1.0"), (dict(trials=0), "trials 0"),
    (dict(c_max=33), "above 32"), (dict(construction="magic"), "unknown construction 'magic'"),
    (dict(dims="3,x"), "does not parse"),
])
def test_min_width_rejects_bad_input(kwargs, fragment):
    args = dict(construction="subset-sum", dims="3,2", eps=0.1, delta=0.1, trials=2) | kwargs
    with pytest.raises(InputError, match=fragment):
        measure.min_width(args.pop("construction"), args.pop("dims"), args.pop("eps"), args.pop("delta"), **args)
