"""docs/theory.md §5.7: the relaxation module of the installed theorem suite (`slth.theorems.test_relaxation`), collected
here so that the repository's test command runs it; `slth selftest` runs the same tests from an
installed package."""

from slth.theorems.test_relaxation import *  # noqa: F401,F403
