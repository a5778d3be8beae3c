"""slth's user cache folder: where compiled programs (XLA's, numba's) are kept between processes.

``$XDG_CACHE_HOME/slth/<kind>``, else ``~/.cache/slth/<kind>``: never the installed package nor the
working folder, so a command writes its outputs and nothing else where it runs. What is kept there is
a cache in the strict sense: deleting it costs compilation time, never a different result.
"""

from __future__ import annotations

import os
from pathlib import Path


def folder(kind: str) -> Path:
    """The cache folder of ``kind`` ("jax", "numba"); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "slth" / kind
