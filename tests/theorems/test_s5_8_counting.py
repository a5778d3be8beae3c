"""docs/theory.md §5.8: the counting module of the installed theorem suite (`slth.theorems.test_counting`), collected
here so that the repository's test command runs it; `slth selftest` runs the same tests from an
installed package."""

from slth.theorems.test_counting import *  # noqa: F401,F403
