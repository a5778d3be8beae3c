"""The Pensia-scale job, stage by stage: what ``slth prune --construction subset-sum`` and ``slth verify``
spend their time and memory on (issue 19).

    python benchmarks/pensia_job.py --out benchmarks/out/pensia_job.json     # 784-500-10, c = 21
    python benchmarks/pensia_job.py --dims 196,100,10 --candidates 12
    python benchmarks/pensia_job.py --smoke                                  # tiny, a few seconds

Each stage calls the library functions ``slth.pipeline.prune`` and ``slth.pipeline.verify`` call, in
their order: prune (random target as the CLI draws it, random network, problem assembly, solve, ticket
assembly, pair maps, certificate, lower bound, max weight error, liveness, saving the file) and verify
(reading the file, invariant with the network regenerated, the same measurements, the gap at the stored
witness, the construction rebuilt). A stage's peak is the largest resident set reached during it (the
kernel's high-water mark, reset before each stage where /proc/self/clear_refs allows, else the running
peak of the process).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import resource
import sys
import tempfile
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from slth import checks, constructions, liveness, measure, nets, pipeline, ticket  # noqa: E402
from slth.constructions import _blocks  # noqa: E402
from slth.constructions import subset_sum as ss_construction  # noqa: E402
from slth.experiments import provenance  # noqa: E402

NAME = "subset-sum"


def _reset_peak() -> bool:
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stages:
    """Times and peaks of named stages, in order."""

    def __init__(self):
        self.rows = []
        self.per_stage = True

    def run(self, job: str, stage: str, fn, *args, **kwargs):
        self.per_stage &= _reset_peak()
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args, **kwargs))
        seconds = time.perf_counter() - start
        self.rows.append({"job": job, "stage": stage, "seconds": seconds, "peak_mb": _peak_mb()})
        print(f"{job:7s} {stage:26s} {seconds:9.2f} s {self.rows[-1]['peak_mb']:9.0f} MB", flush=True)
        return out


def build_stages(st: Stages, job: str, target, spec) -> ticket.Ticket:
    """The subset-sum construction (``_blocks.build_blocks``) split into its stages."""
    random = st.run(job, "random network", nets.random_network, spec)
    target = tuple(jax.numpy.asarray(w, spec.dtype) for w in target)
    masks = []
    for i, w in enumerate(target, start=1):
        units = spec.units_per_block(i)
        cands, targets, valid = st.run(job, f"problems (pair {i})", _blocks.pair_problems, w, random[2 * i - 2],
                                       random[2 * i - 1], units, None, negative=(i == 1))
        chosen = st.run(job, f"solve (pair {i})", ss_construction.choose, cands, targets, valid)
        masks += st.run(job, f"ticket assembly (pair {i})",
                        lambda: _blocks.pair_masks(jax.numpy.asarray(chosen, bool) & valid, *w.shape, units))
    return ticket.Ticket(target=target, random=random, masks=tuple(masks), spec=spec, construction=NAME)


def measure_stages(st: Stages, job: str, tk: ticket.Ticket) -> dict:
    """``pipeline.measure_ticket`` split into its stages."""
    maps = st.run(job, "pair maps", measure.ticket_maps, tk)
    cert = st.run(job, "certificate", measure.ticket_certificate, tk, maps)
    norms = st.run(job, "certificate (product of norms)", measure.ticket_norm_certificate, tk, maps)
    lb = st.run(job, "lower bound", measure.ticket_lower_bound, tk, maps,
                key=measure.lower_bound_key(tk.spec.seed))
    mwe = st.run(job, "max weight error", measure.ticket_max_weight_error, tk, maps)
    live = st.run(job, "liveness", liveness.live_params, tk)
    return {"certificate": cert, "certificate_norms": norms, "lower_bound": lb.value, "witness": lb.witness, "max_weight_error": mwe,
            "random_params": tk.random_params(), "kept_params": tk.kept_params(), "live_params": live}


def run_job(dims, candidates: int, seed: int, folder: pathlib.Path) -> dict:
    st = Stages()
    spec = nets.RandomSpec(dims=dims, candidates=candidates, seed=seed, distribution="uniform")
    target = st.run("prune", "target", nets.random_target, dims, key=jax.random.key(seed))
    nets.check_target(target)
    tk = build_stages(st, "prune", target, spec)
    m = measure_stages(st, "prune", tk)
    meta = {"format": ticket.FORMAT, "construction": NAME, **spec.to_json(), "random_widths": list(spec.widths()),
            "depth": spec.random_depth, **{k: v for k, v in m.items() if k != "witness"},
            "construction_time_s": 0.0, "measure_time_s": 0.0, **provenance.record()}
    path = folder / "ticket.npz"
    st.run("prune", "save", ticket.save, tk, path, meta, witness=m["witness"])

    loaded, meta2, witness = st.run("verify", "read", ticket.load, path)
    problems = st.run("verify", "invariant (regenerate)", ticket.invariant_problems, loaded, regenerate=True)
    rec = measure_stages(st, "verify", loaded)
    rec = {k: v for k, v in rec.items() if k != "witness"}
    rec["random_widths"], rec["depth"] = list(spec.widths()), spec.random_depth
    lb_problems, _ = st.run("verify", "gap at the witness", pipeline._lower_bound_check, loaded,
                            meta2["lower_bound"], witness, rec)
    c_problems, c_unverified = st.run("verify", "construction rebuild", pipeline._construction_check, loaded, meta2)
    problems += lb_problems + c_problems + pipeline._claim_problems(meta2, rec)
    if problems or c_unverified:
        raise SystemExit(f"the ticket does not verify: {problems + c_unverified}")
    totals = {job: sum(r["seconds"] for r in st.rows if r["job"] == job) for job in ("prune", "verify")}
    results = {k: m[k] for k in ("certificate", "lower_bound", "max_weight_error", "random_params", "kept_params",
                                 "live_params")}
    return {"stages": st.rows, "peaks_per_stage": st.per_stage, "totals_s": totals,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "results": results, "witness_sha": _digest(m["witness"]),
            "masks_sha": _digest(np.concatenate([np.asarray(s).ravel() for s in tk.masks]))}


def _digest(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--dims", default=(784, 500, 10), type=checks.arg(checks.dims),
                        help="target widths d_0,...,d_l")
    parser.add_argument("--candidates", default=21, help="c, candidates per block and sign",
                        type=checks.arg(checks.integer, low=1, high=ss_construction.MAX_CANDIDATES))
    parser.add_argument("--seed", type=checks.arg(checks.seed), default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI (12-6-3, c = 6)")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.dims, args.candidates = (12, 6, 3), 6
    dims = args.dims
    with tempfile.TemporaryDirectory() as folder:
        out = run_job(dims, args.candidates, args.seed, pathlib.Path(folder))
    out = {"dims": list(dims), "candidates": args.candidates, "seed": args.seed,
           "git": provenance.git_revision(), "cpu_count": len(os.sched_getaffinity(0)), **out}
    print(f"prune {out['totals_s']['prune']:.2f} s, verify {out['totals_s']['verify']:.2f} s, "
          f"process peak {out['peak_mb']:.0f} MB; results {json.dumps(out['results'])}", flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
