"""Estimators of the separation study: the L2 error of a residual with its interval, and the target's L2 norm."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from slth import checks
from slth.errors import InputError

#: Confidence level of the L2 interval.
CONFIDENCE = 0.95
#: How the L2 interval is computed (recorded with every report).
INTERVAL = ("CLT normal interval on the mean squared error over the test sample, mse ± z·sd/√n, "
            "endpoints mapped through sqrt (lower end clipped at 0)")


@dataclasses.dataclass(frozen=True)
class L2Estimate:
    """sqrt(E[r²]) estimated from n residuals r, with its interval [low, high] at ``confidence``."""

    value: float
    low: float
    high: float
    n: int
    confidence: float = CONFIDENCE


def l2_error(residuals, *, confidence: float = CONFIDENCE) -> L2Estimate:
    """L2 norm of a residual from samples: sqrt(mean r²), with a CLT interval (see :data:`INTERVAL`).

    Args:
      residuals: (n,) values f(x_i) − g(x_i) at i.i.d. inputs, n >= 2, finite.
      confidence: in (0, 1).
    Returns:
      L2Estimate(value, low, high, n).
    """
    r = np.asarray(residuals, np.float64).reshape(-1)
    if r.size < 2 or not np.all(np.isfinite(r)):
        raise InputError(f"l2_error needs at least 2 finite residuals; got {r.size} values, "
                         f"{int(r.size - np.isfinite(r).sum())} not finite")
    checks.open_unit("confidence", confidence)
    import scipy.stats      # here, not at import: it takes 0.4 s to load

    sq = r * r
    mse = float(sq.mean())
    half = float(scipy.stats.norm.ppf(0.5 + confidence / 2) * sq.std(ddof=1) / math.sqrt(sq.size))
    return L2Estimate(math.sqrt(mse), math.sqrt(max(mse - half, 0.0)), math.sqrt(mse + half), int(sq.size),
                      confidence)


def target_l2_norm(d: int) -> float:
    """‖f‖_L2 = sqrt(1/(2d)) for f = σ(⟨w*, ·⟩), ‖w*‖ = 1, under both input laws of
    :data:`~slth.studies.separation.samplers.INPUTS` (⟨w*, x⟩ is symmetric with E⟨w*, x⟩² = 1/d,
    and σ keeps half of the second moment)."""
    return math.sqrt(1.0 / (2 * d))
