"""Convolutions on the jit linker (``arignote/link/c/lower_nnet.py``) against the reference.

Each case compiles a convolution, the gradients of a random linear cost
with respect to the input and the filters, and a second derivative, on the
jit linker (im2col/col2im or Winograd C kernels around BLAS) and on the
reference linker, and checks both against the direct NumPy/SciPy references
of ``tests/test_conv.py`` (written without im2col), and that Winograd ran
exactly where it applies (3x3 filters at unit stride). ``CHUNK_BYTES`` is shrunk
for some cases so that the batch is cut into several chunks with a partial
last one, the path the benchmark sizes never take. Also: the linker report
names the kernels, non-contiguous and mixed-dtype inputs, empty batches and
the run-time shape errors of ``perform``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.link.c import lower_nnet
from arignote.tensor.nnet import conv2d, conv3d
from arignote.tensor.nnet.abstract_conv import conv2d_grad_wrt_inputs
from tests.jit_support import requires_compiler
from tests.test_conv import (
    reference_conv,
    reference_grad_inputs,
    reference_grad_weights,
    reference_pads,
)

pytestmark = requires_compiler

JIT = Mode("jit", optimizer="fast_run", name="FAST_RUN")
PY = "FAST_COMPILE"  # the reference linker

# (name, image shape, filter shape, options of the reference; chunk bytes or None)
CASES = [
    ("valid", (3, 2, 7, 6), (4, 2, 3, 2), {}, None),
    ("full", (2, 3, 5, 6), (2, 3, 3, 3), {"border_mode": "full"}, None),
    (
        "half, stride",
        (2, 2, 7, 8),
        (3, 2, 3, 3),
        {"border_mode": "half", "subsample": (2, 3)},
        None,
    ),
    ("int pad, dilation", (2, 2, 9, 8), (3, 2, 3, 2), {"border_mode": 2, "dilation": (2, 3)}, None),
    (
        "asymmetric pads, stride, no flip",
        (2, 3, 7, 6),
        (2, 3, 3, 3),
        {"border_mode": ((1, 2), (0, 3)), "subsample": (2, 2), "flip": False},
        None,
    ),
    ("groups", (3, 4, 6, 6), (6, 2, 3, 3), {"groups": 2, "border_mode": 1}, None),
    ("pad wider than the image", (2, 1, 2, 3), (2, 1, 3, 2), {"border_mode": (3, 4)}, None),
    ("chunks of one image", (5, 2, 6, 5), (3, 2, 2, 2), {"border_mode": "half"}, 1),
    ("chunks of two, groups", (5, 4, 6, 5), (4, 2, 3, 2), {"groups": 2, "subsample": (2, 1)}, 700),
    ("3x3 valid, no flip", (3, 2, 9, 9), (2, 2, 3, 3), {"flip": False}, None),
    (
        "3x3 odd output, asymmetric pads",
        (2, 3, 6, 5),
        (4, 3, 3, 3),
        {"border_mode": ((2, 1), (0, 1))},
        None,
    ),
    (
        "3x3 image smaller than a tile, pad 3",
        (2, 2, 2, 3),
        (3, 2, 3, 3),
        {"border_mode": (3, 2)},
        None,
    ),
    (
        "3x3 chunks, groups",
        (5, 4, 5, 6),
        (6, 2, 3, 3),
        {"groups": 2, "border_mode": "half"},
        3000,
    ),
    (
        "3-d",
        (2, 2, 5, 4, 6),
        (3, 2, 2, 3, 2),
        {"border_mode": (1, 0, 2), "subsample": (1, 2, 1)},
        None,
    ),
    (
        "3-d dilated, groups, chunks",
        (3, 2, 6, 5, 5),
        (2, 1, 2, 2, 3),
        {"dilation": (2, 1, 2), "groups": 2, "border_mode": "full"},
        500,
    ),
]


def build(image_shape, params, dtype):
    """The convolution, the gradients of ``sum(y * r)`` and a second derivative."""
    convdim = len(image_shape) - 2
    x = T.tensor(dtype=dtype, shape=(None,) * (convdim + 2), name="x")
    w = T.tensor(dtype=dtype, shape=(None,) * (convdim + 2), name="w")
    r = T.tensor(dtype=dtype, shape=(None,) * (convdim + 2), name="r")
    options = {
        "border_mode": params.get("border_mode", "valid"),
        "subsample": params.get("subsample", (1,) * convdim),
        "filter_dilation": params.get("dilation", (1,) * convdim),
        "filter_flip": params.get("flip", True),
        "num_groups": params.get("groups", 1),
    }
    y = (conv2d if convdim == 2 else conv3d)(x, w, **options)
    g_x, g_w = arignote.grad((y * r).sum(), [x, w])
    g_xx = arignote.grad((g_x**2).sum(), w)  # second order: gradients of the gradient ops
    return [x, w, r], [y, g_x, g_w, g_xx]


def tolerance(dtype):
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-10}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "name, image_shape, filter_shape, params, chunk", CASES, ids=[c[0] for c in CASES]
)
def test_jit_convolution_matches_reference(
    name, image_shape, filter_shape, params, chunk, dtype, monkeypatch
):
    if chunk is not None:
        monkeypatch.setattr(lower_nnet, "CHUNK_BYTES", chunk)
    winograd_calls = []
    winograd = lower_nnet._Winograd.__call__

    def counted(*args):
        winograd_calls.append(True)
        return winograd(*args)

    monkeypatch.setattr(lower_nnet._Winograd, "__call__", counted)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    image = rng.uniform(-1, 1, image_shape).astype(dtype)
    filters = rng.uniform(-1, 1, filter_shape).astype(dtype)
    inputs, outputs = build(image_shape, params, dtype)
    expected_y = reference_conv(image, filters, **params)
    weights = rng.uniform(-1, 1, expected_y.shape).astype(dtype)
    jit = arignote.function(inputs, outputs, mode=JIT)
    got = jit(image, filters, weights)
    reference = arignote.function(inputs, outputs, mode=PY)(image, filters, weights)
    for value, expected in zip(got, reference):
        assert value.dtype == np.dtype(dtype) and value.flags.c_contiguous
        np.testing.assert_allclose(value, expected, **tolerance(dtype))
    np.testing.assert_allclose(got[0], expected_y, **tolerance(dtype))
    np.testing.assert_allclose(
        got[1],
        reference_grad_inputs(filters, weights, image_shape[2:], **params),
        **tolerance(dtype),
    )
    np.testing.assert_allclose(
        got[2],
        reference_grad_weights(image, weights, filter_shape[2:], **params),
        **tolerance(dtype),
    )
    kinds = {
        type(n.apply.op).__name__: (n.kind, n.detail)
        for n in jit.program.report.nodes
        if "Conv" in type(n.apply.op).__name__
    }
    convdim = len(image_shape) - 2
    unit = (
        params.get("subsample", (1,) * convdim)
        == params.get("dilation", (1,) * convdim)
        == (1,) * convdim
    )
    # The filters' static shape is unknown: 2-d unit-stride nodes carry the Winograd kernels.
    forward = lower_nnet._WINOGRAD_DETAIL if convdim == 2 and unit else "im2col + BLAS"
    backward = lower_nnet._WINOGRAD_DETAIL if convdim == 2 and unit else "BLAS + col2im"
    assert kinds[f"AbstractConv{convdim}d"] == ("kernel", forward)
    assert kinds[f"AbstractConv{convdim}d_gradWeights"] == ("kernel", "im2col + BLAS")
    assert kinds[f"AbstractConv{convdim}d_gradInputs"] == ("kernel", backward)
    # Winograd ran for 3x3 filters (forward, and the input gradient when every pad is <= 2).
    pads = reference_pads(params.get("border_mode", "valid"), filter_shape[2:], (1,) * convdim)
    three = unit and filter_shape[2:] == (3, 3)
    assert winograd_calls == [True] * three + [True] * (three and max(max(pads)) <= 2)


def test_non_contiguous_and_mixed_dtype_inputs():
    x = T.tensor(dtype="float32", shape=(None,) * 4, name="x")
    w = T.tensor(dtype="float64", shape=(None,) * 4, name="w")
    y = conv2d(x, w, border_mode="half", subsample=(1, 2))
    g_x, g_w = arignote.grad(y.sum(), [x, w])
    jit = arignote.function([x, w], [y, g_x, g_w], mode=JIT)
    reference = arignote.function([x, w], [y, g_x, g_w], mode=PY)
    rng = np.random.default_rng(1)
    image = rng.uniform(-1, 1, (4, 6, 3, 7)).astype("float32").transpose(0, 2, 1, 3)
    filters = rng.uniform(-1, 1, (2, 3, 3, 3))[:, :, ::-1]
    assert not image.flags.c_contiguous and not filters.flags.c_contiguous
    got = jit(image, filters)
    assert [v.dtype for v in got] == [np.float64, np.float32, np.float64]  # grads: input dtypes
    for value, expected in zip(got, reference(image, filters)):
        np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[0], reference_conv(image, filters, "half", (1, 2)), atol=1e-6)


def test_empty_batch_and_empty_output():
    inputs, outputs = build((0, 2, 5, 5), {}, "float64")
    jit = arignote.function(inputs, outputs, mode=JIT)
    y, g_x, g_w, g_xx = jit(np.zeros((0, 2, 5, 5)), np.ones((3, 2, 2, 2)), np.zeros((0, 3, 4, 4)))
    assert y.shape == (0, 3, 4, 4) and g_x.shape == (0, 2, 5, 5)
    np.testing.assert_array_equal(g_w, np.zeros((3, 2, 2, 2)))
    np.testing.assert_array_equal(g_xx, np.zeros((3, 2, 2, 2)))


def test_runtime_shape_errors_match_the_reference():
    x, w = T.tensor4("x"), T.tensor4("w")
    y = conv2d(x, w, input_shape=(None, 2, 5, 5))
    for mode in (JIT, PY):
        f = arignote.function([x, w], y, mode=mode)
        with pytest.raises(ValueError, match=r"input_shape=\(None, 2, 5, 5\) was declared"):
            f(np.ones((1, 2, 6, 5)), np.ones((1, 2, 2, 2)))
        with pytest.raises(ValueError, match="the input has 2 channels .* expect 3"):
            f(np.ones((1, 2, 5, 5)), np.ones((1, 3, 2, 2)))
    top = T.tensor4("top")
    g = conv2d_grad_wrt_inputs(top, w, (None, 2, 5, 5))
    for mode in (JIT, PY):
        f = arignote.function([x, w, top], g, mode=mode, on_unused_input="ignore")
        with pytest.raises(ValueError, match="output gradient has shape"):
            f(np.ones((1, 2, 5, 5)), np.ones((1, 2, 2, 2)), np.ones((1, 1, 3, 3)))
        with pytest.raises(ValueError, match=r"input has shape \(1, 3, 5, 5\), but input_shape"):
            f(np.ones((1, 2, 5, 5)), np.ones((1, 3, 2, 2)), np.ones((1, 1, 4, 4)))


def test_rows_too_wide_for_winograd_take_im2col(monkeypatch):
    calls = []
    monkeypatch.setattr(lower_nnet, "_WINOGRAD_MAX_WIDTH", 8)
    monkeypatch.setattr(lower_nnet._Winograd, "__call__", lambda *args: calls.append(args))
    inputs, outputs = build((2, 2, 5, 9), {"border_mode": "half"}, "float64")
    rng = np.random.default_rng(3)
    image, filters = rng.uniform(-1, 1, (2, 2, 5, 9)), rng.uniform(-1, 1, (3, 2, 3, 3))
    weights = rng.uniform(-1, 1, (2, 3, 5, 9))
    y, g_x = arignote.function(inputs, outputs[:2], mode=JIT)(image, filters, weights)
    assert calls == []
    np.testing.assert_allclose(y, reference_conv(image, filters, "half"), atol=1e-12)
    np.testing.assert_allclose(
        g_x, reference_grad_inputs(filters, weights, (5, 9), "half"), atol=1e-12
    )
