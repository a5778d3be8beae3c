"""docs/theory.md §5.2: the identity module of the installed theorem suite (`slth.theorems.test_identity`), collected
here so that the repository's test command runs it; `slth selftest` runs the same tests from an
installed package."""

from slth.theorems.test_identity import *  # noqa: F401,F403
