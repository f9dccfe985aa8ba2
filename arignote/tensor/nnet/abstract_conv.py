"""Convolutions: ``conv2d``, ``conv3d``, ``conv2d_transpose``, and the three ops behind them.

For each number of spatial dimensions there are three ops, with Theano's
names: ``AbstractConv2d`` convolves, ``AbstractConv2d_gradWeights`` is its
derivative with respect to the filters, ``AbstractConv2d_gradInputs`` its
derivative with respect to the input (the transposed convolution). Each is
bilinear in its two tensor inputs, and the pullback of each is made of the
other two with the same parameters, so derivatives of every order are
convolutions again.

Invariants:

- Inputs are ``(batch, channels, *spatial)``; filters are
  ``(out_channels, channels // num_groups, *spatial)``; group ``g`` of the
  output channels sees only group ``g`` of the input channels.
- ``filter_flip=True`` (Theano's default) is a true convolution, the
  filters turned around in every spatial axis; ``False`` is the
  cross-correlation that most libraries call convolution.
- ``border_mode`` is ``'valid'`` (no padding), ``'full'`` (``dk - 1`` zeros
  on each side, ``dk`` the dilated filter length), ``'half'`` (``dk // 2``),
  an int or one entry per axis (an int, or a ``(before, after)`` pair). The
  ops hold it normalized, so equal convolutions compare equal.
- Shape hints (``input_shape``, ``filter_shape``; ``imshp``/``kshp`` on
  the ops) are checked against static shapes when the graph is built and
  against the actual shapes in ``perform``; a mismatch names both.
- The NumPy kernel, ``_correlate``, is im2col: a strided window view of the
  padded input copied once into a ``(batch, groups, channels * taps, positions)``
  array, then one ``np.matmul`` with the filters (one BLAS call per batch
  entry and group, made in C: no Python loop over batch or channels). The
  gradient with respect to the filters uses the same columns; the gradient
  with respect to the input is the reverse, col2im: one matmul with the
  transposed filters, then each filter tap's slab added onto the strided
  grid of image positions it read (a loop over taps, never over data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import FLOAT_DTYPES, INT_DTYPES, upcast
from arignote.tensor.basic import as_tensor_variable, cast
from arignote.tensor.shape import known_int, shape_i, shape_vector, static_entries, vector_entry
from arignote.tensor.type import TensorType

BorderMode = str | tuple[int | tuple[int, int], ...]
_NAMED_BORDER_MODES = ("valid", "full", "half")


# ---- arguments ------------------------------------------------------------------------------
def _positive_ints(value: Any, count: int, what: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        value = (value,) * count
    values = tuple(value)
    if len(values) != count or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{what} must be a tuple of {count} ints, got {value!r}")
    if any(v < 1 for v in values):
        raise ValueError(f"{what} must be positive, got {value!r}")
    return tuple(int(v) for v in values)


def normalize_border_mode(border_mode: Any, convdim: int) -> BorderMode:
    """``border_mode`` as a mode name or one entry per axis (an int, or a pair when asymmetric).

    >>> normalize_border_mode(1, 2), normalize_border_mode((1, (0, 2)), 2)
    ((1, 1), (1, (0, 2)))
    """
    if isinstance(border_mode, str):
        if border_mode not in _NAMED_BORDER_MODES:
            raise ValueError(
                f"border_mode must be 'valid', 'full', 'half', an int or a tuple of {convdim} "
                f"ints or (before, after) pairs, got {border_mode!r}"
            )
        return border_mode
    if isinstance(border_mode, (int, np.integer)):
        border_mode = (border_mode,) * convdim
    entries = tuple(border_mode) if isinstance(border_mode, (tuple, list)) else None
    if entries is None or len(entries) != convdim:
        raise ValueError(
            f"border_mode must be 'valid', 'full', 'half', an int or a tuple of {convdim} "
            f"ints or (before, after) pairs, got {border_mode!r}"
        )
    normalized: list[int | tuple[int, int]] = []
    for entry in entries:
        pair = tuple(entry) if isinstance(entry, (tuple, list)) else (entry, entry)
        if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) for p in pair):
            raise ValueError(f"border_mode entries must be ints or pairs, got {border_mode!r}")
        if pair[0] < 0 or pair[1] < 0:
            raise ValueError(f"border_mode padding must be non-negative, got {border_mode!r}")
        normalized.append(int(pair[0]) if pair[0] == pair[1] else (int(pair[0]), int(pair[1])))
    return tuple(normalized)


def _shape_hint(hint: Any, ndim: int, what: str) -> tuple[int | None, ...]:
    """A shape hint as ints and Nones (symbolic entries that are not constants are unknown)."""
    if hint is None:
        return (None,) * ndim
    entries = tuple(hint)
    if len(entries) != ndim:
        raise ValueError(f"{what} must have {ndim} entries, got {hint!r}")
    known = tuple(None if e is None else known_int(e) for e in entries)
    if any(k is not None and k < 0 for k in known):
        raise ValueError(f"{what} has a negative length: {hint!r}")
    return known


# ---- shape arithmetic (on ints or on symbolic lengths) ----------------------------------------
def _dilated(kernel_length: Any, dilation: int) -> Any:
    return (kernel_length - 1) * dilation + 1


def _axis_padding(border_mode: BorderMode, axis: int, kernel_length: Any, dilation: int):
    """``(before, after)`` zeros on one spatial axis, for filters of that length."""
    if border_mode == "valid":
        return (0, 0)
    if border_mode in ("full", "half"):
        dilated = _dilated(kernel_length, dilation)
        pad = dilated - 1 if border_mode == "full" else dilated // 2
        return (pad, pad)
    entry = border_mode[axis]
    return (entry, entry) if isinstance(entry, int) else entry


def _padding(border_mode: BorderMode, kernel_shape: Sequence[Any], dilation: Sequence[int]):
    """``(before, after)`` zeros per spatial axis, for filters of spatial shape ``kernel_shape``."""
    return [
        _axis_padding(border_mode, axis, k, d)
        for axis, (k, d) in enumerate(zip(kernel_shape, dilation))
    ]


def get_conv_shape_1axis(
    image_shape: Any, kernel_shape: Any, border_mode: Any, subsample: int, dilation: int = 1
) -> Any:
    """Output length along one axis (None if either length is unknown).

    >>> get_conv_shape_1axis(28, 5, "valid", 1), get_conv_shape_1axis(7, 3, "half", 2)
    (24, 4)
    """
    if image_shape is None or kernel_shape is None:
        return None
    mode = border_mode if isinstance(border_mode, str) else normalize_border_mode((border_mode,), 1)
    before, after = _axis_padding(mode, 0, kernel_shape, dilation)
    return (image_shape + before + after - _dilated(kernel_shape, dilation)) // subsample + 1


def get_conv_output_shape(
    image_shape: Sequence[Any],
    kernel_shape: Sequence[Any],
    border_mode: Any,
    subsample: Sequence[int],
    filter_dilation: Sequence[int] | None = None,
) -> tuple:
    """``(batch, out_channels, *spatial)`` of a convolution (Theano's helper; Nones stay None).

    >>> get_conv_output_shape((64, 1, 28, 28), (20, 1, 5, 5), "valid", (1, 1))
    (64, 20, 24, 24)
    """
    convdim = len(image_shape) - 2
    mode = normalize_border_mode(border_mode, convdim)
    dilation = filter_dilation or (1,) * convdim
    spatial = []
    for axis in range(convdim):
        entry = mode if isinstance(mode, str) else mode[axis]
        spatial.append(
            get_conv_shape_1axis(
                image_shape[2 + axis],
                kernel_shape[2 + axis],
                entry,
                subsample[axis],
                dilation[axis],
            )
        )
    return (image_shape[0], kernel_shape[0], *spatial)


def _output_spatial(image_spatial, kernel_spatial, border_mode, subsample, dilation) -> list:
    pads = _padding(border_mode, kernel_spatial, dilation)
    return [
        (i + before + after - _dilated(k, d)) // s + 1
        for i, k, (before, after), s, d in zip(
            image_spatial, kernel_spatial, pads, subsample, dilation
        )
    ]


# ---- the NumPy kernels ------------------------------------------------------------------------
def _pad_or_crop(x: np.ndarray, pads: Sequence[tuple[int, int]]) -> np.ndarray:
    """``x`` with its last ``len(pads)`` axes padded by zeros (positive) or cropped (negative)."""
    if all(before == 0 and after == 0 for before, after in pads):
        return x
    lead = x.ndim - len(pads)
    crop = tuple(
        slice(max(-before, 0), n - max(-after, 0))
        for n, (before, after) in zip(x.shape[lead:], pads)
    )
    x = x[(Ellipsis, *crop)]
    if all(before <= 0 and after <= 0 for before, after in pads):
        return x
    grown = x.shape[:lead] + tuple(
        n + max(before, 0) + max(after, 0) for n, (before, after) in zip(x.shape[lead:], pads)
    )
    padded = np.zeros(grown, dtype=x.dtype)
    inner = tuple(
        slice(max(before, 0), max(before, 0) + n) for n, (before, _) in zip(x.shape[lead:], pads)
    )
    padded[(Ellipsis, *inner)] = x
    return padded


def _columns(image, kernel_spatial, strides, dilation, groups) -> tuple[np.ndarray, tuple]:
    """im2col of a padded image: ``(batch, groups, channels/groups * taps, positions)``.

    Entry ``[b, g, (c, k), o]`` is ``image[b, g * C/G + c, o * stride + k * dilation]``.
    """
    convdim = len(strides)
    batch, channels = image.shape[:2]
    dilated = [_dilated(k, d) for k, d in zip(kernel_spatial, dilation)]
    windows = sliding_window_view(image, dilated, axis=tuple(range(2, 2 + convdim)))
    windows = windows[
        (
            slice(None),
            slice(None),
            *(slice(None, None, s) for s in strides),
            *(slice(None, None, d) for d in dilation),
        )
    ]
    out_spatial = windows.shape[2 : 2 + convdim]
    order = (0, 1, *range(2 + convdim, 2 + 2 * convdim), *range(2, 2 + convdim))
    taps = math.prod(kernel_spatial)
    columns = windows.transpose(order).reshape(
        batch, groups, channels // groups * taps, math.prod(out_spatial)
    )
    return columns, out_spatial


def _correlate(image, kernel, pads, strides, dilation, groups) -> np.ndarray:
    """``out[b, f, o] = sum_{c, k} kernel[f, c, k] * padded[b, group(f) + c, o*s + k*d]``."""
    image = _pad_or_crop(image, pads)
    columns, out_spatial = _columns(image, kernel.shape[2:], strides, dilation, groups)
    filters = kernel.shape[0]
    weights = kernel.reshape(groups, filters // groups, math.prod(kernel.shape[1:]))
    return np.matmul(weights, columns).reshape(image.shape[0], filters, *out_spatial)


def _correlate_grad_weights(image, top, kernel_spatial, pads, strides, dilation, groups):
    """The gradient of ``_correlate`` with respect to its kernel, given the output's ``top``."""
    image = _pad_or_crop(image, pads)
    columns, _ = _columns(image, kernel_spatial, strides, dilation, groups)
    batch, filters = top.shape[:2]
    by_group = top.reshape(batch, groups, filters // groups, math.prod(top.shape[2:]))
    weights = np.matmul(by_group, columns.swapaxes(-1, -2)).sum(axis=0)
    return weights.reshape(filters, image.shape[1] // groups, *kernel_spatial)


def _correlate_grad_inputs(kernel, top, image_spatial, pads, strides, dilation, groups):
    """The gradient of ``_correlate`` with respect to its image, given the output's ``top``.

    col2im: one matmul gives each tap's contribution at every output position,
    ``(batch, groups, channels/groups * taps, positions)``, and each tap's slab
    is added onto the strided grid of image positions it read.
    """
    batch, filters = top.shape[:2]
    per_group, kernel_spatial = kernel.shape[1], kernel.shape[2:]
    out_spatial = top.shape[2:]
    weights = kernel.reshape(groups, filters // groups, per_group * math.prod(kernel_spatial))
    by_group = top.reshape(batch, groups, filters // groups, math.prod(out_spatial))
    columns = np.matmul(weights.swapaxes(-1, -2), by_group)
    columns = columns.reshape(batch, per_group * groups, *kernel_spatial, *out_spatial)
    padded_spatial = [i + before + after for i, (before, after) in zip(image_spatial, pads)]
    padded = np.zeros((batch, per_group * groups, *padded_spatial), dtype=top.dtype)
    if 0 not in out_spatial:
        for tap in np.ndindex(*kernel_spatial):
            grid = tuple(
                slice(k * d, k * d + (o - 1) * s + 1, s)
                for k, d, o, s in zip(tap, dilation, out_spatial, strides)
            )
            padded[(Ellipsis, *grid)] += columns[(slice(None), slice(None), *tap)]
    inner = tuple(slice(before, before + i) for i, (before, _) in zip(image_spatial, pads))
    return padded[(Ellipsis, *inner)]


# ---- the ops ------------------------------------------------------------------------------------
def _float_dtype(name: str, *variables: Variable) -> str:
    dtype = upcast(*(v.dtype for v in variables))
    if dtype not in FLOAT_DTYPES:
        spelled = ", ".join(f"{v!r} ({v.dtype})" for v in variables)
        raise TypeError(f"{name} needs float tensors, got {spelled}")
    return dtype


def _spatial_shape_input(name: str, shape: Any, convdim: int) -> Variable:
    """The spatial-shape argument of a gradient op, as an int64 vector of ``convdim`` entries."""
    if not isinstance(shape, Variable):
        entries = list(shape)
        if len(entries) != convdim:
            raise ValueError(f"{name}: shape must have {convdim} entries, got {shape!r}")
        return shape_vector(entries, f"{name} shape")
    if shape.ndim != 1 or shape.dtype not in INT_DTYPES:
        raise TypeError(f"{name}: shape must be an integer vector, got {shape!r}")
    if shape.type.shape[0] not in (None, convdim):
        raise ValueError(f"{name}: shape must have {convdim} entries, got {shape.type.shape[0]}")
    return shape


def _spatial_of(x: Variable, convdim: int) -> Variable:
    return shape_vector([shape_i(x, axis) for axis in range(2, 2 + convdim)])


class _ConvParameters:
    """What the three ops of one convolution share: parameters, shape checks, siblings."""

    convdim: int
    __props__ = (
        "imshp",
        "kshp",
        "border_mode",
        "subsample",
        "filter_flip",
        "filter_dilation",
        "num_groups",
    )

    def __init__(
        self,
        imshp: Any = None,
        kshp: Any = None,
        border_mode: Any = "valid",
        subsample: Any = None,
        filter_flip: bool = True,
        filter_dilation: Any = None,
        num_groups: int = 1,
    ):
        n = self.convdim
        self.imshp = _shape_hint(imshp, n + 2, "input_shape")
        self.kshp = _shape_hint(kshp, n + 2, "filter_shape")
        self.border_mode = normalize_border_mode(border_mode, n)
        self.subsample = _positive_ints(
            (1,) * n if subsample is None else subsample, n, "subsample"
        )
        self.filter_flip = bool(filter_flip)
        self.filter_dilation = _positive_ints(
            (1,) * n if filter_dilation is None else filter_dilation, n, "filter_dilation"
        )
        if not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
            raise ValueError(f"num_groups must be a positive int, got {num_groups!r}")
        self.num_groups = int(num_groups)

    @property
    def _name(self) -> str:
        return f"conv{self.convdim}d"

    def _sibling(self, kind: str) -> Op:
        forward, grad_weights, grad_inputs = _OPS[self.convdim]
        cls = {"forward": forward, "weights": grad_weights, "inputs": grad_inputs}[kind]
        return cls(**{name: getattr(self, name) for name in self.__props__})

    def _check_ndim(self, x: Variable, what: str) -> None:
        if x.ndim != self.convdim + 2:
            raise TypeError(
                f"{self._name}: the {what} must be {self.convdim + 2}-d (batch, channels, "
                f"{self.convdim} spatial axes), got {x.ndim}-d {x!r}"
            )

    def _merged(self, static: Sequence[int | None], hint: Sequence[int | None], what: str):
        """Static lengths and the hint, merged; disagreeing known lengths are an error."""
        merged = []
        for s, h in zip(static, hint):
            if s is not None and h is not None and s != h:
                raise ValueError(
                    f"{self._name}: the {what} has static shape {tuple(static)}, but "
                    f"{what}_shape={tuple(hint)} was declared"
                )
            merged.append(s if s is not None else h)
        return merged

    def _check_shapes(
        self, image_shape: Sequence[int | None], kernel_shape: Sequence[int | None]
    ) -> list[int | None]:
        """Check an image and filter shape (None: unknown) against each other and the hints;
        return the output shape (None where unknown)."""
        for what, hint, shape in (
            ("input", self.imshp, image_shape),
            ("filter", self.kshp, kernel_shape),
        ):
            if any(h is not None and a is not None and h != a for h, a in zip(hint, shape)):
                raise ValueError(
                    f"{self._name}: the {what} has shape {tuple(shape)}, but "
                    f"{what}_shape={tuple(hint)} was declared"
                )
        groups = self.num_groups
        channels, per_group, filters = image_shape[1], kernel_shape[1], kernel_shape[0]
        if channels is not None and per_group is not None and channels != per_group * groups:
            raise ValueError(
                f"{self._name}: the input has {channels} channels (shape {tuple(image_shape)}), "
                f"but the filters (shape {tuple(kernel_shape)}) with num_groups={groups} expect "
                f"{per_group * groups}"
            )
        if filters is not None and filters % groups:
            raise ValueError(
                f"{self._name}: {filters} filters (filter shape {tuple(kernel_shape)}) do not "
                f"split into num_groups={groups} groups"
            )
        if channels is not None and channels % groups:
            raise ValueError(
                f"{self._name}: {channels} input channels (input shape {tuple(image_shape)}) "
                f"do not split into num_groups={groups} groups"
            )
        spatial = []
        for axis, (i, k) in enumerate(zip(image_shape[2:], kernel_shape[2:])):
            if k is not None and k < 1:
                raise ValueError(
                    f"{self._name}: the filters have an empty spatial axis (shape "
                    f"{tuple(kernel_shape)})"
                )
            if i is None or k is None:
                spatial.append(None)
                continue
            before, after = _axis_padding(self.border_mode, axis, k, self.filter_dilation[axis])
            dilated = _dilated(k, self.filter_dilation[axis])
            if i + before + after < dilated:
                raise ValueError(
                    f"{self._name}: the input (shape {tuple(image_shape)}, padded by "
                    f"{(before, after)} on spatial axis {axis}) is smaller than the filters "
                    f"(shape {tuple(kernel_shape)}, dilation {self.filter_dilation}), "
                    f"border_mode={self.border_mode!r}"
                )
            spatial.append((i + before + after - dilated) // self.subsample[axis] + 1)
        return [image_shape[0], filters, *spatial]

    def _check_top(self, top_shape, expected) -> None:
        if any(t is not None and e is not None and t != e for t, e in zip(top_shape, expected)):
            raise ValueError(
                f"{self._name} gradient: the output gradient has shape {tuple(top_shape)}, but "
                f"the convolution's output has shape {tuple(expected)}"
            )

    # The kernel as the correlation applies it: turned around for a true convolution.
    def _flipped(self, kernel: np.ndarray) -> np.ndarray:
        if not self.filter_flip:
            return kernel
        return kernel[(Ellipsis, *(slice(None, None, -1) for _ in range(self.convdim)))]

    def _pads(self, kernel_spatial) -> list[tuple[int, int]]:
        return _padding(self.border_mode, kernel_spatial, self.filter_dilation)

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True], [True]] + [[False]] * (len(node.inputs) - 2)


class _Convolution(_ConvParameters):
    """``op(input, filters)``: the convolution."""

    def make_node(self, img: Any, kern: Any) -> Apply:
        img, kern = as_tensor_variable(img), as_tensor_variable(kern)
        self._check_ndim(img, "input")
        self._check_ndim(kern, "filters")
        dtype = _float_dtype(self._name, img, kern)
        image_shape = self._merged(img.type.shape, self.imshp, "input")
        kernel_shape = self._merged(kern.type.shape, self.kshp, "filter")
        output_shape = self._check_shapes(image_shape, kernel_shape)
        return Apply(self, [img, kern], [TensorType(dtype, shape=output_shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        img, kern = inputs
        self._check_shapes(img.shape, kern.shape)
        dtype = node.outputs[0].dtype
        output_storage[0][0] = _correlate(
            img.astype(dtype, copy=False),
            self._flipped(kern.astype(dtype, copy=False)),
            self._pads(kern.shape[2:]),
            self.subsample,
            self.filter_dilation,
            self.num_groups,
        )

    def infer_shape(self, node, input_shapes):
        image_shape, kernel_shape = input_shapes
        spatial = _output_spatial(
            image_shape[2:],
            kernel_shape[2:],
            self.border_mode,
            self.subsample,
            self.filter_dilation,
        )
        return [(image_shape[0], kernel_shape[0], *spatial)]

    def L_op(self, inputs, outputs, output_grads):
        img, kern = inputs
        (top,) = output_grads
        d_img = self._sibling("inputs")(kern, top, _spatial_of(img, self.convdim))
        d_kern = self._sibling("weights")(img, top, _spatial_of(kern, self.convdim))
        return [d_img, d_kern]


class _GradWeights(_ConvParameters):
    """``op(input, output_grad, filter_spatial_shape)``: the gradient with respect to the filters."""

    def make_node(self, img: Any, topgrad: Any, shape: Any) -> Apply:
        img, topgrad = as_tensor_variable(img), as_tensor_variable(topgrad)
        self._check_ndim(img, "input")
        self._check_ndim(topgrad, "output gradient")
        shape = _spatial_shape_input(f"{self._name} gradWeights", shape, self.convdim)
        dtype = _float_dtype(self._name, img, topgrad)
        image_shape = self._merged(img.type.shape, self.imshp, "input")
        channels = image_shape[1]
        per_group = None if channels is None else channels // self.num_groups
        kernel_static = [topgrad.type.shape[1], per_group, *static_entries(shape)]
        kernel_shape = self._merged(kernel_static, self.kshp, "filter")
        self._check_top(topgrad.type.shape, self._check_shapes(image_shape, kernel_shape))
        output = TensorType(dtype, shape=kernel_shape).make_variable()
        return Apply(self, [img, topgrad, shape], [output])

    def perform(self, node, inputs, output_storage):
        img, top, shape = inputs
        kernel_shape = (top.shape[1], img.shape[1] // self.num_groups, *map(int, shape))
        self._check_top(top.shape, self._check_shapes(img.shape, kernel_shape))
        dtype = node.outputs[0].dtype
        weights = _correlate_grad_weights(
            img.astype(dtype, copy=False),
            top.astype(dtype, copy=False),
            kernel_shape[2:],
            self._pads(kernel_shape[2:]),
            self.subsample,
            self.filter_dilation,
            self.num_groups,
        )
        output_storage[0][0] = np.ascontiguousarray(self._flipped(weights))

    def infer_shape(self, node, input_shapes):
        image_shape, top_shape, _ = input_shapes
        spatial = [vector_entry(node.inputs[2], axis) for axis in range(self.convdim)]
        return [(top_shape[1], image_shape[1] // self.num_groups, *spatial)]

    def L_op(self, inputs, outputs, output_grads):
        img, top, _ = inputs
        (d_kern,) = output_grads
        d_img = self._sibling("inputs")(d_kern, top, _spatial_of(img, self.convdim))
        d_top = self._sibling("forward")(img, d_kern)
        return [d_img, d_top, None]


class _GradInputs(_ConvParameters):
    """``op(filters, output_grad, input_spatial_shape)``: the gradient with respect to the input,
    or the transposed convolution."""

    def make_node(self, kern: Any, topgrad: Any, shape: Any) -> Apply:
        kern, topgrad = as_tensor_variable(kern), as_tensor_variable(topgrad)
        self._check_ndim(kern, "filters")
        self._check_ndim(topgrad, "output gradient")
        shape = _spatial_shape_input(f"{self._name} gradInputs", shape, self.convdim)
        dtype = _float_dtype(self._name, kern, topgrad)
        kernel_shape = self._merged(kern.type.shape, self.kshp, "filter")
        per_group = kernel_shape[1]
        channels = None if per_group is None else per_group * self.num_groups
        image_static = [topgrad.type.shape[0], channels, *static_entries(shape)]
        image_shape = self._merged(image_static, self.imshp, "input")
        self._check_top(topgrad.type.shape, self._check_shapes(image_shape, kernel_shape))
        output = TensorType(dtype, shape=image_shape).make_variable()
        return Apply(self, [kern, topgrad, shape], [output])

    def perform(self, node, inputs, output_storage):
        kern, top, shape = inputs
        image_shape = (top.shape[0], kern.shape[1] * self.num_groups, *map(int, shape))
        self._check_top(top.shape, self._check_shapes(image_shape, kern.shape))
        dtype = node.outputs[0].dtype
        output_storage[0][0] = _correlate_grad_inputs(
            self._flipped(kern.astype(dtype, copy=False)),
            top.astype(dtype, copy=False),
            image_shape[2:],
            self._pads(kern.shape[2:]),
            self.subsample,
            self.filter_dilation,
            self.num_groups,
        )

    def infer_shape(self, node, input_shapes):
        kernel_shape, top_shape, _ = input_shapes
        spatial = [vector_entry(node.inputs[2], axis) for axis in range(self.convdim)]
        return [(top_shape[0], kernel_shape[1] * self.num_groups, *spatial)]

    def L_op(self, inputs, outputs, output_grads):
        kern, top, _ = inputs
        (d_img,) = output_grads
        d_kern = self._sibling("weights")(d_img, top, _spatial_of(kern, self.convdim))
        d_top = self._sibling("forward")(d_img, kern)
        return [d_kern, d_top, None]


class AbstractConv2d(_Convolution, Op):
    """2-d convolution of ``(batch, channels, rows, cols)`` inputs (see the module docstring)."""

    convdim = 2


class AbstractConv2d_gradWeights(_GradWeights, Op):
    """Gradient of ``AbstractConv2d`` with respect to its filters."""

    convdim = 2


class AbstractConv2d_gradInputs(_GradInputs, Op):
    """Gradient of ``AbstractConv2d`` with respect to its input (transposed convolution)."""

    convdim = 2


class AbstractConv3d(_Convolution, Op):
    """3-d convolution of ``(batch, channels, depth, rows, cols)`` inputs."""

    convdim = 3


class AbstractConv3d_gradWeights(_GradWeights, Op):
    """Gradient of ``AbstractConv3d`` with respect to its filters."""

    convdim = 3


class AbstractConv3d_gradInputs(_GradInputs, Op):
    """Gradient of ``AbstractConv3d`` with respect to its input (transposed convolution)."""

    convdim = 3


_OPS = {
    2: (AbstractConv2d, AbstractConv2d_gradWeights, AbstractConv2d_gradInputs),
    3: (AbstractConv3d, AbstractConv3d_gradWeights, AbstractConv3d_gradInputs),
}


# ---- the functions ------------------------------------------------------------------------------
def _full_shape(shape: Sequence[Any], convdim: int, what: str) -> tuple[list, list]:
    """A full shape argument as (a hint of ints and Nones, its spatial entries, all given)."""
    entries = list(shape)
    if len(entries) != convdim + 2:
        raise ValueError(f"{what} must have {convdim + 2} entries, got {shape!r}")
    if any(e is None for e in entries[2:]):
        raise ValueError(f"the spatial entries of {what} must be given, got {shape!r}")
    return [None if e is None else known_int(e) for e in entries], entries[2:]


def conv2d(
    input: Any,
    filters: Any,
    input_shape: Sequence[Any] | None = None,
    filter_shape: Sequence[Any] | None = None,
    border_mode: Any = "valid",
    subsample: Sequence[int] = (1, 1),
    filter_flip: bool = True,
    image_shape: Sequence[Any] | None = None,
    filter_dilation: Sequence[int] = (1, 1),
    num_groups: int = 1,
    unshared: bool = False,
):
    """2-d convolution of a 4-d input ``(batch, channels, rows, cols)`` with 4-d filters
    ``(out_channels, channels // num_groups, rows, cols)`` (Theano's ``nnet.conv2d``).

    ``input_shape``/``filter_shape`` are optional hints (None where unknown),
    checked against the actual shapes; ``image_shape`` is their old name.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.tensor4("x")
    >>> y = conv2d(x, np.ones((1, 1, 2, 2)), border_mode="valid")
    >>> y.eval({x: np.arange(9.0).reshape(1, 1, 3, 3)}).tolist()
    [[[[8.0, 12.0], [20.0, 24.0]]]]
    """
    if unshared:
        raise NotImplementedError("conv2d: unshared (locally connected) filters are not supported")
    if image_shape is not None:
        if input_shape is not None:
            raise ValueError("conv2d: give input_shape or its old name image_shape, not both")
        input_shape = image_shape
    op = AbstractConv2d(
        input_shape, filter_shape, border_mode, subsample, filter_flip, filter_dilation, num_groups
    )
    return op(input, filters)


def conv3d(
    input: Any,
    filters: Any,
    input_shape: Sequence[Any] | None = None,
    filter_shape: Sequence[Any] | None = None,
    border_mode: Any = "valid",
    subsample: Sequence[int] = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Sequence[int] = (1, 1, 1),
    num_groups: int = 1,
):
    """3-d convolution of a 5-d input ``(batch, channels, depth, rows, cols)`` with 5-d filters;
    the arguments are ``conv2d``'s, one entry per spatial axis.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.tensor5("x")
    >>> conv3d(x, np.ones((1, 1, 2, 2, 2))).eval({x: np.ones((1, 1, 2, 3, 3))}).shape
    (1, 1, 1, 2, 2)
    """
    op = AbstractConv3d(
        input_shape, filter_shape, border_mode, subsample, filter_flip, filter_dilation, num_groups
    )
    return op(input, filters)


def conv2d_grad_wrt_inputs(
    output_grad: Any,
    filters: Any,
    input_shape: Sequence[Any],
    filter_shape: Sequence[Any] | None = None,
    border_mode: Any = "valid",
    subsample: Sequence[int] = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Sequence[int] = (1, 1),
    num_groups: int = 1,
):
    """The gradient of ``conv2d`` with respect to its input, for an input of ``input_shape``
    (whose spatial entries must be given: with strides they are not implied by the output)."""
    hint, spatial = _full_shape(input_shape, 2, "input_shape")
    op = AbstractConv2d_gradInputs(
        hint, filter_shape, border_mode, subsample, filter_flip, filter_dilation, num_groups
    )
    return op(filters, output_grad, spatial)


def conv2d_grad_wrt_weights(
    input: Any,
    output_grad: Any,
    filter_shape: Sequence[Any],
    input_shape: Sequence[Any] | None = None,
    border_mode: Any = "valid",
    subsample: Sequence[int] = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Sequence[int] = (1, 1),
    num_groups: int = 1,
):
    """The gradient of ``conv2d`` with respect to its filters, of ``filter_shape``."""
    hint, spatial = _full_shape(filter_shape, 2, "filter_shape")
    op = AbstractConv2d_gradWeights(
        input_shape, hint, border_mode, subsample, filter_flip, filter_dilation, num_groups
    )
    return op(input, output_grad, spatial)


def conv3d_grad_wrt_inputs(
    output_grad: Any,
    filters: Any,
    input_shape: Sequence[Any],
    filter_shape: Sequence[Any] | None = None,
    border_mode: Any = "valid",
    subsample: Sequence[int] = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Sequence[int] = (1, 1, 1),
    num_groups: int = 1,
):
    """The gradient of ``conv3d`` with respect to its input, for an input of ``input_shape``."""
    hint, spatial = _full_shape(input_shape, 3, "input_shape")
    op = AbstractConv3d_gradInputs(
        hint, filter_shape, border_mode, subsample, filter_flip, filter_dilation, num_groups
    )
    return op(filters, output_grad, spatial)


def conv3d_grad_wrt_weights(
    input: Any,
    output_grad: Any,
    filter_shape: Sequence[Any],
    input_shape: Sequence[Any] | None = None,
    border_mode: Any = "valid",
    subsample: Sequence[int] = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Sequence[int] = (1, 1, 1),
    num_groups: int = 1,
):
    """The gradient of ``conv3d`` with respect to its filters, of ``filter_shape``."""
    hint, spatial = _full_shape(filter_shape, 3, "filter_shape")
    op = AbstractConv3d_gradWeights(
        input_shape, hint, border_mode, subsample, filter_flip, filter_dilation, num_groups
    )
    return op(input, output_grad, spatial)


def conv2d_transpose(
    input: Any,
    filters: Any,
    output_shape: Sequence[Any],
    filter_shape: Sequence[Any] | None = None,
    border_mode: Any = "valid",
    input_dilation: Sequence[int] = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Sequence[int] = (1, 1),
    num_groups: int = 1,
):
    """The transpose of ``conv2d`` (sometimes called deconvolution): maps a ``conv2d`` output
    back to an input of ``output_shape``; ``input_dilation`` is that ``conv2d``'s subsample.

    ``filters`` are ``(channels of input, channels of the result // num_groups, rows, cols)``.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.tensor4("x")
    >>> y = conv2d_transpose(x, np.ones((1, 1, 2, 2)), (1, 1, 3, 3))
    >>> y.eval({x: np.ones((1, 1, 2, 2))}).tolist()
    [[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]
    """
    return conv2d_grad_wrt_inputs(
        input,
        filters,
        output_shape,
        filter_shape,
        border_mode,
        input_dilation,
        filter_flip,
        filter_dilation,
        num_groups,
    )


# ---- bilinear upsampling --------------------------------------------------------------------
def bilinear_kernel_1D(ratio: int, normalize: bool = True):
    """The triangle ``1, 2, ..., ratio, ..., 2, 1`` (divided by ``ratio`` when ``normalize``).

    >>> bilinear_kernel_1D(3).eval().tolist()
    [0.3333333333333333, 0.6666666666666666, 1.0, 0.6666666666666666, 0.3333333333333333]
    """
    from arignote.config import config
    from arignote.tensor.basic import constant

    ramp = np.arange(1, ratio + 1, dtype=config.floatX)
    kernel = np.concatenate([ramp, ramp[-2::-1]])
    return constant(kernel / ratio if normalize else kernel)


def bilinear_kernel_2D(ratio: int, normalize: bool = True):
    """The outer product of two ``bilinear_kernel_1D``: a ``(2r-1, 2r-1)`` pyramid."""
    kernel = bilinear_kernel_1D(ratio, normalize)
    return kernel.dimshuffle(0, "x") * kernel.dimshuffle("x", 0)


def bilinear_upsampling(
    input: Any,
    ratio: int | None = None,
    frac_ratio: Any = None,
    batch_size: int | None = None,
    num_input_channels: int | None = None,
    use_1D_kernel: bool = True,
):
    """Upsample the last two axes of a 4-d ``input`` by an integer ``ratio``, bilinearly.

    As in Theano: the image is extended by one copy of its border rows and
    columns, then transposed-convolved with ``bilinear_kernel_1D`` (rows, then
    columns; or once with ``bilinear_kernel_2D`` when ``use_1D_kernel`` is
    False) at stride ``ratio``. For an odd ratio this is interpolation at the
    pixel centres with the edges held; for an even one it is shifted half an
    output pixel towards the origin, as Theano's was. ``frac_ratio`` (fractional
    ratios) is not supported.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.tensor4("x")
    >>> bilinear_upsampling(x, 3).eval({x: np.array([[[[0.0, 3.0]]]])})[0, 0, 0].tolist()
    [0.0, 0.0, 1.0, 2.0, 3.0, 3.0]
    """
    from arignote.tensor.join import concatenate

    if frac_ratio is not None:
        raise NotImplementedError("bilinear_upsampling: frac_ratio is not supported")
    if ratio is None or not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise ValueError(f"bilinear_upsampling needs a positive int ratio, got {ratio!r}")
    input = as_tensor_variable(input)
    if input.ndim != 4:
        raise TypeError(f"bilinear_upsampling needs a 4-d input, got {input.ndim}-d {input!r}")
    ratio = int(ratio)
    planes = (
        batch_size * num_input_channels
        if batch_size is not None and num_input_channels is not None
        else None
    )
    rows, cols = input.shape[2], input.shape[3]
    stacked = input.reshape((-1, 1, rows, cols))
    extended = concatenate([stacked[:, :, :1], stacked, stacked[:, :, -1:]], axis=2)
    extended = concatenate([extended[:, :, :, :1], extended, extended[:, :, :, -1:]], axis=3)
    # Zeros that centre the (2r-1)-tap kernel's output on the original pixels.
    pad = 2 * ratio - (ratio - 1) // 2 - 1
    dtype = input.dtype if input.dtype in FLOAT_DTYPES else None
    kernel = bilinear_kernel_1D(ratio) if dtype is None else cast(bilinear_kernel_1D(ratio), dtype)
    if use_1D_kernel:
        upsampled_rows = conv2d_grad_wrt_inputs(
            extended,
            kernel.dimshuffle("x", "x", 0, "x"),
            (planes, 1, rows * ratio, cols + 2),
            (1, 1, 2 * ratio - 1, 1),
            border_mode=(pad, 0),
            subsample=(ratio, 1),
        )
        upsampled = conv2d_grad_wrt_inputs(
            upsampled_rows,
            kernel.dimshuffle("x", "x", "x", 0),
            (planes, 1, rows * ratio, cols * ratio),
            (1, 1, 1, 2 * ratio - 1),
            border_mode=(0, pad),
            subsample=(1, ratio),
        )
    else:
        upsampled = conv2d_grad_wrt_inputs(
            extended,
            (kernel.dimshuffle(0, "x") * kernel.dimshuffle("x", 0)).dimshuffle("x", "x", 0, 1),
            (planes, 1, rows * ratio, cols * ratio),
            (1, 1, 2 * ratio - 1, 2 * ratio - 1),
            border_mode=(pad, pad),
            subsample=(ratio, ratio),
        )
    return upsampled.reshape((input.shape[0], input.shape[1], rows * ratio, cols * ratio))
