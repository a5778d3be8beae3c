"""The digits study's reports: one run's table and the one per-cell aggregation of a sweep's rows.

:func:`format_report` prints a :class:`~slth.studies.digits.study.DigitsReport` (``slth digits``);
:func:`sweep_summary` aggregates a ``digits`` sweep's rows per (construction, c) over trials.
"""

from __future__ import annotations

import numpy as np

from slth.errors import InputError
from slth.studies.cells import group as _group
from slth.studies.digits.study import DigitsReport

#: Columns of :func:`sweep_summary`'s table (a sweep's ``summary.csv``).
SUMMARY_COLUMNS = ("cell", "construction", "c", "trials", "target_accuracy", "ticket_accuracy_mean",
                   "ticket_accuracy_min", "agreement_mean", "agreement_min", "certificate_median",
                   "lower_bound_median", "guaranteed_fraction_mean", "guaranteed_fraction_norms_mean",
                   "guaranteed_disagree_total",
                   "random_params", "kept_params_mean")


# --------------------------------------------------------------------------- one run

def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def format_report(r: DigitsReport) -> str:
    """The table ``digits`` prints: one line per (construction, c)."""
    dims = "-".join(map(str, r.dims))
    t = r.training
    split = (f"train_test_split(test_size={r.split['test_size']}, random_state={r.split['random_state']}, "
             "stratified)" if "test_size" in r.split else r.split["method"])
    lines = [
        f"slth digits: {'ReLU target with biases' if t.get('bias') else 'bias-free ReLU target'} {dims} "
        f"({r.target_params:,} {'parameters' if t.get('bias') else 'weights'}) trained on {r.data}, "
        f"{r.n_train} train / {r.n_test} test, {split}",
        f"  training: adam, lr {t['learning_rate']:g}, {t['epochs']} epochs of batch {t['batch_size']}, seed "
        f"{r.seed}: train accuracy {_pct(r.train_accuracy)}, test accuracy {_pct(r.target_accuracy)} "
        f"({r.train_s:.1f} s)",
        f"  unit ball: inputs / {r.input_scale:.4g} (max training norm); {r.test_clipped} test points scaled down "
        "to norm 1",
        f"  spectral norm 1: layers scaled by {', '.join(f'{s:.4g}' for s in r.layer_scales)} (logits x "
        f"{r.logit_scale:.4g}); predictions identical before and after",
        f"  test margins (top − second logit) of the rescaled target: median {r.median_margin:.4g}, "
        f"min {r.min_margin:.3g}",
        f"  random networks: seed {r.network_seed}, uniform[-1,1], c candidates per block and sign",
        "",
        f"  {'construction':12s} {'c':>4s} {'random':>11s} {'kept':>9s} {'target acc':>10s} {'ticket acc':>10s} "
        f"{'agree':>7s} {'lower bd':>9s} {'certificate':>11s} {'guaranteed':>10s} {'(norms)':>8s} {'time':>7s}",
    ]
    for row in r.rows:
        lines.append(
            f"  {row.construction:12s} {row.candidates:>4d} {row.random_params:>11,} {row.kept_params:>9,} "
            f"{_pct(row.target_accuracy):>10s} {_pct(row.ticket_accuracy):>10s} {_pct(row.agreement):>7s} "
            f"{row.lower_bound:>9.3g} {row.certificate:>11.3g} {_pct(row.guaranteed_fraction):>10s} "
            f"{_pct(row.guaranteed_fraction_norms):>8s} {row.time_s:>6.1f}s")
    lines += [
        "",
        "  agree: test points where ticket and target predict the same label. lower bd, certificate: the true",
        "  sup_{|x|<=1} |f(x) − g(x)|_2 lies between them. guaranteed: test points with margin > √2·certificate,",
        "  whose agreement is proven (|(f_a − f_b) − (g_a − g_b)| <= √2 |f − g|_2); (norms): the same with",
        "  docs/theory.md §3's product-of-norms certificate, the certificate before the bound propagation.",
    ]
    bad = [row for row in r.rows if row.guaranteed_disagree]
    for row in bad:
        lines.append(f"  FINDING: {row.construction} c = {row.candidates}: {row.guaranteed_disagree} guaranteed points "
                     "disagree; the certificate or the margin argument is wrong")
    lines.append(f"  wall time {r.wall_s:.1f} s on {r.provenance['device']}, slth at {r.provenance['git_revision']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- a sweep

def sweep_summary(rows: list[dict]) -> tuple[list[dict], dict, str]:
    """Per (construction, c): the tickets' test accuracy and agreement with the target over the
    random networks (trials), the two-sided error and the fraction of test points whose agreement the
    margin proves; any proven point that disagrees is reported as a finding (the theorem says none).

    ``rows`` are a sweep's typed rows (each :func:`~slth.studies.digits.study.ticket_row` row with its
    ``cell`` and ``c``); returns (the table, one dict per cell with :data:`SUMMARY_COLUMNS`, the fits
    (none: ``{}``), the printable text)."""
    if not rows:
        raise InputError("the results table has no rows")
    table = []
    for key, cell_rows in _group(rows).items():
        col = lambda k: np.array([r[k] for r in cell_rows], dtype=float)
        r0 = cell_rows[0]
        table.append({
            "cell": key, "construction": r0["construction"], "c": r0["c"], "trials": len(cell_rows),
            "target_accuracy": r0["target_accuracy"], "ticket_accuracy_mean": float(col("ticket_accuracy").mean()),
            "ticket_accuracy_min": float(col("ticket_accuracy").min()),
            "agreement_mean": float(col("agreement").mean()), "agreement_min": float(col("agreement").min()),
            "certificate_median": float(np.median(col("certificate"))),
            "lower_bound_median": float(np.median(col("lower_bound"))),
            "guaranteed_fraction_mean": float(col("guaranteed_fraction").mean()),
            "guaranteed_fraction_norms_mean": float(col("guaranteed_fraction_norms").mean()),
            "guaranteed_disagree_total": int(col("guaranteed_disagree").sum()),
            "random_params": r0["random_params"], "kept_params_mean": float(col("kept_params").mean()),
        })
    lines = [f"{'construction':12s} {'c':>5s} {'T':>3s} {'target':>7s} {'ticket (mean/min)':>18s} "
             f"{'agree (mean/min)':>17s} {'certificate':>11s} {'lower bd':>9s} {'proven':>7s} {'(norms)':>7s} "
             f"{'random':>11s}"]
    for r in table:
        lines.append(f"{r['construction']:12s} {r['c']:>5d} {r['trials']:>3d} {r['target_accuracy']:>7.1%} "
                     f"{r['ticket_accuracy_mean']:>9.1%}/{r['ticket_accuracy_min']:<8.1%} "
                     f"{r['agreement_mean']:>8.1%}/{r['agreement_min']:<8.1%} {r['certificate_median']:>11.3g} "
                     f"{r['lower_bound_median']:>9.3g} {r['guaranteed_fraction_mean']:>7.1%} "
                     f"{r['guaranteed_fraction_norms_mean']:>7.1%} {r['random_params']:>11,}")
    bad = [r["cell"] for r in table if r["guaranteed_disagree_total"]]
    if bad:
        lines.append(f"FINDING: test points with margin > √2·certificate disagree in cells {bad}")
    return table, {}, "\n".join(lines)
