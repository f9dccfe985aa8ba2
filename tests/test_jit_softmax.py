"""The jit backend's C softmax and log-softmax kernels against the reference backend."""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.tensor.nnet.softmax import LogSoftmax, Softmax
from tests.jit_support import requires_compiler

pytestmark = requires_compiler

SHAPES = [(4, 7), (3, 2, 5), (0, 3), (3, 0), (1, 1), (6,)]


def _values(shape, dtype, special: bool):
    values = (np.random.default_rng(0).standard_normal(shape) * 20).astype(dtype)
    if special and values.size > 8:
        flat = values.reshape(-1)
        flat[1], flat[7], flat[-1] = np.nan, np.inf, -np.inf  # rows of NaN, +inf and -inf
    return values


@pytest.mark.parametrize("op_class", [Softmax, LogSoftmax])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("special", [False, True])
def test_the_kernel_matches_the_reference(op_class, dtype, shape, special):
    x = T.tensor(dtype=dtype, shape=(None,) * len(shape))
    jit = arignote.function([x], op_class(-1)(x), mode=Mode("jit"))
    py = arignote.function([x], op_class(-1)(x), mode=Mode("py"))
    assert [n.kind for n in jit.maker.linker_report.nodes] == ["kernel"]
    values = _values(shape, dtype, special)
    with np.errstate(invalid="ignore"):
        got, expected = jit(values), py(values)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    rtol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=0)
    assert got is not values


@pytest.mark.parametrize("op_class", [Softmax, LogSoftmax])
def test_another_axis_runs_perform_and_says_why(op_class):
    x = T.matrix("x")
    jit = arignote.function([x], op_class(0)(x), mode=Mode("jit"))
    (node,) = jit.maker.linker_report.nodes
    assert node.kind == "fallback" and "last axis" in node.detail
    values = _values((3, 4), "float64", False)
    py = arignote.function([x], op_class(0)(x), mode=Mode("py"))
    np.testing.assert_allclose(jit(values), py(values), rtol=1e-14)


def test_a_non_contiguous_input_is_read_correctly():
    x = T.matrix("x")
    jit = arignote.function([x], Softmax(-1)(x.T), mode=Mode("jit"))
    values = _values((5, 3), "float64", False)
    e = np.exp(values.T - values.T.max(axis=1, keepdims=True))
    np.testing.assert_allclose(jit(values), e / e.sum(axis=1, keepdims=True), rtol=1e-13)
