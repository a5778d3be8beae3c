"""slth: the strong lottery ticket theorems as experiments anyone can rerun.

A random ReLU network of depth 2l that is wide enough contains, without training, a subnetwork (a
ticket) that approximates a given depth-l target. slth builds targets and random networks, applies
the explicit constructions (selection: Malach et al. 2020; subset sum: Pensia et al. 2020),
measures the error from both sides (a certificate and an adversarial lower bound) and checks the
result against the bounds. See docs/theory.md in the source repository for the statements.

From Python: ``res = slth.prune("subset-sum", slth.random_target(dims, seed=0), slth.RandomSpec(...))``,
then ``res.certificate``, ``res.lower_bound``, ``res.save(path)`` and ``slth.verify(path)``.
Randomness is an integer ``seed`` (RandomSpec, random_target). No ``jax_enable_x64`` is needed: the
calls that compute in float64 switch JAX's 64-bit mode on for themselves and off again
(:mod:`slth.precision`).
"""

import importlib

from slth.errors import InputError

#: Public names, each imported on first use (PEP 562): ``import slth.bounds`` or ``import slth``
#: alone loads no JAX, so the bounds work where JAX is not installed.
_LAZY = {
    "bounds": "slth.bounds", "constructions": "slth.constructions", "measure": "slth.measure",
    "nets": "slth.nets", "subset_sum": "slth.subset_sum",
    "CONSTRUCTIONS": "slth.constructions", "RandomSpec": "slth.nets", "load_target": "slth.nets",
    "random_network": "slth.nets", "random_target": "slth.nets", "prune": "slth.pipeline",
    "Pruned": "slth.pipeline", "verify": "slth.pipeline", "Ticket": "slth.ticket", "check_invariant": "slth.ticket",
    "invariant_problems": "slth.ticket",
}


def __getattr__(name: str):
    if name == "__version__":  # the installed build's version (setuptools-scm), read without JAX
        from slth.provenance import version

        globals()[name] = value = version()
        return value
    if name not in _LAZY:
        raise AttributeError(f"module 'slth' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__ == f"slth.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})


__all__ = [
    "CONSTRUCTIONS",
    "InputError",
    "Pruned",
    "RandomSpec",
    "Ticket",
    "bounds",
    "check_invariant",
    "constructions",
    "invariant_problems",
    "load_target",
    "measure",
    "nets",
    "prune",
    "random_network",
    "random_target",
    "subset_sum",
    "verify",
]
