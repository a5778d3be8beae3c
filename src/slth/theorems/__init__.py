"""docs/theory.md §5 as a property-based test suite that ships with slth.

One module per property (``test_invariant`` §5.1, ``test_identity`` §5.2, ``test_sandwich`` §5.3,
``test_exactness`` §5.4, ``test_monotonicity`` §5.5, ``test_probability`` §5.6, ``test_relaxation`` §5.7,
``test_counting`` §5.8), and two more: ``test_assumptions`` (§1, a target above norm 1 is refused) and
``test_liveness`` (§2.3, no dead weight). Every test states in its docstring the statement it checks,
the paper and theorem, and the rule that judges it:

- identities are checked in float64 to round-off (:data:`slth.measure.ROUNDOFF` or a stated atol);
- solvers are checked against brute force over all subsets, or an independent exact reference at
  counts where 2^n subsets are out of reach;
- probabilistic statements use fixed seeds and an exact binomial test whose false-alarm rate is
  :data:`FALSE_ALARM` (:func:`binomial_verdict`), never a tolerance tuned to a seed.

The properties run over every registered construction (``slth.constructions.CONSTRUCTIONS``), so a
user's own construction, once registered, is checked by the same suite: ``slth selftest --import
mymodule``, or ``pytest --pyargs slth.theorems -p slth.theorems.plugin``. Profiles: ``ci`` (fast) and
``thorough`` (many more examples and trials), chosen with ``--profile`` or ``SLTH_PROFILE``.
"""

from __future__ import annotations

import dataclasses

import scipy.stats

from slth.measure import width

#: Probability that a probabilistic theorem test fails although the construction satisfies the
#: theorem (per test): the test fails only if the observed count has a p-value below this.
FALSE_ALARM = 1e-6

#: Confidence of the Clopper-Pearson interval reported beside an observed rate (the measurement's,
#: :func:`slth.measure.width.fraction_interval`).
CONFIDENCE = width.CONFIDENCE


@dataclasses.dataclass(frozen=True)
class Verdict:
    """An observed count against a claimed probability.

    ``k`` events in ``n`` independent trials, claimed probability ``p`` (an upper bound when
    ``alternative`` is ``"greater"``, an exact value when ``"two-sided"``); ``p_value`` of the exact
    binomial test; ``interval`` the Clopper-Pearson interval of k/n; ``passed`` = p_value >= FALSE_ALARM.
    """

    k: int
    n: int
    p: float
    alternative: str
    p_value: float
    interval: tuple[float, float]
    passed: bool

    @property
    def rate(self) -> float:
        return self.k / self.n


def binomial_verdict(k: int, n: int, p: float, *, alternative: str = "greater") -> Verdict:
    """Judge ``k`` events in ``n`` trials against probability ``p`` with an exact binomial test.

    ``"greater"``: the claim is "rate <= p" (a bound, e.g. failure rate <= δ); the test rejects when
    P(X >= k | p) < :data:`FALSE_ALARM`. ``"two-sided"``: the claim is "rate = p" (an exact law).

    >>> binomial_verdict(0, 100, 0.2).passed, binomial_verdict(60, 100, 0.2).passed
    (True, False)
    """
    if alternative not in ("greater", "two-sided"):
        raise ValueError(f"alternative {alternative!r} must be 'greater' or 'two-sided'")
    test = scipy.stats.binomtest(k, n, p, alternative=alternative)
    # the two-sided interval describes the observed rate whatever the test's alternative
    return Verdict(k, n, float(p), alternative, float(test.pvalue), width.fraction_interval(k, n),
                   bool(test.pvalue >= FALSE_ALARM))


def names(prop: str) -> list[str]:
    """The registered constructions the suite checks property ``prop`` on: those whose registry entry
    lists it (:func:`slth.constructions.having`), narrowed to the comma-separated names in
    ``SLTH_THEOREM_CONSTRUCTIONS`` if that is set (the mutation script checks the two papers'
    constructions only, whose shared code its mutations plant errors in)."""
    import os

    from slth import constructions

    chosen = constructions.having(prop)
    only = os.environ.get("SLTH_THEOREM_CONSTRUCTIONS")
    if only:
        wanted = [n.strip() for n in only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(constructions.REGISTRY))
        if unknown:
            raise ValueError(f"SLTH_THEOREM_CONSTRUCTIONS names unknown constructions {unknown}; "
                             f"allowed: {sorted(constructions.REGISTRY)}")
        chosen = [n for n in chosen if n in wanted]
    return chosen
