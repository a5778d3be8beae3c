"""Recompute the summaries and fits of finished results folders from their tables (``slth fit``)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from slth.errors import InputError
from slth.experiments import spec as specs
from slth.experiments import store, summary


def refit(directories) -> tuple[list[str], tuple[dict, str] | None]:
    """Rewrite ``summary.csv`` and ``fits.json`` of each folder from its ``results.csv`` and
    ``spec.toml`` (every row must carry the spec's fingerprint; each folder is locked against a run
    while its set is rewritten), and, for several folders of a kind that fits jointly (``joint_fits``
    of its kind module), fit all their rows together.

    Returns: the printed report of each folder, and the joint fits (JSON-ready, printed text) or None.
    Raises: InputError, before anything is written, for a folder without a readable spec, a row of
    another spec, or several folders that cannot be fitted jointly.
    """
    loaded = []
    with contextlib.ExitStack() as locks:
        locked = set()
        for name in directories:
            directory = Path(name)
            if not (directory / "spec.toml").is_file():
                raise InputError(f"{directory} has no spec.toml: not a results folder of slth run")
            spec = specs.load(directory / "spec.toml", name=directory.name)
            if directory.resolve() not in locked:   # the set is rewritten: no run may write it meanwhile
                locks.enter_context(store.FolderLock(directory, command="slth fit"))
                locked.add(directory.resolve())
            text, rows = store.load_table(directory / "results.csv")
            for n, row in enumerate(rows, start=2):
                if row["fingerprint"] != spec.fingerprint:
                    raise InputError(f"{directory / 'results.csv'} line {n} is a row of another spec (fingerprint "
                                     f"{row['fingerprint']}, {directory / 'spec.toml'} has {spec.fingerprint}): "
                                     "only rows of the folder's own spec are fitted; nothing was written")
            loaded.append((directory, spec, rows, text))
        joint = None
        if len(loaded) > 1:
            kinds = {spec.kind for _, spec, _, _ in loaded}
            plan = loaded[0][1].plan
            if len(kinds) > 1 or not hasattr(plan, "joint_fits"):
                raise InputError("several folders are fitted jointly, which needs folders of one kind that has "
                                 "joint fits (width); got "
                                 + ", ".join(f"{d} ({spec.kind})" for d, spec, _, _ in loaded))
            joint = plan
        reports = [summary.write(spec, rows, directory, text, complete=len(rows) == len(spec.units()))
                   for directory, spec, rows, text in loaded]
    if joint is None:
        return reports, None
    return reports, joint.joint_fits([rows for _, _, rows, _ in loaded])
