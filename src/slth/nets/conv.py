"""Convolutional targets: their geometry, and their convolutions unrolled into explicit matrices.

A bias-free CNN target is m convolutions (k×k kernel, k odd, zero padding p = (k-1)/2, stride 1 or 2),
each followed by ReLU, then global average pooling (GAP) and a dense head (classes × C_m). Every map is
linear or ReLU, so the target *is* a bias-free ReLU MLP whose layers are the explicit matrices of the
convolutions on the actual input shape, the last one head ∘ GAP (GAP is linear: positive homogeneity,
f(a·x) = a·f(x) for a > 0, and with it the sup-on-the-sphere argument, survive). slth measures everything
on these matrices: their spectral norms are the exact operator norms of the convolution maps on that input.
Inputs are images (C, H, W) flattened C-major (index c·H·W + y·W + x), in the unit L2 ball. Padding is p on
every side for both strides (PyTorch's ``padding=(k-1)/2``, lax.conv_general_dilated's ``[(p, p), (p, p)]``):
JAX's "SAME" for stride 1, not for stride 2 ("SAME" then pads (p-1, p)); a stride divides its map, H' = H/s.

References: A. da Cunha, E. Natale, L. Viennot, "Proving the Lottery Ticket Hypothesis for Convolutional Neural
Networks", ICLR 2022; R. Burkholz, "Convolutional and Residual Networks Provably Contain Lottery Tickets", ICML 2022.
"""

from __future__ import annotations

import dataclasses
import re

import jax
import numpy as np

from slth import checks, precision
from slth.errors import InputError
from slth.nets.laws import check_distribution, sample
from slth.nets.targets import norm_tolerance

#: Largest explicit layer (entries) slth builds: its exact SVD is the norm; 2**26 float64 entries = 512 MiB.
MAX_ENTRIES = 2 ** 26
_TEXT = re.compile(r"(\d+)x(\d+)x(\d+):(\d+(?:,\d+)*):k(\d+):s(\d+(?:,\d+)*):(\d+)")
_FIELDS = ("image", "channels", "kernel", "strides", "classes")


def _ints(name: str, value, *, n: int | None = None, allowed: tuple = ()) -> tuple[int, ...]:
    """``value`` as a tuple of ints >= 1 (of length ``n``, in ``allowed``, when given), else one-line InputError."""
    out = tuple(value) if isinstance(value, (tuple, list, np.ndarray)) else ()
    if not out or (n and len(out) != n) or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1
                                               or (allowed and v not in allowed) for v in out):
        what = " or ".join(map(str, allowed)) if allowed else "a positive integer"
        raise InputError(f"conv {name} {value!r} must be {n or 'one or more'} numbers, each {what}")
    return tuple(int(v) for v in out)


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Shapes of a CNN target: input ``image`` (C, H, W), output ``channels`` C_1..C_m of its m
    convolutions, odd ``kernel`` k <= min(H, W), ``strides`` (1 or 2, one per convolution, dividing the
    map they apply to) and ``classes`` outputs of the dense head. Text form: ``"1x8x8:4,8:k3:s1,2:10"``."""

    image: tuple[int, int, int]
    channels: tuple[int, ...]
    kernel: int
    strides: tuple[int, ...]
    classes: int

    def __post_init__(self):
        image = _ints("image (C, H, W)", self.image, n=3)
        channels = _ints("channels", self.channels)
        k = checks.integer("conv kernel", self.kernel, low=1)
        if k % 2 == 0 or k > min(image[1:]):
            why = "even" if k % 2 == 0 else f"larger than the image {image[1]}x{image[2]}"
            raise InputError(f"conv kernel {k} is {why}; allowed: an odd k <= {min(image[1:])} (padding (k-1)/2)")
        strides = _ints("strides", self.strides, n=len(channels), allowed=(1, 2))   # one per convolution
        h, w = image[1:]
        for i, s in enumerate(strides, start=1):
            if k > min(h, w):      # every map a convolution reads, not only the image
                raise InputError(f"conv kernel {k} is larger than the {h}x{w} input of convolution {i}; allowed: an "
                                 f"odd k <= {min(h, w)} there (strides shrink the maps)")
            if h % s or w % s:
                raise InputError(f"conv stride {s} of convolution {i} does not divide its input {h}x{w}; a stride "
                                 "must divide the height and width it is applied to")
            h, w = h // s, w // s
        classes = checks.integer("conv classes", self.classes, low=1)
        for name, value in zip(_FIELDS, (image, channels, k, strides, classes)):
            object.__setattr__(self, name, value)

    def shapes(self) -> tuple[tuple[int, int, int], ...]:
        """(C, H, W) of the input and after each convolution: m + 1 shapes."""
        out = [self.image]
        for c, s in zip(self.channels, self.strides):
            out.append((c, out[-1][1] // s, out[-1][2] // s))
        return tuple(out)

    def dims(self) -> tuple[int, ...]:
        """Explicit widths: C·H·W of each shape, then ``classes`` (m + 2 entries)."""
        return tuple(c * h * w for c, h, w in self.shapes()) + (self.classes,)

    def text(self) -> str:
        """The canonical text, e.g. ``"1x8x8:4,8:k3:s1,2:10"`` (:meth:`parse` reads it back)."""
        c, s = ",".join(map(str, self.channels)), ",".join(map(str, self.strides))
        return f"{'x'.join(map(str, self.image))}:{c}:k{self.kernel}:s{s}:{self.classes}"

    @classmethod
    def parse(cls, text: str) -> Geometry:
        """The geometry of a text ``CxHxW:C1,..,Cm:kK:sS1,..,Sm:CLASSES`` (inverse of :meth:`text`)."""
        match = _TEXT.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InputError(f"conv geometry {text!r} does not parse; expected CxHxW:C1,..,Cm:kK:sS1,..,Sm:CLASSES, "
                             "e.g. '1x8x8:4,8:k3:s1,2:10'")
        c, h, w, channels, k, strides, classes = match.groups()
        return cls((int(c), int(h), int(w)), tuple(map(int, channels.split(","))), int(k),
                   tuple(map(int, strides.split(","))), int(classes))

    def to_json(self) -> dict:
        return {"image": list(self.image), "channels": list(self.channels), "kernel": self.kernel,
                "strides": list(self.strides), "classes": self.classes}

    @classmethod
    def from_json(cls, d) -> Geometry:
        if not isinstance(d, dict) or set(d) != set(_FIELDS):
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise InputError(f"conv geometry JSON {got!r} must be an object with exactly the keys {list(_FIELDS)}")
        return cls(**{k: d[k] for k in _FIELDS})


def _check_size(rows: int, cols: int, what: str) -> None:
    if rows * cols > MAX_ENTRIES:
        raise InputError(f"{what} has an explicit matrix of {rows} x {cols} = {rows * cols} entries, above slth's "
                         f"limit 2**26 = {MAX_ENTRIES} (exact SVD norms); use a smaller image or fewer channels")


def _coords(out: int, in_shape: tuple, k: int, stride: int):
    """(rows, cols, flat kernel index) of every nonzero entry of the (out·H'·W', C·H·W) matrix of a
    convolution, as arrays that broadcast to (out, C, taps): tap (dy, dx) of output (y', x') reads input
    (y'·s + dy − p, x'·s + dx − p) when that lies inside the image."""
    c_in, h, w = in_shape
    p, hq, wq = (k - 1) // 2, h // stride, w // stride
    yq, xq, dy, dx = np.ix_(np.arange(hq), np.arange(wq), np.arange(k), np.arange(k))
    yy, xx = yq * stride + dy - p, xq * stride + dx - p
    inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    out_pos, in_pos, tap = (np.broadcast_to(a, inside.shape)[inside] for a in (yq * wq + xq, yy * w + xx, dy * k + dx))
    o, c = np.arange(out)[:, None, None], np.arange(c_in)[None, :, None]
    return o * hq * wq + out_pos, c * h * w + in_pos, (o * c_in + c) * k * k + tap


def conv_matrix(kernel, in_shape, stride) -> np.ndarray:
    """The explicit (out·H'·W', in·H·W) matrix of the zero-padded "same" convolution (cross-correlation)
    of ``kernel`` (out, in, k, k) on inputs of shape ``in_shape`` (in, H, W) with ``stride``:
    y[o, y', x'] = Σ_{c,dy,dx} K[o,c,dy,dx]·x[c, y'·s + dy − p, x'·s + dx − p], zero outside the image."""
    return _place(_array("conv kernel", kernel, 4), in_shape, stride)


def conv_mask(mask, in_shape, stride) -> np.ndarray:
    """The explicit boolean mask of a kernel mask (out, in, k, k): True at every copy of a True kernel
    entry in :func:`conv_matrix`'s matrix, False at every other entry (structural zeros included)."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_ or mask.ndim != 4:
        raise InputError(f"conv kernel mask has dtype {mask.dtype} and shape {mask.shape}; expected a boolean "
                         "(out, in, k, k) array")
    return _place(mask, in_shape, stride)


def _place(kernel: np.ndarray, in_shape, stride) -> np.ndarray:
    """:func:`conv_matrix` of a checked 4-D array, in the array's own dtype."""
    out, c_in, k, k2 = kernel.shape
    if k != k2:
        raise InputError(f"conv kernel has shape {kernel.shape}; expected (out, in, k, k), a square k×k kernel")
    g = Geometry(in_shape, (out,), k, (stride,), 1)     # checks the shape, k and the stride
    if c_in != g.image[0]:
        raise InputError(f"conv kernel has {c_in} input channels but the input shape {g.image} has {g.image[0]}")
    cols, rows = g.dims()[:2]
    _check_size(rows, cols, f"a convolution of {out} channels on {g.image}")
    m = np.zeros((rows, cols), kernel.dtype)
    r, c, idx = _coords(out, g.image, k, g.strides[0])
    m[r, c] = kernel.ravel()[idx]
    return m


def kernel_of(matrix, out: int, in_shape, k: int, stride: int) -> np.ndarray:
    """The (out, in, k, k) kernel read back from an explicit matrix of :func:`conv_matrix`'s shape, in its
    dtype: each kernel entry from one of its copies (a boolean matrix: True where any copy is). The
    inverse of :func:`conv_matrix` and :func:`conv_mask` on the matrices they build; a caller that needs
    the round trip exact compares ``conv_matrix(kernel_of(m, ...), ...)`` with ``m``."""
    matrix = np.asarray(matrix)
    c_in = _ints("input shape (C, H, W)", in_shape, n=3)[0]
    kernel = np.zeros((out, c_in, k, k), matrix.dtype)
    r, c, idx = _coords(out, tuple(in_shape), k, stride)
    if matrix.dtype == np.bool_:
        np.logical_or.at(kernel.reshape(-1), idx.ravel(), matrix[r, c].ravel())
    else:
        kernel.reshape(-1)[idx] = matrix[r, c]
    return kernel


#: Pooling of a head: ``mean``, global average pooling (the target's), or ``norm``, the sum over the
#: H·W positions divided by √(H·W), the pooling map of operator norm 1 (the random network's head pair,
#: :mod:`slth.nets.layouts.conv`: its kernel entries then approximate head/√(H·W), inside [−1, 1]).
POOLINGS = {"mean": lambda hw: float(hw), "norm": lambda hw: float(np.sqrt(hw))}


def head_matrix(head, in_shape, *, pooling: str = "mean") -> np.ndarray:
    """head ∘ pooling on inputs of shape ``in_shape`` (C, H, W), as a (classes, C·H·W) matrix: entry
    [k, c·H·W + y·W + x] = head[k, c] / n, n = H·W for ``mean`` (global average pooling), √(H·W) for
    ``norm`` (:data:`POOLINGS`)."""
    head = _array("conv head", head, 2)
    c, h, w = _ints("head input shape (C, H, W)", in_shape, n=3)
    if head.shape[1] != c:
        raise InputError(f"conv head has shape {head.shape}; expected (classes, {c}) for inputs of shape {(c, h, w)}")
    _check_size(head.shape[0], c * h * w, "the head")
    return np.repeat(head / POOLINGS[pooling](h * w), h * w, axis=1)


def head_of(matrix, in_shape, *, pooling: str = "mean") -> np.ndarray:
    """A head (classes, C) whose :func:`head_matrix` (``pooling``) on ``in_shape`` (C, H, W) is ``matrix``
    bit for bit where one exists: e·n for each entry e of the first position, moved by at most two ulps
    until e·n / n rounds back to e (a caller compares the round trip)."""
    matrix = np.asarray(matrix, np.float64)
    c, h, w = _ints("head input shape (C, H, W)", in_shape, n=3)
    n = POOLINGS[pooling](h * w)
    e = matrix[:, ::h * w]
    head = e * n
    for _ in range(2):
        back = head / n
        head = np.where(back < e, np.nextafter(head, np.inf), np.where(back > e, np.nextafter(head, -np.inf), head))
    return head


def _array(name: str, value, ndim: int) -> np.ndarray:
    try:
        a = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        a = None
    if a is None or a.ndim != ndim or 0 in a.shape:
        got = f"a {type(value).__name__} that is not a numeric array" if a is None else f"shape {a.shape}"
        raise InputError(f"{name} has {got}; expected a non-empty {ndim}-D array")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} has {int(a.size - np.isfinite(a).sum())} NaN or infinite entries; all must be finite")
    return a


def as_geometry(geometry) -> Geometry:
    """``geometry`` (a :class:`Geometry` or its text) as a Geometry whose every explicit layer is within
    :data:`MAX_ENTRIES`; one-line InputError otherwise."""
    g = Geometry.parse(geometry) if isinstance(geometry, str) else geometry
    if not isinstance(g, Geometry):
        raise InputError(f"conv geometry {geometry!r} must be a slth.nets.conv.Geometry or its text")
    for i, (cols, rows) in enumerate(zip(g.dims(), g.dims()[1:]), start=1):
        _check_size(rows, cols, f"conv target layer {i} of {g.text()}")
    return g


def _checked(kernels, head, geometry) -> tuple[tuple[np.ndarray, ...], np.ndarray, Geometry]:
    g = as_geometry(geometry)
    if not isinstance(kernels, (list, tuple)) or len(kernels) != len(g.channels):
        got = len(kernels) if isinstance(kernels, (list, tuple)) else type(kernels).__name__
        raise InputError(f"conv target kernels: got {got}; the geometry {g.text()} needs a list of {len(g.channels)}")
    wants = [(c, p[0], g.kernel, g.kernel) for c, p in zip(g.channels, g.shapes())] + [(g.classes, g.channels[-1])]
    out = []
    for i, (a, want) in enumerate(zip((*kernels, head), wants), start=1):
        name = "conv head" if i == len(wants) else f"conv kernel {i}"
        a = _array(name, a, len(want))
        if a.shape != want:
            raise InputError(f"{name} has shape {a.shape}; the geometry {g.text()} needs {want}")
        out.append(a)
    return tuple(out[:-1]), out[-1], g


def _builders(g: Geometry) -> list:
    """One function per explicit layer, from its parameter array (kernel or head) to its matrix."""
    shapes = g.shapes()
    return [lambda a, i=i: conv_matrix(a, shapes[i], g.strides[i]) for i in range(len(g.channels))] \
        + [lambda a: head_matrix(a, shapes[-1])]


def explicit(kernels, head, geometry) -> tuple[np.ndarray, ...]:
    """The m + 1 explicit layers of the target, layer i of shape (dims[i+1], dims[i]), float64."""
    kernels, head, g = _checked(kernels, head, geometry)
    return tuple(build(a) for build, a in zip(_builders(g), kernels + (head,)))


def kernel_index(geometry, i: int) -> np.ndarray:
    """For explicit layer ``i`` (1..m: a convolution, m + 1: the head), an int64 array of its shape whose
    entry is the flat index of the kernel (or head) entry it is a copy of, -1 for a structural zero.
    Every head entry [k, c·H·W + ...] is a copy of head[k, c] (index k·C + c)."""
    g = as_geometry(geometry)
    m, shapes, dims = len(g.channels), g.shapes(), g.dims()
    i = checks.integer("conv layer", i, low=1, high=m + 1)
    if i == m + 1:
        c, h, w = shapes[-1]
        return np.repeat(np.arange(g.classes * c, dtype=np.int64).reshape(g.classes, c), h * w, axis=1)
    index = np.full((dims[i], dims[i - 1]), -1, dtype=np.int64)
    r, c, idx = _coords(shapes[i][0], shapes[i - 1], g.kernel, g.strides[i - 1])
    index[r, c] = idx
    return index


def spectral_norm(matrix) -> float:
    """The largest singular value of ``matrix`` in float64 (LAPACK SVD, numpy.linalg.norm(·, 2))."""
    return float(np.linalg.norm(np.asarray(matrix, np.float64), 2))


def _unit(param: np.ndarray, build, *, only_above: bool = False) -> np.ndarray:
    """``param`` / d with d > 0 such that spectral_norm(build(param / d)) <= 1, close to 1 (see random_conv_target)."""
    s = spectral_norm(build(param))
    if s == 0 or (only_above and s <= 1):
        return param
    d = s
    for j in range(60):
        scaled = param / d
        n = spectral_norm(build(scaled))
        if n <= 1:
            return scaled
        d = d * n * (1 + 2.0 ** j * np.finfo(np.float64).eps)
    raise AssertionError(f"could not scale a layer to spectral norm <= 1 (last measured {n!r})")


@dataclasses.dataclass(frozen=True, eq=False)
class ConvTarget:
    """A CNN target: its geometry, kernels (C_i, C_{i-1}, k, k) and head (classes, C_m), float64; with
    ``biases``, one bias per output channel of each convolution (C_i,) and per class of the head (classes,)."""

    geometry: Geometry
    kernels: tuple[np.ndarray, ...]
    head: np.ndarray
    biases: tuple[np.ndarray, ...] | None = None

    def layers(self) -> tuple[np.ndarray, ...]:
        """The explicit layers (:func:`explicit`): a bias-free ReLU MLP for slth.nets.forward; with biases the
        layers [W_i | b_i] of :mod:`slth.nets.affine`, a channel's bias repeated at each of its positions."""
        weights = explicit(self.kernels, self.head, self.geometry)
        if self.biases is None:
            return weights
        sizes = [h * w for _, h, w in self.geometry.shapes()[1:]] + [1]
        return tuple(np.concatenate([w, np.repeat(np.asarray(b, np.float64), n)[:, None]], axis=1)
                     for w, b, n in zip(weights, self.biases, sizes))

    def save(self, path) -> None:
        """Write the CNN target file (``numpy.savez``) that :func:`slth.ticket_file.read_conv_target` and
        ``slth prune --target-kind conv --target`` read: ``geometry`` (0-d string, :meth:`Geometry.text`),
        ``target_0`` … ``target_{m-1}`` the kernels, ``target_m`` the head, and with biases ``target_bias_0`` …
        ``target_bias_m``."""
        arrays = {f"target_{i}": np.ascontiguousarray(a) for i, a in enumerate((*self.kernels, self.head))}
        arrays |= {f"target_bias_{i}": np.ascontiguousarray(b) for i, b in enumerate(self.biases or ())}
        np.savez(path, geometry=np.array(self.geometry.text()), **arrays)


def random_conv_target(geometry, *, seed: int, distribution: str = "gaussian", bias: float | None = None) -> ConvTarget:
    """A random CNN target: i.i.d. entries of ``distribution`` (:mod:`slth.nets.laws`), kernel i (0-based)
    drawn with ``fold_in(key(seed), i)`` and the head with ``fold_in(key(seed), m)``, float64; then each
    explicit layer (a convolution on its actual input shape, and head ∘ GAP) rescaled to spectral norm 1.

    Rescaling: divide the kernel (head) by the SVD norm s of its explicit matrix; while the recomputed
    norm n of the scaled matrix exceeds 1 (round-off), replace the divisor d by d·n·(1 + 2^j·ε) at the
    j-th retry (ε = 2^-52): the measured excess plus 2^j more ulps, so the loop ends after a few SVDs
    with a measured norm in [1 − a few ε, 1]. ``geometry`` may be a :class:`Geometry` or its text.

    ``bias`` in [0, 1] (None: no biases): the same kernels and head bit for bit (a bias-free twin), and one
    bias per output channel of layer i (0-based; per class for the head) drawn uniformly in [−bias, bias]
    from ``fold_in(key(seed), 2**31 + i)``, as :func:`slth.nets.affine.random_target` draws an MLP's."""
    g = as_geometry(geometry)
    if bias is not None and not (isinstance(bias, (int, float)) and not isinstance(bias, bool) and 0 <= bias <= 1):
        raise InputError(f"bias scale {bias!r} is outside [0, 1], the theorems' assumption |b| <= 1")
    key = jax.random.key(checks.seed("seed", seed))
    check_distribution(distribution)
    shapes = [(c, p[0], g.kernel, g.kernel) for c, p in zip(g.channels, g.shapes())] + [(g.classes, g.channels[-1])]
    raw = precision.run(lambda: [np.asarray(sample(distribution, jax.random.fold_in(key, i), s, np.float64))
                                 for i, s in enumerate(shapes)])
    params = [_unit(a, build) for a, build in zip(raw, _builders(g))]
    if bias is None:
        return ConvTarget(g, tuple(params[:-1]), params[-1])
    outs = list(g.channels) + [g.classes]
    biases = precision.run(lambda: tuple(
        float(bias) * np.asarray(sample("uniform", jax.random.fold_in(key, 2**31 + i), (c,), np.float64))
        for i, c in enumerate(outs)))
    return ConvTarget(g, tuple(params[:-1]), params[-1], biases)


def conv_target(kernels, head, geometry, *, rescale: bool = False, biases=None) -> ConvTarget:
    """A CNN target from given arrays: checks their shapes, that they are finite, and that every explicit
    layer has spectral norm <= 1, allowing :func:`slth.nets.norm_tolerance` for the arrays' dtype (one-line
    InputError otherwise). With ``rescale`` a layer above 1 is scaled down as in :func:`random_conv_target` (its
    kernel only). ``biases``: one array per layer, (C_i,) and (classes,) for the head, finite, |b| <= 1."""
    checked, unit_head, g = _checked(kernels, head, geometry)
    if biases is not None:
        outs = list(g.channels) + [g.classes]
        if not isinstance(biases, (list, tuple)) or len(biases) != len(outs):
            raise InputError(f"conv target biases: the geometry {g.text()} needs one array per layer, {len(outs)} in all")
        biases = tuple(_array(f"conv bias {i}", b, 1) for i, b in enumerate(biases, start=1))
        for i, (b, c) in enumerate(zip(biases, outs), start=1):
            if b.shape != (c,) or np.abs(b).max() > 1:
                why = f"shape {b.shape}, expected ({c},)" if b.shape != (c,) else f"|b| up to {np.abs(b).max()!r}"
                raise InputError(f"conv bias {i} has {why}; one bias per output channel, |b| <= 1 (the theorems' assumption)")
    dtypes = [np.asarray(a).dtype for a in (*kernels, head)]      # numeric: _checked read them as float64
    params = list(checked) + [unit_head]
    for i, (build, dtype) in enumerate(zip(_builders(g), dtypes), start=1):
        if rescale:
            params[i - 1] = _unit(params[i - 1], build, only_above=True)
        w = build(params[i - 1])
        s, tol = spectral_norm(w), norm_tolerance(w.shape, dtype if np.issubdtype(dtype, np.floating) else np.float64)
        if s > 1 + tol:
            raise InputError(f"conv target layer {i} has spectral norm {s!r} > 1 (+ tolerance {tol:.2g}) as a map on "
                             f"{g.shapes()[i - 1]}; the theorems assume ||W_i||_2 <= 1 (rescale=True scales it down)")
    return ConvTarget(g, tuple(params[:-1]), params[-1], biases)
