"""The pytest plugin of the theorem suite: float64 on, hypothesis profiles, the ``evidence`` fixture
and the per-property record that ``slth selftest`` prints; after each test, compiled programs are
dropped when the process nears its limit on memory maps (:mod:`slth.compiled`).

Load it with ``-p slth.theorems.plugin`` (``slth selftest`` and the repository's tests/conftest.py do).
"""

from __future__ import annotations

import dataclasses
import os

import jax
import pytest

from slth import compiled, testing
from slth.theorems import Verdict

#: The hypothesis profile of this session (set at configure time).
PROFILE = "ci"

#: One entry per test that used ``evidence``, filled as the session runs (``slth selftest`` reads it).
RECORDS: list["Record"] = []


@dataclasses.dataclass
class Record:
    """What one theorem test tried. ``property``: "§5.k name"; ``examples``: cases checked (hypothesis
    examples, tickets, trials); ``verdicts``: binomial verdicts of probabilistic statements;
    ``outcome``: pytest's ("passed", "failed", "skipped")."""

    nodeid: str
    property: str
    examples: int = 0
    verdicts: list = dataclasses.field(default_factory=list)
    outcome: str = "not run"


class Evidence:
    """Handed to a theorem test: ``example()`` per case checked, ``verdict(v)`` per binomial test."""

    def __init__(self, record: Record):
        self.record = record

    def example(self, n: int = 1) -> None:
        self.record.examples += n

    def verdict(self, v: Verdict) -> Verdict:
        self.record.verdicts.append(v)
        return v


def pytest_runtest_teardown(item, nextitem):
    # a pytest worker or ``slth selftest`` runs hundreds of shapes in one process (see slth.compiled)
    compiled.relieve()


def pytest_addoption(parser):
    parser.addoption("--profile", default=None, choices=list(testing.PROFILES),
                     help="hypothesis profile of the theorem suite (default: $SLTH_PROFILE or ci)")


def pytest_configure(config):
    jax.config.update("jax_enable_x64", True)
    testing.register_profiles()
    from hypothesis import settings

    global PROFILE
    PROFILE = config.getoption("--profile") or os.environ.get("SLTH_PROFILE", "ci")
    if PROFILE not in testing.PROFILES:
        raise pytest.UsageError(f"SLTH_PROFILE {PROFILE!r} must be one of {testing.PROFILES}")
    settings.load_profile(PROFILE)
    config.addinivalue_line("markers", "theorem(name): the docs/theory.md §5 property a test checks")


def thorough() -> bool:
    """True under the ``thorough`` profile: probabilistic tests then use more trials."""
    return PROFILE == "thorough"


@pytest.fixture
def evidence(request):
    marker = request.node.get_closest_marker("theorem")
    record = Record(request.node.nodeid, marker.args[0] if marker else request.node.name)
    RECORDS.append(record)
    return Evidence(record)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        for r in RECORDS:
            if r.nodeid == item.nodeid:
                r.outcome = report.outcome
