"""``grad`` and ``verify_grad``: values, options, error messages, deep graphs, and a checker
that can fail.

Expected gradients are written out by hand (calculus on the test's own formula) or taken
from central finite differences computed here with NumPy, never from ``grad`` itself.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import (
    DisconnectedInputError,
    DisconnectedType,
    GradientError,
    NullType,
    NullTypeGradError,
    grad,
    grad_not_implemented,
    grad_undefined,
    verify_grad,
)
from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.tensor.basic import as_tensor_variable

RNG = np.random.default_rng(0)


def evaluate(outputs, inputs, *values):
    return arignote.function(inputs, outputs, on_unused_input="ignore")(*values)


# ---- values ----------------------------------------------------------------------------------
def test_grad_with_respect_to_one_variable():
    x = T.vector("x")
    value = np.asarray([0.5, -1.0, 2.0])
    got = evaluate(grad((x**3 + T.sin(x)).sum(), x), [x], value)
    np.testing.assert_allclose(got, 3 * value**2 + np.cos(value), rtol=1e-12)


def test_grad_with_respect_to_a_list_keeps_its_order():
    x, w, b = T.matrix("x"), T.vector("w"), T.scalar("b")
    cost = T.sqr(T.tanh((x * w).sum(axis=1) + b)).mean()
    gradients = grad(cost, [w, b])
    assert isinstance(gradients, list) and len(gradients) == 2
    assert gradients[0].type == w.type and gradients[1].type == b.type
    xv, wv, bv = RNG.normal(size=(4, 3)), RNG.normal(size=3), np.asarray(0.3)
    gw, gb = evaluate(gradients, [x, w, b], xv, wv, bv)
    z = np.tanh(xv @ wv + bv)
    upstream = 2 * z * (1 - z**2) / len(z)
    np.testing.assert_allclose(gw, upstream @ xv, rtol=1e-12)
    np.testing.assert_allclose(gb, upstream.sum(), rtol=1e-12)


def test_gradient_has_the_dtype_and_name_of_its_variable():
    x = T.fvector("x")
    cost = (x * 0.5).sum()
    cost.name = "cost"
    g = grad(cost, x)
    assert g.dtype == "float32"
    assert g.name == "(dcost/dx)"
    assert arignote.grad is grad and T.grad is grad


def test_gradient_reaching_a_variable_twice_is_summed():
    x = T.scalar("x")
    y = T.exp(x)
    got = evaluate(grad(y * y + y, x), [x], 0.7)
    np.testing.assert_allclose(got, 2 * np.exp(1.4) + np.exp(0.7), rtol=1e-12)


def test_grad_of_the_cost_itself_is_one():
    x = T.scalar("x")
    cost = T.exp(x)
    assert evaluate(grad(cost, cost), [x], 0.1) == 1.0


# ---- options ---------------------------------------------------------------------------------
def test_consider_constant_stops_the_gradient_at_a_variable():
    x = T.vector("x")
    y = x**2
    cost = (y * x).sum()
    value = np.asarray([1.0, -2.0])
    np.testing.assert_allclose(evaluate(grad(cost, x), [x], value), 3 * value**2)
    held = grad(cost, x, consider_constant=[y])
    np.testing.assert_allclose(evaluate(held, [x], value), value**2)


def test_known_grads_without_a_cost():
    x = T.vector("x")
    y = T.tanh(x)
    upstream = T.vector("upstream")
    g = grad(None, x, known_grads={y: upstream})
    xv, uv = np.asarray([0.1, -0.4]), np.asarray([2.0, 3.0])
    np.testing.assert_allclose(evaluate(g, [x, upstream], xv, uv), uv * (1 - np.tanh(xv) ** 2))


def test_known_grads_add_to_the_cost():
    x = T.scalar("x")
    y = 3 * x
    g = grad(x**2, x, known_grads={y: T.constant(1.0)})
    assert evaluate(g, [x], 2.0) == 2 * 2.0 + 3.0


def test_known_grads_of_the_wrong_rank_is_an_error():
    x = T.vector("x")
    with pytest.raises(
        ValueError, match="known_grads gave a gradient of 0 dimensions.*which has 1"
    ):
        grad(None, x, known_grads={T.exp(x): T.constant(1.0)})


def test_grad_needs_a_cost_or_known_grads():
    with pytest.raises(ValueError, match="needs a cost, or known_grads"):
        grad(None, T.vector())


# ---- disconnected inputs ---------------------------------------------------------------------
def test_disconnected_input_raises_naming_the_input():
    x, z = T.vector("x"), T.vector("lonely")
    with pytest.raises(DisconnectedInputError, match=r"does not depend on .*'lonely'.*ignore"):
        grad(x.sum(), [x, z])


def test_input_reaching_the_cost_only_through_an_integer_is_disconnected():
    x = T.vector("x")
    with pytest.raises(DisconnectedInputError, match="non-differentiable"):
        grad(T.cast(T.argmax(x), "float64"), x)


def test_disconnected_ignore_returns_zeros_of_the_input_shape():
    x, z = T.vector("x"), T.matrix("z")
    gz = grad(x.sum(), [x, z], disconnected_inputs="ignore")[1]
    got = evaluate(gz, [z], np.ones((2, 3)))
    np.testing.assert_array_equal(got, np.zeros((2, 3)))
    assert gz.dtype == z.dtype


def test_disconnected_warn_warns_and_returns_zeros():
    x, z = T.vector("x"), T.vector("z")
    with pytest.warns(UserWarning, match="does not depend on"):
        gz = grad(x.sum(), z, disconnected_inputs="warn")
    np.testing.assert_array_equal(evaluate(gz, [z], np.ones(2)), [0.0, 0.0])


@pytest.mark.parametrize("mode", ["None", "Disconnected"])
def test_return_disconnected(mode):
    x, z = T.vector("x"), T.vector("z")
    gx, gz = grad(x.sum(), [x, z], disconnected_inputs="ignore", return_disconnected=mode)
    if mode == "None":
        assert gz is None
    else:
        assert isinstance(gz.type, DisconnectedType)
    np.testing.assert_array_equal(evaluate(gx, [x], np.ones(2)), [1.0, 1.0])


def test_option_values_are_checked():
    x = T.scalar("x")
    with pytest.raises(ValueError, match="disconnected_inputs must be"):
        grad(x, x, disconnected_inputs="maybe")
    with pytest.raises(ValueError, match="return_disconnected must be"):
        grad(x, x, return_disconnected="zeros")
    with pytest.raises(TypeError, match=r"wrt\[0\] must be a symbolic Variable"):
        grad(x, [np.ones(2)])


# ---- the cost --------------------------------------------------------------------------------
def test_non_scalar_cost_error_says_how_to_reduce_it():
    x = T.matrix("x")
    with pytest.raises(TypeError, match=r"must be a scalar \(0-d\).*2 dimensions.*cost\.sum\(\)"):
        grad(x * 2, x)


def test_integer_cost_is_refused():
    x = T.ivector("x")
    with pytest.raises(TypeError, match="must be a float.*int64"):
        grad(x.sum(), x)


def test_gradient_with_respect_to_an_integer_input_is_zero():
    n, w = T.ivector("n"), T.vector("w")
    cost = (T.cast(n, "float64") * w).sum() + (n * 2).sum() * 1.0
    gn, gw = grad(cost, [n, w])
    assert gn.dtype == "float64"
    got_n, got_w = evaluate([gn, gw], [n, w], np.asarray([1, 2, 3], "int32"), np.ones(3))
    np.testing.assert_array_equal(got_n, np.zeros(3))
    np.testing.assert_array_equal(got_w, [1.0, 2.0, 3.0])


# ---- second order ----------------------------------------------------------------------------
def _hessian_test_function(x):
    return T.sqr(x.sum()) + (T.tanh(x) * x**2).sum() + T.prod(x)


def _numpy_gradient(x):
    t = np.tanh(x)
    return 2 * x.sum() + 2 * x * t + x**2 * (1 - t**2) + np.prod(x) / x


def test_hessian_vector_product_against_finite_differences():
    x, v = T.vector("x"), T.vector("v")
    g = grad(_hessian_test_function(x), x)
    hv = grad((g * v).sum(), x)
    xv, vv = np.asarray([0.3, -0.7, 1.1, 0.5]), np.asarray([1.0, -2.0, 0.5, 0.25])
    got = evaluate(hv, [x, v], xv, vv)
    eps = 1e-5
    expected = (_numpy_gradient(xv + eps * vv) - _numpy_gradient(xv - eps * vv)) / (2 * eps)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(evaluate(g, [x], xv), _numpy_gradient(xv), rtol=1e-12)


def test_verify_grad_of_a_gradient():
    verify_grad(
        lambda x: grad(_hessian_test_function(x), x),
        [np.asarray([0.3, -0.7, 1.1, 0.5])],
        rng=np.random.default_rng(0),
    )


# ---- deep graphs -----------------------------------------------------------------------------
def test_deep_chain_does_not_hit_the_recursion_limit():
    depth = 2500  # 5,000 nested tanh/add nodes, five times Python's recursion limit
    x = T.scalar("x")
    y = x
    for _ in range(depth):
        y = T.tanh(y) + y
    got = evaluate(grad(y, x), [x], 0.2)
    value, slope = 0.2, 1.0
    for _ in range(depth):
        slope *= 2 - np.tanh(value) ** 2
        value = np.tanh(value) + value
    np.testing.assert_allclose(got, slope, rtol=1e-10)


# ---- undefined and unimplemented gradients ---------------------------------------------------
class _Floorish(Op):
    """y = floor(x) with a gradient that is ``grad_undefined`` or ``grad_not_implemented``."""

    __props__ = ("undefined",)

    def __init__(self, undefined: bool):
        self.undefined = undefined

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.floor(inputs[0])

    def L_op(self, inputs, outputs, output_grads):
        make = grad_undefined if self.undefined else grad_not_implemented
        return [make(self, 0, inputs[0], "a test op")]


@pytest.mark.parametrize(
    "undefined, reason", [(True, "is undefined"), (False, "does not implement")]
)
def test_null_gradient_raises_naming_the_op(undefined, reason):
    x = T.vector("x")
    op = _Floorish(undefined)
    with pytest.raises(NullTypeGradError, match=rf"_Floorish.*{reason}.*a test op"):
        grad(op(x).sum(), x)


def test_null_gradient_spreads_through_earlier_ops():
    x = T.vector("x")
    cost = (_Floorish(True)(T.exp(x) * 2) + x).sum()
    with pytest.raises(NullTypeGradError, match=r"'x'.*_Floorish.*is undefined"):
        grad(cost, x)


def test_null_gradient_can_be_returned():
    x = T.vector("x")
    g = grad(_Floorish(True)(T.exp(x)).sum(), x, null_gradients="return")
    assert isinstance(g.type, NullType) and "undefined" in g.type.why_null


def test_null_gradient_of_an_unused_path_is_not_needed():
    x, w = T.vector("x"), T.vector("w")
    cost = (_Floorish(True)(x) * w).sum()
    np.testing.assert_array_equal(evaluate(grad(cost, w), [x, w], [1.5, 2.5], [1.0, 1.0]), [1, 2])


# ---- a checker that can fail -----------------------------------------------------------------
class _Double(Op):
    """y = 2 x, with a pullback that is right, wrong by a factor, or of the wrong rank."""

    __props__ = ("pullback",)

    def __init__(self, pullback: str):
        self.pullback = pullback

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = 2 * inputs[0]

    def L_op(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if self.pullback == "right":
            return [gz * 2]
        if self.pullback == "wrong":
            return [gz * 3]
        return [gz.sum()]


def test_verify_grad_accepts_a_right_gradient():
    verify_grad(_Double("right"), [RNG.normal(size=(2, 3))], rng=np.random.default_rng(0))


def test_verify_grad_raises_for_a_wrong_gradient():
    assert verify_grad.E_grad is GradientError
    with pytest.raises(GradientError, match=r"input 0.*disagrees with finite differences"):
        verify_grad(_Double("wrong"), [RNG.normal(size=(2, 3))], rng=np.random.default_rng(0))


def test_a_gradient_of_the_wrong_rank_is_reported_naming_the_op():
    x = T.vector("x")
    with pytest.raises(
        ValueError,
        match=r"_Double.*L_op, for its input 0, gave a gradient of 0 dimensions.*'x'.*which has 1",
    ):
        grad(_Double("rank").__call__(x).sum(), x)


def test_verify_grad_raises_for_a_nan_gradient():
    x_point = np.asarray([0.0, 1.0])
    with pytest.raises(GradientError):
        verify_grad(lambda x: T.sqrt(x) * 0 + x, [x_point], rng=np.random.default_rng(0))


def test_verify_grad_refuses_integer_points():
    with pytest.raises(TypeError, match="not a float"):
        verify_grad(T.exp, [np.asarray([1, 2])])


def test_verify_grad_declares_length_one_dimensions_broadcastable():
    verify_grad(
        lambda row, matrix: T.tanh(row * matrix),
        [RNG.normal(size=(1, 3)), RNG.normal(size=(2, 3))],
        rng=np.random.default_rng(0),
    )
