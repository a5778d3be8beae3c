"""Target and random ReLU networks: weight laws, the 2l-deep block layout, forward passes, checks.

Conventions (THEORY §1): a network is a tuple of weight matrices of shape (out, in); the maths uses
column vectors, the code takes a batch of row vectors ``x`` of shape (batch, d_0) and returns
(batch, d_L). f(x) = W_l σ(W_{l-1} ··· σ(W_1 x)), σ = ReLU after every layer but the last, no biases.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from slth.errors import InputError

#: Slack allowed above a spectral norm of 1: the round-off of rescaling a layer to norm exactly 1.
SPECTRAL_NORM_TOL = 1e-12


# --------------------------------------------------------------------------- weight laws

def _uniform(key, shape, dtype):
    return jax.random.uniform(key, shape, dtype, minval=-1.0, maxval=1.0)


def _gaussian(key, shape, dtype):
    return jax.random.normal(key, shape, dtype)


def _binary(key, shape, dtype):
    return jax.random.rademacher(key, shape, dtype)


#: Lower end γ of the hyperbolic law's range [γ, 1]. Every octave [2^-k-1, 2^-k] of that range has
#: the same probability 1/log2(1/γ); 2^-12 reaches far below the smallest ε the sweeps ask for.
HYPERBOLIC_GAMMA = 2.0 ** -12


def _hyperbolic(key, shape, dtype):
    k_mag, k_sign = jax.random.split(key)
    magnitude = HYPERBOLIC_GAMMA ** jax.random.uniform(k_mag, shape, dtype)  # density ∝ 1/|w| on [γ, 1]
    return jax.random.rademacher(k_sign, shape, dtype) * magnitude


#: Named i.i.d. entry laws. ``uniform`` is U[-1,1] (the papers' default), ``gaussian`` N(0,1),
#: ``binary`` uniform on {-1, +1} (Diffenderfer & Kailkhura 2021), ``hyperbolic`` a random sign times
#: a magnitude of density ∝ 1/|w| on [γ, 1], γ = :data:`HYPERBOLIC_GAMMA` (Orseau et al. 2020).
DISTRIBUTIONS: dict[str, Callable] = {
    "uniform": _uniform,
    "gaussian": _gaussian,
    "binary": _binary,
    "hyperbolic": _hyperbolic,
}


def check_distribution(name: str) -> str:
    if name not in DISTRIBUTIONS:
        raise InputError(f"unknown distribution {name!r}; allowed: {', '.join(DISTRIBUTIONS)}")
    return name


def default_dtype():
    """The float dtype JAX uses now: float64 when ``jax_enable_x64`` is on, else float32."""
    return jnp.float64 if jax.config.jax_enable_x64 else jnp.float32


def sample(name: str, key, shape, dtype=None):
    """Draw i.i.d. entries of law ``name`` (see :data:`DISTRIBUTIONS`) with ``key``."""
    return DISTRIBUTIONS[check_distribution(name)](key, shape, dtype or default_dtype())


# --------------------------------------------------------------------------- dims

def parse_dims(text: str | Sequence[int]) -> tuple[int, ...]:
    """Parse ``"8,16,16,4"`` (or a sequence) into widths d_0..d_l; at least two, all positive."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",")]
        try:
            dims = tuple(int(p) for p in parts)
        except ValueError:
            raise InputError(
                f"--dims {text!r} does not parse: expected comma-separated positive integers "
                "d_0,...,d_l such as 8,16,16,4"
            ) from None
    else:
        dims = tuple(int(d) for d in text)
    if len(dims) < 2:
        raise InputError(f"dims {dims} needs at least two widths (input and output), e.g. 8,4")
    bad = [d for d in dims if d < 1]
    if bad:
        raise InputError(f"dims {dims} has non-positive widths {bad}; every width must be >= 1")
    return dims


def dims_of(layers: Sequence) -> tuple[int, ...]:
    """Widths d_0..d_l of a chain of (out, in) matrices."""
    return (int(layers[0].shape[1]),) + tuple(int(w.shape[0]) for w in layers)


# --------------------------------------------------------------------------- forward pass

def forward(layers: Sequence, x):
    """Evaluate the ReLU network on a batch ``x`` of shape (batch, d_0); returns (batch, d_L)."""
    h = x
    for k, w in enumerate(layers):
        h = h @ w.T
        if k < len(layers) - 1:
            h = jax.nn.relu(h)
    return h


# --------------------------------------------------------------------------- targets

def spectral_norms(layers: Sequence) -> np.ndarray:
    """Spectral norm ‖W_i‖_2 of each layer, computed in float64 with numpy."""
    return np.array([np.linalg.norm(np.asarray(w, np.float64), 2) for w in layers])


def check_target(layers: Sequence, *, max_norm: float = 1.0) -> None:
    """Check the theorems' assumptions on a target: a chain of finite 2-D layers, ‖W_i‖_2 <= 1.

    Raises:
      InputError: naming the first violated assumption, the layer and its value.
    """
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
    for i, s in enumerate(spectral_norms(layers)):
        if s > max_norm + SPECTRAL_NORM_TOL:
            raise InputError(
                f"target layer {i} has spectral norm {s:.6g} > {max_norm:g}, outside the theorems' "
                "assumption ||W_i||_2 <= 1; rescale it explicitly (slth prune --rescale-target)"
            )


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


def random_target(dims: Sequence[int], *, key, distribution: str = "gaussian", norm: float = 1.0,
                  dtype=None) -> tuple:
    """A random target with widths ``dims``: i.i.d. entries of ``distribution``, each layer
    rescaled to spectral norm ``norm`` (default 1, the theorems' boundary case)."""
    dims = parse_dims(dims)
    if not 0 < norm <= 1:
        raise InputError(f"target norm {norm} is outside (0, 1], the theorems' assumption")
    keys = jax.random.split(key, len(dims) - 1)
    layers = [sample(distribution, k, (dims[i + 1], dims[i]), dtype) for i, k in enumerate(keys)]
    return rescale(layers, norm=norm)


def load_target(path: str | Path, *, rescale_to_unit: bool = False) -> tuple:
    """Load a target from an ``.npz`` with arrays ``target_0..target_{l-1}`` (the ticket format's
    names, so a ticket file is also a target file). Checks the assumptions; with
    ``rescale_to_unit`` a layer above norm 1 is scaled down to 1 instead of rejected."""
    path = Path(path)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            names = sorted((n for n in z.files if n.startswith("target_")), key=_layer_index)
            layers = tuple(np.asarray(z[n]) for n in names)
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"cannot read target file {str(path)!r}: {e}") from None
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
        layers = rescale(layers, only_above=True)
    check_target(layers)
    return tuple(np.asarray(w, np.float64) for w in layers)


def _layer_index(name: str) -> int:
    try:
        return int(name.split("_", 1)[1])
    except ValueError:
        return -1


# --------------------------------------------------------------------------- random networks

@dataclasses.dataclass(frozen=True)
class RandomSpec:
    """Everything needed to regenerate a random 2l-deep network bit for bit.

    Layer pair i (1-based) realises target layer i: M_{2i-1} has shape (h_i, d_{i-1}) and M_{2i}
    has shape (d_i, h_i). Its hidden units come in d_{i-1} blocks of ``units_per_block(i)`` units;
    block j's units are the candidates for input j (THEORY §2). Every hidden unit r of block j of
    pair i draws its incoming row and its outgoing column from the two halves of
    ``split(fold_in(fold_in(fold_in(key(seed), i), j), r))``, so a wider network (larger ``candidates``)
    extends a narrower one: nested candidate prefixes from one stream per block.

    Attributes:
      dims: target widths d_0..d_l.
      candidates: c, candidates per block and sign (each block has 2c units, about c per sign).
      seed: integer seed of the random network.
      distribution: entry law, a key of :data:`DISTRIBUTIONS`.
      drop_negative: for pairs i >= 2 the negative candidates are useless (their input is a ReLU
        output); with this flag those blocks hold c units whose first-layer weights are drawn as
        |D|, halving the inner widths. Off by default so the papers' widths are reproduced.
      dtype: "float64" or "float32".
    """

    dims: tuple[int, ...]
    candidates: int
    seed: int
    distribution: str = "uniform"
    drop_negative: bool = False
    dtype: str = "float64"

    def __post_init__(self):
        object.__setattr__(self, "dims", parse_dims(self.dims))
        if isinstance(self.candidates, bool) or not isinstance(self.candidates, (int, np.integer)) \
                or self.candidates < 1:
            raise InputError(f"candidates {self.candidates!r} must be a positive integer")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) \
                or not 0 <= self.seed < 2**63:
            raise InputError(f"seed {self.seed!r} must be an integer in [0, 2**63)")
        check_distribution(self.distribution)
        if self.dtype not in ("float64", "float32"):
            raise InputError(f"dtype {self.dtype!r} must be 'float64' or 'float32'")
        object.__setattr__(self, "candidates", int(self.candidates))
        object.__setattr__(self, "seed", int(self.seed))

    @property
    def depth(self) -> int:
        """Target depth l."""
        return len(self.dims) - 1

    def units_per_block(self, i: int) -> int:
        """Hidden units per block of pair i (1-based)."""
        return self.candidates if (self.drop_negative and i >= 2) else 2 * self.candidates

    def hidden_widths(self) -> tuple[int, ...]:
        """h_1..h_l."""
        return tuple(self.dims[i - 1] * self.units_per_block(i) for i in range(1, self.depth + 1))

    def widths(self) -> tuple[int, ...]:
        """Widths of the 2l-deep random network: d_0, h_1, d_1, h_2, ..., h_l, d_l."""
        out = [self.dims[0]]
        for i, h in enumerate(self.hidden_widths(), start=1):
            out += [h, self.dims[i]]
        return tuple(out)

    def shapes(self) -> tuple[tuple[int, int], ...]:
        w = self.widths()
        return tuple((w[k + 1], w[k]) for k in range(len(w) - 1))

    def random_params(self) -> int:
        return sum(a * b for a, b in self.shapes())

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["dims"] = list(self.dims)
        return d


def random_network(spec: RandomSpec) -> tuple:
    """Generate the 2l random matrices M_1..M_{2l} of ``spec`` (i.i.d. entries, see RandomSpec)."""
    if spec.dtype == "float64" and not jax.config.jax_enable_x64:
        raise InputError("a float64 random network needs jax_enable_x64 (set JAX_ENABLE_X64=1)")
    dtype = jnp.dtype(spec.dtype)
    root = jax.random.key(spec.seed)
    layers = []
    for i in range(1, spec.depth + 1):
        d_in, d_out, u = spec.dims[i - 1], spec.dims[i], spec.units_per_block(i)
        positive = spec.drop_negative and i >= 2
        first, second = _pair(root, i, d_in, d_out, u, spec.distribution, dtype, positive)
        layers += [first, second]
    return tuple(layers)


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6, 7))
def _pair(root, i, d_in, d_out, units, distribution, dtype, positive):
    law = DISTRIBUTIONS[distribution]
    pair_key = jax.random.fold_in(root, i)

    def unit(j, r):
        k_in, k_out = jax.random.split(jax.random.fold_in(jax.random.fold_in(pair_key, j), r))
        row = law(k_in, (d_in,), dtype)
        return (jnp.abs(row) if positive else row), law(k_out, (d_out,), dtype)

    js = jnp.repeat(jnp.arange(d_in), units)
    rs = jnp.tile(jnp.arange(units), d_in)
    rows, cols = jax.vmap(unit)(js, rs)
    return rows, cols.T


def block_inputs(spec: RandomSpec, i: int) -> np.ndarray:
    """For pair i (1-based), the input index j served by each hidden unit (its block)."""
    return np.repeat(np.arange(spec.dims[i - 1]), spec.units_per_block(i))


def spec_from_json(d: dict) -> RandomSpec:
    fields = {f.name for f in dataclasses.fields(RandomSpec)}
    unknown = set(d) - fields
    if unknown:
        raise InputError(f"random network spec has unknown keys {sorted(unknown)}; allowed: {sorted(fields)}")
    missing = {"dims", "candidates", "seed"} - set(d)
    if missing:
        raise InputError(f"random network spec lacks {sorted(missing)}")
    return RandomSpec(**{**d, "dims": tuple(d["dims"])})
