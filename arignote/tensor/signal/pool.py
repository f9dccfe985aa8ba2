"""Pooling over the last 2 (``pool_2d``) or 3 (``pool_3d``) axes, with gradients of every order.

Four ops, with Theano's names: ``Pool`` (the pooling), ``MaxPoolGrad`` and
``AveragePoolGrad`` (its pullbacks) and ``DownsampleFactorMaxGradGrad`` (the
pullback of ``MaxPoolGrad``). Each gradient op is linear in its last input
and the pullback of each is another of them, so derivatives of any order
exist. Window size, stride and padding are op parameters (ints known when
the graph is built), not symbolic inputs as in Theano 1.0.

Invariants:

- Output lengths follow Theano's rules: with ``ignore_border`` only whole
  windows of the padded input, ``(n + 2 pad - ws) // stride + 1`` (at
  least 0); without it a last partial window is kept,
  ``(n - 1) // stride + 1`` when ``stride >= ws``, else
  ``max(0, (n - 1 - ws + stride) // stride) + 1``. Padding needs
  ``ignore_border=True`` and must be smaller than the window.
- ``max`` never picks padding; ``sum`` adds zeros; ``average_inc_pad``
  divides by the window's size clipped to the padded input,
  ``average_exc_pad`` by the number of real entries in it (at least 1).
- The max-pool gradient sends each window's output gradient to every entry
  equal to the window's maximum (ties share it, as in Theano).
- Kernels loop over the positions inside a window (``ws[0] * ws[1]`` strided
  NumPy operations on the whole batch), never over batch, channels or
  output positions.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import FLOAT_DTYPES
from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.shape import known_int
from arignote.tensor.type import TensorType

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _ints(value: Any, count: int, what: str, minimum: int) -> tuple[int, ...]:
    entries = list(value) if isinstance(value, (list, tuple)) else None
    if entries is None or len(entries) != count:
        raise ValueError(f"{what} must be a tuple of {count} ints, got {value!r}")
    ints = [known_int(e) for e in entries]
    if any(i is None for i in ints):
        raise ValueError(f"{what} must be known when the graph is built, got {value!r}")
    if any(i < minimum for i in ints):
        raise ValueError(f"{what} entries must be at least {minimum}, got {value!r}")
    return tuple(ints)


def pooled_length(length: Any, ws: int, stride: int, pad: int, ignore_border: bool) -> Any:
    """Theano's output length of pooling one axis (``length`` an int or a symbolic scalar).

    >>> pooled_length(5, 2, 2, 0, True), pooled_length(5, 2, 2, 0, False)
    (2, 3)
    """
    from arignote.tensor.math import maximum

    def at_least(value: Any, low: int) -> Any:
        return max(value, low) if isinstance(value, (int, np.integer)) else maximum(value, low)

    if ignore_border:
        return at_least((length + 2 * pad - ws) // stride + 1, 0)
    if stride >= ws:
        return (length - 1) // stride + 1
    return at_least((length - 1 - ws + stride) // stride, 0) + 1


class _PoolParameters:
    """What the pooling ops share: window, stride, padding, border rule, mode."""

    __props__ = ("ws", "stride", "pad", "ignore_border", "mode")

    def __init__(
        self,
        ws: Sequence[int],
        stride: Sequence[int] | None = None,
        pad: Sequence[int] | None = None,
        ignore_border: bool = True,
        mode: str = "max",
    ):
        if not isinstance(ws, (list, tuple)):
            raise TypeError(f"ws must be a tuple of ints, got {ws!r}")
        ndim = len(ws)
        self.ws = _ints(ws, ndim, "ws", 1)
        self.stride = self.ws if stride is None else _ints(stride, ndim, "stride", 1)
        self.pad = (0,) * ndim if pad is None else _ints(pad, ndim, "pad", 0)
        self.ignore_border = bool(ignore_border)
        if mode == "max_deterministic":
            mode = "max"
        if mode not in MODES:
            raise ValueError(f"pooling mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        if any(self.pad) and not self.ignore_border:
            raise NotImplementedError("pooling with padding needs ignore_border=True")
        if any(p >= w for p, w in zip(self.pad, self.ws)):
            raise NotImplementedError(f"pad {self.pad} must be smaller than the window {self.ws}")

    @property
    def ndim(self) -> int:
        return len(self.ws)

    def _check_input(self, x: Variable, what: str = "input") -> None:
        if x.ndim < self.ndim:
            raise TypeError(
                f"{type(self).__name__}: the {what} must have at least {self.ndim} dimensions "
                f"(pooling is over the last {self.ndim}), got {x.ndim}-d {x!r}"
            )

    def _pooled_shape(self, shape: Sequence[Any]) -> list[Any]:
        """Output shape for an input shape (ints, symbolic lengths or None)."""
        lead, spatial = list(shape[: -self.ndim]), shape[-self.ndim :]
        return lead + [
            None if n is None else pooled_length(n, w, s, p, self.ignore_border)
            for n, w, s, p in zip(spatial, self.ws, self.stride, self.pad)
        ]

    # ---- NumPy helpers -----------------------------------------------------------------------
    def _fill(self, dtype: np.dtype) -> Any:
        """What padding holds: nothing ``max`` could pick, or 0 for the sums."""
        if self.mode != "max":
            return 0
        return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min

    def _extent(self, spatial: Sequence[int], out_spatial: Sequence[int]) -> tuple[int, ...]:
        """Spatial shape of a buffer holding the padded input and every window of the output."""
        return tuple(
            max(n + 2 * p, (o - 1) * s + w)
            for n, p, o, s, w in zip(spatial, self.pad, out_spatial, self.stride, self.ws)
        )

    def _padded(self, x: np.ndarray, out_spatial: Sequence[int], fill: Any) -> np.ndarray:
        """``x`` inside a buffer that every window of the output lies in."""
        spatial = x.shape[-self.ndim :]
        extent = self._extent(spatial, out_spatial)
        if extent == spatial:
            return x
        buffer = np.full(x.shape[: -self.ndim] + extent, fill, dtype=x.dtype)
        buffer[(Ellipsis, *(slice(p, p + n) for p, n in zip(self.pad, spatial)))] = x
        return buffer

    def _window_slices(self, out_spatial: Sequence[int]):
        """For each position inside a window: the strided slice that picks it in every window."""
        for offsets in itertools.product(*(range(w) for w in self.ws)):
            yield (
                Ellipsis,
                *(
                    slice(a, a + (o - 1) * s + 1, s)
                    for a, o, s in zip(offsets, out_spatial, self.stride)
                ),
            )

    def _divisor(self, spatial: Sequence[int], out_spatial: Sequence[int]) -> np.ndarray:
        """How many entries each average divides by (an array broadcasting over the output)."""
        divisor = np.ones((1,) * len(spatial))
        for axis, (n, o, w, s, p) in enumerate(
            zip(spatial, out_spatial, self.ws, self.stride, self.pad)
        ):
            starts = np.arange(o) * s
            if self.mode == "average_inc_pad":
                counts = np.minimum(starts + w, n + 2 * p) - starts
            else:
                counts = np.minimum(starts + w, n + p) - np.maximum(starts, p)
            shape = [1] * len(spatial)
            shape[axis] = o
            divisor = divisor * np.maximum(counts, 1).reshape(shape)
        return divisor

    def _unpadded(self, buffer: np.ndarray, spatial: Sequence[int]) -> np.ndarray:
        return buffer[(Ellipsis, *(slice(p, p + n) for p, n in zip(self.pad, spatial)))]

    def _out_spatial(self, x: np.ndarray) -> list[int]:
        return self._pooled_shape(x.shape)[-self.ndim :]

    def _sibling(self, cls: type, mode: str | None = None) -> Op:
        return cls(self.ws, self.stride, self.pad, self.ignore_border, mode or self.mode)


class Pool(_PoolParameters, Op):
    """Pool the last ``len(ws)`` axes: max, sum or average over each window."""

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        self._check_input(x)
        out = TensorType(x.dtype, shape=self._pooled_shape(x.type.shape)).make_variable()
        return Apply(self, [x], [out])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        out_spatial = self._out_spatial(x)
        out_shape = x.shape[: -self.ndim] + tuple(out_spatial)
        if 0 in out_shape:
            output_storage[0][0] = np.zeros(out_shape, dtype=x.dtype)
            return
        buffer = self._padded(x, out_spatial, self._fill(x.dtype))
        combine = np.maximum if self.mode == "max" else np.add
        slices = self._window_slices(out_spatial)
        result = np.array(buffer[next(slices)])
        for window in slices:
            combine(result, buffer[window], out=result)
        if self.mode.startswith("average"):
            result = result / self._divisor(x.shape[-self.ndim :], out_spatial)
        output_storage[0][0] = np.asarray(result, dtype=x.dtype)

    def infer_shape(self, node, input_shapes):
        return [tuple(self._pooled_shape(input_shapes[0]))]

    def L_op(self, inputs, outputs, output_grads):
        (x,), (out,), (gz,) = inputs, outputs, output_grads
        if self.mode == "max":
            return [self._sibling(MaxPoolGrad)(x, out, gz)]
        return [self._sibling(AveragePoolGrad)(x, gz)]

    @staticmethod
    def out_shape(imgshape, ws, ignore_border=False, stride=None, pad=None, ndim=2):
        """Theano's ``Pool.out_shape``: the pooled shape of ``imgshape``."""
        stride = ws if stride is None else stride
        pad = (0,) * ndim if pad is None else pad
        lead, spatial = list(imgshape[:-ndim]), imgshape[-ndim:]
        return lead + [
            pooled_length(n, w, s, p, ignore_border) for n, w, s, p in zip(spatial, ws, stride, pad)
        ]


def _check_float(op: Op, *variables: Variable) -> None:
    for v in variables:
        if v.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{type(op).__name__} needs float tensors, got {v!r} ({v.dtype})")


def _check_pooled(op: _PoolParameters, x: Variable, pooled: Variable, what: str) -> None:
    if pooled.ndim != x.ndim:
        raise TypeError(
            f"{type(op).__name__}: the {what} ({pooled!r}) must have {x.ndim} dimensions "
            f"like the input, got {pooled.ndim}"
        )
    expected = op._pooled_shape(x.type.shape)
    if any(e is not None and p is not None and e != p for e, p in zip(expected, pooled.type.shape)):
        raise ValueError(
            f"{type(op).__name__}: the {what} has static shape {pooled.type.shape}, but pooling "
            f"an input of shape {x.type.shape} gives {tuple(expected)}"
        )


def _check_pooled_value(op: _PoolParameters, x: np.ndarray, pooled: np.ndarray, what: str):
    expected = x.shape[: -op.ndim] + tuple(op._out_spatial(x))
    if pooled.shape != expected:
        raise ValueError(
            f"{type(op).__name__}: the {what} has shape {pooled.shape}, but pooling an input "
            f"of shape {x.shape} gives {expected}"
        )


class MaxPoolGrad(_PoolParameters, Op):
    """``op(x, maxout, gz)``: the max-pool gradient, ``gz`` sent to each window's maxima."""

    def make_node(self, x: Any, maxout: Any, gz: Any) -> Apply:
        x, maxout, gz = (as_tensor_variable(v) for v in (x, maxout, gz))
        self._check_input(x)
        _check_float(self, gz)
        _check_pooled(self, x, maxout, "pooled maximum")
        _check_pooled(self, x, gz, "output gradient")
        return Apply(
            self, [x, maxout, gz], [TensorType(gz.dtype, shape=x.type.shape).make_variable()]
        )

    def perform(self, node, inputs, output_storage):
        x, maxout, gz = inputs
        _check_pooled_value(self, x, maxout, "pooled maximum")
        _check_pooled_value(self, x, gz, "output gradient")
        dtype = node.outputs[0].dtype
        out_spatial = self._out_spatial(x)
        if 0 in gz.shape:
            output_storage[0][0] = np.zeros(x.shape, dtype=dtype)
            return
        buffer = self._padded(x, out_spatial, self._fill(x.dtype))
        grad = np.zeros(buffer.shape, dtype=dtype)
        for window in self._window_slices(out_spatial):
            grad[window] += np.where(buffer[window] == maxout, gz, 0)
        output_storage[0][0] = np.ascontiguousarray(self._unpadded(grad, x.shape[-self.ndim :]))

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.alloc import zeros_like

        x, maxout, _ = inputs
        (g_x,) = output_grads
        return [
            zeros_like(x),
            zeros_like(maxout),
            self._sibling(DownsampleFactorMaxGradGrad)(x, maxout, g_x),
        ]


class AveragePoolGrad(_PoolParameters, Op):
    """``op(x, gz)``: the sum/average-pool gradient, ``gz`` spread over each window."""

    def make_node(self, x: Any, gz: Any) -> Apply:
        x, gz = as_tensor_variable(x), as_tensor_variable(gz)
        self._check_input(x)
        _check_float(self, gz)
        _check_pooled(self, x, gz, "output gradient")
        return Apply(self, [x, gz], [TensorType(gz.dtype, shape=x.type.shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        x, gz = inputs
        _check_pooled_value(self, x, gz, "output gradient")
        dtype = node.outputs[0].dtype
        spatial, out_spatial = x.shape[-self.ndim :], self._out_spatial(x)
        if 0 in gz.shape:
            output_storage[0][0] = np.zeros(x.shape, dtype=dtype)
            return
        if self.mode.startswith("average"):
            gz = gz / self._divisor(spatial, out_spatial)
        grad = np.zeros(x.shape[: -self.ndim] + self._extent(spatial, out_spatial), dtype=dtype)
        for window in self._window_slices(out_spatial):
            grad[window] += gz
        output_storage[0][0] = np.ascontiguousarray(self._unpadded(grad, spatial))

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def connection_pattern(self, node):
        return [[False], [True]]

    def L_op(self, inputs, outputs, output_grads):
        (g_x,) = output_grads
        return [None, self._sibling(Pool)(g_x)]


class DownsampleFactorMaxGradGrad(_PoolParameters, Op):
    """``op(x, maxout, ggx)``: the pullback of ``MaxPoolGrad``, summing ``ggx`` over each
    window's maxima."""

    def make_node(self, x: Any, maxout: Any, ggx: Any) -> Apply:
        x, maxout, ggx = (as_tensor_variable(v) for v in (x, maxout, ggx))
        self._check_input(x)
        _check_float(self, ggx)
        _check_pooled(self, x, maxout, "pooled maximum")
        if ggx.ndim != x.ndim:
            raise TypeError(f"{type(self).__name__}: ggx must have {x.ndim} dimensions like x")
        out = TensorType(ggx.dtype, shape=maxout.type.shape).make_variable()
        return Apply(self, [x, maxout, ggx], [out])

    def perform(self, node, inputs, output_storage):
        x, maxout, ggx = inputs
        _check_pooled_value(self, x, maxout, "pooled maximum")
        if ggx.shape != x.shape:
            raise ValueError(
                f"{type(self).__name__}: ggx has shape {ggx.shape}, but x has shape {x.shape}"
            )
        dtype = node.outputs[0].dtype
        out_spatial = self._out_spatial(x)
        result = np.zeros(maxout.shape, dtype=dtype)
        if 0 in maxout.shape:
            output_storage[0][0] = result
            return
        values = self._padded(x, out_spatial, self._fill(x.dtype))
        spread = self._padded(ggx.astype(dtype, copy=False), out_spatial, 0)
        for window in self._window_slices(out_spatial):
            result += np.where(values[window] == maxout, spread[window], 0)
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.alloc import zeros_like

        x, maxout, _ = inputs
        (g,) = output_grads
        return [zeros_like(x), zeros_like(maxout), self._sibling(MaxPoolGrad)(x, maxout, g)]


# ---- the functions ------------------------------------------------------------------------------
def _renamed(new: Any, old: Any, new_name: str, old_name: str) -> Any:
    if old is None:
        return new
    if new is not None:
        raise ValueError(f"give {new_name} or its old name {old_name}, not both")
    warnings.warn(f"{old_name} is deprecated, use {new_name}", DeprecationWarning, stacklevel=3)
    return old


def _pool(input, ws, ignore_border, stride, pad, mode, ndim):
    input = as_tensor_variable(input)
    if ws is None:
        raise ValueError(f"pool_{ndim}d needs the window size ws")
    _ints(ws, ndim, "ws", 1)
    if input.ndim < ndim:
        raise TypeError(f"pool_{ndim}d needs an input of at least {ndim} dimensions, got {input!r}")
    return Pool(ws, stride, pad, ignore_border, mode)(input)


def pool_2d(
    input: Any,
    ws: Sequence[int] | None = None,
    ignore_border: bool = True,
    stride: Sequence[int] | None = None,
    pad: Sequence[int] = (0, 0),
    mode: str = "max",
    ds: Sequence[int] | None = None,
    st: Sequence[int] | None = None,
    padding: Sequence[int] | None = None,
):
    """Pool the last two axes of ``input`` over ``ws`` windows (Theano's ``pool_2d``).

    ``stride`` defaults to ``ws``; ``mode`` is ``'max'``, ``'sum'``,
    ``'average_inc_pad'`` or ``'average_exc_pad'``. ``ignore_border``
    defaults to True (Theano 1.0 warned that its False default would become
    True); ``ds``, ``st`` and ``padding`` are the old names of ``ws``,
    ``stride`` and ``pad``.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x")
    >>> pool_2d(x, (2, 2)).eval({x: np.arange(16.0).reshape(4, 4)}).tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    ws = _renamed(ws, ds, "ws", "ds")
    stride = _renamed(stride, st, "stride", "st")
    pad = _renamed(None if padding is not None else pad, padding, "pad", "padding")
    return _pool(input, ws, ignore_border, stride, pad, mode, 2)


def pool_3d(
    input: Any,
    ws: Sequence[int] | None = None,
    ignore_border: bool = True,
    stride: Sequence[int] | None = None,
    pad: Sequence[int] = (0, 0, 0),
    mode: str = "max",
):
    """Pool the last three axes of ``input`` (the arguments are ``pool_2d``'s).

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.tensor3("x")
    >>> pool_3d(x, (2, 2, 2), mode="sum").eval({x: np.ones((2, 2, 2))}).tolist()
    [[[8.0]]]
    """
    return _pool(input, ws, ignore_border, stride, pad, mode, 3)


def max_pool_2d_same_size(input: Any, patch_size: Sequence[int]):
    """Keep each non-overlapping ``patch_size`` patch's maximum in place, zero elsewhere.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x")
    >>> max_pool_2d_same_size(x, (1, 2)).eval({x: [[1.0, 3.0, 4.0, 2.0]]}).tolist()
    [[0.0, 3.0, 4.0, 0.0]]
    """
    input = as_tensor_variable(input)
    pooled = Pool(patch_size, ignore_border=True)(input)
    return MaxPoolGrad(patch_size, ignore_border=True)(input, pooled, pooled)
