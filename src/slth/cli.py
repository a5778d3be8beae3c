"""``slth``: the command line. Thin: parse, validate, call the library, print a table or JSON.

One job: the command line (its parser, one ``cmd_*`` per subcommand, and the translation of every
failure into one line and an exit status); no mathematics and no file format lives here.

Exit status: 0 success (a valid ticket for ``verify``), 1 an invalid ticket, 2 bad input or an
unreadable file, 3 a ticket whose random network cannot be regenerated (unverifiable).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from slth import checks

EXIT_OK, EXIT_INVALID, EXIT_INPUT, EXIT_UNVERIFIABLE = 0, 1, 2, 3

DEFAULTS = dict(construction="subset-sum", dims="8,16,16,4", candidates=20, seed=0, out="ticket.npz")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


# Argument types: the checks of slth.checks, in argparse's one-line usage errors.
_positive_int = checks.arg(checks.count)
_seed = checks.arg(checks.seed)
_unit_float = checks.arg(checks.open_unit)
_positive_float = checks.arg(checks.positive)


def build_parser() -> argparse.ArgumentParser:
    from slth.constructions import CONSTRUCTIONS
    from slth.nets import DISTRIBUTIONS

    parser = _Parser(prog="slth", description="Strong lottery tickets: build, certify and verify them.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "prune", help="build a ticket for a target and measure its error from both sides",
        description="Prune a random 2l-deep ReLU network to approximate a target network, then report "
                    "the certified upper bound and an adversarial lower bound on the sup error over the "
                    "unit ball. With no options: a subset-sum ticket for a random 8,16,16,4 target.")
    p.add_argument("--construction", default=DEFAULTS["construction"], choices=sorted(CONSTRUCTIONS),
                   help="which construction chooses the masks (default: %(default)s)")
    p.add_argument("--dims", default=DEFAULTS["dims"],
                   help="target widths d_0,...,d_l for a random target (default: %(default)s)")
    p.add_argument("--candidates", type=_positive_int, default=DEFAULTS["candidates"],
                   help="c, random candidates per block and sign; each block has 2c hidden units "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=_seed, default=DEFAULTS["seed"],
                   help="seed of the random network (default: %(default)s)")
    p.add_argument("--out", default=DEFAULTS["out"], help="ticket file to write (default: %(default)s)")
    p.add_argument("--target", help="load the target from this .npz (arrays target_0..target_{l-1}) "
                                    "instead of drawing one; overrides --dims")
    p.add_argument("--rescale-target", action="store_true",
                   help="scale target layers with spectral norm > 1 down to 1 instead of rejecting them")
    p.add_argument("--target-seed", type=_seed, default=None,
                   help="seed of the random target (default: the value of --seed)")
    p.add_argument("--target-dist", default="gaussian", choices=sorted(DISTRIBUTIONS),
                   help="entry law of the random target before each layer is rescaled (default: %(default)s)")
    p.add_argument("--target-norm", type=float, default=1.0,
                   help="spectral norm of every random target layer, in (0, 1] (default: %(default)s)")
    p.add_argument("--dist", default=None, choices=sorted(DISTRIBUTIONS),
                   help="entry law of the random network (default: the law the construction's theorem "
                        "assumes, else uniform, i.e. U[-1,1])")
    p.add_argument("--drop-negative", action="store_true",
                   help="for layer pairs i >= 2, drop the useless negative candidates (c units per "
                        "block, halving inner widths); off by default to reproduce the papers' widths")
    p.add_argument("--exact", type=_positive_float, nargs="?", const=60.0, default=None, metavar="SECONDS",
                   help="also compute the exact error of a small ticket (slth.measure.exact: both ends proven "
                        "to a relative 1e-3) within this time limit (default when given: 60 s); a ticket "
                        "too large for it is refused before any work")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_prune)

    v = sub.add_parser(
        "verify", help="recompute everything about a ticket file and check it",
        description="Read a ticket file with bounded memory and strict checks of every array and meta "
                    "field, regenerate its random network from the recorded seed and compare it bit for "
                    "bit, check the masks' block structure, recompute certificate, max weight error and "
                    "counts, check the lower bound at its witness (in the unit ball, below the "
                    "certificate), and rebuild the masks with the named construction. Exit 0 only if "
                    "the ticket is valid (1 invalid: a false claim, 2 unreadable or malformed, "
                    "3 unverifiable: a claim that can be neither proved nor refuted here).")
    v.add_argument("ticket", help="the .npz ticket file")
    v.add_argument("--json", action="store_true", help="print JSON instead of text")
    v.set_defaults(func=cmd_verify)

    from slth.experiments.check import DEFAULTS as CHECK

    c = sub.add_parser(
        "check", help="measure the minimal width and print it beside every bound",
        description="Measure the smallest candidates per block and sign at which a 1 - delta fraction of "
                    "T random networks yield eps-tickets (certified and optimistic), and print it beside "
                    "Pensia et al.'s, Malach et al.'s and the selection construction's widths and the "
                    "counting lower bound, with the ratios. With no options: subset-sum, 16,16,16, "
                    "eps 0.01, delta 0.1, 20 trials.")
    c.add_argument("--construction", action="append", default=None, choices=sorted(CONSTRUCTIONS) + ["all"],
                   help=f"construction to measure (default: {CHECK['construction']}); repeat it, or say 'all', "
                        "to measure several on the same targets and rank them by random parameters, kept "
                        "parameters and time")
    c.add_argument("--dims", default=CHECK["dims"], help="target widths d_0,...,d_l (default: %(default)s)")
    c.add_argument("--eps", type=_unit_float, default=CHECK["eps"], help="accuracy, in (0, 1) (default: %(default)s)")
    c.add_argument("--delta", type=_unit_float, default=CHECK["delta"],
                   help="failure probability, in (0, 1) (default: %(default)s)")
    c.add_argument("--trials", type=_positive_int, default=CHECK["trials"],
                   help="independent (target, network) pairs; trial t uses seed + t (default: %(default)s)")
    c.add_argument("--seed", type=_seed, default=CHECK["seed"], help="first seed (default: %(default)s)")
    c.add_argument("--c-max", type=_positive_int, default=None,
                   help="largest c searched (default: the construction's search limit, "
                        "slth.constructions.search_limit)")
    c.add_argument("--exact", type=_positive_float, nargs="?", const=60.0, default=None, metavar="SECONDS",
                   help="also search the exact width (the exact error's proven upper end <= eps, "
                        "slth.measure.exact) within this time limit per ticket (default when given: 60 s); "
                        "targets too large for the exact method are refused before any work")
    c.add_argument("--json", action="store_true", help="print JSON instead of the table")
    c.set_defaults(func=cmd_check)

    r = sub.add_parser(
        "run", help="run a sweep spec (experiments/*.toml) into results/<name>/, resumably",
        description="Execute every (cell, trial) of a TOML sweep spec, one row each, into "
                    "<results>/<name>/results.csv with seed, versions, device, git revision and wall time; "
                    "then write summary.csv and fits.json and print them. Started again after an "
                    "interruption (Ctrl-C, kill -9, a full disk) it computes only the missing rows; a second "
                    "run on the same folder is refused (or waits, --wait). Ctrl-C stops after the current "
                    "trial, Ctrl-C twice at once; both exit with status 130. Across machines: "
                    "start one process per machine with the same --coordinator and --num-processes.")
    r.add_argument("spec", help="the sweep spec, a .toml file")
    r.add_argument("--results", default="results", help="root folder of results (default: %(default)s)")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar on stderr (default: when stderr is a terminal)")
    r.add_argument("--coordinator", help="jax.distributed coordinator address host:port (multi-process run)")
    r.add_argument("--num-processes", type=_positive_int, default=None, help="processes in a multi-process run")
    r.add_argument("--process-id", type=int, default=None, help="this process's index in [0, num-processes)")
    r.add_argument("--wait", action="store_true",
                   help="if another run holds the results folder, wait for it to end and then resume from its "
                        "rows (default: refuse with exit status 2, naming the run's pid, host and start time)")
    r.set_defaults(func=cmd_run)

    sp = sub.add_parser(
        "separation", help="neuron pruning versus weight pruning on one ReLU neuron",
        description="For a single-neuron target sigma(<w*, x>) in dimension d and inputs x ~ N(0, I/d) (or "
                    "uniform on the sphere), compare at matched random-parameter budgets: random features "
                    "(least squares on the output weights, the relaxation of neuron pruning), greedy and "
                    "exact neuron pruning of the same random depth-2 network, and the subset-sum and "
                    "selection tickets. Prints test L2 errors with 95% intervals and the certificates.")
    sp.add_argument("--d", default="2,4,8,16", help="input dimensions (default: %(default)s)")
    sp.add_argument("--candidates", default="1,2,4,8",
                    help="c per block and sign, which sets the budget 2cd(d+1) + 4c (default: %(default)s)")
    sp.add_argument("--inputs", default="gaussian", choices=["gaussian", "sphere"],
                    help="input law (default: %(default)s)")
    sp.add_argument("--n-train", type=_positive_int, default=4000, help="training sample (default: %(default)s)")
    sp.add_argument("--n-test", type=_positive_int, default=4000, help="test sample (default: %(default)s)")
    sp.add_argument("--seed", type=_seed, default=0, help="seed (default: %(default)s)")
    sp.add_argument("--json", action="store_true", help="print JSON instead of the table")
    sp.set_defaults(func=cmd_separation)

    g = sub.add_parser(
        "digits", help="train a small ReLU target on real data and measure its tickets",
        description="Train a bias-free ReLU MLP on scikit-learn's digits (or your MNIST files with --data), "
                    "rescale it into the theorems' assumptions (predictions unchanged, checked), prune "
                    "random networks with the weight-pruning constructions at increasing candidates per "
                    "block, and report target and ticket test accuracy, agreement, certificate, lower bound, "
                    "the fraction of test points whose margin proves agreement, parameter counts and time.")
    g.add_argument("--dims", default="64,32,10", help="target widths (default: %(default)s; 784,...,10 for MNIST)")
    g.add_argument("--construction", action="append", choices=sorted(CONSTRUCTIONS),
                   help="construction to measure (repeatable; default: both)")
    g.add_argument("--candidates", default=None,
                   help="comma-separated c per block and sign for every chosen construction (default: "
                        "4,8,12,16,20 for subset-sum and 16,64,256,512 for selection)")
    g.add_argument("--seed", type=_seed, default=0, help="training seed (default: %(default)s)")
    g.add_argument("--network-seed", type=_seed, default=0, help="seed of the random networks (default: %(default)s)")
    g.add_argument("--epochs", type=_positive_int, default=60, help="training epochs (default: %(default)s)")
    g.add_argument("--data", default=None,
                   help="MNIST instead of the digits: an .npz with x_train, y_train, x_test, y_test, or a "
                        "folder with the four IDX files (optionally .gz)")
    g.add_argument("--json", action="store_true", help="print JSON instead of the table")
    g.set_defaults(func=cmd_digits)

    st = sub.add_parser(
        "selftest", help="run the theorem suite (THEORY §5) from the installed package",
        description="Run every property of THEORY §5 (slth.theorems) over every registered construction "
                    "and print, per property, the cases checked, the failures, and for probabilistic "
                    "statements the observed rate with its interval against the claimed bound. Exit 0 "
                    "only if everything holds.")
    st.add_argument("--thorough", action="store_true",
                    help="many more examples and trials (the 'thorough' profile; minutes to hours)")
    st.add_argument("--import", dest="imports", action="append", default=[],
                    help="import this module first (e.g. one that registers your own construction in "
                         "slth.constructions.CONSTRUCTIONS); repeatable")
    st.set_defaults(func=cmd_selftest)

    f = sub.add_parser(
        "fit", help="recompute a sweep's summary and fits from its results table",
        description="Read <dir>/results.csv and <dir>/spec.toml (every row must carry the spec's fingerprint), "
                    "rewrite summary.csv and fits.json, and "
                    "print the per-cell table and the fitted constants and exponents with bootstrap "
                    "intervals. With several width folders, also fit all their rows together (one power "
                    "law in d, l and 1/eps) and print it (--json: print that joint fit as JSON).")
    f.add_argument("directory", nargs="+", help="results folders, results/<name>")
    f.add_argument("--json", action="store_true", help="print the joint fits as JSON (several folders)")
    f.set_defaults(func=cmd_fit)

    fg = sub.add_parser(
        "figures", help="run the sweeps a scale needs (only what is missing) and draw every figure",
        description="Draw the figures of paper_figures/ (PDF, PNG and the CSV each plots). The sweeps they "
                    "read are run first at the chosen scale, resuming: a complete sweep is only re-read. "
                    "Scales: toy (seconds), quick (minutes; the committed PNGs), paper (the full grids of "
                    "experiments/*.toml).")
    fg.add_argument("--scale", default="quick", choices=["toy", "quick", "paper"],
                    help="sweep sizes (default: %(default)s)")
    fg.add_argument("--results", default=None,
                    help="results folder (default: results/<scale>, and results/ for paper)")
    fg.add_argument("--out", default=None, help="output folder (default: paper_figures/<scale>)")
    fg.add_argument("--only", action="append", default=None,
                    help="draw only this figure (e.g. fig3 or fig3_width_vs_d); repeatable")
    fg.add_argument("--root", default=None, help="the slth checkout (default: found from the working folder)")
    fg.set_defaults(func=cmd_figures)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import jax

    # The verification path is float64 throughout; the CLI is an application, so it sets the flag.
    jax.config.update("jax_enable_x64", True)
    from slth.errors import InputError

    try:
        return args.func(args)
    except InputError as e:
        print(f"slth {args.command}: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(f"slth {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        # A file the command writes (a full disk, a read-only folder, a file in place of a folder): one
        # line naming the path and the reason, never a traceback. Without a file name the OS error was
        # raised while writing the command's output (np.savez on an open file, a closed stdout); a
        # failed rename names its destination second.
        outputs = [Path(p) for p in (getattr(args, "out", None), getattr(args, "results", None)) if p]
        path = e.filename2 or e.filename or (str(outputs[0]) if outputs and not isinstance(e, BrokenPipeError)
                                             else "<stdout>")
        written = e.filename is None or any(Path(path) == o or o in Path(path).parents or
                                            Path(path).parent == o.parent for o in outputs)
        print(f"slth {args.command}: error: cannot {'write' if written else 'access'} {str(path)!r}: "
              f"{e.strerror or e}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        from slth import budget

        print(f"slth {args.command}: error: out of memory (the {budget.gigabytes(budget.available()[0])} available "
              "were not enough, above slth's estimate); make the problem smaller", file=sys.stderr)
        return EXIT_INPUT
    except jax.errors.JaxRuntimeError as e:
        if "RESOURCE_EXHAUSTED" not in str(e) and "Out of memory" not in str(e):
            raise
        print(f"slth {args.command}: error: out of memory in XLA ({str(e).splitlines()[0].split(': ')[-1]}), "
              "above slth's estimate; make the problem smaller", file=sys.stderr)
        return EXIT_INPUT


def cmd_prune(args) -> int:
    import jax

    from slth import budget, constructions, measure, nets, pipeline, ticket
    from slth.errors import InputError

    constructions.check_candidates(args.construction, args.candidates)
    out = Path(args.out)
    if out.is_dir() or not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise InputError(f"--out {args.out!r} must name a file in an existing folder")
    if args.target:
        target = nets.load_target(args.target, rescale_to_unit=args.rescale_target)
        dims = nets.dims_of(target)
    else:
        if not 0 < args.target_norm <= 1:
            raise InputError(f"--target-norm {args.target_norm} must be in (0, 1]")
        dims = nets.parse_dims(args.dims)
    from slth.measure.width import default_distribution
    spec = nets.RandomSpec(dims=dims, candidates=args.candidates, seed=args.seed,
                           distribution=default_distribution(args.construction, args.dist),
                           drop_negative=args.drop_negative)
    spec = measure.network_spec(args.construction, spec)   # the layout only: a wrong --dist is refused
    # Memory, the ticket file's size limit and the --out folder, before the target is even drawn.
    budget.check_prune(args.construction, spec, out=out)
    if not args.target:
        tseed = args.seed if args.target_seed is None else args.target_seed
        target = nets.random_target(dims, key=jax.random.key(tseed), distribution=args.target_dist,
                                    norm=args.target_norm)
    tk, meta, witness = pipeline.prune(args.construction, target, spec, exact=args.exact)
    ticket.save(tk, out, meta, witness=witness)
    if args.json:
        print(json.dumps(meta | {"out": str(out)}, indent=2, sort_keys=True))
    else:
        print(_summary(meta, out))
    return EXIT_OK


def _summary(meta: dict, out: Path) -> str:
    dims = "-".join(map(str, meta["dims"]))
    widths = "-".join(map(str, meta["random_widths"]))
    kept = meta["kept_params"] / meta["random_params"]
    return "\n".join([
        f"slth prune: {meta['construction']} ticket for target {dims} "
        f"(seed {meta['seed']}, c = {meta['candidates']} candidates per block and sign)",
        f"  random network    depth {meta['depth']}, widths {widths}, {meta['distribution']} entries",
        f"  parameters        random {meta['random_params']:,}, kept {meta['kept_params']:,} ({kept:.2%}), "
        f"live {meta['live_params']:,} (kept weights that can change the output)",
        f"  max weight error  {meta['max_weight_error']:.3e}",
        f"  sup error E       {meta['lower_bound']:.3e} (lower bound) <= E <= "
        f"{meta['certificate']:.3e} (certificate; product of norms {meta['certificate_norms']:.3e})",
        *([f"  exact error       {meta['exact_lower']:.6e} <= E <= {meta['exact_upper']:.6e} "
           f"({meta['exact_status']}, limit {meta['exact_time_limit_s']:g} s)"] if "exact_upper" in meta else []),
        f"  time              construction {meta['construction_time_s']:.2f} s, "
        f"measurement {meta['measure_time_s']:.2f} s",
        f"  wrote             {out}",
    ])


def cmd_verify(args) -> int:
    from slth import pipeline
    from slth.errors import InputError

    codes = {"valid": EXIT_OK, "invalid": EXIT_INVALID, "unreadable": EXIT_INPUT, "unverifiable": EXIT_UNVERIFIABLE}
    try:
        report = pipeline.verify(args.ticket)
    except InputError as e:               # unreadable, not a ticket, or malformed
        report = {"status": "unreadable", "error": str(e)}
    except Exception as e:                # a hostile file must never end in a traceback (nor in exit 1)
        report = {"status": "unverifiable",
                  "error": f"could not verify the file: {type(e).__name__}: {e} (a bug in slth verify)"}
    status = report["status"]
    if "error" in report:
        unreadable = status == "unreadable"
        report |= {"path": str(args.ticket), "problems": [report["error"]] if unreadable else [],
                   "unverified": [] if unreadable else [report["error"]]}
    report["exit_code"] = codes[status]
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True, default=float))
    elif "error" in report:
        print(f"slth verify: error: {report['error']}".replace("\n", " "), file=sys.stderr)
    else:
        print(f"slth verify: {args.ticket}: {status.upper()}")
        rec = report.get("recomputed") or {}
        if rec:
            print(f"  construction {report['construction']}, dims {'-'.join(map(str, report['dims']))}, "
                  f"random widths {'-'.join(map(str, report['random_widths']))}")
            exact = (f", exact [{rec['exact_lower']:.6e}, {rec['exact_upper']:.6e}]" if "exact_upper" in rec else "")
            print(f"  recomputed: certificate {rec['certificate']:.3e} (product of norms "
                  f"{rec['certificate_norms']:.3e}){exact}, lower bound {rec['lower_bound']:.3e}, "
                  f"max weight error {rec['max_weight_error']:.3e}, kept {rec['kept_params']:,} of "
                  f"{rec['random_params']:,} parameters")
        for p in report["problems"]:
            print(f"  problem: {p}")
        for u in report["unverified"]:
            print(f"  unverified: {u}")
        if report.get("unchecked"):
            print(f"  not checked (meta keys this slth does not know): {', '.join(report['unchecked'])}")
    return report["exit_code"]


def _progress_bar(unit: str):
    """A tqdm bar on stderr (silent when stderr is not a terminal), as a callable(done, total)."""
    from tqdm import tqdm

    state = {}

    def update(done, total):
        if "bar" not in state:
            state["bar"] = tqdm(total=total, unit=unit, file=sys.stderr, disable=None, leave=False)
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def cmd_check(args) -> int:
    from slth import constructions
    from slth.errors import InputError
    from slth.experiments import check, compare

    names = args.construction or [check.DEFAULTS["construction"]]
    if "all" in names:
        names = list(constructions.REGISTRY)
    if len(names) > 1:
        if args.exact is not None:
            raise InputError("--exact measures one construction; give a single --construction")
        result = compare.compare(names, args.dims, args.eps, args.delta, trials=args.trials, seed=args.seed,
                                 c_max=args.c_max, progress=_progress_bar("construction"))
        print(json.dumps(result.to_json(), indent=2, sort_keys=True) if args.json
              else compare.format_comparison(result))
        return EXIT_OK
    report = check.check(names[0], args.dims, args.eps, args.delta, trials=args.trials,
                         seed=args.seed, c_max=args.c_max, progress=_progress_bar("trial"), exact=args.exact)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        print(check.format_report(report))
    return EXIT_OK


def cmd_run(args) -> int:
    import os

    from slth.errors import InputError
    from slth.experiments import runner, spec as specs

    # From here on SIGINT only asks the sweep to stop between two units (see slth.experiments.runner).
    with runner.deferred_interrupts():
        spec = specs.load(args.spec)
        dist = (args.coordinator, args.num_processes, args.process_id)
        barrier, index, count = None, 0, 1
        if any(v is not None for v in dist):
            if any(v is None for v in dist):
                raise InputError("--coordinator, --num-processes and --process-id go together")
            if not 0 <= args.process_id < args.num_processes:
                raise InputError(f"--process-id {args.process_id} must be in [0, {args.num_processes})")
            runner.preflight(spec, args.results, process_index=args.process_id, process_count=args.num_processes)
            import jax
            from jax.experimental import multihost_utils

            # CPU devices need a collectives implementation for the barriers (accelerators have their own);
            # the backend must not be touched before initialize(), so set it unconditionally.
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
            jax.distributed.initialize(coordinator_address=args.coordinator, num_processes=args.num_processes,
                                       process_id=args.process_id)
            index, count = jax.process_index(), jax.process_count()
            barrier = multihost_utils.sync_global_devices
        try:
            result = runner.run(spec, results=args.results, progress=args.progress, process_index=index,
                                process_count=count, barrier=barrier, wait=args.wait)
        except KeyboardInterrupt:
            if count == 1:
                raise
            # jax.distributed's exit handler would wait for the other processes, which go on working
            print("slth run: interrupted", file=sys.stderr, flush=True)
            os._exit(runner.EXIT_INTERRUPTED)
    for line in result.dropped:
        print(f"slth run: dropped damaged journal line ({line}); its trial was computed again", file=sys.stderr)
    print(f"slth run: {spec.name}: computed {result.computed} rows, {result.skipped} already done"
          + (f" (process {index} of {count})" if count > 1 else ""))
    if result.report:
        print(result.report)
    return EXIT_OK


def _int_list(flag: str, text: str) -> tuple[int, ...]:
    from slth.errors import InputError

    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{flag} {text!r} must be comma-separated integers like 2,4,8") from None


def cmd_separation(args) -> int:
    """``slth separation``: :func:`slth.studies.separation.separation` (rows by ``row_for``, the sweep's
    unit) printed as its per-row report or JSON."""
    from slth import budget
    from slth.studies import separation

    d_values, candidates = _int_list("--d", args.d), _int_list("--candidates", args.candidates)
    budget.check_separation(d_values, candidates, n_train=args.n_train, n_test=args.n_test)
    report = separation.separation(d_values, candidates, inputs=args.inputs, n_train=args.n_train,
                                   n_test=args.n_test, seed=args.seed)
    print(json.dumps(report.to_json(), indent=2, sort_keys=True) if args.json else separation.format_report(report))
    return EXIT_OK


def cmd_digits(args) -> int:
    """``slth digits``: :func:`slth.studies.digits.digits` (``prepare`` + ``ticket_row``, the sweep's
    units) printed as its per-row report or JSON."""
    from slth import budget
    from slth.studies import digits

    chosen = args.construction or list(digits.DEFAULT_CANDIDATES)
    if args.candidates is None:
        candidates = {name: digits.DEFAULT_CANDIDATES.get(name, (4, 8, 16)) for name in chosen}
    else:
        candidates = {name: _int_list("--candidates", args.candidates) for name in chosen}
    if args.data is not None:   # the inputs before their memory
        digits.data.check_path(args.data)
    budget.check_digits(args.dims, candidates, data=args.data)
    report = digits.digits(args.dims, candidates=candidates, seed=args.seed, network_seed=args.network_seed,
                           epochs=args.epochs, data=args.data,
                           progress=lambda msg: print(f"  {msg}", file=sys.stderr) if sys.stderr.isatty() else None)
    print(json.dumps(report.to_json(), indent=2, sort_keys=True) if args.json else digits.format_report(report))
    return EXIT_OK


def cmd_selftest(args) -> int:
    from slth.theorems import selftest

    code, records = selftest.run(thorough=args.thorough, imports=args.imports)
    print()
    print(f"slth selftest ({'thorough' if args.thorough else 'ci'} profile):")
    print(selftest.table(records))
    print("all properties hold" if code == 0 else f"FAILURES: pytest exit code {code}")
    return EXIT_OK if code == 0 else EXIT_INVALID


def cmd_figures(args) -> int:
    from slth import figures

    written = figures.regenerate(args.scale, root=None if args.root is None else Path(args.root),
                                 results=args.results, out=args.out, only=args.only,
                                 log=lambda m: print(m, flush=True))
    print(f"slth figures: {len(written)} files written")
    return EXIT_OK


def cmd_fit(args) -> int:
    from slth.experiments import refit

    reports, joint = refit.refit(args.directory)
    if joint is not None:
        fitted, text = joint
        print(json.dumps(fitted, indent=2, sort_keys=True) if args.json else "\n\n".join(reports + [text]))
    else:
        print(reports[0])
    return EXIT_OK


def entry() -> None:
    """The ``slth`` executable: :func:`main`, and after a Ctrl-C an exit that skips the interpreter's
    final clean-up. A KeyboardInterrupt raised while the main thread waited for XLA leaves that work
    running on XLA's threads, and freeing the JAX client under it at interpreter exit can crash
    (SIGSEGV; the sweep runner defers SIGINT to between units for the same reason). Everything a
    command writes is atomic or journaled, so nothing is lost by not cleaning up.

    A solver library may write to the C-level standard output on its own (SoPlex inside SCIP, for the
    exact error, prints a note about its tolerances): the process's file descriptor 1 goes to standard
    error and ``sys.stdout`` alone keeps the real standard output, so ``--json`` output stays parseable."""
    _keep_stdout_for_python()
    code = main()
    if code == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)


def _keep_stdout_for_python() -> None:
    """Point file descriptor 1 at standard error and ``sys.stdout`` at a duplicate of the original one."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError, AttributeError):     # no real descriptors (embedded): leave them
        return
    sys.stdout = open(saved, "w", encoding=sys.stdout.encoding or "utf-8", errors="backslashreplace",
                      buffering=1 if sys.stdout.line_buffering else -1, closefd=True)


if __name__ == "__main__":
    entry()
