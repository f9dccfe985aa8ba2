"""``images2neibs``/``neibs2images`` against loop references of Theano's index rules.

The reference walks every neighbourhood and every position inside it and
computes the source pixel as Theano describes each mode (zero padding for
``half``/``full``, wrap-around for ``wrap_centered``); the pullback's
reference scatters rows back with the same walk. Every mode runs through
the value, ``verify_grad`` and ``infer_shape`` tests.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor import nnet
from arignote.tensor.nnet.neighbours import Images2NeibsGrad, images2neibs, neibs2images
from tests.helpers import OpCase, check_infer_shape, check_op, check_op_grad, table_params, uniform


# ---- references ------------------------------------------------------------------------------
def grid_length(mode, n, size, step):
    if mode == "wrap_centered":
        return -(-n // step)
    if mode == "ignore_borders":
        return max(0, (n - size) // step + 1)
    pad = {"valid": 0, "half": size // 2, "full": size - 1}[mode]
    return (n + 2 * pad - size) // step + 1


def source(mode, n, size, step, neighbourhood, offset):
    """The pixel that position ``offset`` of neighbourhood ``neighbourhood`` reads, or None."""
    if mode == "wrap_centered":
        return (neighbourhood * step + offset - size // 2) % n
    pad = {"half": size // 2, "full": size - 1}.get(mode, 0)
    index = neighbourhood * step + offset - pad
    return index if 0 <= index < n else None


def walk(shape, neib_shape, neib_step, mode):
    """Yield (row, column, source pixel or None) for every entry of the neighbourhood matrix."""
    batch, channels, height, width = shape
    rows = grid_length(mode, height, neib_shape[0], neib_step[0])
    cols = grid_length(mode, width, neib_shape[1], neib_step[1])
    neighbourhoods = itertools.product(range(batch), range(channels), range(rows), range(cols))
    for row, (b, c, i, j) in enumerate(neighbourhoods):
        for a, d in itertools.product(range(neib_shape[0]), range(neib_shape[1])):
            r = source(mode, height, neib_shape[0], neib_step[0], i, a)
            s = source(mode, width, neib_shape[1], neib_step[1], j, d)
            yield row, a * neib_shape[1] + d, None if r is None or s is None else (b, c, r, s)


def reference_neibs(x, neib_shape, neib_step, mode):
    step = neib_step or neib_shape
    rows = (
        x.shape[0]
        * x.shape[1]
        * np.prod([grid_length(mode, n, k, s) for n, k, s in zip(x.shape[2:], neib_shape, step)])
    )
    out = np.zeros((int(rows), neib_shape[0] * neib_shape[1]), dtype=x.dtype)
    for row, column, pixel in walk(x.shape, neib_shape, step, mode):
        if pixel is not None:
            out[row, column] = x[pixel]
    return out


def reference_scatter(neibs, shape, neib_shape, neib_step, mode):
    images = np.zeros(shape)
    for row, column, pixel in walk(shape, neib_shape, neib_step or neib_shape, mode):
        if pixel is not None:
            images[pixel] += neibs[row, column]
    return images


# ---- the table -----------------------------------------------------------------------------------
ANY = uniform(-2, 2)
# (mode, neib_shape, neib_step, layouts): each mode with a shape that fits it, steps smaller and
# larger than the neighbourhood, an empty batch.
SETTINGS = [
    ("valid", (2, 2), None, ((2, 3, 4, 6), (0, 2, 4, 4), (1, 1, 2, 2))),
    ("valid", (3, 2), (1, 2), ((2, 2, 5, 6),)),
    ("ignore_borders", (2, 3), None, ((2, 2, 5, 7), (1, 1, 1, 2))),
    ("ignore_borders", (2, 2), (3, 1), ((2, 1, 6, 4),)),
    ("half", (3, 3), (1, 1), ((1, 2, 4, 5),)),
    ("half", (2, 3), (2, 1), ((1, 2, 4, 5),)),
    ("full", (2, 2), (1, 1), ((1, 2, 3, 4),)),
    ("wrap_centered", (3, 3), (1, 1), ((1, 2, 4, 3),)),
    ("wrap_centered", (3, 1), (2, 1), ((2, 1, 5, 3),)),
]


def neibs_row(mode, neib_shape, neib_step, layouts):
    return OpCase(
        f"{mode}_{neib_shape[0]}x{neib_shape[1]}_step{neib_step}",
        lambda x: images2neibs(x, neib_shape, neib_step, mode),
        lambda x: reference_neibs(x, neib_shape, neib_step, mode),
        (ANY,),
        (("float64",), ("int32",)),
        tuple((shape,) for shape in layouts),
        grad=True,
        grad_layouts=((layouts[0],),),
    )


def grad_row(mode, neib_shape, neib_step, shape):
    rows = len(reference_neibs(np.zeros(shape), neib_shape, neib_step, mode))
    return OpCase(
        f"grad_{mode}",
        lambda g: Images2NeibsGrad(neib_shape, neib_step, mode)(g, shape),
        lambda g: reference_scatter(g, shape, neib_shape, neib_step, mode),
        (ANY,),
        (("float64",),),
        (((rows, neib_shape[0] * neib_shape[1]),),),
        grad=True,
    )


CASES = [
    *(neibs_row(*setting) for setting in SETTINGS),
    grad_row("valid", (3, 2), (1, 2), (2, 2, 5, 6)),
    grad_row("half", (3, 3), (2, 1), (1, 2, 5, 4)),
    grad_row("wrap_centered", (3, 3), (1, 2), (1, 1, 3, 4)),
    OpCase(
        "neibs2images_round_trip",
        lambda x: neibs2images(images2neibs(x, (2, 3)), (2, 3), x.shape),
        lambda x: x,
        (ANY,),
        (("float64",),),
        (((2, 3, 4, 6),), ((0, 1, 2, 3),)),
        grad=True,
    ),
    OpCase(
        "neibs2images_ignore_borders",
        lambda x: neibs2images(
            images2neibs(x, (2, 2), mode="ignore_borders"), (2, 2), x.shape, "ignore_borders"
        ),
        lambda x: np.pad(x[:, :, :4, :2], ((0, 0), (0, 0), (0, 1), (0, 1))),
        (ANY,),
        (("float64",),),
        (((2, 1, 5, 3),),),
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


# ---- more ----------------------------------------------------------------------------------------
def test_second_derivative_through_overlapping_neighbourhoods():
    rng = np.random.default_rng(0)

    def second(x):
        neibs = images2neibs(x, (3, 3), (1, 1), "half")
        (g_x,) = arignote.grad(((neibs**2).sum(axis=1) ** 2).sum(), [x])
        return g_x

    verify_grad(second, [rng.standard_normal((1, 1, 3, 4))], n_tests=1, rng=rng)


def test_static_shapes():
    x = T.tensor(dtype="float64", shape=(2, 3, 6, 4))
    assert images2neibs(x, (2, 2)).type.shape == (2 * 3 * 3 * 2, 4)
    assert images2neibs(x, (3, 3), (1, 1), "wrap_centered").type.shape == (2 * 3 * 6 * 4, 9)
    assert images2neibs(T.tensor4(), (2, 2)).type.shape == (None, 4)


def test_inconsistent_shapes_are_reported():
    with pytest.raises(
        ValueError,
        match=r"neib_shape\[0\]=2, neib_step\[0\]=2 and the image "
        r"length 5 .* do not tile it",
    ):
        images2neibs(T.tensor(dtype="float64", shape=(1, 1, 5, 4)), (2, 2))
    x = T.tensor4("x")
    f = arignote.function([x], images2neibs(x, (3, 3), mode="wrap_centered"))
    with pytest.raises(ValueError, match="smaller than a neighbourhood"):
        f(np.zeros((1, 1, 2, 5)))
    with pytest.raises(TypeError, match="wrap_centered needs odd neib_shape"):
        images2neibs(x, (2, 3), mode="wrap_centered")
    with pytest.raises(NotImplementedError, match="mode must be one of"):
        images2neibs(x, (2, 2), mode="same")
    with pytest.raises(TypeError, match="must be 4-d"):
        images2neibs(T.matrix(), (2, 2))
    with pytest.raises(NotImplementedError, match="neibs2images supports"):
        neibs2images(T.matrix(), (2, 2), (1, 1, 4, 4), mode="half")


def test_reexported_from_nnet():
    assert nnet.images2neibs is images2neibs and nnet.neibs2images is neibs2images
