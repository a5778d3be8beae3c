"""Sweeps: spec validation, the results store, resume after kill -9, sharding over devices and
processes, compile-once, the summaries and fits, ``slth check`` and ``slth fit``."""

import csv
import dataclasses
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from slth import bounds, cli, measure, subset_sum
from slth.experiments import check as check_mod
from slth.errors import InputError
from slth.experiments import runner, spec as specs, store, summary
from slth.testing import count_compiles

ROOT = Path(__file__).resolve().parents[1]

TINY = """
kind = "width"
description = "test"
[grid]
construction = ["subset-sum", "selection"]
d = [2, 3]
l = [1]
eps = [0.2]
delta = [0.25]
[trials]
count = 3
seed = 5
c_max = { subset-sum = 12, selection = 64 }
"""

COVERAGE = """
kind = "coverage"
[grid]
c = [3, 6]
[trials]
count = 8
seed = 1
[summary]
eps = [0.3]
"""


def write_spec(tmp_path, text, name="tiny"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def stable(path):
    """The rows of a results.csv without the columns that legitimately differ between runs."""
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in store.VOLATILE} for row in csv.DictReader(f)]


def slth(*args, cwd, env=None, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "slth.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


# --------------------------------------------------------------------------- the spec

def test_every_problem_is_listed_at_once(tmp_path, capsys):
    bad = """
kind = "width"
colour = "blue"
[grid]
construction = ["subset-sum", "magic"]
dims = ["3,x"]
eps = [0.1, 1.5]
delta = []
shape = 3
[trials]
count = "many"
c_max = 99
"""
    path = write_spec(tmp_path, bad, "bad")
    with pytest.raises(InputError) as info:
        specs.load(path)
    message = str(info.value)
    for fragment in ("unknown top-level key 'colour'", "construction 'magic' is unknown",
                     "dims '3,x'", "eps 1.5 must be a number in (0, 1)", "[grid] delta is empty",
                     "unknown key 'shape' in [grid]", "count 'many' must be an integer",
                     "c_max 99 is above 32"):
        assert fragment in message, fragment
    assert message.startswith("spec 'bad' has 8 problems")
    code = cli.main(["run", str(path), "--results", str(tmp_path / "out")])
    assert code == cli.EXIT_INPUT and not (tmp_path / "out").exists()
    assert "construction 'magic'" in capsys.readouterr().err


@pytest.mark.parametrize("text, fragment", [
    ("kind = 'width'\n[grid\n", "is not valid TOML"),
    ("kind = 'sweep'\n[grid]\n[trials]\n", "kind 'sweep' must be one of"),
    ("kind = 'width'\n", "[grid] is missing"),
    ("kind = 'width'\n[grid]\nconstruction='selection'\nd=[2]\nl=[1]\ndims=['2,2']\neps=0.1\ndelta=0.1\n"
     "[trials]\ncount=1\n", "use either dims, or d with l"),
    ("kind = 'width'\n[grid]\nconstruction='selection'\nd=[2]\neps=0.1\ndelta=0.1\n[trials]\ncount=1\n",
     "needs both d and l"),
    ("kind = 'width'\n[grid]\nconstruction='selection'\ndims='2,2'\neps=true\ndelta=0.1\n[trials]\ncount=1\n"
     "drop_negative='no'\n", "drop_negative 'no' must be true or false"),
    ("kind = 'coverage'\n[grid]\nc=[3, 40]\n[trials]\ncount=2\n[summary]\neps=[0]\n", "c 40 is above 24"),
])
def test_bad_specs_name_the_value(tmp_path, text, fragment):
    with pytest.raises(InputError, match=None) as info:
        specs.load(write_spec(tmp_path, text))
    assert fragment in str(info.value)


def test_grid_is_crossed_in_order_and_fingerprinted(tmp_path):
    spec = specs.load(write_spec(tmp_path, TINY))
    assert [c.key for c in spec.cells] == [
        "subset-sum dims=2,2 eps=0.2 delta=0.25", "subset-sum dims=3,3 eps=0.2 delta=0.25",
        "selection dims=2,2 eps=0.2 delta=0.25", "selection dims=3,3 eps=0.2 delta=0.25"]
    assert len(spec.units()) == 12
    again = specs.load(write_spec(tmp_path, TINY.replace('description = "test"', 'description = "other"'), "b"))
    assert again.fingerprint == spec.fingerprint           # the description decides no row
    changed = specs.load(write_spec(tmp_path, TINY.replace("seed = 5", "seed = 6"), "c"))
    assert changed.fingerprint != spec.fingerprint


def test_shipped_specs_are_valid():
    from slth.experiments import shipped

    assert set(shipped.names("paper")) >= {"width_vs_d", "width_vs_l", "width_vs_eps", "coverage_vs_c"}
    for scale in shipped.SCALES:
        for name in shipped.names(scale):
            spec = specs.load(shipped.path(scale, name))
            assert spec.cells and spec.trials >= 1
    both = {c.params["construction"] for c in specs.load(shipped.path("paper", "width_vs_eps")).cells}
    assert both == {"subset-sum", "selection"}


def test_a_spec_is_a_file_or_a_shipped_name(tmp_path, monkeypatch):
    """slth run takes a TOML file or a shipped name (<name>, <scale>/<name>, .toml allowed); a file
    wins over a name; anything else is one line listing the shipped names."""
    from slth.experiments import shipped

    assert shipped.resolve("quick/width_vs_d") == (shipped.FOLDER / "quick" / "width_vs_d.toml", "quick")
    assert shipped.resolve("toy/separation.toml") == (shipped.FOLDER / "toy" / "separation.toml", "toy")
    assert shipped.resolve("width_vs_d") == (shipped.FOLDER / "width_vs_d.toml", "paper")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "width_vs_d").mkdir()                       # a results folder of that name is not a spec
    assert shipped.resolve("width_vs_d")[1] == "paper"
    write_spec(tmp_path, TINY, "width_vs_d")                # a file of that name is
    assert shipped.resolve("width_vs_d.toml") == (Path("width_vs_d.toml"), None)
    for bad in ("nope", "huge/width_vs_d", "quick/", "experiments/quick/width_vs_d.toml"):
        with pytest.raises(InputError, match=r"is not a file, nor a spec slth ships \(conv_width, coverage_vs_c, digits,"):
            shipped.resolve(bad)


def test_run_a_shipped_spec_by_name_into_the_working_folder(tmp_path, monkeypatch, capsys):
    """slth run toy/weight_error writes ./results/toy/weight_error/ (where slth figures --scale toy
    reads), and --results still chooses the root."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "toy/weight_error"]) == 0
    assert (tmp_path / "results" / "toy" / "weight_error" / "results.csv").is_file()
    capsys.readouterr()
    assert cli.main(["run", "toy/weight_error", "--results", "elsewhere", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["directory"] == str(Path("elsewhere") / "weight_error")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "results"]
    assert cli.main(["run", "toy/nothing"]) == cli.EXIT_INPUT
    assert "is not a file, nor a spec slth ships" in capsys.readouterr().err


# --------------------------------------------------------------------------- running in-process

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    spec = specs.load(write_spec(tmp, TINY))
    result = runner.run(spec, results=str(tmp / "results"), progress=False)
    return spec, tmp / "results" / "tiny", result


def test_the_runner_relieves_the_map_limit_after_each_unit(tmp_path, monkeypatch):
    """A sweep runs many shapes in one process: after each unit the runner drops compiled programs if
    the process nears its limit on memory maps (slth.compiled)."""
    calls = []
    monkeypatch.setattr(runner.compiled, "relieve", lambda: calls.append(1) or False)
    small = TINY.replace('construction = ["subset-sum", "selection"]', 'construction = ["subset-sum"]')
    small = small.replace("count = 3", "count = 2").replace("c_max = { subset-sum = 12, selection = 64 }", "c_max = 12")
    spec = specs.load(write_spec(tmp_path, small))
    result = runner.run(spec, results=str(tmp_path / "results"), progress=False)
    assert result.computed == 4
    assert len(calls) == len(runner._batches(list(spec.units()), spec.plan.BATCHED)) >= 2


def test_rows_carry_measurement_and_provenance(tiny_run):
    spec, directory, result = tiny_run
    assert result.computed == 12 and result.skipped == 0
    rows = store.read_table(directory / "results.csv")
    assert [(r["cell"], r["trial"]) for r in rows] == [(c.key, t) for c, t in spec.units()]
    for r in rows:
        assert r["seed"] == 5 + r["trial"] and r["fingerprint"] == spec.fingerprint
        assert r["jax"] and r["numpy"] and r["device"].startswith("cpu") and r["git_revision"]
        assert r["wall_s"] > 0
        if r["certified"] is not None:
            assert r["certificate"] <= r["eps"] and r["optimistic"] <= r["certified"]
            # both ends of the same (certified) ticket: the sandwich of docs/theory.md §3
            assert r["lower_bound_at_certified"] <= r["certificate"] + 1e-12
        if r["optimistic"] is not None:
            assert r["lower_bound"] <= r["eps"] and r["lower_bound"] <= r["certificate_at_optimistic"] + 1e-12
    assert (directory / "spec.toml").read_text() == spec.source
    assert {p.name for p in directory.iterdir()} >= {"results.csv", "summary.csv", "fits.json", "sweep.json"}


def test_a_row_is_what_min_width_measures(tiny_run):
    """The runner adds bookkeeping only: each row's widths are trial_width's for that seed."""
    from slth import measure

    _, directory, _ = tiny_run
    rows = [r for r in store.read_table(directory) if r["cell"].startswith("selection dims=3,3")]
    mw = measure.min_width("selection", "3,3", 0.2, 0.25, trials=3, seed=5, c_max=64)
    assert [(r["certified"], r["optimistic"]) for r in rows] == [(t.certified, t.optimistic) for t in mw.trials]


def test_second_run_skips_everything_and_compiles_nothing(tiny_run, tmp_path, capsys):
    spec, directory, _ = tiny_run
    before = (directory / "results.csv").read_bytes()
    result = runner.run(spec, results=str(directory.parent), progress=True)
    assert (result.computed, result.skipped) == (0, 12)
    bar = capsys.readouterr().err
    assert "12/12" in bar and "cells 4/4" in bar
    assert (directory / "results.csv").read_bytes() == before
    # Repeating every cell from scratch (a fresh results folder) reuses the compiled shapes.
    with count_compiles() as compiles:
        fresh = runner.run(spec, results=str(tmp_path / "again"), progress=False)
    assert compiles[0] == 0 and fresh.computed == 12
    assert stable(tmp_path / "again" / "tiny" / "results.csv") == stable(directory / "results.csv")


def test_a_different_spec_is_refused_and_nothing_changes(tiny_run, tmp_path):
    _, directory, _ = tiny_run
    other = specs.load(write_spec(tmp_path, TINY.replace("seed = 5", "seed = 6")))
    snapshot = {p.name: p.read_bytes() for p in directory.iterdir()}
    with pytest.raises(InputError, match="holds results of a different spec"):
        runner.run(other, results=str(directory.parent), progress=False)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == snapshot


def test_torn_journal_line_is_dropped_and_recomputed(tmp_path):
    spec = specs.load(write_spec(tmp_path, TINY))
    runner.run(spec, results=str(tmp_path / "r"), progress=False)
    directory = tmp_path / "r" / "tiny"
    reference = stable(directory / "results.csv")
    journal = directory / "journal-p0.csv"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-3]) + lines[-3][:17])        # kill -9 in the middle of a write
    result = runner.run(spec, results=str(tmp_path / "r"), progress=False)
    assert result.computed == 3
    assert stable(directory / "results.csv") == reference


def test_summary_and_fits(tiny_run, capsys):
    _, directory, result = tiny_run
    with open(directory / "summary.csv", newline="") as f:
        lines = list(csv.DictReader(f))
    assert [r["cell"] for r in lines] == [c.key for c in tiny_run[0].cells]
    fits = json.loads((directory / "fits.json").read_text())
    assert set(fits) == {"subset-sum", "selection"}
    assert "Pensia et al.'s C" in result.report
    # slth fit recomputes the same files from the table alone.
    before = {n: (directory / n).read_bytes() for n in ("summary.csv", "fits.json")}
    assert cli.main(["fit", str(directory)]) == 0
    assert {n: (directory / n).read_bytes() for n in before} == before
    assert result.report in capsys.readouterr().out


def test_width_summary_by_hand():
    rows = [{"cell": "a", "construction": "subset-sum", "dims": (4, 4), "eps": 0.1, "delta": 0.5,
             "certified": w, "optimistic": w} for w in (5, 7, 6, None)]
    table, fitted, text = summary.width_summary(rows)
    (line,) = table
    assert (line["certified"], line["reached"], line["fraction"]) == (6, 3, 0.5)   # ⌈0.5·4⌉ = 2nd smallest
    assert line["pensia_C_needed"] == pytest.approx(6 / np.log(4 * 4 / 0.1))
    assert line["at_or_above_counting"] is True
    assert fitted["subset-sum"]["log_constant_certified"]["C"]["estimate"] == pytest.approx(line["pensia_C_needed"])


# --------------------------------------------------------------------------- coverage sweeps

def test_coverage_rows_are_the_certificate_of_nested_candidate_lists(tmp_path):
    spec = specs.load(write_spec(tmp_path, COVERAGE, "cov"))
    result = runner.run(spec, results=str(tmp_path / "r"), progress=False)
    rows = result.rows
    assert len(rows) == 16
    short = runner.coverage_candidates(2, 3, "uniform")
    assert np.array_equal(short, runner.coverage_candidates(2, 6, "uniform")[:3])    # nested prefixes
    for r in rows:
        cands = runner.coverage_candidates(r["seed"], r["c"], "uniform")
        assert r["eta"] == float(subset_sum.coverage(cands[None])[0])
        assert np.all(np.abs(cands) <= 1)
    # adding candidates adds subset sums, so the radius never grows along a trial's prefixes
    by_trial = {}
    for r in rows:
        by_trial.setdefault(r["trial"], {})[r["c"]] = r["eta"]
    assert all(v[6] <= v[3] for v in by_trial.values())
    assert "ε = 0.3" in result.report


# --------------------------------------------------------------------------- subprocesses

KILL_SPEC = TINY.replace("count = 3", "count = 4")


def test_sigkill_at_a_random_point_then_resume_gives_the_uninterrupted_table(tmp_path):
    """Acceptance 3: kill -9 mid-sweep, start again, compare with an uninterrupted run (in this process: a
    CLI run gives the same rows, test_rows_do_not_depend_on_the_number_of_devices compares the two)."""
    path = write_spec(tmp_path, KILL_SPEC, "kill")
    total = len(specs.load(path).units())
    runner.run(specs.load(path), results=str(tmp_path / "whole"), progress=False)
    reference = stable(tmp_path / "whole" / "kill" / "results.csv")
    assert len(reference) == total

    stop_after = random.Random(2026).randrange(1, total - 1)       # a random, reproducible point
    journal = tmp_path / "cut" / "kill" / "journal-p0.csv"
    p = slth("run", str(path), "--results", "cut", cwd=tmp_path)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and p.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") - 1 >= stop_after:
            break
        time.sleep(0.005)
    assert p.poll() is None, "the sweep finished before it could be killed"
    os.kill(p.pid, signal.SIGKILL)
    p.communicate()
    assert p.returncode == -signal.SIGKILL
    done = journal.read_bytes().count(b"\n") - 1
    assert stop_after <= done < total

    p = slth("run", str(path), "--results", "cut", cwd=tmp_path)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    assert f"computed {total - done} rows, {done} already done" in out
    resumed = stable(tmp_path / "cut" / "kill" / "results.csv")
    assert resumed == reference
    keys = [(r["cell"], r["trial"]) for r in resumed]
    assert len(keys) == len(set(keys)) == total


def test_ctrl_c_keeps_the_rows_so_far_readable(tmp_path):
    """SIGINT (Ctrl-C) mid-sweep: exit 130 with a one-line message, and results.csv already holds
    every committed row, in order, for a look before the restart."""
    path = write_spec(tmp_path, KILL_SPEC, "kill")
    journal = tmp_path / "r" / "kill" / "journal-p0.csv"
    p = slth("run", str(path), "--results", "r", cwd=tmp_path)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and p.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") - 1 >= 2:
            break
        time.sleep(0.005)
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 130 and "slth run: interrupted" in err and "Traceback" not in err
    rows = store.read_table(tmp_path / "r" / "kill")
    committed = journal.read_bytes().count(b"\n") - 1
    assert 2 <= len(rows) == committed
    order = [(c.key, t) for c, t in specs.load(path).units()]
    assert [(r["cell"], r["trial"]) for r in rows] == [k for k in order if k in {(r["cell"], r["trial"]) for r in rows}]


def test_rows_do_not_depend_on_the_number_of_devices(tiny_run, tmp_path):
    """Two simulated CPU devices (the problem batches sharded with jax.sharding) give the same rows."""
    spec, directory, _ = tiny_run
    path = write_spec(tmp_path, TINY)
    # the suite's own XLA flags (tests/conftest.py) kept: the rows are compared with tiny_run's, run under them
    env = dict(os.environ, XLA_FLAGS=" ".join(filter(None, [os.environ.get("XLA_FLAGS"),
                                                            "--xla_force_host_platform_device_count=2"])))
    p = slth("run", str(path), "--results", "two", cwd=tmp_path, env=env)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    rows = store.read_table(tmp_path / "two" / "tiny")
    assert rows[0]["device"] == "cpu:cpu x2"
    assert stable(tmp_path / "two" / "tiny" / "results.csv") == stable(directory / "results.csv")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_with_jax_distributed_give_the_single_process_table(tiny_run, tmp_path):
    """jax.distributed on localhost (CPU collectives through gloo): each process takes every second
    unit and writes its own journal; process 0 assembles the same table as one process does."""
    spec, directory, _ = tiny_run
    path = write_spec(tmp_path, TINY)
    address = f"127.0.0.1:{_free_port()}"
    procs = [slth("run", str(path), "--results", "dist", "--coordinator", address, "--num-processes", "2",
                  "--process-id", str(k), cwd=tmp_path) for k in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    assert "computed 6 rows, 0 already done (process 1 of 2)" in outs[1][0]
    assert {p.name for p in (tmp_path / "dist" / "tiny").glob("journal-p*.csv")} == {"journal-p0.csv", "journal-p1.csv"}
    assert stable(tmp_path / "dist" / "tiny" / "results.csv") == stable(directory / "results.csv")


# --------------------------------------------------------------------------- slth check

def test_check_prints_the_side_by_side_table(capsys):
    code = cli.main(["check", "--dims", "3,3", "--eps", "0.2", "--delta", "0.25", "--trials", "3",
                     "--c-max", "12"])
    out = capsys.readouterr().out
    assert code == 0
    for label in ("measured, certified", "measured, optimistic", "pensia (C = 1)", "malach (C = 1)",
                  "selection/frobenius (explicit)", "counting (lower-bound)", "bound / measured",
                  "the measurement needs C ="):
        assert label in out, label
    code = cli.main(["check", "--dims", "3,3", "--eps", "0.2", "--delta", "0.25", "--trials", "3",
                     "--c-max", "12", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["measured"]["certified"] is not None
    assert {b["name"] for b in report["bounds"]} == {"pensia", "malach", "selection/frobenius", "counting"}
    assert report["git_revision"] and report["versions"]["jax"]
    counting = next(b for b in report["bounds"] if b["name"] == "counting")
    assert report["measured"]["certified"] >= counting["candidates"]
    # Malach et al.'s entrywise assumption, per trial target, recomputed from the trial seeds
    want = [bounds.malach_entrywise(measure.trial_target((3, 3), s)) for s in range(3)]
    assert report["outside"] == {"malach": want}
    outside = sum(v > 1 for v in want)
    assert (f"{outside} of 3 targets here are outside that class" in out) == (outside > 0)


def test_check_says_when_a_width_equals_its_search_limit():
    m = measure.MinWidth("subset-sum", (3, 3), 0.2, 0.25, 0, 5, 5, 4, 1.0, (0.3, 1.0), 100, (), None)
    text = check_mod.format_report(check_mod.CheckReport(m, (), None, 1.0, {"device": "cpu", "git_revision": "x"}))
    assert "NOTE: the certified width equals the search limit c_max = 5" in text
    m = dataclasses.replace(m, c_max=6)
    text = check_mod.format_report(check_mod.CheckReport(m, (), None, 1.0, {"device": "cpu", "git_revision": "x"}))
    assert "search limit" not in text


def test_malach_entrywise_is_the_largest_entry_times_root_fan_in():
    layers = [np.full((2, 4), 0.5), np.array([[0.1, -0.9]])]
    assert bounds.malach_entrywise(layers) == pytest.approx(max(0.5 * 2.0, 0.9 * math.sqrt(2)), rel=1e-15)
    with pytest.raises(ValueError, match="non-empty 2-D"):
        bounds.malach_entrywise([np.ones(3)])


@pytest.mark.parametrize("args, fragment", [
    (["--eps", "1.5"], "1.5 must be a number in (0, 1)"), (["--dims", "3,x"], "does not parse"),
    (["--construction", "magic"], "invalid choice: 'magic'"), (["--c-max", "40"], "above 32"),
    (["--trials", "0"], "0 must be a positive integer"),
])
def test_check_rejects_bad_input(capsys, args, fragment):
    try:
        code = cli.main(["check", *args])
    except SystemExit as e:     # argparse's own validation
        code = e.code
    assert code == cli.EXIT_INPUT
    assert fragment in capsys.readouterr().err


def test_joint_fit_counts_a_shared_measurement_once(tiny_run, tmp_path, capsys):
    _, directory, _ = tiny_run
    assert cli.main(["fit", str(directory), str(directory)]) == 0
    assert "joint fits over 2 tables, 4 cells, 12 trials" in capsys.readouterr().out
    assert cli.main(["fit", str(directory), str(directory), "--json"]) == 0
    joint = json.loads(capsys.readouterr().out)
    assert set(joint) == {"subset-sum", "selection"}
    assert joint["selection"]["log_constant_certified"]["n_cells"] == 2
    cov = specs.load(write_spec(tmp_path, COVERAGE, "cov"))
    runner.run(cov, results=str(tmp_path / "r"), progress=False)
    assert cli.main(["fit", str(directory), str(tmp_path / "r" / "cov")]) == cli.EXIT_INPUT
    assert "that has joint fits (width)" in capsys.readouterr().err
    assert cli.main(["fit", str(tmp_path)]) == cli.EXIT_INPUT
    assert "has no spec.toml" in capsys.readouterr().err


def test_default_check_is_the_issue_example(capsys):
    """``slth check`` with no arguments is subset-sum, 16,16,16, ε = 0.01, δ = 0.1, 20 trials (the README's
    main job): its parsed defaults. On two of those trials its widths respect the counting bound and
    Pensia's C is reported. (CI runs the whole main job once, from the wheel: tools/wheel_check.sh checks
    the same on its JSON.)"""
    assert cli.build_parser().parse_args(["check"]).trials == 20
    assert cli.main(["check", "--json", "--trials", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["construction"], report["dims"], report["eps"], report["delta"], report["trials"]) == (
        "subset-sum", [16, 16, 16], 0.01, 0.1, 2)
    counting = next(b for b in report["bounds"] if b["name"] == "counting")
    assert report["measured"]["certified"] >= counting["candidates"]
    assert report["pensia_C_needed"] > 0
