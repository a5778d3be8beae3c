"""The ``slth`` process's JAX settings: float64 on, and compiled programs kept on disk between runs.

The command line is an application, so it may set what a library must not: JAX's global switches.

- ``jax_enable_x64``: the verification path is float64 throughout.
- A persistent compilation cache. A fresh process compiles every shape it runs (the Pensia-scale
  job spends about 3 s of its 9 in XLA's compiler, most of it the random network's generator); with
  the cache a later run of the same shapes reads the programs back (benchmarks/README.md, "cold" and
  "warm"). Entries are keyed by the computation, the compile options and the JAX version, so a stale
  entry is never used, and a damaged one (a run killed while writing it) costs a compilation: JAX
  warns and compiles, and that warning is silenced here. The folder is ``$JAX_COMPILATION_CACHE_DIR``
  when set, else slth's user cache folder (:mod:`slth.caches`: ``~/.cache/slth/jax``); ``SLTH_JAX_CACHE=0`` turns the
  cache off; a folder that cannot be created or written leaves it off. Results do not depend on it:
  a program read back is the program compiled.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from slth import caches

#: Smallest compile time (seconds) worth an entry, unless $JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS
#: says otherwise: the generator's and the problems' programs take 0.1-1.2 s each; below this a read
#: costs about what the compile does.
MIN_COMPILE_SECONDS = 0.05


def cache_folder() -> Path | None:
    """The compilation cache's folder for this process (see the module docstring), or None when off."""
    if os.environ.get("SLTH_JAX_CACHE", "1") == "0":
        return None
    explicit = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return caches.folder("jax")


def configure() -> Path | None:
    """Apply the settings (call before any JAX computation); returns the cache folder in use, or None."""
    import jax

    jax.config.update("jax_enable_x64", True)
    folder = cache_folder()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            return None
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    for verb in ("reading", "writing"):
        warnings.filterwarnings("ignore", message=f"Error {verb} persistent compilation cache entry",
                                category=UserWarning)
    return folder
