"""docs/theory.md §5.1: the invariant module of the installed theorem suite (`slth.theorems.test_invariant`), collected
here so that the repository's test command runs it; `slth selftest` runs the same tests from an
installed package."""

from slth.theorems.test_invariant import *  # noqa: F401,F403
