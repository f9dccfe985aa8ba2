"""Ops that move or replicate elements: ``roll``, ``tile``, ``repeat``, diagonals, triangles.

All but ``repeat`` with a vector of counts are composites of basic ops, so
they inherit gradients, shape inference and every backend:

- ``roll`` joins two slices (``Subtensor`` + ``Join``); the shift may be
  symbolic, and is taken modulo the axis length first, so the slice bounds
  are never negative and never wrap.
- ``tile`` and ``repeat`` with one count insert a broadcastable axis,
  ``Alloc`` it to the count and ``Reshape`` it away; the gradient sums the
  copies back through ``Alloc``'s pullback.
- ``diagonal`` moves the two axes last, flattens them, and takes the strided
  slice ``start::columns + 1`` (NumPy's layout); ``diag`` of a vector sets
  that slice of a flat zero vector.
- ``tril``/``triu`` select with ``switch`` on an ``arange`` comparison, so
  entries outside the triangle are exact zeros even where ``x`` is inf/nan.

``Repeat`` (one count per element along an axis) is a real op, and so is
its adjoint ``SegmentSum`` (sums of consecutive runs of given lengths): each
is the other's pullback, so gradients of any order exist.

Lengths are Python ints when the static shape knows them and int64 scalars
otherwise, so static output shapes are exact whenever the inputs' are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import DISCRETE_DTYPES, INT_DTYPES
from arignote.tensor import math
from arignote.tensor.alloc import alloc, arange, zeros
from arignote.tensor.basic import as_tensor_variable, cast, constant
from arignote.tensor.elemwise import DimShuffle
from arignote.tensor.join import join
from arignote.tensor.reduction import sum as tensor_sum
from arignote.tensor.shape import (
    Shape_i,
    flatten,
    known_int,
    normalize_axis,
    reshape,
    shape,
    shape_padleft,
    static_entries,
    vector_entry,
)
from arignote.tensor.subtensor import set_subtensor
from arignote.tensor.type import TensorType

Length = int | Variable


# ---- lengths that stay Python ints while they are known --------------------------------------
def _length(x: Variable, axis: int) -> Length:
    axis %= x.ndim
    static = x.type.shape[axis]
    return static if static is not None else Shape_i(axis)(x)


def _minimum(a: Length, b: Length) -> Length:
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return math.minimum(a, b)


def _maximum(a: Length, b: Length) -> Length:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    return math.maximum(a, b)


def _int_argument(value: Any, what: str) -> Length:
    """An integer argument: a Python int when known now, else an int64 scalar."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    variable = as_tensor_variable(value)
    if variable.ndim != 0 or variable.dtype not in INT_DTYPES:
        raise TypeError(
            f"{what} must be an integer scalar, got {variable!r} of type {variable.type}"
        )
    known = known_int(variable)
    return known if known is not None else cast(variable, "int64")


# ---- roll -------------------------------------------------------------------------------
def roll(x: Any, shift: Any, axis: Any = None) -> Variable:
    """``x`` with its elements shifted cyclically by ``shift`` along ``axis`` (``np.roll``).

    ``axis=None`` rolls the flattened array; ``shift`` may be a symbolic integer,
    and ``shift`` and ``axis`` may be sequences (one shift per axis).

    >>> roll(np.arange(5), 2).eval().tolist()
    [3, 4, 0, 1, 2]
    """
    x = as_tensor_variable(x)
    if isinstance(shift, (tuple, list)) or isinstance(axis, (tuple, list)):
        shifts = list(shift) if isinstance(shift, (tuple, list)) else None
        axes = list(axis) if isinstance(axis, (tuple, list)) else None
        if axes is None:
            axes = [axis] * len(shifts)
        if shifts is None:
            shifts = [shift] * len(axes)
        if len(shifts) != len(axes) or None in axes:
            raise ValueError(
                f"roll: {len(shifts)} shifts for axes {axis!r}; give one shift per axis"
            )
        for one_shift, one_axis in zip(shifts, axes):
            x = roll(x, one_shift, one_axis)
        return x
    if axis is None:
        return reshape(roll(flatten(x, 1), shift, 0), shape(x))
    axis = normalize_axis(axis, x.ndim, "roll")
    length = _length(x, axis)
    shift = _int_argument(shift, "roll: shift")
    if isinstance(length, int) and isinstance(shift, int):
        split = length - shift % length if length else 0
    else:
        split = length - math.mod(shift, length)
    before = (slice(None),) * axis
    return join(axis, x[before + (slice(split, None),)], x[before + (slice(None, split),)])


# ---- tile -------------------------------------------------------------------------------
def _rep_entries(reps: Any, ndim: int | None) -> list[Any]:
    """``reps`` (an int, a sequence, or an int vector) as a list of counts."""
    if isinstance(reps, (list, tuple)):
        return list(reps)
    if isinstance(reps, Variable) and reps.ndim == 1:
        if reps.dtype not in INT_DTYPES:
            raise TypeError(f"tile: reps must be integers, got {reps!r} of dtype {reps.dtype}")
        length = reps.type.shape[0]
        if length is None:
            if ndim is None:
                raise ValueError(
                    f"tile: the length of reps {reps!r} is not known when the graph is built; "
                    "pass ndim="
                )
            length = ndim
        return [vector_entry(reps, position) for position in range(length)]
    if isinstance(reps, Variable) and reps.ndim != 0:
        raise TypeError(f"tile: reps must be a scalar or a vector, got {reps!r}")
    return [reps]


def tile(x: Any, reps: Any, ndim: int | None = None) -> Variable:
    """``x`` repeated ``reps[i]`` times along each axis ``i`` (``np.tile``).

    ``reps`` is an int, a sequence of ints or integer scalars, or an integer
    vector. The shorter of ``reps`` and ``x.shape`` is padded with ones on
    the left; ``ndim`` (the output's number of axes) is needed only for a
    ``reps`` vector whose length is not known when the graph is built.

    >>> tile(np.array([1, 2]), (2, 2)).eval().tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    x = as_tensor_variable(x)
    entries = _rep_entries(reps, ndim)
    counts = [_int_argument(r, f"tile: reps[{i}]") for i, r in enumerate(entries)]
    for position, count in enumerate(counts):
        if isinstance(count, int) and count < 0:
            raise ValueError(f"tile: reps[{position}] is negative ({count})")
    out_ndim = max(len(counts), x.ndim)
    if ndim is not None:
        if ndim < out_ndim:
            raise ValueError(
                f"tile: ndim={ndim}, but {x!r} has {x.ndim} dimensions and reps has "
                f"{len(counts)} entries"
            )
        out_ndim = ndim
    counts = [1] * (out_ndim - len(counts)) + counts
    x = shape_padleft(x, out_ndim - x.ndim)
    lengths = [_length(x, axis) for axis in range(out_ndim)]
    # (1, n0, 1, n1, ...) -> (r0, n0, r1, n1, ...) -> (r0 * n0, r1 * n1, ...)
    spread = DimShuffle(out_ndim, [entry for axis in range(out_ndim) for entry in ("x", axis)])(x)
    copies = alloc(spread, *(n for pair in zip(counts, lengths) for n in pair))
    return reshape(copies, [count * length for count, length in zip(counts, lengths)])


# ---- repeat -----------------------------------------------------------------------------
def repeat(x: Any, repeats: Any, axis: int | None = None) -> Variable:
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (``np.repeat``).

    ``repeats`` is one count (an int or integer scalar) or one count per
    element along ``axis`` (an integer vector; NumPy's single-count vector is
    taken as one count only when its static length is 1, else its length is
    checked when the function runs); ``axis=None`` repeats the flattened
    array. The gradient sums the copies back.

    >>> repeat(np.array([1, 2]), 2).eval().tolist()
    [1, 1, 2, 2]
    >>> repeat(np.array([[1, 2]]), np.array([1, 3]), axis=1).eval().tolist()
    [[1, 2, 2, 2]]
    """
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = flatten(x, 1), 0
    else:
        axis = normalize_axis(axis, x.ndim, "repeat")
    if not isinstance(repeats, Variable) and np.ndim(repeats) == 0:
        repeats = _int_argument(repeats, "repeat: repeats")
    else:
        repeats = as_tensor_variable(repeats)
        if repeats.dtype not in INT_DTYPES or repeats.ndim > 1:
            raise TypeError(
                f"repeat: repeats must be an integer scalar or vector, got {repeats!r} of "
                f"type {repeats.type}"
            )
        if repeats.ndim == 1 and repeats.type.shape[0] != 1:
            return Repeat(axis)(x, repeats)
        # One count, or a vector of one count (which NumPy applies to every element).
        repeats = _int_argument(vector_entry(repeats, 0) if repeats.ndim else repeats, "repeat")
    if isinstance(repeats, int) and repeats < 0:
        raise ValueError(f"repeat: repeats must not be negative, got {repeats}")
    lengths = [_length(x, d) for d in range(x.ndim)]
    spread = DimShuffle(x.ndim, [*range(axis + 1), "x", *range(axis + 1, x.ndim)])(x)
    copies = alloc(spread, *lengths[: axis + 1], repeats, *lengths[axis + 1 :])
    return reshape(copies, [*lengths[:axis], lengths[axis] * repeats, *lengths[axis + 1 :]])


def _counts_argument(op: Op, x: Variable, counts: Any) -> Variable:
    counts = as_tensor_variable(counts)
    if counts.ndim != 1 or counts.dtype not in INT_DTYPES:
        raise TypeError(f"{op}: the counts must be an integer vector, got {counts!r}")
    if not 0 <= op.axis < x.ndim:
        raise IndexError(f"{op}: axis {op.axis} is out of range for {x.ndim}-d {x!r}")
    return cast(counts, "int64")


def _check_counts(op: Op, counts: np.ndarray, expected: int, what: str) -> None:
    if len(counts) != expected:
        raise ValueError(f"{op}: {len(counts)} counts given for {what} of length {expected}")
    if np.any(counts < 0):
        raise ValueError(f"{op}: counts must not be negative, got {counts.tolist()}")


def _static_total(counts: Variable) -> int | None:
    if counts.type.shape[0] is None:
        return None
    entries = static_entries(counts)
    return None if None in entries else int(sum(entries))


class Repeat(Op):
    """Element ``i`` along ``axis`` repeated ``counts[i]`` times (``np.repeat`` with a vector).

    >>> Repeat(0)(np.array([5.0, 6.0]), np.array([2, 0])).eval().tolist()
    [5.0, 5.0]
    """

    __props__ = ("axis",)

    def __init__(self, axis: int):
        self.axis = int(axis)

    def make_node(self, x: Any, counts: Any) -> Apply:
        x = as_tensor_variable(x)
        counts = _counts_argument(self, x, counts)
        given, along = counts.type.shape[0], x.type.shape[self.axis]
        if given is not None and along is not None and given != along:
            raise ValueError(
                f"{self}: {given} counts given for axis {self.axis} of {x!r}, which has "
                f"static length {along}"
            )
        out_shape = list(x.type.shape)
        out_shape[self.axis] = _static_total(counts)
        return Apply(self, [x, counts], [TensorType(x.dtype, shape=out_shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        x, counts = inputs
        _check_counts(self, counts, x.shape[self.axis], f"axis {self.axis} of shape {x.shape}")
        output_storage[0][0] = np.repeat(x, counts, axis=self.axis)

    def infer_shape(self, node, input_shapes):
        lengths = list(input_shapes[0])
        lengths[self.axis] = tensor_sum(node.inputs[1])
        return [tuple(lengths)]

    def connection_pattern(self, node):
        return [[True], [False]]

    def L_op(self, inputs, outputs, output_grads):
        x, counts = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [None, None]
        return [SegmentSum(self.axis)(output_grads[0], counts), None]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0], inputs[1])]


class SegmentSum(Op):
    """Sums of consecutive runs of ``counts[i]`` elements along ``axis``; ``Repeat``'s adjoint.

    The counts must add up to the length of ``axis``; a run of length 0 sums to 0.

    >>> SegmentSum(0)(np.arange(5.0), np.array([2, 0, 3])).eval().tolist()
    [1.0, 0.0, 9.0]
    """

    __props__ = ("axis",)

    def __init__(self, axis: int):
        self.axis = int(axis)

    def make_node(self, x: Any, counts: Any) -> Apply:
        x = as_tensor_variable(x)
        counts = _counts_argument(self, x, counts)
        total, along = _static_total(counts), x.type.shape[self.axis]
        if total is not None and along is not None and total != along:
            raise ValueError(
                f"{self}: the counts add up to {total}, but axis {self.axis} of {x!r} has "
                f"static length {along}"
            )
        out_shape = list(x.type.shape)
        out_shape[self.axis] = counts.type.shape[0]
        return Apply(self, [x, counts], [TensorType(x.dtype, shape=out_shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        x, counts = inputs
        along = x.shape[self.axis]
        if np.any(counts < 0) or counts.sum() != along:
            raise ValueError(
                f"{self}: the counts {counts.tolist()} must be non-negative and add up to "
                f"{along}, the length of axis {self.axis} of the input of shape {x.shape}"
            )
        out_shape = list(x.shape)
        out_shape[self.axis] = len(counts)
        result = np.zeros(out_shape, dtype=x.dtype)
        nonempty = counts > 0
        if nonempty.any():
            starts = (np.cumsum(counts) - counts)[nonempty]
            # reduceat sums from each start up to the next; empty runs in between add nothing.
            sums = np.add.reduceat(np.moveaxis(x, self.axis, 0), starts, axis=0)
            np.moveaxis(result, self.axis, 0)[nonempty] = sums
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        lengths = list(input_shapes[0])
        lengths[self.axis] = input_shapes[1][0]
        return [tuple(lengths)]

    def connection_pattern(self, node):
        return [[True], [False]]

    def L_op(self, inputs, outputs, output_grads):
        x, counts = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [None, None]
        return [Repeat(self.axis)(output_grads[0], counts), None]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0], inputs[1])]


# ---- diagonals --------------------------------------------------------------------------
def _diagonal_slice(rows: Length, columns: Length, offset: int) -> slice:
    """Where diagonal ``offset`` of a C-ordered ``rows`` x ``columns`` block lies, flattened."""
    if offset >= 0:
        count = _maximum(_minimum(rows, columns - offset), 0)
        start = offset
    else:
        count = _maximum(_minimum(rows + offset, columns), 0)
        start = -offset * columns
    step = columns + 1
    # ``start + count * step`` is never below ``start``, so the slice never wraps around.
    return slice(start, start + count * step, step)


def _offset(offset: Any, what: str) -> int:
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)):
        raise TypeError(
            f"{what}: offset must be an int known when the graph is built, got {offset!r}"
        )
    return int(offset)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Variable:
    """Diagonal ``offset`` of the 2-d slices along ``axis1``, ``axis2`` (``np.diagonal``).

    The two axes are removed and the diagonal becomes the last axis.

    >>> diagonal(np.arange(6).reshape(2, 3), 1).eval().tolist()
    [1, 5]
    """
    a = as_tensor_variable(a)
    if a.ndim < 2:
        raise ValueError(f"diagonal needs at least 2 dimensions, {a!r} has {a.ndim}")
    offset = _offset(offset, "diagonal")
    first = normalize_axis(axis1, a.ndim, "diagonal")
    second = normalize_axis(axis2, a.ndim, "diagonal")
    if first == second:
        raise ValueError(f"diagonal: axis1 and axis2 are the same axis ({first})")
    others = [d for d in range(a.ndim) if d not in (first, second)]
    rows, columns = _length(a, first), _length(a, second)
    moved = DimShuffle(a.ndim, [*others, first, second])(a)
    kept = [_length(a, d) for d in others]
    flat = reshape(moved, [*kept, rows * columns])
    return flat[(slice(None),) * len(others) + (_diagonal_slice(rows, columns, offset),)]


def diag(v: Any, k: int = 0) -> Variable:
    """A vector's square matrix with ``v`` on diagonal ``k``, or a matrix's diagonal ``k``
    (``np.diag``).

    >>> diag(np.array([1, 2]), 1).eval().tolist()
    [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    """
    v = as_tensor_variable(v)
    k = _offset(k, "diag")
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: the input must be 1- or 2-d, {v!r} has {v.ndim} dimensions")
    size = _length(v, 0) + abs(k)
    flat = zeros((size * size,), dtype=v.dtype)
    # Diagonal k of a size x size matrix has exactly len(v) = size - |k| places.
    return reshape(set_subtensor(flat[_diagonal_slice(size, size, k)], v), (size, size))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Variable:
    """The sum of diagonal ``offset`` (``np.trace``; a batch of sums for more than 2-d).

    >>> trace(np.arange(9.0).reshape(3, 3)).eval()
    array(12.)
    """
    return tensor_sum(diagonal(x, offset, axis1, axis2), axis=-1)


# ---- triangles --------------------------------------------------------------------------
def _triangle(m: Any, k: Any, lower: bool, what: str) -> Variable:
    m = as_tensor_variable(m)
    if m.ndim < 2:
        raise ValueError(f"{what} needs at least 2 dimensions, {m!r} has {m.ndim}")
    k = _int_argument(k, f"{what}: k")
    rows = arange(_length(m, -2)).dimshuffle(0, "x")
    columns = arange(_length(m, -1)).dimshuffle("x", 0)
    inside = math.le(columns - rows, k) if lower else math.ge(columns - rows, k)
    return math.switch(inside, m, constant(np.zeros((), dtype=m.dtype)))


def tril(m: Any, k: Any = 0) -> Variable:
    """``m`` with the entries above diagonal ``k`` of its last two axes set to 0 (``np.tril``).

    >>> tril(np.ones((2, 3), dtype="int8")).eval().tolist()
    [[1, 0, 0], [1, 1, 0]]
    """
    return _triangle(m, k, True, "tril")


def triu(m: Any, k: Any = 0) -> Variable:
    """``m`` with the entries below diagonal ``k`` of its last two axes set to 0 (``np.triu``).

    >>> triu(np.ones((2, 3), dtype="int8"), 1).eval().tolist()
    [[0, 1, 1], [0, 0, 1]]
    """
    return _triangle(m, k, False, "triu")


__all__ = ["diag", "diagonal", "repeat", "roll", "tile", "trace", "tril", "triu"]
