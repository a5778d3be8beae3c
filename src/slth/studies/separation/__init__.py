"""Neuron pruning versus weight pruning on one ReLU neuron, at equal numbers of random parameters.

docs/theory.md §4.4 (Malach et al. 2020 §3; Yehudai & Shamir 2019). The target is a single neuron
f(x) = σ(⟨w*, x⟩) in dimension d with ‖w*‖ = 1, i.e. the depth-2 slth target of widths (d, 1, 1),
W_1 = w*ᵀ and W_2 = [[1]]. Inputs are x ~ N(0, I_d/d) (``"gaussian"``) or x uniform on the unit
sphere (``"sphere"``); under both laws ⟨w*, x⟩ is symmetric with variance 1/d, so
‖f‖_L2² = E[σ(⟨w*, x⟩)²] = 1/(2d) exactly (:func:`target_l2_norm`).

Methods (:mod:`.methods`), at one parameter budget (the size of the weight-pruning random network,
``RandomSpec(dims=(d, 1, 1), candidates=c).random_params()`` = 2cd(d+1) + 4c): ``random-features``,
``neuron-greedy``, ``neuron-exact`` on a depth-2 net of h = ⌊budget/(d+1)⌋ hidden units, and the
weight-pruning constructions ``subset-sum`` and ``selection``.

Every method is scored on the same independent test sample: the L2 error sqrt(E[(f − g)²]) with a
95% CLT interval (:func:`l2_error`), the relative error L2 / ‖f‖_L2 (g = 0 scores 1 up to sampling
error), and, as the other end of the sup error, ``sup_observed`` = max over test points of
|f(x) − g(x)| / ‖x‖, a lower bound on sup_{‖x‖<=1} |f − g| (both f and g are positively homogeneous).
The same arguments give the same bits (key streams: :mod:`.samplers`); everything after sampling is
float64 NumPy/SciPy.

One entry path: the unit is :func:`row_for` (one method on one (d, c) cell); :func:`separation` (the
``slth separation`` command) and a ``separation`` sweep both build their rows with it. One
aggregation of a sweep's rows: :func:`sweep_summary`. Modules, one job each: :mod:`.estimators`,
:mod:`.samplers`, :mod:`.methods`, :mod:`.study`, :mod:`.report`. ``slth.separation`` is this package.
"""

from slth import constructions, measure, nets  # noqa: F401  (attributes of the old module slth.separation)
from slth.studies.separation.estimators import CONFIDENCE, INTERVAL, L2Estimate, l2_error, target_l2_norm
from slth.studies.separation.methods import (EXACT_MAX_UNITS, METHODS, NEURON_METHODS, WEIGHT_METHODS,
                                             exact_subset, features, greedy_subset, random_features)
from slth.studies.separation.report import SUMMARY_COLUMNS, format_report, sweep_summary
from slth.studies.separation.samplers import (INPUTS, STREAM, WEIGHT_BUCKET, _keys, matched_units,
                                              neuron_network, sample_inputs, single_neuron_target,
                                              weight_bucket, weight_spec)
from slth.studies.separation.study import DEFAULTS, SeparationReport, SeparationRow, row_for, separation

__all__ = [
    "CONFIDENCE", "DEFAULTS", "EXACT_MAX_UNITS", "INPUTS", "INTERVAL", "METHODS", "NEURON_METHODS", "STREAM",
    "SUMMARY_COLUMNS", "WEIGHT_BUCKET", "WEIGHT_METHODS", "L2Estimate", "SeparationReport", "SeparationRow",
    "exact_subset", "features", "format_report", "greedy_subset", "l2_error", "matched_units", "neuron_network",
    "random_features", "row_for", "sample_inputs", "separation", "single_neuron_target", "sweep_summary",
    "target_l2_norm", "weight_bucket", "weight_spec",
]
