"""IMP with rewinding, its controls and linear mode connectivity (slth.studies.imp).

The issue's acceptance: after n rounds the mask keeps (1 - p)^n of the prunable weights to rounding;
rewinding restores θ_0 (or the dense run's state at step k) bit for bit on kept weights; the barrier of
two identical runs is 0; a round does not recompile; controls keep IMP's per-layer counts; bad input is
one line before any work. Small: one shared digits run at 64-16-10, 15 epochs.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from slth.errors import InputError
from slth.studies import imp
from slth.studies.imp import masks, training

DIMS = (64, 16, 10)
EPOCHS = 15
FRACTION = 0.2
ROUNDS = 3
REWIND = 30


def _same(a, b) -> bool:
    """Bit for bit (+0 and -0 told apart) over two pytrees of arrays."""
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(
        np.asarray(x).dtype == np.asarray(y).dtype and np.asarray(x).tobytes() == np.asarray(y).tobytes()
        for x, y in zip(la, lb))


@pytest.fixture(scope="module")
def task():
    return imp.digits_task(epochs=EPOCHS)


@pytest.fixture(scope="module")
def theta0():
    return imp.init(DIMS, jax.random.key(0))


@pytest.fixture(scope="module")
def traced(task, theta0):
    """One IMP run (rewind 0) and the traces of the training loop it added."""
    before = training.TRACES["train"]
    run = imp.run(task, theta0, fraction=FRACTION, rounds=ROUNDS, rewind=0, order_key=1)
    return run, training.TRACES["train"] - before


@pytest.fixture(scope="module")
def run(traced):
    return traced[0]


def _bound(count: int, rounds: int) -> float:
    """|kept_n - N (1-p)^n| <= Σ_j 0.5 (1-p)^j: each round's rounding error, shrunk by later rounds."""
    return 0.5 * sum((1 - FRACTION) ** j for j in range(rounds)) + 1e-9


@pytest.mark.parametrize("scope", masks.SCOPES)
def test_kept_after_n_rounds_is_the_power_of_one_minus_p(scope):
    rng = np.random.default_rng(0)
    shapes = [(16, 64), (16, 16), (10, 16)]
    mask = masks.full([np.zeros(s) for s in shapes])
    for n in range(1, 9):
        trained = [rng.normal(size=s) for s in shapes]        # new weights each round, as training gives
        mask = masks.magnitude_prune(trained, mask, FRACTION, scope)
        total = sum(int(np.prod(s)) for s in shapes)
        assert abs(sum(masks.kept(mask)) - total * (1 - FRACTION) ** n) <= (
            _bound(total, n) * (1 if scope == "global" else len(shapes)))
        if scope == "layer":
            for k, s in zip(masks.kept(mask), shapes):
                assert k == masks.kept_after(int(np.prod(s)), FRACTION, n)
                assert abs(k - np.prod(s) * (1 - FRACTION) ** n) <= _bound(int(np.prod(s)), n)


def test_magnitude_prune_removes_the_smallest_ties_by_lower_index():
    w = (np.array([[3.0, -1.0, 2.0, 1.0, 5.0]]), np.array([[0.5], [-0.5]]))
    m = masks.magnitude_prune(w, masks.full(w), 0.4, "layer")
    assert m[0].tolist() == [[True, False, True, False, True]]      # |-1| = |1|: both go (2 of 5)
    assert m[1].tolist() == [[False], [True]]                         # round(0.8) = 1: the tie's lower index
    m = masks.magnitude_prune(w, m, 0.5, "layer")                     # 3 kept: round(1.5) = 2; 1 kept: stays
    assert m[0].tolist() == [[False, False, False, False, True]] and m[1].tolist() == [[False], [True]]
    g = masks.magnitude_prune(w, masks.full(w), 3 / 7, "global")      # 3 of 7: 0.5 (second layer, row 0), -1, 1
    assert g[0].tolist() == [[True, False, True, False, True]] and g[1].tolist() == [[False], [True]]
    one = (np.array([[1.0, 2.0]]), np.array([[9.0]]))
    g = masks.magnitude_prune(one, masks.full(one), 0.9, "global")    # never a layer's last weight
    assert masks.kept(g) == (1, 1)


def test_the_run_keeps_the_power_of_one_minus_p_per_layer(run):
    sizes = [int(np.size(w)) for w in run.theta0]
    for r, rnd in enumerate(run.rounds):
        assert rnd.index == r
        assert rnd.kept == tuple(masks.kept_after(n, FRACTION, r) for n in sizes)
        assert abs(rnd.fraction_kept - (1 - FRACTION) ** r) <= 0.5 * r * len(sizes) / sum(sizes)
        if r:
            for now, then in zip(rnd.mask, run.rounds[r - 1].mask):
                assert not np.any(now & ~then)                                    # pruned stays pruned
        for m, w in zip(rnd.mask, rnd.params):
            assert np.all(np.asarray(w)[~m] == 0)


def test_training_in_two_parts_equals_training_in_one(task, theta0):
    full = masks.full(theta0)
    s0 = imp.start(theta0, full)
    whole = imp.train(s0, full, task, jax.random.key(5), task.steps)
    part = imp.train(s0, full, task, jax.random.key(5), REWIND)
    part = imp.train(part, full, task, jax.random.key(5), task.steps)
    assert part.step == whole.step == task.steps
    assert _same(part.params, whole.params) and _same(part.opt_state, whole.opt_state)


def test_rewinding_to_zero_restores_theta0_bit_for_bit(run, theta0, task):
    assert run.rewind_state.step == 0 and _same(run.rewind_state.params, theta0)
    for rnd in run.rounds:
        begin = imp.rewound(run.rewind_state, rnd.mask)
        expected = tuple(np.where(m, np.asarray(w), 0.0) for m, w in zip(rnd.mask, theta0))
        assert _same(begin.params, expected)
    last = run.rounds[-1]                           # the round did train from there: it is reproduced
    again = imp.train(imp.rewound(run.rewind_state, last.mask), last.mask, task, run.order_key, task.steps)
    assert _same(again.params, last.params)


def test_late_rewinding_restores_the_dense_runs_state_at_k(task, theta0):
    late = imp.run(task, theta0, fraction=FRACTION, rounds=1, rewind=REWIND, order_key=1)
    full = masks.full(theta0)
    at_k = imp.train(imp.start(theta0, full), full, task, jax.random.key(1), REWIND)
    assert late.rewind_state.step == REWIND and _same(late.rewind_state.params, at_k.params)
    assert _same(late.rewind_state.opt_state, at_k.opt_state)
    dense_end = imp.train(at_k, full, task, jax.random.key(1), task.steps)
    assert _same(late.rounds[0].params, dense_end.params)      # round 0 went through step k
    mask = late.rounds[1].mask
    begin = imp.rewound(late.rewind_state, mask)
    assert _same(begin.params, tuple(np.where(m, np.asarray(w), 0.0) for m, w in zip(mask, at_k.params)))
    assert begin.step == REWIND


def test_rounds_do_not_recompile(traced, task):
    run, traces = traced
    assert traces <= 1                               # dense and three pruned rounds: one program at most
    before = dict(training.TRACES)
    rnd = run.rounds[-1]
    mask = masks.magnitude_prune(rnd.params, rnd.mask, FRACTION)
    imp.train(imp.rewound(run.rewind_state, mask), mask, task, jax.random.key(9), task.steps)
    imp.evaluate(rnd.params, mask, task.x_test, task.y_test, task.kind)
    assert dict(training.TRACES) == before


def test_the_barrier_of_two_identical_runs_is_zero(run):
    same = imp.instability(run, 1, keys=(7, 7))
    assert same.barrier == 0.0 and same.loss_barrier == 0.0
    assert len(same.alphas) == len(same.errors) == imp.POINTS >= 30
    assert same.round == 1 and same.rewind == 0 and same.fraction_kept == run.rounds[1].fraction_kept
    other = imp.instability(run, 1, keys=(7, 8))
    assert other.barrier >= 0 and other.loss_barrier >= 0
    a, b = other.end_errors
    assert other.barrier == pytest.approx(other.errors.max() - (a + b) / 2, abs=0)


def test_interpolate_ends_are_the_two_networks(run, task):
    a, b = run.rounds[0], run.rounds[1]
    path = imp.interpolate(a.params, b.params, a.mask, task, points=5)
    assert path.end_errors == (a.test_error, imp.evaluate(b.params, a.mask, task.x_test, task.y_test,
                                                          task.kind)[0])
    assert path.alphas.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_controls_keep_the_per_layer_counts(run):
    r = 2
    mask = run.rounds[r].mask
    random_mask = masks.random_like(mask, jax.random.key(3))
    assert masks.kept(random_mask) == masks.kept(mask) and any(np.any(a != b) for a, b in zip(random_mask, mask))
    rp = imp.random_pruning(run, r, 3)
    assert rp.kept == run.rounds[r].kept and _same(rp.mask, random_mask)
    ri = imp.reinit(run, r, 4)
    assert ri.kept == run.rounds[r].kept and _same(ri.mask, mask)
    assert not _same(ri.params, run.rounds[r].params)
    for rnd in (rp, ri):
        for m, w in zip(rnd.mask, rnd.params):
            assert np.all(np.asarray(w)[~m] == 0)


def test_round_zero_learns_the_digits(run):
    assert run.rounds[0].test_accuracy > 0.8 and run.rounds[0].train_accuracy > 0.8
    assert run.rounds[0].test_error == pytest.approx(1 - run.rounds[0].test_accuracy, abs=1e-15)


def test_regression_task_fits_its_target():
    target = imp.init((3, 8, 2), jax.random.key(2))
    task = imp.regression_task(target, seed=0, n_train=256, n_test=128, steps=40, batch_size=32,
                               learning_rate=1e-2)
    assert task.kind == "regression" and np.all(np.linalg.norm(task.x_train, axis=1) <= 1)
    assert np.allclose(task.y_test, np.maximum(task.x_test @ np.asarray(target[0]).T, 0) @ np.asarray(target[1]).T)
    theta0 = imp.init((3, 8, 2), jax.random.key(3))
    full = masks.full(theta0)
    before = imp.evaluate(theta0, full, task.x_test, task.y_test, task.kind)
    after = imp.train(imp.start(theta0, full), full, task, jax.random.key(0), task.steps)
    error, _, accuracy = imp.evaluate(after.params, full, task.x_test, task.y_test, task.kind)
    assert error < before[0] and np.isnan(accuracy)


@pytest.mark.parametrize("change, words", [
    (dict(fraction=0.0), "fraction 0.0"), (dict(fraction=1.0), "fraction 1.0"),
    (dict(fraction=1.5), "fraction 1.5"), (dict(fraction=float("nan")), "fraction nan"),
    (dict(rounds=0), "rounds 0"), (dict(rounds=-2), "rounds -2"), (dict(rounds=1.5), "rounds 1.5"),
    (dict(rewind=-1), "rewind -1"), (dict(rewind=10**6), "rewind 1000000"),
    (dict(scope="neuron"), "scope 'neuron'"), (dict(kind="ranking"), "task kind 'ranking'"),
])
def test_bad_input_is_one_line_before_any_work(task, theta0, change, words):
    kind = change.pop("kind", None)
    if kind:
        task = dataclasses.replace(task, kind=kind)
    args = dict(fraction=FRACTION, rounds=ROUNDS, rewind=0, scope="layer") | change
    before = dict(training.TRACES)
    with pytest.raises(InputError) as e:
        imp.run(task, theta0, order_key=0, **args)
    assert words in str(e.value) and "\n" not in str(e.value).strip()
    with pytest.raises(InputError):
        imp.check(task, **args)
    assert dict(training.TRACES) == before


def test_bad_params_and_keys_are_one_line(task, theta0, run):
    with pytest.raises(InputError, match="theta0 have shapes"):
        imp.run(task, theta0[:1], fraction=FRACTION, rounds=1, order_key=0)
    with pytest.raises(InputError, match="order_key"):
        imp.run(task, theta0, fraction=FRACTION, rounds=1, order_key="one")
    with pytest.raises(InputError, match="round 9"):
        imp.reinit(run, 9, 0)
    with pytest.raises(InputError, match="keys"):
        imp.instability(run, 1, keys=(1,))
