"""Figure 6: how tight the two-sided error is (THEORY §3). For every ticket the width searches settled
on (the certified ticket and the optimistic one of every trial of the three width sweeps), its
certificate (a proof that E <= certificate) against its adversarial lower bound (an input where the
error is that large): the true sup error lies between. Points on the diagonal are exact; the gap
above it is what the certificate gives away."""

from pathlib import Path

import numpy as np

from slth import plotting
from slth.experiments.store import read_table

SWEEPS = ("width_vs_d", "width_vs_l", "width_vs_eps")


def main(results_dir, out_dir):
    points = []
    for sweep in SWEEPS:
        for r in read_table(Path(results_dir) / sweep):
            for which, c, cert, lower in (("certified", r["certified"], r["certificate"], r["lower_bound_at_certified"]),
                                          ("optimistic", r["optimistic"], r["certificate_at_optimistic"], r["lower_bound"])):
                if c is not None and cert is not None and lower is not None:
                    points.append({"sweep": sweep, "construction": r["construction"], "cell": r["cell"],
                                   "seed": r["seed"], "ticket": which, "c": c, "certificate": cert,
                                   "lower_bound": lower, "ratio": cert / lower if lower > 0 else None})
    # a certified and an optimistic ticket of the same trial at the same c are the same ticket
    unique = {(p["sweep"], p["cell"], p["seed"], p["c"]): p for p in points}
    points = list(unique.values())
    fig, axes = plotting.figure()
    ax = axes[0][0]
    positive = [p for p in points if p["lower_bound"] > 0]
    for con in dict.fromkeys(p["construction"] for p in positive):
        mine = [p for p in positive if p["construction"] == con]
        ratio = np.median([p["ratio"] for p in mine])
        ax.scatter([p["lower_bound"] for p in mine], [p["certificate"] for p in mine], s=12, alpha=0.7,
                   marker=plotting.marker(con), color=plotting.color(con),
                   label=f"{con}: {len(mine)} tickets, median certificate / lower bound = {ratio:.2f}")
    lo = min(min(p["lower_bound"] for p in positive), min(p["certificate"] for p in positive))
    hi = max(max(p["lower_bound"] for p in positive), max(p["certificate"] for p in positive))
    ax.plot([lo, hi], [lo, hi], color=plotting.BOUND_COLOR, linestyle="--", linewidth=1, label="certificate = lower bound")
    violated = [p for p in points if p["lower_bound"] > p["certificate"] + 1e-12]
    if violated:
        ax.text(0.02, 0.98, f"FINDING: {len(violated)} tickets with lower bound > certificate", color="red",
                transform=ax.transAxes, va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("adversarial lower bound on sup‖f − g_S‖ (unit ball)")
    ax.set_ylabel("certificate (upper bound)")
    ax.set_title("Two-sided error of the same tickets")
    plotting.legend(ax, fontsize=7)
    return plotting.save(fig, out_dir, "fig6_two_sided", points,
                         ["sweep", "construction", "cell", "seed", "ticket", "c", "certificate", "lower_bound", "ratio"])
