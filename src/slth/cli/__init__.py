"""``slth``: the command line's entry: :func:`main` (parse, run one subcommand, turn every failure into
one line and an exit status) and :func:`entry`, the executable.

The package, each module one job, no mathematics and no file format in any: :mod:`slth.cli.parser`
(the argparse parser), :mod:`slth.cli.commands` (one ``cmd_*`` per subcommand), :mod:`slth.cli.exits`
(the exit statuses), :mod:`slth.cli.process` (the process's JAX settings: float64 and the compilation
cache); their public names are re-exported here.

Exit status: 0 success (a valid ticket for ``verify``), 1 an invalid ticket, 2 bad input or an
unreadable file, 3 a ticket whose random network cannot be regenerated (unverifiable), 130 Ctrl-C.

Errors: one line ``slth <command>: error: <message>`` on standard error, always. With ``--json`` the
same failure is also one JSON object on standard output, ``{"error": "<message>", "exit_code": N}``
(``slth verify --json`` prints its whole report, which holds both keys), so a script that reads
standard output always gets JSON and the exit status says what kind of failure it was.

Speed: ``slth --help`` and ``slth --version`` import no JAX (see :mod:`slth.cli.parser`); :func:`main`
imports it only after the command line is parsed.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from slth.cli.commands import (cmd_check, cmd_digits, cmd_figures, cmd_fit, cmd_imp, cmd_plant, cmd_prune, cmd_run,
                               cmd_selftest, cmd_separation, cmd_verify)
from slth.cli.exits import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_UNVERIFIABLE
from slth.cli.parser import DEFAULTS, UsageError, build_parser

__all__ = ["main", "entry", "build_parser", "UsageError", "DEFAULTS", "EXIT_OK", "EXIT_INVALID", "EXIT_INPUT",
           "EXIT_UNVERIFIABLE", "EXIT_INTERRUPTED", "cmd_prune", "cmd_verify", "cmd_check", "cmd_run",
           "cmd_separation", "cmd_digits", "cmd_selftest", "cmd_figures", "cmd_fit", "cmd_imp", "cmd_plant"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    wants_json = "--json" in (argv[:argv.index("--")] if "--" in argv else argv)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:        # already on stderr; with --json, stdout gets the same as JSON
        if wants_json:
            _print_json_error(e.message, e.code)
        raise
    import jax

    from slth.cli import process

    process.configure()       # float64, and the compilation cache (slth.cli.process)
    from slth.errors import InputError

    def fail(message: str, code: int = EXIT_INPUT) -> int:
        print(f"slth {args.command}: {message if code == EXIT_INTERRUPTED else 'error: ' + message}", file=sys.stderr)
        if getattr(args, "json", False):
            _print_json_error(message, code)
        return code

    try:
        return args.func(args)
    except InputError as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
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
        return fail(f"cannot {'write' if written else 'access'} {str(path)!r}: {e.strerror or e}")
    except MemoryError:
        from slth import budget

        return fail(f"out of memory (the {budget.gigabytes(budget.available()[0])} available were not enough, "
                    "above slth's estimate); make the problem smaller")
    except jax.errors.JaxRuntimeError as e:
        if "RESOURCE_EXHAUSTED" not in str(e) and "Out of memory" not in str(e):
            raise
        return fail(f"out of memory in XLA ({str(e).splitlines()[0].split(': ')[-1]}), above slth's estimate; "
                    "make the problem smaller")


def _print_json_error(message: str, code: int) -> None:
    """The ``--json`` form of a failure (see the module docstring); a closed stdout is left alone."""
    try:
        print(json.dumps({"error": message, "exit_code": code}, sort_keys=True), flush=True)
    except (OSError, ValueError):
        pass


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
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
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
