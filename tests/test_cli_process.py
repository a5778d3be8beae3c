"""The slth process's JAX settings (slth.cli.process): float64, and the compilation cache's folder."""

import os
import subprocess
import sys

import pytest

from slth.cli import process


@pytest.mark.parametrize("env,expected", [
    ({"SLTH_JAX_CACHE": "0", "JAX_COMPILATION_CACHE_DIR": "/x"}, None),
    ({"JAX_COMPILATION_CACHE_DIR": "/x/y", "XDG_CACHE_HOME": "/z"}, "/x/y"),
    ({"XDG_CACHE_HOME": "/z"}, "/z/slth/jax"),
    ({"HOME": "/h"}, "/h/.cache/slth/jax"),
])
def test_the_cache_folder_follows_the_environment(monkeypatch, env, expected):
    for name in ("SLTH_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    folder = process.cache_folder()
    assert (None if folder is None else str(folder)) == expected


def _run_cli(tmp_path, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_COMPILATION_CACHE_DIR", "SLTH_JAX_CACHE")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "slth.cli", "prune", "--dims", "3,4,2", "--candidates", "4",
                           "--out", str(tmp_path / "t.npz")], capture_output=True, text=True, env=env, timeout=300)


def test_a_cli_run_fills_the_cache_and_a_second_reads_it(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    folder = tmp_path / "cache" / "slth" / "jax"
    first = _run_cli(tmp_path, env)
    assert first.returncode == 0, first.stderr
    entries = sorted(p.name for p in folder.iterdir())
    assert entries, "the first run wrote no compiled program"
    second = _run_cli(tmp_path, env)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in folder.iterdir()) == entries, "the second run compiled again"


@pytest.fixture
def updates(monkeypatch):
    """The JAX settings configure() makes, recorded instead of applied."""
    import jax

    made = {}
    monkeypatch.setattr(jax.config, "update", lambda name, value: made.__setitem__(name, value))
    for name in ("SLTH_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        monkeypatch.delenv(name, raising=False)
    return made


def test_configure_sets_float64_and_the_cache(tmp_path, monkeypatch, updates):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert process.configure() == tmp_path / "slth" / "jax"
    assert updates == {"jax_enable_x64": True, "jax_compilation_cache_dir": str(tmp_path / "slth" / "jax"),
                       "jax_persistent_cache_min_compile_time_secs": process.MIN_COMPILE_SECONDS}


def test_an_unwritable_cache_folder_leaves_the_cache_off(tmp_path, monkeypatch, updates):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert process.configure() is None
    assert updates == {"jax_enable_x64": True}


def test_the_switch_turns_the_cache_off(tmp_path, monkeypatch, updates):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("SLTH_JAX_CACHE", "0")
    assert process.configure() is None
    assert updates == {"jax_enable_x64": True} and not (tmp_path / "slth").exists()
