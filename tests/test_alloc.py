"""alloc, zeros/ones(_like), arange, eye, identity_like, tri and mgrid/ogrid vs NumPy;
``CASES`` at the end is the family's table."""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote import config
from arignote.gradient import DisconnectedInputError, verify_grad
from arignote.tensor.alloc import Alloc, ARange
from arignote.tensor.shape import shape_i
from tests.helpers import OpCase, uniform


def typed_like(value, name):
    """A symbolic input for ``value``: its dtype, broadcastable where its length is 1."""
    shape = [1 if n == 1 else None for n in np.shape(value)]
    return T.TensorType(str(value.dtype), shape=shape).make_variable(name)


def inferred_shape(output, inputs, values):
    """The output shape that ``infer_shape`` predicts, evaluated on ``values``."""
    node = output.owner
    shapes = [tuple(shape_i(i, d) for d in range(i.ndim)) for i in node.inputs]
    predicted = node.op.infer_shape(node, shapes)[output.index]
    fn = arignote.function(
        inputs, [T.as_tensor_variable(s) for s in predicted], on_unused_input="ignore"
    )
    return tuple(int(s) for s in fn(*values))


# ---- alloc ----------------------------------------------------------------------------------
# (shape of the value, requested shape): scalars, rows, columns, leading new axes, empty.
ALLOC_CASES = [
    ((), (2, 3)),
    ((), ()),
    ((3,), (2, 3)),
    ((1, 3), (4, 3)),
    ((2, 1), (2, 5)),
    ((1, 1), (0, 3)),
    ((3,), (0, 3)),
    ((2, 3), (4, 2, 3)),
    ((1,), (2, 1, 4)),
]


@pytest.mark.parametrize("value_shape, shape", ALLOC_CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int16", "bool"])
def test_alloc_values_with_constant_and_symbolic_shapes(value_shape, shape, dtype):
    rng = np.random.default_rng(0)
    value = np.asarray(rng.standard_normal(value_shape) * 3, dtype=dtype)
    v = typed_like(value, "v")
    expected = np.broadcast_to(value, shape)

    constant_shape = T.alloc(v, *shape)
    assert constant_shape.type.shape == shape
    assert constant_shape.dtype == dtype
    got = arignote.function([v], constant_shape)(value)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)

    lengths = [T.lscalar(f"n{i}") for i in range(len(shape))]
    symbolic_shape = T.alloc(v, *lengths)
    assert symbolic_shape.ndim == len(shape)
    fn = arignote.function([v, *lengths], symbolic_shape)
    np.testing.assert_array_equal(fn(value, *shape), expected)
    assert inferred_shape(symbolic_shape, [v, *lengths], [value, *shape]) == shape


def test_alloc_of_a_constant_is_a_known_constant():
    assert T.get_scalar_constant_value(T.zeros((2, 3))) == 0
    assert T.get_scalar_constant_value(T.alloc(T.constant(2.5), T.lscalar("n"))) == 2.5
    with pytest.raises(T.NotScalarConstantError):
        T.get_scalar_constant_value(T.alloc(T.dscalar("x"), 3))


def test_alloc_result_is_a_fresh_writable_array():
    v = T.vector("v")
    value = np.arange(3.0)
    got = arignote.function([v], T.alloc(v, 2, 3))(value)
    got[0, 0] = 7.0
    assert value[0] == 0.0


def test_alloc_static_shape_comes_from_the_value_where_the_shape_is_symbolic():
    n = T.lscalar("n")
    assert T.alloc(T.tensor("float64", shape=(None, 4)), n, n).type.shape == (None, 4)
    assert T.alloc(T.row(), n, n).type.shape == (None, None)
    assert T.alloc(1.0, n, 3).type.shape == (None, 3)
    # A shape argument computed from constants is still a constant.
    assert T.alloc(1.0, T.constant(2) + 1).type.shape == (3,)


@pytest.mark.parametrize(
    "value_shape, shape",
    [((3,), (2, 3)), ((1, 3), (4, 3)), ((2, 1), (2, 5)), ((2, 3), (4, 2, 3)), ((1,), (2, 3))],
    ids=str,
)
def test_alloc_gradient_sums_over_the_broadcast_axes(value_shape, shape):
    """verify_grad's inputs have unknown lengths: broadcastable axes are added explicitly."""
    rng = np.random.default_rng(1)
    squeezed = [n for n in value_shape if n != 1]
    kept = iter(range(len(squeezed)))
    pattern = ["x" if n == 1 else next(kept) for n in value_shape]

    def build(v):
        return T.alloc(v.dimshuffle(pattern), *shape)

    verify_grad(build, [rng.standard_normal(squeezed)], n_tests=1, rng=rng)


def test_alloc_gradient_of_a_scalar_and_shapes_are_disconnected():
    x = T.dscalar("x")
    n = T.lscalar("n")
    cost = (T.alloc(x, n, 3) * np.arange(3.0)).sum()
    gx = T.grad(cost, x)
    assert float(gx.eval({x: 2.0, n: 4})) == 4 * 3.0
    with pytest.raises(DisconnectedInputError):
        T.grad(cost, T.dscalar("other"))
    assert Alloc().connection_pattern(cost.owner.inputs[0].owner.inputs[0].owner) == [
        [True],
        [False],
        [False],
    ]


def test_alloc_errors():
    n = T.lscalar("n")
    with pytest.raises(ValueError, match=r"cannot broadcast .* axis 1 has length 3, not 4"):
        T.alloc(T.tensor("float64", shape=(3,), name="v"), 2, 4)
    with pytest.raises(ValueError, match="has 2 dimensions, more than the 1"):
        T.alloc(T.matrix("m"), 3)
    with pytest.raises(ValueError, match="must not be negative"):
        T.alloc(1.0, 2, -1)
    with pytest.raises(TypeError, match="integer scalar"):
        T.alloc(1.0, T.dscalar("f"))
    with pytest.raises(TypeError, match="integer scalar"):
        T.alloc(1.0, T.lvector("s"))
    v = T.vector("v")
    fn = arignote.function([v, n], T.alloc(v, n, 3))
    with pytest.raises(ValueError, match=r"shape \(1,\) to \(2, 3\).*not declared broadcastable"):
        fn(np.ones(1), 2)
    with pytest.raises(ValueError, match="negative"):
        fn(np.ones(3), -1)


# ---- zeros, ones, zeros_like, ones_like -------------------------------------------------------
@pytest.mark.parametrize("make, fill_value", [(T.zeros, 0), (T.ones, 1)])
def test_zeros_and_ones(make, fill_value):
    assert make((2, 3)).dtype == config.floatX
    np.testing.assert_array_equal(make((2, 3)).eval(), np.full((2, 3), fill_value))
    np.testing.assert_array_equal(make([0, 4]).eval(), np.full((0, 4), fill_value))
    np.testing.assert_array_equal(make(3, dtype="int32").eval(), np.full(3, fill_value, "int32"))
    assert make(()).eval().shape == ()
    with config.change_flags(floatX="float32"):
        assert make((2,)).dtype == "float32"

    n = T.lscalar("n")
    x = T.matrix("x")
    assert make((n, 2)).type.shape == (None, 2)
    assert make(n).eval({n: 4}).shape == (4,)
    assert make((n, 2)).eval({n: 3}).shape == (3, 2)
    from_shape = make(x.shape, dtype="int8")
    assert from_shape.dtype == "int8"
    np.testing.assert_array_equal(
        from_shape.eval({x: np.empty((2, 5))}), np.full((2, 5), fill_value, "int8")
    )
    with pytest.raises(TypeError, match="no static length"):
        make(T.lvector("s"))


@pytest.mark.parametrize("make, fill_value", [(T.zeros_like, 0), (T.ones_like, 1)])
def test_zeros_like_and_ones_like(make, fill_value):
    x = T.fmatrix("x")
    value = np.arange(6, dtype="float32").reshape(2, 3)
    assert make(x).dtype == "float32"
    assert make(x, dtype="int64").dtype == "int64"
    np.testing.assert_array_equal(make(x).eval({x: value}), np.full((2, 3), fill_value))
    np.testing.assert_array_equal(make(x, "int64").eval({x: value}), np.full((2, 3), fill_value))
    assert make(T.row()).broadcastable == (True, False)
    np.testing.assert_array_equal(make(np.ones((0, 2))).eval(), np.ones((0, 2)) * fill_value)


# ---- arange ---------------------------------------------------------------------------------
ARANGE_CASES = [
    (5,),
    (2, 9),
    (2, 9, 3),
    (9, 2, -2),
    (0, 0),
    (5, 2),
    (0.5,),
    (1, 2, 0.25),
    (-1.5, 1.0, 0.5),
    (0, 1, 0.1),
    (3.0, -1.0, -0.7),
    (10, 0, 1),
]


@pytest.mark.parametrize("arguments", ARANGE_CASES, ids=str)
def test_arange_constant_arguments(arguments):
    out = T.arange(*arguments)
    expected = np.arange(*arguments)
    got = out.eval()
    assert got.dtype == out.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert out.type.shape == (len(expected),)


@pytest.mark.parametrize("arguments", ARANGE_CASES, ids=str)
def test_arange_symbolic_arguments(arguments):
    symbols = [T.dscalar(f"a{i}") for i in range(len(arguments))]
    out = T.arange(*symbols)
    assert out.type.shape == (None,)
    assert out.dtype == "float64"
    fn = arignote.function(symbols, out)
    np.testing.assert_allclose(fn(*arguments), np.arange(*arguments), rtol=1e-12)
    assert inferred_shape(out, symbols, arguments) == (len(np.arange(*arguments)),)


def test_arange_dtype_rule():
    # Integers widen to 64 bits (Theano: "don't be stingy"), floats take the upcast.
    assert T.arange(5).dtype == "int64"
    assert T.arange(T.bscalar(), T.iscalar()).dtype == "int64"
    assert T.arange(T.constant(np.uint8(3))).dtype == "int64"
    unsigned = [T.constant(np.uint8(3)), T.constant(np.uint16(9)), T.constant(np.uint8(2))]
    assert T.arange(*unsigned).dtype == "uint64"
    np.testing.assert_array_equal(T.arange(*unsigned).eval(), np.arange(3, 9, 2))
    assert T.arange(T.fscalar()).dtype == "float32"
    assert T.arange(T.fscalar(), T.dscalar()).dtype == "float64"
    assert T.arange(0.1).dtype == "float64"
    assert T.arange(5, dtype="float32").dtype == "float32"
    np.testing.assert_array_equal(T.arange(5, dtype="float32").eval(), np.arange(5.0))
    with config.change_flags(cast_policy="numpy+floatX", floatX="float32"):
        assert T.arange(T.iscalar()).dtype == str(np.arange(np.int32(1)).dtype)
        assert T.arange(T.lscalar(), T.fscalar()).dtype == "float32"
        assert T.arange(T.dscalar()).dtype == "float64"
    bounds = [T.scalar(dtype="uint8"), T.scalar(dtype="uint8"), T.scalar(dtype="uint8")]
    backwards = T.arange(*bounds)
    assert backwards.dtype == "uint64"
    assert inferred_shape(backwards, bounds, [np.uint8(9), np.uint8(3), np.uint8(1)]) == (0,)
    n = T.lscalar("n")
    np.testing.assert_array_equal(T.arange(n).eval({n: 4}), np.arange(4))
    np.testing.assert_array_equal(T.arange(n).eval({n: -2}), np.arange(-2))


def test_arange_gradient():
    rng = np.random.default_rng(2)
    verify_grad(
        lambda start, step: T.arange(start, 10.0, step) ** 2,
        [np.array(0.3), np.array(1.7)],
        n_tests=1,
        rng=rng,
    )
    start, stop = T.dscalar("start"), T.dscalar("stop")
    cost = T.arange(start, stop).sum()
    assert ARange("float64").connection_pattern(cost.owner.inputs[0].owner) == [
        [True],
        [False],
        [True],
    ]
    # stop only decides the length.
    with pytest.raises(DisconnectedInputError):
        T.grad(cost, stop)
    g_stop = T.grad(cost, stop, disconnected_inputs="ignore")
    assert float(g_stop.eval({start: 0.0, stop: 3.0})) == 0.0
    # An integer arange has no gradient: its float arguments get zeros.
    ints = T.arange(start, stop, dtype="int64")
    g_start = T.grad(T.cast(ints, "float64").sum() * start, start)
    assert float(g_start.eval({start: 1.0, stop: 4.0})) == float(np.arange(1, 4).sum())


def test_arange_errors():
    with pytest.raises(ValueError, match="step must not be 0"):
        T.arange(0, 5, 0)
    step = T.lscalar("step")
    with pytest.raises(ValueError, match="step must not be 0"):
        T.arange(0, 5, step).eval({step: 0})
    with pytest.raises(TypeError, match="stop must be a scalar"):
        T.arange(T.vector("v"))
    with pytest.raises(TypeError, match="real number"):
        T.arange(T.constant(True))
    with pytest.raises(TypeError, match="real numbers"):
        T.arange(3, dtype="bool")


# ---- eye and identity_like ------------------------------------------------------------------
EYE_CASES = [(3,), (2, 4), (4, 2, 1), (3, 3, -1), (0,), (3, 3, 5), (2, 0)]


@pytest.mark.parametrize("arguments", EYE_CASES, ids=str)
def test_eye(arguments):
    out = T.eye(*arguments)
    expected = np.eye(*arguments)
    assert out.dtype == config.floatX
    assert out.type.shape == expected.shape
    np.testing.assert_array_equal(out.eval(), expected)
    symbols = [T.iscalar(f"a{i}") for i in range(len(arguments))]
    symbolic = T.eye(*symbols, dtype="int8")
    assert symbolic.type.shape == (None, None)
    got = arignote.function(symbols, symbolic)(*arguments)
    assert got.dtype == "int8"
    np.testing.assert_array_equal(got, expected)
    assert inferred_shape(symbolic, symbols, arguments) == expected.shape


def test_identity_like():
    x = T.fmatrix("x")
    out = T.identity_like(x)
    assert out.dtype == "float32"
    np.testing.assert_array_equal(out.eval({x: np.ones((2, 3), "float32")}), np.eye(2, 3))
    assert T.identity_like(T.tensor("int32", shape=(4, 2))).type.shape == (4, 2)
    with pytest.raises(TypeError, match="needs a matrix"):
        T.identity_like(T.vector())


def test_eye_errors():
    with pytest.raises(TypeError, match="eye: n must be an integer scalar"):
        T.eye(T.dscalar("n"))
    with pytest.raises(TypeError, match="eye: k must be an integer scalar"):
        T.eye(3, 3, 1.5)
    with pytest.raises(ValueError, match="must not be negative"):
        T.eye(-1)


# ---- tri, mgrid, ogrid -----------------------------------------------------------------------
def test_tri_static_shape_dtype_and_symbolic_k():
    assert T.tri(3, 4).type.shape == (3, 4) and T.tri(3).dtype == config.floatX
    n = T.lscalar("n")
    k = T.lscalar("k")
    f = arignote.function([n, k], T.tri(n, 3, k, dtype="int8"))
    for size, offset in [(0, 0), (2, -1), (4, 2)]:
        got = f(size, offset)
        assert got.dtype == np.int8
        np.testing.assert_array_equal(got, np.tri(size, 3, offset, dtype="int8"))


def test_grids_are_lists_with_static_shapes():
    grids = T.mgrid[0:3, 0:4]
    assert isinstance(grids, list) and len(grids) == 2
    assert [g.type.shape for g in grids] == [(3, 4), (3, 4)]
    assert [g.type.shape for g in T.ogrid[0:3, 0:4]] == [(3, 1), (1, 4)]
    for got, expected in zip(T.mgrid[0:3, 1:7:2], np.mgrid[0:3, 1:7:2]):
        np.testing.assert_array_equal(got.eval(), expected)
    (single,) = T.mgrid[2:5]
    np.testing.assert_array_equal(single.eval(), np.mgrid[2:5])
    n = T.lscalar("n")
    f = arignote.function([n], T.ogrid[0:n, 0:2:3j])
    for got, expected in zip(f(3), np.ogrid[0:3, 0:2:3j]):
        np.testing.assert_allclose(got, expected)


def test_grid_errors():
    with pytest.raises(TypeError, match="entry 1 must be a slice"):
        T.mgrid[0:3, 2]
    with pytest.raises(ValueError, match="slice 0 has no stop"):
        T.ogrid[1:]


# ---- the table: value, gradient and every node's infer_shape --------------------------------
ANY = uniform(-3, 3)
LENGTHS = uniform(0, 4)
BOUNDS = uniform(-2, 2)
FLOAT = (("float64",), ("float32",))
INT = (("int64",), ("int32",))


def row(name, build, reference, layouts, dtypes, domains=(ANY,), grad=False, **options):
    return OpCase(name, build, reference, domains, dtypes, layouts, grad=grad, **options)


CASES = [
    row(
        "alloc",
        lambda v: T.alloc(v, 2, 3),
        lambda v: np.broadcast_to(v, (2, 3)).copy(),
        (((3,),), ((1, 3),), ((),), ((2, 1),)),
        FLOAT + (("int16",), ("bool",)),
        grad=True,
    ),
    row(
        "alloc_symbolic",
        lambda v, n: T.alloc(v, n, 1, v.shape[0]),
        lambda v, n: np.broadcast_to(v, (int(n), 1, len(v))).copy(),
        (((3,), ()), ((0,), ()), ((1,), ())),
        (("float64", "int64"), ("int8", "int32")),
        (ANY, LENGTHS),
    ),
    row(
        "zeros",
        lambda x: T.zeros((x.shape[0], 2), dtype=x.dtype) + x.dimshuffle(0, "x"),
        lambda x: np.zeros((len(x), 2), x.dtype) + x[:, None],
        (((3,),), ((0,),)),
        FLOAT,
        grad=True,
    ),
    row(
        "arange",
        lambda n: T.arange(n),
        np.arange,
        (((),),),
        INT + (("uint8",),),
        (LENGTHS,),
        out_dtype=lambda d: "int64",  # Theano's rule: 0 (int8) and a uint8 upcast to int16
    ),
    row(
        "arange_float",
        lambda a: T.arange(a, 3.0, 0.5),
        lambda a: np.arange(a, 3.0, 0.5),
        (((),),),
        (("float64",),),
        (BOUNDS,),
        grad=True,
    ),
    row("eye", lambda n: T.eye(n, 3, 1), lambda n: np.eye(n, 3, 1), (((),),), INT, (LENGTHS,)),
    row(
        "identity_like",
        lambda x: T.identity_like(x),
        lambda x: np.eye(*x.shape, dtype=x.dtype),
        (((2, 3),), ((0, 2),), ((1, 1),)),
        FLOAT + (("int8",), ("bool",)),
    ),
    row("tri", lambda n: T.tri(n, 4, -1), lambda n: np.tri(n, 4, -1), (((),),), INT, (LENGTHS,)),
    row(
        "tri_like",
        lambda x: T.tri(x.shape[0], x.shape[1], 1, dtype=x.dtype) * x,
        lambda x: np.tri(*x.shape, 1, dtype=x.dtype) * x,
        (((2, 3),), ((4, 2),), ((0, 3),)),
        FLOAT,
        grad=True,
    ),
    row(
        "mgrid",
        lambda n: T.stack(T.mgrid[0:n, 1:6:2]),
        lambda n: np.mgrid[0:n, 1:6:2],
        (((),),),
        INT,
        (LENGTHS,),
        out_dtype=lambda d: "int64",
    ),
    row(
        "mgrid_float",
        lambda a: T.stack(T.mgrid[a:3.0:0.5, 0:2]),
        lambda a: np.mgrid[a:3.0:0.5, 0:2],
        (((),),),
        (("float64",),),
        (BOUNDS,),
        grad=True,
    ),
    row(
        "mgrid_points",
        lambda a: T.stack(T.mgrid[a:2:5j]),
        lambda a: np.mgrid[a:2:5j][None],
        (((),),),
        (("float64",),),
        (BOUNDS,),
        grad=True,
    ),
    row(
        "ogrid",
        lambda n: sum(T.ogrid[0:n, 0:3, 1:2]),
        lambda n: sum(np.ogrid[0:n, 0:3, 1:2]),
        (((),),),
        INT,
        (LENGTHS,),
        out_dtype=lambda d: "int64",
    ),
]
