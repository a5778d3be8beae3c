"""The results store of a sweep: ``results/<name>/``, resumable, safe against kill -9, a full disk,
a second run on the same folder and a damaged journal.

Layout::

    results/<name>/
      sweep.json          the spec's name, kind and fingerprint (written once, atomically, last)
      spec.toml           the spec text the rows came from
      journal-p<k>.csv    rows as process k commits them: append-only CSV, each line ending in its CRC32
      results.csv         the table: every row, in grid order (cell, then trial)
      summary.csv         one line per cell (measured widths, bounds, ratios), from results.csv
      fits.json           the fitted constants and exponents with their intervals
      manifest.json       size and SHA-256 of the three tables above: the set they form
      .lock, .lock-p<k>   advisory locks (``flock``) of the run using the folder, with its pid and host

**Journal.** A row is committed when its line reaches a journal. Each line is the row's CSV record
followed by one more field, the CRC32 of the record's bytes (8 hex digits; the header names it
``crc32``), so the journal stays a CSV file that pandas reads. An append writes whole lines, loops over
short writes, fsyncs, and on an error (a full disk) cuts the file back to its size before the append and
fails with a one-line message: a batch of rows is committed completely or not at all. Reading checks
every line, not only the last: a line whose checksum, UTF-8, field count, field types or unit is wrong
(a torn write, a fused pair of rows, a repeated header, a flipped byte) is dropped, reported, and its
unit computed again; the journal is then rewritten without it (by its own process; by a single-process
run, which holds the folder alone, every journal). Journals written before
checksums (header without ``crc32``, the original format) are read with the same per-field checks
and rewritten with checksums when a run resumes them: old folders resume.

**Tables.** ``results.csv``, ``summary.csv`` and ``fits.json`` are replaced as one set: all three are
written to temporary files and fsynced, renamed in that order, and ``manifest.json`` (their sizes and
hashes) is written last. :func:`read_table` checks the set against the manifest, so a reader never
uses a table with the summary or fits of another (a crash between two renames is reported, and the
next ``slth run`` or ``slth fit`` writes the set again). Temporary files ``.<file>.tmp-<pid>`` left by a
killed run are removed by the next run of the folder.

**Locks.** A single-process run holds ``.lock`` exclusively. The processes of a ``jax.distributed``
run hold it shared and each holds ``.lock-p<k>`` (the lock of its journal) exclusively, so a second run
on the folder, single or multi-process, is refused (or waits) instead of duplicating the work, and no
two writers ever share a journal. ``slth fit`` takes ``.lock`` exclusively while it rewrites the set.

A directory made by a different spec (another fingerprint) is refused, so rows of two specs are never
mixed and nothing already written is overwritten.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import socket
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from slth.errors import InputError
from slth.experiments.spec import Spec

#: Columns of the table per kind, in order. Provenance and wall time come last.
PROVENANCE = ("wall_s", "slth", "jax", "jaxlib", "numpy", "scipy", "python", "device", "git_revision")
COLUMNS = {
    "width": ("sweep", "fingerprint", "cell", "construction", "dims", "d", "l", "eps", "delta", "c_max",
              "target_distribution", "distribution", "drop_negative", "trial", "seed", "certified",
              "optimistic", "certificate", "lower_bound", "lower_bound_at_certified",
              "certificate_at_optimistic") + PROVENANCE,
    "coverage": ("sweep", "fingerprint", "cell", "c", "distribution", "values", "trial", "seed", "eta")
                + PROVENANCE,
    "weight_error": ("sweep", "fingerprint", "cell", "construction", "c", "distribution", "targets", "trial",
                     "seed", "median_error", "max_error", "mean_error", "kept_mean") + PROVENANCE,
    "digits": ("sweep", "fingerprint", "cell", "construction", "c", "dims", "training_seed", "epochs", "data",
               "trial", "seed", "train_accuracy", "target_accuracy", "ticket_accuracy", "agreement",
               "certificate", "lower_bound", "guaranteed_fraction", "guaranteed_disagree", "random_params",
               "kept_params") + PROVENANCE,
    "separation": ("sweep", "fingerprint", "cell", "method", "d", "c", "inputs", "distribution", "n_train",
                   "n_test", "trial", "seed", "random_params", "params", "hidden_units", "kept_params",
                   "train_l2", "test_l2", "test_l2_low", "test_l2_high", "relative", "relative_low",
                   "relative_high", "sup_bound", "sup_observed") + PROVENANCE,
}
#: Columns that may differ between two runs of the same spec (the measurement never does).
VOLATILE = PROVENANCE

_INT = {"d", "l", "c_max", "trial", "seed", "certified", "optimistic", "c", "training_seed", "epochs",
        "guaranteed_disagree", "random_params", "kept_params", "n_train", "n_test", "params",
        "hidden_units", "targets"}
_FLOAT = {"eps", "delta", "certificate", "lower_bound", "eta", "wall_s", "train_accuracy", "target_accuracy",
          "ticket_accuracy", "agreement", "guaranteed_fraction", "train_l2", "test_l2", "test_l2_low",
          "test_l2_high", "relative", "relative_low", "relative_high", "sup_bound", "sup_observed",
          "lower_bound_at_certified", "certificate_at_optimistic", "median_error", "max_error", "mean_error",
          "kept_mean"}
_BOOL = {"drop_negative"}


#: The three tables replaced together, in the order they are renamed; the manifest comes last.
SET = ("results.csv", "summary.csv", "fits.json")
MANIFEST = "manifest.json"
MARKER = "sweep.json"
LOCK = ".lock"
#: The journal's extra last column: the CRC32 of the line's record, 8 lowercase hex digits.
CHECKSUM = "crc32"
#: Seconds between two tries of a lock another run holds (``--wait``).
POLL_S = 0.25
#: Reads of a set that does not match its manifest before it is reported (another process may be
#: between two renames of its replacement, which take milliseconds), 0.1 s, then 0.2 s, ... apart.
SET_READ_TRIES = 3

# Every write of the store goes through this name, so the fault tests can make writes short or fail.
_os_write = os.write

_TEMP = re.compile(r"^\.(?P<target>.+)\.tmp-\d+$")
_JOURNAL = re.compile(r"^journal-p\d+\.csv$")
_HEX8 = re.compile(rb"^[0-9a-f]{8}$")


class Store:
    """The results directory of one spec (see the module docstring). ``process`` of ``processes``
    decides the journal this store appends to and the locks it takes."""

    def __init__(self, root, spec: Spec, *, process: int = 0, processes: int = 1):
        self.dir = Path(root) / spec.name
        self.spec = spec
        self.columns = COLUMNS[spec.kind]
        self.process, self.processes = process, processes
        self.journal = self.dir / f"journal-p{process}.csv"
        self.header = (",".join(self.columns + (CHECKSUM,)) + "\n").encode()
        self._legacy_header = ",".join(self.columns).encode()
        self._units = {(c.key, t) for c, t in spec.units()}
        self._lock: FolderLock | None = None

    # ------------------------------------------------------------------ opening

    def check(self) -> None:
        """Refuse, without writing anything, a folder this spec cannot use: not a directory, made by
        another spec, or holding files and no ``sweep.json``. Process k > 0 also needs process 0's
        ``sweep.json``."""
        if self.dir.exists() and not self.dir.is_dir():
            raise InputError(f"results path {str(self.dir)!r} exists and is not a directory")
        marker = self.dir / MARKER
        if marker.exists():
            try:
                fingerprint = json.loads(marker.read_text(encoding="utf-8"))["fingerprint"]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise InputError(f"{marker} is unreadable ({e}); move {self.dir} away to start afresh") from None
            if fingerprint != self.spec.fingerprint:
                raise InputError(
                    f"{self.dir} holds results of a different spec (fingerprint {fingerprint}, this one "
                    f"{self.spec.fingerprint}); nothing was written: move it away, rename the spec, or "
                    "pass --results to write elsewhere")
            return
        if self.process != 0:
            raise InputError(f"{self.dir} has no {MARKER}: process 0 of the run did not create it")
        if self.dir.is_dir():
            others = sorted(p.name for p in self.dir.iterdir() if not _fresh_leftover(p.name))
            if others:
                raise InputError(f"{self.dir} exists, is not empty ({', '.join(others[:3])}"
                                 f"{', ...' if len(others) > 3 else ''}) and has no {MARKER}; nothing was "
                                 "written: move it away or pass --results to write elsewhere")

    def open(self, *, on_wait: Callable[[str], None] | None = None) -> None:
        """Create the directory for this spec (process 0) or check that it is this spec's, take the
        folder's locks, and remove temporary files a killed run left. ``on_wait``: None to refuse a
        folder another run holds (:class:`~slth.errors.InputError` naming it), or a callable run with
        the holder's description every :data:`POLL_S` seconds while waiting for it."""
        self.check()
        if self.process == 0:
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise InputError(f"cannot create results folder {self.dir}: {e.strerror or e}") from None
        self._lock = FolderLock(self.dir, process=self.process, processes=self.processes, on_wait=on_wait)
        self._lock.acquire()
        try:
            self.check()   # again, holding the lock: another run may have made the folder meanwhile
            clean_temps(self.dir, self._writes)
            if self.process == 0:
                if not (self.dir / MARKER).exists():
                    atomic_write(self.dir / "spec.toml", self.spec.source)
                    # the marker last: a folder without it holds nothing that needs keeping
                    atomic_write(self.dir / MARKER, json.dumps(
                        {"name": self.spec.name, "kind": self.spec.kind, "fingerprint": self.spec.fingerprint},
                        indent=2) + "\n")
        except BaseException:
            self.close()
            raise

    def _writes(self, name: str) -> bool:
        """Whether this store, holding its locks, is the only writer of file ``name`` of the folder:
        its own journal; for process 0 also the tables, the manifest, the marker and the spec text; for
        a single-process run (which holds the folder alone) every journal."""
        if name == self.journal.name:
            return True
        if self.process != 0:
            return False
        return name in SET + (MANIFEST, MARKER, "spec.toml") or (self.processes == 1 and bool(_JOURNAL.match(name)))

    def close(self) -> None:
        """Release the folder's locks (also done by the kernel when the process ends)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # ------------------------------------------------------------------ journal

    def scan(self) -> tuple[dict[tuple[str, int], dict], list[str]]:
        """Committed rows of every process's journal, by (cell, trial), and a description of each
        journal line dropped as damaged. A journal this store is the only writer of (its own; every
        journal in a single-process run) is rewritten without its damaged lines and torn tail; those of
        the other processes of a multi-process run, which may be appending right now, are only read."""
        rows: dict[tuple[str, int], dict] = {}
        dropped: list[str] = []
        for path in sorted(self.dir.glob("journal-p*.csv")):
            journal = self._read_journal(path)
            dropped += [f"{path.name} line {n}: {why}" for n, why in journal.damaged]
            for row in journal.rows:
                rows.setdefault((row["cell"], int(row["trial"])), row)
            if self._writes(path.name) and (journal.damaged or journal.torn or journal.legacy):
                self._rewrite_journal(path, journal)
        return rows, dropped

    def done(self) -> dict[tuple[str, int], dict]:
        """The committed rows of :meth:`scan`, by (cell, trial)."""
        return self.scan()[0]

    def append(self, rows: list[dict]) -> None:
        """Commit rows: whole checksummed lines in one append, then fsync. On any error the journal is
        cut back to its size before the append (no partial row stays) and an
        :class:`~slth.errors.InputError` says what failed."""
        if not rows:
            return
        lines = b"".join(self._frame([_cell_text(row.get(k)) for k in self.columns]) for row in rows)
        try:
            fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError(f"cannot open {self.journal} to commit rows: {_reason(e)}") from None
        try:
            start = os.fstat(fd).st_size
            try:
                _write_all(fd, (self.header if start == 0 else b"") + lines)
                os.fsync(fd)
            except OSError as e:
                try:
                    os.ftruncate(fd, start)
                    os.fsync(fd)
                    left = "the partial rows were removed"
                except OSError:
                    left = "a partial row may remain (the next run drops it)"
                raise InputError(f"cannot append to {self.journal}: {_reason(e)}; {left}, no committed row "
                                 "is lost: fix that and run the same command again to resume") from None
        finally:
            os.close(fd)

    def _frame(self, fields: list[str]) -> bytes:
        for name, value in zip(self.columns, fields):
            if "\n" in value or "\r" in value:
                raise ValueError(f"journal field {name} {value!r} holds a line break")
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(fields)
        record = buf.getvalue().encode("utf-8")
        return record + b"," + f"{zlib.crc32(record):08x}".encode() + b"\n"

    def _read_journal(self, path: Path) -> _Journal:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read journal {path}: {_reason(e)}") from None
        lines = data.split(b"\n")
        torn = lines.pop() != b""   # bytes after the last newline: a write cut short by a kill
        legacy = bool(lines) and lines[0] == self._legacy_header
        journal = _Journal(torn=torn, legacy=legacy)
        seen: set[tuple[str, int]] = set()
        for n, line in enumerate(lines, start=1):
            if line + b"\n" == self.header or line == self._legacy_header:
                if n > 1:
                    journal.damaged.append((n, "a repeated header"))
                continue
            record = _unframe(line)
            if record is None and not legacy:
                journal.damaged.append((n, "its checksum is missing or does not match"))
                continue
            row, why = self._parse_row(record if record is not None else line)
            if row is None:
                journal.damaged.append((n, why))
                continue
            if row["fingerprint"] != self.spec.fingerprint:
                raise InputError(f"{path} line {n} is a row of another spec (fingerprint {row['fingerprint']}, "
                                 f"this one {self.spec.fingerprint}); move {self.dir} away to start afresh")
            journal.rows.append(row)
            key = (row["cell"], int(row["trial"]))
            if key not in seen:
                seen.add(key)
                journal.keep.append(line + b"\n" if record is not None
                                    else self._frame([row[k] for k in self.columns]))
        return journal

    def _parse_row(self, record: bytes) -> tuple[dict | None, str]:
        try:
            text = record.decode("utf-8")
        except UnicodeDecodeError:
            return None, "it is not UTF-8"
        try:
            records = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as e:
            return None, f"it is not CSV ({e})"
        if len(records) != 1 or len(records[0]) != len(self.columns):
            return None, f"it has {sum(map(len, records))} fields, not {len(self.columns)}"
        row = dict(zip(self.columns, records[0]))
        try:
            typed = {k: _typed(k, v) for k, v in row.items()}
        except (TypeError, ValueError) as e:
            return None, f"a field does not parse ({e})"
        unit = (typed["cell"], typed["trial"])
        if unit not in self._units:
            return None, f"(cell {typed['cell']!r}, trial {typed['trial']}) is not a unit of the spec"
        if typed["seed"] != self.spec.seed + typed["trial"]:
            return None, f"seed {typed['seed']} is not seed + trial = {self.spec.seed + typed['trial']}"
        return row, ""

    def _rewrite_journal(self, path: Path, journal: _Journal) -> None:
        """Replace journal ``path`` by its good lines (checksummed), atomically."""
        atomic_write(path, (self.header + b"".join(journal.keep)).decode("utf-8"))

    # ------------------------------------------------------------------ table

    def table(self) -> tuple[str, list[dict], bool]:
        """``results.csv``'s text: every committed row, in the spec's unit order; the rows as
        :func:`read_table` reads that text back (typed), so summaries come from the table itself; and
        whether every unit has its row."""
        done = self.done()
        order = [(c.key, t) for c, t in self.spec.units()]
        text = csv_text(self.columns, [done[k] for k in order if k in done])
        return text, parse_table(text.encode("utf-8"), self.dir / "results.csv"), all(k in done for k in order)

    def write(self, results: str, summary: str | None = None, fits: str | None = None, *,
              complete: bool) -> None:
        """Replace the set of tables (see :func:`write_set`)."""
        files = {"results.csv": results}
        if summary is not None:
            files["summary.csv"] = summary
        if fits is not None:
            files["fits.json"] = fits
        write_set(self.dir, files, fingerprint=self.spec.fingerprint, complete=complete)


@dataclasses.dataclass
class _Journal:
    torn: bool
    legacy: bool
    rows: list[dict] = dataclasses.field(default_factory=list)
    damaged: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    keep: list[bytes] = dataclasses.field(default_factory=list)


def _unframe(line: bytes) -> bytes | None:
    """The record of a checksummed journal line, or None if the checksum is missing or wrong."""
    record, comma, crc = line.rpartition(b",")
    if not comma or not _HEX8.match(crc) or zlib.crc32(record) != int(crc, 16):
        return None
    return record


def _fresh_leftover(name: str) -> bool:
    """Files a folder without ``sweep.json`` may hold and still be a fresh one: locks, temporary
    files and the spec text of a creation that was cut short."""
    return name.startswith(LOCK) or bool(_TEMP.match(name)) or name == "spec.toml"


# --------------------------------------------------------------------------- locks

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
            raise InputError(f"cannot open lock file {path}: {_reason(e)}") from None
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

def _reason(e: OSError) -> str:
    name = errno.errorcode.get(e.errno, "") if e.errno else ""
    return f"{e.strerror or e}" + (f" ({name})" if name else "")


def _write_all(fd: int, data: bytes) -> None:
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
        _write_all(fd, data)
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
        raise InputError(f"cannot write {path}: {_reason(e)}; the old file is unchanged") from None
    _fsync_dir(path.parent)


def clean_temps(directory: Path, owned: Callable[[str], bool]) -> list[Path]:
    """Remove the temporary files ``.<target>.tmp-<pid>`` in ``directory`` whose target is ``owned``
    (left by a killed run; the caller holds the locks that make it the only writer of those targets)."""
    removed = []
    for p in Path(directory).glob(".*.tmp-*"):
        m = _TEMP.match(p.name)
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
        raise InputError(f"cannot write the tables of {directory}: {_reason(e)}; run the same command again "
                         "once that is fixed (nothing committed is lost)") from None
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    manifest = {"fingerprint": fingerprint, "complete": complete,
                "files": {name: _digest(blob) for name, blob in data.items()}}
    atomic_write(directory / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _set_problem(directory: Path, results: bytes) -> str | None:
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
            return f"{name} is unreadable ({_reason(e)})"
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
        writer.writerow({k: _cell_text(row.get(k)) for k in columns})
    return buf.getvalue()


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


# --------------------------------------------------------------------------- reading tables

def read_table(path, *, check_set: bool = True) -> list[dict]:
    """Read a ``results.csv`` back with types: ints, floats, bools, ``dims`` as a tuple, empty as
    None. (pandas reads the same file with ``pandas.read_csv``.) ``path`` is the file or its folder.

    With ``check_set`` (the default), the folder's ``results.csv``, ``summary.csv`` and ``fits.json``
    must be the set its ``manifest.json`` names (re-read a few times while another process replaces
    it): a mixed set is refused with a message saying how to rewrite it."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.csv"
    for attempt in range(SET_READ_TRIES):
        data = _read_bytes(path)
        problem = _set_problem(path.parent, data) if check_set else None
        if problem is None:
            return parse_table(data, path)
        if attempt + 1 < SET_READ_TRIES:
            time.sleep(0.1 * (attempt + 1))
    raise InputError(f"{path.parent} holds tables that are not one set: {problem} (a write was interrupted); "
                     f"run its sweep again (slth run) or `slth fit {path.parent}` to rewrite them")


def load_table(path) -> tuple[str, list[dict]]:
    """The text of a ``results.csv`` and its typed rows, without checking the set around it (for
    ``slth fit``, which rewrites that set)."""
    path = Path(path)
    data = _read_bytes(path)
    return data.decode("utf-8", "replace"), parse_table(data, path)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise InputError(f"results table {str(path)!r} does not exist")
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read results table {path}: {_reason(e)}") from None


def parse_table(data: bytes, path) -> list[dict]:
    """The typed rows of a ``results.csv`` given as bytes (``path`` names it in messages)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not UTF-8 text ({e})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    kinds = [k for k, cols in COLUMNS.items() if tuple(reader.fieldnames or ()) == cols]
    if not kinds:
        names = set(reader.fieldnames or ())
        near = [k for k, cols in COLUMNS.items() if {"sweep", "fingerprint", "cell"} <= names < set(cols)]
        hint = (f" (a {near[0]} table from an older slth, which lacks columns "
                f"{sorted(set(COLUMNS[near[0]]) - names)}: run its spec again into an empty folder)"
                if near else "")
        raise InputError(f"{path} is not a slth results table: its columns are {reader.fieldnames}{hint}")
    rows = []
    for n, raw in enumerate(reader, start=2):
        if None in raw or None in raw.values():
            raise InputError(f"{path} line {n} does not have the table's {len(reader.fieldnames)} fields")
        try:
            rows.append({k: _typed(k, v) for k, v in raw.items()})
        except (TypeError, ValueError) as e:
            raise InputError(f"{path} line {n}: {e}") from None
    return rows


def _typed(key: str, text: str):
    if text == "" or text is None:
        return None
    if key in _INT:
        return int(text)
    if key in _FLOAT:
        return float(text)
    if key in _BOOL:
        if text not in ("True", "False"):
            raise ValueError(f"{key} {text!r} is not True or False")
        return text == "True"
    if key == "dims":
        return tuple(int(x) for x in text.split(","))
    return text
