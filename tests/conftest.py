"""Test configuration: the theorem suite's plugin (float64 on, the ``ci`` and ``thorough``
hypothesis profiles chosen with SLTH_PROFILE or ``--profile``, the ``evidence`` fixture), the
markers (``slow`` tests run only with ``--run-slow``; ``gpu`` tests only when JAX sees a GPU), and
JAX's persistent compilation cache and faster-compiling XLA options for the whole run.

Most of the suite's time is XLA compilation of the same small shapes, again in each pytest-xdist
worker and in every subprocess a test starts (the CLI, ``slth selftest``, the mutation script, sweeps
killed and resumed). The cache below is set through the environment before JAX is imported, so the
workers and those subprocesses share one on-disk cache: a shape is compiled once per run (and kept
for later runs on the same machine; entries are keyed by the computation, the compile options and
the JAX version, so a stale hit cannot happen). JAX writes entries without a lock, so a process may
read an entry another is still writing, or one a killed process left short; JAX then warns and compiles
the shape itself, and those warnings are ignored (``filterwarnings`` in pyproject.toml for pytest,
``PYTHONWARNINGS`` below for the subprocesses): a damaged entry costs a compilation, never a result.
Set ``JAX_COMPILATION_CACHE_DIR`` yourself to move the cache; ``SLTH_TEST_JAX_CACHE=0`` turns it off.
A program read back from the cache holds one memory map per kernel, and a worker that kept them all
reached Linux's limit on maps and segfaulted; the theorem plugin therefore drops a worker's compiled
programs after any test that leaves it near that limit (:mod:`slth.compiled`).

The suite writes nothing into the user's home folder: slth's other caches (numba's kernels,
:mod:`slth.caches`) and matplotlib's font cache and configuration go to a folder of the run in the
temporary directory (``XDG_CACHE_HOME`` and ``MPLCONFIGDIR`` set here, for the workers and their
subprocesses alike), and a test run leaves the home folder as it found it.
"""

import os
import signal
import tempfile

#: The warnings JAX gives for a cache entry it could not read or write (it then compiles).
CACHE_WARNINGS = ("ignore:Error reading persistent compilation cache entry:UserWarning",
                  "ignore:Error writing persistent compilation cache entry:UserWarning")

if os.environ.get("SLTH_TEST_JAX_CACHE", "1") != "0":
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                          os.path.join(tempfile.gettempdir(), f"slth-tests-jax-cache-{os.getuid()}"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), *CACHE_WARNINGS]))

# One BLAS thread and one numba thread per process: the suite's workers already keep every core busy, and
# OpenBLAS's and numba's own threads (one per core in each worker and subprocess) only contend with them.
# Measured on 2 workers: tests/test_propagate.py, tests/test_residual.py and the sandwich theorems, user CPU
# 130 s against 149 s with one BLAS thread (wall 74 s against 83 s); the subset-sum and construction tests,
# 35 s against 42-44 s with one numba thread (wall 21 s against 25 s). Both libraries read the variables
# when they load, and pytest's plugins import NumPy before this file, so they take effect in the workers and
# subprocesses (started after this), not in this process. The numba kernel on several threads keeps its own
# test (tests/test_subset_sum_numba.py runs it in a subprocess on two threads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

_RUN_CACHES = os.path.join(tempfile.gettempdir(), f"slth-tests-caches-{os.getuid()}")
os.environ["XDG_CACHE_HOME"] = _RUN_CACHES
os.environ["MPLCONFIGDIR"] = os.path.join(_RUN_CACHES, "matplotlib")

# XLA's CPU back end compiles the suite's programs with LLVM at optimisation level 1 instead of 2: 15-20%
# less compiling on a cold cache (most of a fresh run's time; tests/test_measure.py cold, 36 s against
# 44 s). Level 1 keeps the fused multiply-adds XLA allows, so the random networks are a user's bits:
# the pinned streams of tests/test_layouts.py (GOLDEN, Gaussian draws included) hold at both levels, and
# tickets and certificates were checked equal. Computed values may still differ from level 2 in the last
# bits (the adversarial ascent's lower bound did, by 1e-16 relative), so a test that compares bits
# compares two runs under the same flags: a subprocess inherits them through XLA_FLAGS (add to them,
# never replace them). Level 0 compiles faster still but fuses nothing: its Gaussian draws differ, so it
# would test other networks than a user's, and is not used. The wheel check (tools/wheel_check.sh) runs
# the main job, a sweep and a figure at XLA's default, as a user does (its slth selftest uses these flags). ``SLTH_TEST_XLA_OPT=default`` (or
# a level of your own in XLA_FLAGS) keeps the default here.
# XLA's older (non-MLIR) fusion emitters compile a further 25-35% faster (the adversarial search's program:
# 1.2 s against 1.6 s; the random network's draw 0.44 s against 0.60 s) and keep the same pinned streams.
# Three more options cut the suite's compiling CPU again (a whole cold run: pytest 507 s against 616 s, user
# CPU 15 min 46 s against 19 min 16 s): LLVM optimising for size and without loop unrolling, and each
# program's LLVM module compiled whole (parallel_codegen_split_count=1: XLA splits it into parts compiled
# on threads by default, which saves wall time on an idle machine but costs CPU, and the suite's workers keep
# every core busy). Checked as the level was: the pinned streams hold, and the masks, random weights,
# certificates (both) and max weight errors of 18 tickets (every construction, 2 seeds) are the same bits at
# XLA's default, at level 1 and with these options; the lower bound moves in its last bit and the witness by
# round-off, as level 1 already did. All of them are turned on and off with the level (FAST_XLA_FLAGS).
# The flags are listed in fast_xla_flags.txt beside this file (the wheel check reads them too).
with open(os.path.join(os.path.dirname(__file__), "fast_xla_flags.txt")) as _flags:
    FAST_XLA_FLAGS = tuple(line.strip() for line in _flags if line.strip() and not line.startswith("#"))
if (os.environ.get("SLTH_TEST_XLA_OPT", "0") != "default"
        and "--xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", "")):
    os.environ["XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("XLA_FLAGS"), *FAST_XLA_FLAGS]))

# A shell that starts the suite in the background without job control (``(cmd &)``) leaves SIGINT ignored,
# and an ignored signal survives exec: Python then installs no KeyboardInterrupt handler, and the Ctrl-C
# tests' workers and children ignore the SIGINT they send. Restore Python's own handler here, in the
# controller (before it starts the workers) and in every worker; the children then start with the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import jax  # noqa: E402  (after the cache settings above)
import pytest  # noqa: E402

pytest_plugins = ["slth.theorems.plugin"]


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--run-slow")
    has_gpu = any(d.platform == "gpu" for d in jax.devices())
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --run-slow"))
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="gpu: JAX sees no GPU on this machine"))
