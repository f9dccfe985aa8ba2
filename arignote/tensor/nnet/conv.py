"""``theano.tensor.nnet.conv.conv2d``: the old 4-d convolution, kept for code that imports it.

It is ``nnet.conv2d`` with ``filter_flip=True`` and only the border modes
the old op had (``'valid'``, ``'full'``). Theano's tuning arguments of the
old ``ConvOp`` (``unroll_batch``, ``unroll_kern``, ``unroll_patch``,
``openmp``) only chose among C loops of the same result; they are accepted
and change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arignote.tensor.nnet.abstract_conv import conv2d as _conv2d

_TUNING_ARGUMENTS = frozenset({"unroll_batch", "unroll_kern", "unroll_patch", "openmp"})


def conv2d(
    input: Any,
    filters: Any,
    image_shape: Sequence[Any] | None = None,
    filter_shape: Sequence[Any] | None = None,
    border_mode: str = "valid",
    subsample: Sequence[int] = (1, 1),
    **kargs: Any,
):
    """4-d convolution ``(batch, channels, rows, cols)`` by ``(filters, channels, rows, cols)``.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.tensor4("x")
    >>> conv2d(x, np.ones((1, 1, 2, 2)), border_mode="full").eval({x: np.ones((1, 1, 1, 1))}).shape
    (1, 1, 2, 2)
    """
    unknown = set(kargs) - _TUNING_ARGUMENTS
    if unknown:
        raise TypeError(f"nnet.conv.conv2d got unexpected arguments: {', '.join(sorted(unknown))}")
    if border_mode not in ("valid", "full"):
        raise ValueError(
            f"nnet.conv.conv2d: border_mode must be 'valid' or 'full', got {border_mode!r} "
            "(nnet.conv2d has the other modes)"
        )
    return _conv2d(
        input,
        filters,
        input_shape=image_shape,
        filter_shape=filter_shape,
        border_mode=border_mode,
        subsample=subsample,
    )
