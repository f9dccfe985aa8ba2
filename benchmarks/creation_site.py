"""What recording each node's creation site costs when a graph is built.

Builds a 100,000-node elementwise chain with the site recorded (as always) and with
the recording replaced by a no-op, alternating, in CPU seconds of this process; the
issue's limit is 20% slower.

    python benchmarks/creation_site.py
"""

from __future__ import annotations

import statistics
import time

import arignote.graph.basic as graph_basic
import arignote.tensor as T

LAYERS = 50_000  # two nodes each: tanh, then the product with a constant


def build() -> float:
    start = time.process_time()
    h = T.dvector("x")
    for _ in range(LAYERS):
        h = T.tanh(h) * 2.0
    return time.process_time() - start


def main() -> None:
    recording = graph_basic.user_creation_site
    times: dict[str, list[float]] = {"recorded": [], "not recorded": []}
    for _ in range(3):
        graph_basic.user_creation_site = recording
        times["recorded"].append(build())
        graph_basic.user_creation_site = lambda: None
        times["not recorded"].append(build())
    graph_basic.user_creation_site = recording
    with_site, without = (statistics.median(times[k]) for k in ("recorded", "not recorded"))
    print(f"{2 * LAYERS} nodes, median of 3 alternated builds, CPU seconds")
    print(f"  sites recorded     {with_site:.2f} s")
    print(f"  sites not recorded {without:.2f} s")
    print(f"  cost of recording  {100 * (with_site / without - 1):+.0f}% (limit +20%)")


if __name__ == "__main__":
    main()
