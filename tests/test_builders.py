"""OpFromGraph (a graph as one op) and as_op (a NumPy function as one op).

Values are compared with the same formula written in NumPy, gradients with
finite differences (``verify_grad``), pushforwards with finite differences of
the compiled forward function.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.builders import OpFromGraph
from arignote.compile.ops import FromFunctionOp
from arignote.gradient import (
    DisconnectedInputError,
    DisconnectedType,
    NullType,
    NullTypeGradError,
    Rop,
    grad,
    verify_grad,
)
from arignote.graph.traversal import ancestors
from tests.helpers import OpCase, assert_infer_shape, uniform

RNG = np.random.default_rng(17)


def _ofg_of_two(x, y):
    """A two-input OpFromGraph built on inputs of the call's own types."""
    a, b = x.type.make_variable("a"), y.type.make_variable("b")
    return OpFromGraph([a, b], [T.exp(a) * b + a**2], name="exp_mul")(x, y)


def _ofg_with_reduction(x):
    m = x.type.make_variable("m")
    return OpFromGraph([m], [T.tanh(m) - m.sum(axis=0)])(x)


@arignote.as_op(
    itypes=[T.dmatrix],
    otypes=[T.dmatrix],
    infer_shape=lambda node, shapes: [shapes[0]],
)
def cumulative_rows(x):
    return np.cumsum(x, axis=1)


CASES = [
    OpCase(
        "opfromgraph_two_inputs",
        _ofg_of_two,
        lambda x, y: np.exp(x) * y + x**2,
        (uniform(-2, 2), uniform(-2, 2)),
        (("float64", "float64"), ("float32", "float32")),
        (((3, 4), (3, 4)), ((1, 4), (1, 4)), ((0, 2), (0, 2)), ((), ())),
        grad=True,
    ),
    OpCase(
        "opfromgraph_reduction",
        _ofg_with_reduction,
        lambda x: np.tanh(x) - x.sum(axis=0),
        (uniform(-2, 2),),
        (("float64",), ("float32",)),
        (((3, 4),), ((0, 3),), ((4, 1),)),
        grad=True,
    ),
    OpCase(
        "as_op_cumsum",
        cumulative_rows,
        lambda x: np.cumsum(x, axis=1),
        (uniform(-2, 2),),
        (("float64",),),
        (((3, 4),), ((0, 2),), ((2, 1),)),
    ),
]


def test_table_rows_build_the_ops():
    x = T.matrix("x")
    assert isinstance(_ofg_with_reduction(x).owner.op, OpFromGraph)
    assert isinstance(cumulative_rows(x).owner.op, FromFunctionOp)


# ---- OpFromGraph: values ----------------------------------------------------------------------
def test_theano_example_with_several_outputs_and_reuse():
    x, y, z = T.scalars("x", "y", "z")
    op = OpFromGraph([x, y, z], [x + y * z, x * y])
    a, b, c = T.scalars("a", "b", "c")
    first, second = op(a, b, c)
    total = first + op(c, b, a)[0] + second
    got = arignote.function([a, b, c], total)(1.0, 2.0, 3.0)
    assert got == pytest.approx((1 + 2 * 3) + (3 + 2 * 1) + 1 * 2)
    assert first.owner is second.owner


def test_shared_variables_are_implicit_inputs_read_at_run_time():
    weights = arignote.shared(np.array([1.0, 2.0]), name="weights")
    v = T.vector("v")
    op = OpFromGraph([v], [(v * weights).sum()])
    x = T.vector("x")
    out = op(x)
    assert weights in out.owner.inputs
    function = arignote.function([x], [out, grad(out, weights)])
    value, gradient = function(np.array([3.0, 4.0]))
    assert value == 11.0
    np.testing.assert_array_equal(gradient, [3.0, 4.0])
    weights.set_value(np.array([-1.0, 0.0]))
    assert function(np.array([3.0, 4.0]))[0] == -3.0


def test_constants_and_unused_inputs_in_the_inner_graph():
    x, unused = T.vector("x"), T.scalar("unused")
    op = OpFromGraph([x, unused], [x * 2.5 + T.constant(np.array([1.0, -1.0]))])
    a = T.vector("a")
    np.testing.assert_allclose(op(a, 7.0).eval({a: np.array([2.0, 2.0])}), [6.0, 4.0])
    with pytest.raises(DisconnectedInputError):
        grad(op(a, T.scalar("s")).sum(), T.scalar("s"))


def test_inputs_must_fit_the_graph_types():
    x = T.matrix("x")
    op = OpFromGraph([x], [x * 2])
    with pytest.raises(TypeError, match="takes 1 inputs, got 2"):
        op(x, x)
    with pytest.raises(TypeError, match="input 0 .* has type .*vector.* built for .*matrix"):
        op(T.vector("v"))
    row = T.row("r")
    assert op(row).owner.inputs[0] is row  # a narrower type is accepted as it is


def test_building_errors_name_the_problem():
    x, y = T.scalars("x", "y")
    with pytest.raises(ValueError, match="depend on .*'y'.*not among the inputs"):
        OpFromGraph([x], [x + y])
    with pytest.raises(TypeError, match="is a constant"):
        OpFromGraph([T.constant(1.0)], [x])
    with pytest.raises(TypeError, match="does not support updates"):
        OpFromGraph([x], [x], updates=[])
    with pytest.raises(ValueError, match="not both"):
        OpFromGraph([x], [x], lop_overrides=lambda *a: a, grad_overrides=lambda *a: a)
    with pytest.raises(TypeError, match="output 0 must be a symbolic Variable"):
        OpFromGraph([x], [1.0])


def test_each_op_is_its_own_and_inline_expands_the_graph():
    x = T.vector("x")
    first, second = OpFromGraph([x], [x * 2]), OpFromGraph([x], [x * 2])
    assert first != second and len({first, second, first}) == 2
    inline = OpFromGraph([x], [T.exp(x) * 2], inline=True)
    a = T.vector("a")
    out = inline(a)
    assert not any(
        v.owner is not None and isinstance(v.owner.op, OpFromGraph) for v in ancestors([out])
    )
    np.testing.assert_allclose(out.eval({a: np.array([0.0, 1.0])}), 2 * np.exp([0.0, 1.0]))
    verify_grad(inline, [RNG.normal(size=3)], rng=RNG)


# ---- OpFromGraph: shapes and connections ---------------------------------------------------
def test_infer_shape_chains_the_inner_ops_and_falls_back_where_one_has_none():
    @arignote.as_op(itypes=[T.dmatrix], otypes=[T.dmatrix])
    def shapeless_cumsum(x):
        return np.cumsum(x, axis=0)

    m, v = T.matrix("m"), T.vector("v")
    op = OpFromGraph([m, v], [T.dot(m, v), shapeless_cumsum(m).T])
    a, b = T.matrix("a"), T.vector("b")
    values = [RNG.normal(size=(3, 4)), RNG.normal(size=4)]
    product, transposed = op(a, b)
    assert_infer_shape(product, [a, b], values)
    assert_infer_shape(transposed, [a, b], values)


def test_connection_pattern_follows_the_inner_graph():
    x, y = T.vector("x"), T.vector("y")
    op = OpFromGraph([x, y], [x * 2, T.cast(y, "int64") + 1, x.shape[0] + 0.0 * x.sum()])
    a, b = T.vector("a"), T.vector("b")
    node = op(a, b)[0].owner
    assert op.connection_pattern(node) == [[True, False, True], [False, True, False]]
    with pytest.raises(DisconnectedInputError):
        grad(op(a, b)[0].sum(), b)


# ---- OpFromGraph: derivatives ---------------------------------------------------------------
def test_second_derivative_through_the_op():
    x = T.scalar("x")
    op = OpFromGraph([x], [T.sin(x) * x])
    a = T.scalar("a")
    second = grad(grad(op(a), a), a)
    value = 0.7
    assert float(second.eval({a: value})) == pytest.approx(
        2 * np.cos(value) - value * np.sin(value), rel=1e-12
    )


def test_gradient_of_several_outputs_and_an_integer_output():
    x, y = T.vector("x"), T.vector("y")
    op = OpFromGraph([x, y], [x * y, T.argmax(x), T.exp(y)])
    a, b = T.vector("a"), T.vector("b")
    prod, index, expo = op(a, b)
    cost = (prod * 3).sum() + expo.sum() + T.cast(index, "float64")
    ga, gb = grad(cost, [a, b])
    av, bv = RNG.normal(size=3), RNG.normal(size=3)
    got_a, got_b = arignote.function([a, b], [ga, gb])(av, bv)
    np.testing.assert_allclose(got_a, 3 * bv, rtol=1e-12)
    np.testing.assert_allclose(got_b, 3 * av + np.exp(bv), rtol=1e-12)


def test_rop_uses_the_inner_graph():
    m = T.matrix("m")
    op = OpFromGraph([m], [T.tanh(m).sum(axis=1)])
    x, v = T.matrix("x"), T.matrix("v")
    jv = Rop(op(x), x, v)
    xv, vv = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    np.testing.assert_allclose(
        jv.eval({x: xv, v: vv}), ((1 - np.tanh(xv) ** 2) * vv).sum(axis=1), rtol=1e-12
    )


def test_grad_overrides_callable_opfromgraph_and_list():
    x, gz = T.vector("x"), T.vector("gz")
    a = T.vector("a")
    av = np.array([1.0, -2.0])

    def doubled(inputs, output_grads):
        return [output_grads[0] * 2]

    by_callable = OpFromGraph([x], [x**2], grad_overrides=doubled)
    np.testing.assert_array_equal(grad(by_callable(a).sum(), a).eval({a: av}), [2.0, 2.0])

    by_op = OpFromGraph([x], [x**2], grad_overrides=OpFromGraph([x, gz], [gz * x * 10]))
    np.testing.assert_array_equal(grad(by_op(a).sum(), a).eval({a: av}), 10 * av)

    y = T.vector("y")
    listed = OpFromGraph([x, y], [x * y], grad_overrides=["default", lambda i, g: g[0] * 0 - 1])
    b = T.vector("b")
    ga, gb = grad(listed(a, b).sum(), [a, b])
    bv = np.array([5.0, 6.0])
    np.testing.assert_array_equal(ga.eval({a: av, b: bv}), bv)
    np.testing.assert_array_equal(gb.eval({a: av, b: bv}), [-1.0, -1.0])


def test_lop_overrides_and_null_or_disconnected_entries():
    x, y = T.vector("x"), T.vector("y")
    a, b = T.vector("a"), T.vector("b")
    av, bv = np.array([1.0, 2.0]), np.array([3.0, 4.0])

    def from_output(inputs, outputs, output_grads):
        return [output_grads[0] * outputs[0], output_grads[0]]

    op = OpFromGraph([x, y], [T.exp(x) + y], lop_overrides=from_output)
    ga = grad(op(a, b).sum(), a)
    np.testing.assert_allclose(ga.eval({a: av, b: bv}), np.exp(av) + bv)

    null = NullType("this op is not differentiable in y").make_variable()
    held = OpFromGraph([x, y], [x * y], grad_overrides=["default", null])
    np.testing.assert_array_equal(grad(held(a, b).sum(), a).eval({a: av, b: bv}), bv)
    with pytest.raises(NullTypeGradError, match="not differentiable in y"):
        grad(held(a, b).sum(), b)
    cut = OpFromGraph([x, y], [x * y], grad_overrides=["default", DisconnectedType()()])
    with pytest.raises(DisconnectedInputError):
        grad(cut(a, b).sum(), b)
    with pytest.raises(ValueError, match="has 1 entries for 2 inputs"):
        grad(OpFromGraph([x, y], [x * y], grad_overrides=["default"])(a, b).sum(), a)


def test_rop_overrides():
    x = T.vector("x")
    op = OpFromGraph([x], [x**2], rop_overrides=lambda inputs, points: [points[0] * 100])
    a, v = T.vector("a"), T.vector("v")
    np.testing.assert_array_equal(
        Rop(op(a), a, v).eval({a: np.ones(2), v: np.array([1.0, 2.0])}), [100.0, 200.0]
    )
    listed = OpFromGraph([x], [x**2], rop_overrides=["default"])
    np.testing.assert_array_equal(
        Rop(listed(a), a, v).eval({a: np.array([3.0, 1.0]), v: np.ones(2)}), [6.0, 2.0]
    )
