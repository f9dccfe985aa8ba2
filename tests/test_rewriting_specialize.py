"""Specialize rewrites: constant powers and BLAS. Each case checks the rewritten graph's ops
(with fusion excluded, so elementwise ops stay visible) and that it computes what the
unrewritten graph computes on random inputs."""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.scalar import math as scalar_math
from arignote.tensor.blas import Gemm, Gemv, Ger
from arignote.tensor.elemwise import DimShuffle, Elemwise
from arignote.tensor.products import Dot

STRUCTURE = Mode(optimizer="fast_run").excluding("fusion")
NAIVE = Mode(optimizer=None)


def compiled(inputs, outputs, mode=STRUCTURE):
    return arignote.function(inputs, outputs, mode=mode, on_unused_input="ignore")


def nodes(fn):
    return fn.maker.fgraph.toposort()


def scalar_op_types(fn) -> list[type]:
    return [type(n.op.scalar_op) for n in nodes(fn) if isinstance(n.op, Elemwise)]


def assert_same_as_naive(inputs, output, values, rtol=1e-12):
    got = compiled(inputs, output)(*values)
    expected = compiled(inputs, output, mode=NAIVE)(*values)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12)


# ---- powers -----------------------------------------------------------------------------------
x = T.vector("x")
POSITIVE = np.random.default_rng(0).uniform(0.5, 2.0, 7)


@pytest.mark.parametrize("exponent", [0, 1, 2, 3, 5, 16, 0.5, -0.5, -1, -2, -3, -16])
def test_small_constant_powers_become_products(exponent):
    fn = compiled([x], x**exponent)
    assert scalar_math.Pow not in scalar_op_types(fn)
    assert_same_as_naive([x], x**exponent, [POSITIVE], rtol=1e-14)


@pytest.mark.parametrize("exponent", [17, 2.5, -0.25])
def test_other_powers_stay(exponent):
    fn = compiled([x], x**exponent)
    assert scalar_math.Pow in scalar_op_types(fn)


def test_square_uses_sqr_and_cube_one_product():
    assert scalar_op_types(compiled([x], x**2)) == [scalar_math.Sqr]
    assert sorted(t.__name__ for t in scalar_op_types(compiled([x], x**3))) == ["Mul", "Sqr"]


def test_integer_powers():
    i = T.bvector("i")
    values = np.array([100, -3, 7], dtype="int8")
    fn = compiled([i], i**2)
    assert scalar_op_types(fn) == [scalar_math.Sqr]
    np.testing.assert_array_equal(fn(values), compiled([i], i**2, mode=NAIVE)(values))
    # A float exponent squares in float: the int8 square of 100 would wrap around.
    squared_as_float = i ** np.float32(2)
    np.testing.assert_array_equal(
        compiled([i], squared_as_float)(values), values.astype("float32") ** 2
    )
    fn = compiled([i], i ** np.int8(-1))
    assert scalar_math.Pow in scalar_op_types(fn)


def test_power_broadcast_by_its_exponent_keeps_the_shape():
    fn = compiled([x], x ** T.constant(np.full((1, 1), 2.0)))
    assert scalar_math.Pow not in scalar_op_types(fn)
    assert fn(POSITIVE).shape == (1, 7)
    fn = compiled([x], x ** T.constant(np.full((2, 7), 2.0)))
    assert fn(POSITIVE).shape == (2, 7)
    np.testing.assert_allclose(fn(POSITIVE), np.broadcast_to(POSITIVE**2, (2, 7)))


# ---- BLAS ----------------------------------------------------------------------------------------
A, B, C = T.matrix("A"), T.matrix("B"), T.matrix("C")
v, u = T.vector("v"), T.vector("u")
a, b = T.scalar("a"), T.scalar("b")
rng = np.random.default_rng(1)
A_, B_, C_ = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
v_, u_ = rng.standard_normal(3), rng.standard_normal(3)
a_, b_ = np.float64(1.5), np.float64(-0.75)
ALL = [A, B, C, v, u, a, b]
ALL_ = [A_, B_, C_, v_, u_, a_, b_]


def blas_nodes(fn):
    return [n for n in nodes(fn) if isinstance(n.op, (Gemm, Gemv, Ger))]


DOT_CASES = [
    ("dot", lambda: T.dot(A, B), Gemm(False, False)),
    ("dot_At", lambda: T.dot(A.T, B), Gemm(True, False)),
    ("dot_Bt", lambda: T.dot(A, B.T), Gemm(False, True)),
    ("dot_At_Bt", lambda: T.dot(A.T, B.T), Gemm(True, True)),
    ("matrix_vector", lambda: T.dot(A, v), Gemv(False)),
    ("transposed_matrix_vector", lambda: T.dot(A.T, v), Gemv(True)),
    ("vector_matrix", lambda: T.dot(v, A), Gemv(True)),
    ("vector_transposed_matrix", lambda: T.dot(v, A.T), Gemv(False)),
    ("outer", lambda: T.outer(v, u), Ger()),
]


@pytest.mark.parametrize("build, op", [c[1:] for c in DOT_CASES], ids=[c[0] for c in DOT_CASES])
def test_dot_becomes_blas_with_transpose_flags(build, op):
    out = build()
    fn = compiled(ALL, out)
    (node,) = blas_nodes(fn)
    assert node.op == op
    assert not any(isinstance(n.op, (Dot, DimShuffle)) for n in nodes(fn))
    assert_same_as_naive(ALL, out, ALL_)


def test_products_blas_cannot_serve_stay_dot():
    i, j = T.imatrix("i"), T.imatrix("j")
    assert any(isinstance(n.op, Dot) for n in nodes(compiled([i, j], T.dot(i, j))))
    assert any(isinstance(n.op, Dot) for n in nodes(compiled([v, u], T.dot(v, u))))
    h = T.matrix("h", dtype="float16")
    assert any(isinstance(n.op, Dot) for n in nodes(compiled([h], T.dot(h, h))))


def test_mixed_float_dtypes_are_cast_to_the_product_dtype():
    f = T.fmatrix("f")
    fn = compiled([f, A], T.dot(f, A))
    (node,) = blas_nodes(fn)
    assert node.outputs[0].dtype == "float64"
    f_ = A_.astype("float32")
    np.testing.assert_allclose(fn(f_, A_), f_.astype("float64") @ A_, rtol=1e-12)


def test_float32_product():
    f, g = T.fmatrix("f"), T.fmatrix("g")
    fn = compiled([f, g], 2 * T.dot(f, g) + g)
    (node,) = blas_nodes(fn)
    assert node.outputs[0].dtype == "float32" and len(node.inputs) == 5
    f_, g_ = A_.astype("float32"), B_.astype("float32")
    np.testing.assert_allclose(fn(f_, g_), 2 * f_ @ g_ + g_, rtol=1e-5)


ACCUMULATE_CASES = [
    ("alpha_dot_plus_beta_c", lambda: a * T.dot(A, B) + b * C, Gemm),
    ("c_plus_dot", lambda: C + T.dot(A, B), Gemm),
    ("c_minus_dot", lambda: C - T.dot(A.T, B), Gemm),
    ("dot_minus_c", lambda: T.dot(A, B) - C, Gemm),
    ("negated_dot_plus_c", lambda: -T.dot(A, B) + C, Gemm),
    ("constants", lambda: 2 * T.dot(A, B) + 3 * C, Gemm),
    ("gemv", lambda: b * u + a * T.dot(A, v), Gemv),
    ("gemv_vector_matrix", lambda: u - T.dot(v, A), Gemv),
    ("ger", lambda: C + a * T.outer(v, u), Ger),
]


@pytest.mark.parametrize(
    "build, op_class", [c[1:] for c in ACCUMULATE_CASES], ids=[c[0] for c in ACCUMULATE_CASES]
)
def test_scaled_sums_become_one_accumulating_call(build, op_class):
    out = build()
    fn = compiled(ALL, out)
    (node,) = blas_nodes(fn)
    assert isinstance(node.op, op_class)
    assert len(node.inputs) == (4 if op_class is Ger else 5)
    # What is left outside BLAS works on the 0-d scales only.
    assert all(n.outputs[0].ndim == 0 for n in nodes(fn) if isinstance(n.op, Elemwise))
    assert node.outputs[0] is fn.maker.fgraph.outputs[0]
    assert_same_as_naive(ALL, out, ALL_)


def test_longer_sums_keep_their_other_terms():
    out = C + T.dot(A, B) + A + 2 * B
    fn = compiled(ALL, out)
    assert len(blas_nodes(fn)) == 1 and len(blas_nodes(fn)[0].inputs) == 5
    assert_same_as_naive(ALL, out, ALL_)


def test_what_blas_cannot_accumulate_stays_a_sum():
    row = T.row("row")
    out_broadcast = T.dot(A, B) + row  # BLAS does not broadcast its matrix
    fn = compiled([A, B, row], out_broadcast)
    assert len(blas_nodes(fn)[0].inputs) == 3
    assert_same_as_naive([A, B, row], out_broadcast, [A_, B_, B_[:1]])
    product = T.dot(A, B)
    shared = [product + C, product * 2]  # the product is read twice: computed once
    fn = compiled([A, B, C], shared)
    assert len(blas_nodes(fn)) == 1 and len(blas_nodes(fn)[0].inputs) == 3
    scaled_ger = 2 * C + T.outer(v, u)  # Ger adds its matrix unscaled
    fn = compiled([C, v, u], scaled_ger)
    assert len(blas_nodes(fn)[0].inputs) == 3
    assert_same_as_naive([C, v, u], scaled_ger, [C_, v_, u_])


def test_gradients_of_products_reach_blas():
    cost = T.sum(T.tanh(T.dot(T.dot(v, A), B)) * u)
    grads = T.grad(cost, [A, B, v])
    fn = compiled([A, B, v, u], grads)
    assert not any(isinstance(n.op, Dot) for n in nodes(fn))
    naive = compiled([A, B, v, u], grads, mode=NAIVE)
    for got, expected in zip(fn(A_, B_, v_, u_), naive(A_, B_, v_, u_)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_excluding_blas_keeps_dot():
    fn = compiled([A, B], T.dot(A, B), mode=STRUCTURE.excluding("blas"))
    assert any(isinstance(n.op, Dot) for n in nodes(fn)) and not blas_nodes(fn)
