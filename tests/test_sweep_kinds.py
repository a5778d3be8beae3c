"""The separation and digits sweep kinds (issue 5): spec validation, rows equal to the library's, and
the two commands."""

import json

import pytest

from slth import cli
from slth.errors import InputError
from slth.experiments import runner, spec as specs


def write_spec(tmp_path, text, name):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


SEPARATION = """
kind = "separation"
[grid]
method = ["random-features", "neuron-greedy", "neuron-exact", "subset-sum"]
d = [2, 3]
c = [1, 2]
[trials]
count = 2
seed = 4
n_train = 300
n_test = 300
"""

DIGITS = """
kind = "digits"
[grid]
construction = ["subset-sum", "selection"]
c = { subset-sum = [6], selection = [8] }
[trials]
count = 2
seed = 1
epochs = 3
"""


def test_separation_sweep_rows_are_row_for(tmp_path):
    from slth import separation

    spec = specs.load(write_spec(tmp_path, SEPARATION, "sep"))
    # neuron-exact is kept only where the depth-2 network is small enough to enumerate
    exact = [c.params for c in spec.cells if c.params["method"] == "neuron-exact"]
    assert exact and all(separation.matched_units(p["d"], p["c"])[1] <= separation.EXACT_MAX_UNITS for p in exact)
    result = runner.run(spec, results=str(tmp_path / "r"), progress=False)
    assert len(result.rows) == 2 * len(spec.cells)
    r = result.rows[-1]
    again = separation.row_for(r["method"], r["d"], r["c"], inputs=r["inputs"], seed=r["seed"], n_train=300,
                               n_test=300)
    assert (r["test_l2"], r["relative"], r["random_params"]) == (again.test_l2, again.relative, again.random_params)
    # the relaxation, on every seed and cell of the sweep: random features <= neuron pruning (train error)
    by = {(x["method"], x["d"], x["c"], x["seed"]): x["train_l2"] for x in result.rows}
    for (m, d, c, seed), err in by.items():
        if m == "neuron-greedy":
            assert by[("random-features", d, c, seed)] <= err + 1e-12
    assert "relative L2 error" in result.report


def test_digits_sweep_keeps_proven_points_in_agreement(tmp_path):
    spec = specs.load(write_spec(tmp_path, DIGITS, "dig"))
    assert [c.key for c in spec.cells] == ["subset-sum c=6", "selection c=8"]
    result = runner.run(spec, results=str(tmp_path / "r"), progress=False)
    assert len(result.rows) == 4
    for r in result.rows:
        assert r["guaranteed_disagree"] == 0 and 0 <= r["agreement"] <= 1
        assert r["lower_bound"] <= r["certificate"] + 1e-12 and r["data"] == "sklearn-digits"
    assert [r["seed"] for r in result.rows] == [1, 2, 1, 2]


@pytest.mark.parametrize("text, fragment", [
    (SEPARATION.replace('"neuron-exact"', '"neuron-magic"'), "method 'neuron-magic' is unknown"),
    (SEPARATION.replace("c = [1, 2]", "c = [1, 40]"), "c 40 is above 32"),
    (DIGITS.replace("selection = [8]", "selection = []"), "c has no candidates for 'selection'"),
    (DIGITS.replace("c = {", "c = { magic = [1], "), "c has a list for 'magic'"),
    (DIGITS.replace("epochs = 3", "epochs = 0\ndims = '64,x'"), "epochs 0 must be an integer >= 1"),
    (DIGITS.replace("epochs = 3", "data = '/no/such/mnist'"), "data '/no/such/mnist' does not exist"),
])
def test_issue5_specs_name_the_problem(tmp_path, text, fragment):
    with pytest.raises(InputError) as info:
        specs.load(write_spec(tmp_path, text, "bad"))
    assert fragment in str(info.value)


def test_separation_and_digits_commands(capsys):
    assert cli.main(["separation", "--d", "2", "--candidates", "1", "--n-train", "200", "--n-test", "200",
                     "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["method"] for r in report["rows"]} == {"random-features", "neuron-greedy", "neuron-exact",
                                                     "subset-sum", "selection"}
    assert report["git_revision"]
    assert cli.main(["digits", "--construction", "subset-sum", "--candidates", "6", "--epochs", "2"]) == 0
    assert "subset-sum" in capsys.readouterr().out
    assert cli.main(["digits", "--data", "/no/such/mnist"]) == cli.EXIT_INPUT
    assert "expected an .npz" in capsys.readouterr().err
    assert cli.main(["separation", "--d", "0"]) == cli.EXIT_INPUT
    assert "d" in capsys.readouterr().err


# --------------------------------------------------------------------------- weight_error, coverage values

WEIGHT_ERROR = """
kind = "weight_error"
[grid]
construction = ["selection", "subset-sum"]
c = [1, 3, 6]
[trials]
count = 3
seed = 2
targets = 9
"""


def test_weight_error_rows_are_the_brute_force_optimum_and_the_closest_candidate(tmp_path):
    """Subset sum's per-weight error is the minimum over all 2^c subsets (NumPy brute force); selection's
    is min(|w|, min_r |a_r − w|): the closest candidate, or none. Both see the same candidates."""
    import itertools

    import numpy as np

    spec = specs.load(write_spec(tmp_path, WEIGHT_ERROR, "we"))
    rows = runner.run(spec, results=str(tmp_path / "r"), progress=False).rows
    assert len(rows) == 2 * 3 * 3
    w = runner.weight_targets(9)
    assert w[0] == -1 and w[-1] == 1
    for r in rows:
        a = runner.coverage_candidates(r["seed"], r["c"], "uniform")
        if r["construction"] == "subset-sum":
            sums = np.array([sum(s) for k in range(len(a) + 1) for s in itertools.combinations(a, k)])
            err = np.abs(sums[None, :] - w[:, None]).min(axis=1)
        else:
            err = np.minimum(np.abs(w), np.abs(a[None, :] - w[:, None]).min(axis=1))
        assert r["median_error"] == pytest.approx(float(np.median(err)), abs=1e-12)
        assert r["max_error"] == pytest.approx(float(err.max()), abs=1e-12)
    by = {(r["construction"], r["c"], r["trial"]): r for r in rows}
    for (con, c, t), r in by.items():
        if con == "selection":
            assert by[("subset-sum", c, t)]["max_error"] <= r["max_error"] + 1e-12   # a single is a subset


def test_coverage_samples_are_the_v_factors_of_the_products():
    import numpy as np

    samples = runner.coverage_candidates(3, 5, "uniform", "samples")
    products = runner.coverage_candidates(3, 5, "uniform", "products")
    assert np.all(np.abs(products) <= np.abs(samples)) and np.all(np.sign(products) == np.sign(samples))


@pytest.mark.parametrize("text, fragment", [
    (WEIGHT_ERROR.replace('"selection", "subset-sum"', '"hyperbolic"'), "construction 'hyperbolic' is not one of"),
    (WEIGHT_ERROR.replace("c = [1, 3, 6]", "c = [1, 30]"), "c 30 is above 24"),
    (WEIGHT_ERROR.replace("targets = 9", "targets = 0"), "[trials] targets 0 must be an integer >= 1"),
    ('kind = "coverage"\n[grid]\nc = [2]\nvalues = ["sums"]\n[trials]\ncount = 1\n', "values 'sums' is unknown"),
])
def test_new_kinds_name_the_problem(tmp_path, text, fragment):
    with pytest.raises(InputError) as e:
        specs.load(write_spec(tmp_path, text, "bad"))
    assert fragment in str(e.value)
