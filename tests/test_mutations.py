"""The theorem suite catches wrong constructions: tests/mutations.py at a small pool, in CI.

Issue 7, 13 and 15 acceptance: the plain suite passes and each planted mutation (flipped sign,
off-by-one block, suboptimal solver, certificate without a layer, the tighter certificate 1% too
small, modified kept weight, a solver wrong only at odd candidate counts above 6, negative units kept
in pairs i >= 2, the target-norm tolerance loosened to 1e-2) makes it fail. One test per mutation, so
that pytest-xdist spreads them over the cores (``python tests/mutations.py`` runs them all in a row).
"""

import importlib.util
import pathlib

import pytest

_SPEC = importlib.util.spec_from_file_location("slth_mutations", pathlib.Path(__file__).with_name("mutations.py"))
mutations = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(mutations)


@pytest.mark.slow
def test_the_plain_suite_passes_on_the_mutation_pool():
    """The mutation script's premise: unmutated, the suite passes on its pool. CI checks a superset
    (tests/theorems runs every module on the ci pool of 8 cases, which holds the mutation pool's 4, for
    every construction, the mutation pool's two included, with the same hypothesis examples), so this
    second run of the same tests is slow-only; ``python tests/mutations.py`` runs it first as well."""
    code, failed, tail = mutations.run_isolated("none")
    assert code == 0 and not failed, tail


def test_there_are_ten_mutations():
    assert len(mutations.MUTATIONS) == 10


@pytest.mark.parametrize("name", list(mutations.MUTATIONS))
def test_the_planted_mutation_is_caught(name):
    code, failed, tail = mutations.run_isolated(name)
    assert mutations.caught(code, failed), f"{name} SURVIVED (pytest exit code {code})\n{tail}"
