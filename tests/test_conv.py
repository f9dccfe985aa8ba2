"""Convolutions against direct NumPy/SciPy references, gradients of every order, shapes, errors.

The references are written independently of the im2col kernel: the
forward one pads with ``np.pad``, builds the dilated filter explicitly and
calls ``scipy.signal.correlate`` per (image, filter, channel); the gradient
ones loop over the filter taps and contract with ``np.einsum``. ``CASES``
covers every border mode, stride, dilation, flip and group setting (and
empty batches and broadcastable dimensions), each through the value test,
``verify_grad`` in float64 and ``infer_shape``.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import scipy.signal

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor import nnet
from arignote.tensor.nnet import abstract_conv
from arignote.tensor.nnet.abstract_conv import (
    AbstractConv2d,
    bilinear_upsampling,
    conv2d,
    conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights,
    conv2d_transpose,
    conv3d,
    conv3d_grad_wrt_inputs,
    conv3d_grad_wrt_weights,
    get_conv_output_shape,
)
from tests.helpers import OpCase, check_infer_shape, check_op, check_op_grad, table_params, uniform


# ---- references --------------------------------------------------------------------------------
def reference_pads(border_mode, kernel_spatial, dilation):
    dilated = [(k - 1) * d + 1 for k, d in zip(kernel_spatial, dilation)]
    if border_mode == "valid":
        return [(0, 0)] * len(dilated)
    if border_mode == "full":
        return [(dk - 1, dk - 1) for dk in dilated]
    if border_mode == "half":
        return [(dk // 2, dk // 2) for dk in dilated]
    if isinstance(border_mode, int):
        return [(border_mode, border_mode)] * len(dilated)
    return [(p, p) if isinstance(p, int) else tuple(p) for p in border_mode]


def flipped(kernel, flip):
    return kernel[(Ellipsis, *[slice(None, None, -1)] * (kernel.ndim - 2))] if flip else kernel


def reference_conv(
    img, kern, border_mode="valid", subsample=None, dilation=None, flip=True, groups=1
):
    """SciPy correlation of the padded image with the explicitly dilated (and flipped) filter."""
    n = img.ndim - 2
    subsample, dilation = subsample or (1,) * n, dilation or (1,) * n
    pads = reference_pads(border_mode, kern.shape[2:], dilation)
    padded = np.pad(img, [(0, 0), (0, 0), *pads])
    kern = flipped(kern, flip)
    dilated = np.zeros(
        kern.shape[:2] + tuple((k - 1) * d + 1 for k, d in zip(kern.shape[2:], dilation))
    )
    dilated[(Ellipsis, *(slice(None, None, d) for d in dilation))] = kern
    batch = img.shape[0]
    filters, per_group = kern.shape[:2]
    out_spatial = [
        (p - dk) // s + 1 for p, dk, s in zip(padded.shape[2:], dilated.shape[2:], subsample)
    ]
    out = np.zeros((batch, filters, *out_spatial))
    take = tuple(slice(None, None, s) for s in subsample)
    for b in range(batch):
        for f in range(filters):
            first = f // (filters // groups) * per_group
            for c in range(per_group):
                full = scipy.signal.correlate(padded[b, first + c], dilated[f, c], mode="valid")
                out[b, f] += full[take]
    return out


def tap_slices(kernel_spatial, out_spatial, subsample, dilation):
    """For each filter tap: the slice of the padded image it meets at every output position."""
    for tap in np.ndindex(*kernel_spatial):
        yield (
            tap,
            (
                Ellipsis,
                *(
                    slice(k * d, k * d + (o - 1) * s + 1, s)
                    for k, o, s, d in zip(tap, out_spatial, subsample, dilation)
                ),
            ),
        )


def flat(x):
    return x.reshape(*x.shape[:2], math.prod(x.shape[2:]))


def reference_grad_weights(
    img,
    top,
    kernel_spatial,
    border_mode="valid",
    subsample=None,
    dilation=None,
    flip=True,
    groups=1,
):
    n = img.ndim - 2
    subsample, dilation = subsample or (1,) * n, dilation or (1,) * n
    padded = np.pad(img, [(0, 0), (0, 0), *reference_pads(border_mode, kernel_spatial, dilation)])
    filters, per_group = top.shape[1], img.shape[1] // groups
    per_filter_group = filters // groups
    grad = np.zeros((filters, per_group, *kernel_spatial))
    for tap, where in tap_slices(kernel_spatial, top.shape[2:], subsample, dilation):
        window = padded[where]
        for g in range(groups):
            fs = slice(g * per_filter_group, (g + 1) * per_filter_group)
            cs = slice(g * per_group, (g + 1) * per_group)
            grad[(fs, slice(None), *tap)] = np.einsum(
                "bfo,bco->fc", flat(top[:, fs]), flat(window[:, cs])
            )
    return flipped(grad, flip)


def reference_grad_inputs(
    kern,
    top,
    image_spatial,
    border_mode="valid",
    subsample=None,
    dilation=None,
    flip=True,
    groups=1,
):
    n = kern.ndim - 2
    subsample, dilation = subsample or (1,) * n, dilation or (1,) * n
    pads = reference_pads(border_mode, kern.shape[2:], dilation)
    kern = flipped(kern, flip)
    filters, per_group = kern.shape[:2]
    per_filter_group = filters // groups
    padded_spatial = [i + lo + hi for i, (lo, hi) in zip(image_spatial, pads)]
    padded = np.zeros((top.shape[0], per_group * groups, *padded_spatial))
    for tap, where in tap_slices(kern.shape[2:], top.shape[2:], subsample, dilation):
        for g in range(groups):
            fs = slice(g * per_filter_group, (g + 1) * per_filter_group)
            cs = slice(g * per_group, (g + 1) * per_group)
            contribution = np.einsum("bf...,fc->bc...", top[:, fs], kern[(fs, slice(None), *tap)])
            padded[:, cs][where] += contribution
    return padded[(Ellipsis, *(slice(lo, lo + i) for i, (lo, _) in zip(image_spatial, pads)))]


# ---- the table -----------------------------------------------------------------------------------
ANY = uniform(-1, 1)
FLOAT64 = (("float64", "float64"),)


def conv_row(name, image, kernel, grad_image=None, grad_kernel=None, convdim=2, **params):
    """A convolution row: its value on a batch, an empty batch and (for the grad test) small
    sizes, with every option in ``params`` given to both the op and the reference."""
    options = {
        "border_mode": params.get("border_mode", "valid"),
        "subsample": params.get("subsample"),
        "filter_dilation": params.get("dilation"),
        "filter_flip": params.get("flip", True),
        "num_groups": params.get("groups", 1),
    }
    options = {k: v for k, v in options.items() if v is not None}
    build = conv2d if convdim == 2 else conv3d
    empty = (0, *image[1:])
    return OpCase(
        name,
        lambda x, w: build(x, w, **options),
        lambda x, w: reference_conv(x, w, **params),
        (ANY, ANY),
        FLOAT64,
        ((image, kernel), (empty, kernel)),
        grad=True,
        grad_layouts=((grad_image or image, grad_kernel or kernel),),
    )


def output_shape(image, kernel, border_mode="valid", subsample=None, dilation=None, **_):
    n = len(image) - 2
    return get_conv_output_shape(image, kernel, border_mode, subsample or (1,) * n, dilation)


def grad_rows(name, image, kernel, convdim=2, **params):
    """Rows for the two gradient ops, called directly (``conv*_grad_wrt_*``)."""
    top = output_shape(image, kernel, **params)
    options = {
        "border_mode": params.get("border_mode", "valid"),
        "subsample": params.get("subsample", (1,) * convdim),
        "filter_dilation": params.get("dilation", (1,) * convdim),
        "filter_flip": params.get("flip", True),
        "num_groups": params.get("groups", 1),
    }
    wrt_weights = conv2d_grad_wrt_weights if convdim == 2 else conv3d_grad_wrt_weights
    wrt_inputs = conv2d_grad_wrt_inputs if convdim == 2 else conv3d_grad_wrt_inputs
    return [
        OpCase(
            f"{name}_grad_weights",
            lambda x, g: wrt_weights(x, g, kernel, **options),
            lambda x, g: reference_grad_weights(x, g, kernel[2:], **params),
            (ANY, ANY),
            FLOAT64,
            ((image, top), ((0, *image[1:]), (0, *top[1:]))),
            grad=True,
            grad_layouts=((image, top),),
        ),
        OpCase(
            f"{name}_grad_inputs",
            lambda w, g: wrt_inputs(g, w, (g.shape[0], *image[1:]), **options),
            lambda w, g: reference_grad_inputs(w, g, image[2:], **params),
            (ANY, ANY),
            FLOAT64,
            ((kernel, top), (kernel, (0, *top[1:]))),
            grad=True,
            grad_layouts=((kernel, top),),
        ),
    ]


SMALL = {"grad_image": (1, 2, 5, 4), "grad_kernel": (2, 2, 2, 3)}
CASES = [
    conv_row(
        "valid", (2, 3, 6, 5), (4, 3, 3, 2), grad_image=(1, 3, 4, 4), grad_kernel=(2, 3, 2, 2)
    ),
    conv_row("valid_broadcast", (1, 1, 4, 4), (1, 1, 2, 2)),
    conv_row("full", (2, 2, 5, 4), (3, 2, 3, 2), border_mode="full", **SMALL),
    conv_row("half_odd", (2, 2, 5, 6), (3, 2, 3, 3), border_mode="half", **SMALL),
    conv_row("half_even", (2, 2, 5, 6), (3, 2, 2, 4), border_mode="half", **SMALL),
    conv_row("int_pad", (2, 2, 5, 4), (3, 2, 3, 2), border_mode=1, **SMALL),
    conv_row("tuple_pad", (2, 2, 5, 4), (3, 2, 3, 2), border_mode=(2, 0), **SMALL),
    conv_row("asymmetric_pad", (2, 2, 5, 4), (3, 2, 3, 2), border_mode=((0, 2), 1), **SMALL),
    conv_row("correlation", (2, 2, 5, 4), (3, 2, 3, 2), flip=False, **SMALL),
    conv_row(
        "stride",
        (2, 2, 7, 6),
        (3, 2, 3, 2),
        subsample=(2, 3),
        grad_image=(1, 2, 6, 5),
        grad_kernel=(2, 2, 2, 2),
    ),
    conv_row(
        "stride_full", (2, 2, 5, 4), (3, 2, 3, 2), border_mode="full", subsample=(2, 2), **SMALL
    ),
    conv_row(
        "dilation",
        (2, 2, 7, 6),
        (3, 2, 3, 2),
        dilation=(2, 3),
        grad_image=(1, 2, 5, 6),
        grad_kernel=(2, 2, 2, 2),
    ),
    conv_row(
        "dilation_half", (2, 2, 7, 6), (3, 2, 2, 3), border_mode="half", dilation=(2, 2), **SMALL
    ),
    conv_row(
        "stride_dilation_pad_correlation",
        (2, 2, 8, 7),
        (3, 2, 3, 2),
        border_mode=(1, 2),
        subsample=(2, 2),
        dilation=(2, 1),
        flip=False,
        **SMALL,
    ),
    conv_row(
        "groups",
        (2, 4, 5, 4),
        (6, 2, 3, 2),
        groups=2,
        grad_image=(1, 4, 4, 4),
        grad_kernel=(4, 2, 2, 2),
    ),
    conv_row(
        "groups_full_stride",
        (2, 6, 5, 4),
        (3, 2, 2, 2),
        groups=3,
        border_mode="full",
        subsample=(2, 1),
        grad_image=(1, 6, 3, 3),
        grad_kernel=(3, 2, 2, 2),
    ),
    conv_row(
        "depthwise",
        (2, 3, 5, 4),
        (3, 1, 3, 3),
        groups=3,
        border_mode="half",
        grad_image=(1, 3, 4, 4),
    ),
    conv_row(
        "conv3d",
        (2, 2, 4, 5, 3),
        (3, 2, 2, 3, 2),
        convdim=3,
        grad_image=(1, 2, 3, 3, 3),
        grad_kernel=(2, 2, 2, 2, 2),
    ),
    conv_row(
        "conv3d_options",
        (2, 2, 5, 4, 4),
        (2, 1, 2, 2, 3),
        convdim=3,
        border_mode=(1, 0, (1, 2)),
        subsample=(2, 1, 2),
        dilation=(1, 2, 1),
        flip=False,
        groups=2,
        grad_image=(1, 2, 3, 4, 3),
        grad_kernel=(2, 1, 2, 2, 2),
    ),
    *grad_rows("valid", (2, 3, 5, 4), (2, 3, 2, 2)),
    *grad_rows(
        "options",
        (2, 4, 6, 5),
        (4, 2, 3, 2),
        border_mode=(1, (0, 1)),
        subsample=(2, 2),
        dilation=(1, 2),
        flip=False,
        groups=2,
    ),
    *grad_rows(
        "conv3d",
        (1, 2, 4, 3, 3),
        (2, 2, 2, 2, 2),
        convdim=3,
        border_mode="half",
        subsample=(2, 1, 1),
    ),
    OpCase(
        "transpose",
        lambda x, w: conv2d_transpose(
            x, w, (x.shape[0], 2, 7, 6), border_mode=1, input_dilation=(2, 2)
        ),
        lambda x, w: reference_grad_inputs(w, x, (7, 6), border_mode=1, subsample=(2, 2)),
        (ANY, ANY),
        FLOAT64,
        (((2, 3, 4, 3), (3, 2, 3, 3)),),
        grad=True,
        grad_layouts=(((1, 3, 4, 4), (3, 2, 2, 2)),),
    ),
]

VALUE_PARAMS, GRAD_PARAMS = table_params(CASES)


def _rng(case):
    return np.random.default_rng(zlib.crc32(case.name.encode()))


@pytest.mark.parametrize("case, layout, dtypes", VALUE_PARAMS)
def test_value_matches_reference(case, layout, dtypes):
    check_op(case, _rng(case), layout, dtypes)


@pytest.mark.parametrize("case, layout", GRAD_PARAMS)
def test_gradient_matches_finite_differences(case, layout):
    check_op_grad(case, _rng(case), layout)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_node_infers_its_shape(case):
    for layout in case.layouts:
        check_infer_shape(case, _rng(case), layout, case.dtypes[0])


# ---- derivatives of derivatives --------------------------------------------------------------------
SECOND_ORDER = [
    {},
    {"border_mode": "full", "subsample": (2, 1), "filter_dilation": (1, 2)},
    {"border_mode": (1, (0, 2)), "filter_flip": False, "num_groups": 2},
]


@pytest.mark.parametrize("options", SECOND_ORDER, ids=str)
def test_second_derivatives_match_finite_differences(options):
    """The gradient graphs (gradWeights/gradInputs) are differentiated again: each of their
    pullbacks is checked through a cost that uses both first derivatives non-linearly."""
    rng = np.random.default_rng(7)

    def gradients(x, w):
        y = conv2d(x, w, **options)
        g_x, g_w = arignote.grad((y**2).sum(), [x, w])
        return (g_x**2).sum() + (g_w * w).sum()

    per_group = 2 // options.get("num_groups", 1)
    image, kernel = rng.uniform(-1, 1, (1, 2, 5, 4)), rng.uniform(-1, 1, (2, per_group, 2, 2))
    verify_grad(gradients, [image, kernel], n_tests=1, rng=rng)


def test_third_derivative_through_a_conv3d():
    rng = np.random.default_rng(3)

    def third(x, w):
        y = conv3d(x, w, border_mode="half")
        (g_x,) = arignote.grad((y**3).sum(), [x])
        (h_w,) = arignote.grad((g_x**2).sum(), [w])
        return h_w

    verify_grad(
        third,
        [rng.uniform(-1, 1, (1, 1, 3, 3, 2)), rng.uniform(-1, 1, (1, 1, 2, 2, 2))],
        n_tests=1,
        rng=rng,
    )


def test_conv2d_transpose_is_the_adjoint_of_conv2d():
    """<conv2d(x, w), y> == <x, conv2d_transpose(y, w)> for every option at once."""
    rng = np.random.default_rng(5)
    options = {
        "border_mode": (2, 1),
        "filter_flip": False,
        "filter_dilation": (2, 1),
        "num_groups": 2,
    }
    x, w, y = T.tensor4("x"), T.tensor4("w"), T.tensor4("y")
    forward = conv2d(x, w, subsample=(2, 3), **options)
    backward = conv2d_transpose(y, w, (3, 4, 9, 8), input_dilation=(2, 3), **options)
    xv, wv = rng.standard_normal((3, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2))
    out = arignote.function([x, w], forward)(xv, wv)
    yv = rng.standard_normal(out.shape)
    back = arignote.function([y, w], backward)(yv, wv)
    assert back.shape == xv.shape
    np.testing.assert_allclose(np.vdot(out, yv), np.vdot(xv, back), rtol=1e-10)


# ---- dtypes and static shapes ----------------------------------------------------------------------
def test_float32_stays_float32_and_agrees_with_float64():
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    x, w = T.tensor4("x", dtype="float32"), T.tensor4("w", dtype="float32")
    y = conv2d(x, w, border_mode="half", subsample=(2, 2))
    g = arignote.grad(y.sum(), w)
    assert y.dtype == "float32" and g.dtype == "float32"
    out, grad = arignote.function([x, w], [y, g])(xv.astype("float32"), wv.astype("float32"))
    assert out.dtype == np.float32 and grad.dtype == np.float32
    expected = reference_conv(xv, wv, "half", (2, 2))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_mixed_dtypes_upcast():
    x = T.tensor4("x", dtype="float32")
    assert conv2d(x, np.ones((1, 1, 2, 2))).dtype == "float64"


def test_static_shapes_follow_the_inputs_and_the_hints():
    x = T.tensor(dtype="float64", shape=(8, 3, 28, 28))
    w = T.tensor(dtype="float64", shape=(20, 3, 5, 5))
    assert conv2d(x, w).type.shape == (8, 20, 24, 24)
    assert conv2d(x, w, border_mode="full", subsample=(2, 2)).type.shape == (8, 20, 16, 16)
    assert conv2d(x, w, border_mode="half", filter_dilation=(2, 2)).type.shape == (8, 20, 28, 28)
    hinted = conv2d(
        T.tensor4("x"), T.tensor4("w"), input_shape=(None, 3, 28, 28), filter_shape=(20, 3, 5, 5)
    )
    assert hinted.type.shape == (None, 20, 24, 24)
    assert conv2d(T.tensor4(), T.tensor4()).type.shape == (None,) * 4
    top = T.tensor4("top")
    assert conv2d_grad_wrt_inputs(top, w, (None, 3, 28, 28)).type.shape == (None, 3, 28, 28)
    assert conv2d_grad_wrt_weights(x, top, (20, 3, 5, 5)).type.shape == (20, 3, 5, 5)
    assert get_conv_output_shape((64, 1, 28, 28), (20, 1, 5, 5), "valid", (1, 1)) == (
        64,
        20,
        24,
        24,
    )
    assert get_conv_output_shape((None, 1, 7, 7), (2, 1, 3, 3), (1, 1), (2, 2)) == (None, 2, 4, 4)


def test_equal_convolutions_are_equal_ops():
    assert AbstractConv2d(border_mode=1) == AbstractConv2d(border_mode=(1, (1, 1)))
    assert AbstractConv2d(border_mode=1) != AbstractConv2d(border_mode="half")
    assert hash(AbstractConv2d(subsample=(1, 1))) == hash(AbstractConv2d())


# ---- errors --------------------------------------------------------------------------------------
def test_shape_hints_that_contradict_static_shapes_fail_when_built():
    x = T.tensor(dtype="float64", shape=(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"static shape \(2, 3, 8, 8\).*input_shape=\(2, 4"):
        conv2d(x, T.tensor4(), input_shape=(2, 4, 8, 8))


def test_shape_hints_are_checked_at_run_time_naming_both_shapes():
    x, w = T.tensor4("x"), T.tensor4("w")
    f = arignote.function(
        [x, w], conv2d(x, w, input_shape=(None, 3, 8, 8), filter_shape=(4, 3, 3, 3))
    )
    assert f(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3))).shape == (2, 4, 6, 6)
    with pytest.raises(
        ValueError, match=r"input has shape \(2, 3, 9, 8\).*input_shape=\(None, 3, 8, 8\)"
    ):
        f(np.zeros((2, 3, 9, 8)), np.zeros((4, 3, 3, 3)))
    with pytest.raises(
        ValueError, match=r"filter has shape \(4, 3, 2, 3\).*filter_shape=\(4, 3, 3, 3\)"
    ):
        f(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 2, 3)))


def test_channel_and_group_mismatches_name_the_shapes():
    x = T.tensor(dtype="float64", shape=(None, 3, None, None))
    with pytest.raises(ValueError, match=r"3 channels .* expect 4"):
        conv2d(x, T.tensor(dtype="float64", shape=(5, 4, 2, 2)))
    with pytest.raises(ValueError, match=r"5 filters .* do not split into num_groups=2"):
        four = T.tensor(dtype="float64", shape=(None, 4, None, None))
        conv2d(four, T.tensor(dtype="float64", shape=(5, 2, 2, 2)), num_groups=2)
    a, b = T.tensor4("a"), T.tensor4("b")
    f = arignote.function([a, b], conv2d(a, b, num_groups=2))
    with pytest.raises(
        ValueError, match=r"input has 4 channels \(shape \(1, 4, 5, 5\)\).*expect 6"
    ):
        f(np.zeros((1, 4, 5, 5)), np.zeros((2, 3, 2, 2)))


def test_an_input_smaller_than_the_filters_is_refused():
    x = T.tensor(dtype="float64", shape=(1, 1, 3, 3))
    with pytest.raises(ValueError, match="smaller than the filters"):
        conv2d(x, T.tensor(dtype="float64", shape=(1, 1, 4, 2)))
    with pytest.raises(ValueError, match="smaller than the filters"):
        conv2d(x, T.tensor(dtype="float64", shape=(1, 1, 2, 2)), filter_dilation=(3, 1))
    assert conv2d(x, T.tensor(dtype="float64", shape=(1, 1, 4, 2)), border_mode=1).type.shape == (
        1,
        1,
        2,
        4,
    )


def test_bad_arguments_are_refused_when_built():
    x = T.tensor4("x")
    with pytest.raises(TypeError, match="must be 4-d"):
        conv2d(T.matrix(), x)
    with pytest.raises(TypeError, match="float tensors"):
        conv2d(T.tensor4(dtype="int32"), T.tensor4(dtype="int8"))
    with pytest.raises(ValueError, match="border_mode must be"):
        conv2d(x, x, border_mode="same")
    with pytest.raises(ValueError, match="non-negative"):
        conv2d(x, x, border_mode=-1)
    with pytest.raises(ValueError, match="subsample must be positive"):
        conv2d(x, x, subsample=(0, 1))
    with pytest.raises(NotImplementedError, match="unshared"):
        conv2d(x, x, unshared=True)
    with pytest.raises(ValueError, match="spatial entries of input_shape"):
        conv2d_grad_wrt_inputs(x, x, (None, 1, None, 3))


def test_a_wrong_output_gradient_shape_is_reported():
    w, top = T.tensor4("w"), T.tensor4("top")
    f = arignote.function([w, top], conv2d_grad_wrt_inputs(top, w, (1, 1, 5, 5)))
    with pytest.raises(
        ValueError, match=r"output gradient has shape \(1, 1, 3, 4\).*\(1, 1, 4, 4\)"
    ):
        f(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 4)))


# ---- the old spellings ---------------------------------------------------------------------------
def test_old_nnet_conv_conv2d_is_a_true_convolution():
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    x, w = T.tensor4("x"), T.tensor4("w")
    for mode in ("valid", "full"):
        y = nnet.conv.conv2d(x, w, image_shape=(2, 2, 5, 5), border_mode=mode, unroll_batch=2)
        np.testing.assert_allclose(
            y.eval({x: xv, w: wv}), reference_conv(xv, wv, mode), rtol=1e-10, atol=1e-12
        )
    with pytest.raises(ValueError, match="'valid' or 'full'"):
        nnet.conv.conv2d(x, w, border_mode="half")
    with pytest.raises(TypeError, match="unexpected arguments: verbose"):
        nnet.conv.conv2d(x, w, verbose=1)


@pytest.mark.parametrize("image_ndim, filter_ndim", [(2, 2), (3, 2), (2, 3), (3, 3)])
def test_old_signal_conv_conv2d_keeps_the_stack_axes_it_was_given(image_ndim, filter_ndim):
    from arignote.tensor.signal import conv as signal_conv

    rng = np.random.default_rng(image_ndim * 10 + filter_ndim)
    images = rng.standard_normal((4, 6, 5)[3 - image_ndim :])
    kernels = rng.standard_normal((2, 3, 2)[3 - filter_ndim :])
    x = T.tensor(dtype="float64", shape=(None,) * image_ndim)
    w = T.tensor(dtype="float64", shape=(None,) * filter_ndim)
    y = signal_conv.conv2d(x, w, border_mode="full")
    stack_images = images.reshape((-1, 6, 5))
    stack_kernels = kernels.reshape((-1, 3, 2))
    expected = np.array(
        [[scipy.signal.convolve2d(i, k, mode="full") for k in stack_kernels] for i in stack_images]
    )
    keep = [n for n, kept in ((4, image_ndim == 3), (2, filter_ndim == 3)) if kept]
    expected = expected.reshape((*keep, 8, 6))
    got = y.eval({x: images, w: kernels})
    assert y.ndim == got.ndim == len(keep) + 2
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# ---- bilinear upsampling -------------------------------------------------------------------------
def interpolation_matrix(n, ratio):
    """Linear interpolation at output pixel centres ``(y + 0.5) / ratio - 0.5``, edges held."""
    source = np.clip((np.arange(n * ratio) + 0.5) / ratio - 0.5, 0, n - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, n - 1)
    weights = np.zeros((n * ratio, n))
    np.add.at(weights, (np.arange(n * ratio), low), 1 - (source - low))
    np.add.at(weights, (np.arange(n * ratio), high), source - low)
    return weights


def theano_upsampling_matrix(n, ratio):
    """Theano's definition: edge-extended input, transposed convolution with the triangle
    kernel at stride ``ratio``, padding ``2r - (r - 1) // 2 - 1``; as a matrix, entry by entry."""
    triangle = np.concatenate([np.arange(1, ratio + 1), np.arange(ratio - 1, 0, -1)]) / ratio
    pad = 2 * ratio - (ratio - 1) // 2 - 1
    weights = np.zeros((n * ratio, n))
    for y in range(n * ratio):
        for j in range(n + 2):  # j indexes the extended input
            tap = y + pad - j * ratio
            if 0 <= tap < len(triangle):
                weights[y, min(max(j - 1, 0), n - 1)] += triangle[tap]
    return weights


@pytest.mark.parametrize("ratio", [1, 2, 3, 4])
@pytest.mark.parametrize("use_1D_kernel", [True, False])
def test_bilinear_upsampling(ratio, use_1D_kernel):
    rng = np.random.default_rng(ratio)
    image = rng.standard_normal((2, 3, 4, 5))
    x = T.tensor4("x")
    got = bilinear_upsampling(x, ratio, use_1D_kernel=use_1D_kernel).eval({x: image})
    assert got.shape == (2, 3, 4 * ratio, 5 * ratio)
    rows, cols = theano_upsampling_matrix(4, ratio), theano_upsampling_matrix(5, ratio)
    np.testing.assert_allclose(got, rows @ image @ cols.T, rtol=1e-10, atol=1e-12)
    if ratio % 2:  # odd ratios: exactly bilinear interpolation at the pixel centres
        rows, cols = interpolation_matrix(4, ratio), interpolation_matrix(5, ratio)
        np.testing.assert_allclose(got, rows @ image @ cols.T, rtol=1e-10, atol=1e-12)


def test_bilinear_upsampling_gradient_and_arguments():
    rng = np.random.default_rng(0)
    verify_grad(
        lambda x: bilinear_upsampling(x, 2, batch_size=1, num_input_channels=2),
        [rng.standard_normal((1, 2, 3, 2))],
        n_tests=1,
        rng=rng,
    )
    with pytest.raises(NotImplementedError, match="frac_ratio"):
        bilinear_upsampling(T.tensor4(), frac_ratio=(1.5, 1.5))
    with pytest.raises(ValueError, match="positive int ratio"):
        bilinear_upsampling(T.tensor4(), 0)


def test_theano_paths_reexport():
    assert nnet.conv2d is conv2d and nnet.conv3d is conv3d
    assert nnet.conv2d_transpose is conv2d_transpose
    assert nnet.abstract_conv is abstract_conv


def test_lenet_example_trains_on_its_own_data(tmp_path, capsys):
    """examples/lenet.py, smaller: the data file it writes loads, and the test error falls
    (``train`` exits with an error otherwise)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "lenet.py"
    spec = importlib.util.spec_from_file_location("lenet_example", path)
    lenet = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lenet)
    data = tmp_path / "mnist.pkl.gz"
    lenet.write_dataset(data, np.random.default_rng(0), sizes=(600, 100, 200))
    lenet.train(data, n_epochs=3, nkerns=(6, 12))
    assert "epoch 3" in capsys.readouterr().out


def test_bilinear_upsampling_keeps_float32():
    x = T.tensor4("x", dtype="float32")
    assert bilinear_upsampling(x, 2).dtype == "float32"
    assert bilinear_upsampling(x, 3, use_1D_kernel=False).dtype == "float32"
