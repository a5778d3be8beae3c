"""Figure 5: minimal width versus the accuracy 1/ε (target 8,8,8), both constructions, with the same
bounds as figure 3."""

from slth import plotting

SWEEPS = ("width_vs_eps",)


def main(results_dir, out_dir):
    return plotting.width_versus(results_dir, out_dir, "width_vs_eps", "inv_eps", "fig5_width_vs_eps",
                                 "Minimal width versus accuracy")
