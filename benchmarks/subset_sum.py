"""Benchmark of the subset-sum engine: instances/s per method and size, exact vs MILP, exactness checks.

    python benchmarks/subset_sum.py --sizes 12,16,21,24,28,32 --batch 20000 --milp-instances 3 \\
        --out benchmarks/out/subset_sum.json
    python benchmarks/subset_sum.py --smoke

Methods timed on the current JAX device:
- ``exact-numpy``: `solve(method="exact", sharded=False, cpu_kernel="numpy")` on CPU (NumPy, threads over
  chunks; on an accelerator machine with JAX's 64-bit mode off, where `solve` keeps this path: `_cpu`);
- ``exact-numba``: the same call with ``cpu_kernel="numba"`` (compiled meet in the middle that finds the
  closest pair by hashing bucketed half sums, no sort; rows over threads; same masks bit for bit), when
  numba is installed, timed next to exact-numpy in the same run;
- ``exact-jax``: the same algorithm through JAX/XLA on the default device(s) (`sharded=True`);
- ``exact-binomial``: exact on rows of 2c slots with a Binomial(2c, 1/2) number of valid candidates
  (mean c), the workload of Pensia et al.'s construction (``exact-binomial-numba``: with numba, one pass
  over the batch when it is large enough; ``exact-binomial-numba-buckets``: the same on the engine's
  per-count buckets, the path before the one-pass one);
- ``first-within``: `method="first-within"` with tol = 1e-2;
- ``milp``: Pensia et al.'s MILP through scipy/HiGHS, timed on ``--milp-instances`` rows at c = 21 and set
  side by side with exact on the same rows.

and the "Pensia-scale" job first, in two processes of its own (so that each peak memory is its own; the
first with an empty JAX compilation cache, the second reading it, see `pensia_scale`): the subset-sum
construction for a random 784-500-10 target (397,000 weights, c = 21 candidates per block and sign, as in
Pensia et al.'s MNIST experiment that took about 21.5 hours with Gurobi on 36 cores), end to end: random
target, random network, every (k, j, sign) subset, the ticket's invariant and its certificate.

Exactness last: every back end (NumPy, numba, JAX) against brute force on the same 10,000 problems with
c <= 18, and numba's path (and JAX's on an accelerator) against NumPy's bit for bit (masks and error bits)
on 100,000 problems at c = 21 and 100,000 Binomial(42, 1/2) rows.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import scipy  # noqa: E402

from slth import checks, constructions, measure, nets  # noqa: E402
from slth import subset_sum as ss  # noqa: E402
from slth.subset_sum.engine import HAVE_NUMBA  # noqa: E402
from slth.ticket import check_invariant  # noqa: E402

import _machine  # noqa: E402  (benchmarks/, the script's folder)

# Absolute tolerance for "same optimum as brute force" (errors are recomputed in float64 from masks).
EXACTNESS_TOL = 1e-12
FIRST_WITHIN_TOL = 1e-2
MILP_SIZE = 21


def _problems(rng, batch, c):
    return rng.uniform(-1.0, 1.0, (batch, c)), rng.uniform(-1.0, 1.0, batch)


def _binomial_problems(rng, batch, c):
    """Rows of 2c uniform slots, each valid with probability 1/2 (the construction's workload), and the
    validity; Binomial tails beyond the exact limit would raise, so the count is capped at that limit."""
    wide = rng.uniform(-1.0, 1.0, (batch, 2 * c))
    valid = rng.random((batch, 2 * c)) < 0.5
    valid &= np.cumsum(valid, axis=1) <= min(2 * c, ss.max_exact_count(ss.DEFAULT_MEMORY_BUDGET))
    return wide, valid


def _rate(fn, batch, repeats=2):
    """Instances per second: best of `repeats` timed calls after one warm-up call (compilation)."""
    fn()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return batch / best


def _without_one_pass(fn):
    """``fn()`` with the engine's one-pass numba path switched off (its batch threshold out of reach)."""
    from slth.subset_sum import engine

    saved = engine.FUSED_FROM_ROWS
    engine.FUSED_FROM_ROWS = 1 << 62
    try:
        return fn()
    finally:
        engine.FUSED_FROM_ROWS = saved


def _batch_for(c, batch):
    # Work per instance grows like 2^(c/2): halve the batch per two candidates above c = 21.
    return max(16, batch >> max(0, (c - 20) // 2))


def throughput(sizes, batch, seed):
    """Rows of {method, c, batch, instances_per_s} for every method and size."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in sizes:
        b = _batch_for(c, batch)
        cand, targets = _problems(rng, b, c)
        timings = {
            "exact-numpy": (b, lambda: _cpu("numpy")(cand, targets)),
            # numba right after numpy, on the same rows, so that the two share the machine's state.
            **({"exact-numba": (b, lambda: _cpu("numba")(cand, targets))}
               if HAVE_NUMBA else {}),
            "first-within": (
                b,
                lambda: ss.solve(cand, targets, method="first-within", tol=FIRST_WITHIN_TOL),
            ),
        }
        small = max(16, b // 8)
        timings["exact-jax"] = (
            small,
            lambda: _jax(cand[:small], targets[:small]),
        )
        wide, valid = _binomial_problems(rng, b, c)
        timings["exact-binomial"] = (
            b, lambda: _cpu("numpy")(wide, targets, valid=valid))
        if HAVE_NUMBA:
            timings["exact-binomial-numba"] = (
                b, lambda: _cpu("numba")(wide, targets, valid=valid))
            # the same call on the engine's buckets (rows grouped by count in NumPy, one numba call per
            # count, errors recomputed in NumPy), as before the one-pass path: FUSED_FROM_ROWS out of reach
            timings["exact-binomial-numba-buckets"] = (
                b, lambda: _without_one_pass(lambda: _cpu("numba")(wide, targets, valid=valid)))
        for method, (n, fn) in timings.items():
            rate = _rate(fn, n)
            rows.append({"method": method, "c": c, "batch": n, "instances_per_s": rate})
            print(f"{method:20s} c={c:2d} batch={n:6d} {rate:12.1f} inst/s", flush=True)
    return rows


def pensia_scale(dims, candidates, seed):
    """The Pensia-scale job twice, each in a fresh process with the CLI's JAX settings
    (`slth.cli.process`): "cold" with an empty compilation cache (every program compiled), then "warm"
    reading the programs the first run stored, as a second ``slth`` command on the same machine does.
    numba's compiled kernels are on disk in both (they are compiled once per install)."""
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for run in ("cold", "warm"):
            env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache}
            env.pop("SLTH_JAX_CACHE", None)
            args = [sys.executable, __file__, "--pensia-job", "--pensia-dims", ",".join(map(str, dims)),
                    "--pensia-candidates", str(candidates), "--seed", str(seed)]
            proc = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
            out[run] = json.loads(proc.stdout.splitlines()[-1])
            r = out[run]
            print(f"pensia-scale {'-'.join(map(str, dims))}, c={candidates} ({run} compilation cache): "
                  f"{r['target_weights']:,} weights, {r['subset_sum_problems']:,} subset-sum problems; "
                  f"build {r['build_s']:.1f} s, certificate {r['certificate_s']:.1f} s, total {r['total_s']:.1f} s "
                  f"(XLA compiling {r['compile_s']:.1f} s); certificate {r['certificate']:.3e}; "
                  f"peak RSS {r['peak_rss_gb']:.2f} GB", flush=True)
    if out["cold"]["certificate"] != out["warm"]["certificate"]:
        raise SystemExit("the two runs' certificates differ: the compilation cache changed a result")
    return out


def pensia_job(dims, candidates, seed):
    """Time the subset-sum construction end to end on a random target of widths ``dims`` (this process)."""
    from slth.cli import process

    process.configure()
    compiling = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, seconds, **_: compiling.append(seconds) if event.startswith("/jax/core/compile/") else None)
    start = time.perf_counter()
    target = nets.random_target(dims, key=jax.random.key(seed))
    spec = nets.RandomSpec(dims=dims, candidates=candidates, seed=seed)
    ticket = constructions.build("subset-sum", target, spec)
    jax.block_until_ready(ticket.masks)
    built = time.perf_counter()
    check_invariant(ticket, regenerate=False)
    maps = measure.pair_maps(ticket.random, ticket.masks)
    cert = measure.certificate(ticket.target, maps)
    done = time.perf_counter()
    weights = sum(a * b for a, b in zip(dims[1:], dims[:-1]))
    result = {
        "dims": list(dims), "candidates": candidates, "seed": seed, "target_weights": weights,
        "subset_sum_problems": 2 * dims[0] * dims[1] + sum(a * b for a, b in zip(dims[2:], dims[1:-1])),
        "random_params": ticket.random_params(), "kept_params": ticket.kept_params(),
        "build_s": built - start, "certificate_s": done - built, "total_s": done - start,
        "certificate": cert, "max_weight_error": measure.max_weight_error(ticket.target, maps),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "compile_s": sum(compiling),
    }
    return result


def milp_versus_exact(instances, seed):
    """Per-instance seconds of MILP and exact on the same rows at c = 21, and the speedup."""
    rng = np.random.default_rng(seed + 1)
    cand, targets = _problems(rng, instances, MILP_SIZE)
    start = time.perf_counter()
    milp = ss.solve(cand, targets, method="milp")
    milp_s = (time.perf_counter() - start) / instances
    big_cand, big_targets = _problems(rng, 20000, MILP_SIZE)
    exact_rate = _rate(lambda: _cpu(None)(big_cand, big_targets), 20000)
    exact = _cpu(None)(cand, targets)
    result = {
        "c": MILP_SIZE,
        "instances": instances,
        "milp_s_per_instance": milp_s,
        "exact_s_per_instance": 1.0 / exact_rate,
        "speedup": milp_s * exact_rate,
        "milp_minus_exact_error_max": float(np.max(milp.error - exact.error)),
    }
    print(
        f"milp c={MILP_SIZE}: {milp_s:.3f} s/instance; exact {1e6 / exact_rate:.1f} us/instance; "
        f"speedup {result['speedup']:.0f}x; max(milp - exact error) = "
        f"{result['milp_minus_exact_error_max']:.2e}",
        flush=True,
    )
    return result


def _cpu(kernel):
    """`solve` on the CPU path with ``kernel`` (None: the default). With JAX's 64-bit mode on, `solve` takes
    JAX's path on an accelerator even with sharded=False; with it off it keeps NumPy's float64 path (its
    docstring, back ends), so the call runs with the mode off. The same call as before on a CPU machine."""

    def call(*args, **kwargs):
        with jax.enable_x64(False):
            return ss.solve(*args, **kwargs, sharded=False, cpu_kernel=kernel)

    return call


def _jax(*args, **kwargs):
    """`solve` through JAX/XLA on the default device(s), the accelerators' path."""
    return ss.solve(*args, **kwargs, sharded=True)


def _backends() -> dict:
    """The exact solve's back ends as calls: NumPy and numba (where installed) on the CPU, and JAX."""
    out = {"numpy": _cpu("numpy")}
    if HAVE_NUMBA:
        out["numba"] = _cpu("numba")
    out["jax"] = _jax
    return out


def exactness(problems, seed, sizes=None):
    """Compare every back end with brute force on the same random problems with c <= 18 (or c drawn from
    ``sizes``: the smoke run takes one brute-force and one meet-in-the-middle size, since JAX compiles a
    program per size) and random valid masks; ``mismatches`` counts them all (issue 19: 0 for every back
    end)."""
    rng = np.random.default_rng(seed + 2)
    counts = rng.integers(1, 19, problems) if sizes is None else rng.choice(np.asarray(sizes), problems)
    backends = _backends()
    per = {name: {"mismatches": 0, "max_abs_diff": 0.0} for name in backends}
    for c in np.unique(counts):
        b = int(np.sum(counts == c))
        cand, targets = _problems(rng, b, int(c))
        valid = rng.random((b, int(c))) < 0.9
        ref = ss.brute_force(cand, targets, valid=valid)
        for name, solve in backends.items():
            got = solve(cand, targets, valid=valid)
            diff = np.abs(got.error - ref.error)
            per[name]["mismatches"] += int(np.sum(diff > EXACTNESS_TOL)) + int(np.sum(got.mask & ~valid))
            per[name]["max_abs_diff"] = max(per[name]["max_abs_diff"], float(diff.max()))
    for name, r in per.items():
        print(f"exactness ({name}): {problems} problems, {'c <= 18' if sizes is None else f'c in {sizes}'}: "
              f"{r['mismatches']} mismatches "
              f"(max |error - brute force| = {r['max_abs_diff']:.1e})", flush=True)
    return {"problems": problems, "sizes": list(range(1, 19)) if sizes is None else list(sizes),
            "mismatches": sum(r["mismatches"] for r in per.values()),
            "max_abs_diff": max(r["max_abs_diff"] for r in per.values()), "tolerance": EXACTNESS_TOL,
            "backends": per}


def versus_numpy(rows, c, seed):
    """Every other exact path against NumPy's, bit for bit (masks, and errors to the last bit), on ``rows``
    problems of c candidates and ``rows`` Binomial(2c, 1/2) rows of 2c slots (the construction's workload):
    numba where installed (issue 19: 0 mismatches on 100,000 problems at c = 21), and JAX where the default
    device is an accelerator (the GPU's check against the CPU path; on the CPU, XLA runs the same algorithm
    20-50x slower than NumPy, and `exactness` checks it there against brute force)."""
    accelerator = jax.default_backend() != "cpu"
    paths = {name: solve for name, solve in _backends().items() if name == "numba" or (name == "jax" and accelerator)}
    rng = np.random.default_rng(seed + 3)
    cand, targets = _problems(rng, rows, c)
    wide, valid = _binomial_problems(rng, rows, c)
    cases = {"uniform": ((cand, targets), {}), "binomial": ((wide, targets), {"valid": valid})}
    out = {"rows": rows, "c": c, "paths": {name: {} for name in paths}}
    for kind, (args, kwargs) in cases.items():
        want = _cpu("numpy")(*args, **kwargs)
        for name, path in paths.items():
            got = path(*args, **kwargs)
            differ = np.any(got.mask != want.mask, axis=1) | (got.error.view(np.int64) != want.error.view(np.int64))
            out["paths"][name][kind] = int(np.sum(differ))
            print(f"{name} vs NumPy ({kind}, c = {c}): {rows:,} problems, {int(np.sum(differ))} rows differ in "
                  "mask or error bits", flush=True)
    if not paths:
        print("vs NumPy: no other exact path here (numba is not installed, no accelerator)", flush=True)
    out["mismatched_rows"] = sum(sum(kinds.values()) for kinds in out["paths"].values())
    return out


def _numba_version():
    if not HAVE_NUMBA:
        return None
    import numba

    return numba.__version__


def environment():
    device = jax.devices()[0]
    return {
        **_machine.describe(),
        "device": f"{device.platform}: {device.device_kind} x{jax.device_count()}",
        "cpu_count": len(os.sched_getaffinity(0)),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": _numba_version(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    count = checks.arg(checks.count)
    parser.add_argument("--sizes", default="12,16,21,24,28,32", help="comma-separated candidate counts c",
                        type=checks.arg(checks.counts, high=ss.max_exact_count(ss.DEFAULT_MEMORY_BUDGET)))
    parser.add_argument("--batch", type=count, default=20000, help="instances per timing at c <= 21")
    parser.add_argument("--milp-instances", type=count, default=3, help="MILP rows timed at c = 21")
    parser.add_argument("--exactness-problems", type=count, default=10000)
    parser.add_argument("--bit-for-bit-rows", type=count, default=100000,
                        help="rows of c = 21 (and as many Binomial rows) compared with NumPy's path: numba, and "
                             "JAX on an accelerator")
    parser.add_argument("--seed", type=checks.arg(checks.seed), default=0)
    parser.add_argument("--pensia-dims", default=(784, 500, 10), type=checks.arg(checks.dims),
                        help="target widths of the Pensia-scale job")
    parser.add_argument("--pensia-candidates", type=count, default=21)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--pensia-job", action="store_true",
                        help="run only the Pensia-scale job in this process and print its JSON (pensia_scale "
                             "starts two such processes)")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.batch, args.milp_instances, args.exactness_problems = (8, 12), 200, 1, 300
        args.bit_for_bit_rows = 500
        args.pensia_dims, args.pensia_candidates = (12, 6, 3), 8
    if args.pensia_job:
        print(json.dumps(pensia_job(args.pensia_dims, args.pensia_candidates, args.seed)))
        return None
    env = environment()
    print(json.dumps(env), flush=True)
    results = {
        "environment": env,
        "command": "python benchmarks/subset_sum.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "pensia_scale": pensia_scale(args.pensia_dims, args.pensia_candidates, args.seed),
        "throughput": throughput(args.sizes, args.batch, args.seed),
        "milp_vs_exact": milp_versus_exact(args.milp_instances, args.seed),
        "exactness": exactness(args.exactness_problems, args.seed, sizes=(5, 9) if args.smoke else None),
        "versus_numpy": versus_numpy(args.bit_for_bit_rows, MILP_SIZE, args.seed),
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
