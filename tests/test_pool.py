"""Pooling against a loop-by-loop reference of Theano's rules, with gradients of every order.

The reference walks the output positions one by one and reduces each
window the way Theano's description says (the window clipped to the padded
input; ``max``, ``sum`` and ``average_exc_pad`` over the real entries only,
``average_inc_pad`` over the padded window). ``CASES`` covers every mode
with and without ``ignore_border``, strides smaller and larger than the
window, padding, 2-d to 4-d inputs, empty inputs, integer inputs, ``pool_3d``
and the three gradient ops called directly.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor.signal.pool import (
    AveragePoolGrad,
    DownsampleFactorMaxGradGrad,
    MaxPoolGrad,
    Pool,
    max_pool_2d_same_size,
    pool_2d,
    pool_3d,
)
from tests.helpers import OpCase, check_infer_shape, check_op, check_op_grad, table_params, uniform


# ---- references --------------------------------------------------------------------------------
def theano_length(n, ws, stride, pad, ignore_border):
    if ignore_border:
        return max(0, (n + 2 * pad - ws) // stride + 1)
    if stride >= ws:
        return (n - 1) // stride + 1
    return max(0, (n - 1 - ws + stride) // stride) + 1


def windows(spatial, ws, stride, pad, ignore_border, mode):
    """For each output position: the index of the window's entries in the unpadded input, and
    the number of entries the average divides by."""
    out = [theano_length(n, w, s, p, ignore_border) for n, w, s, p in zip(spatial, ws, stride, pad)]
    for position in itertools.product(*(range(o) for o in out)):
        ranges, padded_count = [], 1
        for o, n, w, s, p in zip(position, spatial, ws, stride, pad):
            start, end = o * s, min(o * s + w, n + 2 * p)
            padded_count *= end - start
            ranges.append(range(max(start, p) - p, min(end, n + p) - p))
        count = padded_count if mode == "average_inc_pad" else np.prod([len(r) for r in ranges])
        yield position, np.ix_(*ranges), count


def reference_pool(x, ws, ignore_border=True, stride=None, pad=None, mode="max"):
    nd = len(ws)
    stride, pad = stride or ws, pad or (0,) * nd
    spatial, axes = x.shape[-nd:], tuple(range(-nd, 0))
    out_spatial = [
        theano_length(n, w, s, p, ignore_border) for n, w, s, p in zip(spatial, ws, stride, pad)
    ]
    out = np.zeros(x.shape[:-nd] + tuple(out_spatial), dtype=x.dtype)
    for position, index, count in windows(spatial, ws, stride, pad, ignore_border, mode):
        block = x[(Ellipsis, *index)]
        if mode == "max":
            value = block.max(axis=axes)
        elif mode == "sum":
            value = block.sum(axis=axes)
        else:
            value = block.sum(axis=axes) / count
        out[(Ellipsis, *position)] = value
    return out


def reference_max_pool_grad(x, gz, ws, ignore_border=True, stride=None, pad=None):
    """Every entry equal to its window's maximum gets the window's gradient."""
    nd = len(ws)
    stride, pad = stride or ws, pad or (0,) * nd
    axes, spread = tuple(range(-nd, 0)), (Ellipsis, *[None] * nd)
    grad = np.zeros(x.shape)
    for position, index, _ in windows(x.shape[-nd:], ws, stride, pad, ignore_border, "max"):
        block = x[(Ellipsis, *index)]
        is_max = block == block.max(axis=axes, keepdims=True)
        grad[(Ellipsis, *index)] += np.where(is_max, gz[(Ellipsis, *position)][spread], 0)
    return grad


def reference_max_pool_grad_grad(x, ggx, ws, ignore_border=True, stride=None, pad=None):
    """Each window sums ``ggx`` over the entries equal to its maximum."""
    nd = len(ws)
    stride, pad = stride or ws, pad or (0,) * nd
    axes = tuple(range(-nd, 0))
    out = [
        theano_length(n, w, s, p, ignore_border)
        for n, w, s, p in zip(x.shape[-nd:], ws, stride, pad)
    ]
    result = np.zeros(x.shape[:-nd] + tuple(out))
    for position, index, _ in windows(x.shape[-nd:], ws, stride, pad, ignore_border, "max"):
        block = x[(Ellipsis, *index)]
        is_max = block == block.max(axis=axes, keepdims=True)
        result[(Ellipsis, *position)] = np.where(is_max, ggx[(Ellipsis, *index)], 0).sum(axes)
    return result


# ---- the table -----------------------------------------------------------------------------------
ANY = uniform(-3, 3)
MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")
# (name, ws, ignore_border, stride, pad): whole windows, partial windows, padding, overlapping
# partial windows, stride larger than the window.
SETTINGS = [
    ("whole", (2, 2), True, None, None),
    ("partial", (3, 2), False, None, None),
    ("padded", (3, 3), True, (2, 1), (1, 2)),
    ("overlapping", (2, 3), False, (1, 1), None),
    ("sparse", (2, 2), False, (3, 3), None),
]
LAYOUTS = (((2, 3, 6, 5),), ((6, 5),), ((0, 3, 4, 4),), ((2, 1, 5, 7),), ((1, 2, 3, 4, 5),))
GRAD_LAYOUTS = (((1, 2, 5, 5),),)


def pool_row(setting, mode):
    name, ws, ignore_border, stride, pad = setting
    dtypes = (("float64",), ("float32",))
    if mode in ("max", "sum"):
        dtypes += (("int32",),)
    return OpCase(
        f"{mode}_{name}",
        lambda x: pool_2d(x, ws, ignore_border, stride, pad or (0, 0), mode),
        lambda x: reference_pool(x, ws, ignore_border, stride, pad, mode),
        (ANY,),
        dtypes,
        LAYOUTS,
        grad=True,
        grad_layouts=GRAD_LAYOUTS,
    )


def pooled(x, ws=(2, 3), stride=(1, 2)):
    return pool_2d(x, ws, ignore_border=False, stride=stride)


def pooled_shape(shape, ws=(2, 3), stride=(1, 2)):
    return shape[:-2] + tuple(
        theano_length(n, w, s, 0, False) for n, w, s in zip(shape[-2:], ws, stride)
    )


GRAD_OP_SHAPES = ((2, 2, 5, 6), (0, 2, 4, 4))
CASES = [
    *(pool_row(setting, mode) for setting in SETTINGS for mode in MODES),
    *(
        OpCase(
            f"pool_3d_{mode}",
            lambda x, mode=mode: pool_3d(x, (2, 3, 2), True, (1, 2, 2), (1, 1, 0), mode),
            lambda x, mode=mode: reference_pool(x, (2, 3, 2), True, (1, 2, 2), (1, 1, 0), mode),
            (ANY,),
            (("float64",),),
            (((2, 2, 4, 5, 4),), ((3, 4, 3),)),
            grad=True,
            grad_layouts=(((1, 1, 3, 4, 3),),),
        )
        for mode in MODES
    ),
    OpCase(
        "max_pool_grad",
        lambda x, gz: MaxPoolGrad((2, 3), (1, 2), ignore_border=False)(x, pooled(x), gz),
        lambda x, gz: reference_max_pool_grad(x, gz, (2, 3), False, (1, 2)),
        (ANY, ANY),
        (("float64", "float64"),),
        tuple((s, pooled_shape(s)) for s in GRAD_OP_SHAPES),
        grad=True,
    ),
    OpCase(
        "max_pool_grad_grad",
        lambda x, ggx: DownsampleFactorMaxGradGrad((2, 3), (1, 2), ignore_border=False)(
            x, pooled(x), ggx
        ),
        lambda x, ggx: reference_max_pool_grad_grad(x, ggx, (2, 3), False, (1, 2)),
        (ANY, ANY),
        (("float64", "float64"),),
        tuple((s, s) for s in GRAD_OP_SHAPES),
        grad=True,
    ),
    OpCase(
        "average_pool_grad",
        lambda x, gz: AveragePoolGrad((2, 3), (1, 2), ignore_border=False, mode="average_exc_pad")(
            x, gz
        ),
        # The pullback of a linear map is its transpose: the adjoint of the reference pool.
        lambda x, gz: (
            np.stack(
                [
                    (
                        reference_pool(
                            np.eye(x.size)[i].reshape(x.shape),
                            (2, 3),
                            False,
                            (1, 2),
                            None,
                            "average_exc_pad",
                        )
                        * gz
                    ).sum()
                    for i in range(x.size)
                ]
            ).reshape(x.shape)
            if x.size
            else np.zeros(x.shape)
        ),
        (ANY, ANY),
        (("float64", "float64"),),
        (((1, 2, 4, 5), pooled_shape((1, 2, 4, 5))), ((0, 2, 4, 4), pooled_shape((0, 2, 4, 4)))),
        grad=True,
    ),
    OpCase(
        "max_pool_2d_same_size",
        lambda x: max_pool_2d_same_size(x, (2, 2)),
        lambda x: reference_max_pool_grad(x, reference_pool(x, (2, 2)), (2, 2)),
        (ANY,),
        (("float64",),),
        (((2, 2, 4, 5),), ((3, 3),)),
        grad=True,
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


# ---- gradients -----------------------------------------------------------------------------------
def test_tied_maxima_share_the_gradient_and_the_grad_grad_sums_them():
    x = T.matrix("x")
    gz = T.matrix("gz")
    y = pool_2d(x, (2, 2))
    (g_x,) = arignote.grad((y * gz).sum(), [x])
    values = np.array([[1.0, 1.0, 0.0, 2.0], [0.0, 1.0, 2.0, 2.0]])
    got = g_x.eval({x: values, gz: [[10.0, 20.0]]})
    np.testing.assert_array_equal(got, [[10.0, 10.0, 0.0, 20.0], [0.0, 10.0, 20.0, 20.0]])
    ggx = np.arange(8.0).reshape(2, 4)
    grad_grad = DownsampleFactorMaxGradGrad((2, 2))(x, y, ggx).eval({x: values})
    np.testing.assert_array_equal(grad_grad, [[0 + 1 + 5, 3 + 6 + 7]])


def test_third_order_through_max_pooling():
    """The gradient of the grad-grad op is the max-pool gradient again."""
    rng = np.random.default_rng(0)

    def third(x, gz):
        y = pool_2d(x, (2, 2), ignore_border=False, stride=(1, 1))
        (g_x,) = arignote.grad((y * gz).sum(), [x])
        (g_gz,) = arignote.grad((g_x**2).sum(), [gz])
        return g_gz

    verify_grad(
        third,
        [rng.standard_normal((1, 1, 4, 3)), rng.standard_normal((1, 1, 3, 2))],
        n_tests=1,
        rng=rng,
    )


def test_average_pool_gradient_of_gradient():
    rng = np.random.default_rng(1)

    def second(x):
        y = pool_2d(
            x, (3, 2), ignore_border=True, stride=(1, 2), pad=(1, 1), mode="average_inc_pad"
        )
        (g_x,) = arignote.grad((y**2).sum(), [x])
        return g_x

    verify_grad(second, [rng.standard_normal((2, 4, 5))], n_tests=1, rng=rng)


# ---- shapes, arguments and errors ----------------------------------------------------------------
def test_static_shapes_and_theano_out_shape():
    x = T.tensor(dtype="float64", shape=(8, 3, 7, 6))
    assert pool_2d(x, (2, 2)).type.shape == (8, 3, 3, 3)
    assert pool_2d(x, (2, 2), ignore_border=False).type.shape == (8, 3, 4, 3)
    assert pool_2d(x, (3, 3), stride=(2, 2), pad=(1, 1)).type.shape == (8, 3, 4, 3)
    assert pool_2d(T.tensor4(), (2, 2)).type.shape == (None,) * 4
    assert Pool.out_shape((8, 3, 7, 6), (2, 2), ignore_border=False) == [8, 3, 4, 3]
    assert Pool.out_shape((5, 5), (2, 2), True, (3, 3), (1, 1)) == [2, 2]


def test_old_argument_names_still_work_and_warn():
    x = T.matrix("x")
    with pytest.warns(DeprecationWarning) as caught:
        y = pool_2d(x, ds=(2, 2), st=(1, 1), padding=(1, 1), mode="sum")
    assert {str(w.message) for w in caught} == {
        "ds is deprecated, use ws",
        "st is deprecated, use stride",
        "padding is deprecated, use pad",
    }
    assert y.owner.op == Pool((2, 2), (1, 1), (1, 1), True, "sum")
    with pytest.raises(ValueError, match="not both"):
        pool_2d(x, (2, 2), ds=(2, 2))
    assert pool_2d(x, (2, 2), mode="max_deterministic").owner.op.mode == "max"


def test_arguments_are_checked():
    x = T.tensor4("x")
    with pytest.raises(NotImplementedError, match="needs ignore_border=True"):
        pool_2d(x, (2, 2), ignore_border=False, pad=(1, 1))
    with pytest.raises(NotImplementedError, match="smaller than the window"):
        pool_2d(x, (2, 2), pad=(2, 0))
    with pytest.raises(ValueError, match="pooling mode must be one of"):
        pool_2d(x, (2, 2), mode="average")
    with pytest.raises(ValueError, match="known when the graph is built"):
        pool_2d(x, (T.lscalar("n"), 2))
    with pytest.raises(ValueError, match="ws must be a tuple of 2 ints"):
        pool_2d(x, 2)
    with pytest.raises(TypeError, match="at least 3 dimensions"):
        pool_3d(T.matrix(), (2, 2, 2))
    with pytest.raises(ValueError, match="needs the window size"):
        pool_2d(x)


def test_gradient_op_shape_mismatches_are_reported():
    x, gz = T.tensor4("x"), T.tensor4("gz")
    f = arignote.function([x, gz], AveragePoolGrad((2, 2))(x, gz))
    with pytest.raises(
        ValueError,
        match=r"output gradient has shape \(1, 1, 3, 3\).*gives "
        r"\(1, 1, 2, 2\)",
    ):
        f(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)))
    static = T.tensor(dtype="float64", shape=(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"static shape \(1, 1, 3, 3\)"):
        MaxPoolGrad((2, 2))(static, static[:, :, :3, :3], static[:, :, :2, :2])


def test_reachable_from_the_theano_path():
    from arignote.tensor.signal import pool

    assert pool.pool_2d is pool_2d and pool.Pool is Pool
