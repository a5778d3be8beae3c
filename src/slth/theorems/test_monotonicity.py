"""docs/theory.md §5.5, monotonicity in the number of candidates, for every registered construction."""

import dataclasses

import numpy as np
import pytest

from slth import constructions, measure
from slth import theorems
from slth.theorems import _pool

NAMES = theorems.names("monotonicity")


@pytest.mark.theorem("§5.5 monotonicity")
@pytest.mark.parametrize("name", NAMES)
def test_no_weight_error_grows_with_c(evidence, name):
    """Statement (docs/theory.md §5.5): with nested candidate lists (the units of RandomSpec(c) are a prefix of
    those of RandomSpec(c') for c < c', one random stream per block), no per-weight error grows when c
    grows, for an optimal chooser (subset sum) and for selection with its empty choice. Rule: float64,
    1e-12; every pool ticket against the same target and stream with 2 more candidates."""
    for i in range(_pool.size()):
        check_wider(name, _pool.ticket(name, i), *_pool.case(i), i)
        evidence.example()


def check_wider(name, small, target, spec, i):
    """No per-parameter error of ``small`` (the ticket of ``spec``) grows in the ticket with 2 more candidates."""
    wider = constructions.build(name, target, constructions.spec_for(
        name, dataclasses.replace(spec, candidates=spec.candidates + 2)))
    for before, after in zip(*(measure.ticket_weight_errors(t) for t in (small, wider))):
        assert np.all(np.abs(after) <= np.abs(before) + 1e-12), i


@pytest.mark.theorem("§5.5 monotonicity")
@pytest.mark.parametrize("name", _pool.conv_names("monotonicity"))
def test_no_kernel_entry_error_grows_with_c(evidence, name):
    """Statement (docs/theory.md §5.5 for CNN targets): the conv layout nests candidate lists like the
    pairs layout (a wider c extends the 1×1 convolution's channels and the k×k kernel's candidates), so
    no per-weight error of the explicit layers, hence of any kernel entry, grows when c grows by 2.
    Rule: float64, 1e-12; every case of the CNN pool."""
    for i in range(_pool.conv_size()):
        check_wider(name, _pool.conv_ticket(name, i), *_pool.conv_case(i)[1:], i)
        evidence.example()


@pytest.mark.theorem("§5.5 monotonicity")
@pytest.mark.parametrize("name", _pool.biased_names("monotonicity"))
def test_no_weight_or_bias_error_grows_with_c(evidence, name):
    """Statement (docs/theory.md §5.5 for targets with biases): the ``biased`` layout nests candidate lists
    (the bias block's units too), so no per-weight or per-bias error grows when c grows by 2. Rule:
    float64, 1e-12; every case of the pool with biases."""
    for i in range(_pool.biased_size()):
        check_wider(name, _pool.biased_ticket(name, i), *_pool.biased_case(i), i)
        evidence.example()


@pytest.mark.theorem("§5.5 monotonicity")
@pytest.mark.parametrize("name", _pool.residual_names("monotonicity"))
def test_no_weight_error_grows_with_c_with_skips(evidence, name):
    """Statement (docs/theory.md §5.5 for residual targets): skips add no weight, so the candidate lists nest
    as without them and no per-weight error grows when c grows by 2. Rule: float64, 1e-12; every case of
    the residual pool the construction prunes."""
    for i in _pool.residual_cases(name):
        check_wider(name, _pool.residual_ticket(name, i), *_pool.residual_case(i), i)
        evidence.example()
