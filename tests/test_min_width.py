"""The minimal-width search: bisection over nested prefixes, the (1 − δ) quantile, exact intervals."""

import doctest

import jax
import pytest

from slth import measure, nets
from slth.errors import InputError
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
    for c, cert in tw.certificates.items():
        assert tw.lower_bounds[c] <= cert + measure.ROUNDOFF


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
    (dict(c_max=24), "above 23"), (dict(construction="magic"), "unknown construction 'magic'"),
    (dict(dims="3,x"), "does not parse"),
])
def test_min_width_rejects_bad_input(kwargs, fragment):
    args = dict(construction="subset-sum", dims="3,2", eps=0.1, delta=0.1, trials=2) | kwargs
    with pytest.raises(InputError, match=fragment):
        measure.min_width(args.pop("construction"), args.pop("dims"), args.pop("eps"), args.pop("delta"), **args)
