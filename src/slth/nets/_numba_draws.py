"""The uniform law's layer pairs drawn on the CPU by a numba kernel: the bits of JAX's threefry, without XLA.

:func:`slth.nets.layouts.pairs.pair_layers` draws unit r of block j of pair i from the two halves of
``split(fold_in(fold_in(fold_in(root, i), j), r))``. With JAX's partitionable threefry (on by default since
JAX 0.5) every step is the Threefry-2x32 hash (20 rounds; Salmon et al. 2011, "Parallel random numbers: as
easy as 1, 2, 3") of a key and a 64-bit counter (hi, lo): ``fold_in(k, d)`` is hash(k, (0, d)), the halves
of ``split(k)`` are hash(k, (0, 0)) and hash(k, (0, 1)), and entry e of a draw of shape (m,) from k comes
from hash(k, (0, e)). ``jax.random.uniform(k, (m,), dtype, -1, 1)`` keeps the top mantissa bits of the
hash's 64 bits hi·2^32 + lo (float64) or of hi XOR lo (float32) as a float f in [1, 2) and returns
max(-1, (f - 1)·2 - 1), which is exact in either precision.

The numba kernel (:mod:`slth.nets._threefry`) computes exactly that, the 20 rounds in one loop over the
entries that LLVM vectorizes, on numba's threads. It draws the same bits as the XLA program
(tests/test_draws_numba.py compares every entry for both dtypes, both sign rules, several layouts and
seeds beyond 2^32) without compiling one (0.7 s of a first command's XLA compiling on the 784-500-10
network) and faster once compiled (benchmarks/README.md, ``benchmarks/draws.py``). Small pairs, other
laws, other devices, and a process whose PRNG is not the partitionable threefry keep XLA's draw
(:func:`available`).
"""

from __future__ import annotations

import importlib.util

import jax
import numpy as np

#: numba installed (the "numba" extra); without it XLA draws every law. The kernels (:mod:`slth.nets._threefry`)
#: are imported only when a pair is drawn here, so importing slth does not import numba.
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
#: Laws this module draws; every other law is drawn by XLA.
LAWS = ("uniform",)


#: Smallest pair (entries of its two matrices) numba draws. A smaller one is XLA's: its draw programs are
#: shared by nearby widths (``slth.nets.layouts.pairs.BUCKET_ENTRIES``, the same 2^22) and kept in the
#: compilation cache, and cost less than numba's start, about 0.3 s once per process (its runtime and the
#: kernel read back from its cache; ``benchmarks/draws.py --smoke``: 0.60 s against XLA's 0.46 s compiling
#: a tiny network). A process that solves subset sums pays that start anyway.
FROM_ENTRIES = 2 ** 22


def available(root, distribution: str, dtype, entries: int) -> bool:
    """Whether :func:`pair_layers` draws this pair of ``entries`` entries: numba installed, at least
    :data:`FROM_ENTRIES` entries, JAX's default device the CPU, ``root`` a threefry key with the
    partitionable counters, and the uniform law in float64 or float32."""
    return (HAVE_NUMBA and entries >= FROM_ENTRIES and distribution in LAWS
            and np.dtype(dtype) in (np.float64, np.float32)
            and jax.default_backend() == "cpu" and bool(jax.config.jax_threefry_partitionable)
            and str(jax.random.key_impl(root)) == "threefry2x32")


def pair_layers(root, i: int, d_in: int, d_out: int, units: int, dtype, positive: bool):
    """M_{2i-1} (n, d_in) and M_{2i} (d_out, n), n = d_in·units, of the uniform law as JAX arrays on the
    CPU (wrapping the kernel's NumPy output, not copied):
    unit r of block j is row j·units + r of M_{2i-1} (its absolute values where ``positive``) and column
    j·units + r of M_{2i}, the bits :func:`slth.nets.layouts.pairs.pair_layers` draws with XLA. Call it
    where :func:`available` says so."""
    from slth import numba_runtime
    from slth.nets import _threefry

    k0, k1 = (np.uint32(w) for w in np.asarray(jax.random.key_data(root)))
    n = d_in * units
    rows, cols_t = _aligned((n, d_in), dtype), _aligned((d_out, n), dtype)
    args = (k0, k1, np.int64(i), np.int64(units), rows, cols_t, bool(positive))
    parts = min(n, 4 * numba_runtime.threads())          # contiguous ranges of units, dealt to the threads

    def draw(k: int) -> None:
        _threefry.units(*args, np.int64(k * n // parts), np.int64((k + 1) * n // parts))

    with numba_runtime.one_call():
        numba_runtime.compiled(_threefry.units, *args, np.int64(0), np.int64(n))
        numba_runtime.spread(draw, parts)
    return jax.device_put(rows), jax.device_put(cols_t)


#: Alignment in bytes at which JAX's CPU client adopts a NumPy array's memory instead of copying it.
ALIGN = 64


def _aligned(shape, dtype) -> np.ndarray:
    """An uninitialized C-ordered array whose data start at a multiple of :data:`ALIGN` bytes, so that
    ``jax.device_put`` wraps it without a copy (NumPy's own allocations are 16-byte aligned)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + ALIGN, np.uint8)
    skip = -raw.ctypes.data % ALIGN
    return raw[skip:skip + size].view(dtype).reshape(shape)
