"""Scaled and accumulating products on the jit backend go through NumPy's bundled CBLAS:
values against NumPy for every transpose and memory layout, the cases left to ``perform``
(zero scales, empty operands), errors, and no SciPy import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.link.c import lower_blas
from arignote.tensor import blas
from tests.jit_support import requires_compiler

pytestmark = [
    requires_compiler,
    pytest.mark.skipif(lower_blas._library() is None, reason="NumPy ships no CBLAS here"),
]
RNG = np.random.default_rng(0)
JIT = Mode("jit", None)  # no rewrites: the product nodes run as built


def _layouts(x: np.ndarray) -> list[np.ndarray]:
    """C order, Fortran order, and a strided view holding the same values."""
    wide = np.zeros((x.shape[0], 2 * x.shape[1]), x.dtype)
    wide[:, ::2] = x
    return [x.copy(), np.asfortranarray(x), wide[:, ::2]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_matches_numpy_for_every_layout(dtype, trans_a, trans_b):
    c, a, b = T.matrix("c", dtype), T.matrix("a", dtype), T.matrix("b", dtype)
    alpha, beta = T.scalar("alpha", dtype), T.scalar("beta", dtype)
    f = arignote.function(
        [alpha, a, b, beta, c], blas.Gemm(trans_a, trans_b)(alpha, a, b, beta, c), mode=JIT
    )
    assert "NumPy's OpenBLAS" in str(f.maker.linker_report)
    a_value = RNG.standard_normal((4, 3) if not trans_a else (3, 4)).astype(dtype)
    b_value = RNG.standard_normal((3, 5) if not trans_b else (5, 3)).astype(dtype)
    c_value = RNG.standard_normal((4, 5)).astype(dtype)
    expected = 0.5 * c_value - 2.0 * (
        (a_value.T if trans_a else a_value) @ (b_value.T if trans_b else b_value)
    )
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    for a_layout, b_layout in zip(_layouts(a_value), reversed(_layouts(b_value))):
        kept = c_value.copy()
        got = f(-2.0, a_layout, b_layout, 0.5, c_value)
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
        np.testing.assert_array_equal(c_value, kept)  # the accumulated input is not written
        assert got.dtype == dtype and got.flags.c_contiguous


@pytest.mark.parametrize("trans", [False, True])
def test_gemv_and_ger_match_numpy(trans):
    a, x, y = T.dmatrix("a"), T.dvector("x"), T.dvector("y")
    alpha, beta = T.dscalar("alpha"), T.dscalar("beta")
    gemv = arignote.function(
        [alpha, a, x, beta, y], blas.Gemv(trans)(alpha, a, x, beta, y), mode=JIT
    )
    ger = arignote.function([alpha, x, y, a], blas.Ger()(alpha, x, y, a), mode=JIT)
    a_value = RNG.standard_normal((4, 3))
    x_value = RNG.standard_normal(4 if trans else 3)
    y_value = RNG.standard_normal(3 if trans else 4)
    for layout in _layouts(a_value):
        op_a = layout.T if trans else layout
        np.testing.assert_allclose(
            gemv(1.5, layout, x_value, -1.0, y_value), 1.5 * op_a @ x_value - y_value, rtol=1e-12
        )
    outer_x, outer_y = RNG.standard_normal(4), RNG.standard_normal(3)
    for layout in _layouts(a_value):
        np.testing.assert_allclose(
            ger(0.25, outer_x, outer_y, layout), layout + 0.25 * np.outer(outer_x, outer_y)
        )


def test_zero_scales_and_empty_operands_keep_the_reference_semantics():
    a, b, c = T.dmatrix("a"), T.dmatrix("b"), T.dmatrix("c")
    alpha, beta = T.dscalar("alpha"), T.dscalar("beta")
    f = arignote.function(
        [alpha, a, b, beta, c], blas.Gemm(False, False)(alpha, a, b, beta, c), mode=JIT
    )
    nan_a = np.full((2, 2), np.nan)
    # alpha 0 times a NaN is NaN in NumPy's arithmetic (BLAS would drop it)
    assert np.isnan(f(0.0, nan_a, np.ones((2, 2)), 1.0, np.ones((2, 2)))).all()
    np.testing.assert_array_equal(
        f(1.0, np.ones((2, 0)), np.ones((0, 3)), 2.0, np.ones((2, 3))), np.full((2, 3), 2.0)
    )
    with pytest.raises(ValueError, match="not aligned"):
        f(1.0, np.ones((2, 3)), np.ones((2, 3)), 1.0, np.ones((2, 3)))


def test_an_sgd_step_compiles_and_runs_without_scipy():
    script = """
import sys, numpy as np, arignote, arignote.tensor as T
x, t = T.fmatrix('x'), T.fmatrix('t')
w = arignote.shared(np.ones((5, 3), 'float32'), 'w')
cost = ((x.dot(w) - t) ** 2).mean()
step = arignote.function([x, t], cost, updates=[(w, w - np.float32(0.1) * T.grad(cost, w))])
step(np.ones((4, 5), 'float32'), np.zeros((4, 3), 'float32'))
assert 'NumPy' in str(step.maker.linker_report), step.maker.linker_report
print(sorted(m for m in sys.modules if m.startswith('scipy')))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout
