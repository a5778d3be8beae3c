"""Figure 10: instability to SGD noise (Frankle et al. 2020): the test-error barrier on the segment between two copies trained from the same rewind point with different data orders, against the rewind step, for the dense network and IMP's masks (mean over trials, min-max band)."""

from pathlib import Path

from slth import plotting
from slth.experiments.kinds.instability import STABLE
from slth.experiments.kinds.instability import summary as instability_summary
from slth.experiments.store import read_table

SWEEPS = ("instability",)


def main(results_dir, out_dir):
    rows = read_table(Path(results_dir) / "instability")
    table, _, _ = instability_summary(None, rows)
    fig, axes = plotting.figure()
    ax = axes[0][0]
    rounds = sorted({r["round"] for r in table})
    shades = plotting.shades(len(rounds))
    for rnd, colour in zip(rounds, shades):
        mine = sorted((r for r in table if r["round"] == rnd), key=lambda r: r["rewind"])
        x = [r["rewind"] for r in mine]
        label = ("dense network" if rnd == 0 else f"IMP mask, round {rnd}") + f" ({mine[0]['fraction_kept_mean']:.1%} kept)"
        ax.plot(x, [100 * r["barrier_mean"] for r in mine], marker="o", markersize=4, color=colour, label=label)
        ax.fill_between(x, [100 * r["barrier_min"] for r in mine], [100 * r["barrier_max"] for r in mine],
                        color=colour, alpha=0.15, linewidth=0)
    ax.axhline(100 * STABLE, color=plotting.BOUND_COLOR, linestyle=":", linewidth=0.8,
               label=f"{STABLE:.0%}: stable (Frankle et al. 2020)")
    ax.set_xscale("symlog", linthresh=max(1, min((r["rewind"] for r in table if r["rewind"] > 0), default=1)))
    ax.set_xlim(0, 1.3 * max(1, max(r["rewind"] for r in table)))      # k >= 0: no negative decades
    ax.set_xlabel("rewind step k")
    ax.set_ylabel("test-error barrier (percentage points)")
    n = table[0]["trials"]
    ax.set_title(f"Digits: instability against the rewind step ({n} trial{'s' if n != 1 else ''} per point)")
    plotting.legend(ax, fontsize=7)
    return plotting.save(fig, out_dir, "fig10_instability", table,
                         ["rewind", "round", "trials", "fraction_kept_mean", "barrier_mean", "barrier_min",
                          "barrier_max", "loss_barrier_mean", "end_error_mean"])
