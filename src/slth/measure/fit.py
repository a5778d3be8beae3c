"""Fit the constants and exponents that the width theorems hide in O(·), with bootstrap intervals.

Input is a table of per-trial widths (one row per random network, as ``slth sweep`` writes them),
grouped into grid cells that share a construction, target widths, ε and δ. A cell's measured width
is the (1 − δ) quantile of its trials (:func:`slth.measure.width.quantile_width`). Two fits:

* :func:`fit_log_constant`, the logarithmic form of Pensia et al. 2020, Theorem 1:
  c = C · ln(d_{i-1} d_i l / min(ε, δ)). It reports the least-squares C and ``C_cover``, the
  smallest C for which the form covers every measured width.
* :func:`fit_power_law`, the polynomial form of Malach et al. 2020, Theorem 2.1 (d⁴ l² in Pensia et
  al.'s reading): log c = log A + α log d + β log l + γ log(1/ε) [+ log ln(1/δ)], by least squares.

Uncertainty comes from a stratified percentile bootstrap: every resample redraws each cell's trials
with replacement (independently per cell), recomputes every cell's quantile and refits. A resample
in which some cell's quantile is infinite (too few trials reached ε within c_max) has no fit; such
resamples are counted in ``undefined_fraction`` and the interval is taken over the defined ones, so
it is conditional on the quantile being finite. More than :data:`MAX_UNDEFINED` undefined is an
error: the measurement is then too close to c_max for an interval to mean anything.

Everything here is NumPy: the same seed gives the same bits.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from slth.bounds import pensia_log_term
from slth import checks
from slth.errors import InputError
from slth.measure.width import quantile_width

#: The per-trial widths a table can be fit on.
WHICH = ("certified", "optimistic")

#: Power-law variables: d = max(dims), l = depth, inv_eps = 1/ε, log_inv_delta = ln(1/δ).
VARIABLES = ("d", "l", "inv_eps", "log_inv_delta")

#: Variables :func:`fit_power_law` considers when ``variables`` is None (those that vary are used).
AUTO_VARIABLES = ("d", "l", "inv_eps")

#: Largest fraction of bootstrap resamples allowed to have an infinite cell quantile.
MAX_UNDEFINED = 0.5

_ROW_KEYS = ("cell", "dims", "eps", "delta")


@dataclasses.dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval [low, high] at ``confidence``.

    The percentile interval is not forced to contain the estimate; with all resamples equal it
    collapses to low == high == estimate.
    """

    estimate: float
    low: float
    high: float
    confidence: float

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}]"


@dataclasses.dataclass(frozen=True)
class Cell:
    """One grid cell: its target widths, ε, δ and the per-trial widths (None: not reached).

    Construction checks and normalises every field, so a fit never meets a malformed cell.

    Attributes:
      cell: the cell's id. dims: target widths d_0..d_l, l >= 1. eps, delta: in (0, 1).
      widths: per-trial widths, each a positive integer or None (c_max did not reach ε).
    """

    cell: str
    dims: tuple
    eps: float
    delta: float
    widths: tuple

    def __post_init__(self):
        dims = self.dims
        if (isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or len(dims) < 2
                or not all(_is_int(d) and d >= 1 for d in dims)):
            raise InputError(f"cell {self.cell!r}: dims {dims!r} must be a sequence of at least two "
                             "positive integers d_0..d_l")
        for name in ("eps", "delta"):
            value = getattr(self, name)
            checks.open_unit(f"cell {self.cell!r}: {name}", value)
        widths = self.widths
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
            raise InputError(f"cell {self.cell!r}: widths {widths!r} must be a non-empty sequence")
        for w in widths:
            if w is not None and not (_is_int(w) and w >= 1):
                raise InputError(f"cell {self.cell!r}: width {w!r} must be a positive integer or None")
        object.__setattr__(self, "dims", tuple(int(d) for d in dims))
        object.__setattr__(self, "eps", float(self.eps))
        object.__setattr__(self, "delta", float(self.delta))
        object.__setattr__(self, "widths", tuple(None if w is None else int(w) for w in widths))

    @property
    def depth(self) -> int:
        """Target depth l."""
        return len(self.dims) - 1


@dataclasses.dataclass(frozen=True)
class LogConstantFit:
    """The constant of c = C · x, x = ln(max_i(d_{i-1} d_i) · l / min(ε, δ)), with intervals.

    Attributes:
      C: least squares through the origin, Σ c x / Σ x². C_cover: max over cells of c / x.
      points: (cell, x, c) per cell, c the measured (1 − δ)-quantile width.
      n_cells: number of cells. n_resamples, seed: of the bootstrap.
      undefined_fraction: fraction of resamples with an infinite cell quantile, left out of the
        intervals.
    """

    C: Interval
    C_cover: Interval
    points: tuple
    n_cells: int
    n_resamples: int
    seed: int
    undefined_fraction: float

    def summary(self) -> str:
        """Two lines: C and C_cover with their intervals and what the intervals are from."""
        return f"C = {self.C}, C_cover = {self.C_cover}\n({_provenance(self)})"


@dataclasses.dataclass(frozen=True)
class PowerLawFit:
    """The power law c = A · Π_v v^{α_v} fit by least squares in log space, with intervals.

    Attributes:
      A: the prefactor. exponents: {variable: Interval} in the order of ``variables``.
      variables: the fitted variables, names from :data:`VARIABLES`.
      points: (cell, values, c) per cell: ``values`` the variables' values (d, l, 1/ε, ln(1/δ) as
        chosen), c the measured (1 − δ)-quantile width.
      n_cells, n_resamples, seed, undefined_fraction: as in :class:`LogConstantFit`.
    """

    A: Interval
    exponents: dict
    variables: tuple
    points: tuple
    n_cells: int
    n_resamples: int
    seed: int
    undefined_fraction: float

    def summary(self) -> str:
        """Two lines: the law with its estimates and intervals, and what the intervals are from."""
        terms = "".join(f" · {_SYMBOLS[v]}^{self.exponents[v].estimate:.3g}" for v in self.variables)
        parts = [f"A = {self.A}"] + [f"{v}: {self.exponents[v]}" for v in self.variables]
        return f"c = {self.A.estimate:.4g}{terms}; " + ", ".join(parts) + f"\n({_provenance(self)})"


_SYMBOLS = {"d": "d", "l": "l", "inv_eps": "(1/ε)", "log_inv_delta": "ln(1/δ)"}


def cells_from_rows(rows: Iterable[Mapping], *, which: str = "certified") -> list[Cell]:
    """Group a table of per-trial rows into :class:`Cell` s, in order of first appearance.

    Args:
      rows: mappings with at least ``cell`` (str), ``dims`` (ints d_0..d_l), ``eps`` and ``delta``
        (in (0, 1)) and ``which`` (a positive int, or None where c_max did not reach ε); other keys
        are ignored. Rows of one cell must agree on dims, eps and delta.
      which: ``"certified"`` (certificate <= ε) or ``"optimistic"`` (adversarial lower bound <= ε).
    Returns:
      One Cell per distinct ``cell`` id.
    """
    if which not in WHICH:
        raise InputError(f"which {which!r} must be one of {WHICH}")
    groups: dict[str, dict] = {}
    for n, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InputError(f"row {n} {row!r} must be a mapping")
        missing = [k for k in (*_ROW_KEYS, which) if k not in row]
        if missing:
            raise InputError(f"row {n} lacks {missing}; every row needs {[*_ROW_KEYS, which]}")
        key = row["cell"]
        if not isinstance(key, str):
            raise InputError(f"row {n}: cell {key!r} must be a string")
        dims = row["dims"]
        if isinstance(dims, Iterable) and not isinstance(dims, (str, bytes)):
            dims = tuple(dims)
        setting = {"dims": dims, "eps": row["eps"], "delta": row["delta"]}
        group = groups.setdefault(key, {"setting": setting, "widths": []})
        for name, value in setting.items():
            if value != group["setting"][name]:
                raise InputError(f"row {n}: cell {key!r} has {name} {value!r}, but its earlier rows have "
                                 f"{group['setting'][name]!r}; one cell's rows must share dims, eps, delta")
        group["widths"].append(row[which])
    if not groups:
        raise InputError("rows: the table is empty; at least one row is needed")
    return [Cell(key, widths=tuple(g["widths"]), **g["setting"]) for key, g in groups.items()]


def fit_log_constant(cells: Sequence[Cell], *, n_resamples: int = 1000, confidence: float = 0.95,
                     seed: int = 0) -> LogConstantFit:
    """Fit the constant C of Pensia et al.'s logarithmic width to measured widths:

        c ≈ C · x,        x = ln(max_i(d_{i-1} d_i) · l / min(ε, δ)),

    natural logarithm, l = len(dims) − 1. The theorem gives each pair its own
    c_i = C ln(d_{i-1} d_i l / min(ε, δ)); slth's layout uses one c for all pairs, so the binding
    pair (the largest product) sets x. Two constants:

        C = Σ c x / Σ x²        (least squares through the origin),
        C_cover = max c / x     (the smallest C with C · x >= c in every cell),

    each with a stratified percentile bootstrap interval (module docstring).

    References: Pensia, Rajput, Nagle, Vishwakarma, Papailiopoulos, "Optimal Lottery Tickets via
    SubsetSum: Logarithmic Over-Parameterization is Sufficient", NeurIPS 2020, Theorem 1.

    Args:
      cells: one or more :class:`Cell` s with distinct ids (e.g. from :func:`cells_from_rows`).
      n_resamples: bootstrap resamples, >= 1. confidence: interval level in (0, 1).
      seed: seed of the bootstrap's NumPy generator, >= 0.
    Returns:
      A :class:`LogConstantFit`.
    Raises:
      InputError: bad arguments; a cell whose measured quantile is infinite (c_max too small); more
        than :data:`MAX_UNDEFINED` of the resamples undefined.
    """
    cells = _check_fit_args(cells, n_resamples, confidence, seed)
    x = np.array([pensia_log_term(c.dims, c.eps, c.delta) for c in cells])
    widths, defined = _bootstrap_widths(cells, n_resamples, seed)
    # Column 0 (the data) goes through the same array operations as the resamples, so a bootstrap
    # whose resamples all equal the data reproduces the estimate bit for bit.
    lsq = (widths * x[:, None]).sum(axis=0) / (x * x).sum()
    cover = (widths / x[:, None]).max(axis=0)
    return LogConstantFit(
        C=_interval(lsq, defined, confidence), C_cover=_interval(cover, defined, confidence),
        points=tuple((c.cell, float(xi), int(w)) for c, xi, w in zip(cells, x, widths[:, 0])),
        n_cells=len(cells), n_resamples=n_resamples, seed=seed,
        undefined_fraction=_undefined_fraction(defined))


def fit_power_law(cells: Sequence[Cell], *, variables: Sequence[str] | None = None,
                  n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> PowerLawFit:
    """Fit the exponents of a polynomial width to measured widths, by least squares in log space:

        ln c = ln A + α ln d + β ln l + γ ln(1/ε) [+ η ln ln(1/δ)],

    d = max(dims), l = depth (``numpy.linalg.lstsq``), with a stratified percentile bootstrap
    interval for A and each exponent (module docstring). Malach et al.'s Theorem 2.1 has this form;
    Pensia et al. read it as d⁴ l² (with 1/ε² per weight for selection, see
    :func:`slth.bounds.malach_width`), which is what the exponents are to be compared with.

    References: Malach, Yehudai, Shalev-Shwartz, Shamir, "Proving the Lottery Ticket Hypothesis:
    Pruning is All You Need", ICML 2020, Theorem 2.1; Pensia et al. 2020, §1 (the d⁴ l² reading).

    Args:
      cells: :class:`Cell` s with distinct ids; strictly more distinct points (distinct values of
        the variables) than parameters (1 + number of variables), and variables that do not move
        together across the cells.
      variables: names from :data:`VARIABLES`. None: every one of :data:`AUTO_VARIABLES` that takes
        at least two distinct values across the cells (a constant one makes the fit singular).
      n_resamples: bootstrap resamples, >= 1. confidence: interval level in (0, 1).
      seed: seed of the bootstrap's NumPy generator, >= 0.
    Returns:
      A :class:`PowerLawFit`.
    Raises:
      InputError: bad arguments; too few distinct cells or a singular design; a cell whose measured
        quantile is infinite (c_max too small); more than :data:`MAX_UNDEFINED` resamples undefined.
    """
    cells = _check_fit_args(cells, n_resamples, confidence, seed)
    values = {v: np.array([_variable(v, c) for c in cells]) for v in VARIABLES}
    if variables is None:
        variables = tuple(v for v in AUTO_VARIABLES if len(set(values[v].tolist())) >= 2)
        if not variables:
            raise InputError(f"none of {AUTO_VARIABLES} takes two distinct values across the "
                             f"{len(cells)} cells, so there is no exponent to fit")
    else:
        if isinstance(variables, (str, bytes)) or not isinstance(variables, Sequence):
            raise InputError(f"variables {variables!r} must be a sequence of names from {VARIABLES}")
        unknown = [v for v in variables if v not in VARIABLES]
        if unknown or len(set(variables)) != len(variables):
            raise InputError(f"variables {tuple(variables)!r} must be distinct names from {VARIABLES}")
        variables = tuple(variables)
    design = np.column_stack([np.ones(len(cells))] + [np.log(values[v]) for v in variables])
    n_params = design.shape[1]
    n_distinct = len({tuple(row) for row in design.tolist()})
    if n_distinct <= n_params:
        raise InputError(
            f"a power law in {variables} has {n_params} parameters (ln A and {n_params - 1} exponents) "
            f"and needs more than {n_params} distinct cells (distinct values of {variables}); "
            f"got {n_distinct} from {len(cells)} cells")
    for v in variables:
        if len(set(values[v].tolist())) < 2:
            raise InputError(f"variable {v!r} takes one value ({values[v][0]:g}) across the cells, so its "
                             "exponent cannot be told from ln A and the fit is singular; leave it out")
    if np.linalg.matrix_rank(design) < n_params:
        raise InputError(f"variables {variables} move together across the cells, so the power-law fit "
                         "is singular; fit fewer variables or add cells that vary them independently")
    widths, defined = _bootstrap_widths(cells, n_resamples, seed)
    # Undefined resamples get a harmless placeholder rather than being dropped: the solve then has
    # the same shape for every seed, so the estimate (column 0) does not depend on the seed.
    logs = np.log(np.where(defined, widths, 1.0))
    coef = np.linalg.lstsq(design, logs, rcond=None)[0]
    return PowerLawFit(
        A=_interval(np.exp(coef[0]), defined, confidence),
        exponents={v: _interval(coef[1 + j], defined, confidence) for j, v in enumerate(variables)},
        variables=variables,
        points=tuple((c.cell, tuple(float(values[v][i]) for v in variables), int(widths[i, 0]))
                     for i, c in enumerate(cells)),
        n_cells=len(cells), n_resamples=n_resamples, seed=seed,
        undefined_fraction=_undefined_fraction(defined))


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _variable(name: str, cell: Cell) -> float:
    """The value of power-law variable ``name`` for ``cell`` (before taking logs)."""
    if name == "d":
        return float(max(cell.dims))
    if name == "l":
        return float(cell.depth)
    if name == "inv_eps":
        return 1 / cell.eps
    return math.log(1 / cell.delta)


def _check_fit_args(cells, n_resamples, confidence, seed) -> list[Cell]:
    """Check the arguments shared by the fits, and that every cell's measured quantile is finite."""
    if isinstance(cells, (str, bytes, Mapping)) or not isinstance(cells, Iterable):
        raise InputError(f"cells {cells!r} must be a sequence of Cell (see cells_from_rows)")
    cells = list(cells)
    if not cells:
        raise InputError("cells: none given; at least one Cell is needed")
    for c in cells:
        if not isinstance(c, Cell):
            raise InputError(f"cells: {c!r} is not a Cell (see cells_from_rows)")
    repeated = sorted(i for i, n in collections.Counter(c.cell for c in cells).items() if n > 1)
    if repeated:
        raise InputError(f"cells: ids {repeated} occur more than once; each cell must appear once")
    checks.integer("n_resamples", n_resamples, low=1)
    checks.open_unit("confidence", confidence)
    checks.integer("seed", seed, low=0)
    for c in cells:
        width, reached = quantile_width(c.widths, c.delta)
        if width is None:
            raise InputError(
                f"cell {c.cell!r}: only {reached} of {len(c.widths)} trials reached ε, fewer than a "
                f"1 − δ = {1 - c.delta:g} fraction, so its measured width is infinite; c_max was too "
                "small: measure this cell again with a larger c_max")
    return cells


def _bootstrap_widths(cells: list[Cell], n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Measured and resampled quantile widths, resampling each cell's trials on its own.

    Returns (widths, defined): ``widths`` of shape (n_cells, 1 + n_resamples), column 0 the
    measured quantiles and column 1 + b resample b's (inf where infinite); ``defined`` of shape
    (1 + n_resamples,), True where every cell's quantile is finite.
    """
    rng = np.random.default_rng(seed)
    widths = np.empty((len(cells), 1 + n_resamples))
    for i, cell in enumerate(cells):
        trials = np.array([math.inf if w is None else w for w in cell.widths], dtype=float)
        t = len(trials)
        # The rank ⌈(1 − δ) T⌉ that quantile_width uses, taken from it rather than restated: the
        # quantile of the widths 1..T is that rank.
        rank = quantile_width(range(1, t + 1), cell.delta)[0]
        widths[i, 0] = quantile_width(cell.widths, cell.delta)[0]
        draws = trials[rng.integers(0, t, size=(n_resamples, t))]
        widths[i, 1:] = np.partition(draws, rank - 1, axis=1)[:, rank - 1]
    defined = np.isfinite(widths).all(axis=0)
    if 1 - defined[1:].mean() > MAX_UNDEFINED:
        raise InputError(
            f"{1 - defined[1:].mean():.0%} of the {n_resamples} bootstrap resamples have a cell whose "
            f"quantile width is infinite, more than the {MAX_UNDEFINED:.0%} allowed; the widths are too "
            "close to c_max for an interval: measure again with a larger c_max or more trials")
    return widths, defined


def _interval(statistic: np.ndarray, defined: np.ndarray, confidence: float) -> Interval:
    """Percentile interval of ``statistic[1:]`` over the defined resamples, around ``statistic[0]``."""
    boot = statistic[1:][defined[1:]]
    low, high = np.percentile(boot, [50 * (1 - confidence), 50 * (1 + confidence)])
    return Interval(float(statistic[0]), float(low), float(high), float(confidence))


def _undefined_fraction(defined: np.ndarray) -> float:
    return float(1 - defined[1:].mean())


def _provenance(result: LogConstantFit | PowerLawFit) -> str:
    """What a fit's intervals are from, for its summary."""
    confidence = (result.C if isinstance(result, LogConstantFit) else result.A).confidence
    text = f"{confidence * 100:g}% bootstrap, {result.n_resamples} resamples, {result.n_cells} cells"
    if result.undefined_fraction:
        text += (f"; {result.undefined_fraction:.1%} of resamples undefined (a cell's quantile "
                 "infinite), left out")
    return text
