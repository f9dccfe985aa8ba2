"""The jit linker as a whole: mode selection, the report, fallbacks, what callers may rely on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode, get_mode
from arignote.config import config
from arignote.link.c import JITLinker
from arignote.link.python.linker import PythonLinker
from tests.jit_support import requires_compiler

ROOT = Path(__file__).resolve().parent.parent


@requires_compiler
def test_fast_run_uses_the_jit_linker_when_a_compiler_works():
    with config.change_flags(linker="auto"):
        assert isinstance(get_mode("FAST_RUN").linker, JITLinker)
    assert isinstance(get_mode("FAST_COMPILE").linker, PythonLinker)


@pytest.mark.parametrize(
    "name,linker", [("py", PythonLinker), ("jit", JITLinker), ("cvm", JITLinker), ("c", JITLinker)]
)
def test_config_linker_picks_the_backend_of_fast_run(name, linker):
    with config.change_flags(linker=name):
        assert isinstance(get_mode("FAST_RUN").linker, linker)
    assert isinstance(Mode(name).linker, linker)


def test_an_unknown_linker_is_refused():
    with (
        pytest.raises(ValueError, match="config.linker must be one of"),
        config.change_flags(linker="llvm"),
    ):
        pass


def test_without_a_compiler_fast_run_runs_on_the_reference_and_says_so_once():
    code = textwrap.dedent("""
        import warnings, numpy as np, arignote, arignote.tensor as T
        warnings.simplefilter("always")
        x = T.vector("x")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            f = arignote.function([x], T.exp(x) + 1)
            g = arignote.function([x], T.sin(x) * 2)
        assert np.allclose(f(np.zeros(3)), 2) and np.allclose(g(np.zeros(3)), 0)
        print(type(f.maker.mode.linker).__name__)
        for w in caught:
            print("WARNING", w.message)
    """)
    env = {**os.environ, "ARIGNOTE_FLAGS": "cxx=", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "PythonLinker"
    warnings_shown = [line for line in lines if line.startswith("WARNING")]
    assert len(warnings_shown) == 1, lines
    assert "reference" in warnings_shown[0] and "config.cxx is empty" in warnings_shown[0]


def test_the_jit_linker_without_a_compiler_runs_every_node_by_perform(monkeypatch):
    monkeypatch.setattr("arignote.link.c.linker._warned", set())
    x = T.vector("x")
    with config.change_flags(cxx=""), pytest.warns(RuntimeWarning, match="unavailable"):
        f = arignote.function([x], T.exp(x) * 2, mode=Mode("jit"))
    np.testing.assert_allclose(f(np.zeros(2)), [2.0, 2.0])
    report = f.program.report
    assert "no C compiler" in report.backend_unavailable
    assert report.nodes and all(n.kind == "fallback" for n in report.nodes)


@requires_compiler
def test_the_report_says_how_every_node_runs():
    x, w = T.matrix("x"), T.vector("w")
    hidden = T.tanh(T.dot(x, w) + 1)
    output = T.sort(hidden) * 2
    f = arignote.function([x, w], output, mode=Mode("jit"))
    value = f(np.ones((3, 2)), np.ones(2))
    np.testing.assert_allclose(value, np.sort(np.tanh(np.ones(3) * 2 + 1)) * 2)
    report = f.program.report
    kinds = {n.kind for n in report.nodes}
    assert kinds == {"kernel", "native", "fallback"}, str(report)
    (sort_node,) = report.fallbacks
    assert "sort" in sort_node.node.lower() and "no compiled lowering" in sort_node.detail
    assert "perform fallbacks" in str(report) and f.maker.program.report is report


@requires_compiler
def test_outputs_are_fresh_arrays_and_inputs_are_never_written():
    x = T.vector("x")
    f = arignote.function([x], [T.exp(x) + 1, T.exp(x) * 2, x * 1])
    value = np.linspace(0, 1, 5)
    kept = value.copy()
    first = f(value)
    second = f(value)
    np.testing.assert_array_equal(value, kept)
    arrays = [value, *first, *second]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert not np.shares_memory(a, b)


@requires_compiler
def test_an_error_in_a_fallback_node_names_the_node():
    x = T.matrix("x")
    f = arignote.function([x], T.exp(T.dot(x, x)), mode=Mode("jit"))
    with pytest.raises(ValueError) as error:
        f(np.ones((2, 3)))
    assert "Apply node that caused the error" in "\n".join(error.value.__notes__)


@requires_compiler
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_still_runs_kernels_after_the_parent_used_threads():
    # GNU OpenMP hangs a forked child that enters a parallel region after its parent did.
    code = textwrap.dedent("""
        import os, numpy as np, arignote, arignote.tensor as T
        from arignote.config import config
        x = T.vector("x")
        with config.change_flags(openmp_threads=2, openmp_elemwise_minsize=1):
            f = arignote.function([x], T.exp(x) * 2 + T.sin(x))
        value = np.linspace(0, 1, 100000)
        expected = f(value)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if np.array_equal(f(value), expected) else 1)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
