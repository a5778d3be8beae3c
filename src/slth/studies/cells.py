"""Grouping a sweep's rows by their cell, for the studies' per-cell aggregations."""

from __future__ import annotations


def group(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows keyed by their ``cell`` column, cells in order of first appearance, rows in order."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["cell"], []).append(r)
    return out
