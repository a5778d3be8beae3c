"""Tickets of targets trained on real data (slth.digits) and the MNIST loader (slth.data).

The guarantee under test: a ticket g with sup_{‖x‖<=1} ‖f(x) − g(x)‖_2 <= E (the certificate) predicts
f's label at every x whose margin (top − second logit of f) exceeds √2·E. It is a theorem, so it is
asserted on every such test point, deterministically.
"""

import dataclasses
import gzip
import json
import math

import jax
import numpy as np
import pytest

from slth import digits as D
from slth import measure, nets, pipeline
from slth.data import IDX_FILES, load_digits, load_mnist
from slth.errors import InputError

#: A tiny, fast configuration: one narrow hidden layer, a few epochs.
TINY = dict(dims="64,12,10", epochs=8, batch_size=64, learning_rate=1e-2)


@pytest.fixture(scope="module")
def trained():
    """(rescaled target, raw trained layers, x_train, x_test, data set)."""
    ds = load_digits()
    x_tr, x_te, _, _ = D.normalise(ds.x_train, ds.x_test)
    raw = D.train(nets.parse_dims(TINY["dims"]), x_tr, ds.y_train, key=jax.random.key(0), epochs=TINY["epochs"],
                  batch_size=TINY["batch_size"], learning_rate=TINY["learning_rate"])
    target, _ = D.rescale_target(raw, x_tr, x_te)
    return target, raw, x_tr, x_te, ds


@pytest.fixture(scope="module")
def report():
    return D.digits(**TINY, candidates={"subset-sum": (4, 16), "selection": (64,)})


# --------------------------------------------------------------------------- normalisation and rescaling

def test_inputs_in_unit_ball(trained):
    _, _, x_tr, x_te, _ = trained
    assert np.linalg.norm(x_tr, axis=1).max() == pytest.approx(1.0, abs=1e-15)
    assert np.linalg.norm(x_te, axis=1).max() <= 1 + 1e-12


def test_normalise_scales_only_test_points_above_one():
    x_train = np.array([[3.0, 4.0], [1.0, 0.0]])
    x_test = np.array([[6.0, 8.0], [0.0, 2.0], [30.0, 40.0]])
    tr, te, scale, clipped = D.normalise(x_train, x_test)
    assert scale == 5.0 and clipped == 2
    np.testing.assert_allclose(np.linalg.norm(te, axis=1), [1.0, 0.4, 1.0], rtol=1e-15)
    np.testing.assert_allclose(te[1], [0.0, 0.4], rtol=1e-15)
    np.testing.assert_allclose(tr, x_train / 5)


def test_rescaling_preserves_predictions_and_norms(trained):
    target, raw, x_tr, x_te, _ = trained
    assert all(s <= 1 + nets.SPECTRAL_NORM_TOL for s in nets.spectral_norms(target))
    nets.check_target(target)
    for x in (x_tr, x_te):
        np.testing.assert_array_equal(D.predict(raw, x)[1], D.predict(target, x)[1])
    # the logits are scaled by the product of the factors (positive homogeneity)
    _, factors = D.rescale_target(raw, x_te)
    np.testing.assert_allclose(D.predict(target, x_te)[0], np.prod(factors) * D.predict(raw, x_te)[0],
                               rtol=1e-12, atol=1e-15)


def test_rescale_target_raises_when_a_prediction_changes(trained, monkeypatch):
    _, raw, _, x_te, _ = trained
    monkeypatch.setattr(D.nets, "rescale", lambda layers, norm: tuple(-np.asarray(w) for w in layers))
    with pytest.raises(RuntimeError, match="rescaling changed"):
        D.rescale_target(raw, x_te)


# --------------------------------------------------------------------------- the margin theorem

def test_margin_constant_sqrt2_is_exact():
    """At a margin of exactly √2·E an error of norm E can tie the two top logits, so √2 cannot be lowered,
    and any margin above it is safe."""
    e = 0.125
    f = np.array([[math.sqrt(2) * e, 0.0, -1.0]])
    delta = np.array([[-e / math.sqrt(2), e / math.sqrt(2), 0.0]])      # ‖δ‖ = E
    g = f + delta
    assert np.linalg.norm(delta) == pytest.approx(e, rel=1e-15)
    assert g[0, 0] - g[0, 1] == pytest.approx(0.0, abs=1e-15)
    assert not D.guaranteed(D.margins(f), e)[0]
    assert D.guaranteed(D.margins(f), e * 0.999)[0]


@pytest.mark.parametrize("construction, c", [("subset-sum", 16), ("selection", 256)])
def test_guaranteed_points_agree(trained, construction, c):
    """Every test point with margin > √2·certificate is classified by the ticket as by the target."""
    target, _, _, x_te, _ = trained
    pruned = pipeline.prune(construction, target, nets.RandomSpec(dims=nets.dims_of(target), candidates=c, seed=0))
    cert = pruned.meta["certificate"]
    f_logits, f_pred = D.predict(target, x_te)
    g_logits, g_pred = D.predict(pruned.ticket.pruned, x_te)
    sure = D.guaranteed(D.margins(f_logits), cert)
    assert sure.sum() > 0, f"no test point has margin > √2·{cert:.3g}; pick a larger c"
    np.testing.assert_array_equal(g_pred[sure], f_pred[sure])
    # the premise itself: the pointwise error never exceeds the certificate (inputs are in the unit ball)
    gaps = np.linalg.norm(f_logits - g_logits, axis=1)
    assert gaps.max() <= cert + measure.ROUNDOFF
    assert pruned.meta["lower_bound"] <= cert + measure.ROUNDOFF


# --------------------------------------------------------------------------- the report

def test_report_fields_and_json(report):
    assert report.data == "sklearn-digits" and report.dims == (64, 12, 10)
    assert report.n_train + report.n_test == 1797 and report.test_clipped >= 0
    assert report.split["random_state"] == 0 and report.seed == 0
    assert [(r.construction, r.candidates) for r in report.rows] == [("subset-sum", 4), ("subset-sum", 16),
                                                                     ("selection", 64)]
    for r in report.rows:
        assert r.target_accuracy == report.target_accuracy
        assert 0 <= r.ticket_accuracy <= 1 and 0 <= r.agreement <= 1 and 0 <= r.guaranteed_fraction <= 1
        assert r.lower_bound <= r.certificate + measure.ROUNDOFF
        assert r.guaranteed_disagree == 0
        assert 0 < r.kept_params < r.random_params
        assert r.random_params == nets.RandomSpec(dims=report.dims, candidates=r.candidates, seed=0).random_params()
    big = report.rows[1]
    assert big.certificate < report.rows[0].certificate and big.agreement >= report.rows[0].agreement
    d = json.loads(json.dumps(report.to_json()))
    for key in ("data", "split", "seed", "network_seed", "training", "dims", "rows", "git_revision", "versions",
                "device", "test_clipped", "layer_scales"):
        assert key in d
    assert set(d["rows"][0]) >= {"construction", "candidates", "target_accuracy", "ticket_accuracy", "agreement",
                                 "certificate", "lower_bound", "guaranteed_fraction", "random_params",
                                 "kept_params", "time_s"}
    table = D.format_report(report)
    assert "subset-sum" in table and "selection" in table and "guaranteed" in table
    assert "FINDING" not in table


def test_same_seed_same_bits(trained):
    _, raw, x_tr, _, ds = trained
    again = D.train(nets.parse_dims(TINY["dims"]), x_tr, ds.y_train, key=jax.random.key(0), epochs=TINY["epochs"],
                    batch_size=TINY["batch_size"], learning_rate=TINY["learning_rate"])
    for a, b in zip(raw, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = D.train(nets.parse_dims(TINY["dims"]), x_tr, ds.y_train, key=jax.random.key(1), epochs=TINY["epochs"],
                    batch_size=TINY["batch_size"], learning_rate=TINY["learning_rate"])
    assert not np.array_equal(np.asarray(raw[0]), np.asarray(other[0]))
    split = load_digits()
    np.testing.assert_array_equal(split.x_test, ds.x_test)


def test_digits_reproducible(report):
    again = D.digits(**TINY, candidates={"subset-sum": (4, 16), "selection": (64,)})
    strip = lambda d: {k: v for k, v in d.items() if k not in ("train_s", "wall_s")} | {
        "rows": [{k: v for k, v in r.items() if k != "time_s"} for r in d["rows"]]}
    assert strip(again.to_json()) == strip(report.to_json())


# --------------------------------------------------------------------------- bad input, before any work

@pytest.fixture
def no_training(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("training started before the input was validated")
    monkeypatch.setattr(D.training, "train", fail)      # where prepare looks it up


@pytest.mark.parametrize("kwargs, match", [
    (dict(dims="65,32,10"), r"dims 65,32,10 .*input dimension 64"),
    (dict(dims="64,32,9"), r"dims 64,32,9 .*number of classes 10"),
    (dict(dims="64,x,10"), r"'64,x,10' does not parse"),
    (dict(candidates={"subset-sum": (0,)}), r"candidates for subset-sum: 0 must be an integer >= 1"),
    (dict(candidates={"subset-sum": (99,)}), r"99 is above"),
    (dict(candidates={"magic": (4,)}), r"unknown construction 'magic'; allowed: .*subset-sum"),
    (dict(epochs=0), r"epochs 0 must be an integer >= 1"),
    (dict(seed=-1), r"seed -1 must be an integer in \[0, 2\*\*63\)"),
    (dict(learning_rate=-1.0), r"learning_rate -1.0"),
    (dict(data="/no/such/mnist"), r"'/no/such/mnist' does not exist; expected an .npz"),
])
def test_bad_input_raises_before_training(no_training, kwargs, match):
    with pytest.raises(InputError, match=match):
        D.digits(**kwargs)


# --------------------------------------------------------------------------- the MNIST loader

def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + \
        array.astype(np.uint8).tobytes()


def fake_mnist(rng, n_train=50, n_test=20, side=4):
    return (rng.integers(0, 256, (n_train, side, side), dtype=np.uint8), rng.integers(0, 10, n_train, dtype=np.uint8),
            rng.integers(0, 256, (n_test, side, side), dtype=np.uint8), rng.integers(0, 10, n_test, dtype=np.uint8))


def write_idx(folder, arrays, *, compress=False, overrides=None):
    folder.mkdir(exist_ok=True)
    for (key, name), a in zip(IDX_FILES.items(), arrays):
        data = idx_bytes(a, 0x803 if key.startswith("x") else 0x801)
        data = (overrides or {}).get(key, data)
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def check_loaded(ds, arrays):
    x_tr, y_tr, x_te, y_te = arrays
    np.testing.assert_array_equal(ds.x_train, x_tr.reshape(len(x_tr), -1).astype(np.float64))
    np.testing.assert_array_equal(ds.y_train, y_tr)
    np.testing.assert_array_equal(ds.x_test, x_te.reshape(len(x_te), -1).astype(np.float64))
    np.testing.assert_array_equal(ds.y_test, y_te)
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64


@pytest.mark.parametrize("compress", [False, True], ids=["idx", "idx.gz"])
def test_load_idx(tmp_path, compress):
    arrays = fake_mnist(np.random.default_rng(0))
    check_loaded(load_mnist(write_idx(tmp_path / "m", arrays, compress=compress)), arrays)


def test_load_npz(tmp_path):
    arrays = fake_mnist(np.random.default_rng(1))
    path = tmp_path / "m.npz"
    np.savez(path, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
    ds = load_mnist(path)
    check_loaded(ds, arrays)
    assert ds.source == str(path)


def test_idx_broken_files(tmp_path):
    rng = np.random.default_rng(2)
    arrays = fake_mnist(rng)
    good = idx_bytes(arrays[0], 0x803)
    cases = {
        "truncated": ({"x_train": good[:-7]}, r"x_train|train-images.*is truncated"),
        "wrong magic": ({"x_test": idx_bytes(arrays[2], 0x801)}, r"t10k-images-idx3-ubyte.*magic number 0x00000801; "
                                                                  r"expected IDX images \(magic 0x803\)"),
        "count mismatch": ({"y_train": idx_bytes(arrays[1][:-1], 0x801)},
                           r"train-labels-idx1-ubyte.*49 train labels for 50 train images"),
        "label range": ({"y_test": idx_bytes(np.full(20, 10, np.uint8), 0x801)}, r"labels range over \[10, 10\]"),
        "short header": ({"y_test": b"\x00\x00"}, r"too short for an IDX header"),
    }
    for i, (name, (override, match)) in enumerate(cases.items()):
        folder = write_idx(tmp_path / f"case{i}", arrays, compress=(i % 2 == 1), overrides=override)
        with pytest.raises(InputError, match=match) as err:
            load_mnist(folder)
        assert str(folder) in str(err.value), name


def test_broken_gzip_and_missing_file(tmp_path):
    arrays = fake_mnist(np.random.default_rng(3))
    folder = write_idx(tmp_path / "gz", arrays, compress=True)
    bad = folder / (IDX_FILES["y_test"] + ".gz")
    bad.write_bytes(bad.read_bytes()[:15])
    with pytest.raises(InputError, match=f"cannot read '{bad}' as IDX labels"):
        load_mnist(folder)
    bad.unlink()
    with pytest.raises(InputError, match=f"'{folder}' lacks t10k-labels-idx1-ubyte"):
        load_mnist(folder)


def test_broken_npz(tmp_path):
    arrays = fake_mnist(np.random.default_rng(4))
    missing = tmp_path / "missing.npz"
    np.savez(missing, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2])
    with pytest.raises(InputError, match=r"missing.npz' lacks arrays \['y_test'\]"):
        load_mnist(missing)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(InputError, match=f"cannot read '{garbage}'.*expected an .npz"):
        load_mnist(garbage)
    truncated = tmp_path / "truncated.npz"
    np.savez(truncated, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(InputError, match="truncated.npz"):
        load_mnist(truncated)
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, x_train=arrays[0], y_train=arrays[1][:10], x_test=arrays[2], y_test=arrays[3])
    with pytest.raises(InputError, match=r"mismatch.npz': 10 train labels for 50 train images"):
        load_mnist(mismatch)


def test_digits_on_user_data(tmp_path):
    """``data=`` swaps the digits for a user's MNIST-format files; dims must fit their pixel count."""
    rng = np.random.default_rng(5)
    arrays = fake_mnist(rng, n_train=80, n_test=30, side=4)
    folder = write_idx(tmp_path / "m", arrays, compress=True)
    with pytest.raises(InputError, match=r"dims 64,8,10 .*input dimension 16"):
        D.digits(dims="64,8,10", data=str(folder))
    r = D.digits(dims="16,6,10", data=str(folder), epochs=3, candidates={"subset-sum": (8,)})
    assert r.data == str(folder) and r.split == {"method": "as given by the files"}
    assert (r.n_train, r.n_test) == (80, 30) and r.rows[0].guaranteed_disagree == 0
    json.dumps(r.to_json())


# --------------------------------------------------------------------------- one study, one entry path

def test_slth_digits_and_data_are_the_studies_modules():
    """``slth.digits`` IS ``slth.studies.digits`` and ``slth.data`` IS its ``data`` module (aliases, not copies)."""
    import slth.data
    import slth.digits
    import slth.studies.digits

    assert slth.digits is slth.studies.digits is D
    assert slth.data is slth.studies.digits.data
    assert load_mnist is slth.studies.digits.data.load_mnist
    assert D.ticket_row is slth.studies.digits.study.ticket_row and D.train is D.training.train


def test_digits_rows_are_the_sweep_units(report):
    """:func:`digits` builds its rows with ``prepare`` + ``ticket_row``, the units a sweep runs, and the
    sweep's one aggregation keeps each one-trial cell's numbers exactly."""
    p = D.prepare(TINY["dims"], epochs=TINY["epochs"], batch_size=TINY["batch_size"],
                  learning_rate=TINY["learning_rate"])
    rows = []
    for r in report.rows:
        unit = D.ticket_row(p, r.construction, r.candidates, report.network_seed)
        assert dataclasses.replace(unit, time_s=0.0) == dataclasses.replace(r, time_s=0.0)
        rows.append({**{k: v for k, v in dataclasses.asdict(unit).items() if k not in ("candidates", "time_s")},
                     "c": unit.candidates, "cell": f"{unit.construction} c={unit.candidates}"})
    table, fitted, text = D.sweep_summary(rows)
    assert fitted == {} and [tuple(t) for t in table] == [D.SUMMARY_COLUMNS] * len(rows)
    for t, r in zip(table, report.rows):
        assert (t["construction"], t["c"], t["trials"]) == (r.construction, r.candidates, 1)
        assert t["ticket_accuracy_mean"] == t["ticket_accuracy_min"] == r.ticket_accuracy
        assert t["certificate_median"] == r.certificate and t["lower_bound_median"] == r.lower_bound
        assert t["guaranteed_disagree_total"] == 0 and t["kept_params_mean"] == r.kept_params
    assert "FINDING" not in text
