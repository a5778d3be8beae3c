"""``slth figures``: run the sweeps a scale needs (only what is missing) and draw every figure.

The figure scripts live in ``paper_figures/`` at the repository root, one per figure, each with
``SWEEPS`` (the names of the sweeps it reads) and ``main(results_dir, out_dir)``. A scale is a folder
of sweep specs with those names:

  ``toy``    ``experiments/toy/``   seconds; what the smoke test draws
  ``quick``  ``experiments/quick/`` minutes on a laptop; the committed PNGs in ``paper_figures/quick/``
  ``paper``  ``experiments/``       the full grids (the README's tables)

Sweeps resume (:func:`slth.experiments.runner.run`): a complete sweep costs only re-reading its table,
and a results folder made by a different spec is refused before anything is written.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from slth.errors import InputError

#: Spec folder of each scale, relative to the repository root.
SCALES = {"toy": "experiments/toy", "quick": "experiments/quick", "paper": "experiments"}
#: Default results folder of each scale (paper: the folder ``slth run`` writes to by default).
RESULTS = {"toy": "results/toy", "quick": "results/quick", "paper": "results"}
#: Default output folder of each scale.
OUT = {"toy": "paper_figures/toy", "quick": "paper_figures/quick", "paper": "paper_figures/paper"}


def _provenance(spec, rows: list[dict]) -> dict:
    """Where a sweep's rows came from: spec fingerprint, row count, and the set of each provenance
    field over the rows (seed range, versions, device, git revision)."""
    keys = ("slth", "jax", "jaxlib", "numpy", "scipy", "python", "device", "git_revision")
    seeds = [r["seed"] for r in rows]
    return {"kind": spec.kind, "fingerprint": spec.fingerprint, "rows": len(rows),
            "seeds": [min(seeds), max(seeds)] if seeds else [],
            **{k: sorted({str(r.get(k)) for r in rows}) for k in keys}}


def _write_sources(path: Path, scale: str, sources: dict) -> Path:
    import json

    from slth.experiments.store import atomic_write

    atomic_write(path, json.dumps({"scale": scale, "sweeps": sources}, indent=2, sort_keys=True) + "\n")
    return path


@dataclasses.dataclass(frozen=True)
class FigureScript:
    """One script of ``paper_figures/``: its name (the file stem), the sweeps it reads, its ``main``."""

    name: str
    path: Path
    sweeps: tuple[str, ...]
    main: Callable


def find_root(start: Path | None = None) -> Path:
    """The repository root: the first of ``start`` (default: the working directory) and its parents,
    then the checkout this package was installed from, that holds ``paper_figures/`` and
    ``experiments/``."""
    candidates = []
    here = (start or Path.cwd()).resolve()
    candidates += [here, *here.parents]
    candidates.append(Path(__file__).resolve().parents[2])   # src/slth/figures.py -> the checkout
    for c in candidates:
        if (c / "paper_figures").is_dir() and (c / "experiments").is_dir():
            return c
    raise InputError("cannot find paper_figures/ and experiments/: run slth figures inside a slth checkout "
                     "(or pass --root)")


def scripts(root: Path, only: Sequence[str] | None = None) -> list[FigureScript]:
    """The figure scripts ``paper_figures/fig*.py`` in order, loaded; ``only`` keeps those named
    (by stem, e.g. ``fig3_width_vs_d``, or by prefix, e.g. ``fig3``)."""
    paths = sorted((Path(root) / "paper_figures").glob("fig*.py"))
    if not paths:
        raise InputError(f"{Path(root) / 'paper_figures'} holds no figure scripts fig*.py")
    if only:
        unknown = [o for o in only if not any(p.stem == o or p.stem.split("_")[0] == o for p in paths)]
        if unknown:
            raise InputError(f"unknown figures {unknown}; allowed: {[p.stem for p in paths]} "
                             "(or their prefixes fig1, fig2, ...)")
        paths = [p for p in paths if p.stem in only or p.stem.split("_")[0] in only]
    out = []
    for p in paths:
        spec = importlib.util.spec_from_file_location(f"slth_paper_figures.{p.stem}", p)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not callable(getattr(module, "main", None)) or not isinstance(getattr(module, "SWEEPS", None), tuple):
            raise InputError(f"figure script {p} must define main(results_dir, out_dir) and a tuple SWEEPS")
        out.append(FigureScript(p.stem, p, module.SWEEPS, module.main))
    return out


def regenerate(scale: str, *, root: Path | None = None, results: str | Path | None = None,
               out: str | Path | None = None, only: Sequence[str] | None = None,
               progress: bool | None = None, log: Callable[[str], None] = print) -> list[Path]:
    """Run the missing sweeps of ``scale`` that the chosen figures read, then draw them.

    Every spec is loaded and validated, and every script imported, before any sweep starts. Besides
    the figures, ``<out>/sweeps.json`` records where each sweep's rows came from (spec fingerprint,
    seeds, versions, device, git revision). Returns the files written (PDF, PNG, CSV per figure, and
    sweeps.json).
    """
    from slth.experiments import runner, spec as spec_mod

    if scale not in SCALES:
        raise InputError(f"unknown scale {scale!r}; allowed: {list(SCALES)}")
    root = find_root() if root is None else Path(root)
    figs = scripts(root, only)
    results = Path(results or root / RESULTS[scale])
    out = Path(out or root / OUT[scale])
    needed = list(dict.fromkeys(s for f in figs for s in f.sweeps))
    specs = {}
    for name in needed:
        path = root / SCALES[scale] / f"{name}.toml"
        if not path.is_file():
            raise InputError(f"scale {scale!r} has no spec {path} (figure scripts need sweeps {needed})")
        specs[name] = spec_mod.load(path)
    from slth import budget

    budget.check_folder(out)     # before any sweep runs: the figures must be writable at the end
    written = []
    sources = {}
    for name, spec in specs.items():
        start = time.perf_counter()
        r = runner.run(spec, results=str(results), progress=progress)
        log(f"sweep {name}: {r.computed} trials computed, {r.skipped} already done "
            f"({time.perf_counter() - start:.1f} s) -> {r.directory}")
        sources[name] = _provenance(spec, r.rows)
    out.mkdir(parents=True, exist_ok=True)
    written.append(_write_sources(out / "sweeps.json", scale, sources))
    for f in figs:
        start = time.perf_counter()
        paths = f.main(results, out)
        written += list(paths)
        log(f"{f.name}: {', '.join(p.name for p in paths)} ({time.perf_counter() - start:.1f} s)")
    return written
