"""Gradient utilities: Lop, Rop, jacobian, hessian, subgraph_grad and the gradient-shaping ops.

Expected values come from NumPy: finite differences of the compiled forward
function, Jacobians and Hessians written out by hand, or the adjoint identity
``<J v, u> = <v, J^T u>`` between forward and reverse mode.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.builders import OpFromGraph
from arignote.gradient import (
    DisconnectedGrad,
    DisconnectedInputError,
    DisconnectedType,
    GradClip,
    GradScale,
    JacobianRows,
    Lop,
    NullTypeGradError,
    Rop,
    ZeroGrad,
    consider_constant,
    disconnected_grad,
    grad,
    grad_clip,
    grad_scale,
    hessian,
    jacobian,
    subgraph_grad,
    zero_grad,
)
from arignote.graph.traversal import ancestors
from arignote.tensor.assertions import assert_op
from arignote.tensor.nnet import softmax
from tests.helpers import OpCase, uniform, variable_for

RNG = np.random.default_rng(31)
FLOATS = (("float64",), ("float32",))
IDENTITY_LAYOUTS = (((3, 4),), ((1, 5),), ((0, 3),), ((),))


def identity(x):
    return x


def diagonal_jacobian_of_squares(x):
    return np.diag(2 * x)


CASES = [
    OpCase("zero_grad", zero_grad, identity, (uniform(-2, 2),), FLOATS, IDENTITY_LAYOUTS),
    OpCase(
        "disconnected_grad",
        disconnected_grad,
        identity,
        (uniform(-2, 2),),
        FLOATS,
        IDENTITY_LAYOUTS,
    ),
    # Bounds wider than any gradient on the domain: the clip is inactive, so finite
    # differences must agree with the symbolic gradient.
    OpCase(
        "grad_clip_inactive",
        lambda x: grad_clip(x, -10.0, 10.0) * x,
        lambda x: x * x,
        (uniform(-2, 2),),
        FLOATS,
        IDENTITY_LAYOUTS,
        grad=True,
    ),
    OpCase(
        "grad_scale",
        lambda x: grad_scale(x, 0.5),
        identity,
        (uniform(-2, 2),),
        FLOATS,
        IDENTITY_LAYOUTS,
    ),
    OpCase(
        "jacobian_run_time_length",
        lambda x: jacobian(x**2, x),
        diagonal_jacobian_of_squares,
        (uniform(-2, 2),),
        FLOATS,
        (((4,),), ((1,),), ((0,),)),
    ),
]


def test_table_builds_the_ops_it_claims():
    built = {
        type(case.build(*[variable_for(np.zeros(s)) for s in case.layouts[0]]).owner.op)
        for case in CASES
    }
    assert {ZeroGrad, DisconnectedGrad, GradScale, JacobianRows} <= built
    assert isinstance(grad_clip(T.vector(), -1.0, 1.0).owner.op, GradClip)


# ---- the gradient-shaping ops ------------------------------------------------------------
def _gradient_through(wrap, value, weights):
    """d/dx sum(weights * wrap(x) * 1) evaluated at ``value``: the gradient ``wrap`` lets out."""
    x = T.vector("x")
    return grad((weights * wrap(x)).sum(), x).eval({x: value})


VALUE = np.array([0.5, -1.5, 2.0, -0.25])
WEIGHTS = np.array([3.0, -4.0, 0.1, 1.0])


@pytest.mark.parametrize(
    "wrap, expected",
    [
        (zero_grad, np.zeros(4)),
        (consider_constant, np.zeros(4)),
        (lambda x: grad_clip(x, -1.0, 2.0), np.clip(WEIGHTS, -1.0, 2.0)),
        (lambda x: grad_scale(x, -3.0), -3.0 * WEIGHTS),
        (lambda x: grad_scale(x, T.constant(0.25)), 0.25 * WEIGHTS),
    ],
    ids=["zero_grad", "consider_constant", "grad_clip", "grad_scale", "grad_scale_symbolic"],
)
def test_gradient_that_each_op_lets_through(wrap, expected):
    x = T.vector("x")
    # Forward: the identity, for any of them.
    np.testing.assert_array_equal(wrap(x).eval({x: VALUE}), VALUE)
    np.testing.assert_allclose(_gradient_through(wrap, VALUE, WEIGHTS), expected, rtol=1e-12)


def test_zero_grad_keeps_the_other_paths():
    x = T.vector("x")
    got = grad((x**2 * zero_grad(x)).sum(), x).eval({x: VALUE})
    np.testing.assert_allclose(got, 2 * VALUE * VALUE, rtol=1e-12)


def test_disconnected_grad_cuts_the_only_path():
    x = T.vector("x")
    with pytest.raises(DisconnectedInputError, match="does not depend on"):
        grad(disconnected_grad(x).sum(), x)
    got = grad((x * disconnected_grad(x)).sum(), x).eval({x: VALUE})
    np.testing.assert_allclose(got, VALUE, rtol=1e-12)
    assert isinstance(
        grad(
            disconnected_grad(x).sum(),
            x,
            disconnected_inputs="ignore",
            return_disconnected="Disconnected",
        ).type,
        DisconnectedType,
    )


def test_grad_clip_and_scale_keep_float32_gradients():
    x = T.fvector("x")
    for wrapped in (grad_clip(x, -0.5, 0.5), grad_scale(x, 0.1)):
        gradient = grad((wrapped * 3).sum(), x)
        assert gradient.dtype == "float32"
    np.testing.assert_allclose(
        grad((grad_scale(x, 0.1) * 3).sum(), x).eval({x: np.ones(2, "float32")}),
        [0.3, 0.3],
        rtol=1e-6,
    )


def test_grad_clip_bounds_are_checked_and_ops_compare_by_bounds():
    with pytest.raises(ValueError, match="lower bound 1.0 is above the upper bound -1.0"):
        grad_clip(T.vector(), 1.0, -1.0)
    assert GradClip(-1.0, 1.0) == GradClip(-1.0, 1.0)
    assert GradClip(-1.0, 1.0) != GradClip(-1.0, 2.0)
    assert GradScale(2.0) == GradScale(2.0) and GradScale(2.0) != GradScale(3.0)
    assert ZeroGrad() == ZeroGrad() and ZeroGrad() != DisconnectedGrad()


def test_second_derivative_through_grad_scale():
    x = T.scalar("x")
    first = grad(grad_scale(x, 2.0) ** 3, x)  # 2 * 3 s(x)^2, with s the scaled identity
    second = grad(first, x)  # 2 * 6 s(x) * 2: the scale applies again on the way back
    assert float(second.eval({x: 1.5})) == pytest.approx(24 * 1.5, rel=1e-12)


# ---- consider_constant in grad --------------------------------------------------------------
def test_grad_with_respect_to_a_variable_held_constant_is_its_own_gradient():
    x = T.vector("x")
    y = T.tanh(x)
    cost = (y**2).sum()
    gy, gx = grad(cost, [y, x], consider_constant=[y], disconnected_inputs="ignore")
    np.testing.assert_allclose(gy.eval({x: VALUE}), 2 * np.tanh(VALUE), rtol=1e-12)
    np.testing.assert_allclose(gx.eval({x: VALUE}), np.zeros(4))


# ---- Lop ------------------------------------------------------------------------------------
def test_lop_is_the_transposed_jacobian_times_the_cotangent():
    a = RNG.normal(size=(3, 4))
    x, u = T.vector("x"), T.vector("u")
    y = T.tanh(T.dot(a, x))
    xv, uv = RNG.normal(size=4), RNG.normal(size=3)
    expected = a.T @ (uv * (1 - np.tanh(a @ xv) ** 2))
    np.testing.assert_allclose(Lop(y, x, u).eval({x: xv, u: uv}), expected, rtol=1e-12)
    # Lists in, list out; several expressions add up.
    w = T.vector("w")
    (gx, gw) = Lop([y, (x * w).sum()], [x, w], [u, T.constant(2.0)])
    wv = RNG.normal(size=4)
    values = {x: xv, u: uv, w: wv}
    np.testing.assert_allclose(gx.eval(values), expected + 2 * wv, rtol=1e-12)
    np.testing.assert_allclose(gw.eval(values), 2 * xv, rtol=1e-12)
    assert isinstance(Lop(y, (x,), u), tuple)


def test_lop_needs_one_cotangent_per_expression():
    x = T.vector("x")
    with pytest.raises(ValueError, match="2 expressions but 1 eval_points"):
        Lop([x * 2, x * 3], x, [T.vector()])


# ---- Rop ------------------------------------------------------------------------------------
C_34 = RNG.normal(size=(4, 5))


def _ofg_expression(x):
    m = T.matrix("m")
    return OpFromGraph([m], [T.sin(m) * m.sum(axis=0)])(x)


ROP_CASES = {
    "elemwise": lambda x: T.tanh(x) * T.exp(-(x**2)),
    "broadcast_sum": lambda x: x * x.sum(axis=0),
    "transpose": lambda x: x.T * 2,
    "dot_constant": lambda x: T.dot(x, C_34),
    "dot_self": lambda x: T.dot(x, x.T),
    "softmax": softmax,
    "subtensor": lambda x: x[1:, ::2] ** 2,
    "set_subtensor": lambda x: T.set_subtensor(x[0], T.sin(x[1])),
    "reshape": lambda x: T.reshape(x, (4, 3)) ** 3,
    "join": lambda x: T.concatenate([x, x**2], axis=0),
    "max": lambda x: T.max(x, axis=1),
    "prod": lambda x: T.prod(x, axis=0),
    "opfromgraph": _ofg_expression,
    # Bounds that never bite: the pullback is then the true one, as the identity needs.
    "grad_clip_and_assert": lambda x: assert_op(grad_clip(x, -99.0, 99.0), T.all(x > -9)) ** 2,
}


def _forward_and_both_modes(build, value):
    x = variable_for(value, "x")
    y = build(x)
    v, u = x.type.make_variable("v"), y.type.make_variable("u")
    function = arignote.function([x, v, u], [y, Rop(y, x, v), Lop(y, x, u)])
    forward = arignote.function([x], y)
    return function, forward


@pytest.mark.parametrize("name", list(ROP_CASES))
def test_rop_matches_finite_differences_and_the_adjoint_identity(name):
    rng = np.random.default_rng(len(name))
    xv = rng.uniform(-1.5, 1.5, size=(3, 4))
    function, forward = _forward_and_both_modes(ROP_CASES[name], xv)
    vv = rng.normal(size=xv.shape)
    yv = forward(xv)
    uv = rng.normal(size=yv.shape)
    _, jv, jtu = function(xv, vv, uv)
    eps = 1e-6
    numeric = (forward(xv + eps * vv) - forward(xv - eps * vv)) / (2 * eps)
    np.testing.assert_allclose(jv, numeric, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.sum(jv * uv), np.sum(vv * jtu), rtol=1e-10)


def test_rop_with_several_inputs_outputs_and_broadcast_tangents():
    x, w = T.matrix("x"), T.row("w")
    y1, y2 = T.exp(x) * w, (x * w).sum()
    vx, vw = T.matrix("vx"), T.matrix("vw")  # vw is declared wider than w
    jv1, jv2 = Rop([y1, y2], [x, w], [vx, vw])
    xv, wv = RNG.normal(size=(2, 3)), RNG.normal(size=(1, 3))
    vxv, vwv = RNG.normal(size=(2, 3)), RNG.normal(size=(1, 3))
    got1, got2 = arignote.function([x, w, vx, vw], [jv1, jv2])(xv, wv, vxv, vwv)
    np.testing.assert_allclose(got1, np.exp(xv) * vxv * wv + np.exp(xv) * vwv, rtol=1e-12)
    np.testing.assert_allclose(got2, np.sum(vxv * wv + xv * vwv), rtol=1e-12)


def test_rop_through_zero_and_disconnected_grad():
    x, v = T.vector("x"), T.vector("v")
    xv, vv = RNG.normal(size=3), RNG.normal(size=3)
    jv = Rop(x * zero_grad(x), x, v)
    np.testing.assert_allclose(jv.eval({x: xv, v: vv}), xv * vv, rtol=1e-12)
    with pytest.raises(DisconnectedInputError, match="does not depend on the wrt"):
        Rop(disconnected_grad(x) * 2, x, v)


def test_rop_of_a_disconnected_output():
    x, z, v = T.vector("x"), T.vector("z"), T.vector("v")
    with pytest.raises(DisconnectedInputError, match="pass disconnected_outputs"):
        Rop(z * 2, x, v)
    zero = Rop(z * 2, x, v, disconnected_outputs="ignore")
    np.testing.assert_array_equal(zero.eval({z: np.ones(3)}), np.zeros(3))
    assert Rop(z * 2, x, v, disconnected_outputs="ignore", return_disconnected="None") is None
    with pytest.warns(UserWarning, match="does not depend"):
        Rop([z], x, v, disconnected_outputs="warn")
    # An integer path carries no tangent.
    assert Rop(T.cast(x, "int64"), x, v, "ignore", "None") is None


def test_rop_of_an_input_is_its_tangent():
    x, v = T.vector("x"), T.vector("v")
    assert Rop(x, x, v) is v
    # A float64 tangent of a float32 variable is cast, so every tangent has its variable's type.
    y = T.fvector("y")
    tangent = Rop(y * 2, y, v)
    assert tangent.dtype == "float32"
    np.testing.assert_allclose(
        tangent.eval({y: np.zeros(2, "float32"), v: np.array([1.0, 2.0])}), [2.0, 4.0]
    )


def test_rop_argument_errors():
    x = T.matrix("x")
    with pytest.raises(ValueError, match=r"Rop: eval_points\[0\] gave a gradient of 1 dimensions"):
        Rop(x * 2, x, T.vector())
    with pytest.raises(ValueError, match="2 wrt variables but 1 eval_points"):
        Rop(x * 2, [x, x], [x])
    with pytest.raises(TypeError, match=r"wrt\[0\] must be a symbolic Variable"):
        Rop(x * 2, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="disconnected_outputs must be"):
        Rop(x, x, x, disconnected_outputs="nope")


def test_rop_through_an_op_without_any_derivative_names_it():
    @arignote.as_op(itypes=[T.dvector], otypes=[T.dvector])
    def cumulative(values):
        return np.cumsum(values)

    x, v = T.dvector("x"), T.dvector("v")
    with pytest.raises(NullTypeGradError, match="cannot push a tangent through cumulative"):
        Rop(cumulative(x), x, v)


# ---- jacobian -------------------------------------------------------------------------------
def _numeric_jacobian(function, value, eps=1e-6):
    columns = []
    for index in range(value.size):
        step = np.zeros(value.size)
        step[index] = eps
        step = step.reshape(value.shape)
        columns.append((function(value + step) - function(value - step)) / (2 * eps))
    return np.stack(columns, axis=-1).reshape(np.shape(columns[0]) + value.shape)


@pytest.mark.parametrize("static", [True, False], ids=["static_length", "run_time_length"])
def test_jacobian_of_a_vector_with_respect_to_a_matrix(static):
    w = T.matrix("w")
    x = T.tensor("float64", shape=(3,) if static else (None,), name="x")
    expression = T.tanh(T.dot(w, x))
    jw, jx = jacobian(expression, [w, x])
    wv, xv = RNG.normal(size=(2, 3)), RNG.normal(size=3)
    got_w, got_x = arignote.function([w, x], [jw, jx])(wv, xv)
    forward = arignote.function([w, x], expression)
    np.testing.assert_allclose(got_w, _numeric_jacobian(lambda a: forward(a, xv), wv), atol=1e-8)
    np.testing.assert_allclose(got_x, _numeric_jacobian(lambda a: forward(wv, a), xv), atol=1e-8)
    assert jw.ndim == 3 and jx.ndim == 2


def test_jacobian_of_a_static_length_is_unrolled_and_of_a_run_time_length_is_one_node():
    static = T.tensor("float64", shape=(3,), name="s")
    unrolled = jacobian(T.exp(static), static)
    assert not any(
        v.owner is not None and isinstance(v.owner.op, JacobianRows) for v in ancestors([unrolled])
    )
    np.testing.assert_allclose(
        unrolled.eval({static: np.arange(3.0)}), np.diag(np.exp(np.arange(3.0))), rtol=1e-12
    )
    assert isinstance(
        jacobian(T.exp(T.vector("r")), T.vector("q"), disconnected_inputs="ignore").owner.op,
        JacobianRows,
    )


def test_jacobian_of_empty_and_scalar_expressions():
    w = T.matrix("w")
    empty_static = T.tensor("float64", shape=(0,), name="e")
    got = jacobian(empty_static * w.sum(), w).eval({empty_static: np.zeros(0), w: np.ones((2, 3))})
    assert got.shape == (0, 2, 3)
    x = T.vector("x")
    scalar = jacobian((x**2).sum(), x)
    np.testing.assert_allclose(scalar.eval({x: VALUE}), 2 * VALUE)
    assert isinstance(jacobian((x**2).sum(), [x]), list)


def test_jacobian_reads_shared_variables_at_run_time():
    scale = arignote.shared(np.array([1.0, 2.0]), name="scale")
    x = T.vector("x")
    function = arignote.function([x], jacobian(x * scale, x))
    np.testing.assert_allclose(function(np.ones(2)), np.diag([1.0, 2.0]))
    scale.set_value(np.array([5.0, -1.0]))
    np.testing.assert_allclose(function(np.ones(2)), np.diag([5.0, -1.0]))


def test_jacobian_errors():
    x = T.vector("x")
    with pytest.raises(TypeError, match="must be a vector or a scalar.*flatten"):
        jacobian(T.outer(x, x), x)
    with pytest.raises(DisconnectedInputError):
        jacobian(x * 2, T.vector("unrelated"))
    with pytest.raises(NullTypeGradError, match="JacobianRows.*needs scan"):
        grad(jacobian(x**2, x).sum(), x)


# ---- hessian --------------------------------------------------------------------------------
@pytest.mark.parametrize("static", [True, False], ids=["static_length", "run_time_length"])
def test_hessian_matches_the_formula(static):
    a = RNG.normal(size=4)
    x = T.tensor("float64", shape=(4,) if static else (None,), name="x")
    cost = (x**3).sum() + T.dot(a, x) ** 2
    xv = RNG.normal(size=4)
    expected = np.diag(6 * xv) + 2 * np.outer(a, a)
    np.testing.assert_allclose(hessian(cost, x).eval({x: xv}), expected, rtol=1e-12)


def test_hessian_of_several_vectors_and_errors():
    x, y = T.vector("x"), T.vector("y")
    cost = (x**2).sum() * (y**2).sum()
    hx, hy = hessian(cost, [x, y])
    xv, yv = np.array([1.0, 2.0]), np.array([3.0])
    np.testing.assert_allclose(hx.eval({x: xv, y: yv}), 2 * 9.0 * np.eye(2))
    np.testing.assert_allclose(hy.eval({x: xv, y: yv}), [[2 * 5.0]])
    with pytest.raises(TypeError, match=r"wrt\[0\] must be a vector"):
        hessian(T.matrix("m").sum(), T.matrix("m"))
    with pytest.raises(TypeError, match="the cost must be a scalar"):
        hessian(x * 2, x)


# ---- subgraph_grad --------------------------------------------------------------------------
def test_subgraph_grad_backpropagates_one_layer_at_a_time():
    rng = np.random.default_rng(5)
    x, t = T.vector("x"), T.vector("t")
    w1 = arignote.shared(rng.normal(size=(3, 4)), name="w1")
    w2 = arignote.shared(rng.normal(size=(4, 2)), name="w2")
    a1 = T.tanh(T.dot(x, w1))
    a2 = T.tanh(T.dot(a1, w2))
    cost2 = T.sqr(a2 - t).sum() + T.sqr(w2.sum())
    cost1 = T.sqr(w1.sum())

    next_grad = None
    param_grads = []
    for params, cost, ends in (([w2], cost2, [a1]), ([w1], cost1, [x])):
        param_grad, end_grad = subgraph_grad(wrt=params, end=ends, start=next_grad, cost=cost)
        next_grad = dict(zip(ends, end_grad))
        param_grads.extend(param_grad)

    full = grad(cost1 + cost2, [w2, w1])
    xv, tv = rng.normal(size=3), rng.normal(size=2)
    got = arignote.function([x, t], param_grads)(xv, tv)
    expected = arignote.function([x, t], full)(xv, tv)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_subgraph_grad_details_and_errors():
    x = T.scalar("x")
    h = T.exp(x)
    c = h**2
    wrt_grads, end_grads, start_grads, cost_grads = subgraph_grad(
        [x], [h], start={h: T.constant(1.0)}, cost=c, details=True
    )
    # h is held constant: x is reached only through it, so its gradient is zero.
    assert float(wrt_grads[0].eval({x: 0.3})) == 0.0
    assert float(end_grads[0].eval({x: 0.3})) == pytest.approx(2 * np.exp(0.3) + 1.0)
    assert float(start_grads[1].eval({x: 0.3})) == 1.0
    assert float(cost_grads[1].eval({x: 0.3})) == pytest.approx(2 * np.exp(0.3))
    with pytest.raises(ValueError, match="needs a cost, or start"):
        subgraph_grad([x], [h])
    with pytest.raises(TypeError, match="must be lists"):
        subgraph_grad(x, [h], cost=c)
