"""Issue 4's "done" criteria on the seed example (``examples/logistic_regression.py``).

With ``w = 100 * randn(100)`` the sigmoid saturates: the naive loss is inf or nan, while
FAST_RUN gives the value of a stable NumPy formula (``np.logaddexp``), and so does the
softmax cross-entropy of logits of size 1000. The FAST_RUN graph of the gradients
computes one sigmoid, calls BLAS for every ``dot`` and leaves its elementwise work in
fused regions.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

import arignote as theano
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.scalar import math as scalar_math
from arignote.scalar.composite import Composite
from arignote.tensor.blas import Gemm, Gemv, Ger
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.fused import ElemwiseReduce
from arignote.tensor.nnet import categorical_crossentropy, sigmoid, softmax
from arignote.tensor.products import Dot

NAIVE = Mode(optimizer=None)


def seed_example(mode="FAST_RUN"):
    """The seed's graphs, exactly as the example builds them: Efun, gfun, and gfun's inputs
    and outputs."""
    X = T.matrix(name="X")
    y = T.vector(name="y")
    w = T.vector(name="w")
    eta = X.dot(w)
    mu = sigmoid(eta)
    E = -(y * T.log(mu) + (1 - y) * T.log(1 - mu)).sum()
    Efun = theano.function([X, w, y], E, allow_input_downcast=True, mode=mode)
    g1 = (y - mu).dot(X)
    g2 = T.grad(E, w)
    gfun = theano.function([X, w, y], [g1, g2], allow_input_downcast=True, mode=mode)
    return Efun, gfun, ([X, w, y], [g1, g2])


@pytest.fixture(scope="module")
def saturated():
    rng = np.random.default_rng(0)
    X_ = rng.standard_normal((1000, 100))
    w_ = 100 * rng.standard_normal(100)
    y_ = rng.random(1000) > 0.5
    return X_, w_, y_


def test_loss_with_a_saturated_sigmoid_is_the_stable_value(saturated):
    X_, w_, y_ = saturated
    z = X_ @ w_
    stable = np.sum(y_ * np.logaddexp(0, -z) + (1 - y_) * np.logaddexp(0, z))
    with np.errstate(all="ignore"):
        mu_np = 1 / (1 + np.exp(-z))
        naive_np = -(y_ * np.log(mu_np) + (1 - y_) * np.log(1 - mu_np)).sum()
        naive = seed_example(NAIVE)[0](X_, w_, y_)
    assert not np.isfinite(naive_np) and not np.isfinite(naive)
    Efun, _, _ = seed_example()
    np.testing.assert_allclose(Efun(X_, w_, y_), stable, rtol=1e-12)


def test_gradients_with_a_saturated_sigmoid_are_finite_and_agree(saturated):
    X_, w_, y_ = saturated
    _, gfun, _ = seed_example()
    g1, g2 = gfun(X_, w_, y_)
    analytic = X_.T @ (scipy.special.expit(X_ @ w_) - y_)
    scale = np.max(np.abs(analytic))
    np.testing.assert_allclose(g2, analytic, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(g1, -analytic, rtol=0, atol=1e-12 * scale)
    with np.errstate(all="ignore"):
        naive_g2 = seed_example(NAIVE)[1](X_, w_, y_)[1]
    assert not np.isfinite(naive_g2).all()


@pytest.mark.parametrize("form", ["categorical_crossentropy", "indexed_log"])
def test_softmax_crossentropy_of_logits_of_size_1000(form):
    rng = np.random.default_rng(1)
    logits = 1000 * rng.standard_normal((20, 1000))
    targets = rng.integers(0, 1000, 20).astype("int32")
    x, labels = T.matrix("x"), T.ivector("labels")
    if form == "categorical_crossentropy":
        loss = T.mean(categorical_crossentropy(softmax(x), labels))
    else:
        loss = -T.mean(T.log(softmax(x))[T.arange(x.shape[0]), labels])
    stable = np.mean(scipy.special.logsumexp(logits, axis=1) - logits[np.arange(20), targets])
    with np.errstate(all="ignore"):
        assert not np.isfinite(theano.function([x, labels], loss, mode=NAIVE)(logits, targets))
    got = theano.function([x, labels], loss, mode="FAST_RUN")(logits, targets)
    np.testing.assert_allclose(got, stable, rtol=1e-12)


def elemwise_scalar_ops(node) -> list[type]:
    """The scalar ops a node applies elementwise, inside composites and fused reductions."""
    op = node.op.elemwise if isinstance(node.op, ElemwiseReduce) else node.op
    if not isinstance(op, Elemwise):
        return []
    found, stack = [], [op.scalar_op]
    while stack:
        scalar_op = stack.pop()
        if isinstance(scalar_op, Composite):
            stack.extend(inner.op for inner in scalar_op.nodes)
        else:
            found.append(type(scalar_op))
    return found


def test_gradient_graph_has_one_sigmoid_blas_products_and_fused_elementwise_work():
    _, gfun, (inputs, outputs) = seed_example()
    fgraph = gfun.maker.fgraph
    graph_nodes = fgraph.toposort()
    sigmoids = [
        op for n in graph_nodes for op in elemwise_scalar_ops(n) if op is scalar_math.Sigmoid
    ]
    assert len(sigmoids) == 1

    unrewritten = theano.function(inputs, outputs, mode=NAIVE).maker.fgraph.toposort()
    dots = [n for n in unrewritten if isinstance(n.op, Dot)]
    blas = [n for n in graph_nodes if isinstance(n.op, (Gemm, Gemv, Ger))]
    assert len(dots) == 3 and len(blas) == len(dots)
    assert not any(isinstance(n.op, Dot) for n in graph_nodes)

    # Fused: no elementwise node is the only reader of another elementwise node's output
    # (such a pair would be one loop), and the gradient's own arithmetic is one composite.
    for node in graph_nodes:
        if not elemwise_scalar_ops(node):
            continue
        for variable in node.inputs:
            producer = variable.owner
            if producer is not None and isinstance(producer.op, Elemwise):
                assert len(fgraph.clients[variable]) > 1, f"{producer} and {node} are not fused"
    assert any(
        isinstance(n.op, Elemwise) and isinstance(n.op.scalar_op, Composite) for n in graph_nodes
    )
