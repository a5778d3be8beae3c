"""The sweep kinds: :data:`KINDS`, one module per kind, each everything a sweep of that kind needs.

The spec (:mod:`slth.experiments.spec`), the runner, the store and the summary are generic: they read
the kind's module from this table (``spec.plan``), and so does :func:`slth.budget.check_spec`, by duck
typing (the budget does not import the experiments).

The interface of a kind module (:data:`INTERFACE`; ``tests/test_sweep_kinds.py`` checks every kind
has it):

- ``NAME``: its ``kind = "..."`` in a spec (the key of :data:`KINDS`).
- Schema: ``GRID`` and ``TRIALS``, the keys allowed in [grid] and [trials] (``count`` and ``seed`` are
  checked by the spec); ``GRID_TABLES``, the [grid] keys that may be a table instead of a list;
  ``check(grid, lists, trials, problems) -> (axes, settings)``: validation (every problem appended to
  ``problems``, with :mod:`slth.checks` through :mod:`._shared`), defaults, and the axes of its grid,
  lists whose product bounds the number of cells (checked against ``MAX_UNITS`` before cells are made).
- Cells: ``cells(axes, settings)`` yields ``(key, params)`` per cell in grid order; ``params`` are
  plain JSON values (they, their order and the settings make the spec's fingerprint).
- Rows: ``rows(spec, cell, trials, meta) -> list[dict]``, one row per trial of ``trials``, ``meta``
  the provenance fields; ``BATCHED``: True if the runner gives it all the trials of a cell at once,
  False if one trial per call (one journal commit per trial).
- Columns: ``COLUMNS``, ``(name, type)`` in table order; the type is how ``results.csv`` reads the
  text back (``int``, ``float``, ``bool``, ``str``; ``tuple`` for widths such as ``8,16,4``).
- Summary: ``SUMMARY_COLUMNS`` and ``summary(spec, rows) -> (table, fitted, text)``: one line per
  cell, the JSON-ready fits (``fits.json``) and the printed report.
- Budget: ``estimate(spec, cell) -> slth.budget.Estimate``, the peak memory of a cell from the
  primitives of :mod:`slth.budget`, and ``ADVICE``, what to lower when a cell does not fit.
- Optional: ``joint_fits(tables) -> (fitted, text)``, fits over the rows of several folders of the
  kind at once (``slth fit`` with several folders; width only).

Adding a sweep kind: write ``src/slth/experiments/kinds/<kind>.py`` with the interface above (its
docstring shows its spec) and add it to :data:`KINDS`; write its TOML specs in ``slth/specs/`` and
``slth/specs/quick/`` (and ``slth/specs/toy/`` if a figure reads it); add its tests (spec
validation and rows, in ``tests/test_sweep_kinds.py``). Nothing else changes: not the spec, the
runner, the store, the summary nor the budget.
"""

from __future__ import annotations

from slth.experiments.kinds import coverage, digits, imp, instability, planted, separation, weight_error, width
from slth.experiments.kinds import digits_cnn
from slth.experiments.kinds import conv_width

#: kind name -> its module, in the order a spec's error message lists them.
KINDS = {k.NAME: k for k in (width, coverage, digits, separation, weight_error, imp, instability, planted, digits_cnn,
                             conv_width)}

#: What every kind module provides: constants, then functions.
INTERFACE = {
    "constants": ("NAME", "GRID", "TRIALS", "GRID_TABLES", "BATCHED", "COLUMNS", "SUMMARY_COLUMNS", "ADVICE"),
    "functions": ("check", "cells", "rows", "summary", "estimate"),
}

__all__ = ["INTERFACE", "KINDS", "conv_width", "coverage", "digits", "digits_cnn", "imp", "instability", "planted",
           "separation", "weight_error", "width"]
