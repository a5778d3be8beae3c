"""Neuron pruning versus weight pruning (docs/theory.md §4.4, §5.7): the relaxation sandwich, exactness of the
subset enumeration, the certificate as a sup bound, the L2 estimator, budgets, seeds and bad input."""

import dataclasses
import itertools
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from slth import constructions, measure, nets
from slth import separation as sep
from slth.errors import InputError
from slth.testing import count_compiles

#: False-alarm rate of the binomial check on interval coverage.
FALSE_ALARM = 1e-6
#: Round-off allowed between two float64 squared errors of the same sample (sums of n <= 1000 terms
#: of size <= 1, relative to the target's own mean square).
ROUNDOFF = 1e-12

SMALL = dict(n_train=300, n_test=300)


def _no_wall(row):
    return dataclasses.replace(row, wall_s=0.0)


def _mse(a, s, y):
    return float(np.mean((y - a @ s) ** 2))


def _brute_force(a, y):
    """Smallest squared error over all 2^h subsets, by itertools (the reference)."""
    h = a.shape[1]
    return min(_mse(a, np.isin(np.arange(h), sub).astype(float), y)
               for k in range(h + 1) for sub in itertools.combinations(range(h), k))


# --------------------------------------------------------------------------- the relaxation theorem

@st.composite
def tiny_cells(draw):
    """(d, c) with h = ⌊budget/(d+1)⌋ <= 12, so the exact neuron pruning runs."""
    d = draw(st.integers(1, 5))
    cs = [c for c in range(1, 4) if sep.matched_units(d, c)[1] <= 12]
    return d, draw(st.sampled_from(cs))


@given(cell=tiny_cells(), seed=st.integers(0, 2**31 - 1), inputs=st.sampled_from(sep.INPUTS))
def test_random_features_lower_bounds_exact_which_lower_bounds_greedy(cell, seed, inputs):
    """docs/theory.md §5.7 on the same random net and the same training sample: choosing any real output
    vector (random features) relaxes choosing a 0/1 mask over the fixed v_r (neuron pruning), whose
    exact optimum is at most what greedy forward selection reaches."""
    d, c = cell
    rows = {m: sep.row_for(m, d, c, inputs=inputs, seed=seed, **SMALL) for m in sep.NEURON_METHODS}
    scale = 1.0 / (2 * d)
    rf, exact, greedy = (rows[m].train_l2 ** 2 for m in ("random-features", "neuron-exact", "neuron-greedy"))
    assert rf <= exact + ROUNDOFF * scale, rows
    assert exact <= greedy + ROUNDOFF * scale, rows
    assert len({(r.hidden_units, r.params) for r in rows.values()}) == 1


@given(h=st.integers(1, 8), n=st.integers(1, 20), seed=st.integers(0, 2**31 - 1))
def test_exact_subset_matches_brute_force_and_bounds_greedy(h, n, seed):
    rng = np.random.default_rng(seed)
    a, y = rng.uniform(-1, 1, (n, h)), rng.uniform(-1, 1, n)
    exact = _mse(a, sep.exact_subset(a, y).astype(float), y)
    assert exact == pytest.approx(_brute_force(a, y), abs=ROUNDOFF)
    assert exact <= _mse(a, sep.greedy_subset(a, y).astype(float), y) + ROUNDOFF
    coef = sep.random_features(a, y)
    assert _mse(a, coef, y) <= exact + ROUNDOFF


def test_exact_and_greedy_on_a_hand_checked_case():
    """y = (1, 1) and columns (0.6, 0.6), (1, 0), (0, 1). Alone, the first column leaves 0.32 and the
    others 1, so greedy takes it; adding either other column then leaves 0.52, so greedy stops at
    0.32 (mean 0.16). The exact optimum is the other two columns, which hit y: error 0."""
    a = np.array([[0.6, 1.0, 0.0], [0.6, 0.0, 1.0]])
    y = np.array([1.0, 1.0])
    assert sep.greedy_subset(a, y).tolist() == [True, False, False]
    assert sep.exact_subset(a, y).tolist() == [False, True, True]
    assert _mse(a, np.array([1.0, 0, 0]), y) == pytest.approx(0.16, abs=1e-15)
    assert _brute_force(a, y) == 0.0


# --------------------------------------------------------------------------- weight pruning

@pytest.mark.parametrize("method", sep.WEIGHT_METHODS)
@pytest.mark.parametrize("inputs", sep.INPUTS)
@pytest.mark.parametrize("d, c", [(1, 2), (3, 1), (6, 3)])
def test_weight_pruning_sup_over_the_sample_is_below_its_certificate(method, inputs, d, c):
    """docs/theory.md §3: the certificate bounds sup_{‖x‖<=1} |f − g_S|; by homogeneity |f − g_S|/‖x‖ at any
    sample point is a value of that sup's objective."""
    row = sep.row_for(method, d, c, inputs=inputs, seed=7, **SMALL)
    assert row.sup_bound is not None
    assert row.sup_observed <= row.sup_bound + measure.ROUNDOFF, row


@pytest.mark.parametrize("method", sep.WEIGHT_METHODS)
def test_weight_pruning_in_the_bucket_is_the_narrow_ticket(method):
    """A row builds in the bucket's wider network with ``active=c``; its function and certificate are
    those of the ticket built directly in RandomSpec(candidates=c), bit for bit."""
    d, c, seed = 4, 3, 11
    row = sep.row_for(method, d, c, inputs="sphere", seed=seed, **SMALL)
    target = sep.single_neuron_target(d, seed=seed)
    ticket = constructions.build(method, target, sep.weight_spec(d, c, seed=seed))
    x = sep.sample_inputs("sphere", SMALL["n_test"], d, key=sep._keys(seed)["test"])
    res = np.maximum(x @ target[0][0], 0) - np.asarray(nets.forward(ticket.pruned, x))[:, 0]
    assert row.test_l2 == sep.l2_error(res).value
    assert row.sup_bound == measure.certificate(ticket.target, measure.pair_maps(ticket.random, ticket.masks))
    assert row.kept_params == ticket.kept_params()
    assert sep.weight_bucket(method, c) == 8


def test_a_second_candidate_count_in_the_same_bucket_does_not_recompile():
    sep.row_for("subset-sum", 5, 1, seed=2, **SMALL)
    with count_compiles() as n:
        sep.row_for("subset-sum", 5, 2, seed=2, **SMALL)
    assert n[0] == 0


# --------------------------------------------------------------------------- the L2 estimator

def test_l2_interval_covers_the_norm_of_the_target_at_the_nominal_rate():
    """g = 0 leaves the residual f, and ‖f‖_L2 = sqrt(1/(2d)) exactly under both input laws. Each 95%
    interval misses with probability about 5%, so over independent samples the misses stay under
    the binomial count that nominal coverage exceeds only with probability FALSE_ALARM."""
    trials, misses = 0, 0
    for inputs in sep.INPUTS:
        for d in (1, 3, 10):
            for seed in range(20):
                w = sep.single_neuron_target(d, seed=seed)[0][0]
                x = sep.sample_inputs(inputs, 2000, d, key=sep._keys(seed)["test"])
                est = sep.l2_error(np.maximum(x @ w, 0.0))
                assert est.low <= est.value <= est.high
                misses += not est.low <= sep.target_l2_norm(d) <= est.high
                trials += 1
    assert misses <= scipy.stats.binom.isf(FALSE_ALARM, trials, 1 - sep.CONFIDENCE), (misses, trials)


def test_l2_of_a_constant_residual_is_exact():
    est = sep.l2_error(np.full(50, -0.25))
    assert (est.value, est.low, est.high, est.n) == (0.25, 0.25, 0.25, 50)


def test_the_trivial_predictor_scores_relative_error_one_within_its_interval():
    d = 6
    w = sep.single_neuron_target(d, seed=0)[0][0]
    x = sep.sample_inputs("gaussian", 20000, d, key=sep._keys(0)["test"])
    est = sep.l2_error(np.maximum(x @ w, 0.0))
    assert est.low / sep.target_l2_norm(d) <= 1.0 <= est.high / sep.target_l2_norm(d)


# --------------------------------------------------------------------------- budgets and seeds

@pytest.mark.parametrize("d, c", [(1, 1), (2, 3), (7, 2), (16, 8)])
def test_budgets_match(d, c):
    budget, h = sep.matched_units(d, c)
    assert budget == nets.RandomSpec(dims=(d, 1, 1), candidates=c, seed=0).random_params()
    assert budget == 2 * c * d * (d + 1) + 4 * c
    assert h * (d + 1) <= budget < (h + 1) * (d + 1)


def test_rows_report_both_parameter_counts():
    d, c = 3, 2
    budget, h = sep.matched_units(d, c)
    for m in sep.METHODS:
        row = sep.row_for(m, d, c, seed=1, **SMALL)
        assert row.random_params == budget
        if m in sep.NEURON_METHODS:
            assert (row.params, row.hidden_units) == (h * (d + 1), h)
            assert row.kept_params % (d + 1) == 0
        else:
            assert (row.params, row.hidden_units) == (budget, 2 * c * d)
        assert row.relative == pytest.approx(row.test_l2 / math.sqrt(1 / (2 * d)), rel=1e-15)


def test_same_seed_same_rows_and_row_for_matches_the_sweep():
    kwargs = dict(inputs="sphere", seed=5, **SMALL)
    a = sep.separation((2, 3), (1, 2), exact_max_units=16, **kwargs)
    b = sep.separation((2, 3), (1, 2), exact_max_units=16, **kwargs)
    assert [_no_wall(r) for r in a.rows] == [_no_wall(r) for r in b.rows]
    assert {r.method for r in a.rows} == set(sep.METHODS)
    for r in a.rows:
        assert _no_wall(sep.row_for(r.method, r.d, r.candidates, **kwargs)) == _no_wall(r)
    other = sep.separation((2,), (1,), methods=("random-features",), inputs="sphere", seed=6, **SMALL)
    assert other.rows[0].test_l2 != a.rows[0].test_l2


def test_wider_neuron_networks_extend_narrower_ones():
    u, v = sep.neuron_network(3, 150, seed=4)
    for h in (1, 64, 65, 130):
        uh, vh = sep.neuron_network(3, h, seed=4)
        assert np.array_equal(uh, u[:h]) and np.array_equal(vh, v[:h])
    assert np.all(np.abs(u) <= 1) and np.all(np.abs(v) <= 1)


def test_exact_rows_only_up_to_exact_max_units():
    report = sep.separation((2, 4), (1, 2), exact_max_units=9, **SMALL)
    exact = [(r.d, r.hidden_units) for r in report.rows if r.method == "neuron-exact"]
    assert exact == [(2, 5), (4, 8)]


def test_report_json_and_text():
    report = sep.separation((1, 2), (1, 2), **SMALL)
    blob = json.loads(json.dumps(report.to_json()))
    assert blob["experiment"] == "separation" and len(blob["rows"]) == len(report.rows)
    assert {"git_revision", "versions", "device", "interval"} <= set(blob)
    text = sep.format_report(report)
    for m in sep.METHODS:
        assert m in text
    rf = [r for r in report.rows if r.method == "random-features" and r.candidates == 2]
    assert f"d=1 (c=2): {rf[0].relative:.3f}, d=2 (c=2): {rf[1].relative:.3f}" in text


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, fragment", [
    (dict(d_values=(0,)), "d 0"),
    (dict(d_values=(float("nan"),)), "d nan"),
    (dict(d_values=(2.5,)), "d 2.5"),
    (dict(candidates=(0,)), "candidates c 0"),
    (dict(candidates=(100,), methods=("subset-sum",)), "candidates c 100"),
    (dict(inputs="uniform"), "'uniform'"),
    (dict(methods=("neuron-magic",)), "'neuron-magic'"),
    (dict(methods=()), "methods is empty"),
    (dict(n_train=10), "n_train 10"),
    (dict(n_test=1), "n_test 1"),
    (dict(seed=-1), "seed -1"),
    (dict(exact_max_units=17), "exact_max_units 17"),
    (dict(distribution="cauchy"), "'cauchy'"),
])
def test_bad_input_is_rejected_naming_the_value(kwargs, fragment):
    args = dict(d_values=(2, 16), candidates=(1, 8), n_train=500, n_test=100) | kwargs
    with pytest.raises(InputError, match=fragment.replace("(", r"\(")):
        sep.separation(args.pop("d_values"), args.pop("candidates"), **args)


def test_row_for_rejects_an_exact_enumeration_that_is_too_wide():
    with pytest.raises(InputError, match="h = 21"):
        sep.row_for("neuron-exact", 2, 4, **SMALL)
    with pytest.raises(InputError, match="'gaussian-ish'"):
        sep.row_for("random-features", 2, 1, inputs="gaussian-ish", **SMALL)


def test_float64_is_scoped_without_the_global_switch():
    """The comparison and the certificate are float64 (STYLE §4): without x64 the call switches it on for
    itself (slth.precision), gives the row of a run with x64 on, and leaves it off."""
    code = ("import dataclasses, json, jax\nimport slth.separation as s\n"
            "r = s.row_for('random-features', 2, 1, n_train=300, n_test=300)\n"
            "print(json.dumps([dataclasses.replace(r, wall_s=0.0).to_json(), jax.config.jax_enable_x64]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}).stdout
    row, x64 = json.loads(out)
    assert x64 is False
    assert row == json.loads(json.dumps(_no_wall(sep.row_for("random-features", 2, 1, **SMALL)).to_json()))


# --------------------------------------------------------------------------- one study, one entry path

def test_slth_separation_is_the_studies_package():
    """``slth.separation`` is an alias that IS ``slth.studies.separation``, not a copy."""
    import slth.separation
    import slth.studies.separation

    assert slth.separation is slth.studies.separation is sys.modules["slth.separation"] is sep
    assert sep.row_for is slth.studies.separation.study.row_for
    assert sep.sweep_summary is slth.studies.separation.report.sweep_summary


def test_sweep_summary_of_the_cli_rows():
    """The sweep's one aggregation, fed :func:`separation`'s rows as one-trial cells, keeps every row's
    relative error exactly and its certificate as the median."""
    report = sep.separation((2,), (1, 2), **SMALL)
    rows = [{**{k: v for k, v in r.to_json().items() if k != "candidates"}, "c": r.candidates,
             "cell": f"{r.method} d={r.d} c={r.candidates}"} for r in report.rows]
    table, fitted, text = sep.sweep_summary(rows)
    assert fitted == {} and [tuple(t) for t in table] == [sep.SUMMARY_COLUMNS] * len(report.rows)
    for t, r in zip(table, report.rows):
        assert (t["method"], t["d"], t["c"], t["trials"]) == (r.method, r.d, r.candidates, 1)
        assert t["relative_mean"] == t["relative_min"] == t["relative_max"] == r.relative
        assert t["sup_bound_median"] == r.sup_bound
    assert f"{report.rows[0].relative:.3f}" in text
    with pytest.raises(InputError, match="no rows"):
        sep.sweep_summary([])


def test_studies_import_no_higher_layer():
    code = ("import sys, slth.studies.separation, slth.studies.digits, slth.separation, slth.digits, slth.data\n"
            "print([m for m in sys.modules if m.split('.')[:2] in (['slth', 'experiments'], ['slth', 'cli'], "
            "['slth', 'budget'], ['slth', 'plotting'], ['slth', 'figures'])])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_study_modules_have_one_job_and_stay_small():
    import pathlib

    import slth.studies

    files = sorted(pathlib.Path(slth.studies.__file__).parent.rglob("*.py"))
    assert len(files) >= 14
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith('"""'), path
        assert text.count("\n") <= 450, path
