"""slth figures: every scale has the sweeps its figures read, the smoke test draws every figure at toy
size from real (toy) runs, and bad input is refused before any sweep starts."""

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from slth import figures, plotting
from slth.errors import InputError
from slth.experiments import spec as spec_mod

ROOT = Path(__file__).resolve().parents[1]


def test_every_scale_holds_a_valid_spec_for_every_sweep_a_figure_reads():
    needed = {s for f in figures.scripts(ROOT) for s in f.sweeps}
    assert len(figures.scripts(ROOT)) == 8
    for scale, folder in figures.SCALES.items():
        for name in needed:
            spec = spec_mod.load(ROOT / folder / f"{name}.toml")
            assert spec.name == name, (scale, name)


def test_quick_scale_is_a_subset_of_the_paper_scale_where_it_matters():
    """The quick grids are smaller versions of the paper grids: same kind, same constructions."""
    for path in (ROOT / "experiments" / "quick").glob("*.toml"):
        quick, paper = (tomllib.loads(p.read_text()) for p in (path, ROOT / "experiments" / path.name))
        assert quick["kind"] == paper["kind"]
        assert quick["grid"].get("construction") == paper["grid"].get("construction")


def test_smoke_every_figure_at_toy_size(tmp_path):
    """Runs the toy sweeps for real and draws all eight figures: a PDF, a PNG and a non-empty CSV
    each, the PNG a real image; a second call computes nothing and redraws the same tables."""
    import matplotlib.image

    logs = []
    written = figures.regenerate("toy", root=ROOT, results=tmp_path / "results", out=tmp_path / "out",
                                 progress=False, log=logs.append)
    import json

    sources = json.loads((tmp_path / "out" / "sweeps.json").read_text())
    assert sources["scale"] == "toy" and set(sources["sweeps"]) == {s for f in figures.scripts(ROOT) for s in f.sweeps}
    assert all(v["rows"] > 0 and v["git_revision"] and v["jax"] for v in sources["sweeps"].values())
    written = [p for p in written if p.name != "sweeps.json"]
    names = {p.stem for p in written}
    assert len(names) == 8 and len(written) == 24
    for p in written:
        assert p.stat().st_size > 0
        if p.suffix == ".png":
            assert matplotlib.image.imread(p).shape[0] > 100
        if p.suffix == ".csv":
            assert len(p.read_text().splitlines()) >= 2
        if p.suffix == ".pdf":
            assert p.read_bytes().startswith(b"%PDF")
    tables = {p.name: p.read_text() for p in written if p.suffix == ".csv"}
    logs.clear()
    again = figures.regenerate("toy", root=ROOT, results=tmp_path / "results", out=tmp_path / "out",
                               progress=False, log=logs.append)
    assert all("0 trials computed" in m for m in logs if m.startswith("sweep"))
    assert {p.name: p.read_text() for p in again if p.suffix == ".csv"} == tables
    assert json.loads((tmp_path / "out" / "sweeps.json").read_text()) == sources


def test_bad_input_is_refused_before_any_sweep(tmp_path):
    with pytest.raises(InputError, match="unknown scale 'huge'"):
        figures.regenerate("huge", root=ROOT, results=tmp_path / "r", out=tmp_path / "o")
    with pytest.raises(InputError, match="unknown figures \\['fig99'\\]"):
        figures.regenerate("toy", root=ROOT, results=tmp_path / "r", out=tmp_path / "o", only=["fig99"])
    broken = tmp_path / "root"
    (broken / "paper_figures").mkdir(parents=True)
    (broken / "experiments" / "toy").mkdir(parents=True)
    (broken / "paper_figures" / "fig1_x.py").write_text("SWEEPS = ('nothing',)\ndef main(r, o):\n    return []\n")
    with pytest.raises(InputError, match="has no spec"):
        figures.regenerate("toy", root=broken, results=tmp_path / "r", out=tmp_path / "o")
    assert not (tmp_path / "r").exists()


def test_cli_figures_reports_an_unknown_figure(capsys):
    from slth.cli import main

    assert main(["figures", "--scale", "toy", "--only", "fig0", "--root", str(ROOT)]) == 2
    assert "unknown figures ['fig0']" in capsys.readouterr().err


@pytest.mark.parametrize("n", [5, 10, 20, 50, 200])
@pytest.mark.parametrize("q", [0.5, 0.9])
def test_quantile_band_covers_the_quantile_with_its_confidence(n, q):
    """The band [x_(m), x_(M+1)] holds the q-quantile with probability P(m <= Bin(n, q) <= M) (exact,
    any continuous law); that probability is at least the confidence wherever m >= 1."""
    x = np.arange(1.0, n + 1)
    low, high = plotting.quantile_band(list(x), q, 0.95)
    m = int(low)                       # x_(k) = k here
    big_m = n if math.isinf(high) else int(high) - 1
    coverage = scipy.stats.binom.cdf(big_m, n, q) - scipy.stats.binom.cdf(m - 1, n, q)
    if scipy.stats.binom.ppf(0.025, n, q) >= 1:
        assert coverage >= 0.95
    assert low <= np.quantile(x, q) <= high


def test_quantile_band_counts_missing_as_infinite():
    low, high = plotting.quantile_band([1, 2, None, None, None], 0.9)
    assert low >= 1 and math.isinf(high)
    with pytest.raises(InputError):
        plotting.quantile_band([], 0.5)


def test_figure_tables_write_plain_numbers(tmp_path):
    """numpy scalars are written as plain numbers (not ``np.float64(...)``), None as empty."""
    path = plotting.write_table(tmp_path / "t.csv", [{"a": np.float64(0.1), "b": np.int64(3), "c": None,
                                                      "d": True, "e": "x"}], ["a", "b", "c", "d", "e"])
    assert path.read_text().splitlines() == ["a,b,c,d,e", "0.1,3,,True,x"]
