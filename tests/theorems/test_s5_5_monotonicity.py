"""docs/theory.md §5.5: the monotonicity module of the installed theorem suite (`slth.theorems.test_monotonicity`), collected
here so that the repository's test command runs it; `slth selftest` runs the same tests from an
installed package."""

from slth.theorems.test_monotonicity import *  # noqa: F401,F403
