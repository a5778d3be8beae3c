"""slth.provenance tells the truth: the revision of slth's own checkout, never another project's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from slth import provenance

SLTH = Path(provenance.__file__).resolve().parent
PROBE = ("import json, slth, slth.provenance as p; "
         "print(json.dumps([p.git_revision(), p.version(), slth.__file__]))")


def _env(**extra) -> dict:
    """The environment without git's own variables (a test run from a git hook would inherit GIT_DIR)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return env | {"GIT_CONFIG_NOSYSTEM": "1", "HOME": extra.pop("HOME", env.get("HOME", "/tmp"))} | extra


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=repo,
                          env=_env(), capture_output=True, text=True, check=True).stdout.strip()


def _repo_with_copy(root: Path, where: str, project: str) -> tuple[Path, str]:
    """A git repository at ``root`` whose pyproject names ``project``, holding a copy of the slth package
    at ``<root>/<where>/slth``, all committed; returns (the folder to put on PYTHONPATH, HEAD)."""
    root.mkdir()
    (root / "pyproject.toml").write_text(f'[project]\nname = "{project}"\nversion = "9.9"\n')
    shutil.copytree(SLTH, root / where / "slth", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "a project")
    return root / where, _git(root, "rev-parse", "HEAD")


def _probe(path: Path, cwd: Path) -> tuple[str, str, str]:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=_env(PYTHONPATH=str(path)),
                         capture_output=True, text=True, check=True).stdout
    return tuple(json.loads(out))


@pytest.mark.parametrize("where, project", [("src", "other"), ("vendor", "slth"), ("lib", "other")])
def test_a_copy_inside_another_projects_checkout_does_not_report_its_commit(tmp_path, where, project):
    """Issue 17: slth installed or copied inside another project's checkout recorded that project's
    commit. A copy of the package in a foreign repository (at src/slth of a project of another name, or
    elsewhere in a project that even calls itself slth) reports no git revision of that repository."""
    path, foreign = _repo_with_copy(tmp_path / "foreign", where, project)
    revision, version, module = _probe(path, cwd=tmp_path / "foreign")
    assert Path(module).resolve().parent == (path / "slth").resolve()    # the copy ran, not the install
    assert foreign[:7] not in revision, revision
    # no install describes the copy: neither the version nor the revision of another slth
    assert (revision, version) == ("unknown", provenance.UNKNOWN_VERSION)


def test_a_checkout_of_slth_reports_its_commit_and_dirt(tmp_path):
    """The other side: a copy that is a checkout of slth (src/slth, tracked, pyproject naming slth)
    reports that checkout's commit, and +dirty once a tracked file changes."""
    path, head = _repo_with_copy(tmp_path / "clone", "src", "slth")
    assert _probe(path, cwd=tmp_path)[0] == head
    with open(path / "slth" / "errors.py", "a") as fh:
        fh.write("\n# an uncommitted change\n")
    assert _probe(path, cwd=tmp_path)[0] == head + "+dirty"


def test_this_checkout_reports_its_head():
    top = SLTH.parent.parent
    try:
        head = _git(top, "rev-parse", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("slth is not running from a git checkout")
    if (top / "src" / "slth").resolve() != SLTH:
        pytest.skip("slth is not running from its checkout's src/")
    assert provenance.git_revision().removesuffix("+dirty") == head


def test_the_version_is_the_installed_builds():
    """Installed from this source (CI's ``pip install -e .``), the version is the metadata's, which
    setuptools-scm derived from git; `slth.__version__` is the same string."""
    try:
        installed = metadata.version("slth")
    except metadata.PackageNotFoundError:
        pytest.skip("slth is not installed")
    if provenance._own_distribution() is None:
        pytest.skip("the installed slth is another copy")
    assert provenance.version() == installed
    import slth

    assert slth.__version__ == installed


@pytest.mark.parametrize("version, revision", [
    ("0.1.dev52+g1a2b3c4", "build:1a2b3c4"),
    ("0.1.dev52+g1a2b3c4.d20260101", "build:1a2b3c4+dirty"),
    ("1.2.dev3+gdeadbeef0", "build:deadbeef0"),
    ("0.1.0", "build:0.1.0"),                 # a tagged release: the version is the revision
    ("0.1.0rc1", "build:0.1.0rc1"),
    ("0.1.0+d20260101", "build:0.1.0+dirty"),
    ("0.0", "unknown"),                       # pyproject's fallback_version: built without git
    ("0+unknown", "unknown"),
    ("0.1.dev3", "unknown"),
    ("0.1.0+local", "unknown"),
])
def test_build_revision_reads_setuptools_scm_versions(version, revision):
    assert provenance.build_revision(version) == revision


def test_provenance_fallback_matches_pyproject():
    """slth.provenance.FALLBACK_VERSION is pyproject's fallback_version (a build without git)."""
    import tomllib

    pyproject = SLTH.parent.parent / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("no pyproject.toml beside the package (an installed copy)")
    with open(pyproject, "rb") as fh:
        assert tomllib.load(fh)["tool"]["setuptools_scm"]["fallback_version"] == provenance.FALLBACK_VERSION


def test_version_and_revision_import_no_jax():
    code = ("import sys, slth, slth.provenance as p; p.version(); p.git_revision(); slth.__version__; "
            "print(sorted(m for m in ('jax', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []
