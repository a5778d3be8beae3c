"""The constructions on the README's example and through ``pipeline.prune``. THEORY §5's properties
are the theorem suite, ``slth.theorems`` (collected under tests/theorems/)."""

import jax
import numpy as np

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
    """Issue 13: every construction that prunes by the block structure (THEORY §2) keeps a hidden unit
    only with the candidate it supplies and promises ``no-dead-weight`` (the theorem suite checks it);
    edge-popup does not: its per-layer top-k scores keep outgoing weights of units whose incoming
    weight they pruned (never active), as the first pool case shows."""
    assert constructions.having("no-dead-weight") == sorted(set(constructions.REGISTRY) - {"edge-popup"})
    dead = liveness.dead_weights(_pool.ticket("edge-popup", 0), scope="layer")
    assert any(d.any() for d in dead)
