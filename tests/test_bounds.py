"""The theoretical bounds (docs/theory.md §3-4): hand-computed values, slth's layout, monotonicity, the exact
hit probability of a candidate against quadrature and Monte Carlo, input checks and doctests."""

import doctest
import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from slth import bounds
from slth import testing as slt
from slth.bounds import counting, da_cunha, malach, pensia, selection, width
from slth.errors import InputError
from slth.nets import RandomSpec

#: Probability that a correct implementation fails one Monte Carlo test (Bonferroni over its cases).
FALSE_ALARM = 1e-6
MC_SEED = 20240601
MC_SAMPLES = 400_000

MODULES = (counting, da_cunha, malach, pensia, selection, width)


# --------------------------------------------------------------------------- hand-computed values

def test_pensia_hand_values():
    # n = ⌈ln(4·4·2 / min(0.01, 0.1))⌉ = ⌈ln 3200⌉ = ⌈8.071⌉ = 9; h = 2·4·9 = 72;
    # params = 2 · (72·4 + 4·72) = 1152.
    w = bounds.pensia_width((4, 4, 4), 0.01, 0.1)
    assert (w.candidates, w.candidates_per_pair, w.hidden_widths, w.random_params) == (9, (9, 9), (72, 72), 1152)
    assert (w.name, w.kind, w.constant) == ("pensia", "hidden-constant", 1.0)
    assert bounds.pensia_width("4,4,4", 0.01, 0.1) == w
    # dims 3,5,2, l = 2, C = 2, min(ε, δ) = 0.01:
    # pair 1: ⌈2 ln(3·5·2/0.01)⌉ = ⌈2 ln 3000⌉ = ⌈16.013⌉ = 17, h = 2·3·17 = 102;
    # pair 2: ⌈2 ln(5·2·2/0.01)⌉ = ⌈2 ln 2000⌉ = ⌈15.202⌉ = 16, h = 2·5·16 = 160;
    # params = 102·(3+5) + 160·(5+2) = 816 + 1120 = 1936.
    w = bounds.pensia_width((3, 5, 2), 0.05, 0.01, C=2.0)
    assert (w.candidates_per_pair, w.hidden_widths, w.random_params) == ((17, 16), (102, 160), 1936)
    assert w.candidates == 17   # the largest c_i: what a single-c RandomSpec needs


def test_pensia_asymptotic_and_lueker_hand_values():
    # m = 4²·2 = 32: 4·32·ln(32/0.01) = 128 · 8.07091 = 1033.076
    assert bounds.pensia_random_params_asymptotic(4, 2, 0.01) == pytest.approx(128 * math.log(3200))
    assert bounds.pensia_random_params_asymptotic(4, 2, 0.01, C=0.5) == pytest.approx(64 * math.log(3200))
    # 3 · ln(2/0.02) = 3 ln 100 = 13.8155
    assert bounds.lueker_samples(0.02, C=3.0) == pytest.approx(3 * math.log(100))


@given(d=st.integers(1, 12), l=st.integers(1, 6), eps=st.floats(1e-4, 0.9), C=st.floats(0.1, 5))
def test_pensia_asymptotic_is_the_unrounded_square_width(d, l, eps, C):
    """For dims (d, ..., d) and δ = ε, pensia_width has 4d²l·n params with n = ⌈C ln(m/ε)⌉, so it
    lies in [4Cm ln(m/ε), 4Cm ln(m/ε) + 4m)."""
    asym = bounds.pensia_random_params_asymptotic(d, l, eps, C=C)
    params = bounds.pensia_width((d,) * (l + 1), eps, eps, C=C).random_params
    m = d * d * l
    assert asym * (1 - 1e-12) <= params < asym + 4 * m + 1e-9 * asym


def test_malach_hand_values():
    # factor = 2⁴ · 1² · (1/0.5)² · ln(e)¹ = 16 · 4 = 64; c = ⌈64/2⌉ = 32; h = 2·2·32 = 128 = 64·2.
    w = bounds.malach_width((2, 2), 0.5, math.exp(-1))
    assert (w.candidates, w.hidden_widths, w.random_params) == (32, (128,), 512)
    assert w.detail("factor") == pytest.approx(64)
    # dims 3,4,2, d = 4, l = 2, C = 0.5, exponents 1, 1, 1, 0:
    # factor = 0.5 · 4 · 2 · 10 · 1 = 40; c = 20; h = (2·3·20, 2·4·20) = (120, 160);
    # params = 120·(3+4) + 160·(4+2) = 840 + 960 = 1800.
    w = bounds.malach_width("3,4,2", 0.1, 0.01, C=0.5, d_exponent=1, l_exponent=1, eps_exponent=1,
                            delta_exponent=0)
    assert (w.candidates_per_pair, w.hidden_widths, w.random_params) == ((20, 20), (120, 160), 1800)
    # an odd factor rounds up: 0.5·4·2·10·ln(100)^1 = 184.2 → c = ⌈92.1⌉ = 93
    w = bounds.malach_width("3,4,2", 0.1, 0.01, C=0.5, d_exponent=1, l_exponent=1, eps_exponent=1)
    assert w.candidates == 93


@given(d=st.integers(1, 10), l=st.integers(1, 4), eps=st.floats(0.01, 0.9),
       delta=st.floats(0.01, 0.9), C=st.floats(0.01, 10))
def test_malach_convention_square(d, l, eps, delta, C):
    """The documented convention: for a width-d target the hidden width is factor·d rounded up to a
    multiple of 2d, the same in every pair."""
    w = bounds.malach_width((d,) * (l + 1), eps, delta, C=C)
    target = w.detail("factor") * d
    for h in w.hidden_widths:
        assert target <= h < target + 2 * d


def test_selection_hand_values():
    # dims 2,2: N_1 = 2·2·2 = 8 = P. η = ln(1.1)/√8 = 0.0953102/2.8284271 = 0.0336972.
    # q_min = η²/4 + η³/12 + η⁴/24 + η⁵/40 + ... = 2.838759e-4 + 3.18861e-6 + 5.372e-8 + 1.09e-9
    #       = 2.871194e-4.
    # c = ⌈ln(8/0.1) / (−2 ln(1 − q_min/2))⌉ = ⌈4.3820266 / 2.871400e-4⌉ = ⌈15260.94⌉ = 15261.
    w = bounds.selection_width((2, 2), 0.1, 0.1)
    assert w.detail("eta_1") == pytest.approx(0.0336972, abs=1e-7)
    assert w.detail("q_min_1") == pytest.approx(2.871194e-4, rel=1e-6)
    assert w.detail("problems") == 8
    assert (w.candidates, w.hidden_widths, w.random_params, w.kind, w.constant) == (
        15261, (61044,), 244176, "explicit", None)
    # dims 1,2,3: N = (2·2·1, 3·2) = (4, 6), P = 10; frobenius η = ln(1.5)/(2 + √6);
    # layer η_i = ln(1.5) / (2·√N_i).
    assert bounds.selection_eta((1, 2, 3), 0.5) == pytest.approx((math.log(1.5) / (2 + math.sqrt(6)),) * 2)
    assert bounds.selection_eta((1, 2, 3), 0.5, split="layer") == pytest.approx(
        (math.log(1.5) / 4, math.log(1.5) / (2 * math.sqrt(6))))
    w = bounds.selection_width((1, 2, 3), 0.5, 0.2, split="layer")
    for i, n_i in enumerate((4, 6), start=1):
        q = float(bounds.q_hit(1.0, math.log(1.5) / (2 * math.sqrt(n_i))))
        assert w.candidates_per_pair[i - 1] == math.ceil(math.log(10 / 0.2) / (-2 * math.log1p(-q / 2)))


def test_counting_width_hand_values():
    # 2·2·log2(1/(2·0.125)) − 1 = 4·2 − 1 = 7; h = 7/(2+2) = 1.75; c = 1.75/(2·2) = 0.4375
    w = bounds.counting_width((2, 2), 0.125)
    assert (w.random_params, w.hidden_widths, w.candidates, w.kind) == (7.0, (1.75,), 0.4375, "lower-bound")
    assert w.random_params == counting.counting_min_params(2, 0.125)
    assert w.hidden_widths[0] == counting.counting_min_hidden_width(2, 0.125)
    # rectangular: 3·5·log2(50) − 1 = 15 · 5.6438562 − 1 = 83.657843
    assert bounds.counting_width("3,5", 0.01).random_params == pytest.approx(83.657843)
    assert bounds.counting_width((1, 1), 0.4).random_params == 0.0   # log2(1.25) − 1 < 0: vacuous
    # deep: m = min(4, 3) = 3, n = 2·3 = 6, N = 6·log2(1/(4·0.01)) − 1 = 6·log2(25) − 1 = 26.863137
    w = bounds.counting_width((2, 4, 3), 0.01)
    assert w.random_params == pytest.approx(6 * math.log2(25) - 1)
    # per c: pair 1 has 2·2·(2+4) = 24, pair 2 has 2·4·(4+3) = 56 random parameters
    assert w.candidates == pytest.approx(w.random_params / 80)
    assert w.detail("free_params") == 6 and w.detail("diameter") == 0.04


@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31))
def test_relu_separation_lemma_of_the_deep_counting_bound(d_in, d_out, seed):
    """The lemma behind the deep counting bound: sup_{‖x‖<=1} ‖σ(Wx) − σ(W'x)‖ >= ½‖W − W'‖_2,
    attained within the bound at x = ±(top right singular vector of W − W')."""
    rng = np.random.default_rng(seed)
    w, w2 = rng.normal(size=(2, d_out, d_in))
    _, sv, vt = np.linalg.svd(w - w2)
    relu = lambda z: np.maximum(z, 0.0)
    gap = max(np.linalg.norm(relu(w @ x) - relu(w2 @ x)) for x in (vt[0], -vt[0]))
    assert gap >= 0.5 * sv[0] * (1 - 1e-12)


# --------------------------------------------------------------------------- slth's layout

def _uniform_widths(dims, eps, delta):
    """Bounds whose c is the same in every pair, for any dims."""
    return [bounds.malach_width(dims, eps, delta), bounds.selection_width(dims, eps, delta),
            bounds.pensia_width((dims[0],) * len(dims), eps, delta)]


@given(dims=slt.dims(max_depth=3, max_width=6), eps=st.floats(0.05, 0.9), delta=st.floats(0.05, 0.9))
def test_random_params_match_random_spec(dims, eps, delta):
    for w in _uniform_widths(dims, eps, delta):
        assert len(set(w.candidates_per_pair)) == 1, w
        spec = RandomSpec(w.dims, candidates=w.candidates, seed=0)
        assert w.hidden_widths == spec.hidden_widths()
        assert w.random_params == spec.random_params()


def test_width_from_candidates_per_pair():
    w = bounds.width_from_candidates((3, 5, 2), (2, 1), name="x", kind="explicit", eps=0.1, delta=0.1)
    # h = (2·3·2, 2·5·1) = (12, 10); params = 12·8 + 10·7 = 166
    assert (w.hidden_widths, w.random_params, w.candidates, w.depth) == ((12, 10), 166, 2, 2)
    with pytest.raises(InputError, match="has 3 entries"):
        bounds.width_from_candidates((3, 5, 2), (1, 2, 3), name="x", kind="explicit", eps=0.1, delta=0.1)
    with pytest.raises(InputError, match="no detail 'eta'"):
        w.detail("eta")


# --------------------------------------------------------------------------- monotonicity

WIDTH_BOUNDS = {
    "pensia": bounds.pensia_width,
    "malach": bounds.malach_width,
    "selection/frobenius": bounds.selection_width,
    "selection/layer": lambda dims, eps, delta: bounds.selection_width(dims, eps, delta, split="layer"),
}
unit = st.floats(1e-3, 0.99)


def _no_smaller(a, b):
    """Width a needs at least as much as width b, pair by pair."""
    return all(x >= y for x, y in zip(a.candidates_per_pair, b.candidates_per_pair)) \
        and a.random_params >= b.random_params


@pytest.mark.parametrize("name", sorted(WIDTH_BOUNDS))
@given(dims=slt.dims(max_depth=3, max_width=8), e=st.tuples(unit, unit), delta=unit)
def test_non_increasing_in_eps(name, dims, e, delta):
    f = WIDTH_BOUNDS[name]
    assert _no_smaller(f(dims, min(e), delta), f(dims, max(e), delta))


@pytest.mark.parametrize("name", sorted(WIDTH_BOUNDS))
@given(dims=slt.dims(max_depth=3, max_width=8), eps=unit, dl=st.tuples(unit, unit))
def test_non_increasing_in_delta(name, dims, eps, dl):
    f = WIDTH_BOUNDS[name]
    assert _no_smaller(f(dims, eps, min(dl)), f(dims, eps, max(dl)))


@pytest.mark.parametrize("name", sorted(WIDTH_BOUNDS))
@given(d=st.tuples(st.integers(1, 40), st.integers(1, 40)), l=st.integers(1, 4), eps=unit, delta=unit)
def test_non_decreasing_in_width(name, d, l, eps, delta):
    f = WIDTH_BOUNDS[name]
    big, small = f((max(d),) * (l + 1), eps, delta), f((min(d),) * (l + 1), eps, delta)
    assert big.candidates >= small.candidates and big.random_params >= small.random_params


@pytest.mark.parametrize("name", sorted(WIDTH_BOUNDS))
@given(d=st.integers(1, 20), l=st.tuples(st.integers(1, 6), st.integers(1, 6)), eps=unit, delta=unit)
def test_non_decreasing_in_depth(name, d, l, eps, delta):
    f = WIDTH_BOUNDS[name]
    deep, shallow = f((d,) * (max(l) + 1), eps, delta), f((d,) * (min(l) + 1), eps, delta)
    assert deep.candidates >= shallow.candidates and deep.random_params >= shallow.random_params


@pytest.mark.parametrize("d", [1, 2, 3, 5, 8, 16])
@pytest.mark.parametrize("eps", [0.001, 0.01, 0.1, 0.3, 0.49])
@pytest.mark.parametrize("delta", [0.01, 0.1, 0.5])
def test_selection_respects_counting_bound(d, eps, delta):
    """The counting bound is a theorem for every network that serves a random target with
    probability >= ½; selection's explicit width at δ <= ½ is such a network."""
    lower = bounds.counting_width((d, d), eps).random_params
    assert bounds.selection_width((d, d), eps, delta).random_params >= lower
    if eps < 0.25:
        deep = (d, d + 1, d)
        assert bounds.selection_width(deep, eps, delta).random_params >= bounds.counting_width(deep, eps).random_params


# --------------------------------------------------------------------------- the product law

CASES = [(w, eta) for w in (-1.0, -0.97, -0.5, -0.01, 0.0, 0.003, 0.3, 0.8, 0.999, 1.0)
         for eta in (1e-3, 0.02, 0.3, 1.5)]


def _quad_q(w, eta):
    lo, hi = max(w - eta, -1.0), min(w + eta, 1.0)
    pieces = [(lo, min(hi, 0.0)), (max(lo, 0.0), hi)]   # split at the log singularity at 0
    return sum(integrate.quad(lambda t: float(bounds.product_density(t)), a, b, epsabs=0, epsrel=1e-12,
                              limit=200)[0] for a, b in pieces if b > a)


def test_density_integrates_to_one_and_cdf_matches():
    total = 2 * integrate.quad(lambda t: float(bounds.product_density(t)), 0, 1, epsabs=0, epsrel=1e-12)[0]
    assert total == pytest.approx(1.0, rel=1e-10)
    # F(0.3) = ½(0.3 + 0.3·1.2039728) = 0.3305959; F(0.2) = ½(0.2 + 0.2·1.6094379) = 0.2609438
    t = np.array([-1.0, -0.3, 0.0, 0.2, 1.0, 1.5])
    np.testing.assert_allclose(bounds.product_cdf_from_zero(t), [-0.5, -0.3305959, 0.0, 0.2609438, 0.5, 0.5],
                               rtol=1e-6)
    assert float(bounds.product_density(1.2)) == 0.0


@pytest.mark.parametrize("w, eta", CASES)
def test_q_hit_matches_quadrature(w, eta):
    assert float(bounds.q_hit(w, eta)) == pytest.approx(_quad_q(w, eta), rel=1e-9, abs=1e-15)


def test_q_hit_vectorises_and_keeps_tail_precision():
    ws, etas = np.array([c[0] for c in CASES]), np.array([c[1] for c in CASES])
    np.testing.assert_array_equal(bounds.q_hit(ws, etas), [float(bounds.q_hit(w, e)) for w, e in CASES])
    assert bounds.q_hit(ws[:, None], etas[None, :]).shape == (len(ws), len(etas))
    # q(1, η) = Σ_{k>=2} η^k / (2k(k−1)): relative precision where the plain difference of F loses it
    for eta in (1e-9, 1e-6, 1e-3):
        series = sum(eta**k / (2 * k * (k - 1)) for k in range(2, 8))
        assert bounds.q_min(eta) == pytest.approx(series, rel=1e-13)
        assert float(bounds.q_hit(-1.0, eta)) == bounds.q_min(eta)
    # the tail branch and the plain branch agree where they meet (w + η = 1)
    eta = 0.1
    near = bounds.q_hit(np.array([0.9 - 1e-9, 0.9 + 1e-9]), eta)
    assert near[0] == pytest.approx(near[1], rel=1e-7)


@pytest.mark.parametrize("eta", [1e-4, 1e-2, 0.1, 0.5, 0.9])
def test_q_is_smallest_at_the_ends(eta):
    grid = np.linspace(-1, 1, 4001)
    q = bounds.q_hit(grid, eta)
    assert q.min() >= bounds.q_min(eta) * (1 - 1e-12)
    assert set(np.flatnonzero(q == q.min())) <= {0, len(grid) - 1}


def test_q_hit_matches_monte_carlo():
    """a = u·v with u ~ U(0,1], v ~ U[−1,1]: the count within η of w is Binomial(n, q(w, η)). An
    exact two-sided binomial test per case, at level FALSE_ALARM / cases (Bonferroni)."""
    rng = np.random.default_rng(MC_SEED)
    a = (1.0 - rng.random(MC_SAMPLES)) * rng.uniform(-1.0, 1.0, MC_SAMPLES)
    cases = [(1.0, 0.1), (0.95, 0.05), (0.5, 0.05), (0.0, 0.01), (-0.3, 0.2), (-1.0, 0.3)]
    for w, eta in cases:
        hits = int(np.count_nonzero(np.abs(a - w) <= eta))
        p = stats.binomtest(hits, MC_SAMPLES, float(bounds.q_hit(w, eta))).pvalue
        assert p >= FALSE_ALARM / len(cases), (w, eta, hits / MC_SAMPLES, float(bounds.q_hit(w, eta)))


# --------------------------------------------------------------------------- bad input

BAD = [
    (bounds.pensia_width, ((4, 4), 0.0, 0.1), {}, "eps 0.0"),
    (bounds.pensia_width, ((4, 4), 0.1, 1.0), {}, "delta 1.0"),
    (bounds.pensia_width, ((4, 4), 0.1, 0.1), {"C": -1.0}, "C -1.0"),
    (bounds.pensia_width, ((4, 4), True, 0.1), {}, "eps True"),
    (bounds.pensia_width, ("4,x", 0.1, 0.1), {}, "does not parse"),
    (bounds.pensia_width, ((4,), 0.1, 0.1), {}, "at least two"),
    (bounds.pensia_width, (4, 0.1, 0.1), {}, "dims 4"),
    (bounds.pensia_random_params_asymptotic, (0, 2, 0.1), {}, "d 0"),
    (bounds.pensia_random_params_asymptotic, (2, 1.5, 0.1), {}, "l 1.5"),
    (bounds.lueker_samples, (float("nan"),), {}, "eps nan"),
    (bounds.lueker_samples, (0.1,), {"C": 0.0}, "C 0.0"),
    (bounds.malach_width, ((4, 4), 0.1, 0.1), {"d_exponent": -1}, "d_exponent -1"),
    (bounds.malach_width, ((4, 4), 0.1, 0.1), {"C": float("inf")}, "C inf"),
    (bounds.malach_width, ((4, 4), 1e-300, 0.1), {}, "out of the float range"),
    (bounds.selection_width, ((4, 4), 0.1, 0.1), {"split": "max"}, "split 'max'"),
    (bounds.selection_width, ((4, 0), 0.1, 0.1), {}, "non-positive"),
    (bounds.selection_width, ((4, 4), 1.5, 0.1), {}, "eps 1.5"),
    (bounds.counting_width, ((2, 2, 2), 0.25), {}, "eps 0.25 must be in \\(0, 0.25\\) for a depth-2"),
    (bounds.counting_width, ((2, 2), 0.5), {}, "eps 0.5"),
    (bounds.q_hit, (1.5, 0.1), {}, r"w \[1.5\]"),
    (bounds.q_hit, (0.5, 0.0), {}, r"eta \[0.\]"),
]


@pytest.mark.parametrize("fn, args, kwargs, fragment", BAD, ids=[b[3] for b in BAD])
def test_bad_input_names_the_value(fn, args, kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        fn(*args, **kwargs)


# --------------------------------------------------------------------------- da Cunha et al. (CNN targets)

def _geometry(image=(1, 8, 8), channels=(4,), kernel=3, strides=(1,), classes=10) -> dict:
    return {"image": list(image), "channels": list(channels), "kernel": kernel, "strides": list(strides),
            "classes": classes}


def test_da_cunha_hand_values_and_slth_layout():
    """n_i = ⌈C ln(m_i ℓ / min(ε, δ))⌉, m = (k² C_0 C_1, C_1 classes) = (9·1·4, 4·10), ℓ = 2; the Width is the
    conv layout's network at that c: its explicit hidden widths, its weights with each tied group once."""
    from slth.nets import conv

    g = conv.Geometry((1, 8, 8), (4,), 3, (1,), 10)
    w = bounds.da_cunha_width(g, 0.1, 0.05)
    assert w.candidates_per_pair == (math.ceil(math.log(36 * 2 / 0.05)), math.ceil(math.log(40 * 2 / 0.05))) == (8, 8)
    assert w.name == "da-cunha" and w.kind == "hidden-constant" and w.constant == 1.0 and w.dims == g.dims()
    spec = RandomSpec(dims=g.dims(), candidates=w.candidates, seed=0, layout="conv", geometry=g.text())
    assert w.hidden_widths == spec.hidden_widths() and w.detail("explicit_entries") == sum(a * b for a, b in spec.shapes())
    assert w.random_params == 16 * (1 + 36) + 16 * (4 + 40)                    # U = 2c per input channel
    assert w.detail("random_channels_1") == 2 * 8 * 1 and w.detail("random_channels_2") == 2 * 8 * 4
    assert bounds.da_cunha_width(g.to_json(), 0.1, 0.05) == w                  # the JSON form reads the same
    assert bounds.da_cunha_log_term(g, 0.1, 0.05) == math.log(40 * 2 / 0.05)
    assert bounds.da_cunha_width(g, 0.1, 0.05, C=2.5).candidates == math.ceil(2.5 * math.log(1600))
    # two convolutions and a stride: m = (9·2·3, 9·3·5, 5·2), ℓ = 3, explicit dims on the strided maps
    two = conv.Geometry((2, 8, 8), (3, 5), 3, (2, 1), 2)
    assert da_cunha.kernel_params(two) == (54, 135, 10) and da_cunha.explicit_dims(two) == two.dims()
    assert bounds.da_cunha_log_term(two, 0.2, 0.1) == math.log(135 * 3 / 0.1)


def test_da_cunha_is_a_cnn_bound_the_mlp_tables_leave_out():
    b = bounds.bound("da-cunha")
    assert b.geometry and b.fitted == "log" and b.log_term is bounds.da_cunha_log_term
    assert b.at((8, 8, 8), 0.1, 0.1) is None                                   # MLP dims: not its argument
    assert b.at(_geometry(), 0.1, 0.1) == bounds.da_cunha_width(_geometry(), 0.1, 0.1)
    assert bounds.LOG_BOUND.name == "pensia" and bounds.CONV_LOG_BOUND is b


@given(c=st.tuples(st.integers(1, 16), st.integers(1, 16)), k=st.sampled_from([1, 3, 5]), eps=unit, delta=unit)
def test_da_cunha_grows_with_channels_and_kernel_and_not_with_the_image(c, k, eps, delta):
    small, big = (bounds.da_cunha_width(_geometry(channels=(x,), kernel=k), eps, delta) for x in sorted(c))
    assert big.candidates >= small.candidates
    assert bounds.da_cunha_width(_geometry(kernel=max(k, 3)), eps, delta).candidates \
        >= bounds.da_cunha_width(_geometry(kernel=1), eps, delta).candidates
    # weights are shared across positions: the union bound is over kernel entries, not pixels
    assert bounds.da_cunha_width(_geometry(image=(1, 32, 32)), eps, delta).candidates_per_pair \
        == bounds.da_cunha_width(_geometry(), eps, delta).candidates_per_pair


@pytest.mark.parametrize("geometry, fragment", [
    ((8, 8, 8), "must be a slth.nets.conv.Geometry"),
    ({**_geometry(), "channels": []}, "geometry channels"),
    ({**_geometry(), "kernel": 0}, "geometry kernel 0"),
    ({**_geometry(), "strides": [1, 1]}, "strides one per channel"),
])
def test_da_cunha_bad_geometry_names_it(geometry, fragment):
    with pytest.raises(InputError, match=fragment):
        bounds.da_cunha_width(geometry, 0.1, 0.1)
    with pytest.raises(InputError, match="C 0"):
        bounds.da_cunha_width(_geometry(), 0.1, 0.1, C=0)


# --------------------------------------------------------------------------- module hygiene

@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("module", (bounds, *MODULES), ids=["bounds", *(m.__name__ for m in MODULES)])
def test_bounds_do_not_import_jax(module):
    """Bounds are plain numpy/scipy/math: no module of slth.bounds imports JAX itself."""
    src = inspect.getsource(module)
    assert "import jax" not in src and "from jax" not in src


def test_all_is_exported():
    for name in bounds.__all__:
        assert hasattr(bounds, name), name
