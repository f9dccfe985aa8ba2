"""roll, tile, repeat, diagonal/diag/trace and tril/triu against NumPy.

``CASES`` rows run through the generic checks of ``tests/test_op_tables.py``:
value (every layout and dtype), gradient (float64, finite differences) and
every node's ``infer_shape`` against what it computes. Counts, shifts and offsets are
constants in most rows and symbolic integer inputs in the ``*_symbolic`` rows;
a symbolic length that still carries a gradient comes from the input's own
shape. Static shapes, symbolic arguments and error messages follow.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import Lop, Rop, grad, verify_grad
from arignote.tensor.rearrange import Repeat, SegmentSum
from tests.helpers import OpCase, uniform

ANY = uniform(-3, 3)
SHIFTS = uniform(-9, 9)
COUNTS = uniform(0, 3)
OFFSETS = uniform(-4, 4)

FLOATS = (("float64",), ("float32",))
ALL = (("float64",), ("float32",), ("int16",), ("bool",))
WITH_INT = (("float64", "int64"), ("int32", "int8"))

MATRICES = (((3, 4),), ((4, 3),), ((0, 3),), ((1, 4),), ((3, 1),))


def row(name, build, reference, layouts, dtypes=ALL, domains=(ANY,), grad=True, **options):
    return OpCase(name, build, reference, domains, dtypes, layouts, grad=grad, **options)


def segment_sums(x, counts, axis):
    """An independent reference for ``SegmentSum``: explicit slices of ``x``."""
    ends = np.cumsum(counts)
    pieces = [
        np.take(x, range(end - count, end), axis=axis).sum(axis=axis, keepdims=True)
        for count, end in zip(counts, ends)
    ]
    return np.concatenate(pieces, axis=axis)


CASES = [
    # roll
    row(
        "roll_flat",
        lambda x: T.roll(x, 2),
        lambda x: np.roll(x, 2),
        (((3, 4),), ((5,),), ((0,),), ((),), ((2, 1, 3),)),
    ),
    row(
        "roll_axis",
        lambda x: T.roll(x, -7, axis=1),
        lambda x: np.roll(x, -7, axis=1),
        (((3, 4),), ((2, 1),), ((2, 0, 3),), ((1, 5, 2),)),
    ),
    row(
        "roll_axes",
        lambda x: T.roll(x, (1, -2), (0, -1)),
        lambda x: np.roll(x, (1, -2), (0, -1)),
        (((3, 4),), ((2, 3, 5),), ((1, 2),)),
    ),
    row(
        "roll_symbolic",
        lambda x, s: T.roll(x, s, axis=0),
        lambda x, s: np.roll(x, s, axis=0),
        (((4, 3), ()), ((0, 2), ()), ((1, 3), ())),
        WITH_INT,
        (ANY, SHIFTS),
        grad=False,
    ),
    row(
        "roll_shift_from_shape",
        lambda x: T.roll(x, x.shape[1] + 1, axis=0),
        lambda x: np.roll(x, x.shape[1] + 1, axis=0),
        (((4, 3),), ((3, 5),), ((2, 0),)),
        FLOATS,
    ),
    # tile
    row(
        "tile",
        lambda x: T.tile(x, (2, 3)),
        lambda x: np.tile(x, (2, 3)),
        (((2, 3),), ((3,),), ((1, 4),), ((0, 2),), ((2, 1, 2),), ((),)),
    ),
    row(
        "tile_symbolic",
        lambda x, n: T.tile(x, (n, 2)),
        lambda x, n: np.tile(x, (n, 2)),
        (((2, 3), ()), ((3,), ()), ((1, 1), ())),
        WITH_INT,
        (ANY, COUNTS),
        grad=False,
    ),
    # repeat: one count (a composite) or one count per element (the Repeat op)
    row(
        "repeat",
        lambda x: T.repeat(x, 3, axis=1),
        lambda x: np.repeat(x, 3, axis=1),
        (((2, 3),), ((2, 1),), ((0, 2),), ((2, 2, 2),)),
    ),
    row(
        "repeat_flat",
        lambda x: T.repeat(x, 2),
        lambda x: np.repeat(x, 2),
        (((2, 3),), ((),), ((0,),)),
    ),
    row(
        "repeat_symbolic",
        lambda x, r: T.repeat(x, r, axis=0),
        lambda x, r: np.repeat(x, r, axis=0),
        (((3, 2), ()), ((1, 2), ())),
        WITH_INT,
        (ANY, COUNTS),
        grad=False,
    ),
    row(
        "repeat_counts",
        lambda x: T.repeat(x, np.array([2, 0, 1]), axis=-1),
        lambda x: np.repeat(x, [2, 0, 1], axis=-1),
        (((4, 3),), ((3,),), ((0, 3),), ((2, 1, 3),)),
    ),
    row(
        "repeat_counts_symbolic",
        lambda x, c: T.repeat(x, c, axis=0),
        lambda x, c: np.repeat(x, c, axis=0),
        (((3, 2), (3,)), ((0, 2), (0,)), ((2,), (2,))),
        WITH_INT,
        (ANY, COUNTS),
        grad=False,
    ),
    row(
        "segment_sum",
        lambda x: SegmentSum(0)(x, np.array([2, 0, 3])),
        lambda x: segment_sums(x, [2, 0, 3], 0),
        (((5,),), ((5, 2),), ((5, 1),)),
        FLOATS,
    ),
    row(
        "segment_sum_axis1",
        lambda x: SegmentSum(1)(x, np.array([0, 1, 1])),
        lambda x: segment_sums(x, [0, 1, 1], 1),
        (((3, 2),), ((1, 2),)),
        FLOATS,
    ),
    # diagonals
    row("diagonal", lambda x: T.diagonal(x), lambda x: np.diagonal(x).copy(), MATRICES),
    row(
        "diagonal_offset",
        lambda x: T.diagonal(x, 1),
        lambda x: np.diagonal(x, 1).copy(),
        MATRICES + (((2, 7),),),
    ),
    row(
        "diagonal_3d",
        lambda x: T.diagonal(x, -1, 2, 0),
        lambda x: np.diagonal(x, -1, 2, 0).copy(),
        (((2, 3, 4),), ((3, 1, 2),), ((2, 0, 3),)),
    ),
    row("diag_vector", lambda v: T.diag(v), np.diag, (((3,),), ((0,),), ((1,),))),
    row(
        "diag_vector_below",
        lambda v: T.diag(v, -2),
        lambda v: np.diag(v, -2),
        (((3,),), ((0,),), ((1,),)),
    ),
    row("diag_matrix", lambda m: T.diag(m, 1), lambda m: np.diag(m, 1).copy(), MATRICES),
    row("trace", lambda x: T.trace(x), np.trace, MATRICES),
    row(
        "trace_offset_3d",
        lambda x: T.trace(x, -1, 1, 2),
        lambda x: np.trace(x, -1, 1, 2),
        (((2, 3, 4),), ((2, 1, 3),), ((0, 2, 2),)),
    ),
    # triangles
    row("tril", lambda x: T.tril(x), np.tril, MATRICES + (((2, 3, 3),),)),
    row("tril_below", lambda x: T.tril(x, -1), lambda x: np.tril(x, -1), MATRICES),
    row("triu", lambda x: T.triu(x), np.triu, MATRICES + (((2, 3, 3),),)),
    row("triu_above", lambda x: T.triu(x, 2), lambda x: np.triu(x, 2), MATRICES),
    row(
        "tril_symbolic",
        lambda x, k: T.tril(x, k),
        lambda x, k: np.tril(x, k),
        (((3, 4), ()), ((4, 2), ())),
        WITH_INT,
        (ANY, OFFSETS),
        grad=False,
    ),
    row(
        "triu_symbolic",
        lambda x, k: T.triu(x, k),
        lambda x, k: np.triu(x, k),
        (((3, 4), ()), ((0, 2), ())),
        WITH_INT,
        (ANY, OFFSETS),
        grad=False,
    ),
]


# ---- static shapes -----------------------------------------------------------------------
def test_static_shapes_are_exact_where_the_inputs_are():
    m = T.tensor("float64", shape=(3, 4))
    assert T.roll(m, 5, 1).type.shape == (3, 4)
    assert T.roll(m, T.lscalar("s")).type.shape == (3, 4)
    assert T.tile(m, (2, 1, 3)).type.shape == (2, 3, 12)
    assert T.tile(T.matrix(), (2, 3)).type.shape == (None, None)
    assert T.repeat(m, 2, axis=0).type.shape == (6, 4)
    assert T.repeat(m, np.array([1, 0, 2, 3]), axis=1).type.shape == (3, 6)
    assert T.repeat(m, T.lvector("c"), axis=1).type.shape == (3, None)
    assert T.diagonal(m, 1).type.shape == (3,)
    assert T.diagonal(m, -2).type.shape == (1,)
    assert T.diagonal(m, 9).type.shape == (0,)
    assert T.diag(T.tensor("float64", shape=(3,)), -1).type.shape == (4, 4)
    assert T.tril(m).type.shape == (3, 4)
    assert T.trace(m).type.shape == ()


# ---- symbolic arguments ------------------------------------------------------------------
def test_a_vector_of_one_count_repeats_every_element():
    x = T.vector("x")
    counts = T.TensorType("int64", shape=(1,))("c")
    out = T.repeat(x, counts)
    assert not isinstance(out.owner.op, Repeat)
    value = np.arange(3.0)
    np.testing.assert_array_equal(out.eval({x: value, counts: [2]}), np.repeat(value, [2]))
    np.testing.assert_array_equal(T.repeat(x, [3]).eval({x: value}), np.repeat(value, 3))


def test_tile_with_a_symbolic_reps_vector():
    x = T.matrix("x")
    reps = T.lvector("reps")
    value = np.arange(6.0).reshape(2, 3)
    got = T.tile(x, reps, ndim=2).eval({x: value, reps: [2, 1]})
    np.testing.assert_array_equal(got, np.tile(value, (2, 1)))
    fixed = T.tile(x, T.as_tensor_variable(np.array([1, 2, 2])))
    assert fixed.ndim == 3
    np.testing.assert_array_equal(fixed.eval({x: value}), np.tile(value, (1, 2, 2)))


def test_repeat_gradient_sums_the_copies_back():
    x = T.vector("x")
    counts = T.lvector("c")
    weights = np.arange(1.0, 7.0)
    gx = grad((T.repeat(x, counts) * weights).sum(), x)
    got = gx.eval({x: np.zeros(3), counts: [1, 3, 2]})
    np.testing.assert_allclose(got, [1.0, 2 + 3 + 4, 5 + 6])
    # Second order: the gradient of the gradient goes through Repeat's adjoint and back.
    verify_grad(
        lambda a: grad((T.repeat(a, np.array([2, 1]), 0) ** 3).sum(), a),
        [np.array([0.5, -1.5])],
        rng=np.random.default_rng(0),
    )


def test_roll_by_a_symbolic_shift_has_a_gradient_for_x():
    x = T.vector("x")
    shift = T.lscalar("s")
    weights = np.arange(4.0)
    gx = arignote.function([x, shift], grad((T.roll(x, shift) * weights).sum(), x))
    for s in (-5, 0, 1, 6):
        np.testing.assert_allclose(gx(np.zeros(4), s), np.roll(weights, -s))


# ---- errors --------------------------------------------------------------------------------
def test_build_time_errors_name_the_problem():
    m = T.tensor("float64", shape=(3, 4), name="m")
    with pytest.raises(IndexError, match="roll: axis 2 is out of range for 2 dimensions"):
        T.roll(m, 1, 2)
    with pytest.raises(TypeError, match="roll: shift must be an integer scalar"):
        T.roll(m, T.scalar("f"), 0)
    with pytest.raises(ValueError, match="one shift per axis"):
        T.roll(m, (1, 2, 3), (0, 1))
    with pytest.raises(ValueError, match=r"tile: reps\[1\] is negative \(-2\)"):
        T.tile(m, (1, -2))
    with pytest.raises(ValueError, match="pass ndim="):
        T.tile(m, T.lvector())
    with pytest.raises(ValueError, match="tile: ndim=1"):
        T.tile(m, (2,), ndim=1)
    with pytest.raises(ValueError, match="repeats must not be negative"):
        T.repeat(m, -1, axis=0)
    with pytest.raises(TypeError, match="repeats must be an integer scalar or vector"):
        T.repeat(m, T.vector(), axis=0)
    with pytest.raises(ValueError, match="3 counts given for axis 1 of .*m.*static length 4"):
        T.repeat(m, np.array([1, 2, 3]), axis=1)
    with pytest.raises(ValueError, match="the counts add up to 4, but axis 0 of .*static length 3"):
        SegmentSum(0)(m, np.array([2, 2]))
    with pytest.raises(ValueError, match="diagonal needs at least 2 dimensions"):
        T.diagonal(T.vector())
    with pytest.raises(ValueError, match="axis1 and axis2 are the same axis"):
        T.diagonal(m, 0, 1, -1)
    with pytest.raises(TypeError, match="offset must be an int"):
        T.diagonal(m, T.lscalar())
    with pytest.raises(ValueError, match="must be 1- or 2-d"):
        T.diag(T.tensor3())
    with pytest.raises(ValueError, match="tril needs at least 2 dimensions"):
        T.tril(T.vector())
    with pytest.raises(TypeError, match="triu: k must be an integer scalar"):
        T.triu(m, 0.5)


def test_run_time_errors_name_the_lengths():
    x = T.matrix("x")
    counts = T.lvector("c")
    f = arignote.function([x, counts], T.repeat(x, counts, axis=1))
    with pytest.raises(ValueError, match=r"2 counts given for axis 1 of shape \(2, 3\)"):
        f(np.zeros((2, 3)), [1, 2])
    with pytest.raises(ValueError, match="counts must not be negative"):
        f(np.zeros((2, 3)), [1, -2, 1])
    g = arignote.function([x, counts], SegmentSum(1)(x, counts))
    with pytest.raises(ValueError, match="must be non-negative and add up to 3"):
        g(np.zeros((2, 3)), [1, 1])


@pytest.mark.parametrize(
    "build",
    [
        lambda a: T.repeat(a, np.array([2, 0, 1]), axis=1),
        lambda a: SegmentSum(1)(a, np.array([1, 2])),
        lambda a: T.addbroadcast(a, 0),
    ],
    ids=["Repeat", "SegmentSum", "Rebroadcast"],
)
def test_pushforward_and_pullback_are_adjoint(build):
    """``<J v, u> = <v, J^T u>``: R_op and L_op of these linear ops agree."""
    x = T.matrix("x")
    tangent = T.matrix("v")
    y = build(x)
    cotangent = y.type("u")
    forward = Rop(y, x, tangent)
    backward = Lop(y, x, cotangent)
    products = [(forward * cotangent).sum(), (tangent * backward).sum()]
    # Linear ops: neither side reads x itself.
    f = arignote.function([x, tangent, cotangent], products, on_unused_input="ignore")
    rng = np.random.default_rng(3)
    x_value, v_value = rng.standard_normal((2, 1, 3))
    u_value = rng.standard_normal(build(T.constant(x_value)).eval().shape)
    left, right = f(x_value, v_value, u_value)
    np.testing.assert_allclose(left, right)
