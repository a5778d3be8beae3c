"""NumPy's float64 arithmetic of the exact solve, transcribed for numba kernels bit for bit.

- Subset sums: `doubling` and `all_sums` perform `_numpy_kernels.doubling_sums` and
  `_numpy_kernels.all_sums`'s additions in the same order; `halves` also gives the smallest and largest
  of those sums without enumerating them.
- Row sums: `pairwise_sum` is NumPy's float64 ``pairwise_sum`` for rows of up to `PAIRWISE_BLOCK`
  values, so a row's error is `_common.subset_error`'s.
- Bit casts: `bits` and `from_bits` read the same 64 bits as the other type (LLVM's ``bitcast``: no
  instruction, and loops around them vectorize). numba has no scalar cast (NumPy's ``.view`` takes
  arrays), and without one every label or bucket read from a float's bits costs a pass through an array.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from slth import numba_runtime

numba_runtime.cache_in_slth_folder(__file__)
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

#: Longest row `pairwise_sum` takes: NumPy sums up to 128 values as one block.
PAIRWISE_BLOCK = 128


@intrinsic
def bits(typingctx, x):
    """The bit pattern of float64 ``x`` as an int64 (inside numba code only)."""
    if not (isinstance(x, types.Float) and x.bitwidth == 64):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def from_bits(typingctx, x):
    """The float64 whose bit pattern is the 64-bit integer ``x`` (inside numba code only)."""
    if not (isinstance(x, types.Integer) and x.bitwidth == 64):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(x), codegen


@numba.njit(**_JIT)
def doubling(x, start, k, out):
    """out[:2^k] = all subset sums of x[start:start+k] by doubling, as `_numpy_kernels.doubling_sums`."""
    # Loops over slices index from 0, which lets LLVM drop numba's negative-index wraparound and
    # vectorize (measured 2.7x faster than indexing out[size + m]).
    out[0] = 0.0
    for j in range(k):
        size = 1 << j
        xj = x[start + j]
        dst = out[size : 2 * size]
        for m in range(size):
            dst[m] = out[m] + xj


@numba.njit(**_JIT)
def all_sums(x, start, k, out, lo, hi):
    """out[:2^k] = NumPy's subset sums of x[start:start+k] (`_numpy_kernels.all_sums`): sum m is
    hi[m >> k//2] + lo[m & (2^(k//2) - 1)], hi and lo the doubling sums of the two quarters."""
    k1 = k // 2
    doubling(x, start, k1, lo)
    doubling(x, start + k1, k - k1, hi)
    nlo = 1 << k1
    low_sums = lo[:nlo]
    for m_hi in range(1 << (k - k1)):
        v = hi[m_hi]
        dst = out[m_hi * nlo : (m_hi + 1) * nlo]
        for m_lo in range(nlo):
            dst[m_lo] = v + low_sums[m_lo]


@numba.njit(**_JIT)
def halves(x, start, k, lo, hi):
    """lo and hi of `all_sums` (no sums written), and the smallest and largest of its sums: min(hi) +
    min(lo) and max(hi) + max(lo), because rounded addition is monotone in each operand."""
    k1 = k // 2
    doubling(x, start, k1, lo)
    doubling(x, start + k1, k - k1, hi)
    lo_min = lo_max = hi_min = hi_max = 0.0
    for m in range(1 << k1):
        lo_min = min(lo_min, lo[m])
        lo_max = max(lo_max, lo[m])
    for m in range(1 << (k - k1)):
        hi_min = min(hi_min, hi[m])
        hi_max = max(hi_max, hi[m])
    return hi_min + lo_min, hi_max + lo_max


@numba.njit(**_JIT)
def pairwise_sum(a, n):
    """NumPy's pairwise sum of a[:n] for n <= `PAIRWISE_BLOCK` (its float64 ``pairwise_sum``: eight
    partial sums, then the rest in order)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    stop = n - n % 8
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res
