"""ARCHITECTURE.md is true: layers, module sizes, the recipes' homes, and bounds without JAX."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "slth"
MAX_LINES = 450


def _layers() -> dict[str, int]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text.split("<!-- layers: begin -->")[1].split("<!-- layers: end -->")[0]
    out = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            for name in re.findall(r"`([\w.]+)`", cells[1]):
                out[name] = int(cells[0])
    return out


LAYERS = _layers()


def _modules() -> dict[str, Path]:
    """Dotted name (without the ``slth.`` prefix) -> file, for every module of the package."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _top(dotted: str) -> str:
    return dotted.split(".")[0]


def _imports(path: Path, name: str) -> set[str]:
    """Every slth module ``path`` imports (at any depth: function-level imports count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name[5:] for a in node.names if a.name.startswith("slth.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            elif node.module == "slth":
                module = ""
            elif node.module and node.module.startswith("slth."):
                module = node.module[5:]
            else:
                continue
            if module:
                out.add(module)
            else:   # from slth import a, b: each name is a module
                out |= {a.name for a in node.names}
    return out


def test_every_module_has_a_layer():
    missing = sorted({_top(m) for m in MODULES if m} - set(LAYERS))
    assert not missing, f"modules missing from ARCHITECTURE.md's layer table: {missing}"
    stale = sorted(set(LAYERS) - {_top(m) for m in MODULES if m})
    assert not stale, f"ARCHITECTURE.md's layer table names modules that do not exist: {stale}"


def test_no_import_from_a_higher_layer():
    upward = []
    for name, path in MODULES.items():
        if not name:          # slth/__init__.py: lazy, exempt
            continue
        mine = LAYERS[_top(name)]
        for imported in _imports(path, name):
            theirs = LAYERS.get(_top(imported))
            if theirs is not None and theirs > mine:
                upward.append(f"{name} (layer {mine}) imports {imported} (layer {theirs})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_long_modules_say_they_have_one_job():
    long = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if lines > MAX_LINES and "One job:" not in doc:
            long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not long, (f"modules over {MAX_LINES} lines whose docstring does not say 'One job: ...' "
                      "(split them, or say why they are one job):\n" + "\n".join(long))


def test_every_module_says_its_job_first():
    silent = [str(p.relative_to(ROOT)) for n, p in MODULES.items()
              if not (ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or "").strip()]
    assert not silent, f"modules without a docstring naming their job: {silent}"


def _compared_lines(path: Path, names: set[str]) -> list[int]:
    """Line of each comparison in ``path`` of a value with one of ``names`` (==, !=, in, not in)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for op in [node.left, *node.comparators]:
            values = [op] + (list(op.elts) if isinstance(op, (ast.Tuple, ast.List, ast.Set)) else [])
            if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                lines.append(node.lineno)
                break
    return sorted(lines)


def _compared_names(path: Path, names: set[str]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{n}" for n in _compared_lines(path, names)]


def _outside(home: str) -> list[Path]:
    return [p for n, p in MODULES.items() if not (n == home or n.startswith(home + "."))]


#: recipe -> (its home, the module and attribute of its table of names)
RECIPES = {
    "layouts": ("nets.layouts", "slth.nets.layouts", "LAYOUTS"),
    "constructions": ("constructions", "slth.constructions", "REGISTRY"),
    "bounds": ("bounds", "slth.bounds.theory", "BY_NAME"),
    "sweep kinds": ("experiments.kinds", "slth.experiments.kinds", "KINDS"),
}


@pytest.mark.parametrize("recipe", ["layouts", "constructions", "bounds", "sweep kinds"])
def test_recipe_names_are_compared_only_in_their_home(recipe):
    import importlib

    home, module, table = RECIPES[recipe]
    names = set(getattr(importlib.import_module(module), table))
    assert names, f"{module}.{table} is empty"
    hits = [h for p in _outside(home) for h in _compared_names(p, names)]
    assert not hits, (f"{recipe} are compared by name outside {home} (ask its table instead):\n"
                      + "\n".join(hits))


def test_bounds_import_without_jax():
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('jax', 'jaxlib'):\n"
        "            raise ImportError('JAX is made unimportable for this test: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import slth.bounds as b\n"
        "w = b.pensia_width('8,8,8', 0.1, 0.1)\n"
        "assert [x.name for x in b.BOUNDS] and w.candidates > 0\n"
        "assert not any(m.split('.')[0] in ('jax', 'jaxlib') for m in sys.modules), 'JAX was imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_the_import_walker_sees_function_level_and_relative_imports(tmp_path):
    """The layering test itself can fail: a planted upward import is seen."""
    f = tmp_path / "x.py"
    f.write_text("def g():\n    from slth.experiments import runner\n    from .. import nets\n")
    assert {"experiments", "nets"} <= _imports(f, "measure.x")
    g = tmp_path / "y.py"
    g.write_text("if a == 'l+1' or b in ('pairs', 'z'):\n    pass\n")
    assert _compared_lines(g, {"l+1", "pairs"}) == [1, 1]
