"""Convolution speed: forward and forward+backward of LeNet- and ResNet-size layers, beside PyTorch.

Layers (issue 8): LeNet's first (batch 64, 1 -> 20 channels, 5x5 filters on
28x28) and second (20 -> 50 channels, 5x5 on the pooled 12x12) layers, and a
ResNet layer (batch 32, 64 -> 64 channels, 3x3 filters on 56x56, padding 1).
"forward+backward" computes the output and the gradients with respect to
the input and the filters for an output gradient of ones.

Each layer runs through a compiled ``arignote.function`` (the default
``FAST_RUN``: the jit backend when a C compiler is found) and, when
``import torch`` works, through ``torch.nn.functional.conv2d`` on the CPU with
the same data, dtype and thread count. Both results are checked equal first
(else the timings compare nothing). Calls alternate, arignote then PyTorch,
so that load from other processes hits both alike; each time is the median
of ``--repeat`` calls after a warm-up; the ratio is arignote's median over
PyTorch's (the issue's target: at most 1.5).

Thread counts are pinned per table: each count runs in a child process whose
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` are set before
NumPy or PyTorch load (BLAS libraries read them once), with
``torch.set_num_threads`` and arignote's ``openmp_threads`` set alike. Each
table first prints the GFLOP/s of a plain NumPy GEMM at its thread count: on
a machine whose cores other processes keep busy, OpenBLAS's threads (which
busy-wait for each other) can fall from ~90 GFLOP/s to a few, and then so
does every BLAS-based convolution.

    python benchmarks/conv.py [--threads 1,2] [--dtypes float32,float64] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# (name, input shape, filter shape, padding)
LAYERS = [
    ("LeNet conv1  64x1x28x28 * 20x1x5x5", (64, 1, 28, 28), (20, 1, 5, 5), 0),
    ("LeNet conv2  64x20x12x12 * 50x20x5x5", (64, 20, 12, 12), (50, 20, 5, 5), 0),
    ("ResNet 3x3   32x64x56x56 * 64x64x3x3", (32, 64, 56, 56), (64, 64, 3, 3), 1),
]


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="thread counts, one table each")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--repeat", type=int, default=10, help="timed calls per measurement")
    parser.add_argument("--table", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_arguments()
    if args.table is not None:
        table(args.table, args.dtypes.split(","), args.repeat)
        return
    for threads in (int(t) for t in args.threads.split(",")):
        environment = dict(os.environ, **{name: str(threads) for name in THREAD_VARIABLES})
        command = [sys.executable, __file__, "--table", str(threads)]
        command += ["--dtypes", args.dtypes, "--repeat", str(args.repeat)]
        subprocess.run(command, env=environment, check=True)


def table(threads: int, dtypes: list[str], repeat: int) -> None:
    """One table: every layer, dtype and pass on ``threads`` threads (set in the environment)."""
    import numpy as np

    import arignote
    from arignote.config import config

    config.openmp_threads = threads
    try:
        import torch
    except ImportError:
        torch = None
    print(
        f"\n== {threads} thread(s): {', '.join(f'{v}={os.environ[v]}' for v in THREAD_VARIABLES)}"
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"NumPy {np.__version__}, BLAS: {blas_threads(np)}; median of {repeat} calls; "
        f"{os.cpu_count()} cores, load average {load} (other processes share the cores)"
    )
    print(f"NumPy's own GEMM here: {gemm_rate(np):.0f} GFLOP/s (float32 64x576 @ 576x3136)")
    if torch is not None:
        torch.set_num_threads(threads)
        print(
            f"PyTorch {torch.__version__}, threads: {torch.get_num_threads()}, mkldnn: "
            f"{torch.backends.mkldnn.is_available()}"
        )
    else:
        print("PyTorch is not installed: arignote's times only")
    header = f"{'layer':<38} {'dtype':<8} {'pass':<17} {'arignote ms':>11}"
    print(header + (f" {'torch ms':>9} {'ratio':>6}" if torch is not None else ""))
    rng = np.random.default_rng(0)
    for dtype in dtypes:
        for name, image_shape, filter_shape, pad in LAYERS:
            image = rng.standard_normal(image_shape).astype(dtype)
            scale = np.sqrt(np.prod(filter_shape[1:]))
            filters = (rng.standard_normal(filter_shape) / scale).astype(dtype)
            ours = arignote_calls(arignote, image, filters, pad)
            theirs = torch_calls(torch, image, filters, pad) if torch is not None else None
            if theirs is not None:
                check_agreement(np, ours, theirs, dtype)
            for index, label in enumerate(("forward", "forward+backward")):
                calls = [ours[index]] + ([theirs[index]] if theirs is not None else [])
                medians = alternating_medians(np, calls, repeat)
                line = f"{name:<38} {dtype:<8} {label:<17} {medians[0] * 1e3:>11.2f}"
                if theirs is not None:
                    line += f" {medians[1] * 1e3:>9.2f} {medians[0] / medians[1]:>6.2f}"
                print(line, flush=True)


def gemm_rate(np) -> float:
    """GFLOP/s of one plain ``A @ B`` of the ResNet layer's size (the median of 9): what the
    BLAS gives at this thread count on this machine now, whatever the convolution code does."""
    a = np.ones((64, 576), "float32")
    b = np.ones((576, 3136), "float32")
    (seconds,) = alternating_medians(np, [lambda: a @ b], 9)
    return 2 * 64 * 576 * 3136 / seconds / 1e9


def alternating_medians(np, calls, repeat: int) -> list[float]:
    """The median time of each call, the calls taking turns (after one warm-up each)."""
    times = [[] for _ in calls]
    for call in calls:
        call()
    for _ in range(repeat):
        for call, spent in zip(calls, times):
            start = time.perf_counter()
            call()
            spent.append(time.perf_counter() - start)
    return [float(np.median(spent)) for spent in times]


def arignote_calls(arignote, image, filters, pad):
    import arignote.tensor as T
    from arignote.tensor.nnet import conv2d

    x = T.tensor(dtype=image.dtype, shape=(None,) * 4, name="x")
    w = T.tensor(dtype=filters.dtype, shape=(None,) * 4, name="w")
    # PyTorch's conv2d is a cross-correlation: filter_flip=False computes the same thing.
    y = conv2d(x, w, border_mode=pad, filter_flip=False)
    g_x, g_w = arignote.grad(y.sum(), [x, w])
    forward = arignote.function([x, w], y)
    backward = arignote.function([x, w], [y, g_x, g_w])
    return (lambda: forward(image, filters)), (lambda: backward(image, filters))


def torch_calls(torch, image, filters, pad):
    x = torch.from_numpy(image).requires_grad_(True)
    w = torch.from_numpy(filters).requires_grad_(True)

    def forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(x, w, padding=pad)

    def backward():
        x.grad = w.grad = None
        y = torch.nn.functional.conv2d(x, w, padding=pad)
        y.backward(torch.ones_like(y))
        return y, x.grad, w.grad

    return forward, backward


def check_agreement(np, ours, theirs, dtype) -> None:
    """Both libraries compute the same output and gradients."""
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    got = [ours[0](), *ours[1]()[1:]]
    expected = [t.detach().numpy() for t in theirs[1]()]
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, reference, rtol=tolerance, atol=tolerance)


def blas_threads(np) -> str:
    """The BLAS's own report of its threads (NumPy's bundled OpenBLAS), else what was asked."""
    import ctypes
    import glob

    libraries = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*blas*"))
    for path in libraries:
        library = ctypes.CDLL(path)
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                threads = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
                corename = getattr(library, f"{prefix}_get_corename{suffix}", None)
                if threads is not None and corename is not None:
                    corename.restype = ctypes.c_char_p
                    return f"OpenBLAS, {corename().decode()} kernels, {threads()} thread(s)"
    return f"{os.environ['OPENBLAS_NUM_THREADS']} thread(s) requested"


if __name__ == "__main__":
    main()
