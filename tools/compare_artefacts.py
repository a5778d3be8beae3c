"""Compare two folders of tools/artefacts.sh bit for bit, except wall times, provenance and paths.

    python tools/compare_artefacts.py BASE NEW

CSV tables cell by cell (the volatile columns left out), JSON after dropping volatile keys, ticket
files array by array (bytes, dtype, shape) and meta, every other file (PNG figures, spec.toml) byte for
byte. PDFs (which embed a creation date), logs, journals and manifests (which hold timestamps) are
skipped. Exit status 1 if anything differs, is missing from NEW, is only in NEW, or cannot be read (a
damaged file is reported as such, never a traceback); 2, with one line, if BASE or NEW is not a folder
or BASE holds nothing to compare.
"""

import argparse
import csv
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

#: Keys and columns that may differ between two runs of the same code (times, versions, paths).
VOLATILE = {"wall_s", "slth", "jax", "jaxlib", "numpy", "scipy", "python", "device", "git_revision", "versions",
            "provenance", "out", "path", "crc32"}


def _strip(o):
    if isinstance(o, dict):
        return {k: _strip(v) for k, v in o.items() if k not in VOLATILE and not k.endswith("_s")}
    if isinstance(o, list):
        return [_strip(v) for v in o]
    return o


def _csv(a: Path, b: Path) -> str | None:
    ta, tb = a.read_text(), b.read_text()
    ha, hb = next(csv.reader(io.StringIO(ta)), []), next(csv.reader(io.StringIO(tb)), [])
    if ha != hb:
        return f"columns differ: {ha} versus {hb}"
    ra, rb = list(csv.DictReader(io.StringIO(ta))), list(csv.DictReader(io.StringIO(tb)))
    if len(ra) != len(rb):
        return f"{len(ra)} versus {len(rb)} rows"
    for i, (x, y) in enumerate(zip(ra, rb), start=2):
        for k in x:
            if k not in VOLATILE and x[k] != y[k]:
                return f"line {i}, column {k}: {x[k]!r} versus {y[k]!r}"
    return None


def _json(a: Path, b: Path) -> str | None:
    try:
        ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
    except ValueError:
        return None if a.read_bytes() == b.read_bytes() else "bytes differ (not JSON)"
    return None if _strip(ja) == _strip(jb) else "JSON differs"


def _npz(a: Path, b: Path) -> str | None:
    with np.load(a) as za, np.load(b) as zb:
        if sorted(za.files) != sorted(zb.files):
            return f"members differ: {sorted(za.files)} versus {sorted(zb.files)}"
        for k in za.files:
            x, y = za[k], zb[k]
            if k == "meta":
                mx, my = _strip(json.loads(str(x))), _strip(json.loads(str(y)))
                if mx != my:
                    return f"meta differs in {sorted(f for f in mx.keys() | my.keys() if mx.get(f) != my.get(f))}"
            elif x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                return f"array {k} differs"
    return None


def _compared(folder: Path) -> set[Path]:
    """The files of ``folder`` that are compared, relative to it."""
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and not (
        p.name.startswith(".") or p.suffix in (".pdf", ".log") or p.name == "manifest.json" or "journal" in p.name)}


def _problem(a: Path, b: Path) -> str | None:
    check = {".csv": _csv, ".json": _json, ".npz": _npz}.get(a.suffix)
    try:
        return check(a, b) if check else (None if a.read_bytes() == b.read_bytes() else "bytes differ")
    except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile, csv.Error) as e:
        return f"cannot be read ({type(e).__name__}: {e})"


def main(base: Path, new: Path) -> int:
    theirs, ours = _compared(base), _compared(new)
    same, bad = 0, []
    for rel in sorted(theirs):
        if rel not in ours:
            bad.append(f"{rel}: missing")
            continue
        problem = _problem(base / rel, new / rel)
        if problem:
            bad.append(f"{rel}: {problem}")
        else:
            same += 1
    bad += [f"{rel}: only in NEW" for rel in sorted(ours - theirs)]
    print(f"{same} files identical (wall times, provenance and paths excepted), {len(bad)} differ")
    for line in bad:
        print("  " + line)
    return 1 if bad else 0


def _folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder (name a folder written by tools/artefacts.sh)")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=_folder, help="the artefacts of the base revision")
    parser.add_argument("new", type=_folder, help="the artefacts of the new revision")
    args = parser.parse_args()
    if not _compared(args.base):
        parser.error(f"{str(args.base)!r} holds no artefact to compare")
    sys.exit(main(args.base, args.new))
