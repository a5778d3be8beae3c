"""How closed the sandwich is (issue 15): the exact error, the certificate and the lower bound side by side.

    python benchmarks/sandwich.py --out benchmarks/out/sandwich.json       # the full table (tens of minutes)
    python benchmarks/sandwich.py --smoke                                  # tiny, under a minute

Sections, each against the issue's target (met or not, with the numbers):

1. exact: on subset-sum and selection tickets of targets with d <= 8 and l <= 3 at the widths the width
   search certifies (``slth.measure.trial_width``), :func:`slth.measure.exact.exact_error` with a 60 s
   limit: seconds, upper / lower (target <= 1.001 within 60 s); on the same tickets the certificate /
   exact upper end (target median <= 1.3), the product of norms / exact, and the adversarial lower
   bound / exact upper end (target >= 0.99 on every ticket);
2. sweeps: the certificate / lower bound of every ticket of the quick-scale width sweeps (the tickets of
   figure 6, read from ``--results``, made by ``slth figures --scale quick``; target median <= 1.5,
   max <= 10), beside docs/theory.md §3's product of norms on the same tickets; and the digits rows at c = 16:
   the fraction of test points proven to agree, with the certificate and with the product of norms;
3. check: ``slth check --construction selection --dims 8,8,8 --eps 0.01 --trials 5`` (certified /
   optimistic, target <= 1.3) and the default ``slth check`` (wall time, target under 2 minutes).

Every number comes from the run; the JSON holds every ticket's row and the provenance.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

from slth import checks, constructions, measure, nets, provenance  # noqa: E402
from slth.experiments import check as check_mod  # noqa: E402
from slth.experiments.store import read_table  # noqa: E402
from slth.measure import exact as exact_mod  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: (dims, eps, c_max) per construction for section 1: the widths the width search certifies there.
EXACT_CASES = {
    "subset-sum": [((8, 8, 8), 0.01, 23), ((4, 4, 4, 4), 0.02, 23), ((8, 8, 8, 8), 0.05, 23)],
    "selection": [((8, 8, 8), 0.05, 4096), ((4, 4, 4, 4), 0.1, 4096), ((8, 8, 8, 8), 0.2, 4096)],
}
SMOKE_CASES = {"subset-sum": [((3, 3, 2), 0.1, 8)], "selection": [((3, 3, 2), 0.3, 64)]}
WIDTH_SWEEPS = ("width_vs_d", "width_vs_l", "width_vs_eps")


def _median(xs):
    return statistics.median(xs) if xs else None


def exact_section(cases, seeds: int, time_limit: float) -> dict:
    rows = []
    for name, entries in cases.items():
        for dims, eps, c_max in entries:
            for seed in range(seeds):
                target = nets.random_target(dims, key=jax.random.key(seed))
                tw = measure.trial_width(name, target, seed=seed, eps=eps, c_max=c_max)
                c = tw.certified or c_max
                spec = constructions.spec_for(name, nets.RandomSpec(dims=dims, candidates=c, seed=seed))
                ticket = constructions.build(name, target, spec)
                maps = measure.ticket_maps(ticket)
                cert = measure.ticket_certificate(ticket, maps)
                norms = measure.ticket_norm_certificate(ticket, maps)
                lb = measure.ticket_lower_bound(ticket, maps).value
                e = exact_mod.exact_error(ticket, time_limit=time_limit)
                rows.append({"construction": name, "dims": list(dims), "eps": eps, "seed": seed, "c": c,
                             "binaries": e.binaries, "seconds": e.seconds, "status": e.status,
                             "exact_lower": e.lower, "exact_upper": e.upper,
                             "upper_over_lower": e.upper / e.lower if e.lower > 0 else None,
                             "certificate": cert, "certificate_norms": norms, "lower_bound": lb,
                             "certificate_over_exact": cert / e.upper if e.upper > 0 else None,
                             "norms_over_exact": norms / e.upper if e.upper > 0 else None,
                             "lower_bound_over_exact": lb / e.upper if e.upper > 0 else None,
                             "violation": lb > e.upper + measure.ROUNDOFF or cert < e.lower - measure.ROUNDOFF})
                print(f"  exact {name:10s} {'-'.join(map(str, dims)):9s} seed {seed} c {c:5d}: "
                      f"[{e.lower:.6g}, {e.upper:.6g}] {e.status} {e.seconds:.1f} s, cert/exact "
                      f"{rows[-1]['certificate_over_exact']:.3f}, lb/exact {rows[-1]['lower_bound_over_exact']:.4f}",
                      flush=True)
    return summarise_exact(rows)


def summarise_exact(rows: list[dict]) -> dict:
    """Section 1's figures from its rows: the ratios to the exact error only where the bracket closed
    (status "optimal"); elsewhere the upper end is the certificate or the program's bound so far."""
    ok = [r for r in rows if r["upper_over_lower"] is not None]
    closed = [r for r in rows if r["status"] == "optimal"]
    return {
        "rows": rows,
        "closed": len(closed),
        "tickets": len(rows),
        "within_1.001_in_60s": sum(r["status"] == "optimal" and r["upper_over_lower"] <= 1.001 for r in ok),
        "seconds_median": _median([r["seconds"] for r in rows]),
        "seconds_max": max((r["seconds"] for r in rows), default=None),
        "certificate_over_exact_median": _median([r["certificate_over_exact"] for r in closed
                                                  if r["certificate_over_exact"]]),
        "certificate_over_exact_max": max((r["certificate_over_exact"] for r in closed
                                           if r["certificate_over_exact"]), default=None),
        "norms_over_exact_median": _median([r["norms_over_exact"] for r in closed if r["norms_over_exact"]]),
        "lower_bound_over_exact_min": min((r["lower_bound_over_exact"] for r in closed
                                           if r["lower_bound_over_exact"] is not None), default=None),
        "violations": sum(r["violation"] for r in rows),
    }


def sweep_section(results: pathlib.Path) -> dict:
    out = {"results": str(results)}
    tickets = {}
    for sweep in WIDTH_SWEEPS:
        folder = results / sweep
        if not (folder / "results.csv").exists():
            out.setdefault("missing", []).append(sweep)
            continue
        for r in read_table(folder):
            for c, cert, norms, lower in ((r["certified"], r["certificate"], r["certificate_norms"],
                                           r["lower_bound_at_certified"]),
                                          (r["optimistic"], r["certificate_at_optimistic"],
                                           r["certificate_norms_at_optimistic"], r["lower_bound"])):
                if c is not None and cert is not None and lower:
                    tickets[(sweep, r["cell"], r["seed"], c)] = (r["construction"], r["l"], cert, norms, lower)
    per = {}
    for con, l, cert, norms, lower in tickets.values():
        for key in (con, f"{con} l={l}", "all"):
            per.setdefault(key, {"cert": [], "norms": []})
            per[key]["cert"].append(cert / lower)
            per[key]["norms"].append(norms / lower)
    out["ratios"] = {k: {"tickets": len(v["cert"]), "certificate_over_lower_median": _median(v["cert"]),
                         "certificate_over_lower_max": max(v["cert"]),
                         "norms_over_lower_median": _median(v["norms"]), "norms_over_lower_max": max(v["norms"])}
                     for k, v in sorted(per.items())}
    digits = results / "digits"
    if (digits / "results.csv").exists():
        rows = [r for r in read_table(digits) if r["c"] == 16]
        out["digits_c16"] = [{"construction": r["construction"], "seed": r["seed"],
                              "proven_fraction": r["guaranteed_fraction"],
                              "proven_fraction_norms": r["guaranteed_fraction_norms"],
                              "certificate": r["certificate"], "certificate_norms": r["certificate_norms"]}
                             for r in rows]
    return out


def check_section(smoke: bool) -> dict:
    args = dict(dims="3,3,2", eps=0.1, trials=2) if smoke else dict(dims="8,8,8", eps=0.01, trials=5)
    start = time.perf_counter()
    rep = check_mod.check("selection", args["dims"], args["eps"], 0.1, trials=args["trials"],
                          c_max=256 if smoke else None)
    m = rep.measured
    out = {"selection": {**args, "certified": m.certified, "optimistic": m.optimistic,
                         "certified_over_optimistic": m.certified / m.optimistic if m.certified and m.optimistic
                         else None, "seconds": time.perf_counter() - start}}
    if not smoke:
        start = time.perf_counter()
        proc = subprocess.run([str(pathlib.Path(sys.executable).with_name("slth")), "check", "--json"], capture_output=True,
                              text=True, check=True)
        default = json.loads(proc.stdout)
        out["default"] = {"seconds": time.perf_counter() - start, "certified": default["measured"]["certified"],
                          "optimistic": default["measured"]["optimistic"], "c_max": default["c_max"]}
    return out


def table(result: dict) -> str:
    ex, sw, ch = result["exact"], result.get("sweeps", {}), result["check"]

    def f(v, spec="{:.3g}"):
        return "-" if v is None else spec.format(v)

    lines = ["target                                                   measured                      met",
             "-" * 96]

    def line(what, value, met):
        lines.append(f"{what:56s} {value:29s} {'yes' if met else 'NO' if met is not None else '-'}")

    n = ex["tickets"]
    line("exact: upper/lower <= 1.001 within 60 s, every ticket", f"{ex['within_1.001_in_60s']}/{n} tickets",
         ex["within_1.001_in_60s"] == n)
    line("exact: seconds per ticket (median, max)", f"{f(ex['seconds_median'])}, {f(ex['seconds_max'])}", None)
    line(f"certificate / exact <= 1.3 (median; {ex['closed']} closed brackets)",
         f"{f(ex['certificate_over_exact_median'])} (max {f(ex['certificate_over_exact_max'])})",
         ex["certificate_over_exact_median"] is not None and ex["certificate_over_exact_median"] <= 1.3)
    line("  product of norms / exact (median, for comparison)", f(ex["norms_over_exact_median"]), None)
    line("lower bound / exact >= 0.99 (min over closed brackets)", f(ex["lower_bound_over_exact_min"], "{:.4f}"),
         ex["lower_bound_over_exact_min"] is not None and ex["lower_bound_over_exact_min"] >= 0.99)
    line("no upper end below a witnessed lower bound", f"{ex['violations']} violations", ex["violations"] == 0)
    allr = sw.get("ratios", {}).get("all")
    if allr:
        line("quick sweeps: certificate / lower bound median <= 1.5", f(allr["certificate_over_lower_median"]),
             allr["certificate_over_lower_median"] <= 1.5)
        line("quick sweeps: certificate / lower bound max <= 10", f(allr["certificate_over_lower_max"]),
             allr["certificate_over_lower_max"] <= 10)
        line("  product of norms / lower bound (median, max)",
             f"{f(allr['norms_over_lower_median'])}, {f(allr['norms_over_lower_max'])}", None)
        for k, v in sw["ratios"].items():
            if k != "all":
                lines.append(f"    {k:24s} {v['tickets']:4d} tickets: certificate/lb median {v['certificate_over_lower_median']:.3g} "
                             f"max {v['certificate_over_lower_max']:.3g}; norms/lb median {v['norms_over_lower_median']:.3g} "
                             f"max {v['norms_over_lower_max']:.3g}")
    for r in sw.get("digits_c16", []):
        line(f"digits c = 16 ({r['construction']}, seed {r['seed']}): proven, before -> after",
             f"{r['proven_fraction_norms']:.1%} -> {r['proven_fraction']:.1%}", None)
    s = ch["selection"]
    line(f"slth check selection {s['dims']} eps {s['eps']}: certified/optimistic <= 1.3",
         f"{s['certified']}/{s['optimistic']} = {f(s['certified_over_optimistic'])}",
         s["certified_over_optimistic"] is not None and s["certified_over_optimistic"] <= 1.3)
    if "default" in ch:
        d = ch["default"]
        line("default slth check under 2 minutes", f"{d['seconds']:.1f} s (certified {d['certified']})",
             d["seconds"] < 120)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "sandwich.json"))
    ap.add_argument("--results", default=str(ROOT / "results" / "quick"),
                    help="results folder of the quick-scale sweeps (slth figures --scale quick)")
    ap.add_argument("--seeds", type=checks.arg(checks.count), default=4,
                    help="targets per exact case (default: %(default)s)")
    ap.add_argument("--time-limit", type=checks.arg(checks.positive), default=60.0,
                    help="seconds of the exact solver per ticket (default: %(default)s)")
    ap.add_argument("--smoke", action="store_true", help="tiny cases, no sweeps, no default check")
    ap.add_argument("--table-from", metavar="JSON",
                    help="recompute the summaries and the table from the rows of an earlier run's JSON "
                         "(written back to --out), without running anything")
    args = ap.parse_args(argv)
    if args.table_from:
        try:
            result = json.loads(pathlib.Path(args.table_from).read_text())
            result["exact"] = summarise_exact(result["exact"]["rows"])
            result["table"] = table(result)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            ap.error(f"--table-from {args.table_from!r} is not the JSON of an earlier run of this script "
                     f"({type(e).__name__}: {e})")
        print(result["table"])
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2, sort_keys=True, default=float))
        return 0
    start = time.perf_counter()
    result = {"provenance": provenance.record(), "command": " ".join(sys.argv)}
    print("1. exact error", flush=True)
    result["exact"] = exact_section(SMOKE_CASES if args.smoke else EXACT_CASES, 1 if args.smoke else args.seeds,
                                    10.0 if args.smoke else args.time_limit)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True, default=float))   # kept if a later section fails
    if not args.smoke:
        print("2. quick sweeps", flush=True)
        result["sweeps"] = sweep_section(pathlib.Path(args.results))
    print("3. slth check", flush=True)
    result["check"] = check_section(args.smoke)
    result["wall_s"] = time.perf_counter() - start
    text = table(result)
    result["table"] = text
    print(text)
    out.write_text(json.dumps(result, indent=2, sort_keys=True, default=float))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
