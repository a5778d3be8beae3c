"""The trained-ticket harness (issue 18): the imp, instability and planted sweep kinds, the commands
``slth imp`` and ``slth plant``, and their refusal of bad input before any work."""

import json

import numpy as np
import pytest

from slth import cli, measure
from slth.errors import InputError
from slth.experiments import runner, spec as specs
from slth.experiments.kinds import imp as imp_kind

IMP = """
kind = "imp"
[grid]
method = ["imp", "reinit", "random", "subset-sum"]
rewind = [0]
c = { subset-sum = [2] }
[trials]
count = 1
seed = 3
dims = "64,8,10"
epochs = 2
fraction = 0.5
rounds = 2
"""

INSTABILITY = """
kind = "instability"
[grid]
rewind = [0, 4]
round = [0, 1]
[trials]
count = 1
seed = 3
points = 30
dims = "64,8,10"
epochs = 2
fraction = 0.5
"""

PLANTED = """
kind = "planted"
[grid]
search = ["edge-popup", "imp"]
factor = [1]
reference = ["subset-sum"]
c = { subset-sum = [2] }
[trials]
count = 1
seed = 3
dims = "4,4,3"
widths = "8"
"""


def write(tmp_path, text, name):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def run(tmp_path, text, name):
    spec = specs.load(write(tmp_path, text, name))
    return spec, runner.run(spec, results=str(tmp_path / "results"), progress=False)


def test_imp_sweep_rows_keep_the_scheduled_fraction_and_report_accuracy_and_loss(tmp_path):
    spec, result = run(tmp_path, IMP, "imp")
    rows = {r["cell"]: r for r in result.rows}
    assert list(rows) == ["imp k=0 r=0", "imp k=0 r=1", "imp k=0 r=2", "reinit k=0 r=1", "reinit k=0 r=2",
                          "random k=0 r=1", "random k=0 r=2", "subset-sum c=2"]
    total = 64 * 8 + 8 * 10
    for r in range(3):        # every round removes half of each layer's kept weights
        row = rows[f"imp k=0 r={r}"]
        assert row["network_params"] == total and row["kept_params"] == round(total * 0.5 ** r)
        assert row["fraction_kept_per_layer"] == ",".join(f"{0.5 ** r:g}" for _ in range(2))
        for method in ("reinit", "random"):
            if r:
                assert rows[f"{method} k=0 r={r}"]["kept_params"] == row["kept_params"]
    for row in rows.values():
        assert row["seed"] == 3 and row["rewind"] in (0, -1) and 0 <= row["test_accuracy"] <= 1
        assert row["git_revision"] and row["device"]
    assert all(np.isfinite(rows[f"imp k=0 r={r}"]["test_loss"]) for r in range(3))
    strong = rows["subset-sum c=2"]
    assert strong["lower_bound"] <= strong["certificate"] and strong["network_params"] > total
    table, fitted, text = imp_kind.summary(spec, result.rows)
    assert "rewind 0: IMP matches the dense accuracy" in text and "0" in fitted["rewinds"]


def test_instability_sweep_gives_one_barrier_per_rewind_and_round(tmp_path):
    _, result = run(tmp_path, INSTABILITY, "instability")
    assert [r["cell"] for r in result.rows] == ["k=0 r=0", "k=0 r=1", "k=4 r=0", "k=4 r=1"]
    for r in result.rows:
        assert r["points"] == 30 and r["barrier"] >= -1e-12 and r["max_error"] >= max(r["end_error_a"], r["end_error_b"])
        assert r["fraction_kept"] == (1.0 if r["round"] == 0 else 0.5)


def test_planted_sweep_finds_the_planted_ticket_exact_and_bounds_every_search(tmp_path):
    _, result = run(tmp_path, PLANTED, "planted")
    rows = {r["cell"]: r for r in result.rows}
    assert list(rows) == ["planted", "edge-popup x1", "imp x1", "subset-sum c=2"]
    exact = rows["planted"]
    assert exact["lower_bound"] <= 1e-12 and exact["certificate"] == 0.0
    assert exact["precision"] == exact["recall"] == 1.0
    for key in ("edge-popup x1", "imp x1"):
        assert rows[key]["kept_params"] == exact["kept_params"]
    for r in rows.values():     # the float64 gap of the exact planted ticket is round-off (ROUNDOFF)
        assert r["lower_bound"] <= r["certificate"] + measure.ROUNDOFF
        assert r["fraction_kept"] == pytest.approx(r["kept_params"] / r["network_params"])


@pytest.mark.parametrize("text, fragment", [
    (IMP.replace("fraction = 0.5", "fraction = 1.5"), "fraction 1.5"),
    (IMP.replace("rounds = 2", "rounds = 0"), "rounds 0"),
    (IMP.replace("rewind = [0]", "rewind = [100000]"), "rewind 100000"),
    (IMP + 'scope = "neuron"\n', "scope 'neuron'"),
    (IMP.replace('"imp", "reinit"', '"imp", "magnitude"'), "method 'magnitude' is unknown"),
    (INSTABILITY.replace("points = 30", "points = 10"), "points 10"),
    (PLANTED.replace('widths = "8"', 'widths = "2"'), "is wider than the random network"),
    (PLANTED.replace('widths = "8"', 'widths = "8,8"'), "widths"),
    (PLANTED.replace("factor = [1]", "factor = [0]"), "factor 0"),
])
def test_bad_specs_name_the_problem_and_write_nothing(tmp_path, text, fragment):
    with pytest.raises(InputError) as e:
        run(tmp_path, text, "bad")
    assert fragment in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "results").exists()


def test_imp_and_plant_commands_print_their_rows_as_json(capsys):
    assert cli.main(["imp", "--dims", "64,8,10", "--epochs", "2", "--rounds", "1", "--fraction", "0.5",
                     "--no-controls", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["round"] for r in out["rows"]] == [0, 1] and out["rows"][1]["fraction_kept"] == 0.5
    assert out["git_revision"] and out["steps"] == 2 * (1437 // 64)
    assert cli.main(["plant", "--dims", "4,4,3", "--widths", "8", "--factor", "1", "--search", "edge-popup",
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in out["rows"]] == ["planted", "edge-popup"]
    assert out["rows"][0]["certificate"] == 0.0


@pytest.mark.parametrize("argv, fragment", [
    (["imp", "--fraction", "1.5"], "1.5"),
    (["imp", "--rounds", "0"], "0"),
    (["imp", "--rewind", "100000"], "rewind 100000"),
    (["imp", "--scope", "neuron"], "neuron"),
    (["plant", "--dims", "4,4,3", "--widths", "2"], "is wider than the random network"),
    (["plant", "--factor", "-1"], "-1"),
])
def test_commands_refuse_bad_input_in_one_line(capsys, argv, fragment):
    try:
        code = cli.main(argv)
    except SystemExit as e:       # argparse's own refusal (a usage error)
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and fragment in err[-1]
