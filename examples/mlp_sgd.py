"""A two-layer tanh MLP with a softmax output, trained by SGD through shared variables.

The parameters are shared variables; one compiled ``train`` function
computes the loss and applies every parameter update at once. The data is
synthetic (three Gaussian blobs), so the loss must fall steadily.
"""

import time

import numpy as np

import arignote as theano
import arignote.tensor as T
from arignote.tensor.nnet import softmax


def make_data(rng, n_per_class=200, n_features=10, n_classes=3):
    centres = rng.standard_normal((n_classes, n_features)) * 0.6
    X = np.concatenate([rng.standard_normal((n_per_class, n_features)) + c for c in centres])
    y = np.repeat(np.arange(n_classes), n_per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def main():
    rng = np.random.default_rng(0)
    X_, y_ = make_data(rng)
    n_features, n_hidden, n_classes = X_.shape[1], 32, 3
    onehot_ = np.eye(n_classes)[y_]

    def weights(*shape):
        return theano.shared(rng.standard_normal(shape) / np.sqrt(shape[0]))

    W1, b1 = weights(n_features, n_hidden), theano.shared(np.zeros(n_hidden), name="b1")
    W2, b2 = weights(n_hidden, n_classes), theano.shared(np.zeros(n_classes), name="b2")
    W1.name, W2.name = "W1", "W2"
    params = [W1, b1, W2, b2]

    X = T.matrix("X")
    Y = T.matrix("Y")  # one-hot targets
    learning_rate = T.scalar("learning_rate")
    hidden = T.tanh(X.dot(W1) + b1)
    probabilities = softmax(hidden.dot(W2) + b2)
    loss = -(Y * T.log(probabilities)).sum(axis=1).mean()
    accuracy = T.eq(probabilities.argmax(axis=1), Y.argmax(axis=1)).mean()
    gradients = T.grad(loss, params)
    updates = [(p, p - learning_rate * g) for p, g in zip(params, gradients)]

    start = time.perf_counter()
    train = theano.function([X, Y, learning_rate], loss, updates=updates)
    evaluate = theano.function([X, Y], [loss, accuracy])
    print(f"compiled the train step and the evaluation in {(time.perf_counter() - start) * 1e3:.1f} ms")

    losses = [float(evaluate(X_, onehot_)[0])]
    print(f"before training: loss {losses[0]:.4f}")
    batch = 60
    for epoch in range(20):
        for first in range(0, len(y_), batch):
            train(X_[first:first + batch], onehot_[first:first + batch], 0.05)
        loss_, accuracy_ = evaluate(X_, onehot_)
        losses.append(float(loss_))
        if epoch % 4 == 0 or epoch == 19:
            print(f"epoch {epoch:2d}: loss {loss_:.4f}, accuracy {accuracy_:.3f}")
    if not losses[-1] < losses[0] / 2:
        raise SystemExit(f"the loss did not fall: {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
