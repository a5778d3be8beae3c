"""Measurement: the two-sided error of a ticket (``error`` for the 2l ``pairs`` layout and the lower
bound, ``deep`` for the ``l+1`` layout and the ``ticket_*`` entry points of either, ``propagate`` for the
tighter certificate, ``exact`` and ``exact_program`` for the exact error of small tickets), the smallest
width that reaches a given ε (``width``), and the fits of the constants and exponents the theorems hide
(``fit``). The true error lies in [lower_bound, certificate]; ``ticket_certificate`` is the tighter
certificate (bound propagation, never above docs/theory.md §3's product of norms, ``ticket_norm_certificate``),
and ``exact.exact_error`` brackets the error itself to a relative 1e-3 where it is affordable."""

from slth.measure.error import (
    ROUNDOFF,
    LowerBound,
    PairMaps,
    certificate,
    compact_forward,
    gap_at,
    lower_bound,
    lower_bound_key,
    max_weight_error,
    pair_maps,
    weight_errors,
)
from slth.measure.fit import (Cell, Interval, LogConstantFit, PowerLawFit, cells_from_rows,
                              fit_log_constant, fit_power_law)
from slth.measure.deep import (
    CopyMaps,
    copy_certificate,
    copy_maps,
    copy_weight_errors,
    ticket_certificate,
    ticket_gap_at,
    ticket_lower_bound,
    ticket_norm_certificate,
    ticket_maps,
    ticket_max_weight_error,
    ticket_weight_errors,
)
from slth.measure.width import (MinWidth, layout_of, min_width, network_spec, quantile_width, shape_bucket,
                                trial_target, trial_width)

__all__ = [
    "ROUNDOFF",
    "Cell",
    "Interval",
    "LogConstantFit",
    "PowerLawFit",
    "cells_from_rows",
    "fit_log_constant",
    "fit_power_law",
    "shape_bucket",
    "CopyMaps",
    "LowerBound",
    "MinWidth",
    "PairMaps",
    "certificate",
    "compact_forward",
    "copy_certificate",
    "copy_maps",
    "copy_weight_errors",
    "gap_at",
    "layout_of",
    "lower_bound",
    "lower_bound_key",
    "max_weight_error",
    "min_width",
    "network_spec",
    "pair_maps",
    "quantile_width",
    "ticket_certificate",
    "ticket_lower_bound",
    "ticket_norm_certificate",
    "ticket_gap_at",
    "ticket_maps",
    "ticket_max_weight_error",
    "ticket_weight_errors",
    "trial_target",
    "trial_width",
    "weight_errors",
]
