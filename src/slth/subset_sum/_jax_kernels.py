"""JAX float64 kernels mirroring `_numpy_kernels` operation for operation, and the sharded runner.

Used on accelerators and whenever the batch is sharded over several devices. They run with JAX's 64-bit
mode on (the engine's ``sharded=True`` call switches it on for itself, :mod:`slth.precision`): the
search must be float64 for the result to equal the brute-force optimum to round-off.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import AxisType, NamedSharding, PartitionSpec

from slth.subset_sum import _common


def _doubling_sums(x: jax.Array) -> jax.Array:
    s = jnp.zeros((x.shape[0], 1), x.dtype)
    for j in range(x.shape[1]):
        s = jnp.concatenate([s, s + x[:, j, None]], axis=1)
    return s


def _all_sums(x: jax.Array) -> jax.Array:
    k1 = x.shape[1] // 2
    lo = _doubling_sums(x[:, :k1])
    hi = _doubling_sums(x[:, k1:])
    return (hi[:, :, None] + lo[:, None, :]).reshape(x.shape[0], -1)


def _first_true(a: jax.Array) -> jax.Array:
    return jnp.argmax(a, axis=1).astype(jnp.int64)


@jax.jit
def _brute_force_indices(x: jax.Array, t: jax.Array) -> jax.Array:
    return jnp.argmin(jnp.abs(_all_sums(x) - t[:, None]), axis=1).astype(jnp.int64)


@jax.jit
def _mitm_indices(x: jax.Array, t: jax.Array) -> jax.Array:
    h = x.shape[1] // 2
    q = t[:, None] - _all_sums(x[:, :h])
    b = _all_sums(x[:, h:])
    q = lax.bitcast_convert_type(lax.bitcast_convert_type(q, jnp.int64) | 1, jnp.float64)
    b = lax.bitcast_convert_type(lax.bitcast_convert_type(b, jnp.int64) & ~1, jnp.float64)
    merged = jnp.sort(jnp.concatenate([q, b], axis=1), axis=1)
    label = lax.bitcast_convert_type(merged, jnp.int64) & 1
    gap = jnp.where(label[:, 1:] == label[:, :-1], jnp.inf, merged[:, 1:] - merged[:, :-1])
    k = jnp.argmin(gap, axis=1)[:, None]
    left = jnp.take_along_axis(merged, k, axis=1)
    right = jnp.take_along_axis(merged, k + 1, axis=1)
    left_is_q = jnp.take_along_axis(label, k, axis=1) == 1
    ia = _first_true(q == jnp.where(left_is_q, left, right))
    ib = _first_true(b == jnp.where(left_is_q, right, left))
    return ia | (ib << h)


def solve_indices(
    x: np.ndarray, t: np.ndarray, *, devices: list, memory_budget_bytes: int
) -> np.ndarray:
    """Subset indices for the compacted rows x (R, n), t (R,), batch axis sharded over ``devices``.

    Rows are processed in chunks of a fixed size per n (a multiple of the device count; the last chunk
    is padded with zero rows) so each (n, chunk) shape compiles once. Every row is solved independently,
    so the result does not depend on the number of devices.
    """
    rows, n = x.shape
    ndev = len(devices)
    sums = _common.sums_per_instance(n)
    if devices[0].platform == "cpu":
        per_device = _common.chunk_rows(sums, memory_budget_bytes // ndev)
    else:
        # Accelerators want large sorts (SUBSET_SUM.md: tiny segments run far below peak).
        per_device = max(1, memory_budget_bytes // (ndev * sums * _common._BYTES_PER_SUM))
    # Small buckets are padded to a power of two so that buckets of similar size share a compilation.
    per_device = min(per_device, 1 << max(0, math.ceil(math.log2(-(-rows // ndev)))))
    size = per_device * ndev
    # Auto axis: every operation is row-local, so the partitioner keeps the batch split without help.
    mesh = jax.make_mesh((ndev,), ("batch",), axis_types=(AxisType.Auto,), devices=devices)
    row_sharding = NamedSharding(mesh, PartitionSpec("batch", None))
    vec_sharding = NamedSharding(mesh, PartitionSpec("batch"))
    kernel = _brute_force_indices if n <= _common.BRUTE_FORCE_MAX_COUNT else _mitm_indices
    out = np.empty(rows, dtype=np.int64)
    for start in range(0, rows, size):
        stop = min(start + size, rows)
        xc = np.zeros((size, n))
        tc = np.zeros(size)
        xc[: stop - start] = x[start:stop]
        tc[: stop - start] = t[start:stop]
        idx = kernel(jax.device_put(xc, row_sharding), jax.device_put(tc, vec_sharding))
        out[start:stop] = np.asarray(idx)[: stop - start]
    return out
