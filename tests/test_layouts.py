"""The table of random-network layouts (slth.nets.layouts): every layout answers for itself."""

import dataclasses
import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slth import nets
from slth.errors import InputError
from slth.nets import layouts

#: The layouts of MLP targets (any dims); ``conv`` needs a CNN geometry (tests/test_conv_tickets.py).
NAMES = [n for n, layout in nets.LAYOUTS.items() if not layout.has_geometry]
DIMS = [(3, 2), (2, 3, 2), (3, 2, 2, 3), (1, 4, 1)]


def spec(layout, dims=(2, 3, 2), c=2, seed=0, **kwargs):
    return nets.RandomSpec(dims=dims, candidates=c, seed=seed, layout=layout, **kwargs)


def digest(layers) -> str:
    h = hashlib.sha256()
    for m in layers:
        a = np.asarray(m)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def test_the_table():
    """LAYOUTS keeps the names and order of the former tuple ("pairs", "l+1"), then the CNN layout, the
    layout with biases and the CNN layout with biases; each entry knows its name; the lookup takes a name or
    a spec; pairs is the default, left out of the spec's JSON."""
    assert NAMES == ["pairs", "l+1", "biased"]
    assert list(nets.LAYOUTS) == ["pairs", "l+1", "conv", "biased", "conv-biased"]
    assert "l+1" in nets.LAYOUTS and nets.LAYOUTS is layouts.LAYOUTS
    for name, layout in nets.LAYOUTS.items():
        assert layout.name == name and layouts.layout(name) is layout and isinstance(layout, layouts.Layout)
        assert name not in NAMES or layouts.layout(spec(name)) is layout
    assert layouts.DEFAULT is nets.LAYOUTS["pairs"] and nets.RandomSpec(dims=(2, 2), candidates=1, seed=0).layout == "pairs"
    assert "layout" not in spec("pairs").to_json() and spec("l+1").to_json()["layout"] == "l+1"
    assert layouts.is_default("pairs") and not layouts.is_default(spec("l+1"))


@pytest.mark.parametrize("name", ["l+2", "", "PAIRS", None, 1])
def test_an_unknown_layout_is_one_input_error(name):
    with pytest.raises(InputError, match=r"layout .* is unknown; allowed: pairs, l\+1"):
        layouts.layout(name)
    with pytest.raises(InputError, match="is unknown"):
        nets.RandomSpec(dims=(2, 2), candidates=1, seed=0, layout=name)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("drop_negative", [False, True])
def test_shapes_and_params_agree_with_the_generated_network(name, dims, drop_negative):
    """Every shape answer of the layout (random depth, widths, shapes, random params, hidden widths,
    block layers and units) is the network random_network draws."""
    layout = layouts.layout(name)
    if drop_negative and not layout.allows_drop_negative:
        with pytest.raises(InputError, match="drop_negative"):
            spec(name, dims, 3, drop_negative=True)
        return
    s = spec(name, dims, 3, drop_negative=drop_negative)
    net = nets.random_network(s)
    assert len(net) == s.random_depth == layout.random_depth(s)
    assert tuple(np.shape(m) for m in net) == s.shapes()
    widths = (np.shape(net[0])[1] - int(layout.has_biases),) + tuple(np.shape(m)[0] for m in net)
    assert widths == s.widths() == layout.widths(s) and widths[-1] == dims[-1]
    assert s.random_params() == sum(np.size(m) for m in net)
    assert len(s.hidden_widths()) == s.depth and set(s.hidden_widths()) <= set(widths[1:-1])
    for i in nets.block_layers(s):
        blocks = nets.block_inputs(s, i)
        assert blocks.shape == (np.shape(net[2 * i - 2])[0],)
        inputs = dims[i - 1] + int(layout.has_biases)       # with biases: the bias block reads the constant
        assert np.array_equal(blocks, np.repeat(np.arange(inputs), layout.block_units(s, i)))
    assert all(0 < k < s.random_depth for k in layout.target_neuron_layers(s))
    if layout.has_pairs:
        assert [s.units_per_block(i) for i in nets.block_layers(s)] == [layout.block_units(s, i)
                                                                      for i in nets.block_layers(s)]
    else:
        with pytest.raises(InputError, match="no layer pairs"):
            s.units_per_block(1)
    if layout.has_copies:
        assert [s.copies(i) for i in range(1, s.depth + 1)] == [3] * (s.depth - 1) + [1]
    else:
        with pytest.raises(InputError, match="copies"):
            s.copies(1)


@pytest.mark.parametrize("law", sorted(nets.DISTRIBUTIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_both_layouts_are_the_same_network_at_depth_one(law, dtype):
    """For l = 1 the layouts coincide: the same shapes and the same bits."""
    a, b = (nets.random_network(spec(n, (3, 2), 4, seed=11, distribution=law, dtype=dtype)) for n in ("pairs", "l+1"))
    assert [np.asarray(m).dtype for m in a] == [np.dtype(dtype)] * 2
    for x, y in zip(a, b, strict=True):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


#: sha256 (first 16 hex digits) of networks drawn before the layouts became modules: the streams are
#: part of the file format (slth verify regenerates every ticket's network), so they never change.
GOLDEN = [
    (dict(dims=(3, 4, 2), candidates=3, seed=5, layout="pairs"), "886805d20f4d8ddc"),
    (dict(dims=(3, 4, 2), candidates=3, seed=5, layout="pairs", drop_negative=True, distribution="binary"),
     "f556e973cf90cbef"),
    (dict(dims=(3, 4, 2), candidates=3, seed=5, layout="l+1"), "a017c4cf9e69c7e6"),
    (dict(dims=(2, 3, 3, 2), candidates=2, seed=2**40 + 1, layout="l+1", dtype="float32"), "d9f40b9e964bb313"),
    (dict(dims=(2, 3, 3, 2), candidates=2, seed=9, layout="pairs", dtype="float32"), "2298998861f4c3fc"),
    # Gaussian draws pass through polynomials whose multiply-adds XLA may fuse: these two also pin that the
    # suite's XLA level (tests/conftest.py) draws a user's bits (at level 0 both digests change)
    (dict(dims=(3, 4, 2), candidates=3, seed=5, layout="pairs", distribution="gaussian"), "7e25c68311b468b7"),
    (dict(dims=(2, 3, 3, 2), candidates=2, seed=9, layout="l+1", distribution="gaussian", dtype="float32"),
     "1f57b9067536c69e"),
]


@pytest.mark.parametrize("kwargs, expected", GOLDEN)
def test_regeneration_is_bit_for_bit_and_pinned(kwargs, expected):
    s = nets.RandomSpec(**kwargs)
    assert digest(nets.random_network(s)) == digest(nets.random_network(nets.spec_from_json(s.to_json()))) == expected


def test_the_pinned_networks_are_drawn_at_xlas_default_too():
    """The draw programs compile with options of their own (slth.nets.laws.CPU_DRAW_OPTIONS, on top of the
    process's): in a process at XLA's default, without the suite's options (tests/conftest.py), every pinned
    network keeps its digest."""
    import os
    import subprocess
    import sys

    from conftest import FAST_XLA_FLAGS

    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if f not in FAST_XLA_FLAGS]
    child = ("import sys; sys.path.insert(0, sys.argv[1]); import jax; jax.config.update('jax_enable_x64', True); "
             "import test_layouts as t; from slth import nets; "
             "print(*[t.digest(nets.random_network(nets.RandomSpec(**k))) for k, _ in t.GOLDEN])")
    env = {**os.environ, "XLA_FLAGS": " ".join(flags)}
    proc = subprocess.run([sys.executable, "-c", child, os.path.dirname(__file__)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == [expected for _, expected in GOLDEN]


@settings(max_examples=10, deadline=None)
@given(name=st.sampled_from(NAMES), seed=st.integers(0, 2**63 - 1), c=st.integers(1, 3), extra=st.integers(1, 2))
def test_same_seed_same_bits_and_wider_extends_narrower(name, seed, c, extra):
    """Per seed the network is regenerated bit for bit; another seed draws another network; a wider
    network holds the narrower one's entries (block prefixes of layer 1, in both layouts)."""
    small = spec(name, (2, 3, 2), c, seed=seed)
    a, b = nets.random_network(small), nets.random_network(small)
    assert digest(a) == digest(b)
    assert digest(nets.random_network(dataclasses.replace(small, seed=seed ^ 1))) != digest(a)
    wide = nets.random_network(dataclasses.replace(small, candidates=c + extra))
    u_small, u_wide = 2 * c, 2 * (c + extra)                # layer 1: d_0 blocks of 2c units, both layouts
    for j in range(small.dims[0]):
        np.testing.assert_array_equal(a[0][j * u_small:(j + 1) * u_small], wide[0][j * u_wide:j * u_wide + u_small])


def test_layout_checks():
    """Each layout's own refusals: drop_negative and the 2^16 unit word (l+1 only)."""
    with pytest.raises(InputError, match="drop_negative applies to the 'pairs' layout only"):
        spec("l+1", drop_negative=True)
    with pytest.raises(InputError, match="every width below 65536"):
        spec("l+1", (2, 70000, 1))
    with pytest.raises(InputError, match="candidates below 32768"):
        spec("l+1", (2, 2), 2**15)
    spec("pairs", (2, 70000, 1), 1, drop_negative=True)     # the pairs layout has neither limit
    with pytest.raises(InputError, match="blocks in layer 1 only"):
        nets.block_inputs(spec("l+1", (2, 2, 2)), 2)


def test_nearby_widths_share_one_compiled_draw_and_every_unit_is_its_own_stream():
    """pair_layers computes at power-of-two shapes, at least MIN_UNITS units and MIN_LENGTH entries a row and
    column, and cuts (one compiled program for every small network and for nearby widths, the suite's and a
    small job's largest compile); each unit's row and column are still the draws of its own key,
    split(fold_in(fold_in(fold_in(root, i), j), r)), at their own lengths."""
    import jax
    import jax.numpy as jnp
    from slth.nets.laws import DISTRIBUTIONS
    from slth.nets.layouts import pairs

    root, i = jax.random.key(4), 2
    pairs.pair_layers(root, i, 3, 5, 6, "gaussian", jnp.float64, True)
    before = pairs._unit_draws.on_cpu._cache_size()
    # 1 to 256 units, inputs and outputs from 1 to 16: all in the floors' bucket
    for d_in, d_out, units in ((3, 5, 7), (1, 1, 1), (8, 2, 30), (16, 16, 16), (16, 9, 11)):
        first, second = pairs.pair_layers(root, i, d_in, d_out, units, "gaussian", jnp.float64, True)
        assert first.shape == (d_in * units, d_in) and second.shape == (d_out, d_in * units)
        for j in sorted({0, d_in - 1}):
            for r in sorted({0, units - 1}):
                k_in, k_out = jax.random.split(jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(root, i), j), r))
                np.testing.assert_array_equal(first[j * units + r], jnp.abs(DISTRIBUTIONS["gaussian"](k_in, (d_in,), jnp.float64)))
                np.testing.assert_array_equal(second[:, j * units + r], DISTRIBUTIONS["gaussian"](k_out, (d_out,), jnp.float64))
    assert pairs._unit_draws.on_cpu._cache_size() == before
    pairs.pair_layers(root, i, 17, 5, 6, "gaussian", jnp.float64, True)      # 17 inputs: the next bucket
    assert pairs._unit_draws.on_cpu._cache_size() == before + 1
