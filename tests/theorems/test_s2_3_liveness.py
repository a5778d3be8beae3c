"""docs/theory.md §2.3: the liveness module of the installed theorem suite (`slth.theorems.test_liveness`),
collected here so that the repository's test command runs it; `slth selftest` runs the same tests from
an installed package."""

from slth.theorems.test_liveness import *  # noqa: F401,F403
