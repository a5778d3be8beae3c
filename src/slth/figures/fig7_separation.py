"""Figure 7: neuron pruning versus weight pruning (docs/theory.md §4.4) on one ReLU neuron σ(⟨w*, x⟩) over
Gaussian inputs: relative L2 error (test error / ‖f‖_L2; 1 is the zero predictor) versus the random
network's parameters, one panel per input dimension d. Random features (the least-squares output
weights on the same random units) lower-bound every neuron-pruning subnetwork; subset-sum and
selection prune weights. Points: mean over seeds; bars: min to max over them (the number of seeds, read
from the table, is in the title). One legend for the figure lists every method drawn in any panel."""

from pathlib import Path

from slth import plotting
from slth.experiments.store import read_table
from slth.experiments.summary import separation_summary

SWEEPS = ("separation",)


def main(results_dir, out_dir):
    table, _, _ = separation_summary(read_table(Path(results_dir) / "separation"))
    ds = sorted({r["d"] for r in table})
    fig, axes = plotting.figure(1, len(ds), size=(3.4 * len(ds), 3.6), sharey=True)
    for ax, d in zip(axes[0], ds):
        for method in dict.fromkeys(r["method"] for r in table):
            mine = sorted((r for r in table if r["method"] == method and r["d"] == d), key=lambda r: r["random_params"])
            if not mine:
                continue
            x = [r["random_params"] for r in mine]
            y = [r["relative_mean"] for r in mine]
            ax.errorbar(x, y, yerr=[[a - r["relative_min"] for a, r in zip(y, mine)],
                                    [r["relative_max"] - a for a, r in zip(y, mine)]],
                        marker=plotting.marker(method), color=plotting.color(method), capsize=2, label=method)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plotting.log_ticks(ax, "x")
        ax.set_title(f"d = {d}")
        ax.set_xlabel("random parameters")
    axes[0][0].set_ylabel("relative L2 error")
    plotting.legend(axes[0][-1], panels=axes[0], fontsize=7)
    fig.suptitle("Neuron pruning versus weight pruning: one ReLU neuron, Gaussian inputs\n"
                 + _seeds(sorted({r["trials"] for r in table})), y=1.08)
    return plotting.save(fig, out_dir, "fig7_separation", table,
                         ["method", "d", "c", "inputs", "trials", "random_params", "params", "relative_mean",
                          "relative_min", "relative_max", "sup_bound_median"])


def _seeds(counts: list[int]) -> str:
    """What a point and its bar are, with the number of seeds per point as the table has it."""
    if counts == [1]:
        return "one seed per point (no spread to show)"
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"points: mean over {n} seeds; bars: min to max over them"
