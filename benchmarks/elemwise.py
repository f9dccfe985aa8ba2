"""The elementwise chain ``exp(-x**2)*sin(y) + tanh(x*y) - log1p(abs(x))`` on float64 vectors:
Arignote's fused C kernel (FAST_RUN, the jit linker) on 1 and 2 threads beside NumPy.

Each size runs blocks of calls in turn (NumPy, jit on 1 thread, jit on 2 threads, again and
again), so that load on the machine hits every system alike; the time of a call is the
median over blocks of the block's time per call, and ratios are against NumPy's median in
the same run. Results are checked against NumPy first. Thread settings are printed: the
numbers mean little without them.

    python benchmarks/elemwise.py
    python benchmarks/elemwise.py --sizes 100000 --blocks 21 --threads 1 2 4
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np


def numpy_chain(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.exp(-(x**2)) * np.sin(y) + np.tanh(x * y) - np.log1p(np.abs(x))


def arignote_chain(threads: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import arignote
    import arignote.tensor as T
    from arignote.config import config

    x, y = T.vector("x"), T.vector("y")
    chain = T.exp(-(x**2)) * T.sin(y) + T.tanh(x * y) - T.log1p(abs(x))
    with config.change_flags(openmp_threads=threads):
        function = arignote.function([x, y], chain, mode="FAST_RUN")
    report = function.program.report
    assert not report.fallbacks and len(report.nodes) == 1, str(report)
    return function


def block_time(function: Callable, arguments: tuple, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function(*arguments)
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**5, 10**7])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--blocks", type=int, default=11, help="blocks per system (odd)")
    parser.add_argument("--block-seconds", type=float, default=0.2)
    arguments = parser.parse_args()

    from arignote.config import config

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"NumPy {np.__version__}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"openmp_elemwise_minsize={config.openmp_elemwise_minsize}"
    )
    systems: dict[str, Callable] = {"numpy": numpy_chain}
    for threads in arguments.threads:
        systems[f"jit {threads} thread{'s' if threads > 1 else ''}"] = arignote_chain(threads)
    print(f"{'n':>10}  " + "  ".join(f"{name:>22}" for name in systems))
    for size in arguments.sizes:
        rng = np.random.default_rng(0)
        data = (rng.standard_normal(size), rng.standard_normal(size))
        expected = numpy_chain(*data)
        for name, function in systems.items():
            np.testing.assert_allclose(
                function(*data), expected, rtol=1e-10, atol=1e-12, err_msg=name
            )
        once = min(block_time(numpy_chain, data, 1) for _ in range(3))
        calls = max(1, int(arguments.block_seconds / once))
        times: dict[str, list[float]] = {name: [] for name in systems}
        for _ in range(arguments.blocks):
            for name, function in systems.items():
                times[name].append(block_time(function, data, calls))
        medians = {name: statistics.median(t) for name, t in times.items()}
        cells = [
            f"{medians[name] * 1e3:9.3f} ms ({medians[name] / medians['numpy']:5.2f}x)"
            for name in systems
        ]
        print(f"{size:>10}  " + "  ".join(f"{cell:>22}" for cell in cells))


if __name__ == "__main__":
    main()
