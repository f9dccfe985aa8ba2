"""The classic Theano example: logistic regression's loss and two ways to its gradient.

Run with ``make demo`` (or ``python examples/logistic_regression.py``). It
prints the loss E, checks it against NumPy, computes the gradient by hand
(g1) and symbolically (g2 = T.grad), checks g2 == -g1, and reports the
compile time and the median time of a call.
"""

import time

import numpy as np

import arignote as theano
import arignote.tensor as T
from arignote.tensor.nnet import sigmoid


def median_call_seconds(fn, *args, repeats=20):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    X = T.matrix(name="X")
    y = T.vector(name="y")
    w = T.vector(name="w")
    eta = X.dot(w)
    mu = sigmoid(eta)
    E = -(y * T.log(mu) + (1 - y) * T.log(1 - mu)).sum()

    start = time.perf_counter()
    Efun = theano.function([X, w, y], E, allow_input_downcast=True)
    compile_E = time.perf_counter() - start

    rng = np.random.default_rng(0)
    X_ = rng.standard_normal((1000, 100))
    w_ = rng.standard_normal(100)
    y_ = rng.random(1000) > 0.5
    E_ = Efun(X_, w_, y_)
    print("E =", E_)

    # The reference in its stable form: log(sigmoid(z)) = -logaddexp(0, -z). The naive
    # NumPy formula loses ~1e-10 of relative precision here, more than the rewritten graph.
    z_np = X_ @ w_
    E_np = np.sum(y_ * np.logaddexp(0, -z_np) + (1 - y_) * np.logaddexp(0, z_np))
    E_rel = abs(E_ - E_np) / abs(E_np)
    print(f"E relative difference from NumPy: {E_rel:.2e}")

    g1 = (y - mu).dot(X)
    g2 = T.grad(E, w)
    start = time.perf_counter()
    gfun = theano.function([X, w, y], [g1, g2], allow_input_downcast=True)
    compile_g = time.perf_counter() - start
    g1_, g2_ = gfun(X_, w_, y_)
    print("g1[:5] =", g1_[:5])
    print("g2[:5] =", g2_[:5])
    agreement = np.max(np.abs(g2_ + g1_)) / np.max(np.abs(g1_))
    print(f"g2 == -g1: {agreement < 1e-9} (max relative difference {agreement:.2e})")

    print(f"compile: E {compile_E * 1e3:.1f} ms, gradients {compile_g * 1e3:.1f} ms")
    print(
        f"per call (median of 20): E {median_call_seconds(Efun, X_, w_, y_) * 1e3:.3f} ms, "
        f"gradients {median_call_seconds(gfun, X_, w_, y_) * 1e3:.3f} ms"
    )
    if E_rel > 1e-9 or agreement > 1e-9:
        raise SystemExit("the example's results do not agree")


if __name__ == "__main__":
    main()
