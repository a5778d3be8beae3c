"""Mutation check: plant wrong constructions and show that the theorem suite fails on each.

    python tests/mutations.py            # every mutation, small pool; exit 0 iff all are caught
    python tests/mutations.py --list
    python tests/mutations.py --run NAME # one mutation in this process (what the loop spawns)

Each mutation patches slth in a fresh interpreter, then runs the installed theorem suite
(``slth.theorems``, stop at the first failure) on a pool of ``--pool`` cases, for the two papers'
constructions (selection and subset sum: the mutations plant their errors in the shared code those
two run through). A mutation is *caught*
when the suite fails; the script prints the first failing test for each, and exits 1 if any mutation
survives. The plain suite (no mutation) is run first and must pass, so every failure is the
mutation's doing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import time

# Module order: the cheap, broad checks first, so a caught mutation stops early.
ORDER = ("test_assumptions", "test_invariant", "test_identity", "test_exactness", "test_liveness",
         "test_sandwich", "test_monotonicity", "test_counting", "test_probability", "test_relaxation")


def flipped_negative_sign():
    """The negative half of pair 1 approximates +W instead of −W (a flipped sign)."""
    from slth.constructions import _blocks

    original = _blocks.pair_problems

    def mutated(w, first, second, units, active=None, *, negative):
        cands, targets, valid = original(w, first, second, units, active, negative=negative)
        if negative:
            half = targets.shape[0] // 2
            targets = targets.at[half:].multiply(-1.0)
        return cands, targets, valid

    _blocks.pair_problems = mutated


flipped_negative_sign.module = ("test_exactness", "subset_sum_ticket_attains")


def off_by_one_block():
    """Block j's problems are solved on the candidates of block j + 1 (an off-by-one block index)."""
    import jax.numpy as jnp

    from slth.constructions import _blocks

    original = _blocks.pair_problems

    def mutated(w, first, second, units, active=None, *, negative):
        cands, targets, valid = original(w, first, second, units, active, negative=negative)
        d_out, d_in = w.shape
        roll = lambda a: jnp.roll(a.reshape(-1, d_out, d_in, units), 1, axis=2).reshape(a.shape)
        return roll(cands), targets, roll(valid)

    _blocks.pair_problems = mutated


off_by_one_block.module = ("test_invariant", "invariant")


def suboptimal_solver():
    """The subset-sum solver drops the first chosen candidate of every row (a suboptimal subset)."""
    import numpy as np

    import slth.subset_sum as ss

    original = ss.solve

    def mutated(candidates, targets, **kwargs):
        res = original(candidates, targets, **kwargs)
        mask = res.mask.copy()
        rows = np.flatnonzero(mask.sum(axis=1) >= 1)
        mask[rows, mask[rows].argmax(axis=1)] = False
        cand = np.where(mask, np.asarray(candidates, np.float64), 0.0)
        error = np.abs(cand.sum(axis=1) - np.asarray(targets, np.float64))
        return ss.SubsetSumResult(mask, error, res.found)

    ss.solve = mutated


suboptimal_solver.module = ("test_exactness", "subset_sum_ticket_attains")


def certificate_drops_a_layer():
    """The certificate forgets the last layer: Π over layers 1..l−1 only."""
    import slth.measure as measure
    from slth.measure import deep, error, propagate

    original = error.certificate

    def mutated(target, maps):
        return original(list(target)[:-1], list(maps)[:-1]) if len(target) > 1 else 0.0

    error.certificate = measure.certificate = deep.certificate = propagate.certificate = mutated


certificate_drops_a_layer.module = ("test_sandwich", "test_lower_bound_and_sampled_gaps_never_exceed_the_certificate")


def certificate_one_percent_low():
    """The tighter certificate's bound propagation returns 1% less than it proves (issue 15)."""
    from slth.measure import propagate

    original = propagate.propagation_bound

    def mutated(*args, **kwargs):
        return 0.99 * original(*args, **kwargs)

    propagate.propagation_bound = mutated


certificate_one_percent_low.module = ("test_sandwich", "test_lower_bound_and_sampled_gaps_never_exceed_the_certificate")


def propagation_ignores_skips():
    """The bound propagation of a residual target's ticket forgets its skips (issue 16): it bounds the plain
    chain's error, which a skip can exceed."""
    from slth.measure import residual

    original = residual.network

    def mutated(target, maps, skips):
        return original(target, maps, ())

    residual.network = mutated


propagation_ignores_skips.module = ("test_sandwich", "skips")


def mask_keeps_modified_weight():
    """The ticket keeps a weight that is not the random weight (scaled by 1.001)."""
    import numpy as np

    from slth.constructions import selection, subset_sum

    for module in (selection, subset_sum):
        original = module.build_blocks

        def mutated(*args, _original=original, **kwargs):
            ticket = _original(*args, **kwargs)
            random = [np.array(r) for r in ticket.random]
            for k, m in enumerate(ticket.masks):
                kept = np.argwhere(np.asarray(m))
                if len(kept):
                    random[k][tuple(kept[0])] *= 1.001
                    break
            return dataclasses.replace(ticket, random=tuple(random))

        module.build_blocks = mutated


mask_keeps_modified_weight.module = ("test_invariant", "test_ticket_invariant")


def solver_wrong_at_odd_counts():
    """Meet in the middle ignores the last candidate when the candidate count n > 6 is odd."""
    # an off-by-one in the halves: wrong only for odd n above BRUTE_FORCE_MAX_COUNT
    from slth.subset_sum import _jax_kernels, _numpy_kernels

    numpy_original, jax_original = _numpy_kernels.mitm_indices, _jax_kernels.solve_indices

    def numpy_mutated(x, t, work=None):
        return numpy_original(x[:, :-1], t) if x.shape[1] % 2 else numpy_original(x, t, work)

    def jax_mutated(x, t, **kwargs):   # the back end on an accelerator or several devices
        odd = x.shape[1] % 2 and x.shape[1] > 6
        return jax_original(x[:, :-1] if odd else x, t, **kwargs)

    _numpy_kernels.mitm_indices, _jax_kernels.solve_indices = numpy_mutated, jax_mutated


solver_wrong_at_odd_counts.module = ("test_exactness", "solver_is_exact_at_every_candidate_count")


def later_pairs_keep_negatives():
    """Pairs i >= 2 keep negative units too, which output 0 on their non-negative inputs."""
    # same function and certificate, more kept weights (docs/theory.md §2.3)
    from slth.constructions import _blocks

    original = _blocks.pair_problems

    def mutated(w, first, second, units, active=None, *, negative):
        return original(w, first, second, units, active, negative=True)

    _blocks.pair_problems = mutated


later_pairs_keep_negatives.module = ("test_liveness", "no_kept_weight_is_dead")


def loosened_norm_tolerance():
    """The target check allows spectral norms up to 1 + 1e-2 (its tolerance loosened to 1e-2)."""
    from slth import nets

    nets.norm_tolerance = lambda shape, dtype: 1e-2


loosened_norm_tolerance.module = ("test_assumptions", "norm_check")


MUTATIONS = {
    "flipped-negative-sign": flipped_negative_sign,
    "off-by-one-block": off_by_one_block,
    "suboptimal-solver": suboptimal_solver,
    "certificate-drops-a-layer": certificate_drops_a_layer,
    "certificate-one-percent-low": certificate_one_percent_low,
    "mask-keeps-modified-weight": mask_keeps_modified_weight,
    "solver-wrong-at-odd-counts": solver_wrong_at_odd_counts,
    "later-pairs-keep-negatives": later_pairs_keep_negatives,
    "loosened-norm-tolerance": loosened_norm_tolerance,
    "propagation-ignores-skips": propagation_ignores_skips,
}


def run_one(name: str) -> int:
    """Apply mutation ``name`` (or none) in this process and run the suite; pytest's exit code."""
    import pytest

    import slth.theorems

    root = os.path.dirname(slth.theorems.__file__)
    args = ["-p", "slth.theorems.plugin", "-p", "no:cacheprovider", "-x", "-q", "-rf", "--rootdir", root, "-c", os.devnull]
    order = list(ORDER)
    if name != "none":
        MUTATIONS[name]()
        first = getattr(MUTATIONS[name], "module", None)     # (module, -k expression) the mutation targets
        if first:      # those tests first; the whole suite only if they pass
            code = int(pytest.main(["--pyargs", f"slth.theorems.{first[0]}", "-k", first[1], *args]))
            if code != 0:
                return code
    return int(pytest.main(["--pyargs", *[f"slth.theorems.{m}" for m in order], *args]))


def run_isolated(name: str, pool: int = 4) -> tuple[int, list[str], str]:
    """Run mutation ``name`` (or "none") in a fresh interpreter on a pool of ``pool`` cases.

    Returns pytest's exit code, the failing tests in order, and the tail of the output.
    """
    env = dict(os.environ, SLTH_THEOREM_POOL=str(pool), SLTH_THEOREM_CONSTRUCTIONS="selection,subset-sum")
    proc = subprocess.run([sys.executable, __file__, "--run", name], env=env, capture_output=True, text=True,
                          timeout=900)
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.M)
    return proc.returncode, failed, proc.stdout[-3000:] + proc.stderr[-3000:]


def caught(code: int, failed: list[str]) -> bool:
    """A mutation is caught when the suite fails a test (exit code 1), not when it crashes."""
    return code == 1 and bool(failed)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run one mutation (or 'none') in this process")
    parser.add_argument("--list", action="store_true", help="list the mutations")
    parser.add_argument("--pool", type=int, default=4, help="theorem pool size (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.list:
        for name, fn in MUTATIONS.items():
            print(f"{name:28s} {fn.__doc__}")
        return 0
    if args.run:
        if args.run != "none" and args.run not in MUTATIONS:
            parser.error(f"unknown mutation {args.run!r}; allowed: none, {', '.join(MUTATIONS)}")
        return run_one(args.run)
    code, _, tail = run_isolated("none", args.pool)
    print(f"{'(no mutation)':28s} {'passes' if code == 0 else 'FAILS'}", flush=True)
    if code != 0:
        print(tail)
        return 1
    count = 0
    for name in MUTATIONS:
        start = time.perf_counter()
        code, failed, tail = run_isolated(name, args.pool)
        ok = caught(code, failed)
        count += ok
        by = failed[0] if failed else f"nothing (pytest exit code {code})"
        print(f"{name:28s} {'caught' if ok else 'SURVIVED':8s} by {by}  ({time.perf_counter() - start:.0f} s)",
              flush=True)
        if not ok and code not in (0, 1):
            print(tail)
    print(f"caught {count} of {len(MUTATIONS)} mutations")
    return 0 if count == len(MUTATIONS) else 1


if __name__ == "__main__":
    sys.exit(main())
