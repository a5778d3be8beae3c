"""Figure 11: minimal width of CNN tickets against the target's channels and its kernel size, per construction, with
da Cunha et al.'s C·ln(k² C_(i-1) C_i ℓ / min(ε, δ)) at the C fitted on the sweep (and that C's bootstrap interval).

Left panel: the certified width (the (1 − δ)-quantile over trials, with the 95% band of that quantile) against
the largest channel count of the target, one line per construction and kernel size; right panel: against the
kernel size, one line per construction and channel text. Cells not certified within c_max are drawn at c_max
(triangles). The fitted bound is drawn at every cell of a line (dashed), its interval shaded."""

from pathlib import Path

from slth import bounds, plotting
from slth.experiments.kinds.conv_width import summary
from slth.experiments.store import read_table

SWEEPS = ("conv_width",)
NAME = "fig11_conv_width"
#: Panel -> (the x of a cell, the axis label, the cell field that tells a panel's lines apart, its legend word).
PANELS = (("channels_max", "target channels (largest convolution)", "kernel", "k"),
          ("kernel", "kernel size k", "channels", "channels"))
COLUMNS = ("construction", "cell", "geometry", "channels", "channels_max", "kernel", "eps", "delta", "trials",
           "c_max", "certified", "band_low", "band_high", "optimistic", "log_term", "da_cunha_c_at_C1", "fit_C",
           "fit_C_low", "fit_C_high", "da_cunha_fit", "da_cunha_fit_low", "da_cunha_fit_high")


def cells(results_dir) -> list[dict]:
    """One line per cell of the sweep's table, ready to plot (the columns of :data:`COLUMNS`)."""
    folder = Path(results_dir) / "conv_width"
    rows = read_table(folder)
    table, _, _ = summary(None, rows)
    fits = plotting.read_json(folder / "fits.json")
    out = []
    for line in table:
        mine = [r for r in rows if r["cell"] == line["cell"]]
        low, high = plotting.quantile_band([r["certified"] for r in mine], 1 - line["delta"])
        fit = fits.get(line["construction"], {}).get("log_constant_certified", {}).get("C")
        x = line["log_term"]
        out.append({**line, "channels_max": max(int(c) for c in line["channels"].split(",")),
                    "c_max": mine[0]["c_max"], "band_low": low, "band_high": None if high == float("inf") else high,
                    "fit_C": fit and fit["estimate"], "fit_C_low": fit and fit["low"], "fit_C_high": fit and fit["high"],
                    "da_cunha_fit": fit and fit["estimate"] * x, "da_cunha_fit_low": fit and fit["low"] * x,
                    "da_cunha_fit_high": fit and fit["high"] * x})
    return out


def main(results_dir, out_dir):
    table = cells(results_dir)
    fig, axes = plotting.figure(1, 2)
    bound = bounds.bound("da-cunha")
    for ax, (x_key, label, group_key, word) in zip(axes[0], PANELS):
        for con in dict.fromkeys(c["construction"] for c in table):
            groups = dict.fromkeys(c[group_key] for c in table if c["construction"] == con)
            for n, value in enumerate(groups):
                mine = sorted((c for c in table if c["construction"] == con and c[group_key] == value),
                              key=lambda c: c[x_key])
                _draw(ax, con, f"{word} = {value}", mine, x_key, alpha=1.0 - 0.5 * n / max(1, len(groups) - 1), bound=bound)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plotting.value_ticks(ax, [c[x_key] for c in table])
        plotting.log_ticks(ax, "y")
        ax.set_xlabel(label)
    axes[0][0].set_ylabel("candidates per kernel entry and sign, c")
    r0 = table[0]
    axes[0][0].set_title(f"CNN tickets: minimal width (ε = {r0['eps']:g}, δ = {r0['delta']:g}, {r0['trials']} trials)")
    plotting.legend(axes[0][1], panels=axes[0], fontsize=7)
    return plotting.save(fig, out_dir, NAME, table, COLUMNS)


def _draw(ax, con: str, which: str, mine: list[dict], x_key: str, *, alpha: float, bound) -> None:
    """One line: the certified widths with their band, the cells not reached at c_max, the fitted bound."""
    color, marker = plotting.color(con), plotting.marker(con)
    reached = [c for c in mine if c["certified"] is not None]
    xs = [c[x_key] for c in reached]
    ax.plot(xs, [c["certified"] for c in reached], marker=marker, color=color, alpha=alpha,
            label=f"{con}, {which}: certified width")
    ax.fill_between(xs, [c["band_low"] for c in reached],
                    [c["band_high"] if c["band_high"] is not None else c["c_max"] for c in reached],
                    color=color, alpha=0.15 * alpha, linewidth=0, label=f"{con}: 95% band of that quantile")
    missing = [c for c in mine if c["certified"] is None]
    if missing:
        ax.scatter([c[x_key] for c in missing], [c["c_max"] for c in missing], marker="^", color=color,
                   label=f"{con}: not certified within c_max (plotted at c_max)")
    fitted = [c for c in mine if c["da_cunha_fit"] is not None]
    if fitted:
        fx = [c[x_key] for c in fitted]
        ax.plot(fx, [c["da_cunha_fit"] for c in fitted], color=color, linestyle="--", alpha=alpha,
                label=f"{con}: " + bound.legend.format(constant=fitted[0]["fit_C"]))
        ax.fill_between(fx, [c["da_cunha_fit_low"] for c in fitted], [c["da_cunha_fit_high"] for c in fitted],
                        color=color, alpha=0.08, linewidth=0, hatch="//",
                        label=f"{con}: fitted C's 95% bootstrap interval "
                              f"[{fitted[0]['fit_C_low']:.2f}, {fitted[0]['fit_C_high']:.2f}]")
