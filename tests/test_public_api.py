"""The public facade imports and exposes what the README names; doctests of the bounds run."""

import doctest
import subprocess
import sys

import pytest

import slth
from slth.bounds import counting
from slth.errors import InputError


def test_facade_exports():
    for name in slth.__all__:
        assert hasattr(slth, name), name
    assert set(slth.CONSTRUCTIONS) == {"selection", "subset-sum", "hyperbolic", "depth-l+1", "fixed-size",
                                       "binary", "edge-popup"}


def test_import_does_not_enable_x64_or_load_what_few_commands_need():
    """Library code never flips jax_enable_x64 (STYLE §4): importing slth and the modules every command
    loads leaves it off. Nor do they load scipy.stats, scipy.optimize or scipy.special (0.5 s of CPU in
    every process, the CLI's and each of the test suite's): the calls that need them import them."""
    code = ("import sys, jax, slth, slth.pipeline, slth.measure, slth.experiments.runner, slth.cli.commands; "
            "print(jax.config.jax_enable_x64, *sorted(m for m in ('scipy.stats', 'scipy.optimize', 'scipy.special') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


def test_counting_bound_doctests_and_values():
    assert doctest.testmod(counting).failed == 0
    assert counting.counting_min_params(4, 0.01) == pytest.approx(16 * 5.643856189774724 - 1)
    with pytest.raises(InputError, match="eps 0.5"):
        counting.counting_min_params(3, 0.5)
    with pytest.raises(InputError, match="d 0"):
        counting.counting_min_hidden_width(0, 0.1)
