"""Advanced indexing, its set/inc, take and the nonzero family against NumPy.

``CASES`` is the op table, run by ``tests/test_op_tables.py``; the tests after it check
NumPy's placement rule on many indices (with constant and symbolic index arrays), every index
dtype, accumulation at repeated positions, the range checks and their messages, and gradients
that the table cannot express (with respect to a set's value at repeated positions, second order).
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import grad, verify_grad
from arignote.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from tests.helpers import OpCase, assert_infer_shape, uniform, variable_for

RNG = np.random.default_rng(3)
ANY = uniform(-2, 2)
FLOATS = (("float64",), ("float32",))


def sparse(rng, shape, dtype):
    """Values with about half of them exactly zero (bools: about half False)."""
    values = ANY(rng, shape, dtype)
    return np.where(rng.random(shape) < 0.5, values, 0).astype(dtype)


def indexed(index):
    """The same index for a build (symbolic ``x``) and for the NumPy reference."""
    return lambda x: x[index]


def updated(index, set_instead_of_inc):
    """The NumPy reference of an advanced set/inc: assignment, or ``np.add.at``."""

    def reference(x, y):
        result = x.copy()
        if set_instead_of_inc:
            result[index] = y
        else:
            np.add.at(result, index, y)
        return result

    return reference


def update_case(name, index, set_instead_of_inc, layouts, grad_layouts):
    update = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
    return OpCase(
        name,
        lambda x, y: update(x[index], y),
        updated(index, set_instead_of_inc),
        (ANY, ANY),
        (("float64", "float64"), ("float32", "float32"), ("int32", "int8")),
        layouts,
        grad=True,
        grad_layouts=grad_layouts,
    )


def row_picks(x):
    """``p[T.arange(n), y]``: one element per row, the NLL pattern."""
    return x[T.arange(x.shape[0]), [2, 0, 2, 1]]


REPEATS = ([0, 2, 0, 3],)
PAIRS = ([1, 1, 0], [-1, 2, -1])
SEPARATED = ([0, 1, 1], slice(None), [1, 0, 1])
CASES = [
    OpCase(
        "advanced_vector_index",
        indexed([2, 0, -1, 2]),
        indexed([2, 0, -1, 2]),
        (ANY,),
        (("float64",), ("float32",), ("int16",), ("bool",)),
        (((4, 3),), ((3,),), ((3, 0),), ((3, 1, 2),)),
        grad=True,
        grad_layouts=(((4, 3),), ((3,),)),
    ),
    OpCase(
        "advanced_empty_index",
        indexed([]),
        indexed(np.array([], dtype=int)),
        (ANY,),
        FLOATS,
        (((4, 3),), ((0,),)),
        grad=True,
        grad_layouts=(((4, 3),),),
    ),
    OpCase(
        "advanced_row_picks",
        row_picks,
        lambda x: x[np.arange(4), [2, 0, 2, 1]],
        (ANY,),
        FLOATS,
        (((4, 3),),),
        grad=True,
    ),
    OpCase(
        "advanced_separated_by_slice",
        indexed(SEPARATED),
        indexed(SEPARATED),
        (ANY,),
        FLOATS,
        (((2, 3, 2),), ((2, 0, 2),)),
        grad=True,
        grad_layouts=(((2, 3, 2),),),
    ),
    OpCase(
        "advanced_broadcast_with_int_and_newaxis",
        indexed((1, None, [[0], [2]], [1, 0, 1])),
        indexed((1, None, [[0], [2]], [1, 0, 1])),
        (ANY,),
        FLOATS,
        (((2, 3, 2),),),
        grad=True,
    ),
    OpCase(
        "advanced_symbolic_indices",
        lambda x, rows, columns: x[rows, :, columns],
        lambda x, rows, columns: x[rows, :, columns],
        (ANY, uniform(-3, 2), uniform(0, 1)),
        (("float64", "int64", "uint8"), ("float32", "int8", "int32"), ("int64", "int16", "uint64")),
        (((3, 2, 2), (4,), (4,)), ((3, 2, 2), (2, 3), (3,)), ((3, 0, 2), (1,), (5,))),
    ),
    OpCase(
        "mask_input",
        lambda x, mask: x[mask],
        lambda x, mask: x[mask],
        (ANY, ANY),
        (("float64", "bool"), ("int8", "bool")),
        (((3, 4), (3, 4)), ((3, 4), (3,)), ((0, 2), (0,)), ((5,), (5,))),
    ),
    OpCase(
        "mask_of_x",
        lambda x: x[x > 0],
        lambda x: x[x > 0],
        (ANY,),
        FLOATS + (("int32",),),
        (((3, 4),), ((0, 3),), ((6,),)),
        grad=True,
        grad_layouts=(((3, 4),),),
    ),
    OpCase(
        "mask_after_slice",
        lambda x: x[::-1, np.array([True, False, True])],
        lambda x: x[::-1, np.array([True, False, True])],
        (ANY,),
        FLOATS,
        (((2, 3),), ((0, 3),)),
        grad=True,
        grad_layouts=(((2, 3),),),
    ),
    update_case(
        "advanced_inc_subtensor",
        REPEATS,
        False,
        (((5, 3), (4, 3)), ((5, 3), (1, 3)), ((5, 3), (3,)), ((5, 3), ()), ((5, 0), (4, 0))),
        (((5, 3), (4, 3)), ((5, 3), (1, 3)), ((5, 3), ())),
    ),
    update_case(
        "advanced_set_subtensor",
        REPEATS,
        True,
        (((5, 3), (4, 3)), ((5, 3), (1, 3)), ((5, 3), ()), ((5, 0), (4, 0))),
        (((5, 3), (4, 3)), ((5, 3), (1, 3)), ((5, 3), ())),
    ),
    update_case(
        "advanced_inc_pairs",
        PAIRS,
        False,
        (((2, 3), (3,)), ((2, 3), (1,)), ((2, 3), ())),
        (((2, 3), (3,)), ((2, 3), ())),
    ),
    update_case(
        "advanced_set_separated",
        SEPARATED,
        True,
        (((2, 3, 2), (3, 3)), ((2, 3, 2), (1, 3)), ((2, 3, 2), ())),
        (((2, 3, 2), (3, 3)), ((2, 3, 2), ())),
    ),
    OpCase(
        "advanced_inc_mask",
        lambda x, y: T.inc_subtensor(x[x > 0], y),
        lambda x, y: np.where(x > 0, x + y, x),
        (ANY, ANY),
        (("float64", "float64"), ("float32", "float32")),
        (((3, 4), ()), ((0,), ())),
        grad=True,
        grad_layouts=(((3, 4), ()),),
    ),
    OpCase(
        "take_flat",
        lambda x: T.take(x, [[5, 0], [-1, 5]]),
        lambda x: np.take(x, [[5, 0], [-1, 5]]),
        (ANY,),
        FLOATS,
        (((2, 3),), ((6,),)),
        grad=True,
    ),
    OpCase(
        "take_axis",
        lambda x: T.take(x, [2, -3, 2], axis=-1),
        lambda x: np.take(x, [2, -3, 2], axis=-1),
        (ANY,),
        FLOATS,
        (((2, 3),), ((0, 3),), ((2, 1, 3),)),
        grad=True,
        grad_layouts=(((2, 3),),),
    ),
    *(
        OpCase(
            f"take_{mode}",
            lambda x, mode=mode: T.take(x, [7, -5, 1], axis=0, mode=mode),
            lambda x, mode=mode: np.take(x, [7, -5, 1], axis=0, mode=mode),
            (ANY,),
            FLOATS,
            (((3, 2),), ((4,),)),
            grad=True,
        )
        for mode in ("clip", "wrap")
    ),
    OpCase(
        "nonzero_values",
        T.nonzero_values,
        lambda x: x[x != 0],
        (sparse,),
        (("float64",), ("int8",), ("bool",)),
        (((3, 4),), ((7,),), ((0,),), ((2, 1, 3),)),
    ),
    OpCase(
        "nonzero_values_gradient",
        T.nonzero_values,
        lambda x: x[x != 0],
        (ANY,),
        FLOATS,
        (((3, 4),), ((7,),)),
        grad=True,
    ),
    OpCase(
        "flatnonzero",
        T.flatnonzero,
        np.flatnonzero,
        (sparse,),
        (("float64",), ("uint16",)),
        (((3, 4),), ((7,),), ((0, 3),)),
    ),
    OpCase(
        "argwhere",
        T.argwhere,
        np.argwhere,
        (sparse,),
        (("float64",), ("bool",)),
        (((3, 4),), ((7,),), ((0, 3),), ((2, 1, 3),)),
    ),
    OpCase(
        "where_one_argument",
        lambda x: T.where(x)[-1],
        lambda x: np.where(x)[-1],
        (sparse,),
        (("float64",), ("int32",)),
        (((3, 4),), ((7,),)),
    ),
]


# ---- NumPy's placement rule, constant and symbolic indices ----------------------------------
MASK_34 = np.array([[True, False, True, True], [False] * 4, [True, True, False, True]])
INDICES = [
    ([0, 1], None, [0, 1]),  # a new axis separates: advanced dimensions first
    (None, [0, 1], [0, 1]),  # adjacent: in place
    (slice(None), None, [0, -1]),
    ([0, 2], slice(None), None),
    (0, slice(None), [0, 1]),  # an int counts as an advanced index: separated
    (slice(None), 0, [0, 1]),  # adjacent
    (slice(1, None), [[0], [3]], [4, 0]),
    ([[2, 1]], [[0], [3], [1]], slice(None, None, -2)),
    (Ellipsis, [1, -1]),
    ([2, 0], slice(1, 3), Ellipsis),
    (MASK_34,),
    (slice(None), MASK_34[0, :]),
    (np.array([True, False, True]), slice(None), [0, 1]),
    (np.array([True, False, True]), [1, 3]),
    (True,),
    (True, [0, 1]),
    (slice(None), False),
    (slice(None), True, [0, 1]),
]


def symbolic_arrays(index):
    """The same index with every integer array an input of its dtype; returns inputs, values."""
    inputs, values, converted = [], [], []
    for item in index:
        if isinstance(item, list) or (isinstance(item, np.ndarray) and item.ndim):
            value = np.asarray(item)
            variable = variable_for(value, f"i{len(inputs)}")
            inputs.append(variable)
            values.append(value)
            item = variable
        converted.append(item)
    return tuple(converted), inputs, values


@pytest.mark.parametrize("index", INDICES, ids=str)
def test_indexing_matches_numpy(index):
    value = RNG.standard_normal((3, 4, 5))
    expected = value[index]

    static_x = T.tensor("float64", shape=(3, 4, 5), name="x")
    out = static_x[index]
    assert isinstance(out.owner.op, AdvancedSubtensor)
    assert out.type.shape == expected.shape  # every index is a constant
    np.testing.assert_array_equal(out.eval({static_x: value}), expected)

    x = T.tensor3("x")
    symbolic, inputs, values = symbolic_arrays(index)
    out = x[symbolic]
    assert all(n is None or n == m for n, m in zip(out.type.shape, expected.shape, strict=True))
    result = arignote.function([x, *inputs], out)(value, *values)
    np.testing.assert_array_equal(result, expected)
    assert_infer_shape(out, [x, *inputs], [value, *values])


def test_index_arrays_broadcast_by_numpy_rules_at_run_time():
    x = T.matrix("x")
    rows, columns = T.lvector("rows"), T.lvector("columns")
    out = x[rows, columns]
    value = RNG.standard_normal((3, 4))
    for r, c in [([2], [0, 1, 3]), ([0, 2, 1], [3]), ([1, 1], [0, 2]), ([], [1])]:
        r, c = np.array(r, dtype="int64"), np.array(c, dtype="int64")
        np.testing.assert_array_equal(out.eval({x: value, rows: r, columns: c}), value[r, c])
        assert_infer_shape(out, [x, rows, columns], [value, r, c])
    f = arignote.function([x, rows, columns], out)
    with pytest.raises(
        IndexError, match=r"could not be broadcast together with shapes \(2,\) \(3,\)"
    ):
        f(value, np.array([0, 1]), np.array([0, 1, 2]))


@pytest.mark.parametrize(
    "dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
)
def test_every_integer_dtype_indexes(dtype):
    x = T.matrix("x")
    index = T.tensor(dtype, shape=(None,), name="index")
    value = RNG.standard_normal((3, 4))
    positions = np.array([3, 0, 3] if dtype.startswith("u") else [3, -4, -1], dtype=dtype)
    np.testing.assert_array_equal(
        x[1, index].eval({x: value, index: positions}), value[1, positions]
    )
    np.testing.assert_array_equal(
        T.inc_subtensor(x[:, index], 1.0).eval({x: value, index: positions}),
        updated((slice(None), positions), False)(value, 1.0),
    )
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with length 4"):
        x[:, index].eval({x: value, index: np.array([1, 4], dtype=dtype)})


def test_lists_of_symbolic_scalars_and_nested_lists():
    x = T.vector("x")
    i, j = T.lscalars("i", "j")
    value = RNG.standard_normal(5)
    out = x[[i, j, i]]
    assert isinstance(out.owner.op, AdvancedSubtensor)
    np.testing.assert_array_equal(out.eval({x: value, i: 4, j: -5}), value[[4, -5, 4]])
    np.testing.assert_array_equal(x[[[0, 1], [2, 2]]].eval({x: value}), value[[[0, 1], [2, 2]]])


# ---- set and inc --------------------------------------------------------------------------------
# (x shape, index, value shape): repeated positions, broadcast index arrays, masks, separation.
UPDATES = [
    ((5,), ([1, 3, 1, 1],), (4,)),
    ((5,), ([1, 3, 1, 1],), ()),
    ((3, 4), ([[0, 0], [2, 0]], [1]), (2, 2)),
    ((3, 4), ([0, 0, 2], slice(None)), (3, 4)),
    ((3, 4), (slice(None), [3, -1]), (3, 2)),
    ((2, 3, 4), ([1, 1], slice(None), [0, 0]), (2, 3)),
    ((2, 3, 4), (1, None, [0, 2, 0]), (3, 1, 4)),
    ((3, 4), (MASK_34,), (6,)),
    ((3, 4), (np.array([True, False, True]), [2, 2]), ()),
]


@pytest.mark.parametrize("set_instead_of_inc", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("x_shape, index, y_shape", UPDATES, ids=str)
def test_set_and_inc_match_numpy(x_shape, index, y_shape, set_instead_of_inc):
    x_value, y_value = RNG.standard_normal(x_shape), RNG.standard_normal(y_shape)
    x, y = variable_for(x_value, "x"), variable_for(y_value, "y")
    update = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
    out = update(x[index], y)
    assert isinstance(out.owner.op, AdvancedIncSubtensor) and out.type == x.type
    expected = updated(index, set_instead_of_inc)(x_value, y_value)
    np.testing.assert_array_equal(arignote.function([x, y], out)(x_value, y_value), expected)
    assert_infer_shape(out, [x, y], [x_value, y_value])
    verify_grad(lambda a, b: update(a[index], b), [x_value, y_value], n_tests=1, rng=RNG)


def test_inc_accumulates_and_set_keeps_the_last_write():
    v = T.vector("v")
    y = T.vector("y")
    index = [2, 0, 2, 2]
    values = np.array([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(
        T.inc_subtensor(v[index], y).eval({v: np.zeros(3), y: values}), [10.0, 0.0, 1101.0]
    )
    np.testing.assert_array_equal(
        T.set_subtensor(v[index], y).eval({v: np.zeros(3), y: values}), [10.0, 0.0, 1000.0]
    )
    # Only the kept writes get a gradient; the overwritten position gets none.
    gy, gv = grad(T.set_subtensor(v[index], y).sum(), [y, v])
    got = arignote.function([v, y], [gy, gv])(np.ones(3), values)
    np.testing.assert_array_equal(got[0], [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(got[1], [0.0, 1.0, 0.0])
    gy = grad(T.inc_subtensor(v[index], y).sum(), y)
    np.testing.assert_array_equal(gy.eval({v: np.ones(3), y: values}), np.ones(4))


def test_advanced_set_and_inc_functions_and_the_inputs_stay_unchanged():
    x = T.matrix("x")
    value = RNG.standard_normal((3, 2))
    before = value.copy()
    out = T.advanced_inc_subtensor(x, 1.0, [0, 0], slice(None))
    expected = value.copy()
    expected[0] += 2.0
    np.testing.assert_array_equal(out.eval({x: value}), expected)
    out = T.advanced_set_subtensor(x, 0.0, x > 0)
    np.testing.assert_array_equal(out.eval({x: value}), np.minimum(value, 0.0))
    np.testing.assert_array_equal(value, before)


def test_update_value_shape_errors():
    x = T.matrix("x")
    with pytest.raises(ValueError, match=r"cannot set the 1-d x\[\?\] with the 2-d"):
        T.set_subtensor(x[x > 0], T.matrix("y"))
    with pytest.raises(TypeError, match="dtype float64 does not fit in .* float32"):
        T.inc_subtensor(T.fmatrix()[[0, 1]], T.dmatrix())
    static = T.tensor("float64", shape=(4, 3))
    with pytest.raises(ValueError, match=r"static shape \(2, 3\) with .* static shape \(4, 3\)"):
        T.set_subtensor(static[[0, 1]], T.tensor("float64", shape=(4, 3)))
    y = T.vector("y")
    f = arignote.function([x, y], T.inc_subtensor(x[[0, 2], 1], y))
    with pytest.raises(ValueError, match=r"cannot increment .* of shape \(2,\) with a value"):
        f(RNG.standard_normal((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="only dimensions declared broadcastable"):
        f(RNG.standard_normal((3, 3)), np.ones(1))


# ---- range checks before any read -------------------------------------------------------------
def test_out_of_range_indices_at_run_time_name_the_index_axis_and_length():
    x = T.matrix("x")
    i = T.lvector("i")
    value = RNG.standard_normal((3, 2))
    f = arignote.function([x, i], x[::-1, i])
    g = arignote.function([x, i], T.inc_subtensor(x[i], 1.0))
    for bad, axis, length, function in [(2, 1, 2, f), (-3, 1, 2, f), (3, 0, 3, g), (-4, 0, 3, g)]:
        with pytest.raises(
            IndexError, match=rf"index {bad} is out of bounds for axis {axis} with length {length}"
        ):
            function(value, np.array([0, bad, 1]))
    with pytest.raises(IndexError, match="index 0 is out of bounds for axis 0 with length 0"):
        g(np.zeros((0, 2)), np.array([0]))
    np.testing.assert_array_equal(g(np.zeros((0, 2)), np.zeros(0, dtype="int64")), np.zeros((0, 2)))


def test_out_of_range_indices_at_build_time_when_static():
    x = T.tensor("float64", shape=(None, 3), name="x")
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with length 3"):
        x[:, [0, 3]]
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 1 with length 3"):
        x[[0, 5], -4]
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with length 3"):
        T.take(T.constant(np.arange(3.0)), [0, 7])


def test_take_raise_mode_checks_the_range_at_run_time():
    v = T.vector("v")
    i = T.lvector("i")
    f = arignote.function([v, i], T.take(v, i))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with length 3"):
        f(np.zeros(3), np.array([3]))
    np.testing.assert_array_equal(f(np.arange(3.0), np.array([-1, 0])), [2.0, 0.0])


def test_mask_shape_must_match():
    x = T.matrix("x")
    mask = T.tensor("bool", shape=(None, None), name="mask")
    f = arignote.function([x, mask], x[mask])
    with pytest.raises(IndexError, match=r"boolean index of shape \(2, 2\) does not match axes 0"):
        f(np.zeros((3, 2)), np.ones((2, 2), dtype=bool))
    g = arignote.function([x, mask], T.set_subtensor(x[mask], 0.0))
    with pytest.raises(IndexError, match=r"lengths \(3, 2\)"):
        g(np.zeros((3, 2)), np.ones((3, 3), dtype=bool))
    static = T.tensor("float64", shape=(3, 2), name="s")
    with pytest.raises(IndexError, match=r"does not match axis 1 of .*'s'.*, of length 2"):
        static[:, np.array([True, False, True])]


def test_bad_advanced_indices_are_rejected_at_build_time():
    x = T.matrix("x")
    with pytest.raises(TypeError, match="must be of integer or boolean type, .* float64"):
        x[T.vector("f")]
    with pytest.raises(TypeError, match="must be of integer or boolean type"):
        x[[0.5, 1.0]]
    with pytest.raises(
        IndexError, match=r"too many indices for the 2-d .*'x'.*: they cover 3 axes"
    ):
        x[[0], 0, 0]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, np.ones((2, 2), dtype=bool)]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., [0], ...]
    with pytest.raises(IndexError, match="cannot be broadcast together"):
        T.constant(np.zeros((3, 3)))[[0, 1], [0, 1, 2]]
    with pytest.raises(TypeError, match="takes 1 index inputs, got 0"):
        AdvancedSubtensor(x[[0]].owner.op.idx_list)(x)
    with pytest.raises(TypeError, match="take: indices must be integers"):
        T.take(x, np.array([True]))
    with pytest.raises(ValueError, match="take: axis 2 is not an axis of the 2-d"):
        T.take(x, [0], axis=2)
    with pytest.raises(ValueError, match="mode must be 'raise', 'wrap' or 'clip'"):
        T.take(x, [0], mode="bounce")


# ---- gradients --------------------------------------------------------------------------------
def test_negative_log_likelihood_gradient():
    p = T.matrix("p")
    y = T.ivector("y")
    cost = -T.log(p[T.arange(y.shape[0]), y]).mean()
    probabilities = RNG.random((4, 3)) + 0.1
    labels = np.array([2, 0, 2, 1], dtype="int32")
    expected = np.zeros_like(probabilities)
    expected[np.arange(4), labels] = -1 / (4 * probabilities[np.arange(4), labels])
    got = arignote.function([p, y], grad(cost, p))(probabilities, labels)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_index_inputs_are_not_differentiable_and_float32_stays_float32():
    x = T.fmatrix("x")
    i = T.lvector("i")
    out = T.inc_subtensor(x[i, :1], T.fscalar("s"))
    node = out.owner
    assert node.op.connection_pattern(node) == [[True], [True], [False]]
    assert node.op.L_op(node.inputs, node.outputs, [x.type()])[2:] == [None]
    gx = grad(x[i].sum(), x)
    assert gx.dtype == "float32"
    value = RNG.standard_normal((3, 2)).astype("float32")
    np.testing.assert_array_equal(
        gx.eval({x: value, i: np.array([0, 0])}), [[2, 2], [0, 0], [0, 0]]
    )


def test_second_order_gradient_through_advanced_inc_subtensor():
    index = ([0, 2, 0], slice(None, None, -1))
    verify_grad(lambda a: grad((a[index] ** 3).sum(), a), [RNG.standard_normal((3, 2))], rng=RNG)


# ---- the op and the API -----------------------------------------------------------------------
def test_ops_compare_by_index_structure_and_print_it():
    x = T.matrix("x")
    i = T.lvector("i")
    assert x[i, 1:].owner.op == x[i, 1:].owner.op
    assert hash(x[i, 1:].owner.op) == hash(x[i, 1:].owner.op)
    assert x[i, 1:].owner.op != x[i, 2:].owner.op
    assert str(x[None, 1:, i].owner.op) == "AdvancedSubtensor{None, 1:, ?}"
    set_op = T.set_subtensor(x[i], 1.0).owner.op
    assert str(set_op) == "AdvancedSetSubtensor{?}"
    assert set_op != T.inc_subtensor(x[i], 1.0).owner.op


def test_where_dispatches_on_the_number_of_arguments():
    c = T.vector("c")
    value = np.array([0.0, 2.0, -1.0])
    np.testing.assert_array_equal(T.where(c > 0, c, -c).eval({c: value}), np.abs(value))
    (positions,) = T.where(c)
    np.testing.assert_array_equal(positions.eval({c: value}), [1, 2])
    with pytest.raises(ValueError, match="one argument .* or three"):
        T.where(c, c)
