"""``slth selftest``: its table. The command itself runs from an installed wheel in CI
(tools/wheel_check.sh: every property reported and holding, outside any checkout)."""

from slth.theorems import binomial_verdict
from slth.theorems.selftest import table
from slth.theorems.plugin import Record


def test_table_reports_rates_and_failures():
    ok = Record("a", "§5.6 probability", examples=100, verdicts=[binomial_verdict(3, 100, 0.2)], outcome="passed")
    bad = Record("b", "§5.6 probability", examples=100, verdicts=[binomial_verdict(60, 100, 0.2)], outcome="failed")
    text = table([ok, bad, Record("c", "§5.2 pair identity", examples=8, outcome="passed")])
    assert "3/100 = 0.030" in text and "60/100 = 0.600" in text and "FAILED" in text
    assert "§5.2 pair identity" in text and "exact" in text
    assert binomial_verdict(60, 100, 0.2).passed is False
