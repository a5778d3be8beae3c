"""The command line people use (issue 17): --version, a --help that imports no JAX, --json on every
command and for every error, one-line refusals of files that are not slth's, and float32 targets."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from slth import cli, nets
from slth.errors import InputError

NO_JAX = ("import sys\nfrom slth import cli\n{body}\n"
          "print(sorted(m for m in ('jax', 'numpy', 'scipy', 'optax') if m in sys.modules))")


def _python(body: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_JAX.format(body=body)], capture_output=True, text=True)


def run(capsys, *argv):
    try:
        code = cli.main(list(argv))
    except SystemExit as e:     # argparse's refusals (and --help, --version) exit
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- --version and --help

def test_version_prints_version_and_revision_without_jax():
    p = _python("try:\n    cli.main(['--version'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code")
    assert p.returncode == 0, p.stderr
    first, imported = p.stdout.splitlines()
    from slth import provenance

    assert first == f"slth {provenance.version()} (revision {provenance.git_revision()})"
    assert re.fullmatch(r"slth \S+ \(revision \S+\)", first)
    assert imported == "[]"


@pytest.mark.parametrize("argv", [["--help"], []])
def test_the_parser_and_top_level_help_import_no_jax(argv):
    """Building the parser read the construction registry, which imports JAX, optax and scipy (2 s of
    CPU for `slth --help`); the subcommands that need it now complete their arguments on first use."""
    body = (f"try:\n    cli.main({argv!r})\nexcept SystemExit as e:\n    print('exit', e.code)\n"
            "cli.build_parser().format_help()")
    p = _python(body)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == "[]", p.stdout
    assert lines[-2] == f"exit {0 if argv else cli.EXIT_INPUT}"


def test_subcommand_help_still_lists_the_registry(capsys):
    from slth.constructions import CONSTRUCTIONS

    code, out, _ = run(capsys, "prune", "--help")
    assert code == 0
    for name in CONSTRUCTIONS:
        assert name in out
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0 and "subset-sum" in out and "0.01" in out     # check's defaults, read lazily


# --------------------------------------------------------------------------- --json for errors

def _json_error(out: str) -> dict:
    obj = json.loads(out)
    assert isinstance(obj, dict) and {"error", "exit_code"} <= set(obj), obj
    return obj


@pytest.mark.parametrize("argv, fragment", [
    (["prune", "--construction", "magic"], "invalid choice: 'magic'"),            # argparse's refusal
    (["prune", "--candidates", "0"], "0 must be a positive integer"),
    (["prune", "--dims", "8,x,4"], "does not parse"),
    (["check", "--eps", "1.5"], "1.5 must be a number in (0, 1)"),
    (["check", "--dims", "3,x"], "does not parse"),
    (["run", "{tmp}/absent.toml"], "is not a file"),
    (["fit", "{tmp}"], "has no spec.toml"),
    (["separation", "--d", "2,x"], "--d '2,x' must be comma-separated integers"),
    (["digits", "--data", "{tmp}/absent.npz"], "absent.npz"),
    (["selftest", "--import", "no_such_module_xyz"], "cannot be imported"),
    (["figures", "--only", "fig99", "--out", "{tmp}/figs", "--results", "{tmp}/results", "--scale", "toy"],
     "fig99"),
])
def test_every_command_reports_an_error_as_json_and_one_line(capsys, tmp_path, argv, fragment):
    """With --json a failure is one JSON object {"error", "exit_code"} on stdout and the exit status is
    exit_code; the ordinary one-line message still goes to stderr."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--json"]
    code, out, err = run(capsys, *argv)
    obj = _json_error(out)
    assert code == obj["exit_code"] == cli.EXIT_INPUT, (code, out, err)
    assert fragment in obj["error"] and fragment in err, (obj, err)
    message = [line for line in err.splitlines() if not line.startswith(("usage:", " "))]
    assert len(message) == 1 and message[0].startswith(f"slth {argv[0]}: error: "), err
    assert "Traceback" not in err
    code, out, err = run(capsys, *argv[:-1])            # without --json: nothing on stdout
    assert code == cli.EXIT_INPUT and out == "" and fragment in err


def test_verify_json_error_is_its_report_and_one_line(capsys, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a ticket\n")
    code, out, err = run(capsys, "verify", str(text), "--json")
    obj = _json_error(out)
    assert code == obj["exit_code"] == cli.EXIT_INPUT and obj["status"] == "unreadable"
    assert err.count("\n") == 1 and err.startswith("slth verify: error: ") and "not a readable ticket file" in err


# --------------------------------------------------------------------------- files that are not slth's

def test_a_text_file_as_target_is_refused_in_one_line(capsys, tmp_path):
    """NumPy's "pickled (object) data" message leaked for a text file given as --target."""
    text = tmp_path / "target.txt"
    text.write_text("0.5 0.0\n0.0 0.5\n")
    objects = tmp_path / "objects.npz"
    np.savez(objects, target_0=np.array([{"a": 1}], dtype=object))
    single = tmp_path / "single.npy"
    np.save(single, np.eye(2) * 0.5)
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    cases = {text: "not a zip archive", objects: "Python objects", single: "a single .npy array",
             damaged: "a damaged zip archive"}
    for path, fragment in cases.items():
        code, out, err = run(capsys, "prune", "--target", str(path), "--out", str(tmp_path / "t.npz"))
        assert code == cli.EXIT_INPUT and out == "", (path, out)
        assert len(err.strip().splitlines()) == 1 and "is not a slth .npz file" in err and fragment in err, err
        assert "pickle" not in err.replace("unpickles", "") and "allow_pickle" not in err, err
    assert not (tmp_path / "t.npz").exists()


# --------------------------------------------------------------------------- --json on every command

def test_run_and_fit_of_one_folder_print_json(capsys, tmp_path):
    spec = tmp_path / "cov.toml"
    spec.write_text('kind = "coverage"\n[grid]\nc = [3]\n[trials]\ncount = 2\nseed = 1\n[summary]\neps = [0.3]\n')
    code, out, _ = run(capsys, "run", str(spec), "--results", str(tmp_path / "r"), "--json")
    report = json.loads(out)
    assert code == 0 and (report["name"], report["computed"], report["skipped"]) == ("cov", 2, 0)
    fits = json.loads((tmp_path / "r" / "cov" / "fits.json").read_text())
    assert report["fits"] == fits
    code, out, _ = run(capsys, "fit", str(tmp_path / "r" / "cov"), "--json")
    assert code == 0 and json.loads(out) == fits


# --------------------------------------------------------------------------- item 3: float32 targets

def _unit(shape, seed):
    w = np.random.default_rng(seed).normal(size=shape)
    return w / np.linalg.norm(w, 2)


def _float32_copy_above_one(shape):
    """A float64 layer normalised to norm 1, stored as float32, whose float32 copy lies above 1."""
    for seed in range(100):
        w = _unit(shape, seed).astype(np.float32)
        if nets.spectral_norms([w])[0] > 1:
            return w
    raise AssertionError("no float32 copy above 1 in 100 seeds")


@pytest.mark.parametrize("shape", [(6, 4), (3, 6), (16, 16)])
def test_a_float32_copy_of_a_unit_norm_layer_passes_after_widening(shape):
    """Issue 17: a layer normalised to 1 in float64 and stored as float32 (norm 1 + about 1e-8) passed
    load_target's check but was refused once widened to float64 (prune and verify check the widened
    target): "spectral norm 1.0000000084 > 1". The slack follows the rounding the values carry."""
    w = _float32_copy_above_one(shape)
    nets.check_target([w])
    nets.check_target([w.astype(np.float64)])


def test_a_float32_target_file_prunes_and_verifies(capsys, tmp_path):
    layers = [_float32_copy_above_one((6, 4)), _float32_copy_above_one((3, 6))]
    np.savez(tmp_path / "target.npz", target_0=layers[0], target_1=layers[1])
    out = tmp_path / "t.npz"
    code, _, err = run(capsys, "prune", "--target", str(tmp_path / "target.npz"), "--candidates", "3",
                       "--out", str(out))
    assert code == 0, err
    code, stdout, err = run(capsys, "verify", str(out))
    assert code == 0 and "VALID" in stdout, (stdout, err)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_norm_ten_tolerances_above_one_is_refused_naming_the_tolerance(dtype):
    """The slack is the rounding of the stored dtype, no more: 1 + 10τ is refused, widened or not, and
    the message names τ and the dtype it was computed for."""
    shape = (4, 4)
    tol = nets.norm_tolerance(shape, dtype)
    w = (_unit(shape, 0) * (1 + 10 * tol)).astype(dtype)
    assert nets.spectral_norms([w])[0] > 1 + 5 * tol
    for layer in (w, w.astype(np.float64)):
        with pytest.raises(InputError, match=rf"tolerance {tol:.2g} .* {np.dtype(dtype)} layer of shape \(4, 4\)"):
            nets.check_target([layer])


def test_float64_values_keep_float64s_slack():
    """Only values that are float32 values get float32's slack: a float64 layer 1e-10 above 1 (far
    below float32's rounding) is still refused."""
    w = _unit((3, 3), 1) * (1 + 1e-10)
    with pytest.raises(InputError, match="float64 layer of shape"):
        nets.check_target([w])
