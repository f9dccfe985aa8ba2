"""LeNet as in Theano's deep-learning tutorial: two conv+pool layers, a tanh layer, a softmax.

The data is made here, not downloaded: ten classes of 28x28 "digits"
(each class a few random strokes, drawn shifted, thickened and noisy) are
written in the layout of the tutorial's ``mnist.pkl.gz`` (a gzipped pickle
of ``(train, valid, test)`` pairs ``(images as rows of 784 floats, labels)``)
and read back the way the tutorial reads MNIST. Training is the tutorial's:
the data sets live in shared variables, one compiled ``train_model(index)``
picks its minibatch through ``givens`` and applies SGD through ``updates``.

Run with ``python examples/lenet.py`` (``--data PATH`` keeps the generated
file). It exits with an error unless the test error falls.
"""

import argparse
import gzip
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

import arignote as theano
import arignote.tensor as T
from arignote.tensor.nnet import conv2d, softmax
from arignote.tensor.signal.pool import pool_2d


# ---- the data ----------------------------------------------------------------------------------
def class_templates(rng, n_classes=10, size=28, strokes=3):
    """One 28x28 pattern per class: a few straight strokes between random points."""
    templates = np.zeros((n_classes, size, size))
    steps = np.linspace(0, 1, 40)
    for template in templates:
        for _ in range(strokes):
            start, end = rng.uniform(6, size - 7, 2), rng.uniform(6, size - 7, 2)
            points = np.round(start + steps[:, None] * (end - start)).astype(int)
            template[points[:, 0], points[:, 1]] = 1.0
    return templates


def draw(rng, templates, count):
    """Examples of random classes: shifted by up to 2 pixels, thickened, with noise."""
    labels = rng.integers(0, len(templates), count)
    images = templates[labels]
    shifts = rng.integers(-2, 3, (count, 2))
    images = np.stack(
        [np.roll(image, tuple(shift), axis=(0, 1)) for image, shift in zip(images, shifts)]
    )
    images = np.maximum(images, 0.6 * np.roll(images, 1, axis=1))
    images = np.clip(images + rng.normal(0, 0.25, images.shape), 0, 1)
    return images.reshape(count, -1).astype("float32"), labels.astype("int64")


def write_dataset(path, rng, sizes=(1200, 400, 400)):
    templates = class_templates(rng)
    splits = tuple(draw(rng, templates, n) for n in sizes)
    with gzip.open(path, "wb") as f:
        pickle.dump(splits, f, protocol=2)


def load_data(path):
    """The tutorial's ``load_data``: the three splits as shared variables."""
    with gzip.open(path, "rb") as f:
        splits = pickle.load(f, encoding="latin1")

    def shared_dataset(data_xy):
        data_x, data_y = data_xy
        shared_x = theano.shared(np.asarray(data_x, dtype=theano.config.floatX), borrow=True)
        shared_y = theano.shared(np.asarray(data_y, dtype=theano.config.floatX), borrow=True)
        return shared_x, T.cast(shared_y, "int32")

    return [shared_dataset(split) for split in splits]


# ---- the model ---------------------------------------------------------------------------------
class LeNetConvPoolLayer:
    """Convolution, max pooling, bias and tanh, with the tutorial's initialization."""

    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        fan_in = np.prod(filter_shape[1:])
        fan_out = filter_shape[0] * np.prod(filter_shape[2:]) // np.prod(poolsize)
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        self.W = theano.shared(
            np.asarray(rng.uniform(-bound, bound, filter_shape), dtype=theano.config.floatX),
            borrow=True,
        )
        self.b = theano.shared(np.zeros(filter_shape[0], dtype=theano.config.floatX), borrow=True)
        conv_out = conv2d(input, self.W, filter_shape=filter_shape, input_shape=image_shape)
        pooled_out = pool_2d(conv_out, ws=poolsize, ignore_border=True)
        self.output = T.tanh(pooled_out + self.b.dimshuffle("x", 0, "x", "x"))
        self.params = [self.W, self.b]


class HiddenLayer:
    def __init__(self, rng, input, n_in, n_out):
        bound = np.sqrt(6.0 / (n_in + n_out))
        self.W = theano.shared(
            np.asarray(rng.uniform(-bound, bound, (n_in, n_out)), dtype=theano.config.floatX)
        )
        self.b = theano.shared(np.zeros(n_out, dtype=theano.config.floatX))
        self.output = T.tanh(T.dot(input, self.W) + self.b)
        self.params = [self.W, self.b]


class LogisticRegression:
    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(np.zeros((n_in, n_out), dtype=theano.config.floatX))
        self.b = theano.shared(np.zeros(n_out, dtype=theano.config.floatX))
        self.p_y_given_x = softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


def train(path, n_epochs=3, learning_rate=0.1, nkerns=(20, 50), batch_size=50):
    rng = np.random.default_rng(23455)
    (train_x, train_y), _, (test_x, test_y) = load_data(path)
    n_train = train_x.get_value(borrow=True).shape[0] // batch_size
    n_test = test_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar("index")
    x = T.matrix("x")
    y = T.ivector("y")
    layer0_input = x.reshape((batch_size, 1, 28, 28))
    # 28x28 -> conv 5x5 -> 24x24 -> pool 2x2 -> 12x12; then -> 8x8 -> 4x4.
    layer0 = LeNetConvPoolLayer(rng, layer0_input, (nkerns[0], 1, 5, 5), (batch_size, 1, 28, 28))
    layer1 = LeNetConvPoolLayer(
        rng, layer0.output, (nkerns[1], nkerns[0], 5, 5), (batch_size, nkerns[0], 12, 12)
    )
    layer2 = HiddenLayer(rng, layer1.output.flatten(2), nkerns[1] * 4 * 4, 500)
    layer3 = LogisticRegression(layer2.output, 500, 10)
    cost = layer3.negative_log_likelihood(y)
    params = layer3.params + layer2.params + layer1.params + layer0.params
    grads = T.grad(cost, params)
    updates = [(p, p - learning_rate * g) for p, g in zip(params, grads)]

    batch = slice(index * batch_size, (index + 1) * batch_size)
    start = time.perf_counter()
    test_model = theano.function(
        [index], layer3.errors(y), givens={x: test_x[batch], y: test_y[batch]}
    )
    train_model = theano.function(
        [index], cost, updates=updates, givens={x: train_x[batch], y: train_y[batch]}
    )
    print(f"compiled the train and test functions in {time.perf_counter() - start:.2f} s")

    def test_error():
        return float(np.mean([test_model(i) for i in range(n_test)]))

    errors = [test_error()]
    print(f"before training: test error {errors[0] * 100:.1f} %")
    start = time.perf_counter()
    for epoch in range(1, n_epochs + 1):
        costs = [train_model(i) for i in range(n_train)]
        errors.append(test_error())
        print(f"epoch {epoch}: mean cost {np.mean(costs):.4f}, test error {errors[-1] * 100:.1f} %")
    seconds = time.perf_counter() - start
    print(
        f"trained {n_epochs} epochs of {n_train} minibatches in {seconds:.1f} s "
        f"({seconds / (n_epochs * n_train) * 1e3:.1f} ms per minibatch)"
    )
    if not (errors[-1] < errors[0] / 2 and errors[-1] <= min(errors[1:-1], default=1.0)):
        raise SystemExit(f"the test error did not fall: {[round(e, 3) for e in errors]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="where to write the generated mnist.pkl.gz")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.data or Path(scratch) / "mnist.pkl.gz"
        write_dataset(path, np.random.default_rng(0))
        train(path, n_epochs=args.epochs)


if __name__ == "__main__":
    main()
