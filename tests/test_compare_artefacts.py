"""tools/compare_artefacts.py: the same artefacts pass, any difference, gap, extra or damaged file fails, and
folders it cannot compare are refused in one line."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "tools" / "compare_artefacts.py"


def _artefacts(folder: pathlib.Path, *, cell="0.5", wall="1.0") -> pathlib.Path:
    (folder / "sweep").mkdir(parents=True)
    (folder / "sweep" / "rows.csv").write_text(f"c,error,wall_s\n4,{cell},{wall}\n")
    (folder / "check.json").write_text(json.dumps({"certified": 20, "wall_s": float(wall)}))
    np.savez(folder / "ticket.npz", masks=np.arange(6, dtype=np.int8), meta=json.dumps({"c": 4, "path": str(folder)}))
    (folder / "fig.png").write_bytes(b"\x89PNG same")
    (folder / "run.log").write_text(f"took {wall} s")
    return folder


def _compare(base, new):
    return subprocess.run([sys.executable, str(SCRIPT), str(base), str(new)], capture_output=True, text=True,
                          timeout=60)


def test_the_same_artefacts_pass_whatever_their_times_and_paths(tmp_path):
    proc = _compare(_artefacts(tmp_path / "a"), _artefacts(tmp_path / "b", wall="9.0"))
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("4 files identical") and "0 differ" in proc.stdout


@pytest.mark.parametrize("damage, expected", [
    (lambda b: _artefacts(b, cell="0.25"), "sweep/rows.csv: line 2, column error: '0.5' versus '0.25'"),
    (lambda b: (_artefacts(b), (b / "fig.png").unlink()), "fig.png: missing"),
    (lambda b: (_artefacts(b), (b / "extra.csv").write_text("x\n1\n")), "extra.csv: only in NEW"),
    (lambda b: (_artefacts(b), (b / "ticket.npz").write_bytes(b"PK\x03\x04 not a zip")), "ticket.npz: cannot be read"),
    (lambda b: (_artefacts(b), np.savez(b / "ticket.npz", masks=np.arange(6, dtype=np.int16), meta="{}")),
     "ticket.npz: array masks differs"),
    (lambda b: (_artefacts(b), np.savez(b / "ticket.npz", masks=np.array([{}], dtype=object), meta="{}")),
     "ticket.npz: cannot be read (ValueError"),
    (lambda b: (_artefacts(b), (b / "sweep" / "rows.csv").write_bytes(b"c,error\n4,\xff\xfe\n")),
     "sweep/rows.csv: cannot be read (UnicodeDecodeError"),
])
def test_a_difference_a_gap_an_extra_or_a_damaged_file_fails_and_is_named(tmp_path, damage, expected):
    damage(tmp_path / "b")
    proc = _compare(_artefacts(tmp_path / "a"), tmp_path / "b")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert expected in proc.stdout, proc.stdout


def test_folders_it_cannot_compare_are_refused_in_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    for base, fragment in ((tmp_path / "nowhere", "is not a folder"), (tmp_path / "empty", "holds no artefact")):
        proc = _compare(base, tmp_path)
        assert proc.returncode == 2 and fragment in proc.stderr.strip().splitlines()[-1], proc.stderr
        assert "Traceback" not in proc.stderr
