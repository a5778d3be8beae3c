"""The polynomial width of Malach et al. 2020 as a hypothesis with explicit exponents (docs/theory.md §4.1).

The paper's exact constants were not available to us. Pensia et al. read its Theorem 2.1 as "a
random network a factor O(d⁴ l²) wider than a width-d target"; Natale et al. restate it as Õ(m²/ε²)
random parameters for m = d² l. slth therefore exposes the form with every exponent and the constant
as keyword arguments: they are hypotheses to measure, not inputs the paper fixes.
"""

from __future__ import annotations

import math

from slth.bounds.width import (Width, ceil_count, check_dims, check_nonnegative, check_open_unit,
                               check_positive, width_from_candidates)


def malach_width(dims, eps: float, delta: float, *, C: float = 1.0, d_exponent: float = 4,
                 l_exponent: float = 2, eps_exponent: float = 2, delta_exponent: float = 1) -> Width:
    """Width of the selection construction in the form of Malach et al.'s Theorem 2.1:

        factor = C · d^{d_exponent} · l^{l_exponent} · (1/ε)^{eps_exponent} · ln(1/δ)^{delta_exponent},
        d = max(dims),

    the random network being ``factor`` times wider than the target. The log factor is the form of
    the high-probability term (the theorem's width is polynomial in log(1/δ)); the defaults are
    Pensia et al.'s reading (d⁴ l²) times the 1/ε² per-weight cost of selection (docs/theory.md §4.1).
    C and all four exponents are hypotheses, not constants the paper states. Kind ``hidden-constant``.

    Convention (slth's layout): "factor times wider" is read per block. Pair i has d_{i-1} blocks,
    so its hidden width must be at least factor · d_{i-1}; slth's hidden width is 2·d_{i-1}·c_i, so

        c = ⌈factor / 2⌉        candidates per block and sign, the same for every pair.

    For a width-d target (all d_i = d) this is exactly "hidden width >= factor · d" (h_i is factor·d
    rounded up to a multiple of 2d). For unequal widths it is one reading among several (d_i in place
    of d_{i-1} is another); d in the factor is always max(dims).

    References: Malach, Yehudai, Shalev-Shwartz, Shamir, "Proving the Lottery Ticket Hypothesis:
    Pruning is All You Need", ICML 2020, Theorem 2.1; Pensia et al. 2020, §1 (the d⁴l² reading).

    Args:
      dims: target widths d_0..d_l (string or sequence). eps: accuracy in (0, 1). delta: failure
      probability in (0, 1). C: constant > 0. d_exponent, l_exponent, eps_exponent,
      delta_exponent: exponents >= 0.
    Returns:
      A :class:`Width`; ``details`` holds the factor.

    >>> w = malach_width((2, 2), 0.5, math.exp(-1))    # factor = 2⁴ · 1² · 2² · 1 = 64, c = 32
    >>> w.candidates, w.hidden_widths, w.detail("factor")
    (32, (128,), 64.0)
    """
    dims = check_dims(dims)
    eps = check_open_unit("eps", eps)
    delta = check_open_unit("delta", delta)
    C = check_positive("C", C)
    exps = {name: check_nonnegative(name, v) for name, v in [
        ("d_exponent", d_exponent), ("l_exponent", l_exponent), ("eps_exponent", eps_exponent),
        ("delta_exponent", delta_exponent)]}
    d, depth = max(dims), len(dims) - 1
    try:
        factor = (C * d ** exps["d_exponent"] * depth ** exps["l_exponent"]
                  * (1 / eps) ** exps["eps_exponent"] * math.log(1 / delta) ** exps["delta_exponent"])
    except OverflowError:
        factor = math.inf
    c = ceil_count("malach factor / 2", factor / 2)
    return width_from_candidates(dims, c, name="malach", kind="hidden-constant", eps=eps, delta=delta,
                                 constant=C, details=(("factor", factor), *exps.items()))


def malach_entrywise(layers) -> float:
    """max_i ‖W_i‖_max·√(fan-in_i): Theorem 2.1's entrywise assumption on the target asks it to be <= 1.

    Malach et al.'s class has, besides ‖W_i‖_2 <= 1, every entry of W_i at most 1/√n_in in magnitude
    (n_in the layer's fan-in; docs/theory.md §4.1 states our reading of it). slth checks the spectral
    norm only, so this measures how far a target is outside the class the ``malach`` row speaks of.

    >>> malach_entrywise([[[0.5, 0.5], [0.5, -0.5]]])    # 0.5 · √2
    0.7071067811865476
    """
    import numpy as np

    worst = 0.0
    for w in layers:
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 2 or w.size == 0:
            raise ValueError(f"malach_entrywise: every layer must be a non-empty 2-D array; got shape {w.shape}")
        worst = max(worst, float(np.abs(w).max()) * math.sqrt(w.shape[1]))
    return worst

