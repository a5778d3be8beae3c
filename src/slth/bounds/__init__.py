"""Theoretical bounds as plain functions (numpy only), each citing its paper.

Theory beside measurement: each bound is callable with the same arguments as the measurement it
is compared with. More bounds (Malach et al.'s width, Pensia et al.'s C log(·), Lueker) join with
the bound-checking experiments.
"""

from slth.bounds.counting import counting_min_hidden_width, counting_min_params

__all__ = ["counting_min_hidden_width", "counting_min_params"]
