"""``images2neibs`` (neighbourhoods of 4-d images as the rows of a matrix) and ``neibs2images``.

``Images2Neibs`` cuts each image ``x[b, c]`` into ``neib_shape``
neighbourhoods ``neib_step`` apart; row ``((b * C + c) * rows + i) * cols + j``
of the result is neighbourhood ``(i, j)`` of that image, flattened row by
row. Its pullback, ``Images2NeibsGrad``, adds every row back where it came
from (overlapping neighbourhoods add up), for every mode; the pullback of
that is ``Images2Neibs`` again, so derivatives of any order exist.
Neighbourhood shape and step are op parameters (ints known when the graph
is built), not symbolic inputs as in Theano.

Modes (Theano's): ``'valid'`` needs the neighbourhoods to tile the image
exactly (``(n - size) % step == 0``); ``'ignore_borders'`` drops the rows
and columns left over; ``'half'`` and ``'full'`` are ``'valid'`` on the
image padded with ``size // 2`` and ``size - 1`` zeros on each side;
``'wrap_centered'`` centres a neighbourhood (odd sizes only) on every
``step``-th pixel, wrapping around the edges (images at least as large
as the neighbourhood).

``neibs2images`` is the inverse of ``images2neibs`` for neighbourhoods
that do not overlap (step equal to shape), as in Theano: a reshape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import INT_DTYPES
from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.shape import known_int, shape_i, shape_vector, static_entries, vector_entry
from arignote.tensor.type import TensorType

MODES = ("valid", "ignore_borders", "half", "full", "wrap_centered")


def _pair(value: Any, what: str) -> tuple[int, int]:
    entries = list(value) if isinstance(value, (list, tuple)) else None
    if entries is None or len(entries) != 2:
        raise ValueError(f"{what} must be a pair of ints, got {value!r}")
    ints = [known_int(e) for e in entries]
    if any(i is None for i in ints):
        raise ValueError(f"{what} must be known when the graph is built, got {value!r}")
    if any(i < 1 for i in ints):
        raise ValueError(f"{what} entries must be positive, got {value!r}")
    return ints[0], ints[1]


def _ceil_div(a: Any, b: int) -> Any:
    return -((-a) // b)


def _at_least_0(length: Any) -> Any:
    from arignote.tensor.math import maximum

    return max(length, 0) if isinstance(length, (int, np.integer)) else maximum(length, 0)


class _NeighbourhoodParameters:
    """Shape, step and mode, and the grid of neighbourhoods they give."""

    __props__ = ("neib_shape", "neib_step", "mode")

    def __init__(
        self, neib_shape: Sequence[int], neib_step: Sequence[int] | None = None, mode: str = "valid"
    ):
        if mode not in MODES:
            raise NotImplementedError(
                f"images2neibs mode must be one of {', '.join(MODES)}, got {mode!r}"
            )
        self.neib_shape = _pair(neib_shape, "neib_shape")
        self.neib_step = self.neib_shape if neib_step is None else _pair(neib_step, "neib_step")
        self.mode = mode
        if mode == "wrap_centered" and not all(n % 2 for n in self.neib_shape):
            raise TypeError(
                f"images2neibs: mode wrap_centered needs odd neib_shape, got {self.neib_shape}"
            )

    def _padding(self) -> tuple[int, int]:
        if self.mode == "half" or self.mode == "wrap_centered":
            return tuple(n // 2 for n in self.neib_shape)
        if self.mode == "full":
            return tuple(n - 1 for n in self.neib_shape)
        return (0, 0)

    def _grid(self, lengths: Sequence[Any]) -> list[Any]:
        """Neighbourhoods along rows and columns (ints, symbolic lengths or None)."""
        grid = []
        for n, size, step, pad in zip(lengths, self.neib_shape, self.neib_step, self._padding()):
            if n is None:
                grid.append(None)
            elif self.mode == "wrap_centered":
                grid.append(_ceil_div(n, step))
            elif self.mode == "ignore_borders":
                grid.append(_at_least_0((n - size) // step + 1))
            else:
                grid.append((n + 2 * pad - size) // step + 1)
        return grid

    def _check_image(self, spatial: Sequence[int | None]) -> None:
        """The run-time (or static) conditions each mode puts on the image's rows and columns."""
        for axis, (n, size, step, pad) in enumerate(
            zip(spatial, self.neib_shape, self.neib_step, self._padding())
        ):
            if n is None:
                continue
            too_small = n < size if self.mode != "ignore_borders" else False
            uneven = self.mode in ("valid", "half", "full") and (n + 2 * pad - size) % step
            if too_small or uneven:
                raise ValueError(
                    f"images2neibs (mode {self.mode!r}): neib_shape[{axis}]={size}, "
                    f"neib_step[{axis}]={step} and the image length {n} (axis {axis + 2}) are "
                    "not consistent"
                    + (
                        ": the neighbourhoods do not tile it"
                        if uneven
                        else ": the image is smaller than a neighbourhood"
                    )
                )

    def _output_shape(self, shape: Sequence[Any]) -> tuple[Any, Any]:
        rows, cols = self._grid(shape[2:])
        lengths = [shape[0], shape[1], rows, cols]
        if any(n is None for n in lengths):
            return (None, self.neib_shape[0] * self.neib_shape[1])
        return (lengths[0] * lengths[1] * rows * cols, self.neib_shape[0] * self.neib_shape[1])

    def _padded(self, images: np.ndarray) -> np.ndarray:
        pad_rows, pad_cols = self._padding()
        if not (pad_rows or pad_cols):
            return images
        widths = ((0, 0), (0, 0), (pad_rows, pad_rows), (pad_cols, pad_cols))
        return np.pad(images, widths, mode="wrap" if self.mode == "wrap_centered" else "constant")

    def _positions(self, grid: Sequence[int]):
        """For each offset ``(a, b)`` inside a neighbourhood: where it lies in every one."""
        (step_rows, step_cols) = self.neib_step
        for a in range(self.neib_shape[0]):
            for b in range(self.neib_shape[1]):
                yield (
                    a,
                    b,
                    (
                        Ellipsis,
                        slice(a, a + (grid[0] - 1) * step_rows + 1, step_rows),
                        slice(b, b + (grid[1] - 1) * step_cols + 1, step_cols),
                    ),
                )


def _check_4d(x: Variable, what: str) -> None:
    if x.ndim != 4:
        raise TypeError(
            f"images2neibs: the {what} must be 4-d (batch, channels, rows, cols), "
            f"got {x.ndim}-d {x!r}"
        )


class Images2Neibs(_NeighbourhoodParameters, Op):
    """``op(ten4)``: the neighbourhoods of every image, one per row."""

    def make_node(self, ten4: Any) -> Apply:
        ten4 = as_tensor_variable(ten4)
        _check_4d(ten4, "input")
        self._check_image(ten4.type.shape[2:])
        out = TensorType(ten4.dtype, shape=self._output_shape(ten4.type.shape)).make_variable()
        return Apply(self, [ten4], [out])

    def perform(self, node, inputs, output_storage):
        (images,) = inputs
        self._check_image(images.shape[2:])
        rows, cols = self._grid(images.shape[2:])
        if not (rows and cols):
            output_storage[0][0] = np.zeros(self._output_shape(images.shape), dtype=images.dtype)
            return
        windows = sliding_window_view(self._padded(images), self.neib_shape, axis=(2, 3))
        windows = windows[
            :,
            :,
            : (rows - 1) * self.neib_step[0] + 1 : self.neib_step[0],
            : (cols - 1) * self.neib_step[1] + 1 : self.neib_step[1],
        ]
        output_storage[0][0] = windows.reshape(self._output_shape(images.shape))

    def infer_shape(self, node, input_shapes):
        (shape,) = input_shapes
        rows, cols = self._grid(shape[2:])
        return [(shape[0] * shape[1] * rows * cols, self.neib_shape[0] * self.neib_shape[1])]

    def L_op(self, inputs, outputs, output_grads):
        (images,) = inputs
        (gz,) = output_grads
        shape = shape_vector([shape_i(images, axis) for axis in range(4)])
        return [Images2NeibsGrad(self.neib_shape, self.neib_step, self.mode)(gz, shape)]


class Images2NeibsGrad(_NeighbourhoodParameters, Op):
    """``op(neibs, image_shape)``: the pullback of ``Images2Neibs``, each row added back into
    an image of ``image_shape``."""

    def make_node(self, neibs: Any, shape: Any) -> Apply:
        neibs = as_tensor_variable(neibs)
        if neibs.ndim != 2:
            raise TypeError(f"Images2NeibsGrad: neibs must be a matrix, got {neibs!r}")
        shape = shape if isinstance(shape, Variable) else shape_vector(list(shape))
        if shape.ndim != 1 or shape.dtype not in INT_DTYPES or shape.type.shape[0] not in (None, 4):
            raise TypeError(f"Images2NeibsGrad: the image shape must be 4 ints, got {shape!r}")
        image_shape = static_entries(shape) if shape.type.shape[0] == 4 else [None] * 4
        self._check_image(image_shape[2:])
        out = TensorType(neibs.dtype, shape=image_shape).make_variable()
        return Apply(self, [neibs, shape], [out])

    def perform(self, node, inputs, output_storage):
        neibs, shape = inputs
        shape = tuple(int(n) for n in shape)
        self._check_image(shape[2:])
        expected = self._output_shape(shape)
        if neibs.shape != expected:
            raise ValueError(
                f"Images2NeibsGrad: neibs has shape {neibs.shape}, but images of "
                f"shape {shape} have neighbourhoods of shape {expected}"
            )
        rows, cols = self._grid(shape[2:])
        pad_rows, pad_cols = self._padding()
        padded = (shape[2] + 2 * pad_rows, shape[3] + 2 * pad_cols)
        pieces = neibs.reshape(shape[0], shape[1], rows, cols, *self.neib_shape)
        total = np.zeros(shape[:2] + padded, dtype=neibs.dtype)
        if rows and cols:
            for a, b, where in self._positions((rows, cols)):
                total[where] += pieces[..., a, b]
        if self.mode == "wrap_centered":
            total = _fold(_fold(total, 2, pad_rows), 3, pad_cols)
        else:
            total = total[:, :, pad_rows : pad_rows + shape[2], pad_cols : pad_cols + shape[3]]
        output_storage[0][0] = np.ascontiguousarray(total)

    def infer_shape(self, node, input_shapes):
        return [tuple(vector_entry(node.inputs[1], axis) for axis in range(4))]

    def connection_pattern(self, node):
        return [[True], [False]]

    def L_op(self, inputs, outputs, output_grads):
        (g_images,) = output_grads
        return [Images2Neibs(self.neib_shape, self.neib_step, self.mode)(g_images), None]


def _fold(padded: np.ndarray, axis: int, pad: int) -> np.ndarray:
    """Add the ``pad`` wrapped entries at each end of ``axis`` back onto the other end."""
    if not pad:
        return padded
    length = padded.shape[axis] - 2 * pad
    inner = np.array(np.take(padded, range(pad, pad + length), axis=axis))
    head = np.take(padded, range(pad), axis=axis)
    tail = np.take(padded, range(pad + length, 2 * pad + length), axis=axis)
    index: list[Any] = [slice(None)] * padded.ndim
    index[axis] = slice(length - pad, length)
    inner[tuple(index)] += head
    index[axis] = slice(0, pad)
    inner[tuple(index)] += tail
    return inner


def images2neibs(
    ten4: Any,
    neib_shape: Sequence[int],
    neib_step: Sequence[int] | None = None,
    mode: str = "valid",
):
    """The ``neib_shape`` neighbourhoods of each image of ``ten4``, one per row.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.tensor4("x")
    >>> images2neibs(x, (2, 2)).eval({x: np.arange(8.0).reshape(1, 1, 2, 4)}).tolist()
    [[0.0, 1.0, 4.0, 5.0], [2.0, 3.0, 6.0, 7.0]]
    """
    return Images2Neibs(neib_shape, neib_step, mode)(ten4)


def neibs2images(
    neibs: Any, neib_shape: Sequence[int], original_shape: Sequence[Any], mode: str = "valid"
):
    """Put non-overlapping neighbourhoods (``images2neibs`` with the default step) back into
    images of ``original_shape``; with ``'ignore_borders'`` the rows and columns no
    neighbourhood covered are zeros.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.tensor4("x")
    >>> image = np.arange(8.0).reshape(1, 1, 2, 4)
    >>> y = neibs2images(images2neibs(x, (2, 2)), (2, 2), x.shape)
    >>> bool(np.all(y.eval({x: image}) == image))
    True
    """
    from arignote.tensor.alloc import zeros
    from arignote.tensor.subtensor import set_subtensor

    if mode not in ("valid", "ignore_borders"):
        raise NotImplementedError(
            f"neibs2images supports modes 'valid' and 'ignore_borders', got {mode!r}"
        )
    neibs = as_tensor_variable(neibs)
    neib_rows, neib_cols = _pair(neib_shape, "neib_shape")
    if isinstance(original_shape, Variable):
        original_shape = [original_shape[axis] for axis in range(4)]
    batch, channels, height, width = original_shape
    rows, cols = height // neib_rows, width // neib_cols
    pieces = neibs.reshape((batch, channels, rows, cols, neib_rows, neib_cols))
    images = pieces.dimshuffle(0, 1, 2, 4, 3, 5).reshape(
        (batch, channels, rows * neib_rows, cols * neib_cols)
    )
    if mode == "valid":
        return images.reshape((batch, channels, height, width))
    canvas = zeros((batch, channels, height, width), dtype=neibs.dtype)
    return set_subtensor(canvas[:, :, : rows * neib_rows, : cols * neib_cols], images)
