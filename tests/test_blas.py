"""BLAS ops (``Gemm``, ``Gemv``, ``Ger``) against NumPy, then errors and memory layouts.

``CASES`` runs every flag combination, with and without the accumulated
operand, on regular, empty and length-1 shapes in float32 and float64
(complex128 for a few rows): value, dtype and shape against a NumPy
formula, gradients by finite differences in float64, and ``infer_shape`` of
every node. The tests after it call ``perform`` directly on C-ordered,
Fortran-ordered and strided arrays, check that inputs are left untouched
and that a NaN behind a zero ``alpha``/``beta`` survives as NumPy keeps it.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote.tensor as T
from arignote.tensor.blas import Gemm, Gemv, Ger, gemm, gemv, ger
from tests.helpers import (
    OpCase,
    check_infer_shape,
    check_op,
    check_op_grad,
    table_params,
    uniform,
)

REAL = (("float32",) * 5, ("float64",) * 5)
WITH_COMPLEX = (*REAL, ("complex128",) * 5)


def transposed(m, flag):
    return m.T if flag else m


def gemm_case(trans_a: bool, trans_b: bool, accumulate: bool, dtypes) -> OpCase:
    def shapes(m, k, n):
        a = (k, m) if trans_a else (m, k)
        b = (n, k) if trans_b else (k, n)
        return ((), a, b, (), (m, n)) if accumulate else ((), a, b)

    def reference(alpha, a, b, beta=None, c=None):
        product = alpha * (transposed(a, trans_a) @ transposed(b, trans_b))
        return product if c is None else product + beta * c

    count = 5 if accumulate else 3
    flags = "".join("T" if t else "N" for t in (trans_a, trans_b))
    return OpCase(
        name=f"gemm_{flags}{'_acc' if accumulate else ''}",
        build=lambda *inputs: Gemm(trans_a, trans_b)(*inputs),
        reference=reference,
        domains=(uniform(-2, 2),) * count,
        dtypes=tuple(d[:count] for d in dtypes),
        layouts=(shapes(3, 4, 5), shapes(0, 4, 2), shapes(3, 0, 2), shapes(1, 4, 1)),
        grad=True,
        grad_layouts=(shapes(3, 4, 2),),
        rtol=1e-4 if "float32" in dtypes[0] else None,
    )


def gemv_case(trans: bool, accumulate: bool, dtypes) -> OpCase:
    def shapes(m, n):
        a = (n, m) if trans else (m, n)
        return ((), a, (n,), (), (m,)) if accumulate else ((), a, (n,))

    def reference(alpha, a, x, beta=None, y=None):
        product = alpha * (transposed(a, trans) @ x)
        return product if y is None else product + beta * y

    count = 5 if accumulate else 3
    return OpCase(
        name=f"gemv_{'T' if trans else 'N'}{'_acc' if accumulate else ''}",
        build=lambda *inputs: Gemv(trans)(*inputs),
        reference=reference,
        domains=(uniform(-2, 2),) * count,
        dtypes=tuple(d[:count] for d in dtypes),
        layouts=(shapes(3, 4), shapes(0, 4), shapes(3, 0), shapes(1, 5)),
        grad=True,
        grad_layouts=(shapes(3, 4),),
    )


def ger_case(accumulate: bool, dtypes) -> OpCase:
    def shapes(m, n):
        return ((), (m,), (n,), (m, n)) if accumulate else ((), (m,), (n,))

    def reference(alpha, x, y, a=None):
        product = alpha * np.outer(x, y)
        return product if a is None else product + a

    count = 4 if accumulate else 3
    return OpCase(
        name=f"ger{'_acc' if accumulate else ''}",
        build=lambda *inputs: Ger()(*inputs),
        reference=reference,
        domains=(uniform(-2, 2),) * count,
        dtypes=tuple(d[:count] for d in dtypes),
        layouts=(shapes(3, 4), shapes(0, 4), shapes(3, 0), shapes(1, 5)),
        grad=True,
        grad_layouts=(shapes(3, 4),),
    )


CASES = [
    *(
        gemm_case(trans_a, trans_b, accumulate, WITH_COMPLEX if trans_a and trans_b else REAL)
        for trans_a in (False, True)
        for trans_b in (False, True)
        for accumulate in (False, True)
    ),
    *(
        gemv_case(trans, accumulate, WITH_COMPLEX if trans else REAL)
        for trans in (False, True)
        for accumulate in (False, True)
    ),
    ger_case(False, WITH_COMPLEX),
    ger_case(True, REAL),
]
VALUE_PARAMS, GRAD_PARAMS = table_params(CASES)


@pytest.mark.parametrize("case, layout, dtypes", VALUE_PARAMS)
def test_value(case, layout, dtypes):
    check_op(case, np.random.default_rng(0), layout, dtypes)


@pytest.mark.parametrize("case, layout", GRAD_PARAMS)
def test_gradient(case, layout):
    check_op_grad(case, np.random.default_rng(1), layout)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_infer_shape(case):
    check_infer_shape(case, np.random.default_rng(2), case.layouts[0], case.dtypes[-1])


def test_complex_gradient_follows_the_conjugate_convention():
    """For a real cost C of complex z, grad is dC/dRe z + i dC/dIm z: checked on |gemm|^2."""
    rng = np.random.default_rng(3)
    a_value = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    b_value = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    a, b = T.zmatrix("a"), T.zmatrix("b")
    alpha = np.complex128(0.5 - 2j)
    cost = T.sum(T.sqr(T.abs(gemm(alpha, a, b))))
    got = T.grad(cost, a).eval({a: a_value, b: b_value})

    def real_cost(a_matrix):
        return np.sum(np.abs(alpha * a_matrix @ b_value) ** 2)

    step, expected = 1e-6, np.zeros_like(a_value)
    for index in np.ndindex(a_value.shape):
        for unit in (1, 1j):
            delta = np.zeros_like(a_value)
            delta[index] = unit * step
            slope = (real_cost(a_value + delta) - real_cost(a_value - delta)) / (2 * step)
            expected[index] += unit * slope
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def perform(op, *values):
    node = op.make_node(*(T.as_tensor_variable(v) for v in values))
    storage = [[None]]
    op.perform(node, list(values), storage)
    return storage[0][0]


@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_memory_layouts_give_the_same_result_and_inputs_stay(order):
    rng = np.random.default_rng(4)

    def laid_out(shape):
        value = rng.standard_normal(shape)
        if order == "F":
            return np.asfortranarray(value)
        if order == "strided":
            return (
                np.repeat(np.repeat(value, 2, axis=0), 2, axis=-1)[::2, ..., ::2]
                if (value.ndim == 2)
                else np.repeat(value, 2)[::2]
            )
        return value

    alpha, beta = np.float64(1.5), np.float64(-0.25)
    a, b, c = laid_out((3, 4)), laid_out((4, 5)), laid_out((3, 5))
    x, y = laid_out((4,)), laid_out((3,))
    saved = [v.copy() for v in (a, b, c, x, y)]
    for trans_a in (False, True):
        for trans_b in (False, True):
            left = a.T if trans_a else a
            right = b.T if trans_b else b
            got = perform(Gemm(trans_a, trans_b), alpha, left, right, beta, c)
            np.testing.assert_allclose(got, alpha * a @ b + beta * c, rtol=1e-12)
    np.testing.assert_allclose(
        perform(Gemv(True), alpha, a.T, x, beta, y), alpha * a @ x + beta * y, rtol=1e-12
    )
    np.testing.assert_allclose(
        perform(Ger(), alpha, y, x, a), alpha * np.outer(y, x) + a, rtol=1e-12
    )
    for value, copy in zip((a, b, c, x, y), saved):
        np.testing.assert_array_equal(value, copy)


def test_zero_scales_keep_nan_as_numpy_does():
    nan_matrix = np.full((2, 2), np.nan)
    ones = np.ones((2, 2))
    zero, one = np.float64(0), np.float64(1)
    assert np.isnan(perform(Gemm(), zero, nan_matrix, ones)).all()
    assert np.isnan(perform(Gemm(), one, ones, ones, zero, nan_matrix)).all()
    assert np.isnan(perform(Gemv(), zero, nan_matrix, np.ones(2))).all()
    assert np.isnan(perform(Gemv(), one, ones, np.ones(2), zero, np.full(2, np.nan))).all()
    assert np.isnan(perform(Ger(), zero, np.full(2, np.nan), np.ones(2))).all()


@pytest.mark.parametrize(
    "build, error, message",
    [
        (
            lambda: gemm(1.0, T.matrix(), T.matrix(dtype="float32")),
            TypeError,
            r"dtype float64 .*b .* is float32",
        ),
        (lambda: gemm(1.0, T.vector(), T.matrix()), TypeError, r"a must be a matrix"),
        (lambda: gemm(1.0, T.imatrix(), T.imatrix()), TypeError, r"BLAS serves .* is int32"),
        (lambda: gemm(np.ones(2), T.matrix(), T.matrix()), TypeError, r"alpha must be a scalar"),
        (lambda: Gemm()(1.0, T.matrix(), T.matrix(), 1.0), TypeError, r"beta and c"),
        (
            lambda: gemm(1.0, T.tensor(shape=(2, 3)), T.tensor(shape=(4, 2))),
            ValueError,
            r"inner axes .* \[3, 4\]",
        ),
        (
            lambda: gemm(
                1.0, T.tensor(shape=(2, 3)), T.tensor(shape=(3, 2)), 1.0, T.tensor(shape=(3, 2))
            ),
            ValueError,
            r"rows of op\(a\) and of c",
        ),
        (
            lambda: gemv(1.0, T.tensor(shape=(2, 3)), T.tensor(shape=(2,)), trans=False),
            ValueError,
            r"columns of op\(a\) and x",
        ),
        (
            lambda: ger(1.0, T.tensor(shape=(2,)), T.vector(), T.tensor(shape=(3, None))),
            ValueError,
            r"x and the rows of a",
        ),
    ],
)
def test_graph_build_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_run_time_errors_name_the_shapes():
    a, b, c = T.matrix("a"), T.matrix("b"), T.matrix("c")
    one = np.float64(1)
    with pytest.raises(ValueError, match=r"gemm: shapes \(2, 3\) and \(4, 2\) are not aligned"):
        gemm(one, a, b).eval({a: np.ones((2, 3)), b: np.ones((4, 2))})
    with pytest.raises(ValueError, match=r"c has shape \(3, 3\), but op\(a\) @ op\(b\) has"):
        gemm(one, a, b, one, c).eval({a: np.ones((2, 3)), b: np.ones((3, 2)), c: np.ones((3, 3))})
    x, y = T.vector("x"), T.vector("y")
    with pytest.raises(ValueError, match=r"gemv: shapes \(3, 2\) and \(3,\) are not aligned"):
        gemv(one, a, x, trans=True).eval({a: np.ones((2, 3)), x: np.ones(3)})
    with pytest.raises(ValueError, match=r"ger: a has shape \(2, 2\), but outer\(x, y\) has"):
        ger(one, x, y, a).eval({x: np.ones(2), y: np.ones(3), a: np.ones((2, 2))})
