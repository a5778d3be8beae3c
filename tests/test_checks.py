"""slth.checks: the comma-separated counts and their argparse form (the other checks are exercised through
the commands and specs that use them)."""

import argparse

import pytest

from slth import checks
from slth.errors import InputError


@pytest.mark.parametrize("value, want", [("12,16,21", (12, 16, 21)), ("7", (7,)), ([3, 4], (3, 4)),
                                         (" 5, 6", (5, 6))])
def test_counts_reads_text_and_sequences(value, want):
    assert checks.counts("--sizes", value, high=46) == want


@pytest.mark.parametrize("value, fragment", [
    ("12,0", "'12,0' must be comma-separated integers in [1, 46]"),
    ("12,47", "in [1, 46]"),
    ("12,x", "in [1, 46]"),
    ("", "in [1, 46]"),
    ([True], "in [1, 46]"),
    ([], "must name at least one integer"),
])
def test_counts_refuses_what_is_not_a_positive_count_within_the_limit(value, fragment):
    with pytest.raises(InputError) as err:
        checks.counts("--sizes", value, high=46)
    assert fragment in str(err.value) and str(err.value).startswith("--sizes ")


def test_counts_without_a_limit_says_positive():
    with pytest.raises(InputError, match="must be comma-separated positive integers"):
        checks.counts("--sizes", "-1")


@pytest.mark.parametrize("check, kwargs, text, want", [
    (checks.counts, {"high": 46}, "8,12", (8, 12)),
    (checks.dims, {}, "784,500,10", (784, 500, 10)),
    (checks.count, {}, "3", 3),
])
def test_arg_passes_counts_and_dims_their_text(check, kwargs, text, want):
    assert checks.arg(check, **kwargs)(text) == want


@pytest.mark.parametrize("check, kwargs, text, fragment", [
    (checks.counts, {"high": 46}, "8,0", "'8,0' must be comma-separated integers in [1, 46]"),
    (checks.dims, {}, "5", "(5,) needs at least two widths"),
    (checks.count, {}, "0", "0 must be a positive integer"),
])
def test_arg_turns_a_refusal_into_argparses_one_line_error(check, kwargs, text, fragment):
    with pytest.raises(argparse.ArgumentTypeError) as err:
        checks.arg(check, **kwargs)(text)
    assert fragment in str(err.value) and "\n" not in str(err.value)
