"""join/concatenate, stack, stacklists and split vs NumPy: values, static shapes, gradients,
errors; ``CASES`` at the end is the family's table."""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor.join import Join, Split
from arignote.tensor.shape import shape_i
from tests.helpers import OpCase, uniform


def typed_like(value, name):
    """A symbolic input for ``value``: its dtype, broadcastable where its length is 1."""
    shape = [1 if n == 1 else None for n in np.shape(value)]
    return T.TensorType(str(value.dtype), shape=shape).make_variable(name)


def draw(rng, shape, dtype="float64"):
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 9, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def inferred_shape(output, inputs, values):
    """The output shape that ``infer_shape`` predicts, evaluated on ``values``."""
    node = output.owner
    shapes = [tuple(shape_i(i, d) for d in range(i.ndim)) for i in node.inputs]
    predicted = node.op.infer_shape(node, shapes)[output.index]
    fn = arignote.function(
        inputs, [T.as_tensor_variable(s) for s in predicted], on_unused_input="ignore"
    )
    return tuple(int(s) for s in fn(*values))


# ---- join / concatenate ---------------------------------------------------------------------
# (input shapes, axis): matrices on either axis, a column, empty pieces, negative axes.
JOIN_CASES = [
    ([(2, 3), (4, 3)], 0),
    ([(2, 3), (2, 1), (2, 0)], 1),
    ([(0, 3), (2, 3)], 0),
    ([(3,), (0,), (2,)], 0),
    ([(2, 3, 4), (2, 3, 1)], -1),
    ([(2, 3, 4), (2, 5, 4), (2, 1, 4)], -2),
    ([(1, 3), (1, 3)], 0),
    ([(0, 2), (0, 3)], 1),
]


@pytest.mark.parametrize("shapes, axis", JOIN_CASES, ids=str)
def test_join_values_and_gradient(shapes, axis):
    rng = np.random.default_rng(len(shapes) + axis)
    values = [draw(rng, s) for s in shapes]
    inputs = [typed_like(v, f"x{i}") for i, v in enumerate(values)]
    expected = np.concatenate(values, axis=axis)
    for out in (T.join(axis, *inputs), T.concatenate(inputs, axis=axis)):
        got = arignote.function(inputs, out)(*values)
        assert got.dtype == out.dtype == "float64"
        np.testing.assert_array_equal(got, expected)
        assert inferred_shape(out, inputs, values) == expected.shape
    if all(0 not in s for s in shapes):
        verify_grad(lambda *xs: T.join(axis, *xs), values, n_tests=1, rng=rng)


@pytest.mark.parametrize(
    "dtypes",
    [
        ("int8", "float32"),
        ("int32", "int64"),
        ("float32", "float64"),
        ("bool", "int8"),
        ("uint8", "int8"),
        ("float32", "float32"),
    ],
    ids=str,
)
def test_join_upcasts(dtypes):
    rng = np.random.default_rng(3)
    values = [draw(rng, (2, 2), dtypes[0]), draw(rng, (3, 2), dtypes[1])]
    inputs = [typed_like(v, f"x{i}") for i, v in enumerate(values)]
    out = T.join(0, *inputs)
    assert out.dtype == str(np.result_type(*dtypes))
    got = arignote.function(inputs, out)(*values)
    assert got.dtype == out.dtype
    np.testing.assert_array_equal(got, np.concatenate(values).astype(out.dtype))


def test_join_gradient_reaches_the_float_input_of_a_mixed_join():
    x, i = T.fvector("x"), T.ivector("i")
    out = T.join(0, i, x)
    assert out.dtype == "float64"
    w = np.arange(5.0)
    gx = T.grad((out * w).sum(), x)
    assert gx.dtype == "float32"
    got = gx.eval({x: np.ones(2, "float32"), i: np.ones(3, "int32")})
    np.testing.assert_array_equal(got, w[3:])


def test_join_static_shapes():
    a = T.tensor("float64", shape=(2, 3))
    b = T.tensor("float64", shape=(4, 3))
    assert T.join(0, a, b).type.shape == (6, 3)
    assert T.join(0, a, T.matrix()).type.shape == (None, 3)
    assert T.join(1, a, T.matrix()).type.shape == (2, None)
    assert T.join(-1, T.col(), T.col()).type.shape == (None, 2)
    assert T.join(T.lscalar("axis"), a, b).type.shape == (None, None)
    # An axis computed from constants is a constant.
    assert T.join(T.constant(0) + 1, a, T.tensor("float64", shape=(2, 5))).type.shape == (2, 8)


def test_join_with_a_symbolic_axis():
    axis = T.lscalar("axis")
    x, y = T.matrix("x"), T.matrix("y")
    out = T.join(axis, x, y)
    weights = T.matrix("w")
    gx, gy = T.grad((out * weights).sum(), [x, y])
    fn = arignote.function([axis, x, y, weights], [out, gx, gy])
    rng = np.random.default_rng(4)
    x_value, y_value = draw(rng, (2, 2)), draw(rng, (2, 2))
    for a in (0, 1, -1, -2):
        expected = np.concatenate([x_value, y_value], axis=a)
        w_value = draw(rng, expected.shape)
        got, gx_value, gy_value = fn(a, x_value, y_value, w_value)
        np.testing.assert_array_equal(got, expected)
        first, second = np.split(w_value, [2], axis=a)
        np.testing.assert_array_equal(gx_value, first)
        np.testing.assert_array_equal(gy_value, second)
        assert inferred_shape(out, [axis, x, y], [a, x_value, y_value]) == expected.shape
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        fn(2, x_value, y_value, w_value)


def test_join_of_one_tensor_is_that_tensor():
    x = T.matrix("x")
    assert T.join(0, x) is x
    assert T.concatenate([x]) is x


def test_join_errors():
    a = T.tensor("float64", shape=(2, 3), name="a")
    b = T.tensor("float64", shape=(4, 5), name="b")
    with pytest.raises(
        ValueError,
        match=r"input 1 \(b\) has static shape \(4, 5\), but input 0 "
        r"\(a\) has \(2, 3\); they must agree on axis 1",
    ):
        T.join(0, a, b)
    with pytest.raises(TypeError, match=r"input 0 \(a\) has 2, input 1 \(v\) has 1"):
        T.join(0, a, T.vector("v"))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        T.join(2, a, a)
    with pytest.raises(ValueError, match="axis -3 is out of range"):
        T.join(-3, a, a)
    with pytest.raises(TypeError, match="cannot join 0-d"):
        T.join(0, T.scalar(), T.scalar())
    with pytest.raises(TypeError, match="integer scalar"):
        T.join(T.dscalar(), a, a)
    with pytest.raises(TypeError, match="forget the"):
        T.concatenate(a, a)
    with pytest.raises(ValueError, match="at least one"):
        Join()(0)
    x, y = T.matrix("x"), T.matrix("y")
    fn = arignote.function([x, y], T.join(0, x, y))
    with pytest.raises(
        ValueError,
        match=r"input 1 has shape \(1, 2\), but input 0 has shape "
        r"\(2, 3\)",
    ):
        fn(np.ones((2, 3)), np.ones((1, 2)))


def test_horizontal_and_vertical_stack():
    rng = np.random.default_rng(5)
    a_value, b_value = draw(rng, (2, 3)), draw(rng, (2, 3))
    a, b = T.matrix("a"), T.matrix("b")
    fn = arignote.function([a, b], [T.horizontal_stack(a, b), T.vertical_stack(a, b)])
    horizontal, vertical = fn(a_value, b_value)
    np.testing.assert_array_equal(horizontal, np.hstack([a_value, b_value]))
    np.testing.assert_array_equal(vertical, np.vstack([a_value, b_value]))
    with pytest.raises(TypeError, match="joins matrices"):
        T.horizontal_stack(a, T.vector())


# ---- stack ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, count, axis",
    [
        ((), 3, 0),
        ((3,), 2, 0),
        ((3,), 2, 1),
        ((3,), 2, -1),
        ((2, 3), 3, 2),
        ((2, 3), 2, -2),
        ((0,), 2, 0),
        ((1, 3), 2, 1),
    ],
    ids=str,
)
def test_stack_values_and_gradient(shape, count, axis):
    rng = np.random.default_rng(6)
    values = [draw(rng, shape) for _ in range(count)]
    inputs = [typed_like(v, f"x{i}") for i, v in enumerate(values)]
    out = T.stack(inputs, axis=axis)
    expected = np.stack(values, axis=axis)
    assert out.ndim == expected.ndim
    np.testing.assert_array_equal(arignote.function(inputs, out)(*values), expected)
    if 0 not in shape:
        verify_grad(lambda *xs: T.stack(xs, axis=axis), values, n_tests=1, rng=rng)


def test_stack_spellings():
    a, b, c = T.scalars("a", "b", "c")
    values = {a: 1.0, b: 2.0, c: 3.0}
    for out in (
        T.stack([a, b, c]),
        T.stack(a, b, c),
        T.stack((a, b, c), 0),
        T.as_tensor_variable([a, b, c]),
    ):
        assert out.type.shape == (3,)
        np.testing.assert_array_equal(out.eval(values), [1.0, 2.0, 3.0])
    u, v = T.vectors("u", "v")
    out = T.stack([u, v], 1)
    np.testing.assert_array_equal(
        out.eval({u: np.arange(2.0), v: np.ones(2)}), np.stack([np.arange(2.0), np.ones(2)], 1)
    )
    rows = T.as_tensor_variable([T.as_tensor_variable([a, 1.0]), T.stack([b, c])])
    np.testing.assert_array_equal(rows.eval(values), [[1.0, 1.0], [2.0, 3.0]])


def test_stack_of_scalars_upcasts():
    i, f = T.iscalar("i"), T.fscalar("f")
    out = T.stack([i, f, 2])
    assert out.dtype == "float64"
    np.testing.assert_array_equal(out.eval({i: 3, f: 0.5}), [3.0, 0.5, 2.0])
    assert T.stack([i, 2]).dtype == "int32"


def test_stack_errors():
    with pytest.raises(TypeError, match=r"tensor 0 \(u\) has 1, tensor 1 \(m\) has 2"):
        T.stack([T.vector("u"), T.matrix("m")])
    with pytest.raises(ValueError, match="axis 3 is out of range for 3 dimensions"):
        T.stack([T.matrix(), T.matrix()], axis=3)
    with pytest.raises(ValueError, match="at least one"):
        T.stack([])
    with pytest.raises(TypeError, match="axis twice"):
        T.stack([T.matrix()], 1, axis=0)


# ---- split ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, sizes, axis",
    [
        ((5,), [2, 3], 0),
        ((4, 6), [1, 0, 5], 1),
        ((6, 2), [6], 0),
        ((3, 4, 2), [2, 2], -2),
        ((0, 3), [0, 0], 0),
    ],
    ids=str,
)
def test_split_values(shape, sizes, axis):
    rng = np.random.default_rng(7)
    value = draw(rng, shape)
    x = typed_like(value, "x")
    expected = np.split(value, np.cumsum(sizes)[:-1], axis=axis)
    symbolic_sizes = T.lvector("sizes")
    for splits in (sizes, symbolic_sizes):
        pieces = T.split(x, splits, len(sizes), axis)
        assert isinstance(pieces, list) and len(pieces) == len(sizes)
        fn = arignote.function([x, symbolic_sizes], pieces, on_unused_input="ignore")
        got = fn(value, np.asarray(sizes))
        for piece, want in zip(got, expected):
            np.testing.assert_array_equal(piece, want)
        for piece, want in zip(pieces, expected):
            assert inferred_shape(piece, [x, symbolic_sizes], [value, sizes]) == want.shape
    static = T.split(T.tensor("float64", shape=shape), sizes, len(sizes), axis)
    assert [p.type.shape for p in static] == [w.shape for w in expected]


def test_split_with_symbolic_sizes_in_a_list():
    n = T.lscalar("n")
    x = T.tensor("float64", shape=(5, None), name="x")
    first, second = T.split(x, [n, 2], 2, 0)
    assert (first.type.shape, second.type.shape) == ((None, None), (2, None))
    value = np.arange(10.0).reshape(5, 2)
    got_first, got_second = arignote.function([x, n], [first, second])(value, 3)
    np.testing.assert_array_equal(got_first, value[:3])
    np.testing.assert_array_equal(got_second, value[3:])


def test_split_gradient_also_through_unused_pieces():
    rng = np.random.default_rng(8)

    def build(x):
        first, _, third = T.split(x, [2, 1, 3], 3, axis=1)
        return (first**2).sum() + 3 * third.sum()

    verify_grad(build, [draw(rng, (2, 6))], n_tests=1, rng=rng)


def test_split_errors():
    x = T.tensor("float64", shape=(5,), name="x")
    with pytest.raises(
        ValueError,
        match=r"sizes \[2, 2\] add up to 4, but axis 0 of x has "
        r"length 5",
    ):
        T.split(x, [2, 2], 2)
    with pytest.raises(ValueError, match="into 3 pieces got 2 sizes"):
        T.split(x, [2, 3], 3)
    with pytest.raises(ValueError, match="at least one piece"):
        Split(0)
    with pytest.raises(TypeError, match="integer vector"):
        T.split(x, T.dvector(), 2)
    with pytest.raises(TypeError, match="0-d"):
        T.split(T.scalar(), [1], 1)
    sizes = T.lvector("sizes")
    fn = arignote.function([x, sizes], T.split(x, sizes, 2))
    with pytest.raises(ValueError, match=r"sizes \[1, 1\] must be non-negative and add up to 5"):
        fn(np.ones(5), np.array([1, 1]))
    with pytest.raises(ValueError, match="into 2 pieces got 3 sizes"):
        fn(np.ones(5), np.array([1, 1, 3]))


# ---- stacklists -----------------------------------------------------------------------------
def test_stacklists_nests_into_leading_axes():
    a, b, c, d = T.scalars("a", "b", "c", "d")
    x = T.stacklists([[a, b], [c, d]])
    assert x.type.shape == (2, 2)
    got = arignote.function([a, b, c, d], x)(1.0, 2.0, 3.0, 4.0)
    np.testing.assert_array_equal(got, [[1.0, 2.0], [3.0, 4.0]])
    m = T.matrix("m")
    value = np.arange(6.0).reshape(2, 3)
    cube = T.stacklists([[m, 2 * m], [m, m], [m, m]])
    assert cube.ndim == 4
    np.testing.assert_array_equal(
        cube.eval({m: value}), np.array([[value, 2 * value], [value, value], [value, value]])
    )
    assert T.stacklists(m) is m
    with pytest.raises(TypeError, match="same number of dimensions"):
        T.stacklists([[a, b], [m, c]])


# ---- the table: value, gradient and every node's infer_shape --------------------------------
ANY = uniform(-3, 3)
MIXED = (("float64", "float64"), ("int8", "float32"), ("bool", "int16"))
TWO = (("float64", "float64"), ("float32", "float32"))


def row(name, build, reference, layouts, dtypes=MIXED, domains=(ANY, ANY), grad=True):
    return OpCase(name, build, reference, domains, dtypes, layouts, grad=grad)


CASES = [
    row(
        "join_0",
        lambda a, b: T.join(0, a, b),
        lambda a, b: np.concatenate([a, b], 0),
        (((2, 3), (4, 3)), ((0, 2), (1, 2)), ((1, 3), (1, 3))),
    ),
    row(
        "concatenate_last",
        lambda a, b: T.concatenate([a, b], axis=-1),
        lambda a, b: np.concatenate([a, b], -1),
        (((2, 3), (2, 1)), ((3,), (0,)), ((2, 1, 2), (2, 1, 3))),
    ),
    row(
        "stack_1",
        lambda a, b: T.stack([a, b], axis=1),
        lambda a, b: np.stack([a, b], 1),
        (((2, 3), (2, 3)), ((0,), (0,)), ((1, 2), (1, 2))),
    ),
    row(
        "stack_scalars",
        lambda a, b: T.stack([a, b, a]),
        lambda a, b: np.stack([a, b, a]),
        (((), ()),),
        TWO,
    ),
    row(
        "stacklists",
        lambda a, b: T.stacklists([[a, b], [b, a], [a, a]]),
        lambda a, b: np.array([[a, b], [b, a], [a, a]]),
        (((2,), (2,)), ((), ()), ((0, 1), (0, 1))),
        TWO,
    ),
    row(
        "split_piece",
        lambda x: T.split(x, [1, 3], 2, axis=1)[1],
        lambda x: x[:, 1:],
        (((2, 4),), ((0, 4),), ((1, 4, 2),)),
        (("float64",), ("int8",)),
        (ANY,),
    ),
    row(
        "split_rejoined",
        lambda x: T.join(0, *reversed(T.split(x, [2, 0, 1], 3))),
        lambda x: np.concatenate([x[2:], x[:2]]),
        (((3,),), ((3, 2),)),
        (("float64",), ("float32",)),
        (ANY,),
    ),
]
