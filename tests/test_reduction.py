"""Reductions against NumPy: one table over axes (None, int, negative, tuple, empty tuple),
keepdims, shapes (0-d, 1-d, 3-d, empty) and dtypes; gradients by finite differences; the
exact gradient of ``prod`` at zeros; Theano's rule for ``max`` at ties; dtype arguments.

Where NumPy refuses an input (the maximum of nothing) the op must refuse it too, with a
``ValueError``; where NumPy defines a value (the sum of nothing is 0) the op must give it.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
import scipy.special

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor.nnet import softmax
from tests.helpers import assert_matches, evaluate, uniform, variable_for


def _argfind(find):
    """NumPy's argmax/argmin, extended to a tuple of axes as Theano has it (flattened)."""

    def reference(x, axis=None, keepdims=False):
        if axis is None or isinstance(axis, int):
            return find(x, axis=axis, keepdims=keepdims)
        axes = sorted(a % x.ndim for a in axis)
        kept = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, kept + axes)
        length = int(np.prod([x.shape[a] for a in axes]))
        result = find(moved.reshape(moved.shape[: len(kept)] + (length,)), axis=-1)
        return np.expand_dims(result, tuple(axes)) if keepdims else result

    return reference


# name: (build(x, axis, keepdims), reference(x, axis, keepdims), dtypes, differentiable)
REDUCTIONS = {
    "sum": (T.sum, np.sum, ("float64", "float32", "int8", "uint8", "bool"), True),
    "prod": (T.prod, np.prod, ("float64", "float32", "int8", "uint8"), True),
    "mean": (T.mean, np.mean, ("float64", "float32", "int32", "bool"), True),
    "max": (T.max, np.max, ("float64", "float32", "int8", "bool"), True),
    "min": (T.min, np.min, ("float64", "float32", "uint8"), True),
    "argmax": (T.argmax, _argfind(np.argmax), ("float64", "int8"), False),
    "argmin": (T.argmin, _argfind(np.argmin), ("float32", "int16"), False),
    "all": (T.all, np.all, ("bool", "float64", "int8"), False),
    "any": (T.any, np.any, ("bool", "float32", "int32"), False),
    "var": (T.var, np.var, ("float64", "float32", "int32"), True),
    "var_ddof1": (
        lambda x, axis, keepdims: T.var(x, axis=axis, ddof=1, keepdims=keepdims),
        lambda x, axis, keepdims: np.var(x, axis=axis, ddof=1, keepdims=keepdims),
        ("float64", "float32"),
        True,
    ),
    "var_corrected": (
        lambda x, axis, keepdims: T.var(x, axis=axis, keepdims=keepdims, corrected=True),
        np.var,
        ("float64", "float32"),
        True,
    ),
    "std": (T.std, np.std, ("float64", "float32", "int8"), True),
    "std_ddof1_corrected": (
        lambda x, axis, keepdims: x.std(axis=axis, ddof=1, keepdims=keepdims, corrected=True),
        lambda x, axis, keepdims: np.std(x, axis=axis, ddof=1, keepdims=keepdims),
        ("float64",),
        True,
    ),
}

# (shape, axes to try): 3-d, 1-d, 0-d and empty inputs.
AXES_BY_SHAPE = [
    ((2, 3, 4), [None, 0, -1, 1, (0, 2), (-1, 0), ()]),
    ((5,), [None, 0, -1]),
    ((), [None, ()]),
    ((0, 3), [None, 0, 1, (0, 1)]),
    ((3, 0), [None, 0, -1]),
]
VALUES = uniform(-3, 3)


def _axis_id(axis):
    return "None" if axis is None else str(axis).replace(" ", "")


VALUE_PARAMS = [
    pytest.param(
        name,
        shape,
        axis,
        keepdims,
        dtype,
        id=f"{name}-{'x'.join(map(str, shape)) or '0d'}-axis={_axis_id(axis)}-"
        f"keepdims={keepdims}-{dtype}",
    )
    for name, (_, _, dtypes, _) in REDUCTIONS.items()
    for shape, axes in AXES_BY_SHAPE
    for axis in axes
    for keepdims in (False, True)
    for dtype in dtypes
    if not (name.startswith("arg") and axis == ())
]


@pytest.mark.parametrize("name, shape, axis, keepdims, dtype", VALUE_PARAMS)
def test_value_matches_numpy(name, shape, axis, keepdims, dtype):
    build, reference, _, _ = REDUCTIONS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    value = VALUES(rng, shape, dtype)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            expected = np.asarray(reference(value, axis=axis, keepdims=keepdims))
    except ValueError:
        with pytest.raises(ValueError):
            evaluate(lambda x: build(x, axis=axis, keepdims=keepdims), [value])
        return
    got = evaluate(lambda x: build(x, axis=axis, keepdims=keepdims), [value])
    assert_matches(got, expected, str(expected.dtype), rtol=2e-5 if dtype == "float32" else None)


GRAD_PARAMS = [
    pytest.param(name, axis, keepdims, id=f"{name}-axis={_axis_id(axis)}-keepdims={keepdims}")
    for name, (_, _, _, differentiable) in REDUCTIONS.items()
    if differentiable
    for axis in (None, 0, -1, (0, 1))
    for keepdims in (False, True)
]


@pytest.mark.parametrize("name, axis, keepdims", GRAD_PARAMS)
def test_gradient_matches_finite_differences(name, axis, keepdims):
    build = REDUCTIONS[name][0]
    rng = np.random.default_rng(3)
    point = rng.uniform(0.5, 2.0, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    verify_grad(lambda x: build(x, axis=axis, keepdims=keepdims), [point], n_tests=1, rng=rng)


# ---- static types ----------------------------------------------------------------------------
def test_static_shape_and_broadcastable_pattern():
    x = T.tensor("float64", shape=(2, None, 4))
    assert T.sum(x, axis=1).type.shape == (2, 4)
    assert T.max(x, axis=(0, 2), keepdims=True).type.shape == (1, None, 1)
    assert x.mean(axis=-1, keepdims=True).broadcastable == (False, False, True)
    assert T.argmax(x, axis=0).type.shape == (None, 4)
    assert T.sum(x).ndim == 0


# ---- dtypes and the dtype / acc_dtype arguments ----------------------------------------------
@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: T.sum(T.bvector()), "int64"),
        (lambda: T.sum(T.vector(dtype="uint8")), "uint64"),
        (lambda: T.sum(T.vector(dtype="bool")), "int64"),
        (lambda: T.prod(T.ivector()), "int64"),
        (lambda: T.sum(T.fvector()), "float32"),
        (lambda: T.mean(T.ivector()), "float64"),
        (lambda: T.mean(T.bvector()), "float64"),
        (lambda: T.mean(T.fvector()), "float32"),
        (lambda: T.mean(T.ivector(), dtype="float32"), "float32"),
        (lambda: T.var(T.ivector()), "float64"),
        (lambda: T.var(T.fvector()), "float32"),
        (lambda: T.std(T.fvector(), ddof=1), "float32"),
        (lambda: T.max(T.bvector()), "int8"),
        (lambda: T.argmax(T.fvector()), "int64"),
        (lambda: T.all(T.fvector()), "bool"),
        (lambda: T.sum(T.bvector(), dtype="float32"), "float32"),
        (lambda: T.sum(T.fvector(), acc_dtype="float64"), "float32"),
        (lambda: T.sum(T.bvector(), acc_dtype="float32"), "int64"),
    ],
)
def test_reduction_dtypes(build, expected):
    assert build().dtype == expected


def test_small_integers_do_not_overflow_by_default():
    x = T.bvector("x")
    assert T.sum(x).eval({x: np.asarray([100, 100, 100], dtype="int8")}) == 300
    assert T.prod(x).eval({x: np.asarray([100, 100], dtype="int8")}) == 10000
    assert T.mean(x).eval({x: np.asarray([127, 127], dtype="int8")}) == 127.0


def test_acc_dtype_is_the_accumulator():
    x = T.bvector("x")
    wrapped = T.sum(x, acc_dtype="int8").eval({x: np.asarray([100, 100], dtype="int8")})
    assert wrapped.dtype == "int64" and wrapped == 200 - 256
    f = T.fvector("f")
    big = np.asarray([2.0**24, 1.0, 1.0], dtype="float32")
    # float64 accumulation keeps the two 1s that float32 would round away one at a time.
    assert T.sum(f, acc_dtype="float64", dtype="float64").eval({f: big}) == 2.0**24 + 2


def test_acc_dtype_that_loses_precision_is_refused():
    with pytest.raises(TypeError, match="acc_dtype=float32 would lose precision.*float64"):
        T.sum(T.dvector(), acc_dtype="float32")
    with pytest.raises(TypeError, match="acc_dtype=int8"):
        T.prod(T.ivector(), acc_dtype="int8")


# ---- axis errors -----------------------------------------------------------------------------
def test_axis_errors_name_the_axis():
    x = T.matrix("x")
    with pytest.raises(ValueError, match="axis 2 is out of range for a 2-dimensional"):
        T.sum(x, axis=2)
    with pytest.raises(ValueError, match="axis -3 is out of range"):
        x.max(axis=-3)
    with pytest.raises(ValueError, match="repeats an axis"):
        T.mean(x, axis=(0, -2))
    with pytest.raises(TypeError, match="must be None, an int or a sequence of ints"):
        T.sum(x, axis=1.0)
    with pytest.raises(TypeError, match="must be ints"):
        T.sum(x, axis=(0, 1.0))


def test_var_rejects_a_bool_ddof():
    with pytest.raises(ValueError, match="keepdims is the fourth argument"):
        T.var(T.matrix(), 0, True)


# ---- gradients at the awkward points ---------------------------------------------------------
def _product_of_others(x, axis):
    """For each element, the product of the other elements of its row (axis=1) — by deletion."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            row = x[i] if axis == 1 else x[:, j]
            k = j if axis == 1 else i
            out[i, j] = np.prod(np.delete(row, k))
    return out


@pytest.mark.parametrize("axis", [1, 0])
def test_prod_gradient_is_exact_with_one_and_two_zeros_in_a_slice(axis):
    value = np.asarray([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]])
    value = value if axis == 1 else value.T.copy()
    x = T.matrix("x")
    upstream = np.asarray([1.0, 2.0, -1.0])
    weights = T.constant(upstream)
    gradient = T.grad((T.prod(x, axis=axis) * weights).sum(), x)
    got = arignote.function([x], gradient)(value)
    expected = _product_of_others(value, axis) * (
        upstream[:, None] if axis == 1 else upstream[None, :]
    )
    np.testing.assert_array_equal(got, expected)
    verify_grad(lambda v: T.prod(v, axis=axis), [value], rng=np.random.default_rng(0))


def test_prod_gradient_over_all_axes_with_a_zero():
    value = np.asarray([[2.0, 3.0], [0.0, 5.0]])
    x = T.matrix("x")
    got = arignote.function([x], T.grad(T.prod(x), x))(value)
    np.testing.assert_array_equal(got, [[0.0, 0.0], [30.0, 0.0]])


@pytest.mark.parametrize(
    "reduce, ties", [(T.max, [1.0, 3.0, 3.0, -2.0]), (T.min, [1.0, -2.0, 4.0, -2.0])]
)
def test_extreme_with_ties_gives_every_extreme_element_the_gradient(reduce, ties):
    x = T.vector("x")
    got = arignote.function([x], T.grad(reduce(x) * 2.0, x))(np.asarray(ties))
    extreme = np.max(ties) if reduce is T.max else np.min(ties)
    np.testing.assert_array_equal(got, 2.0 * (np.asarray(ties) == extreme))


def test_max_gradient_along_an_axis_with_ties():
    x = T.matrix("x")
    value = np.asarray([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]])
    got = arignote.function([x], T.grad(T.max(x, axis=1).sum(), x))(value)
    np.testing.assert_array_equal(got, [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])


def test_discrete_reductions_have_zero_gradient():
    x = T.vector("x")
    cost = T.sum(x) + T.cast(T.argmax(x), "float64") + T.cast(T.any(x > 0), "float64")
    got = arignote.function([x], T.grad(cost, x))(np.asarray([1.0, 2.0]))
    np.testing.assert_array_equal(got, [1.0, 1.0])


# ---- methods ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, reference",
    [
        ("sum", np.sum),
        ("prod", np.prod),
        ("mean", np.mean),
        ("max", np.max),
        ("min", np.min),
        ("argmax", np.argmax),
        ("argmin", np.argmin),
        ("all", np.all),
        ("any", np.any),
        ("var", np.var),
        ("std", np.std),
    ],
)
def test_tensor_methods(method, reference):
    value = np.random.default_rng(0).uniform(-1, 1, size=(3, 4))
    x = variable_for(value)
    got = getattr(x, method)(axis=1, keepdims=True).eval({x: value})
    assert_matches(got, reference(value, axis=1, keepdims=True), str(got.dtype))


# ---- softmax ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, axis", [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((5,), -1), ((0, 4), -1)]
)
def test_softmax_matches_scipy(shape, axis):
    value = np.random.default_rng(0).normal(size=shape)
    got = evaluate(lambda x: softmax(x, axis=axis), [value])
    assert_matches(got, scipy.special.softmax(value, axis=axis), "float64")
    if value.size:
        verify_grad(lambda x: softmax(x, axis=axis), [value], rng=np.random.default_rng(1))


def test_softmax_is_stable_at_extremes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = evaluate(softmax, [np.asarray([[1000.0, 0.0, -1000.0]])])
    np.testing.assert_array_equal(got, [[1.0, 0.0, 0.0]])


def test_softmax_refuses_integers_and_scalars():
    with pytest.raises(TypeError, match="float input"):
        softmax(T.imatrix())
    with pytest.raises(TypeError, match="at least one dimension"):
        softmax(T.scalar())
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        softmax(T.matrix(), axis=2)
