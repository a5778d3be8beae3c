"""``slth figures``: run the sweeps a scale needs (only what is missing) and draw every figure.

The figures are the modules ``fig<N>_<name>`` of this package, one per figure, each with ``SWEEPS``
(the names of the sweeps it reads) and ``main(results_dir, out_dir)``. A scale is a folder of the
shipped sweep specs with those names (:mod:`slth.experiments.shipped`: toy, quick, paper).

Everything is written under the working folder unless told otherwise: the sweeps' rows into
``results/<scale>/`` (``results/`` for paper, where ``slth run`` writes), the figures into
``figures/<scale>/``; ``results=`` and ``out=`` (``--results``, ``--out``) choose other folders.
Sweeps resume (:func:`slth.experiments.runner.run`): a complete sweep costs only re-reading its table,
and a results folder made by a different spec is refused before anything is written.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from slth.errors import InputError
from slth.experiments import shipped

#: Scales, as the shipped specs have them.
SCALES = tuple(shipped.SCALES)
#: Default output folder of each scale, relative to the working folder.
OUT = {scale: f"figures/{scale}" for scale in SCALES}

_SCRIPT = re.compile(r"fig(\d+)_\w+")


@dataclasses.dataclass(frozen=True)
class FigureScript:
    """One figure module of this package: its name (e.g. ``fig3_width_vs_d``), the sweeps it reads,
    its ``main(results_dir, out_dir)``."""

    name: str
    sweeps: tuple[str, ...]
    main: Callable


def names() -> list[str]:
    """The figure modules of this package, in figure order."""
    found = [m.name for m in pkgutil.iter_modules(__path__) if _SCRIPT.fullmatch(m.name)]
    return sorted(found, key=lambda n: int(_SCRIPT.fullmatch(n)[1]))


def scripts(only: Sequence[str] | None = None) -> list[FigureScript]:
    """The figures in order, loaded; ``only`` keeps those named (by name, e.g. ``fig3_width_vs_d``, or
    by prefix, e.g. ``fig3``). Needs matplotlib (the extra ``figures``)."""
    from slth import extras

    extras.need("matplotlib", "slth figures")
    chosen = names()
    if only:
        unknown = [o for o in only if not any(n == o or n.split("_")[0] == o for n in chosen)]
        if unknown:
            raise InputError(f"unknown figures {unknown}; allowed: {chosen} (or their prefixes fig1, fig2, ...)")
        chosen = [n for n in chosen if n in only or n.split("_")[0] in only]
    out = []
    for name in chosen:
        module = importlib.import_module(f"{__name__}.{name}")
        out.append(FigureScript(name, module.SWEEPS, module.main))
    return out


def _provenance(spec, rows: list[dict]) -> dict:
    """Where a sweep's rows came from: spec fingerprint, row count, and the set of each provenance
    field over the rows (seed range, versions, device, git revision)."""
    keys = ("slth", "jax", "jaxlib", "numpy", "scipy", "python", "device", "git_revision")
    seeds = [r["seed"] for r in rows]
    return {"kind": spec.kind, "fingerprint": spec.fingerprint, "rows": len(rows),
            "seeds": [min(seeds), max(seeds)] if seeds else [],
            **{k: sorted({str(r.get(k)) for r in rows}) for k in keys}}


def regenerate(scale: str, *, results: str | Path | None = None, out: str | Path | None = None,
               only: Sequence[str] | None = None, progress: bool | None = None,
               log: Callable[[str], None] = print) -> list[Path]:
    """Run the missing sweeps of ``scale`` that the chosen figures read, then draw them.

    ``results`` defaults to ``results/<scale>`` (``results`` for paper) and ``out`` to
    ``figures/<scale>``, both in the working folder. Every spec is loaded and validated, and every
    figure imported, before any sweep starts. Besides the figures, ``<out>/sweeps.json`` records
    where each sweep's rows came from (spec fingerprint, seeds, versions, device, git revision).
    Returns the files written (PDF, PNG, CSV per figure, and sweeps.json).
    """
    from slth import budget, plotting
    from slth.experiments import runner, spec as spec_mod
    from slth.experiments.store import atomic_write

    if scale not in SCALES:
        raise InputError(f"unknown scale {scale!r}; allowed: {list(SCALES)}")
    figs = scripts(only)
    results = Path(shipped.RESULTS[scale] if results is None else results)
    out = Path(OUT[scale] if out is None else out)
    needed = list(dict.fromkeys(s for f in figs for s in f.sweeps))
    specs = {name: spec_mod.load(shipped.path(scale, name)) for name in needed}
    budget.check_folder(out)     # before any sweep runs: the figures must be writable at the end
    sources = {}
    for name, spec in specs.items():
        start = time.perf_counter()
        r = runner.run(spec, results=str(results), progress=progress)
        log(f"sweep {name}: {r.computed} trials computed, {r.skipped} already done "
            f"({time.perf_counter() - start:.1f} s) -> {r.directory}")
        sources[name] = _provenance(spec, r.rows)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "sweeps.json", json.dumps({"scale": scale, "sweeps": sources}, indent=2, sort_keys=True) + "\n")
    written = [out / "sweeps.json"]
    for f in figs:
        start = time.perf_counter()
        with plotting.style():
            paths = f.main(results, out)
        written += list(paths)
        log(f"{f.name}: {', '.join(p.name for p in paths)} ({time.perf_counter() - start:.1f} s)")
    return written
