"""``slth selftest``: run the installed theorem suite and print what it tried and found.

The suite is :mod:`slth.theorems` (docs/theory.md §5, one module per property), run by pytest with the
plugin :mod:`slth.theorems.plugin`, isolated from any pytest configuration in the current directory.
The table has one line per property: tests, cases checked (pool tickets, hypothesis examples,
trials), failed tests, and for the probabilistic properties the observed rate with its 95%
Clopper-Pearson interval beside the claimed probability and the exact binomial p-value.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

from slth import extras
from slth.errors import InputError


def run(*, thorough: bool = False, imports=(), extra_args=()) -> tuple[int, list]:
    """Run the suite; returns (pytest's exit code, the plugin's records)."""
    pytest = extras.need("pytest", "slth selftest")
    extras.need("hypothesis", "slth selftest")

    for name in imports:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise InputError(f"--import {name!r} cannot be imported: {e}") from None
    # The plugin (and hypothesis, which it imports) is imported by pytest itself, so that pytest can
    # rewrite its asserts; its records are read afterwards.
    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        args = ["--pyargs", "slth.theorems", "-p", "slth.theorems.plugin", "-p", "no:cacheprovider",
                "-c", str(ini), "--rootdir", tmp, "-q", "--profile", "thorough" if thorough else "ci",
                *extra_args]
        # pytest caches the assert-rewritten modules as .pyc beside them: in an install, inside the
        # package; slth selftest writes nothing there (sys.dont_write_bytecode turns that cache off)
        saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
        try:
            code = pytest.main(args)
        finally:
            sys.dont_write_bytecode = saved
    from slth.theorems import plugin

    records = list(plugin.RECORDS)
    plugin.RECORDS.clear()
    return int(code), records


def table(records) -> str:
    """One line per property (see the module docstring)."""
    by: dict[str, list] = {}
    for r in records:
        by.setdefault(r.property, []).append(r)
    lines = [f"{'property':26s} {'tests':>5s} {'cases':>7s} {'failed':>6s}  observed rate [95% CI] vs claim (p-value)"]
    for prop in sorted(by):
        rs = by[prop]
        failed = sum(r.outcome == "failed" for r in rs)
        verdicts = [v for r in rs for v in r.verdicts]
        first = (f"{prop:26s} {len(rs):>5d} {sum(r.examples for r in rs):>7,d} {failed:>6d}  ")
        if not verdicts:
            lines.append(first + ("exact (identity, solver or bound)" if not failed else "FAILED"))
        for k, v in enumerate(verdicts):
            claim = f"<= {v.p:.3g}" if v.alternative == "greater" else f"= {v.p:.4g}"
            text = (f"{v.k}/{v.n} = {v.rate:.3f} [{v.interval[0]:.3f}, {v.interval[1]:.3f}] vs {claim} "
                    f"(p = {v.p_value:.2g}){'' if v.passed else '  FAILED'}")
            lines.append((first if k == 0 else " " * len(first)) + text)
    return "\n".join(lines)
