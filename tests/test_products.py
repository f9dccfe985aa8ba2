"""Products against NumPy: dot (every vector/matrix case, scalars, more dimensions), outer,
tensordot, matmul, batched_dot, batched_tensordot, einsum and kron.

The ``CASES`` table (run by ``tests/test_op_tables.py``) runs every row on
each of its layouts and dtypes (value, shape and dtype against NumPy),
every ``grad`` row through finite differences in float64, and checks that
every node's ``infer_shape`` agrees with what it computes. Layouts include
empty axes, declared broadcastable axes (a length of 1 is typed
broadcastable) and batches broadcast against each other. Error messages,
static shapes and R_op follow the table.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor.products import Dot, Einsum, MatMul, TensorDot
from arignote.tensor.shape import shape_i
from tests.helpers import OpCase, uniform


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


# ---- the table: every product, value and gradient against NumPy -----------------------------
ANY = uniform(-2, 2)
FLOATS = (("float64", "float64"), ("float32", "float32"))
MIXED = FLOATS + (("int32", "int32"), ("int8", "float32"))


def product(name, build, reference, layouts, dtypes=MIXED, grad=True, **options):
    """A row; float32 results (sums of many float32 products) agree with NumPy to float32
    precision; gradients are checked on the layouts without an empty dimension."""
    options.setdefault("grad_layouts", tuple(lay for lay in layouts if 0 not in sum(lay, ())))
    options.setdefault("float32_tolerance", (1e-5, 1e-5))
    nin = len(layouts[0])
    return OpCase(name, build, reference, (ANY,) * nin, dtypes, layouts, grad=grad, **options)


def batched(function):
    """A reference applying ``function`` to each pair of batch entries and stacking."""
    return lambda a, b: np.stack([function(x, y) for x, y in zip(a, b)])


def batched_tensordot_reference(axes):
    shifted = [[d - 1 for d in side] for side in axes]
    return batched(lambda x, y: np.tensordot(x, y, shifted))


CASES = [
    product("dot_vector_vector", T.dot, np.dot, (((4,), (4,)), ((0,), (0,)))),
    product("dot_matrix_vector", T.dot, np.dot, (((3, 4), (4,)), ((1, 4), (4,)))),
    product("dot_vector_matrix", T.dot, np.dot, (((4,), (4, 3)), ((4,), (4, 0)))),
    product("dot_matrix_matrix", T.dot, np.dot, (((3, 4), (4, 2)), ((3, 1), (1, 2)))),
    product("dot_scalar", T.dot, np.dot, (((), (3, 2)), ((2,), ()))),
    product("dot_tensor", T.dot, np.dot, (((2, 3, 4), (4, 2)), ((3, 4), (2, 4, 3)))),
    product("outer", T.outer, np.outer, (((3,), (4,)), ((0,), (2,)), ((2, 2), (3,)))),
    product(
        "tensordot_pairs",
        lambda a, b: T.tensordot(a, b, [[2, 0], [0, 1]]),
        lambda a, b: np.tensordot(a, b, [[2, 0], [0, 1]]),
        (((3, 2, 4), (4, 3, 2)), ((0, 2, 4), (4, 0, 1))),
    ),
    product(
        "tensordot_int",
        lambda a, b: T.tensordot(a, b, 1),
        lambda a, b: np.tensordot(a, b, 1),
        (((2, 3), (3, 4, 2)),),
    ),
    product(
        "matmul",
        T.matmul,
        np.matmul,
        (
            ((2, 3, 4), (2, 4, 5)),  # a stack times a stack
            ((2, 3, 4), (4, 5)),  # a stack times one matrix
            ((3, 4), (2, 4, 5)),
            ((1, 3, 4), (2, 4, 5)),  # a declared broadcastable batch axis
            ((5, 1, 2, 3), (4, 3, 2)),  # batch axes broadcast against each other
            ((4,), (2, 4, 5)),  # vectors: a row, a column
            ((2, 3, 4), (4,)),
            ((2, 0, 4), (2, 4, 3)),
            ((2, 3, 0), (0, 5)),
            ((3, 4), (4, 2)),  # plain matrices go to Dot
            ((4,), (4,)),
        ),
    ),
    product(
        "batched_dot",
        T.batched_dot,
        batched(np.dot),
        (
            ((2, 3, 4), (2, 4, 5)),
            ((2, 3), (2, 3)),
            ((2, 3, 4), (2, 4)),
            ((2, 4), (2, 4, 3)),
            ((2, 3, 4, 2), (2, 2, 3)),
            ((1, 3, 4), (1, 4, 2)),
        ),
        dtypes=FLOATS,
    ),
    product(
        "batched_dot_scalars",
        T.batched_dot,
        lambda a, b: a.reshape((-1,) + (1,) * (b.ndim - 1)) * b,
        (((3,), (3, 2)), ((3,), (3,))),
        dtypes=FLOATS,
    ),
    product(
        "batched_tensordot_pairs",
        lambda a, b: T.batched_tensordot(a, b, [[1, 3], [2, 1]]),
        batched_tensordot_reference([[1, 3], [2, 1]]),
        (((2, 3, 4, 5), (2, 5, 3, 2)), ((1, 2, 1, 3), (1, 3, 2, 4))),
        dtypes=FLOATS,
    ),
    product(
        "batched_tensordot_int",
        lambda a, b: T.batched_tensordot(a, b, 2),
        batched_tensordot_reference([[2, 3], [1, 2]]),
        (((2, 3, 4, 2), (2, 4, 2, 3)), ((2, 4, 0, 2), (2, 0, 2))),
        dtypes=FLOATS,
    ),
    product(
        "einsum_matrix_product",
        lambda a, b: T.einsum("ij,jk->ik", a, b),
        lambda a, b: np.einsum("ij,jk->ik", a, b),
        (((2, 3), (3, 4)), ((0, 3), (3, 2)), ((1, 3), (3, 1))),
    ),
    product(
        "einsum_implicit_output",
        lambda a, b: T.einsum("kj,ji", a, b),
        lambda a, b: np.einsum("kj,ji", a, b),
        (((2, 3), (3, 4)),),
    ),
    product(
        "einsum_ellipsis_batch",
        lambda a, b: T.einsum("...ij,...jk->...ik", a, b),
        lambda a, b: np.einsum("...ij,...jk->...ik", a, b),
        (((2, 2, 3), (2, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (3, 4))),
    ),
    product(
        "einsum_broadcast_and_sum",
        lambda a, b: T.einsum("ij,ij->i", a, b),
        lambda a, b: np.einsum("ij,ij->i", a, b),
        (((1, 3), (2, 3)), ((2, 1), (2, 3)), ((2, 3), (2, 3))),
    ),
    product(
        "einsum_diagonal",
        lambda a: T.einsum("ii->i", a),
        lambda a: np.einsum("ii->i", a),
        (((3, 3),), ((0, 0),), ((1, 1),)),
    ),
    product(
        "einsum_trace_of_a_stack",
        lambda a: T.einsum("jii", a),
        lambda a: np.einsum("jii", a),
        (((2, 3, 3),),),
    ),
    product(
        "einsum_diagonal_outer",
        lambda a, b: T.einsum("iji,k->jk", a, b),
        lambda a, b: np.einsum("iji,k->jk", a, b),
        (((3, 2, 3), (2,)),),
    ),
    product(
        "einsum_private_sum",
        lambda a, b: T.einsum("ij,k->k", a, b),
        lambda a, b: np.einsum("ij,k->k", a, b),
        (((2, 3), (4,)),),
    ),
    product(
        "einsum_three_operands",
        lambda a, b, c: T.einsum("ij,jk,kl->il", a, b, c),
        lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c),
        (((2, 3), (3, 4), (4, 2)),),
        dtypes=(("float64",) * 3, ("float32",) * 3),
    ),
    product(
        "einsum_transpose",
        lambda a: T.einsum("ijk->kij", a),
        lambda a: np.einsum("ijk->kij", a),
        (((2, 3, 4),), ((0, 1, 2),)),
    ),
    product("kron", T.kron, np.kron, (((2, 3), (3, 2)), ((3,), (2, 4)), ((2, 2, 3), (2, 2)))),
    product("kron_vectors", T.kron, np.kron, (((3,), (2,)), ((0,), (2,)), ((), (2,)))),
]


# ---- matmul ---------------------------------------------------------------------------------
def test_matmul_follows_numpy_where_dot_does_not():
    a, b = T.tensor3("a"), T.tensor3("b")
    rng = np.random.default_rng(9)
    a_value, b_value = draw(rng, (2, 3, 4)), draw(rng, (2, 4, 5))
    got = arignote.function([a, b], T.matmul(a, b))(a_value, b_value)
    assert got.shape == (2, 3, 5)
    np.testing.assert_allclose(got, np.matmul(a_value, b_value), rtol=1e-12)
    assert T.dot(a, b).ndim == 4  # np.dot pairs every matrix of a with every matrix of b


def test_matmul_static_shapes_and_ops():
    a = T.tensor("float64", shape=(None, 1, 3, 4))
    b = T.tensor("float64", shape=(5, 4, 2))
    out = T.matmul(a, b)
    assert out.type.shape == (None, 5, 3, 2)
    assert isinstance(out.owner.op, MatMul)
    assert isinstance(T.matmul(T.matrix(), T.vector()).owner.op, Dot)
    assert T.matmul(T.vector(), T.tensor3()).type.shape == (None, None)


def test_matmul_errors():
    with pytest.raises(ValueError, match="matmul: operand 0 .* is 0-d"):
        T.matmul(T.scalar("s"), T.matrix())
    a = T.tensor("float64", shape=(2, 3, 4), name="a")
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3, 4\) and \(2, 5, 2\) are not"):
        T.matmul(a, T.tensor("float64", shape=(2, 5, 2)))
    with pytest.raises(ValueError, match="batch axes.*cannot be broadcast"):
        T.matmul(a, T.tensor("float64", shape=(3, 4, 2)))
    with pytest.raises(TypeError, match="MatMul multiplies stacks of matrices"):
        MatMul()(T.vector(), T.tensor3())
    x, y = T.tensor3("x"), T.tensor3("y")
    fn = arignote.function([x, y], T.matmul(x, y))
    with pytest.raises(ValueError, match=r"batch axis 0 has length 1 .* only axes declared"):
        fn(np.ones((1, 2, 3)), np.ones((4, 3, 2)))
    with pytest.raises(ValueError, match="not aligned"):
        fn(np.ones((2, 2, 3)), np.ones((2, 4, 2)))


def test_matmul_r_op_is_the_directional_derivative():
    rng = np.random.default_rng(10)
    values = [draw(rng, s) for s in ((2, 3, 4), (4, 2), (2, 3, 4), (4, 2))]
    a, b, ea, eb = (typed_like(v, n) for v, n in zip(values, ("a", "b", "ea", "eb")))
    (both,) = MatMul().R_op([a, b], [ea, eb])
    got = arignote.function([a, b, ea, eb], both)(*values)
    a_value, b_value, ea_value, eb_value = values
    np.testing.assert_allclose(got, ea_value @ b_value + a_value @ eb_value, rtol=1e-12)


def test_batched_errors():
    with pytest.raises(TypeError, match="batched_dot: both operands need a batch axis"):
        T.batched_dot(T.scalar(), T.matrix())
    with pytest.raises(ValueError, match="axis 0 is the batch axis"):
        T.batched_tensordot(T.tensor3(), T.tensor3(), [[0], [1]])
    with pytest.raises(ValueError, match="not aligned"):
        T.batched_tensordot(
            T.tensor("float64", shape=(2, 3, 4)), T.tensor("float64", shape=(2, 5, 4)), [[2], [1]]
        )


# ---- einsum ---------------------------------------------------------------------------------
def test_einsum_normalises_its_subscripts():
    a, b = T.matrix("a"), T.tensor3("b")
    assert T.einsum("ij, jk", a, a).owner.op.subscripts == "ij,jk->ik"
    assert T.einsum("...ij->...ji", b).owner.op.subscripts == "Aij->Aji"
    assert T.einsum("ba", a).owner.op.subscripts == "ba->ab"
    # Equal subscripts give equal ops, so identical nodes merge.
    assert T.einsum("ij,jk->ik", a, a).owner.op == Einsum("ij,jk->ik")


@pytest.mark.parametrize(
    "subscripts, shapes, message",
    [
        ("ij,jk", [(2, 3)], "names 2 operands, but 1 were given"),
        ("ijk", [(2, 3)], "name 3 axes, but .* has 2 dimensions"),
        ("i1", [(2, 3)], "invalid subscript"),
        ("ij->ii", [(2, 2)], "the output repeats the subscript 'i'"),
        ("ij->k", [(2, 2)], "'k' names no input axis"),
        ("...i->i", [(2, 3)], "the output must name them with '...'"),
        ("ij,jk", [(2, 3), (4, 5)], r"the axes named 'j' have lengths \[3, 4\]"),
        ("......i", [(2, 3)], "more than one '...'"),
    ],
    ids=str,
)
def test_einsum_errors_when_built(subscripts, shapes, message):
    operands = [T.tensor("float64", shape=s) for s in shapes]
    with pytest.raises(ValueError, match=message):
        T.einsum(subscripts, *operands)


def test_einsum_errors_at_run_time():
    a, b = T.matrix("a"), T.matrix("b")
    fn = arignote.function([a, b], T.einsum("ij,jk->ik", a, b))
    with pytest.raises(
        ValueError, match=r"axes named 'j' have lengths \[1, 3\].*only axes declared"
    ):
        fn(np.ones((2, 1)), np.ones((3, 4)))
    with pytest.raises(TypeError, match="subscripts string"):
        T.einsum(a, b)


def test_einsum_r_op_is_the_directional_derivative():
    rng = np.random.default_rng(11)
    values = [draw(rng, s) for s in ((2, 3), (3, 4), (2, 3), (3, 4))]
    a, b, ea, eb = (typed_like(v, n) for v, n in zip(values, ("a", "b", "ea", "eb")))
    op = Einsum("ij,jk->ik")
    (both,) = op.R_op([a, b], [ea, eb])
    (only_b,) = op.R_op([a, b], [None, eb])
    got_both, got_b = arignote.function([a, b, ea, eb], [both, only_b])(*values)
    a_value, b_value, ea_value, eb_value = values
    np.testing.assert_allclose(got_both, ea_value @ b_value + a_value @ eb_value, rtol=1e-12)
    np.testing.assert_allclose(got_b, a_value @ eb_value, rtol=1e-12)


def test_einsum_second_derivative():
    """The gradient of an einsum is an einsum, so it has a gradient too (a Hessian-vector
    product of a quadratic form)."""
    rng = np.random.default_rng(12)
    x, m = T.vector("x"), T.matrix("m")
    quadratic = T.einsum("i,ij,j->", x, m, x)
    hessian_row = T.grad(T.grad(quadratic, x)[0], x)
    m_value, x_value = draw(rng, (3, 3)), draw(rng, (3,))
    got = arignote.function([x, m], hessian_row)(x_value, m_value)
    np.testing.assert_allclose(got, m_value[0] + m_value[:, 0], rtol=1e-12)


def test_complex_dot_gradient_matches_finite_differences_of_real_and_imaginary_parts():
    a, b = T.zmatrix("a"), T.zmatrix("b")
    cost = (abs(T.dot(a, b)) ** 2).sum()
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    B = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    symbolic = arignote.function([a, b], T.grad(cost, a))(A, B)
    value = arignote.function([a, b], cost)
    eps, numeric = 1e-6, np.zeros_like(A)
    for index in np.ndindex(A.shape):
        step = np.zeros_like(A)
        step[index] = eps
        d_real = (value(A + step, B) - value(A - step, B)) / (2 * eps)
        d_imag = (value(A + 1j * step, B) - value(A - 1j * step, B)) / (2 * eps)
        numeric[index] = d_real + 1j * d_imag  # Theano's convention: dC/dRe + i dC/dIm
    np.testing.assert_allclose(symbolic, numeric, atol=1e-6)
