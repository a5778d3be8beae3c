"""Keep a long process clear of the kernel's limit on memory maps by dropping JAX's compiled programs.

Every program XLA:CPU holds in memory is mapped into the process, and one read back from the
persistent compilation cache is mapped one object file per kernel: a program of a conv layout's
generator costs about 150 maps, a small one 3 to 30. A process that runs many shapes (a sweep over
widths, a pytest worker, ``slth selftest``) keeps them all, because each jitted function remembers
every shape it compiled, and Linux refuses a process more than ``vm.max_map_count`` maps (65,530 by
default). XLA does not report that refusal: LLVM logs "Cannot allocate memory" and the process
segfaults. Measured: a pytest worker of this suite, with a warm cache, crashed reading its
~1,500th program back (``tests/test_compiled.py`` holds the check of the remedy).

The remedy is :func:`relieve`: when the process holds more than a share of its limit, drop every
compiled program (``jax.clear_caches``); later calls compile again or read the program back from
the persistent cache. Results do not depend on it: a program compiled again is the same program.
Where ``/proc`` does not exist (macOS, Windows) nothing is counted and nothing is dropped.
"""

from __future__ import annotations

import gc

#: Share of ``vm.max_map_count`` above which :func:`relieve` drops the compiled programs.
SHARE = 0.4


def map_count() -> int | None:
    """How many memory maps this process holds (lines of /proc/self/maps), or None without /proc."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return None


def map_limit() -> int | None:
    """The kernel's limit on a process's memory maps (vm.max_map_count), or None without /proc."""
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def relieve(share: float = SHARE) -> bool:
    """Drop JAX's compiled programs if this process holds more than ``share`` of its map limit.

    Returns whether it did. Cheap when it does nothing (one read of /proc/self/maps, ~1 ms).
    """
    limit, count = map_limit(), map_count()
    if limit is None or count is None or count <= share * limit:
        return False
    import jax

    jax.clear_caches()
    gc.collect()
    return True
