"""The Ticket pytree, its invariant, and the portable ``.npz`` ticket file.

A ticket is a target, the random network it was pruned from, and one boolean mask per random layer
(docs/theory.md §1). It changes no weight: the pruned network uses ``where(mask, random, 0)``. The invariant
"kept weights equal the random weights bit for bit" is checked by regenerating the random network
from its recorded seed and settings (:func:`invariant_problems`), never assumed.

File format (``save`` / ``load``), readable with plain numpy and ``allow_pickle=False``:
  target_0..target_{l-1}   float, shape (d_i, d_{i-1})
  random_0..random_{L-1}   float, shape (out, in) of the L random layers (L = 2l, or l + 1 for the
                           ``l+1`` layout, whose meta then holds "layout": "l+1")
  mask_0..mask_{L-1}       bool (every byte 0 or 1), same shapes
  witness                  optional; float, shape (d_0,): the input at which ``lower_bound`` was measured
  meta                     0-d string array holding JSON (see ``META_REQUIRED``)
Semantics: f(x) = T_l σ(··· σ(T_1 x)), g(x) = R_L σ(··· σ(R_1 x)), R_k = random_{k-1} * mask_{k-1}.

Kernel form (``conv`` layout, meta ``kinds`` = the layout's, ``Conv.kinds``): each layer is stored as
what it is, ``"conv-s1"``/``"conv-s2"`` a "same" convolution (kernel (out, in, k, k), zero padding
(k-1)/2, stride 1 or 2) on images (C, H, W), ``"gap-dense"`` global average pooling then a dense (out, C)
map, ``"ngap-dense"`` the sum over the H·W positions divided by √(H·W) then a dense map (the random head); ``target_i`` the CNN's kernels and head, ``random_k`` and ``mask_k`` the random CNN's kernels
(pair i: a 1×1 kernel (C·U, C, 1, 1), hidden channel c·U + r reading channel c, then a k×k kernel
(C_i, C·U, k, k) or the head (classes, C·U)) and one bool per kernel entry (shapes:
``Conv.kernel_shapes``). A kernel entry is kept at every position or none; a hidden channel at every
position a kept weight of the next layer reads. :func:`save` writes a ``conv`` ticket in kernel form
whenever it is one (else explicitly, ``kinds`` all ``"dense"``); :func:`load` expands it to the explicit
matrices (:mod:`slth.nets.conv`). ``conv`` files without ``kinds`` (written before it) are explicit and
count parameters per explicit entry. A ``conv-biased`` ticket's kernel form adds ``target_bias_i``,
``random_bias_k`` and ``mask_bias_k`` (:mod:`slth.nets.layouts.conv_biased`); any other ticket holding them
is refused on load.
:func:`load` reads through :mod:`slth.ticket_file`, which trusts nothing in the file before checking it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import jax
import numpy as np

from slth import nets, precision, ticket_file
from slth.errors import InputError
from slth.ticket_file import (FORMAT, META_NETWORK, META_NETWORK_OPTIONAL, META_REQUIRED, TicketError,
                              Unverifiable)

__all__ = ["FORMAT", "META_NETWORK", "META_NETWORK_OPTIONAL", "META_REQUIRED", "Ticket", "TicketError",
           "Unverifiable", "check_invariant", "invariant_problems", "kept_count", "load", "save"]


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
        """The ticket's weights R_k = M_k ⊙ S_k (the reference forward pass uses exactly these), with
        JAX's 64-bit mode on (:mod:`slth.precision`): a float64 ticket's stay float64 (NumPy outside x64)."""
        return precision.run(lambda: tuple(jax.numpy.where(s, m, 0) for m, s in zip(self.random, self.masks)))

    def __call__(self, x):
        """g_S on a batch x of shape (batch, d_0), with JAX's 64-bit mode on (:mod:`slth.precision`), as
        ``slth verify`` computes it: a float64 ticket computes in float64 whatever the caller's mode. With
        biases (the ``biased`` layout) every layer reads its input with a constant 1 appended; with skips
        (a residual target) the random network's identities are added (``RandomSpec.skip_edges``)."""
        biases = nets.layouts.layout(self.spec).has_biases
        return precision.run(lambda: nets.forward(self.pruned, x, skips=self.spec.skip_edges(), biases=biases))

    def random_params(self) -> int:
        """Parameters of the random network: the entries of its matrices; for a layout with a geometry
        (``conv``) each tied group once, a kernel entry being one parameter (``RandomSpec.random_params``)."""
        if nets.layouts.layout(self.spec).has_geometry:
            return self.spec.random_params()
        return int(sum(np.size(m) for m in self.random))

    def kept_params(self) -> int:
        """Parameters the ticket keeps (:func:`kept_count` of its masks)."""
        return kept_count(self.spec, self.masks)


def kept_count(spec: nets.RandomSpec, masks) -> int:
    """Parameters that ``masks`` (explicit, one per random layer of ``spec``) keep: their True entries;
    for a layout with a geometry (``conv``) each kernel entry (each hidden channel's 1×1 weight) kept at
    one position or more counts once (``Conv.kept``), as ``random_params`` counts it."""
    lay = nets.layouts.layout(spec)
    return lay.kept(spec, masks) if lay.has_geometry else int(sum(np.count_nonzero(np.asarray(s)) for s in masks))


# --------------------------------------------------------------------------- invariant

def invariant_problems(ticket: Ticket, *, regenerate: bool = True) -> list[str]:
    """Every way ``ticket`` breaks the ticket invariant (an empty list means it holds).

    Checks: depth L = 2l (``l+1`` layout: l + 1); target shapes chain to ``spec.dims``; random and
    mask shapes equal ``spec.shapes()``; masks are boolean with every byte 0 or 1 (NumPy counts any
    non-zero byte as kept where XLA reads the low bit, so no other byte has one meaning); every kept
    weight of a block layer (the odd layers M_{2i-1}; layer 1 alone in the ``l+1`` layout) lies in its
    unit's block column (docs/theory.md §2); where the layout ties weights (``conv``: a kernel entry at
    every position), every tied weight is kept at all its copies or at none; and, with ``regenerate``, the random weights equal the network
    regenerated from ``spec`` bit for bit, so a ticket can only keep weights it was dealt.
    """
    spec, problems = ticket.spec, []
    if len(ticket.target) != spec.depth:
        problems.append(f"target has {len(ticket.target)} layers but the spec says depth {spec.depth}")
    elif nets.dims_of(ticket.target, biases=nets.layouts.layout(spec).has_biases) != spec.dims:
        dims = nets.dims_of(ticket.target, biases=nets.layouts.layout(spec).has_biases)
        problems.append(f"target dims {dims} differ from the spec's {spec.dims}")
    L = spec.random_depth
    if len(ticket.random) != L or len(ticket.masks) != L:
        problems.append(
            f"random network has {len(ticket.random)} layers and {len(ticket.masks)} masks; depth "
            f"{nets.layouts.layout(spec).depth_formula} = {L} expected ({spec.layout!r} layout)")
        return problems
    for k, (m, s, shape) in enumerate(zip(ticket.random, ticket.masks, spec.shapes())):
        if tuple(np.shape(m)) != shape:
            problems.append(f"random_{k} has shape {tuple(np.shape(m))}; expected {shape}")
        if tuple(np.shape(s)) != shape:
            problems.append(f"mask_{k} has shape {tuple(np.shape(s))}; expected {shape}")
        if np.asarray(s).dtype != np.bool_:
            problems.append(f"mask_{k} has dtype {np.asarray(s).dtype}; masks must be boolean")
        elif np.asarray(s).view(np.uint8).max(initial=0) > 1:
            problems.append(f"mask_{k} holds bytes other than 0 and 1; a boolean mask byte must be 0 or 1")
    if problems:
        return problems
    for i in nets.block_layers(spec):
        rows, cols = np.nonzero(np.asarray(ticket.masks[2 * i - 2]))     # row-major, as argwhere
        off_block = np.flatnonzero(cols != nets.block_inputs(spec, i)[rows])
        if off_block.size:
            r, j = rows[off_block[0]], cols[off_block[0]]
            problems.append(
                f"mask_{2 * i - 2} keeps weight ({r}, {j}) outside unit {r}'s block column "
                f"{nets.block_inputs(spec, i)[r]}: {off_block.size} such weights")
    for k, tied in nets.layouts.layout(spec).ties(spec).items():
        problems += _tie_problems(np.asarray(ticket.masks[k - 1]), tied, k - 1)
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


def _tie_problems(mask: np.ndarray, tied: np.ndarray, k: int) -> list[str]:
    """A mask that keeps some copies of a tied weight (a CNN kernel entry at some positions) and not
    others, or keeps a structural zero (``tied`` -1), breaks the layout's ties."""
    problems = []
    if np.any(mask & (tied < 0)):
        problems.append(f"mask_{k} keeps {int(np.sum(mask & (tied < 0)))} structural zeros of the layout "
                        "(entries outside every kernel's support)")
    ids, kept = tied[tied >= 0], mask[tied >= 0]
    some = np.bincount(ids, weights=kept, minlength=int(ids.max(initial=-1)) + 1)
    copies = np.bincount(ids, minlength=some.size)
    split = np.flatnonzero((some > 0) & (some < copies))
    if split.size:
        problems.append(f"mask_{k} keeps some copies of {split.size} tied weights and not others (weight "
                        f"{int(split[0])}: {int(some[split[0]])} of {int(copies[split[0]])} copies): a "
                        "convolution's kernel entry is kept at every position or at none")
    return problems


def check_invariant(ticket: Ticket, *, regenerate: bool = True) -> None:
    """Raise :class:`TicketError` listing every invariant violation of ``ticket``."""
    problems = invariant_problems(ticket, regenerate=regenerate)
    if problems:
        raise TicketError("ticket invariant broken: " + "; ".join(problems))


# --------------------------------------------------------------------------- file format

def save(ticket: Ticket, path: str | Path, meta: dict, *, witness=None) -> Path:
    """Write ``ticket`` to ``path`` atomically (temporary file in the same folder, then rename),
    so an interrupted write never leaves a half-written ticket. A ``conv`` ticket is written in kernel
    form where expanding that form gives its arrays back bit for bit (its meta then gets the layout's
    ``kinds``), else explicitly (``kinds`` all ``"dense"``): the module docstring's format.

    Raises:
      InputError: ``meta`` is not what :func:`load` accepts (a required key missing, a field of the
        wrong type, NaN or infinity), or the folder does not exist.
    """
    path = Path(path)
    arrays = {f"target_{i}": w for i, w in enumerate(ticket.target)} | \
        {f"random_{k}": m for k, m in enumerate(ticket.random)} | {f"mask_{k}": s for k, s in enumerate(ticket.masks)}
    lay, spec = nets.layouts.layout(ticket.spec), ticket.spec
    if lay.has_geometry:
        kernel = precision.run(lambda: lay.compact(spec, ticket.target, ticket.random, ticket.masks,
                                                   lay.kernels(spec, jax.random.key(spec.seed), np.dtype(spec.dtype))))
        meta = meta | {"kinds": ticket_file.explicit_kinds(spec) if kernel is None else lay.kinds(spec)}
        arrays |= kernel or {}
    try:
        text = json.dumps(meta, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InputError(f"ticket meta is not strict JSON: {e}") from None
    ticket_file.parse_meta(text)      # write nothing that slth verify would refuse to read
    # C order always: the reader refuses Fortran-ordered members (a target loaded from a user's file may be).
    arrays = {n: np.ascontiguousarray(a, dtype=bool if n.startswith("mask_") else None) for n, a in arrays.items()}
    if witness is not None:
        arrays["witness"] = np.ascontiguousarray(witness, np.float64)
    arrays["meta"] = np.array(text)
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

    Every array has the shape and dtype the meta's network implies and every meta field its type
    (:func:`slth.ticket_file.read`, which reads with bounded memory); nothing else is checked here:
    :func:`invariant_problems` and :func:`slth.pipeline.verify` check the content.

    Raises:
      TicketError: the file is missing, truncated, not an npz, not a ticket (missing or extra arrays,
        meta keys), or malformed (an array of the wrong shape, dtype or order, a mask byte other than 0
        or 1, a meta field of the wrong type). The message names the problem.
      Unverifiable: the meta names a random network this slth cannot regenerate.
    """
    content = ticket_file.read(path)
    spec, arrays = content.spec, content.arrays
    ticket = Ticket(target=tuple(arrays[f"target_{i}"] for i in range(spec.depth)),
                    random=tuple(arrays[f"random_{k}"] for k in range(spec.random_depth)),
                    masks=tuple(arrays[f"mask_{k}"] for k in range(spec.random_depth)),
                    spec=spec, construction=content.meta["construction"])
    return ticket, content.meta, arrays.get("witness")
