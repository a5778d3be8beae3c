"""Figure 3: minimal width versus the target width d (l = 2, ε = δ = 0.1), both constructions, with
Pensia et al.'s O(log(d²l/ε)) (C fitted), Malach et al.'s O(d⁴l²) form (constant fitted) and the
counting lower bound."""

from slth import plotting

SWEEPS = ("width_vs_d",)


def main(results_dir, out_dir):
    return plotting.width_versus(results_dir, out_dir, "width_vs_d", "d", "fig3_width_vs_d",
                                 "Minimal width versus target width")
