"""dot (every vector/matrix case, scalars, more dimensions), outer and tensordot vs NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor.products import Dot, TensorDot
from arignote.tensor.shape import shape_i


def typed_like(value, name):
    """A symbolic input for ``value``: its dtype, broadcastable where its length is 1."""
    shape = [1 if n == 1 else None for n in np.shape(value)]
    return T.TensorType(str(value.dtype), shape=shape).make_variable(name)


def draw(rng, shape, dtype="float64"):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-4, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def inferred_shape(output, inputs, values):
    """The output shape that ``infer_shape`` predicts, evaluated on ``values``."""
    node = output.owner
    shapes = [tuple(shape_i(i, d) for d in range(i.ndim)) for i in node.inputs]
    predicted = node.op.infer_shape(node, shapes)[output.index]
    fn = arignote.function(
        inputs, [T.as_tensor_variable(s) for s in predicted], on_unused_input="ignore"
    )
    return tuple(int(s) for s in fn(*values)) if predicted else ()


# (shape of a, shape of b): every vector/matrix case, empty and length-1 dimensions, 0-d
# operands and operands of more than two dimensions.
SHAPES = [
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4, 5)),
    ((0,), (0,)),
    ((3, 0), (0,)),
    ((0, 4), (4, 2)),
    ((3, 4), (4, 0)),
    ((1, 4), (4, 1)),
    ((4, 1), (1, 3)),
    ((), (3, 4)),
    ((2, 3), ()),
    ((), ()),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (3, 4, 2)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("a_shape, b_shape", SHAPES, ids=str)
def test_dot_values_and_types(a_shape, b_shape):
    rng = np.random.default_rng(len(a_shape) * 10 + len(b_shape))
    a_value, b_value = draw(rng, a_shape), draw(rng, b_shape)
    a, b = typed_like(a_value, "a"), typed_like(b_value, "b")
    out = T.dot(a, b)
    expected = np.dot(a_value, b_value)
    assert out.ndim == expected.ndim
    got = arignote.function([a, b], out)(a_value, b_value)
    assert got.dtype == out.dtype == "float64"
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    if a.ndim and b.ndim:
        assert inferred_shape(out, [a, b], [a_value, b_value]) == expected.shape


@pytest.mark.parametrize("a_shape, b_shape", [s for s in SHAPES if 0 not in s[0] + s[1]], ids=str)
def test_dot_gradient(a_shape, b_shape):
    rng = np.random.default_rng(7)
    verify_grad(T.dot, [draw(rng, a_shape), draw(rng, b_shape)], n_tests=1, rng=rng)


def test_dot_picks_the_op_by_dimensions():
    assert isinstance(T.dot(T.matrix(), T.vector()).owner.op, Dot)
    assert isinstance(T.dot(T.tensor3(), T.matrix()).owner.op, TensorDot)
    assert not isinstance(T.dot(T.scalar(), T.matrix()).owner.op, (Dot, TensorDot))


@pytest.mark.parametrize(
    "dtypes",
    [
        ("float32", "float32"),
        ("float32", "float64"),
        ("int32", "float32"),
        ("int8", "int8"),
        ("int64", "float64"),
        ("int16", "int32"),
    ],
    ids=str,
)
@pytest.mark.parametrize("a_shape, b_shape", [((3, 4), (4, 2)), ((4,), (4,)), ((2, 4), (4,))])
def test_dot_dtypes_upcast(dtypes, a_shape, b_shape):
    rng = np.random.default_rng(1)
    a_value, b_value = draw(rng, a_shape, dtypes[0]), draw(rng, b_shape, dtypes[1])
    a, b = typed_like(a_value, "a"), typed_like(b_value, "b")
    out = T.dot(a, b)
    expected = np.dot(a_value, b_value)
    assert out.dtype == str(np.result_type(*dtypes))
    got = arignote.function([a, b], out)(a_value, b_value)
    assert got.dtype == out.dtype
    rtol = 1e-5 if "float32" in out.dtype else 1e-12
    np.testing.assert_allclose(got, expected, rtol=rtol)


def test_static_shapes():
    a = T.tensor("float64", shape=(3, None))
    b = T.tensor("float64", shape=(None, 5))
    assert T.dot(a, b).type.shape == (3, 5)
    assert T.dot(a, T.vector()).type.shape == (3,)
    assert T.dot(T.vector(), b).type.shape == (5,)
    assert T.dot(T.vector(), T.vector()).type.shape == ()
    assert T.dot(T.tensor3(), b).type.shape == (None, None, 5)


@pytest.mark.parametrize(
    "a_shape, b_shape, message",
    [
        ((3, 4), (5,), r"dot: shapes \(3, 4\) and \(5,\) are not aligned"),
        ((4,), (3, 2), r"dot: shapes \(4,\) and \(3, 2\) are not aligned"),
        ((2, 3), (4, 2), r"dot: shapes \(2, 3\) and \(4, 2\) are not aligned"),
        ((2, None), (3,), None),
        ((2, 3, 4), (5, 6), r"shapes \(2, 3, 4\) and \(5, 6\) are not aligned"),
    ],
    ids=str,
)
def test_misaligned_static_shapes_fail_when_built(a_shape, b_shape, message):
    a = T.tensor("float64", shape=a_shape, name="a")
    b = T.tensor("float64", shape=b_shape, name="b")
    if message is None:
        assert T.dot(a, b).type.shape == (2,)
        return
    with pytest.raises(ValueError, match=message):
        T.dot(a, b)


def test_misaligned_shapes_fail_at_run_time():
    X, w = T.matrix("X"), T.vector("w")
    fn = arignote.function([X, w], T.dot(X, w))
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5,\) are not aligned"):
        fn(np.ones((3, 4)), np.ones(5))


def test_dot_takes_only_vectors_and_matrices_directly():
    with pytest.raises(TypeError, match="vectors and matrices"):
        Dot()(T.tensor3(), T.matrix())
    with pytest.raises(TypeError, match="vectors and matrices"):
        Dot()(T.scalar(), T.matrix())


def test_matmul_operator_and_method():
    rng = np.random.default_rng(2)
    a, b = T.matrix("a"), T.matrix("b")
    a_value, b_value = draw(rng, (2, 3)), draw(rng, (3, 4))
    fn = arignote.function([a, b], [a @ b, a.dot(b), b.__rmatmul__(a_value)])
    for got in fn(a_value, b_value):
        np.testing.assert_allclose(got, a_value @ b_value, rtol=1e-12)


def test_logistic_regression_gradient_by_hand_and_by_grad():
    """The design's example: ``X.dot(w)`` (matrix-vector) and ``(y - mu).dot(X)`` (vector-matrix)."""
    X, y, w = T.matrix("X"), T.vector("y"), T.vector("w")
    mu = 1 / (1 + T.exp(-X.dot(w)))
    E = -(y * T.log(mu) + (1 - y) * T.log(1 - mu)).sum()
    fn = arignote.function([X, w, y], [E, (y - mu).dot(X), T.grad(E, w)])
    rng = np.random.default_rng(3)
    X_value, w_value = rng.standard_normal((50, 6)), rng.standard_normal(6)
    y_value = (rng.random(50) < 0.5).astype("float64")
    loss, by_hand, by_grad = fn(X_value, w_value, y_value)
    mu_value = 1 / (1 + np.exp(-X_value @ w_value))
    expected = -(y_value * np.log(mu_value) + (1 - y_value) * np.log(1 - mu_value)).sum()
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    np.testing.assert_allclose(by_hand, (y_value - mu_value) @ X_value, rtol=1e-10)
    np.testing.assert_allclose(by_grad, -by_hand, rtol=1e-10, atol=1e-12)


def test_gradient_keeps_each_input_dtype():
    x = T.fmatrix("x")
    y = T.dvector("y")
    gx, gy = T.grad(T.dot(x, y).sum(), [x, y])
    assert (gx.dtype, gy.dtype) == ("float32", "float64")
    rng = np.random.default_rng(4)
    x_value, y_value = draw(rng, (3, 2), "float32"), draw(rng, (2,))
    gx_value, gy_value = arignote.function([x, y], [gx, gy])(x_value, y_value)
    np.testing.assert_allclose(gx_value, np.outer(np.ones(3), y_value), rtol=1e-6)
    np.testing.assert_allclose(gy_value, x_value.sum(axis=0), rtol=1e-6)


@pytest.mark.parametrize("x_shape, y_shape", [((3, 4), (4,)), ((4,), (4, 2)), ((2, 4), (4, 3))])
def test_dot_r_op_is_the_directional_derivative(x_shape, y_shape):
    rng = np.random.default_rng(5)
    values = [draw(rng, s) for s in (x_shape, y_shape, x_shape, y_shape)]
    x, y, ex, ey = (typed_like(v, n) for v, n in zip(values, ("x", "y", "ex", "ey")))
    (both,) = Dot().R_op([x, y], [ex, ey])
    (only_x,) = Dot().R_op([x, y], [ex, None])
    got_both, got_x = arignote.function([x, y, ex, ey], [both, only_x])(*values)
    x_value, y_value, ex_value, ey_value = values
    np.testing.assert_allclose(got_both, ex_value @ y_value + x_value @ ey_value, rtol=1e-12)
    np.testing.assert_allclose(got_x, ex_value @ y_value, rtol=1e-12)


# ---- outer ----------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape, y_shape", [((3,), (4,)), ((0,), (2,)), ((2, 2), (3,))], ids=str)
def test_outer(x_shape, y_shape):
    rng = np.random.default_rng(6)
    x_value, y_value = draw(rng, x_shape), draw(rng, y_shape)
    x, y = typed_like(x_value, "x"), typed_like(y_value, "y")
    got = arignote.function([x, y], T.outer(x, y))(x_value, y_value)
    np.testing.assert_allclose(got, np.outer(x_value, y_value), rtol=1e-12)
    if 0 not in x_shape:
        verify_grad(T.outer, [x_value, y_value], n_tests=1, rng=rng)


# ---- tensordot ------------------------------------------------------------------------------
TENSORDOT_CASES = [
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3, 4), (4, 5), 1),
    ((2, 3), (4, 5), 0),
    ((3, 2, 4), (4, 3, 5), [[2, 0], [0, 1]]),
    ((3, 2, 4), (4, 3, 5), [[0, 2], [1, 0]]),
    ((2, 3, 4), (5, 4), [[-1], [-1]]),
    ((2, 0, 3), (0, 3, 2), [[1, 2], [0, 1]]),
    ((4, 3), (3, 4), [[0, 1], [1, 0]]),
]


@pytest.mark.parametrize("a_shape, b_shape, axes", TENSORDOT_CASES, ids=str)
def test_tensordot(a_shape, b_shape, axes):
    rng = np.random.default_rng(8)
    a_value, b_value = draw(rng, a_shape), draw(rng, b_shape)
    a, b = typed_like(a_value, "a"), typed_like(b_value, "b")
    out = T.tensordot(a, b, axes)
    expected = np.tensordot(a_value, b_value, axes)
    got = arignote.function([a, b], out)(a_value, b_value)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert inferred_shape(out, [a, b], [a_value, b_value]) == expected.shape
    if 0 not in a_shape + b_shape:
        verify_grad(lambda p, q: T.tensordot(p, q, axes), [a_value, b_value], n_tests=1, rng=rng)


def test_tensordot_errors():
    a = T.tensor("float64", shape=(2, 3, 4), name="a")
    b = T.tensor("float64", shape=(5, 4), name="b")
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) and \(5, 4\) are not aligned"):
        T.tensordot(a, b, [[2], [0]])
    with pytest.raises(ValueError, match="out of range"):
        T.tensordot(a, b, [[3], [1]])
    with pytest.raises(ValueError, match="repeat"):
        T.tensordot(a, b, [[2, 2], [1, 1]])
    with pytest.raises(ValueError, match="cannot sum over 3 axes"):
        T.tensordot(a, b, 3)
    with pytest.raises(ValueError, match="cannot pair"):
        T.tensordot(a, b, [[2], [1, 0]])
    c, d = T.tensor3("c"), T.matrix("d")
    fn = arignote.function([c, d], T.tensordot(c, d, 1))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) and \(5, 4\) are not aligned"):
        fn(np.ones((2, 3, 4)), np.ones((5, 4)))
