"""slth.quick_jit's programs give the same bits with its CPU options as with XLA's own, and a target layer
drawn by one of them (slth.nets.targets._draw_layer) is the layer ``sample`` draws alone.

Both comparisons run here (the suite's XLA options, tests/conftest.py) and in a child process at XLA's
default, where a user's eager draws are compiled.
"""

import hashlib
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from slth import nets, precision
from slth.constructions import _blocks
from slth.nets import laws, targets
from slth.nets.layouts import conv, pairs


def _digest(tree) -> str:
    h = hashlib.sha256()
    for a in jax.tree_util.tree_leaves(tree):
        a = np.asarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _cases():
    """(name, program, args, kwargs) of every program decorated with quick_jit, at small shapes."""
    rng = np.random.default_rng(3)
    root = jax.random.key(2**35 + 11)
    units, d_in, d_out = 5, 4, 3
    js = np.repeat(np.arange(d_in), units).astype(np.int32)
    rs = np.tile(np.arange(units), d_in).astype(np.int32)
    w = rng.normal(size=(d_out, d_in))
    first, second = rng.uniform(-1, 1, (d_in * units, d_in)), rng.uniform(-1, 1, (d_out, d_in * units))
    chosen = rng.random((2 * d_out * d_in, units)) < 0.4
    f64 = np.dtype("float64")
    # The draws: the Gaussian law's polynomials are what fusion could change (every law and layout at XLA's
    # default: the pinned networks of tests/test_layouts.py); the targets' layers, every fusable law.
    yield "pairs draw gaussian", pairs._unit_draws, (root, 2, js, rs, 16, 16, "gaussian", f64, False), {}
    yield "conv draw gaussian", conv._unit_draws, (root, 2, js, rs, 16, "gaussian", f64), {}
    for law in laws.SAME_BITS_FUSED:
        yield f"target {law} {f64}", targets._draw_layer, (law, root, (5, 7), f64), {}
    yield "target gaussian float32", targets._draw_layer, ("gaussian", root, (5, 7), np.dtype("float32")), {}
    yield "cut", pairs._cut, (first, second.T, 6, 3, 2), {}
    yield "problems", _blocks.pair_problems, (w, first, second, units), {"negative": True}
    yield "problems active", _blocks.pair_problems, (w, first, second, units, 3), {"negative": False}
    yield "masks", _blocks.pair_masks, (chosen, d_out, d_in, units), {}
    yield "negatives", _blocks.constant_negatives_invalid, (chosen, d_out, d_in), {}


def _eager_targets():
    """(name, digest) of the targets' cases of `_cases` as ``sample`` draws them, outside any program of ours."""
    root = jax.random.key(2**35 + 11)
    for law, dtype in [(law, np.dtype("float64")) for law in laws.SAME_BITS_FUSED] + [("gaussian", np.dtype("float32"))]:
        yield f"target {law} {dtype}", _digest(laws.sample(law, root, (5, 7), dtype))


def digests() -> dict[str, list[str]]:
    """Per case: the digests with quick_jit's CPU options, with the process's own and, for a target, drawn
    layer by layer."""
    out = {name: [_digest(program.on_cpu(*args, **kw)), _digest(program.elsewhere(*args, **kw))]
           for name, program, args, kw in _cases()}
    for name, eager in _eager_targets():
        out[name].append(eager)
    return out


def _check(results: dict[str, list[str]]) -> None:
    differ = {name: d for name, d in results.items() if len(set(d)) != 1}
    assert not differ, differ
    assert sum(name.startswith("target") for name in results) == len(laws.SAME_BITS_FUSED) + 1


def test_same_bits_with_the_suites_options():
    _check(digests())


def test_same_bits_at_xlas_default():
    from conftest import FAST_XLA_FLAGS

    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if f not in FAST_XLA_FLAGS]
    child = ("import sys, json; sys.path.insert(0, sys.argv[1]); import jax; jax.config.update('jax_enable_x64', True); "
             "import test_quick_jit as t; print(json.dumps(t.digests()))")
    proc = subprocess.run([sys.executable, "-c", child, os.path.dirname(__file__)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "XLA_FLAGS": " ".join(flags)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    _check(json.loads(proc.stdout.splitlines()[-1]))


@pytest.mark.parametrize("law", sorted(nets.DISTRIBUTIONS))
def test_random_target_draws_each_law_as_sample_does(law):
    """A fusable law's target layers come from quick_jit's programs, the others' from ``sample`` itself;
    either way they are ``sample``'s draws, rescaled."""
    key = jax.random.key(7)
    got = nets.random_target((6, 4, 2), key=key, distribution=law)
    layers = precision.run(lambda: [laws.sample(law, k, shape) for k, shape in zip(jax.random.split(key, 2),
                                                                                [(4, 6), (2, 4)])])
    want = nets.rescale(layers)
    assert [_digest(w) for w in got] == [_digest(w) for w in want]


def test_a_program_inside_another_jitted_function_takes_its_options():
    """XLA takes compiler options at the top level only: called while another function is traced, a
    quick_jit program is traced into it, with the same result."""
    chosen = np.random.default_rng(0).random((2 * 3 * 4, 5)) < 0.4
    inner = jax.jit(lambda c: _blocks.pair_masks(c, 3, 4, 5))(chosen)
    assert _digest(inner) == _digest(_blocks.pair_masks(chosen, 3, 4, 5))
