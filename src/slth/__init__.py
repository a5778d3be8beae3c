"""slth: the strong lottery ticket theorems as experiments anyone can rerun.

A random ReLU network of depth 2l that is wide enough contains, without training, a subnetwork (a
ticket) that approximates a given depth-l target. slth builds targets and random networks, applies
the explicit constructions (selection: Malach et al. 2020; subset sum: Pensia et al. 2020),
measures the error from both sides (a certificate and an adversarial lower bound) and checks the
result against the bounds. See THEORY.md for the statements.
"""

from slth import bounds, constructions, measure, nets, subset_sum
from slth.constructions import CONSTRUCTIONS
from slth.errors import InputError
from slth.nets import RandomSpec, load_target, random_network, random_target
from slth.pipeline import prune, verify
from slth.ticket import Ticket, check_invariant, invariant_problems

__version__ = "0.1.0"

__all__ = [
    "CONSTRUCTIONS",
    "InputError",
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
