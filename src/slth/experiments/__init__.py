"""Experiments: provenance of every result now; sweep specs, runner and results store with the
bound-checking sweeps (see the repository's experiments/ folder)."""
