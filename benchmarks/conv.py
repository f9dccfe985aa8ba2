"""Convolution speed: forward and forward+backward of LeNet- and ResNet-size layers.

Layers (issue 8): LeNet's first (batch 64, 1 -> 20 channels, 5x5 filters on
28x28) and second (20 -> 50 channels, 5x5 on the pooled 12x12) layers, and a
ResNet layer (batch 32, 64 -> 64 channels, 3x3 filters on 56x56, padding 1).
"forward+backward" computes the output and the gradients with respect to
the input and the filters for an output gradient of ones.

Each layer runs through a compiled ``arignote.function`` and, when
``import torch`` works, beside ``torch.nn.functional.conv2d`` on the CPU
with the same data, dtype and thread count; the ratio column is arignote's
time over PyTorch's (the issue's target: at most 1.5). Thread counts are set
before NumPy loads (``--threads``, default: every core) and reported.

    python benchmarks/conv.py [--threads N] [--dtype float32] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--repeat", type=int, default=10, help="timed calls per measurement")
    return parser.parse_args()


# The BLAS reads its thread count when it loads: set it before NumPy is imported.
ARGUMENTS = parse_arguments()
for _name in THREAD_VARIABLES:
    os.environ[_name] = str(ARGUMENTS.threads)

import numpy as np

import arignote
import arignote.tensor as T
from arignote.tensor.nnet import conv2d

# (name, input shape, filter shape, border mode)
LAYERS = [
    ("LeNet conv1  64x1x28x28 * 20x1x5x5", (64, 1, 28, 28), (20, 1, 5, 5), 0),
    ("LeNet conv2  64x20x12x12 * 50x20x5x5", (64, 20, 12, 12), (50, 20, 5, 5), 0),
    ("ResNet 3x3   32x64x56x56 * 64x64x3x3", (32, 64, 56, 56), (64, 64, 3, 3), 1),
]


def median_seconds(call, repeat: int) -> float:
    """The median of ``repeat`` timed calls, after one untimed warm-up call."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def arignote_calls(image, filters, pad):
    x = T.tensor(dtype=image.dtype, shape=(None,) * 4, name="x")
    w = T.tensor(dtype=filters.dtype, shape=(None,) * 4, name="w")
    # PyTorch's conv2d is a cross-correlation: filter_flip=False computes the same thing.
    y = conv2d(x, w, border_mode=pad, filter_flip=False)
    g_x, g_w = arignote.grad(y.sum(), [x, w])
    forward = arignote.function([x, w], y)
    backward = arignote.function([x, w], [y, g_x, g_w])
    return (lambda: forward(image, filters)), (lambda: backward(image, filters)), forward, backward


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


def blas_threads() -> str:
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
                    return f"{threads()} (OpenBLAS, {corename().decode()} kernels)"
    return f"{os.environ['OPENBLAS_NUM_THREADS']} requested through {', '.join(THREAD_VARIABLES)}"


def main():
    args = ARGUMENTS
    try:
        import torch
    except ImportError:
        torch = None
    print(
        f"NumPy {np.__version__}, BLAS threads: {blas_threads()}; dtype {args.dtype}; "
        f"median of {args.repeat} calls; {os.cpu_count()} cores"
    )
    if torch is not None:
        torch.set_num_threads(args.threads)
        print(f"PyTorch {torch.__version__}, threads: {torch.get_num_threads()}")
    else:
        print("PyTorch is not installed: arignote's times only")
    rng = np.random.default_rng(0)
    header = f"{'layer':<40} {'pass':<17} {'arignote ms':>11}"
    print(header + (f" {'torch ms':>9} {'ratio':>6}" if torch is not None else ""))
    for name, image_shape, filter_shape, pad in LAYERS:
        image = rng.standard_normal(image_shape).astype(args.dtype)
        filters = (rng.standard_normal(filter_shape) / np.sqrt(np.prod(filter_shape[1:]))).astype(
            args.dtype
        )
        ours_forward, ours_backward, forward, backward = arignote_calls(image, filters, pad)
        calls = [("forward", ours_forward), ("forward+backward", ours_backward)]
        if torch is not None:
            theirs = torch_calls(torch, image, filters, pad)
            check_agreement(forward, backward, theirs, image, filters, args.dtype)
        for index, (label, ours) in enumerate(calls):
            seconds = median_seconds(ours, args.repeat)
            line = f"{name:<40} {label:<17} {seconds * 1e3:>11.2f}"
            if torch is not None:
                reference = median_seconds(theirs[index], args.repeat)
                line += f" {reference * 1e3:>9.2f} {seconds / reference:>6.2f}"
            print(line)
            sys.stdout.flush()


def check_agreement(forward, backward, theirs, image, filters, dtype):
    """The two libraries compute the same numbers (else the timings compare nothing)."""
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    ours = backward(image, filters)
    reference = [t.detach().numpy() for t in theirs[1]()]
    for got, expected in zip([forward(image, filters), *ours[1:]], reference):
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


if __name__ == "__main__":
    main()
