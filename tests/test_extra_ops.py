"""``extra_ops`` against NumPy: one table (value, gradient, shape inference, run by
``tests/test_op_tables.py``), then the
gradient of ``cumprod`` at zeros, zero gradients of index ops, and errors.

Rows whose inputs must be valid indices build them as constants inside the graph or draw
them from a sampler of in-range integers; ``grad`` rows take only float inputs, so that
``verify_grad`` can perturb every one of them.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.config import config
from arignote.gradient import NullTypeGradError, grad, verify_grad
from arignote.tensor.extra_ops import (
    Unique,
    bartlett,
    bincount,
    compress,
    cumprod,
    cumsum,
    diff,
    fill_diagonal,
    fill_diagonal_offset,
    ravel_multi_index,
    searchsorted,
    to_one_hot,
    unique,
    unravel_index,
)
from arignote.tensor.sort import argsort, sort
from tests.helpers import OpCase, uniform

ANY = uniform(-2, 2)


def integers(low, high):
    """Integers in ``[low, high]`` of any dtype (bool: coin flips)."""

    def sample(rng, shape, dtype):
        if dtype == "bool":
            return rng.random(shape) < 0.5
        return np.asarray(rng.integers(low, high + 1, size=shape), dtype=dtype)

    return sample


def with_zeros(rng, shape, dtype):
    """Values in [-2, 2] with about a third of them exactly 0."""
    values = rng.uniform(-2, 2, size=shape)
    values[rng.random(shape) < 0.35] = 0
    return np.asarray(values, dtype=dtype)


def same_dtype(dtype):
    """Theano's cumulative ops keep the input's dtype (bool counts as int64)."""
    return "int64" if dtype == "bool" else dtype


def cumulative(accumulate, axis):
    return lambda x: accumulate(x, axis=axis, dtype=same_dtype(str(x.dtype)))


def filled_diagonal(a, value):
    a = a.copy()
    np.fill_diagonal(a, value)
    return a


def filled_offset_diagonal(offset):
    def reference(a, value):
        a = a.copy()
        for i in range(a.shape[0]):
            if 0 <= i + offset < a.shape[1]:
                a[i, i + offset] = value
        return a

    return reference


def unique_part(position, flat=False, **flags):
    """Output ``position`` of ``np.unique`` with ``flags``; ``flat`` for the inverse, which
    Theano gives as a vector."""

    def reference(x):
        part = np.unique(x, **flags)[position]
        return part.ravel() if flat else part

    return reference


FLOATS = (("float64",), ("float32",))
NUMERIC = FLOATS + (("int8",), ("uint8",), ("int32",))
ANY_SHAPE = (((),), ((5,),), ((3, 4),), ((0,),), ((2, 0, 3),), ((1, 4),), ((2, 3, 2),))
MATRIX_UP = (((3, 4),), ((1, 4),), ((0, 3),), ((2, 3, 2),), ((3, 1),))
GRAD_LAYOUTS = (((5,),), ((3, 4),), ((2, 3, 2),))
INDICES = np.array([0, 2, 2, 5, 1, 0])
DIAGONAL_LAYOUTS = (
    ((3, 3), ()),
    ((4, 2), ()),
    ((2, 5), ()),
    ((3, 3, 3), ()),
    ((0, 0), ()),
    ((1, 1), ()),
    ((0, 3), ()),
)
DIAGONAL_DTYPES = (
    ("float64", "float64"),
    ("float32", "float32"),
    ("int32", "int8"),
    ("float64", "int32"),
)
OFFSET_LAYOUTS = (((3, 4), ()), ((4, 2), ()), ((0, 3), ()), ((1, 1), ()), ((2, 6), ()))


# ``unique``'s output lengths depend on the values: its infer_shape says so.
DISTINCT_COUNT = (NotImplementedError, "number of distinct elements")


def row(name, build, reference, layouts, dtypes=NUMERIC, domain=ANY, **options):
    return OpCase(name, build, reference, (domain,), dtypes, layouts, **options)


CASES = [
    # cumsum / cumprod
    row(
        "cumsum",
        cumsum,
        cumulative(np.cumsum, None),
        ANY_SHAPE,
        NUMERIC + (("bool",),),
        out_dtype=same_dtype,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "cumsum_axis0",
        lambda x: T.cumsum(x, axis=0),
        cumulative(np.cumsum, 0),
        MATRIX_UP,
        out_dtype=same_dtype,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "cumsum_last_axis",
        lambda x: cumsum(x, axis=-1),
        cumulative(np.cumsum, -1),
        MATRIX_UP,
        out_dtype=same_dtype,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "cumprod",
        T.cumprod,
        cumulative(np.cumprod, None),
        ANY_SHAPE,
        NUMERIC + (("bool",),),
        domain=with_zeros,
        out_dtype=same_dtype,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "cumprod_axis1",
        lambda x: cumprod(x, axis=1),
        cumulative(np.cumprod, 1),
        MATRIX_UP,
        domain=with_zeros,
        out_dtype=same_dtype,
        grad=True,
        grad_layouts=(((3, 4),), ((4, 6),), ((2, 3, 2),)),
    ),
    # diff
    row(
        "diff",
        diff,
        np.diff,
        (((5,),), ((3, 4),), ((0,),), ((1,),), ((2, 3, 2),), ((3, 1),)),
        NUMERIC + (("bool",),),
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "diff_second_axis0",
        lambda x: diff(x, n=2, axis=0),
        lambda x: np.diff(x, n=2, axis=0),
        (((5,),), ((4, 3),), ((1, 3),), ((0, 2),), ((3, 2, 2),)),
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    # bincount
    row(
        "bincount",
        bincount,
        np.bincount,
        (((8,),), ((0,),), ((1,),)),
        (("int64",), ("int8",), ("uint8",), ("bool",)),
        domain=integers(0, 6),
    ),
    row(
        "bincount_minlength",
        lambda x: T.bincount(x, minlength=9),
        lambda x: np.bincount(x, minlength=9),
        (((8,),), ((0,),)),
        (("int32",),),
        domain=integers(0, 6),
    ),
    OpCase(
        "bincount_symbolic_minlength",
        lambda x, m: bincount(x, minlength=m),
        lambda x, m: np.bincount(x, minlength=int(m)),
        (integers(0, 6), integers(0, 10)),
        (("int64", "int64"), ("uint16", "int8")),
        (((8,), ()), ((0,), ())),
    ),
    row(
        "bincount_weights",
        lambda w: bincount(INDICES, weights=w),
        lambda w: np.bincount(INDICES, weights=w).astype(w.dtype),
        (((6,),),),
        FLOATS + (("int32",),),
        out_dtype=lambda dtype: dtype,
        grad=True,
    ),
    # searchsorted
    OpCase(
        "searchsorted",
        lambda x, v: searchsorted(sort(x), v),
        lambda x, v: np.searchsorted(np.sort(x), v),
        (ANY, ANY),
        (("float64", "float64"), ("float32", "float32"), ("int8", "int8"), ("int32", "float64")),
        (((6,), (4,)), ((6,), (2, 3)), ((0,), (3,)), ((5,), ()), ((3,), (0,))),
    ),
    OpCase(
        "searchsorted_right",
        lambda x, v: searchsorted(sort(x), v, side="right"),
        lambda x, v: np.searchsorted(np.sort(x), v, side="right"),
        (integers(-3, 3), integers(-3, 3)),
        (("int64", "int64"), ("float64", "float64")),
        (((7,), (5,)), ((4,), (2, 2))),
    ),
    OpCase(
        "searchsorted_sorter",
        lambda x, v: searchsorted(x, v, sorter=argsort(x)),
        lambda x, v: np.searchsorted(x, v, sorter=np.argsort(x)),
        (ANY, ANY),
        (("float64", "float64"), ("int16", "int16")),
        (((6,), (4,)), ((0,), (2,))),
    ),
    # unique
    row(
        "unique",
        unique,
        np.unique,
        (((8,),), ((3, 4),), ((0,),), ((),)),
        NUMERIC + (("bool",),),
        domain=integers(0, 3),
        infer_shape_raises=DISTINCT_COUNT,
    ),
    row(
        "unique_index",
        lambda x: unique(x, return_index=True, return_counts=True)[1],
        unique_part(1, return_index=True),
        (((8,),), ((3, 4),), ((0,),)),
        domain=integers(0, 3),
        infer_shape_raises=DISTINCT_COUNT,
    ),
    row(
        "unique_inverse",
        lambda x: unique(x, return_inverse=True)[1],
        unique_part(1, flat=True, return_inverse=True),
        (((8,),), ((3, 4),), ((0,),), ((),)),
        domain=integers(0, 3),
        infer_shape_raises=DISTINCT_COUNT,
    ),
    row(
        "unique_counts",
        lambda x: unique(x, True, True, True)[3],
        unique_part(3, return_index=True, return_inverse=True, return_counts=True),
        (((8,),), ((3, 4),)),
        domain=integers(0, 3),
        infer_shape_raises=DISTINCT_COUNT,
    ),
    row(
        "unique_rows",
        lambda x: unique(x, axis=0),
        lambda x: np.unique(x, axis=0),
        (((6, 2),), ((5, 3),), ((1, 2),)),
        (("float64",), ("int8",)),
        domain=integers(0, 1),
        infer_shape_raises=DISTINCT_COUNT,
    ),
    row(
        "unique_columns_inverse",
        lambda x: unique(x, return_inverse=True, axis=-1)[1],
        unique_part(1, flat=True, return_inverse=True, axis=-1),
        (((2, 6),), ((3, 5),)),
        (("int32",),),
        domain=integers(0, 1),
        infer_shape_raises=DISTINCT_COUNT,
    ),
    # compress
    row(
        "compress_flattened",
        lambda x: compress(np.array([1, 0, 1, 1, 0]), x),
        lambda x: np.compress([1, 0, 1, 1, 0], x),
        (((5,),), ((2, 3),), ((3, 2),), ((1, 6),)),
        grad=True,
    ),
    row(
        "compress_axis1",
        lambda x: T.extra_ops.compress(np.array([True, False, True, True]), x, axis=1),
        lambda x: np.compress([True, False, True, True], x, axis=1),
        (((3, 4),), ((1, 4),), ((0, 4),), ((2, 4, 2),)),
        grad=True,
    ),
    OpCase(
        "compress_symbolic_condition",
        lambda c, x: compress(c, x, axis=0),
        lambda c, x: np.compress(c, x, axis=0),
        (integers(0, 1), ANY),
        (("int8", "float64"), ("bool", "int32")),
        (((4,), (4, 3)), ((3,), (3,)), ((0,), (0, 2))),
    ),
    # diagonals
    OpCase(
        "fill_diagonal",
        fill_diagonal,
        filled_diagonal,
        (ANY, ANY),
        DIAGONAL_DTYPES,
        DIAGONAL_LAYOUTS,
        grad=True,
    ),
    OpCase(
        "fill_diagonal_offset_above",
        lambda a, v: fill_diagonal_offset(a, v, 2),
        filled_offset_diagonal(2),
        (ANY, ANY),
        DIAGONAL_DTYPES,
        OFFSET_LAYOUTS,
        grad=True,
    ),
    OpCase(
        "fill_diagonal_offset_below",
        lambda a, v: T.fill_diagonal_offset(a, v, -1),
        filled_offset_diagonal(-1),
        (ANY, ANY),
        DIAGONAL_DTYPES,
        OFFSET_LAYOUTS,
        grad=True,
    ),
    OpCase(
        "fill_diagonal_offset_symbolic",
        fill_diagonal_offset,
        lambda a, v, k: filled_offset_diagonal(int(k))(a, v),
        (ANY, ANY, integers(-4, 4)),
        (("float64", "float64", "int64"), ("int16", "int8", "int8")),
        (((3, 4), (), ()), ((5, 2), (), ())),
    ),
    # one-hot and index maths
    row(
        "to_one_hot",
        lambda y: to_one_hot(y, 5),
        lambda y: np.eye(5)[y],
        (((6,),), ((0,),), ((1,),)),
        (("int64",), ("int32",), ("uint8",)),
        domain=integers(0, 4),
        out_dtype=lambda _: config.floatX,
    ),
    row(
        "to_one_hot_int8",
        lambda y: to_one_hot(y, 3, dtype="int8"),
        lambda y: np.eye(3, dtype="int8")[y],
        (((4,),),),
        (("int16",),),
        domain=integers(-3, 2),
    ),
    *(
        row(
            f"unravel_index_{axis}",
            lambda i, axis=axis: unravel_index(i, (3, 4, 5))[axis],
            lambda i, axis=axis: np.unravel_index(i, (3, 4, 5))[axis],
            (((7,),), ((),), ((2, 3),), ((0,),)),
            (("int64",), ("int16",), ("uint8",)),
            domain=integers(0, 59),
        )
        for axis in range(3)
    ),
    row(
        "unravel_index_fortran",
        lambda i: T.unravel_index(i, (4, 2), order="F")[0],
        lambda i: np.unravel_index(i, (4, 2), order="F")[0],
        (((6,),),),
        (("int32",),),
        domain=integers(0, 7),
    ),
    OpCase(
        "ravel_multi_index",
        lambda a, b: ravel_multi_index((a, b), (4, 5)),
        lambda a, b: np.ravel_multi_index((a, b), (4, 5)),
        (integers(0, 3), integers(0, 4)),
        (("int64", "int64"), ("int8", "uint16")),
        (((6,), (6,)), ((), ()), ((1, 3), (2, 3)), ((3, 1), (1, 4)), ((0,), (0,)), ((2,), ())),
    ),
    OpCase(
        "ravel_multi_index_wrap_fortran",
        lambda a, b: T.ravel_multi_index([a, b], (4, 5), mode="wrap", order="F"),
        lambda a, b: np.ravel_multi_index((a, b), (4, 5), mode="wrap", order="F"),
        (integers(-9, 9), integers(-9, 9)),
        (("int64", "int32"),),
        (((6,), (6,)),),
    ),
    OpCase(
        "ravel_multi_index_modes",
        lambda a, b: ravel_multi_index((a, b), (4, 5), mode=("clip", "wrap")),
        lambda a, b: np.ravel_multi_index((a, b), (4, 5), mode=("clip", "wrap")),
        (integers(-9, 9), integers(-9, 9)),
        (("int64", "int64"),),
        (((6,), (6,)),),
    ),
    # windows
    row(
        "bartlett",
        bartlett,
        np.bartlett,
        (((),),),
        (("int64",), ("int16",)),
        domain=integers(-2, 9),
        out_dtype=lambda _: "float64",
    ),
]


# ---- cumprod at zeros ---------------------------------------------------------------------------
def cumprod_pullback(x: np.ndarray, gz: np.ndarray) -> np.ndarray:
    """``sum_j gz[j] * d(prod x[:j+1]) / dx[i]`` by brute force along the last axis."""
    result = np.zeros_like(x)
    for index in np.ndindex(x.shape[:-1]):
        row_x, row_gz = x[index], gz[index]
        for i in range(len(row_x)):
            for j in range(i, len(row_x)):
                result[index][i] += row_gz[j] * np.prod(np.delete(row_x[: j + 1], i))
    return result


@pytest.mark.parametrize(
    "value",
    [
        np.array([[0.0, 2.0, 0.0, 3.0], [1.5, 0.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]]),
        np.array([[0.0, 0.0, 0.0, 1.0], [2.0, -1.0, 0.5, 0.0], [0.0, 3.0, 2.0, 1.0]]),
    ],
)
def test_cumprod_gradient_is_exact_at_zeros(value):
    x = T.matrix("x")
    gz = T.matrix("gz")
    cotangent = np.random.default_rng(2).standard_normal(value.shape)
    g = grad((cumprod(x, axis=1) * gz).sum(), x)
    got = arignote.function([x, gz], g)(value, cotangent)
    np.testing.assert_allclose(got, cumprod_pullback(value, cotangent), rtol=1e-12, atol=1e-12)


def test_second_order_gradient_of_cumprod_is_exact_at_zeros():
    rng = np.random.default_rng(4)
    weights = rng.standard_normal((4, 5))
    value = rng.uniform(0.5, 2.0, size=(4, 5)) * rng.choice([-1, 1], size=(4, 5))
    value[0, 1] = value[1, 0] = value[1, 2] = value[2, 1] = value[2, 2] = value[2, 3] = 0.0
    verify_grad(lambda a: grad((cumprod(a, 1) * weights).sum(), a), [value], rng=rng)


# ---- index-valued ops: zero gradients, no gradient for unique ------------------------------------
def test_index_valued_outputs_pass_no_gradient_back():
    s = T.vector("s")
    v = T.vector("v")
    positions = T.cast(searchsorted(s, v), "float64")
    gs, gv = grad((v * positions).sum(), [s, v], disconnected_inputs="ignore")
    f = arignote.function([s, v], [gs, gv, positions])
    got_s, got_v, expected_v = f(np.array([0.0, 1.0, 2.0]), np.array([0.5, 3.0, -1.0]))
    np.testing.assert_array_equal(got_s, np.zeros(3))
    np.testing.assert_array_equal(got_v, expected_v)


def test_unique_has_no_gradient_and_says_so():
    x = T.vector("x")
    with pytest.raises(NullTypeGradError, match=r"Unique.*merges equal elements"):
        grad(unique(x).sum(), x)
    # Only the integer outputs used: nothing flows back, so nothing is undefined.
    total = T.cast(unique(x, return_counts=True)[1], "float64").sum()
    value = np.array([1.0, 3.0, 1.0])
    np.testing.assert_array_equal(grad((x * total).sum(), x).eval({x: value}), [3.0, 3.0, 3.0])


def test_unique_ops_merge_by_their_flags():
    assert Unique(True, False, False) == Unique(True, False, False)
    assert Unique(True, False, False) != Unique(False, True, False)
    assert unique(T.vector(), return_inverse=True)[1].type.shape == (None,)
    assert unique(T.tensor("int8", shape=(2, 3)), return_inverse=True)[1].type.shape == (6,)


# ---- static shapes and Theano's names -------------------------------------------------------
def test_static_shapes():
    m = T.tensor("float64", shape=(3, None), name="m")
    assert cumsum(m).type.shape == (None,)
    assert cumprod(m, axis=0).type.shape == (3, None)
    assert diff(m, 2, axis=0).type.shape == (1, None)
    assert fill_diagonal(m, 1.0).type == m.type
    assert bartlett(4).type.shape == (4,)
    assert to_one_hot(T.lvector("y"), 7).type.shape == (None, 7)
    assert [c.type.shape for c in unravel_index(T.lvector("i"), (2, 3))] == [(None,), (None,)]
    assert ravel_multi_index((T.lrow("a"), T.lcol("b")), (2, 3)).type.shape == (None, None)


def test_theano_names():
    extra_ops = importlib.import_module("arignote.tensor.extra_ops")
    assert T.extra_ops is extra_ops
    for name in (
        "bartlett",
        "bincount",
        "cumprod",
        "cumsum",
        "fill_diagonal",
        "fill_diagonal_offset",
        "ravel_multi_index",
        "unravel_index",
        "repeat",
        "squeeze",
    ):
        assert getattr(T, name) is getattr(extra_ops, name)


def test_symbolic_dims():
    i = T.lvector("i")
    n = T.lscalar("n")
    rows, columns = unravel_index(i, (n, 4))
    f = arignote.function([i, n], [rows, columns, ravel_multi_index((rows, columns), (n, 4))])
    got_rows, got_columns, flat = f(np.array([0, 5, 11]), 3)
    np.testing.assert_array_equal(got_rows, [0, 1, 2])
    np.testing.assert_array_equal(got_columns, [0, 1, 3])
    np.testing.assert_array_equal(flat, [0, 5, 11])


# ---- errors -----------------------------------------------------------------------------------
def test_bincount_errors():
    x = T.lvector("x")
    with pytest.raises(ValueError, match=r"must not have negative values, but x\[1\] = -2"):
        bincount(x).eval({x: np.array([0, -2, 3])})
    with pytest.raises(TypeError, match="x must be an integer vector"):
        bincount(T.vector("f"))
    with pytest.raises(TypeError, match="x must be an integer vector"):
        bincount(T.lmatrix("m"))
    with pytest.raises(ValueError, match="minlength must not be negative, got -1"):
        bincount(x, minlength=-1)
    with pytest.raises(ValueError, match="x has 3 elements but weights has 2"):
        bincount(T.tensor("int64", shape=(3,)), weights=T.tensor("float64", shape=(2,)))
    w = T.vector("w")
    with pytest.raises(ValueError, match=r"x has shape \(3,\) but weights has shape \(2,\)"):
        bincount(x, weights=w).eval({x: np.array([0, 1, 1]), w: np.ones(2)})


def test_cumulative_and_diff_errors():
    with pytest.raises(ValueError, match="cumsum: axis 2 is out of range for a 2-dimensional"):
        cumsum(T.matrix(), axis=2)
    with pytest.raises(ValueError, match="CumOp mode must be 'add' or 'mul'"):
        T.extra_ops.CumOp(0, "max")
    with pytest.raises(ValueError, match="diff: n must be a non-negative int"):
        diff(T.vector(), n=-1)
    with pytest.raises(ValueError, match="out of range for a 0-dimensional input"):
        diff(T.scalar())


def test_searchsorted_errors():
    with pytest.raises(TypeError, match="x must be a sorted vector"):
        searchsorted(T.matrix(), T.vector())
    with pytest.raises(ValueError, match="side must be 'left' or 'right'"):
        searchsorted(T.vector(), T.vector(), side="middle")
    with pytest.raises(TypeError, match="sorter must be an integer vector"):
        searchsorted(T.vector(), T.vector(), sorter=T.vector())


def test_compress_errors():
    with pytest.raises(TypeError, match="condition must be a vector"):
        compress(T.lmatrix(), T.vector())
    x = T.vector("x")
    # As NumPy: a condition longer than the axis is fine unless it selects past the end.
    np.testing.assert_array_equal(compress([1, 0, 0], x).eval({x: np.array([4.0, 5.0])}), [4.0])
    with pytest.raises(IndexError, match="out of bounds"):
        compress([0, 1, 1], x).eval({x: np.array([4.0, 5.0])})


def test_fill_diagonal_errors():
    with pytest.raises(TypeError, match="a needs at least 2 dimensions"):
        fill_diagonal(T.vector(), 1.0)
    with pytest.raises(TypeError, match="the value must be a scalar"):
        fill_diagonal(T.matrix(), T.vector())
    with pytest.raises(TypeError, match="dtype float64 does not fit in .* float32"):
        fill_diagonal(T.fmatrix(), T.dscalar())
    with pytest.raises(TypeError, match="does not fit in .* int32"):
        fill_diagonal(T.imatrix(), 1.5)
    with pytest.raises(ValueError, match="all of one length"):
        fill_diagonal(T.tensor("float64", shape=(2, 3, 2)), 0.0)
    t = T.tensor3("t")
    with pytest.raises(ValueError, match=r"all of one length, got shape \(2, 2, 3\)"):
        fill_diagonal(t, 0.0).eval({t: np.zeros((2, 2, 3))})
    a = T.fmatrix("a")
    # A float literal goes into a float32 matrix, as NumPy assignment would.
    assert fill_diagonal(a, 0.1).dtype == "float32"
    with pytest.raises(TypeError, match="a must be a matrix"):
        fill_diagonal_offset(T.tensor3(), 1.0, 0)
    with pytest.raises(TypeError, match="offset must be an integer scalar"):
        fill_diagonal_offset(T.matrix(), 1.0, 0.5)


def test_index_maths_errors():
    y = T.lvector("y")
    with pytest.raises(IndexError, match="out of bounds"):
        to_one_hot(y, 3).eval({y: np.array([0, 3])})
    with pytest.raises(TypeError, match="y must be an integer vector"):
        to_one_hot(T.vector(), 3)
    with pytest.raises(ValueError, match=r"unravel_index into dims \(2, 3\): index 6 is out"):
        unravel_index(y, (2, 3))[0].eval({y: np.array([1, 6])})
    with pytest.raises(TypeError, match="indices must be integers"):
        unravel_index(T.vector(), (2, 3))
    with pytest.raises(TypeError, match="integer vector of known length"):
        unravel_index(y, T.lvector("dims"))
    with pytest.raises(ValueError, match="order must be 'C' or 'F'"):
        unravel_index(y, (2, 3), order="K")
    a, b = T.lvectors("a", "b")
    f = arignote.function([a, b], ravel_multi_index((a, b), (2, 3)))
    with pytest.raises(ValueError, match=r"ravel_multi_index into dims \(2, 3\) with mode='raise'"):
        f(np.array([0, 2]), np.array([1, 1]))
    with pytest.raises(ValueError, match="input shapes do not match along axis 0"):
        f(np.array([0]), np.array([1, 1]))
    with pytest.raises(ValueError, match="2 coordinate arrays for 3 dims"):
        ravel_multi_index((a, b), (2, 3, 4))
    with pytest.raises(TypeError, match="multi_index must be a sequence"):
        ravel_multi_index(a, (2,))
    with pytest.raises(ValueError, match="mode must be 'raise', 'wrap' or 'clip'"):
        ravel_multi_index((a, b), (2, 3), mode="bounce")
    with pytest.raises(TypeError, match="M must be an integer scalar"):
        bartlett(T.scalar("m"))
