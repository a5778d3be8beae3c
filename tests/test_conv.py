"""Convolutional targets (slth.nets.conv): explicit matrices against jax.lax, ties, norms, geometry, bad input."""

import jax
import numpy as np
import pytest
from jax import lax

from slth import nets
from slth.errors import InputError
from slth.nets import conv

#: (input shape, output channels, kernel, stride): odd k from 1 to the image size, both strides, non-square.
CASES = [((1, 5, 5), 2, 3, 1), ((2, 6, 8), 3, 3, 2), ((1, 5, 5), 2, 5, 1), ((3, 8, 6), 2, 5, 2),
         ((1, 4, 4), 1, 1, 2), ((2, 3, 3), 1, 3, 1), ((2, 2, 2), 3, 1, 1)]
GEOMETRIES = ["1x8x8:4,8:k3:s1,2:10", "2x6x4:3:k3:s2:2", "1x5x5:2,2,3:k5:s1,1,1:1", "3x4x4:4,3:k1:s2,2:4"]


def _lax_conv(x, kernel, stride, padding=None):
    """y = kernel ⋆ x with zero padding p on every side (or ``padding``), NCHW / OIHW, float64."""
    p = (kernel.shape[-1] - 1) // 2
    return np.asarray(lax.conv_general_dilated(x, kernel, (stride, stride), padding or [(p, p), (p, p)],
                                               dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                               precision=lax.Precision.HIGHEST))


def _lax_cnn(target, x):
    """The CNN forward pass written directly: conv, ReLU, ..., global average pooling, dense head."""
    h = x
    for kernel, s in zip(target.kernels, target.geometry.strides):
        h = np.maximum(_lax_conv(h, kernel, s), 0.0)
    return h.mean(axis=(2, 3)) @ target.head.T


def _images(rng, n, shape):
    """n images of ``shape`` in the unit ball (norms spread over (0, 1])."""
    x = rng.normal(size=(n, int(np.prod(shape))))
    x *= rng.uniform(0.05, 1.0, size=(n, 1)) / np.linalg.norm(x, axis=1, keepdims=True)
    return x.reshape((n,) + shape)


@pytest.mark.parametrize("shape, out, k, stride", CASES)
def test_conv_matrix_is_lax_convolution(shape, out, k, stride):
    rng = np.random.default_rng([k, stride, *shape])
    kernel, x = rng.normal(size=(out, shape[0], k, k)), _images(rng, 5, shape)
    m = conv.conv_matrix(kernel, shape, stride)
    assert m.shape == (out * shape[1] * shape[2] // stride**2, int(np.prod(shape)))
    y = _lax_conv(x, kernel, stride)
    np.testing.assert_allclose(x.reshape(5, -1) @ m.T, y.reshape(5, -1), rtol=0, atol=1e-12)
    if stride == 1:   # stride 1: padding p on every side is JAX's "SAME"
        np.testing.assert_allclose(y, _lax_conv(x, kernel, 1, "SAME"), rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape, out, k, stride", CASES)
def test_kernel_of_and_conv_mask_invert_the_explicit_matrix(shape, out, k, stride):
    """kernel_of reads a kernel back from its explicit matrix bit for bit; conv_mask puts a kernel mask at
    exactly the copies of its True entries (a bool kernel read back: True where any copy is)."""
    rng = np.random.default_rng([k, stride, *shape, 7])
    kernel = rng.normal(size=(out, shape[0], k, k))
    m = conv.conv_matrix(kernel, shape, stride)
    assert np.array_equal(conv.kernel_of(m, out, shape, k, stride), kernel)
    mask = rng.random(kernel.shape) < 0.5
    mask.flat[0] = True                                       # every case has >= 2 copies of each entry
    explicit = conv.conv_mask(mask, shape, stride)
    assert explicit.dtype == np.bool_ and np.array_equal(explicit, conv.conv_matrix(np.where(mask, kernel, 0), shape,
                                                                                    stride) != 0)
    assert np.array_equal(conv.kernel_of(explicit, out, shape, k, stride), mask)
    one = explicit.copy()
    one[tuple(np.argwhere(one)[0])] = False                  # one copy dropped: still True where any copy is
    assert np.array_equal(conv.kernel_of(one, out, shape, k, stride), mask)
    with pytest.raises(InputError, match="expected a boolean"):
        conv.conv_mask(kernel, shape, stride)


@pytest.mark.parametrize("in_shape", [(3, 5, 7), (2, 3, 3), (4, 4, 4), (1, 6, 5)])
def test_head_of_gives_a_head_whose_matrix_is_the_given_one_bit_for_bit(in_shape):
    head = np.random.default_rng(list(in_shape)).normal(size=(200, in_shape[0]))
    m = conv.head_matrix(head, in_shape)
    assert np.array_equal(conv.head_matrix(conv.head_of(m, in_shape), in_shape), m)


def test_head_matrix_is_mean_pooling_then_dense():
    rng = np.random.default_rng(1)
    head, x = rng.normal(size=(4, 3)), rng.normal(size=(6, 3, 5, 7))
    np.testing.assert_allclose(x.reshape(6, -1) @ conv.head_matrix(head, (3, 5, 7)).T, x.mean(axis=(2, 3)) @ head.T,
                               rtol=0, atol=1e-13)


@pytest.mark.parametrize("text", GEOMETRIES)
def test_explicit_mlp_is_the_cnn(text):
    """nets.forward on the explicit layers (ReLU between) is the CNN: convs, ReLU, GAP, dense head."""
    target = conv.random_conv_target(text, seed=3)
    g, layers = target.geometry, target.layers()
    assert tuple(w.shape for w in layers) == tuple(zip(g.dims()[1:], g.dims()[:-1]))
    x = _images(np.random.default_rng(0), 7, g.image)
    got = np.asarray(nets.forward(layers, x.reshape(7, -1)))
    np.testing.assert_allclose(got, _lax_cnn(target, x), rtol=0, atol=1e-12)
    assert np.abs(got).max() > 1e-6     # not vacuous (all ReLUs dead)


@pytest.mark.parametrize("text", GEOMETRIES)
def test_positive_homogeneity(text):
    """f(a·x) = a·f(x) for a > 0: GAP is linear and there are no biases, so the sphere argument survives."""
    layers = conv.random_conv_target(text, seed=5).layers()
    x = _images(np.random.default_rng(2), 4, conv.Geometry.parse(text).image).reshape(4, -1)
    fx = np.asarray(nets.forward(layers, x))
    for a in (0.25, 0.7, 3.0):
        np.testing.assert_allclose(np.asarray(nets.forward(layers, a * x)), a * fx, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape, out, k, stride", CASES)
def test_kernel_index_names_the_copied_entry(shape, out, k, stride):
    g = conv.Geometry(shape, (out,), k, (stride,), 1)
    kernel = np.random.default_rng(4).normal(size=(out, shape[0], k, k))
    m, index = conv.conv_matrix(kernel, shape, stride), conv.kernel_index(g, 1)
    assert index.shape == m.shape and index.dtype == np.int64
    assert np.all(m[index == -1] == 0)
    assert np.array_equal(m[index >= 0], kernel.ravel()[index[index >= 0]])
    # within one output row no kernel entry is copied twice (every (row, entry) is its own tap)
    for row in index:
        used = row[row >= 0]
        assert len(used) == len(set(used))


def test_kernel_index_of_the_head():
    g = conv.Geometry.parse("2x4x4:3:k3:s2:5")
    head = np.random.default_rng(0).normal(size=(5, 3))
    index = conv.kernel_index(g, 2)
    assert index.shape == (5, 12)
    assert np.array_equal(conv.head_matrix(head, (3, 2, 2)), head.ravel()[index] / 4)
    with pytest.raises(InputError, match=r"conv layer 3 must be an integer <= 2"):
        conv.kernel_index(g, 3)


@pytest.mark.parametrize("text, dist", [(t, "gaussian") for t in GEOMETRIES]
                         + [("2x6x4:3:k3:s2:2", d) for d in sorted(nets.DISTRIBUTIONS) if d != "gaussian"])
def test_random_targets_have_norm_one(text, dist):
    """Every explicit layer (a conv on its input shape, head ∘ GAP) has measured norm <= 1, within 1e-12 of 1,
    and conv_target accepts it as it is. (Few shapes: drawing compiles once per law and shape.)"""
    for seed in (0, 1, 2**40 + 3):
        target = conv.random_conv_target(text, seed=seed, distribution=dist)
        norms = np.array([conv.spectral_norm(w) for w in target.layers()])
        assert np.all(norms <= 1.0) and np.all(norms > 1 - 1e-12), norms
        again = conv.conv_target(list(target.kernels), target.head, target.geometry)
        assert all(np.array_equal(a, b) for a, b in zip(again.layers(), target.layers()))


def test_random_target_is_reproducible_and_independent_of_the_x64_mode():
    a = conv.random_conv_target("1x8x8:4,8:k3:s1,2:10", seed=7)
    with jax.enable_x64(False):
        b = conv.random_conv_target(conv.Geometry.parse("1x8x8:4,8:k3:s1,2:10"), seed=7)
    assert all(np.array_equal(x, y) and y.dtype == np.float64 for x, y in zip(a.kernels + (a.head,),
                                                                              b.kernels + (b.head,)))
    c = conv.random_conv_target("1x8x8:4,8:k3:s1,2:10", seed=8)
    assert not np.array_equal(a.kernels[0], c.kernels[0])


@pytest.mark.parametrize("text", GEOMETRIES + ["1x28x28:4,8:k3:s1,2:10", "3x2x2:1:k1:s1:1"])
def test_geometry_round_trips(text):
    g = conv.Geometry.parse(text)
    assert g.text() == text and conv.Geometry.parse(g.text()) == g
    assert conv.Geometry.from_json(g.to_json()) == g
    assert len(g.shapes()) == len(g.channels) + 1 and len(g.dims()) == len(g.channels) + 2


def test_geometry_shapes_and_dims():
    g = conv.Geometry([1, 8, 8], [4, 8], 3, [1, 2], 10)
    assert g.image == (1, 8, 8) and g.channels == (4, 8) and g.strides == (1, 2)
    assert g.shapes() == ((1, 8, 8), (4, 8, 8), (8, 4, 4)) and g.dims() == (64, 256, 128, 10)


def _geometry(**change):
    fields = dict(image=(1, 8, 8), channels=(4, 8), kernel=3, strides=(1, 2), classes=10)
    return lambda: conv.Geometry(**{**fields, **change})


BAD = [
    (_geometry(kernel=9), r"conv kernel 9 is larger than the image 8x8; allowed: an odd k <= 8"),
    (_geometry(kernel=4), r"conv kernel 4 is even"),
    (_geometry(kernel=0), r"conv kernel 0 must be an integer >= 1"),
    (_geometry(strides=(1, 3)), r"conv strides \(1, 3\) must be 2 numbers, each 1 or 2"),
    (_geometry(strides=(1,)), r"conv strides \(1,\) must be 2 numbers"),
    (_geometry(image=(1, 6, 6), strides=(2, 2)), r"conv stride 2 of convolution 2 does not divide its input 3x3"),
    (_geometry(image=(1, 7, 8), strides=(2, 1)), r"conv stride 2 of convolution 1 does not divide its input 7x8"),
    (_geometry(channels=(4, 0)), r"conv channels \(4, 0\) must be one or more numbers, each a positive integer"),
    (_geometry(channels=()), r"conv channels \(\) must be one or more"),
    (_geometry(image=(8, 8)), r"conv image \(C, H, W\) \(8, 8\) must be 3 numbers"),
    (_geometry(image=(1, 8.0, 8)), r"conv image \(C, H, W\) \(1, 8.0, 8\)"),
    (_geometry(classes=0), r"conv classes 0 must be an integer >= 1"),
    (lambda: conv.Geometry.parse("1x8x8:4,8:k3:s1:10"), r"conv strides \(1,\) must be 2 numbers"),
    (lambda: conv.Geometry.parse("1x8x8:4,8:3:s1,1:10"), r"conv geometry '1x8x8:4,8:3:s1,1:10' does not parse"),
    (lambda: conv.Geometry.parse("1x8:4:k3:s1:10"), r"conv geometry '1x8:4:k3:s1:10' does not parse"),
    (lambda: conv.Geometry.parse(None), r"conv geometry None does not parse"),
    (lambda: conv.Geometry.from_json({"image": [1, 8, 8]}), r"conv geometry JSON \['image'\] must be an object"),
    (lambda: conv.conv_matrix(np.ones((2, 1, 3, 3)), (2, 5, 5), 1), r"conv kernel has 1 input channels but"),
    (lambda: conv.conv_matrix(np.ones((2, 1, 3, 1)), (1, 5, 5), 1), r"conv kernel has shape \(2, 1, 3, 1\)"),
    (lambda: conv.conv_matrix(np.ones((2, 1, 3, 3)), (1, 5, 5), 2), r"conv stride 2 of convolution 1 does not"),
    (lambda: conv.conv_matrix(np.full((1, 1, 3, 3), np.nan), (1, 5, 5), 1), r"conv kernel has 9 NaN"),
    (lambda: conv.conv_matrix("abc", (1, 5, 5), 1), r"conv kernel has a str that is not a numeric array"),
    (lambda: conv.head_matrix(np.ones((2, 3)), (4, 2, 2)), r"conv head has shape \(2, 3\); expected \(classes, 4\)"),
    (lambda: conv.random_conv_target("1x8x8:4:k3:s1:2", seed=-1), r"seed -1 must be an integer in \[0, 2\*\*63\)"),
    (lambda: conv.random_conv_target("1x8x8:4:k3:s1:2", seed=0, distribution="cauchy"), r"unknown distribution"),
    (lambda: conv.random_conv_target("16x64x64:16:k3:s1:2", seed=0), r"conv target layer 1 of 16x64x64:16:k3:s1:2 "
     r"has an explicit matrix of 65536 x 65536 = 4294967296 entries, above slth's limit 2\*\*26"),
    (lambda: conv.explicit([np.ones((4, 1, 3, 3))], np.ones((2, 4)), "1x8x8:4,8:k3:s1,2:2"), r"needs a list of 2"),
    (lambda: conv.explicit(np.ones((4, 1, 3, 3)), np.ones((2, 4)), "1x8x8:4:k3:s1:2"), r"got ndarray"),
    (lambda: conv.explicit([np.ones((4, 2, 3, 3))], np.ones((2, 4)), "1x8x8:4:k3:s1:2"),
     r"conv kernel 1 has shape \(4, 2, 3, 3\); the geometry 1x8x8:4:k3:s1:2 needs \(4, 1, 3, 3\)"),
    (lambda: conv.explicit([np.ones((4, 1, 3, 3))], np.ones((4, 2)), "1x8x8:4:k3:s1:2"),
     r"conv head has shape \(4, 2\); the geometry 1x8x8:4:k3:s1:2 needs \(2, 4\)"),
    (lambda: conv.conv_target([np.ones((4, 1, 3, 3))], np.full((2, 4), np.nan), "1x8x8:4:k3:s1:2"),
     r"conv head has 8 NaN or infinite entries"),
    (lambda: conv.conv_target([np.zeros((4, 1, 3, 3))], np.full((2, 4), 8.0), conv.Geometry.parse("1x8x8:4:k3:s1:2")),
     r"conv target layer 2 has spectral norm 2\.828.* > 1 .* as a map on \(4, 8, 8\)"),
    (lambda: conv.explicit([], np.ones((2, 4)), 3), r"conv geometry 3 must be a slth.nets.conv.Geometry or its text"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_input_is_one_line_naming_the_value(call, message):
    with pytest.raises(InputError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_conv_target_refuses_a_layer_above_one_and_rescales_it_on_request():
    t = conv.random_conv_target("1x6x6:3,2:k3:s1,2:2", seed=11)
    kernels = [t.kernels[0], t.kernels[1] * (1 + 1e-9)]
    with pytest.raises(InputError, match=r"conv target layer 2 has spectral norm 1\.00000000"):
        conv.conv_target(kernels, t.head, t.geometry)
    fixed = conv.conv_target(kernels, t.head, t.geometry, rescale=True)
    assert np.array_equal(fixed.kernels[0], t.kernels[0])      # only the layer above 1 is scaled
    assert 1 - 1e-12 < conv.spectral_norm(fixed.layers()[1]) <= 1
    small = conv.conv_target([k / 2 for k in t.kernels], t.head, t.geometry, rescale=True)
    assert np.array_equal(small.kernels[0], t.kernels[0] / 2)  # below 1: left as is
    f32 = conv.conv_target([k.astype(np.float32) for k in t.kernels], t.head.astype(np.float32), t.geometry)
    assert f32.kernels[0].dtype == np.float64                  # a float32 copy passes with float32's slack
