"""Provenance recorded with every result: versions, device and git revision."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import jax


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that decide the bits of a result."""
    out = {"python": platform.python_version()}
    for pkg in ("slth", "jax", "jaxlib", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def device() -> str:
    """The default JAX device, e.g. ``cpu:cpu`` or ``gpu:NVIDIA H100 80GB HBM3``, with the count."""
    devs = jax.devices()
    return f"{devs[0].platform}:{devs[0].device_kind} x{len(devs)}"


@functools.cache
def git_revision() -> str:
    """The git commit of the slth source tree (``+dirty`` if it has uncommitted changes), or
    ``unknown`` for an installed copy outside a checkout."""
    src = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=src,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def record() -> dict:
    """Everything above in one dict, for a result row or a ticket's meta."""
    return {"versions": versions(), "device": device(), "git_revision": git_revision()}
