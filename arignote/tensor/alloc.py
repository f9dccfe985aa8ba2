"""Tensors built from a shape: ``alloc``, ``zeros``/``ones``, ``arange``, ``eye``/``tri``
and the coordinate grids ``mgrid``/``ogrid``.

Shape arguments are int64 scalars (Python ints or symbolic integer
scalars); every one that is a constant when the graph is built becomes a
static length of the output type, so shape mistakes surface at the user's
line. ``Alloc`` broadcasts its value the way ``Elemwise`` does: only
dimensions the value's type declares broadcastable (static length 1) are
repeated; any other dimension must already have the requested length.
``zeros_like``/``ones_like`` are ``fill`` (Elemwise ``second``) of the model,
as in Theano, so they need no shape arithmetic at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.config import config
from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import COMPLEX_DTYPES, DISCRETE_DTYPES, INT_DTYPES, upcast
from arignote.tensor.basic import (
    NotScalarConstantError,
    as_tensor_variable,
    cast,
    constant,
    get_scalar_constant_value,
)
from arignote.tensor.elemwise import sum_to_broadcastable
from arignote.tensor.shape import shape_i, vector_entry
from arignote.tensor.type import TensorType, _resolve_dtype


def as_length(value: Any, what: str) -> tuple[Variable, int | None]:
    """A shape argument as an int64 scalar variable, with its value if it is a constant."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{what} must not be negative, got {value}")
        return constant(np.int64(value)), int(value)
    variable = as_tensor_variable(value)
    if variable.ndim != 0 or variable.dtype not in INT_DTYPES:
        raise TypeError(f"{what} must be an integer scalar, got {variable} of type {variable.type}")
    try:
        static = int(get_scalar_constant_value(variable))
    except NotScalarConstantError:
        static = None
    if static is not None and static < 0:
        raise ValueError(f"{what} must not be negative, got {static}")
    return cast(variable, "int64"), static


def _shape_entries(shape: Any, what: str) -> list[Any]:
    """``shape`` (an int, a sequence, or a symbolic int scalar/vector) as a list of lengths."""
    if isinstance(shape, (list, tuple)):
        return list(shape)
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            return [shape]
        if shape.ndim == 1:
            if shape.type.shape[0] is None:
                raise TypeError(
                    f"{what}: the shape vector {shape} has no static length, so the number "
                    "of dimensions is unknown; pass a tuple of scalars instead"
                )
            return [vector_entry(shape, i) for i in range(shape.type.shape[0])]
        raise TypeError(f"{what}: a shape must be a tuple or an int vector, got {shape}")
    return [shape]


class Alloc(Op):
    """``value`` broadcast to ``shape`` (Theano's ``alloc(value, *shape)``).

    >>> import arignote.tensor as T
    >>> alloc(T.row("r"), T.lscalar("n"), 3).type
    TensorType(float64, shape=(?, 3))
    """

    __props__ = ()

    def make_node(self, value: Any, *shape: Any) -> Apply:
        value = as_tensor_variable(value)
        lengths = [as_length(s, f"alloc: shape[{i}]") for i, s in enumerate(shape)]
        if value.ndim > len(lengths):
            raise ValueError(
                f"alloc: the value {value} has {value.ndim} dimensions, more than the "
                f"{len(lengths)} of the requested shape"
            )
        static = [length for _, length in lengths]
        offset = len(lengths) - value.ndim
        for axis, value_length in enumerate(value.type.shape, start=offset):
            if value_length is None or value_length == 1:
                continue
            if static[axis] is not None and static[axis] != value_length:
                raise ValueError(
                    f"alloc: cannot broadcast {value} of static shape {value.type.shape} "
                    f"to shape {tuple(static)}: axis {axis} has length {value_length}, not "
                    f"{static[axis]}"
                )
            static[axis] = value_length
        output = TensorType(value.dtype, shape=static).make_variable()
        return Apply(self, [value, *(variable for variable, _ in lengths)], [output])

    def perform(self, node, inputs, output_storage):
        value, *shape = inputs
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"alloc: the shape {shape} has a negative length")
        offset = len(shape) - value.ndim
        declared = node.inputs[0].broadcastable
        for axis, length in enumerate(value.shape):
            if not declared[axis] and length != shape[offset + axis]:
                raise ValueError(
                    f"alloc: cannot broadcast a value of shape {value.shape} to {shape} "
                    f"(axis {axis} of the value is not declared broadcastable)"
                )
        result = np.empty(shape, dtype=node.outputs[0].dtype)
        result[...] = value
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        return [
            tuple(
                length if length is not None else variable
                for length, variable in zip(node.outputs[0].type.shape, node.inputs[1:])
            )
        ]

    def connection_pattern(self, node):
        return [[True]] + [[False] for _ in node.inputs[1:]]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.reduction import sum as tensor_sum

        value = inputs[0]
        (gz,) = output_grads
        leading = gz.ndim - value.ndim
        if leading:
            gz = tensor_sum(gz, axis=list(range(leading)))
        return [sum_to_broadcastable(gz, value)] + [None for _ in inputs[1:]]

    def constant_value(self, node: Apply) -> Any:
        """The constant that fills the output, when the value is one (for shape reasoning)."""
        try:
            return get_scalar_constant_value(node.inputs[0])
        except NotScalarConstantError:
            return None

    def do_constant_folding(self, node: Apply) -> bool:
        # Folding would store the whole filled array in the graph; allocating at run
        # time is as cheap and keeps compiled functions small.
        return False


_alloc = Alloc()


def alloc(value: Any, *shape: Any):
    """``value`` broadcast to ``shape``; Theano's ``T.alloc(value, *shape)``.

    >>> alloc(np.float32(2), 2, 3).eval().tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """
    return _alloc(value, *shape)


def zeros(shape: Any, dtype: Any = None):
    """An array of zeros (``floatX`` unless ``dtype`` says otherwise).

    >>> zeros((2, 3)).type
    TensorType(float64, shape=(2, 3))
    """
    entries = _shape_entries(shape, "zeros")
    return alloc(np.array(0, dtype=_resolve_dtype(dtype)), *entries)


def ones(shape: Any, dtype: Any = None):
    """An array of ones (``floatX`` unless ``dtype`` says otherwise).

    >>> ones(3, dtype="int32").eval().tolist()
    [1, 1, 1]
    """
    entries = _shape_entries(shape, "ones")
    return alloc(np.array(1, dtype=_resolve_dtype(dtype)), *entries)


def zeros_like(x: Any, dtype: Any = None):
    """Zeros of ``x``'s shape, and of its dtype unless ``dtype`` is given."""
    from arignote.tensor.math import fill

    x = as_tensor_variable(x)
    return fill(x, constant(0, dtype=x.dtype if dtype is None else _resolve_dtype(dtype)))


def ones_like(x: Any, dtype: Any = None):
    """Ones of ``x``'s shape, and of its dtype unless ``dtype`` is given."""
    from arignote.tensor.math import fill

    x = as_tensor_variable(x)
    return fill(x, constant(1, dtype=x.dtype if dtype is None else _resolve_dtype(dtype)))


class ARange(Op):
    """``np.arange(start, stop, step)`` of a fixed output dtype, from three scalars."""

    __props__ = ("dtype",)

    def __init__(self, dtype: Any):
        self.dtype = _resolve_dtype(dtype)
        if self.dtype == "bool" or self.dtype in COMPLEX_DTYPES:
            raise TypeError(f"arange makes real numbers, not values of dtype {self.dtype}")

    def make_node(self, start: Any, stop: Any, step: Any) -> Apply:
        bounds = [as_tensor_variable(v) for v in (start, stop, step)]
        for name, variable in zip(("start", "stop", "step"), bounds):
            if variable.ndim != 0:
                raise TypeError(f"arange: {name} must be a scalar, got {variable}")
            if variable.dtype == "bool" or variable.dtype.startswith("complex"):
                raise TypeError(f"arange: {name} must be a real number, got {variable.dtype}")
        length = _static_arange_length(bounds)
        output = TensorType(self.dtype, shape=(length,)).make_variable()
        return Apply(self, bounds, [output])

    def perform(self, node, inputs, output_storage):
        start, stop, step = (v.item() for v in inputs)
        if step == 0:
            raise ValueError("arange: step must not be 0")
        output_storage[0][0] = np.arange(start, stop, step, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import ceil, maximum

        static = node.outputs[0].type.shape[0]
        if static is not None:
            return [(static,)]
        start, stop, step = node.inputs
        # In float64, so that unsigned bounds cannot wrap around below zero.
        steps = ceil((cast(stop, "float64") - cast(start, "float64")) / step)
        return [(maximum(cast(steps, "int64"), 0),)]

    def connection_pattern(self, node):
        # ``stop`` only decides the length, never a value.
        return [[True], [False], [True]]

    def L_op(self, inputs, outputs, output_grads):
        start, _, step = inputs
        (gz,) = output_grads
        if self.dtype in DISCRETE_DTYPES:
            return [zeros_like(start, config.floatX), None, zeros_like(step, config.floatX)]
        positions = arange(shape_i(outputs[0], 0), dtype=self.dtype)
        return [gz.sum(), None, (gz * positions).sum()]


def _static_arange_length(bounds: Sequence[Variable]) -> int | None:
    """NumPy's length ``ceil((stop - start) / step)`` (at least 0), when all three are known."""
    try:
        start, stop, step = (get_scalar_constant_value(v).item() for v in bounds)
    except NotScalarConstantError:
        return None
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if all(isinstance(v, int) for v in (start, stop, step)):
        return max(0, -((start - stop) // step))
    return max(0, math.ceil((stop - start) / step))


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None):
    """Evenly spaced values in ``[start, stop)``, as ``np.arange``.

    Without ``dtype``: integer arguments give int64 (uint64 for unsigned),
    floats the upcast of the arguments' dtypes (Theano's rule; with
    ``config.cast_policy='numpy+floatX'``, NumPy's dtype with float64 read
    as ``floatX`` unless an argument is float64).

    >>> arange(5).eval().tolist(), arange(5).dtype
    ([0, 1, 2, 3, 4], 'int64')
    """
    if stop is None:
        start, stop = 0, start
    bounds = [as_tensor_variable(v) for v in (start, stop, step)]
    if dtype is None:
        dtype = upcast(*(b.dtype for b in bounds))
        if dtype in INT_DTYPES:
            dtype = "uint64" if dtype.startswith("uint") else "int64"
        if config.cast_policy == "numpy+floatX":
            numpy_dtype = str(
                np.arange(*(np.array(v, dtype=b.dtype) for v, b in zip((0, 1, 1), bounds))).dtype
            )
            if numpy_dtype == "float64" and all(b.dtype != "float64" for b in bounds):
                numpy_dtype = config.floatX
            dtype = numpy_dtype
    return ARange(dtype)(*bounds)


class Eye(Op):
    """An ``n`` by ``m`` matrix with ones on diagonal ``k`` (``np.eye``)."""

    __props__ = ("dtype",)

    def __init__(self, dtype: Any = None):
        self.dtype = _resolve_dtype(dtype)

    def make_node(self, n: Any, m: Any, k: Any) -> Apply:
        rows, static_rows = as_length(n, "eye: n")
        columns, static_columns = as_length(m, "eye: m")
        k = as_tensor_variable(k)
        if k.ndim != 0 or k.dtype not in INT_DTYPES:
            raise TypeError(f"eye: k must be an integer scalar, got {k} of type {k.type}")
        output = TensorType(self.dtype, shape=(static_rows, static_columns)).make_variable()
        return Apply(self, [rows, columns, k], [output])

    def perform(self, node, inputs, output_storage):
        n, m, k = (int(v) for v in inputs)
        output_storage[0][0] = np.eye(n, m, k, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        return [
            tuple(
                length if length is not None else variable
                for length, variable in zip(node.outputs[0].type.shape, node.inputs[:2])
            )
        ]

    def connection_pattern(self, node):
        return [[False], [False], [False]]

    def L_op(self, inputs, outputs, output_grads):
        return [None, None, None]


def eye(n: Any, m: Any = None, k: Any = 0, dtype: Any = None):
    """Ones on diagonal ``k`` of an ``n`` by ``m`` (default ``n``) matrix; ``floatX``.

    >>> eye(2, 3, k=1).eval().tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return Eye(dtype)(n, n if m is None else m, k)


def identity_like(x: Any):
    """The identity-like matrix of ``x``'s shape and dtype (``eye(rows, columns)``)."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"identity_like needs a matrix, got {x} of type {x.type}")
    return eye(shape_i(x, 0), shape_i(x, 1), 0, dtype=x.dtype)


def tri(N: Any, M: Any = None, k: Any = 0, dtype: Any = None):
    """Ones at and below diagonal ``k`` of an ``N`` by ``M`` (default ``N``) matrix (``np.tri``).

    A comparison of two ``arange`` vectors; ``floatX`` unless ``dtype`` says otherwise.

    >>> tri(2, 3, dtype="int8").eval().tolist()
    [[1, 0, 0], [1, 1, 0]]
    """
    from arignote.tensor.math import le

    rows = arange(N).dimshuffle(0, "x")
    columns = arange(N if M is None else M).dimshuffle("x", 0)
    return cast(le(columns - rows, k), _resolve_dtype(dtype))


class _GridMaker:
    """``mgrid[...]``/``ogrid[...]``: coordinate arrays from slices, as Theano's ``_nd_grid``.

    Each slice ``start:stop:step`` gives ``arange(start, stop, step)``; a complex
    step ``nj`` (a Python complex) gives ``n`` evenly spaced points from ``start``
    to ``stop`` inclusive, as in NumPy. Bounds may be symbolic scalars. As in
    Theano, the result is a list of tensors, one per slice (NumPy stacks
    ``mgrid``'s); they share the upcast of all the ranges' dtypes, as in NumPy.
    ``mgrid`` broadcasts each range to the full grid, ``ogrid`` leaves it open:
    of length 1 on every other axis.

    >>> [g.eval().tolist() for g in mgrid[0:2, 0:3]]
    [[[0, 0, 0], [1, 1, 1]], [[0, 1, 2], [0, 1, 2]]]
    >>> [g.type.shape for g in ogrid[0:2, 0:1:3j]]
    [(2, 1), (1, 3)]
    """

    def __init__(self, sparse: bool):
        self.sparse = sparse

    def __getitem__(self, slices: Any) -> list:
        slices = slices if isinstance(slices, tuple) else (slices,)
        ranges = [_grid_range(s, position) for position, s in enumerate(slices)]
        dtype = upcast(*(r.dtype for r in ranges))
        ranges = [cast(r, dtype) for r in ranges]
        ndim = len(ranges)
        lengths = [shape_i(r, 0) for r in ranges]
        grids = []
        for axis, values in enumerate(ranges):
            pattern = ["x"] * axis + [0] + ["x"] * (ndim - 1 - axis)
            grid = values.dimshuffle(*pattern)
            grids.append(grid if self.sparse else alloc(grid, *lengths))
        return grids


def _grid_range(item: Any, position: int):
    what = "ogrid/mgrid"
    if not isinstance(item, slice):
        raise TypeError(f"{what}: entry {position} must be a slice (start:stop:step), got {item!r}")
    if item.stop is None:
        raise ValueError(f"{what}: slice {position} has no stop")
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if not isinstance(step, complex):
        return arange(start, item.stop, step)
    count = int(abs(step))
    start = cast(as_tensor_variable(start), "float64")
    spacing = (item.stop - start) / max(count - 1, 1)
    return start + arange(count, dtype="float64") * spacing


mgrid = _GridMaker(sparse=False)
ogrid = _GridMaker(sparse=True)


__all__ = [
    "ARange",
    "Alloc",
    "Eye",
    "alloc",
    "arange",
    "eye",
    "identity_like",
    "mgrid",
    "ogrid",
    "ones",
    "ones_like",
    "tri",
    "zeros",
    "zeros_like",
]
