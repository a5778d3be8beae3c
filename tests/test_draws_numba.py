"""numba's draws of the uniform law (slth.nets._numba_draws) are XLA's bits, entry for entry.

The kernel writes the Threefry-2x32 rounds out by hand, so every constant, rotation, key injection and
the mantissa composition is checked here against the XLA program it replaces
(``slth.nets.layouts.pairs.xla_pair_layers``), at shapes that cross the kernel's blocks of entries and
of units, with seeds whose key has both words non-zero; and whole networks of every MLP layout are the
same with numba switched off.
"""

import dataclasses

import jax
import numpy as np
import pytest

from slth import nets, numba_runtime
from slth.nets import _numba_draws
from slth.nets.layouts import pairs

pytest.importorskip("numba")
from slth.nets import _threefry  # noqa: E402

#: (d_in, d_out, units): one unit; fewer units than a task's UNITS; rows longer than a hash BLOCK (600 and
#: 300 entries); many tasks whose last is partial; the constant-width case of a wide output.
SHAPES = [(1, 1, 1), (3, 2, 5), (600, 7, 3), (7, 300, 20), (130, 3, 9)]
SEEDS = [0, 2**40 + 3, 2**63 - 1]


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("d_in, d_out, units", SHAPES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("positive", [False, True])
def test_numba_draws_xlas_bits(d_in, d_out, units, dtype, positive):
    for seed in SEEDS:
        root = jax.random.key(seed)
        for i in (1, 7):
            assert _numba_draws.available(root, "uniform", dtype, _numba_draws.FROM_ENTRIES)
            got = _numba_draws.pair_layers(root, i, d_in, d_out, units, dtype, positive)
            want = pairs.xla_pair_layers(root, i, d_in, d_out, units, "uniform", dtype, positive)
            assert all(_same_bits(g, w) for g, w in zip(got, want, strict=True)), (seed, i)
            assert all(isinstance(g, jax.Array) for g in got)


def test_shapes_cross_the_kernels_blocks():
    """SHAPES reach past a hash block and a task's units (else the checks above would miss their edges)."""
    assert max(d_in for d_in, _, _ in SHAPES) > _threefry.BLOCK
    assert max(d_out for _, d_out, _ in SHAPES) > _threefry.BLOCK
    assert any(d_in * u > 2 * _threefry.UNITS and d_in * u % _threefry.UNITS for d_in, _, u in SHAPES)


@pytest.mark.parametrize("threads", [1, 3])
def test_the_thread_count_does_not_change_the_bits(monkeypatch, threads):
    monkeypatch.setattr(numba_runtime, "threads", lambda: threads)
    root = jax.random.key(17)
    got = _numba_draws.pair_layers(root, 1, 130, 3, 9, "float64", False)
    want = pairs.xla_pair_layers(root, 1, 130, 3, 9, "uniform", "float64", False)
    assert all(_same_bits(g, w) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize("layout", ["pairs", "l+1", "biased"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_whole_networks_are_the_same_without_numba(monkeypatch, layout, dtype):
    """Every MLP layout draws its uniform network through ``pair_layers``: the same bits with the kernel (here
    for every size) as with XLA alone (numba reported missing), drop_negative included."""
    monkeypatch.setattr(_numba_draws, "FROM_ENTRIES", 0)
    spec = nets.RandomSpec(dims=(5, 4, 3), candidates=3, seed=2**33 + 9, layout=layout, dtype=dtype)
    specs = [spec] + ([dataclasses.replace(spec, drop_negative=True)] if layout == "pairs" else [])
    for s in specs:
        with_numba = nets.random_network(s)
        monkeypatch.setattr(_numba_draws, "HAVE_NUMBA", False)
        without = nets.random_network(s)
        monkeypatch.setattr(_numba_draws, "HAVE_NUMBA", True)
        assert all(_same_bits(a, b) for a, b in zip(with_numba, without, strict=True))


def test_what_the_kernel_does_not_draw_stays_with_xla():
    key, big = jax.random.key(0), _numba_draws.FROM_ENTRIES
    assert _numba_draws.available(key, "uniform", "float64", big) and _numba_draws.available(key, "uniform", np.float32, big)
    assert not _numba_draws.available(key, "uniform", "float64", big - 1)
    for law in sorted(set(nets.DISTRIBUTIONS) - {"uniform"}):
        assert not _numba_draws.available(key, law, "float64", big)
    assert not _numba_draws.available(key, "uniform", "float16", big)
    assert not _numba_draws.available(jax.random.key(0, impl="rbg"), "uniform", "float64", big)
    with jax.threefry_partitionable(False):
        assert not _numba_draws.available(key, "uniform", "float64", big)


def test_a_large_uniform_network_is_drawn_by_numba(monkeypatch):
    """``random_network`` takes the kernel for a pair of FROM_ENTRIES entries or more, XLA's draw below."""
    calls, kernel = [], _numba_draws.pair_layers
    monkeypatch.setattr(_numba_draws, "pair_layers", lambda *args: calls.append(args) or kernel(*args))
    spec = nets.RandomSpec(dims=(3, 2), candidates=2, seed=1)       # 3 blocks of 4 units: 12 * (3 + 2) entries
    for threshold, drawn in [(61, 0), (60, 1)]:
        monkeypatch.setattr(_numba_draws, "FROM_ENTRIES", threshold)
        calls.clear()
        nets.random_network(spec)
        assert len(calls) == drawn
