"""The theorem suite catches wrong constructions: tests/mutations.py at a small pool, in CI."""

import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).with_name("mutations.py")


def test_every_planted_mutation_is_caught():
    """Issue 7, 13 and 15 acceptance: the plain suite passes and each planted mutation (flipped sign,
    off-by-one block, suboptimal solver, certificate without a layer, the tighter certificate 1% too
    small, modified kept weight, a solver wrong only at odd candidate counts above 6, negative units
    kept in pairs i >= 2, the target-norm tolerance loosened to 1e-2) makes it fail."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--pool", "4"], capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(no mutation)                passes" in proc.stdout
    assert "caught 9 of 9 mutations" in proc.stdout
    assert "SURVIVED" not in proc.stdout
