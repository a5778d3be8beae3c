"""The kernel-form ticket file of a CNN target, CNN target files, and parameter counts in kernel form
(issue 16, item 6): files written before the kernel form still load and verify; a kernel-form file
stores kernels (out, in, k, k), one mask bit per kernel entry and its layers' ``kinds``, expands to the
explicit matrices on load, and plain numpy checks it; the reader refuses inconsistent files in one line."""

import dataclasses
import json
import math
from pathlib import Path

import jax
import numpy as np
import pytest

from slth import cli, nets, pipeline, ticket as ticket_mod, ticket_file
from slth.errors import InputError
from slth.nets import conv
from slth.ticket_file import TicketError

#: A file ``slth prune --target-kind conv --image 2,4,4 --channels 2 --kernel 3 --strides 2 --classes 2
#: --candidates 1 --seed 3`` wrote before the kernel form (explicit matrices, no ``kinds``, counts per entry).
GEOMETRY = conv.Geometry(image=(1, 4, 4), channels=(2,), kernel=3, strides=(1,), classes=2)
STRIDED = conv.Geometry(image=(2, 6, 6), channels=(2, 2), kernel=3, strides=(2, 1), classes=2)

#: The README's "check a CNN ticket with numpy alone": no slth, only the file (``path``).
SNIPPET = '''
import json, numpy as np
z = np.load(path, allow_pickle=False)
meta = json.loads(str(z["meta"][()]))
kinds = meta["kinds"]                        # conv-s1/-s2: "same" convolution, stride 1/2; gap-dense, ngap-dense
image = tuple(int(v) for v in meta["geometry"].split(":")[0].split("x"))      # (C, H, W)

def layer(kind, a, x):                       # x: a batch of images (n, C, H, W); "+bias": see biases()
    kind = kind.split("+")[0]
    if kind.endswith("gap-dense"):           # pooling, then a dense (out, C) map: the mean (gap-dense), or
        hw = x.shape[2] * x.shape[3]         # the sum over the H·W positions divided by √(H·W) (ngap-dense)
        return x.sum(axis=(2, 3)) / (hw if kind == "gap-dense" else np.sqrt(hw)) @ a.T
    s, k = int(kind[-1]), a.shape[-1]        # kernel a (out, in, k, k), zero padding (k - 1) / 2
    n, c, h, w = x.shape
    p = (k - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    y = np.zeros((n, a.shape[0], h // s, w // s))
    for dy in range(k):
        for dx in range(k):
            y += np.einsum("oc,nchw->nohw", a[:, :, dy, dx], xp[:, :, dy:dy + h:s, dx:dx + w:s])
    return y

def biases(side, kinds):                     # each layer's bias per output channel ("+bias" kinds), else 0
    out, block = [], None
    for k, kind in enumerate(kinds):
        if not kind.endswith("+bias"):
            out.append(0.0)
        elif side == "target":
            out.append(z[f"target_bias_{k}"])
        elif k % 2 == 0:                     # a 1×1 layer: its hidden channels' biases, then its bias block's
            b, n = z[f"random_bias_{k}"] * z[f"mask_bias_{k}"], z[f"random_{k}"].shape[0]
            out.append(b[:n])
            block = np.maximum(b[n:], 0)     # the bias block's outputs, the same at every position
        else:                                # the bias block's weights read them, then the layer's own bias
            b = z[f"random_bias_{k}"] * z[f"mask_bias_{k}"]
            out.append(b[:, :-1] @ block + b[:, -1])
    return out

def matrices(kinds, arrays, bs):             # each layer as x ↦ M x + c, column j of M = layer(e_j)
    shape, out = image, []
    for kind, a, b in zip(kinds, arrays, bs):
        n = int(np.prod(shape))
        y = layer(kind, a, np.eye(n).reshape(n, *shape))
        c = np.broadcast_to(np.reshape(b, (-1,) + (1,) * (y.ndim - 2)), y.shape[1:]).reshape(-1)
        out.append((y.reshape(n, -1).T, c))
        shape = y.shape[1:]
    return out

def forward(ms, x, adds=None):               # x: rows (batch, C·H·W), flattened C-major; adds: the skips
    outs, adds = [x], adds or {}             # layer i (1-based) adds the earlier output adds[i] before its ReLU
    for i, (m, c) in enumerate(ms, start=1):
        y = outs[-1] @ m.T + c + (outs[adds[i]] if i in adds else 0)
        outs.append(np.maximum(y, 0) if i < len(ms) else y)
    return outs[-1]

skips = meta.get("skips", [])                # a residual CNN: conv i's input added to conv i + 1's output
into = {"target": {i + 1: i - 1 for i in skips}, "random": {2 * i + 2: 2 * i - 2 for i in skips}}

T = matrices(kinds["target"], [z[f"target_{i}"] for i in range(len(kinds["target"]))], biases("target", kinds["target"]))
R = matrices(kinds["random"], [z[f"random_{k}"] * z[f"mask_{k}"] for k in range(len(kinds["random"]))],
             biases("random", kinds["random"]))
x = np.random.default_rng(0).normal(size=(1000, int(np.prod(image))))
x /= np.linalg.norm(x, axis=1, keepdims=True)                                 # images on the unit sphere
gaps = np.linalg.norm(forward(T, x, into["target"]) - forward(R, x, into["random"]), axis=1)
w = z["witness"][None]
at_witness = np.linalg.norm(forward(T, w, into["target"]) - forward(R, w, into["random"]))
print(gaps.max(), "<=", meta["certificate"], "; at the witness", at_witness, "=", meta["lower_bound"])
'''


def spec_of(g, c, seed=0):
    return nets.RandomSpec(dims=g.dims(), candidates=c, seed=seed, layout="conv", geometry=g.text())


@pytest.fixture(scope="module", params=[("subset-sum", GEOMETRY, 2), ("selection", STRIDED, 2)],
                ids=["subset-sum", "selection-strided"])
def saved(request, tmp_path_factory):
    name, g, c = request.param
    target = conv.random_conv_target(g, seed=1)
    p = pipeline.prune(name, target.layers(), spec_of(g, c))
    return g, target, p, p.save(tmp_path_factory.mktemp("conv") / "ticket.npz")


def _members(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {n: z[n] for n in z.files}


def _write(path, members: dict, meta: dict | None = None) -> Path:
    members = dict(members)
    if meta is not None:
        members["meta"] = np.array(json.dumps(meta, sort_keys=True))
    np.savez(path, **members)
    return path


# --------------------------------------------------------------------------- files written before

def legacy_file(path) -> Path:
    """A conv ticket file as slth wrote them before the kernel form: explicit matrices, no ``kinds``,
    counts per explicit entry (``slth prune --target-kind conv --image 2,4,4 --channels 2 --kernel 3
    --strides 2 --classes 2 --candidates 1 --seed 3``, written out member by member)."""
    g = conv.Geometry.parse("2x4x4:2:k3:s2:2")
    p = pipeline.prune("subset-sum", conv.random_conv_target(g, seed=3).layers(), spec_of(g, 1, seed=3))
    t = p.ticket
    meta = {k: v for k, v in p.meta.items() if k != "kinds"} | pipeline.parameter_counts(t, explicit=True)
    members = {f"target_{i}": np.asarray(w) for i, w in enumerate(t.target)}
    members |= {f"random_{k}": np.asarray(m) for k, m in enumerate(t.random)}
    members |= {f"mask_{k}": np.asarray(s) for k, s in enumerate(t.masks)} | {"witness": p.witness}
    return _write(path, members, meta)


def test_a_file_written_before_the_kernel_form_still_loads_and_verifies(tmp_path):
    """A file of the explicit form (no ``kinds``, counts per explicit entry) is valid, and its random
    network is regenerated bit for bit by the kernel-form generator."""
    legacy = legacy_file(tmp_path / "legacy.npz")
    meta = json.loads(str(_members(legacy)["meta"]))
    assert "kinds" not in meta and meta["random_params"] == 2720
    report = pipeline.verify(legacy)
    assert report["status"] == "valid", report
    assert report["recomputed"]["random_params"] == 2720 and report["recomputed"]["kept_params"] == meta["kept_params"]
    t, _, _ = ticket_mod.load(legacy)
    assert t.random_params() == t.spec.random_params() == 2 * 2 * (1 + 2 * 9) + 2 * 2 * (1 + 2) < t.spec.entries()
    # The same ticket saved today is in kernel form, far smaller, and verifies with kernel-form counts.
    new = ticket_mod.save(t, tmp_path / "new.npz", meta | pipeline.parameter_counts(t))
    assert json.loads(str(_members(new)["meta"]))["kinds"] == nets.layouts.layout(t.spec).kinds(t.spec)
    assert new.stat().st_size < legacy.stat().st_size / 2
    assert pipeline.verify(new)["status"] == "valid"
    back, _, _ = ticket_mod.load(new)
    for a, b in zip(t.target + t.random + t.masks, back.target + back.random + back.masks):
        assert np.asarray(a).dtype == np.asarray(b).dtype and np.array_equal(np.asarray(a), np.asarray(b))


# --------------------------------------------------------------------------- the kernel form

def test_a_conv_ticket_file_holds_kernels_and_one_mask_bit_per_kernel_entry(saved):
    g, target, p, path = saved
    z = _members(path)
    spec = p.ticket.spec
    layout = nets.layouts.layout(spec)
    assert json.loads(str(z["meta"]))["kinds"] == layout.kinds(spec)
    assert {n: a.shape for n, a in z.items() if n not in ("meta", "witness")} == layout.kernel_shapes(spec)
    for i, k in enumerate(target.kernels):                   # the target's own kernels and head
        np.testing.assert_array_equal(z[f"target_{i}"], k)
    np.testing.assert_allclose(z[f"target_{len(target.kernels)}"], target.head, rtol=1e-15, atol=0)
    units = spec.units_per_block(1)
    first = z["random_0"][:, :, 0, 0]                        # hidden channel c·U + r reads channel c only
    off_block = np.arange(first.shape[0])[:, None] // units != np.arange(first.shape[1])[None, :]
    assert np.all(first[off_block] == 0) and np.all(first[~off_block] != 0)
    # counts in kernel form: one parameter per kernel entry and per hidden channel's 1×1 weight
    kept = sum(int(z[f"mask_{k}"].sum()) for k in range(spec.random_depth))
    assert p.meta["kept_params"] == p.ticket.kept_params() == kept
    chans = [s[0] for s in g.shapes()] + [g.classes]
    taps = [g.kernel ** 2] * len(g.channels) + [1]
    assert p.meta["random_params"] == sum(c * units * (1 + o * t) for c, o, t in zip(chans, chans[1:], taps))
    assert p.meta["random_params"] == sum(int(np.sum(np.any(z[f"random_{k}"] != 0, axis=1))) if k % 2 == 0
                                          else z[f"random_{k}"].size for k in range(spec.random_depth))
    assert p.meta["live_params"] <= p.meta["kept_params"] < p.meta["random_params"] < spec.entries()
    loaded, _, _ = ticket_mod.load(path)                     # expanded: the explicit ticket, bit for bit
    for a, b in zip(p.ticket.target + p.ticket.random + p.ticket.masks, loaded.target + loaded.random + loaded.masks):
        assert np.asarray(a).dtype == np.asarray(b).dtype and np.array_equal(np.asarray(a), np.asarray(b))
    assert pipeline.verify(path)["status"] == "valid"


def test_mlp_counts_and_files_are_unchanged(tmp_path):
    spec = nets.RandomSpec(dims=(3, 4, 2), candidates=2, seed=0)
    assert spec.random_params() == spec.entries() == sum(a * b for a, b in spec.shapes())
    p = pipeline.prune("subset-sum", nets.random_target((3, 4, 2), key=jax.random.key(0)), spec)
    assert p.meta["kept_params"] == sum(int(np.count_nonzero(np.asarray(m))) for m in p.ticket.masks)
    meta = json.loads(str(_members(p.save(tmp_path / "mlp.npz"))["meta"]))
    assert "kinds" not in meta and meta["random_params"] == spec.entries()


def test_the_plain_numpy_snippet_checks_a_conv_ticket_file(saved):
    """The README's recipe, without slth: the explicit matrices rebuilt from the kernels compute the
    target and the ticket (the same as slth's to round-off), no sampled gap is above the certificate,
    and the gap at the witness is the lower bound."""
    g, target, p, path = saved
    assert "slth" not in SNIPPET
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert 'path = "ticket.npz"\n' + SNIPPET.lstrip("\n") in readme, "the README's CNN recipe differs from this one"
    scope = {"path": str(path), "print": lambda *a: None}
    exec(SNIPPET, scope)
    np_target, np_ticket = scope["forward"](scope["T"], scope["x"]), scope["forward"](scope["R"], scope["x"])
    np.testing.assert_allclose(np_target, nets.forward(target.layers(), scope["x"]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np_ticket, np.asarray(p.ticket(scope["x"])), rtol=0, atol=1e-12)
    assert scope["gaps"].max() <= p.certificate + 1e-12
    assert math.isclose(scope["at_witness"], p.lower_bound, rel_tol=1e-9, abs_tol=1e-12)
    scope["z"].close()          # the recipe's functions and scope form a cycle: close the file now


def test_a_ticket_the_kernel_form_cannot_say_is_saved_explicitly_and_refused(tmp_path, saved):
    """A mask keeping a kernel entry at some positions only has no kernel form: save writes it explicitly
    (kinds all dense), it loads bit for bit, and verify finds the broken tie."""
    g, target, p, path = saved
    masks = [np.asarray(m).copy() for m in p.ticket.masks]
    r, c = np.argwhere(masks[1])[0]
    masks[1][r, c] = False
    t = ticket_mod.Ticket(p.ticket.target, p.ticket.random, tuple(masks), p.ticket.spec, p.ticket.construction)
    out = ticket_mod.save(t, tmp_path / "untied.npz", p.meta, witness=p.witness)
    z = _members(out)
    assert json.loads(str(z["meta"]))["kinds"] == ticket_file.explicit_kinds(t.spec)
    assert z["mask_1"].shape == t.spec.shapes()[1]
    back, _, _ = ticket_mod.load(out)
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(masks, back.masks))
    report = pipeline.verify(out)
    assert report["status"] == "invalid" and any("tied weights" in m for m in report["problems"])


def test_the_reader_refuses_inconsistent_kernel_form_files_in_one_line(tmp_path, saved):
    g, target, p, path = saved
    good = _members(path)
    meta = json.loads(str(good.pop("meta")))
    cases = {
        "kinds": (good, meta | {"kinds": {"target": ["conv-s1"], "random": ["dense"]}}, "meta field 'kinds' is"),
        "kinds type": (good, meta | {"kinds": ["conv-s1"]}, "meta field 'kinds' is"),
        "shape": (good | {"mask_1": good["mask_1"][:1]}, meta, "mask_1 has shape"),
        "geometry": (good, meta | {"geometry": dataclasses.replace(g, classes=g.classes + 1).text(),
                                   "dims": list(g.dims()[:-1]) + [g.classes + 1]}, "has shape"),
        "nan": (good | {"target_0": np.where(np.arange(good["target_0"].size).reshape(good["target_0"].shape) == 0,
                                             np.nan, good["target_0"])}, meta, "target_0: conv kernel has 1 NaN"),
        "bias": (good | {"target_bias_0": np.zeros(2)}, meta, r"unexpected arrays \['target_bias_0'\]"),
    }
    for what, (members, m, fragment) in cases.items():
        with pytest.raises(TicketError, match=fragment) as e:
            pipeline.verify(_write(tmp_path / f"{what.replace(' ', '_')}.npz", members, m))
        assert "\n" not in str(e.value), what
    mlp = nets.RandomSpec(dims=(2, 2), candidates=1, seed=0)
    with pytest.raises(TicketError, match="stores"):
        ticket_file.is_kernel_form({"kinds": {"target": ["conv-s1"], "random": ["dense", "dense"]}}, mlp, "x")
    assert not ticket_file.is_kernel_form({"kinds": ticket_file.explicit_kinds(mlp)}, mlp, "x")


# --------------------------------------------------------------------------- the kernel form with biases

BIASED = conv.Geometry(image=(2, 4, 4), channels=(2, 2), kernel=3, strides=(1, 2), classes=3)


@pytest.fixture(scope="module", params=[("subset-sum", 4), ("selection", 16)])
def saved_biased(request, tmp_path_factory):
    name, c = request.param
    target = conv.random_conv_target(BIASED, seed=5, bias=0.5)
    spec = nets.RandomSpec(dims=BIASED.dims(), candidates=c, seed=3, layout="conv-biased", geometry=BIASED.text())
    p = pipeline.prune(name, target.layers(), spec)
    return target, p, p.save(tmp_path_factory.mktemp("conv-biased") / "ticket.npz")


def test_a_cnn_ticket_with_biases_is_written_in_kernel_form_and_loads_bit_for_bit(saved_biased, tmp_path, monkeypatch):
    """Kernels as the conv layout's, one bias member per layer (the target's channel biases; a pair's hidden
    channels' and bias block's biases, the block's tied weights and output bias), expanded back to the
    explicit ticket bit for bit, verified, and far smaller than the explicit file of the same ticket."""
    target, p, path = saved_biased
    z, spec = _members(path), p.ticket.spec
    layout = nets.layouts.layout(spec)
    assert json.loads(str(z["meta"]))["kinds"] == layout.kinds(spec)
    assert all(k.endswith("+bias") for side in layout.kinds(spec).values() for k in side)
    assert {n: a.shape for n, a in z.items() if n not in ("meta", "witness")} == layout.kernel_shapes(spec)
    for i, b in enumerate(target.biases):
        np.testing.assert_array_equal(z[f"target_bias_{i}"], b)
    loaded, _, _ = ticket_mod.load(path)
    for a, b in zip(p.ticket.target + p.ticket.random + p.ticket.masks, loaded.target + loaded.random + loaded.masks):
        assert np.asarray(a).dtype == np.asarray(b).dtype and np.array_equal(np.asarray(a), np.asarray(b))
    assert pipeline.verify(path)["status"] == "valid"
    monkeypatch.setattr(type(layout), "compact", lambda *a: None)        # the same ticket, explicitly
    explicit = ticket_mod.save(p.ticket, tmp_path / "explicit.npz", p.meta, witness=p.witness)
    assert json.loads(str(_members(explicit)["meta"]))["kinds"] == ticket_file.explicit_kinds(spec)
    assert path.stat().st_size < explicit.stat().st_size / 3 and pipeline.verify(explicit)["status"] == "valid"


@pytest.fixture(scope="module", params=[("subset-sum", 4), ("selection", 16)])
def saved_biased_residual(request, tmp_path_factory):
    """A residual CNN with biases: the skip joins the input of conv 1 to the output of conv 2 (both 2×4×4)."""
    name, c = request.param
    g = conv.Geometry(image=(2, 4, 4), channels=(2, 2), kernel=3, strides=(1, 1), classes=2)
    target = conv.random_conv_target(g, seed=6, bias=0.5)
    spec = nets.RandomSpec(dims=g.dims(), candidates=c, seed=4, layout="conv-biased", geometry=g.text(), skips=(1,))
    p = pipeline.prune(name, target.layers(), spec)
    return target, p, p.save(tmp_path_factory.mktemp("conv-biased-residual") / "ticket.npz")


def test_the_plain_numpy_snippet_checks_a_cnn_ticket_file_with_biases(saved_biased):
    """The README's recipe on a CNN ticket with biases (its file in kernel form, verified): the same target
    and ticket as slth's to round-off, no sampled gap above the certificate, the gap at the witness the
    lower bound."""
    check_snippet(*saved_biased)


def test_the_plain_numpy_snippet_checks_a_residual_cnn_ticket_file_with_biases(saved_biased_residual):
    """The same with a skip: the recipe adds conv 1's input to conv 2's output, and the random CNN's unit
    layer 0 to unit layer 4, before the ReLU."""
    check_snippet(*saved_biased_residual)


def check_snippet(target, p, path):
    assert pipeline.verify(path)["status"] == "valid"
    assert json.loads(str(_members(path)["meta"])).get("skips", []) == list(p.ticket.spec.skips)
    scope = {"path": str(path), "print": lambda *a: None}
    exec(SNIPPET, scope)
    scope["z"].close()
    x = scope["x"]
    np_target = scope["forward"](scope["T"], x, scope["into"]["target"])
    np_ticket = scope["forward"](scope["R"], x, scope["into"]["random"])
    from slth.nets import affine
    np.testing.assert_allclose(np_target, np.asarray(affine.forward(target.layers(), x, skips=nets.residual.edges(
        p.ticket.spec.skips))), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np_ticket, np.asarray(p.ticket(x)), rtol=0, atol=1e-12)
    assert scope["gaps"].max() <= p.certificate + 1e-12
    assert math.isclose(scope["at_witness"], p.lower_bound, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(scope["at_witness"], p.lower_bound, rel_tol=1e-9, abs_tol=1e-12)


def test_a_bias_tie_the_kernel_form_cannot_say_is_saved_explicitly_and_hostile_bias_members_are_refused(
        saved_biased, tmp_path):
    target, p, path = saved_biased
    spec = p.ticket.spec
    masks = [np.asarray(m).copy() for m in p.ticket.masks]
    second = masks[1]                                   # the bias block's weights to an output channel, tied
    hidden = masks[0].shape[0] - spec.units_per_block(1)
    rows = np.flatnonzero(second[:, hidden:-1].any(axis=1))
    if len(rows):
        second[rows[0], hidden + np.flatnonzero(second[rows[0], hidden:-1])[0]] = False
        t = ticket_mod.Ticket(p.ticket.target, p.ticket.random, tuple(masks), spec, p.ticket.construction)
        out = ticket_mod.save(t, tmp_path / "untied.npz", p.meta, witness=p.witness)
        assert json.loads(str(_members(out)["meta"]))["kinds"] == ticket_file.explicit_kinds(spec)
        report = pipeline.verify(out)
        assert report["status"] == "invalid" and any("tied" in m for m in report["problems"])
    good = _members(path)
    meta = json.loads(str(good.pop("meta")))
    nan = good["random_bias_1"].copy()
    nan[0, 0] = np.nan
    byte = good["mask_bias_0"].copy().view(np.uint8)
    byte[0] = 2
    cases = {"nan": (good | {"random_bias_1": nan}, "random_bias_1: NaN or infinite"),
             "shape": (good | {"mask_bias_0": good["mask_bias_0"][:-1]}, "mask_bias_0 has shape"),
             "missing": ({n: a for n, a in good.items() if n != "target_bias_1"}, r"missing arrays \['target_bias_1'\]"),
             "mask byte": (good | {"mask_bias_0": byte.view(np.bool_)}, "mask_bias_0"),
             "dtype": (good | {"random_bias_0": good["random_bias_0"].astype(np.float32)}, "random_bias_0")}
    for what, (members, fragment) in cases.items():
        with pytest.raises(TicketError, match=fragment) as e:
            pipeline.verify(_write(tmp_path / f"{what.replace(' ', '_')}.npz", members, meta))
        assert "\n" not in str(e.value), what


# --------------------------------------------------------------------------- CNN target files

def test_a_cnn_target_file_round_trips_and_slth_prune_takes_it(tmp_path, capsys):
    target = conv.random_conv_target(GEOMETRY, seed=4)
    target.save(tmp_path / "cnn.npz")
    back = ticket_file.read_conv_target(tmp_path / "cnn.npz")
    assert back.geometry == GEOMETRY and all(np.array_equal(a, b) for a, b in zip(back.layers(), target.layers()))
    out = tmp_path / "t.npz"
    assert cli.main(["prune", "--target-kind", "conv", "--target", str(tmp_path / "cnn.npz"), "--candidates", "2",
                     "--image", "1,4,4", "--out", str(out), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["geometry"] == GEOMETRY.text() and meta["random_params"] == spec_of(GEOMETRY, 2).random_params()
    t, _, _ = ticket_mod.load(out)
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(target.layers(), t.target))
    assert cli.main(["verify", str(out)]) == 0
    bad = tmp_path / "bad.npz"
    for argv, fragment in ((["--image", "1,6,6"], "--image 1,6,6 does not match the target file's 1,4,4"),
                           (["--kernel", "1"], "--kernel 1 does not match"), (["--channels", "3"], "--channels 3"),
                           (["--target-norm", "0.5"], "--target-norm")):
        assert cli.main(["prune", "--target-kind", "conv", "--target", str(tmp_path / "cnn.npz"), "--out", str(bad),
                         *argv]) == 2
        assert fragment in capsys.readouterr().err
    assert not bad.exists()


def test_cnn_target_files_are_read_as_hostile(tmp_path):
    """Every malformed CNN target file is one TicketError naming the member, before any work."""
    target = conv.random_conv_target(GEOMETRY, seed=4)
    good = {"geometry": np.array(GEOMETRY.text()), "target_0": target.kernels[0], "target_1": target.head}
    loud = conv.ConvTarget(GEOMETRY, (target.kernels[0] * 3,), target.head)
    cases = {
        "no geometry": ({k: v for k, v in good.items() if k != "geometry"}, "no 'geometry' member"),
        "text": (good | {"geometry": np.array("1x4x4:2:k3")}, "member 'geometry': conv geometry '1x4x4:2:k3' does not parse"),
        "even": (good | {"geometry": np.array("1x4x4:2:k2:s1:2")}, "conv kernel 2 is even"),
        "stride": (good | {"geometry": np.array("1x5x5:2:k3:s2:2")}, "does not divide"),
        "image": (good | {"geometry": np.array("2x4x4:2:k3:s1:2")}, r"target_0 has shape \(2, 1, 3, 3\); expected \(2, 2, 3, 3\)"),
        "chain": (good | {"target_1": np.zeros((2, 3))}, r"target_1 has shape \(2, 3\); expected \(2, 2\)"),
        "missing": ({k: v for k, v in good.items() if k != "target_1"}, "expected geometry and target_0 .. target_1"),
        "extra": (good | {"target_2": np.zeros((2, 2))}, "its members are"),
        "nan": (good | {"target_1": np.full((2, 2), np.inf)}, "target_1 has 4 NaN or infinite entries"),
        "int": (good | {"target_1": np.zeros((2, 2), np.int64)}, "target_1 has dtype int64"),
        "some biases": (good | {"target_bias_0": np.zeros(2)}, "all or none of target_bias"),
        "norm": ({"geometry": good["geometry"], "target_0": loud.kernels[0], "target_1": loud.head}, "spectral norm"),
    }
    for what, (members, fragment) in cases.items():
        with pytest.raises(TicketError, match=fragment) as e:
            ticket_file.read_conv_target(_write(tmp_path / f"{what.replace(' ', '_')}.npz", members))
        assert "\n" not in str(e.value), what
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(TicketError, match="not a readable CNN target file"):
        ticket_file.read_conv_target(tmp_path / "text.npz")
    scaled = ticket_file.read_conv_target(tmp_path / "norm.npz", rescale=True)
    assert max(conv.spectral_norm(w) for w in scaled.layers()) <= 1 + 1e-12
    assert isinstance(TicketError("x"), InputError)
