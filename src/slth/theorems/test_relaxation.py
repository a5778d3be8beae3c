"""docs/theory.md §5.7: random features relax neuron pruning of the same random network."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slth import separation


@pytest.mark.theorem("§5.7 relaxation")
@given(d=st.integers(1, 5), h=st.integers(1, 10), seed=st.integers(0, 2**31 - 1),
       inputs=st.sampled_from(separation.INPUTS))
def test_random_features_lower_bound_neuron_pruning(evidence, d, h, seed, inputs):
    """Statement (docs/theory.md §4.4 and §5.7; Malach et al. 2020 §3): for the same random depth-2 network
    g(x) = Σ_r v_r σ(⟨u_r, x⟩) and the same sample, least squares over real output weights (random
    features) has error <= the best 0/1 selection of whole units (exact neuron pruning, all 2^h
    subsets) <= greedy forward selection; all three approximate one ReLU neuron σ(⟨w*, x⟩).
    Rule: float64, relative 1e-12 on the squared errors."""
    w1, _ = separation.single_neuron_target(d, seed=seed)
    x = separation.sample_inputs(inputs, 200, d, key=separation._keys(seed)["train"])
    y = np.maximum(x @ w1[0], 0.0)
    u, v = separation.neuron_network(d, h, seed=seed)
    phi = separation.features(u, x)
    a = phi * v[None, :]
    rf = np.sum((y - phi @ separation.random_features(phi, y)) ** 2)
    exact = np.sum((y - a @ separation.exact_subset(a, y)) ** 2)
    greedy = np.sum((y - a @ separation.greedy_subset(a, y)) ** 2)
    scale = 1e-12 * max(1.0, float(y @ y))
    assert rf <= exact + scale and exact <= greedy + scale
    evidence.example()
