"""Test configuration: the theorem suite's plugin (float64 on, the ``ci`` and ``thorough``
hypothesis profiles chosen with SLTH_PROFILE or ``--profile``, the ``evidence`` fixture), and the
markers: ``slow`` tests run only with ``--run-slow``; ``gpu`` tests only when JAX sees a GPU.
"""

import jax
import pytest

pytest_plugins = ["slth.theorems.plugin"]


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--run-slow")
    has_gpu = any(d.platform == "gpu" for d in jax.devices())
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --run-slow"))
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="gpu: JAX sees no GPU on this machine"))
