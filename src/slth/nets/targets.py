"""Targets: widths, the forward pass, spectral norms, the theorems' assumptions, random and stored targets.

Conventions (docs/theory.md §1): a network is a tuple of weight matrices of shape (out, in); the maths uses
column vectors, the code takes a batch of row vectors ``x`` of shape (batch, d_0) and returns
(batch, d_L). f(x) = W_l σ(W_{l-1} ··· σ(W_1 x)), σ = ReLU after every layer but the last, no biases.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import jax
import numpy as np

from slth import checks, precision
from slth.errors import InputError
from slth.nets.laws import SAME_BITS_FUSED, check_distribution, default_dtype, sample
from slth.quick_jit import quick_jit

if TYPE_CHECKING:   # shapes for the reader (jaxtyping); tests/test_shapes.py checks they resolve
    from jaxtyping import Array, ArrayLike, Float

#: Slack :func:`check_target` allows above the largest spectral norm, in units of a layer's storage
#: rounding ε·√min(m, n) (ε the machine epsilon of its dtype); see :func:`norm_tolerance`.
SPECTRAL_NORM_TOL = 2.0


# --------------------------------------------------------------------------- dims

def parse_dims(text: str | Sequence[int]) -> tuple[int, ...]:
    """Parse ``"8,16,16,4"`` (or a sequence) into widths d_0..d_l; at least two, all positive
    (:func:`slth.checks.dims`)."""
    return checks.dims(text)


def dims_of(layers: Sequence, *, biases: bool = False) -> tuple[int, ...]:
    """Widths d_0..d_l of a chain of (out, in) matrices; with ``biases``, of layers [W_i | b_i]
    (:mod:`slth.nets.affine`), whose last column is the bias."""
    return (int(np.shape(layers[0])[1]) - int(biases),) + tuple(int(np.shape(w)[0]) for w in layers)


# --------------------------------------------------------------------------- forward pass

def forward(layers: Sequence[Float[ArrayLike, "d_out d_in"]], x: Float[ArrayLike, "batch d_0"], *,
            skips: Sequence[tuple[int, int]] = (), biases: bool = False) -> Float[Array, "batch d_L"]:
    """Evaluate the ReLU network on a batch ``x`` of shape (batch, d_0); returns (batch, d_L).

    ``skips``: skip connections as edges (a, b) of unit layers (0 the input, L the output; a < b): the
    output of unit layer a (x itself for a = 0) is added to the pre-activation of unit layer b, before
    its ReLU (:mod:`slth.nets.residual`). None by default: the plain chain. ``biases``: every layer's last
    column is its bias, read against a constant input 1 (layers [W_i | b_i], :mod:`slth.nets.affine`); a
    skip adds the unit outputs, never the constant."""
    into: dict[int, list[int]] = {}
    for a, b in skips:
        into.setdefault(int(b), []).append(int(a))
    outputs = [x] if into else None
    h = x
    for k, w in enumerate(layers, start=1):
        h = h @ w[:, :-1].T + w[:, -1] if biases else h @ w.T
        for a in into.get(k, ()):
            h = h + outputs[a]
        if k < len(layers):
            h = jax.nn.relu(h)
        if outputs is not None:
            outputs.append(h)
    return h


# --------------------------------------------------------------------------- targets

def spectral_norms(layers: Sequence) -> np.ndarray:
    """Spectral norm ‖W_i‖_2 of each layer, computed in float64 with numpy."""
    return np.array([np.linalg.norm(np.asarray(w, np.float64), 2) for w in layers])


def norm_tolerance(shape: tuple[int, int], dtype) -> float:
    """Relative slack τ above a spectral-norm bound for an (m, n) layer stored in ``dtype``:
    τ = SPECTRAL_NORM_TOL·ε·√min(m, n) + (m + n)·ε₆₄, ε the machine epsilon of ``dtype`` and ε₆₄ that
    of float64. :func:`check_target` accepts ‖W‖₂ <= max_norm·(1 + τ).

    Why. A layer normalised to norm exactly 1 and stored in ``dtype``, whether cast after a float64
    normalisation (one rounding, relative u = ε/2 per entry) or scaled in ``dtype`` (two, the factor
    and the product: at most ε(1 + ε/4)), is W + Δ with |Δ_ij| <= ε(1 + ε/4)·|W_ij|, so
    ‖Δ‖₂ <= ε(1 + ε/4)·‖ |W| ‖₂ <= ε(1 + ε/4)·‖W‖_F <= ε(1 + ε/4)·√min(m, n) (‖ |W| ‖₂ = √n‖W‖₂
    for an n×n Hadamard matrix: the square root is needed). The norm itself is measured by a
    float64 SVD (LAPACK), whose largest singular value is off by p(m, n)·ε₆₄ with p "a modestly
    growing function" (LAPACK Users' Guide §4.9): (m + n)·ε₆₄ covers it (the measured norm of a
    float64 layer normalised to 1 exceeded 1 by at most 10·ε₆₄ at 784×500 and 5·ε₆₄ at 3×3,
    rounding included). The factor SPECTRAL_NORM_TOL = 2 leaves twice the storage rounding: over
    20,000 layers per shape (1×1 to 16×16; Gaussian, ±1, rank 1, sparse; both dtypes, both ways of
    storing) the largest excess seen was 0.59·τ.

    What it refuses: float64, 3×3: τ = 2.1e-15, so 1 + 1e-12 is refused; float32, 3×3: τ = 4.1e-7,
    so 1 + 1e-6 is refused and a float32 copy of a norm-1 float64 layer (excess about 6e-8) passes.
    No absolute slack serves both dtypes: 1e-12 refuses that float32 layer, and any slack that
    accepts it accepts a float64 layer 1e-8 above the bound.
    """
    m, n = shape
    return SPECTRAL_NORM_TOL * float(np.finfo(dtype).eps) * float(np.sqrt(min(m, n))) \
        + (m + n) * float(np.finfo(np.float64).eps)


def check_target(layers: Sequence, *, max_norm: float = 1.0, biases: bool = False) -> None:
    """Check the theorems' assumptions on a target: a chain of finite 2-D layers, ‖W_i‖_2 <= 1; with
    ``biases``, layers [W_i | b_i] (:func:`slth.nets.affine.check_target`, which also bounds |b| <= 1).

    The norm is measured in float64 and allowed the rounding of the layer's stored dtype
    (:func:`_stored_dtype`: float32 also for float32 values held as float64): ‖W_i‖_2 <= max_norm·(1 + τ_i),
    τ_i = :func:`norm_tolerance` of its shape and that dtype, so a layer normalised to 1 and stored in
    float32 or float64 passes, and one a few τ above is refused with τ_i in the message.

    Raises:
      InputError: naming the first violated assumption, the layer and its value.
    """
    if biases:
        from slth.nets import affine
        return affine.check_target(layers, max_norm=max_norm)
    if len(layers) == 0:
        raise InputError("target has no layers")
    for i, w in enumerate(layers):
        w = np.asarray(w)
        if w.ndim != 2 or 0 in w.shape:
            raise InputError(f"target layer {i} has shape {w.shape}; expected a non-empty (out, in) matrix")
        if not np.issubdtype(w.dtype, np.floating):
            raise InputError(f"target layer {i} has dtype {w.dtype}; expected floating point")
        if not np.all(np.isfinite(w)):
            n_bad = int(np.size(w) - np.isfinite(w).sum())
            raise InputError(f"target layer {i} has {n_bad} NaN or infinite entries; all must be finite")
        if i > 0 and w.shape[1] != np.shape(layers[i - 1])[0]:
            raise InputError(
                f"target layer {i} has shape {w.shape} but layer {i - 1} outputs "
                f"{np.shape(layers[i - 1])[0]} values: shapes must chain (d_i, d_(i-1))"
            )
    from slth import nets   # the package's name, so that patching slth.nets.norm_tolerance reaches here

    for i, (w, s) in enumerate(zip(layers, spectral_norms(layers))):
        w = np.asarray(w)
        stored = _stored_dtype(w)
        tol = nets.norm_tolerance(w.shape, stored)
        if s > max_norm * (1 + tol):
            widened = f" (float32 values held as {w.dtype})" if stored != w.dtype else ""
            raise InputError(
                f"target layer {i} has spectral norm {float(s)!r} > {max_norm:g}, above it by more than the relative "
                f"tolerance {tol:.2g} that slth.nets.norm_tolerance allows a {stored} layer of shape {w.shape}"
                f"{widened} for rounding; outside the theorems' assumption ||W_i||_2 <= 1, rescale it explicitly "
                "(slth prune --rescale-target)"
            )


def _stored_dtype(w: np.ndarray) -> np.dtype:
    """The dtype whose rounding ``w``'s values carry: float32 for a wider array whose entries are all
    float32 values (a float32 layer widened on loading, e.g. by :func:`load_target`, or a ticket's
    target), else ``w``'s own dtype. A layer normalised to 1 in float64 and stored in float32 has norm
    1 + about 1e-8, so widening it must not tighten its slack to float64's."""
    w = np.asarray(w)
    if w.dtype.itemsize <= 4:
        return w.dtype
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32's range are not float32's
        narrow = w.astype(np.float32)
    return np.dtype(np.float32) if np.array_equal(narrow.astype(w.dtype), w) else w.dtype


def rescale(layers: Sequence, *, norm: float = 1.0, only_above: bool = False) -> tuple:
    """Rescale each layer by a positive factor to spectral norm ``norm``.

    With ``only_above`` only layers whose norm exceeds ``norm`` are scaled. Positive scaling of a
    ReLU network scales its output by the product of the factors and keeps every argmax.
    """
    out = []
    for w, s in zip(layers, spectral_norms(layers)):
        if s == 0 or (only_above and s <= norm):
            out.append(w)
        else:
            out.append(w * (norm / s))
    return tuple(out)


@precision.float64
def random_target(dims: Sequence[int], *, seed: int | None = None, key=None, distribution: str = "gaussian",
                  norm: float = 1.0, dtype=None) -> tuple:
    """A random target with widths ``dims``: i.i.d. entries of ``distribution``, each layer
    rescaled to spectral norm ``norm`` (default 1, the theorems' boundary case).

    Randomness: give exactly one of ``seed``, an integer in [0, 2**63) (slth's public convention, as
    in :class:`~slth.nets.RandomSpec`), or ``key``, a JAX key for a caller that already holds one;
    ``seed=s`` is ``key=jax.random.key(s)``, bit for bit.

    Precision: drawn with JAX's 64-bit mode on (:mod:`slth.precision`), so ``dtype=None`` samples in
    float64 whatever the caller's mode, and a seed gives the CLI's target (``slth prune --target-seed``)
    bit for bit; outside x64 the float64 layers come back as NumPy arrays."""
    dims = parse_dims(dims)
    if (seed is None) == (key is None):
        raise InputError(f"random_target takes exactly one of seed (an integer) and key (a JAX key); got "
                         f"{'neither' if seed is None else 'both'}")
    if key is None:
        key = jax.random.key(checks.seed("seed", seed))
    if not 0 < norm <= 1:
        raise InputError(f"target norm {norm} is outside (0, 1], the theorems' assumption")
    check_distribution(distribution)
    dtype = np.dtype(dtype or default_dtype())
    draw = _draw_layer if distribution in SAME_BITS_FUSED else sample
    keys = jax.random.split(key, len(dims) - 1)
    return rescale([draw(distribution, k, (dims[i + 1], dims[i]), dtype) for i, k in enumerate(keys)], norm=norm)


@quick_jit(static_argnums=(0, 2, 3))
def _draw_layer(distribution, key, shape, dtype):
    """``sample(distribution, key, shape, dtype)`` compiled with :mod:`slth.quick_jit`'s options (about half
    the compiling of JAX's own program for the draw, one program per shape, law and dtype), for the laws
    whose draw inside a program is ``sample``'s (:data:`~slth.nets.laws.SAME_BITS_FUSED`)."""
    return sample(distribution, key, shape, dtype)


def load_target(path: str | Path, *, rescale_to_unit: bool = False, biases: bool = False) -> tuple:
    """Load a target from an ``.npz`` with arrays ``target_0..target_{l-1}`` (the ticket format's
    names, so a ticket file is also a target file). Checks the assumptions; with
    ``rescale_to_unit`` a layer above norm 1 is scaled down to 1 instead of rejected. With ``biases`` the
    layers are [W_i | b_i] (:mod:`slth.nets.affine`; a ticket file of the ``biased`` layout is one), and
    ``rescale_to_unit`` scales W_i alone."""
    path = Path(path)
    not_zip = None
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
            if not head.startswith(b"PK"):   # a zip's first bytes: a text file is refused here, in one line
                not_zip = "a single .npy array" if head == b"\x93NUMPY" else "not a zip archive"
            else:
                fh.seek(0)
                with np.load(fh, allow_pickle=False) as z:
                    names = sorted((n for n in z.files if n.startswith("target_")), key=_layer_index)
                    layers = tuple(np.asarray(z[n]) for n in names)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
        raise InputError(f"target file {str(path)!r} is not a slth .npz file (a damaged zip archive: {e})") from None
    except ValueError as e:   # NumPy refusing a member of Python objects, or a malformed .npy header
        why = "an array of Python objects, which slth never unpickles" if "pickle" in str(e) else str(e)
        raise InputError(f"target file {str(path)!r} is not a slth .npz file of numeric arrays ({why})") from None
    except OSError as e:
        raise InputError(f"cannot read target file {str(path)!r}: {e.strerror or e}") from None
    if not_zip:
        raise InputError(f"target file {str(path)!r} is not a slth .npz file ({not_zip}); a target file is an .npz "
                         "(numpy.savez) of arrays target_0, target_1, ...")
    if not layers:
        raise InputError(f"target file {str(path)!r} has no arrays target_0, target_1, ...")
    expected = [f"target_{i}" for i in range(len(layers))]
    if names != expected:
        raise InputError(f"target file {str(path)!r} has arrays {names}; expected {expected}")
    for i, w in enumerate(layers):
        if w.ndim != 2:
            raise InputError(f"target file {str(path)!r}: target_{i} has shape {w.shape}; expected 2-D (out, in)")
    if rescale_to_unit:
        for i, w in enumerate(layers):
            if not np.all(np.isfinite(w)):
                raise InputError(f"target layer {i} has NaN or infinite entries; all must be finite")
        if biases:
            weights = rescale([w[:, :-1] for w in layers], only_above=True)
            layers = tuple(np.concatenate([w, m[:, -1:]], axis=1) for w, m in zip(weights, layers))
        else:
            layers = rescale(layers, only_above=True)
    check_target(layers, biases=biases)
    return tuple(np.asarray(w, np.float64) for w in layers)


def _layer_index(name: str) -> int:
    try:
        return int(name.split("_", 1)[1])
    except ValueError:
        return -1
