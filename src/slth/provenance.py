"""Provenance recorded with every result: versions, device and git revision.

Which code made a result, told truthfully. The version is the installed package's (setuptools-scm
derives it from git when slth is built or installed: ``0.1.dev52+g1a2b3c4``, ``.dYYYYMMDD`` if the
tree was dirty), and only when the installed metadata belongs to this very file (a copy of the
package put on ``PYTHONPATH`` next to another install is not that install). The revision is asked
of git only when this file lives in a checkout of slth itself; a package installed or copied into
another project's checkout would otherwise record that project's commit. Nothing here imports JAX
except :func:`device`, so ``slth --version`` stays fast.
"""

from __future__ import annotations

import functools
import json
import platform
import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

#: Version of a copy of slth whose installed metadata is not its own (no build recorded one).
UNKNOWN_VERSION = "0+unknown"
#: pyproject's ``fallback_version``: what a build without git (an archive of the source) is versioned.
FALLBACK_VERSION = "0.0"
#: Prefix of a revision read from the build's version (not asked of git at run time).
BUILD = "build:"
_HERE = Path(__file__).resolve()
_LOCAL_HASH = re.compile(r"(?:^|\.)g([0-9a-f]{4,40})(?:\.|$)")
_DIRTY_DATE = re.compile(r"(?:^|\.)d\d{8}(?:\.|$)")
_RELEASE = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?")   # a tag's version: no .devN


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that decide the bits of a result (slth's: :func:`version`)."""
    out = {"python": platform.python_version(), "slth": version()}
    for pkg in ("jax", "jaxlib", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def device() -> str:
    """The default JAX device, e.g. ``cpu:cpu`` or ``gpu:NVIDIA H100 80GB HBM3``, with the count."""
    import jax

    devs = jax.devices()
    return f"{devs[0].platform}:{devs[0].device_kind} x{len(devs)}"


@functools.cache
def _own_distribution() -> metadata.Distribution | None:
    """The installed ``slth`` distribution if it is this very file's: a wheel install lists this file,
    an editable one names the folder this file lives under (``direct_url.json``); else None."""
    try:
        dist = metadata.distribution("slth")
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.name == _HERE.name and f.parent.name == "slth" and Path(dist.locate_file(f)).resolve() == _HERE:
            return dist
    try:
        url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    except (json.JSONDecodeError, AttributeError):
        return None
    parsed = urlparse(url)
    if parsed.scheme == "file" and Path(unquote(parsed.path)).resolve() in _HERE.parents:
        return dist
    return None


def version() -> str:
    """slth's version as built (setuptools-scm), or ``0+unknown`` for a copy no install describes."""
    dist = _own_distribution()
    return dist.version if dist is not None else UNKNOWN_VERSION


def build_revision(text: str) -> str:
    """The revision a setuptools-scm version names, marked ``build:``: ``0.1.dev52+g1a2b3c4.d20260101``
    gives ``build:1a2b3c4+dirty``; a tagged release's version, which has no hash (``0.1.0``), gives
    ``build:0.1.0``; :data:`FALLBACK_VERSION` (built without git) and anything else gives ``unknown``."""
    base, _, local = text.partition("+")
    dirty = "+dirty" if _DIRTY_DATE.search(local) else ""
    found = _LOCAL_HASH.search(local)
    if found:
        return f"{BUILD}{found.group(1)}{dirty}"
    if base in ("", "0", FALLBACK_VERSION) or not _RELEASE.fullmatch(base) or (local and not dirty):
        return "unknown"
    return f"{BUILD}{base}{dirty}"


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                          check=True).stdout.strip()


def _checkout_of_slth() -> Path | None:
    """The top of the git checkout this file belongs to, if it is one of slth: this file is
    ``<top>/src/slth/provenance.py``, tracked there, and ``<top>/pyproject.toml`` names slth."""
    try:
        top = Path(_git("rev-parse", "--show-toplevel", cwd=_HERE.parent)).resolve()
        if (top / "src" / "slth" / _HERE.name).resolve() != _HERE:
            return None
        with open(top / "pyproject.toml", "rb") as fh:
            if tomllib.load(fh).get("project", {}).get("name") != "slth":
                return None
        _git("ls-files", "--error-unmatch", f"src/slth/{_HERE.name}", cwd=top)
    except (OSError, subprocess.SubprocessError, ValueError):   # ValueError: a pyproject that is not TOML
        return None
    return top


@functools.cache
def git_revision() -> str:
    """The revision of the code that is running.

    In a checkout of slth (see :func:`_checkout_of_slth`): its commit from git, ``+dirty`` if tracked
    files have uncommitted changes. Otherwise the revision the installed build's version records
    (:func:`build_revision`, ``build:1a2b3c4``), or ``unknown``: never the commit of another project
    whose checkout happens to hold the installed package.
    """
    top = _checkout_of_slth()
    if top is not None:
        try:
            rev = _git("rev-parse", "HEAD", cwd=top)
            dirty = _git("status", "--porcelain", "--untracked-files=no", cwd=top)
            return rev + ("+dirty" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            pass
    dist = _own_distribution()
    return "unknown" if dist is None else build_revision(dist.version)


def record() -> dict:
    """Everything above in one dict, for a result row or a ticket's meta."""
    return {"versions": versions(), "device": device(), "git_revision": git_revision()}
