"""The results store of a sweep: the folder ``results/<name>/`` opened for a spec, resumed, and its tables.

Resumable, safe against kill -9, a full disk, a second run on the same folder and a damaged journal.

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

This module is the folder as a whole: :class:`Store` opens it for a spec, resumes from its journals
and writes its tables; :func:`read_table` reads a table back with the types of its kind's columns
(``COLUMNS`` of :mod:`slth.experiments.kinds`). The parts, one job each: the journal
(:mod:`slth.experiments.journal`: checksummed lines, a damaged line dropped and its unit computed
again, old journals without checksums resumed), atomic writes and the set of tables with its manifest
(:mod:`slth.experiments.files`: a reader never uses a table with the summary or fits of another), and
the locks (:mod:`slth.experiments.locks`: one run per folder, one writer per journal). Their public
names are importable from here too.

A directory made by a different spec (another fingerprint) is refused, so rows of two specs are never
mixed and nothing already written is overwritten.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

from slth.errors import InputError
from slth.experiments import journal
from slth.experiments.files import (MANIFEST, SET, TEMP, atomic_write, clean_temps, csv_text,  # noqa: F401
                                    set_problem, write_set)
from slth.experiments.files import reason as _reason
from slth.experiments.journal import CHECKSUM  # noqa: F401
from slth.experiments.kinds import KINDS
from slth.experiments.kinds._shared import PROVENANCE as _PROVENANCE
from slth.experiments.locks import LOCK, POLL_S, FolderLock, holders  # noqa: F401
from slth.experiments.spec import Spec

#: Columns of the table per kind, in order (names; their types are the kinds' ``COLUMNS``).
#: Provenance and wall time come last.
COLUMNS = {name: tuple(c for c, _ in kind.COLUMNS) for name, kind in KINDS.items()}
PROVENANCE = tuple(c for c, _ in _PROVENANCE)
#: Columns that may differ between two runs of the same spec (the measurement never does).
VOLATILE = PROVENANCE

MARKER = "sweep.json"
#: Reads of a set that does not match its manifest before it is reported (another process may be
#: between two renames of its replacement, which take milliseconds), 0.1 s, then 0.2 s, ... apart.
SET_READ_TRIES = 3


class Store:
    """The results directory of one spec (see the module docstring). ``process`` of ``processes``
    decides the journal this store appends to and the locks it takes."""

    def __init__(self, root, spec: Spec, *, process: int = 0, processes: int = 1):
        self.dir = Path(root) / spec.name
        self.spec = spec
        self.columns = tuple(name for name, _ in spec.plan.COLUMNS)
        self.process, self.processes = process, processes
        self.journal = self.dir / f"journal-p{process}.csv"
        self._format = journal.Journal(spec.plan.COLUMNS, typed, fingerprint=spec.fingerprint, seed=spec.seed,
                                       units={(c.key, t) for c, t in spec.units()}, folder=self.dir)
        self.header = self._format.header
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
        return name in SET + (MANIFEST, MARKER, "spec.toml") or (self.processes == 1 and bool(journal.NAME.match(name)))

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
            read = self._format.read(path)
            dropped += [f"{path.name} line {n}: {why}" for n, why in read.damaged]
            for row in read.rows:
                rows.setdefault((row["cell"], int(row["trial"])), row)
            if self._writes(path.name) and (read.damaged or read.torn or read.legacy):
                self._format.rewrite(path, read)
        return rows, dropped

    def done(self) -> dict[tuple[str, int], dict]:
        """The committed rows of :meth:`scan`, by (cell, trial)."""
        return self.scan()[0]

    def append(self, rows: list[dict]) -> None:
        """Commit rows to this process's journal (:meth:`slth.experiments.journal.Journal.append`:
        all or nothing, fsynced)."""
        self._format.append(self.journal, rows)

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


def _fresh_leftover(name: str) -> bool:
    """Files a folder without ``sweep.json`` may hold and still be a fresh one: locks, temporary
    files and the spec text of a creation that was cut short."""
    return name.startswith(LOCK) or bool(TEMP.match(name)) or name == "spec.toml"


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
        problem = set_problem(path.parent, data) if check_set else None
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
    columns = {name: tuple(c for c, _ in kind.COLUMNS) for name, kind in KINDS.items()}
    matches = [k for k, cols in columns.items() if tuple(reader.fieldnames or ()) == cols]
    if not matches:
        names = set(reader.fieldnames or ())
        near = [k for k, cols in columns.items() if {"sweep", "fingerprint", "cell"} <= names < set(cols)]
        hint = (f" (a {near[0]} table from an older slth, which lacks columns "
                f"{sorted(set(columns[near[0]]) - names)}: run its spec again into an empty folder)"
                if near else "")
        raise InputError(f"{path} is not a slth results table: its columns are {reader.fieldnames}{hint}")
    types = dict(KINDS[matches[0]].COLUMNS)
    rows = []
    for n, raw in enumerate(reader, start=2):
        if None in raw or None in raw.values():
            raise InputError(f"{path} line {n} does not have the table's {len(reader.fieldnames)} fields")
        try:
            rows.append({k: typed(k, types[k], v) for k, v in raw.items()})
        except (TypeError, ValueError) as e:
            raise InputError(f"{path} line {n}: {e}") from None
    return rows


def typed(name: str, kind: type, text: str):
    """The value of field ``name`` of column type ``kind`` (``int``, ``float``, ``bool``, ``str``, or
    ``tuple`` for widths ``8,16,4``) from its text; empty is None."""
    if text == "" or text is None:
        return None
    if kind is bool:
        if text not in ("True", "False"):
            raise ValueError(f"{name} {text!r} is not True or False")
        return text == "True"
    if kind is tuple:
        return tuple(int(x) for x in text.split(","))
    return kind(text)
