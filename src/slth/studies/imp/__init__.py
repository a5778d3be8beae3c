"""Trained tickets: iterative magnitude pruning with rewinding, its controls, and linear mode connectivity.

The lottery ticket hypothesis as first stated (Frankle & Carbin 2019, arXiv:1803.03635) and its
stability analysis (Frankle, Dziugaite, Roy & Carbin 2020, arXiv:1912.05671), on the bias-free ReLU
MLPs slth measures strong tickets on, so that trained and constructed tickets meet at equal numbers
of kept weights. Modules, one job each: :mod:`.masks` (masks, magnitude and random pruning),
:mod:`.training` (tasks, initialisation, the one jitted adam loop, evaluation), :mod:`.imp` (IMP runs
and the controls random reinitialisation and random pruning; the choices made where the papers differ
are listed there), :mod:`.lmc` (the error barrier along the line between two trainings), :mod:`.study` (the units of
the imp and instability sweeps and of ``slth imp``: one row per round and method, strong tickets of
the same dense network beside them).
"""

from slth.studies.imp.imp import IMPRun, Round, as_key, check, random_pruning, reinit, run
from slth.studies.imp.lmc import POINTS, Barrier, instability, interpolate
from slth.studies.imp.masks import SCOPES, fraction_kept, full, kept, kept_after, magnitude_prune, random_like
from slth.studies.imp.training import (KINDS, TRACES, State, Task, digits_task, evaluate, init, regression_task,
                                       rewound, start, train)

__all__ = ["KINDS", "POINTS", "SCOPES", "TRACES", "Barrier", "IMPRun", "Round", "State", "Task", "as_key", "check",
           "digits_task", "evaluate", "fraction_kept", "full", "init", "instability", "interpolate", "kept",
           "kept_after", "magnitude_prune", "random_like", "random_pruning", "regression_task", "reinit",
           "rewound", "run", "start", "train"]
