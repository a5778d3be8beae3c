"""The results store of a sweep: ``results/<name>/``, resumable and safe against kill -9.

Layout::

    results/<name>/
      sweep.json          the spec's name, kind and fingerprint (written once, atomically)
      spec.toml           the spec text the rows came from
      journal-p<k>.csv    rows as process k finishes them: append-only, one write + fsync per batch
      results.csv         the table: every row, in grid order (cell, then trial), rebuilt atomically
      summary.csv         one line per cell (measured widths, bounds, ratios), from results.csv
      fits.json           the fitted constants and exponents with their intervals

A row is committed when its line reaches a journal: it is written with a single ``write`` of whole
lines and fsync'ed, so a killed run leaves at worst a torn last line, which the next run drops (the
unit is then recomputed). Nothing else is ever appended; ``results.csv``, ``summary.csv`` and
``fits.json`` are written to a temporary file and renamed over the old one, so a reader sees the old
or the new table, never a mix. A directory made by a different spec (another fingerprint) is refused,
so rows of two specs are never mixed and nothing already written is overwritten.
"""

from __future__ import annotations

import csv
import io
import json
import os
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


class Store:
    """The results directory of one spec (see the module docstring)."""

    def __init__(self, root, spec: Spec, *, process: int = 0):
        self.dir = Path(root) / spec.name
        self.spec = spec
        self.columns = COLUMNS[spec.kind]
        self.journal = self.dir / f"journal-p{process}.csv"

    # ------------------------------------------------------------------ opening

    def open(self) -> None:
        """Create the directory for this spec, or check that an existing one is this spec's."""
        marker = self.dir / "sweep.json"
        if self.dir.exists() and not self.dir.is_dir():
            raise InputError(f"results path {str(self.dir)!r} exists and is not a directory")
        if marker.exists():
            try:
                old = json.loads(marker.read_text())
                fingerprint = old["fingerprint"]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise InputError(f"{marker} is unreadable ({e}); move {self.dir} away to start afresh") from None
            if fingerprint != self.spec.fingerprint:
                raise InputError(
                    f"{self.dir} holds results of a different spec (fingerprint {fingerprint}, this one "
                    f"{self.spec.fingerprint}); nothing was written: move it away, rename the spec, or "
                    "pass --results to write elsewhere")
            return
        if self.dir.exists() and any(self.dir.iterdir()):
            raise InputError(f"{self.dir} exists, is not empty and has no sweep.json; nothing was written: "
                             "move it away or pass --results to write elsewhere")
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.dir / "spec.toml", self.spec.source)
        atomic_write(marker, json.dumps({"name": self.spec.name, "kind": self.spec.kind,
                                         "fingerprint": self.spec.fingerprint}, indent=2) + "\n")

    # ------------------------------------------------------------------ journal

    def done(self) -> dict[tuple[str, int], dict]:
        """Committed rows of every process's journal, by (cell, trial). A torn last line is ignored,
        and cut off this process's own journal (another process may be writing its own right now)."""
        rows: dict[tuple[str, int], dict] = {}
        for path in sorted(self.dir.glob("journal-p*.csv")):
            for row in _read_journal(path, self.columns, repair=path == self.journal):
                if row["fingerprint"] != self.spec.fingerprint:
                    raise InputError(f"{path} has a row of another spec (fingerprint {row['fingerprint']})")
                rows.setdefault((row["cell"], int(row["trial"])), row)
        return rows

    def append(self, rows: list[dict]) -> None:
        """Commit rows: one write of whole CSV lines, then fsync."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, self.columns, lineterminator="\n")
        new = not self.journal.exists() or self.journal.stat().st_size == 0
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell_text(row.get(k)) for k in self.columns})
        data = buf.getvalue().encode()
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ table

    def assemble(self) -> list[dict]:
        """Write ``results.csv``: every committed row, in the spec's unit order. Returns the table as
        :func:`read_table` reads it back (typed), so summaries come from the file itself."""
        done = self.done()
        order = [(c.key, t) for c, t in self.spec.units()]
        write_csv(self.dir / "results.csv", self.columns, [done[k] for k in order if k in done])
        return read_table(self.dir / "results.csv")


def _read_journal(path: Path, columns, *, repair: bool) -> list[dict]:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        # A torn line from a killed run: drop it (its unit is recomputed), keep every whole line.
        keep = data[: data.rfind(b"\n") + 1]
        if repair:
            with open(path, "r+b") as f:
                f.truncate(len(keep))
                f.flush()
                os.fsync(f.fileno())
        data = keep
    text = data.decode()
    if not text:
        return []
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != tuple(columns):
        raise InputError(f"{path} has columns {reader.fieldnames}, expected {list(columns)}")
    return list(reader)


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_csv(path: Path, columns, rows: list[dict]) -> None:
    """An atomic CSV with the given columns (missing values empty)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell_text(row.get(k)) for k in columns})
    atomic_write(path, buf.getvalue())


def read_table(path) -> list[dict]:
    """Read a ``results.csv`` back with types: ints, floats, bools, ``dims`` as a tuple, empty as
    None. (pandas reads the same file with ``pandas.read_csv``.)"""
    path = Path(path)
    if path.is_dir():
        path = path / "results.csv"
    if not path.is_file():
        raise InputError(f"results table {str(path)!r} does not exist")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
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
