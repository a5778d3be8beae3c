"""Side by side: a random network of the uniform law drawn by XLA and by numba's threefry kernel.

    python benchmarks/draws.py --out benchmarks/out/draws.json          # 784-500-10, c = 21 (Pensia scale)
    python benchmarks/draws.py --dims 8,8,8 --candidates 32
    python benchmarks/draws.py --smoke

Each engine draws the network ``nets.random_network(RandomSpec(dims, c, seed))`` in a fresh process with
the CLI's JAX settings (`slth.cli.process`) and an empty XLA compilation cache: "first" is the first
call (XLA compiling its programs, or numba reading its compiled kernel from its cache and starting),
"again" the best of ``--repeats`` further calls, with the process's CPU seconds beside it. XLA's draw is
``slth.nets.layouts.pairs.xla_pair_layers`` (numba reported missing), numba's is
``slth.nets._numba_draws`` at every size (``FROM_ENTRIES`` set to 0). The two networks' sha256 must
agree: the same bits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from slth import checks

import _machine  # noqa: E402  (benchmarks/, the script's folder)

ENGINES = ("xla", "numba")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(engine: str, dims, candidates: int, seed: int, repeats: int) -> dict:
    """Draw the network ``1 + repeats`` times in this process with ``engine``; timings and its digest."""
    import jax

    from slth import nets
    from slth.cli import process
    from slth.nets import _numba_draws

    process.configure()
    if engine == "xla":
        _numba_draws.HAVE_NUMBA = False
    else:
        _numba_draws.FROM_ENTRIES = 0           # the kernel at every size (by default from 2^22 entries a pair)
    spec = nets.RandomSpec(dims=dims, candidates=candidates, seed=seed)
    start = time.perf_counter()
    net = jax.block_until_ready(nets.random_network(spec))
    first = time.perf_counter() - start
    h = hashlib.sha256()
    for m in net:
        h.update(np.asarray(m).tobytes())
    del net
    again, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, c0 = time.perf_counter(), _cpu()
        jax.block_until_ready(nets.random_network(spec))
        seconds = time.perf_counter() - start
        if seconds < again:
            again, cpu = seconds, _cpu() - c0
    return {"engine": engine, "first_s": first, "again_s": again, "again_cpu_s": cpu, "sha256": h.hexdigest(),
            "entries": spec.entries()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--dims", type=checks.arg(checks.dims), default=(784, 500, 10))
    parser.add_argument("--candidates", type=checks.arg(checks.count), default=21)
    parser.add_argument("--seed", type=checks.arg(checks.seed), default=0)
    parser.add_argument("--repeats", type=checks.arg(checks.count), default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="write the results as JSON here")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.dims, args.candidates, args.repeats = (4, 3, 2), 2, 1
    if args.child:
        print(json.dumps(child(args.child, args.dims, args.candidates, args.seed, args.repeats)))
        return {}
    import jax
    import numba

    env = {**_machine.describe(), "jax": jax.__version__, "numba": numba.__version__, "numpy": np.__version__,
           "cpus": os.cpu_count()}
    print(json.dumps(env), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for engine in ENGINES:
            env_vars = {**os.environ, "JAX_COMPILATION_CACHE_DIR": os.path.join(cache, engine)}
            env_vars.pop("SLTH_JAX_CACHE", None)
            cmd = [sys.executable, __file__, "--child", engine, "--dims", ",".join(map(str, args.dims)),
                   "--candidates", str(args.candidates), "--seed", str(args.seed), "--repeats", str(args.repeats)]
            proc = subprocess.run(cmd, env=env_vars, capture_output=True, text=True)
            if proc.returncode:
                raise SystemExit(f"the {engine} draw failed ({proc.returncode}): {proc.stderr[-2000:]}")
            rows.append(json.loads(proc.stdout.splitlines()[-1]))
    print(f"{'-'.join(map(str, args.dims))}, c = {args.candidates}: {rows[0]['entries']:,} entries")
    print(f"{'engine':>8s} {'first':>8s} {'again':>8s} {'again CPU':>10s}   sha256")
    for r in rows:
        print(f"{r['engine']:>8s} {r['first_s']:7.2f}s {r['again_s']:7.3f}s {r['again_cpu_s']:9.3f}s   "
              f"{r['sha256'][:16]}", flush=True)
    same = len({r["sha256"] for r in rows}) == 1
    print("same bits" if same else "THE ENGINES DRAW DIFFERENT NETWORKS", flush=True)
    results = {"environment": env, "command": "python benchmarks/draws.py " + " ".join(sys.argv[1:] if argv is None
                                                                                      else argv),
               "dims": list(args.dims), "candidates": args.candidates, "seed": args.seed, "engines": rows,
               "same_bits": same}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    if not same:
        raise SystemExit(1)
    return results


if __name__ == "__main__":
    main()
