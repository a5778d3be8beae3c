"""Alias of :mod:`slth.provenance` (its home before the regrouping): old imports keep working."""

from slth.provenance import device, git_revision, record, versions  # noqa: F401
