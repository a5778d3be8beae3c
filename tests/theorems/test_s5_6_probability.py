"""docs/theory.md §5.6: the probability module of the installed theorem suite (`slth.theorems.test_probability`), collected
here so that the repository's test command runs it; `slth selftest` runs the same tests from an
installed package."""

from slth.theorems.test_probability import *  # noqa: F401,F403
