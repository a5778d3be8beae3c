"""docs/theory.md §5.3: the sandwich module of the installed theorem suite (`slth.theorems.test_sandwich`), collected
here so that the repository's test command runs it; `slth selftest` runs the same tests from an
installed package."""

from slth.theorems.test_sandwich import *  # noqa: F401,F403
