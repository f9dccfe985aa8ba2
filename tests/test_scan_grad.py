"""Gradients through ``scan``: backpropagation through time, second order, forward mode.

Every gradient is checked against finite differences (``verify_grad``, or a
central difference written out where the function has state), for each kind
of loop input and output; truncated BPTT against a NumPy loop that
truncates the same way.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import arignote
import arignote.scan
import arignote.tensor as T
from arignote.gradient import Rop, hessian, jacobian, verify_grad
from arignote.scan import until
from arignote.tensor.shared_randomstreams import RandomStreams

scan = arignote.scan.scan


def rng_for(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def numeric_gradient(f, point: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        step = np.zeros_like(point)
        step[index] = eps
        gradient[index] = (f(point + step) - f(point - step)) / (2 * eps)
    return gradient


def lstm(x, h0, c0, w, u, b):
    size = 3

    def step(x_t, h, c, w, u, b):
        z = T.dot(x_t, w) + T.dot(h, u) + b
        i, f, o = (T.sigmoid(z[k * size : (k + 1) * size]) for k in range(3))
        g = T.tanh(z[3 * size :])
        c_new = f * c + i * g
        return o * T.tanh(c_new), c_new

    (hs, cs), _ = scan(step, sequences=x, outputs_info=[h0, c0], non_sequences=[w, u, b])
    return hs + 0.5 * cs


def test_lstm_cell():
    rng = rng_for(1)
    points = [
        rng.normal(size=(4, 2)),
        rng.normal(size=3),
        rng.normal(size=3),
        rng.normal(size=(2, 12)) * 0.5,
        rng.normal(size=(3, 12)) * 0.5,
        rng.normal(size=12),
    ]
    verify_grad(lstm, points, rng=rng)


def test_sequence_taps_and_outputs_without_feedback():
    def loop(x, w):
        (total, per_step), _ = scan(
            lambda before, now, after, s, w: [s * w + before * now, T.sin(after * w) * now],
            sequences=dict(input=x, taps=[-1, 0, 2]),
            outputs_info=[T.zeros_like(x[0]), None],
            non_sequences=w,
        )
        return total.sum() + per_step.sum() * 2

    rng = rng_for(2)
    verify_grad(loop, [rng.normal(size=(7, 2)), rng.normal(size=2)], rng=rng)


def test_three_taps_with_an_initial_value_longer_than_needed():
    def loop(h_init, x):
        states, _ = scan(
            lambda x_t, h3, h1: T.tanh(0.7 * h3 - 0.4 * h1 + x_t),
            sequences=x,
            outputs_info=dict(initial=h_init, taps=[-3, -1]),
        )
        return states

    rng = rng_for(3)
    verify_grad(loop, [rng.normal(size=(5, 2)), rng.normal(size=(6, 2))], rng=rng)


def test_go_backwards_and_several_sequences():
    def loop(a, b, h0):
        states, _ = scan(
            lambda u, v, h: T.tanh(h * u + v), sequences=[a, b], outputs_info=h0, go_backwards=True
        )
        return states

    rng = rng_for(4)
    verify_grad(
        loop, [rng.normal(size=(5, 2)), rng.normal(size=(4, 2)), rng.normal(size=2)], rng=rng
    )


def test_symbolic_n_steps_with_sequences_longer_than_the_loop():
    k = T.lscalar("k")
    x = T.vector("x")
    states, _ = scan(lambda v, h: h * v + 1, sequences=x, outputs_info=np.float64(0.5), n_steps=k)
    gx = arignote.grad(states.sum(), x)
    f = arignote.function([x, k], gx)
    point = np.array([0.3, -0.2, 0.9, 0.4])
    got = f(point, 2)
    assert got[2:].tolist() == [0.0, 0.0]
    cost = arignote.function([x, k], states.sum())
    np.testing.assert_allclose(got, numeric_gradient(lambda p: cost(p, 2), point), rtol=1e-6)


def test_shared_variables_read_implicitly():
    w = arignote.shared(np.array([[0.5, -0.3], [0.2, 0.8]]), name="w")
    x = T.matrix("x")
    states, _ = scan(
        lambda x_t, h: T.tanh(T.dot(h, w) + x_t), sequences=x, outputs_info=T.zeros_like(x[0])
    )
    cost = (states**2).sum()
    gw = arignote.function([x], arignote.grad(cost, w))
    f = arignote.function([x], cost)
    point = rng_for(5).normal(size=(4, 2))

    def at(value):
        w.set_value(value)
        return f(point)

    start = w.get_value()
    expected = numeric_gradient(at, start)
    w.set_value(start)
    np.testing.assert_allclose(gw(point), expected, rtol=1e-6, atol=1e-9)


def test_updated_state_read_by_the_step():
    def loop(x):
        total = arignote.shared(np.float64(0.25), name="total")
        states, updates = scan(
            lambda x_t: (T.tanh(x_t * total), {total: total * 0.5 + x_t}), sequences=x
        )
        return states.sum() + updates[total] * 3

    rng = rng_for(6)
    verify_grad(loop, [rng.normal(size=5)], rng=rng)


def test_a_while_loop():
    def loop(x, a):
        states, _ = scan(
            lambda x_t, h, a: (h * a + x_t, until((h * a + x_t).sum() > 3.0)),
            sequences=x,
            outputs_info=T.zeros_like(x[0]),
            non_sequences=a,
        )
        return states

    rng = rng_for(7)
    verify_grad(loop, [rng.uniform(0.2, 1.0, size=(8, 2)), rng.uniform(0.5, 1.0, size=2)], rng=rng)


def test_truncated_backpropagation_matches_a_truncated_numpy_loop():
    rng = rng_for(8)
    n, size, k = 6, 3, 2
    x_value, h0_value = rng.normal(size=(n, size)), rng.normal(size=size)
    w_value = rng.normal(size=(size, size)) * 0.5
    x, h0, w = T.matrix("x"), T.vector("h0"), T.matrix("w")
    states, _ = scan(
        lambda x_t, h, w: T.tanh(T.dot(h, w) + x_t),
        sequences=x,
        outputs_info=h0,
        non_sequences=w,
        truncate_gradient=k,
    )
    grads = arignote.function([x, h0, w], arignote.grad(states.sum(), [x, h0, w]))
    got_x, got_h0, got_w = grads(x_value, h0_value, w_value)

    hs = [h0_value]
    for x_t in x_value:
        hs.append(np.tanh(hs[-1] @ w_value + x_t))
    g_h, g_w, g_x = np.zeros(size), np.zeros_like(w_value), np.zeros_like(x_value)
    for t in reversed(range(n - k, n)):
        d = (1.0 + g_h) * (1 - hs[t + 1] ** 2)
        g_w += np.outer(hs[t], d)
        g_x[t] = d
        g_h = d @ w_value.T
    np.testing.assert_allclose(got_w, g_w, rtol=1e-10)
    np.testing.assert_allclose(got_x, g_x, rtol=1e-10)
    np.testing.assert_allclose(got_h0, np.zeros(size))


def test_random_draws_are_reused_not_redrawn_by_the_gradient():
    srng = RandomStreams(seed=4)
    x, w = T.matrix("x"), T.matrix("w")

    def step(x_t, h, w):
        keep = T.cast(srng.uniform((2,)) < 0.6, "float64")
        return T.tanh(T.dot(h, w) + x_t) * keep

    states, _ = scan(step, sequences=x, outputs_info=T.zeros_like(x[0]), non_sequences=w)
    cost = (states**2).sum()
    # Without the updates the generator stays put, so every call draws the same masks.
    f = arignote.function([x, w], cost, no_default_updates=True)
    gw = arignote.function([x, w], arignote.grad(cost, w), no_default_updates=True)
    rng = rng_for(9)
    x_value, w_value = rng.normal(size=(5, 2)), rng.normal(size=(2, 2))
    expected = numeric_gradient(lambda value: f(x_value, value), w_value)
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(gw(x_value, w_value), expected, rtol=1e-6, atol=1e-9)


def test_gradient_of_a_gradient():
    def gradient_norm(w, x):
        states, _ = scan(
            lambda x_t, h, w: T.tanh(T.dot(h, w) + x_t),
            sequences=x,
            outputs_info=T.zeros_like(x[0]),
            non_sequences=w,
        )
        return arignote.grad(states.sum(), w)

    rng = rng_for(10)
    verify_grad(gradient_norm, [rng.normal(size=(2, 2)) * 0.5, rng.normal(size=(3, 2))], rng=rng)


def test_hessian_and_jacobian_of_a_loop():
    w = T.vector("w")
    x = T.matrix("x")
    states, _ = scan(
        lambda x_t, h, w: T.tanh(h * w + x_t),
        sequences=x,
        outputs_info=T.zeros_like(w),
        non_sequences=w,
    )
    cost = (states[-1] ** 2).sum() + states.sum()
    rng = rng_for(11)
    x_value, w_value = rng.normal(size=(4, 3)), rng.normal(size=3) * 0.5
    gradient = arignote.function([w, x], arignote.grad(cost, w))
    got = arignote.function([w, x], hessian(cost, w))(w_value, x_value)
    expected = np.stack(
        [numeric_gradient(lambda v, i=i: gradient(v, x_value)[i], w_value) for i in range(3)]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)
    last = arignote.function([w, x], states[-1])
    got_jacobian = arignote.function([w, x], jacobian(states[-1], w))(w_value, x_value)
    expected_jacobian = np.stack(
        [numeric_gradient(lambda v, i=i: last(v, x_value)[i], w_value) for i in range(3)]
    )
    np.testing.assert_allclose(got_jacobian, expected_jacobian, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("wrt", ["w", "x", "h0"])
def test_rop_matches_a_directional_difference(wrt):
    x, h0, w = T.matrix("x"), T.vector("h0"), T.matrix("w")
    (states, outs), _ = scan(
        lambda x_t, h, w: [T.tanh(T.dot(h, w) + x_t), T.sin(h).sum()],
        sequences=x,
        outputs_info=[h0, None],
        non_sequences=w,
    )
    rng = rng_for(12)
    values = {
        "x": rng.normal(size=(4, 2)),
        "h0": rng.normal(size=2),
        "w": rng.normal(size=(2, 2)) * 0.5,
    }
    variables = {"x": x, "h0": h0, "w": w}
    direction = rng.normal(size=values[wrt].shape)
    v = variables[wrt].type.make_variable("v")
    tangents = Rop([states, outs], variables[wrt], v)
    got = arignote.function([x, h0, w, v], tangents)(
        values["x"], values["h0"], values["w"], direction
    )
    f = arignote.function([x, h0, w], [states, outs])

    def along(eps):
        shifted = dict(values)
        shifted[wrt] = values[wrt] + eps * direction
        return f(shifted["x"], shifted["h0"], shifted["w"])

    plus, minus = along(1e-6), along(-1e-6)
    for position in range(2):
        expected = (plus[position] - minus[position]) / 2e-6
        np.testing.assert_allclose(got[position], expected, rtol=1e-6, atol=1e-8)


def test_the_gradient_of_a_tanh_rnn_compiles_well_under_a_second():
    x, h0 = T.matrix("x"), T.vector("h0")
    w, u, b = T.matrix("w"), T.matrix("u"), T.vector("b")
    # CPU time of this process: other processes on a shared machine do not count.
    start = time.process_time()
    states, _ = scan(
        lambda x_t, h, w, u, b: T.tanh(T.dot(h, w) + T.dot(x_t, u) + b),
        sequences=x,
        outputs_info=h0,
        non_sequences=[w, u, b],
    )
    cost = (states**2).mean()
    f = arignote.function([x, h0, w, u, b], [cost, *arignote.grad(cost, [w, u, b, h0])])
    rng = rng_for(13)
    f(
        rng.normal(size=(3, 4)),
        rng.normal(size=8),
        rng.normal(size=(8, 8)),
        rng.normal(size=(4, 8)),
        rng.normal(size=8),
    )
    assert time.process_time() - start < 1.0
