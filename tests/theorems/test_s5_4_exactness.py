"""docs/theory.md §5.4: the exactness module of the installed theorem suite (`slth.theorems.test_exactness`), collected
here so that the repository's test command runs it; `slth selftest` runs the same tests from an
installed package."""

from slth.theorems.test_exactness import *  # noqa: F401,F403
