"""Compile-time machinery: the garbage collector is held off while rewriting, and only then.

The scaling figures themselves are a benchmark (``benchmarks/rewrite_scaling.py``),
not a timed test.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode, gc_paused
from arignote.graph.fg import FunctionGraph
from arignote.graph.rewriting.basic import RewriteError, node_rewriter
from arignote.graph.rewriting.stages import canonicalize
from arignote.tensor.elemwise import Elemwise


def test_gc_paused_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), gc_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_gc_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@node_rewriter([Elemwise])
def compile_time_test_gc_probe(fgraph, node):
    """Records whether the collector runs during rewriting; never rewrites."""
    compile_time_test_gc_probe.seen.append(gc.isenabled())


@node_rewriter([Elemwise])
def compile_time_test_failing(fgraph, node):
    raise ZeroDivisionError("on purpose")


def _with_rewrite(rewriter, run):
    canonicalize.register(rewriter.name, rewriter, "fast_run")
    try:
        return run()
    finally:
        del canonicalize.entries[rewriter.name]


def test_rewriting_runs_without_the_collector_and_restores_it():
    compile_time_test_gc_probe.seen = []
    x = T.vector("x")
    f = _with_rewrite(compile_time_test_gc_probe, lambda: arignote.function([x], T.exp(x) * 2))
    assert compile_time_test_gc_probe.seen and not any(compile_time_test_gc_probe.seen)
    assert gc.isenabled()
    np.testing.assert_allclose(f([0.0, 1.0]), np.exp([0.0, 1.0]) * 2)


def test_a_failing_rewrite_restores_the_collector():
    x = T.vector("x")
    fgraph = FunctionGraph([x], [T.exp(x)])
    with arignote.config.change_flags(on_opt_error="raise"), pytest.raises(RewriteError):
        _with_rewrite(compile_time_test_failing, lambda: Mode().rewrite(fgraph))
    assert gc.isenabled()
