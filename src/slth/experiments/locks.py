"""The advisory locks of a results folder: one run per folder, one writer per journal.

A single-process run holds ``.lock`` exclusively. The processes of a ``jax.distributed`` run hold it
shared and each holds ``.lock-p<k>`` (the lock of its journal) exclusively, so a second run on the
folder, single or multi-process, is refused (or waits) instead of duplicating the work, and no two
writers ever share a journal. ``slth fit`` takes ``.lock`` exclusively while it rewrites the set.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from slth.errors import InputError
from slth.experiments.files import reason

LOCK = ".lock"
#: Seconds between two tries of a lock another run holds (``--wait``).
POLL_S = 0.25


class FolderLock:
    """The advisory locks of a results folder (see the module docstring): ``.lock`` exclusive for a
    single process (``processes == 1``), shared plus ``.lock-p<process>`` exclusive for a process of a
    multi-process run. The holder writes its pid, host, start time and command into the lock file it
    holds alone, so a refused run can name it."""

    def __init__(self, directory, *, process: int = 0, processes: int = 1,
                 on_wait: Callable[[str], None] | None = None, command: str = "slth run"):
        self.dir = Path(directory)
        self.process, self.processes = process, processes
        self.on_wait, self.command = on_wait, command
        self._fds: list[int] = []

    def acquire(self) -> FolderLock:
        try:
            if self.processes == 1:
                self._take(self.dir / LOCK, fcntl.LOCK_EX, describe=True)
            else:
                self._take(self.dir / LOCK, fcntl.LOCK_SH, describe=False)
                self._take(self.dir / f"{LOCK}-p{self.process}", fcntl.LOCK_EX, describe=True)
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def _take(self, path: Path, mode: int, *, describe: bool) -> None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError(f"cannot open lock file {path}: {reason(e)}") from None
        self._fds.append(fd)
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = holders(self.dir)
                if self.on_wait is None:
                    raise InputError(f"{self.dir} is in use by {holder}: one run per results folder at a time; "
                                     "let it finish, pass --wait to queue behind it, or pass --results to "
                                     "write elsewhere") from None
                self.on_wait(holder)
                time.sleep(POLL_S)
        if describe:
            since = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            info = {"pid": os.getpid(), "host": socket.gethostname(), "since": since, "command": self.command,
                    "process": self.process, "processes": self.processes}
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
            except OSError:
                pass   # the lock holds without its description; a refused run then names no pid


def holders(directory) -> str:
    """Who holds the locks of a results folder, from what they wrote into the lock files they hold."""
    names = []
    for path in sorted(Path(directory).glob(f"{LOCK}*")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)   # granted: nobody holds it exclusively
                continue
            except BlockingIOError:
                pass
            text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        finally:
            os.close(fd)
        try:
            info = json.loads(text)
            part = (f" (process {info['process']} of {info['processes']})" if info.get("processes", 1) > 1 else "")
            names.append(f"{info['command']} pid {info['pid']} on {info['host']} since {info['since']}{part}")
        except (ValueError, KeyError, TypeError, AttributeError):
            names.append(f"a process that has not yet written its name into {path.name}")
    return "; ".join(names) or "another process"


# --------------------------------------------------------------------------- writing files
