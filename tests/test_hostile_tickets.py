"""``slth verify`` against forged ticket files: it proves what it accepts (issue 13).

One honest ticket is built once; every forgery rewrites its zip by hand (so duplicate members, raw mask
bytes, lying headers and deflate bombs can be written) and must get its documented exit code from the
command line, in one line and never with a traceback: 0 valid, 1 invalid (a false claim), 2 unreadable
or malformed, 3 unverifiable (a claim that can be neither proved nor refuted here). Reading a bomb must
cost no more memory than verifying the honest ticket.
"""

import io
import json
import resource
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib

import jax
import numpy as np
import pytest

from slth import cli, measure, nets, pipeline, ticket_file
from slth import ticket as T

DIMS, C, SEED = (3, 4, 2), 4, 7
OK, INVALID, MALFORMED, UNVERIFIABLE = cli.EXIT_OK, cli.EXIT_INVALID, cli.EXIT_INPUT, cli.EXIT_UNVERIFIABLE
#: Uncompressed size of the deflate bomb: the 2.3 GB of the reported attack.
BOMB_BYTES = 2300 << 20


# --------------------------------------------------------------------------- the honest ticket

@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    target = nets.random_target(DIMS, key=jax.random.key(SEED))
    built = pipeline.prune("subset-sum", target, nets.RandomSpec(dims=DIMS, candidates=C, seed=SEED))
    path = T.save(built.ticket, tmp_path_factory.mktemp("honest") / "t.npz", built.meta, witness=built.witness)
    with zipfile.ZipFile(path) as z:
        members = {i.filename[:-4]: z.read(i) for i in z.infolist()}
    return {"path": path, "members": members, "meta": built.meta, "ticket": built.ticket,
            "witness": np.asarray(built.witness)}


# --------------------------------------------------------------------------- writing forgeries

def npy(array) -> bytes:
    """``array`` as .npy bytes exactly as numpy writes it (Fortran order if only F-contiguous; raw bytes,
    so a bool array holding 0x02 keeps it; objects pickled)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)
    return buf.getvalue()


def npy_header(shape, descr: str, *, version=(1, 0)) -> bytes:
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    write = {(1, 0): np.lib.format.write_array_header_1_0, (2, 0): np.lib.format.write_array_header_2_0}
    write[version](buf, header)
    return buf.getvalue()


def meta_npy(meta) -> bytes:
    return npy(np.array(meta if isinstance(meta, str) else json.dumps(meta)))


def write_zip(path, members):
    """A zip written by hand. ``members``: (name, data) or (name, data, fields), ``data`` as stored (already
    compressed for method 8), fields overriding method, size (uncompressed), crc and flags."""
    body, directory = b"", b""
    for name, data, *rest in members:
        f = {"method": 0, "size": len(data), "crc": zlib.crc32(data), "flags": 0} | (rest[0] if rest else {})
        raw = name.encode()
        common = (20, f["flags"], f["method"], 0, 33, f["crc"], len(data), f["size"], len(raw))
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *common, 0, 0, 0, 0, 0, len(body)) + raw
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", *common, 0) + raw + data
    n = len(members)
    path.write_bytes(body + directory + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(directory),
                                                    len(body), 0))
    return path


def forge(tmp_path, honest, name="forged.npz", *, drop=(), extra=(), **replace):
    """The honest ticket's members, some replaced (bytes, or (bytes, fields)), dropped or added."""
    members = []
    for k, data in honest["members"].items():
        if k in drop:
            continue
        new = replace.get(k, data)
        members.append((f"{k}.npy", *new) if isinstance(new, tuple) else (f"{k}.npy", new))
    return write_zip(tmp_path / name, members + list(extra))


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def savez_compressed(path, source):
    with np.load(source, allow_pickle=False) as z:
        np.savez_compressed(path, **{k: z[k] for k in z.files})
    return path


def array(honest, name):
    return np.lib.format.read_array(io.BytesIO(honest["members"][name]))


def with_meta(tmp_path, honest, *, witness="keep", **changes):
    """The honest ticket with meta fields changed (None deletes one) and, optionally, another witness
    (None drops it)."""
    meta = {k: v for k, v in (honest["meta"] | changes).items() if v is not None}
    replace = {"meta": meta_npy(meta)}
    if witness is None:
        return forge(tmp_path, honest, drop=("witness",), **replace)
    if not isinstance(witness, str):
        replace["witness"] = npy(np.asarray(witness))
    return forge(tmp_path, honest, **replace)


def gap(honest, x) -> float:
    t = honest["ticket"]
    return float(measure.gap_at(t.target, t.pruned, np.asarray(x, np.float64)[None])[0])


def bomb_member(honest) -> bytes:
    """target_0 with a correct header and data, then BOMB_BYTES of zeros, deflated: after a full flush
    the compressor starts afresh, so the deflate of 1 MiB of zeros is one repeatable piece (~1 KB)."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(honest["members"]["target_0"]) + co.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(1 << 20)
    piece = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)
    assert co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH) == piece
    data = head + piece * (BOMB_BYTES >> 20) + co.flush()
    return data, {"method": 8, "size": len(honest["members"]["target_0"]) + BOMB_BYTES, "crc": 0}


def bomb(tmp_path, honest):
    return forge(tmp_path, honest, "bomb.npz", target_0=bomb_member(honest))


def huge_header(tmp_path, honest):
    """target_0's header declares 10^12 float64 entries (8 TB); 8 bytes follow."""
    return forge(tmp_path, honest, "huge.npz", target_0=npy_header((10**12,), "<f8") + bytes(8))


def mask_byte(honest, value, *, kept):
    """mask_1 with one kept (or pruned) entry's byte set to ``value``."""
    raw = array(honest, "mask_1").view(np.uint8).copy()
    raw[tuple(np.argwhere(raw == (1 if kept else 0))[0])] = value
    return npy(raw.view(np.bool_))


def consistent_other_masks(tmp_path, honest):
    """A ticket whose every numeric claim is true but whose masks are not subset sum's: one more kept
    weight in layer 2, with certificate, bounds, counts and witness recomputed for the new masks."""
    t = honest["ticket"]
    masks = [np.array(s) for s in t.masks]
    r, c = np.argwhere(~masks[1])[0]
    masks[1][r, c] = True
    other = T.Ticket(t.target, t.random, tuple(masks), t.spec, t.construction)
    m = pipeline.measure_ticket(other)
    meta = honest["meta"] | {k: v for k, v in m.items() if k != "witness"}
    return forge(tmp_path, honest, meta=meta_npy(meta), mask_1=npy(masks[1]), witness=npy(np.asarray(m["witness"])))


def many_members(tmp_path, honest):
    return forge(tmp_path, honest, extra=[(f"x{i}", b"") for i in range(ticket_file.MAX_MEMBERS + 1)])


# --------------------------------------------------------------------------- the cases

#: case -> (forger(tmp_path, honest) -> path, exit code, fragment of the output).
CASES = {
    # honest files, written differently: the reader accepts what numpy writes
    "honest, rewritten by hand": (lambda p, h: forge(p, h), OK, "VALID"),
    "honest, numpy.savez_compressed": (lambda p, h: savez_compressed(p / "c.npz", h["path"]), OK, "VALID"),
    "honest, deflated by hand": (
        lambda p, h: forge(p, h, **{k: (zlib.compress(v)[2:-4], {"method": 8, "size": len(v), "crc": zlib.crc32(v)})
                                    for k, v in h["members"].items()}), OK, "VALID"),
    "honest, no witness (its own search proves the lower bound)": (
        lambda p, h: with_meta(p, h, witness=None), OK, "VALID"),
    "npy version 2.0 header": (lambda p, h: forge(p, h, witness=npy_header((3,), "<f8", version=(2, 0))
                                                  + h["witness"].tobytes()), OK, "VALID"),
    # the reported false tickets
    "mask byte 0x02 for a kept weight": (lambda p, h: forge(p, h, mask_1=mask_byte(h, 2, kept=True)),
                                         MALFORMED, "mask_1 holds the byte 0x02"),
    "mask byte 0xff for a pruned weight": (lambda p, h: forge(p, h, mask_1=mask_byte(h, 255, kept=False)),
                                           MALFORMED, "a boolean mask byte must be 0 or 1"),
    "lower bound 5.0 without a witness": (lambda p, h: with_meta(p, h, witness=None, lower_bound=5.0),
                                          INVALID, "above the recomputed certificate"),
    "lower bound between search and certificate without a witness": (
        lambda p, h: with_meta(p, h, witness=None, lower_bound=(h["meta"]["lower_bound"] + h["meta"]["certificate"])
                               / 2), UNVERIFIABLE, "without a witness"),
    "witness x2 with its gap claimed": (
        lambda p, h: with_meta(p, h, witness=2 * h["witness"], lower_bound=gap(h, 2 * h["witness"])),
        INVALID, "the witness has norm 2"),
    "witness x5.5 with its gap claimed": (
        lambda p, h: with_meta(p, h, witness=5.5 * h["witness"], lower_bound=gap(h, 5.5 * h["witness"])),
        INVALID, "the witness has norm 5.5"),
    "witness just outside the ball": (
        lambda p, h: with_meta(p, h, witness=(1 + 1e-9) * h["witness"], lower_bound=gap(h, (1 + 1e-9) * h["witness"])),
        INVALID, "> 1"),
    "witness with NaN": (lambda p, h: with_meta(p, h, witness=np.array([np.nan, 0.0, 0.0])),
                         INVALID, "NaN or infinite"),
    "lower bound not the gap at the witness": (lambda p, h: with_meta(p, h, lower_bound=h["meta"]["lower_bound"] / 2),
                                               INVALID, "the gap at the stored witness"),
    "lower bound above the certificate, with a witness": (
        lambda p, h: with_meta(p, h, lower_bound=h["meta"]["certificate"] + 1), INVALID, "above the recomputed"),
    "relabelled selection": (lambda p, h: with_meta(p, h, construction="selection"), INVALID,
                             "the masks differ from those the selection construction rebuilds"),
    "relabelled edge-popup (a trained construction is rebuilt too)": (
        lambda p, h: with_meta(p, h, construction="edge-popup"), INVALID,
        "the masks differ from those the edge-popup construction rebuilds"),
    "relabelled bogus": (lambda p, h: with_meta(p, h, construction="bogus"), UNVERIFIABLE,
                         "construction 'bogus' is not one this slth knows"),
    "relabelled depth-l+1 (another layout)": (lambda p, h: with_meta(p, h, construction="depth-l+1"), INVALID,
                                              "prunes the 'l+1' layout"),
    "relabelled binary (another weight law)": (lambda p, h: with_meta(p, h, construction="binary"), INVALID,
                                               "with 'binary-scaled' weights"),
    "relabelled selection, written with another jax": (
        lambda p, h: with_meta(p, h, construction="selection", versions=h["meta"]["versions"] | {"jax": "0.0.1"}),
        UNVERIFIABLE, "written with jax 0.0.1"),
    "relabelled selection, written at another slth revision": (
        lambda p, h: with_meta(p, h, construction="selection", git_revision="0" * 40), UNVERIFIABLE,
        "slth revision 0000"),
    "true claims, masks subset sum would not choose": (consistent_other_masks, INVALID, "mask_1 in 1 entries"),
    "witness of 1.5e308 entries": (lambda p, h: with_meta(p, h, witness=np.full(3, 1.5e308)), INVALID,
                                   "the witness has norm inf > 1"),
    "target with NaN": (lambda p, h: forge(p, h, target_0=npy(np.full((4, 3), np.nan))), INVALID, "NaN or infinite"),
    "target of norm 1e300": (lambda p, h: forge(p, h, target_0=npy(np.full((4, 3), 1e300))), INVALID,
                             "spectral norm"),
    "false certificate": (lambda p, h: with_meta(p, h, certificate=h["meta"]["certificate"] / 2), INVALID,
                          "meta claims certificate"),
    "false max weight error": (lambda p, h: with_meta(p, h, max_weight_error=1.0), INVALID,
                               "meta claims max_weight_error"),
    "false kept count": (lambda p, h: with_meta(p, h, kept_params=h["meta"]["kept_params"] + 1), INVALID,
                         "meta claims kept_params"),
    "false random widths": (lambda p, h: with_meta(p, h, random_widths=[3, 4, 2]), INVALID,
                            "meta claims random_widths"),
    "false depth": (lambda p, h: with_meta(p, h, depth=3), INVALID, "meta claims depth"),
    # meta: strict JSON, typed fields
    "duplicate meta key": (lambda p, h: forge(p, h, meta=meta_npy(json.dumps(h["meta"])[:-1] + ', "seed": 8}')),
                           MALFORMED, "the key 'seed' more than once"),
    "duplicate nested meta key": (
        lambda p, h: forge(p, h, meta=meta_npy(json.dumps(h["meta"] | {"versions": {"a": "1"}}).replace(
            '"versions": {"a": "1"}', '"versions": {"a": "1", "a": "2"}'))), MALFORMED, "the key 'a' more than once"),
    "NaN in meta": (lambda p, h: forge(p, h, meta=meta_npy(json.dumps(h["meta"] | {"certificate": float("nan")}))),
                    MALFORMED, "meta holds NaN"),
    "Infinity in meta": (lambda p, h: forge(p, h, meta=meta_npy(json.dumps(h["meta"] | {"x": float("inf")}))),
                         MALFORMED, "meta holds Infinity"),
    "overflowing number in meta": (
        lambda p, h: forge(p, h, meta=meta_npy(json.dumps(h["meta"])[:-1] + ', "x": 1e999}')), MALFORMED, "overflows"),
    "lower bound 'abc'": (lambda p, h: with_meta(p, h, lower_bound="abc"), MALFORMED,
                          "meta field 'lower_bound' is 'abc'; expected a finite number"),
    "lower bound null": (lambda p, h: forge(p, h, meta=meta_npy(h["meta"] | {"lower_bound": None})), MALFORMED,
                         "meta field 'lower_bound' is None"),
    "lower bound true": (lambda p, h: with_meta(p, h, lower_bound=True), MALFORMED, "meta field 'lower_bound'"),
    "dims as a string": (lambda p, h: with_meta(p, h, dims="3,4,2"), MALFORMED, "meta field 'dims' is '3,4,2'"),
    "fractional dims": (lambda p, h: with_meta(p, h, dims=[3.5, 4, 2]), MALFORMED, "meta field 'dims'"),
    "dims as floats": (lambda p, h: with_meta(p, h, dims=[3.0, 4.0, 2.0]), MALFORMED, "positive integers"),
    "seed as a bool": (lambda p, h: with_meta(p, h, seed=True), MALFORMED, "meta field 'seed' is True"),
    "candidates 4.0": (lambda p, h: with_meta(p, h, candidates=4.0), MALFORMED, "meta field 'candidates'"),
    "kept count as a string": (lambda p, h: with_meta(p, h, kept_params="78"), MALFORMED, "meta field 'kept_params'"),
    "drop_negative 'no'": (lambda p, h: with_meta(p, h, drop_negative="no"), MALFORMED, "true or false"),
    "versions as a string": (lambda p, h: with_meta(p, h, versions="jax 0.6"), MALFORMED, "meta field 'versions'"),
    "meta a list": (lambda p, h: forge(p, h, meta=meta_npy("[1, 2]")), MALFORMED, "expected a JSON object"),
    "meta not JSON": (lambda p, h: forge(p, h, meta=meta_npy("{'format': 1}")), MALFORMED, "not usable JSON"),
    "meta nested too deeply": (lambda p, h: forge(p, h, meta=meta_npy("[" * 100_000 + "]" * 100_000)), MALFORMED,
                               "nests too deeply"),
    "meta lacks the certificate": (lambda p, h: with_meta(p, h, certificate=None), MALFORMED, "meta lacks"),
    "another format": (lambda p, h: with_meta(p, h, format="slth-ticket/9"), MALFORMED, "this slth reads"),
    "meta as bytes": (lambda p, h: forge(p, h, meta=npy(np.array(json.dumps(h["meta"]).encode()))), MALFORMED,
                      "meta has dtype |S"),
    "meta as a number": (lambda p, h: forge(p, h, meta=npy(np.array(1.0))), MALFORMED, "meta has dtype float64"),
    "meta of shape (1,)": (lambda p, h: forge(p, h, meta=npy(np.array([json.dumps(h["meta"])]))), MALFORMED,
                           "meta has shape (1,)"),
    "meta header of a 400 MB string": (lambda p, h: forge(p, h, meta=npy_header((), "<U100000000")), MALFORMED,
                                       "unicode string of at most"),
    "meta header of a dtype numpy refuses": (lambda p, h: forge(p, h, meta=npy_header((), "<U9999999999")),
                                             MALFORMED, "not a readable ticket file"),
    # members: names, dtypes, shapes, order, objects
    "Fortran-ordered target": (lambda p, h: forge(p, h, target_0=npy(np.asfortranarray(array(h, "target_0")))),
                               MALFORMED, "Fortran order"),
    "witness stored as strings": (lambda p, h: forge(p, h, witness=npy(h["witness"].astype(str))), MALFORMED,
                                  "witness has dtype <U"),
    "complex witness": (lambda p, h: forge(p, h, witness=npy(h["witness"].astype(complex))), MALFORMED,
                        "witness has dtype complex128"),
    "object witness": (lambda p, h: forge(p, h, witness=npy(h["witness"].astype(object))), MALFORMED,
                       "holds Python objects"),
    "object mask": (lambda p, h: forge(p, h, mask_0=npy(array(h, "mask_0").astype(object))), MALFORMED,
                    "holds Python objects"),
    "float mask": (lambda p, h: forge(p, h, mask_0=npy(array(h, "mask_0").astype(float))), MALFORMED,
                   "masks must be boolean"),
    "float32 random layer": (lambda p, h: forge(p, h, random_0=npy(array(h, "random_0").astype(np.float32))),
                             MALFORMED, "random_0 has dtype float32; expected float64"),
    "big-endian random layer": (lambda p, h: forge(p, h, random_0=npy(array(h, "random_0").astype(">f8"))),
                                MALFORMED, "random_0 has dtype >f8"),
    "integer target": (lambda p, h: forge(p, h, target_0=npy(np.zeros((4, 3), np.int64))), MALFORMED,
                       "target_0 has dtype int64"),
    "random layer of the wrong shape": (lambda p, h: forge(p, h, random_0=npy(array(h, "random_0")[:, :-1])),
                                        MALFORMED, "random_0 has shape (24, 2); expected (24, 3)"),
    "witness of the wrong shape": (lambda p, h: forge(p, h, witness=npy(h["witness"][None])), MALFORMED,
                                   "witness has shape (1, 3)"),
    "npy version 3.0 header": (lambda p, h: forge(p, h, witness=b"\x93NUMPY\x03\x00" + h["members"]["witness"][8:]),
                               MALFORMED, "format version 3.0"),
    "member is not .npy": (lambda p, h: forge(p, h, witness=b"not an array"), MALFORMED, "not a readable ticket"),
    "member truncated": (lambda p, h: forge(p, h, random_1=h["members"]["random_1"][:-8]), MALFORMED,
                         "random_1 is truncated"),
    "member longer than its header": (lambda p, h: forge(p, h, random_1=h["members"]["random_1"] + bytes(8)),
                                      MALFORMED, "random_1 holds more data than its header"),
    "huge header": (huge_header, MALFORMED, "target_0 has shape (1000000000000,); expected (4, 3)"),
    "zip bomb": (bomb, MALFORMED, "target_0 holds more data than its header"),
    "extra member": (lambda p, h: forge(p, h, extra=[("extra.npy", npy(np.ones(3)))]), MALFORMED,
                     "unexpected members ['extra.npy']"),
    "extra layer": (lambda p, h: forge(p, h, extra=[("random_4.npy", npy(np.ones(3)))]), MALFORMED,
                    "unexpected arrays ['random_4']"),
    "missing mask": (lambda p, h: forge(p, h, drop=("mask_0",)), MALFORMED, "missing arrays ['mask_0']"),
    "missing meta": (lambda p, h: forge(p, h, drop=("meta",)), MALFORMED, "no 'meta' array"),
    "duplicate member": (lambda p, h: forge(p, h, extra=[("target_0.npy", h["members"]["target_0"])]), MALFORMED,
                         "members ['target_0.npy'] appear more than once"),
    "member without .npy": (lambda p, h: forge(p, h, extra=[("witness", b"")]), MALFORMED, "unexpected members"),
    "bzip2 member": (lambda p, h: forge(p, h, witness=(h["members"]["witness"], {"method": 12})), MALFORMED,
                     "compression method 12"),
    "encrypted member": (lambda p, h: forge(p, h, witness=(h["members"]["witness"], {"flags": 1})), MALFORMED,
                         "is encrypted"),
    "patched-data flag": (lambda p, h: forge(p, h, witness=(h["members"]["witness"], {"flags": 0x20})), MALFORMED,
                          "not a readable ticket"),
    "bad CRC": (lambda p, h: forge(p, h, random_1=(h["members"]["random_1"], {"crc": 1})), MALFORMED,
                "not a readable ticket"),
    "zip directory of too many members": (many_members, MALFORMED, "its zip directory declares 10,0"),
    # files that are not tickets
    "truncated file": (lambda p, h: write(p / "cut.npz", h["path"].read_bytes()[:2000]), MALFORMED,
                       "not a readable ticket file"),
    "not a zip": (lambda p, h: write(p / "noise.npz", np.random.default_rng(0).bytes(5000)), MALFORMED,
                  "not a readable ticket file"),
    "text file": (lambda p, h: write(p / "text.npz", b"hello\n"), MALFORMED, "not a readable ticket file"),
    "empty file": (lambda p, h: write(p / "empty.npz", b""), MALFORMED, "not a readable ticket file"),
    "a folder": (lambda p, h: p, MALFORMED, "is not a file"),
    "another npz": (lambda p, h: write(p / "other.npz", npz(weights=np.ones(3))), MALFORMED, "no 'meta' array"),
    # networks that cannot be regenerated here
    "unknown weight law": (lambda p, h: with_meta(p, h, distribution="someone-elses"), UNVERIFIABLE,
                           "cannot be regenerated"),
    "meta lacks the weight law": (lambda p, h: with_meta(p, h, distribution=None), UNVERIFIABLE, "meta lacks"),
    "network of 10^12 parameters": (lambda p, h: with_meta(p, h, dims=[1_000_000, 1_000_000]), UNVERIFIABLE,
                                    "this slth reads at most 500,000,000"),
}


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", list(CASES))
def test_forgery_gets_its_exit_code(case, honest, tmp_path, capsys):
    forger, expected, fragment = CASES[case]
    path = forger(tmp_path, honest)
    code, out, err = run(capsys, "verify", str(path))
    assert code == expected, (case, out, err)
    assert fragment in out + err, (case, out, err)
    assert "Traceback" not in out + err and len(err.strip().splitlines()) <= 1, (case, err)
    if expected == MALFORMED:       # --json answers in JSON too (cheap: nothing is computed)
        code, out, _ = run(capsys, "verify", str(path), "--json")
        report = json.loads(out)
        assert code == MALFORMED and report["exit_code"] == MALFORMED and report["status"] == "unreadable"
        assert fragment in report["error"] and report["problems"] == [report["error"]]


def test_json_report_of_a_verified_ticket(honest, capsys):
    code, out, _ = run(capsys, "verify", str(honest["path"]), "--json")
    report = json.loads(out)
    assert code == OK and report["exit_code"] == OK and report["status"] == "valid"
    assert report["problems"] == report["unverified"] == report["unchecked"] == []
    rec = report["recomputed"]
    assert rec["lower_bound_at_witness"] == pytest.approx(honest["meta"]["lower_bound"], abs=1e-12)
    assert rec["random_widths"] == honest["meta"]["random_widths"] and rec["depth"] == 4


def test_unknown_meta_keys_are_reported_unchecked(honest, tmp_path, capsys):
    code, out, _ = run(capsys, "verify", str(with_meta(tmp_path, honest, comment="hand-made")))
    assert code == OK and "not checked (meta keys this slth does not know): comment" in out


def test_an_internal_error_is_one_line_and_never_exit_1(honest, monkeypatch, capsys):
    def broken(path):
        raise RuntimeError("boom")
    monkeypatch.setattr(pipeline, "verify", broken)
    code, out, err = run(capsys, "verify", str(honest["path"]))
    assert code == UNVERIFIABLE and err.strip() == ("slth verify: error: could not verify the file: RuntimeError: "
                                                    "boom (a bug in slth verify)")


def test_reader_limit_is_what_prune_builds():
    """slth prune refuses a network above the reader's limit before any work (so it never writes a
    file verify refuses)."""
    from slth import budget, nets

    spec = nets.RandomSpec(dims=(1000, 1000), candidates=ticket_file.MAX_RANDOM_PARAMS // (4 * 1000 * 1000) + 1,
                           seed=0)
    assert spec.random_params() > ticket_file.MAX_RANDOM_PARAMS
    with pytest.raises(budget.BudgetError, match="of a ticket file"):
        budget.check_prune("selection", spec)


# --------------------------------------------------------------------------- memory

def test_reading_a_bomb_allocates_what_the_ticket_needs(honest, tmp_path):
    """Python-side allocations while reading the bomb or the huge header stay within a few chunks,
    whatever the expanded size or the header's claim."""
    paths = [bomb(tmp_path, honest), huge_header(tmp_path, honest)]
    for path in paths:
        tracemalloc.start()
        try:
            with pytest.raises(T.TicketError):
                ticket_file.read(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 4 * ticket_file.CHUNK, (path.name, peak)


CHILD = """
import json, resource, sys
from slth import cli
codes = [cli.main(["verify", path]) for path in sys.argv[1:]]
print(json.dumps({"codes": codes, "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _verify_in_child(*paths) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, *map(str, paths)], capture_output=True, text=True,
                          timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bomb_and_huge_header_cost_no_more_memory_than_the_honest_ticket(honest, tmp_path):
    """Acceptance: peak resident memory of a process verifying the bomb and the huge-header file is at
    most twice that of one verifying the honest ticket (each process reports its own ru_maxrss)."""
    fair = _verify_in_child(honest["path"])
    hostile = _verify_in_child(bomb(tmp_path, honest), huge_header(tmp_path, honest))
    assert fair["codes"] == [OK] and hostile["codes"] == [MALFORMED, MALFORMED]
    assert hostile["maxrss"] <= 2 * fair["maxrss"], (hostile, fair)
