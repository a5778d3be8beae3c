"""Writing a results folder's files so that a reader sees whole files only: atomic writes and the set of tables.

**Atomic writes.** :func:`atomic_write` writes through a fsynced temporary file ``.<file>.tmp-<pid>``
beside the target and a rename; :func:`clean_temps` removes the temporary files a killed run left.

**The set.** ``results.csv``, ``summary.csv`` and ``fits.json`` are replaced as one set
(:func:`write_set`): all three are written to temporary files and fsynced, renamed in that order, and
``manifest.json`` (their sizes and hashes) is written last. :func:`set_problem` checks a folder's
tables against its manifest, so a reader never uses a table with the summary or fits of another.

Every write goes through ``_os_write`` (the fault tests make writes short or fail through it), and a
failure is one line (:func:`reason` names the errno).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from slth.errors import InputError

#: The three tables replaced together, in the order they are renamed; the manifest comes last.
SET = ("results.csv", "summary.csv", "fits.json")
MANIFEST = "manifest.json"

# Every write of the store goes through this name, so the fault tests can make writes short or fail.
_os_write = os.write

TEMP = re.compile(r"^\.(?P<target>.+)\.tmp-\d+$")


def reason(e: OSError) -> str:
    """An OSError in words, with its errno's name (``No space left on device (ENOSPC)``)."""
    name = errno.errorcode.get(e.errno, "") if e.errno else ""
    return f"{e.strerror or e}" + (f" ({name})" if name else "")


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data``: a short write is continued, an error raised (OSError)."""
    view = memoryview(data)
    while view:
        n = _os_write(fd, view)
        if n <= 0:
            raise OSError(errno.EIO, "write wrote nothing")
        view = view[n:]


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass   # some filesystems cannot fsync a directory; the renames are then as durable as they allow
    finally:
        os.close(fd)


def _temp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _write_temp(path: Path, data: bytes) -> Path:
    """``data`` in a fsynced temporary file beside ``path``; removed again if writing fails."""
    tmp = _temp(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a fsynced temporary file in the same directory and a rename,
    so a reader sees the old or the new file. Failures (a full disk) raise a one-line
    :class:`~slth.errors.InputError` and leave the old file."""
    path = Path(path)
    try:
        tmp = _write_temp(path, text.encode("utf-8"))
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as e:
        raise InputError(f"cannot write {path}: {reason(e)}; the old file is unchanged") from None
    _fsync_dir(path.parent)


def clean_temps(directory: Path, owned: Callable[[str], bool]) -> list[Path]:
    """Remove the temporary files ``.<target>.tmp-<pid>`` in ``directory`` whose target is ``owned``
    (left by a killed run; the caller holds the locks that make it the only writer of those targets)."""
    removed = []
    for p in Path(directory).glob(".*.tmp-*"):
        m = TEMP.match(p.name)
        if m and owned(m["target"]):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _digest(data: bytes) -> dict:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_set(directory, files: dict[str, str], *, fingerprint: str, complete: bool) -> None:
    """Replace ``results.csv``, ``summary.csv`` and ``fits.json`` of ``directory`` as one set: write
    the given ones to fsynced temporary files, rename them in :data:`SET` order (removing those not
    given, which would belong to another set), then write ``manifest.json`` with their sizes and
    hashes. A crash before the manifest leaves a set :func:`read_table` reports as mixed."""
    directory = Path(directory)
    unknown = sorted(set(files) - set(SET))
    if unknown or "results.csv" not in files:
        raise ValueError(f"a set is results.csv with optional summary.csv and fits.json; got {sorted(files)}")
    data = {name: files[name].encode("utf-8") for name in SET if name in files}
    temps: dict[str, Path] = {}
    try:
        for name, blob in data.items():
            temps[name] = _write_temp(directory / name, blob)
        for name in SET:
            if name in temps:
                os.replace(temps.pop(name), directory / name)
            else:
                (directory / name).unlink(missing_ok=True)
    except OSError as e:
        raise InputError(f"cannot write the tables of {directory}: {reason(e)}; run the same command again "
                         "once that is fixed (nothing committed is lost)") from None
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    manifest = {"fingerprint": fingerprint, "complete": complete,
                "files": {name: _digest(blob) for name, blob in data.items()}}
    atomic_write(directory / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def set_problem(directory: Path, results: bytes) -> str | None:
    """Why the files beside ``results`` (results.csv's bytes) are not the set ``manifest.json``
    names, or None (also when there is no manifest: a folder from before manifests, or a copy)."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        files = json.loads(path.read_bytes())["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not a table")
    except (OSError, ValueError, KeyError, TypeError) as e:
        return f"{MANIFEST} is unreadable ({e})"
    for name in SET:
        try:
            blob = results if name == "results.csv" else (directory / name).read_bytes()
        except FileNotFoundError:
            blob = None
        except OSError as e:
            return f"{name} is unreadable ({reason(e)})"
        want = files.get(name)
        if want is None and blob is not None:
            return f"{name} is not in {MANIFEST}"
        if want is not None and (blob is None or _digest(blob) != want):
            return f"{name} is {'missing' if blob is None else 'not the one'} {MANIFEST} names"
    return None


def csv_text(columns, rows: list[dict]) -> str:
    """A CSV table with the given columns (missing values empty)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell_text(row.get(k)) for k in columns})
    return buf.getvalue()


def cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)
