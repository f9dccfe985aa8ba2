"""``theano.tensor.signal.conv.conv2d``: convolution of single images or stacks of them.

The old signal-processing spelling: the input is one image ``(rows, cols)``
or a stack ``(images, rows, cols)``; the filters are one ``(rows, cols)`` or
a stack ``(filters, rows, cols)``. The result has an images axis if the
input had one, then a filters axis if the filters had one. It is
``nnet.conv2d`` (a true convolution, filters flipped) on 4-d views with one
channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.nnet.abstract_conv import conv2d as _conv2d


def _as_4d(x: Any, what: str):
    """``x`` as ``(stack, 1, rows, cols)``, and whether it had a stack axis."""
    x = as_tensor_variable(x)
    if x.ndim not in (2, 3):
        raise TypeError(f"signal.conv.conv2d: the {what} must be 2-d or 3-d, got {x.ndim}-d {x!r}")
    stacked = x.ndim == 3
    return x.dimshuffle(*((0, "x", 1, 2) if stacked else ("x", "x", 0, 1))), stacked


def _as_4d_hint(shape: Sequence[Any] | None):
    if shape is None:
        return None
    shape = tuple(shape)
    return (1, 1, *shape) if len(shape) == 2 else (shape[0], 1, *shape[1:])


def conv2d(
    input: Any,
    filters: Any,
    image_shape: Sequence[Any] | None = None,
    filter_shape: Sequence[Any] | None = None,
    border_mode: str = "valid",
    subsample: Sequence[int] = (1, 1),
):
    """Convolve 2-d images with 2-d filters; ``border_mode`` is ``'valid'`` or ``'full'``.

    >>> import numpy as np, arignote.tensor as T
    >>> image = T.matrix("image")
    >>> conv2d(image, np.array([[1.0, 2.0]])).eval({image: [[1.0, 0.0, 0.0]]}).tolist()
    [[2.0, 0.0]]
    """
    if border_mode not in ("valid", "full"):
        raise ValueError(
            f"signal.conv.conv2d: border_mode must be 'valid' or 'full', got {border_mode!r}"
        )
    images, images_stacked = _as_4d(input, "input")
    kernels, kernels_stacked = _as_4d(filters, "filters")
    result = _conv2d(
        images,
        kernels,
        input_shape=_as_4d_hint(image_shape),
        filter_shape=_as_4d_hint(filter_shape),
        border_mode=border_mode,
        subsample=subsample,
    )
    kept = [axis for axis, stacked in ((0, images_stacked), (1, kernels_stacked)) if stacked]
    return result.dimshuffle(*kept, 2, 3)
