"""Fitting hidden constants and exponents: exact recovery on synthetic widths, bootstrap intervals
that cover the truth under noise, infinite quantiles, determinism and bad input."""

import math
import re

import numpy as np
import pytest
import scipy.stats

from slth.errors import InputError
from slth.measure import fit
from slth.measure.width import quantile_width

#: False-alarm rate of the binomial checks on resample counts.
FALSE_ALARM = 1e-6

RESAMPLES = 200


def pensia_x(dims, eps, delta):
    """The regressor of fit_log_constant, written out from Pensia et al.'s Theorem 1."""
    l = len(dims) - 1
    return math.log(max(dims[i - 1] * dims[i] for i in range(1, l + 1)) * l / min(eps, delta))


def law_cells(A, alpha, beta, gamma, *, trials=3, grid=((2, 4, 8), (1, 2, 3), (0.5, 0.25, 0.2))):
    """Cells of width-d, depth-l targets whose every trial has width round(A d^α l^β (1/ε)^γ)."""
    cells = []
    for d in grid[0]:
        for l in grid[1]:
            for eps in grid[2]:
                c = round(A * d ** alpha * l ** beta * (1 / eps) ** gamma)
                cells.append(fit.Cell(f"d{d}-l{l}-e{eps}", (d,) * (l + 1), eps, 0.1, (c,) * trials))
    return cells


def noisy_cells(*, seed, trials=30, sigma=0.2):
    """Per-trial widths round(3 d² l (1/ε) e^{σ z}), z standard normal: the (1 − δ) quantile is the
    law times a per-cell factor near e^{σ z_{1−δ}}, which only shifts ln A."""
    rng = np.random.default_rng(seed)
    cells = []
    for d in (2, 4, 8):
        for l in (1, 2, 3):
            for eps in (0.5, 0.25):
                law = 3 * d * d * l / eps
                noisy = np.round(law * np.exp(sigma * rng.standard_normal(trials)))
                widths = tuple(int(w) for w in np.maximum(1, noisy))
                cells.append(fit.Cell(f"d{d}-l{l}-e{eps}", (d,) * (l + 1), eps, 0.2, widths))
    return cells


def test_cells_from_rows_groups_in_order_and_ignores_other_keys():
    rows = [
        {"cell": "b", "dims": [3, 3], "eps": 0.1, "delta": 0.2, "certified": 4, "optimistic": 2, "seed": 0},
        {"cell": "a", "dims": (2, 2, 2), "eps": 0.1, "delta": 0.2, "certified": None, "optimistic": 1},
        {"cell": "b", "dims": (3, 3), "eps": 0.1, "delta": 0.2, "certified": 5, "optimistic": 3, "x": "y"},
    ]
    cells = fit.cells_from_rows(rows)
    assert [c.cell for c in cells] == ["b", "a"]
    assert cells[0] == fit.Cell("b", (3, 3), 0.1, 0.2, (4, 5))
    assert cells[1].widths == (None,) and cells[1].depth == 2
    assert [c.widths for c in fit.cells_from_rows(iter(rows), which="optimistic")] == [(2, 3), (1,)]


@pytest.mark.parametrize("field, value", [("dims", (3, 4)), ("eps", 0.3), ("delta", 0.5)])
def test_cells_from_rows_rejects_rows_of_one_cell_that_disagree(field, value):
    row = {"cell": "a", "dims": (3, 3), "eps": 0.1, "delta": 0.2, "certified": 4}
    with pytest.raises(InputError, match=re.escape(f"cell 'a' has {field} {value!r}")):
        fit.cells_from_rows([row, row | {field: value}])


def test_log_constant_recovers_an_exact_constant():
    """Widths exactly round(C x) in every trial: the estimates are the closed forms Σcx/Σx² and
    max c/x, every resample equals the data, so both intervals collapse onto the estimates."""
    C = 1.7
    settings = [((4, 4, 4), 0.01, 0.1), ((8, 16, 4), 0.05, 0.02), ((2, 2), 0.3, 0.3), ((16,) * 4, 0.1, 0.1)]
    xs = [pensia_x(*s) for s in settings]
    cs = [round(C * x) for x in xs]
    cells = [fit.Cell(f"c{i}", *s, (c,) * 5) for i, (s, c) in enumerate(zip(settings, cs))]
    result = fit.fit_log_constant(cells, n_resamples=RESAMPLES, confidence=0.9)
    by_hand = sum(c * x for c, x in zip(cs, xs)) / sum(x * x for x in xs)
    assert result.C.estimate == pytest.approx(by_hand, rel=1e-14)
    assert abs(result.C.estimate - C) <= 0.5 / min(xs)
    assert result.C_cover.estimate == pytest.approx(max(c / x for c, x in zip(cs, xs)), rel=1e-14)
    for interval in (result.C, result.C_cover):
        assert interval.low == interval.high == interval.estimate
        assert interval.confidence == 0.9
    assert result.points == tuple((f"c{i}", pytest.approx(x, rel=1e-14), c)
                                  for i, (x, c) in enumerate(zip(xs, cs)))
    assert (result.n_cells, result.n_resamples, result.undefined_fraction) == (4, RESAMPLES, 0.0)
    assert result.summary().splitlines()[1] == f"(90% bootstrap, {RESAMPLES} resamples, 4 cells)"
    assert result.summary().startswith(f"C = {result.C.estimate:.4g} [")


@pytest.mark.parametrize("A, alpha, beta, gamma, tol", [
    (3, 2, 1, 1, 1e-9),          # integer widths: the law holds exactly
    (1000, 1.5, 0.5, 0.5, 2e-3),  # rounding to integers moves ln c by at most 0.5 / c <= 3e-4
])
def test_power_law_recovers_exact_exponents(A, alpha, beta, gamma, tol):
    result = fit.fit_power_law(law_cells(A, alpha, beta, gamma), n_resamples=RESAMPLES)
    assert result.variables == ("d", "l", "inv_eps")
    for name, truth in zip(result.variables, (alpha, beta, gamma)):
        interval = result.exponents[name]
        assert interval.estimate == pytest.approx(truth, abs=tol)
        assert interval.low == pytest.approx(interval.estimate, abs=1e-12)
        assert interval.high == pytest.approx(interval.estimate, abs=1e-12)
    assert result.A.estimate == pytest.approx(A, rel=5 * tol)
    assert result.points[0] == ("d2-l1-e0.5", (2.0, 1.0, 2.0), round(A * 2 ** alpha * 2 ** gamma))
    assert "(95% bootstrap, 200 resamples, 27 cells)" in result.summary()


def test_power_law_intervals_cover_the_true_exponents_under_noise():
    """Noisy trials around c = 3 d² l (1/ε), on independent data sets: a 95% interval misses its
    exponent with probability about 5%, so over the data sets the misses of each exponent stay under
    the binomial count that nominal coverage exceeds only with probability FALSE_ALARM."""
    n_sets = 60
    misses = {"d": 0, "l": 0, "inv_eps": 0}
    for s in range(n_sets):
        result = fit.fit_power_law(noisy_cells(seed=100 + s), n_resamples=RESAMPLES, seed=s)
        assert result.undefined_fraction == 0.0
        for name, truth in (("d", 2), ("l", 1), ("inv_eps", 1)):
            interval = result.exponents[name]
            misses[name] += not interval.low <= truth <= interval.high
            assert interval.high - interval.low < 0.5, (name, interval)
    bound = scipy.stats.binom.isf(FALSE_ALARM, n_sets, 0.05)
    assert all(m <= bound for m in misses.values()), (misses, bound)


def test_power_law_fits_only_the_variables_that_vary():
    cells = [fit.Cell(f"d{d}", (d, d, d), 0.1, 0.1, (d * d,) * 2) for d in (2, 3, 5)]
    result = fit.fit_power_law(cells, n_resamples=RESAMPLES)
    assert result.variables == ("d",) and list(result.exponents) == ["d"]
    assert result.exponents["d"].estimate == pytest.approx(2, abs=1e-12)
    assert result.A.estimate == pytest.approx(1, abs=1e-12)
    with_delta = fit.fit_power_law(
        [fit.Cell(f"d{d}-{delta}", (d, d), 0.1, delta, (d * d,) * 2)
         for d in (2, 3, 5) for delta in (0.1, 0.01)],
        variables=("d", "log_inv_delta"), n_resamples=RESAMPLES)
    assert with_delta.exponents["log_inv_delta"].estimate == pytest.approx(0, abs=1e-9)


def shallow(*ds):
    """Depth-1 cells of widths d with ε, δ fixed, so only d varies."""
    return [fit.Cell(f"d{d}", (d, d), 0.1, 0.1, (d,)) for d in ds]


@pytest.mark.parametrize("cells, variables, fragment", [
    (shallow(2, 3), None, r"needs more than 2 distinct cells .* got 2 from 2 cells"),
    ([fit.Cell(f"c{i}", (4, 4), 0.1, 0.1, (4,)) for i in range(5)], None, "none of .* takes two distinct"),
    (shallow(2, 3, 5), ("d", "l"), "needs more than 3 distinct"),
    (shallow(2, 3, 5, 7), ("d", "l"), r"'l' takes one value \(1\)"),
    # d = l² makes ln d = 2 ln l: enough distinct cells, but a rank-deficient design.
    ([fit.Cell(f"l{l}", (l * l,) * (l + 1), 0.1, 0.1, (l,)) for l in (1, 2, 3, 4)], ("d", "l"),
     "move together"),
])
def test_power_law_rejects_too_few_cells_and_singular_designs(cells, variables, fragment):
    with pytest.raises(InputError, match=fragment):
        fit.fit_power_law(cells, variables=variables, n_resamples=RESAMPLES)


def test_a_cell_with_infinite_measured_width_is_named():
    cells = [fit.Cell("fine", (4, 4), 0.1, 0.1, (5, 6)),
             fit.Cell("short", (8, 8), 0.1, 0.25, (5, None, None))]
    for fitter in (fit.fit_log_constant, fit.fit_power_law):
        with pytest.raises(InputError, match=r"cell 'short': only 1 of 3 trials .* c_max was too small"):
            fitter(cells, n_resamples=RESAMPLES)


def test_resamples_with_an_infinite_quantile_are_counted_and_left_out():
    """Cell 'edge' has widths (3, 3, 3, None) and δ = 1/4: its quantile is the 3rd smallest, finite
    for the data, infinite in a resample that draws None twice or more, which happens with
    probability p = 1 − (3/4)⁴ − 4 (1/4)(3/4)³."""
    cells = [fit.Cell("edge", (4, 4), 0.1, 0.25, (3, 3, 3, None)),
             fit.Cell("full", (8, 8, 8), 0.05, 0.25, (7, 8, 9, 7))]
    result = fit.fit_log_constant(cells, n_resamples=RESAMPLES)
    p = 1 - 0.75 ** 4 - 4 * 0.25 * 0.75 ** 3
    low, high = scipy.stats.binom.interval(1 - FALSE_ALARM, RESAMPLES, p)
    assert low <= result.undefined_fraction * RESAMPLES <= high
    assert math.isfinite(result.C.low) and math.isfinite(result.C.high)
    assert "resamples undefined" in result.summary()
    # Four such cells: a resample is defined only if all four are, (1 − p)⁴ ≈ 0.30 < 1/2.
    many = [fit.Cell(f"edge{i}", (4 + i, 4), 0.1, 0.25, (3, 3, 3, None)) for i in range(4)]
    with pytest.raises(InputError, match=r"% of the 200 bootstrap resamples .* larger c_max"):
        fit.fit_log_constant(many, n_resamples=RESAMPLES)


def test_resampled_quantiles_are_quantile_width_of_stratified_resamples():
    """Reference: redraw each cell's trials with the same generator, in cell order, and take
    quantile_width of every resample in plain Python."""
    cells = [fit.Cell("a", (4, 4), 0.1, 0.25, (3, 5, 4, None, 6)), fit.Cell("b", (2, 2), 0.1, 0.5, (1, 2, 9))]
    widths, defined = fit._bootstrap_widths(cells, 50, seed=7)
    rng = np.random.default_rng(7)
    for i, cell in enumerate(cells):
        draws = rng.integers(0, len(cell.widths), size=(50, len(cell.widths)))
        expected = [quantile_width(cell.widths, cell.delta)[0]]
        expected += [quantile_width([cell.widths[j] for j in row], cell.delta)[0] for row in draws]
        assert widths[i].tolist() == [math.inf if w is None else w for w in expected]
    assert defined.tolist() == np.isfinite(widths).all(axis=0).tolist()


@pytest.mark.parametrize("fitter", [fit.fit_log_constant, fit.fit_power_law])
def test_same_seed_same_bits_other_seed_other_interval(fitter):
    cells = noisy_cells(seed=3, trials=8)
    a = fitter(cells, n_resamples=RESAMPLES, seed=5)
    assert fitter(cells, n_resamples=RESAMPLES, seed=5) == a
    b = fitter(cells, n_resamples=RESAMPLES, seed=6)
    assert b != a
    first = (lambda r: r.C) if fitter is fit.fit_log_constant else (lambda r: r.exponents["d"])
    assert first(b).estimate == first(a).estimate
    assert (first(b).low, first(b).high) != (first(a).low, first(a).high)


GOOD = fit.Cell("a", (4, 4), 0.1, 0.1, (3, 4))
ROW = {"cell": "a", "dims": (4, 4), "eps": 0.1, "delta": 0.1, "certified": 3}


@pytest.mark.parametrize("call, fragment", [
    (lambda: fit.cells_from_rows([]), "table is empty"),
    (lambda: fit.cells_from_rows([ROW], which="best"), "which 'best' must be one of"),
    (lambda: fit.cells_from_rows([ROW | {"certified": 3.5}]), "width 3.5 must be a positive integer or None"),
    (lambda: fit.cells_from_rows([ROW | {"certified": 0}]), "width 0 must be a positive integer"),
    (lambda: fit.cells_from_rows([{"cell": "a", "dims": (4, 4)}]),
     r"row 0 lacks \['eps', 'delta', 'certified'\]"),
    (lambda: fit.cells_from_rows([ROW | {"eps": 1.0}]), "eps 1.0 must be a number in"),
    (lambda: fit.cells_from_rows([ROW | {"dims": (4,)}]), r"dims \(4,\) must be a sequence of at least two"),
    (lambda: fit.Cell("a", (4, 4), 0.1, 0.1, (3, 2.0)), "width 2.0 must be a positive integer"),
    (lambda: fit.fit_log_constant([]), "none given"),
    (lambda: fit.fit_log_constant([GOOD, GOOD]), r"ids \['a'\] occur more than once"),
    (lambda: fit.fit_log_constant([ROW]), "is not a Cell"),
    (lambda: fit.fit_log_constant([GOOD], confidence=1.0), r"confidence 1.0 must be a number in \(0, 1\)"),
    (lambda: fit.fit_log_constant([GOOD], confidence=0), r"confidence 0 must be a number in \(0, 1\)"),
    (lambda: fit.fit_log_constant([GOOD], n_resamples=0), "n_resamples 0 must be an integer >= 1"),
    (lambda: fit.fit_log_constant([GOOD], n_resamples=10.0), "n_resamples 10.0 must be an integer"),
    (lambda: fit.fit_power_law([GOOD], seed=-1), "seed -1 must be an integer >= 0"),
    (lambda: fit.fit_power_law([GOOD], variables=("d", "depth")),
     r"variables \('d', 'depth'\) must be distinct"),
    (lambda: fit.fit_power_law([GOOD], variables="d"), "variables 'd' must be a sequence"),
])
def test_bad_input_is_named(call, fragment):
    with pytest.raises(InputError, match=fragment):
        call()
