"""The batch axis sharded over 4 simulated CPU devices gives bit-identical subsets (STYLE habit 9).

Simulated devices must be configured before JAX starts, so the check runs in a fresh interpreter.
"""

import os
import pathlib
import subprocess
import sys

WORKER = pathlib.Path(__file__).with_name("subset_sum_sharding_worker.py")


def test_sharded_equals_unsharded_bit_for_bit():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    proc = subprocess.run(
        [sys.executable, str(WORKER)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sharded == unsharded" in proc.stdout
