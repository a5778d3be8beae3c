"""The digits_cnn sweep kind (issue 16, item 7): its spec refuses bad input in one line before any work,
its rows read the tickets of the digits CNN sanely, and the same seed gives the same bits."""

import pytest

from slth import budget, nets
from slth.errors import InputError
from slth.experiments import runner, shipped, spec as specs
from slth.experiments.kinds import digits_cnn
from slth.studies.digits import cnn

GOOD = """
kind = "digits_cnn"
[grid]
construction = ["subset-sum"]
c = [4]
[trials]
count = 1
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The shipped toy spec run once: (spec, its rows)."""
    spec = specs.load(shipped.path("toy", "digits_cnn"))
    result = runner.run(spec, results=str(tmp_path_factory.mktemp("results")), progress=False)
    return spec, result.rows


@pytest.mark.parametrize("change,fragment", [
    (("construction = [\"subset-sum\"]", "construction = [\"hyperbolic\"]"), "does not prune random CNNs"),
    (("construction = [\"subset-sum\"]", "construction = [\"nope\"]"), "is unknown"),
    (("c = [4]", "c = [33]"), "above 32"),
    (("c = [4]", "c = [0]"), "[grid] c for subset-sum 0"),
    (("count = 1", "count = 1\ngeometry = \"1x6x6:2:k3:s1:10\""), "does not fit the digits"),
    (("count = 1", "count = 1\ngeometry = \"1x8x8:2:k4:s1:10\""), "even"),
    (("count = 1", "count = 1\ngeometry = \"1x8x8:2,4:k3:s1,3:10\""), "each 1 or 2"),
    (("count = 1", "count = 1\ngeometry = 8"), "must be a string"),
    (("count = 1", "count = 1\nepochs = 0"), "[trials] epochs 0"),
    (("count = 1", "count = 1\nbatch_size = 1.5"), "[trials] batch_size 1.5"),
    (("count = 1", "count = 1\nlearning_rate = -1"), "[trials] learning_rate -1"),
    (("count = 1", "count = 1\ndims = \"64,32,10\""), "unknown key 'dims'"),
])
def test_a_bad_spec_is_refused_in_one_line(tmp_path, change, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(InputError) as e:
        specs.load(path)
    assert fragment in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert list(tmp_path.iterdir()) == [path]          # nothing written


def test_a_good_spec_takes_the_defaults_and_has_a_memory_estimate(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    spec = specs.load(path)
    assert spec.settings == {"geometry": cnn.DEFAULTS["geometry"], "training_seed": 0, "epochs": cnn.DEFAULTS["epochs"],
                             "batch_size": cnn.DEFAULTS["batch_size"], "learning_rate": cnn.DEFAULTS["learning_rate"]}
    assert budget.cell_estimate(spec, spec.cells[0]).bytes > digits_cnn.network(spec, spec.cells[0]).random_params()


def test_toy_rows_have_the_columns_and_sane_values(toy):
    """Agreement and accuracies are fractions, no lower bound above its certificate, the proven points a
    subset of the agreeing ones (none disagrees: the margin theorem), sizes from the random CNN's spec."""
    spec, rows = toy
    assert len(rows) == len(spec.cells) * spec.trials
    for r in rows:
        assert list(r) == [c for c, _ in digits_cnn.COLUMNS]
        for k in ("ticket_accuracy", "target_accuracy", "train_accuracy", "agreement", "guaranteed_fraction"):
            assert 0 <= r[k] <= 1, (k, r[k])
        assert 0 <= r["lower_bound"] <= r["certificate"] <= r["certificate_norms"] * (1 + 1e-9)
        assert r["guaranteed_fraction"] <= r["agreement"] and r["guaranteed_disagree"] == 0
        net = nets.RandomSpec(dims=nets.conv.Geometry.parse(r["geometry"]).dims(), candidates=r["c"], seed=r["seed"],
                              layout=nets.layouts.conv.LAYOUT.name, geometry=r["geometry"])
        assert r["random_params"] == net.random_params() and 0 < r["kept_params"] < r["random_params"]
        assert r["seed"] == spec.seed + r["trial"]
    table, fitted, text = digits_cnn.summary(spec, rows)
    assert [list(t) for t in table] == [list(digits_cnn.SUMMARY_COLUMNS)] * len(spec.cells)
    assert set(fitted["all_agree_c"]) == {r["construction"] for r in rows} and "subset-sum" in text


def test_same_seed_same_bits(toy):
    """A row recomputed from a fresh training (same seeds) has the same numbers, timings aside."""
    spec, rows = toy
    r = rows[0]
    s = spec.settings
    p = cnn.prepare(s["geometry"], seed=s["training_seed"], epochs=s["epochs"], batch_size=s["batch_size"],
                    learning_rate=s["learning_rate"])
    again = cnn.ticket_row(p, r["construction"], r["c"], r["seed"])
    for k, v in again.items():
        if k in r and not k.endswith("_s"):
            assert r[k] == v, (k, r[k], v)
    assert r["train_accuracy"] == p.train_accuracy


def test_the_smallest_c_where_every_image_agrees():
    """Per construction, the smallest c whose every random network agrees on every test image."""
    def row(con, c, trial, agreement):
        return {"cell": f"{con} c={c}", "construction": con, "c": c, "trial": trial, "target_accuracy": 0.9,
                "ticket_accuracy": 0.9, "agreement": agreement, "guaranteed_fraction": 0.5, "certificate": 1.0,
                "lower_bound": 0.5, "guaranteed_disagree": 0, "random_params": 10 * c, "kept_params": c}

    rows = [row("subset-sum", 4, 0, 1.0), row("subset-sum", 4, 1, 0.99), row("subset-sum", 8, 0, 1.0),
            row("subset-sum", 8, 1, 1.0), row("selection", 16, 0, 0.5)]
    table, fitted, _ = cnn.sweep_summary(rows)
    assert fitted == {"all_agree_c": {"subset-sum": 8, "selection": None}}
    assert [t["trials_all_agree"] for t in table] == [1, 2, 0]
    with pytest.raises(InputError, match="no rows"):
        cnn.sweep_summary([])
