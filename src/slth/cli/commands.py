"""The subcommands of ``slth``: one ``cmd_<name>(args) -> exit status`` each, calling the library and
printing a table or JSON. Every library import is inside the function that needs it (no JAX at import);
failures are raised (:class:`~slth.errors.InputError`, ``OSError``, ...) for :func:`slth.cli.main` to
turn into one line and an exit status.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from slth.cli.exits import EXIT_INPUT, EXIT_INVALID, EXIT_OK, EXIT_UNVERIFIABLE

#: ``slth prune --target-kind conv``: the random CNN target's geometry options when not given (a CNN
#: target file brings its own geometry, and a geometry option given beside it must match it).
CONV_DEFAULTS = dict(image="1,8,8", channels="4,8", kernel=3, classes=10)


def cmd_prune(args) -> int:
    import jax

    from slth import budget, constructions, measure, nets, pipeline, ticket
    from slth.errors import InputError

    constructions.check_candidates(args.construction, args.candidates)
    out = Path(args.out)
    if out.is_dir() or not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise InputError(f"--out {args.out!r} must name a file in an existing folder")
    geometry, conv_file = _geometry(args)
    target = None if conv_file is None else conv_file.layers()
    if args.biases is not None and conv_file is not None:
        raise InputError("--biases with a CNN target file: the file says whether it has biases (members "
                         "target_bias_i, one per output channel); leave --biases out")
    biases = args.biases is not None or (conv_file is not None and conv_file.biases is not None)
    if args.biases is not None and not 0 <= args.biases <= 1:
        raise InputError(f"--biases {args.biases} must be in [0, 1], the theorems' assumption |b| <= 1")
    if args.target and geometry is None:
        target = nets.load_target(args.target, rescale_to_unit=args.rescale_target, biases=biases)
        dims = nets.dims_of(target, biases=biases)
    elif geometry is not None:
        dims = geometry.dims()
    else:
        if not 0 < args.target_norm <= 1:
            raise InputError(f"--target-norm {args.target_norm} must be in (0, 1]")
        dims = nets.parse_dims(args.dims)
    from slth.measure.width import default_distribution
    network = {} if geometry is None else {"layout": nets.layouts.conv.LAYOUT.name, "geometry": geometry.text()}
    if biases:
        lay = nets.layouts.biased if geometry is None else nets.layouts.conv_biased
        network["layout"] = lay.LAYOUT.name
    if args.skips:
        network["skips"] = nets.residual.parse(args.skips)
    spec = nets.RandomSpec(dims=dims, candidates=args.candidates, seed=args.seed,
                           distribution=default_distribution(args.construction, args.dist),
                           drop_negative=args.drop_negative, **network)
    spec = measure.network_spec(args.construction, spec)   # the layout only: a wrong --dist is refused
    # Memory, the ticket file's size limit and the --out folder, before the target is even drawn.
    budget.check_prune(args.construction, spec, out=out)
    if target is None:
        tseed = args.seed if args.target_seed is None else args.target_seed
        if geometry is not None:
            target = nets.conv.random_conv_target(geometry, seed=tseed, distribution=args.target_dist,
                                                  bias=args.biases).layers()
        elif biases:
            target = nets.affine.random_target(dims, seed=tseed, distribution=args.target_dist,
                                               norm=args.target_norm, bias=args.biases)
        else:
            target = nets.random_target(dims, key=jax.random.key(tseed), distribution=args.target_dist,
                                        norm=args.target_norm)
    tk, meta, witness = pipeline.prune(args.construction, target, spec, exact=args.exact)
    ticket.save(tk, out, meta, witness=witness)
    if args.json:
        print(json.dumps(meta | {"out": str(out)}, indent=2, sort_keys=True))
    else:
        print(_summary(meta, out))
    return EXIT_OK


def _geometry(args):
    """``slth prune``: (None, None) for an MLP target; for ``--target-kind conv`` the CNN geometry and, with
    ``--target``, the file's :class:`~slth.nets.conv.ConvTarget` (biases included if it has them): the CNN
    target file read as hostile and checked before any work
    (:func:`slth.ticket_file.read_conv_target`, ``--rescale-target``), every geometry option given matching
    the file's; else the geometry of --image, --channels, --kernel, --strides and --classes (defaults
    :data:`CONV_DEFAULTS`, checked by :class:`slth.nets.conv.Geometry`) and None (the target is drawn)."""
    from slth import nets, ticket_file
    from slth.errors import InputError

    if args.target_kind == "mlp":
        return None, None
    if args.target_norm != 1.0:
        raise InputError(f"--target-norm {args.target_norm} applies to MLP targets; a CNN target has every layer at "
                         "operator norm 1")
    if args.target:
        t = ticket_file.read_conv_target(args.target, rescale=args.rescale_target)
        g = t.geometry
        for flag, given in (("--image", args.image), ("--channels", args.channels), ("--strides", args.strides),
                            ("--kernel", args.kernel), ("--classes", args.classes)):
            want = getattr(g, flag[2:])
            if given is not None and (given if isinstance(given, int) else _int_list(flag, given)) != want:
                shown = want if isinstance(want, int) else ",".join(map(str, want))
                raise InputError(f"{flag} {given} does not match the target file's {shown} (geometry {g.text()}); "
                                 f"leave {flag} out or give the file's value")
        return g, t
    channels = _int_list("--channels", args.channels or CONV_DEFAULTS["channels"])
    strides = (1,) * len(channels) if args.strides is None else _int_list("--strides", args.strides)
    return nets.conv.Geometry(image=_int_list("--image", args.image or CONV_DEFAULTS["image"]), channels=channels,
                              kernel=args.kernel or CONV_DEFAULTS["kernel"], strides=strides,
                              classes=args.classes or CONV_DEFAULTS["classes"]), None


def _summary(meta: dict, out: Path) -> str:
    dims = "-".join(map(str, meta["dims"])) + (f", skips {','.join(map(str, meta['skips']))}" if meta.get("skips") else "")
    widths = "-".join(map(str, meta["random_widths"]))
    kept = meta["kept_params"] / meta["random_params"]
    return "\n".join([
        f"slth prune: {meta['construction']} ticket for target {dims} "
        f"(seed {meta['seed']}, c = {meta['candidates']} candidates per block and sign)",
        f"  random network    depth {meta['depth']}, widths {widths}, {meta['distribution']} entries",
        f"  parameters        random {meta['random_params']:,}, kept {meta['kept_params']:,} ({kept:.2%}), "
        f"live {meta['live_params']:,} (kept weights that can change the output"
        f"{'; a kernel entry counts once' if meta.get('geometry') else ''})",
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
    if "error" in report:   # one line on stderr, and with --json the report (its "error" and "exit_code") too
        print(f"slth verify: error: {report['error']}".replace("\n", " "), file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True, default=float))
    elif "error" not in report:
        print(f"slth verify: {args.ticket}: {status.upper()}")
        rec = report.get("recomputed") or {}
        if rec:
            skips = f" (skips {','.join(map(str, report['skips']))})" if report.get("skips") else ""
            print(f"  construction {report['construction']}, dims {'-'.join(map(str, report['dims']))}{skips}, "
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
        if args.exact is not None or args.skips:
            raise InputError(f"{'--exact' if args.exact is not None else '--skips'} measures one construction; "
                             "give a single --construction")
        result = compare.compare(names, args.dims, args.eps, args.delta, trials=args.trials, seed=args.seed,
                                 c_max=args.c_max, progress=_progress_bar("construction"))
        print(json.dumps(result.to_json(), indent=2, sort_keys=True) if args.json
              else compare.format_comparison(result))
        return EXIT_OK
    report = check.check(names[0], args.dims, args.eps, args.delta, trials=args.trials,
                         seed=args.seed, c_max=args.c_max, progress=_progress_bar("trial"), exact=args.exact,
                         skips=args.skips)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        print(check.format_report(report))
    return EXIT_OK


def cmd_run(args) -> int:
    import os

    from slth.errors import InputError
    from slth.experiments import runner, shipped, spec as specs

    # From here on SIGINT only asks the sweep to stop between two units (see slth.experiments.runner).
    with runner.deferred_interrupts():
        path, scale = shipped.resolve(args.spec)
        spec = specs.load(path)
        # a shipped spec's scale has its own results root, the one slth figures uses
        results = shipped.RESULTS[scale or "paper"] if args.results is None else args.results
        dist = (args.coordinator, args.num_processes, args.process_id)
        barrier, index, count = None, 0, 1
        if any(v is not None for v in dist):
            if any(v is None for v in dist):
                raise InputError("--coordinator, --num-processes and --process-id go together")
            if not 0 <= args.process_id < args.num_processes:
                raise InputError(f"--process-id {args.process_id} must be in [0, {args.num_processes})")
            runner.preflight(spec, results, process_index=args.process_id, process_count=args.num_processes)
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
            result = runner.run(spec, results=results, progress=args.progress, process_index=index,
                                process_count=count, barrier=barrier, wait=args.wait)
        except KeyboardInterrupt:
            if count == 1:
                raise
            # jax.distributed's exit handler would wait for the other processes, which go on working
            print("slth run: interrupted", file=sys.stderr, flush=True)
            os._exit(runner.EXIT_INTERRUPTED)
    for line in result.dropped:
        print(f"slth run: dropped damaged journal line ({line}); its trial was computed again", file=sys.stderr)
    if args.json:
        fits = Path(result.directory) / "fits.json"
        print(json.dumps({"name": spec.name, "directory": result.directory, "computed": result.computed,
                          "skipped": result.skipped, "dropped": list(result.dropped), "process_index": index,
                          "process_count": count,
                          "fits": json.loads(fits.read_text(encoding="utf-8")) if result.report else None},
                         indent=2, sort_keys=True))
        return EXIT_OK
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
                           epochs=args.epochs, data=args.data, biases=args.biases,
                           progress=lambda msg: print(f"  {msg}", file=sys.stderr) if sys.stderr.isatty() else None)
    print(json.dumps(report.to_json(), indent=2, sort_keys=True) if args.json else digits.format_report(report))
    return EXIT_OK


def cmd_imp(args) -> int:
    """``slth imp``: one IMP run and its controls (:func:`slth.studies.imp.study.imp_table`, the rows a
    sweep of kind imp makes), printed as its table or JSON."""
    from slth import budget
    from slth.studies.imp import study

    s = study.setup(dims=args.dims, epochs=args.epochs, batch_size=args.batch_size,
                    learning_rate=args.learning_rate, fraction=args.fraction, rounds=args.rounds, scope=args.scope,
                    rewinds=(args.rewind,))
    budget.require(budget.trained(s.dims, s.rounds, s.batch_size), "lower --dims or --rounds")
    rows = study.imp_table(s, seed=args.seed, rewind=args.rewind, controls=args.controls,
                           progress=_progress_bar("run"))
    if args.json:
        print(json.dumps({"dims": list(s.dims), "seed": args.seed, "rewind": args.rewind, "fraction": s.fraction,
                          "rounds": s.rounds, "scope": s.scope, "epochs": s.epochs, "batch_size": s.batch_size,
                          "learning_rate": s.learning_rate, "steps": s.task.steps, "rows": rows,
                          **_provenance()}, indent=2, sort_keys=True, default=_plain))
    else:
        print(study.format_table(s, rows, seed=args.seed, rewind=args.rewind))
    return EXIT_OK


def cmd_plant(args) -> int:
    """``slth plant``: the planted ticket and every search at every factor
    (:func:`slth.studies.planted.study.plant_table`), printed as its table or JSON."""
    from slth import budget, checks
    from slth.studies.planted import study

    dims, widths = checks.dims(args.dims), _int_list("--widths", args.widths)
    factors = [checks.positive("--factor", f) for f in _float_list("--factor", args.factor)]
    searches = args.search or list(study.SEARCHES)
    study.planting.check_widths(dims, widths)
    budget.require(budget.planted((dims[0], *widths, dims[-1]), 256, 4096), "lower --widths")
    rows = study.plant_table(dims, widths, searches=searches, factors=factors, seed=args.seed,
                             progress=_progress_bar("ticket"))
    if args.json:
        print(json.dumps({"dims": list(dims), "widths": list(widths), "seed": args.seed, "rows": rows,
                          **_provenance()}, indent=2, sort_keys=True, default=_plain))
    else:
        print(study.format_table(dims, widths, rows, seed=args.seed))
    return EXIT_OK


def _float_list(flag: str, text: str) -> tuple[float, ...]:
    from slth.errors import InputError

    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{flag} {text!r} must be comma-separated numbers like 1,2,4") from None


def _provenance() -> dict:
    from slth import provenance

    return provenance.record()


def _plain(value):
    """JSON for the NumPy scalars and tuples of a row."""
    if hasattr(value, "item"):
        return value.item()
    return list(value) if isinstance(value, tuple) else str(value)


def cmd_selftest(args) -> int:
    import contextlib
    import dataclasses

    from slth.theorems import selftest

    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        code, records = selftest.run(thorough=args.thorough, imports=args.imports)
    if args.json:
        print(json.dumps({"profile": "thorough" if args.thorough else "ci", "pytest_exit_code": int(code),
                          "records": [dataclasses.asdict(r) for r in records]},
                         indent=2, sort_keys=True, default=float))
        return EXIT_OK if code == 0 else EXIT_INVALID
    print()
    print(f"slth selftest ({'thorough' if args.thorough else 'ci'} profile):")
    print(selftest.table(records))
    print("all properties hold" if code == 0 else f"FAILURES: pytest exit code {code}")
    return EXIT_OK if code == 0 else EXIT_INVALID


def cmd_figures(args) -> int:
    from slth import figures

    log = sys.stderr if args.json else sys.stdout
    written = figures.regenerate(args.scale, results=args.results, out=args.out, only=args.only,
                                 log=lambda m: print(m, file=log, flush=True))
    if args.json:
        print(json.dumps({"scale": args.scale, "written": [str(p) for p in written]}, indent=2))
        return EXIT_OK
    print(f"slth figures: {len(written)} files written")
    return EXIT_OK


def cmd_fit(args) -> int:
    from slth.experiments import refit

    reports, joint = refit.refit(args.directory)
    if joint is not None:
        fitted, text = joint
        print(json.dumps(fitted, indent=2, sort_keys=True) if args.json else "\n\n".join(reports + [text]))
    elif args.json:      # one folder: the fits refit just wrote beside its table
        print((Path(args.directory[0]) / "fits.json").read_text(encoding="utf-8"), end="")
    else:
        print(reports[0])
    return EXIT_OK
