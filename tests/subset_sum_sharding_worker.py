"""Run by test_subset_sum_sharding.py in its own process: 4 simulated CPU devices, x64 on.

Prints "sharded == unsharded" when the sharded JAX solve equals the single-device NumPy solve and the
single-device JAX solve bit for bit; exits non-zero otherwise.
"""

import os

# Simulated devices must be requested before JAX starts its backend.
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

from slth import subset_sum as ss  # noqa: E402
from slth.subset_sum import _jax_kernels  # noqa: E402


def main() -> None:
    assert jax.device_count() == 4, jax.devices()
    rng = np.random.default_rng(2026)
    batch, c = 203, 18  # B not a multiple of the device count: the last chunk is padded
    cand = rng.uniform(-1.0, 1.0, (batch, c))
    targets = rng.uniform(-1.0, 1.0, batch)
    valid = rng.random((batch, c)) < 0.6
    valid[:2] = False
    sharded = ss.solve(cand, targets, valid=valid, sharded=True)
    auto = ss.solve(cand, targets, valid=valid)
    numpy_path = ss.solve(cand, targets, valid=valid, sharded=False)
    for other in (auto, numpy_path):
        np.testing.assert_array_equal(sharded.mask, other.mask)
        np.testing.assert_array_equal(sharded.error, other.error)
    x = cand[:37, :12]
    t = targets[:37]
    one = _jax_kernels.solve_indices(x, t, devices=jax.devices()[:1], memory_budget_bytes=1 << 20)
    four = _jax_kernels.solve_indices(x, t, devices=jax.devices(), memory_budget_bytes=1 << 20)
    np.testing.assert_array_equal(one, four)
    within = ss.solve(cand, targets, valid=valid, method="first-within", tol=1e-3, sharded=True)
    within_np = ss.solve(cand, targets, valid=valid, method="first-within", tol=1e-3, sharded=False)
    np.testing.assert_array_equal(within.mask, within_np.mask)
    print("sharded == unsharded")


if __name__ == "__main__":
    main()
