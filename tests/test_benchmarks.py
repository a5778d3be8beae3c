"""The benchmark scripts run end to end at a tiny size (their full figures are in benchmarks/README.md)."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_subset_sum_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "subset_sum.py"), "--smoke", "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["exactness"]["mismatches"] == 0
    assert result["milp_vs_exact"]["milp_minus_exact_error_max"] >= -1e-9
    assert result["pensia_scale"]["kept_params"] > 0
    assert {row["method"] for row in result["throughput"]} >= {"exact-numpy", "first-within", "exact-jax"}
