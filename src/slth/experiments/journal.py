"""A sweep's journal: the append-only CSV file of committed rows, each line checksummed, read back line by line.

A row is committed when its line reaches a journal. Each line is the row's CSV record followed by one
more field, the CRC32 of the record's bytes (8 hex digits; the header names it ``crc32``), so the
journal stays a CSV file that pandas reads. An append writes whole lines, loops over short writes,
fsyncs, and on an error (a full disk) cuts the file back to its size before the append and fails with
a one-line message: a batch of rows is committed completely or not at all. Reading checks every line,
not only the last: a line whose checksum, UTF-8, field count, field types or unit is wrong (a torn
write, a fused pair of rows, a repeated header, a flipped byte) is dropped and reported, and the
journal can be rewritten without it. Journals written before checksums (header without ``crc32``,
the original format) are read with the same per-field checks and rewritten with checksums.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
import zlib
from pathlib import Path

from slth.errors import InputError
from slth.experiments import files

#: The journal's extra last column: the CRC32 of the line's record, 8 lowercase hex digits.
CHECKSUM = "crc32"
#: File names of journals, one per process.
NAME = re.compile(r"^journal-p\d+\.csv$")

_HEX8 = re.compile(rb"^[0-9a-f]{8}$")


@dataclasses.dataclass
class Read:
    """What reading a journal found: ``torn`` (bytes after the last newline), ``legacy`` (the original
    format, without checksums), its good ``rows`` (fields as text), the ``damaged`` lines (number, why) and the
    lines to ``keep`` when it is rewritten (checksummed, one per unit)."""

    torn: bool
    legacy: bool
    rows: list[dict] = dataclasses.field(default_factory=list)
    damaged: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    keep: list[bytes] = dataclasses.field(default_factory=list)


class Journal:
    """The journal format of one spec: its columns (``(name, type)``; ``typed(name, type, text)``
    reads a field back), and what a row of it must be: of its ``fingerprint``, a unit of ``units``
    with seed ``seed + trial``."""

    def __init__(self, columns, typed, *, fingerprint: str, seed: int, units: set[tuple[str, int]], folder):
        self.columns = tuple(name for name, _ in columns)
        self.types = dict(columns)
        self.typed = typed
        self.fingerprint, self.seed, self.units, self.folder = fingerprint, seed, units, folder
        self.header = (",".join(self.columns + (CHECKSUM,)) + "\n").encode()
        self._legacy_header = ",".join(self.columns).encode()

    def append(self, path: Path, rows: list[dict]) -> None:
        """Commit rows: whole checksummed lines in one append, then fsync. On any error the journal is
        cut back to its size before the append (no partial row stays) and an
        :class:`~slth.errors.InputError` says what failed."""
        if not rows:
            return
        lines = b"".join(self.frame([files.cell_text(row.get(k)) for k in self.columns]) for row in rows)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError(f"cannot open {path} to commit rows: {files.reason(e)}") from None
        try:
            start = os.fstat(fd).st_size
            try:
                files.write_all(fd, (self.header if start == 0 else b"") + lines)
                os.fsync(fd)
            except OSError as e:
                try:
                    os.ftruncate(fd, start)
                    os.fsync(fd)
                    left = "the partial rows were removed"
                except OSError:
                    left = "a partial row may remain (the next run drops it)"
                raise InputError(f"cannot append to {path}: {files.reason(e)}; {left}, no committed row "
                                 "is lost: fix that and run the same command again to resume") from None
        finally:
            os.close(fd)

    def frame(self, fields: list[str]) -> bytes:
        """One journal line: the CSV record of ``fields`` and its checksum."""
        for name, value in zip(self.columns, fields):
            if "\n" in value or "\r" in value:
                raise ValueError(f"journal field {name} {value!r} holds a line break")
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(fields)
        record = buf.getvalue().encode("utf-8")
        return record + b"," + f"{zlib.crc32(record):08x}".encode() + b"\n"

    def read(self, path: Path) -> Read:
        """Every line of journal ``path`` checked (see the module docstring); a row of another spec
        is refused (:class:`~slth.errors.InputError`)."""
        try:
            data = path.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read journal {path}: {files.reason(e)}") from None
        lines = data.split(b"\n")
        torn = lines.pop() != b""   # bytes after the last newline: a write cut short by a kill
        legacy = bool(lines) and lines[0] == self._legacy_header
        journal = Read(torn=torn, legacy=legacy)
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
            if row["fingerprint"] != self.fingerprint:
                raise InputError(f"{path} line {n} is a row of another spec (fingerprint {row['fingerprint']}, "
                                 f"this one {self.fingerprint}); move {self.folder} away to start afresh")
            journal.rows.append(row)
            key = (row["cell"], int(row["trial"]))
            if key not in seen:
                seen.add(key)
                journal.keep.append(line + b"\n" if record is not None
                                    else self.frame([row[k] for k in self.columns]))
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
            typed = {k: self.typed(k, self.types[k], v) for k, v in row.items()}
        except (TypeError, ValueError) as e:
            return None, f"a field does not parse ({e})"
        unit = (typed["cell"], typed["trial"])
        if unit not in self.units:
            return None, f"(cell {typed['cell']!r}, trial {typed['trial']}) is not a unit of the spec"
        if typed["seed"] != self.seed + typed["trial"]:
            return None, f"seed {typed['seed']} is not seed + trial = {self.seed + typed['trial']}"
        return row, ""

    def rewrite(self, path: Path, journal: Read) -> None:
        """Replace journal ``path`` by its good lines (checksummed), atomically."""
        files.atomic_write(path, (self.header + b"".join(journal.keep)).decode("utf-8"))


def _unframe(line: bytes) -> bytes | None:
    """The record of a checksummed journal line, or None if the checksum is missing or wrong."""
    record, comma, crc = line.rpartition(b",")
    if not comma or not _HEX8.match(crc) or zlib.crc32(record) != int(crc, 16):
        return None
    return record
