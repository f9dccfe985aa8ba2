"""A vanilla tanh RNN with ``scan``: per-call time of the forward pass and of forward+gradient,
and compile time, beside NumPy's hand-written loop (and JAX's ``lax.scan`` under ``jit`` and
PyTensor's ``scan`` when they are installed; they are never installed by this script).

The RNN is ``h[t] = tanh(x[t] @ U + h[t-1] @ W + b)``, the cost ``mean(h ** 2)`` over
every step, the gradient with respect to ``W``, ``U``, ``b`` and ``h0``. Cases (the issue's):

- ``long``: T = 1000 steps, one sequence, hidden 8, float32;
- ``batch``: T = 100 steps, batch 32, hidden 128, float32.

Per-call times are the median of ``--repeats`` calls after a warm-up call, wall clock,
each system side by side in one run; ratios are against NumPy. The compile time is that
of building and compiling the forward+gradient function, loop bodies included, measured
in a fresh process with an empty kernel cache (a temporary ``compiledir``), after the
imports. Thread settings are printed first: the
numbers mean little without them.

    python benchmarks/rnn_scan.py
    python benchmarks/rnn_scan.py --cases batch --repeats 20
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

CASES = {"long": (1000, 1, 8), "batch": (100, 32, 128)}  # steps, batch, hidden
DTYPE = "float32"
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "XLA_FLAGS",
    "ARIGNOTE_FLAGS",
)


def case_data(name: str) -> dict[str, np.ndarray]:
    steps, batch, hidden = CASES[name]
    rng = np.random.default_rng(0)
    shape = (steps, hidden) if batch == 1 else (steps, batch, hidden)
    h0_shape = (hidden,) if batch == 1 else (batch, hidden)
    return {
        "x": rng.standard_normal(shape).astype(DTYPE),
        "h0": np.zeros(h0_shape, dtype=DTYPE),
        "w": (rng.standard_normal((hidden, hidden)) * 0.5 / np.sqrt(hidden)).astype(DTYPE),
        "u": (rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)).astype(DTYPE),
        "b": np.zeros(hidden, dtype=DTYPE),
    }


# ---- NumPy: the hand-written loop --------------------------------------------------------
def numpy_forward(x, h0, w, u, b):
    h, total = h0, 0.0
    for x_t in x:
        h = np.tanh(x_t @ u + h @ w + b)
        total += float((h * h).sum())
    return total / (x.size // x.shape[-1] * w.shape[0])


def numpy_forward_and_gradient(x, h0, w, u, b):
    states = np.empty((len(x) + 1,) + h0.shape, dtype=h0.dtype)
    states[0] = h0
    for t, x_t in enumerate(x):
        states[t + 1] = np.tanh(x_t @ u + states[t] @ w + b)
    scale = 2.0 / states[1:].size
    cost = float((states[1:] ** 2).sum()) / states[1:].size
    g_w, g_u, g_b = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
    carry = np.zeros_like(h0)
    for t in range(len(x) - 1, -1, -1):
        h = states[t + 1]
        d = (scale * h + carry) * (1 - h * h)
        g_w += np.outer(states[t], d) if d.ndim == 1 else states[t].T @ d
        g_u += np.outer(x[t], d) if d.ndim == 1 else x[t].T @ d
        g_b += d if d.ndim == 1 else d.sum(axis=0)
        carry = d @ w.T
    return cost, g_w, g_u, g_b, carry


# ---- Arignote ----------------------------------------------------------------------------------
def arignote_functions(name: str, forward: bool = True):
    """The compiled forward (None unless ``forward``) and forward+gradient functions."""
    import arignote
    import arignote.scan
    import arignote.tensor as T

    _, batch, hidden = CASES[name]
    x = T.tensor(DTYPE, shape=(None, hidden) if batch == 1 else (None, None, hidden), name="x")
    h0 = T.tensor(DTYPE, shape=(None,) * (1 if batch == 1 else 2), name="h0")
    w, u = T.tensor(DTYPE, shape=(None, None), name="w"), T.tensor(DTYPE, shape=(None, None))
    b = T.tensor(DTYPE, shape=(None,), name="b")
    states, _ = arignote.scan(
        lambda x_t, h, w, u, b: T.tanh(T.dot(x_t, u) + T.dot(h, w) + b),
        sequences=x,
        outputs_info=h0,
        non_sequences=[w, u, b],
    )
    cost = (states**2).mean()
    inputs = [x, h0, w, u, b]
    both = arignote.function(inputs, [cost, *arignote.grad(cost, [w, u, b, h0])])
    return (arignote.function(inputs, cost) if forward else None), both


def arignote_compile_seconds(name: str) -> float:
    """Building and compiling forward+gradient, the loop bodies included: a loop the jit
    linker compiled is in its report; one that runs its body per step in Python compiles
    that body on first use, so it is compiled here."""
    import arignote.scan
    import arignote.tensor.rewriting  # imports are not compile time

    start = time.perf_counter()
    both = arignote_functions(name, forward=False)[1]
    report = getattr(both.program, "report", None)
    kinds = {n.apply: n.kind for n in report.nodes} if report is not None else {}
    for node in both.maker.fgraph.toposort():
        if isinstance(node.op, arignote.scan.Scan) and kinds.get(node) != "kernel":
            node.op.program  # noqa: B018  (compiles the body)
    return time.perf_counter() - start


def fresh_process_compile(name: str) -> float:
    with tempfile.TemporaryDirectory() as cache:
        environment = dict(os.environ)
        flags = environment.get("ARIGNOTE_FLAGS", "")
        environment["ARIGNOTE_FLAGS"] = ",".join(filter(None, [flags, f"compiledir={cache}"]))
        output = subprocess.run(
            [sys.executable, __file__, "--compile-only", name],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return float(output.strip().splitlines()[-1])


# ---- JAX and PyTensor, when installed ---------------------------------------------------------
def jax_functions(name: str):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None

    def cost(params, x, h0):
        w, u, b = params

        def step(h, x_t):
            h = jnp.tanh(x_t @ u + h @ w + b)
            return h, h

        _, states = jax.lax.scan(step, h0, x)
        return jnp.mean(states**2)

    forward = jax.jit(cost)
    both = jax.jit(jax.value_and_grad(cost, argnums=(0, 2)))

    def run(function):
        def call(x, h0, w, u, b):
            result = function((w, u, b), x, h0)
            return jax.block_until_ready(result)

        return call

    return run(forward), run(both)


def pytensor_functions(name: str):
    try:
        import pytensor
        import pytensor.tensor as pt
    except ImportError:
        return None
    _, batch, hidden = CASES[name]
    x = pt.tensor("x", dtype=DTYPE, shape=(None, hidden) if batch == 1 else (None, None, hidden))
    h0 = pt.tensor("h0", dtype=DTYPE, shape=(None,) * (1 if batch == 1 else 2))
    w, u = pt.matrix("w", dtype=DTYPE), pt.matrix("u", dtype=DTYPE)
    b = pt.vector("b", dtype=DTYPE)
    states, _ = pytensor.scan(
        lambda x_t, h, w, u, b: pt.tanh(x_t @ u + h @ w + b),
        sequences=x,
        outputs_info=h0,
        non_sequences=[w, u, b],
    )
    cost = (states**2).mean()
    inputs = [x, h0, w, u, b]
    return (
        pytensor.function(inputs, cost),
        pytensor.function(inputs, [cost, *pytensor.grad(cost, [w, u, b, h0])]),
    )


# ---- measuring --------------------------------------------------------------------------------
def per_call(function: Callable, data: dict, repeats: int) -> float:
    function(*data.values())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*data.values())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _check_against_numpy(both: Callable, data: dict) -> None:
    """The compared functions compute the same numbers (float32 tolerance)."""
    expected = numpy_forward_and_gradient(*data.values())
    got = both(*data.values())
    for position, (a, b) in enumerate(zip(got, expected)):
        if not np.allclose(a, b, rtol=1e-3, atol=1e-5):
            raise SystemExit(f"arignote and NumPy disagree on output {position}")


def thread_report() -> list[str]:
    usable = len(os.sched_getaffinity(0))
    versions = f"python {platform.python_version()}, numpy {np.__version__}"
    lines = [f"{versions}, {os.cpu_count()} cores, {usable} usable by this process"]
    lines += [f"{v}={os.environ[v]}" for v in THREAD_VARIABLES if v in os.environ]
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            lines.append(f"{pool.get('internal_api')}: {pool.get('num_threads')} threads")
    except ImportError:
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        lines.append(
            f"numpy BLAS: {blas.get('name', '?')} (threadpoolctl not installed: thread "
            "counts not read)"
        )
    from arignote.config import config

    lines.append(
        f"arignote: mode {config.mode}, linker {config.linker}, "
        f"openmp_threads {config.openmp_threads} (0: all usable cores)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compile-only", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.compile_only:
        print(arignote_compile_seconds(options.compile_only))
        return
    print("\n".join(thread_report()))
    for name in options.cases:
        steps, batch, hidden = CASES[name]
        data = case_data(name)
        print(f"\n{name}: T={steps}, batch {batch}, hidden {hidden}, {DTYPE}")
        systems = {"numpy": (numpy_forward, numpy_forward_and_gradient)}
        systems["arignote"] = arignote_functions(name)
        _check_against_numpy(systems["arignote"][1], data)
        for label, make in (("jax", jax_functions), ("pytensor", pytensor_functions)):
            made = make(name)
            if made is None:
                print(f"  {label}: not installed")
            else:
                systems[label] = made
        baseline = None
        print(f"  {'':10s} {'forward':>12s} {'ratio':>7s} {'fwd+grad':>12s} {'ratio':>7s}")
        for label, (forward, both) in systems.items():
            times = (
                per_call(forward, data, options.repeats),
                per_call(both, data, options.repeats),
            )
            baseline = baseline or times
            print(
                f"  {label:10s} {times[0] * 1e3:10.2f}ms {times[0] / baseline[0]:6.2f}x "
                f"{times[1] * 1e3:10.2f}ms {times[1] / baseline[1]:6.2f}x"
            )
        seconds = fresh_process_compile(name)
        print(
            f"  arignote compile of forward+gradient (fresh process, empty cache): {seconds:.2f} s"
        )
    print("\nratios: per-call time over NumPy's (lower is faster)")


if __name__ == "__main__":
    main()
