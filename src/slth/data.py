"""Alias: ``slth.data`` IS the module :mod:`slth.studies.digits.data` (its home since the studies were regrouped)."""

import sys

from slth.studies.digits import data as _data

sys.modules[__name__] = _data
