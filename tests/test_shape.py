"""Shape ops against NumPy: shape, shape_i, reshape, flatten, specify_shape, transpose, MakeVector,
and the broadcastability ops (addbroadcast, unbroadcast, patternbroadcast, squeeze, shape_pad*).

The focused tests come first; ``CASES`` at the end is the family's table (value, gradient and
every node's ``infer_shape`` on each layout, in ``tests/test_op_tables.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import DisconnectedInputError, grad, verify_grad
from arignote.graph.basic import Variable
from arignote.tensor.basic import get_scalar_constant_value
from arignote.tensor.shape import (
    MakeVector,
    Rebroadcast,
    Reshape,
    Shape_i,
    SpecifyShape,
    shape,
    shape_i,
)
from tests.helpers import OpCase, uniform

RNG = np.random.default_rng(20240611)


def random_array(shape, dtype="float64"):
    return RNG.standard_normal(shape).astype(dtype)


def assert_infer_shape(output, inputs, values):
    """``infer_shape`` of ``output``'s op, evaluated, gives the shape the op computes."""
    node = output.owner
    input_shapes = [tuple(shape_i(v, axis) for axis in range(v.ndim)) for v in node.inputs]
    inferred = node.op.infer_shape(node, input_shapes)[output.index]
    symbolic = [length for length in inferred if isinstance(length, Variable)]
    computed = arignote.function(inputs, [output, *symbolic], on_unused_input="ignore")(*values)
    actual, lengths = computed[0], iter(computed[1:])
    got = tuple(int(next(lengths)) if isinstance(n, Variable) else int(n) for n in inferred)
    assert got == actual.shape


# ---- shape, shape_i -----------------------------------------------------------------------
@pytest.mark.parametrize("value_shape", [(), (0,), (1,), (3, 1), (2, 0, 4), (1, 5, 2, 3)])
def test_shape_and_shape_i_match_numpy(value_shape):
    x = T.tensor("float64", shape=(None,) * len(value_shape), name="x")
    value = random_array(value_shape)
    shape_of_x = shape(x)
    assert shape_of_x.type.shape == (len(value_shape),) and shape_of_x.dtype == "int64"
    result = shape_of_x.eval({x: value})
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, value_shape)
    for axis in range(-len(value_shape), len(value_shape)):
        length = shape_i(x, axis)
        assert length.dtype == "int64" and length.ndim == 0
        assert int(length.eval({x: value})) == value_shape[axis]
        assert int(x.shape[axis].eval({x: value})) == value_shape[axis]
        assert_infer_shape(Shape_i(axis % len(value_shape))(x), [x], [value])
    assert_infer_shape(shape_of_x, [x], [value])


def test_shape_i_is_a_constant_where_the_static_shape_knows_it():
    x = T.tensor("float64", shape=(None, 4, 1), name="x")
    assert int(get_scalar_constant_value(shape_i(x, 1))) == 4
    assert int(get_scalar_constant_value(x.shape[-1])) == 1
    assert shape_i(x, 0).owner is not None
    with pytest.raises(IndexError, match="axis 3 is out of range for 3-d"):
        shape_i(x, 3)


def test_size_is_the_product_of_the_shape():
    x = T.tensor3("x")
    value = random_array((2, 0, 3))
    assert int(x.size.eval({x: value})) == 0
    assert int(x.size.eval({x: random_array((2, 5, 3))})) == 30


def test_shape_has_no_gradient_path():
    x = T.matrix("x")
    with pytest.raises(DisconnectedInputError):
        grad(T.cast(x.shape[0], "float64"), x)
    # Through shape *and* values: only the value path contributes.
    gx = grad((x * T.cast(x.shape[0], "float64")).sum(), x)
    value = random_array((3, 2))
    np.testing.assert_allclose(gx.eval({x: value}), np.full((3, 2), 3.0))


# ---- reshape ------------------------------------------------------------------------------
N = T.lscalar("n")
M = T.lscalar("m")
SHAPE_VECTOR = T.lvector("s")

# (input static shape, value shape, new shape builder, symbolic values, NumPy's new shape,
#  expected static shape)
RESHAPE_CASES = [
    ((None,), (6,), lambda x: (2, 3), {}, (2, 3), (2, 3)),
    ((None,), (6,), lambda x: (2, -1), {}, (2, -1), (2, None)),
    ((6,), (6,), lambda x: (2, -1), {}, (2, -1), (2, 3)),
    ((None, None), (3, 4), lambda x: (-1,), {}, (-1,), (None,)),
    ((None, None), (3, 4), lambda x: (N, -1), {N: 6}, (6, -1), (None, None)),
    ((None, None), (3, 4), lambda x: (N, M), {N: 2, M: 6}, (2, 6), (None, None)),
    ((None, None), (3, 4), lambda x: (x.shape[1], x.shape[0]), {}, (4, 3), (None, None)),
    ((None, 4), (3, 4), lambda x: (x.shape[1], 1, -1), {}, (4, 1, -1), (4, 1, None)),
    ((None, None), (3, 4), lambda x: SHAPE_VECTOR, {SHAPE_VECTOR: [4, 3]}, (4, 3), (None, None)),
    ((None, None), (3, 4), lambda x: SHAPE_VECTOR, {SHAPE_VECTOR: [-1, 2]}, (-1, 2), (None, None)),
    ((None, None), (0, 3), lambda x: (3, 0), {}, (3, 0), (3, 0)),
    ((None, None), (0, 3), lambda x: (-1, 3), {}, (-1, 3), (None, 3)),
    ((None, None), (0, 3), lambda x: (N, 0), {N: 5}, (5, 0), (None, 0)),
    ((None, None, None), (1, 1, 1), lambda x: (), {}, (), ()),
    ((None,), (1,), lambda x: 1, {}, (1,), (1,)),
    ((), (), lambda x: (1, 1), {}, (1, 1), (1, 1)),
]


@pytest.mark.parametrize(
    "static, value_shape, build, symbolic, numpy_shape, expected", RESHAPE_CASES
)
def test_reshape_matches_numpy(static, value_shape, build, symbolic, numpy_shape, expected):
    x = T.tensor("float64", shape=static, name="x")
    new_shape = build(x)
    out = T.reshape(x, new_shape, ndim=2 if new_shape is SHAPE_VECTOR else None)
    assert out.type.shape == expected
    value = random_array(value_shape)
    inputs = [x, *symbolic]
    values = [value, *(np.asarray(v, dtype="int64") for v in symbolic.values())]
    result = arignote.function(inputs, out)(*values)
    expected_value = value.reshape(numpy_shape)
    assert result.shape == expected_value.shape
    np.testing.assert_array_equal(result, expected_value)
    assert_infer_shape(out, inputs, values)


def test_reshape_value_against_numpy_with_explicit_shapes():
    for value_shape, new_shape in [((2, 3, 4), (4, -1, 2)), ((5, 1), (1, 5)), ((0, 4), (2, 0, 2))]:
        x = T.tensor("float64", shape=(None,) * len(value_shape))
        value = random_array(value_shape)
        np.testing.assert_array_equal(
            T.reshape(x, new_shape).eval({x: value}), value.reshape(new_shape)
        )
        np.testing.assert_array_equal(
            x.reshape(new_shape).eval({x: value}), value.reshape(new_shape)
        )


def test_reshape_keeps_dtype_and_reads_static_lengths_through_shape():
    x = T.tensor("int32", shape=(2, None), name="x")
    y = T.reshape(x, (x.shape[0], -1, 1))
    assert y.dtype == "int32" and y.type.shape == (2, None, 1)
    back = T.reshape(y, shape(x))
    assert back.type.shape == (2, None)


def test_reshape_errors_at_build_time():
    x = T.tensor("float64", shape=(2, 3), name="x")
    with pytest.raises(ValueError, match=r"static shape \(2, 3\) \(size 6\) into shape \(4, 2\)"):
        T.reshape(x, (4, 2))
    with pytest.raises(ValueError, match="no length for -1"):
        T.reshape(x, (4, -1))
    with pytest.raises(ValueError, match="at most one -1"):
        T.reshape(T.matrix(), (-1, -1))
    with pytest.raises(ValueError, match="non-negative"):
        T.reshape(T.matrix(), (-2, 3))
    with pytest.raises(ValueError, match="pass ndim="):
        T.reshape(T.matrix(), T.lvector())
    with pytest.raises(ValueError, match="ndim=3, but the new shape has 2 entries"):
        T.reshape(T.matrix(), (2, 3), ndim=3)
    with pytest.raises(TypeError, match="must be an integer scalar"):
        T.reshape(T.matrix(), (T.scalar("f"), 3))
    with pytest.raises(TypeError, match="integer vector"):
        Reshape(2)(T.matrix(), T.vector())


def test_reshape_errors_at_run_time_name_both_shapes():
    x = T.matrix("x")
    f = arignote.function([x, N], T.reshape(x, (N, 5)))
    with pytest.raises(
        ValueError, match=r"array of shape \(3, 4\) \(size 12\) into shape \(2, 5\)"
    ):
        f(random_array((3, 4)), 2)
    g = arignote.function([x, SHAPE_VECTOR], T.reshape(x, SHAPE_VECTOR, ndim=2))
    with pytest.raises(ValueError, match=r"has 3 entries, but the output should have 2"):
        g(random_array((3, 4)), np.array([1, 3, 4]))


@pytest.mark.parametrize("new_shape", [(4, 3), (2, -1, 2), (12,)])
def test_reshape_gradient(new_shape):
    verify_grad(lambda a: T.reshape(a, new_shape) ** 2, [random_array((3, 4))], rng=RNG)


def test_reshape_gradient_with_symbolic_lengths():
    x = T.matrix("x")
    cost = (T.reshape(x, (N, -1)) * np.arange(12.0).reshape(6, 2)).sum()
    gx = grad(cost, x)
    np.testing.assert_allclose(
        gx.eval({x: random_array((3, 4)), N: 6}), np.arange(12.0).reshape(3, 4)
    )


# ---- flatten ------------------------------------------------------------------------------
@pytest.mark.parametrize("value_shape", [(3,), (2, 3), (2, 0, 4), (1, 3, 1, 2), (0,), (2, 1, 0)])
def test_flatten_keeps_leading_axes_and_collapses_the_rest(value_shape):
    x = T.tensor("float64", shape=(None,) * len(value_shape), name="x")
    value = random_array(value_shape)
    for ndim in range(1, len(value_shape) + 1):
        out = T.flatten(x, ndim)
        assert out.ndim == ndim
        expected_shape = value_shape[: ndim - 1] + (int(np.prod(value_shape[ndim - 1 :])),)
        result = out.eval({x: value})
        np.testing.assert_array_equal(result, value.reshape(expected_shape))
        assert_infer_shape(out, [x], [value])
    np.testing.assert_array_equal(x.flatten().eval({x: value}), value.ravel())


def test_flatten_static_shape_and_errors():
    x = T.tensor("float64", shape=(None, 3, 4), name="x")
    assert T.flatten(x, 2).type.shape == (None, 12)
    assert T.flatten(x, 3).type.shape == (None, 3, 4)
    assert T.flatten(T.tensor("float64", shape=(2, 1, 1)), 2).type.shape == (2, 1)
    assert T.flatten(T.scalar()).type.shape == (1,)
    assert T.flatten(x, outdim=2).type.shape == (None, 12)
    with pytest.raises(ValueError, match="ndim must be between 1 and 3"):
        T.flatten(x, 4)
    with pytest.raises(ValueError, match="ndim must be between 1 and 3"):
        T.flatten(x, 0)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_flatten_gradient(ndim):
    verify_grad(lambda a: T.flatten(a, ndim) * 3.0, [random_array((2, 3, 2))], rng=RNG)


# ---- specify_shape ------------------------------------------------------------------------
def test_specify_shape_refines_static_shape_and_checks_at_run_time():
    x = T.matrix("x")
    y = T.specify_shape(x, (None, 1))
    assert y.type.shape == (None, 1) and y.broadcastable == (False, True)
    value = random_array((4, 1))
    np.testing.assert_array_equal(y.eval({x: value}), value)
    with pytest.raises(
        AssertionError,
        match=r"expected shape \(\?, 1\), but the value has "
        r"shape \(4, 2\)",
    ):
        y.eval({x: random_array((4, 2))})
    assert T.specify_shape(x, (None, None)) is x
    assert T.specify_shape(T.tensor("float64", shape=(2, 3)), (2, 3)).owner is None


def test_specify_shape_with_symbolic_lengths():
    x = T.matrix("x")
    other = T.matrix("other")
    y = T.specify_shape(x, other.shape)
    assert isinstance(y.owner.op, SpecifyShape) and y.type.shape == (None, None)
    value = random_array((2, 3))
    f = arignote.function([x, other], y)
    np.testing.assert_array_equal(f(value, random_array((2, 3))), value)
    with pytest.raises(AssertionError, match=r"expected shape \(2, 5\)"):
        f(value, random_array((2, 5)))
    z = T.specify_shape(x, (N, 3))
    assert z.type.shape == (None, 3)
    assert_infer_shape(z, [x, N], [value, 2])
    assert_infer_shape(y, [x, other], [value, random_array((2, 3))])


def test_specify_shape_errors_at_build_time():
    x = T.tensor("float64", shape=(2, None), name="x")
    with pytest.raises(ValueError, match=r"contradicts the specified length 3 of axis 0"):
        T.specify_shape(x, (3, None))
    with pytest.raises(ValueError, match="has 2 dimensions, but the shape has 3 entries"):
        T.specify_shape(x, (2, 3, 4))
    with pytest.raises(ValueError, match="negative"):
        T.specify_shape(x, (2, -1))
    with pytest.raises(TypeError, match="must be an integer scalar"):
        T.specify_shape(x, (2, T.scalar()))


def test_specify_shape_gradient_and_type_conversion():
    verify_grad(lambda a: T.specify_shape(a, (3, 2)) * 2.0, [random_array((3, 2))], rng=RNG)
    narrow = T.TensorType("float64", shape=(3, None))
    converted = narrow.convert_variable(T.matrix("m"))
    assert converted.type == narrow


# ---- transpose ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value_shape, axes",
    [
        ((2, 3), None),
        ((2, 3, 4), None),
        ((2, 3, 4), (1, 0, 2)),
        ((2, 0, 4), (-1, 0, 1)),
        ((5,), None),
        ((), None),
        ((1, 3), (1, 0)),
    ],
)
def test_transpose_matches_numpy(value_shape, axes):
    x = T.tensor("float64", shape=(None,) * len(value_shape), name="x")
    value = random_array(value_shape)
    out = T.transpose(x, axes)
    np.testing.assert_array_equal(out.eval({x: value}), np.transpose(value, axes))
    if axes is None:
        np.testing.assert_array_equal(x.T.eval({x: value}), value.T)
    else:
        np.testing.assert_array_equal(x.transpose(*axes).eval({x: value}), value.transpose(axes))
    if value.size:
        verify_grad(lambda a: T.transpose(a, axes) * 2.0, [value], rng=RNG)


def test_transpose_static_shape_and_errors():
    x = T.tensor("float64", shape=(2, None, 1))
    assert x.T.type.shape == (1, None, 2)
    with pytest.raises(ValueError, match="not a permutation"):
        T.transpose(x, (0, 1))
    with pytest.raises(ValueError, match="repeats an axis"):
        T.transpose(x, (0, 0, 1))


# ---- MakeVector -----------------------------------------------------------------------------
def test_make_vector_values_dtype_and_gradient():
    n = T.iscalar("k")
    v = MakeVector("int64")(n, 3, N)
    assert v.type.shape == (3,) and v.dtype == "int64"
    np.testing.assert_array_equal(arignote.function([n, N], v)(np.int32(4), 7), np.array([4, 3, 7]))
    assert MakeVector("int64")().eval().shape == (0,)
    with pytest.raises(TypeError, match="does not fit in int64"):
        MakeVector("int64")(T.scalar("f"))
    with pytest.raises(TypeError, match="must be 0-d"):
        MakeVector("float64")(T.vector("v"))
    verify_grad(
        lambda a, b: MakeVector("float64")(a, b, a * b), [np.array(1.5), np.array(-0.5)], rng=RNG
    )
    assert_infer_shape(v, [n, N], [np.int32(4), 7])


def test_test_values_report_a_bad_reshape_at_the_line_that_builds_it():
    x = T.matrix("x")
    x.tag.test_value = random_array((2, 3))
    with arignote.config.change_flags(compute_test_value="raise"):
        assert T.reshape(x, (3, 2)).tag.test_value.shape == (3, 2)
        with pytest.raises(ValueError, match=r"array of shape \(2, 3\) \(size 6\) into shape"):
            T.reshape(x, (4, 2))


# ---- the table: every shape op, value against NumPy, gradient, infer_shape ----------------------
ANY = uniform(-3, 3)
ALL = (("float64",), ("float32",), ("int8",), ("bool",))
FLOATS = (("float64",), ("float32",))


def row(name, build, reference, layouts, dtypes=ALL, grad=True, domains=(ANY,), **options):
    return OpCase(name, build, reference, domains, dtypes, layouts, grad=grad, **options)


def flat_shape(x):
    return np.array(x.shape, dtype="int64")


CASES = [
    row("shape", lambda x: x.shape, flat_shape, (((2, 3),), ((0, 4),), ((),), ((1,),)), grad=False),
    row(
        "shape_i",
        lambda x: Shape_i(1)(x),
        lambda x: np.int64(x.shape[1]),
        (((2, 3),), ((4, 0),)),
        grad=False,
    ),
    row(
        "make_vector",
        lambda x: T.stack([x, 2 * x, x]),
        lambda x: np.stack([x, 2 * x, x]),
        (((),),),
        FLOATS,
    ),
    row(
        "reshape",
        lambda x: T.reshape(x, (2, -1)),
        lambda x: x.reshape(2, -1),
        (((2, 6),), ((4, 3, 1),), ((0, 2),), ((2,),)),
    ),
    row(
        "reshape_symbolic",
        lambda x: T.reshape(x, (x.shape[1], 1, x.shape[0])),
        lambda x: x.reshape(x.shape[1], 1, x.shape[0]),
        (((2, 3),), ((1, 4),), ((0, 3),)),
    ),
    row(
        "flatten_2",
        lambda x: T.flatten(x, 2),
        lambda x: x.reshape(x.shape[0], -1),
        (((2, 3, 4),), ((2, 0, 3),), ((1, 1, 3),)),
    ),
    row("ravel", lambda x: T.ravel(x), np.ravel, (((2, 3),), ((),), ((0, 2),), ((3, 1),))),
    row(
        "specify_shape",
        lambda x: T.specify_shape(x, (x.shape[0], 3)),
        lambda x: x,
        (((2, 3),), ((0, 3),), ((1, 3),)),
    ),
    row(
        "transpose",
        lambda x: T.transpose(x, (1, 2, 0)),
        lambda x: np.transpose(x, (1, 2, 0)),
        (((2, 3, 4),), ((1, 3, 0),)),
    ),
    row("transpose_default", lambda x: x.T, np.transpose, (((2, 3),), ((4,),), ((1, 3),))),
    row(
        "swapaxes",
        lambda x: T.swapaxes(x, 0, -1),
        lambda x: np.swapaxes(x, 0, -1),
        (((2, 3, 4),), ((1, 2),), ((0, 3),)),
    ),
    row(
        "shape_padleft",
        lambda x: T.shape_padleft(x, 2),
        lambda x: x[None, None],
        (((2, 3),), ((),), ((0,),)),
    ),
    row(
        "shape_padright",
        lambda x: T.shape_padright(x),
        lambda x: x[..., None],
        (((2, 3),), ((),), ((1,),)),
    ),
    row(
        "shape_padaxis",
        lambda x: T.shape_padaxis(x, -2),
        lambda x: np.expand_dims(x, -2),
        (((2, 3),), ((4,),), ((0, 1),)),
    ),
    row(
        "expand_dims",
        lambda x: T.expand_dims(x, (0, 3)),
        lambda x: np.expand_dims(x, (0, 3)),
        (((2, 3),), ((1, 0),)),
    ),
    row(
        "addbroadcast",
        lambda x, y: T.addbroadcast(T.unbroadcast(x, 1), 1) * y,
        lambda x, y: x * y,
        (((3, 1), (3, 4)), ((0, 1), (0, 2)), ((1, 1), (1, 1))),
        (("float64", "float64"), ("float32", "int8")),
        domains=(ANY, ANY),
    ),
    row(
        "unbroadcast",
        lambda x: T.unbroadcast(x, 0, -1),
        lambda x: x,
        (((1, 1),), ((1, 3),), ((2, 3),)),
    ),
    row(
        "patternbroadcast",
        lambda x: T.patternbroadcast(T.unbroadcast(x, 0), (True, False)),
        lambda x: x,
        (((1, 3),), ((1, 1),), ((1, 0),)),
    ),
    row(
        "squeeze",
        lambda x: T.squeeze(x),
        np.squeeze,
        (((3, 1, 4),), ((1, 1),), ((2, 3),), ((1, 0, 1),)),
    ),
    row(
        "squeeze_axis",
        lambda x: T.squeeze(T.unbroadcast(x, 0), 0),
        lambda x: np.squeeze(x, 0),
        (((1, 3),), ((1, 1),), ((1, 0, 2),)),
    ),
]


# ---- broadcastability: addbroadcast, unbroadcast, patternbroadcast, squeeze ------------------
def test_rebroadcast_changes_only_the_static_shape():
    x = T.matrix("x")
    assert T.addbroadcast(x, 1).type.shape == (None, 1)
    assert T.addbroadcast(x, 0, -1).type.shape == (1, 1)
    r = T.row("r")
    assert T.addbroadcast(r, 0) is r
    assert T.unbroadcast(x, 0) is x
    assert T.unbroadcast(r, 0).type.shape == (None, None)
    assert T.unbroadcast(T.tensor("float64", shape=(1, 3)), 0, 1).type.shape == (None, 3)
    both = T.patternbroadcast(r, (False, True))
    assert both.type.shape == (None, 1) and isinstance(both.owner.op, Rebroadcast)
    assert both.owner.op.axis == ((0, False), (1, True))
    assert T.patternbroadcast(r, (True, False)) is r


def test_addbroadcast_lets_an_axis_broadcast_and_checks_its_length():
    x = T.matrix("x")
    z = T.matrix("z")
    f = arignote.function([x, z], T.addbroadcast(x, 1) + z)
    np.testing.assert_array_equal(f(np.ones((2, 1)), np.ones((2, 3))), np.full((2, 3), 2.0))
    with pytest.raises(ValueError, match=r"axis 1 was declared broadcastable.*axis 1 has length 3"):
        f(np.ones((2, 3)), np.ones((2, 3)))
    # The error that Elemwise raises points at this function.
    with pytest.raises(ValueError, match=r"T\.addbroadcast"):
        arignote.function([x, z], x + z)(np.ones((2, 1)), np.ones((2, 3)))


def test_rebroadcast_gradient_restores_the_input_broadcastability():
    r = T.row("r")
    loose = T.unbroadcast(r, 0)
    g = grad((loose * np.arange(3.0)).sum(), r)
    assert g.type.shape[0] == 1
    np.testing.assert_array_equal(g.eval({r: np.zeros((1, 3))}), [[0.0, 1.0, 2.0]])
    node = T.addbroadcast(T.matrix(), 0).owner
    back = node.op.L_op(node.inputs, node.outputs, [node.outputs[0].type()])[0]
    assert back.type.shape == (None, None)


def test_broadcastability_errors():
    x = T.tensor("float64", shape=(None, 3), name="x")
    with pytest.raises(
        ValueError, match="cannot make axis 1 of .* broadcastable: its static length is 3"
    ):
        T.addbroadcast(x, 1)
    with pytest.raises(IndexError, match="addbroadcast: axis 2 is out of range for 2 dimensions"):
        T.addbroadcast(x, 2)
    with pytest.raises(TypeError, match="unbroadcast: an axis must be an int"):
        T.unbroadcast(x, 0.5)
    with pytest.raises(ValueError, match="pattern .* has 1 entries"):
        T.patternbroadcast(x, (True,))
    with pytest.raises(ValueError, match="both made broadcastable and not"):
        Rebroadcast((0, True), (0, False))


def test_squeeze_semantics():
    t = T.tensor("float64", shape=(1, None, 1, 4))
    assert T.squeeze(t).type.shape == (None, 4)
    assert T.squeeze(t, -2).type.shape == (1, None, 4)
    assert T.squeeze(T.matrix()).type.shape == (None, None)
    # A named axis of unknown length is checked to be 1 when the function runs.
    m = T.matrix("m")
    f = arignote.function([m], T.squeeze(m, (0,)))
    np.testing.assert_array_equal(f(np.arange(3.0).reshape(1, 3)), np.arange(3.0))
    with pytest.raises(ValueError, match="axis 0 has length 2"):
        f(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="cannot remove axis 3 .* static length is 4"):
        T.squeeze(t, 3)


# ---- adding axes, swapping axes ------------------------------------------------------------
def test_added_axes_are_broadcastable_and_errors_name_the_axis():
    v = T.vector("v")
    assert T.shape_padleft(v, 0).type.shape == (None,)
    assert T.shape_padright(v, 2).type.shape == (None, 1, 1)
    assert T.shape_padaxis(v, 0).type.shape == (1, None)
    assert T.shape_padaxis(v, 1).type.shape == (None, 1)
    assert T.expand_dims(v, -1).type.shape == (None, 1)
    with pytest.raises(IndexError, match="expand_dims: axis 2 is out of range for 2 dimensions"):
        T.shape_padaxis(v, 2)
    with pytest.raises(ValueError, match="repeats an axis"):
        T.expand_dims(v, (0, -3))
    with pytest.raises(ValueError, match="n_ones must be a non-negative int"):
        T.shape_padleft(v, -1)
    with pytest.raises(IndexError, match="swapaxes: axis -3 is out of range"):
        T.swapaxes(T.matrix(), 0, -3)
    assert T.swapaxes(T.tensor("float64", shape=(2, None, 4)), 0, 2).type.shape == (4, None, 2)
