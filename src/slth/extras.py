"""Optional dependencies: import one, or say in one line which extra of slth installs it.

The base install holds what ``slth prune``, ``verify``, ``check`` and ``run`` need (pyproject.toml's
``dependencies``); each optional part names its extra here, where it imports the library, so a missing
one is an :class:`~slth.errors.InputError` before any work starts, never an ``ImportError`` traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from slth.errors import InputError

#: The extra (pyproject.toml's ``[project.optional-dependencies]``) that installs each optional module.
EXTRA_OF = {
    "matplotlib": "figures",
    "sklearn": "digits",
    "pytest": "theorems",
    "hypothesis": "theorems",
    "pyscipopt": "exact",
    "numba": "numba",
}


def missing(module: str, purpose: str) -> str | None:
    """The one-line message :func:`need` would raise for ``module``, or None where it is installed
    (without importing it: for a spec's checks, which list every problem before any work)."""
    top = _top(module)
    if importlib.util.find_spec(top) is not None:
        return None
    return _message(top, purpose)


def need(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (a top-level name of :data:`EXTRA_OF`, or a submodule of one) for ``purpose``,
    or raise one line naming the extra that installs it."""
    top = _top(module)
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if e.name is not None and e.name.split(".")[0] != top:
            raise          # the library is there but broken: its own error says more than ours
        raise InputError(_message(top, purpose)) from None


def _top(module: str) -> str:
    top = module.split(".")[0]
    if top not in EXTRA_OF:
        raise ValueError(f"{top!r} is not an optional dependency of slth (known: {', '.join(sorted(EXTRA_OF))})")
    return top


def _message(top: str, purpose: str) -> str:
    return f"{purpose} needs {top}, which is not installed: pip install 'slth[{EXTRA_OF[top]}]'"
