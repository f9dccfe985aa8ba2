"""Joining and splitting: ``join``/``concatenate``, ``stack``/``stacklists`` and ``split``.

``Join`` takes the axis as its first input, as in Theano, so the axis may be
symbolic; when it is a constant the output's static shape is exact and
shape mismatches between inputs are reported when the graph is built. The
inputs keep their dtypes and the output has their upcast. ``Split`` is
``Join``'s inverse and its gradient: the gradient of a join is the output
gradient split back into the inputs' lengths, and vice versa.

``stack`` inserts a broadcastable axis into each input and joins along it;
scalars are stacked into a vector with ``MakeVector`` (as in Theano), whose
entries shape reasoning can read back (``as_tensor_variable([n, 3])`` relies
on this).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import INT_DTYPES, upcast
from arignote.tensor.basic import (
    NotScalarConstantError,
    as_tensor_variable,
    cast,
    constant,
    get_scalar_constant_value,
)
from arignote.tensor.elemwise import DimShuffle
from arignote.tensor.shape import MakeVector, known_int, shape_i, shape_vector, vector_entry
from arignote.tensor.type import TensorType


def _axis_argument(axis: Any, what: str) -> tuple[Variable, int | None]:
    """The axis as an int64 scalar variable, with its value when it is a constant."""
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return constant(np.int64(axis)), int(axis)
    variable = as_tensor_variable(axis)
    if variable.ndim != 0 or variable.dtype not in INT_DTYPES:
        raise TypeError(f"{what}: the axis must be an integer scalar, got {variable}")
    try:
        static = int(get_scalar_constant_value(variable))
    except NotScalarConstantError:
        static = None
    return cast(variable, "int64"), static


def _normalized_axis(axis: int, ndim: int, what: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for {ndim}-dimensional inputs")
    return axis % ndim


def static_shape_text(shape: Sequence[int | None]) -> str:
    """A static shape as text, ``?`` for unknown lengths: ``(?, 3)``."""
    text = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({text},)" if len(shape) == 1 else f"({text})"


def _joined_static_shape(tensors: Sequence[Variable], axis: int) -> tuple[int | None, ...]:
    """The output's static shape; inputs must agree on every axis but ``axis``."""
    result: list[int | None] = []
    for dim in range(tensors[0].ndim):
        lengths = [t.type.shape[dim] for t in tensors]
        if dim == axis:
            result.append(None if None in lengths else sum(lengths))
            continue
        known = [(position, s) for position, s in enumerate(lengths) if s is not None]
        for position, length in known:
            first, first_length = known[0]
            if length != first_length:
                raise ValueError(
                    f"join along axis {axis}: input {position} ({tensors[position]}) has "
                    f"static shape {static_shape_text(tensors[position].type.shape)}, but "
                    f"input {first} ({tensors[first]}) has "
                    f"{static_shape_text(tensors[first].type.shape)}; they must agree on "
                    f"axis {dim}"
                )
        result.append(known[0][1] if known else None)
    return tuple(result)


class Join(Op):
    """``np.concatenate`` of the inputs along the axis given as input 0.

    >>> import arignote.tensor as T
    >>> join(0, T.matrix("a"), T.row("b")).type
    TensorType(float64, matrix)
    """

    __props__ = ()

    def make_node(self, axis: Any, *tensors: Any) -> Apply:
        if not tensors:
            raise ValueError("join needs at least one tensor")
        axis_variable, static_axis = _axis_argument(axis, "join")
        tensors = [as_tensor_variable(t) for t in tensors]
        ndim = tensors[0].ndim
        if ndim == 0:
            raise TypeError(
                f"join cannot join 0-d tensors ({tensors[0]}); use stack to make a vector "
                "of scalars"
            )
        for position, tensor in enumerate(tensors):
            if tensor.ndim != ndim:
                raise TypeError(
                    f"join: all inputs must have the same number of dimensions; input 0 "
                    f"({tensors[0]}) has {ndim}, input {position} ({tensor}) has {tensor.ndim}"
                )
        if static_axis is None:
            shape: tuple[int | None, ...] = (None,) * ndim
        else:
            static_axis = _normalized_axis(static_axis, ndim, "join")
            shape = _joined_static_shape(tensors, static_axis)
            axis_variable = constant(np.int64(static_axis))
        dtype = upcast(*(t.dtype for t in tensors))
        output = TensorType(dtype, shape=shape).make_variable()
        return Apply(self, [axis_variable, *tensors], [output])

    def perform(self, node, inputs, output_storage):
        axis, *arrays = inputs
        ndim = arrays[0].ndim
        axis = _normalized_axis(int(axis), ndim, "join")
        first = arrays[0].shape
        for position, array in enumerate(arrays):
            if array.ndim != ndim or any(
                array.shape[d] != first[d] for d in range(ndim) if d != axis
            ):
                raise ValueError(
                    f"join along axis {axis}: input {position} has shape {array.shape}, but "
                    f"input 0 has shape {first}; they must agree on every other axis"
                )
        dtype = node.outputs[0].dtype
        output_storage[0][0] = np.concatenate(arrays, axis=axis, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import eq, lt, switch

        axis = node.inputs[0]
        shapes = input_shapes[1:]
        static = node.outputs[0].type.shape
        ndim = len(static)

        def total(dim: int):
            lengths = [shape[dim] for shape in shapes]
            result = lengths[0]
            for length in lengths[1:]:
                result = result + length
            return result

        if isinstance(axis, Constant):
            joined = int(axis.data)
            return [
                tuple(
                    static[d]
                    if static[d] is not None
                    else (total(d) if d == joined else shapes[0][d])
                    for d in range(ndim)
                )
            ]
        axis = switch(lt(axis, 0), axis + ndim, axis)
        return [tuple(switch(eq(axis, d), total(d), shapes[0][d]) for d in range(ndim))]

    def connection_pattern(self, node):
        return [[False]] + [[True] for _ in node.inputs[1:]]

    def L_op(self, inputs, outputs, output_grads):
        # Integer inputs get no gradient from ``grad`` whatever is returned for them.
        axis, *tensors = inputs
        (gz,) = output_grads
        sizes = [_length_along(t, axis) for t in tensors]
        return [None] + split(gz, sizes, len(tensors), axis)


def _length_along(tensor: Variable, axis: Variable) -> Any:
    """The length of ``tensor`` along ``axis``: an int when static, else symbolic."""
    if isinstance(axis, Constant):
        dim = int(axis.data)
        if tensor.type.shape[dim] is not None:
            return tensor.type.shape[dim]
        return shape_i(tensor, dim)
    return tensor.shape[axis]


_join = Join()


def join(axis: Any, *tensors: Any):
    """Concatenate ``tensors`` along ``axis`` (Theano's argument order: axis first).

    >>> join(1, np.ones((2, 1)), np.zeros((2, 2))).eval().tolist()
    [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    if len(tensors) == 1:
        return as_tensor_variable(tensors[0])
    return _join(axis, *tensors)


def concatenate(tensor_list: Sequence[Any], axis: Any = 0):
    """``join(axis, *tensor_list)``, NumPy's spelling.

    >>> concatenate([np.arange(2), np.arange(3)]).eval().tolist()
    [0, 1, 0, 1, 2]
    """
    if not isinstance(tensor_list, (list, tuple)):
        raise TypeError(
            "concatenate takes a list or tuple of tensors (did you forget the [] around "
            f"them?), got {tensor_list!r}"
        )
    return join(axis, *tensor_list)


def horizontal_stack(*matrices: Any):
    """Join matrices side by side (along axis 1)."""
    matrices = [as_tensor_variable(m) for m in matrices]
    for m in matrices:
        if m.ndim != 2:
            raise TypeError(f"horizontal_stack joins matrices, got {m} of type {m.type}")
    return join(1, *matrices)


def vertical_stack(*matrices: Any):
    """Join matrices one above the other (along axis 0)."""
    matrices = [as_tensor_variable(m) for m in matrices]
    for m in matrices:
        if m.ndim != 2:
            raise TypeError(f"vertical_stack joins matrices, got {m} of type {m.type}")
    return join(0, *matrices)


def stack(*tensors: Any, axis: int | None = None):
    """Stack same-shaped tensors along a new axis (default 0); scalars give a vector.

    Takes ``stack([a, b], axis)`` or, as older Theano did, ``stack(a, b, c)``.

    >>> stack([1.5, np.float64(2)]).eval().tolist()
    [1.5, 2.0]
    """
    if not tensors:
        raise TypeError("stack needs a list of tensors")
    if isinstance(tensors[0], (list, tuple)):
        if len(tensors) > 2:
            raise TypeError("stack takes a list of tensors and an axis")
        if len(tensors) == 2:
            if axis is not None:
                raise TypeError("stack got the axis twice")
            axis = tensors[1]
        tensors = tuple(tensors[0])
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    axis = 0 if axis is None else axis
    tensors = tuple(as_tensor_variable(t) for t in tensors)
    ndim = tensors[0].ndim
    for position, tensor in enumerate(tensors):
        if tensor.ndim != ndim:
            raise TypeError(
                f"stack: all tensors must have the same number of dimensions; tensor 0 "
                f"({tensors[0]}) has {ndim}, tensor {position} ({tensor}) has {tensor.ndim}"
            )
    if not isinstance(axis, (int, np.integer)) or not -ndim - 1 <= axis <= ndim:
        raise ValueError(f"stack: axis {axis!r} is out of range for {ndim + 1} dimensions")
    axis = int(axis) % (ndim + 1)
    if ndim == 0:
        return MakeVector(upcast(*(t.dtype for t in tensors)))(*tensors)
    pattern = (*range(axis), "x", *range(axis, ndim))
    return join(axis, *(DimShuffle(ndim, pattern)(t) for t in tensors))


def stacklists(arg: Any):
    """Nested lists of tensors (or numbers) stacked into one tensor; the nesting gives the
    leading axes, as in Theano.

    >>> import arignote.tensor as T
    >>> a, b, c, d = T.scalars("a", "b", "c", "d")
    >>> stacklists([[a, b], [c, d]]).eval({a: 1.0, b: 2.0, c: 3.0, d: 4.0}).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    if isinstance(arg, (list, tuple)):
        # Recursion as deep as the nesting: a few levels, one per axis.
        return stack([stacklists(item) for item in arg])
    return as_tensor_variable(arg)


def _as_split_sizes(sizes: Any) -> Variable:
    """Split sizes (a list of ints or int scalars, or an int vector) as an int64 vector."""
    if isinstance(sizes, (list, tuple)):
        return shape_vector(sizes, "split: splits_size")
    sizes = as_tensor_variable(sizes)
    if sizes.ndim != 1 or sizes.dtype not in INT_DTYPES:
        raise TypeError(f"split: splits_size must be an integer vector, got {sizes}")
    return cast(sizes, "int64")


class Split(Op):
    """Cut ``x`` along ``axis`` into ``len_splits`` pieces of the given lengths (views)."""

    __props__ = ("len_splits",)

    def __init__(self, len_splits: int):
        self.len_splits = int(len_splits)
        if self.len_splits < 1:
            raise ValueError(f"split makes at least one piece, not {len_splits}")

    def make_node(self, x: Any, axis: Any, splits: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise TypeError(f"split cannot cut the 0-d tensor {x}")
        axis_variable, static_axis = _axis_argument(axis, "split")
        splits = _as_split_sizes(splits)
        if splits.type.shape[0] not in (None, self.len_splits):
            raise ValueError(
                f"split into {self.len_splits} pieces got {splits.type.shape[0]} sizes"
            )
        if static_axis is None:
            shapes = [(None,) * x.ndim] * self.len_splits
        else:
            static_axis = _normalized_axis(static_axis, x.ndim, "split")
            axis_variable = constant(np.int64(static_axis))
            lengths = [known_int(vector_entry(splits, i)) for i in range(self.len_splits)]
            length = x.type.shape[static_axis]
            if None not in lengths and length is not None and sum(lengths) != length:
                raise ValueError(
                    f"split: the sizes {lengths} add up to {sum(lengths)}, but axis "
                    f"{static_axis} of {x} has length {length}"
                )
            shapes = [
                x.type.shape[:static_axis] + (piece,) + x.type.shape[static_axis + 1 :]
                for piece in lengths
            ]
        outputs = [TensorType(x.dtype, shape=shape).make_variable() for shape in shapes]
        return Apply(self, [x, axis_variable, splits], outputs)

    def perform(self, node, inputs, output_storage):
        x, axis, splits = inputs
        axis = _normalized_axis(int(axis), x.ndim, "split")
        if len(splits) != self.len_splits:
            raise ValueError(f"split into {self.len_splits} pieces got {len(splits)} sizes")
        if np.any(splits < 0) or int(np.sum(splits)) != x.shape[axis]:
            raise ValueError(
                f"split: the sizes {splits.tolist()} must be non-negative and add up to "
                f"{x.shape[axis]}, the length of axis {axis} of the input of shape {x.shape}"
            )
        pieces = np.split(x, np.cumsum(splits)[:-1], axis=axis)
        for cell, piece in zip(output_storage, pieces):
            cell[0] = piece

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import eq, lt, switch

        x, axis, splits = node.inputs
        entries = [vector_entry(splits, i) for i in range(self.len_splits)]
        x_shape = tuple(input_shapes[0])
        if isinstance(axis, Constant):
            dim = int(axis.data)
            return [x_shape[:dim] + (entry,) + x_shape[dim + 1 :] for entry in entries]
        axis = switch(lt(axis, 0), axis + x.ndim, axis)
        return [
            tuple(switch(eq(axis, d), entry, x_shape[d]) for d in range(x.ndim))
            for entry in entries
        ]

    def connection_pattern(self, node):
        return [[True] * self.len_splits, [False] * self.len_splits, [False] * self.len_splits]

    def L_op(self, inputs, outputs, output_grads):
        return [join(inputs[1], *output_grads), None, None]


def split(x: Any, splits_size: Any, n_splits: int, axis: Any = 0) -> list:
    """Cut ``x`` along ``axis`` into ``n_splits`` pieces of lengths ``splits_size``.

    Always returns a list (also for one piece).

    >>> [p.eval().tolist() for p in split(np.arange(5), [2, 3], 2)]
    [[0, 1], [2, 3, 4]]
    """
    pieces = Split(n_splits)(x, axis, splits_size)
    return pieces if isinstance(pieces, list) else [pieces]


__all__ = [
    "Join",
    "Split",
    "concatenate",
    "horizontal_stack",
    "join",
    "split",
    "stack",
    "stacklists",
    "vertical_stack",
]
