"""Everywhere the error is read (issue 15): prune and verify carry both certificates and the exact
bracket, verify refutes forged ones, a file from before the tighter certificate still verifies, and
``slth check --exact`` reports the exact width between the optimistic and the certified one."""

import json

import jax
import numpy as np
import pytest

from slth import cli, measure, nets, pipeline
from slth import ticket as ticket_mod

pytest.importorskip("pyscipopt", reason="the exact error needs SCIP (pip install pyscipopt)")

DIMS = (3, 3, 2)


@pytest.fixture(scope="module")
def pruned():
    target = nets.random_target(DIMS, key=jax.random.key(1))
    return pipeline.prune("subset-sum", target, nets.RandomSpec(dims=DIMS, candidates=6, seed=1), exact=30.0)


def save(tmp_path, pruned, name="t.npz", **changes):
    meta = {k: v for k, v in (pruned.meta | changes).items() if v is not None}
    path = tmp_path / name
    ticket_mod.save(pruned.ticket, path, meta, witness=pruned.witness)
    return path


def test_prune_records_both_certificates_and_the_exact_bracket(pruned):
    m = pruned.meta
    assert m["lower_bound"] <= m["exact_upper"] <= m["certificate"] <= m["certificate_norms"]
    assert m["exact_lower"] <= m["lower_bound"] + measure.ROUNDOFF      # the stored witness is the better one
    assert m["exact_status"] == "optimal" and m["exact_upper"] <= m["exact_lower"] * (1 + 1e-3)
    at = measure.gap_at(pruned.ticket.target, pruned.ticket.pruned, pruned.witness[None])[0]
    assert at == m["lower_bound"]


def test_verify_proves_an_honest_file_and_refutes_forged_claims(pruned, tmp_path):
    assert pipeline.verify(save(tmp_path, pruned))["status"] == "valid"
    m = pruned.meta
    forged = {
        "tighter certificate halved": dict(certificate=m["certificate"] / 2),
        "product of norms halved": dict(certificate_norms=m["certificate_norms"] / 2),
        "exact upper below the witnessed gap": dict(exact_upper=m["lower_bound"] * 0.9),
        "exact lower above the recomputed upper": dict(exact_lower=m["exact_upper"] * 1.5),
    }
    for what, change in forged.items():
        report = pipeline.verify(save(tmp_path, pruned, f"{len(what)}.npz", **change))
        assert report["status"] == "invalid", what


def test_a_file_from_before_the_tighter_certificate_still_verifies(pruned, tmp_path):
    """Files written before slth had the tighter certificate claim docs/theory.md §3's under ``certificate``
    and have no ``certificate_norms``: verify checks that claim against the product of norms."""
    m = pruned.meta
    legacy = save(tmp_path, pruned, "legacy.npz", certificate=m["certificate_norms"], certificate_norms=None,
                  exact_lower=None, exact_upper=None, exact_status=None, exact_time_limit_s=None)
    assert pipeline.verify(legacy)["status"] == "valid"
    wrong = save(tmp_path, pruned, "legacy_wrong.npz", certificate=m["certificate"], certificate_norms=None,
                 exact_lower=None, exact_upper=None, exact_status=None, exact_time_limit_s=None)
    if m["certificate"] < m["certificate_norms"] * (1 - 1e-6):
        assert pipeline.verify(wrong)["status"] == "invalid"


def test_cli_prune_exact_prints_the_bracket_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "c.npz"
    assert cli.main(["prune", "--dims", "3,3,2", "--candidates", "6", "--seed", "1", "--exact", "30",
                     "--out", str(out)]) == cli.EXIT_OK
    text = capsys.readouterr().out
    assert "exact error" in text and "product of norms" in text
    for bad in (["--exact", "0"], ["--exact", "-3"], ["--exact", "nan"]):
        with pytest.raises(SystemExit) as e:
            cli.main(["prune", "--dims", "3,3,2", "--candidates", "6", "--out", str(tmp_path / "x.npz"), *bad])
        assert e.value.code == cli.EXIT_INPUT and not (tmp_path / "x.npz").exists()
        assert "--exact" in capsys.readouterr().err
    capsys.readouterr()
    code = cli.main(["prune", "--dims", "64,64,64,10", "--candidates", "2", "--exact", "--out", str(tmp_path / "y.npz")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INPUT and "MAX_BINARIES" in err and "certificate" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "y.npz").exists()


def test_check_exact_width_lies_between_optimistic_and_certified(capsys):
    assert cli.main(["check", "--dims", "3,3,2", "--eps", "0.1", "--trials", "2", "--c-max", "12",
                     "--exact", "20", "--json"]) == cli.EXIT_OK
    report = json.loads(capsys.readouterr().out)
    for t in report["measured"]["per_trial"]:
        if t["exact"] is not None:
            assert t["optimistic"] <= t["exact"] <= t["certified"]
            lo, hi = t["exact_brackets"][str(t["exact"])]
            assert lo <= hi <= 0.1
    assert report["measured"]["exact"] is not None
    assert np.isfinite(report["measured"]["exact"])


WIDTH_WITH_EXACT = """
kind = "width"
[grid]
construction = ["subset-sum"]
dims = ["3,3", "3,3,2"]
eps = [0.1]
delta = [0.5]
[trials]
count = 2
seed = 0
c_max = 12
exact = 20
exact_max_binaries = 8
"""


def test_width_rows_carry_the_exact_bracket_where_the_program_is_small(tmp_path):
    """A width sweep with ``exact``: the l = 1 cells (3 binaries) carry the exact bracket of their
    certified and optimistic tickets, which lies between the lower bound and the certificate; the
    l = 2 cells (9 binaries > 8) carry none."""
    from slth.experiments import runner, spec as specs

    path = tmp_path / "w.toml"
    path.write_text(WIDTH_WITH_EXACT)
    rows = runner.run(specs.load(path), results=str(tmp_path / "r"), progress=False).rows
    for r in rows:
        if r["l"] == 1 and r["certified"] is not None:
            assert r["lower_bound_at_certified"] <= r["exact_upper"] + measure.ROUNDOFF
            assert r["exact_lower"] <= r["certificate"] + measure.ROUNDOFF
            assert r["exact_upper"] <= r["exact_lower"] * (1 + 1e-3) + 1e-12
        if r["l"] == 2:
            assert r["exact_upper"] is None and r["exact_upper_at_optimistic"] is None
    assert any(r["l"] == 1 and r["exact_upper"] is not None for r in rows)
    bad = tmp_path / "bad.toml"
    bad.write_text(WIDTH_WITH_EXACT.replace("exact = 20", "exact = -1"))
    with pytest.raises(Exception, match=r"\[trials\] exact -1"):
        specs.load(bad)
