"""numba's process plumbing for slth's compiled kernels: where they are cached, compiled once, one call at a time.

- Cache: numba's ``cache=True`` writes ``__pycache__`` beside the module wherever that folder is
  writable, which in a virtual environment is the installed package. :func:`cache_in_slth_folder` puts
  the registered modules' cache in slth's user cache folder (:func:`slth.caches.folder`,
  ``~/.cache/slth/numba``) instead; with NUMBA_CACHE_DIR set, or a folder it cannot write, numba's own
  locators decide as usual. Other numba code in the process is not affected. numba recompiles a
  function when its own source file changes; a registered file also names the files its compiled code
  reads (functions it calls, constants it freezes), and a change to any of them recompiles it too.
- Compilation: :func:`compiled` compiles a kernel for the arguments at hand under a lock file in its
  cache folder, so that processes starting together on a machine whose cache is empty (a sweep's
  jax.distributed processes, parallel jobs, a test suite's workers) compile it once: the others wait, then
  read what the first wrote, instead of each spending the same 15 s of CPU.
- Calls: :func:`spread` deals a call's parts to numba's number of threads; :func:`one_call` lets one kernel
  call (all its threads) run at a time and defers Ctrl-C until it returns.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
from numba.core import caching as _numba_caching

from slth import caches

#: Source files whose numba functions cache in slth's folder (:func:`cache_in_slth_folder`), each with
#: the other files its compiled code reads.
_FILES: dict[str, tuple[str, ...]] = {}


@functools.lru_cache(maxsize=None)
def _digest(path: str, mtime: float, size: int) -> bytes:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).digest()


class _SlthCacheLocator(_numba_caching.UserProvidedCacheLocator):
    """The cache of a registered file's functions, in slth's user cache folder."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(str(caches.folder("numba")), self.get_suitable_cache_subpath(py_file))

    @classmethod
    def from_function(cls, py_func, py_file):
        if _numba_caching.config.CACHE_DIR or os.path.abspath(py_file) not in _FILES:
            return None
        # skip UserProvidedCacheLocator's own test (NUMBA_CACHE_DIR); the source-file checks and the
        # writability probe are numba's
        return super(_numba_caching.UserProvidedCacheLocator, cls).from_function(py_func, py_file)

    def get_source_stamp(self):
        """numba's stamp of the source file, with the digests of the files it reads: a cached
        compilation whose stamp differs is compiled again."""
        stamp = super().get_source_stamp()
        reads = _FILES.get(os.path.abspath(self._py_file), ())
        if not reads:
            return stamp
        return (stamp, *(_digest(p, os.stat(p).st_mtime, os.stat(p).st_size) for p in reads))


def cache_in_slth_folder(source_file: str, *, reads: tuple[str, ...] = ()) -> None:
    """Cache the numba functions of ``source_file`` in slth's folder, valid while it and the files in
    ``reads`` are unchanged; call it before they are decorated (numba looks the cache up then). numba
    consults ``CacheImpl``'s list of locators in order; the list is numba's internal, and where it is
    missing (another numba) its default locators are used."""
    _FILES[os.path.abspath(source_file)] = tuple(os.path.abspath(p) for p in reads)
    locators = getattr(_numba_caching.CacheImpl, "_locator_classes", None)
    if isinstance(locators, list) and _SlthCacheLocator not in locators:
        locators.insert(0, _SlthCacheLocator)


def compiled(dispatcher, *args) -> None:
    """Make sure ``dispatcher`` holds a compilation for ``args``' types: read from numba's on-disk cache,
    or compiled there while holding a lock file beside the cache (another process compiling the same
    kernel holds it; this one waits, then reads its result). Without a usable cache folder, or where
    ``fcntl`` is missing, numba compiles as it would on the first call."""
    signature = tuple(numba.typeof(a) for a in args)
    if signature in dispatcher.overloads:
        return
    folder = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
    handle = None
    try:
        import fcntl

        os.makedirs(folder, exist_ok=True)
        handle = open(os.path.join(folder, "compile.lock"), "a")
        fcntl.flock(handle, fcntl.LOCK_EX)
    except (ImportError, OSError, TypeError):      # no fcntl, no folder, or one it cannot write: no lock
        if handle is not None:
            handle.close()
        handle = None
    try:
        dispatcher.compile(signature)     # numba reads its cache first: another process's result, if there
    finally:
        if handle is not None:
            handle.close()                # closing the file releases the lock


def threads() -> int:
    """The threads a kernel call spreads over: numba's number (``NUMBA_NUM_THREADS``, the CPUs by default)."""
    return numba.get_num_threads()


def spread(work, parts: int) -> None:
    """Call ``work(k)`` for every k < ``parts`` on :func:`threads` Python threads (for kernels that release
    the GIL, ``nogil=True``): thread t takes parts t, t + threads, ... in order. On one thread, in this one."""
    count = min(parts, threads())

    def run(first: int) -> None:
        for k in range(first, parts, count):
            work(k)

    if count <= 1:
        run(0)
    else:
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(run, range(count)))


# A call spreads its blocks over every thread numba is allowed and holds buffers for all of them (the memory
# its caller checked against the budget); calls from several Python threads therefore take turns.
_ONE_CALL = threading.Lock()


@contextlib.contextmanager
def one_call():
    """One kernel call at a time (`_ONE_CALL`), with Ctrl-C deferred until it returns.

    A KeyboardInterrupt raised while numba runs (its dispatcher and cache loading call back into
    Python, where the interpreter raises a pending SIGINT) measured a segmentation fault or a
    SystemError ("returned a result with an exception set") in about a third of the trials: ``slth
    prune`` of a 256-512-512-10 target interrupted at random times. So while the kernel runs, SIGINT
    only records itself (the handler raises nothing), and after the kernel returns it is raised again
    for the handler it was meant for: Ctrl-C still works, one kernel call later. Blocking the signal
    does not do it: JAX's threads, started earlier, would still take it. Off the main thread Python
    delivers no signal, and nothing changes.
    """
    with _ONE_CALL:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        asked = []
        previous = signal.signal(signal.SIGINT, lambda signum, frame: asked.append(signum))
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
        if asked:       # delivered again to the handler it was meant for (Python's raises KeyboardInterrupt)
            signal.raise_signal(signal.SIGINT)
