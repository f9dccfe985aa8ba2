"""The seed example (``examples/logistic_regression.py``): the loss E and its gradient with
respect to ``w`` in one call, X 1000x100 float64, against hand-written NumPy.

Systems: NumPy written by hand (the reference, ratio 1.00), arignote (``function`` in the
default mode, FAST_RUN), JAX (``jit(value_and_grad)`` in float64), PyTensor (NUMBA mode),
PyTorch eager (autograd), and with ``--torch-compile`` torch.compile (the loss compiled,
backward through its compiled graph; off by default: it takes minutes to compile here). Every system gets the same float64 arrays (y as 0.0/1.0, so that no
system pays a conversion) and must agree with NumPy before it is timed. The issue's target:
arignote at most 1.0x NumPy.

    python benchmarks/seed.py                    # about a minute
    python benchmarks/seed.py --quick            # a smoke run
    python benchmarks/seed.py --torch-compile    # and torch.compile
"""

from __future__ import annotations

import argparse
import functools
import time

import harness  # first: thread settings before NumPy loads
import numpy as np

ROWS, COLUMNS = 1000, 100
TARGET = 1.0  # x NumPy


def seed_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, w and y (0.0 or 1.0), float64."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((ROWS, COLUMNS))
    w = rng.standard_normal(COLUMNS) * 0.1
    y = (rng.random(ROWS) > 0.5).astype(np.float64)
    return X, w, y


def numpy_loss_and_gradient(X, w, y):
    mu = 1.0 / (1.0 + np.exp(-(X @ w)))
    loss = -(y * np.log(mu) + (1 - y) * np.log(1 - mu)).sum()
    return loss, (mu - y) @ X


def arignote_function():
    import arignote
    import arignote.tensor as T
    from arignote.tensor.nnet import sigmoid

    X, y, w = T.matrix("X"), T.vector("y"), T.vector("w")
    mu = sigmoid(X.dot(w))
    loss = -(y * T.log(mu) + (1 - y) * T.log(1 - mu)).sum()
    function = arignote.function([X, w, y], [loss, T.grad(loss, w)])
    return function


def jax_function(jax):
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def loss(w, X, y):
        mu = jax.nn.sigmoid(X @ w)
        return -(y * jnp.log(mu) + (1 - y) * jnp.log(1 - mu)).sum()

    both = jax.jit(jax.value_and_grad(loss))
    return lambda X, w, y: jax.block_until_ready(both(w, X, y))


def pytensor_function(pytensor):
    import pytensor.tensor as pt

    X, y, w = pt.dmatrix("X"), pt.dvector("y"), pt.dvector("w")
    mu = pt.sigmoid(X @ w)
    loss = -(y * pt.log(mu) + (1 - y) * pt.log(1 - mu)).sum()
    return pytensor.function([X, w, y], [loss, pytensor.grad(loss, w)], mode="NUMBA")


def torch_function(torch, compile_loss: bool = False):
    def loss(X, w, y):
        mu = torch.sigmoid(X @ w)
        return -(y * torch.log(mu) + (1 - y) * torch.log(1 - mu)).sum()

    if compile_loss:
        loss = torch.compile(loss)

    def both(X, w, y):
        w = w.detach().requires_grad_(True)
        value = loss(X, w, y)
        value.backward()
        return value.detach(), w.grad

    return both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=15, help="blocks per system")
    parser.add_argument("--block-seconds", type=float, default=0.3)
    parser.add_argument(
        "--torch-compile", action="store_true", help="add torch.compile (minutes to compile)"
    )
    parser.add_argument("--quick", action="store_true", help="3 short blocks: a smoke run")
    options = parser.parse_args()
    if options.quick:
        options.blocks, options.block_seconds = 3, 0.05
    modules = {name: harness.load(name) for name in harness.COMPETITORS}
    print(harness.describe_machine(modules))

    X, w, y = seed_data()
    expected = numpy_loss_and_gradient(X, w, y)

    makers = {
        "numpy": lambda: functools.partial(numpy_loss_and_gradient, X, w, y),
        "arignote": lambda: functools.partial(arignote_function(), X, w, y),
    }
    jax, pytensor, torch = modules["jax"], modules["pytensor"], modules["torch"]
    if jax is not None:
        makers["jax jit"] = lambda: functools.partial(jax_function(jax), X, w, y)
    if pytensor is not None:
        makers["pytensor numba"] = lambda: functools.partial(pytensor_function(pytensor), X, w, y)
    if torch is not None:
        tensors = [torch.from_numpy(a) for a in (X, w, y)]
        makers["torch eager"] = lambda: functools.partial(torch_function(torch), *tensors)
        if options.torch_compile:
            makers["torch.compile"] = lambda: functools.partial(
                torch_function(torch, compile_loss=True), *tensors
            )
    systems, notes = {}, {}
    for name, make in makers.items():
        began = time.perf_counter()
        try:
            call = make()
            got = [np.asarray(value) for value in call()]
        except Exception as exc:  # noqa: BLE001  (a competitor that fails is reported, skipped)
            print(f"note: {name} is skipped: {type(exc).__name__}: {exc}".splitlines()[0])
            continue
        notes[name] = f"setup+first call {time.perf_counter() - began:.1f} s (caches as found)"
        for position, (value, reference) in enumerate(zip(got, expected)):
            np.testing.assert_allclose(
                value, reference, rtol=1e-9, atol=1e-9, err_msg=f"{name}, output {position}"
            )
        systems[name] = call
    print(f"results agree with NumPy (rtol 1e-9) for: {', '.join(systems)}")
    print(harness.report_summary(systems["arignote"].func))

    timings = harness.alternate(systems, options.blocks, options.block_seconds)
    rows = harness.timing_rows(
        "seed E+grad, per call",
        f"X {ROWS}x{COLUMNS} float64",
        timings,
        {"arignote": f"<= {TARGET:.2f}x NumPy"},
        notes,
    )
    print(f"\nmedian of {options.blocks} blocks of {options.block_seconds} s, systems alternating")
    harness.print_table(rows)
    ratio = timings["arignote"].median / timings["numpy"].median
    print(harness.verdict("target (median)", ratio, TARGET, "x NumPy"))
    best_ratio = timings["arignote"].best / timings["numpy"].best
    print(harness.verdict("target (best blocks)", best_ratio, TARGET, "x NumPy"))


if __name__ == "__main__":
    main()
