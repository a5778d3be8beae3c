"""A sweep's summary: the kind's per-cell table, fits and report, written beside its rows as one set of tables.

Everything here is computed from ``results.csv`` alone (``slth fit results/<name>`` recomputes it), so a
summary can always be traced to its rows. What a summary holds is the kind's (``summary`` and
``SUMMARY_COLUMNS`` of its module in :mod:`slth.experiments.kinds`): this module names no kind.
"""

from __future__ import annotations

import json
from pathlib import Path

from slth.experiments import kinds
from slth.experiments.files import csv_text, write_set
from slth.experiments.spec import Spec

# The kinds' summaries under the names tests, benchmarks and paper_figures import from here.
RESAMPLES = kinds.width.RESAMPLES
WIDTH_SUMMARY = kinds.width.SUMMARY_COLUMNS
COVERAGE_SUMMARY = kinds.coverage.SUMMARY_COLUMNS
WEIGHT_ERROR_SUMMARY = kinds.weight_error.SUMMARY_COLUMNS
SEPARATION_SUMMARY = kinds.separation.SUMMARY_COLUMNS
DIGITS_SUMMARY = kinds.digits.SUMMARY_COLUMNS
width_summary = kinds.width.width_summary
joint_width_fits = kinds.width.joint_width_fits
coverage_summary = kinds.coverage.coverage_summary
weight_error_summary = kinds.weight_error.weight_error_summary
separation_summary = kinds.separation.study.sweep_summary
digits_summary = kinds.digits.study.sweep_summary


def render(spec: Spec, rows: list[dict]) -> tuple[str, str, str]:
    """The summary of ``rows``: the text of ``summary.csv``, the text of ``fits.json`` and the
    printable report."""
    table, fitted, text = spec.plan.summary(spec, rows)
    return csv_text(spec.plan.SUMMARY_COLUMNS, table), json.dumps(fitted, indent=2, sort_keys=True) + "\n", text


def write(spec: Spec, rows: list[dict], directory, results: str, *, complete: bool = True) -> str:
    """Compute the summary of ``rows`` (the typed rows of ``results``, the text of ``results.csv``),
    write ``results.csv``, ``summary.csv`` and ``fits.json`` into ``directory`` as one set
    (:func:`slth.experiments.files.write_set`), and return the printable report."""
    directory = Path(directory)
    summary_text, fits_text, text = render(spec, rows)
    write_set(directory, {"results.csv": results, "summary.csv": summary_text, "fits.json": fits_text},
              fingerprint=spec.fingerprint, complete=complete)
    return f"{spec.name}: {len(rows)} rows in {directory / 'results.csv'}\n" + text
