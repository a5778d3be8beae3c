"""Alias: ``slth.digits`` IS the package :mod:`slth.studies.digits` (its home since the studies were regrouped)."""

import sys

from slth.studies import digits as _digits

sys.modules[__name__] = _digits
