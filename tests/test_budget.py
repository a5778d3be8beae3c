"""Estimate before work (issue 13): commands and sweeps that cannot fit are refused up front, in one line
with the estimate; honest ones pass; the estimate bounds the measured peak; output paths are checked
before any work and an OS error on them is one line, exit 2."""

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from slth import budget, cli, nets
from slth.experiments import spec as specs

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: Acceptance: a refusal comes within this many seconds of the command's start.
REFUSE_WITHIN_S = 5.0

# Runs CLI commands one after another in a fresh process (a missed refusal must not take pytest down
# with an XLA abort or eat the machine: the child's address space is capped at 8 GB, which also
# makes "available" 8 GB there, and file writes at 64 KB) and reports exit code, time and stderr.
_CHILD = r"""
import contextlib, io, json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
from slth import cli
out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    out.append({"argv": argv, "code": code, "seconds": time.perf_counter() - start, "err": err.getvalue()})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("budget")
    commands = {
        "prune huge dims": ["prune", "--dims", "100000,100000", "--out", str(folder / "a.npz")],
        "check huge dims": ["check", "--dims", "100000,100000"],
        "compare huge dims": ["check", "--dims", "30000,30000", "--construction", "selection",
                              "--construction", "subset-sum"],
        "selection 784-2000-10": ["prune", "--construction", "selection", "--dims", "784,2000,10",
                                  "--candidates", "40", "--out", str(folder / "b.npz")],
        # c = 10^6 (the case, which died in gap_at) now fits: gap_at evaluates wide networks in
        # chunks, so it needs about 3.3 GB and runs; ten times wider does not fit
        "selection c = 10^7": ["prune", "--construction", "selection", "--dims", "4,4", "--candidates",
                               "10000000", "--out", str(folder / "c.npz")],
        # passes the guard (a 369 KB ticket), then the 64 KB file-size limit stops np.savez: EFBIG
        "save fails": ["prune", "--dims", "8,16,16,4", "--candidates", "20", "--out", str(folder / "d.npz")],
    }
    # without the tests' compilation cache: the 64 KB file-size limit would leave short entries in it
    env = {k: v for k, v in os.environ.items() if k not in (budget.LIMIT_VARIABLE, "JAX_COMPILATION_CACHE_DIR")}
    env["SLTH_JAX_CACHE"] = "0"                     # nor the CLI's own (slth.cli.process)
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(list(commands.values()))], capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(zip(commands, json.loads(proc.stdout.splitlines()[-1]))), folder


@pytest.mark.parametrize("label", ["prune huge dims", "check huge dims", "compare huge dims",
                                   "selection 784-2000-10", "selection c = 10^7"])
def test_work_that_cannot_fit_is_refused_up_front(refusals, label):
    r = refusals[0][label]
    assert r["code"] == cli.EXIT_INPUT, r
    assert r["seconds"] < REFUSE_WITHIN_S, r       # jax's import included: the first command pays it
    assert len(r["err"].strip().splitlines()) == 1 and "Traceback" not in r["err"], r
    assert "needs about" in r["err"] and "available" in r["err"] and "1.25 × (" in r["err"], r
    assert "lower --" in r["err"], r                # what to change


def test_huge_dims_name_the_ticket_file_limit_too(refusals):
    err = refusals[0]["prune huge dims"]["err"]
    assert "800,000,000,000 explicit random entries, above the limit 500,000,000" in err
    assert "TB" in err


def test_an_os_error_while_saving_is_one_line_exit_2(refusals):
    r, folder = refusals[0]["save fails"], refusals[1]
    assert r["code"] == cli.EXIT_INPUT, r
    assert r["err"].strip() == f"slth prune: error: cannot write {str(folder / 'd.npz')!r}: File too large", r
    assert not any(folder.glob("d.npz*")) and not any(folder.glob(".d.npz*"))   # no partial file left


def test_a_read_only_folder_is_refused_before_any_work(capsys, monkeypatch):
    # /sys refuses new files even to root (chmod would not stop root), so this is a real refusal.
    from slth import pipeline

    monkeypatch.setattr(pipeline, "prune", lambda *a, **k: pytest.fail("work started"))
    code = cli.main(["prune", "--dims", "2,2", "--candidates", "1", "--out", "/sys/slth-ticket.npz"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INPUT
    assert err.strip() == "slth prune: error: cannot write '/sys/slth-ticket.npz': Permission denied"


def test_an_out_that_is_not_a_regular_file_is_refused(capsys, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code = cli.main(["prune", "--dims", "2,2", "--candidates", "1", "--out", str(fifo)])
    assert code == cli.EXIT_INPUT and "exists and is not a regular file" in capsys.readouterr().err
    assert fifo.is_fifo()


def test_a_full_disk_is_refused_before_any_work(tmp_path, monkeypatch):
    real = os.statvfs(tmp_path)
    full = os.statvfs_result((real.f_bsize, real.f_frsize, real.f_blocks, 0, 0, real.f_files, 0, 0,
                              real.f_flag, real.f_namemax))
    monkeypatch.setattr(budget.os, "statvfs", lambda path: full)
    spec = nets.RandomSpec(dims=(4, 4), candidates=2, seed=0)
    with pytest.raises(budget.BudgetError, match=r"cannot write .* needs about .* and .* has 0 B free"):
        budget.check_prune("subset-sum", spec, out=tmp_path / "t.npz")


def test_honest_commands_pass_the_guard(capsys, tmp_path):
    code = cli.main(["prune", "--dims", "3,4,2", "--candidates", "4", "--out", str(tmp_path / "t.npz")])
    assert code == cli.EXIT_OK, capsys.readouterr().err
    spec = nets.RandomSpec(dims=(8, 16, 16, 4), candidates=20, seed=0)
    assert budget.check_prune("subset-sum", spec, out=tmp_path / "u.npz").bytes < 2e9
    assert budget.check_width(["subset-sum"], "16,16,16").bytes < 4e9       # slth check's defaults
    assert budget.check_separation([2, 4, 8, 16], [1, 2, 4, 8], n_train=4000, n_test=4000).bytes < 2e9


def _spec(kind, grid, trials, name="s"):
    return specs.parse({"kind": kind, "grid": grid, "trials": trials}, name=name)


def test_check_spec_refuses_a_coverage_sweep_of_1e9_trials_up_front():
    # spec.parse caps count itself now; the estimate must still refuse such a Spec wherever it comes from
    spec = dataclasses.replace(_spec("coverage", {"c": [8, 12]}, {"count": 1}), trials=10**9)
    start = time.perf_counter()
    with pytest.raises(budget.BudgetError) as e:
        budget.check_spec(spec)
    assert time.perf_counter() - start < REFUSE_WITHIN_S
    msg = str(e.value)
    assert "\n" not in msg and "sweep 's', cell 'c=12" in msg and "TB" in msg and "result rows" in msg
    assert "lower its c or [trials] count" in msg


def test_check_spec_estimates_every_kind_from_spec_files(tmp_path):
    """Real spec objects, read from TOML by slth.experiments.spec.load: small cells pass, large ones are
    refused naming their cell, and an unwritable results folder is refused."""
    files = {
        "width.toml": 'kind = "width"\n[grid]\nconstruction = ["selection", "subset-sum"]\ndims = ["4,4"]\n'
                      'eps = [0.1]\ndelta = [0.1]\n[trials]\ncount = 2\nc_max = { selection = 64, subset-sum = 8 }\n',
        "weight_error.toml": 'kind = "weight_error"\n[grid]\nconstruction = ["selection"]\nc = [4, 1000000]\n'
                             '[trials]\ncount = 1\ntargets = 100000\n',
        "separation.toml": 'kind = "separation"\n[grid]\nmethod = ["random-features"]\nd = [4, 64]\nc = [2, 4096]\n'
                           '[trials]\ncount = 1\nn_train = 600000\n',
        "digits.toml": 'kind = "digits"\n[grid]\nconstruction = ["selection"]\nc = [16, 1000000]\n'
                       '[trials]\ncount = 1\n',
    }
    refused = {"weight_error": "c=1000000", "separation": "d=64 c=4096", "digits": "c=1000000"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        spec = specs.load(tmp_path / name)
        if spec.kind == "width":
            assert budget.check_spec(spec, results=tmp_path / "results").bytes < 3e9
            with pytest.raises(budget.BudgetError, match="cannot write '/sys/results': Permission denied"):
                budget.check_spec(spec, results="/sys/results")
            continue
        with pytest.raises(budget.BudgetError, match=f"cell '[^']*{refused[spec.kind]}[^']*'.* needs about"):
            budget.check_spec(spec)
        assert budget.check_spec(dataclasses.replace(spec, cells=spec.cells[:1])).bytes < 3e9


def test_the_largest_c_searched_sets_the_peak_of_check():
    small = budget.check_width(["selection"], "4,4", c_max=64).bytes
    assert small < 1.25 * (budget.BASE["selection"] + 0.05e9)      # the fixed part and little else
    with pytest.raises(budget.BudgetError, match=r"selection at 4-4, c = 10,000,000 needs about .*--c-max"):
        budget.check_width(["selection", "subset-sum"], "4,4", c_max={"selection": 10**7})


def test_the_limit_can_be_set_and_a_bad_limit_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv(budget.LIMIT_VARIABLE, "300M")
    with pytest.raises(budget.BudgetError, match=r"above SLTH_MEMORY_LIMIT=300M; lower --candidates"):
        budget.check_prune("selection", nets.RandomSpec(dims=(4, 4), candidates=4096, seed=0))
    monkeypatch.setenv(budget.LIMIT_VARIABLE, "lots")
    code = cli.main(["check", "--dims", "2,2", "--trials", "1"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INPUT and "SLTH_MEMORY_LIMIT='lots' must be a positive size" in err


def test_the_estimate_bounds_the_measured_peak(monkeypatch):
    """One real measurement per family (peak RSS of a fresh process, benchmarks/memory.py): the block
    constructions at a size where lower-bound activations dominate, the depth-l+1 layout with the exact
    engine, edge-popup's training (10 steps: a scan's memory does not grow with its length), a sweep.
    The processes compile as a user's do: without the suite's faster-compiling XLA flags (tests/conftest.py),
    which also lower the peak (the older fusion emitters: selection 4-4 at c = 2048, 362 MB)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import memory

    from conftest import FAST_XLA_FLAGS

    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if f not in FAST_XLA_FLAGS]
    monkeypatch.setenv("XLA_FLAGS", " ".join(flags))

    jobs = [
        {"kind": "prune", "construction": "selection", "dims": [4, 4], "c": 2048},
        {"kind": "prune", "construction": "depth-l+1", "dims": [16, 16, 16], "c": 16},
        {"kind": "prune", "construction": "edge-popup", "dims": [16, 16], "c": 64, "steps": 10},
        {"kind": "coverage", "grid": {"c": [16]}, "trials": {"count": 2000, "seed": 0}},
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        peaks = list(pool.map(memory.run_job, jobs))
    for job, peak in zip(jobs, peaks):
        estimate = memory.features(job)["estimate"]
        assert peak["peak_rss"] <= estimate, (job, peak["peak_rss"], estimate)
        assert estimate <= 4 * peak["peak_rss"], (job, peak["peak_rss"], estimate)   # an estimate, not a wall


def test_figures_refuse_an_unwritable_out_before_any_sweep(tmp_path):
    """slth figures checks its output folder before it runs a single sweep (so a read-only --out never
    costs the sweeps' minutes): nothing is written under --results."""
    from slth import figures

    results = tmp_path / "results"
    with pytest.raises(budget.BudgetError, match="cannot write '/sys/"):
        figures.regenerate("toy", results=results, out="/sys/slth-figures", log=lambda m: None)
    assert not results.exists()


def test_a_job_measures_its_own_peak_not_the_process_that_launched_it():
    """Linux carries ru_maxrss across fork and exec: a job launched from a large process (a test worker
    that grew to 2 GB) would report that size. benchmarks/memory.py reads the child's own VmHWM."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import memory

    ballast = np.ones(int(0.8e9 / 8))
    ballast[::512] = 2.0                                  # 0.8 GB resident in this process
    peak = memory.run_job({"kind": "target", "dims": [4, 4]})["peak_rss"]
    assert peak < 0.6e9, peak
    del ballast
