"""Threefry-2x32 and the uniform law's layer pairs compiled by numba: the kernels of :mod:`slth.nets._numba_draws`.

Imported only where a pair is drawn by numba; :mod:`slth.nets._numba_draws` says what is computed and why it
gives JAX's bits.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

from slth import numba_runtime

# compiled once per install, in slth's cache folder (numba_runtime); registered before the decorators
numba_runtime.cache_in_slth_folder(__file__)
_JIT = {"cache": True, "nogil": True}

#: Entries hashed per pass into a thread's scratch words (two 1 KiB arrays, in L1 with the floats after them).
BLOCK = 256
#: Units whose columns are written to M_{2i} together, transposed: UNITS entries of a row at a time.
UNITS = 64

u32 = np.uint32

#: Threefry-2x32's rotations: rounds 1-4 of every eight, then rounds 5-8.
ROTATIONS = np.array([13, 15, 26, 6, 17, 29, 16, 24], np.uint32)


@numba.njit(**_JIT)
def _hash(k0, k1, start, x0, x1):
    """x0[e], x1[e] = Threefry-2x32 of key (k0, k1) and counter (0, start + e), for e < len(x0): 20 rounds
    in five groups of four, each group followed by the injection of the next key of the schedule
    (k0, k1, k0 ^ k1 ^ 0x1BD11BDA) and the group's number. LLVM unrolls the constant loops and vectorizes
    the loop over entries."""
    keys = (k0, k1, u32(k0 ^ k1 ^ u32(0x1BD11BDA)))
    for e in range(x0.shape[0]):
        a = k0
        b = u32(u32(start + e) + k1)
        for group in range(5):
            for q in range(4):
                r = ROTATIONS[4 * (group % 2) + q]
                a = u32(a + b)
                b = u32(u32(u32(b << r) | u32(b >> u32(u32(32) - r))) ^ a)
            a = u32(a + keys[(group + 1) % 3])
            b = u32(b + u32(keys[(group + 2) % 3] + u32(group + 1)))
        x0[e] = a
        x1[e] = b


@numba.njit(**_JIT)
def _key(k0, k1, d, x0, x1):
    """fold_in((k0, k1), d): the key hash((k0, k1), (0, d)), through the scratch words x0, x1."""
    _hash(k0, k1, d, x0[:1], x1[:1])
    return x0[0], x1[0]


def _fill(k0, k1, out, x0, x1):
    """out[:] = uniform((k0, k1), (len(out),), out.dtype, -1, 1), through the scratch words x0, x1. Inside
    numba code only, where :func:`_fill_typed` supplies the implementation for out's dtype."""
    raise TypeError("_fill runs inside numba-compiled code only")


@overload(_fill, jit_options=_JIT)
def _fill_typed(k0, k1, out, x0, x1):
    """:func:`_fill` for a float64 or float32 ``out``: the hash words are composed into its own bits (the
    mantissa of a float in [1, 2)), which are then read as floats and mapped to [-1, 1)."""
    if out.dtype == types.float64:
        def words(out):
            return out.view(np.uint64)

        def compose(a, b):
            return ((np.uint64(a) << np.uint64(32)) | np.uint64(b)) >> np.uint64(12) | np.uint64(0x3FF0000000000000)
    elif out.dtype == types.float32:
        def words(out):
            return out.view(np.uint32)

        def compose(a, b):
            return u32(u32(a ^ b) >> u32(9)) | u32(0x3F800000)
    else:
        return None
    words, compose = numba.njit(words), numba.njit(compose)

    def impl(k0, k1, out, x0, x1):
        bits = words(out)
        for start in range(0, out.shape[0], BLOCK):
            m = min(BLOCK, out.shape[0] - start)
            _hash(k0, k1, np.int64(start), x0[:m], x1[:m])
            for e in range(m):
                bits[start + e] = compose(x0[e], x1[e])
            for e in range(start, start + m):
                out[e] = max(-1.0, (out[e] - 1.0) * 2.0 - 1.0)      # exact in float32 and float64
    return impl


@numba.njit(**_JIT)
def units(root0, root1, i, per_block, rows, cols_t, positive, first, last):
    """Rows of M_{2i-1} and columns of M_{2i} of the units first..last - 1, ``per_block`` units per block
    (:func:`slth.nets._numba_draws.pair_layers`); the columns UNITS units at a time."""
    d_out = cols_t.shape[0]
    x0, x1 = np.empty(BLOCK, np.uint32), np.empty(BLOCK, np.uint32)
    cols = np.empty((UNITS, d_out), rows.dtype)
    p0, p1 = _key(root0, root1, i, x0, x1)
    for lo in range(first, last, UNITS):
        hi = min(last, lo + UNITS)
        for u in range(lo, hi):
            b0, b1 = _key(p0, p1, np.int64(u // per_block), x0, x1)
            b0, b1 = _key(b0, b1, np.int64(u % per_block), x0, x1)
            _hash(b0, b1, np.int64(0), x0[:2], x1[:2])          # split: the row's key, then the column's
            c0, c1 = x0[1], x1[1]
            _fill(x0[0], x1[0], rows[u], x0, x1)
            if positive:
                for e in range(rows.shape[1]):
                    rows[u, e] = abs(rows[u, e])
            _fill(c0, c1, cols[u - lo], x0, x1)
        for e in range(d_out):
            for u in range(lo, hi):
                cols_t[e, u] = cols[u - lo, e]
