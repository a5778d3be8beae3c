"""Prune and verify, end to end: what ``slth prune`` and ``slth verify`` run, as library calls.

Both compute with JAX's 64-bit mode on, switched on for the call alone (:mod:`slth.precision`), so a
notebook needs no ``jax_enable_x64``: ``res = slth.prune(...)``, ``res.certificate``, ``res.save(path)``,
``slth.verify(path)["status"]``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from slth import constructions, liveness, measure, nets
from slth import ticket as ticket_mod
from slth import ticket_file
from slth.errors import InputError
from slth.measure import propagate
from slth import precision, provenance
from slth.ticket import Ticket

#: Relative slack when a recomputed certificate is compared with the one a file claims.
CLAIM_RTOL = 1e-9


@precision.float64
def measure_ticket(ticket: Ticket, *, exact: float | None = None, explicit_counts: bool = False,
                   certificate_method: str | None = None) -> dict:
    """Certificate (the tighter one, :func:`slth.measure.ticket_certificate`, and docs/theory.md §3's product of
    norms beside it as ``certificate_norms``), lower bound (with its witness), max per-weight error and
    parameter counts (:func:`parameter_counts`), each in the ticket's layout. With ``exact`` (a time limit in seconds), also the
    exact error's bracket (:func:`slth.measure.exact.exact_error`): ``exact_lower``, ``exact_upper``,
    ``exact_status``; its witness replaces the search's where its gap is larger, so ``lower_bound`` is
    always the gap at the stored witness. ``certificate_method``: the bound propagation's effort
    (:data:`slth.measure.propagate.METHODS`, default the current one), recorded as ``certificate_method``
    so that :func:`verify` recomputes the certificate with it. In float64 (JAX's 64-bit mode on for the call)."""
    method = propagate.METHOD if certificate_method is None else certificate_method
    maps = measure.ticket_maps(ticket)
    lb = measure.ticket_lower_bound(ticket, maps, key=measure.lower_bound_key(ticket.spec.seed))
    out = {
        "certificate": measure.ticket_certificate(ticket, maps, method=method),
        "certificate_method": method,
        "certificate_norms": measure.ticket_norm_certificate(ticket, maps),
        "lower_bound": lb.value,
        "witness": lb.witness,
        "max_weight_error": measure.ticket_max_weight_error(ticket, maps),
        **parameter_counts(ticket, explicit=explicit_counts),
    }
    if exact is not None:
        from slth.measure import exact as exact_mod       # SCIP loads only when asked for
        e = exact_mod.exact_error(ticket, time_limit=exact)
        out |= {"exact_lower": e.lower, "exact_upper": e.upper, "exact_status": e.status,
                "exact_time_limit_s": float(exact)}
        if e.lower > out["lower_bound"]:
            out["lower_bound"], out["witness"] = e.lower, e.witness
    return out


def parameter_counts(ticket: Ticket, *, explicit: bool = False) -> dict:
    """``random_params``, ``kept_params`` and ``live_params`` (kept weights that are not dead,
    :func:`slth.liveness.dead_weights`) of ``ticket``: matrix entries for an MLP layout; for a layout with
    a geometry (``conv``) in kernel form, each kernel entry (each hidden channel's 1×1 weight) once, live
    when one of its copies is (:func:`slth.ticket.kept_count`). ``explicit``: every explicit entry, what
    ``conv`` files written before ``kinds`` claim."""
    live = tuple(np.asarray(s, bool) & ~d for s, d in zip(ticket.masks, liveness.dead_weights(ticket)))
    if explicit:
        return {"random_params": int(sum(np.size(m) for m in ticket.random)),
                "kept_params": int(sum(np.count_nonzero(np.asarray(s)) for s in ticket.masks)),
                "live_params": int(sum(np.count_nonzero(s) for s in live))}
    return {"random_params": ticket.random_params(), "kept_params": ticket.kept_params(),
            "live_params": ticket_mod.kept_count(ticket.spec, live)}


class Pruned(NamedTuple):
    """A ticket, the JSON-able record its file stores (docs/theory.md §3 quantities, settings, timings,
    provenance), and the unit-norm input at which the lower bound was measured.

    A tuple, so ``ticket, meta, witness = slth.prune(...)`` unpacks it; the error it measured reads as
    ``certificate`` and ``lower_bound`` (the true error lies between them), and :meth:`save` writes
    the ticket file ``slth verify`` checks."""

    ticket: Ticket
    meta: dict
    witness: np.ndarray

    @property
    def certificate(self) -> float:
        """The tighter certificate: sup_{‖x‖<=1} ‖f(x) − g_S(x)‖ is at most this (a proof)."""
        return float(self.meta["certificate"])

    @property
    def lower_bound(self) -> float:
        """The gap ‖f(x) − g_S(x)‖ at :attr:`witness`, a unit-norm input: the error is at least this."""
        return float(self.meta["lower_bound"])

    def save(self, path: str | Path) -> Path:
        """Write the ticket file (:func:`slth.ticket.save`, atomically) and return its path."""
        return ticket_mod.save(self.ticket, path, self.meta, witness=self.witness)

    def verify(self) -> dict:
        """:func:`verify` of the file :meth:`save` writes, written to a temporary folder and removed
        afterwards (so the report's ``path`` is None)."""
        with tempfile.TemporaryDirectory(prefix="slth-verify-") as folder:
            report = verify(self.save(Path(folder) / "ticket.npz"))
        return report | {"path": None}


@precision.float64
def prune(construction: str, target: Sequence, spec: nets.RandomSpec, *, exact: float | None = None) -> Pruned:
    """Build the ticket of ``construction`` for ``target`` and measure it from both sides.

    ``spec`` gives the random network's dims, candidates, seed, law and dtype; its layout is the one
    the construction prunes (:func:`slth.measure.network_spec`), so a ``pairs`` spec asks a depth-l+1
    ticket for the ``l+1`` network of the same settings. The file records the spec actually used.
    ``exact``: a time limit in seconds for the exact error (:func:`measure_ticket`); the ticket's size is
    checked against the exact method's limit before anything is built.

    Precision: the construction and the measurement run with JAX's 64-bit mode on, switched on for
    this call alone where it is off (:mod:`slth.precision`): the certificate and the lower bound are
    float64, and the ticket is the one ``slth prune`` writes, bit for bit. Outside x64 the ticket's
    64-bit arrays (a float64 network's weights, a float64 target) come back as NumPy arrays.
    """
    constructions.get(construction)
    spec = measure.network_spec(construction, spec)
    biases = nets.layouts.layout(spec).has_biases
    nets.check_target(target, biases=biases)
    start = time.perf_counter()
    if exact is not None:
        from slth.measure import exact as exact_mod
        exact_mod.check_affordable(nets.dims_of(target, biases=biases), spec, time_limit=exact)
    ticket = constructions.build(construction, target, spec)
    jax.block_until_ready(ticket.masks)
    built = time.perf_counter()
    m = measure_ticket(ticket, exact=exact)
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


@precision.float64
def verify(path) -> dict:
    """Reload a ticket file and prove or refute every claim it makes.

    Reading (:func:`slth.ticket.load`, through :mod:`slth.ticket_file`) checks the container, the meta's
    types and every array's shape, dtype, order and mask bytes with bounded memory. Then:

    1. the invariant: the random network regenerated from the recorded seed and settings equals the
       file's bit for bit, and every mask keeps the block structure;
    2. the target's assumptions (:func:`slth.nets.check_target`);
    3. both certificates (the tighter ``certificate`` and docs/theory.md §3's ``certificate_norms``; a file
       written before slth had the tighter one claims only the latter, under ``certificate``), max
       per-weight error, parameter counts (:func:`parameter_counts`: in kernel form for a ``conv`` file,
       per explicit entry for one written before ``kinds``), random widths and depth are recomputed and
       compared with the claims;
    4. the lower bound: a claim above the recomputed certificate is false whatever else the file holds;
       with a witness, the witness must be finite and in the unit ball (‖x‖ <= 1 + ROUNDOFF) and the
       gap there must be the claim; without one, the claim must be reached by verify's own search (the
       seeded search ``prune`` runs), else it is reported unverified;
    5. the construction: its name must be registered (an unknown name is unverified), its layout and
       weight law must be the network's, and the masks it rebuilds from the file's target and the
       regenerated network must equal the file's bit for bit. A rebuild costs what ``prune``'s
       construction step cost, training included for edge-popup (deterministic per seed on one
       platform). A mismatch in a file that records another slth revision, jax, jaxlib or device
       platform is reported unverified instead of false: the construction's code or its floating point
       may differ there;
    6. the exact error's bracket, where the file claims one (``slth prune --exact``): it is recomputed
       under the recorded time limit; a claimed upper end below the recomputed lower end (a witnessed
       gap) is false, one at or above the recomputed upper end is proved, one in between is unverified;
       the claimed lower end must be at most the recomputed upper end.

    Every recomputation runs with JAX's 64-bit mode on, switched on for this call alone where it is
    off (:mod:`slth.precision`).

    Returns:
      dict with ``status`` in {"valid", "invalid", "unverifiable"}; ``problems``, the false claims
      (status "invalid"); ``unverified``, the claims that could be neither proved nor refuted here, each
      with its reason (status "unverifiable" when there is no problem); ``unchecked``, meta keys this
      slth does not know; ``recomputed`` and ``claimed`` numbers.

    Raises:
      TicketError: the file is unreadable, not a ticket, or malformed.
    """
    try:
        ticket, meta, witness = ticket_mod.load(path)
    except ticket_mod.Unverifiable as e:
        return {"path": str(path), "status": "unverifiable", "problems": [], "unverified": [str(e)]}
    claimed = {k: meta.get(k) for k in ("certificate", "certificate_norms", "lower_bound", "max_weight_error",
                                        "random_params", "kept_params", "live_params", "random_widths", "depth",
                                        "exact_lower", "exact_upper")}
    report = {"path": str(path), "construction": meta["construction"], "dims": list(ticket.spec.dims),
              "random_widths": list(ticket.spec.widths()), "claimed": claimed, "recomputed": {},
              "unchecked": ticket_file.unchecked_keys(meta)} | ({"skips": list(ticket.spec.skips)} if ticket.spec.skips else {})
    try:
        problems = ticket_mod.invariant_problems(ticket, regenerate=True)
    except InputError as e:
        return report | _status([], [f"cannot regenerate the random network: {e}"])
    if problems:
        note = _provenance_note(meta)
        return report | _status(problems + ([f"({note}, whose random bits may differ)"] if note else []), [])
    exact_claimed = claimed["exact_upper"] is not None or claimed["exact_lower"] is not None
    legacy = nets.layouts.layout(ticket.spec).has_geometry and "kinds" not in meta     # counts per explicit entry
    # the effort the file's certificate was computed with: files written before slth recorded it used the first
    method = meta.get("certificate_method", "propagate-1")
    known = method in propagate.METHODS
    try:
        nets.check_target(ticket.target, biases=nets.layouts.layout(ticket.spec).has_biases)
        m = measure_ticket(ticket, exact=meta.get("exact_time_limit_s", 60.0) if exact_claimed else None,
                           explicit_counts=legacy, certificate_method=method if known else None)
    except InputError as e:
        return report | _status([str(e)], [])
    rec = {k: v for k, v in m.items() if k != "witness"}
    rec["random_widths"], rec["depth"] = list(ticket.spec.widths()), ticket.spec.random_depth
    problems, unverified = _lower_bound_check(ticket, claimed["lower_bound"], witness, rec)
    problems = _claim_problems(claimed, rec, check_certificate=known) + problems
    if not known:
        unverified.append(f"certificate_method {method!r} is not one this slth computes ({', '.join(sorted(propagate.METHODS))}), "
                          "so the certificate claim is not compared; the recomputed one is this slth's")
    if exact_claimed:
        p, u = _exact_claims(claimed, rec)
        problems, unverified = problems + p, unverified + u
    if rec["lower_bound"] > rec["certificate"] + measure.ROUNDOFF:
        problems.append(f"lower bound {rec['lower_bound']:.6g} exceeds certificate {rec['certificate']:.6g}: "
                        "the certificate is wrong")
    start = time.perf_counter()
    c_problems, c_unverified = _construction_check(ticket, meta)
    report |= {"recomputed": rec, "rebuild_time_s": time.perf_counter() - start}
    return report | _status(problems + c_problems, unverified + c_unverified)


def _status(problems: list[str], unverified: list[str]) -> dict:
    status = "invalid" if problems else "unverifiable" if unverified else "valid"
    return {"status": status, "problems": problems, "unverified": unverified}


def _claim_problems(claimed: dict, rec: dict, check_certificate: bool = True) -> list[str]:
    out = []
    for k in ("random_params", "kept_params", "live_params", "random_widths", "depth"):
        if k in ("live_params", "random_widths", "depth") and claimed[k] is None:
            continue                       # optional: files written before slth recorded them
        if claimed[k] != rec[k]:
            out.append(f"meta claims {k} = {claimed[k]} but the network and masks give {rec[k]}")
    pairs = [("certificate", "certificate"), ("certificate_norms", "certificate_norms"),
             ("max_weight_error", "max_weight_error")]
    if claimed.get("certificate_norms") is None:     # written before the tighter certificate: §3's was the one
        pairs = [("certificate", "certificate_norms"), ("max_weight_error", "max_weight_error")]
    elif not check_certificate:                      # an effort this slth does not know (verify says so)
        pairs = pairs[1:]
    for k, r in pairs:
        if not np.isclose(claimed[k], rec[r], rtol=CLAIM_RTOL, atol=measure.ROUNDOFF):
            out.append(f"meta claims {k} = {claimed[k]!r} but recomputation gives {rec[r]:.12g}")
    return out


def _exact_claims(claimed: dict, rec: dict) -> tuple[list[str], list[str]]:
    """Problems and unverified claims of a claimed exact bracket against the recomputed one."""
    problems, unverified = [], []
    lo, hi = claimed["exact_lower"], claimed["exact_upper"]
    if lo is None or hi is None:
        return [f"meta claims one end of the exact bracket ({'exact_lower' if hi is None else 'exact_upper'}) "
                "without the other"], []
    if hi < rec["lower_bound"] - measure.ROUNDOFF:
        problems.append(f"meta claims exact upper end {hi!r} below a witnessed gap {rec['lower_bound']:.12g}")
    elif hi < rec["exact_upper"] * (1 - CLAIM_RTOL) - measure.ROUNDOFF:
        unverified.append(f"meta claims exact upper end {hi!r}; the recomputed bracket is "
                          f"[{rec['exact_lower']:.12g}, {rec['exact_upper']:.12g}] ({rec['exact_status']}), which "
                          "neither proves nor refutes it")
    if rec["exact_upper"] + measure.ROUNDOFF >= lo > max(rec["lower_bound"], rec["exact_lower"]) + measure.ROUNDOFF:
        unverified.append(f"meta claims exact lower end {lo!r}, above every gap verify witnessed "
                          f"({max(rec['lower_bound'], rec['exact_lower']):.12g})")
    if lo > rec["exact_upper"] + measure.ROUNDOFF:
        problems.append(f"meta claims exact lower end {lo!r} above the recomputed upper end {rec['exact_upper']:.12g}")
    if lo > hi:
        problems.append(f"meta claims an exact bracket with lower end {lo!r} above its upper end {hi!r}")
    return problems, unverified


def _lower_bound_check(ticket: Ticket, claim: float, witness, rec: dict) -> tuple[list[str], list[str]]:
    """Problems and unverified claims of the lower bound; sets ``rec["lower_bound"]`` (and
    ``lower_bound_at_witness``) to what verify proves."""
    problems = []
    if claim > rec["certificate"] + measure.ROUNDOFF:
        problems.append(f"meta claims lower bound {claim!r} above the recomputed certificate "
                        f"{rec['certificate']:.6g}, which bounds the gap at every input of the unit ball")
    if witness is None:
        if claim <= rec["lower_bound"] * (1 + CLAIM_RTOL) + measure.ROUNDOFF:
            return problems, []           # proved by the search's own witness
        return problems, [f"meta claims lower bound {claim!r} without a witness, and verify's own search "
                          f"reaches only {rec['lower_bound']:.6g}: the claim is neither proved nor refuted"]
    if not np.all(np.isfinite(witness)):
        return problems + [f"the witness has {int(np.sum(~np.isfinite(witness)))} NaN or infinite entries; "
                           "a witness is an input of the unit ball"], []
    x = np.asarray(witness, np.float64)
    big = float(np.max(np.abs(x), initial=0.0))
    norm = big * float(np.linalg.norm(x / big)) if big > 0 else 0.0     # scaled: no overflow at 1e300
    if norm > 1 + measure.ROUNDOFF:
        return problems + [f"the witness has norm {norm:.12g} > 1: a lower bound on the sup error over the unit "
                           "ball is a gap at an input of the unit ball"], []
    at_witness = float(measure.ticket_gap_at(ticket, x[None])[0])
    rec["lower_bound_at_witness"] = at_witness
    rec["lower_bound"] = max(rec["lower_bound"], at_witness)
    if not np.isclose(at_witness, claim, rtol=CLAIM_RTOL, atol=measure.ROUNDOFF):
        problems.append(f"the gap at the stored witness is {at_witness:.6g}, not the claimed lower bound {claim!r}")
    return problems, []


def _construction_check(ticket: Ticket, meta: dict) -> tuple[list[str], list[str]]:
    """Problems and unverified claims of the construction: rebuild the masks with the named
    construction from the ticket's target and (already verified) random network and compare bit for bit."""
    name, spec = ticket.construction, ticket.spec
    if name not in constructions.REGISTRY:
        return [], [f"construction {name!r} is not one this slth knows ({', '.join(constructions.REGISTRY)}), so "
                    "its masks cannot be rebuilt"]
    try:
        wanted = constructions.spec_for(name, spec)
        if wanted != spec:
            return [f"the {name} construction prunes the {wanted.layout!r} layout with {wanted.distribution!r} "
                    f"weights; this network has the {spec.layout!r} layout and {spec.distribution!r} weights"], []
        constructions.check_candidates(name, spec.candidates, what="candidates")
        rebuilt = constructions.build(name, ticket.target, spec)
    except InputError as e:
        return [f"the {name} construction cannot have built this ticket: {e}"], []
    differ = [(k, int(np.sum(np.asarray(a) != np.asarray(b))))
              for k, (a, b) in enumerate(zip(ticket.masks, rebuilt.masks))]
    differ = [f"mask_{k} in {n:,} entries" for k, n in differ if n]
    if not differ:
        return [], []
    what = (f"the masks differ from those the {name} construction rebuilds from the target and the "
            f"regenerated network: {', '.join(differ)}")
    note = _provenance_note(meta)
    if note:
        return [], [f"{what} ({note}, whose floating point may round differently)"]
    return [what], []


def _provenance_note(meta: dict) -> str | None:
    """Where the file records another slth (version or git revision), jax, jaxlib or device platform
    than this run's, say so: the bits of a construction, or of the random network, may differ there."""
    here = provenance.versions()
    there = meta.get("versions", {})
    diffs = [f"{pkg} {there[pkg]}, this is {here.get(pkg)}" for pkg in ("slth", "jax", "jaxlib")
             if pkg in there and there[pkg] != here.get(pkg)]
    revision = meta.get("git_revision")
    if revision is not None and revision != provenance.git_revision():
        diffs.append(f"slth revision {revision}, this is {provenance.git_revision()}")
    platform, device = jax.devices()[0].platform, meta.get("device")
    if device is not None and device.partition(":")[0] != platform:
        diffs.append(f"device {device!r}, this is {platform!r}")
    return f"the file was written with {'; '.join(diffs)}" if diffs else None
