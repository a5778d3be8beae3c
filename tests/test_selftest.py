"""``slth selftest``: the installed theorem suite runs outside the repository and prints its table."""

import os
import subprocess
import sys

from slth.theorems import binomial_verdict
from slth.theorems.selftest import table
from slth.theorems.plugin import Record


def test_selftest_runs_anywhere_and_reports_every_property(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --this-option-does-not-exist\n")
    # the CLI's plumbing on a small pool of two constructions: tests/theorems runs the suite itself
    env = dict(os.environ, SLTH_THEOREM_POOL="1", SLTH_THEOREM_CONSTRUCTIONS="subset-sum,selection")
    proc = subprocess.run([sys.executable, "-m", "slth.cli", "selftest"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for prop in ("§5.1", "§5.2", "§5.3", "§5.4", "§5.5", "§5.6", "§5.7", "§5.8"):
        assert prop in proc.stdout, prop
    assert "all properties hold" in proc.stdout and "vs <= 0.2" in proc.stdout
    assert not (tmp_path / ".pytest_cache").exists()


def test_table_reports_rates_and_failures():
    ok = Record("a", "§5.6 probability", examples=100, verdicts=[binomial_verdict(3, 100, 0.2)], outcome="passed")
    bad = Record("b", "§5.6 probability", examples=100, verdicts=[binomial_verdict(60, 100, 0.2)], outcome="failed")
    text = table([ok, bad, Record("c", "§5.2 pair identity", examples=8, outcome="passed")])
    assert "3/100 = 0.030" in text and "60/100 = 0.600" in text and "FAILED" in text
    assert "§5.2 pair identity" in text and "exact" in text
    assert binomial_verdict(60, 100, 0.2).passed is False
