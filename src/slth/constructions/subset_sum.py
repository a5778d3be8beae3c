"""Subset sum (Pensia, Rajput, Nagle, Vishwakarma, Papailiopoulos 2020, "Optimal Lottery Tickets via
SubsetSum: Logarithmic Over-Parameterization is Sufficient", Theorem 1 and Lemma 1).

Each (k, j, sign) keeps the subset of its candidates whose product sum is closest to the target weight,
found exactly by :func:`slth.subset_sum.solve` (docs/theory.md §4.2). By Lueker's theorem
c = O(log(d_{i-1} d_i l / min(ε, δ))) candidates per block and sign suffice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slth import nets, subset_sum
from slth.constructions._blocks import build_blocks, too_many
from slth.errors import InputError
from slth.ticket import Ticket

NAME = "subset-sum"

#: Most candidates one exact solve takes within the engine's default memory budget (46).
EXACT_LIMIT = subset_sum.max_exact_count(subset_sum.DEFAULT_MEMORY_BUDGET)
#: Largest c at which every draw fits: all 2c units of a block may share one sign.
ALWAYS_FITS = EXACT_LIMIT // 2
#: Largest c accepted. Above `ALWAYS_FITS` the counts actually drawn (Binomial(2c, 1/2) per block and
#: sign, mean c) are checked before each layer's solve, and a draw above `EXACT_LIMIT` is refused with
#: the block, sign, count and memory named. At c = 32 that happens with probability about 1e-4 per block
#: and sign (3.5 standard deviations); at c = 36 already 6e-3, so wider c would fail on most networks.
MAX_CANDIDATES = 32
#: Default largest c of a width search (``slth check``): the widest at which every draw fits.
SEARCH_LIMIT = ALWAYS_FITS


def choose(candidates, targets, valid):
    """The exactly optimal subset per problem (invalid slots never chosen)."""
    return subset_sum.solve(np.asarray(candidates), np.asarray(targets), valid=np.asarray(valid)).mask


def build(target: Sequence, spec: nets.RandomSpec, *, active: int | None = None) -> Ticket:
    """Subset-sum ticket for ``target`` in the random network of ``spec`` (docs/theory.md §4.2); ``active``: see
    :func:`~slth.constructions._blocks.build_blocks`.

    Raises:
      InputError: c above `MAX_CANDIDATES`, or (before that layer's solve) a block and sign that drew
        more than `EXACT_LIMIT` candidates (see `check_counts`).
    """
    check_candidates(spec.candidates)
    layers = iter(enumerate(target, start=1))

    def choose_layer(candidates, targets, valid):
        # build_blocks calls the chooser once per layer pair, in order (one batch per pair).
        i, w = next(layers)
        valid = np.asarray(valid)
        check_counts(valid, i, np.shape(w))
        return choose(candidates, targets, valid)

    return build_blocks(target, spec, choose_layer, NAME, active=active)


#: Why c stops at MAX_CANDIDATES (the message of every refusal of a larger c).
LIMIT_REASON = (f"above {ALWAYS_FITS} the candidates each block draws per sign are checked against the exact "
                f"solver's limit of {EXACT_LIMIT}; at c = {MAX_CANDIDATES + 1} and wider most networks draw too many")


def check_candidates(c: int, *, what: str = "candidates") -> None:
    if c > MAX_CANDIDATES:
        raise too_many(c, MAX_CANDIDATES, NAME, LIMIT_REASON, what=what)


def check_counts(valid: np.ndarray, layer: int, shape: tuple[int, int]) -> None:
    """Raise InputError unless every problem of layer pair ``layer`` fits one exact solve.

    ``valid`` (S·d_out·d_in, U) is the validity of the layer's problems, ordered (sign, k, j) as
    :func:`~slth.constructions._blocks.pair_problems` returns them; ``shape`` is the target layer's
    (d_out, d_in). The message names the first problem with the largest count: its layer, output k,
    block j and sign, the count, and the memory one exact solve of that many candidates would need.
    """
    counts = valid.sum(axis=1)
    row = int(np.argmax(counts)) if counts.size else 0
    if counts.size == 0 or counts[row] <= EXACT_LIMIT:
        return
    d_out, d_in = shape
    sign, rest = divmod(row, d_out * d_in)
    k, j = divmod(rest, d_in)
    n = int(counts[row])
    need = subset_sum.exact_bytes(n)
    raise InputError(
        f"layer {layer}, block j={j} (output k={k}), sign {'+-'[sign]}: {n} of the block's {valid.shape[1]} "
        f"units drew this sign, above {EXACT_LIMIT}, the most one exact subset-sum solve takes within its "
        f"{subset_sum.DEFAULT_MEMORY_BUDGET / 2**30:.0f} GiB budget ({n} would need {need / 2**30:.2f} GiB); "
        "use fewer candidates or another seed")
