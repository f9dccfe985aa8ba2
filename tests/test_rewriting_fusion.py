"""Elementwise fusion: regions become one Composite loop, reductions absorb their input.

Structural tests look at the rewritten graph (``f.maker.fgraph``); numerical
ones compare FAST_RUN with the unrewritten graph on random inputs. The
``CASES`` rows exercise the fused ops directly (values, gradients and shapes, in
``tests/test_op_tables.py``).
"""

from __future__ import annotations

import numpy as np

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.scalar import math as scalar_math
from arignote.scalar.basic import ScalarType
from arignote.scalar.composite import Composite
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.fused import ElemwiseReduce
from arignote.tensor.reduction import CAReduce
from tests.helpers import OpCase, uniform

FUSION_ONLY = Mode(optimizer="fast_run")
UNREWRITTEN = Mode(optimizer=None)


def _composite_exp_mul_add(dtype_a: str, dtype_b: str) -> Composite:
    a, b = ScalarType(dtype_a).make_variable(), ScalarType(dtype_b).make_variable()
    return Composite([a, b], [scalar_math.exp(a) * b + 1])


def _fused(x, y):
    return Elemwise(_composite_exp_mul_add(x.dtype, y.dtype))(x, y)


def _fused_sum(x, y):
    elemwise = Elemwise(_composite_exp_mul_add(x.dtype, y.dtype))
    reduce = CAReduce("sum", tuple(range(max(x.ndim, y.ndim))), x.dtype, x.dtype)
    return ElemwiseReduce(elemwise, reduce)(x, y)


CASES = [
    OpCase(
        name="composite_exp_mul_add",
        build=_fused,
        reference=lambda x, y: np.exp(x) * y + 1,
        domains=(uniform(-2, 2), uniform(-2, 2)),
        dtypes=(("float64", "float64"), ("float32", "float32")),
        layouts=(((3, 4), (3, 4)), ((1, 4), (3, 4)), ((0,), (0,))),
        grad=True,
    ),
    OpCase(
        name="elemwise_reduce_sum",
        build=_fused_sum,
        reference=lambda x, y: np.sum(np.exp(x) * y + 1),
        domains=(uniform(-2, 2), uniform(-2, 2)),
        dtypes=(("float64", "float64"),),
        layouts=(((3, 4), (3, 4)), ((5,), (5,))),
        grad=True,
    ),
]


def _ops(function):
    return [node.op for node in function.maker.fgraph.toposort()]


def _compare(inputs, output, values):
    fused = arignote.function(inputs, output, mode=FUSION_ONLY)
    plain = arignote.function(inputs, output, mode=UNREWRITTEN)
    np.testing.assert_allclose(fused(*values), plain(*values), rtol=1e-12)
    return fused


def test_an_elementwise_chain_becomes_one_composite():
    x, y = T.matrices("x", "y")
    output = T.tanh(T.exp(x) * y + x) - y
    rng = np.random.default_rng(0)
    fused = _compare([x, y], output, [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))])
    ops = _ops(fused)
    assert len(ops) == 1
    assert isinstance(ops[0], Elemwise) and isinstance(ops[0].scalar_op, Composite)


def test_a_value_read_outside_the_region_is_not_absorbed():
    x = T.vector("x")
    shared_part = T.exp(x)
    output = [shared_part * 2 + 1, T.sqrt(shared_part)]
    rng = np.random.default_rng(1)
    fused = arignote.function([x], output, mode=FUSION_ONLY)
    plain = arignote.function([x], output, mode=UNREWRITTEN)
    value = rng.standard_normal(5)
    for got, expected in zip(fused(value), plain(value)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    exp_nodes = [
        op for op in _ops(fused)
        if isinstance(op, Elemwise) and isinstance(op.scalar_op, scalar_math.Exp)
    ]
    assert len(exp_nodes) == 1, "exp(x) feeds two regions, so it stays its own node"


def test_a_reduction_of_a_region_becomes_one_elemwise_reduce():
    x = T.matrix("x")
    output = T.exp(x - 1).sum(axis=1)
    fused = _compare([x], output, [np.random.default_rng(2).standard_normal((4, 3))])
    ops = _ops(fused)
    assert len(ops) == 1 and isinstance(ops[0], ElemwiseReduce)


def test_fusion_can_be_excluded_by_tag():
    x = T.vector("x")
    function = arignote.function([x], T.exp(x) + x, mode=FUSION_ONLY.excluding("fusion"))
    assert not any(isinstance(getattr(op, "scalar_op", None), Composite) for op in _ops(function))


def test_equal_regions_give_equal_composites_which_merge():
    x, y = T.vectors("x", "y")
    output = (T.exp(x) * 2 + 1) + (T.exp(y) * 2 + 1) * 0 + (T.exp(x) * 2 + 1)
    fused = _compare([x, y], output, [np.arange(3.0), np.ones(3)])
    composites = [op.scalar_op for op in _ops(fused) if isinstance(op, Elemwise)]
    assert len(composites) == 1
    a = _composite_exp_mul_add("float64", "float64")
    b = _composite_exp_mul_add("float64", "float64")
    assert a == b and hash(a) == hash(b)


def test_nodes_made_by_rewrites_keep_the_users_creation_line():
    x = T.vector("x")
    output = T.log(1 + T.exp(x))
    line = output.owner.creation_site.lineno
    function = arignote.function([x], output, mode=FUSION_ONLY)
    sites = {node.creation_site.lineno for node in function.maker.fgraph.toposort()}
    assert sites == {line}, "a rewritten node must point at the user's expression, not function()"
