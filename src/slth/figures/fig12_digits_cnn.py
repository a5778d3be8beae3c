"""Figure 12: tickets of the digits MLP beside those of the digits CNN (both bias-free, rescaled into the
theorems' assumptions): test accuracy (top) and agreement with the target (bottom) against the random
network's parameter count, per construction, mean over random networks with a min-mean band; the
dashed line is the target's own test accuracy. Left: the MLP (``digits`` sweep); right: the CNN
pruned out of random CNNs (``digits_cnn`` sweep)."""

from pathlib import Path

from slth import plotting
from slth.experiments.store import read_table
from slth.experiments.summary import digits_summary
from slth.studies.digits import cnn

SWEEPS = ("digits", "digits_cnn")

#: What each row of panels plots: the summary's mean and min columns, the axis label.
ROWS = (("ticket_accuracy", "test accuracy"), ("agreement", "agreement with the target"))


def main(results_dir, out_dir):
    mlp_rows = read_table(Path(results_dir) / "digits")
    cnn_rows = read_table(Path(results_dir) / "digits_cnn")
    models = (("MLP", f"MLP {'-'.join(map(str, mlp_rows[0]['dims']))}", digits_summary(mlp_rows)[0]),
              ("CNN", f"CNN {cnn_rows[0]['geometry']}", cnn.sweep_summary(cnn_rows)[0]))
    fig, axes = plotting.figure(len(ROWS), len(models), size=(10.4, 7.2), sharey="row")
    table = []
    for j, (model, title, summary) in enumerate(models):
        for r in summary:
            table.append({"model": model, "target": title, **r})
        for i, (column, label) in enumerate(ROWS):
            _panel(axes[i][j], summary, column, reference=summary[0]["target_accuracy"] if i == 0 else None)
            axes[i][j].set_ylabel(label if j == 0 else "")
            axes[i][j].set_xlabel("random network's parameters" if i == len(ROWS) - 1 else "")
        n = summary[0]["trials"]
        axes[0][j].set_title(f"{title} ({n} random network{'s' if n != 1 else ''} per point)", fontsize=9)
    plotting.legend(axes[0][-1], panels=[a for row in axes for a in row], fontsize=7)
    return plotting.save(fig, out_dir, "fig12_digits_cnn", table,
                         ["model", "target", "construction", "c", "trials", "random_params", "target_accuracy",
                          "ticket_accuracy_mean", "ticket_accuracy_min", "agreement_mean", "agreement_min",
                          "guaranteed_fraction_mean", "certificate_median", "lower_bound_median", "kept_params_mean"])


def _panel(ax, summary: list[dict], column: str, *, reference: float | None) -> None:
    """One panel: per construction, the mean of ``column`` against the random parameters, its band from
    the min to the mean, and the target's accuracy as a dashed line where ``reference`` is given."""
    for con in dict.fromkeys(r["construction"] for r in summary):
        mine = sorted((r for r in summary if r["construction"] == con), key=lambda r: r["random_params"])
        x = [r["random_params"] for r in mine]
        ax.plot(x, [r[f"{column}_mean"] for r in mine], marker=plotting.marker(con), color=plotting.color(con),
                label=f"{con} ticket")
        ax.fill_between(x, [r[f"{column}_min"] for r in mine], [r[f"{column}_mean"] for r in mine],
                        color=plotting.color(con), alpha=0.18, linewidth=0)
    if reference is not None:
        ax.axhline(reference, color=plotting.BOUND_COLOR, linestyle="--", label="target's test accuracy")
        ax.annotate(f"target {reference:.1%}", (0.02, reference), xycoords=("axes fraction", "data"), ha="left",
                    va="bottom", fontsize=7, color=plotting.BOUND_COLOR)
    ax.set_xscale("log")
    plotting.log_ticks(ax, "x")
