"""A tanh RNN written with ``scan``, trained by backpropagation through time.

The task is synthetic: from a stream of random numbers, output at each step
a weighted sum of the previous two inputs (``y[t] = x[t-1] - 0.5 x[t-2]``),
so the network must learn to remember. The recurrence is one ``scan`` over
time on a batch of sequences; ``T.grad`` of the loss goes back through it,
and one compiled ``train`` function applies SGD-with-momentum updates to the
shared parameters. The loss must fall to a small fraction of its start.
"""

import time

import numpy as np

import arignote as theano
import arignote.scan
import arignote.tensor as T

STEPS, BATCH, HIDDEN = 20, 32, 16


def make_batch(rng):
    x = rng.uniform(-1, 1, size=(STEPS, BATCH, 1))
    y = np.zeros_like(x)
    y[1:] += x[:-1]
    y[2:] -= 0.5 * x[:-2]
    return x, y


def main():
    rng = np.random.default_rng(0)

    def weights(name, *shape, scale=1.0):
        return theano.shared(rng.standard_normal(shape) * scale / np.sqrt(shape[0]), name=name)

    w_in = weights("w_in", 1, HIDDEN)
    w_rec = weights("w_rec", HIDDEN, HIDDEN, scale=0.5)
    b = theano.shared(np.zeros(HIDDEN), name="b")
    w_out = weights("w_out", HIDDEN, 1)
    params = [w_in, w_rec, b, w_out]

    x = T.tensor3("x")  # (time, batch, 1)
    y = T.tensor3("y")
    learning_rate = T.scalar("learning_rate")

    def step(x_t, h_previous, w_in, w_rec, b):
        return T.tanh(T.dot(x_t, w_in) + T.dot(h_previous, w_rec) + b)

    h0 = T.zeros((x.shape[1], HIDDEN))
    states, _ = arignote.scan(step, sequences=x, outputs_info=h0, non_sequences=[w_in, w_rec, b])
    predictions = T.dot(states, w_out)
    loss = ((predictions - y) ** 2).mean()

    velocities = [theano.shared(np.zeros_like(p.get_value())) for p in params]
    updates = []
    for param, velocity, gradient in zip(params, velocities, T.grad(loss, params)):
        new_velocity = 0.9 * velocity - learning_rate * gradient
        updates += [(velocity, new_velocity), (param, param + new_velocity)]

    start = time.perf_counter()
    train = theano.function([x, y, learning_rate], loss, updates=updates)
    evaluate = theano.function([x, y], loss)
    print(f"compiled the train step and the evaluation in {time.perf_counter() - start:.2f} s")

    test_x, test_y = make_batch(np.random.default_rng(1))
    first = float(evaluate(test_x, test_y))
    print(f"before training: test loss {first:.4f}")
    start = time.perf_counter()
    for iteration in range(1, 401):
        train(*make_batch(rng), 0.05)
        if iteration % 100 == 0:
            print(f"step {iteration:3d}: test loss {float(evaluate(test_x, test_y)):.4f}")
    last = float(evaluate(test_x, test_y))
    print(f"400 training steps in {time.perf_counter() - start:.1f} s")
    if not last < first / 5:
        raise SystemExit(f"the loss did not fall: {first:.4f} -> {last:.4f}")


if __name__ == "__main__":
    main()
