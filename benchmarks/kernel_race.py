"""Side-by-side race of the CPU subset-sum kernels on one thread: NumPy, the old numba merge, the new one.

    python benchmarks/kernel_race.py --out benchmarks/out/kernel_race.json
    python benchmarks/kernel_race.py --smoke

Every kernel solves the same rows in the same process, one thread each (``numba.set_num_threads(1)``;
NumPy runs `_numpy_kernels.mitm_indices` chunk by chunk in the calling thread, with the engine's chunk
size and one reused workspace, as one worker of `engine._numpy_indices` does), and every answer is
checked against NumPy's bit for bit. Rows: n uniform[-1, 1] candidates and uniform[-1, 1] targets per
size, and "binomial" rows of 2c slots with a Binomial(2c, 1/2) number of valid candidates (the
construction's workload), bucketed by count as the engine does. Instances per second are the best of
``--repeats`` timed calls after a warm-up call (which pays numba's compilation or cache load).

The old kernel (Horowitz and Sahni's merge with an insertion fix-up and a two-pointer walk, the numba
kernel before the hashing pass) is kept below for this comparison only.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numba
import numpy as np

from slth import checks
from slth.subset_sum import _common, _numba_kernels, _numpy_kernels

import _machine  # noqa: E402  (benchmarks/, the script's folder)

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# --- the old numba kernel (verbatim logic; see the module docstring) ---------------------------------

_BRUTE = _common.BRUTE_FORCE_MAX_COUNT


@numba.njit(**_JIT)
def _old_doubling(x, start, k, out):
    """out[:2^k] = all subset sums of x[start:start+k] by doubling, as `_numpy_kernels.doubling_sums`."""
    out[0] = 0.0
    for j in range(k):
        size = 1 << j
        xj = x[start + j]
        for m in range(size):
            out[size + m] = out[m] + xj


@numba.njit(**_JIT)
def _old_sorted_half(x, start, k, vals, idx, other_vals, other_idx, lo, hi):
    """NumPy's subset sums of x[start:start+k] in ascending order, and their subset indices.

    Works in two buffer pairs of 2^k + 1 slots (the last holds a +inf sentinel, which keeps the merge
    free of bounds tests and of branches); returns the pair that holds the result.
    """
    vals[0] = 0.0
    idx[0] = 0
    size = 1
    for j in range(k):
        xj = x[start + j]
        bit = 1 << j
        # Two independent merges, from the front (smallest first, ties to s) and from the back
        # (largest first, ties to s + x_j), each writing half of the output: the merged order is the
        # same and the two dependency chains overlap in the CPU.
        a = 0
        b = 0
        a_end = size - 1
        b_end = size - 1
        for o in range(size):
            va = vals[a]
            vb = vals[b] + xj
            take = va <= vb
            other_vals[o] = va if take else vb
            other_idx[o] = idx[a] if take else idx[b] | bit
            a += take
            b += not take
            wa = vals[a_end]
            wb = vals[b_end] + xj
            back_b = wb >= wa
            other_vals[2 * size - 1 - o] = wb if back_b else wa
            other_idx[2 * size - 1 - o] = idx[b_end] | bit if back_b else idx[a_end]
            b_end -= back_b
            a_end -= not back_b
        size *= 2
        vals, other_vals = other_vals, vals
        idx, other_idx = other_idx, idx
    k1 = k // 2
    _old_doubling(x, start, k1, lo)
    _old_doubling(x, start + k1, k - k1, hi)
    low = (1 << k1) - 1
    for i in range(size):
        m = idx[i]
        v = hi[m >> k1] + lo[m & low]
        p = i
        while p > 0 and vals[p - 1] > v:
            vals[p] = vals[p - 1]
            idx[p] = idx[p - 1]
            p -= 1
        vals[p] = v
        idx[p] = m
    return vals, idx


@numba.njit(**_JIT)
def _old_mitm_row(x, t, values, indices, lo, hi):
    n = x.shape[0]
    h = n // 2
    na = 1 << h
    nb = 1 << (n - h)
    av, ai = _old_sorted_half(x, 0, h, values[0], indices[0], values[1], indices[1], lo, hi)
    bv, bi = _old_sorted_half(x, h, n - h, values[2], indices[2], values[3], indices[3], lo, hi)
    q = values[4]
    for i in range(na):
        q[i] = t - av[na - 1 - i]
    q[:na].view(np.int64)[:] |= 1
    bv[:nb].view(np.int64)[:] &= ~1
    q[na] = np.inf
    bv[nb] = np.inf
    # Walk the merged ascending order; q and b never compare equal (different lowest bits, q != 0).
    # prev = -inf makes the first difference +inf, which never counts as a minimum.
    best = np.inf
    best_q = 0
    best_b = 0
    i = 0
    j = 0
    prev = -np.inf
    prev_is_q = False
    for _ in range(na + nb):
        qi = q[i]
        bj = bv[j]
        take_q = qi < bj
        cur = qi if take_q else bj
        d = cur - prev
        if take_q != prev_is_q and d < best:
            best = d
            best_q = i if take_q else i - 1
            best_b = j - 1 if take_q else j
        prev = cur
        prev_is_q = take_q
        i += take_q
        j += not take_q
    qv = q[best_q]
    ia = ai[na - 1 - best_q]
    p = best_q - 1
    while p >= 0 and q[p] == qv:
        ia = min(ia, ai[na - 1 - p])
        p -= 1
    p = best_q + 1
    while p < na and q[p] == qv:
        ia = min(ia, ai[na - 1 - p])
        p += 1
    bval = bv[best_b]
    ib = bi[best_b]
    p = best_b - 1
    while p >= 0 and bv[p] == bval:
        ib = min(ib, bi[p])
        p -= 1
    p = best_b + 1
    while p < nb and bv[p] == bval:
        ib = min(ib, bi[p])
        p += 1
    return ia | (ib << h)


@numba.njit(parallel=True, **_JIT)
def _old_solve(x, t, blocks):
    rows, n = x.shape
    out = np.empty(rows, dtype=np.int64)
    h = n // 2
    size = (1 << (n - h)) + 1
    tab = 1 << ((n + 1) // 2)
    for block in numba.prange(blocks):
        lo = np.empty(tab)
        hi = np.empty(tab)
        if n <= _BRUTE:
            for r in range(block, rows, blocks):
                out[r] = _numba_kernels._brute_force_row(x[r], t[r], lo, hi)  # unchanged by the new kernel
        else:
            # Value and index buffers of both halves, two of each (ping-pong merges), and q.
            values = np.empty((5, size))
            indices = np.empty((4, size), dtype=np.int64)
            for r in range(block, rows, blocks):
                out[r] = _old_mitm_row(x[r], t[r], values, indices, lo, hi)
    return out




def old_numba_indices(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The old kernel's `solve_indices` (same rows in, same indices out)."""
    if x.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    t = np.ascontiguousarray(t, dtype=np.float64)
    return _old_solve(x, t, min(x.shape[0], 4 * numba.get_num_threads()))


# --- the race ---------------------------------------------------------------------------------------


def numpy_indices(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """NumPy's indices on one thread: the engine's chunks and one reused workspace (one worker)."""
    rows, n = x.shape
    if n <= _common.BRUTE_FORCE_MAX_COUNT:
        return _numpy_kernels.brute_force_indices(x, t)
    size = _common.chunk_rows(_common.sums_per_instance(n), _common.DEFAULT_MEMORY_BUDGET, 1)
    work = _numpy_kernels.MitmWorkspace(min(size, rows), n)
    out = np.empty(rows, dtype=np.int64)
    for start in range(0, rows, size):
        stop = start + size
        out[start:stop] = _numpy_kernels.mitm_indices(x[start:stop], t[start:stop], work)
    return out


KERNELS = {
    "numpy": numpy_indices,
    "numba-old": old_numba_indices,
    "numba-new": _numba_kernels.solve_indices,
}


def uniform_rows(rng, rows: int, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(rng.uniform(-1.0, 1.0, (rows, n)), rng.uniform(-1.0, 1.0, rows))]


def binomial_rows(rng, rows: int, c: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows of 2c slots, each valid with probability 1/2, bucketed by valid count n (compacted)."""
    cand = rng.uniform(-1.0, 1.0, (rows, 2 * c))
    valid = rng.random((rows, 2 * c)) < 0.5
    valid &= np.cumsum(valid, axis=1) <= _common.max_exact_count(_common.DEFAULT_MEMORY_BUDGET)
    targets = rng.uniform(-1.0, 1.0, rows)
    return [(np.take_along_axis(cand[r], cols, axis=1), targets[r])
            for _, r, cols in _common.buckets(valid)]


def race(buckets, repeats: int) -> dict:
    """Instances per second of every kernel on the same buckets; all answers checked against NumPy's.

    The kernels take turns within each repeat, so that a burst of load from other processes falls on
    all of them alike; each keeps its best time.
    """
    rows = sum(x.shape[0] for x, _ in buckets)
    want = [numpy_indices(x, t) for x, t in buckets]
    result = {"rows": rows, "counts": sorted({int(x.shape[1]) for x, _ in buckets})}
    for name, kernel in KERNELS.items():
        got = [kernel(x, t) for x, t in buckets]  # warm-up: compilation or cache load
        mismatches = sum(int(np.sum(g != w)) for g, w in zip(got, want))
        if mismatches:
            raise AssertionError(f"{name}: {mismatches} of {rows} rows differ from NumPy's indices")
    best = dict.fromkeys(KERNELS, np.inf)
    for _ in range(repeats):
        for name, kernel in KERNELS.items():
            start = time.perf_counter()
            for x, t in buckets:
                kernel(x, t)
            best[name] = min(best[name], time.perf_counter() - start)
    result.update({name: rows / seconds for name, seconds in best.items()})
    result["speedup_new_vs_numpy"] = result["numba-new"] / result["numpy"]
    result["speedup_new_vs_old"] = result["numba-new"] / result["numba-old"]
    return result


def environment() -> dict:
    return {**_machine.describe(), "numpy": np.__version__, "numba": numba.__version__, "threads": 1}


def _rows_for(n: int, scale: float) -> int:
    # About the same NumPy time per size: the work per row grows like 2^(n/2).
    return max(8, int(scale * 40000 / 2 ** max(0, (n - 12) / 2)))


def _sizes(limit: int):
    """argparse type: comma-separated counts in [1, limit], or none at all for ''."""
    counts = checks.arg(checks.counts, high=limit)
    return lambda text: () if not text.strip() else counts(text)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    limit = _common.max_exact_count(_common.DEFAULT_MEMORY_BUDGET)
    parser.add_argument("--sizes", default="12,16,21,24,28", type=_sizes(limit),
                        help=f"candidate counts n of uniform rows (at most {limit}; '' for none)")
    parser.add_argument("--binomial", default="16,21,24", type=_sizes(limit),
                        help=f"c of Binomial(2c, 1/2) rows (at most {limit}; '' for none)")
    parser.add_argument("--scale", type=checks.arg(checks.positive), default=1.0,
                        help="multiplies the rows per size")
    parser.add_argument("--repeats", type=checks.arg(checks.count), default=3)
    parser.add_argument("--seed", type=checks.arg(checks.seed), default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.binomial, args.scale, args.repeats = (8, 12), (8,), 0.01, 1
    numba.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    env = environment()
    print(json.dumps(env), flush=True)
    print(f"{'rows':>18s} {'count':>6s} {'numpy':>11s} {'numba-old':>11s} {'numba-new':>11s} "
          f"{'new/numpy':>9s} {'new/old':>8s}   (instances/s, one thread)")
    table = []
    cases = [("uniform", n) for n in args.sizes] + [("binomial", c) for c in args.binomial]
    for kind, size in cases:
        if kind == "uniform":
            buckets = uniform_rows(rng, _rows_for(size, args.scale), size)
        else:
            # Four times the rows of n = c + 2: the Binomial tail (n up to about c + 10) then still
            # fills its buckets with more than a row or two, as the construction's batches do.
            buckets = binomial_rows(rng, 4 * _rows_for(size + 2, args.scale), size)
        row = {"kind": kind, ("n" if kind == "uniform" else "c"): size, **race(buckets, args.repeats)}
        table.append(row)
        label = f"n = {size}" if kind == "uniform" else f"binomial c = {size}"
        print(f"{label:>18s} {row['rows']:6d} {row['numpy']:11,.0f} {row['numba-old']:11,.0f} "
              f"{row['numba-new']:11,.0f} {row['speedup_new_vs_numpy']:8.2f}x "
              f"{row['speedup_new_vs_old']:7.2f}x", flush=True)
    results = {"environment": env, "command": "python benchmarks/kernel_race.py "
               + " ".join(sys.argv[1:] if argv is None else argv), "race": table}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
