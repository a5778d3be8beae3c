"""The optional parts of slth say in one line which extra installs what they miss (slth.extras)."""

import sys

import pytest

from slth import extras
from slth.errors import InputError


def test_need_returns_the_module_when_installed():
    assert extras.need("pytest", "this test") is pytest


@pytest.mark.parametrize("module,extra", [("sklearn.datasets", "digits"), ("matplotlib", "figures"),
                                          ("hypothesis", "theorems"), ("pyscipopt", "exact")])
def test_a_missing_module_names_its_extra(monkeypatch, module, extra):
    top = module.split(".")[0]
    for name in [m for m in sys.modules if m.startswith(top + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, top, None)     # an import of it raises ImportError
    with pytest.raises(InputError) as e:
        extras.need(module, "the thing")
    assert str(e.value) == (f"the thing needs {top}, which is not installed: "
                            f"pip install 'slth[{extra}]'")


def test_missing_says_nothing_when_installed_and_the_line_when_not(monkeypatch):
    assert extras.missing("pytest", "x") is None
    monkeypatch.setattr(extras.importlib.util, "find_spec", lambda name: None)
    assert extras.missing("sklearn", "[trials] data") == ("[trials] data needs sklearn, which is not installed: "
                                                          "pip install 'slth[digits]'")


def test_an_unknown_module_is_a_programming_error():
    with pytest.raises(ValueError, match="not an optional dependency"):
        extras.need("numpy", "x")


def test_selftest_without_its_extra_names_it(monkeypatch):
    from slth.theorems import selftest

    monkeypatch.setitem(sys.modules, "hypothesis", None)
    with pytest.raises(InputError, match=r"slth selftest needs hypothesis.*slth\[theorems\]"):
        selftest.run()


def test_the_digits_data_without_scikit_learn_names_the_extra(monkeypatch):
    from slth.studies.digits import data

    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(InputError, match=r"the digits data needs sklearn.*slth\[digits\]"):
        data.load_digits()


def test_a_digits_spec_without_scikit_learn_is_refused_before_work(monkeypatch):
    from slth.experiments.kinds import digits

    monkeypatch.setattr(extras.importlib.util, "find_spec", lambda name: None)
    problems: list = []
    digits.check({"construction": ["subset-sum"], "c": [4]}, {}, {}, problems)
    assert any("slth[digits]" in p for p in problems)
