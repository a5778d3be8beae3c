"""Figure 9: trained tickets beside strong tickets on the digits: test accuracy against the weights kept, for IMP with rewinding, its reinitialisation and random-pruning controls (mean over trials, min-max band), and the strong tickets (subset-sum, selection, edge-popup) that approximate the same dense network without training; the top axis is the fraction of weights kept of that dense network."""

from pathlib import Path

from slth import plotting
from slth.experiments.kinds.imp import summary as imp_summary
from slth.experiments.store import read_table
from slth.studies.imp import study

SWEEPS = ("imp",)
TRAINED, IMP = study.TRAINED, study.IMP
LABELS = dict(zip(TRAINED, ("IMP (rewound)", "IMP masks, weights redrawn", "random pruning")))


def main(results_dir, out_dir):
    rows = read_table(Path(results_dir) / "imp")
    table, found, _ = imp_summary(None, rows)
    dense = next(r for r in rows if r["method"] == IMP and r["round"] == 0)
    dense_params = dense["network_params"]
    for r in table:
        r["fraction_of_dense"] = r["kept_params_mean"] / dense_params
    fig, axes = plotting.figure()
    ax = axes[0][0]
    rewinds = sorted({r["rewind"] for r in table if r["method"] in TRAINED})
    for method in TRAINED:
        for k in rewinds:
            mine = sorted((r for r in table if r["method"] == method and r["rewind"] == k),
                          key=lambda r: r["round"])
            if method != IMP:    # the controls start from IMP's dense round
                mine = [r for r in table if r["method"] == IMP and r["rewind"] == k and r["round"] == 0] + mine
            if not mine:
                continue
            x = [r["kept_params_mean"] for r in mine]
            label = LABELS[method] + (f", rewind {k}" if len(rewinds) > 1 else "")
            ax.plot(x, [r["test_accuracy_mean"] for r in mine], marker=plotting.marker(method), markersize=4,
                    color=plotting.color(method), label=label, linestyle="-" if k == rewinds[0] else "--")
            ax.fill_between(x, [r["test_accuracy_min"] for r in mine], [r["test_accuracy_max"] for r in mine],
                            color=plotting.color(method), alpha=0.15, linewidth=0)
    for con in dict.fromkeys(r["method"] for r in table if r["method"] not in TRAINED):
        mine = sorted((r for r in table if r["method"] == con), key=lambda r: r["kept_params_mean"])
        ax.plot([r["kept_params_mean"] for r in mine], [r["test_accuracy_mean"] for r in mine],
                marker=plotting.marker(con), color=plotting.color(con), linestyle=":",
                label=f"{con} strong ticket (c = {', '.join(str(r['c']) for r in mine)})")
    ax.axhline(dense["dense_accuracy"] if len(rows) == 1 else table[0]["dense_accuracy_mean"],
               color=plotting.BOUND_COLOR, linestyle="--", linewidth=0.8,
               label=f"dense {dense['dims'] if isinstance(dense['dims'], str) else '-'.join(map(str, dense['dims']))} "
                     f"({dense_params:,} weights)")
    ax.set_xscale("log")
    plotting.log_ticks(ax, "x")
    top = ax.secondary_xaxis("top", functions=(lambda v: v / dense_params, lambda v: v * dense_params))
    top.set_xlabel("fraction of weights kept (of the dense network)", fontsize=8)
    ax.set_xlabel("weights kept")
    ax.set_ylabel("test accuracy")
    n = table[0]["trials"]
    ax.set_title(f"Digits: trained and strong tickets ({n} trial{'s' if n != 1 else ''} per point)")
    plotting.legend(ax, fontsize=7)
    return plotting.save(fig, out_dir, "fig9_imp", table,
                         ["method", "rewind", "round", "c", "trials", "kept_params_mean", "fraction_of_dense",
                          "fraction_kept_mean", "test_accuracy_mean", "test_accuracy_min", "test_accuracy_max",
                          "test_loss_mean", "dense_accuracy_mean", "certificate_median", "lower_bound_median"])
