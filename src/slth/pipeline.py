"""Prune and verify, end to end: what ``slth prune`` and ``slth verify`` run, as library calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np

from slth import constructions, measure, nets
from slth import ticket as ticket_mod
from slth.errors import InputError
from slth.experiments import provenance
from slth.ticket import Ticket

#: Relative slack when a recomputed certificate is compared with the one a file claims.
CLAIM_RTOL = 1e-9


def measure_ticket(ticket: Ticket) -> dict:
    """Certificate, lower bound (with its witness), max per-weight error and parameter counts, each in
    the ticket's layout (THEORY §3 for ``pairs``, :mod:`slth.measure.deep` for ``l+1``)."""
    maps = measure.ticket_maps(ticket)
    lb = measure.ticket_lower_bound(ticket, maps, key=measure.lower_bound_key(ticket.spec.seed))
    return {
        "certificate": measure.ticket_certificate(ticket, maps),
        "lower_bound": lb.value,
        "witness": lb.witness,
        "max_weight_error": measure.ticket_max_weight_error(ticket, maps),
        "random_params": ticket.random_params(),
        "kept_params": ticket.kept_params(),
    }


class Pruned(NamedTuple):
    """A ticket, the JSON-able record its file stores (THEORY §3 quantities, settings, timings,
    provenance), and the unit-norm input at which the lower bound was measured."""

    ticket: Ticket
    meta: dict
    witness: np.ndarray


def prune(construction: str, target: Sequence, spec: nets.RandomSpec) -> Pruned:
    """Build the ticket of ``construction`` for ``target`` and measure it from both sides.

    ``spec`` gives the random network's dims, candidates, seed, law and dtype; its layout is the one
    the construction prunes (:func:`slth.measure.network_spec`), so a ``pairs`` spec asks a depth-l+1
    ticket for the ``l+1`` network of the same settings. The file records the spec actually used.
    """
    constructions.get(construction)
    spec = measure.network_spec(construction, spec)
    nets.check_target(target)
    start = time.perf_counter()
    ticket = constructions.build(construction, target, spec)
    jax.block_until_ready(ticket.masks)
    built = time.perf_counter()
    m = measure_ticket(ticket)
    done = time.perf_counter()
    meta = {
        "format": ticket_mod.FORMAT,
        "construction": construction,
        **spec.to_json(),
        "random_widths": list(spec.widths()),
        "depth": spec.random_depth,
        **{k: v for k, v in m.items() if k != "witness"},
        "construction_time_s": built - start,
        "measure_time_s": done - built,
        **provenance.record(),
    }
    return Pruned(ticket, meta, m["witness"])


def verify(path) -> dict:
    """Reload a ticket file and recompute everything from it.

    Checks shapes and depth, the invariant (regenerating the random network from the recorded seed
    and settings and comparing bit for bit), the target's assumptions, and recomputes certificate,
    lower bound (at the stored witness and by a fresh search), max per-weight error and parameter
    counts, comparing each with what the file claims.

    Returns:
      dict with ``status`` in {"valid", "invalid", "unverifiable"}, ``problems`` (list of str),
      ``recomputed`` and ``claimed`` numbers.

    Raises:
      TicketError: the file is unreadable or not a ticket.
    """
    try:
        ticket, meta, witness = ticket_mod.load(path)
    except ticket_mod.Unverifiable as e:
        return {"path": str(path), "status": "unverifiable", "problems": [str(e)]}
    claimed = {k: meta.get(k) for k in ("certificate", "lower_bound", "max_weight_error",
                                        "random_params", "kept_params")}
    report = {"path": str(path), "construction": meta["construction"], "dims": list(ticket.spec.dims),
              "random_widths": list(ticket.spec.widths()), "claimed": claimed, "recomputed": {}}
    try:
        problems = ticket_mod.invariant_problems(ticket, regenerate=True)
    except InputError as e:
        return report | {"status": "unverifiable", "problems": [f"cannot regenerate the random network: {e}"]}
    if problems:
        made_with = meta.get("versions", {}).get("jax")
        if made_with and made_with != jax.__version__:
            problems.append(f"(the file was written with jax {made_with}; this is jax {jax.__version__}, "
                            "whose random bits may differ)")
        return report | {"status": "invalid", "problems": problems}
    try:
        nets.check_target(ticket.target)
        m = measure_ticket(ticket)
    except InputError as e:
        return report | {"status": "invalid", "problems": [str(e)]}
    rec = {k: v for k, v in m.items() if k != "witness"}
    if witness is not None:
        at_witness = float(measure.gap_at(ticket.target, ticket.pruned, witness[None])[0])
        rec["lower_bound"] = max(rec["lower_bound"], at_witness)
        rec["lower_bound_at_witness"] = at_witness
        if not np.isclose(at_witness, float(claimed["lower_bound"]), rtol=CLAIM_RTOL, atol=measure.ROUNDOFF):
            problems.append(f"the gap at the stored witness is {at_witness:.6g}, not the claimed "
                            f"lower bound {claimed['lower_bound']}")
    report["recomputed"] = rec
    problems += _claim_problems(claimed, rec)
    if rec["lower_bound"] > rec["certificate"] + measure.ROUNDOFF:
        problems.append(f"lower bound {rec['lower_bound']:.6g} exceeds certificate {rec['certificate']:.6g}: "
                        "the certificate is wrong")
    return report | {"status": "invalid" if problems else "valid", "problems": problems}


def _claim_problems(claimed: dict, rec: dict) -> list[str]:
    out = []
    for k in ("random_params", "kept_params"):
        if claimed[k] != rec[k]:
            out.append(f"meta claims {k} = {claimed[k]} but the masks give {rec[k]}")
    for k in ("certificate", "max_weight_error"):
        try:
            ok = np.isclose(float(claimed[k]), rec[k], rtol=CLAIM_RTOL, atol=measure.ROUNDOFF)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            out.append(f"meta claims {k} = {claimed[k]!r} but recomputation gives {rec[k]:.12g}")
    return out
