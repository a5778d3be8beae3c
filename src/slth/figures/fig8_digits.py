"""Figure 8: tickets of a ReLU classifier trained on scikit-learn's digits (no biases, rescaled to the
theorems' spectral norm 1): test accuracy of the ticket versus the over-parameterisation (random
parameters / target parameters), per construction, mean over random networks with min-max band;
the horizontal line is the target's own test accuracy."""

from pathlib import Path

from slth import nets, plotting
from slth.experiments.store import read_table
from slth.experiments.summary import digits_summary

SWEEPS = ("digits",)


def main(results_dir, out_dir):
    rows = read_table(Path(results_dir) / "digits")
    table, _, _ = digits_summary(rows)
    dims = nets.parse_dims(rows[0]["dims"] if isinstance(rows[0]["dims"], str) else ",".join(map(str, rows[0]["dims"])))
    target_params = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    for r in table:
        r["target_params"] = target_params
        r["overparameterisation"] = r["random_params"] / target_params
    fig, axes = plotting.figure()
    ax = axes[0][0]
    for con in dict.fromkeys(r["construction"] for r in table):
        mine = sorted((r for r in table if r["construction"] == con), key=lambda r: r["random_params"])
        x = [r["overparameterisation"] for r in mine]
        ax.plot(x, [r["ticket_accuracy_mean"] for r in mine], marker=plotting.marker(con),
                color=plotting.color(con), label=f"{con} ticket (c = {_span(mine[0]['c'], mine[-1]['c'])})")
        ax.fill_between(x, [r["ticket_accuracy_min"] for r in mine], [r["ticket_accuracy_mean"] for r in mine],
                        color=plotting.color(con), alpha=0.18, linewidth=0)
    ax.axhline(table[0]["target_accuracy"], color=plotting.BOUND_COLOR, linestyle="--",
               label=f"target {'-'.join(map(str, dims))}: {table[0]['target_accuracy']:.1%}")
    ax.set_xscale("log")
    plotting.log_ticks(ax, "x")
    ax.set_xlabel("over-parameterisation (random parameters / target parameters)")
    ax.set_ylabel("test accuracy")
    n = table[0]["trials"]
    ax.set_title(f"Digits: ticket accuracy ({n} random network{'s' if n != 1 else ''} per point)")
    plotting.legend(ax, fontsize=7)
    return plotting.save(fig, out_dir, "fig8_digits", table,
                         ["construction", "c", "trials", "random_params", "target_params", "overparameterisation",
                          "target_accuracy", "ticket_accuracy_mean", "ticket_accuracy_min", "agreement_mean",
                          "certificate_median", "lower_bound_median", "kept_params_mean"])


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first} … {last}"
