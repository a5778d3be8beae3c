"""Alias: ``slth.separation`` IS the package :mod:`slth.studies.separation` (its home since the studies were regrouped)."""

import sys

from slth.studies import separation as _separation

sys.modules[__name__] = _separation
