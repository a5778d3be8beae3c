"""docs/theory.md §1: the assumptions module of the installed theorem suite (`slth.theorems.test_assumptions`),
collected here so that the repository's test command runs it; `slth selftest` runs the same tests from
an installed package."""

from slth.theorems.test_assumptions import *  # noqa: F401,F403
