"""The checking mode: silent and transparent with correct rewrites, naming a wrong one.

Wrong rewrites are registered into the ``canonicalize`` database under
unique names for one test and removed after it (``_registered``). The
pytest option is tested in a subprocess running a one-test file.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.debugmode import BadOptimization, DebugMode, value_difference
from arignote.compile.mode import Mode, get_mode
from arignote.config import config
from arignote.graph.rewriting.basic import node_rewriter
from arignote.graph.rewriting.stages import canonicalize
from arignote.link.python.linker import PythonLinker
from arignote.scalar import math as scalar_math
from arignote.scalar.composite import Composite
from arignote.tensor.assertions import Assert
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.shape import specify_shape
from arignote.tensor.type import TensorType

ROOT = Path(__file__).resolve().parents[1]


def _elemwise_of(node, scalar_op_class) -> bool:
    return isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, scalar_op_class)


@node_rewriter([Elemwise])
def debug_test_wrong_exp(fgraph, node):
    """Wrong on purpose: exp(x) -> x + 1."""
    if _elemwise_of(node, scalar_math.Exp):
        return [node.inputs[0] + np.asarray(1, dtype=node.inputs[0].dtype)]
    return None


@node_rewriter([Elemwise])
def debug_test_wrong_abs(fgraph, node):
    """Wrong on purpose, but only for negative inputs: abs(x) -> x."""
    if _elemwise_of(node, scalar_math.Abs):
        return [node.inputs[0]]
    return None


@node_rewriter([Elemwise])
def debug_test_double_neg(fgraph, node):
    """Correct: -(-x) -> x."""
    if _elemwise_of(node, scalar_math.Neg):
        inner = node.inputs[0].owner
        if inner is not None and _elemwise_of(inner, scalar_math.Neg):
            return [inner.inputs[0]]
    return None


@node_rewriter([Elemwise])
def debug_test_wrong_tanh(fgraph, node):
    """Wrong on purpose: tanh(x) -> x + x[:5] (raises unless x has 5 elements)."""
    if _elemwise_of(node, scalar_math.Tanh):
        x = node.inputs[0]
        return [x + specify_shape(x, (5,))]
    return None


@node_rewriter([Assert])
def debug_test_drop_assert(fgraph, node):
    """Wrong on purpose: drops the check."""
    return [node.inputs[0]]


@contextlib.contextmanager
def _registered(*rewriters):
    """Register node rewriters into canonicalize (by their names) for one block."""
    for rewriter in rewriters:
        canonicalize.register(rewriter.name, rewriter, "fast_run")
    try:
        yield
    finally:
        for rewriter in rewriters:
            del canonicalize.entries[rewriter.name]


def _vector(rng, n=4, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=n)


# ---- naming the wrong rewrite ----------------------------------------------------------
def test_wrong_rewrite_is_named_with_output_difference_and_input_shapes():
    x = T.matrix("x")
    with _registered(debug_test_wrong_exp):
        f = arignote.function([x], [T.tanh(x).sum(), (T.exp(x) * 2).sum(axis=0)], mode="DEBUG")
        with pytest.raises(BadOptimization) as info:
            f(np.ones((2, 3)))
    message = str(info.value)
    assert info.value.rewrite == "debug_test_wrong_exp" and info.value.output == 1
    assert "rewrite 'debug_test_wrong_exp'" in message
    assert "output 1" in message
    # exp(1)*2*2 summed over 2 rows is 10.87; (1 + 1)*2*2 is 8.
    assert "max |difference| 2.87" in message
    assert "x: float64 (2, 3)" in message
    assert "mode.excluding('debug_test_wrong_exp')" in message


@pytest.mark.parametrize(
    "build",
    [
        # the correct rewrite fires before the wrong one, and after it
        lambda x: (
            T.exp(T.neg(T.neg(x))) + T.exp(T.neg(T.neg(x))) + T.constant(2.0) * T.constant(3.0)
        ),
        lambda x: T.neg(T.neg(T.exp(x))) * (T.constant(1.0) + T.constant(1.0)),
    ],
    ids=["correct_first", "wrong_first"],
)
def test_bisection_picks_the_wrong_rewrite_among_correct_ones(build):
    x = T.vector("x")
    with _registered(debug_test_double_neg, debug_test_wrong_exp):
        f = arignote.function([x], build(x), mode="DEBUG")
        with pytest.raises(BadOptimization, match="rewrite 'debug_test_wrong_exp'") as info:
            f(_vector(np.random.default_rng(0)))
    assert "Without it the results agree" in str(info.value)


def test_correct_rewrites_alone_are_silent():
    x = T.vector("x")
    with _registered(debug_test_double_neg):
        f = arignote.function([x], T.exp(T.neg(T.neg(x))) * 2, mode="DEBUG")
        values = _vector(np.random.default_rng(1))
        np.testing.assert_allclose(f(values), np.exp(values) * 2)
    assert not any(_elemwise_of(n, scalar_math.Neg) for n in f.maker.fgraph.apply_nodes)


def test_every_call_is_checked():
    x = T.vector("x")
    with _registered(debug_test_wrong_abs):
        f = arignote.function([x], abs(x) * 3, mode="DEBUG")
        positive = _vector(np.random.default_rng(2), low=0.5, high=2.0)
        np.testing.assert_allclose(f(positive), positive * 3)
        with pytest.raises(BadOptimization, match="debug_test_wrong_abs"):
            f(-positive)


def test_updates_are_checked_and_left_alone_on_mismatch():
    w = arignote.shared(np.linspace(0.0, 1.0, 3), name="w")
    with _registered(debug_test_wrong_exp):
        f = arignote.function([], [], updates={w: T.exp(w)}, mode="DEBUG")
        with pytest.raises(BadOptimization, match="debug_test_wrong_exp") as info:
            f()
    assert info.value.output == 0
    np.testing.assert_array_equal(w.get_value(), np.linspace(0.0, 1.0, 3))


def test_rewrite_that_makes_the_graph_raise_is_named():
    x = T.vector("x")
    with _registered(debug_test_wrong_tanh):
        f = arignote.function([x], T.tanh(x) * 2, mode="DEBUG")
        with pytest.raises(BadOptimization, match="debug_test_wrong_tanh") as info:
            f(_vector(np.random.default_rng(3), n=3))
    assert "changed the result of the call: the rewritten graph raises" in str(info.value)
    assert info.value.output is None and info.value.__cause__ is not None


def test_rewrite_that_removes_an_error_is_named():
    x = T.vector("x")
    checked = Assert("x must be positive")(x, T.all(x > 0))
    with _registered(debug_test_drop_assert):
        f = arignote.function([x], checked * 2, mode="DEBUG")
        np.testing.assert_allclose(f([1.0, 2.0]), [2.0, 4.0])
        with pytest.raises(BadOptimization, match="debug_test_drop_assert") as info:
            f([-1.0, 2.0])
    assert "the unrewritten graph raises AssertionError: x must be positive" in str(info.value)


def test_both_graphs_raising_is_the_callers_error():
    x = T.vector("x")
    f = arignote.function([x], Assert("x must be positive")(x, T.all(x > 0)), mode="DEBUG")
    with pytest.raises(AssertionError, match="x must be positive"):
        f([-1.0])


class _OffByOneLinker(PythonLinker):
    """A broken backend: every float output comes out 1 too large."""

    def make_program(self, fgraph):
        program = super().make_program(fgraph)
        return lambda values: [v + 1 if v.dtype.kind == "f" else v for v in program(values)]


def test_a_disagreement_no_rewrite_explains_blames_no_rewrite():
    x = T.vector("x")
    f = arignote.function([x], T.exp(x) * 2, mode=DebugMode(linker=_OffByOneLinker()))
    with pytest.raises(BadOptimization, match="No single rewrite explains it") as info:
        f([0.0, 1.0])
    assert info.value.rewrite is None


# ---- transparent with correct rewrites ---------------------------------------------------
def test_returns_the_rewritten_graphs_values():
    x, y = T.vector("x"), T.vector("y")
    out = (T.exp(x) * 2 + y).sum() + T.constant(2.0) * T.constant(3.0)
    rng = np.random.default_rng(4)
    xv, yv = _vector(rng), _vector(rng)
    debug = arignote.function([x, y], out, mode="DEBUG")
    fast = arignote.function([x, y], out, mode="FAST_RUN")
    assert np.array_equal(debug(xv, yv), fast(xv, yv))
    np.testing.assert_allclose(debug(xv, yv), (np.exp(xv) * 2 + yv).sum() + 6)
    ops = [node.op for node in debug.maker.fgraph.toposort()]
    assert any(isinstance(getattr(op, "scalar_op", None), Composite) for op in ops) or any(
        type(op).__name__ == "ElemwiseReduce" for op in ops
    )


def test_stabilised_values_are_accepted_where_the_naive_graph_overflows():
    t = TensorType("float64", shape=(None,))
    assert value_difference(t, np.array([np.inf, -np.inf]), np.array([710.0, -3.0])) is None


# ---- names, aliases and the query ------------------------------------------------------
@pytest.mark.parametrize("name", ["DEBUG", "DebugMode", "DEBUG_MODE"])
def test_mode_names(name):
    assert isinstance(get_mode(name), DebugMode)
    with config.change_flags(mode=name):
        x = T.vector("x")
        assert isinstance(arignote.function([x], x * 2).maker.mode, DebugMode)


def test_refining_a_debug_mode_keeps_it_checking():
    mode = DebugMode().excluding("debug_test_wrong_exp").including("fast_run")
    assert isinstance(mode, DebugMode) and "debug_test_wrong_exp" in mode.query.exclude
    assert type(Mode().excluding("fusion")) is Mode
    x = T.vector("x")
    with _registered(debug_test_wrong_exp):
        f = arignote.function([x], T.exp(x), mode=mode)
        np.testing.assert_allclose(f([0.0, 1.0]), np.exp([0.0, 1.0]))


# ---- comparing values ------------------------------------------------------------------
F64 = TensorType("float64", shape=(None,))
F32 = TensorType("float32", shape=(None,))
I64 = TensorType("int64", shape=(None,))
B = TensorType("bool", shape=(None,))
C128 = TensorType("complex128", shape=(None,))

AGREE = [
    (F64, [1.0, np.nan, np.inf], [1.0 + 1e-9, np.nan, np.inf]),
    (F64, [1e-20], [2e-20]),  # within atol
    (F32, np.float32([1000.0]), np.float32([1000.005])),
    (I64, [1, 2], [1, 2]),
    (B, [True, False], [True, False]),
    (C128, [1 + 1j], [1 + 1j + 1e-9]),
    (F64, np.zeros((0,)), np.zeros((0,))),
]

DIFFER = [
    (F64, [1.0, 2.0], [1.0, 2.5], "max |difference| 0.5 at index (1,): 2.5"),
    (F64, [1.0, 2.0], [1.0, np.nan], "max |difference| inf at index (1,): nan"),
    (F64, [1.0], [np.inf], "max |difference| inf"),
    (F64, [np.inf], [-np.inf], "-inf where the unrewritten graph gives inf"),
    (F32, np.float32([1.0]), np.float32([1.001]), "at index (0,)"),
    (I64, [1, 2], [1, 3], "max |difference| 1 at index (1,): 3"),
    (B, [True], [False], "False where the unrewritten graph gives True"),
    (F64, [1.0, 2.0], [1.0], "shape (1,) where the unrewritten graph gives (2,)"),
    (F64, [1.0], np.float32([1.0]), "dtype float32 where the unrewritten graph gives float64"),
]


@pytest.mark.parametrize("type_, reference, value", AGREE)
def test_values_that_agree(type_, reference, value):
    assert value_difference(type_, np.asarray(reference), np.asarray(value)) is None


@pytest.mark.parametrize("type_, reference, value, expected", DIFFER)
def test_values_that_differ(type_, reference, value, expected):
    reference = np.asarray(reference, dtype=type_.dtype)
    value = np.asarray(value, dtype=np.asarray(value).dtype if type_ is F64 else type_.dtype)
    assert expected in value_difference(type_, reference, value)


def test_generators_compare_by_state():
    from arignote.tensor.random.type import random_type

    a, b = np.random.default_rng(0), np.random.default_rng(0)
    assert value_difference(random_type, a, b) is None
    b.random()
    assert value_difference(random_type, a, b) is not None


# ---- the pytest option -----------------------------------------------------------------
def _run_pytest(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    test_file = tmp_path / "test_mode_probe.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import arignote, arignote.tensor as T
            from arignote.compile.debugmode import DebugMode

            def test_probe():
                x = T.vector("x")
                assert arignote.config.mode == "DEBUG"
                assert isinstance(arignote.function([x], x * 2).maker.mode, DebugMode)
            """
        )
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", *options]
    return subprocess.run(
        [*command, str(test_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pytest_option_sets_the_mode_for_the_session(tmp_path):
    assert _run_pytest(tmp_path, "--mode=DEBUG").returncode == 0
    without = _run_pytest(tmp_path)
    assert without.returncode == 1 and "assert 'FAST_RUN' == 'DEBUG'" in without.stdout


def test_pytest_option_rejects_an_unknown_mode(tmp_path):
    result = _run_pytest(tmp_path, "--arignote-mode", "FASTEST")  # the long spelling
    assert result.returncode != 0 and "config.mode must be one of" in result.stderr
