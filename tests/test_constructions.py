"""The constructions on the README's example and through ``pipeline.prune``. docs/theory.md §5's properties
are the theorem suite, ``slth.theorems`` (collected under tests/theorems/)."""

import jax
import numpy as np
import pytest

from slth import constructions, liveness, measure, nets, pipeline
from slth.theorems import _pool
from slth.ticket import check_invariant



def test_readme_example_certificates():
    """Issue 2, acceptance 2: at dims 8,16,16,4, c = 20, seed 0 (the README's example), the
    subset-sum ticket is a 0.01-ticket and the selection ticket's certificate is >= 10 times larger."""
    target = nets.random_target((8, 16, 16, 4), key=jax.random.key(0))
    spec = nets.RandomSpec(dims=(8, 16, 16, 4), candidates=20, seed=0)
    certs = {}
    for name in ("selection", "subset-sum"):
        ticket = constructions.build(name, target, spec)
        check_invariant(ticket)
        certs[name] = measure.certificate(ticket.target, measure.pair_maps(ticket.random, ticket.masks))
    assert certs["subset-sum"] < 0.01
    assert certs["selection"] >= 10 * certs["subset-sum"]


def test_prune_records_both_ends():
    """A prune result records the certificate, a lower bound below it and a unit-norm witness."""
    target = nets.random_target((3, 4, 2), key=jax.random.key(3))
    spec = nets.RandomSpec(dims=(3, 4, 2), candidates=5, seed=3)
    _, meta, witness = pipeline.prune("subset-sum", target, spec)
    assert 0 <= meta["lower_bound"] <= meta["certificate"] + measure.ROUNDOFF
    assert abs(np.linalg.norm(witness) - 1) < 1e-12
    assert meta["kept_params"] <= meta["random_params"] == spec.random_params()


def test_no_dead_weight_is_promised_by_the_block_constructions_only():
    """Issue 13: every construction that prunes by the block structure (docs/theory.md §2) keeps a hidden unit
    only with the candidate it supplies and promises ``no-dead-weight`` (the theorem suite checks it);
    edge-popup does not: its per-layer top-k scores keep outgoing weights of units whose incoming
    weight they pruned (never active), as the first pool case shows."""
    assert constructions.having("no-dead-weight") == sorted(set(constructions.REGISTRY) - {"edge-popup"})
    dead = liveness.dead_weights(_pool.ticket("edge-popup", 0), scope="layer")
    assert any(d.any() for d in dead)


def test_subset_sum_checks_the_counts_actually_drawn(monkeypatch):
    """Issue 19: above ``ALWAYS_FITS`` the subset-sum construction refuses only the draws whose counts do
    not fit one exact solve, before the solve, naming the layer, block, sign, count and memory."""
    from slth.constructions import subset_sum as con
    from slth.errors import InputError

    assert (con.ALWAYS_FITS, con.EXACT_LIMIT, con.MAX_CANDIDATES) == (23, 46, 32)
    assert constructions.MAX_CANDIDATES["subset-sum"] == 32 and constructions.search_limit("subset-sum") == 23
    assert constructions.MAX_CANDIDATES["depth-l+1"] == 23
    target = nets.random_target((4, 4), key=jax.random.key(0))
    # c = 32: 64 units per block; this draw's counts fit, so the wide exact solve runs.
    ticket = constructions.build("subset-sum", target, nets.RandomSpec(dims=(4, 4), candidates=32, seed=0))
    check_invariant(ticket)
    with pytest.raises(InputError, match="candidates 33 is above 32"):
        constructions.check_candidates("subset-sum", 33)
    # A limit of 14 at c = 12 (24 units per block): most blocks draw more of some sign. The message
    # names the first block with the largest count, and no subset is solved before it.
    spec = nets.RandomSpec(dims=(4, 4), candidates=12, seed=0)
    u = np.asarray(nets.random_network(spec)[0]).reshape(4, 24, 4)[np.arange(4), :, np.arange(4)]
    counts = np.stack([(u > 0).sum(axis=1), (u < 0).sum(axis=1)])          # (sign, block j)
    sign, j = np.unravel_index(np.argmax(counts), counts.shape)
    n = counts[sign, j]
    assert n > 14
    monkeypatch.setattr(con, "EXACT_LIMIT", 14)
    monkeypatch.setattr(con, "choose", lambda *a: pytest.fail("solved before the counts were checked"))
    need = con.subset_sum.exact_bytes(int(n)) / 2**30
    with pytest.raises(InputError, match=(
            rf"^layer 1, block j={j} \(output k=0\), sign {'+-'[sign]}: {n} of the block's 24 units drew "
            rf"this sign, above 14, the most one exact subset-sum solve takes within its 1 GiB budget "
            rf"\({n} would need {need:.2f} GiB\); use fewer candidates or another seed$")):
        constructions.build("subset-sum", target, spec)
