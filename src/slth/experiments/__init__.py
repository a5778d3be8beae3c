"""Experiments: provenance of every result now; sweep specs, runner and results store with the
bound-checking sweeps (the specs slth ships are package data, ``slth/specs/``, found by name by
:mod:`slth.experiments.shipped`)."""
