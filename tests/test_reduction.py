"""Reductions against NumPy: one table (``CASES``, run by ``tests/test_op_tables.py``) over axes
(None, int, negative, tuple, empty tuple), keepdims, shapes (0-d, 1-d, 3-d, empty,
broadcastable) and dtypes; gradients by finite differences; the exact gradient of ``prod`` at
zeros; Theano's rule for ``max`` at ties; dtype arguments; ``logsumexp`` at the edge of
overflow.

Where NumPy refuses an input (the maximum of nothing) the op must refuse it too, with a
``ValueError``; where NumPy defines a value (the sum of nothing is 0) the op must give it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor.nnet import softmax
from tests.helpers import OpCase, assert_matches, evaluate, uniform, variable_for


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


def _float_of(dtype: str) -> str:
    """Theano's ``upgrade_to_float``: small integers give float32, wider ones float64."""
    if dtype in ("bool", "int8", "int16", "uint8", "uint16"):
        return "float32"
    return dtype if np.dtype(dtype).kind in "fc" else "float64"


def _vector_norm(order):
    """The ``order``-norm of ``x`` over ``axis`` from its definition (``np.linalg.vector_norm``
    answers 0 for the inf-norm of nothing; like ``np.max``, ``T.norm`` refuses it)."""

    def reference(x, axis=None, keepdims=False):
        magnitude = np.abs(x.astype("float64"))
        if order == np.inf:
            return np.max(magnitude, axis=axis, keepdims=keepdims)
        if order == -np.inf:
            return np.min(magnitude, axis=axis, keepdims=keepdims)
        return np.sum(magnitude**order, axis=axis, keepdims=keepdims) ** (1 / order)

    return reference


def _logsumexp(x, axis=None, keepdims=False):
    """The direct formula, in float64: exact enough on the table's values in [-3, 3]."""
    return np.log(np.sum(np.exp(x.astype("float64")), axis=axis, keepdims=keepdims))


def _with(build, **arguments):
    return lambda x, axis, keepdims: build(x, axis=axis, keepdims=keepdims, **arguments)


def _reference_with(reference, **arguments):
    return lambda x, axis, keepdims: reference(x, axis=axis, keepdims=keepdims, **arguments)


def _norm(order):
    return lambda x, axis, keepdims: T.norm(x, order, axis=axis, keepdims=keepdims)


# name: (build(x, axis, keepdims), reference(x, axis, keepdims), dtypes, differentiable,
#        output dtype when it is not the reference's)
REDUCTIONS = {
    "sum": (T.sum, np.sum, ("float64", "float32", "int8", "uint8", "bool"), True, None),
    "prod": (T.prod, np.prod, ("float64", "float32", "int8", "uint8"), True, None),
    "mean": (T.mean, np.mean, ("float64", "float32", "int32", "bool"), True, None),
    "max": (T.max, np.max, ("float64", "float32", "int8", "bool"), True, None),
    "min": (T.min, np.min, ("float64", "float32", "uint8"), True, None),
    "argmax": (T.argmax, _argfind(np.argmax), ("float64", "int8"), False, None),
    "argmin": (T.argmin, _argfind(np.argmin), ("float32", "int16"), False, None),
    "all": (T.all, np.all, ("bool", "float64", "int8"), False, None),
    "any": (T.any, np.any, ("bool", "float32", "int32"), False, None),
    "var": (T.var, np.var, ("float64", "float32", "int32"), True, None),
    "var_ddof1": (
        _with(T.var, ddof=1),
        _reference_with(np.var, ddof=1),
        ("float64", "float32"),
        True,
        None,
    ),
    "var_corrected": (_with(T.var, corrected=True), np.var, ("float64", "float32"), True, None),
    "std": (T.std, np.std, ("float64", "float32", "int8"), True, None),
    "std_ddof1_corrected": (
        lambda x, axis, keepdims: x.std(axis=axis, ddof=1, keepdims=keepdims, corrected=True),
        _reference_with(np.std, ddof=1),
        ("float64",),
        True,
        None,
    ),
    "ptp": (T.ptp, np.ptp, ("float64", "float32", "int16"), True, None),
    "max_and_argmax.max": (
        lambda x, axis, keepdims: T.max_and_argmax(x, axis, keepdims)[0],
        np.max,
        ("float64", "int8"),
        True,
        None,
    ),
    "max_and_argmax.argmax": (
        lambda x, axis, keepdims: T.max_and_argmax(x, axis, keepdims)[1],
        _argfind(np.argmax),
        ("float32",),
        False,
        None,
    ),
    "norm_L1": (_norm(1), _vector_norm(1), ("float64", "float32", "int8"), True, _float_of),
    "norm_L2": (_norm(2), _vector_norm(2), ("float64", "float32", "int32"), True, _float_of),
    "norm_inf": (_norm(np.inf), _vector_norm(np.inf), ("float64", "int8"), True, _float_of),
    "norm_-inf": (_norm(-np.inf), _vector_norm(-np.inf), ("float32",), True, _float_of),
    "norm_L3": (_norm(3), _vector_norm(3), ("float64", "float32"), True, _float_of),
    "logsumexp": (T.logsumexp, _logsumexp, ("float64", "float32", "int8"), True, _float_of),
    # the dtype and acc_dtype arguments
    "sum_dtype_float32": (
        _with(T.sum, dtype="float32"),
        _reference_with(np.sum, dtype="float32"),
        ("int8", "float64"),
        False,  # a float32 output is too coarse for finite differences
        None,
    ),
    "sum_acc_dtype_float64": (
        _with(T.sum, acc_dtype="float64"),
        lambda x, axis, keepdims: np.sum(x, axis, "float64", keepdims=keepdims).astype(x.dtype),
        ("float32",),
        True,
        None,
    ),
    "prod_dtype_int16": (
        _with(T.prod, dtype="int16"),
        lambda x, axis, keepdims: np.prod(x, axis, keepdims=keepdims).astype("int16"),
        ("int8",),
        False,
        None,
    ),
    "mean_dtype_float32": (
        _with(T.mean, dtype="float32"),
        _reference_with(np.mean, dtype="float32"),
        ("int32", "float64"),
        False,  # a float32 output is too coarse for finite differences
        None,
    ),
    "mean_acc_dtype_float64": (
        _with(T.mean, acc_dtype="float64"),
        lambda x, axis, keepdims: np.mean(x, axis, "float64", keepdims=keepdims).astype(x.dtype),
        ("float32",),
        True,
        None,
    ),
}

# (axis, keepdims, input shapes, gradient shape or None): 3-d, 1-d, 0-d, empty and
# broadcastable (length-1) inputs.
AXIS_VARIANTS = [
    (None, False, [(2, 3, 4), (5,), (), (0, 3)], (3, 4)),
    (None, True, [(2, 3, 4), (0, 3)], None),
    (0, False, [(2, 3, 4), (5,), (0, 3), (3, 0), (1, 4)], None),
    (-1, True, [(2, 3, 4), (5,), (3, 0)], (3, 4)),
    (1, False, [(2, 3, 4), (0, 3), (3, 1)], None),
    ((0, 2), True, [(2, 3, 4), (1, 3, 1)], (2, 2, 3)),
    ((-1, 0), False, [(2, 3, 4), (0, 3)], (3, 4)),
    ((), False, [(2, 3, 4), ()], None),
]
VALUES = uniform(-3, 3)


def away_from_zero(rng, shape, dtype):
    """Gradient points away from 0 and from each other: ``abs`` has no kink, ``max`` no tie."""
    return np.asarray(rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1, 1], size=shape), dtype)


def _axis_id(axis):
    return "None" if axis is None else str(axis).replace(" ", "")


def _row(name, axis, keepdims, shapes, grad_shape) -> OpCase:
    build, reference, dtypes, differentiable, out_dtype = REDUCTIONS[name]
    return OpCase(
        f"{name}-axis={_axis_id(axis)}-keepdims={keepdims}",
        lambda x: build(x, axis=axis, keepdims=keepdims),
        lambda x: reference(x, axis=axis, keepdims=keepdims),
        (VALUES,),
        tuple((dtype,) for dtype in dtypes),
        tuple((shape,) for shape in shapes),
        out_dtype=out_dtype,
        grad=differentiable and grad_shape is not None,
        grad_layouts=((grad_shape,),) if grad_shape else None,
        grad_domains=(away_from_zero,),
        float32_tolerance=(2e-5, None) if "float32" in dtypes else None,
        raises_like_reference=(ValueError,),
    )


CASES = [
    _row(name, axis, keepdims, shapes, grad_shape)
    for name in REDUCTIONS
    for axis, keepdims, shapes, grad_shape in AXIS_VARIANTS
    # NumPy's argmax takes no tuple of axes, and Theano's none that is empty.
    if not ("argmax" in name or "argmin" in name) or axis != ()
]


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
        (lambda: T.logsumexp(T.bvector()), "float32"),
        (lambda: T.logsumexp(T.fmatrix(), axis=1), "float32"),
        (lambda: T.norm(T.ivector(), 1), "float64"),
        (lambda: T.norm(T.vector(dtype="complex64"), 2), "float32"),
        (lambda: T.ptp(T.bvector()), "int8"),
        (lambda: T.max_and_argmax(T.fmatrix(), axis=0)[1], "int64"),
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


# ---- logsumexp, norm, ptp, max_and_argmax ----------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_logsumexp_neither_overflows_nor_warns(dtype):
    x = T.matrix("x", dtype=dtype)
    value = np.asarray([[1000.0, 999.0, -2.0], [-1000.0, -1001.0, -1000.5]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = arignote.function([x], T.logsumexp(x, axis=1))(value)
        slopes = arignote.function([x], T.grad(T.logsumexp(x, axis=1).sum(), x))(value)
    assert got.dtype == dtype
    expected = scipy.special.logsumexp(value.astype("float64"), axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == "float32" else 1e-15)
    np.testing.assert_allclose(
        slopes,
        scipy.special.softmax(value.astype("float64"), axis=1),
        # exp(x - logsumexp(x)): near 1000, float32 rounds logsumexp by ~3e-5 relative.
        rtol=1e-4 if dtype == "float32" else 1e-12,
        atol=1e-30,
    )


def test_logsumexp_of_infinities_nans_and_nothing():
    x = T.matrix("x")
    value = np.asarray([[-np.inf, -np.inf], [np.inf, 1.0], [np.nan, 1.0], [-np.inf, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = T.logsumexp(x, axis=1).eval({x: value})
        empty = T.logsumexp(x, axis=1, keepdims=True).eval({x: np.zeros((2, 0))})
    np.testing.assert_array_equal(got, [-np.inf, np.inf, np.nan, 0.0])
    # The sum of no exponentials is 0, whose log is -inf.
    np.testing.assert_array_equal(empty, np.full((2, 1), -np.inf))


def test_logsumexp_types_and_errors():
    x = T.tensor("float64", shape=(2, None, 4))
    assert T.logsumexp(x, axis=1).type.shape == (2, 4)
    assert T.logsumexp(x, axis=(0, 2), keepdims=True).type.shape == (1, None, 1)
    with pytest.raises(TypeError, match="complex"):
        T.logsumexp(T.vector(dtype="complex128"))
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        T.logsumexp(x, axis=3)


@pytest.mark.parametrize(
    "order, error, message",
    [
        (0, ValueError, "L must be 1, 2, inf, -inf or a positive number, got 0"),
        (-1, ValueError, "got -1"),
        ("fro", TypeError, "L must be a number"),
        (True, TypeError, "got True"),
        (None, TypeError, "got None"),
    ],
)
def test_norm_rejects_orders_it_does_not_define(order, error, message):
    with pytest.raises(error, match=message):
        T.norm(T.vector(), order)


def test_norm_of_complex_values_is_the_norm_of_their_magnitudes():
    z = T.vector("z", dtype="complex128")
    value = np.asarray([3 + 4j, -1j, 2.0])
    for order in (1, 2, np.inf, 3):
        got = T.norm(z, order).eval({z: value})
        np.testing.assert_allclose(got, np.linalg.vector_norm(value, ord=order), rtol=1e-14)


@pytest.mark.parametrize("dtype, real_dtype", [("complex128", "float64"), ("complex64", "float32")])
def test_var_and_std_of_complex_values_are_real_as_in_numpy(dtype, real_dtype):
    z = T.matrix("z", dtype=dtype)
    rng = np.random.default_rng(0)
    value = (rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))).astype(dtype)
    variance = T.var(z, axis=1, ddof=1, corrected=True)
    deviation = T.std(z, axis=0, keepdims=True)
    assert variance.dtype == deviation.dtype == real_dtype
    rtol = 1e-5 if real_dtype == "float32" else 1e-13
    got = arignote.function([z], [variance, deviation])(value)
    np.testing.assert_allclose(got[0], np.var(value, axis=1, ddof=1), rtol=rtol)
    np.testing.assert_allclose(got[1], np.std(value, axis=0, keepdims=True), rtol=rtol)


def test_ptp_refuses_booleans():
    with pytest.raises(TypeError, match="ptp:.*bool"):
        T.ptp(T.vector(dtype="bool"))


def test_max_and_argmax_is_a_pair_matching_numpy():
    x = T.matrix("x")
    value = np.random.default_rng(0).normal(size=(3, 4))
    maximum, index = arignote.function([x], list(T.max_and_argmax(x, axis=1)))(value)
    np.testing.assert_array_equal(maximum, value.max(axis=1))
    np.testing.assert_array_equal(index, value.argmax(axis=1))


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
