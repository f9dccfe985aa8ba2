"""Compile time against graph size: deep tanh MLPs with their gradients.

Each case is an MLP of ``depth`` layers ``h = tanh(h.dot(W) + b)`` on a
matrix input, a squared-error cost, and the gradients of the cost with
respect to every ``W`` and ``b`` (all inputs of the function). What
``function()`` does to it is timed in three steps, on a fresh copy each
repeat:

- graph building: the ``FunctionGraph`` clone that ``function()`` makes;
- rewriting: ``mode.rewrite(fgraph)`` (FAST_RUN unless ``--mode``);
- linking: ``mode.linker.make_program(fgraph)``;

and ``function()`` as a whole once. Times are CPU seconds of this process
(``time.process_time``: other processes on a shared machine do not count),
the median of ``--repeats`` runs for graphs under 20,000 nodes, one run
above. ``nodes`` counts Apply nodes before rewriting. The issue's target:
rewriting costs at most 3x per node at 100,000 nodes what it costs at 1,000.
``Mode.rewrite`` holds Python's cyclic garbage collector off; ``gc s`` is a
full collection right after it (what the rewriting deferred, plus a walk of
everything alive), and ``+gc`` the cost per node with it included.

    python benchmarks/rewrite_scaling.py                 # the table
    python benchmarks/rewrite_scaling.py --profile       # and cProfile of the biggest case
    python benchmarks/rewrite_scaling.py --depths 66 666
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import arignote
import arignote.tensor as T
from arignote.compile.mode import get_mode
from arignote.gradient import grad
from arignote.graph.basic import Variable
from arignote.graph.fg import FunctionGraph

# About 15 nodes per layer: these give graphs of about 1,000 to 100,000 nodes.
DEFAULT_DEPTHS = (66, 200, 666, 2000, 6666)
SMALL_GRAPH = 20_000  # nodes: below this, take the median of the repeats


def mlp_with_gradients(depth: int) -> tuple[list[Variable], list[Variable]]:
    """Inputs ``[X, y, W0, b0, W1, b1, ...]`` and outputs ``[cost, dW0, db0, ...]``."""
    x, y = T.matrix("X"), T.matrix("y")
    params: list[Variable] = []
    hidden = x
    for layer in range(depth):
        weights, bias = T.matrix(f"W{layer}"), T.vector(f"b{layer}")
        params += [weights, bias]
        hidden = T.tanh(hidden.dot(weights) + bias)
    cost = ((hidden - y) ** 2).mean()
    return [x, y, *params], [cost, *grad(cost, params)]


def timed(step: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``step(*args)`` and the CPU seconds it took."""
    start = time.process_time()
    result = step(*args)
    return result, time.process_time() - start


def measure(depth: int, mode_name: str, repeats: int) -> dict[str, float]:
    inputs, outputs = mlp_with_gradients(depth)
    mode = get_mode(mode_name)
    nodes = len(FunctionGraph(inputs, outputs).apply_nodes)
    runs = repeats if nodes < SMALL_GRAPH else 1
    clone_s, rewrite_s, gc_s, link_s = [], [], [], []
    for _ in range(runs):
        fgraph, seconds = timed(FunctionGraph, inputs, outputs)
        clone_s.append(seconds)
        rewrite_s.append(timed(mode.rewrite, fgraph)[1])
        gc_s.append(timed(gc.collect)[1])
        link_s.append(timed(mode.linker.make_program, fgraph)[1])
    _, total = timed(arignote.function, inputs, outputs, mode)
    return {
        "depth": depth,
        "nodes": nodes,
        "after": len(fgraph.apply_nodes),
        "clone": statistics.median(clone_s),
        "rewrite": statistics.median(rewrite_s),
        "gc": statistics.median(gc_s),
        "link": statistics.median(link_s),
        "function": total,
    }


def thread_settings() -> str:
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    threads = ", ".join(f"{name}={os.environ.get(name, 'unset')}" for name in names)
    return (
        f"Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} CPUs; "
        f"{threads} (rewriting is single-threaded Python)"
    )


def print_table(rows: list[dict[str, float]]) -> None:
    base = rows[0]["rewrite"] / rows[0]["nodes"]
    base_gc = (rows[0]["rewrite"] + rows[0]["gc"]) / rows[0]["nodes"]
    print(
        f"{'depth':>6} {'nodes':>7} {'after':>7} {'clone s':>8} {'rewrite s':>9} "
        f"{'us/node':>8} {'ratio':>6} {'gc s':>6} {'+gc us/node':>11} {'ratio':>6} "
        f"{'link s':>7} {'function() s':>12}"
    )
    for row in rows:
        per_node = row["rewrite"] / row["nodes"]
        with_gc = (row["rewrite"] + row["gc"]) / row["nodes"]
        print(
            f"{row['depth']:>6} {row['nodes']:>7} {row['after']:>7} {row['clone']:>8.3f} "
            f"{row['rewrite']:>9.3f} {per_node * 1e6:>8.1f} {per_node / base:>6.2f} "
            f"{row['gc']:>6.3f} {with_gc * 1e6:>11.1f} {with_gc / base_gc:>6.2f} "
            f"{row['link']:>7.3f} {row['function']:>12.3f}"
        )


def profile_rewrite(depth: int, mode_name: str, lines: int) -> None:
    inputs, outputs = mlp_with_gradients(depth)
    fgraph = FunctionGraph(inputs, outputs)
    mode = get_mode(mode_name)
    profiler = cProfile.Profile()
    profiler.runcall(mode.rewrite, fgraph)
    print(f"\ncProfile of rewriting depth {depth} (top {lines} by own time):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=list(DEFAULT_DEPTHS))
    parser.add_argument("--mode", default="FAST_RUN")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the biggest case")
    args = parser.parse_args()

    print(thread_settings())
    print(f"mode {args.mode}; CPU seconds; median of {args.repeats} below {SMALL_GRAPH} nodes")
    measure(min(args.depths), args.mode, 1)  # warm-up: imports, caches
    rows = [measure(depth, args.mode, args.repeats) for depth in sorted(args.depths)]
    print_table(rows)
    if args.profile:
        profile_rewrite(max(args.depths), args.mode, 25)


if __name__ == "__main__":
    main()
