"""What the comparison benchmarks share: thread settings, optional competitors, alternating
timing, and the table.

Import this module before NumPy: it pins every library to one thread unless the environment
already says otherwise (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``;
``XLA_FLAGS`` for JAX; PyTorch follows ``OMP_NUM_THREADS``), because the BLAS and XLA read
their thread counts when they load. The issue's anchors were measured on one pinned core.

Timing: every system runs a block of calls in turn (A, B, C, A, B, C, ...), so that load from
other processes hits each alike; a system's time per call is the median over its blocks, and
ratios are against NumPy's median from the same run. The number of calls in a block is chosen
once from NumPy's time so that a block lasts about ``block_seconds``.
"""

from __future__ import annotations

import importlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _name in THREAD_VARIABLES:
    os.environ.setdefault(_name, "1")
if os.environ["OMP_NUM_THREADS"] == "1":
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )

import numpy as np  # after the thread settings

COMPETITORS = ("jax", "pytensor", "torch")


def load(name: str) -> ModuleType | None:
    """The competitor module, or None (and a note) when it is not installed or fails to load."""
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001  (a broken install is skipped like a missing one)
        print(f"note: {name} is skipped: {type(exc).__name__}: {exc}".splitlines()[0])
        return None
    if name == "torch":
        module.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    return module


def describe_machine(modules: dict[str, ModuleType | None]) -> str:
    """Versions and thread settings: the numbers mean little without them."""
    import arignote
    from arignote.config import config

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    load_average = " ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        (
            f"{platform.machine()}, {os.cpu_count()} cores ({usable} usable), load average "
            f"{load_average}; Python {platform.python_version()}, NumPy {np.__version__}, "
            f"arignote {arignote.__version__} (linker {config.linker}, openmp_threads "
            f"{config.openmp_threads})"
        ),
        "threads: "
        + ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in THREAD_VARIABLES)
        + f", XLA_FLAGS={os.environ.get('XLA_FLAGS', 'unset')!r}",
    ]
    versions = []
    for name, module in modules.items():
        if module is None:
            versions.append(f"{name}: not installed")
        elif name == "torch":
            versions.append(f"torch {module.__version__} ({module.get_num_threads()} threads)")
        elif name == "pytensor":
            import numba

            versions.append(f"pytensor {module.__version__} (numba {numba.__version__})")
        else:
            versions.append(f"{name} {module.__version__}")
    if versions:
        lines.append("competitors: " + ", ".join(versions))
    return "\n".join(lines)


def block_seconds_per_call(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


@dataclass(frozen=True)
class Timing:
    """Seconds per call: the median over blocks (what ratios use) and the best block (less
    sensitive to other processes' load on a shared machine)."""

    median: float
    best: float


def alternate(
    systems: dict[str, Callable[[], object]], blocks: int, block_seconds: float
) -> dict[str, Timing]:
    """Seconds per call of each system, over ``blocks`` blocks run in turn.

    The first system is the reference: it sets the calls per block. Every system is called
    once before timing (warm caches, lazy compilation).
    """
    for call in systems.values():
        call()
    reference = next(iter(systems.values()))
    once = min(block_seconds_per_call(reference, 1) for _ in range(5))
    calls = max(1, int(block_seconds / max(once, 1e-7)))
    times: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(blocks):
        for name, call in systems.items():
            times[name].append(block_seconds_per_call(call, calls))
    return {name: Timing(statistics.median(t), min(t)) for name, t in times.items()}


@dataclass
class Row:
    benchmark: str
    size: str
    system: str
    seconds: float | None  # the median; None: not measured (the note says why)
    ratio: float | None = None  # to NumPy, measured in the same run
    best: float | None = None  # the best block, where there are blocks
    target: str = ""
    note: str = ""


def report_summary(function) -> str:
    """The first line of an arignote function's linker report and its perform fallbacks."""
    report = function.program.report
    lines = str(report).splitlines()[:1]
    lines += [f"  fallback: {n.node[:100]} ({n.detail})" for n in report.fallbacks]
    return "\n".join(lines)


def timing_rows(
    benchmark: str,
    size: str,
    timings: dict[str, Timing],
    targets: dict[str, str],
    notes: dict[str, str],
) -> list[Row]:
    """One row per system; ratios against ``timings["numpy"]`` (medians, and best blocks)."""
    reference = timings["numpy"]
    return [
        Row(
            benchmark,
            size,
            name,
            timing.median,
            timing.median / reference.median,
            timing.best,
            targets.get(name, ""),
            "; ".join(
                filter(None, [f"best x NumPy {timing.best / reference.best:.2f}", notes.get(name)])
            ),
        )
        for name, timing in timings.items()
    ]


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds:.3f} s"


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'benchmark':<28} {'size':<26} {'system':<22} {'median':>11} {'x NumPy':>8} "
        f"{'best':>11}  "
        f"{'target':<26} note"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        print(
            f"{row.benchmark:<28} {row.size:<26} {row.system:<22} {format_time(row.seconds):>11} "
            f"{ratio:>8} {format_time(row.best):>11}  {row.target:<26} {row.note}"
        )
    sys.stdout.flush()


def verdict(label: str, measured: float, limit: float, unit: str = "") -> str:
    """``label: met`` or ``label: MISSED by N%`` (``measured`` against ``limit``)."""
    if measured <= limit:
        return f"{label}: met ({measured:.3g}{unit} <= {limit:.3g}{unit})"
    return (
        f"{label}: MISSED by {(measured / limit - 1) * 100:.1f}% "
        f"({measured:.3g}{unit} > {limit:.3g}{unit})"
    )
