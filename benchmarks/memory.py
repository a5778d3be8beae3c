"""Peak memory of every construction and measurement, the numbers behind :mod:`slth.budget`.

    python benchmarks/memory.py --out benchmarks/out/memory.json      # the full run (a few minutes)
    python benchmarks/memory.py --smoke                               # two tiny jobs, a few seconds
    python benchmarks/memory.py --job '{"kind": "prune", "construction": "selection", "dims": [4, 4], "c": 64}'

Every job runs in its own process, whose peak resident memory (``VmHWM`` of ``/proc/self/status`` at
exit on Linux, else ``ru_maxrss`` from ``resource.getrusage``) is its own: Python, JAX and the compiled code included, as a user's ``slth``
command holds them. The jobs are what the commands run:

- ``prune``: random target, :func:`slth.pipeline.prune` (the construction, the certificate, the
  adversarial lower bound and its ``gap_at``) and :func:`slth.ticket.save`, i.e. ``slth prune``
  (edge-popup with 10 training steps instead of 1000: a scan's memory does not grow with its length);
- ``check``: :func:`slth.measure.min_width` with one trial, i.e. ``slth check`` (its peak is the
  ticket at the largest c searched); ``target``: a random target alone; ``engine``: exact subset sum
  on rows of n candidates;
- ``coverage``, ``weight_error``, ``separation``, ``digits``: one cell of a sweep of that kind through
  :func:`slth.experiments.runner.run` into a temporary folder.

The script prints each job's peak beside :mod:`slth.budget`'s estimate (with the constants recorded
there; ``ok``: the estimate is above the peak, exit status 1 otherwise), then fits the constants (see
:func:`fit`): base + a1 · block-layer parameters + a2 · other parameters + b · lower-bound activations
by non-negative least squares on the selection jobs, a2 per construction from its own job, and the
per-element bytes of the sweep kinds. ``slth/budget.py`` records these fits rounded up.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import time

from slth import checks            # light: no JAX, NumPy or SciPy (slth imports its modules lazily)
from slth.errors import InputError


# --------------------------------------------------------------------------- the child: one job

def _prune(job: dict) -> dict:
    import jax

    from slth import measure, nets, pipeline, ticket
    from slth.measure.width import default_distribution

    name = job["construction"]
    if "steps" in job:   # a lax.scan's memory does not grow with its length: a short training measures it
        import dataclasses
        import functools

        from slth import constructions

        entry = constructions.REGISTRY[name]
        constructions.REGISTRY[name] = dataclasses.replace(entry, build=functools.partial(entry.build,
                                                                                          steps=job["steps"]))
    target = nets.random_target(job["dims"], key=jax.random.key(0))
    spec = nets.RandomSpec(dims=tuple(job["dims"]), candidates=job["c"], seed=0,
                           distribution=default_distribution(name, None))
    spec = measure.network_spec(name, spec)
    tk, meta, witness = pipeline.prune(name, target, spec)
    with tempfile.TemporaryDirectory() as folder:
        ticket.save(tk, pathlib.Path(folder) / "t.npz", meta, witness=witness)
    return {"random_params": meta["random_params"]}


def _target(job: dict) -> dict:
    import jax

    from slth import nets

    nets.check_target(nets.random_target(job["dims"], key=jax.random.key(0)))
    return {}


def _check(job: dict) -> dict:
    from slth import measure

    mw = measure.min_width(job["construction"], job["dims"], job.get("eps", 0.01), 0.5, trials=1,
                           c_max=job["c"])
    return {"certified": mw.certified}


def _engine(job: dict) -> dict:
    import numpy as np

    from slth import subset_sum

    rng = np.random.default_rng(0)
    subset_sum.solve(rng.uniform(-1, 1, (job["rows"], job["n"])), rng.uniform(-1, 1, job["rows"]))
    return {}


def _sweep(job: dict) -> dict:
    from slth.experiments import runner, spec as specs

    raw = {"kind": job["kind"], "grid": job["grid"], "trials": job["trials"]}
    spec = specs.parse(raw, name="memory")
    with tempfile.TemporaryDirectory() as folder:
        result = runner.run(spec, results=folder, progress=False)
        written = sum(f.stat().st_size for f in pathlib.Path(folder).rglob("*.csv") if f.is_file())
    return {"computed": result.computed, "csv_bytes": written}


#: Each kind of job: what runs it and the keys it reads (the library checks their values when it starts).
JOBS = {"engine": (_engine, ("n", "rows")), "prune": (_prune, ("construction", "dims", "c")),
        "target": (_target, ("dims",)), "check": (_check, ("construction", "dims", "c")),
        **{kind: (_sweep, ("grid", "trials")) for kind in ("coverage", "weight_error", "separation", "digits")}}


def _job(text: str) -> dict:
    """argparse type of ``--job``: a JSON object of a kind in `JOBS` with the keys it reads; the engine's
    counts checked here (the library checks everything else where it enters)."""
    try:
        job = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON ({e.msg} at character {e.pos})") from None
    if not isinstance(job, dict) or job.get("kind") not in JOBS:
        raise argparse.ArgumentTypeError(f"{text!r} must be a JSON object whose kind is one of {sorted(JOBS)}")
    missing = [k for k in JOBS[job["kind"]][1] if k not in job]
    if missing:
        raise argparse.ArgumentTypeError(f"a {job['kind']} job needs {', '.join(missing)}; got {text!r}")
    try:
        if job["kind"] == "engine":
            checks.count("n", job["n"]), checks.count("rows", job["rows"])
    except InputError as e:
        raise argparse.ArgumentTypeError(f"{e} (job {text!r})") from None
    return job


def peak_rss() -> int:
    """This process's peak resident memory in bytes: ``VmHWM`` of ``/proc/self/status`` where Linux has
    it, else ``ru_maxrss``. Linux carries ``ru_maxrss`` across fork and exec (the parent's high-water
    mark at the fork, e.g. a test worker's 1.9 GB), so a small child launched from a large process
    would report the parent's size; ``VmHWM`` belongs to the child's own address space."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(job: dict) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    jnp.ones(1).block_until_ready()
    base = peak_rss()
    start = time.perf_counter()
    info = JOBS[job["kind"]][0](job)
    wall = time.perf_counter() - start
    peak = peak_rss()
    print(json.dumps({"base_rss": base, "peak_rss": peak, "wall_s": wall, **info}))


# --------------------------------------------------------------------------- the parent: run, fit, check

def run_job(job: dict, timeout: float = 600) -> dict:
    """Run ``job`` in a fresh interpreter and return its report: ``peak_rss`` is the child's own peak
    (:func:`peak_rss` at exit: that process alone, whatever ran before it or launched it)."""
    # A cold process: a persistent compilation cache (the test suite shares one through the environment)
    # skips XLA's compilation and its memory, so the same job would peak lower on a warm cache (0.34 GB
    # against 0.49 GB for selection at dims 4,4, c = 2048) and the estimates are fitted to cold runs.
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"), JAX_ENABLE_COMPILATION_CACHE="false")
    proc = subprocess.run([sys.executable, __file__, "--job", json.dumps(job)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"job {job} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# Jobs of the full run. Sizes: each takes seconds to half a minute on 2 CPU cores, and each is dominated
# by one term: block-layer parameters (dims d_in >> d_out), other random parameters (d_out >> d_in),
# lower-bound activations (tiny dims, large c), subset sums, rows, ... The selection jobs fit the shared
# terms; every other construction gets one job dominated by its own per-parameter term.
SEL = "selection"
FULL = [
    {"kind": "prune", "construction": SEL, "dims": [4, 4], "c": 1},
    {"kind": "prune", "construction": SEL, "dims": [4, 4], "c": 16384},
    {"kind": "prune", "construction": SEL, "dims": [4096, 64], "c": 2},
    {"kind": "prune", "construction": SEL, "dims": [64, 4096], "c": 128},
    {"kind": "prune", "construction": SEL, "dims": [196, 500, 10], "c": 40},
    {"kind": "prune", "construction": "subset-sum", "dims": [128, 4096], "c": 16},
    {"kind": "prune", "construction": "hyperbolic", "dims": [128, 4096], "c": 16},
    {"kind": "prune", "construction": "binary", "dims": [128, 4096], "c": 16},
    {"kind": "prune", "construction": "fixed-size", "dims": [4, 4], "c": 147},
    {"kind": "prune", "construction": "fixed-size", "dims": [64, 4096], "c": 8},
    {"kind": "prune", "construction": "depth-l+1", "dims": [64, 256, 4], "c": 16},
    {"kind": "prune", "construction": "edge-popup", "dims": [4, 4], "c": 1, "steps": 10},
    {"kind": "prune", "construction": "edge-popup", "dims": [8, 2048], "c": 64, "steps": 10},
    {"kind": "target", "dims": [160000, 100]},
    {"kind": "check", "construction": SEL, "dims": [4, 4], "c": 4096, "eps": 1e-9},
    {"kind": "engine", "n": 40, "rows": 4},
    {"kind": "coverage", "grid": {"c": [8]}, "trials": {"count": 4000, "seed": 0}},
    {"kind": "coverage", "grid": {"c": [8]}, "trials": {"count": 12000, "seed": 0}},
    {"kind": "coverage", "grid": {"c": [22]}, "trials": {"count": 2, "seed": 0}},
    {"kind": "weight_error", "grid": {"construction": [SEL], "c": [100000]},
     "trials": {"count": 1, "seed": 0, "targets": 201}},
    {"kind": "weight_error", "grid": {"construction": ["subset-sum"], "c": [20]},
     "trials": {"count": 1, "seed": 0, "targets": 201}},
    {"kind": "separation", "grid": {"method": ["random-features"], "d": [16], "c": [32]},
     "trials": {"count": 1, "seed": 0, "n_train": 4000, "n_test": 4000}},
    {"kind": "separation", "grid": {"method": ["random-features"], "d": [16], "c": [64]},
     "trials": {"count": 1, "seed": 0, "n_train": 12000, "n_test": 12000}},
    {"kind": "digits", "grid": {"construction": [SEL], "c": [64]},
     "trials": {"count": 1, "seed": 0, "epochs": 2}},
]
SMOKE = [FULL[0], {"kind": "coverage", "grid": {"c": [4]}, "trials": {"count": 10, "seed": 0}}]


def features(job: dict) -> dict:
    """The sizes slth.budget's terms count for ``job``, and its estimate with the recorded constants."""
    from slth import budget
    from slth.experiments import spec as specs

    if job["kind"] in ("prune", "check"):
        spec = budget.network_for(job["construction"], job["dims"], job["c"])
        block, other = budget.split_params(budget.computed_network(job["construction"], spec))
        estimate = budget.prune(job["construction"], spec)
        engine = sum(t.bytes for t in estimate.terms if t.name.startswith("subset sums"))
        return {"P1": block, "P2": other, "engine": engine, "estimate": estimate.bytes,
                "A": budget.lower_bound_points() * max(budget.computed_network(job["construction"], spec).widths()),
                "T": sum(a * b for a, b in zip(job["dims"][1:], job["dims"][:-1]))}
    if job["kind"] == "target":
        return {"T": job["dims"][0] * job["dims"][1], "estimate": None}
    if job["kind"] == "engine":
        from slth.subset_sum import _common

        return {"S": _common.sums_per_instance(job["n"]), "estimate": None}
    spec = specs.parse({"kind": job["kind"], "grid": job["grid"], "trials": job["trials"]}, name="memory")
    estimate = budget.check_spec(spec)
    cell = spec.cells[0].params
    out = {"estimate": estimate.bytes, "rows": spec.trials * len(spec.cells)}
    if job["kind"] == "coverage":
        out["sums"] = 1 << cell["c"]
    if job["kind"] == "weight_error":
        out["entries"] = spec.settings["targets"] * cell["c"]
    if job["kind"] == "separation":
        from slth import separation

        out["features"] = (spec.settings["n_train"] + spec.settings["n_test"]) * separation.matched_units(
            cell["d"], cell["c"])[1]
    return out


def _nnls(rows, columns):
    import numpy as np
    import scipy.optimize

    a = np.array([[r[c] for c in columns] for r in rows], float)
    b = np.array([r["peak_rss"] for r in rows], float)
    scale = a.max(axis=0)
    x, _ = scipy.optimize.nnls(a / scale, b)
    return dict(zip(columns, x / scale))


def fit(rows: list[dict]) -> dict:
    """The constants of slth.budget from the measured jobs (see the module docstring and FULL)."""
    prune = [r for r in rows if r["kind"] == "prune"]
    target = next(r for r in rows if r["kind"] == "target")
    out = {"PER_TARGET_PARAM": (target["peak_rss"] - target["base_rss"]) / target["T"]}
    engine = next(r for r in rows if r["kind"] == "engine")
    out["PER_SUBSET_SUM"] = (engine["peak_rss"] - engine["base_rss"]) / (len(os.sched_getaffinity(0)) * engine["S"])
    for r in prune:   # what the shared terms leave to fit
        r["rest"] = r["peak_rss"] - out["PER_TARGET_PARAM"] * r["T"] - r["engine"]
    base = next(r["rest"] for r in prune if r["construction"] == SEL and r["c"] == 1)
    sel = [dict(r, peak_rss=r["rest"] - base) for r in prune if r["construction"] == SEL and r["c"] > 1
           and len(r["dims"]) == 2]
    f = _nnls(sel, ["P1", "P2", "A"])
    out |= {"PER_BLOCK_PARAM": f["P1"], "PER_ACTIVATION": f["A"], "PER_PARAM": {SEL: f["P2"]},
            "BASE": {SEL: base}}
    for r in prune:
        name = r["construction"]
        if name == SEL:
            continue
        rest = r["rest"] - f["A"] * r["A"] - f["P1"] * r["P1"]
        if r["c"] == 1 or (name == "fixed-size" and r["dims"] == [4, 4]):   # the construction's fixed part
            out["BASE"][name] = rest
        else:
            out["PER_PARAM"][name] = max(0.0, (rest - out["BASE"].get(name, base)) / r["P2"])
    cov = sorted((r for r in rows if r["kind"] == "coverage" and r["sums"] == 256), key=lambda r: r["rows"])
    per_row = (cov[-1]["peak_rss"] - cov[0]["peak_rss"]) / (cov[-1]["rows"] - cov[0]["rows"])
    plain = cov[0]["peak_rss"] - per_row * cov[0]["rows"]
    out |= {"PER_ROW (coverage trial: its row and its 8 candidates)": per_row, "BASE_PLAIN": plain,
            "PER_ROW_ON_DISK (csv bytes per row, journal and tables)": max(
                r["csv_bytes"] / r["rows"] for r in rows if "csv_bytes" in r)}
    big = next(r for r in rows if r["kind"] == "coverage" and r["sums"] > 256)
    out["PER_COVERAGE_SUM"] = (big["peak_rss"] - plain) / big["sums"]
    we = next(r for r in rows if r["kind"] == "weight_error" and r["grid"]["construction"] == [SEL])
    out["PER_WEIGHT_ERROR_ENTRY"] = (we["peak_rss"] - plain) / we["entries"]
    out["PER_FEATURE"] = max((r["peak_rss"] - plain) / r["features"] for r in rows if r["kind"] == "separation")
    return out


def _describe(job: dict) -> str:
    if job["kind"] in ("prune", "check"):
        return f"{job['kind']} {job['construction']} {'-'.join(map(str, job['dims']))} c={job['c']}"
    if job["kind"] == "target":
        return f"target {'-'.join(map(str, job['dims']))}"
    if job["kind"] == "engine":
        return f"engine n={job['n']} rows={job['rows']}"
    return f"{job['kind']} {json.dumps(job['grid'], separators=(',', ':'))} count={job['trials']['count']}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", type=_job, help="run one job (JSON) in this process and print its peak RSS")
    parser.add_argument("--out", default=None, help="write the table and the fits as JSON here")
    parser.add_argument("--smoke", action="store_true", help="two tiny jobs (a smoke test; no fit)")
    args = parser.parse_args(argv)
    if args.job:
        try:
            child(args.job)
        except InputError as e:               # a value the library refused when the job started
            parser.error(f"--job: {e}")
        return 0
    import jax

    jax.config.update("jax_enable_x64", True)
    rows = []
    print(f"{'job':64s} {'peak MB':>9s} {'estimate MB':>12s} {'ok':>3s} {'wall s':>7s}")
    for job in SMOKE if args.smoke else FULL:
        row = {**job, **features(job), **run_job(job)}
        ok = row["estimate"] is None or row["estimate"] >= row["peak_rss"]
        row["ok"] = ok
        rows.append(row)
        est = "-" if row["estimate"] is None else f"{row['estimate'] / 1e6:,.0f}"
        print(f"{_describe(job):64s} {row['peak_rss'] / 1e6:>9,.0f} {est:>12s} {'yes' if ok else 'NO':>3s} "
              f"{row['wall_s']:>7.1f}", flush=True)
    fitted = None if args.smoke else fit(rows)
    if fitted:
        print("\nfitted (bytes):")
        for k, v in fitted.items():
            text = ", ".join(f"{n} {x:.1f}" for n, x in v.items()) if isinstance(v, dict) else f"{v:,.1f}"
            print(f"  {k}: {text}")
    if args.out:
        from slth.experiments import provenance

        result = {"date": datetime.date.today().isoformat(), "machine": platform.platform(),
                  "cpus": len(os.sched_getaffinity(0)), "provenance": provenance.record(), "jobs": rows,
                  "fit": fitted}
        pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2, sort_keys=True, default=str))
    bad = [r for r in rows if not r["ok"]]
    if bad:
        print(f"\n{len(bad)} jobs above their estimate: update slth/budget.py from the fit", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
