"""Compiled CPU kernels (numba): the NumPy kernels' answers, bit for bit, without sorting.

`solve_indices` returns, for every row of ``x`` float64 (R, n) and ``t`` float64 (R,), the same int64
subset index as `_numpy_kernels.brute_force_indices` (n <= `BRUTE_FORCE_MAX_COUNT`) or
`_numpy_kernels.mitm_indices` (larger n), in parallel over rows (blocks of rows on Python threads; the
kernels release the GIL).

Meet in the middle, as NumPy defines it: the labelled values ``q' = t - a`` (lowest mantissa bit 1) and
``b'`` (lowest bit 0), with a, b NumPy's subset sums of the two halves (`_numpy_kernels.all_sums`, the
same additions in the same order here: `_numba_arith`), are merged in ascending order; the first
adjacent (q', b') pair with the smallest difference ``fl(larger - smaller)`` wins, then the smallest half
indices holding those two values. This kernel finds that pair without a sort:

- Closeness test by hashing. With a bucket width W, every q' goes into bucket ``round((q' - m) / W)``
  (m: the smallest value; ties to even) and marks that bucket and the next in a bit table indexed by bucket
  number modulo its size; every b' tests the one bucket ``round((b' - m) / W + 1/2)`` and, on a hit (rare),
  walks the hash chains of that bucket and the one before. Every pair with ``|q' - b'| <= 0.45 W`` is
  met (the bucket arithmetic is monotone, and its rounding stays below 2^-11 of a bucket because bucket
  numbers stay below 2^40), plus some farther ones. W comes from the normal approximation of the two
  sets of sums, so that about `_PAIRS` pairs lie within it; when no pair met lies within 0.45 W, W
  grows 16-fold and the pass is repeated.
- Few passes over the sums. A half's sums are hi + lo, the doubling sums of its two quarters; m and
  the extremes come from those, not from the sums: rounded addition and subtraction are monotone and
  so are the labels, so the largest b' is the label of max(hi) + max(lo), and so on. q' are written
  once, with their buckets; b' are never stored: each is computed, labelled and bucketed in one
  vectorized pass that writes its bucket, and the few b' that meet a marked bucket are computed again.
  (This replaced four passes over the sums and one more for the extremes: 1.13-1.17x the instances per
  second on one core, benchmarks/README.md.)
- Same answer as the sort. Subtraction is monotone, so the smallest difference D over all (q', b')
  pairs is attained by an adjacent pair, and every pair with difference D lies within 0.45 W, so the
  pass has met all of them. Among those, take the smallest lower end u and then the smallest upper end
  v; the values strictly between u and v all carry u's label (another label would make a pair with a
  smaller v), so NumPy's pair is v and the largest value of u's label below v that pairs with v at D.
  The smallest indices holding those two values are among the pairs met too.
- Rows the pass cannot settle cheaply (non-finite sums, many pairs tied at the minimum, long hash
  chains from repeated values, overlapping sets with no close pair) are returned unsettled and solved by
  `_numpy_kernels.mitm_indices` itself (`_settle`; a sort here cost 1.7 s of numba's compiling); sets that
  do not overlap are settled directly (their only adjacent pair is at the boundary).
- Brute force: the first smallest ``|s_m - t|`` in index order, as NumPy's ``argmin``.

Two drivers run rows in parallel: `solve_indices` (rows of one count, the engine's buckets) and
`solve_valid` (a whole batch of any counts in one pass, each row's valid slots gathered, its mask set and
its error computed as `_common.subset_error` does, with NumPy's pairwise sum transcribed).

One job: the compiled exact solve. The hashing pass, its fallback and the two drivers share the row
buffers and one tie rule, which is why they are one module. No ``parallel=True``: 3 s more to compile.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from slth import numba_runtime
from slth.subset_sum import _common, _numba_arith, _numpy_kernels
from slth.subset_sum._common import BRUTE_FORCE_MAX_COUNT, exact_bytes
from slth.subset_sum._numba_arith import all_sums, bits, doubling, from_bits, halves, pairwise_sum

# Compiled functions are cached on disk (numba's cache=True), so only the first process after an
# install pays the compilation (a few seconds), in slth's user cache folder; registered before the
# decorators below, which look the cache up.
numba_runtime.cache_in_slth_folder(__file__, reads=(_common.__file__, _numba_arith.__file__))
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# Expected number of (q', b') pairs within the bucket width W: large enough that a repeated pass is rare
# (no pair within 0.45 W has probability about exp(-0.9 * _PAIRS); measured 1 row in 1,000 at n = 21),
# small enough that few b' leave the fast loop.
_PAIRS = 8.0
# Bits of the occupancy table and slots of the hash table per q' value (powers of two). Each q' marks two
# bits, so about 2 nb / _BITS_PER_Q b' meet a bucket by hash collision alone; 64 to 512 bits measured
# within noise of each other at n = 16 to 28.
_BITS_PER_Q = 128
_SLOTS_PER_Q = 2
# Pairs tied at the smallest difference that the pass keeps; more go to the sort.
_TIED = 64
# Bucket indices stay below 2^40, which bounds their rounding error by 2^-11 of a bucket.
_MAX_BUCKETS = float(1 << 40)
_CAPTURE = 0.45
_RETRIES = 3
# Added to a bucket position in [0, 2^40] to round it to an integer held in the low mantissa bits.
_ROUND = float(1 << 52)


@numba.njit(**_JIT)
def _brute_force_row(x, t, lo, hi):
    """The first m with the smallest |s_m - t| (`_numpy_kernels.brute_force_indices`)."""
    n = x.shape[0]
    k1 = n // 2
    doubling(x, 0, k1, lo)
    doubling(x, k1, n - k1, hi)
    low = (1 << k1) - 1
    best = np.inf
    best_m = 0
    for m in range(1 << n):
        e = abs(hi[m >> k1] + lo[m & low] - t)
        if e < best:
            best = e
            best_m = m
    return best_m


@numba.njit(**_JIT)
def _first_equal(values, count, v):
    """First index i < count with values[i] == v, 0 when none (NumPy's argmax of an all-False mask)."""
    for i in range(count):
        if values[i] == v:
            return i
    return 0


@numba.njit(**_JIT)
def _b_label(v):
    """b' of a second-half sum: its lowest mantissa bit cleared."""
    return from_bits(bits(v) & ~np.int64(1))


@numba.njit(**_JIT)
def _closest_pairs(q, na, lo_b, hi_b, k1b, nb, low, inv_w, work, have_kq):
    """Hashing pass for one bucket width 1 / inv_w: the smallest |q' - b'| met, and the pairs at it.

    q' are q[:na]; b' number j is ``_b_label(hi_b[j >> k1b] + lo_b[j & ...])``, never stored: only its
    bucket is, and the few b' that meet a marked bucket are recomputed. ``have_kq``: work[3] already
    holds the q' buckets for this width. Returns (D, count): count = -1 when the chains were too long
    (repeated values); the first min(count, _TIED) pairs at D are in work[6] (q' indices), work[7]
    (b' indices) and work[8] (b' values).
    """
    bitmap, head, nxt, kq, kb, hits, tied_q, tied_b, tied_bv = work
    bit_mask = (bitmap.shape[0] - 1) * 64 - 1
    slot_mask = head.shape[0] - 1
    bitmap[:] = 0
    head[:] = -1
    # Bucket numbers rounded by adding 2^52 (positions are below 2^40: the sum's last place is 1), read
    # modulo the bit table's size (a multiple of the hash table's) from the sum's low bits.
    if not have_kq:
        for i in range(na):
            kq[i] = bits((q[i] - low) * inv_w + _ROUND) & bit_mask
    n_lo = 1 << k1b
    lo_mask = n_lo - 1
    for m_hi in range(nb >> k1b):
        v = hi_b[m_hi]
        dst = kb[m_hi * n_lo : (m_hi + 1) * n_lo]
        for m_lo in range(n_lo):
            dst[m_lo] = bits(((_b_label(v + lo_b[m_lo]) - low) * inv_w + 0.5) + _ROUND) & bit_mask
    # q' in bucket f = round(g) marks f and f + 1; b' looks at round(g + 0.5), which is one of them for
    # every q' within 0.45 of a bucket of it.
    for i in range(na):
        s = kq[i]
        shift = s & 63
        bitmap[s >> 6] |= np.int64(3) << shift
        if shift == 63:  # bit f + 1 starts the next word (the spare last word stands for word 0)
            bitmap[(s >> 6) + 1] |= 1
        h = s & slot_mask
        nxt[i] = head[h]
        head[h] = i
    bitmap[0] |= bitmap[bitmap.shape[0] - 1]
    count = 0
    for j in range(nb):
        s = kb[j]
        hits[count] = j
        count += (bitmap[s >> 6] >> (s & 63)) & 1
    best = np.inf
    tied = 0
    steps = 0
    for k in range(count):
        j = hits[k]
        bj = _b_label(hi_b[j >> k1b] + lo_b[j & lo_mask])
        f = kb[j]
        for slot in ((f - 1) & slot_mask, f & slot_mask):
            i = head[slot]
            while i >= 0:
                d = abs(q[i] - bj)
                if d <= best:
                    if d < best:
                        best = d
                        tied = 0
                    if tied < _TIED:
                        tied_q[tied] = i
                        tied_b[tied] = j
                        tied_bv[tied] = bj
                    tied += 1
                i = nxt[i]
                steps += 1
        if steps > 4 * (na + nb) + 1024:
            return best, -1
    return best, tied


@numba.njit(**_JIT)
def _resolve(q, tied_q, tied_b, tied_bv, count):
    """NumPy's (q index, b index) from all pairs tied at the smallest difference (module docstring):
    pair k is q[tied_q[k]] and the b' of index tied_b[k], value tied_bv[k]."""
    u = np.inf
    v = np.inf
    u_is_q = False
    for k in range(count):
        x = q[tied_q[k]]
        y = tied_bv[k]
        lower = min(x, y)
        upper = max(x, y)
        if lower < u or (lower == u and upper < v):
            u = lower
            v = upper
            u_is_q = x < y
    # NumPy's pair: v, and the largest value below v with u's label that pairs with v.
    other = -np.inf
    for k in range(count):
        x = q[tied_q[k]]
        y = tied_bv[k]
        if u_is_q and y == v and x < v:
            other = max(other, x)
        elif not u_is_q and x == v and y < v:
            other = max(other, y)
    q_value = other if u_is_q else v
    b_value = v if u_is_q else other
    ia = np.int64(1) << 62
    ib = np.int64(1) << 62
    for k in range(count):
        if q[tied_q[k]] == q_value:
            ia = min(ia, np.int64(tied_q[k]))
        if tied_bv[k] == b_value:
            ib = min(ib, np.int64(tied_b[k]))
    return ia, ib


@numba.njit(**_JIT)
def _mitm_row(x, t, q, b, quarters, work):
    """NumPy's (first-half index, second-half index) for one row by the hashing pass; (-1, -1) for a row it
    leaves unsettled (NumPy's kernel then solves it, `_settle`). ``quarters``: four buffers (lo and hi of
    each half); ``b`` is written only for sets that do not overlap."""
    lo, hi, lo_b, hi_b = quarters
    n = x.shape[0]
    h = n // 2
    na = 1 << h
    nb = 1 << (n - h)
    # The extremes of q' = t - a (lowest bit set) and b' (lowest bit cleared) from those of a and b:
    # subtraction and the labels are monotone.
    a_min, a_max = halves(x, 0, h, lo, hi)
    b_min, b_max = halves(x, h, n - h, lo_b, hi_b)
    q_min = from_bits(bits(t - a_max) | 1)
    q_max = from_bits(bits(t - a_min) | 1)
    b_min, b_max = _b_label(b_min), _b_label(b_max)
    low = min(q_min, b_min)
    span = max(q_max, b_max) - low
    finite = (np.isfinite(span) and np.isfinite(q_min) and np.isfinite(q_max) and np.isfinite(b_min)
              and np.isfinite(b_max))
    # Normal approximation of both sets of sums (each candidate kept with probability 1/2): the
    # density of q' - b' at 0 is exp(-mean^2 / 2 var) / sqrt(2 pi var).
    mean = t
    var = 0.0
    for j in range(n):
        mean -= 0.5 * x[j]
        var += 0.25 * x[j] * x[j]
    inv_w = np.inf
    if var > 0.0:
        density = math.exp(-min(0.5 * mean * mean / var, 30.0)) / math.sqrt(2.0 * math.pi * var)
        inv_w = float(na) * float(nb) * density / _PAIRS
    # At most a few q' per bucket on average, and bucket indices below 2^40.
    inv_w = max(inv_w, 0.25 * na / (q_max - q_min + 1e-300 * na))
    inv_w = min(inv_w, _MAX_BUCKETS / span)
    # q' = NumPy's t - (hi + lo) with its label, and its bucket for the first width, in one pass.
    kq = work[3]
    bit_mask = (work[0].shape[0] - 1) * 64 - 1
    k1 = h // 2
    n_lo = 1 << k1
    for m_hi in range(1 << (h - k1)):
        v = hi[m_hi]
        dst = q[m_hi * n_lo : (m_hi + 1) * n_lo]
        dk = kq[m_hi * n_lo : (m_hi + 1) * n_lo]
        for m_lo in range(n_lo):
            qv = from_bits(bits(t - (v + lo[m_lo])) | 1)
            dst[m_lo] = qv
            dk[m_lo] = bits((qv - low) * inv_w + _ROUND) & bit_mask
    if not finite:
        return -1, -1
    # Disjoint sets: the only adjacent (q', b') pair sits at the boundary.
    if q_min > b_max or q_max < b_min:
        all_sums(x, h, n - h, b, lo, hi)
        for j in range(nb):
            b[j] = _b_label(b[j])
        if q_min > b_max:
            return _first_equal(q, na, q_min), _first_equal(b, nb, b_max)
        return _first_equal(q, na, q_max), _first_equal(b, nb, b_min)
    have_kq = True
    for _ in range(_RETRIES):
        if not (inv_w > 0.0 and np.isfinite(inv_w)):
            break
        best, count = _closest_pairs(q, na, lo_b, hi_b, (n - h) // 2, nb, low, inv_w, work, have_kq)
        have_kq = False
        if count < 0 or count > _TIED:
            break
        if best * inv_w <= _CAPTURE:
            return _resolve(q, work[6], work[7], work[8], count)
        inv_w *= 1.0 / 16.0
    return -1, -1


#: Most slots per row `solve_valid` takes: the rows NumPy's pairwise sum adds as one block.
MAX_SLOTS = _numba_arith.PAIRWISE_BLOCK


@numba.njit(**_JIT)
def _solve_block(cand, valid, t, block, blocks, n_max, index, mask, error):
    """Rows block, block + blocks, ... of the batch: index over each row's valid slots (in slot order; -1
    for a row left unsettled, whose mask and error stay unset), mask over all slots, and the error."""
    rows, c = cand.shape
    h_max = n_max // 2
    na_max = 1 << h_max
    nb_max = 1 << (n_max - h_max)
    tab = 1 << ((n_max + 1) // 2)
    bits_max = min(na_max * _BITS_PER_Q, 1 << 31)
    x = np.empty(c)
    cols = np.empty(c, dtype=np.int64)
    picked = np.zeros(c)
    quarters = (np.empty(tab), np.empty(tab), np.empty(tab), np.empty(tab))  # lo and hi of each half
    lo, hi = quarters[0], quarters[1]
    q = np.empty(na_max)
    b = np.empty(nb_max)  # b' for sets that do not overlap
    bitmap = np.empty(bits_max // 64 + 1, dtype=np.int64)  # occupancy bits and a spare word
    head = np.empty(na_max * _SLOTS_PER_Q, dtype=np.int32)  # chain heads
    link = np.empty(na_max, dtype=np.int32)  # chain links
    q_bucket = np.empty(na_max, dtype=np.int64)  # buckets of q'
    b_bucket = np.empty(nb_max, dtype=np.int64)  # buckets of b'
    b_met = np.empty(nb_max, dtype=np.int32)  # b' that met a marked bucket
    tied_q = np.empty(_TIED, dtype=np.int32)  # tied pairs: q' index
    tied_b = np.empty(_TIED, dtype=np.int32)  # tied pairs: b' index
    tied_bv = np.empty(_TIED)  # tied pairs: b' value
    for r in range(block, rows, blocks):
        n = 0
        for j in range(c):
            if valid[r, j]:
                x[n] = cand[r, j]
                cols[n] = j
                n += 1
        m = np.int64(0)
        if 0 < n <= BRUTE_FORCE_MAX_COUNT:
            m = _brute_force_row(x[:n], t[r], lo, hi)
        elif n > BRUTE_FORCE_MAX_COUNT:
            h = n // 2
            na = 1 << h
            nb = 1 << (n - h)
            n_bits = min(na * _BITS_PER_Q, 1 << 31)
            work = (bitmap[: n_bits // 64 + 1], head[: na * _SLOTS_PER_Q], link[:na], q_bucket[:na],
                    b_bucket[:nb], b_met[:nb], tied_q, tied_b, tied_bv)
            ia, ib = _mitm_row(x[:n], t[r], q[:na], b[:nb], quarters, work)
            if ia < 0:
                index[r] = -1
                continue
            m = ia | (ib << h)
        index[r] = m
        for k in range(n):
            if (m >> k) & 1:
                mask[r, cols[k]] = True
                picked[cols[k]] = cand[r, cols[k]]
        error[r] = abs((0.0 + pairwise_sum(picked, c)) - t[r])
        for k in range(n):
            picked[cols[k]] = 0.0


def _solve_rows(cand, valid, t, blocks, n_max):
    """`_solve_block` for every block, the blocks dealt to numba's number of threads (Python threads: the
    kernel releases the GIL), then the unsettled rows by NumPy's kernel (`_settle`): (index, mask, error)."""
    rows, c = cand.shape
    index = np.zeros(rows, dtype=np.int64)
    mask = np.zeros((rows, c), dtype=np.bool_)
    error = np.empty(rows)
    args = (cand, valid, t)
    with numba_runtime.one_call():
        numba_runtime.compiled(_solve_block, *args, 0, blocks, n_max, index, mask, error)
        numba_runtime.spread(lambda block: _solve_block(*args, block, blocks, n_max, index, mask, error), blocks)
    _settle(cand, valid, t, index, mask, error, blocks, n_max)
    return index, mask, error


def _settle(cand, valid, t, index, mask, error, blocks, n_max) -> None:
    """Solve the rows `_solve_block` left unsettled (index -1) with `_numpy_kernels.mitm_indices`, the
    definition the kernel follows, and set their index, mask and error (`_common.subset_error`, which the
    kernel's error transcribes), in chunks whose workspace is at most the blocks' buffers. Sums that
    overflow give no warning, as in the kernel."""
    todo = np.flatnonzero(index < 0)
    cand, valid, t = np.asarray(cand), np.asarray(valid), np.asarray(t)
    with np.errstate(over="ignore", invalid="ignore"):
        for n, rows, cols in _common.buckets(valid[todo]):
            rows = todo[rows]
            x = np.take_along_axis(cand[rows], cols, axis=1)
            chunk = _common.chunk_rows(_common.sums_per_instance(n), blocks * exact_bytes(n_max))
            work = _numpy_kernels.MitmWorkspace(min(chunk, rows.size), n)
            for start in range(0, rows.size, chunk):
                part = rows[start:start + chunk]
                index[part] = _numpy_kernels.mitm_indices(x[start:start + chunk], t[part], work)
            mask[rows[:, None], cols] = _common.bits_to_mask(index[rows], n)
        error[todo] = _common.subset_error(cand[todo], t[todo], mask[todo])


def _blocks(rows: int) -> int:
    threads = numba_runtime.threads()
    return min(rows, max(threads, min(4 * threads, rows // 16)))


def _readonly(a: np.ndarray, dtype) -> np.ndarray:
    """``a`` as a C-contiguous array of ``dtype`` seen through a read-only view (no copy where it already is
    one). numba compiles a kernel once per signature, and writability is part of it: NumPy views of JAX
    arrays are read-only, fresh arrays are not, and every mix cost a compilation of `_solve_block` (about 6 s
    on 2 cores, each the first time on a machine). Read-only everywhere, one signature serves both drivers."""
    view = np.ascontiguousarray(a, dtype=dtype).view()
    view.flags.writeable = False
    return view


def solve_indices(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Subset indices (R,) int64 for rows x (R, n) float64 and targets t (R,): see the module docstring.

    Rows are dealt to blocks, one to four per thread; each block reuses one set of buffers (about 40
    bytes per subset sum of one row, within the engine's figure `_common.exact_bytes`; the rows NumPy
    settles take chunks of at most the blocks' total), so memory grows with the threads, not with R. A
    block gets at least 16 rows where there are enough: fresh buffers cost page faults, which measured
    several times the work of a row at n = 31 when every row had its own block.
    """
    rows, n = x.shape
    if rows == 0:
        return np.empty(0, dtype=np.int64)
    args = (_readonly(x, np.float64), _readonly(np.ones(x.shape, dtype=np.bool_), np.bool_),
            _readonly(t, np.float64), _blocks(rows), n)
    return _solve_rows(*args)[0]


def solve_valid(cand: np.ndarray, valid: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The engine's exact answer for rows of any valid counts at once: (mask (B, c) bool, error (B,)).

    Row by row: its valid slots in slot order are the x of `solve_indices` (the same index, so the
    same subset as the NumPy path's buckets), the mask sets the chosen slots, and the error is
    `_common.subset_error`'s: ``|(0.0 + NumPy's pairwise sum of the row with unchosen slots 0) - t|``.
    No bucketing, gathering or scattering in NumPy; each block holds buffers for the largest count
    (`_common.exact_bytes` of it), which the caller checks against its memory budget (`block_bytes`).
    ``cand`` must be finite where ``valid``; other slots are never read; at most `MAX_SLOTS` slots.
    """
    rows, c = cand.shape
    if c > MAX_SLOTS:
        raise ValueError(f"solve_valid takes at most {MAX_SLOTS} slots per row; got {c}")
    if rows == 0:
        return np.zeros((0, c), dtype=bool), np.empty(0)
    cand, valid, t = _readonly(cand, np.float64), _readonly(valid, np.bool_), _readonly(t, np.float64)
    n_max = int(valid.sum(axis=1).max())
    args = (cand, valid, t, _blocks(rows), n_max)
    _, mask, error = _solve_rows(*args)
    return mask, error


def block_bytes(n_max: int, rows: int) -> int:
    """Memory of `solve_valid`'s buffers for rows of at most ``n_max`` valid slots (all blocks)."""
    return _blocks(max(rows, 1)) * exact_bytes(n_max)
