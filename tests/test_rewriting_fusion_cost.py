"""Rewrites that make fused loops cheaper: copied cheap producers, softplus pairs, negated sums,
and the jit backend's inlined ``np.matmul`` for plain ``Gemv``/``Gemm``.

Each test checks the rewritten graph's structure and compares its values with the unrewritten
graph (and NumPy) on random inputs, extremes included where precision is the point.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.scalar import math as scalar_math
from arignote.tensor.blas import Gemm, Gemv
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.fused import ElemwiseReduce
from tests.jit_support import requires_compiler

FAST = Mode(optimizer="fast_run")
UNREWRITTEN = Mode(optimizer=None)


def _nodes(function):
    return function.maker.fgraph.toposort()


def _elemwise_of(function, scalar_class):
    return [
        node for node in _nodes(function)
        if isinstance(node.op, Elemwise) and type(node.op.scalar_op) is scalar_class
    ]


def _agree(inputs, outputs, values, rtol=1e-12, mode=FAST):
    outputs = outputs if isinstance(outputs, list) else [outputs]
    fast = arignote.function(inputs, outputs, mode=mode)
    plain = arignote.function(inputs, outputs, mode=UNREWRITTEN)
    for got, expected in zip(fast(*values), plain(*values)):
        np.testing.assert_allclose(got, expected, rtol=rtol)
    return fast


def test_a_cheap_producer_of_two_regions_is_copied_into_both():
    y, z = T.vectors("y", "z")
    complement = 1 - y
    outputs = [complement * T.exp(z), T.sin(z) / complement]
    rng = np.random.default_rng(0)
    fast = _agree([y, z], outputs, [rng.random(7), rng.standard_normal(7)])
    assert not _elemwise_of(fast, scalar_math.Sub), "1 - y lives only inside the two loops"
    assert len(_nodes(fast)) == 2


@pytest.mark.parametrize(
    "outputs,nodes",
    [
        (lambda y, z: [(1 - y) * T.exp(z), 1 - y], 2),  # also an output
        (lambda y, z: [(1 - T.exp(y)) * z, (1 - T.exp(y)) + T.sin(z)], 3),  # reads an elemwise
        (lambda y, z: [(y * z) * T.exp(z), T.sin(y * z)], 3),  # no constant operand
    ],
)
def test_a_producer_is_not_copied_when_it_is_not_cheap_and_leaf(outputs, nodes):
    y, z = T.vectors("y", "z")
    rng = np.random.default_rng(1)
    fast = _agree([y, z], outputs(y, z), [rng.random(5), rng.standard_normal(5)])
    assert len(_nodes(fast)) == nodes, [str(n) for n in _nodes(fast)]


def test_softplus_of_x_and_of_minus_x_share_one_softplus():
    x = T.vector("x")
    outputs = [T.softplus(x), T.softplus(-x), T.softplus(x) * T.softplus(-x)]
    values = np.concatenate(
        [[0.0, -0.0, 1e-300, -40.0, 40.0, 750.0, -750.0, np.inf, -np.inf, np.nan],
         np.random.default_rng(2).standard_normal(20) * 30]
    )
    with np.errstate(all="ignore"):
        fast = _agree([x], outputs, [values], rtol=1e-15, mode=FAST.excluding("elemwise_fusion"))
        np.testing.assert_allclose(fast(values)[0], np.logaddexp(0, values), rtol=1e-15)
        np.testing.assert_allclose(fast(values)[1], np.logaddexp(0, -values), rtol=1e-15)
    (softplus,) = _elemwise_of(fast, scalar_math.Softplus)
    assert softplus.inputs[0].owner.inputs[0].owner.op.scalar_op == scalar_math.abs_


def test_a_lone_softplus_is_left_alone():
    x = T.vector("x")
    fast = arignote.function([x], T.softplus(-x) * 2, mode=FAST.excluding("elemwise_fusion"))
    assert not _elemwise_of(fast, scalar_math.Abs)


def test_a_negated_sum_is_negated_inside_the_fused_loop():
    x = T.matrix("x")
    output = -(T.exp(x) * x).sum()
    fast = _agree([x], output, [np.random.default_rng(3).standard_normal((4, 3))], rtol=0)
    (node,) = _nodes(fast)
    assert isinstance(node.op, ElemwiseReduce)


@pytest.mark.parametrize("dtype", ["uint8", "int32"])
def test_a_negated_integer_sum_keeps_its_negation_outside(dtype):
    # sum(-x) of uint8 wraps before widening; -sum(x) does not.
    x = T.vector("x", dtype=dtype)
    output = -(x + 1).sum()
    fast = _agree([x], output, [np.arange(5, dtype=dtype)], rtol=0)
    assert _elemwise_of(fast, scalar_math.Neg)


@requires_compiler
@pytest.mark.parametrize(
    "build,shapes",
    [
        (lambda a, b: Gemv(False)(1.0, a, b), [(5, 3), (3,)]),
        (lambda a, b: Gemv(True)(1.0, a, b), [(3, 5), (3,)]),
        (lambda a, b: Gemm(False, True)(1.0, a, b), [(4, 3), (2, 3)]),
        (lambda a, b: Gemm(True, False)(1.0, a, b), [(3, 4), (3, 0)]),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_plain_product_is_an_inlined_matmul_on_the_jit_backend(build, shapes, dtype):
    a = T.tensor(dtype=dtype, shape=(None,) * len(shapes[0]))
    b = T.tensor(dtype=dtype, shape=(None,) * len(shapes[1]))
    rng = np.random.default_rng(4)
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    jit = arignote.function([a, b], build(a, b), mode=Mode("jit"))
    py = arignote.function([a, b], build(a, b), mode=Mode("py"))
    got = jit(*values)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, py(*values), rtol=1e-6 if dtype == "float32" else 1e-13)
    assert "np.matmul inlined" in str(jit.maker.linker_report)


@requires_compiler
def test_an_inlined_matmul_raises_the_reference_error_when_misaligned():
    a, x = T.matrix("a"), T.vector("x")
    jit = arignote.function([a, x], Gemv(True)(1.0, a, x), mode=Mode("jit"))
    with pytest.raises(ValueError, match=r"gemv: shapes \(3, 2\) and \(3,\) are not aligned"):
        jit(np.ones((2, 3)), np.ones(3))


@requires_compiler
def test_a_scaled_product_still_runs_perform():
    a, x = T.matrix("a"), T.vector("x")
    jit = arignote.function([a, x], Gemv(False)(2.0, a, x), mode=Mode("jit"))
    assert "np.matmul inlined" not in str(jit.maker.linker_report)
    value = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(jit(value, np.ones(3)), 2 * value @ np.ones(3))


def test_a_blas_scale_built_by_specialize_is_folded_to_a_constant():
    a, b = T.matrices("a", "b")
    output = b - 0.01 * T.dot(a.T, a)
    fast = _agree([a, b], output, [np.eye(3) * 2.0, np.ones((3, 3))])
    (gemm,) = [n for n in _nodes(fast) if isinstance(n.op, Gemm)]
    alpha = gemm.inputs[0]
    assert alpha.owner is None and np.isclose(alpha.data, -0.01)
