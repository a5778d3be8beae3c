"""The notebook path: the README's Python API section runs as written in a process where x64 was never
switched on; the scoped float64 (slth.precision) gives the global switch's results bit for bit and
leaves the switch as it found it; seeds; the light import; the Pruned result's methods."""

import doctest
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import slth
from slth import measure, nets, pipeline, precision
from slth import ticket as ticket_mod
from slth.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
#: A file holding the section instead of README.md (the section is looked up by its heading there too).
DOC_ENV = "SLTH_PYTHON_API_DOC"
HEADING = "## Python API"
#: Modules ``import slth; slth.prune`` must not load: training, plotting, data and test tools.
HEAVY = ("optax", "sklearn", "matplotlib", "pytest", "hypothesis")

DIMS = (4, 8, 4)
SPEC = nets.RandomSpec(dims=DIMS, candidates=8, seed=1)


def _section(path: Path) -> str:
    """The README section under HEADING, up to the next second-level heading; code fences blanked, so
    that a fence closing an example is not read as its expected output."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(HEADING)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{path} has no {HEADING!r} section"
    return "\n".join("" if line.lstrip().startswith("```") else line for line in match.group(1).splitlines())


#: Runs in the child: the section as a doctest, then the facts about the process it ran in.
CHILD = """
import doctest, json, sys
text = sys.stdin.read()
test = doctest.DocTestParser().get_doctest(text, {}, "README Python API", None, 0)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
runner.run(test, out=sys.stderr.write)
import jax
print(json.dumps({"failed": runner.failures, "attempted": runner.tries, "x64": jax.config.jax_enable_x64,
                  "plugin": "slth.theorems.plugin" in sys.modules, "pytest": "pytest" in sys.modules}))
"""


def _clean_env() -> dict:
    """This environment without anything that switches x64 on (JAX_ENABLE_X64) or loads pytest's plugins."""
    drop = {"JAX_ENABLE_X64", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_readme_python_api_runs_in_a_clean_process(tmp_path):
    """The section runs in a fresh interpreter (no pytest, no theorem plugin, no JAX_ENABLE_X64), as a
    doctest; x64 is still off at its end. ``SLTH_PYTHON_API_DOC=file`` reads the section from that file."""
    path = Path(os.environ.get(DOC_ENV) or ROOT / "README.md")
    text = _section(path)
    out = subprocess.run([sys.executable, "-c", CHILD], input=text, capture_output=True, text=True,
                         env=_clean_env() | {"TMPDIR": str(tmp_path)}, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["attempted"] >= 5, f"{path}: too few examples in {HEADING!r}"
    assert facts["failed"] == 0, out.stderr[-4000:]
    assert facts == {"failed": 0, "attempted": facts["attempted"], "x64": False, "plugin": False,
                     "pytest": False}


def test_import_is_light():
    """``import slth`` costs well under a second of CPU, and ``slth.prune`` loads no training, plotting,
    data or test tool (edge-popup imports optax when it trains)."""
    code = ("import json, sys, time\nt = time.process_time()\nimport slth\ncpu = time.process_time() - t\n"
            "slth.prune\n"
            f"print(json.dumps([cpu, sorted(m for m in {HEAVY!r} if m in sys.modules)]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=_clean_env())
    cpu, loaded = json.loads(out.stdout)
    assert cpu < 1.0
    assert loaded == []


# --------------------------------------------------------------------------- the scoped float64

def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.fixture(scope="module")
def pruned():
    """The same prune with x64 on globally (the suite's setting) and with x64 off in this thread."""
    assert jax.config.jax_enable_x64, "the suite runs with x64 on (the theorem plugin)"
    target = nets.random_target(DIMS, seed=0)
    on = slth.prune("subset-sum", target, SPEC)
    with jax.enable_x64(False):
        off_target = nets.random_target(DIMS, seed=0)
        off = slth.prune("subset-sum", off_target, SPEC)
        assert not jax.config.jax_enable_x64
    return target, on, off_target, off


def test_scoped_prune_is_the_global_prune_bit_for_bit(pruned):
    target, on, off_target, off = pruned
    assert all(_same(a, b) for a, b in zip(target, off_target))
    for field in ("target", "random", "masks"):
        assert all(_same(a, b) for a, b in zip(getattr(on.ticket, field), getattr(off.ticket, field))), field
    assert _same(on.witness, off.witness)
    timing = {"construction_time_s", "measure_time_s"}
    assert {k: v for k, v in on.meta.items() if k not in timing} == \
        {k: v for k, v in off.meta.items() if k not in timing}
    assert on.ticket.random[0].dtype == np.float64


def test_64_bit_arrays_come_back_as_numpy_outside_x64(pruned):
    """Outside x64 a float64 JAX array would be truncated by the next jnp operation: what a scoped call
    hands back holds its 64-bit arrays in NumPy; other arrays, and everything under x64, stay as they are."""
    _, on, off_target, off = pruned
    assert all(isinstance(w, jax.Array) for w in on.ticket.random)
    assert all(type(w) is np.ndarray and w.dtype == np.float64 for w in (*off.ticket.random, *off_target))
    assert all(isinstance(s, jax.Array) and s.dtype == bool for s in off.ticket.masks)
    with jax.enable_x64(True):      # the caller's own JAX code reads them as float64 in its own scope
        assert _same(jax.numpy.asarray(off.ticket.random[1]) * 1.0, on.ticket.random[1])
    with jax.enable_x64(False):
        tree = precision.run(lambda: {"b": jax.numpy.arange(3.0), "a": (jax.numpy.ones(2, "float32"), None)})
    assert list(tree) == ["b", "a"] and type(tree["b"]) is np.ndarray and tree["b"].dtype == np.float64
    assert isinstance(tree["a"][0], jax.Array) and tree["a"][1] is None


def test_pruned_result(pruned, tmp_path):
    _, on, _, off = pruned
    ticket, meta, witness = off
    assert (ticket, meta, witness) == tuple(off) and isinstance(off, slth.Pruned)
    assert off.certificate == meta["certificate"] and off.lower_bound == meta["lower_bound"]
    assert 0 < off.lower_bound <= off.certificate
    with jax.enable_x64(False):
        path = off.save(tmp_path / "t.npz")
        report = slth.verify(path)
        assert not jax.config.jax_enable_x64
    assert path == tmp_path / "t.npz" and report["status"] == "valid", report
    assert off.verify()["status"] == "valid"
    loaded, loaded_meta, loaded_witness = ticket_mod.load(path)
    assert loaded_meta == meta and _same(loaded_witness, witness)
    assert all(_same(a, b) for a, b in zip(loaded.random, on.ticket.random))


def _calls(tk):
    """One call of every public float64 entry point cheap enough here, on a small ticket."""
    spec32 = nets.RandomSpec(dims=DIMS, candidates=4, seed=2, distribution="binary", dtype="float32")
    x = np.eye(DIMS[0])[:2]
    pruned = tuple(np.where(np.asarray(s), np.asarray(m), 0.0) for m, s in zip(tk.random, tk.masks))
    return {
        "random_target": lambda: nets.random_target(DIMS, seed=3),
        "random_network float64": lambda: nets.random_network(SPEC),
        "random_network float32": lambda: nets.random_network(spec32),
        "gap_at": lambda: measure.gap_at(tk.target, pruned, x),
        "lower_bound": lambda: measure.lower_bound(tk.target, pruned, key=measure.lower_bound_key(1),
                                                   starts=2, steps=3, random_points=16),
        "ticket_lower_bound": lambda: measure.ticket_lower_bound(tk, starts=2, steps=3, random_points=16),
        "ticket_certificate": lambda: measure.ticket_certificate(tk),
        "measure_ticket": lambda: pipeline.measure_ticket(tk),
        "subset_sum sharded": lambda: slth.subset_sum.solve(np.array([[0.5, 0.25, 0.125]]), np.array([0.375]),
                                                           sharded=True),
    }


def test_every_call_gives_the_global_result_and_leaves_x64_off(pruned):
    _, on, _, _ = pruned
    expected = {name: call() for name, call in _calls(on.ticket).items()}
    with jax.enable_x64(False):
        for name, call in _calls(on.ticket).items():
            got = call()
            assert not jax.config.jax_enable_x64, name
            want = jax.tree.leaves(expected[name], is_leaf=lambda v: not isinstance(v, (tuple, list, dict)))
            have = jax.tree.leaves(got, is_leaf=lambda v: not isinstance(v, (tuple, list, dict)))
            assert len(want) == len(have), name
            for a, b in zip(want, have):
                if hasattr(a, "witness"):        # LowerBound: a frozen dataclass
                    assert a.value == b.value and _same(a.witness, b.witness), name
                elif isinstance(a, (float, int, str)) or a is None:
                    assert a == b, name
                else:
                    assert _same(a, b), name


def test_x64_is_restored_after_an_error_inside_the_scope():
    too_big = tuple(2 * np.asarray(w) for w in nets.random_target(DIMS, seed=0))
    with jax.enable_x64(False):
        with pytest.raises(InputError, match="spectral norm"):
            slth.prune("subset-sum", too_big, SPEC)     # refused inside prune's scope, by check_target
        assert not jax.config.jax_enable_x64
        with pytest.raises(ZeroDivisionError):
            precision.run(lambda: 1 / 0)
        assert not jax.config.jax_enable_x64
    assert jax.config.jax_enable_x64                       # and the suite's global setting is untouched


def test_heavy_entry_points_are_scoped():
    """The entry points too slow to call here (training, sweeps, SCIP, width searches) run in the scope:
    each is :func:`slth.precision.float64`'s wrapper around the function."""
    from slth.experiments import runner
    from slth.measure import exact, width
    from slth.studies.digits import study as digits
    from slth.studies.separation import study as separation

    scoped = precision.float64(lambda: None).__code__
    for f in (runner.run, exact.exact_error, width.min_width, width.trial_width, digits.digits, digits.prepare,
              digits.ticket_row, separation.separation, separation.row_for, pipeline.prune, pipeline.verify):
        assert f.__code__ is scoped and inspect.unwrap(f) is not f, f.__qualname__


def test_ticket_call_outside_x64_is_float64(pruned):
    _, on, _, off = pruned
    x = np.eye(DIMS[0])
    want = np.asarray(on.ticket(x))
    with jax.enable_x64(False):
        got = off.ticket(x)
    assert _same(want, got)


def test_construction_outside_x64_is_the_global_one(pruned):
    target, on, _, _ = pruned
    spec = measure.network_spec("subset-sum", SPEC)
    with jax.enable_x64(False):
        tk = slth.constructions.build("subset-sum", target, spec)
    assert all(_same(a, b) for a, b in zip(tk.masks, on.ticket.masks))


# --------------------------------------------------------------------------- one seed convention

def test_random_target_takes_a_seed_or_a_key():
    by_seed = nets.random_target(DIMS, seed=5)
    by_key = nets.random_target(DIMS, key=jax.random.key(5))
    assert all(_same(a, b) for a, b in zip(by_seed, by_key))
    for kwargs, says in (({}, "neither"), ({"seed": 5, "key": jax.random.key(5)}, "both")):
        with pytest.raises(InputError, match=f"exactly one of seed .* got {says}$"):
            nets.random_target(DIMS, **kwargs)
    for bad in (-1, 1.5, True, 2**63):
        with pytest.raises(InputError, match="seed"):
            nets.random_target(DIMS, seed=bad)


def test_doc_section_lookup(tmp_path):
    doc = tmp_path / "README.md"
    doc.write_text("# x\n\n## Python API\n\n```pycon\n>>> 1 + 1\n2\n```\n\n## Next\n\n>>> 3\n", encoding="utf-8")
    section = _section(doc)
    assert ">>> 1 + 1" in section and ">>> 3" not in section and "```" not in section
    assert doctest.DocTestParser().get_doctest(section, {}, "x", None, 0).examples[0].want == "2\n"
