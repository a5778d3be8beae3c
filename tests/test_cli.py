"""The ``slth`` command line: prune, verify, and one-line errors for every kind of bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from slth import cli


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def ticket_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "t.npz"
    assert cli.main(["prune", "--dims", "3,4,2", "--candidates", "4", "--seed", "1", "--out", str(path)]) == 0
    return path


def rewrite(src, dst, **changes):
    """Copy a ticket file, replacing (or with None, dropping) some arrays."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(dst, **arrays)
    return dst


def test_prune_summary_and_json(capsys, tmp_path):
    code, out, _ = run(capsys, "prune", "--dims", "3,4,2", "--candidates", "4", "--out", str(tmp_path / "a.npz"))
    assert code == 0
    for word in ("random network", "parameters", "max weight error", "lower bound", "certificate", "time"):
        assert word in out
    code, out, _ = run(capsys, "prune", "--construction", "selection", "--dims", "3,4,2", "--candidates", "4",
                       "--out", str(tmp_path / "b.npz"), "--json")
    meta = json.loads(out)
    assert code == 0 and meta["construction"] == "selection"
    assert meta["lower_bound"] <= meta["certificate"]
    for key in ("seed", "versions", "device", "git_revision", "random_widths", "kept_params"):
        assert key in meta


def test_prune_is_reproducible(capsys, tmp_path):
    for name in ("a", "b"):
        assert run(capsys, "prune", "--dims", "2,3,2", "--candidates", "3", "--out", str(tmp_path / f"{name}.npz"))[0] == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    for k in a.files:
        if k != "meta":
            assert np.array_equal(a[k], b[k])


def test_verify_valid(capsys, ticket_file):
    code, out, _ = run(capsys, "verify", str(ticket_file))
    assert code == 0 and "VALID" in out
    code, out, _ = run(capsys, "verify", str(ticket_file), "--json")
    assert code == 0 and json.loads(out)["status"] == "valid"


def test_verify_catches_a_tampered_kept_weight(capsys, ticket_file, tmp_path):
    with np.load(ticket_file) as z:
        r, m = z["random_1"].copy(), z["mask_1"]
    i, j = np.argwhere(m)[0]
    r[i, j] += 1e-9
    code, out, _ = run(capsys, "verify", str(rewrite(ticket_file, tmp_path / "bad.npz", random_1=r)))
    assert code == cli.EXIT_INVALID and "random_1 differs" in out


def test_verify_catches_a_false_claim(capsys, ticket_file, tmp_path):
    with np.load(ticket_file) as z:
        meta = json.loads(str(z["meta"][()]))
    meta["certificate"] = meta["certificate"] / 2
    code, out, _ = run(capsys, "verify", str(rewrite(ticket_file, tmp_path / "claim.npz", meta=np.array(json.dumps(meta)))))
    assert code == cli.EXIT_INVALID and "meta claims certificate" in out


def test_verify_unverifiable(capsys, ticket_file, tmp_path):
    with np.load(ticket_file) as z:
        meta = json.loads(str(z["meta"][()]))
    meta["distribution"] = "someone-elses-law"
    code, out, _ = run(capsys, "verify", str(rewrite(ticket_file, tmp_path / "u.npz", meta=np.array(json.dumps(meta)))))
    assert code == cli.EXIT_UNVERIFIABLE and "UNVERIFIABLE" in out


def bad_ticket_files(ticket_file, tmp_path):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(ticket_file.read_bytes()[:300])
    with np.load(ticket_file) as z:
        wrong_shape = z["mask_0"][:, :-1]
        as_float = z["mask_0"].astype(float)
    notticket = tmp_path / "other.npz"
    np.savez(notticket, weights=np.ones(3))
    text = tmp_path / "text.npz"
    text.write_text("hello")
    return {
        "truncated": (truncated, "not a readable ticket file"),
        "mask shape": (rewrite(ticket_file, tmp_path / "ms.npz", mask_0=wrong_shape), "mask_0 has shape"),
        "mask dtype": (rewrite(ticket_file, tmp_path / "md.npz", mask_0=as_float), "masks must be boolean"),
        "missing array": (rewrite(ticket_file, tmp_path / "mm.npz", random_2=None), "missing arrays ['random_2']"),
        "not a ticket": (notticket, "no 'meta' array"),
        "not a zip": (text, "not a readable ticket file"),
        "absent": (tmp_path / "nope.npz", "is not a file"),
    }


def test_verify_rejects_broken_files_in_one_line(capsys, ticket_file, tmp_path):
    for label, (path, fragment) in bad_ticket_files(ticket_file, tmp_path).items():
        code, out, err = run(capsys, "verify", str(path))
        assert code == cli.EXIT_INPUT, label
        assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (label, err)


@pytest.mark.parametrize("argv, fragment", [
    (["--construction", "magic"], "invalid choice: 'magic'"),
    (["--dims", "8,x,4"], "does not parse"),
    (["--dims", "8"], "at least two"),
    (["--candidates", "0"], "0 must be a positive integer"),
    (["--candidates", "-3"], "-3 must be a positive integer"),
    (["--target-norm", "2"], "--target-norm 2.0 must be in (0, 1]"),
    (["--candidates", "100000000", "--construction", "selection"], "above the limit"),
    (["--candidates", "33"], "--candidates 33 is above 32, the most the subset-sum construction takes"),
])
def test_prune_rejects_bad_arguments(capsys, tmp_path, argv, fragment):
    out = tmp_path / "never.npz"
    try:
        code = cli.main(["prune", "--out", str(out), *argv])
    except SystemExit as e:  # argparse's own validation
        code = e.code
    err = capsys.readouterr().err
    assert code == cli.EXIT_INPUT and fragment in err and "Traceback" not in err
    assert not out.exists()


def test_prune_rejects_bad_target_files(capsys, tmp_path):
    cases = {
        "nan.npz": ({"target_0": np.array([[np.nan, 0.1]])}, "NaN or infinite"),
        "norm.npz": ({"target_0": 2 * np.eye(2)}, "spectral norm 2"),
        "shape.npz": ({"target_0": np.eye(2) * 0.1, "target_1": np.eye(3) * 0.1}, "shapes must chain"),
        "empty.npz": ({"weights": np.eye(2)}, "no arrays target_0"),
        "flat.npz": ({"target_0": np.ones(2)}, "expected 2-D"),
    }
    for name, (arrays, fragment) in cases.items():
        np.savez(tmp_path / name, **arrays)
        code, _, err = run(capsys, "prune", "--target", str(tmp_path / name), "--out", str(tmp_path / "x.npz"))
        assert code == cli.EXIT_INPUT and fragment in err and len(err.strip().splitlines()) == 1, (name, err)
    assert not (tmp_path / "x.npz").exists()
    code, out, _ = run(capsys, "prune", "--target", str(tmp_path / "norm.npz"), "--rescale-target",
                       "--candidates", "3", "--out", str(tmp_path / "x.npz"))
    assert code == 0 and (tmp_path / "x.npz").exists()


def test_prune_never_leaves_a_partial_file(capsys, tmp_path):
    code, _, err = run(capsys, "prune", "--out", str(tmp_path / "missing-folder" / "t.npz"))
    assert code == cli.EXIT_INPUT and "existing folder" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [[], ["prune"], ["verify"]])
def test_help_on_every_command(command):
    out = subprocess.run([sys.executable, "-m", "slth.cli", *command, "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "usage: slth" in out


def test_ctrl_c_during_prune_exits_130_in_one_line(tmp_path):
    """SIGINT while `slth prune` computes: exit status 130 and one line, never a traceback or a crash at
    interpreter exit (the executable skips the final clean-up that could free JAX under XLA's threads),
    and no ticket file, whole or partial."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "t.npz"
    interrupted = 0
    # late enough that the imports are done even on a loaded machine (a SIGINT during `import jax` is
    # Python's own traceback), early enough that the 256-512-512-10 ticket is not finished
    for delay in (6.0, 9.0):
        p = subprocess.Popen([sys.executable, "-m", "slth.cli", "prune", "--dims", "256,512,512,10", "--out",
                              str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
        if p.returncode == 0:      # finished before the signal (a fast machine): a whole ticket
            out.unlink()
            continue
        interrupted += 1
        assert p.returncode == 130, err
        assert err.strip() == "slth prune: interrupted", err
        assert not out.exists() and not list(tmp_path.glob(".t.npz.*"))
        break                      # one interruption mid-computation is the check; the later delay is a fallback
    assert interrupted, "the job finished before SIGINT every time: make it longer"
