"""Figure 4: minimal width versus the target depth l (d = 8, ε = δ = 0.1), both constructions, with
the same bounds as figure 3."""

from slth import plotting

SWEEPS = ("width_vs_l",)


def main(results_dir, out_dir):
    return plotting.width_versus(results_dir, out_dir, "width_vs_l", "l", "fig4_width_vs_l",
                                 "Minimal width versus target depth")
