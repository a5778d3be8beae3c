"""The separation and digits sweep kinds (issue 5): spec validation, rows equal to the library's, and
the two commands."""

import json

import numpy as np
import pytest

from slth import budget, checks, cli
from slth.errors import InputError
from slth.experiments import runner, spec as specs
from slth.experiments.kinds import _shared


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


# --------------------------------------------------------------------------- a sweep kind is one module

def test_every_kind_provides_the_kind_interface():
    """Each module of kinds.KINDS has the whole interface (kinds/__init__'s docstring), its columns typed
    once, and drives the spec, the store and the budget of its shipped quick spec."""
    import inspect

    from slth.experiments import kinds, shipped as shipped_specs, store

    assert list(kinds.KINDS) == list(specs.KINDS) == ["width", "coverage", "digits", "separation", "weight_error",
                                                     "imp", "instability", "planted", "digits_cnn", "conv_width"]
    provenance = tuple(name for name, _ in _shared.PROVENANCE)
    shipped = [specs.load(shipped_specs.path("quick", n)) for n in shipped_specs.names("quick")]
    for name, kind in kinds.KINDS.items():
        for attr in kinds.INTERFACE["constants"]:
            assert hasattr(kind, attr), (name, attr)
        for attr in kinds.INTERFACE["functions"]:
            assert callable(getattr(kind, attr, None)), (name, attr)
        assert kind.NAME == name and isinstance(kind.BATCHED, bool) and isinstance(kind.ADVICE, str)
        assert {"count", "seed"} <= set(kind.TRIALS) and set(kind.GRID_TABLES) <= set(kind.GRID)
        assert list(inspect.signature(kind.check).parameters) == ["grid", "lists", "trials", "problems"]
        assert list(inspect.signature(kind.rows).parameters) == ["spec", "cell", "trials", "meta"]
        columns = [c for c, _ in kind.COLUMNS]
        assert all(t in (int, float, bool, str, tuple) for _, t in kind.COLUMNS), name
        assert len(set(columns)) == len(columns) and columns[:3] == ["sweep", "fingerprint", "cell"]
        assert {"trial", "seed"} <= set(columns) and tuple(columns[-len(provenance):]) == provenance
        assert store.COLUMNS[name] == tuple(columns)
        assert kind.SUMMARY_COLUMNS[0] == "cell"
        for spec in (s for s in shipped if s.kind == name):
            assert spec.plan is kind
            assert budget.cell_estimate(spec, spec.cells[0]).bytes > 0
    assert {s.kind for s in shipped} == set(kinds.KINDS)


def test_the_generic_modules_name_no_kind():
    """spec, runner, store (with its journal, files and locks) and summary read the kind's module: no
    kind name, no construction name and no test of ``.kind`` in their code (docstrings aside); the
    budget reads the kind by duck typing and never imports the experiments."""
    import ast
    from pathlib import Path

    from slth import constructions
    from slth.experiments import kinds

    src = Path(__file__).resolve().parents[1] / "src" / "slth"
    names = set(kinds.KINDS) | set(constructions.REGISTRY)
    for module in ("spec", "runner", "store", "summary", "journal", "files", "locks"):
        tree = ast.parse((src / "experiments" / f"{module}.py").read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                assert not any(n in node.value for n in names), (module, node.value)
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                assert not any(isinstance(s, ast.Attribute) and s.attr == "kind" for s in sides), module
    text = (src / "budget.py").read_text()
    assert "slth.experiments" not in "".join(line for line in text.splitlines(True) if "import" in line)
    sweeps = text[text.index("def cell_estimate"):text.rindex("__all__")]
    assert not any(f'"{n}"' in sweeps for n in names) and "_SWEEP_ADVICE" not in text


class Toy:
    """A sweep kind made in a test: nothing but this class is needed to spec, run, store and sum it up."""

    NAME, GRID, TRIALS, GRID_TABLES, BATCHED, ADVICE = "toy", ("x",), ("count", "seed"), (), True, "lower its x"
    COLUMNS = _shared.SWEEP + (("x", int),) + _shared.UNIT + (("y", float),) + _shared.PROVENANCE
    SUMMARY_COLUMNS = ("cell", "x", "trials", "y_mean")

    @staticmethod
    def check(grid, lists, trials, problems):
        xs = [checks.collect(problems, checks.integer, "[grid] x", v, low=1, high=9) for v in lists.get("x", [])]
        return {"x": xs}, {}

    @staticmethod
    def cells(axes, settings):
        for x in axes["x"]:
            yield f"x={x}", {"x": x}

    @staticmethod
    def rows(spec, cell, trials, meta):
        return [{**_shared.base_row(spec, cell, t), "x": cell.params["x"], "y": 0.5 * (spec.seed + t),
                 "wall_s": 0.0, **meta} for t in trials]

    @staticmethod
    def summary(spec, rows):
        table = [{"cell": k, "x": r[0]["x"], "trials": len(r), "y_mean": sum(x["y"] for x in r) / len(r)}
                 for k, r in _shared.group(rows).items()]
        return table, {"rows": len(rows)}, f"toy: {len(table)} cells"

    @staticmethod
    def estimate(spec, cell):
        return budget.Estimate("toy", (budget.Term("fixed", 1e6 * cell.params["x"]),))


def test_a_new_kind_is_one_module(tmp_path, monkeypatch):
    """A kind added to the table is specced, run, stored, read back, summed up and budgeted by the
    generic modules, none of which changes."""
    from slth.experiments import kinds, store

    monkeypatch.setitem(kinds.KINDS, "toy", Toy)
    with pytest.raises(InputError, match=r"\[grid\] x 12 must be an integer <= 9"):
        specs.parse({"kind": "toy", "grid": {"x": [1, 12]}, "trials": {"count": 2}}, name="bad")
    spec = specs.parse({"kind": "toy", "grid": {"x": [1, 2]}, "trials": {"count": 3, "seed": 4}}, name="toy")
    assert spec.plan is Toy and [c.key for c in spec.cells] == ["x=1", "x=2"]
    result = runner.run(spec, results=str(tmp_path), progress=False)
    assert result.computed == 6 and result.report.endswith("toy: 2 cells")
    rows = store.read_table(tmp_path / "toy")
    assert [(r["x"], r["trial"], r["y"]) for r in rows] == [(x, t, 0.5 * (4 + t)) for x in (1, 2) for t in range(3)]
    assert (tmp_path / "toy" / "summary.csv").read_text().splitlines() == [
        "cell,x,trials,y_mean", "x=1,1,3,2.5", "x=2,2,3,2.5"]
    monkeypatch.setenv(budget.LIMIT_VARIABLE, "1M")
    with pytest.raises(budget.BudgetError, match="cell 'x=2'.*lower its x in the spec"):
        budget.check_spec(spec)


#: sha256 (first 16 hex digits) of the coverage candidate lists of seeds 0, 3, ..., 117 at c = 9, drawn one seed
#: at a time by slth 4e5c5df (before the lists were drawn in one batch), per law and values.
COVERAGE_DIGESTS = {
    ("uniform", "products"): "fa3f8f8c2df0f594", ("uniform", "samples"): "2f7a74a59e9bb43b",
    ("gaussian", "products"): "981d8309d9e1fd3e", ("gaussian", "samples"): "fb2a077bf3db7b52",
    ("binary", "products"): "d77d76ae8124e792", ("binary", "samples"): "d77d76ae8124e792",
    ("binary-scaled", "products"): "fd41099eaa65656a", ("binary-scaled", "samples"): "92e330f93a7663b2",
    ("hyperbolic", "products"): "9a05b4fd20251f4c", ("hyperbolic", "samples"): "e83f313552d134b8",
}


def test_coverage_lists_drawn_in_one_batch_are_the_lists_drawn_one_by_one():
    """A coverage cell draws all its trials' candidate lists in one batch (the dispatching per trial was most
    of a large sweep's time): every law's lists are the bits slth drew one seed at a time, and a list drawn
    alone is its row of the batch."""
    import hashlib

    from slth import nets, precision
    from slth.experiments.kinds import coverage

    seeds = list(range(0, 120, 3))
    for (law, values), digest in COVERAGE_DIGESTS.items():
        lists = precision.run(coverage.candidate_lists, seeds, 9, law, values)
        assert hashlib.sha256(lists.tobytes()).hexdigest()[:16] == digest, (law, values)
    assert set(law for law, _ in COVERAGE_DIGESTS) == set(nets.DISTRIBUTIONS)
    alone = precision.run(coverage.candidates, 42, 9, "hyperbolic")
    lists = precision.run(coverage.candidate_lists, [41, 42, 43], 9, "hyperbolic")
    np.testing.assert_array_equal(alone.view(np.int64), lists[1].view(np.int64))
