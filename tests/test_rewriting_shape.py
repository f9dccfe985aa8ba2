"""The shape feature and the rewrites that use it.

The feature: inferred lengths equal the computed ones (a table of expressions,
evaluated on random inputs, empty and broadcast shapes included); they read
input shapes, not values; static lengths are constants; ops without (or with a
failing, or a recomputing) ``infer_shape`` fall back to ``Shape_i`` of their
output; a pruned variable's dependent shapes are dropped; deep graphs need no
recursion. The rewrites: ``Shape``/``Shape_i`` of computed values no longer
compute the values, and indexing a ``MakeVector`` picks the entry; each is
checked structurally and against the unrewritten graph.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.config import config
from arignote.graph.basic import Apply
from arignote.graph.fg import FunctionGraph
from arignote.graph.op import Op
from arignote.graph.rewriting.basic import RewriteError
from arignote.scalar import math as scalar_math
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.rewriting.shape_feature import (
    ShapeFeature,
    is_shape_i_of,
    known_length,
    lengths_equal,
    shape_feature,
)
from arignote.tensor.shape import MakeVector, Reshape, Shape, Shape_i
from arignote.tensor.type import TensorType

FAST_RUN = Mode(optimizer="fast_run")
UNREWRITTEN = Mode(optimizer=None)
# A rewrite loop ("stopped after too many rewrites") is a warning; here it fails the test.
pytestmark = pytest.mark.filterwarnings("error::UserWarning")


@pytest.fixture(autouse=True)
def _rewrite_errors_raise():
    with config.change_flags(on_opt_error="raise"):
        yield


def _ops(function) -> list:
    return [node.op for node in function.maker.fgraph.toposort()]


def _has_scalar_op(function, scalar_class) -> bool:
    return any(
        isinstance(op, Elemwise) and isinstance(op.scalar_op, scalar_class) for op in _ops(function)
    )


def _ancestors(variables) -> set:
    seen, stack = set(), list(variables)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current.owner is not None:
            stack.extend(current.owner.inputs)
    return seen


# ---- test ops --------------------------------------------------------------------------------
class _NoInferShape(Op):
    """The identity, without ``infer_shape``."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0].copy()


class _BrokenInferShape(_NoInferShape):
    def infer_shape(self, node, input_shapes):
        raise ZeroDivisionError("broken on purpose")


class _RecomputingInferShape(_NoInferShape):
    """Its ``infer_shape`` applies the op again, as ``lstsq``'s residual count does."""

    def infer_shape(self, node, input_shapes):
        again = _RecomputingInferShape()(node.inputs[0])
        return [tuple(T.exp(again).sum().astype("int64") * 0 + n for n in input_shapes[0])]


# ---- the feature: inferred lengths against computed ones ---------------------------------------
SHAPE_CASES = [
    # name, build(x, y), shapes of x and y
    ("elemwise", lambda x, y: T.exp(x) * y, [(3, 4), (3, 4)]),
    ("broadcast_row", lambda x, y: x + y, [(1, 4), (3, 4)]),
    ("empty", lambda x, y: T.log(x) - y, [(0, 4), (0, 4)]),
    ("dot", lambda x, y: T.dot(x, y.T), [(3, 4), (5, 4)]),
    ("sum_axis", lambda x, y: (x * y).sum(axis=1), [(3, 4), (3, 4)]),
    ("reshape_minus_one", lambda x, y: T.reshape(x, (2, -1)) * 2, [(3, 4), (1, 1)]),
    ("reshape_symbolic", lambda x, y: T.reshape(x, (y.shape[1], -1)), [(3, 4), (1, 6)]),
    ("subtensor", lambda x, y: x[1:, ::2] + 1, [(3, 5), (1, 1)]),
    ("subtensor_symbolic", lambda x, y: x[: y.shape[1]], [(5, 2), (1, 3)]),
    ("alloc", lambda x, y: T.alloc(T.exp(x), y.shape[0], 3, 4), [(3, 4), (2, 1)]),
    ("dimshuffle", lambda x, y: T.exp(x).dimshuffle(1, "x", 0), [(3, 4), (1, 1)]),
    ("join", lambda x, y: T.concatenate([x, y], axis=0), [(3, 4), (2, 4)]),
    ("outer_products", lambda x, y: T.outer(x.sum(axis=0), y.sum(axis=1)), [(3, 4), (2, 5)]),
]


@pytest.mark.parametrize("name, build, shapes", SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_inferred_lengths_equal_the_computed_ones(name, build, shapes):
    rng = np.random.default_rng(len(name))
    values = [rng.uniform(0.5, 2.0, size=shape) for shape in shapes]
    x, y = (
        TensorType("float64", shape=[1 if n == 1 else None for n in s])(n)
        for s, n in zip(shapes, "xy")
    )
    output = build(x, y)
    fgraph = FunctionGraph([x, y], [output], clone=False)
    lengths = shape_feature(fgraph).shape_of(output)
    assert all(length.type == TensorType("int64", shape=()) for length in lengths)
    computed = arignote.function(
        [x, y], [output, *lengths], mode=UNREWRITTEN, on_unused_input="ignore"
    )(*values)
    assert tuple(int(n) for n in computed[1:]) == computed[0].shape


def test_lengths_read_input_shapes_not_values():
    y = T.matrix("y")
    output = T.exp(T.log(y) + 1).sum(axis=0)
    fgraph = FunctionGraph([y], [output], clone=False)
    (length,) = shape_feature(fgraph).shape_of(output)
    assert is_shape_i_of(length, y, 1)
    assert not any(
        isinstance(v.owner.op, Elemwise) for v in _ancestors([length]) if v.owner is not None
    )


def test_static_lengths_are_constants_and_known():
    x = T.tensor("float64", shape=(3, None, 1), name="x")
    fgraph = FunctionGraph([x], [T.exp(x)], clone=False)
    lengths = shape_feature(fgraph).shape_of(fgraph.outputs[0])
    assert [known_length(n) for n in lengths] == [3, None, 1]
    assert is_shape_i_of(lengths[1], x, 1)
    constant = T.constant(np.zeros((2, 5)))
    assert [known_length(n) for n in shape_feature(fgraph).shape_of(constant)] == [2, 5]


def test_the_graphs_own_shape_i_node_is_reused():
    x = T.matrix("x")
    own = Shape_i(1)(x)
    fgraph = FunctionGraph([x], [own * 2, T.exp(x)], clone=False)
    assert shape_feature(fgraph).shape_of(fgraph.outputs[1])[1] is own


def test_a_feature_serves_one_graph_and_detaches_cleanly():
    x = T.vector("x")
    first = FunctionGraph([x], [T.exp(x)], clone=False)
    feature = shape_feature(first)
    assert shape_feature(first) is feature and first.shape_feature is feature
    with pytest.raises(ValueError, match="serves one FunctionGraph"):
        FunctionGraph([x], [T.log(x)], clone=False).attach_feature(feature)
    first.remove_feature(feature)
    assert not hasattr(first, "shape_feature") and feature.fgraph is None


@pytest.mark.parametrize("op_class", [_NoInferShape, _RecomputingInferShape])
def test_ops_without_usable_infer_shape_fall_back_to_their_output(op_class):
    x = T.matrix("x")
    made = op_class()(T.exp(x))
    output = T.log(made)
    fgraph = FunctionGraph([x], [output], clone=False)
    lengths = shape_feature(fgraph).shape_of(output)
    assert all(is_shape_i_of(n, made, axis) for axis, n in enumerate(lengths))


def test_a_failing_infer_shape_is_reported_and_falls_back():
    x = T.matrix("x")
    made = _BrokenInferShape()(x)
    fgraph = FunctionGraph([x], [made], clone=False)
    with pytest.raises(RewriteError, match=r"shape_feature failed .*ZeroDivisionError"):
        shape_feature(fgraph).shape_of(made)
    with config.change_flags(on_opt_error="warn"):
        fgraph = FunctionGraph([x], [made], clone=False)
        with pytest.warns(UserWarning, match="broken on purpose"):
            lengths = shape_feature(fgraph).shape_of(made)
    assert is_shape_i_of(lengths[0], made, 0)


def test_shapes_reading_a_pruned_variable_are_dropped():
    y = T.matrix("y")
    hidden = _NoInferShape()(y)
    output = T.exp(hidden)
    fgraph = FunctionGraph([y], [output], clone=False)
    feature = shape_feature(fgraph)
    assert is_shape_i_of(feature.shape_of(output)[0], hidden, 0)
    fgraph.replace(hidden, y, reason="test")
    assert hidden not in fgraph.variables
    (length, _) = feature.shape_of(output)
    assert is_shape_i_of(length, y, 0)
    assert hidden not in _ancestors([length])


def test_deep_graphs_need_no_recursion():
    x = T.vector("x")
    output = x
    for _ in range(3000):
        output = T.exp(output)
    fgraph = FunctionGraph([x], [output], clone=False)
    (length,) = shape_feature(fgraph).shape_of(output)
    assert is_shape_i_of(length, x, 0)


def test_lengths_equal():
    x = T.matrix("x")
    assert lengths_equal(Shape_i(0)(x), Shape_i(0)(x))
    assert not lengths_equal(Shape_i(0)(x), Shape_i(1)(x))
    assert lengths_equal(T.constant(np.int64(3)), T.constant(np.int8(3)))
    assert not lengths_equal(T.constant(np.int64(3)), Shape_i(0)(x))
    static = T.tensor("float64", shape=(3, None))
    assert lengths_equal(Shape_i(0)(static), T.constant(np.int64(3)))


# ---- rewrites ----------------------------------------------------------------------------------
def test_the_length_of_a_computed_value_does_not_compute_it():
    y = T.matrix("y")
    x = T.exp(y)
    f = arignote.function([y], x.shape[0] * 2, mode=FAST_RUN)
    assert not _has_scalar_op(f, scalar_math.Exp)
    assert int(f(np.ones((3, 4)))) == 6
    kept = arignote.function([y], x.shape[0] * 2, mode=FAST_RUN.excluding("local_track_shape_i"))
    assert _has_scalar_op(kept, scalar_math.Exp)


def test_shape_of_a_computed_value_becomes_a_make_vector_of_input_lengths():
    y = T.matrix("y")
    output = T.dot(T.exp(y), T.log(y).T).shape
    f = arignote.function([y], output, mode=FAST_RUN)
    ops = _ops(f)
    assert any(isinstance(op, MakeVector) for op in ops)
    assert not any(isinstance(op, Shape) for op in ops)
    assert not _has_scalar_op(f, (scalar_math.Exp, scalar_math.Log))
    value = np.ones((3, 4))
    np.testing.assert_array_equal(f(value), [3, 3])


def test_shape_of_an_input_is_left_alone_and_static_shapes_fold():
    y = T.matrix("y")
    f = arignote.function([y], y.shape, mode=FAST_RUN)
    assert [type(op) for op in _ops(f)] == [Shape]
    partly = T.tensor("float64", shape=(3, None), name="p")
    f = arignote.function([partly], partly.shape, mode=FAST_RUN)
    assert [type(op) for op in _ops(f)] == [Shape]
    np.testing.assert_array_equal(f(np.ones((3, 7))), [3, 7])
    static = T.tensor("float64", shape=(2, 5), name="s")
    f = arignote.function([static], T.exp(static).shape, mode=FAST_RUN)
    assert _ops(f) == []
    np.testing.assert_array_equal(f(np.ones((2, 5))), [2, 5])
    f = arignote.function([static], Shape_i(1)(T.exp(static)) + 0, mode=FAST_RUN)
    assert _ops(f) == [] and int(f(np.ones((2, 5)))) == 5


def test_lengths_of_reshape_and_alloc_come_from_their_arguments():
    x = T.matrix("x")
    n = T.lscalar("n")
    reshaped = T.reshape(T.exp(x), (n, -1))
    allocated = T.alloc(T.log(x).sum(), n, 3)
    f = arignote.function([x, n], [reshaped.shape[1], allocated.shape[0]], mode=FAST_RUN)
    ops = _ops(f)
    assert not any(isinstance(op, Reshape) for op in ops)
    assert not _has_scalar_op(f, (scalar_math.Exp, scalar_math.Log))
    assert [int(v) for v in f(np.ones((3, 4)), 6)] == [2, 6]


def test_indexing_a_make_vector_picks_the_entry():
    a, b, c = T.lscalar("a"), T.lscalar("b"), T.lscalar("c")
    vector = MakeVector("int64")(a, b, c)
    f = arignote.function([a, b, c], [vector[1], vector[-3], vector[1:]], mode=FAST_RUN)
    ops = _ops(f)
    assert [type(op) for op in ops] == [MakeVector]
    assert f.maker.fgraph.outputs[0] is f.maker.fgraph.inputs[1]
    values = f(4, 5, 6)
    assert int(values[0]) == 5 and int(values[1]) == 4
    np.testing.assert_array_equal(values[2], [5, 6])


def test_an_op_that_recomputes_itself_for_its_shape_does_not_loop():
    x = T.matrix("x")
    made = _RecomputingInferShape()(T.exp(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = arignote.function([x], made.shape[0] + T.ones_like(made).sum(), mode=FAST_RUN)
    recomputing = [op for op in _ops(f) if isinstance(op, _RecomputingInferShape)]
    assert len(recomputing) == 1
    assert int(f(np.ones((3, 2)))) == 9


def test_a_feature_attached_by_hand_is_used():
    x = T.vector("x")
    feature = ShapeFeature()
    fgraph = FunctionGraph([x], [T.exp(x)], clone=False, features=[feature])
    assert shape_feature(fgraph) is feature
