"""A ticket file names the effort its certificate was computed with, and ``slth verify`` recomputes with it.

The bound propagation's effort (:data:`slth.measure.propagate.METHODS`) changes the certificate's value,
not its soundness. A file records the one it used as ``certificate_method``; a file without it was
written with the first ("propagate-1"). Verify must prove a claim made with either effort, refute a claim
that does not match its own effort's value, and say so in one line when a file names an effort this
slth does not know.
"""

import jax
import numpy as np
import pytest

from slth import measure, nets, pipeline, precision
from slth import ticket as T
from slth.errors import InputError
from slth.measure import propagate

#: A selection ticket on which every effort gives a different certificate: its first-layer phases outnumber
#: what propagate-1's branch and bound can split, and d_0 = 4 (propagate-4 also starts from every orthant).
DIMS, C, SEED = (4, 8, 8, 4), 48, 3


@pytest.fixture(scope="module")
def built():
    target = nets.random_target(DIMS, key=jax.random.key(SEED))
    spec = nets.RandomSpec(dims=DIMS, candidates=C, seed=SEED, distribution="uniform")
    return pipeline.prune("selection", target, spec)


def _verify(tmp_path, built, **meta):
    path = T.save(built.ticket, tmp_path / "t.npz", {**built.meta, **meta}, witness=built.witness)
    return pipeline.verify(path)


def _drop(tmp_path, built, key):
    meta = {k: v for k, v in built.meta.items() if k != key}
    return pipeline.verify(T.save(built.ticket, tmp_path / "t.npz", meta, witness=built.witness))


def test_prune_records_the_current_method_and_verify_proves_it(tmp_path, built):
    assert built.meta["certificate_method"] == propagate.METHOD
    assert built.meta["certificate"] == measure.ticket_certificate(built.ticket)
    assert _verify(tmp_path, built)["status"] == "valid"


@pytest.mark.parametrize("method", sorted(set(propagate.METHODS) - {propagate.METHOD}))
def test_a_file_of_an_earlier_method_verifies_with_it_and_not_with_the_current_one(tmp_path, built, method):
    first = precision.run(measure.ticket_certificate, built.ticket, method=method)
    current = built.meta["certificate"]
    assert not np.isclose(first, current, rtol=pipeline.CLAIM_RTOL), "the case must tell the two methods apart"
    lower = built.meta["lower_bound"]
    assert lower <= min(first, current)                            # both are proofs
    assert _verify(tmp_path, built, certificate=first, certificate_method=method)["status"] == "valid"
    if method == "propagate-1":                                    # a file without the key was written with it
        old = {k: v for k, v in built.meta.items() if k != "certificate_method"} | {"certificate": first}
        report = pipeline.verify(T.save(built.ticket, tmp_path / "old.npz", old, witness=built.witness))
        assert report["status"] == "valid"                        # written before slth recorded the method
    wrong = _verify(tmp_path, built, certificate=first)           # the current method's file, the old value
    assert wrong["status"] == "invalid" and any("meta claims certificate" in p for p in wrong["problems"])
    wrong = _verify(tmp_path, built, certificate_method=method)
    assert wrong["status"] == "invalid"


def test_an_unknown_method_is_unverifiable_in_one_line_and_a_wrong_type_is_malformed(tmp_path, built):
    report = _verify(tmp_path, built, certificate_method="propagate-9")
    assert report["status"] == "unverifiable"
    (line,) = [u for u in report["unverified"] if "propagate-9" in u]
    assert "\n" not in line and "propagate-1" in line and propagate.METHOD in line
    with pytest.raises(T.TicketError, match="certificate_method"):
        _verify(tmp_path, built, certificate_method=2)
    with pytest.raises(InputError, match="'propagate-9' is not one of"):
        measure.ticket_certificate(built.ticket, method="propagate-9")
