"""Theoretical bounds as plain functions (numpy, scipy and math; no JAX), each citing its paper.

:mod:`slth.bounds.theory` holds the one list (:data:`BOUNDS`) that ``slth check``, the summaries and
the figures print beside a measured width; a construction names its companion bound in its registry
entry (``Construction.bound``).

Theory beside measurement: each bound is callable with the same arguments as the measurement it is
compared with, and the width bounds return one type, :class:`Width`, in slth's layout (c candidates
per block and sign, h_i = 2·d_{i-1}·c_i, the parameter count of ``RandomSpec``).

Which constants each bound states and which it hides:

- :func:`pensia_width` (Pensia et al. 2020, Theorem 1), n_i = ⌈C ln(d_{i-1} d_i l / min(ε, δ))⌉:
  the form is proven, the universal constant C is not given numerically (a keyword, to measure).
- :func:`pensia_random_params_asymptotic`, 4 C m ln(m/ε) with m = d² l: the same hidden C.
- :func:`lueker_samples` (Lueker 1998), C ln(2/ε): C not given numerically.
- :func:`malach_width` (Malach et al. 2020, Theorem 2.1), C d⁴ l² (1/ε)² ln(1/δ) times the target
  width: constants unavailable to us; C and every exponent are hypotheses (keywords) to measure.
- :func:`selection_width` (the selection construction of Malach et al.): explicit, no hidden
  constant; slth's own union bound over the exact hit probability :func:`q_hit` of the product law
  :func:`product_density`, with the per-weight budget :func:`selection_eta` from the certificate.
- :func:`counting_min_params`, :func:`counting_min_hidden_width`, :func:`counting_width` (Pensia et
  al. 2020, Theorem 2): explicit lower bounds; ``counting_width`` extends the argument to deep
  targets through a sub-class (proof in its docstring).
- :func:`da_cunha_width` (da Cunha, Natale & Viennot 2022, Theorem 1), for CNN targets:
  n_i = ⌈C ln(k² C_{i-1} C_i ℓ / min(ε, δ))⌉ candidates per kernel entry and sign, C hidden as in Pensia
  et al.'s (called with the target's geometry instead of dims).
"""

from slth.bounds.counting import (counting_applies, counting_domain, counting_min_hidden_width, counting_min_params,
                                  counting_width)
from slth.bounds.da_cunha import da_cunha_log_term, da_cunha_width
from slth.bounds.malach import malach_entrywise, malach_width
from slth.bounds.natale import (binary_entropy, density, natale_min_density, natale_min_params,
                                ticket_density)
from slth.bounds.pensia import lueker_samples, pensia_log_term, pensia_random_params_asymptotic, pensia_width
from slth.bounds.selection import (SPLITS, product_cdf_from_zero, product_density, q_hit, q_min,
                                   selection_eta, selection_width)
from slth.bounds.theory import BOUNDS, CONV_LOG_BOUND, LOG_BOUND, Bound, bound
from slth.bounds.width import KINDS, Width, width_from_candidates

__all__ = [
    "BOUNDS",
    "Bound",
    "CONV_LOG_BOUND",
    "LOG_BOUND",
    "KINDS",
    "SPLITS",
    "Width",
    "binary_entropy",
    "bound",
    "counting_applies",
    "counting_domain",
    "counting_min_hidden_width",
    "counting_min_params",
    "counting_width",
    "da_cunha_log_term",
    "da_cunha_width",
    "density",
    "lueker_samples",
    "malach_entrywise",
    "malach_width",
    "natale_min_density",
    "natale_min_params",
    "pensia_log_term",
    "pensia_random_params_asymptotic",
    "pensia_width",
    "product_cdf_from_zero",
    "product_density",
    "q_hit",
    "q_min",
    "selection_eta",
    "selection_width",
    "ticket_density",
    "width_from_candidates",
]
