"""Stabilize rewrites: each fires on its spellings (structure), keeps the values of the naive
graph where those are finite (random inputs), and stays finite and accurate where the naive
graph overflows (compared with stable NumPy/SciPy formulas).

Structure is checked with fusion excluded, so that every elementwise op is its own node.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.scalar import math as scalar_math
from arignote.scalar.composite import Composite
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.nnet import (
    CrossentropySoftmaxArgmax1HotWithBias,
    LogSoftmax,
    Softmax,
    categorical_crossentropy,
    logsoftmax,
    sigmoid,
    softmax,
)
from arignote.tensor.reduction import LogSumExp

STRUCTURE = Mode(optimizer="fast_run").excluding("fusion")
NAIVE = Mode(optimizer=None)
SATURATING = np.array([-800.0, -40.0, -3.0, -0.5, 0.0, 0.7, 5.0, 40.0, 800.0])


def compiled(inputs, outputs, mode=STRUCTURE):
    return arignote.function(inputs, outputs, mode=mode, on_unused_input="ignore")


def scalar_op_types(fn) -> list[type]:
    """The scalar ops of every elementwise node, inside composites too (with repeats)."""
    found = []
    for node in fn.maker.fgraph.toposort():
        if not isinstance(node.op, Elemwise):
            continue
        stack = [node.op.scalar_op]
        while stack:
            scalar_op = stack.pop()
            if isinstance(scalar_op, Composite):
                stack.extend(inner.op for inner in scalar_op.nodes)
            else:
                found.append(type(scalar_op))
    return found


def op_types(fn) -> set[type]:
    return {type(node.op) for node in fn.maker.fgraph.toposort()}


def assert_same_as_naive(inputs, output, values, rtol=1e-10):
    got = compiled(inputs, output, mode="FAST_RUN")(*values)
    expected = compiled(inputs, output, mode=NAIVE)(*values)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12)


def naive_value(inputs, output, values):
    with np.errstate(all="ignore"):
        return compiled(inputs, output, mode=NAIVE)(*values)


# ---- sigmoid ----------------------------------------------------------------------------------
x = T.vector("x")
s = sigmoid(x)

SIGMOID_CASES = [
    ("log_sigmoid", T.log(s), lambda v: -np.logaddexp(0, -v), scalar_math.Log),
    ("log_1_minus_sigmoid", T.log(1 - s), lambda v: -np.logaddexp(0, v), scalar_math.Log),
    ("log_1_plus_minus_sigmoid", T.log(1 + (-s)), lambda v: -np.logaddexp(0, v), scalar_math.Log),
    ("log_sigmoid_of_minus", T.log(sigmoid(-x)), lambda v: -np.logaddexp(0, v), scalar_math.Log),
    ("1_minus_sigmoid", 1 - s, lambda v: scipy.special.expit(-v), scalar_math.Sub),
    ("minus_sigmoid_plus_1", -s + 1, lambda v: scipy.special.expit(-v), scalar_math.Add),
    ("sum_with_1_minus_sigmoid", T.add(x, 1, -s), lambda v: v + scipy.special.expit(-v), None),
]


def sigmoid_of_negation(fn) -> bool:
    """Whether the graph computes ``sigmoid(-x)`` (and no other sigmoid)."""
    nodes = [
        n
        for n in fn.maker.fgraph.toposort()
        if isinstance(n.op, Elemwise) and isinstance(n.op.scalar_op, scalar_math.Sigmoid)
    ]
    producers = [n.inputs[0].owner for n in nodes]
    return bool(nodes) and all(
        p is not None and isinstance(p.op, Elemwise) and isinstance(p.op.scalar_op, scalar_math.Neg)
        for p in producers
    )


@pytest.mark.parametrize(
    "output, stable, removed", [c[1:] for c in SIGMOID_CASES], ids=[c[0] for c in SIGMOID_CASES]
)
def test_sigmoid_forms(output, stable, removed):
    fn = compiled([x], output)
    if removed is None:
        assert sigmoid_of_negation(fn)
    else:
        assert removed not in scalar_op_types(fn)
    np.testing.assert_allclose(fn(SATURATING), stable(SATURATING), rtol=1e-12, atol=1e-300)
    assert_same_as_naive([x], output, [np.random.default_rng(0).uniform(-5, 5, 20)])


def test_log_sigmoid_is_finite_where_the_naive_graph_is_not():
    assert not np.isfinite(naive_value([x], T.log(s) + T.log(1 - s), [SATURATING])).all()
    assert np.isfinite(compiled([x], T.log(s) + T.log(1 - s))(SATURATING)).all()


def test_sigmoid_rewrites_keep_float32_and_the_broadcast_shape():
    xf = T.fvector("xf")
    fn = compiled([xf], T.log(1 - sigmoid(xf)))
    assert fn.maker.fgraph.outputs[0].dtype == "float32"
    one_as_matrix = T.constant(np.ones((1, 1)))
    out = one_as_matrix - sigmoid(x)
    fn = compiled([x], out)
    assert scalar_math.Sub not in scalar_op_types(fn)
    assert fn(SATURATING).shape == (1, SATURATING.size)
    np.testing.assert_allclose(fn(SATURATING)[0], scipy.special.expit(-SATURATING))


def test_excluding_a_rewrite_by_name_leaves_its_pattern():
    fn = compiled([x], T.log(s), mode=STRUCTURE.excluding("local_log_sigmoid"))
    assert scalar_math.Log in scalar_op_types(fn)


def test_two_minus_sigmoid_is_not_a_complement():
    fn = compiled([x], 2 - s)
    assert scalar_math.Sub in scalar_op_types(fn)
    assert_same_as_naive([x], 2 - s, [SATURATING])


# ---- log1p, expm1, log(exp), sqrt(sqr) -------------------------------------------------------
y = T.vector("y")
TINY = np.array([1e-20, -3e-18, 1e-10, 0.5, -0.25])

ELEMENTARY_CASES = [
    ("log_1_plus_x", T.log(1 + x), lambda v: np.log1p(v), scalar_math.Log1p, scalar_math.Log),
    ("log_x_plus_1", T.log(x + 1), lambda v: np.log1p(v), scalar_math.Log1p, scalar_math.Log),
    ("log_1_minus_x", T.log(1 - x), lambda v: np.log1p(-v), scalar_math.Log1p, scalar_math.Log),
    (
        "log_1_plus_sum",
        T.log(T.add(1, x, x)),
        lambda v: np.log1p(2 * v),
        scalar_math.Log1p,
        scalar_math.Log,
    ),
    ("exp_minus_1", T.exp(x) - 1, lambda v: np.expm1(v), scalar_math.Expm1, scalar_math.Exp),
    (
        "exp_plus_minus_1",
        T.add(-1, x, T.exp(x)),
        lambda v: np.expm1(v) + v,
        scalar_math.Expm1,
        scalar_math.Exp,
    ),
    ("log_exp", T.log(T.exp(x)), lambda v: v, None, scalar_math.Exp),
    ("sqrt_sqr", T.sqrt(T.sqr(x)), lambda v: np.abs(v), scalar_math.Abs, scalar_math.Sqrt),
    ("sqrt_x_times_x", T.sqrt(x * x), lambda v: np.abs(v), scalar_math.Abs, scalar_math.Sqrt),
    ("sqrt_x_squared", T.sqrt(x**2), lambda v: np.abs(v), scalar_math.Abs, scalar_math.Sqrt),
]


@pytest.mark.parametrize(
    "output, stable, added, removed",
    [c[1:] for c in ELEMENTARY_CASES],
    ids=[c[0] for c in ELEMENTARY_CASES],
)
def test_elementary_forms(output, stable, added, removed):
    fn = compiled([x], output)
    ops = scalar_op_types(fn)
    assert removed not in ops and (added is None or added in ops)
    np.testing.assert_allclose(fn(TINY), stable(TINY), rtol=1e-14, atol=0)
    assert_same_as_naive([x], output, [np.random.default_rng(1).uniform(-0.9, 0.9, 20)])


def test_log_exp_and_sqrt_sqr_do_not_overflow():
    big = np.array([-1000.0, 800.0, 1e200])
    assert not np.isfinite(naive_value([x], T.log(T.exp(x)) + T.sqrt(T.sqr(x)), [big])).all()
    np.testing.assert_allclose(compiled([x], T.log(T.exp(x)))(big[:2]), big[:2])
    np.testing.assert_allclose(compiled([x], T.sqrt(T.sqr(x)))(big), np.abs(big))


def test_integer_and_complex_inputs_keep_their_formulas():
    i = T.bvector("i")
    fn = compiled([i], T.log(1 + i))
    assert scalar_math.Log in scalar_op_types(fn)
    values = np.array([0, 5, 127], dtype="int8")
    np.testing.assert_allclose(fn(values), naive_value([i], T.log(1 + i), [values]))
    fn = compiled([i], T.sqrt(T.sqr(i)))
    assert scalar_math.Sqrt in scalar_op_types(fn)
    fn = compiled([i], T.log(T.exp(i)))
    assert fn.maker.fgraph.outputs[0].dtype == "float32"
    np.testing.assert_allclose(fn(values[:2]), values[:2])
    z = T.zvector("z")
    assert scalar_math.Log in scalar_op_types(compiled([z], T.log(T.exp(z))))
    assert scalar_math.Sqrt in scalar_op_types(compiled([z], T.sqrt(T.sqr(z))))


def test_exp_minus_a_constant_matrix_keeps_its_shape():
    ones = T.constant(np.ones((2, 3)))
    fn = compiled([x], T.exp(x) - ones)
    assert scalar_math.Expm1 not in scalar_op_types(fn)
    assert fn(np.zeros(3)).shape == (2, 3)


# ---- softmax, logsumexp ----------------------------------------------------------------------
m = T.matrix("m")
LOGITS = np.random.default_rng(2).standard_normal((4, 7)) * 1000


def test_log_softmax():
    fn = compiled([m], T.log(softmax(m)))
    assert LogSoftmax in op_types(fn) and Softmax not in op_types(fn)
    np.testing.assert_allclose(fn(LOGITS), scipy.special.log_softmax(LOGITS, axis=1))
    assert not np.isfinite(naive_value([m], T.log(softmax(m)), [LOGITS])).all()
    assert_same_as_naive([m], T.log(softmax(m, axis=0)), [LOGITS / 1000])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [1, None, (0, 1)])
def test_log_sum_exp(axis, keepdims):
    out = T.log(T.sum(T.exp(m), axis=axis, keepdims=keepdims))
    fn = compiled([m], out)
    assert LogSumExp in op_types(fn) and scalar_math.Exp not in scalar_op_types(fn)
    expected = scipy.special.logsumexp(LOGITS, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(fn(LOGITS), expected)
    assert not np.isfinite(naive_value([m], out, [LOGITS])).all()


def test_log_sum_exp_keeps_float32():
    mf = T.fmatrix("mf")
    fn = compiled([mf], T.log(T.sum(T.exp(mf), axis=1)))
    assert LogSumExp in op_types(fn) and fn.maker.fgraph.outputs[0].dtype == "float32"


# ---- cross-entropy -----------------------------------------------------------------------------
labels = T.ivector("labels")
b = T.vector("b")
LABELS = np.array([3, 0, 6, 2], dtype="int32")
BIAS = np.linspace(-500, 500, 7)


def stable_nll(logits, targets):
    return scipy.special.logsumexp(logits, axis=1) - logits[np.arange(len(targets)), targets]


NLL_CASES = [
    ("categorical_crossentropy", lambda: categorical_crossentropy(softmax(m), labels)),
    ("neg_log_softmax_indexed_by_rows", lambda: -T.log(softmax(m))[T.arange(m.shape[0]), labels]),
    ("indexed_by_labels", lambda: -T.log(softmax(m))[T.arange(labels.shape[0]), labels]),
    ("log_of_indexed", lambda: -T.log(softmax(m)[T.arange(m.shape[0]), labels])),
    ("negated_inside", lambda: (-T.log(softmax(m)))[T.arange(m.shape[0]), labels]),
]


@pytest.mark.parametrize("build", [c[1] for c in NLL_CASES], ids=[c[0] for c in NLL_CASES])
def test_crossentropy_of_softmax_becomes_one_stable_op(build):
    out = build()
    fn = compiled([m, labels], out)
    assert CrossentropySoftmaxArgmax1HotWithBias in op_types(fn)
    assert not {Softmax, LogSoftmax} & op_types(fn)
    np.testing.assert_allclose(fn(LOGITS, LABELS), stable_nll(LOGITS, LABELS))
    assert not np.isfinite(naive_value([m, labels], out, [LOGITS, LABELS])).all()
    assert_same_as_naive([m, labels], out, [LOGITS / 1000, LABELS])


def test_crossentropy_of_logsoftmax():
    out = -logsoftmax(m)[T.arange(m.shape[0]), labels]
    fn = compiled([m, labels], out)
    assert CrossentropySoftmaxArgmax1HotWithBias in op_types(fn) and LogSoftmax not in op_types(fn)
    np.testing.assert_allclose(fn(LOGITS, LABELS), stable_nll(LOGITS, LABELS))


def test_crossentropy_unnegated_and_in_a_mean():
    picked = T.log(softmax(m))[T.arange(m.shape[0]), labels]
    fn = compiled([m, labels], [picked, -T.mean(picked)])
    assert CrossentropySoftmaxArgmax1HotWithBias in op_types(fn)
    got, mean = fn(LOGITS, LABELS)
    np.testing.assert_allclose(got, -stable_nll(LOGITS, LABELS))
    np.testing.assert_allclose(mean, np.mean(stable_nll(LOGITS, LABELS)))


def test_crossentropy_takes_the_bias_of_a_softmax_of_a_sum():
    out = categorical_crossentropy(softmax(m + b), labels)
    fn = compiled([m, b, labels], out)
    (node,) = [
        n
        for n in fn.maker.fgraph.toposort()
        if isinstance(n.op, CrossentropySoftmaxArgmax1HotWithBias)
    ]
    assert node.inputs[1] is fn.maker.fgraph.inputs[1]
    np.testing.assert_allclose(fn(LOGITS, BIAS, LABELS), stable_nll(LOGITS + BIAS, LABELS))


def test_crossentropy_with_fewer_labels_than_rows_reads_the_first_rows():
    out = -T.log(softmax(m))[T.arange(labels.shape[0]), labels]
    fn = compiled([m, labels], out)
    np.testing.assert_allclose(fn(LOGITS, LABELS[:2]), stable_nll(LOGITS[:2], LABELS[:2]))


def test_crossentropy_of_other_rows_is_not_rewritten():
    n = T.lscalar("n")
    out = -T.log(softmax(m))[T.arange(n), labels]
    fn = compiled([m, labels, n], out)
    assert CrossentropySoftmaxArgmax1HotWithBias not in op_types(fn)
    np.testing.assert_allclose(fn(LOGITS / 1000, LABELS, 4), stable_nll(LOGITS / 1000, LABELS))


def test_dense_one_hot_crossentropy_reads_the_stable_log_softmax():
    one_hot = T.matrix("one_hot")
    out = categorical_crossentropy(softmax(m), one_hot)
    fn = compiled([m, one_hot], out)
    assert LogSoftmax in op_types(fn)
    targets = np.eye(7)[LABELS]
    np.testing.assert_allclose(fn(LOGITS, targets), stable_nll(LOGITS, LABELS))


def test_crossentropy_gradient_is_finite_and_exact():
    loss = T.mean(-T.log(softmax(m))[T.arange(m.shape[0]), labels])
    fn = compiled([m, labels], T.grad(loss, m))
    got = fn(LOGITS, LABELS)
    expected = (scipy.special.softmax(LOGITS, axis=1) - np.eye(7)[LABELS]) / len(LABELS)
    np.testing.assert_allclose(got, expected, atol=1e-15)


@pytest.mark.parametrize("with_bias", [False, True])
def test_gradient_of_integer_label_crossentropy_is_finite_and_exact(with_bias):
    logits = m + b if with_bias else m
    loss = T.mean(categorical_crossentropy(softmax(logits), labels))
    fn = compiled([m, b, labels], T.grad(loss, m))
    bias = BIAS if with_bias else np.zeros(7)
    got = fn(LOGITS, bias, LABELS)
    expected = (scipy.special.softmax(LOGITS + bias, axis=1) - np.eye(7)[LABELS]) / 4
    np.testing.assert_allclose(got, expected, atol=1e-15)
    naive = naive_value([m, b, labels], T.grad(loss, m), [LOGITS, bias, LABELS])
    assert not np.isfinite(naive).all()


# ---- quotients cancelled in products (gradients) ---------------------------------------------
def test_gradients_of_log_sigmoid_are_finite_and_accurate():
    fn = compiled([x], [T.grad(T.sum(T.log(s)), x), T.grad(T.sum(T.log(1 - s)), x)])
    of_log, of_log_complement = fn(SATURATING)
    np.testing.assert_allclose(of_log, scipy.special.expit(-SATURATING), rtol=1e-12)
    np.testing.assert_allclose(of_log_complement, -scipy.special.expit(SATURATING), rtol=1e-12)
    assert scalar_math.TrueDiv not in scalar_op_types(fn)


def test_logistic_loss_gradient_reads_one_sigmoid():
    target = T.vector("target")
    loss = -T.sum(target * T.log(s) + (1 - target) * T.log(1 - s))
    fn = compiled([x, target], T.grad(loss, x))
    targets = (np.arange(SATURATING.size) % 2).astype(float)
    np.testing.assert_allclose(
        fn(SATURATING, targets), scipy.special.expit(SATURATING) - targets, atol=1e-15
    )
    assert scalar_op_types(fn).count(scalar_math.Sigmoid) == 1
    assert scalar_math.TrueDiv not in scalar_op_types(fn)


@pytest.mark.parametrize(
    "build",
    [lambda: (x / y) * y, lambda: x * T.reciprocal(y) * y, lambda: y * (x * y**-1)],
    ids=["divided", "reciprocal", "power"],
)
def test_quotient_times_its_divisor(build):
    fn = compiled([x, y], build())
    assert not {scalar_math.TrueDiv, scalar_math.Reciprocal, scalar_math.Pow} & set(
        scalar_op_types(fn)
    )
    np.testing.assert_allclose(fn(np.array([1.0, 2.0]), np.array([0.0, 3.0])), [1.0, 2.0])


def test_sum_of_quotients_times_their_divisors():
    w = T.vector("w")
    out = (x / y - w / T.exp(x)) * y * T.exp(x)
    fn = compiled([x, y, w], out)
    assert scalar_math.TrueDiv not in scalar_op_types(fn)
    rng = np.random.default_rng(3)
    assert_same_as_naive([x, y, w], out, [rng.uniform(0.5, 2, 6) for _ in range(3)])


def test_quotients_whose_divisor_is_missing_stay():
    out = (x / y + x) * y
    fn = compiled([x, y], out)
    assert scalar_math.TrueDiv in scalar_op_types(fn)
    rng = np.random.default_rng(4)
    assert_same_as_naive([x, y], out, [rng.uniform(0.5, 2, 6) for _ in range(2)])


def test_a_rewrite_that_raises_names_itself(monkeypatch):
    from arignote.config import config
    from arignote.graph.rewriting.basic import RewriteError
    from arignote.tensor.rewriting import stabilize

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(stabilize.local_log_sigmoid, "function", broken)
    with (
        config.change_flags(on_opt_error="raise"),
        pytest.raises(RewriteError, match="local_log_sigmoid"),
    ):
        compiled([x], T.log(s))


@pytest.mark.parametrize("axis", [1, 0, None])
def test_gradient_of_log_sum_exp_is_the_softmax(axis):
    fn = compiled([m], T.grad(T.sum(T.log(T.sum(T.exp(m), axis=axis))), m))
    assert scalar_math.TrueDiv not in scalar_op_types(fn)
    np.testing.assert_allclose(fn(LOGITS), scipy.special.softmax(LOGITS, axis=axis), atol=1e-300)


@pytest.mark.parametrize("spelling", ["divided", "times_reciprocal"])
def test_hand_written_softmax_does_not_overflow(spelling):
    e = T.exp(m)
    total = T.sum(e, axis=1, keepdims=True)
    out = 2 * e / total if spelling == "divided" else 2 * e * T.reciprocal(total)
    fn = compiled([m], out)
    assert scalar_math.TrueDiv not in scalar_op_types(fn)
    np.testing.assert_allclose(fn(LOGITS), 2 * scipy.special.softmax(LOGITS, axis=1))
    assert not np.isfinite(naive_value([m], out, [LOGITS])).all()
    assert_same_as_naive([m], out, [LOGITS / 1000])
