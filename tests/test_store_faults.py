"""A sweep never loses or invents a row (issue 13): short writes and a full disk while the journal and
the tables are written, damaged journal lines anywhere, two runs on one folder, Ctrl-C, stray
temporary files, ``slth fit`` on rows of another spec, and spec values out of range."""

import csv
import errno
import os
import random
import signal
import socket
import subprocess
import sys
import time
import zlib

import pytest

from slth import cli
from slth.errors import InputError
from slth.experiments import files, runner, spec as specs, store

#: The cheapest sweep: 6 cells of 3 trials, one batch (one journal append) per cell.
COVERAGE = """
kind = "coverage"
[grid]
c = [2, 3, 4]
values = ["products", "samples"]
[trials]
count = 3
seed = 1
[summary]
eps = [0.3]
"""

#: Width cells compile at every bisection step: the sweep in which Ctrl-C used to end in SIGSEGV.
WIDTH = """
kind = "width"
[grid]
construction = ["subset-sum", "selection"]
d = [2, 3]
l = [1]
eps = [0.2]
delta = [0.25]
[trials]
count = 4
seed = 5
c_max = { subset-sum = 12, selection = 64 }
"""

#: Fault schedules of the short-write / full-disk test, and the chances per write call.
FAULT_SCHEDULES = 24
P_ENOSPC, P_SHORT = 0.12, 0.3


def write_spec(tmp_path, text, name):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def stable(path):
    """The rows of a results.csv without the columns that legitimately differ between runs."""
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in store.VOLATILE} for row in csv.DictReader(f)]


def tables(directory):
    """What a finished run leaves for its readers: the stable rows, the summary and the fits."""
    return (stable(directory / "results.csv"), (directory / "summary.csv").read_bytes(),
            (directory / "fits.json").read_bytes())


def slth(*args, cwd, stderr=subprocess.PIPE):
    return subprocess.Popen([sys.executable, "-m", "slth.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=stderr, text=True)


def journal_lines(path):
    """The lines of a journal after its header (every one must be a whole checksummed row)."""
    data = path.read_bytes()
    if not data:                                  # a first append that failed and was cut back
        return []
    assert data.endswith(b"\n"), f"{path} ends in a partial line"
    header, *lines = data[:-1].split(b"\n")
    assert header.endswith(b",crc32")
    for line in lines:
        record, _, crc = line.rpartition(b",")
        assert f"{zlib.crc32(record):08x}".encode() == crc, f"damaged line {line!r}"
    return lines


@pytest.fixture(scope="module")
def coverage_ref(tmp_path_factory):
    """An uninterrupted run of the coverage spec: the tables every other run must end with."""
    tmp = tmp_path_factory.mktemp("ref")
    spec = specs.load(write_spec(tmp, COVERAGE, "cov"))
    result = runner.run(spec, results=str(tmp / "r"), progress=False)
    assert result.computed == len(spec.units()) == 18
    return spec, tmp / "r" / "cov"


# --------------------------------------------------------------------------- short writes, full disk

class FaultyWrite:
    """Stands in for the store's ``os.write``: at random, a short write (a prefix of the bytes) or
    ENOSPC. Call n of schedule s decides from its own generator, so a schedule does not depend on
    the lengths written (wall times differ between runs)."""

    def __init__(self, schedule):
        self.schedule, self.calls = schedule, 0
        self.short = self.enospc = self.cut = 0     # cut: ENOSPC right after a short write (a partial append)
        self._after_short = False

    def __call__(self, fd, data):
        rng = random.Random(self.schedule * 1_000_003 + self.calls)
        self.calls += 1
        r = rng.random()
        if r < P_ENOSPC:
            self.enospc += 1
            self.cut += self._after_short
            self._after_short = False
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._after_short = r < P_ENOSPC + P_SHORT and len(data) > 1
        if self._after_short:
            self.short += 1
            return os.write(fd, data[: max(1, int(rng.random() * len(data)))])
        return os.write(fd, data)


def test_short_writes_and_a_full_disk_never_lose_or_invent_a_row(coverage_ref, tmp_path, monkeypatch):
    """Acceptance 2: over many seeded fault schedules, every run either finishes or stops with a
    one-line error, the journal never holds a partial row, and a rerun without faults ends with the
    tables of an uninterrupted run."""
    spec, reference = coverage_ref
    expected = tables(reference)
    failures = shorts = cuts = 0
    for schedule in range(FAULT_SCHEDULES):
        root = tmp_path / f"s{schedule}"
        journal = root / "cov" / "journal-p0.csv"
        fault = FaultyWrite(schedule)
        monkeypatch.setattr(files, "_os_write", fault)
        for _ in range(3):                       # a few runs on the flaky disk
            try:
                runner.run(spec, results=str(root), progress=False)
                break
            except InputError as e:
                failures += 1
                message = str(e)
                assert "\n" not in message and "No space left on device (ENOSPC)" in message, message
                if journal.exists():
                    journal_lines(journal)       # complete rows only: the partial append was cut off
        shorts, cuts = shorts + fault.short, cuts + fault.cut
        monkeypatch.setattr(files, "_os_write", os.write)
        result = runner.run(spec, results=str(root), progress=False)
        assert result.dropped == ()
        assert len(journal_lines(journal)) == 18
        assert tables(root / "cov") == expected, f"schedule {schedule}"
        assert not list((root / "cov").glob(".*.tmp-*"))
    # the faults did happen: failed runs, short writes, and writes cut short by a full disk
    assert failures >= FAULT_SCHEDULES and shorts >= 2 * FAULT_SCHEDULES and cuts >= 10, (failures, shorts, cuts)


def test_a_full_disk_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    path = write_spec(tmp_path, COVERAGE, "cov")
    assert cli.main(["run", str(path), "--results", str(tmp_path / "r")]) == 0
    journal = tmp_path / "r" / "cov" / "journal-p0.csv"
    lines = journal.read_bytes().split(b"\n")
    journal.write_bytes(b"\n".join(lines[:4] + lines[7:]))      # one cell's rows missing
    before = journal.read_bytes()
    calls = []

    def full(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data[: len(data) // 2])              # half the rows, then the disk is full

    monkeypatch.setattr(files, "_os_write", full)
    capsys.readouterr()
    assert cli.main(["run", str(path), "--results", str(tmp_path / "r")]) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "journal-p0.csv" in err and "ENOSPC" in err and "Traceback" not in err
    assert journal.read_bytes() == before                        # the half-written rows were cut off
    monkeypatch.setattr(files, "_os_write", os.write)
    assert cli.main(["run", str(path), "--results", str(tmp_path / "r")]) == 0
    assert "computed 3 rows, 15 already done" in capsys.readouterr().out


# --------------------------------------------------------------------------- damaged journal lines

def _reframe(record: bytes) -> bytes:
    return record + b"," + f"{zlib.crc32(record):08x}".encode()


def _legacy(lines):
    """The journal as the original slth wrote it: no checksum column."""
    return [line.rpartition(b",")[0] for line in lines]


DAMAGE = {
    # name: (lines -> damaged lines, units to recompute, lines reported as dropped)
    "torn": (lambda h, r: [h, *r[:8], r[8][: len(r[8]) // 2], *r[9:]], 1, 1),
    "not UTF-8": (lambda h, r: [h, *r[:8], _reframe(r[8].rpartition(b",")[0].replace(b"c=", b"\xff\xfe")),
                                *r[9:]], 1, 1),
    "half a row": (lambda h, r: [h, *r[:8], _reframe(b",".join(r[8].split(b",")[:9])), *r[9:]], 1, 1),
    "doubled header": (lambda h, r: [h, *r[:8], h, *r[8:]], 0, 1),
    "bad checksum": (lambda h, r: [h, *r[:8], r[8].replace(b",products,", b",samples,", 1), *r[9:]], 1, 1),
    "two rows fused": (lambda h, r: [h, *r[:8], r[8][:40] + r[9], *r[10:]], 2, 1),
    "original format": (lambda h, r: [h.rpartition(b",")[0], *_legacy(r)], 0, 0),
    "original format, fused": (lambda h, r: [h.rpartition(b",")[0], *_legacy(r[:8]),
                                             _legacy(r)[8][:-30] + _legacy(r)[9], *_legacy(r[10:])], 2, 1),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_middle_line_is_dropped_and_its_unit_recomputed(coverage_ref, tmp_path, damage):
    spec, reference = coverage_ref
    runner.run(spec, results=str(tmp_path), progress=False)
    journal = tmp_path / "cov" / "journal-p0.csv"
    header, *rows = journal.read_bytes()[:-1].split(b"\n")
    change, recompute, reported = DAMAGE[damage]
    journal.write_bytes(b"\n".join(change(header, rows)) + b"\n")
    result = runner.run(spec, results=str(tmp_path), progress=False)
    assert (result.computed, result.skipped) == (recompute, 18 - recompute)
    assert len(result.dropped) == reported and all("journal-p0.csv line " in d for d in result.dropped)
    assert tables(tmp_path / "cov") == tables(reference)
    assert len(journal_lines(journal)) == 18                      # rewritten: whole checksummed rows
    again = runner.run(spec, results=str(tmp_path), progress=False)
    assert (again.computed, again.dropped) == (0, ())


def test_a_checksummed_row_of_another_spec_is_refused(coverage_ref, tmp_path):
    spec, _ = coverage_ref
    runner.run(spec, results=str(tmp_path), progress=False)
    journal = tmp_path / "cov" / "journal-p0.csv"
    header, *rows = journal.read_bytes()[:-1].split(b"\n")
    rows[4] = _reframe(rows[4].rpartition(b",")[0].replace(spec.fingerprint.encode(), b"0123456789abcdef"))
    journal.write_bytes(b"\n".join([header, *rows]) + b"\n")
    with pytest.raises(InputError, match="line 6 is a row of another spec"):
        runner.run(spec, results=str(tmp_path), progress=False)


# --------------------------------------------------------------------------- one run per folder

def test_locks_one_run_per_folder_and_one_writer_per_journal(tmp_path):
    directory = tmp_path / "f"
    directory.mkdir()
    with store.FolderLock(directory):
        with pytest.raises(InputError, match=rf"in use by slth run pid {os.getpid()} on "):
            store.FolderLock(directory).acquire()
        with pytest.raises(InputError, match="in use by"):
            store.FolderLock(directory, process=1, processes=2).acquire()
    # the processes of one jax.distributed run share the folder, each alone on its journal
    with store.FolderLock(directory, process=0, processes=2), store.FolderLock(directory, process=1, processes=2):
        with pytest.raises(InputError, match=r"\(process 1 of 2\)"):
            store.FolderLock(directory, process=1, processes=2).acquire()
        with pytest.raises(InputError, match=r"process 0 of 2\).*process 1 of 2\)"):
            store.FolderLock(directory).acquire()


def test_a_second_run_is_refused_naming_the_holder_or_waits(tmp_path):
    """Acceptance 3: run A holds the folder (frozen with SIGSTOP once it has committed a row, so the
    test does not race it); run B exits 2 with one line naming A's pid, host and start time; run C
    (--wait) waits, and after A is interrupted resumes from A's rows; the table is a single run's."""
    slow = COVERAGE.replace("c = [2, 3, 4]", "c = [8, 10, 12, 14, 15, 16]")
    path = write_spec(tmp_path, slow, "slow")
    total = len(specs.load(path).units())
    ref = runner.run(specs.load(path), results=str(tmp_path / "ref"), progress=False)
    journal = tmp_path / "r" / "slow" / "journal-p0.csv"
    a = slth("run", str(path), "--results", "r", "--no-progress", cwd=tmp_path)
    deadline = time.monotonic() + 120
    while a.poll() is None and time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.002)
    os.kill(a.pid, signal.SIGSTOP)
    try:
        assert a.poll() is None and journal.read_bytes().count(b"\n") - 1 < total, "A ended before the test"
        with open(tmp_path / "c.err", "w") as c_err:
            c = slth("run", str(path), "--results", "r", "--wait", "--no-progress", cwd=tmp_path, stderr=c_err)
        b = slth("run", str(path), "--results", "r", cwd=tmp_path)
        out, err = b.communicate(timeout=300)
        assert b.returncode == cli.EXIT_INPUT, err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"is in use by slth run pid {a.pid} on {socket.gethostname()} since 20" in err
        deadline = time.monotonic() + 300
        while "waiting for" not in (tmp_path / "c.err").read_text() and time.monotonic() < deadline:
            assert c.poll() is None, (tmp_path / "c.err").read_text()
            time.sleep(0.05)
        assert f"waiting for slth run pid {a.pid}" in (tmp_path / "c.err").read_text()
        assert c.poll() is None
    finally:
        os.kill(a.pid, signal.SIGINT)
        os.kill(a.pid, signal.SIGCONT)
    a.communicate(timeout=300)
    assert a.returncode == runner.EXIT_INTERRUPTED
    done = journal.read_bytes().count(b"\n") - 1
    out, _ = c.communicate(timeout=300)
    assert c.returncode == 0, (tmp_path / "c.err").read_text()
    assert f"computed {total - done} rows, {done} already done" in out
    assert stable(tmp_path / "r" / "slow" / "results.csv") == stable(tmp_path / "ref" / "slow" / "results.csv")
    assert len(ref.rows) == total


# --------------------------------------------------------------------------- Ctrl-C

def test_ctrl_c_exits_130_every_time(tmp_path):
    """SIGINT at seeded random moments of width sweeps (once, or twice in a row): exit 130 with no
    traceback and no crash, and the journal holds whole rows only. Before the fix, KeyboardInterrupt
    could leave an XLA compilation running on XLA's thread pool, and the interpreter's exit then
    freed the CPU client under it (SIGSEGV)."""
    path = write_spec(tmp_path, WIDTH, "w")
    rng = random.Random(13)
    spec = specs.load(path)
    runs = [{"root": tmp_path / f"r{k}", "delay": rng.uniform(0, 2.0), "twice": k == 2, "due": None, "sent": False,
             "p": slth("run", str(path), "--results", f"r{k}", "--no-progress", cwd=tmp_path)} for k in range(3)]
    deadline = time.monotonic() + 300
    while not all(r["sent"] for r in runs) and time.monotonic() < deadline:
        for r in runs:
            journal = r["root"] / "w" / "journal-p0.csv"
            if r["due"] is None and journal.exists() and journal.read_bytes().count(b"\n") >= 2:
                r["due"] = time.monotonic() + r["delay"]          # a random moment after the first row
            if not r["sent"] and r["due"] is not None and r["due"] <= time.monotonic():
                assert r["p"].poll() is None, "the sweep finished before it could be interrupted"
                r["p"].send_signal(signal.SIGINT)
                if r["twice"]:
                    time.sleep(0.01)
                    r["p"].send_signal(signal.SIGINT)
                r["sent"] = True
        time.sleep(0.002)
    for r in runs:
        _, err = r["p"].communicate(timeout=300)
        assert r["p"].returncode == runner.EXIT_INTERRUPTED, err
        assert "Traceback" not in err and "Fatal Python error" not in err and "slth: interrupted" in err, err
        rows, dropped = store.Store(r["root"], spec).scan()
        assert rows and not dropped
        if not r["twice"]:                       # stopped between two units: the rows so far are readable
            journal = r["root"] / "w" / "journal-p0.csv"
            assert len(store.read_table(r["root"] / "w")) == len(journal_lines(journal)) == len(rows)


# --------------------------------------------------------------------------- the set of tables

def test_stray_temporary_files_are_removed_and_the_tables_are_one_set(coverage_ref, tmp_path):
    spec, reference = coverage_ref
    runner.run(spec, results=str(tmp_path), progress=False)
    directory = tmp_path / "cov"
    stray = [".results.csv.tmp-4242", ".summary.csv.tmp-1", ".fits.json.tmp-77", ".manifest.json.tmp-9",
             ".journal-p0.csv.tmp-31337", ".journal-p3.csv.tmp-8", ".sweep.json.tmp-5"]
    for name in stray:
        (directory / name).write_text("left by a killed run")
    (directory / ".notes.txt.tmp-1").write_text("not slth's")
    # a run killed between two renames: the summary is not the one the manifest names
    (directory / "summary.csv").write_text("cell\nstale\n")
    with pytest.raises(InputError, match="not one set: summary.csv is not the one manifest.json names"):
        store.read_table(directory)
    result = runner.run(spec, results=str(tmp_path), progress=False)
    assert result.computed == 0
    assert not any((directory / name).exists() for name in stray)
    assert (directory / ".notes.txt.tmp-1").exists()
    assert tables(directory) == tables(reference)
    assert len(store.read_table(directory / "results.csv")) == 18
    # slth fit rewrites the set too (and is what the message above suggests)
    (directory / "fits.json").write_text("{}\n")
    assert cli.main(["fit", str(directory)]) == 0
    assert tables(directory) == tables(reference) and len(store.read_table(directory)) == 18


def test_a_folder_of_the_original_format_resumes(coverage_ref, tmp_path):
    """No manifest, no checksums: still read, resumed and completed (then written the new way)."""
    spec, reference = coverage_ref
    runner.run(spec, results=str(tmp_path), progress=False)
    directory = tmp_path / "cov"
    journal = directory / "journal-p0.csv"
    header, *rows = journal.read_bytes()[:-1].split(b"\n")
    journal.write_bytes(b"\n".join([header.rpartition(b",")[0], *_legacy(rows[:12])]) + b"\n")
    (directory / "manifest.json").unlink()
    (directory / ".lock").unlink()
    assert len(store.read_table(directory)) == 18
    result = runner.run(spec, results=str(tmp_path), progress=False)
    assert (result.computed, result.skipped, result.dropped) == (6, 12, ())
    assert tables(directory) == tables(reference) and len(journal_lines(journal)) == 18
    # results.csv keeps the original columns (figures and other code read it): no checksum there
    assert (directory / "results.csv").read_text().splitlines()[0] == (
        "sweep,fingerprint,cell,c,distribution,values,trial,seed,eta,wall_s,slth,jax,jaxlib,numpy,scipy,python,"
        "device,git_revision")


# --------------------------------------------------------------------------- slth fit

def test_fit_refuses_rows_of_another_fingerprint(coverage_ref, tmp_path, capsys):
    spec, _ = coverage_ref
    runner.run(spec, results=str(tmp_path), progress=False)
    directory = tmp_path / "cov"
    text = (directory / "results.csv").read_text()
    lines = text.splitlines(keepends=True)
    lines[5] = lines[5].replace(spec.fingerprint, "0123456789abcdef")
    (directory / "results.csv").write_text("".join(lines))
    before = {n: (directory / n).read_bytes() for n in ("summary.csv", "fits.json", "manifest.json")}
    capsys.readouterr()
    assert cli.main(["fit", str(directory)]) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"results.csv line 6 is a row of another spec (fingerprint 0123456789abcdef" in err
    assert {n: (directory / n).read_bytes() for n in before} == before
    # a whole table of another spec (another seed) in the folder: refused the same way
    other = specs.load(write_spec(tmp_path, COVERAGE.replace("seed = 1", "seed = 2"), "cov"))
    runner.run(other, results=str(tmp_path / "other"), progress=False)
    (directory / "results.csv").write_bytes((tmp_path / "other" / "cov" / "results.csv").read_bytes())
    assert cli.main(["fit", str(directory)]) == cli.EXIT_INPUT
    assert f"line 2 is a row of another spec (fingerprint {other.fingerprint}" in capsys.readouterr().err


# --------------------------------------------------------------------------- spec values in range

@pytest.mark.parametrize("change, fragment", [
    (("seed = 1", f"seed = {2**63 - 1}"), "seed 9223372036854775807 with count 3: trial t uses seed + t"),
    (("seed = 1", f"seed = {2**63}"), "seed 9223372036854775808 must be an integer <= 9223372036854775807"),
    (("seed = 1", "seed = -1"), "seed -1 must be an integer >= 0"),
    (("count = 3", "count = 10000000"), "count 10000000 must be an integer <= 1000000"),
    (("count = 3", "count = 0"), "count 0 must be an integer >= 1"),
    (("c = [2, 3, 4]", "c = [2, 30]"), "c 30 is above 24"),
])
def test_out_of_range_spec_values_are_refused_before_any_folder(tmp_path, capsys, change, fragment):
    path = write_spec(tmp_path, COVERAGE.replace(*change), "cov")
    assert cli.main(["run", str(path), "--results", str(tmp_path / "out")]) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_largest_seed_runs_when_the_trials_fit(tmp_path):
    text = COVERAGE.replace("seed = 1", f"seed = {2**63 - 3}").replace("c = [2, 3, 4]", "c = [3]")
    spec = specs.load(write_spec(tmp_path, text, "top"))
    rows = runner.run(spec, results=str(tmp_path / "r"), progress=False).rows
    assert [r["seed"] for r in rows if r["values"] == "products"] == [2**63 - 3, 2**63 - 2, 2**63 - 1]


def test_an_unwritable_results_root_is_refused_before_any_folder(tmp_path, capsys):
    path = write_spec(tmp_path, COVERAGE, "cov")
    (tmp_path / "file").write_text("not a folder")
    assert cli.main(["run", str(path), "--results", str(tmp_path / "file" / "deeper")]) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert "is not a directory" in err and str(tmp_path / "file") in err and err.count("\n") == 1
