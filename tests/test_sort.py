"""sort, argsort, topk, argtopk and topk_and_argtopk against NumPy: one table, then errors.

Every row of ``CASES`` (run by ``tests/test_op_tables.py``) runs on each of its layouts
(vectors, matrices, 3-d, empty and broadcastable shapes) and dtypes against a NumPy
reference; ``grad`` rows are checked by finite differences in float64, on values without
ties (where sorting is differentiable); every node of every row must infer the shape it
computes. Index outputs are compared on inputs without ties, where the answer is unique.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import grad, verify_grad
from arignote.tensor.sort import ArgSortOp, SortOp, TopKOp, argsort, argtopk, sort, topk
from tests.helpers import OpCase, uniform

ANY = uniform(-3, 3)


def distinct(rng, shape, dtype):
    """Values without ties: a shuffled range for integers (from 0 for unsigned), else floats."""
    size = int(np.prod(shape))
    if np.dtype(dtype).kind in "iu":
        start = 0 if np.dtype(dtype).kind == "u" else -(size // 2)
        return np.asarray(rng.permutation(size) + start, dtype=dtype).reshape(shape)
    return np.asarray(rng.standard_normal(shape), dtype=dtype)


def few_values(rng, shape, dtype):
    """Many ties: values among 0, 1 and 2."""
    return np.asarray(rng.integers(0, 3, size=shape), dtype=dtype)


def small_kth(rng, shape, dtype):
    return np.asarray(rng.integers(1, 3, size=shape), dtype=dtype)


FLOATS = (("float64",), ("float32",))
NUMERIC = FLOATS + (("int32",), ("uint8",), ("int8",))
LAST_AXIS = (((6,),), ((3, 5),), ((0,),), ((3, 0),), ((2, 3, 4),), ((1, 5),), ((4, 1),))
FIRST_AXIS = (((6,),), ((3, 5),), ((0, 4),), ((2, 3, 4),), ((1, 5),))
FLATTENED = (((),), ((3, 5),), ((0,),), ((2, 3, 4),))
GRAD_LAYOUTS = (((6,),), ((3, 4),), ((2, 3, 4),))
# topk needs at least |kth| elements along its axis.
TOPK_LAST = (((6,),), ((3, 5),), ((0, 4),), ((2, 3, 4),), ((1, 5),))
TOPK_FIRST = (((4,),), ((3, 5),), ((2, 0),), ((2, 3, 4),), ((3, 1),))


def largest(x, k, axis):
    return np.take(np.flip(np.sort(x, axis), axis), np.arange(k), axis)


def smallest(x, k, axis):
    return np.take(np.sort(x, axis), np.arange(k), axis)


def positions_in_order(order, k, axis):
    """The first ``k`` positions of ``order`` along ``axis``, in increasing position."""
    return np.sort(np.take(order, np.arange(k), axis), axis)


def row(name, build, reference, layouts, dtypes=NUMERIC, domain=distinct, **options):
    return OpCase(name, build, reference, (domain,), dtypes, layouts, **options)


CASES = [
    row("sort", sort, lambda x: np.sort(x, -1), LAST_AXIS, grad=True, grad_layouts=GRAD_LAYOUTS),
    row(
        "sort_axis0",
        lambda x: sort(x, axis=0),
        lambda x: np.sort(x, 0),
        FIRST_AXIS,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "sort_flattened",
        lambda x: sort(x, axis=None),
        lambda x: np.sort(x, None),
        FLATTENED,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "sort_mergesort_ties",
        lambda x: T.sort(x, 1, kind="mergesort"),
        lambda x: np.sort(x, 1),
        (((2, 3, 4),), ((3, 5),), ((1, 1),)),
        domain=few_values,
    ),
    row("argsort", argsort, lambda x: np.argsort(x, -1), LAST_AXIS),
    row("argsort_axis0", lambda x: argsort(x, 0), lambda x: np.argsort(x, 0), FIRST_AXIS),
    row(
        "argsort_flattened",
        lambda x: T.argsort(x, None),
        lambda x: np.argsort(x, None),
        FLATTENED,
    ),
    row(
        "argsort_stable_ties",
        lambda x: argsort(x, kind="stable"),
        lambda x: np.argsort(x, -1, kind="stable"),
        (((9,),), ((3, 5),)),
        domain=few_values,
    ),
    row(
        "topk_largest",
        lambda x: topk(x, 2),
        lambda x: largest(x, 2, -1),
        TOPK_LAST,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "topk_smallest",
        lambda x: T.topk(x, -3),
        lambda x: smallest(x, 3, -1),
        TOPK_LAST,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "topk_axis0_unsorted",
        lambda x: topk(x, 2, axis=0, sorted=False),
        lambda x: np.take_along_axis(
            x, positions_in_order(np.argsort(-x.astype(float), 0), 2, 0), 0
        ),
        TOPK_FIRST,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "topk_flattened",
        lambda x: topk(x, -4, axis=None),
        lambda x: smallest(x.ravel(), 4, 0),
        (((3, 5),), ((2, 3, 4),), ((4,),)),
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "topk_ties",
        lambda x: topk(x, 3),
        lambda x: largest(x, 3, -1),
        (((3, 5),), ((9,),)),
        domain=few_values,
    ),
    row(
        "argtopk_largest",
        lambda x: argtopk(x, 2),
        lambda x: np.take(np.flip(np.argsort(x, -1), -1), [0, 1], -1),
        TOPK_LAST,
    ),
    row(
        "argtopk_smallest_axis0_unsorted",
        lambda x: T.argtopk(x, -2, axis=0, sorted=False),
        lambda x: positions_in_order(np.argsort(x, 0), 2, 0),
        TOPK_FIRST,
    ),
    row(
        "argtopk_int32",
        lambda x: argtopk(x, 3, idx_dtype="int32"),
        lambda x: np.take(np.flip(np.argsort(x, -1), -1), [0, 1, 2], -1),
        (((5,),), ((2, 4),)),
        out_dtype=lambda _: "int32",
    ),
    row(
        "topk_and_argtopk_values",
        lambda x: T.topk_and_argtopk(x, -2)[0],
        lambda x: smallest(x, 2, -1),
        TOPK_LAST,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    ),
    row(
        "topk_and_argtopk_indices",
        lambda x: T.topk_and_argtopk(x, 2, axis=0)[1],
        lambda x: np.take(np.flip(np.argsort(x, 0), 0), [0, 1], 0),
        TOPK_FIRST,
    ),
    OpCase(
        "topk_symbolic_kth",
        lambda x, k: topk(x, k),
        lambda x, k: largest(x, int(k), -1),
        (distinct, small_kth),
        (("float64", "int64"), ("int8", "int32")),
        (((3, 5), ()), ((6,), ()), ((2, 3, 4), ())),
    ),
]


# ---- semantics beyond the table --------------------------------------------------------------
def test_nan_sorts_last_and_counts_as_largest():
    x = T.vector("x")
    value = np.array([2.0, np.nan, -1.0, 5.0])
    np.testing.assert_array_equal(sort(x).eval({x: value}), np.sort(value))
    np.testing.assert_array_equal(topk(x, 2).eval({x: value}), [np.nan, 5.0])
    np.testing.assert_array_equal(argtopk(x, -2).eval({x: value}), [2, 0])


def test_static_shapes():
    x = T.tensor("float64", shape=(None, 5), name="x")
    assert sort(x).type.shape == (None, 5)
    assert sort(x, None).type.shape == (None,)
    assert topk(x, 3).type.shape == (None, 3)
    assert argtopk(x, -2, axis=0).type.shape == (2, 5)
    assert topk(x, T.lscalar("k")).type.shape == (None, None)
    assert argsort(x).dtype == "int64" and argsort(x).type.shape == (None, 5)


def test_second_order_gradient_through_sort_and_topk():
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((3, 4))
    verify_grad(
        lambda a: grad((sort(a, 0) ** 3 * weights).sum(), a), [rng.standard_normal((3, 4))], rng=rng
    )
    verify_grad(lambda a: grad((topk(a, 2) ** 3).sum(), a), [rng.standard_normal((3, 4))], rng=rng)


def test_index_outputs_have_a_zero_gradient():
    x = T.vector("x")
    value = np.array([0.3, -1.0, 2.0, 0.5])
    for ranks in (argsort(x), argtopk(x, 3), T.topk_and_argtopk(x, 2)[1]):
        cost = (x[: ranks.shape[0]] * T.cast(ranks, "float64")).sum()
        expected = np.zeros(4)
        expected[: ranks.eval({x: value}).shape[0]] = ranks.eval({x: value})
        np.testing.assert_array_equal(grad(cost, x).eval({x: value}), expected)


def test_ops_merge_by_their_fields():
    assert SortOp("quicksort", 0) == SortOp("quicksort", 0)
    assert SortOp("quicksort", 0) != SortOp("mergesort", 0)
    assert hash(ArgSortOp("stable", 1)) == hash(ArgSortOp("stable", 1))
    assert TopKOp(0, True) != TopKOp(0, False)
    x = T.matrix("x")
    assert sort(x).owner.op == sort(x, 1).owner.op


def test_theano_names():
    # ``arignote.tensor.sort`` the attribute is the function, as in Theano; the module:
    sort_module = importlib.import_module("arignote.tensor.sort")
    for name in ("sort", "argsort", "topk", "argtopk", "topk_and_argtopk"):
        assert getattr(T, name) is getattr(sort_module, name)


# ---- errors -----------------------------------------------------------------------------------
def test_bad_arguments_are_rejected_when_the_graph_is_built():
    x = T.matrix("x")
    with pytest.raises(NotImplementedError, match="structured arrays"):
        sort(x, order=["f"])
    with pytest.raises(ValueError, match="kind must be one of"):
        argsort(x, kind="bogo")
    with pytest.raises(ValueError, match="axis 2 is out of range for a 2-dimensional input"):
        sort(x, 2)
    with pytest.raises(ValueError, match="0-d .* no axis to work along; use axis=None"):
        sort(T.scalar("s"))
    with pytest.raises(TypeError, match="axis must be an int known when the graph is built"):
        sort(x, T.lscalar("a"))
    with pytest.raises(ValueError, match="kth must not be 0"):
        topk(x, 0)
    with pytest.raises(ValueError, match=r"\|kth\| = 4 is more than the 3 elements along axis 1"):
        topk(T.tensor("float64", shape=(None, 3)), -4)
    with pytest.raises(TypeError, match="kth must be an integer scalar"):
        topk(x, 1.5)
    with pytest.raises(TypeError, match="idx_dtype must be an integer dtype"):
        argtopk(x, 1, idx_dtype="float32")


def test_kth_out_of_range_at_run_time():
    x = T.matrix("x")
    k = T.lscalar("k")
    f = arignote.function([x, k], topk(x, k))
    assert f(np.zeros((2, 3)), -3).shape == (2, 3)
    with pytest.raises(
        ValueError, match=r"kth = 4 must be non-zero and at most 3 .* shape \(2, 3\)"
    ):
        f(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match="kth = 0 must be non-zero"):
        f(np.zeros((2, 3)), 0)
