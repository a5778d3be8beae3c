"""``jax.jit`` with the XLA options that compile slth's simple CPU programs in about half the time, same bits.

A first command on a large network spends most of its compiling on a few programs that do little
arithmetic: the random networks' and targets' draws, the gathers and products that assemble a layer
pair's subset-sum problems, the boolean algebra of its masks. On the CPU they compile with LLVM at
level 1 and XLA's older fusion emitters (:data:`CPU_QUICK_OPTIONS`, added to the process's own XLA
options), which produce the same bits as XLA's default (tests/test_layouts.py checks the pinned networks
in a process at XLA's default; tests/test_quick_jit.py compares every program decorated here, at both
settings) and run as fast: the 784-500-10 network's draw compiled in 0.46 s against 0.83 s, its first
pair's problems in 0.05 s against 0.14 s. Elsewhere (GPU) XLA's own options apply.
"""

from __future__ import annotations

import functools

import jax

#: XLA options of :func:`quick_jit`'s programs on the CPU.
CPU_QUICK_OPTIONS = {"xla_backend_optimization_level": 1, "xla_cpu_use_fusion_emitters": False}


def quick_jit(fun=None, *, static_argnums: tuple[int, ...] | None = None,
              static_argnames: tuple[str, ...] | None = None):
    """Decorator: ``jax.jit`` with :data:`CPU_QUICK_OPTIONS` where JAX's default backend is the CPU, and
    XLA's own options elsewhere and inside another jitted function (``.on_cpu`` is the CPU's jitted
    function, ``.elsewhere`` the other). The static arguments are ``jax.jit``'s (given by name only, their
    positions are inferred, and the other way round)."""
    if fun is None:
        return functools.partial(quick_jit, static_argnums=static_argnums, static_argnames=static_argnames)
    statics = {"static_argnums": static_argnums, "static_argnames": static_argnames}
    on_cpu = jax.jit(fun, compiler_options=CPU_QUICK_OPTIONS, **statics)
    elsewhere = jax.jit(fun, **statics)

    @functools.wraps(fun)
    def program(*args, **kwargs):
        # inside another jitted function (traced arguments) the enclosing program's options apply: XLA takes
        # compiler options at the top level only
        traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((args, kwargs)))
        return (on_cpu if jax.default_backend() == "cpu" and not traced else elsewhere)(*args, **kwargs)

    program.on_cpu, program.elsewhere = on_cpu, elsewhere
    return program
