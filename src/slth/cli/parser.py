"""The parser of ``slth``: argparse's subcommands and options, with one-line usage errors.

Speed: building it imports no JAX. The arguments of the subcommands that need the construction
registry (which imports JAX) are added when that subcommand is parsed or its help is printed
(:class:`_Parser`'s ``complete``). Each subcommand's ``func`` is its :mod:`slth.cli.commands` function.
"""

from __future__ import annotations

import argparse
import sys

from slth import checks
from slth.cli import commands
from slth.cli.exits import EXIT_INPUT, EXIT_OK

DEFAULTS = dict(construction="subset-sum", dims="8,16,16,4", candidates=20, seed=0, out="ticket.npz")
CONV_DEFAULTS = commands.CONV_DEFAULTS


class UsageError(SystemExit):
    """argparse's refusal of the command line (exit status 2), its one line already on standard error."""

    def __init__(self, message: str):
        super().__init__(EXIT_INPUT)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse's parser with one-line usage errors (:class:`UsageError`) and arguments added on first
    use: ``complete(parser)``, if set, runs once before this parser parses or prints its help."""

    complete = None

    def _complete(self):
        if self.complete is not None:
            complete, self.complete = self.complete, None
            complete(self)

    def parse_known_args(self, args=None, namespace=None):
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_help(self):
        self._complete()
        return super().format_help()

    def format_usage(self):
        self._complete()
        return super().format_usage()

    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise UsageError(message)


class _Version(argparse.Action):
    """``--version``: slth's version and revision (:mod:`slth.provenance`, which imports no JAX)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from slth import provenance

        print(f"slth {provenance.version()} (revision {provenance.git_revision()})")
        parser.exit(EXIT_OK)


# Argument types: the checks of slth.checks, in argparse's one-line usage errors.
_positive_int = checks.arg(checks.count)
_seed = checks.arg(checks.seed)
_unit_float = checks.arg(checks.open_unit)
_positive_float = checks.arg(checks.positive)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="slth", description="Strong lottery tickets: build, certify and verify them.")
    parser.add_argument("--version", action=_Version, help="print slth's version and git revision and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "prune", help="build a ticket for a target and measure its error from both sides",
        description="Prune a random 2l-deep ReLU network to approximate a target network, then report "
                    "the certified upper bound and an adversarial lower bound on the sup error over the "
                    "unit ball. With no options: a subset-sum ticket for a random 8,16,16,4 target.")

    def prune_arguments(p):
        from slth.constructions import CONSTRUCTIONS
        from slth.nets import DISTRIBUTIONS

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
        p.add_argument("--target", help="load the target from this .npz instead of drawing one: arrays "
                                        "target_0..target_{l-1} (out, in) (overrides --dims); with --target-kind "
                                        "conv, a CNN target file: kernels target_i (out, in, k, k), the head "
                                        "target_m (classes, channels) and its geometry text as 'geometry' "
                                        "(slth.nets.conv.ConvTarget.save), which --image etc. must match if given")
        p.add_argument("--rescale-target", action="store_true",
                       help="scale target layers with spectral norm > 1 down to 1 instead of rejecting them")
        p.add_argument("--target-seed", type=_seed, default=None,
                       help="seed of the random target (default: the value of --seed)")
        p.add_argument("--target-dist", default="gaussian", choices=sorted(DISTRIBUTIONS),
                       help="entry law of the random target before each layer is rescaled (default: %(default)s)")
        p.add_argument("--target-norm", type=float, default=1.0,
                       help="spectral norm of every random target layer, in (0, 1] (default: %(default)s)")
        p.add_argument("--biases", type=float, default=None, metavar="SCALE",
                       help="a target with biases, each bias a weight on a constant input pruned out of a "
                            "random network with random biases (the 'biased' layout; a CNN target: one bias per "
                            "channel, the 'conv-biased' layout): the random target's weights "
                            "(those of --target-seed without biases, bit for bit) and biases uniform in "
                            "[-SCALE, SCALE], SCALE in [0, 1]; with --target, the file's layers are [W_i | b_i] "
                            "(out, in + 1), a ticket file of this layout being one (default: no biases)")
        p.add_argument("--skips", default="", metavar="I,J",
                       help="a residual target: skip connections, each target layer i whose input is added to the "
                            "output of layer i + 1 (a block z -> z + F(z), ReLU after the sum); needs d_(i-1) = "
                            "d_(i+1), for a CNN two convolutions of equal channels and stride 1; the random "
                            "network keeps the same identities, unpruned (default: none)")
        p.add_argument("--target-kind", default="mlp", choices=["mlp", "conv"],
                       help="mlp: a bias-free MLP of --dims; conv: a bias-free CNN (k x k 'same' convolutions "
                            "with ReLU, global average pooling, a dense head), random of --image, --channels, "
                            "--kernel, --strides and --classes or from --target, pruned from a random CNN (the "
                            "conv layout) (default: %(default)s)")
        p.add_argument("--image", default=None,
                       help=f"conv: the input image C,H,W (default: {CONV_DEFAULTS['image']})")
        p.add_argument("--channels", default=None,
                       help=f"conv: output channels of each convolution (default: {CONV_DEFAULTS['channels']})")
        p.add_argument("--kernel", type=_positive_int, default=None,
                       help=f"conv: odd kernel size k (default: {CONV_DEFAULTS['kernel']})")
        p.add_argument("--strides", default=None,
                       help="conv: the stride (1 or 2) of each convolution (default: 1 for every one)")
        p.add_argument("--classes", type=_positive_int, default=None,
                       help=f"conv: outputs of the dense head (default: {CONV_DEFAULTS['classes']})")
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
    p.complete = prune_arguments
    p.set_defaults(func=commands.cmd_prune)

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
    v.set_defaults(func=commands.cmd_verify)

    c = sub.add_parser(
        "check", help="measure the minimal width and print it beside every bound",
        description="Measure the smallest candidates per block and sign at which a 1 - delta fraction of "
                    "T random networks yield eps-tickets (certified and optimistic), and print it beside "
                    "Pensia et al.'s, Malach et al.'s and the selection construction's widths and the "
                    "counting lower bound, with the ratios. With no options: subset-sum, 16,16,16, "
                    "eps 0.01, delta 0.1, 20 trials.")

    def check_arguments(c):
        from slth.constructions import CONSTRUCTIONS
        from slth.experiments.check import DEFAULTS as CHECK

        c.add_argument("--construction", action="append", default=None, choices=sorted(CONSTRUCTIONS) + ["all"],
                       help=f"construction to measure (default: {CHECK['construction']}); repeat it, or say 'all', "
                            "to measure several on the same targets and rank them by random parameters, kept "
                            "parameters and time")
        c.add_argument("--dims", default=CHECK["dims"], help="target widths d_0,...,d_l (default: %(default)s)")
        c.add_argument("--eps", type=_unit_float, default=CHECK["eps"],
                       help="accuracy, in (0, 1) (default: %(default)s)")
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
        c.add_argument("--skips", default="", metavar="I,J",
                       help="residual targets: skip connections as in slth prune --skips (one construction; the "
                            "bounds printed beside the measurement assume no skip) (default: none)")
        c.add_argument("--json", action="store_true", help="print JSON instead of the table")
    c.complete = check_arguments
    c.set_defaults(func=commands.cmd_check)

    r = sub.add_parser(
        "run", help="run a sweep spec (a shipped one by name, or a TOML file) into results/<name>/, resumably",
        description="Execute every (cell, trial) of a TOML sweep spec, one row each, into "
                    "<results>/<name>/results.csv with seed, versions, device, git revision and wall time; "
                    "then write summary.csv and fits.json and print them. Started again after an "
                    "interruption (Ctrl-C, kill -9, a full disk) it computes only the missing rows; a second "
                    "run on the same folder is refused (or waits, --wait). Ctrl-C stops after the current "
                    "trial, Ctrl-C twice at once; both exit with status 130. Across machines: "
                    "start one process per machine with the same --coordinator and --num-processes.")
    r.add_argument("spec", help="the sweep spec: a TOML file, or the name of a spec slth ships: width_vs_d "
                                "(the full grid), quick/width_vs_d or toy/width_vs_d (smaller ones); the "
                                "names are those of slth/specs/, listed when a name is not found")
    r.add_argument("--results", default=None,
                   help="root folder of results, the rows going to <results>/<name>/ (default: results in the "
                        "working folder; results/quick and results/toy for the shipped quick/ and toy/ specs, "
                        "where slth figures reads them)")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar on stderr (default: when stderr is a terminal)")
    r.add_argument("--coordinator", help="jax.distributed coordinator address host:port (multi-process run)")
    r.add_argument("--num-processes", type=_positive_int, default=None, help="processes in a multi-process run")
    r.add_argument("--process-id", type=int, default=None, help="this process's index in [0, num-processes)")
    r.add_argument("--wait", action="store_true",
                   help="if another run holds the results folder, wait for it to end and then resume from its "
                        "rows (default: refuse with exit status 2, naming the run's pid, host and start time)")
    r.add_argument("--json", action="store_true",
                   help="print what the run did and the sweep's fits (fits.json) as JSON instead of the report")
    r.set_defaults(func=commands.cmd_run)

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
    sp.set_defaults(func=commands.cmd_separation)

    g = sub.add_parser(
        "digits", help="train a small ReLU target on real data and measure its tickets",
        description="Train a bias-free ReLU MLP on scikit-learn's digits (or your MNIST files with --data), "
                    "rescale it into the theorems' assumptions (predictions unchanged, checked), prune "
                    "random networks with the weight-pruning constructions at increasing candidates per "
                    "block, and report target and ticket test accuracy, agreement, certificate, lower bound, "
                    "the fraction of test points whose margin proves agreement, parameter counts and time.")

    def digits_arguments(g):
        from slth.constructions import CONSTRUCTIONS

        g.add_argument("--dims", default="64,32,10", help="target widths (default: %(default)s; 784,...,10 for MNIST)")
        g.add_argument("--construction", action="append", choices=sorted(CONSTRUCTIONS),
                       help="construction to measure (repeatable; default: both)")
        g.add_argument("--candidates", default=None,
                       help="comma-separated c per block and sign for every chosen construction (default: "
                            "4,8,12,16,20 for subset-sum and 16,64,256,512 for selection)")
        g.add_argument("--seed", type=_seed, default=0, help="training seed (default: %(default)s)")
        g.add_argument("--network-seed", type=_seed, default=0,
                       help="seed of the random networks (default: %(default)s)")
        g.add_argument("--epochs", type=_positive_int, default=60, help="training epochs (default: %(default)s)")
        g.add_argument("--data", default=None,
                       help="MNIST instead of the digits: an .npz with x_train, y_train, x_test, y_test, or a "
                            "folder with the four IDX files (optionally .gz)")
        g.add_argument("--biases", action="store_true",
                       help="a target with a bias per neuron (the bias-free one's twin: the same initial weights), "
                            "pruned out of random networks with random biases")
        g.add_argument("--json", action="store_true", help="print JSON instead of the table")
    g.complete = digits_arguments
    g.set_defaults(func=commands.cmd_digits)

    im = sub.add_parser(
        "imp", help="iterative magnitude pruning with rewinding on the digits, with its two controls",
        description="Train a bias-free ReLU MLP on scikit-learn's digits, then prune a fraction of the remaining "
                    "weights by magnitude, rewind the rest to step --rewind (0: the initial weights) and retrain, "
                    "for --rounds rounds (Frankle & Carbin 2019; Frankle et al. 2020). Beside each round: the "
                    "same mask with the kept weights redrawn, and a random mask with the same per-layer counts. "
                    "Prints the fraction of weights kept (not pruned), test accuracy and loss per round.")
    im.add_argument("--dims", default="64,32,10", help="dense widths (default: %(default)s)")
    im.add_argument("--fraction", type=_unit_float, default=0.2,
                    help="fraction of the remaining weights pruned per round, in (0, 1) (default: %(default)s)")
    im.add_argument("--rounds", type=_positive_int, default=10, help="pruning rounds (default: %(default)s)")
    im.add_argument("--rewind", type=checks.arg(checks.integer, low=0), default=0,
                    help="rewind step k: the kept weights restart from the weights after k steps (default: %(default)s)")
    im.add_argument("--scope", default="layer", choices=["layer", "global"],
                    help="rank magnitudes per layer or over all layers (default: %(default)s)")
    im.add_argument("--epochs", type=_positive_int, default=60, help="training epochs (default: %(default)s)")
    im.add_argument("--batch-size", type=_positive_int, default=64, help="minibatch size (default: %(default)s)")
    im.add_argument("--learning-rate", type=_positive_float, default=3e-3, help="adam step size (default: %(default)s)")
    im.add_argument("--seed", type=_seed, default=0, help="seed of θ_0, the data order and the controls (default: %(default)s)")
    im.add_argument("--no-controls", dest="controls", action="store_false",
                    help="skip the reinitialisation and random-pruning controls")
    im.add_argument("--json", action="store_true", help="print JSON instead of the table")
    im.set_defaults(func=commands.cmd_imp)

    pl = sub.add_parser(
        "plant", help="plant a target in a random network and see whether edge-popup and IMP find it",
        description="Plant a random target (spectral norm 1 per layer) in a random ReLU network of the same depth, "
                    "so that an exact ticket exists at a known sparsity (Fischer & Burkholz 2022), then search "
                    "with edge-popup and IMP at multiples of that sparsity, and print each ticket's fraction of "
                    "weights kept, error (lower bound, certificate) and precision and recall against the planted mask.")
    pl.add_argument("--dims", default="8,8,8,4", help="target widths (default: %(default)s)")
    pl.add_argument("--widths", default="32,32", help="hidden widths of the random network (default: %(default)s)")
    pl.add_argument("--factor", default="1,2,4",
                    help="comma-separated multiples of the planted fraction of weights kept to search at "
                         "(default: %(default)s)")
    pl.add_argument("--search", action="append", choices=["edge-popup", "imp"],
                    help="search to run (repeatable; default: both)")
    pl.add_argument("--seed", type=_seed, default=0, help="seed of the target, the network and the searches "
                                                           "(default: %(default)s)")
    pl.add_argument("--json", action="store_true", help="print JSON instead of the table")
    pl.set_defaults(func=commands.cmd_plant)

    st = sub.add_parser(
        "selftest", help="run the theorem suite (docs/theory.md §5) from the installed package",
        description="Run every property of docs/theory.md §5 (slth.theorems) over every registered construction "
                    "and print, per property, the cases checked, the failures, and for probabilistic "
                    "statements the observed rate with its interval against the claimed bound. Exit 0 "
                    "only if everything holds.")
    st.add_argument("--thorough", action="store_true",
                    help="many more examples and trials (the 'thorough' profile; minutes to hours)")
    st.add_argument("--import", dest="imports", action="append", default=[],
                    help="import this module first (e.g. one that registers your own construction in "
                         "slth.constructions.CONSTRUCTIONS); repeatable")
    st.add_argument("--json", action="store_true",
                    help="print the records as JSON instead of the table (pytest's own output goes to stderr)")
    st.set_defaults(func=commands.cmd_selftest)

    f = sub.add_parser(
        "fit", help="recompute a sweep's summary and fits from its results table",
        description="Read <dir>/results.csv and <dir>/spec.toml (every row must carry the spec's fingerprint), "
                    "rewrite summary.csv and fits.json, and "
                    "print the per-cell table and the fitted constants and exponents with bootstrap "
                    "intervals. With several width folders, also fit all their rows together (one power "
                    "law in d, l and 1/eps) and print it.")
    f.add_argument("directory", nargs="+", help="results folders, results/<name>")
    f.add_argument("--json", action="store_true",
                   help="print the fits as JSON: one folder's fits.json, or the joint fits of several")
    f.set_defaults(func=commands.cmd_fit)

    fg = sub.add_parser(
        "figures", help="run the sweeps a scale needs (only what is missing) and draw every figure",
        description="Draw the figures (PDF, PNG and the CSV each plots) from sweeps run at the chosen scale "
                    "with the specs slth ships, resuming: a complete sweep is only re-read. Scales: toy "
                    "(seconds), quick (minutes; the README's figures), paper (the full grids). Everything "
                    "is written under the working folder unless --results and --out say otherwise.")
    fg.add_argument("--scale", default="quick", choices=["toy", "quick", "paper"],
                    help="sweep sizes (default: %(default)s)")
    fg.add_argument("--results", default=None,
                    help="results folder (default: results/<scale>, and results for paper)")
    fg.add_argument("--out", default=None, help="output folder (default: figures/<scale>)")
    fg.add_argument("--only", action="append", default=None,
                    help="draw only this figure (e.g. fig3 or fig3_width_vs_d); repeatable")
    fg.add_argument("--json", action="store_true",
                    help="print the files written as JSON (the progress lines go to stderr)")
    fg.set_defaults(func=commands.cmd_figures)
    return parser
