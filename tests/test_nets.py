"""Targets, random networks and their checks (docs/theory.md §1-2)."""

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slth import nets
from slth import testing as slt
from slth.errors import InputError


@pytest.mark.parametrize("text, dims", [("8,16,16,4", (8, 16, 16, 4)), (" 3, 2 ", (3, 2))])
def test_parse_dims(text, dims):
    assert nets.parse_dims(text) == dims


@pytest.mark.parametrize("text, fragment", [
    ("8,x,4", "does not parse"), ("8", "at least two"), ("8,0,4", "non-positive"), ("8,,4", "does not parse"),
    ("8,-2", "non-positive"),
])
def test_parse_dims_rejects(text, fragment):
    with pytest.raises(InputError, match=fragment):
        nets.parse_dims(text)


@given(dims=slt.dims(), seed=st.integers(0, 2**31 - 1), norm=st.sampled_from([1.0, 0.3]),
       dist=st.sampled_from(sorted(nets.DISTRIBUTIONS)))
def test_random_target_has_requested_norm(dims, seed, norm, dist):
    """Every layer of a random target is rescaled to the requested spectral norm (<= 1)."""
    target = nets.random_target(dims, key=jax.random.key(seed), distribution=dist, norm=norm)
    assert nets.dims_of(target) == dims
    np.testing.assert_allclose(nets.spectral_norms(target), norm, rtol=1e-12)
    nets.check_target(target)


def test_check_target_names_layer_and_norm():
    w0, w1 = np.eye(3) * 0.5, np.ones((2, 3))
    with pytest.raises(InputError, match=r"layer 1 has spectral norm 2\.449"):
        nets.check_target([w0, w1])
    with pytest.raises(InputError, match="layer 0 has 1 NaN"):
        nets.check_target([np.array([[np.nan, 0.0]])])
    with pytest.raises(InputError, match="shapes must chain"):
        nets.check_target([np.eye(3) * 0.1, np.eye(2) * 0.1])


def unit_norm(shape, seed=0):
    w = np.random.default_rng(seed).normal(size=shape)
    return w / np.linalg.norm(w, 2)


@pytest.mark.parametrize("dtype, excess", [("float64", 1e-10), ("float64", 1e-12), ("float32", 1e-6)])
def test_check_target_refuses_a_layer_just_above_norm_one(dtype, excess):
    """Issue 13: the old absolute slack 1e-12 (or a loosened one) let these through or refused float32
    rounding; the slack now follows the dtype (nets.norm_tolerance: 2.1e-15 for a 3×3 float64 layer,
    4.1e-7 for float32), so 1 + 1e-12 in float64 and 1 + 1e-6 in float32 are refused."""
    w = (unit_norm((3, 3)) * (1 + excess)).astype(dtype)
    assert nets.spectral_norms([w])[0] > 1 + excess / 2
    with pytest.raises(InputError, match=f"layer 0 has spectral norm .* {dtype} layer of shape"):
        nets.check_target([w])


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (1, 7), (16, 5), (64, 64)])
def test_check_target_accepts_a_unit_norm_layer_stored_in_float32_or_float64(shape):
    """1 plus the storage rounding passes: a layer normalised in float64 and cast to float32 (norm
    about 1 + 1e-8 above 1), one rescaled in float32, and ±1 patterns (the worst case of the
    rounding bound), in both dtypes."""
    signs = np.sign(unit_norm(shape, 1))
    for w in (unit_norm(shape), signs / np.linalg.norm(signs, 2)):
        for dtype in ("float64", "float32"):
            nets.check_target([w.astype(dtype)])
            nets.check_target([nets.rescale([(2 * w).astype(dtype)])[0]])
    cast = unit_norm((3, 3), seed=3).astype(np.float32)
    assert 1 + 1e-8 < nets.spectral_norms([cast])[0] < 1 + 2e-8   # above 1 by float32 rounding
    nets.check_target([cast])


def test_norm_tolerance_follows_the_dtype_and_shape():
    """τ = 2·ε·√min(m, n) + (m + n)·ε₆₄ (nets.norm_tolerance's docstring derives it)."""
    e32, e64 = np.finfo(np.float32).eps, np.finfo(np.float64).eps
    assert nets.norm_tolerance((3, 3), np.float64) == pytest.approx(2 * e64 * np.sqrt(3) + 6 * e64)
    assert nets.norm_tolerance((4, 9), np.float32) == pytest.approx(2 * e32 * 2 + 13 * e64)
    assert 1e-15 < nets.norm_tolerance((3, 3), np.float64) < 1e-14
    assert 1e-7 < nets.norm_tolerance((3, 3), np.float32) < 1e-6
    w = unit_norm((2, 2)) * 0.5 * (1 + 3 * nets.norm_tolerance((2, 2), np.float64))
    with pytest.raises(InputError, match="> 0.5"):
        nets.check_target([w], max_norm=0.5)
    nets.check_target([unit_norm((2, 2)) * 0.5], max_norm=0.5)


def test_load_target(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, target_0=np.eye(3) * 0.5, target_1=np.ones((1, 3)) * 0.1)
    assert nets.dims_of(nets.load_target(good)) == (3, 3, 1)
    big = tmp_path / "big.npz"
    np.savez(big, target_0=np.eye(2) * 3.0)
    with pytest.raises(InputError, match="spectral norm 3"):
        nets.load_target(big)
    np.testing.assert_allclose(nets.spectral_norms(nets.load_target(big, rescale_to_unit=True)), 1.0)
    gap = tmp_path / "gap.npz"
    np.savez(gap, target_0=np.eye(2) * 0.5, target_2=np.eye(2) * 0.5)
    with pytest.raises(InputError, match="expected"):
        nets.load_target(gap)
    flat = tmp_path / "flat.npz"
    np.savez(flat, target_0=np.ones(3))
    with pytest.raises(InputError, match="expected 2-D"):
        nets.load_target(flat)
    with pytest.raises(InputError, match="cannot read"):
        nets.load_target(tmp_path / "absent.npz")


def test_widths_follow_the_block_layout():
    """docs/theory.md §2 with the issue's layout: block j of pair i has 2c units, so h_i = 2 d_{i-1} c;
    dropping negative candidates halves the inner widths only."""
    spec = nets.RandomSpec(dims=(8, 16, 16, 4), candidates=20, seed=0)
    assert spec.widths() == (8, 320, 16, 640, 16, 640, 4)
    assert spec.random_params() == 8 * 320 + 320 * 16 + 16 * 640 * 2 + 640 * 16 + 640 * 4
    half = nets.RandomSpec(dims=(8, 16, 16, 4), candidates=20, seed=0, drop_negative=True)
    assert half.widths() == (8, 320, 16, 320, 16, 320, 4)


@given(seed=st.integers(0, 2**31 - 1), c=st.integers(1, 4), extra=st.integers(1, 3),
       dist=st.sampled_from(sorted(nets.DISTRIBUTIONS)))
def test_nested_prefixes_and_same_bits(seed, c, extra, dist):
    """Same seed, same bits; a wider network extends a narrower one block by block."""
    small = nets.RandomSpec(dims=(3, 2, 2), candidates=c, seed=seed, distribution=dist)
    large = nets.RandomSpec(dims=(3, 2, 2), candidates=c + extra, seed=seed, distribution=dist)
    a, a2, b = nets.random_network(small), nets.random_network(small), nets.random_network(large)
    for x, y in zip(a, a2):
        assert np.array_equal(np.asarray(x), np.asarray(y))
    for i in (1, 2):
        ua, ub = small.units_per_block(i), large.units_per_block(i)
        for j in range(small.dims[i - 1]):
            np.testing.assert_array_equal(a[2 * i - 2][j * ua:(j + 1) * ua], b[2 * i - 2][j * ub:j * ub + ua])
            np.testing.assert_array_equal(a[2 * i - 1][:, j * ua:(j + 1) * ua], b[2 * i - 1][:, j * ub:j * ub + ua])


def test_distributions_have_their_support():
    spec = dict(dims=(4, 4), candidates=50, seed=1)
    u = np.asarray(nets.random_network(nets.RandomSpec(**spec))[0])
    assert u.min() >= -1 and u.max() <= 1 and u.std() > 0.5
    b = np.asarray(nets.random_network(nets.RandomSpec(**spec, distribution="binary"))[0])
    assert set(np.unique(b)) == {-1.0, 1.0}
    g = np.asarray(nets.random_network(nets.RandomSpec(**spec, distribution="gaussian"))[0])
    assert abs(g.std() - 1) < 0.1


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(candidates=0), "candidates 0"), (dict(candidates=2.5), "candidates 2.5"),
    (dict(seed=-1), "seed -1"), (dict(distribution="cauchy"), "unknown distribution 'cauchy'"),
    (dict(dtype="int8"), "dtype 'int8'"),
])
def test_spec_rejects(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        nets.RandomSpec(**({"dims": (2, 2), "candidates": 2, "seed": 0} | kwargs))


#: Every public name of slth.nets from before it became a package (nets.py), kept by the package.
PUBLIC = ("BINARY_SCALE", "DISTRIBUTIONS", "HYPERBOLIC_GAMMA", "LAYOUTS", "RandomSpec", "SPECTRAL_NORM_TOL",
          "block_inputs", "block_layers", "check_distribution", "check_target", "default_dtype", "dims_of",
          "forward", "load_target", "norm_tolerance", "parse_dims", "random_network", "random_target",
          "rescale", "sample", "spec_from_json", "spectral_norms")


def test_the_package_keeps_every_public_name():
    from slth import checks

    assert [n for n in PUBLIC if not hasattr(nets, n)] == []
    assert list(nets.LAYOUTS) == ["pairs", "l+1", "conv", "biased", "conv-biased"] and "pairs" in nets.LAYOUTS
    assert nets.parse_dims(" 3, 2") == checks.dims(" 3, 2") == (3, 2)


def test_patching_the_package_reaches_the_target_check(monkeypatch):
    """tests/mutations.py loosens slth.nets.norm_tolerance on the package: check_target must see it."""
    w = unit_norm((3, 3)) * 1.005
    with pytest.raises(InputError, match="spectral norm"):
        nets.check_target([w])
    monkeypatch.setattr(nets, "norm_tolerance", lambda shape, dtype: 1e-2)
    nets.check_target([w])
