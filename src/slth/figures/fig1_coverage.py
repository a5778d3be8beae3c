"""Figure 1: random subset-sum coverage (docs/theory.md §4.2). The probability that c random values
approximate every z in [-1, 1] within ε (covering radius η* <= ε), versus c, for several ε, for the
candidate products a = v·|u| of a block and for plain samples v (u, v ~ U[-1, 1]), with 95%
Clopper-Pearson intervals. Dashed: Lueker's c = C ln(2/ε) with C fitted per kind of values (least
squares through the origin on the smallest grid c at which a 1 − ε fraction of draws is ε-dense)."""

from pathlib import Path

import numpy as np
import scipy.stats

from slth import plotting
from slth.experiments.store import read_table

SWEEPS = ("coverage_vs_c",)
#: Shades for the ε values, darkest for the smallest.
_SHADES = ("#9ecae1", "#4292c6", "#08519c", "#08306b", "#041c3f")


def main(results_dir, out_dir):
    rows = read_table(Path(results_dir) / "coverage_vs_c")
    spec_eps = plotting.read_json(Path(results_dir) / "coverage_vs_c" / "fits.json").get("lueker", [])
    eps_list = sorted({e["eps"] for e in spec_eps}, reverse=True) or [0.1, 0.03, 0.01]
    kinds = list(dict.fromkeys(r["values"] for r in rows))
    fig, axes = plotting.figure(1, len(kinds), size=(5.0 * len(kinds), 3.8))
    table = []
    for ax, kind in zip(axes[0], kinds):
        mine = [r for r in rows if r["values"] == kind]
        cs = sorted({r["c"] for r in mine})
        reached = []
        for e, shade in zip(eps_list, _SHADES):
            hits = [[r["eta"] <= e for r in mine if r["c"] == c] for c in cs]
            k = np.array([sum(h) for h in hits])
            n = np.array([len(h) for h in hits])
            ci = [scipy.stats.binomtest(int(a), int(b)).proportion_ci(method="exact") for a, b in zip(k, n)]
            p = k / n
            ax.plot(cs, p, marker="o", color=shade, label=f"ε = {e:g}")
            ax.fill_between(cs, [c.low for c in ci], [c.high for c in ci], color=shade, alpha=0.2, linewidth=0)
            first = next((c for c, pp in zip(cs, p) if pp >= 1 - e), None)
            reached.append((e, first))
            for c, a, b, lo in zip(cs, k, n, ci):
                table.append({"values": kind, "eps": e, "c": c, "trials": int(b), "covered": int(a),
                              "probability": a / b, "ci_low": lo.low, "ci_high": lo.high})
        pts = [(np.log(2 / e), c) for e, c in reached if c is not None]
        C = sum(x * c for x, c in pts) / sum(x * x for x, _ in pts) if pts else None
        for e, shade in zip(eps_list, _SHADES):
            if C is not None:
                ax.axvline(C * np.log(2 / e), color=shade, linestyle="--", linewidth=1.1,
                           label=f"Lueker: C·ln(2/ε), C = {C:.2f} (fit)")
        for r in table:
            if r["values"] == kind:
                r["lueker_C_fit"] = C
                r["lueker_c"] = None if C is None else C * np.log(2 / r["eps"])
        title = {"products": "products a = v·|u| (a block's candidates)",
                 "samples": "plain samples v (Lueker's setting)"}.get(kind, kind)
        ax.set_title(title)
        ax.set_xlabel("number of random values c")
        ax.set_ylabel("P(every z in [−1, 1] within ε)")
        ax.set_ylim(-0.02, 1.02)
        plotting.legend(ax, outside=False, fontsize=7)
    return plotting.save(fig, out_dir, "fig1_coverage", table,
                         ["values", "eps", "c", "trials", "covered", "probability", "ci_low", "ci_high",
                          "lueker_C_fit", "lueker_c"])
