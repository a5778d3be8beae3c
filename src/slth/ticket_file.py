"""The ticket file's format, read as if hostile: a strict JSON meta and a bounded ``.npz`` reader.

A ticket file is a zip of ``.npy`` members (what ``numpy.savez`` writes, see :mod:`slth.ticket`). A file
handed to ``slth verify`` may have been written by anyone, so nothing in it is trusted before it is
checked, and memory is bounded by what an honest ticket of the same claimed network needs:

- the zip's end record is read first and its central directory refused above :data:`MAX_MEMBERS`
  entries or :data:`MAX_DIRECTORY_BYTES` bytes, so the member list itself cannot be a memory bomb;
- members must be exactly the expected ``<name>.npy``, once each, stored or deflated, unencrypted;
- ``meta`` is read first (at most :data:`MAX_META_BYTES`) and parsed as strict JSON: no duplicate keys,
  no NaN or Infinity, every field of :data:`META_FIELDS` of its type;
- every other member's ``.npy`` header is read before its data, and its shape and dtype must be those
  the meta's network implies, in C order; its data is then read in chunks of at most :data:`CHUNK`
  bytes up to exactly the size the header promises, and a member with more data is refused: zip's
  declared sizes are never trusted, so a deflated member cannot expand past its header's shape;
- a mask byte must be 0 or 1 (NumPy counts any non-zero byte as True where XLA reads the low bit, so
  any other byte would let the certificate and the forward pass see different masks);
- ``kinds`` (how each layer is stored) is the explicit form or the layout's kernel form, which is
  expanded to the explicit matrices through :mod:`slth.nets.conv` (a kernel with NaN or infinity is
  refused there); a kernel-form ticket of the ``conv-biased`` layout also holds ``target_bias_i``,
  ``random_bias_k`` and ``mask_bias_k`` (:mod:`slth.nets.layouts.conv_biased`), checked like the others
  (shape, dtype, a mask's bytes, NaN or infinity) and refused in any other ticket.
  :func:`read_conv_target` reads CNN targets alike, whose ``target_bias_i`` are the channel biases.

One job: reading slth's files as hostile. Ticket files and CNN target files share the bounded reader
above, so both are in this one module.

Malformed files raise :class:`TicketError`; files whose random network cannot be regenerated here
raise :class:`Unverifiable`. Both name the member or meta field, its value and what is allowed.
"""

from __future__ import annotations

import collections
import json
import math
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

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
#: Optional network keys: absent means the default (``layout``: "pairs", files written before it;
#: ``geometry``: none, every layout but ``conv``; ``skips``: none, a plain chain, not a residual target).
META_NETWORK_OPTIONAL = ("layout", "geometry", "skips")
#: Kind of every layer of an explicit file (and of one without ``kinds``): an (out, in) matrix on flat vectors.
DENSE = "dense"

#: Type of every meta field slth writes: (test, what is allowed). Other keys are read but not checked
#: (a reader lists them as unchecked).
_KINDS = {
    "string": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "count": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "positive": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "number": (lambda v: _is_number(v), "a finite number"),
    "widths": (lambda v: isinstance(v, list) and len(v) >= 2 and all(_is_int(x) and x >= 1 for x in v),
               "a list of at least two positive integers"),
    "layers": (lambda v: isinstance(v, list) and all(_is_int(x) and x >= 1 for x in v), "a list of positive integers"),
    "strings": (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                "an object whose values are strings"),
    "kinds": (lambda v: isinstance(v, dict) and set(v) == {"target", "random"} and all(isinstance(x, list) and all(
              isinstance(k, str) for k in x) for x in v.values()), 'an object {"target": [...], "random": [...]} of strings'),
}
META_FIELDS = {
    "format": "string", "construction": "string", "seed": "count", "candidates": "positive",
    "dims": "widths", "distribution": "string", "drop_negative": "bool", "dtype": "string",
    "layout": "string", "geometry": "string", "kinds": "kinds", "certificate": "number", "lower_bound": "number", "max_weight_error": "number",
    "random_params": "count", "kept_params": "count", "live_params": "count", "random_widths": "widths", "depth": "positive",
    "certificate_norms": "number", "certificate_method": "string", "exact_lower": "number", "exact_upper": "number", "exact_status": "string",
    "exact_time_limit_s": "number", "skips": "layers", "construction_time_s": "number", "measure_time_s": "number",
    "versions": "strings", "device": "string", "git_revision": "string",
}

#: Largest random network read, in explicit entries (``RandomSpec.entries``): the most ``slth prune`` builds
#: (:mod:`slth.budget` refuses more).
MAX_RANDOM_PARAMS = 500_000_000
#: Most zip entries, and most central-directory bytes, read (an honest depth-l ticket has 2 + 5l).
MAX_MEMBERS = 10_000
MAX_DIRECTORY_BYTES = 2 << 20
#: Largest ``meta`` member, in bytes of its UCS-4 string (an honest one is a few KB).
MAX_META_BYTES = 1 << 20
#: Largest ``.npy`` header, in bytes (numpy's own default).
MAX_HEADER_BYTES = 10_000
#: Bytes read from a member at a time.
CHUNK = 1 << 20

_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))
_NAME = re.compile(r"(meta|witness|(target|random|mask)_(bias_)?(0|[1-9][0-9]*))\.npy")
_END = struct.Struct("<4s4H2LH")          # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")  # zip64 end of central directory locator
_END64 = struct.Struct("<4sQ2H2L4Q")      # zip64 end of central directory record


class TicketError(InputError):
    """A ticket file that cannot be read, is not a ticket, or breaks the invariant."""


class Unverifiable(TicketError):
    """A ticket file whose random network cannot be regenerated from its meta."""


class TicketFile(NamedTuple):
    """A ticket file's checked content: its meta, the random network it names, and every array by
    member name (``witness`` only if the file has one), each of the shape and dtype the spec implies."""

    meta: dict
    spec: nets.RandomSpec
    arrays: dict


def expected_layout(spec: nets.RandomSpec, *, kernel: bool = False) -> dict:
    """member name -> (shape, allowed dtypes, rule in words) of a ticket of ``spec`` (no meta); ``kernel``: in kernel form."""
    bias = int(nets.layouts.layout(spec).has_biases)      # [W_i | b_i]: one more column
    out = {f"target_{i}": ((spec.dims[i + 1], spec.dims[i] + bias), _FLOATS, "expected float64 or float32") for i in range(spec.depth)}
    rdt = np.dtype(spec.dtype)
    for k, shape in enumerate(spec.shapes()):
        out[f"random_{k}"] = (shape, (rdt,), f"expected {rdt}, the meta's dtype")
        out[f"mask_{k}"] = (shape, (np.dtype(np.bool_),), "masks must be boolean")
    if kernel:      # a kernel-form member's dtype rule is that of its side (target, random, mask)
        out |= {n: (shape, *(out[n] if n in out else out[f"{n.split('_')[0]}_0"])[1:])
                for n, shape in nets.layouts.layout(spec).kernel_shapes(spec).items()}
    out["witness"] = ((spec.dims[0],), _FLOATS, "expected float64 or float32 (a real input)")
    return out


def explicit_kinds(spec: nets.RandomSpec) -> dict:
    """The ``kinds`` of an explicit file of ``spec``: :data:`DENSE` for every target and random layer."""
    return {"target": [DENSE] * spec.depth, "random": [DENSE] * spec.random_depth}


def is_kernel_form(meta: dict, spec: nets.RandomSpec, where: str) -> bool:
    """Whether a file stores its layers in kernel form: its ``kinds`` are the layout's (``Conv.kinds``);
    absent or :func:`explicit_kinds`: explicit. TicketError for any other kinds."""
    lay, forms = nets.layouts.layout(spec), [None, explicit_kinds(spec)]
    forms += [lay.kinds(spec)] if lay.has_geometry else []
    if meta.get("kinds") not in forms:
        raise TicketError(f"{where}: meta field 'kinds' is {json.dumps(meta['kinds'])}; a ticket of this {spec.layout} "
                          f"network stores {' or '.join(map(json.dumps, forms[1:]))}")
    return meta.get("kinds") == forms[-1] != forms[1]


def read(path: str | Path) -> TicketFile:
    """Read and check a ticket file (see the module docstring for every check and limit); a kernel-form
    file's arrays come back explicit. Raises TicketError (the file is missing, not a zip, not a ticket, or
    malformed; the message names the member or meta field and what is allowed) or Unverifiable (its meta
    lacks the network settings or names a network this slth cannot regenerate, or above :data:`MAX_RANDOM_PARAMS`)."""
    return _with_zip(path, "ticket file (not a slth .npz file, or a truncated one)", _read_zip)


def _with_zip(path, what: str, reader):
    """``reader(zipfile, where)`` once the zip directory is checked; a broken container: one TicketError."""
    path = Path(path)
    if not path.is_file():
        raise TicketError(f"{str(path)!r} is not a file")
    where = repr(str(path))
    try:
        with open(path, "rb") as fh:
            _check_directory(fh, where, what)
            with zipfile.ZipFile(fh) as zf:
                return reader(zf, where)
    except TicketError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error, NotImplementedError,
            RuntimeError) as e:           # zipfile's refusals: unsupported features, encryption
        raise TicketError(f"{where} is not a readable {what}: {e}") from None


def _read_zip(zf: zipfile.ZipFile, where: str) -> TicketFile:
    infos = zf.infolist()
    names = [i.filename for i in infos]
    twice = sorted(n for n, count in collections.Counter(names).items() if count > 1)
    if twice:
        raise TicketError(f"{where} is not a ticket: members {_some(twice)} appear more than once")
    odd = [n for n in names if not _NAME.fullmatch(n)]
    if "meta.npy" not in names:
        raise TicketError(f"{where} is not a ticket: it has no 'meta' array")
    if odd:
        raise TicketError(f"{where} is not a ticket: unexpected members {_some(odd)}; a ticket holds only "
                          "meta, witness, target_i, random_k and mask_k (and in kernel form with biases "
                          "target_bias_i, random_bias_k, mask_bias_k), each as <name>.npy")
    by_name = {i.filename[:-4]: i for i in infos}
    meta = parse_meta(str(_read_member(zf, by_name["meta"], "meta", where)[()]), where=where)
    spec = _network(meta, where)
    kernel = is_kernel_form(meta, spec, where)
    layout = expected_layout(spec, kernel=kernel)
    required = set(layout) - {"witness"}
    absent, extra = sorted(required - set(by_name)), sorted(set(by_name) - set(layout) - {"meta"})
    if absent or extra:
        raise TicketError(f"{where} is not a ticket of depth {spec.depth}: missing arrays {_some(absent)}, "
                          f"unexpected arrays {_some(extra)}")
    arrays = {}
    for name in sorted(set(by_name) - {"meta"}, key=_member_order):
        shape, dtypes, rule = layout[name]
        arrays[name] = _read_member(zf, by_name[name], name, where, shape=shape, dtypes=dtypes, rule=rule)
        if name.startswith("mask_"):
            _check_mask_bytes(arrays[name], name, where)
    try:                                 # the error names the member: a kernel with NaN or infinity
        return TicketFile(meta, spec, arrays | (nets.layouts.layout(spec).expand(spec, arrays) if kernel else {}))
    except InputError as e:
        raise TicketError(f"{where}: {e}") from None


def read_conv_target(path: str | Path, *, rescale: bool = False):
    """The :class:`~slth.nets.conv.ConvTarget` of a CNN target file (:meth:`~slth.nets.conv.ConvTarget.save`):
    members ``geometry`` (0-d string, ``"1x8x8:4,8:k3:s1,2:10"``), kernels ``target_0`` … ``target_{m-1}``
    (C_i, C_{i-1}, k, k) and the head ``target_m`` (classes, C_m), float64 or float32, and with biases all of
    ``target_bias_0`` … ``target_bias_m`` (C_i,) and (classes,). Checked before any
    work, each refusal one TicketError naming the member: the geometry parses (odd k, strides, sizes),
    exactly these members, of the shapes it implies (channels chain, the image matches), finite; then
    operator norms <= 1 (``rescale``: scaled down, :func:`slth.nets.conv.conv_target`)."""
    kernels, head, g, biases = _with_zip(path, "CNN target file (not an .npz, or a truncated one)", _read_target_zip)
    try:
        return nets.conv.conv_target(kernels, head, g, rescale=rescale, biases=biases)
    except InputError as e:
        raise TicketError(f"{str(path)!r}: {e}") from None


def _read_target_zip(zf: zipfile.ZipFile, where: str):
    by_name = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
    if "geometry" not in by_name:
        raise TicketError(f"{where} is not a CNN target file: it has no 'geometry' member (e.g. '1x8x8:4,8:k3:s1,2:10')")
    text = str(_read_member(zf, by_name["geometry"], "geometry", where)[()])
    try:
        g = nets.conv.as_geometry(text)
    except InputError as e:
        raise TicketError(f"{where}: member 'geometry': {e}") from None
    chans = [s[0] for s in g.shapes()]
    shapes = [(c, c_in, g.kernel, g.kernel) for c_in, c in zip(chans, chans[1:])] + [(g.classes, chans[-1])]
    names, got = [f"target_{i}" for i in range(len(shapes))], sorted(i.filename for i in zf.infolist())
    biases = [f"target_bias_{i}" for i in range(len(shapes))]
    if got not in (sorted(f"{n}.npy" for n in names + ["geometry"]), sorted(f"{n}.npy" for n in names + biases + ["geometry"])):
        raise TicketError(f"{where} is not a CNN target of geometry {g.text()}: its members are {_some(got)}; expected "
                          f"geometry and target_0 .. target_{len(names) - 1}, and all or none of target_bias_0 .. _{len(names) - 1}")
    if "target_bias_0.npy" in got:      # one bias per output channel (per class for the head)
        names, shapes = names + biases, shapes + [(s[0],) for s in shapes]
    arrays = []
    for name, shape in zip(names, shapes):
        a = _read_member(zf, by_name[name], name, where, shape=shape, dtypes=_FLOATS, rule="expected float64 or float32")
        if not np.all(np.isfinite(a)):
            raise TicketError(f"{where}: {name} has {int(np.sum(~np.isfinite(a))):,} NaN or infinite entries; "
                              "all must be finite")
        arrays.append(a)
    m = len(biases)
    return arrays[:m - 1], arrays[m - 1], g, (tuple(arrays[m:]) or None)


def _some(names: list) -> str:
    """A list for a one-line message: all of a short one, the first five of a long one."""
    return str(names) if len(names) <= 5 else f"{names[:5]} and {len(names) - 5:,} more"


def _member_order(name: str):
    kind, _, k = name.rpartition("_")
    return (kind, int(k)) if k.isdigit() else (name, 0)


# --------------------------------------------------------------------------- meta

def parse_meta(text: str, *, where: str = "") -> dict:
    """Parse a ticket's meta strictly: a JSON object, no duplicate key at any depth, no NaN, Infinity
    or overflowing number, the required keys present and every known field of its type
    (:data:`META_FIELDS`).

    Raises:
      TicketError: naming the key or field, its value and what is allowed.
      Unverifiable: the network keys (:data:`META_NETWORK`) are missing.
    """
    prefix = f"{where}: " if where else ""
    try:
        return _parse_meta(text)
    except Unverifiable as e:
        raise Unverifiable(prefix + str(e)) from None
    except TicketError as e:
        raise TicketError(prefix + str(e)) from None


def _parse_meta(text: str) -> dict:
    try:
        meta = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                          parse_float=_finite_float)
    except TicketError:
        raise
    except RecursionError:
        raise TicketError("meta is not usable JSON: it nests too deeply") from None
    except ValueError as e:          # JSONDecodeError, or an integer with too many digits
        raise TicketError(f"meta is not usable JSON: {e}") from None
    if not isinstance(meta, dict):
        raise TicketError(f"meta is {_show(meta)}; expected a JSON object")
    missing = [k for k in META_REQUIRED if k not in meta]
    if missing:
        raise TicketError(f"not a ticket: meta lacks {missing}")
    for key, kind in META_FIELDS.items():
        if key in meta:
            ok, allowed = _KINDS[kind]
            if not ok(meta[key]):
                raise TicketError(f"meta field {key!r} is {_show(meta[key])}; expected {allowed}")
    if meta["format"] != FORMAT:
        raise TicketError(f"meta field 'format' is {meta['format']!r}; this slth reads {FORMAT!r}")
    absent = [k for k in META_NETWORK if k not in meta]
    if absent:
        raise Unverifiable(f"meta lacks {absent}, so its random network cannot be regenerated")
    return meta


def unchecked_keys(meta: dict) -> list[str]:
    """The meta keys :func:`parse_meta` does not know, hence did not check."""
    return sorted(set(meta) - set(META_FIELDS))


def _unique_keys(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise TicketError(f"meta has the key {key!r} more than once; JSON keys must be unique")
        seen.add(key)
    return dict(pairs)


def _no_constant(name):
    raise TicketError(f"meta holds {name}; numbers must be finite")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise TicketError(f"meta holds the number {text[:40]}, which overflows; numbers must be finite")
    return value


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _network(meta: dict, where: str) -> nets.RandomSpec:
    keys = ("dims", "candidates", "seed") + META_NETWORK + META_NETWORK_OPTIONAL
    try:
        spec = nets.spec_from_json({k: meta[k] for k in keys if k in meta})
    except InputError as e:
        raise Unverifiable(f"{where}: its random network cannot be regenerated: {e}") from None
    if spec.entries() > MAX_RANDOM_PARAMS:
        raise Unverifiable(f"{where}: its meta names a random network of {spec.entries():,} explicit entries; "
                           f"this slth reads at most {MAX_RANDOM_PARAMS:,} (what slth prune builds)")
    return spec


# --------------------------------------------------------------------------- zip and npy

def _check_directory(fh, where: str, what: str) -> None:
    """Refuse a zip whose end record declares more than :data:`MAX_MEMBERS` entries or a central
    directory above :data:`MAX_DIRECTORY_BYTES`, before ``zipfile`` reads the directory into memory.
    Finds the end record as ``zipfile`` does (the last 22 bytes, else the last signature within a
    maximal comment's reach) and, where a zip64 locator precedes it, the zip64 record ``zipfile`` uses."""
    size = fh.seek(0, 2)
    tail_len = min(size, _END.size + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = len(tail) - _END.size
    if at < 0 or tail[at:at + 4] != b"PK\x05\x06" or tail[-2:] != b"\0\0":
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _END.size > len(tail):
        raise TicketError(f"{where} is not a readable {what}: no zip end record")
    entries, directory = _END.unpack_from(tail, at)[4:6]
    # zipfile takes the zip64 record from just before the locator, which is just before the end record.
    locator = size - tail_len + at - _END64_LOCATOR.size
    if locator - _END64.size >= 0:
        fh.seek(locator - _END64.size)
        record = _END64.unpack(fh.read(_END64.size))
        found = _END64_LOCATOR.unpack(fh.read(_END64_LOCATOR.size))[0]
        if found == b"PK\x06\x07" and record[0] == b"PK\x06\x06":
            entries, directory = max(entries, record[7]), max(directory, record[8])
    if entries > MAX_MEMBERS or directory > MAX_DIRECTORY_BYTES:
        raise TicketError(f"{where} is not a ticket: its zip directory declares {entries:,} members in "
                          f"{directory:,} bytes; at most {MAX_MEMBERS:,} members and "
                          f"{MAX_DIRECTORY_BYTES:,} bytes are read")
    fh.seek(0)


def _read_member(zf, info, name: str, where: str, *, shape=(), dtypes=None, rule=None) -> np.ndarray:
    """One member's array: header first, checked against ``shape`` and ``dtypes`` (None: the meta, a
    unicode string up to :data:`MAX_META_BYTES`), then exactly the bytes the header promises."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise TicketError(f"{where}: member {name} uses zip compression method {info.compress_type}; "
                          "ticket files are stored or deflated (numpy.savez, savez_compressed)")
    if info.flag_bits & 0x1:
        raise TicketError(f"{where}: member {name} is encrypted; ticket files are not")
    fmt = np.lib.format
    with zf.open(info) as f:
        version = fmt.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise TicketError(f"{where}: {name} is in .npy format version {version[0]}.{version[1]}; "
                              "ticket files use 1.0 or 2.0")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        got, fortran, dtype = read_header(f, max_header_size=MAX_HEADER_BYTES)
        if dtype.hasobject:
            raise TicketError(f"{where}: {name} holds Python objects (dtype {dtype}); ticket arrays are numeric")
        if dtypes is None:
            if dtype.kind != "U" or not 0 < dtype.itemsize <= MAX_META_BYTES:
                raise TicketError(f"{where}: meta has dtype {dtype}; expected a unicode string of at most "
                                  f"{MAX_META_BYTES:,} bytes")
        elif dtype not in dtypes:
            raise TicketError(f"{where}: {name} has dtype {dtype}; {rule}")
        if got != shape:
            raise TicketError(f"{where}: {name} has shape {got}; expected {shape}")
        if fortran:
            raise TicketError(f"{where}: {name} is stored in Fortran order; ticket arrays must be in C order "
                              "(numpy.ascontiguousarray)")
        size = math.prod(shape) * dtype.itemsize
        buf = bytearray(size)
        view, done = memoryview(buf), 0
        while done < size:
            chunk = f.read(min(CHUNK, size - done))
            if not chunk:
                raise TicketError(f"{where}: {name} is truncated: {done:,} of the {size:,} bytes its header "
                                  "promises")
            view[done:done + len(chunk)] = chunk
            done += len(chunk)
        if f.read(1):
            raise TicketError(f"{where}: {name} holds more data than its header's shape {shape} and dtype "
                              f"{dtype} promise ({size:,} bytes)")
    return np.frombuffer(buf, dtype).reshape(shape)


def _check_mask_bytes(mask: np.ndarray, name: str, where: str) -> None:
    raw = mask.view(np.uint8)
    if raw.size and raw.max() > 1:
        index = tuple(int(i) for i in np.argwhere(raw > 1)[0])
        raise TicketError(f"{where}: {name} holds the byte {raw[index]:#04x} at {index} "
                          f"({int(np.sum(raw > 1)):,} such entries); a boolean mask byte must be 0 or 1")
