"""The house style of slth's figures, and the one way they are written.

One colour per construction (and per separation method) in every figure, from the Okabe-Ito palette
(readable by colour-blind readers and in greyscale by marker): :func:`color`. Every figure is written
by :func:`save` as vector PDF, PNG and the CSV table it plots, side by side, so a number read off a
figure can be found in its table. Figures are generated, never edited: the modules of
:mod:`slth.figures` call these functions on results tables, inside :func:`style`.

Figures are :class:`matplotlib.figure.Figure` objects, never pyplot's: importing this module or
drawing a figure changes no global state (not the backend a notebook chose, not ``rcParams``), and
saving works under any backend. Needs matplotlib (the extra ``figures``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.stats

from slth import checks, extras
from slth.errors import InputError
from slth.experiments.store import atomic_write

extras.need("matplotlib", "slth.plotting")

import matplotlib  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: Colour of every construction and separation method, fixed across figures.
COLORS = {
    "selection": "#0072B2",        # blue
    "subset-sum": "#D55E00",       # vermillion
    "hyperbolic": "#009E73",       # green
    "depth-l+1": "#CC79A7",        # purple
    "fixed-size": "#E69F00",       # orange
    "binary": "#56B4E9",           # sky blue
    "edge-popup": "#000000",       # black
    "random-features": "#7F7F7F",  # grey
    "neuron-greedy": "#8C564B",    # brown
    "neuron-exact": "#BCBD22",     # olive
    "imp": "#C0392B",              # red: trained tickets (iterative magnitude pruning)
    "reinit": "#6A3D9A",           # dark purple: IMP's masks, weights redrawn
    "random": "#8C8C8C",           # grey: random pruning at IMP's per-layer sparsity
}
MARKERS = {"selection": "o", "subset-sum": "s", "hyperbolic": "^", "depth-l+1": "v", "fixed-size": "D",
           "binary": "P", "edge-popup": "X", "random-features": "x", "neuron-greedy": "<", "neuron-exact": ">",
           "imp": "*", "reinit": "h", "random": "."}
#: Colour of bounds that belong to no construction (the counting lower bound).
BOUND_COLOR = "#333333"

#: Size in inches of one panel (the legend sits to its right, outside).
SIZE = (5.2, 3.8)
DPI = 160

_STYLE = {
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6, "lines.linewidth": 1.6,
    "lines.markersize": 5, "legend.frameon": False, "savefig.bbox": "tight",
    "pdf.fonttype": 42, "svg.hashsalt": "slth",
}


def color(name: str) -> str:
    """The colour of a construction or separation method (grey for names the palette lacks)."""
    return COLORS.get(name, "#999999")


def marker(name: str) -> str:
    return MARKERS.get(name, "o")


def shades(n: int) -> list:
    """``n`` colours along a sequential colour map (viridis, dark to light): for curves ordered by a
    number, such as IMP rounds."""
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.85 * i / max(1, n - 1)) for i in range(n)]


def style():
    """A context in which figures are drawn and saved in the house style (``matplotlib.rc_context``:
    ``rcParams`` are as before once it ends)."""
    return matplotlib.rc_context(_STYLE)


def figure(nrows: int = 1, ncols: int = 1, *, size: Sequence[float] | None = None, **kwargs):
    """A new figure: ``(fig, axes)`` like ``plt.subplots`` but without pyplot (axes always 2-D;
    ``size`` the whole figure's inches, default :data:`SIZE` per panel; kwargs go to
    :meth:`~matplotlib.figure.Figure.subplots`). Call it inside :func:`style` for the house style."""
    w, h = size or SIZE
    fig = Figure(figsize=(w * ncols if size is None else w, h * nrows if size is None else h))
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def save(fig, out_dir, name: str, rows: Sequence[dict], columns: Sequence[str] | None = None) -> list[Path]:
    """Write ``<name>.pdf``, ``<name>.png`` and ``<name>.csv`` (the plotted table) into ``out_dir``.

    The PDF carries no creation date, so two runs on the same table give the same vector file. Each
    file is written to a temporary name and renamed, so an interrupted run leaves the previous figure.
    Returns the three paths.
    """
    if not rows:
        raise InputError(f"figure {name!r} has no rows to plot: its results tables are empty")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    columns = list(columns or rows[0].keys())
    paths = []
    for ext, kwargs in (("pdf", {"metadata": {"CreationDate": None, "Creator": "slth"}}),
                        ("png", {"dpi": DPI, "metadata": {"Software": "slth"}})):
        path = out / f"{name}.{ext}"
        tmp = out / f".{name}.tmp.{ext}"
        fig.savefig(tmp, format=ext, bbox_inches="tight", **kwargs)
        tmp.replace(path)
        paths.append(path)
    paths.append(write_table(out / f"{name}.csv", rows, columns))
    return paths


def write_table(path, rows: Iterable[dict], columns: Sequence[str]) -> Path:
    """A CSV of ``rows`` with ``columns`` (None written empty, floats at full precision)."""
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _cell(r.get(k)) for k in columns})
    atomic_write(Path(path), buf.getvalue())
    return Path(path)


def _cell(v) -> str:
    """CSV text of one value: empty for None, floats (numpy's too) at full precision, integers plain."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def quantile_band(values: Sequence[float | None], q: float, confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval for the q-quantile ξ of the law behind ``values``.

    Order statistics: the k-th smallest of n draws is <= ξ with probability P[Binomial(n, q) >= k].
    The lower end is the m-th smallest, m = the α-quantile of Binomial(n, q) (α = (1 − confidence)/2),
    the upper end the (M + 1)-th smallest, M its (1 − α)-quantile. None counts as +inf; an upper end
    past the sample is +inf (the data cannot bound the quantile), a lower end before it is clamped to
    the smallest value (the band is drawn, not claimed, there). Returns (low, high).
    """
    x = np.sort(np.array([math.inf if v is None else float(v) for v in values]))
    n = len(x)
    if n == 0:
        raise InputError("quantile_band needs at least one value")
    checks.open_unit("quantile_band's q", q)
    checks.open_unit("quantile_band's confidence", confidence)
    alpha = (1 - confidence) / 2
    m = int(scipy.stats.binom.ppf(alpha, n, q))
    big_m = int(scipy.stats.binom.ppf(1 - alpha, n, q))
    return float(x[max(m, 1) - 1]), (float(x[big_m]) if big_m < n else math.inf)


def legend(ax, *, panels: Sequence | None = None, outside: bool = True, **kwargs) -> None:
    """One legend on ``ax`` for every series drawn on ``panels`` (default: ``ax`` alone), labels
    deduplicated, by default to the right of the axes (it never hides data). A series that shows
    nothing (a line through fewer than two points and without a marker, a band of no area, an empty
    scatter) is not listed: the legend names only what the reader can see."""
    seen = {}
    for panel in panels if panels is not None else [ax]:
        for h, lab in zip(*panel.get_legend_handles_labels()):
            if _drawn(h):
                seen.setdefault(lab, h)
    where = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)} if outside else {"loc": "best"}
    ax.legend(list(seen.values()), list(seen.keys()), **{**where, **kwargs})


def _drawn(artist) -> bool:
    """Whether a legend handle's artist shows anything on the axes."""
    from matplotlib.collections import PathCollection, PolyCollection
    from matplotlib.container import Container
    from matplotlib.lines import Line2D

    if isinstance(artist, Container):          # errorbar: its data line, caps and bars
        return any(_drawn(a) for a in artist.get_children())
    if isinstance(artist, Line2D):
        x, y = (np.asarray(v, dtype=float) for v in (artist.get_xdata(), artist.get_ydata()))
        points = int(np.sum(np.isfinite(x) & np.isfinite(y)))
        marker = str(artist.get_marker()) not in ("None", "none", "", " ")
        line = str(artist.get_linestyle()) not in ("None", "none", "", " ")
        return (points >= 1 and marker) or (points >= 2 and line)
    if isinstance(artist, PathCollection):     # scatter
        return bool(np.isfinite(np.asarray(artist.get_offsets(), dtype=float)).all(axis=-1).any())
    if isinstance(artist, PolyCollection):     # fill_between: a band of positive area
        return any(_area(p.vertices) > 0 for p in artist.get_paths())
    return True


def _area(vertices) -> float:
    x, y = np.asarray(vertices, dtype=float).T
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))) if len(x) > 2 else 0.0


def log_ticks(ax, axis: str = "x") -> None:
    """Labels on a log axis that do not collide: at powers of ten where the data span more than two
    decades, at 1, 2 and 5 times them where they span more than two thirds of one, and at 1, 1.5, 2,
    3, 5 and 7 times them below; minor ticks unlabelled. Printed plainly (16, 0.2, 2k, 30k) unless
    the data go below 0.001 (then 10⁻⁴, 2×10⁻⁴). Call it after the data are drawn (it reads their span)."""
    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    low, high = ax.dataLim.intervalx if axis == "x" else ax.dataLim.intervaly
    decades = math.log10(high / low) if 0 < low < high else 0.0
    subs = (1.0,) if decades > 2 else (1.0, 2.0, 5.0) if decades > 2 / 3 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    target.set_major_locator(LogLocator(base=10, subs=subs))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: _compact(v)) if low >= 1e-3
                               else LogFormatterSciNotation(labelOnlyBase=False))
    target.set_minor_formatter(NullFormatter())


def _compact(v: float) -> str:
    """A tick label without exponent: 0.5, 16, 200, 2k, 1.5M."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


def value_ticks(ax, values, axis: str = "x") -> None:
    """Ticks at the grid values themselves, printed plainly with at most four significant digits
    (a log axis otherwise prints 2×10⁰; 1/0.3 prints 3.333)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(sorted(set(values))))
    target.set_minor_locator(NullLocator())
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.4g}"))


# --------------------------------------------------------------------------- width figures

#: Axis of a width figure: how a cell's x is read, the axis label, and how theory curves sweep it.
WIDTH_AXES = {
    "d": ("target width d", lambda r: max(r["dims"])),
    "l": ("target depth l", lambda r: len(r["dims"]) - 1),
    "inv_eps": ("accuracy 1/ε", lambda r: 1 / r["eps"]),
}


def read_json(path) -> dict:
    import json

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist: run the sweep first (slth figures runs what is missing)")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path} is unreadable: {e}") from None


def width_cells(rows: Sequence[dict], axis: str) -> list[dict]:
    """One line per (construction, cell) of a width table, ready to plot: x, the certified and
    optimistic (1 − δ)-quantile widths (None: not reached at c_max), the 95% band of the certified
    quantile over trials (:func:`quantile_band`), the counting lower bound, and Malach et al.'s
    form at C = 1 (:func:`slth.bounds.malach_width`) and Pensia et al.'s log term for the cell: for each
    bound of :data:`slth.bounds.BOUNDS` with a constant to fit, the term it is fitted on (:func:`_term`)."""
    from slth import bounds
    from slth.measure.width import quantile_width

    label, x_of = WIDTH_AXES[axis]
    counting = bounds.bound("counting")
    cells: dict = {}
    for r in rows:
        cells.setdefault(r["cell"], []).append(r)
    out = []
    for key, rs in cells.items():
        r0 = rs[0]
        dims, eps, delta = tuple(r0["dims"]), float(r0["eps"]), float(r0["delta"])
        certified, _ = quantile_width([r["certified"] for r in rs], delta)
        optimistic, _ = quantile_width([r["optimistic"] for r in rs], delta)
        low, high = quantile_band([r["certified"] for r in rs], 1 - delta)
        lower = counting.at(dims, eps, delta)
        cell = {"construction": r0["construction"], "cell": key, "dims": ",".join(map(str, dims)),
                "eps": eps, "delta": delta, "x": float(x_of(r0)), "trials": len(rs), "c_max": r0["c_max"],
                "certified": certified, "band_low": low, "band_high": None if math.isinf(high) else high,
                "optimistic": optimistic, "counting_lower_c": None if lower is None else lower.candidates}
        for b in _fitted():
            cell[_term(b)] = (b.log_term(dims, eps, delta) if b.fitted == "log"
                              else b.width(dims, eps, delta).candidates)
        out.append(cell)
    return sorted(out, key=lambda c: (c["construction"], c["x"]))


def fitted_constant(fits: dict, construction: str) -> float | None:
    """Pensia et al.'s C fitted on a sweep's certified widths (its ``fits.json``), or None."""
    entry = fits.get(construction, {}).get("log_constant_certified", {})
    return entry.get("C", {}).get("estimate")


def width_versus(results_dir, out_dir, sweep: str, axis: str, name: str, title: str) -> list[Path]:
    """The minimal-width figure of one width sweep against ``axis`` (d, l or 1/ε), log-log: per
    construction the certified width with its 95% band over trials and the optimistic width; Pensia
    et al.'s C·ln(d²l/min(ε, δ)) with C fitted on the sweep's subset-sum widths; Malach et al.'s
    d⁴l²(1/ε)²ln(1/δ) scaled by the constant K that fits the selection widths best in log scale
    (its slope is the paper's, its height the data's); and the counting lower bound."""
    from slth import constructions
    from slth.experiments.store import read_table

    rows = read_table(Path(results_dir) / sweep)
    fits = read_json(Path(results_dir) / sweep / "fits.json")
    cells = width_cells(rows, axis)
    label, _ = WIDTH_AXES[axis]
    fig, axes = figure()
    ax = axes[0][0]
    for con in dict.fromkeys(c["construction"] for c in cells):
        mine = [c for c in cells if c["construction"] == con]
        reached = [c for c in mine if c["certified"] is not None]
        xs = [c["x"] for c in reached]
        ax.plot(xs, [c["certified"] for c in reached], marker=marker(con), color=color(con),
                label=f"{con}: certified width ((1−δ)-quantile over trials)")
        ax.fill_between(xs, [c["band_low"] for c in reached],
                        [c["band_high"] if c["band_high"] is not None else c["c_max"] for c in reached],
                        color=color(con), alpha=0.18, linewidth=0, label=f"{con}: 95% band of that quantile")
        opt = [c for c in mine if c["optimistic"] is not None]
        ax.plot([c["x"] for c in opt], [c["optimistic"] for c in opt], marker=marker(con), color=color(con),
                markerfacecolor="white", linestyle=":", label=f"{con}: optimistic width (lower bound ≤ ε)")
        missing = [c for c in mine if c["certified"] is None]
        if missing:
            ax.scatter([c["x"] for c in missing], [c["c_max"] for c in missing], marker="^", color=color(con),
                       label=f"{con}: not certified within the searched widths (plotted at the limit)")
        companion = constructions.companion(con)
        if companion.fitted is not None:
            constant = _fit_constant(companion, fits, con, mine, reached)
            if constant is not None:
                for c in mine:
                    c[f"{companion.name}_fit"] = constant * c[_term(companion)]
                ax.plot([c["x"] for c in mine], [c[f"{companion.name}_fit"] for c in mine], color=color(con),
                        linestyle="--", label=companion.legend.format(constant=constant))
    counting = sorted({(c["x"], c["counting_lower_c"]) for c in cells if c["counting_lower_c"] is not None})
    if counting:
        ax.plot(*zip(*counting), color=BOUND_COLOR, linestyle="-.", marker="_", markersize=8,
                label="counting lower bound (Pensia et al. Thm 2)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    value_ticks(ax, [c["x"] for c in cells])
    ax.set_xlabel(label)
    ax.set_ylabel("candidates per block and sign, c")
    r0 = cells[0]
    ax.set_title(title + f" (δ = {r0['delta']:g}, {r0['trials']} trials per cell)")
    legend(ax, fontsize=7)
    columns = ["construction", "cell", "dims", "eps", "delta", "x", "trials", "c_max", "certified", "band_low",
               "band_high", "optimistic", "counting_lower_c"] + [c for b in _fitted() for c in (_term(b), f"{b.name}_fit")]
    return save(fig, out_dir, name, cells, columns)


def _fitted():
    from slth import bounds

    return tuple(b for b in bounds.BOUNDS if b.fitted is not None and not b.geometry)   # MLP width figures


def _term(bound) -> str:
    """The column a bound is fitted on: its log term (C·term) or its width at C = 1 (K·width)."""
    return f"{bound.name}_log_term" if bound.fitted == "log" else f"{bound.name}_c_at_C1"


def _fit_constant(bound, fits: dict, construction: str, mine: list[dict], reached: list[dict]) -> float | None:
    """The fitted constant of ``bound`` for a construction's cells: Pensia et al.'s C from the sweep's
    fits (``fitted="log"``), or the K that fits the certified widths best in log scale (``"scale"``)."""
    if bound.fitted == "log":
        return fitted_constant(fits, construction)
    if not reached:
        return None
    return float(np.exp(np.mean([np.log(c["certified"] / c[_term(bound)]) for c in reached])))
