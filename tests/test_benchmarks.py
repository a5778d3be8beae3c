"""The benchmark scripts run end to end at a tiny size (their full figures are in benchmarks/README.md)."""

import json
import pathlib

import pytest
import runpy
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_subset_sum_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "subset_sum.py"), "--smoke", "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["exactness"]["mismatches"] == 0
    assert {"numpy", "jax"} <= set(result["exactness"]["backends"])       # every back end against brute force
    versus = result["versus_numpy"]
    assert versus["rows"] == 500 and versus["mismatched_rows"] == 0
    if "numba" in versus["paths"]:                                        # numba installed
        assert "numba" in result["exactness"]["backends"] and set(versus["paths"]["numba"]) == {"uniform", "binomial"}
    assert result["milp_vs_exact"]["milp_minus_exact_error_max"] >= -1e-9
    cold, warm = result["pensia_scale"]["cold"], result["pensia_scale"]["warm"]
    assert cold["kept_params"] > 0 and cold["certificate"] == warm["certificate"]
    assert warm["compile_s"] < cold["compile_s"]        # the second process read the programs back
    assert {row["method"] for row in result["throughput"]} >= {"exact-numpy", "first-within", "exact-jax"}


def test_draws_benchmark_smoke(tmp_path):
    out = tmp_path / "draws.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "draws.py"), "--smoke", "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["same_bits"] and [r["engine"] for r in result["engines"]] == ["xla", "numba"]
    assert all(r["entries"] == 16 * 4 + 3 * 16 + 12 * 3 + 2 * 12 for r in result["engines"])   # 4-3-2, c = 2


@pytest.mark.parametrize("script, args, message", [
    ("subset_sum.py", ["--sizes", "12,0"], "argument --sizes: '12,0' must be comma-separated integers in [1, "),
    ("subset_sum.py", ["--bit-for-bit-rows", "-1"], "argument --bit-for-bit-rows: -1 must be a positive integer"),
    ("kernel_race.py", ["--binomial", "0"], "argument --binomial: '0' must be comma-separated integers in [1, "),
    ("kernel_race.py", ["--repeats", "0"], "argument --repeats: 0 must be a positive integer"),
    ("draws.py", ["--candidates", "0"], "argument --candidates: 0 must be a positive integer"),
    ("pensia_job.py", ["--candidates", "33"], "argument --candidates: 33 must be an integer <= 32"),
    ("sandwich.py", ["--seeds", "0"], "argument --seeds: 0 must be a positive integer"),
    ("sandwich.py", ["--table-from", "README.md"], "--table-from 'README.md' is not the JSON of an earlier run"),
    ("memory.py", ["--job", '{"kind": "nope"}'],
     "argument --job: '{\"kind\": \"nope\"}' must be a JSON object whose kind"),
    ("memory.py", ["--job", '{"kind": "prune", "construction": "nope", "dims": [4, 4], "c": 2}'],
     "--job: unknown construction 'nope'"),
])
def test_benchmarks_refuse_bad_values_in_one_line(script, args, message, monkeypatch, capsys):
    """A value a benchmark cannot use stops it before any work, with argparse's one-line error (a zero
    count once ended kernel_race.py in a ZeroDivisionError traceback after a minute of work, and a bad
    job ended memory.py in a KeyError). The script runs as ``__main__`` in this process (each import of
    JAX in a subprocess costs seconds); any exception other than argparse's exit fails the test."""
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))      # the scripts import _machine from there
    monkeypatch.setattr(sys, "argv", [script, *args])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(ROOT / "benchmarks" / script), run_name="__main__")
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_pensia_job_smoke(tmp_path):
    """The stage-by-stage Pensia job runs prune and verify end to end (it exits non-zero if the ticket does
    not verify) and reports every stage of both."""
    out = tmp_path / "pensia.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pensia_job.py"), "--smoke", "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    stages = {(row["job"], row["stage"]) for row in result["stages"]}
    assert {("prune", "solve (pair 1)"), ("prune", "lower bound"), ("prune", "liveness"), ("prune", "save"),
            ("verify", "invariant (regenerate)"), ("verify", "construction rebuild")} <= stages
    assert all(row["seconds"] >= 0 and row["peak_mb"] > 0 for row in result["stages"])
    assert 0 < result["results"]["lower_bound"] <= result["results"]["certificate"]
    assert 0 < result["results"]["live_params"] <= result["results"]["kept_params"]


@pytest.mark.slow(reason="40 s; its parts (exact error, certificate, lower bound, check) have their own tests")
def test_sandwich_benchmark_smoke(tmp_path):
    """The issue-15 benchmark runs end to end at a tiny size: exact brackets closed, no upper end below a
    witnessed lower bound, and its table names every target."""
    out = tmp_path / "sandwich.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sandwich.py"), "--smoke", "--out", str(out)],
                          check=True, capture_output=True, text=True, timeout=600)
    result = json.loads(out.read_text())
    assert result["exact"]["violations"] == 0 and result["exact"]["closed"] >= 1
    assert result["check"]["selection"]["certified"] is not None
    assert "certificate / exact" in proc.stdout and "lower bound / exact" in proc.stdout
