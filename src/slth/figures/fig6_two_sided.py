"""Figure 6: how tight the two-sided error is (docs/theory.md §3). For every ticket the width searches settled
on (the certified ticket and the optimistic one of every trial of the three width sweeps), its
certificate (a proof that E <= certificate: the bound propagation of slth.measure.propagate), docs/theory.md
§3's product-of-norms certificate (hollow) and, where the sweep computed it, the exact error's upper
end (x, slth.measure.exact), against its adversarial lower bound (an input where the error is that
large): the true sup error lies between. Points on the diagonal are exact; the gap above it is what
an upper bound gives away."""

from pathlib import Path

import numpy as np

from slth import plotting
from slth.experiments.store import read_table

SWEEPS = ("width_vs_d", "width_vs_l", "width_vs_eps")


def main(results_dir, out_dir):
    points = []
    for sweep in SWEEPS:
        for r in read_table(Path(results_dir) / sweep):
            for which, c, cert, norms, lower, ex_lo, ex_hi in (
                    ("certified", r["certified"], r["certificate"], r.get("certificate_norms"),
                     r["lower_bound_at_certified"], r.get("exact_lower"), r.get("exact_upper")),
                    ("optimistic", r["optimistic"], r["certificate_at_optimistic"],
                     r.get("certificate_norms_at_optimistic"), r["lower_bound"],
                     r.get("exact_lower_at_optimistic"), r.get("exact_upper_at_optimistic"))):
                if c is not None and cert is not None and lower is not None:
                    points.append({"sweep": sweep, "construction": r["construction"], "cell": r["cell"],
                                   "seed": r["seed"], "ticket": which, "c": c, "certificate": cert,
                                   "certificate_norms": norms, "lower_bound": lower,
                                   "exact_lower": ex_lo, "exact_upper": ex_hi,
                                   "ratio": cert / lower if lower > 0 else None,
                                   "ratio_norms": norms / lower if norms is not None and lower > 0 else None})
    # a certified and an optimistic ticket of the same trial at the same c are the same ticket
    unique = {(p["sweep"], p["cell"], p["seed"], p["c"]): p for p in points}
    points = list(unique.values())
    fig, axes = plotting.figure()
    ax = axes[0][0]
    positive = [p for p in points if p["lower_bound"] > 0]
    for con in dict.fromkeys(p["construction"] for p in positive):
        mine = [p for p in positive if p["construction"] == con]
        ratio = np.median([p["ratio"] for p in mine])
        ax.scatter([p["lower_bound"] for p in mine], [p["certificate"] for p in mine], s=12, alpha=0.8,
                   marker=plotting.marker(con), color=plotting.color(con),
                   label=f"{con}: certificate, {len(mine)} tickets, median / lower bound = {ratio:.2f}")
        norms = [p for p in mine if p["ratio_norms"] is not None]
        if norms:
            ax.scatter([p["lower_bound"] for p in norms], [p["certificate_norms"] for p in norms], s=12, alpha=0.5,
                       marker=plotting.marker(con), facecolors="none", edgecolors=plotting.color(con),
                       label=f"{con}: product of norms (docs/theory.md §3), median / lower bound = "
                             f"{np.median([p['ratio_norms'] for p in norms]):.2f}")
        exact = [p for p in mine if p["exact_upper"] is not None]
        if exact:
            ax.scatter([p["lower_bound"] for p in exact], [p["exact_upper"] for p in exact], s=18, marker="x",
                       color=plotting.color(con), linewidths=0.8,
                       label=f"{con}: exact error (upper end), {len(exact)} tickets, median certificate / exact = "
                             f"{np.median([p['certificate'] / p['exact_upper'] for p in exact]):.2f}")
    values = [p["lower_bound"] for p in positive] + [p["certificate"] for p in positive] + \
        [p["certificate_norms"] for p in positive if p["certificate_norms"] is not None]
    lo, hi = min(values), max(values)
    ax.plot([lo, hi], [lo, hi], color=plotting.BOUND_COLOR, linestyle="--", linewidth=1, label="upper = lower bound")
    violated = [p for p in points if p["lower_bound"] > p["certificate"] + 1e-12
                or (p["exact_upper"] is not None and p["lower_bound"] > p["exact_upper"] + 1e-12)]
    if violated:
        ax.text(0.02, 0.98, f"FINDING: {len(violated)} tickets with lower bound > an upper bound", color="red",
                transform=ax.transAxes, va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.log_ticks(ax, "x")
    plotting.log_ticks(ax, "y")
    ax.set_xlabel("adversarial lower bound on sup‖f − g_S‖ (unit ball)")
    ax.set_ylabel("upper bound: certificate, product of norms, exact")
    ax.set_title("Two-sided error of the same tickets")
    plotting.legend(ax, fontsize=6)
    return plotting.save(fig, out_dir, "fig6_two_sided", points,
                         ["sweep", "construction", "cell", "seed", "ticket", "c", "certificate", "certificate_norms",
                          "lower_bound", "exact_lower", "exact_upper", "ratio", "ratio_norms"])
