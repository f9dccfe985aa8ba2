"""The MLP step's matrix products alone: NumPy's BLAS (the one arignote calls) against XLA's.

The MLP benchmark's gap to JAX is in these products; this shows it without the rest of
the step. float32, one thread each (set the thread variables before running), medians
of 7 blocks of 50 products, alternating.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/gemm.py
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

PRODUCTS = {  # name in the step: (left shape, right shape)
    "X @ W1 (forward)": ((128, 784), (784, 500)),
    "X.T @ dh (W1's gradient)": ((784, 128), (128, 500)),
    "h @ W2": ((128, 500), (500, 10)),
}


def per_call(function, left, right, block: int = 50) -> float:
    start = time.perf_counter()
    for _ in range(block):
        function(left, right)
    return (time.perf_counter() - start) / block


def main() -> None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        jax = None
    rng = np.random.default_rng(0)
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, NumPy {np.__version__}")
    for name, (left_shape, right_shape) in PRODUCTS.items():
        left = rng.standard_normal(left_shape).astype("float32")
        right = rng.standard_normal(right_shape).astype("float32")
        systems = {"numpy": (np.matmul, left, right)}
        if jax is not None:
            product = jax.jit(jnp.matmul)
            args = (jnp.asarray(left), jnp.asarray(right))
            product(*args).block_until_ready()
            systems["jax"] = (lambda a, b: product(a, b).block_until_ready(), *args)
        times: dict[str, list[float]] = {system: [] for system in systems}
        for _ in range(7):
            for system, (function, a, b) in systems.items():
                times[system].append(per_call(function, a, b))
        row = ", ".join(f"{s} {statistics.median(t) * 1e3:.3f} ms" for s, t in times.items())
        print(f"{name:26s} {row}")


if __name__ == "__main__":
    main()
