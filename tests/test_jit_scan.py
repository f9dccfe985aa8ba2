"""``scan`` on the jit linker: the whole loop compiled (``arignote/link/c/lower_scan.py``).

Each ``LOOPS`` row builds a loop, draws inputs, and gives a hand-written NumPy
loop as the reference; the generic test compiles it with the jit linker,
checks that the loop runs as one C function (the report says ``kernel`` and
no step goes through Python: ``Scan.perform`` is made to fail), compares with
NumPy and with the reference backend. Gradients (backpropagation through
time, itself a loop) are compared with the reference backend and checked by
finite differences on the jit linker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.scan import Scan, scan, until
from arignote.tensor.shared_randomstreams import RandomStreams
from tests.jit_support import requires_compiler

pytestmark = requires_compiler

JIT = Mode(linker="jit")
PY = Mode(linker="py")


def scan_reports(function) -> list:
    return [n for n in function.program.report.nodes if isinstance(n.apply.op, Scan)]


@pytest.fixture
def no_python_steps(monkeypatch):
    """Make any loop that runs its body per step in Python (``Scan.perform``) fail."""

    def refuse(self, node, inputs, output_storage):
        raise AssertionError(f"{self} ran its body per step in Python")

    return lambda: monkeypatch.setattr(Scan, "perform", refuse)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@dataclass
class Loop:
    name: str
    build: Callable  # () -> (inputs, outputs)
    draw: Callable  # rng -> input values
    reference: Callable  # input values -> list of outputs
    rtol: float = 1e-6


def _tanh_rnn_batch():
    x, h0, w, u = T.tensor3("x"), T.matrix("h0"), T.matrix("w"), T.matrix("u")
    b = T.vector("b")
    states, _ = scan(
        lambda x_t, h, w, u, b: T.tanh(T.dot(x_t, u) + T.dot(h, w) + b),
        sequences=x,
        outputs_info=h0,
        non_sequences=[w, u, b],
    )
    return [x, h0, w, u, b], [states]


def _tanh_rnn_batch_reference(x, h0, w, u, b):
    h, out = h0, []
    for x_t in x:
        h = np.tanh(x_t @ u + h @ w + b)
        out.append(h)
    return [np.array(out)]


def _tanh_rnn_float32():
    x = T.tensor("float32", shape=(None, 5), name="x")
    h0, w = T.tensor("float32", shape=(None,)), T.tensor("float32", shape=(None, None))
    u = T.tensor("float32", shape=(None, None))
    states, _ = scan(
        lambda x_t, h: T.tanh(T.dot(h, w) + T.dot(x_t, u)), sequences=x, outputs_info=h0
    )
    return [x, h0, w, u], [states, (states**2).sum()]


def _tanh_rnn_float32_reference(x, h0, w, u):
    h, out = h0, []
    for x_t in x:
        h = np.tanh(h @ w + x_t @ u)
        out.append(h)
    out = np.array(out)
    return [out, (out**2).sum()]


def _lstm():
    x, h0, c0, w, u = T.tensor3("x"), T.matrix("h0"), T.matrix("c0"), T.matrix("w"), T.matrix("u")
    return [x, h0, c0, w, u], list(_lstm_graph(x, h0, c0, w, u))


def _lstm_graph(x, h0, c0, w, u):
    def step(x_t, h, c):
        z = T.dot(x_t, w) + T.dot(h, u)
        n = h.shape[1]
        i, f = T.nnet.sigmoid(z[:, :n]), T.nnet.sigmoid(z[:, n : 2 * n])
        o, g = T.nnet.sigmoid(z[:, 2 * n : 3 * n]), T.tanh(z[:, 3 * n :])
        c = f * c + i * g
        return o * T.tanh(c), c

    (hs, cs), _ = scan(step, sequences=x, outputs_info=[h0, c0])
    return hs, cs


def _lstm_reference(x, h0, c0, w, u):
    h, c, hs, cs = h0, c0, [], []
    n = h0.shape[1]
    for x_t in x:
        z = x_t @ w + h @ u
        i, f, o, g = (z[:, k * n : (k + 1) * n] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return [np.array(hs), np.array(cs)]


def _two_taps():
    x, init = T.vector("x"), T.vector("init")
    return [x, init], [_two_taps_graph(x, init)]


def _two_taps_graph(x, init):
    out, _ = scan(
        lambda x_t, older, old: 0.5 * old - 0.25 * older + x_t,
        sequences=x,
        outputs_info={"initial": init, "taps": [-2, -1]},
    )
    return out


def _two_taps_reference(x, init):
    values = list(init)
    for x_t in x:
        values.append(0.5 * values[-1] - 0.25 * values[-2] + x_t)
    return [np.array(values[2:])]


def _sequence_taps():
    x = T.matrix("x")
    out, _ = scan(
        lambda before, now, after: before * now - after,
        sequences={"input": x, "taps": [-1, 0, 2]},
    )
    return [x], [out]


def _sequence_taps_reference(x):
    return [np.array([x[t - 1] * x[t] - x[t + 2] for t in range(1, len(x) - 2)])]


def _backwards_non_sequences():
    x, h0, w = T.matrix("x"), T.vector("h0"), T.matrix("w")
    states, _ = scan(
        lambda x_t, h, w_t: T.tanh(T.dot(w_t, h) + x_t),
        sequences=x,
        outputs_info=h0,
        non_sequences=w.T,  # an F-ordered matrix the loop reads in place
        go_backwards=True,
    )
    return [x, h0, w], [states]


def _backwards_non_sequences_reference(x, h0, w):
    h, out = h0, []
    for x_t in x[::-1]:
        h = np.tanh(w.T @ h + x_t)
        out.append(h)
    return [np.array(out)]


def _per_step_and_last():
    x, h0 = T.matrix("x"), T.vector("h0")
    (states, norms), _ = scan(
        lambda x_t, h: (T.sin(h) + x_t, T.sqrt((x_t**2).sum())),
        sequences=x,
        outputs_info=[h0, None],
    )
    return [x, h0], [states[-1], norms]  # only the last state: a ring buffer


def _per_step_and_last_reference(x, h0):
    h, norms = h0, []
    for x_t in x:
        h = np.sin(h) + x_t
        norms.append(np.sqrt((x_t**2).sum()))
    return [h, np.array(norms)]


def _alloc_and_integers():
    x, h0, counts = T.matrix("x"), T.vector("h0"), T.tensor("int32", shape=(None,), name="c")
    (states, tiled, totals), _ = scan(
        lambda x_t, c_t, h, total: (h * 0.5 + x_t, T.alloc(T.exp(h), 2, x_t.shape[0]), total + c_t),
        sequences=[x, counts],
        outputs_info=[h0, None, np.int32(0)],
    )
    return [x, h0, counts], [states, tiled, totals]


def _alloc_and_integers_reference(x, h0, counts):
    h, states, tiled, totals, total = h0, [], [], [], np.int32(0)
    for x_t, c_t in zip(x, counts):
        tiled.append(np.tile(np.exp(h), (2, 1)))
        h = h * 0.5 + x_t
        total = total + c_t
        states.append(h)
        totals.append(total)
    return [np.array(states), np.array(tiled), np.array(totals, dtype="int32")]


def _row_indexing():
    y = T.matrix("y")
    out, _ = scan(lambda r: r[1:] * r[0], sequences=y)  # a 0-d and a 1-d view of the row
    return [y], [out]


def _three_taps_last_rows():
    x, init = T.vector("x"), T.vector("init")
    out, _ = scan(
        lambda x_t, a, b, c: 0.3 * a + 0.2 * b - 0.1 * c + x_t,
        sequences=x,
        outputs_info={"initial": init, "taps": [-3, -2, -1]},
    )
    return [x, init], [out[-2:]]  # only the last rows: a ring of max(2, 3 + 1) rows


def _three_taps_last_rows_reference(x, init):
    values = list(init)
    for x_t in x:
        values.append(0.3 * values[-3] + 0.2 * values[-2] - 0.1 * values[-1] + x_t)
    return [np.array(values[-2:])]


def _until():
    total0, limit = T.scalar("total0"), T.scalar("limit")
    totals, _ = scan(
        lambda total: (total * 1.5 + 1, until(total * 1.5 + 1 > limit)),
        outputs_info=total0,
        n_steps=50,
    )
    return [total0, limit], [totals]


def _until_reference(total0, limit):
    totals, total = [], total0
    for _ in range(50):
        total = total * 1.5 + 1
        totals.append(total)
        if total > limit:
            break
    return [np.array(totals)]


LOOPS = [
    Loop(
        "tanh_rnn_batch",
        _tanh_rnn_batch,
        lambda rng: [
            rng.standard_normal((6, 4, 3)),
            rng.standard_normal((4, 5)),
            rng.standard_normal((5, 5)) * 0.5,
            rng.standard_normal((3, 5)),
            rng.standard_normal(5),
        ],
        _tanh_rnn_batch_reference,
    ),
    Loop(
        "tanh_rnn_float32",
        _tanh_rnn_float32,
        lambda rng: [
            rng.standard_normal((7, 5)).astype("float32"),
            rng.standard_normal(6).astype("float32"),
            (rng.standard_normal((6, 6)) * 0.5).astype("float32"),
            rng.standard_normal((5, 6)).astype("float32"),
        ],
        _tanh_rnn_float32_reference,
        rtol=1e-4,
    ),
    Loop(
        "lstm",
        _lstm,
        lambda rng: [
            rng.standard_normal((5, 2, 3)),
            rng.standard_normal((2, 4)),
            rng.standard_normal((2, 4)),
            rng.standard_normal((3, 16)),
            rng.standard_normal((4, 16)) * 0.5,
        ],
        _lstm_reference,
    ),
    Loop(
        "two_taps",
        _two_taps,
        lambda rng: [rng.standard_normal(9), rng.standard_normal(2)],
        _two_taps_reference,
    ),
    Loop(
        "sequence_taps",
        _sequence_taps,
        lambda rng: [rng.standard_normal((8, 3))],
        _sequence_taps_reference,
    ),
    Loop(
        "backwards_non_sequences",
        _backwards_non_sequences,
        lambda rng: [
            rng.standard_normal((5, 4)),
            rng.standard_normal(4),
            rng.standard_normal((4, 4)),
        ],
        _backwards_non_sequences_reference,
    ),
    Loop(
        "per_step_and_last",
        _per_step_and_last,
        lambda rng: [rng.standard_normal((6, 3)), rng.standard_normal(3)],
        _per_step_and_last_reference,
    ),
    Loop(
        "alloc_and_integers",
        _alloc_and_integers,
        lambda rng: [
            rng.standard_normal((5, 3)),
            rng.standard_normal(3),
            rng.integers(-9, 9, 5).astype("int32"),
        ],
        _alloc_and_integers_reference,
    ),
    Loop(
        "row_indexing",
        _row_indexing,
        lambda rng: [rng.standard_normal((5, 4))],
        lambda y: [y[:, 1:] * y[:, :1]],
    ),
    Loop(
        "three_taps_last_rows",
        _three_taps_last_rows,
        lambda rng: [rng.standard_normal(9), rng.standard_normal(3)],
        _three_taps_last_rows_reference,
    ),
    Loop("until", _until, lambda rng: [np.float64(0.5), np.float64(40.0)], _until_reference),
]


@pytest.mark.parametrize("loop", LOOPS, ids=lambda loop: loop.name)
def test_loop_compiled_matches_numpy_and_reference(loop, no_python_steps):
    inputs, outputs = loop.build()
    values = loop.draw(np.random.default_rng(0))
    expected = arignote.function(inputs, outputs, mode=PY)(*values)
    compiled = arignote.function(inputs, outputs, mode=JIT)
    reports = scan_reports(compiled)
    assert reports and all(r.kind == "kernel" for r in reports), compiled.program.report
    no_python_steps()
    got = compiled(*values)
    for actual, by_numpy, by_reference in zip(got, loop.reference(*values), expected):
        np.testing.assert_allclose(actual, by_numpy, rtol=loop.rtol, atol=loop.rtol)
        assert actual.dtype == by_reference.dtype and actual.shape == by_reference.shape
        np.testing.assert_allclose(actual, by_reference, rtol=loop.rtol, atol=loop.rtol)


def test_loop_results_do_not_alias_and_repeat(no_python_steps):
    inputs, outputs = _two_taps()
    compiled = arignote.function(inputs, outputs, mode=JIT)
    no_python_steps()
    values = [np.arange(6.0), np.array([1.0, 2.0])]
    first = compiled(*values)[0]
    expected = first.copy()
    second = compiled(*values)[0]
    np.testing.assert_array_equal(first, expected)  # the second call wrote elsewhere
    np.testing.assert_array_equal(second, expected)
    np.testing.assert_array_equal(values[1], [1.0, 2.0])  # the initial value is not written


def test_zero_steps_and_shape_errors_match_the_reference():
    x, h0, w = T.matrix("x"), T.vector("h0"), T.matrix("w")
    states, _ = scan(lambda x_t, h: T.tanh(T.dot(h, w)) + x_t, sequences=x, outputs_info=h0)
    compiled = arignote.function([x, h0, w], states, mode=JIT)
    assert compiled(np.zeros((0, 3)), np.ones(3), np.eye(3)).shape == (0, 3)
    with pytest.raises(ValueError, match="not aligned|shape"):
        compiled(np.zeros((4, 3)), np.ones(3), np.ones((2, 2)))


def test_random_stream_body_falls_back_and_says_why():
    streams = RandomStreams(seed=3)
    x = T.vector("x")
    noisy, updates = scan(lambda x_t: x_t + streams.normal(()), sequences=x)
    compiled = arignote.function([x], noisy, updates=updates, mode=JIT)
    (report,) = scan_reports(compiled)
    assert report.kind == "fallback" and "per step in Python" in report.detail
    assert "Random" in report.detail
    assert compiled(np.zeros(4)).shape == (4,)


# ---- gradients (BPTT) --------------------------------------------------------------------------
def _rnn_cost():
    x, h0, w, u = T.tensor3("x"), T.matrix("h0"), T.matrix("w"), T.matrix("u")
    b = T.vector("b")
    states, _ = scan(
        lambda x_t, h: T.tanh(T.dot(x_t, u) + T.dot(h, w) + b), sequences=x, outputs_info=h0
    )
    cost = (states**2).mean()
    return [x, h0, w, u, b], cost


def test_bptt_compiles_and_matches_the_reference(no_python_steps):
    inputs, cost = _rnn_cost()
    outputs = [cost, *arignote.grad(cost, inputs[1:])]
    compiled = arignote.function(inputs, outputs, mode=JIT)
    reports = scan_reports(compiled)
    assert len(reports) == 2 and all(r.kind == "kernel" for r in reports)
    no_python_steps()
    rng = np.random.default_rng(1)
    values = [
        rng.standard_normal((6, 3, 4)),
        rng.standard_normal((3, 5)),
        rng.standard_normal((5, 5)) * 0.5,
        rng.standard_normal((4, 5)),
        rng.standard_normal(5),
    ]
    got = compiled(*values)
    expected = _hand_bptt(*values)
    for actual, wanted in zip(got, expected):
        np.testing.assert_allclose(actual, wanted, rtol=1e-7, atol=1e-10)


def _hand_bptt(x, h0, w, u, b):
    states = [h0]
    for x_t in x:
        states.append(np.tanh(x_t @ u + states[-1] @ w + b))
    hs = np.array(states[1:])
    scale = 2.0 / hs.size
    g_w, g_u, g_b, carry = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b), np.zeros_like(h0)
    for t in range(len(x) - 1, -1, -1):
        d = (scale * states[t + 1] + carry) * (1 - states[t + 1] ** 2)
        g_w += states[t].T @ d
        g_u += x[t].T @ d
        g_b += d.sum(axis=0)
        carry = d @ w.T
    return [(hs**2).mean(), carry, g_w, g_u, g_b]


def _vector_rnn_cost(x, h0, w, u):
    states, _ = scan(
        lambda x_t, h: T.tanh(T.dot(h, w) + T.dot(x_t, u)), sequences=x, outputs_info=h0
    )
    return (states**2).sum()


GRADIENT_CASES = {
    "lstm": (
        lambda *v: sum((out**2).sum() for out in _lstm_graph(*v)),
        lambda rng: [
            rng.standard_normal((3, 2, 2)),
            rng.standard_normal((2, 2)),
            rng.standard_normal((2, 2)),
            rng.standard_normal((2, 8)) * 0.5,
            rng.standard_normal((2, 8)) * 0.5,
        ],
    ),
    "two_taps": (
        lambda x, init: (_two_taps_graph(x, init) ** 2).sum(),
        lambda rng: [rng.standard_normal(5), rng.standard_normal(2)],
    ),
    "vector_rnn": (  # Gemv and Ger in the backward loop
        _vector_rnn_cost,
        lambda rng: [
            rng.standard_normal((4, 5)),
            rng.standard_normal(6),
            rng.standard_normal((6, 6)) * 0.5,
            rng.standard_normal((5, 6)),
        ],
    ),
}


@pytest.mark.parametrize("name", list(GRADIENT_CASES))
def test_gradients_on_the_jit_linker_by_finite_differences(name):
    cost, draw = GRADIENT_CASES[name]
    points = draw(np.random.default_rng(2))
    arignote.gradient.verify_grad(cost, points, rng=np.random.default_rng(0), mode=JIT)
