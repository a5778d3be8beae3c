"""slth figures: every scale ships the sweeps its figures read, the smoke test draws every figure at toy
size from real (toy) runs into the working folder or the folders given, bad input is refused before any
sweep starts, and drawing touches no global matplotlib state."""

import math
import os
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import scipy.stats

from slth import figures, plotting
from slth.errors import InputError
from slth.experiments import runner, shipped, spec as spec_mod


def test_every_scale_ships_a_valid_spec_for_every_sweep_a_figure_reads():
    needed = {s for f in figures.scripts() for s in f.sweeps}
    assert len(figures.scripts()) == len(figures.names()) == 12 and figures.names()[0] == "fig1_coverage"
    for scale in figures.SCALES:
        for name in needed:
            spec = spec_mod.load(shipped.path(scale, name))
            assert spec.name == name, (scale, name)


def test_quick_scale_is_a_subset_of_the_paper_scale_where_it_matters():
    """The quick grids are smaller versions of the paper grids: same kind, same constructions."""
    assert shipped.names("quick") == shipped.names("paper")
    for name in shipped.names("quick"):
        quick, paper = (tomllib.loads(shipped.path(s, name).read_text()) for s in ("quick", "paper"))
        assert quick["kind"] == paper["kind"]
        assert quick["grid"].get("construction") == paper["grid"].get("construction")


def test_smoke_every_figure_at_toy_size(tmp_path):
    """Runs the toy sweeps for real and draws every figure: a PDF, a PNG and a non-empty CSV
    each, the PNG a real image; a second run of every sweep computes nothing, and a redraw gives the
    same tables; the style leaves matplotlib's rcParams as they were."""
    import matplotlib
    import matplotlib.image

    before = dict(matplotlib.rcParams)
    logs = []
    written = figures.regenerate("toy", results=tmp_path / "results", out=tmp_path / "out",
                                 progress=False, log=logs.append)
    assert dict(matplotlib.rcParams) == before
    import json

    sources = json.loads((tmp_path / "out" / "sweeps.json").read_text())
    assert sources["scale"] == "toy" and set(sources["sweeps"]) == {s for f in figures.scripts() for s in f.sweeps}
    assert all(v["rows"] > 0 and v["git_revision"] and v["jax"] for v in sources["sweeps"].values())
    written = [p for p in written if p.name != "sweeps.json"]
    names = {p.stem for p in written}
    assert len(names) == len(figures.names()) and len(written) == 3 * len(names)
    for p in written:
        assert p.stat().st_size > 0
        if p.suffix == ".png":
            assert matplotlib.image.imread(p).shape[0] > 100
        if p.suffix == ".csv":
            assert len(p.read_text().splitlines()) >= 2
        if p.suffix == ".pdf":
            assert p.read_bytes().startswith(b"%PDF")
    tables = {p.name: p.read_text() for p in written if p.suffix == ".csv"}
    # a second run of every sweep computes nothing; a redraw (two figures: drawing is a second a figure)
    # gives the same tables
    for name in sources["sweeps"]:
        again = runner.run(spec_mod.load(shipped.path("toy", name)), results=str(tmp_path / "results"), progress=False)
        assert again.computed == 0 and len(again.rows) == sources["sweeps"][name]["rows"], name
    logs.clear()
    again = figures.regenerate("toy", results=tmp_path / "results", out=tmp_path / "again", only=["fig2", "fig6"],
                               progress=False, log=logs.append)
    assert logs and all("0 trials computed" in m for m in logs if m.startswith("sweep"))
    redrawn = {p.name: p.read_text() for p in again if p.suffix == ".csv"}
    assert len(redrawn) == 2 and redrawn == {name: tables[name] for name in redrawn}


def test_bad_input_is_refused_before_any_sweep(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="unknown scale 'huge'"):
        figures.regenerate("huge", results=tmp_path / "r", out=tmp_path / "o")
    with pytest.raises(InputError, match="unknown figures \\['fig99'\\]"):
        figures.regenerate("toy", results=tmp_path / "r", out=tmp_path / "o", only=["fig99"])
    monkeypatch.setattr(shipped, "FOLDER", tmp_path / "no-specs")
    with pytest.raises(InputError, match="scale 'toy' ships no spec 'coverage_vs_c'"):
        figures.regenerate("toy", results=tmp_path / "r", out=tmp_path / "o", only=["fig1"])
    assert not (tmp_path / "r").exists()


def test_figures_write_under_the_working_folder_by_default(tmp_path, monkeypatch):
    """Without --results and --out, the rows go to ./results/<scale>/ and the figures to
    ./figures/<scale>/ of the working folder: never into the package or a checkout."""
    monkeypatch.chdir(tmp_path)
    written = figures.regenerate("toy", only=["fig2"], progress=False, log=lambda m: None)
    assert {p.parent.resolve() for p in written} == {(tmp_path / "figures" / "toy").resolve()}
    assert (tmp_path / "results" / "toy" / "weight_error" / "results.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "results"]


def test_cli_figures_reports_an_unknown_figure(capsys):
    from slth.cli import main

    assert main(["figures", "--scale", "toy", "--only", "fig0"]) == 2
    assert "unknown figures ['fig0']" in capsys.readouterr().err


def test_importing_and_drawing_keep_the_backend_and_rcparams():
    """slth.plotting draws on Figure objects: importing it and saving a figure leave a notebook's
    backend (here svg, set by MPLBACKEND) and rcParams as they were."""
    code = (
        "import matplotlib, tempfile\n"
        "before = matplotlib.get_backend(); params = dict(matplotlib.rcParams)\n"
        "from slth import plotting\n"
        "assert matplotlib.get_backend() == before == 'svg', matplotlib.get_backend()\n"
        "with plotting.style():\n"
        "    fig, axes = plotting.figure()\n"
        "    axes[0][0].plot([1, 2], [3, 4], label='a')\n"
        "    plotting.legend(axes[0][0])\n"
        "    paths = plotting.save(fig, tempfile.mkdtemp(), 'f', [{'x': 1}])\n"
        "assert [p.suffix for p in paths] == ['.pdf', '.png', '.csv']\n"
        "assert matplotlib.get_backend() == 'svg' and dict(matplotlib.rcParams) == params\n"
        "import sys; assert 'matplotlib.pyplot' not in sys.modules\n"
        "print('ok')\n")
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_legend_lists_only_what_is_drawn():
    """A line through one point without a marker, a band of no area and an empty scatter show
    nothing, so the legend leaves them out; a one-point line with a marker and the series of every
    panel given are listed, once each."""
    with plotting.style():
        fig, axes = plotting.figure(1, 2)
        left, right = axes[0]
        left.plot([1], [1], label="invisible line")
        left.plot([1], [2], marker="o", label="one marker")
        left.fill_between([1], [0], [1], label="empty band")
        left.scatter([], [], label="empty scatter")
        left.plot([1, 2], [1, 2], label="shared")
        right.plot([1, 2], [2, 1], label="shared")
        right.errorbar([1, 2], [1, 2], yerr=[0.1, 0.1], label="right only")
        right.fill_between([1, 2], [0, 0], [1, 1], label="band")
        plotting.legend(right, panels=axes[0])
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert sorted(labels) == sorted(["one marker", "shared", "right only", "band"])


def test_log_ticks_label_few_plain_ticks():
    """Figure 7's x axis: labels without exponents that do not crowd (at most 6 in a panel)."""
    with plotting.style():
        for low, high in ((16, 32), (16, 264), (1_000, 33_000), (16, 133_000)):
            fig, axes = plotting.figure()
            ax = axes[0][0]
            ax.plot([low, high], [1, 2])
            ax.set_xscale("log")
            plotting.log_ticks(ax, "x")
            lo, hi = ax.get_xlim()
            ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
            labels = [ax.xaxis.get_major_formatter()(t) for t in ticks]
            assert 2 <= len(labels) <= 6, (low, high, labels)
            assert not any("×" in lab or "^" in lab or "e" in lab for lab in labels), labels


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
