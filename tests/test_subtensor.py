"""Basic indexing, set_subtensor/inc_subtensor and nonzero against NumPy.

``CASES`` is the op table (one row per op and index family, run by ``tests/test_op_tables.py``);
the tests before it cover random basic indices, static shapes and errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import DisconnectedInputError, NullTypeGradError, grad, verify_grad
from arignote.tensor.advanced_subtensor import AdvancedSubtensor
from arignote.tensor.basic import get_scalar_constant_value
from arignote.tensor.subtensor import IncSubtensor, Subtensor
from tests.helpers import OpCase, assert_infer_shape, uniform

RNG = np.random.default_rng(7)


def random_array(shape, dtype="float64"):
    return RNG.standard_normal(shape).astype(dtype)


def random_index(shape, rng):
    """A random basic index for an array of ``shape``: ints, slices (any steps), None, ...."""
    items = []
    for length in shape[: rng.integers(0, len(shape) + 1)]:
        if length and rng.random() < 0.3:
            items.append(int(rng.integers(-length, length)))
            continue

        def bound(length=length):
            return None if rng.random() < 0.3 else int(rng.integers(-length - 2, length + 3))

        step = [None, 1, 2, 3, -1, -2, -3][rng.integers(0, 7)]
        items.append(slice(bound(), bound(), step))
    if rng.random() < 0.3:
        items.insert(int(rng.integers(0, len(items) + 1)), None)
    if rng.random() < 0.3:
        items.insert(int(rng.integers(0, len(items) + 1)), Ellipsis)
    return tuple(items)


def symbolic_index(index):
    """The same index with every int (and slice bound) an int64 input; returns inputs, values."""
    inputs, values = [], []

    def convert(value):
        if not isinstance(value, int):
            return value
        variable = T.lscalar(f"i{len(inputs)}")
        inputs.append(variable)
        values.append(value)
        return variable

    converted = tuple(
        slice(convert(i.start), convert(i.stop), convert(i.step))
        if isinstance(i, slice)
        else convert(i)
        for i in index
    )
    return converted, inputs, values


SHAPES = [(5,), (0,), (1,), (4, 3), (3, 0), (1, 4), (2, 3, 4), (1, 1, 3), (3, 1, 0, 2)]
INDEX_CASES = [
    (shape, random_index(shape, np.random.default_rng(seed)))
    for seed, shape in enumerate(SHAPES * 6)
]


@pytest.mark.parametrize("shape, index", INDEX_CASES)
def test_basic_indexing_matches_numpy(shape, index):
    value = random_array(shape)
    expected = value[index]

    static_x = T.tensor("float64", shape=shape, name="x")
    out = static_x[index]
    assert out.type.shape == expected.shape  # constant index, static input: exact static shape
    np.testing.assert_array_equal(out.eval({static_x: value}), expected)

    x = T.tensor("float64", shape=(None,) * len(shape), name="x")
    sym, inputs, values = symbolic_index(index)
    out = x[sym]
    result = arignote.function([x, *inputs], out)(value, *values)
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)
    subtensor = out if isinstance(out.owner.op, Subtensor) else out.owner.inputs[0]
    assert_infer_shape(subtensor, [x, *inputs], [value, *values])


def test_symbolic_step_of_either_sign_and_bounds_past_the_ends():
    v = T.vector("v")
    start, stop, step = T.lscalars("start", "stop", "step")
    out = v[start:stop:step]
    f = arignote.function([v, start, stop, step], out)
    value = np.arange(6.0)
    for a, b, c in [(0, 6, 1), (-1, -7, -1), (10, -10, -3), (-10, 10, 4), (2, 2, 1), (5, 0, 2)]:
        np.testing.assert_array_equal(f(value, a, b, c), value[a:b:c])
        assert_infer_shape(out, [v, start, stop, step], [value, a, b, c])
    assert_infer_shape(v[:start:-2], [v, start], [value, 1])


def test_numpy_and_narrow_integer_indices():
    x = T.matrix("x")
    value = random_array((4, 3))
    np.testing.assert_array_equal(x[np.int64(1), np.array(-1)].eval({x: value}), value[1, -1])
    k = T.iscalar("k")
    b = T.bscalar("b")
    f = arignote.function([x, k, b], x[k, b:])
    np.testing.assert_array_equal(f(value, np.int32(2), np.int8(-2)), value[2, -2:])


def test_constant_symbolic_indices_fold_into_the_op():
    x = T.tensor("float64", shape=(5, 4), name="x")
    out = x[T.constant(1) + 2, T.constant(-1) :]
    assert not out.owner.inputs[1:] and out.type.shape == (1,)
    assert str(out.owner.op) == "Subtensor{3, -1:}"


def test_static_shape_is_unknown_for_symbolic_bounds_and_known_for_full_slices():
    x = T.tensor("float64", shape=(5, 1, None), name="x")
    i = T.lscalar("i")
    assert x[i:].type.shape == (None, 1, None)
    assert x[:, :, 1:].type.shape == (5, 1, None)
    assert x[::-1, 0].type.shape == (5, None)
    assert T.tensor("float64", shape=(0, 3))[i:].type.shape == (0, 3)


def test_shape_entries_are_shape_i():
    x = T.tensor("float64", shape=(None, 3), name="x")
    assert int(get_scalar_constant_value(x.shape[1])) == 3
    assert int(get_scalar_constant_value(x.shape[-1])) == 3
    value = random_array((4, 3))
    assert int(x.shape[0].eval({x: value})) == 4
    np.testing.assert_array_equal(x.shape[::-1].eval({x: value}), [3, 4])


def test_scalar_read_from_a_constant_or_a_shape_is_constant():
    c = T.constant(np.array([[3, 4], [5, 6]], dtype="int64"))
    assert int(get_scalar_constant_value(c[1, 0])) == 5
    n = T.lscalar("n")
    assert int(get_scalar_constant_value(T.reshape(T.vector(), (n, 2)).shape[1])) == 2


# ---- errors -------------------------------------------------------------------------------
def test_index_out_of_range_at_run_time_names_index_axis_and_length():
    x = T.matrix("x")
    i = T.lscalar("i")
    f = arignote.function([x, i], x[1, i])
    assert f(random_array((2, 3)), -3).shape == ()
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for axis 1 with length 3"):
        f(random_array((2, 3)), 3)
    with pytest.raises(IndexError, match=r"index -4 is out of bounds for axis 1 with length 3"):
        f(random_array((2, 3)), -4)
    with pytest.raises(IndexError, match=r"index 1 is out of bounds for axis 0 with length 1"):
        f(random_array((1, 3)), 0)
    g = arignote.function([x], x[5])
    with pytest.raises(IndexError, match=r"index 5 is out of bounds for axis 0 with length 0"):
        g(random_array((0, 3)))


def test_index_out_of_range_at_build_time_when_static():
    x = T.tensor("float64", shape=(None, 3), name="x")
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for axis 1 with length 3"):
        x[0, 3]
    with pytest.raises(IndexError, match=r"index -4 is out of bounds for axis 1 with length 3"):
        x[:, -4]
    with pytest.raises(IndexError, match="index 2 is out of bounds for axis 0 with length 2"):
        T.constant(np.arange(2))[2]


def test_bad_indices_are_rejected_at_build_time():
    x = T.matrix("x")
    with pytest.raises(IndexError, match=r"too many indices for 2-d .*: 3 were given"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(TypeError, match="must be an integer"):
        x[1.5]
    with pytest.raises(TypeError, match="must be an integer, got .* dtype float64"):
        x[T.scalar("f")]
    with pytest.raises(TypeError, match="slice stop on axis 1 must be an integer"):
        x[:, :"a"]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    i = T.lscalar("i")
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::i].eval({x: random_array((2, 2)), i: 0})


@pytest.mark.parametrize(
    "index",
    [[0, 1], np.array([1, 0]), np.array([True, False]), True, ([0],), (0, [1]), np.bool_(False)],
    ids=["list", "array", "mask", "bool", "nested", "int-and-list", "bool-scalar"],
)
def test_advanced_indices_build_an_advanced_subtensor(index):
    x = T.matrix("x")
    value = random_array((2, 3))
    out = x[index]
    assert isinstance(out.owner.op, AdvancedSubtensor)
    np.testing.assert_array_equal(out.eval({x: value}), value[index])


def test_len_and_item_assignment_raise_type_errors():
    x = T.vector("x")
    with pytest.raises(TypeError, match=r"len\(\) of a symbolic variable"):
        len(x)
    with pytest.raises(TypeError, match="set_subtensor"):
        x[0] = 1.0


def test_iteration_over_a_static_length():
    x = T.tensor("float64", shape=(3, None), name="x")
    value = random_array((3, 2))
    rows = [row.eval({x: value}) for row in x]
    np.testing.assert_array_equal(np.stack(rows), value)


# ---- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "index",
    [
        (1,),
        (slice(None, None, -1),),
        (slice(1, None), -1),
        (slice(-1, 0, -2), slice(None, 2)),
        (Ellipsis, 0),
        (None, 1, slice(0, 3, 2)),
        (slice(5, 7),),
    ],
)
def test_subtensor_gradient(index):
    verify_grad(lambda a: a[index] * 2.0, [random_array((4, 3))], rng=RNG)


def test_subtensor_gradient_with_symbolic_indices():
    x = T.matrix("x")
    i, j = T.lscalars("i", "j")
    gx = grad((x[i, j::-1] ** 2).sum(), x)
    value = random_array((3, 4))
    expected = np.zeros_like(value)
    expected[2, 1::-1] = 2 * value[2, 1::-1]
    np.testing.assert_allclose(arignote.function([x, i, j], gx)(value, -1, 1), expected)


# ---- set_subtensor / inc_subtensor ----------------------------------------------------------
# (x shape, index, y static shape, y value shape)
UPDATE_CASES = [
    ((4, 3), (1,), (None,), (3,)),
    ((4, 3), (1,), (), ()),
    ((4, 3), (slice(None, None, -2), slice(1, None)), (None, None), (2, 2)),
    ((4, 3), (slice(1, 3),), (1, None), (1, 3)),
    ((4, 3), (slice(1, 3),), (None, 1), (2, 1)),
    ((4, 3), (Ellipsis, -1), (None,), (4,)),
    ((4, 3), (2, 0), (), ()),
    ((4, 3), (slice(4, None),), (None,), (3,)),
    ((0, 3), (slice(None),), (None,), (3,)),
    ((2, 3, 2), (slice(None), 1), (None,), (2,)),
    ((2, 3, 2), (None, 0), (1, 3, 2), (1, 3, 2)),
]


@pytest.mark.parametrize("set_instead_of_inc", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("x_shape, index, y_static, y_shape", UPDATE_CASES)
def test_set_and_inc_subtensor_match_numpy(x_shape, index, y_static, y_shape, set_instead_of_inc):
    x = T.tensor("float64", shape=(None,) * len(x_shape), name="x")
    y = T.tensor("float64", shape=y_static, name="y")
    update = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
    out = update(x[index], y)
    assert out.type == x.type
    x_value, y_value = random_array(x_shape), random_array(y_shape)
    expected = x_value.copy()
    if set_instead_of_inc:
        expected[index] = y_value
    else:
        expected[index] += y_value
    result = arignote.function([x, y], out)(x_value, y_value)
    np.testing.assert_array_equal(result, expected)
    assert_infer_shape(out, [x, y], [x_value, y_value])
    if x_value.size:
        verify_grad(lambda a, b: update(a[index], b) * 1.5, [x_value, y_value], rng=RNG)


def test_set_subtensor_with_symbolic_indices_and_literals():
    x = T.matrix("x")
    i, j = T.lscalars("i", "j")
    value = random_array((3, 4))
    f = arignote.function([x, i, j], T.set_subtensor(x[i, j::-1], 0.5))
    expected = value.copy()
    expected[-1, 2::-1] = 0.5
    np.testing.assert_array_equal(f(value, -1, 2), expected)
    g = arignote.function([x, i], T.inc_subtensor(x[i:], 2))
    expected = value.copy()
    expected[1:] += 2
    np.testing.assert_array_equal(g(value, 1), expected)
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with length 3"):
        f(value, 3, 0)


def test_set_subtensor_into_float32_and_int():
    x = T.fmatrix("x")
    out = T.set_subtensor(x[0], 0.1)
    assert out.dtype == "float32"
    np.testing.assert_allclose(out.eval({x: np.zeros((2, 2), "float32")})[0], np.float32(0.1))
    k = T.lvector("k")
    np.testing.assert_array_equal(T.inc_subtensor(k[1:], 3).eval({k: np.arange(3)}), [0, 4, 5])


def test_set_and_inc_subtensor_errors():
    x = T.matrix("x")
    with pytest.raises(TypeError, match=r"x must be the result of indexing a tensor"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match=r"x must be the result of indexing a tensor"):
        T.set_subtensor(x * 2, 1.0)
    with pytest.raises(ValueError, match="cannot set the 1-d x"):
        T.set_subtensor(x[0], T.matrix())
    with pytest.raises(TypeError, match="dtype float64 does not fit in .* float32"):
        T.inc_subtensor(T.fmatrix()[0], T.dvector())
    static = T.tensor("float64", shape=(4, 3))
    with pytest.raises(ValueError, match=r"static shape \(2, 3\) with .* static shape \(4,\)"):
        T.set_subtensor(static[1:3], T.tensor("float64", shape=(4,)))
    v = T.vector("v")
    g = arignote.function([x, v], T.set_subtensor(x[1:], v))
    with pytest.raises(
        ValueError,
        match=r"cannot set .* of shape \(2, 3\) with a value of shape"
        r" \(2,\)",
    ):
        g(random_array((3, 3)), random_array(2))
    with pytest.raises(ValueError, match="only dimensions declared broadcastable"):
        g(random_array((3, 3)), random_array(1))


def test_inc_subtensor_through_newaxis_checks_the_inserted_length():
    x = T.matrix("x")
    y = T.matrix("y")
    f = arignote.function([x, y], T.set_subtensor(x[None, 0], y))
    value = random_array((2, 3))
    expected = value.copy()
    expected[0] = 7.0
    np.testing.assert_array_equal(f(value, np.full((1, 3), 7.0)), expected)
    with pytest.raises(AssertionError, match=r"expected shape \(1, \?\)"):
        f(value, np.full((2, 3), 7.0))


def test_second_order_gradient_through_inc_subtensor():
    # grad of x[1:]**2 is an IncSubtensor; differentiating it again uses IncSubtensor.L_op.
    verify_grad(lambda a: grad((a[1:, ::-1] ** 3).sum(), a), [random_array((3, 2))], rng=RNG)


def test_inc_subtensor_ops_are_hashable_and_merge():
    x = T.matrix("x")
    i = T.lscalar("i")
    assert x[i, 1:].owner.op == x[i, 1:].owner.op
    assert hash(x[i, 1:].owner.op) == hash(x[i, 1:].owner.op)
    assert x[i, 1:].owner.op != x[i, 2:].owner.op
    set_op = T.set_subtensor(x[i], 1.0).owner.op
    assert isinstance(set_op, IncSubtensor) and set_op.set_instead_of_inc
    assert set_op != T.inc_subtensor(x[i], 1.0).owner.op


# ---- nonzero --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6,), (0,), (3, 4), (2, 0), (2, 3, 2)])
def test_nonzero_matches_numpy(shape):
    x = T.tensor("float64", shape=(None,) * len(shape), name="x")
    value = random_array(shape) * (RNG.random(shape) < 0.5)
    rows = T.nonzero(x)
    assert len(rows) == len(shape) and all(r.dtype == "int64" and r.ndim == 1 for r in rows)
    results = arignote.function([x], list(rows))(value)
    for result, expected in zip(results, np.nonzero(value)):
        np.testing.assert_array_equal(result, expected)
    matrix = x.nonzero(return_matrix=True)
    assert matrix.type.shape == (len(shape), None)
    np.testing.assert_array_equal(matrix.eval({x: value}), np.array(np.nonzero(value)))
    assert_infer_shape(matrix, [x], [value])


def test_nonzero_errors_and_gradient():
    with pytest.raises(ValueError, match="at least one dimension"):
        T.nonzero(T.scalar("s"))
    x = T.vector("x")
    with pytest.raises((DisconnectedInputError, NullTypeGradError)):
        grad(T.cast(T.nonzero(x, return_matrix=True), "float64").sum(), x)


# ---- the op table ---------------------------------------------------------------------------
ANY = uniform(-2, 2)


def sparse(rng, shape, dtype):
    """Values with about half of them exactly zero (bools: about half False)."""
    values = ANY(rng, shape, dtype)
    return np.where(rng.random(shape) < 0.5, values, 0).astype(dtype)


def updated(index, set_instead_of_inc):
    """The NumPy reference of ``set_subtensor``/``inc_subtensor`` at ``index``."""

    def reference(x, y):
        result = x.copy()
        if set_instead_of_inc:
            result[index] = y
        else:
            result[index] += y
        return result

    return reference


BASIC_UPDATE = (slice(1, None), slice(None, None, -2))
CASES = [
    OpCase(
        "subtensor",
        lambda x: x[1, ::-1],
        lambda x: x[1, ::-1],
        (ANY,),
        (("float64",), ("float32",), ("int16",)),
        (((3, 4),), ((2, 0),), ((2, 1, 3),)),
        grad=True,
    ),
    OpCase(
        "subtensor_newaxis_ellipsis",
        lambda x: x[None, ..., -1],
        lambda x: x[None, ..., -1],
        (ANY,),
        (("float64",),),
        (((3, 4),), ((5,),), ((0, 2),)),
        grad=True,
        grad_layouts=(((3, 4),),),
    ),
    OpCase(
        "subtensor_symbolic_bounds",
        lambda x, start: x[start:, start],
        lambda x, start: x[start:, start],
        (ANY, uniform(-3, 2)),
        (("float64", "int64"), ("float32", "int8"), ("int32", "int16")),
        (((3, 3), ()),),
    ),
    *(
        OpCase(
            name,
            lambda x, y, update=update: update(x[BASIC_UPDATE], y),
            updated(BASIC_UPDATE, name == "set_subtensor"),
            (ANY, ANY),
            (("float64", "float64"), ("float32", "float32"), ("int64", "int8")),
            (((4, 3), (3, 2)), ((4, 3), (1, 2)), ((4, 3), (2,)), ((4, 3), ()), ((1, 0), (0,))),
            grad=True,
            grad_layouts=(((4, 3), (3, 2)), ((4, 3), (1, 2)), ((4, 3), ())),
        )
        for name, update in (("set_subtensor", T.set_subtensor), ("inc_subtensor", T.inc_subtensor))
    ),
    OpCase(
        "nonzero",
        lambda x: T.nonzero(x, return_matrix=True),
        lambda x: np.array(np.nonzero(x)),
        (sparse,),
        (("float64",), ("int8",), ("bool",)),
        (((3, 4),), ((7,),), ((0, 3),), ((2, 1, 3),)),
    ),
]
