"""The sweep specs slth ships: their scales, names and files, and what ``slth run`` takes as a spec.

The specs are package data in ``slth/specs/`` (installed with slth, so they need no checkout), one
TOML file per sweep and scale, with the same sweep names at every scale:

  ``paper``  ``specs/<name>.toml``         the full grids (the README's tables)
  ``quick``  ``specs/quick/<name>.toml``   minutes on a laptop; the figures the README shows
  ``toy``    ``specs/toy/<name>.toml``     seconds; what the figures' smoke test draws

A shipped spec is named ``<name>`` at the paper scale and ``<scale>/<name>`` otherwise (e.g.
``quick/width_vs_d``). Its rows go to ``<results root>/<name>/``, the root defaulting to
:data:`RESULTS` of its scale relative to the working folder, so ``slth run quick/width_vs_d`` and
``slth figures --scale quick`` read and write the same rows. Nothing is ever written into the package.
"""

from __future__ import annotations

from pathlib import Path

from slth.errors import InputError

#: The folder of the shipped specs (package data).
FOLDER = Path(__file__).resolve().parents[1] / "specs"
#: Subfolder of :data:`FOLDER` holding each scale's specs.
SCALES = {"paper": "", "quick": "quick", "toy": "toy"}
#: Default results root of each scale, relative to the working folder (paper: where ``slth run`` writes).
RESULTS = {"paper": "results", "quick": "results/quick", "toy": "results/toy"}


def names(scale: str) -> list[str]:
    """The sweep names a scale ships, sorted (the file stems of its folder)."""
    if scale not in SCALES:
        raise InputError(f"unknown scale {scale!r}; allowed: {list(SCALES)}")
    return sorted(p.stem for p in (FOLDER / SCALES[scale]).glob("*.toml"))


def path(scale: str, name: str) -> Path:
    """The file of the shipped spec ``name`` at ``scale``; one line if that scale has none."""
    file = FOLDER / SCALES[scale] / f"{name}.toml" if scale in SCALES else None
    if file is None or not file.is_file():
        raise InputError(f"scale {scale!r} ships no spec {name!r}; it ships {names(scale)}")
    return file


def resolve(spec: str | Path) -> tuple[Path, str | None]:
    """The file ``slth run`` reads for ``spec``, and the scale when it is a shipped spec (None for a
    file of the user's): an existing file first, then a shipped name ``<name>`` or ``<scale>/<name>``
    (a trailing ``.toml`` allowed). Anything else is refused with one line listing the shipped names."""
    given = Path(spec)
    if given.is_file():
        return given, None
    scale, _, name = str(spec).removesuffix(".toml").rpartition("/")
    scale = scale or "paper"
    if scale in SCALES and name and (FOLDER / SCALES[scale] / f"{name}.toml").is_file():
        return FOLDER / SCALES[scale] / f"{name}.toml", scale
    raise InputError(f"spec {str(spec)!r} is not a file, nor a spec slth ships ({', '.join(names('paper'))}; "
                     f"each also as quick/<name> and toy/<name>)")
