"""The Ticket pytree, its invariant and the portable file (docs/theory.md §1, §5.1)."""

import json

import jax
import numpy as np
import pytest

from slth import nets, pipeline
from slth import ticket as T


@pytest.fixture(scope="module")
def built():
    target = nets.random_target((3, 4, 2), key=jax.random.key(7))
    spec = nets.RandomSpec(dims=(3, 4, 2), candidates=4, seed=7)
    return pipeline.prune("subset-sum", target, spec)


def save(built, path):
    return T.save(built.ticket, path, built.meta, witness=built.witness)


def test_ticket_is_a_pytree(built):
    ticket = built.ticket
    leaves = jax.tree_util.tree_leaves(ticket)
    assert len(leaves) == len(ticket.target) + 2 * len(ticket.random)
    doubled = jax.tree_util.tree_map(lambda a: a, ticket)
    assert doubled.spec == ticket.spec and doubled.construction == ticket.construction


def test_roundtrip_is_bit_exact(built, tmp_path):
    ticket = built.ticket
    path = save(built, tmp_path / "t.npz")
    with np.load(path, allow_pickle=False) as z:
        names = set(z.files)
        assert json.loads(str(z["meta"][()]))["construction"] == "subset-sum"
    assert {"meta", "witness", "target_0", "random_3", "mask_3"} <= names
    again, meta2, witness = T.load(path)
    for a, b in zip(jax.tree_util.tree_leaves(ticket), jax.tree_util.tree_leaves(again)):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert again.spec == ticket.spec
    assert pipeline.verify(path)["status"] == "valid"


def test_plain_numpy_reading_matches_the_documented_semantics(built, tmp_path):
    """README: g(x) = R_L σ(··· σ(R_1 x)), R_k = random_{k-1} * mask_{k-1}; f from target_i."""
    ticket = built.ticket
    path = save(built, tmp_path / "t.npz")
    z = np.load(path, allow_pickle=False)
    L = len([n for n in z.files if n.startswith("random_")])
    x = np.asarray(z["witness"])
    g = x
    for k in range(L):
        g = (z[f"random_{k}"] * z[f"mask_{k}"]) @ g
        g = np.maximum(g, 0) if k < L - 1 else g
    f = x
    for i in range(L // 2):
        f = z[f"target_{i}"] @ f
        f = np.maximum(f, 0) if i < L // 2 - 1 else f
    lb = json.loads(str(z["meta"][()]))["lower_bound"]
    assert abs(np.linalg.norm(f - g) - lb) <= 1e-12


def test_tampered_weight_breaks_the_invariant(built):
    ticket = built.ticket
    k = 1
    random = list(ticket.random)
    r, c = np.argwhere(np.asarray(ticket.masks[k]))[0]
    bumped = np.array(random[k])
    bumped[r, c] = np.nextafter(bumped[r, c], 2.0)
    random[k] = bumped
    bad = T.Ticket(ticket.target, tuple(random), ticket.masks, ticket.spec, ticket.construction)
    problems = T.invariant_problems(bad)
    assert len(problems) == 1 and "random_1 differs" in problems[0] and "1 entries" in problems[0]
    with pytest.raises(T.TicketError):
        T.check_invariant(bad)


def test_mask_outside_block_breaks_the_invariant(built):
    ticket = built.ticket
    masks = list(ticket.masks)
    m = np.array(masks[0])
    m[0, :] = True
    masks[0] = m
    bad = T.Ticket(ticket.target, ticket.random, tuple(masks), ticket.spec, ticket.construction)
    assert any("outside unit 0's block" in p for p in T.invariant_problems(bad))


def test_off_block_weights_are_named_first_in_row_major_order_and_counted(built):
    """The first off-block weight (row-major, as a dense scan finds it) of each pair's first layer is
    named, with the count of all of them; an on-block weight planted beside them is not counted."""
    ticket = built.ticket
    masks = [np.array(m) for m in ticket.masks]
    blocks = nets.block_inputs(ticket.spec, 2)                   # pair 2: first layer mask_2, (h_2, d_1)
    for r, j in ((9, 0), (5, 3), (5, 2), (13, 1)):
        masks[2][r, j] = True
    masks[2][7, blocks[7]] = True
    bad = T.Ticket(ticket.target, ticket.random, tuple(masks), ticket.spec, ticket.construction)
    off = masks[2] & (np.arange(masks[2].shape[1])[None, :] != blocks[:, None])
    r, j = np.argwhere(off)[0]
    assert (r, j) == (5, 2) and blocks[5] != 2
    assert [p for p in T.invariant_problems(bad) if "block column" in p] == [
        f"mask_2 keeps weight ({r}, {j}) outside unit {r}'s block column {blocks[r]}: {int(off.sum())} such weights"]


def test_save_is_atomic(built, tmp_path):
    """A failed write leaves neither a partial ticket nor a temporary file behind."""
    ticket = built.ticket
    path = tmp_path / "t.npz"
    path.write_bytes(b"previous content")
    with pytest.raises(T.InputError, match="lacks"):
        T.save(ticket, path, {"format": T.FORMAT})
    assert path.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]


def test_mask_bytes_other_than_0_and_1_break_the_invariant(built):
    """NumPy counts a bool byte 0x02 as kept where XLA reads its low bit as pruned: no such byte is a mask."""
    ticket = built.ticket
    masks = [np.array(s) for s in ticket.masks]
    raw = masks[1].view(np.uint8)
    raw[tuple(np.argwhere(raw == 1)[0])] = 2
    bad = T.Ticket(ticket.target, ticket.random, tuple(masks), ticket.spec, ticket.construction)
    assert T.invariant_problems(bad) == ["mask_1 holds bytes other than 0 and 1; a boolean mask byte must be 0 or 1"]


def test_save_refuses_meta_that_load_would_refuse(built, tmp_path):
    for change, fragment in (({"certificate": float("nan")}, "not strict JSON"),
                             ({"dims": [3.5, 4, 2]}, "meta field 'dims'"),
                             ({"kept_params": "78"}, "meta field 'kept_params'")):
        with pytest.raises(T.InputError, match=fragment):
            T.save(built.ticket, tmp_path / "t.npz", built.meta | change)
    assert list(tmp_path.iterdir()) == []


def test_save_writes_c_order_whatever_the_arrays(built, tmp_path):
    """A target read from a user's file may be Fortran-ordered; the reader refuses Fortran order, so
    save must never write it."""
    ticket = built.ticket
    fortran = T.Ticket(tuple(np.asfortranarray(np.asarray(w)) for w in ticket.target), ticket.random,
                       ticket.masks, ticket.spec, ticket.construction)
    path = T.save(fortran, tmp_path / "t.npz", built.meta, witness=built.witness)
    again, _, _ = T.load(path)
    assert all(w.flags.c_contiguous for w in again.target)
    assert pipeline.verify(path)["status"] == "valid"
