"""One SGD step of an MLP 784-500-10 (tanh hidden layer, softmax output, cross-entropy on
one-hot targets), batch 128, float32, parameters updated in place.

Systems: NumPy written by hand (forward, backward and ``-=`` updates: the ratio's reference),
arignote (shared variables and ``updates``, default mode FAST_RUN), JAX (``jit`` of
``value_and_grad`` and the update, parameters donated), PyTorch eager (autograd, updates by
``torch._foreach_add_``), torch.compile (the loss compiled, backward through its compiled
graph, the same in-place update), PyTensor (shared variables and updates, NUMBA mode). Each
system starts from the same parameters and its first step must match NumPy's (loss, and the
change of every parameter) before it is timed. The issue's target: arignote at most JAX's time.

    python benchmarks/mlp_step.py                 # about 1.5 minutes (torch.compile, numba)
    python benchmarks/mlp_step.py --quick         # a smoke run, without torch.compile
    python benchmarks/mlp_step.py --no-compile    # skip torch.compile
"""

from __future__ import annotations

import argparse
import time

import harness  # first: thread settings before NumPy loads
import numpy as np

BATCH, INPUTS, HIDDEN, CLASSES = 128, 784, 500, 10
DTYPE = np.float32
LEARNING_RATE = DTYPE(0.01)
NAMES = ("W1", "b1", "W2", "b2")


def initial_parameters() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [
        (rng.standard_normal((INPUTS, HIDDEN)) / np.sqrt(INPUTS)).astype(DTYPE),
        np.zeros(HIDDEN, DTYPE),
        (rng.standard_normal((HIDDEN, CLASSES)) / np.sqrt(HIDDEN)).astype(DTYPE),
        np.zeros(CLASSES, DTYPE),
    ]


def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    X = rng.standard_normal((BATCH, INPUTS)).astype(DTYPE)
    Y = np.eye(CLASSES, dtype=DTYPE)[rng.integers(0, CLASSES, BATCH)]
    return X, Y


# Each maker returns (step, parameters): ``step()`` runs one SGD step and returns the loss;
# ``parameters()`` returns the current values as NumPy arrays. Arignote's adds its function.
def numpy_step(X, Y):
    params = initial_parameters()

    def step():
        W1, b1, W2, b2 = params
        h = np.tanh(X @ W1 + b1)
        z = h @ W2 + b2
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(Y * log_p).sum(axis=1).mean()
        dz = (np.exp(log_p) - Y) / DTYPE(BATCH)
        dh = (dz @ W2.T) * (1 - h * h)
        W2 -= LEARNING_RATE * (h.T @ dz)
        b2 -= LEARNING_RATE * dz.sum(axis=0)
        W1 -= LEARNING_RATE * (X.T @ dh)
        b1 -= LEARNING_RATE * dh.sum(axis=0)
        return loss

    return step, lambda: params


def arignote_step(X, Y):
    import arignote
    import arignote.tensor as T
    from arignote.tensor.nnet import softmax

    params = [arignote.shared(v, name=n) for v, n in zip(initial_parameters(), NAMES)]
    W1, b1, W2, b2 = params
    x, y = T.matrix("X", dtype="float32"), T.matrix("Y", dtype="float32")
    probabilities = softmax(T.tanh(x.dot(W1) + b1).dot(W2) + b2)
    loss = -(y * T.log(probabilities)).sum(axis=1).mean()
    updates = [(p, p - LEARNING_RATE * g) for p, g in zip(params, T.grad(loss, params))]
    function = arignote.function([x, y], loss, updates=updates)
    return (lambda: function(X, Y)), lambda: [p.get_value() for p in params], function


def jax_step(jax, X, Y):
    import jax.numpy as jnp

    def loss(params, X, Y):
        W1, b1, W2, b2 = params
        log_p = jax.nn.log_softmax(jnp.tanh(X @ W1 + b1) @ W2 + b2)
        return -(Y * log_p).sum(axis=1).mean()

    def update(params, X, Y):
        value, grads = jax.value_and_grad(loss)(params, X, Y)
        return [p - LEARNING_RATE * g for p, g in zip(params, grads)], value

    compiled = jax.jit(update, donate_argnums=0)
    state = [[jnp.asarray(v) for v in initial_parameters()]]
    X, Y = jnp.asarray(X), jnp.asarray(Y)

    def step():
        state[0], value = compiled(state[0], X, Y)
        return jax.block_until_ready(value)

    return step, lambda: [np.asarray(p) for p in state[0]]


def torch_step(torch, X, Y, compile_loss: bool):
    params = [torch.from_numpy(v).requires_grad_(True) for v in initial_parameters()]
    X, Y = torch.from_numpy(X), torch.from_numpy(Y)

    def loss(W1, b1, W2, b2, X, Y):
        log_p = torch.log_softmax(torch.tanh(X @ W1 + b1) @ W2 + b2, dim=1)
        return -(Y * log_p).sum(dim=1).mean()

    if compile_loss:
        loss = torch.compile(loss)

    def step():
        for p in params:
            p.grad = None
        value = loss(*params, X, Y)
        value.backward()
        with torch.no_grad():
            torch._foreach_add_(params, [p.grad for p in params], alpha=-float(LEARNING_RATE))
        return value.detach()

    return step, lambda: [p.detach().numpy().copy() for p in params]


def pytensor_step(pytensor, X, Y):
    import pytensor.tensor as pt

    params = [pytensor.shared(v, name=n) for v, n in zip(initial_parameters(), NAMES)]
    W1, b1, W2, b2 = params
    x, y = pt.matrix("X", dtype="float32"), pt.matrix("Y", dtype="float32")
    probabilities = pt.special.softmax(pt.tanh(x @ W1 + b1) @ W2 + b2, axis=1)
    loss = -(y * pt.log(probabilities)).sum(axis=1).mean()
    updates = [(p, p - LEARNING_RATE * g) for p, g in zip(params, pytensor.grad(loss, params))]
    function = pytensor.function([x, y], loss, updates=updates, mode="NUMBA")
    return (lambda: function(X, Y)), lambda: [p.get_value() for p in params]


def check_first_step(name, step, parameters, expected_loss, expected_change) -> None:
    """The system's first step gives NumPy's loss and changes each parameter as NumPy's does."""
    before = [np.array(p, copy=True) for p in parameters()]
    np.testing.assert_allclose(float(step()), expected_loss, rtol=1e-4, err_msg=f"{name}: loss")
    for label, old, new, change in zip(NAMES, before, parameters(), expected_change):
        scale = np.abs(change).max()
        np.testing.assert_allclose(
            new - old, change, rtol=1e-2, atol=1e-2 * scale, err_msg=f"{name}: change of {label}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=15, help="blocks per system")
    parser.add_argument("--block-seconds", type=float, default=0.3)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--quick", action="store_true", help="3 short blocks, no torch.compile")
    options = parser.parse_args()
    if options.quick:
        options.blocks, options.block_seconds, options.no_compile = 3, 0.05, True
    modules = {name: harness.load(name) for name in harness.COMPETITORS}
    print(harness.describe_machine(modules))

    X, Y = batch()
    reference, reference_parameters = numpy_step(X, Y)
    start = [p.copy() for p in reference_parameters()]
    expected_loss = float(reference())
    expected_change = [new - old for new, old in zip(reference_parameters(), start)]

    makers = {"numpy": lambda: numpy_step(X, Y), "arignote": lambda: arignote_step(X, Y)}
    jax, torch, pytensor = modules["jax"], modules["torch"], modules["pytensor"]
    if jax is not None:
        makers["jax jit (donated)"] = lambda: jax_step(jax, X, Y)
    if torch is not None:
        makers["torch eager"] = lambda: torch_step(torch, X, Y, compile_loss=False)
        if not options.no_compile:
            makers["torch.compile"] = lambda: torch_step(torch, X, Y, compile_loss=True)
    if pytensor is not None:
        makers["pytensor numba"] = lambda: pytensor_step(pytensor, X, Y)
    systems, notes = {}, {}
    for name, make in makers.items():
        began = time.perf_counter()
        try:
            step, parameters, *function = make()
            check_first_step(name, step, parameters, expected_loss, expected_change)
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001  (a competitor that fails is reported, not fatal)
            print(f"note: {name} is skipped: {type(exc).__name__}: {exc}".splitlines()[0])
            continue
        notes[name] = f"setup+first step {time.perf_counter() - began:.1f} s (caches as found)"
        systems[name] = step
        if function:
            print(harness.report_summary(function[0]))
    print(f"first steps agree with NumPy's for: {', '.join(systems)}")

    timings = harness.alternate(systems, options.blocks, options.block_seconds)
    jax_name = "jax jit (donated)"
    rows = harness.timing_rows(
        "MLP SGD step",
        f"784-500-10, batch {BATCH} f32",
        timings,
        {"arignote": "<= JAX's time"},
        notes,
    )
    print(f"\nmedian of {options.blocks} blocks of {options.block_seconds} s, systems alternating")
    harness.print_table(rows)
    if jax_name in timings:
        ours, theirs = timings["arignote"], timings[jax_name]
        print(
            harness.verdict("target (arignote / JAX, medians)", ours.median / theirs.median, 1, "x")
        )
        print(
            harness.verdict("target (arignote / JAX, best blocks)", ours.best / theirs.best, 1, "x")
        )
    else:
        print("target (at most JAX's time): not checked, JAX is not installed")


if __name__ == "__main__":
    main()
