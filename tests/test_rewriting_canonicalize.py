"""Canonicalize rewrites: a table of cases, each checked structurally and numerically.

Each ``Case`` builds a graph, compiles it with the canonicalize stage (and
merge and constant folding, but no stabilize, specialize or fusion), and
checks a predicate on the rewritten graph; the predicate must fail when the
case's rewrite is excluded, so each rewrite is shown to be the one that
fired. Every case also runs on random inputs (empty and broadcast shapes
among them) and must give the unrewritten graph's values, dtypes and shapes.
Cases in ``KEPT`` must not be rewritten (broadcasting or integer wrap-around
would change), and give the same values too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.config import config
from arignote.graph.basic import Constant
from arignote.graph.rewriting.db import RewriteQuery
from arignote.scalar import math as scalar_math
from arignote.tensor.alloc import Alloc
from arignote.tensor.elemwise import DimShuffle, Elemwise
from arignote.tensor.nnet import sigmoid
from arignote.tensor.reduction import CAReduce
from arignote.tensor.shape import Reshape
from arignote.tensor.subtensor import Subtensor
from arignote.tensor.type import TensorType

CANONICALIZE = Mode(
    optimizer=RewriteQuery(
        include=frozenset({"fast_run"}),
        exclude=frozenset({"stabilize", "specialize", "fusion"}),
    )
)
UNREWRITTEN = Mode(optimizer=None)
# A rewrite loop ("stopped after too many rewrites") is a warning; here it fails the test.
pytestmark = pytest.mark.filterwarnings("error::UserWarning")

Add, Mul, Sub, Neg = scalar_math.Add, scalar_math.Mul, scalar_math.Sub, scalar_math.Neg
TrueDiv, Cast, Second, Exp = (
    scalar_math.TrueDiv,
    scalar_math.Cast,
    scalar_math.Second,
    scalar_math.Exp,
)


@pytest.fixture(autouse=True)
def _rewrite_errors_raise():
    with config.change_flags(on_opt_error="raise"):
        yield


# ---- graph predicates ----------------------------------------------------------------------------
def _is(op, kind) -> bool:
    if isinstance(kind, type) and issubclass(kind, scalar_math.ScalarOp):
        return isinstance(op, Elemwise) and isinstance(op.scalar_op, kind)
    return isinstance(op, kind)


def count(fgraph, kind) -> int:
    return sum(_is(node.op, kind) for node in fgraph.apply_nodes)


def lacks(*kinds) -> Callable:
    return lambda fgraph: all(count(fgraph, kind) == 0 for kind in kinds)


def has(kind, times: int = 1, *absent) -> Callable:
    return lambda fgraph: count(fgraph, kind) == times and lacks(*absent)(fgraph)


def no_nodes(fgraph) -> bool:
    return not fgraph.apply_nodes


def output_made_by(kind, *absent) -> Callable:
    def check(fgraph):
        owner = fgraph.outputs[0].owner
        return owner is not None and _is(owner.op, kind) and lacks(*absent)(fgraph)

    return check


def one_node_with_constant(kind, value, n_inputs: int) -> Callable:
    """Exactly one node of ``kind``, with ``n_inputs`` inputs, one a constant ``value``."""

    def check(fgraph):
        nodes = [n for n in fgraph.apply_nodes if _is(n.op, kind)]
        if len(nodes) != 1 or len(nodes[0].inputs) != n_inputs:
            return False
        constants = [i for i in nodes[0].inputs if isinstance(i, Constant)]
        return len(constants) == 1 and np.allclose(constants[0].data, value)

    return check


def reduces(kind_of_input) -> Callable:
    """The reduction reads a graph input directly (or one made by ``kind_of_input``)."""

    def check(fgraph):
        (node,) = [n for n in fgraph.apply_nodes if isinstance(n.op, CAReduce)]
        source = node.inputs[0]
        return (
            source.owner is None if kind_of_input is None else _is(source.owner.op, kind_of_input)
        )

    return check


# ---- the table -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """One input: the shape of its values, its dtype, and whether the type knows the shape."""

    shape: tuple[int, ...]
    dtype: str = "float64"
    static: bool = False

    def variable(self, name: str):
        shape = self.shape if self.static else [1 if n == 1 else None for n in self.shape]
        return TensorType(self.dtype, shape=shape)(name)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        if np.dtype(self.dtype).kind in "iu":
            return rng.integers(1, 50, size=self.shape).astype(self.dtype)
        return rng.uniform(0.5, 2.0, size=self.shape).astype(self.dtype)


@dataclass(frozen=True)
class Case:
    name: str
    rewrite: str  # the rewrite that must fire ("" for cases that must not be rewritten)
    specs: list[Spec]
    build: Callable
    expect: Callable = field(default=lambda fgraph: True)


M = Spec((3, 4))
V = Spec((4,))
ROW = Spec((1, 4))
COL = Spec((3, 1))
S = Spec(())

FIRED = [
    # ---- add and mul
    Case("mul_by_one", "local_add_mul_constants", [M], lambda x: x * 1, no_nodes),
    Case("add_zero", "local_add_mul_constants", [M], lambda x: 0 + x, no_nodes),
    Case("add_zero_empty", "local_add_mul_constants", [Spec((0, 4))], lambda x: x + 0, no_nodes),
    Case(
        "mul_by_one_keeps_float32",
        "local_add_mul_constants",
        [Spec((3,), "float32")],
        lambda x: x * 1,
        no_nodes,
    ),
    Case(
        "add_zero_upcasts_by_a_cast",
        "local_add_mul_constants",
        [Spec((3,), "int32")],
        lambda x: x + 0.0,
        has(Cast, 1, Add),
    ),
    Case(
        "ones_matrix_the_input_covers",
        "local_add_mul_constants",
        [Spec((3, 4), static=True)],
        lambda x: x * np.ones((3, 4)),
        no_nodes,
    ),
    Case(
        "constants_collapse_in_mul",
        "local_add_mul_constants",
        [M],
        lambda x: T.mul(2, x, 3),
        one_node_with_constant(Mul, 6, 2),
    ),
    Case(
        "constants_collapse_in_add",
        "local_add_mul_constants",
        [V],
        lambda x: T.add(1, x, 2.5),
        one_node_with_constant(Add, 3.5, 2),
    ),
    Case(
        "int_constants_collapse_when_exact",
        "local_add_mul_constants",
        [Spec((3,), "int64")],
        lambda x: T.mul(x, np.int8(100), np.int8(100)),
        one_node_with_constant(Mul, 10000, 2),
    ),
    Case(
        "times_minus_one_is_neg", "local_add_mul_constants", [M], lambda x: -1 * x, has(Neg, 1, Mul)
    ),
    Case(
        "flatten_add",
        "local_flatten_add_mul",
        [M, M, ROW],
        lambda x, y, z: (x + y) + z,
        lambda fg: count(fg, Add) == 1 and len(fg.outputs[0].owner.inputs) == 3,
    ),
    Case(
        "flatten_mul",
        "local_flatten_add_mul",
        [M, COL, M],
        lambda x, y, z: x * (y * z),
        lambda fg: count(fg, Mul) == 1 and len(fg.outputs[0].owner.inputs) == 3,
    ),
    # ---- sub, neg, div
    Case(
        "sub_self_is_zeros",
        "local_sub_self",
        [M],
        lambda x: T.exp(x) - T.exp(x),
        has(Alloc, 1, Sub, Exp),
    ),
    Case("sub_self_scalar", "local_sub_self", [S], lambda x: T.exp(x) - T.exp(x), no_nodes),
    Case("sub_zero", "local_sub_zero", [M], lambda x: x - 0, no_nodes),
    Case("neg_neg", "local_neg_neg", [M], lambda x: T.neg(T.neg(x)), no_nodes),
    Case(
        "neg_lifted_from_mul",
        "local_lift_neg",
        [M, ROW],
        lambda x, y: (-x) * y,
        output_made_by(Neg),
    ),
    Case(
        "neg_lifted_from_div", "local_lift_neg", [M, M], lambda x, y: x / (-y), output_made_by(Neg)
    ),
    Case("neg_plus_is_sub", "local_lift_neg", [M, M], lambda x, y: (-x) + y, has(Sub, 1, Neg, Add)),
    Case(
        "minus_neg_is_add", "local_lift_neg", [M, M], lambda x, y: x - (-y), has(Add, 1, Neg, Sub)
    ),
    Case(
        "negs_cancel_through_div",
        "local_lift_neg",
        [M, M],
        lambda x, y: -((-x) / y),
        has(TrueDiv, 1, Neg),
    ),
    Case("div_by_constant", "local_div_to_mul", [M], lambda x: x / 4.0, has(Mul, 1, TrueDiv)),
    Case(
        "div_float32_stays_float32",
        "local_div_to_mul",
        [Spec((5,), "float32")],
        lambda x: x / np.float32(3),
        has(Mul, 1, TrueDiv),
    ),
    Case(
        "int_div_by_int_constant",
        "local_div_to_mul",
        [Spec((5,), "int32")],
        lambda x: x / 2,
        has(Mul, 1, TrueDiv),
    ),
    # ---- reductions of scaled values
    Case("sum_of_scaled", "local_sum_of_scaled", [M], lambda x: (2 * x).sum(), reduces(None)),
    Case(
        "sum_of_scaled_empty",
        "local_sum_of_scaled",
        [Spec((0, 4))],
        lambda x: (2 * x).sum(axis=0),
        reduces(None),
    ),
    Case(
        "sum_of_row_scaled_over_rows",
        "local_sum_of_scaled",
        [ROW, M],
        lambda r, x: (r * x).sum(axis=0),
        reduces(None),
    ),
    Case("sum_of_neg", "local_sum_of_scaled", [M], lambda x: (-x).sum(axis=1), output_made_by(Neg)),
    # ---- reshape
    Case(
        "reshape_to_own_shape",
        "local_useless_reshape",
        [M],
        lambda x: T.exp(x).reshape(x.shape),
        lacks(Reshape),
    ),
    Case(
        "reshape_with_minus_one",
        "local_useless_reshape",
        [M],
        lambda x: x.reshape((x.shape[0], -1)),
        no_nodes,
    ),
    Case(
        "reshape_static",
        "local_useless_reshape",
        [Spec((2, 3), static=True)],
        lambda x: x.reshape((2, 3)),
        no_nodes,
    ),
    Case(
        "reshape_vector", "local_useless_reshape", [V], lambda x: x.reshape((x.shape[0],)), no_nodes
    ),
    Case(
        "reshape_chain",
        "local_reshape_chain",
        [Spec((4, 6))],
        lambda x: x.reshape((-1,)).reshape((2, -1)),
        has(Reshape, 1),
    ),
    # ---- dimshuffle
    Case(
        "identity_dimshuffle",
        "local_useless_dimshuffle",
        [M],
        lambda x: DimShuffle(2, (0, 1))(T.exp(x)),
        lacks(DimShuffle),
    ),
    Case(
        "transpose_twice",
        "local_dimshuffle_dimshuffle",
        [M],
        lambda x: T.exp(x).T.T,
        lacks(DimShuffle),
    ),
    Case(
        "dimshuffle_chain",
        "local_dimshuffle_dimshuffle",
        [V],
        lambda x: T.exp(x).dimshuffle("x", 0).dimshuffle(1, 0),
        lambda fg: (
            [n.op.new_order for n in fg.apply_nodes if isinstance(n.op, DimShuffle)] == [(0, "x")]
        ),
    ),
    # ---- cast
    Case(
        "cast_to_own_dtype",
        "local_useless_cast",
        [M],
        lambda x: Elemwise(Cast("float64"))(x),
        no_nodes,
    ),
    Case(
        "exact_cast_chain",
        "local_useless_cast",
        [Spec((3,), "int8")],
        lambda x: T.cast(T.cast(x, "int32"), "float32"),
        has(Cast, 1),
    ),
    # ---- subtensor
    Case(
        "full_slices", "local_useless_subtensor", [M], lambda x: T.exp(x)[:, ::1], lacks(Subtensor)
    ),
    Case(
        "slice_to_the_length",
        "local_useless_subtensor",
        [M],
        lambda x: T.exp(x)[0 : x.shape[0]],
        lacks(Subtensor),
    ),
    Case(
        "slice_past_a_static_length",
        "local_useless_subtensor",
        [Spec((3, 4), static=True)],
        lambda x: x[:100, 0:4],
        no_nodes,
    ),
    # ---- alloc and fill
    Case(
        "alloc_of_a_same_shaped_value",
        "local_useless_alloc",
        [M],
        lambda x: T.alloc(T.exp(x), x.shape[0], x.shape[1]),
        lacks(Alloc),
    ),
    Case(
        "alloc_adding_a_leading_axis",
        "local_useless_alloc",
        [V],
        lambda x: T.alloc(x, 1, x.shape[0]),
        has(DimShuffle, 1, Alloc),
    ),
    Case(
        "alloc_of_alloc",
        "local_alloc_alloc",
        [M, S],
        lambda x, s: T.alloc(T.alloc(s, x.shape[1]), x.shape[0], x.shape[1]),
        has(Alloc, 1),
    ),
    Case(
        "fill_to_alloc",
        "local_fill_to_alloc",
        [M],
        lambda x: T.fill(T.exp(x), 2.0),
        has(Alloc, 1, Second, Exp),
    ),
    Case(
        "fill_by_a_value_of_the_output_shape",
        "local_fill_to_alloc",
        [ROW, M],
        lambda r, x: T.fill(T.exp(r), x),
        no_nodes,
    ),
    Case(
        "fill_that_others_cover",
        "local_elemwise_alloc",
        [M],
        lambda x: T.fill(T.exp(x), -1.0) * (1 - x),
        lacks(Alloc, Second, Exp),
    ),
    Case(
        "fill_that_others_cover_empty",
        "local_elemwise_alloc",
        [Spec((0, 3))],
        lambda x: T.fill(T.exp(x), -1.0) * (1 - x),
        lacks(Alloc, Second, Exp),
    ),
    Case(
        "alloc_that_others_cover",
        "local_elemwise_alloc",
        [M],
        lambda x: T.alloc(2.0, x.shape[0], x.shape[1]) * x,
        lacks(Alloc),
    ),
    Case("zeros_like_plus", "local_elemwise_alloc", [M], lambda x: T.zeros_like(x) + x, no_nodes),
    Case(
        "elemwise_of_alloc",
        "local_elemwise_of_alloc",
        [M],
        lambda x: T.exp(T.alloc(2.0, x.shape[0], 3)) * 3,
        has(Alloc, 1, Exp, Mul),
    ),
]

KEPT = [
    Case("ones_matrix_broadcasts_a_row", "", [ROW], lambda r: r * np.ones((3, 4)), has(Mul)),
    Case("zeros_matrix_broadcasts_a_row", "", [ROW], lambda r: r + np.zeros((3, 4)), has(Add)),
    Case(
        "int_constants_that_wrap_first",
        "",
        [Spec((3,), "int64")],
        lambda x: T.mul(np.int8(100), np.int8(100), x),
        lambda fg: len(fg.outputs[0].owner.inputs) == 3,
    ),
    Case(
        "flatten_when_inner_is_read_elsewhere",
        "",
        [M, M, M],
        lambda x, y, z: [(x + y) + z, x + y],
        has(Add, 2),
    ),
    Case(
        "flatten_across_dtypes",
        "",
        [Spec((3,), "float32"), Spec((3,), "float32"), Spec((3,))],
        lambda x, y, z: (x + y) + z,
        has(Add, 2),
    ),
    Case("div_by_zero", "", [M], lambda x: x / 0.0, has(TrueDiv)),
    Case(
        "sum_of_col_scaled_over_rows", "", [COL, M], lambda c, x: (c * x).sum(axis=0), reduces(Mul)
    ),
    Case(
        "reshape_to_another_shape",
        "",
        [M],
        lambda x: x.reshape((x.shape[1], x.shape[0])),
        has(Reshape),
    ),
    Case(
        "lossy_cast_chain", "", [V], lambda x: T.cast(T.cast(x, "float32"), "float64"), has(Cast, 2)
    ),
    Case("partial_slice", "", [M], lambda x: x[1:], has(Subtensor)),
    Case(
        "alloc_a_row_broadcasts",
        "",
        [ROW, M],
        lambda r, x: T.alloc(2.0, x.shape[0], x.shape[1]) * r,
        has(Alloc),
    ),
]


def _compile(case: Case, mode: Mode):
    inputs = [spec.variable(f"x{i}") for i, spec in enumerate(case.specs)]
    outputs = case.build(*inputs)
    return arignote.function(inputs, outputs, mode=mode)


def _check_values(case: Case, rewritten) -> None:
    reference = _compile(case, UNREWRITTEN)
    rng = np.random.default_rng(sum(map(ord, case.name)))
    for _ in range(2):
        values = [spec.draw(rng) for spec in case.specs]
        expected, got = reference(*values), rewritten(*values)
        for e, g in zip(*(r if isinstance(r, list) else [r] for r in (expected, got))):
            assert g.dtype == e.dtype and g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-6 if g.dtype == "float32" else 1e-13)


@pytest.mark.parametrize("case", FIRED, ids=[c.name for c in FIRED])
def test_rewrite_fires_and_keeps_values(case):
    rewritten = _compile(case, CANONICALIZE)
    assert case.expect(rewritten.maker.fgraph), [str(n) for n in rewritten.maker.fgraph.toposort()]
    without = _compile(case, CANONICALIZE.excluding(case.rewrite))
    assert not case.expect(without.maker.fgraph), f"{case.rewrite} is not what fired"
    _check_values(case, rewritten)


@pytest.mark.parametrize("case", KEPT, ids=[c.name for c in KEPT])
def test_rewrite_that_would_change_meaning_is_not_made(case):
    rewritten = _compile(case, CANONICALIZE)
    assert case.expect(rewritten.maker.fgraph), [str(n) for n in rewritten.maker.fgraph.toposort()]
    _check_values(case, rewritten)


def test_division_by_zero_keeps_ieee_results():
    x = T.vector("x")
    f = arignote.function([x], x / 0.0, mode=CANONICALIZE)
    np.testing.assert_array_equal(f(np.array([1.0, -2.0, 0.0])), [np.inf, -np.inf, np.nan])


def test_seed_gradient_is_clean_after_canonicalize():
    """The logistic regression gradient: no ``fill`` of the cost left, nor the cost's logs."""
    X, y, w = T.matrix("X"), T.vector("y"), T.vector("w")
    mu = sigmoid(X.dot(w))
    cost = -(y * T.log(mu) + (1 - y) * T.log(1 - mu)).sum()
    gradient = T.grad(cost, w)
    f = arignote.function([X, w, y], gradient, mode=CANONICALIZE)
    fgraph = f.maker.fgraph
    assert lacks(Second, Alloc, scalar_math.Log, CAReduce, Neg)(fgraph), [
        str(n) for n in fgraph.toposort()
    ]
    reference = arignote.function([X, w, y], gradient, mode=UNREWRITTEN)
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(5, 3)), rng.normal(size=3), (rng.random(5) < 0.5).astype(float)]
    np.testing.assert_allclose(f(*values), reference(*values), rtol=1e-12)


# ---- random expressions: every rewrite together, against the unrewritten graph -------------------
def _random_expression(rng: np.random.Generator, leaves: list, depth: int):
    """A random matrix-valued expression of the leaves, rich in what canonicalize rewrites."""
    if depth == 0:
        return leaves[rng.integers(len(leaves))]
    a = _random_expression(rng, leaves, depth - 1)
    b = _random_expression(rng, leaves, depth - 1)
    constant = [0, 1, 2, -1, 0.5][rng.integers(5)]
    choices = [
        lambda: a + b,
        lambda: a - b,
        lambda: a * b,
        lambda: a / (T.abs(b) + 1),
        lambda: -a,
        lambda: a * constant,
        lambda: a + constant,
        lambda: a / 4.0,
        lambda: a - a,
        lambda: T.fill(a, b),
        lambda: T.fill(b, constant) * a,
        lambda: T.zeros_like(a) + b,
        lambda: T.alloc(a, (a + b).shape[0], (a + b).shape[1]),
        lambda: (a * b).reshape((a * b).shape),
        lambda: a.T.T,
        lambda: a.sum(axis=0, keepdims=True) * b,
        lambda: (constant * a).sum(axis=1, keepdims=True) + b,
        lambda: (-a).sum(axis=0, keepdims=True),
        lambda: a[:, 0 : a.shape[1]],
        lambda: T.exp(-T.abs(a)) + a.shape[0],
    ]
    return choices[rng.integers(len(choices))]()


def test_random_expressions_keep_their_values():
    rng = np.random.default_rng(2024)
    x, r, c = T.matrix("x"), T.row("r"), T.col("c")
    values = [rng.uniform(-2, 2, size=s) for s in ((3, 4), (1, 4), (3, 1))]
    for _ in range(25):
        output = _random_expression(rng, [x, r, c], depth=3)
        rewritten = arignote.function(
            [x, r, c], output, mode=CANONICALIZE, on_unused_input="ignore"
        )
        reference = arignote.function([x, r, c], output, mode=UNREWRITTEN, on_unused_input="ignore")
        expected, got = reference(*values), rewritten(*values)
        assert got.dtype == expected.dtype and got.shape == expected.shape, str(output)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=str(output))


def test_fast_compile_applies_only_the_cheap_ones():
    x = T.matrix("x")
    f = arignote.function([x], [T.neg(T.neg(x.T.T)) * 1], mode="FAST_COMPILE")
    fgraph = f.maker.fgraph
    assert lacks(DimShuffle, Neg)(fgraph) and count(fgraph, Mul) == 1
