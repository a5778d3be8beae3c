"""Figure 2: per-weight error versus the number of candidates c (docs/theory.md §4.1-4.2), one block-and-sign
problem with candidate products a = v·|u|, u, v ~ U[-1, 1], over a grid of target weights in [-1, 1]:
the median error over the targets and the worst, each the median over random candidate lists with
its 10%-90% band. Selection keeps one candidate (error ≈ 1/c), subset sum the best subset
(error ≈ 2^-c); the dashed references are a/c and b·2^-c with a, b fitted on the median errors."""

from pathlib import Path

import numpy as np

from slth import plotting
from slth.experiments.store import read_table
from slth.experiments.summary import weight_error_summary

SWEEPS = ("weight_error",)
_REFERENCE = {"selection": ("a/c", lambda c: 1.0 / c), "subset-sum": ("b·2^−c", lambda c: 2.0 ** -c)}


def main(results_dir, out_dir):
    table, _, _ = weight_error_summary(read_table(Path(results_dir) / "weight_error"))
    fig, axes = plotting.figure()
    ax = axes[0][0]
    for con in dict.fromkeys(r["construction"] for r in table):
        mine = sorted((r for r in table if r["construction"] == con), key=lambda r: r["c"])
        cs = [r["c"] for r in mine]
        ax.plot(cs, [r["median_error"] for r in mine], marker=plotting.marker(con), color=plotting.color(con),
                label=f"{con}: median over targets")
        ax.fill_between(cs, [r["median_error_q10"] for r in mine], [r["median_error_q90"] for r in mine],
                        color=plotting.color(con), alpha=0.18, linewidth=0)
        ax.plot(cs, [r["max_error"] for r in mine], marker=plotting.marker(con), color=plotting.color(con),
                markerfacecolor="white", linestyle=":", label=f"{con}: worst over targets")
        ax.fill_between(cs, [r["max_error_q10"] for r in mine], [r["max_error_q90"] for r in mine],
                        color=plotting.color(con), alpha=0.08, linewidth=0)
        if con in _REFERENCE:
            name, shape = _REFERENCE[con]
            fit = [r for r in mine if r["c"] >= 4 and r["median_error"] > 0]
            if fit:
                const = float(np.exp(np.mean([np.log(r["median_error"] / shape(r["c"])) for r in fit])))
                for r in mine:
                    r["reference"] = const * shape(r["c"])
                    r["reference_form"] = name
                    r["reference_constant"] = const
                ax.plot(cs, [r["reference"] for r in mine], color=plotting.color(con), linestyle="--",
                        linewidth=1.1, label=f"{name}, {name[0]} = {const:.2g} (fit, c ≥ 4)")
    ax.set_yscale("log")
    ax.set_xlabel("candidates c (one block and sign)")
    ax.set_ylabel("per-weight error |Σ chosen − w|")
    r0 = table[0]
    ax.set_title(f"Per-weight error versus candidates ({r0['targets']} targets in [−1, 1], {r0['trials']} draws)")
    plotting.legend(ax, fontsize=7)
    return plotting.save(fig, out_dir, "fig2_weight_error", table,
                         ["construction", "c", "distribution", "trials", "targets", "median_error",
                          "median_error_q10", "median_error_q90", "max_error", "max_error_q10", "max_error_q90",
                          "kept_mean", "reference_form", "reference_constant", "reference"])
