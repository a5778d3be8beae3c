"""Measurement: the two-sided error of a ticket (``error``) and the smallest width that reaches a
given ε (``width``), and the fits of
the constants and exponents the theorems hide (``fit``). The true error lies in [lower_bound, certificate] (THEORY §3)."""

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
from slth.measure.width import MinWidth, min_width, quantile_width, shape_bucket, trial_width

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
    "LowerBound",
    "MinWidth",
    "PairMaps",
    "certificate",
    "compact_forward",
    "gap_at",
    "lower_bound",
    "lower_bound_key",
    "max_weight_error",
    "min_width",
    "pair_maps",
    "quantile_width",
    "trial_width",
    "weight_errors",
]
