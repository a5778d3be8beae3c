"""Test configuration: float64 on (the verification path needs it), hypothesis profiles, markers.

Profiles: ``ci`` (default, fast) and ``thorough`` (many more examples), chosen with the environment
variable SLTH_PROFILE or ``--profile``. ``slow`` tests run only with ``--run-slow``; ``gpu`` tests only
when JAX sees a GPU.
"""

import os

import jax
import pytest
from hypothesis import HealthCheck, settings

jax.config.update("jax_enable_x64", True)

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")
    parser.addoption("--profile", default=None, choices=["ci", "thorough"],
                     help="hypothesis profile (default: $SLTH_PROFILE or ci)")


def pytest_configure(config):
    settings.load_profile(config.getoption("--profile") or os.environ.get("SLTH_PROFILE", "ci"))


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--run-slow")
    has_gpu = any(d.platform == "gpu" for d in jax.devices())
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --run-slow"))
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="gpu: JAX sees no GPU on this machine"))
