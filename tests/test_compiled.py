"""slth.compiled: compiled programs are dropped when a process nears its limit on memory maps, and
only then; the test plugin and the sweep runner call it."""

import os

import jax
import jax.numpy as jnp
import pytest

from slth import compiled
from slth.theorems import plugin

HAS_PROC = os.path.exists("/proc/self/maps") and os.path.exists("/proc/sys/vm/max_map_count")
needs_proc = pytest.mark.skipif(not HAS_PROC, reason="no /proc on this system: nothing to count")


def _fresh_function():
    f = jax.jit(lambda x: jnp.cumsum(jnp.sin(x)) * 2.0)
    for n in range(1, 6):
        f(jnp.ones(n)).block_until_ready()
    assert f._cache_size() == 5
    return f


@needs_proc
def test_counts_are_read():
    assert compiled.map_count() > 0
    assert compiled.map_limit() > 0


@needs_proc
def test_nothing_is_dropped_below_the_share():
    f = _fresh_function()
    assert compiled.relieve(share=1.0) is False    # a process never holds more maps than its limit
    assert f._cache_size() == 5


@needs_proc
def test_programs_are_dropped_above_the_share_and_maps_released():
    f = _fresh_function()
    g = jax.jit(lambda x: jnp.sort(x) @ jnp.cos(x))
    for n in range(1, 41):
        g(jnp.ones(n)).block_until_ready()
    before = compiled.map_count()
    assert compiled.relieve(share=0.0) is True
    assert f._cache_size() == 0 and g._cache_size() == 0
    assert compiled.map_count() < before
    assert float(f(jnp.ones(3))[-1]) == pytest.approx(2 * 3 * float(jnp.sin(1.0)))   # compiles again


def test_without_proc_nothing_is_counted_or_dropped(monkeypatch):
    monkeypatch.setattr(compiled, "map_count", lambda: None)
    f = _fresh_function()
    assert compiled.relieve(share=0.0) is False
    assert f._cache_size() == 5


def test_the_plugin_relieves_after_each_test(monkeypatch):
    monkeypatch.setattr(compiled, "map_limit", lambda: 1)
    monkeypatch.setattr(compiled, "map_count", lambda: 2)
    f = _fresh_function()
    plugin.pytest_runtest_teardown(None, None)
    assert f._cache_size() == 0
