"""The Ticket pytree, its invariant, and the portable ``.npz`` ticket file.

A ticket is a target, the random network it was pruned from, and one boolean mask per random layer
(THEORY §1). It changes no weight: the pruned network uses ``where(mask, random, 0)``. The invariant
"kept weights equal the random weights bit for bit" is checked by regenerating the random network
from its recorded seed and settings (:func:`invariant_problems`), never assumed.

File format (``save`` / ``load``), readable with plain numpy and ``allow_pickle=False``:
  target_0..target_{l-1}   float, shape (d_i, d_{i-1})
  random_0..random_{L-1}   float, shape (out, in) of the L random layers (L = 2l, or l + 1 for the
                           ``l+1`` layout, whose meta then holds "layout": "l+1")
  mask_0..mask_{L-1}       bool, same shapes
  witness                  float, shape (d_0,): the input at which ``lower_bound`` was measured
  meta                     0-d string array holding JSON (see ``META_REQUIRED``)
Semantics: f(x) = T_l σ(··· σ(T_1 x)), g(x) = R_L σ(··· σ(R_1 x)), R_k = random_{k-1} * mask_{k-1}.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zipfile
from pathlib import Path

import jax
import numpy as np

from slth import nets
from slth.errors import InputError

FORMAT = "slth-ticket/1"

#: Keys every ticket file's ``meta`` must hold.
META_REQUIRED = (
    "format", "construction", "seed", "candidates", "dims",
    "certificate", "lower_bound", "max_weight_error", "random_params", "kept_params",
)
#: Keys that, with ``seed``, ``candidates`` and ``dims``, say how to regenerate the random network.
META_NETWORK = ("distribution", "drop_negative", "dtype")
#: Optional network keys: absent means the default (``layout``: "pairs", files written before it).
META_NETWORK_OPTIONAL = ("layout",)


class TicketError(InputError):
    """A ticket file that cannot be read, is not a ticket, or breaks the invariant."""


class Unverifiable(TicketError):
    """A ticket file whose random network cannot be regenerated from its meta."""


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Ticket:
    """An immutable pytree: target layers, random layers and masks are leaves; the random network's
    spec and the construction's name are static metadata.

    Attributes:
      target: l matrices (d_i, d_{i-1}).
      random: L = ``spec.random_depth`` matrices M_1..M_L (2l, or l + 1), shapes ``spec.shapes()``.
      masks: L boolean matrices of the same shapes; True keeps the random weight.
      spec: how to regenerate ``random`` (seed, candidates, law, layout).
      construction: registered name of the construction that chose the masks.
    """

    target: tuple
    random: tuple
    masks: tuple
    spec: nets.RandomSpec = dataclasses.field(metadata=dict(static=True))
    construction: str = dataclasses.field(metadata=dict(static=True))

    @property
    def pruned(self) -> tuple:
        """The ticket's weights R_k = M_k ⊙ S_k (the reference forward pass uses exactly these)."""
        return tuple(jax.numpy.where(s, m, 0) for m, s in zip(self.random, self.masks))

    def __call__(self, x):
        """g_S on a batch x of shape (batch, d_0)."""
        return nets.forward(self.pruned, x)

    def random_params(self) -> int:
        return int(sum(np.size(m) for m in self.random))

    def kept_params(self) -> int:
        return int(sum(np.count_nonzero(np.asarray(s)) for s in self.masks))


# --------------------------------------------------------------------------- invariant

def invariant_problems(ticket: Ticket, *, regenerate: bool = True) -> list[str]:
    """Every way ``ticket`` breaks the ticket invariant (an empty list means it holds).

    Checks: depth L = 2l (``l+1`` layout: l + 1); target shapes chain to ``spec.dims``; random and
    mask shapes equal ``spec.shapes()``; masks are boolean; every kept weight of a block layer (the
    odd layers M_{2i-1}; layer 1 alone in the ``l+1`` layout) lies in its unit's block column (THEORY
    §2); and, with ``regenerate``, the random weights equal the network regenerated from ``spec`` bit
    for bit, so a ticket can only keep weights it was dealt.
    """
    spec, problems = ticket.spec, []
    if len(ticket.target) != spec.depth:
        problems.append(f"target has {len(ticket.target)} layers but the spec says depth {spec.depth}")
    elif nets.dims_of(ticket.target) != spec.dims:
        problems.append(f"target dims {nets.dims_of(ticket.target)} differ from the spec's {spec.dims}")
    L = spec.random_depth
    if len(ticket.random) != L or len(ticket.masks) != L:
        problems.append(
            f"random network has {len(ticket.random)} layers and {len(ticket.masks)} masks; depth "
            f"{'2l' if spec.layout == 'pairs' else 'l + 1'} = {L} expected ({spec.layout!r} layout)")
        return problems
    for k, (m, s, shape) in enumerate(zip(ticket.random, ticket.masks, spec.shapes())):
        if tuple(np.shape(m)) != shape:
            problems.append(f"random_{k} has shape {tuple(np.shape(m))}; expected {shape}")
        if tuple(np.shape(s)) != shape:
            problems.append(f"mask_{k} has shape {tuple(np.shape(s))}; expected {shape}")
        if np.asarray(s).dtype != np.bool_:
            problems.append(f"mask_{k} has dtype {np.asarray(s).dtype}; masks must be boolean")
    if problems:
        return problems
    for i in nets.block_layers(spec):
        s = np.asarray(ticket.masks[2 * i - 2])
        off_block = s & (np.arange(s.shape[1])[None, :] != nets.block_inputs(spec, i)[:, None])
        if off_block.any():
            r, j = np.argwhere(off_block)[0]
            problems.append(
                f"mask_{2 * i - 2} keeps weight ({r}, {j}) outside unit {r}'s block column "
                f"{nets.block_inputs(spec, i)[r]}: {int(off_block.sum())} such weights")
    if regenerate:
        fresh = nets.random_network(spec)
        for k, (m, f) in enumerate(zip(ticket.random, fresh)):
            m, f = np.asarray(m), np.asarray(f)
            if m.dtype != f.dtype or not np.array_equal(m.view(np.uint8), f.view(np.uint8)):
                n = int(np.sum(m != f)) if m.shape == f.shape else -1
                problems.append(
                    f"random_{k} differs from the network regenerated from seed {spec.seed} "
                    f"in {n} entries (dtype {m.dtype} vs {f.dtype})")
    return problems


def check_invariant(ticket: Ticket, *, regenerate: bool = True) -> None:
    """Raise :class:`TicketError` listing every invariant violation of ``ticket``."""
    problems = invariant_problems(ticket, regenerate=regenerate)
    if problems:
        raise TicketError("ticket invariant broken: " + "; ".join(problems))


# --------------------------------------------------------------------------- file format

def save(ticket: Ticket, path: str | Path, meta: dict, *, witness=None) -> Path:
    """Write ``ticket`` to ``path`` atomically (temporary file in the same folder, then rename),
    so an interrupted write never leaves a half-written ticket."""
    path = Path(path)
    missing = [k for k in META_REQUIRED if k not in meta]
    if missing:
        raise InputError(f"ticket meta lacks {missing}")
    arrays = {f"target_{i}": np.asarray(w) for i, w in enumerate(ticket.target)}
    arrays |= {f"random_{k}": np.asarray(m) for k, m in enumerate(ticket.random)}
    arrays |= {f"mask_{k}": np.asarray(s, dtype=bool) for k, s in enumerate(ticket.masks)}
    if witness is not None:
        arrays["witness"] = np.asarray(witness, np.float64)
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"output folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: str | Path) -> tuple[Ticket, dict, np.ndarray | None]:
    """Read a ticket file; returns (ticket, meta, witness or None).

    Raises:
      TicketError: the file is missing, truncated, not an npz, not a ticket (missing arrays or
        meta keys), or has arrays of the wrong shape or dtype. The message names the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise TicketError(f"{str(path)!r} is not a file")
    try:
        # Own the handle: np.load leaks it when the zip directory is truncated.
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as e:
        raise TicketError(f"{str(path)!r} is not a readable ticket file (truncated or not an .npz): {e}") from None
    if "meta" not in arrays:
        raise TicketError(f"{str(path)!r} is not a ticket: it has no 'meta' array")
    try:
        meta = json.loads(str(arrays.pop("meta")[()]))
    except (json.JSONDecodeError, TypeError, IndexError) as e:
        raise TicketError(f"{str(path)!r}: meta is not a JSON string: {e}") from None
    if not isinstance(meta, dict):
        raise TicketError(f"{str(path)!r}: meta is not a JSON object")
    missing = [k for k in META_REQUIRED if k not in meta]
    if missing:
        raise TicketError(f"{str(path)!r} is not a ticket: meta lacks {missing}")
    if meta["format"] != FORMAT:
        raise TicketError(f"{str(path)!r} has format {meta['format']!r}; this slth reads {FORMAT!r}")
    absent = [k for k in META_NETWORK if k not in meta]
    if absent:
        raise Unverifiable(f"{str(path)!r}: meta lacks {absent}, so its random network cannot be regenerated")
    try:
        spec = nets.spec_from_json({k: meta[k] for k in ("dims", "candidates", "seed") + META_NETWORK
                                    + META_NETWORK_OPTIONAL if k in meta})
    except (InputError, TypeError) as e:
        raise Unverifiable(f"{str(path)!r}: its random network cannot be regenerated: {e}") from None
    l, L = spec.depth, spec.random_depth
    expected = {f"target_{i}" for i in range(l)} | {f"random_{k}" for k in range(L)} \
        | {f"mask_{k}" for k in range(L)}
    absent = sorted(expected - set(arrays))
    extra = sorted(set(arrays) - expected - {"witness"})
    if absent or extra:
        raise TicketError(f"{str(path)!r} is not a ticket of depth {l}: missing arrays {absent}, "
                          f"unexpected arrays {extra}")
    target = tuple(arrays[f"target_{i}"] for i in range(l))
    random = tuple(arrays[f"random_{k}"] for k in range(L))
    masks = tuple(arrays[f"mask_{k}"] for k in range(L))
    for k, (m, s) in enumerate(zip(random, masks)):
        if s.shape != m.shape:
            raise TicketError(f"{str(path)!r}: mask_{k} has shape {s.shape} but random_{k} has {m.shape}")
        if s.dtype != np.bool_:
            raise TicketError(f"{str(path)!r}: mask_{k} has dtype {s.dtype}; masks must be boolean")
    witness = arrays.get("witness")
    if witness is not None and witness.shape != (spec.dims[0],):
        raise TicketError(f"{str(path)!r}: witness has shape {witness.shape}; expected ({spec.dims[0]},)")
    ticket = Ticket(target=target, random=random, masks=masks, spec=spec,
                    construction=str(meta["construction"]))
    return ticket, meta, witness
