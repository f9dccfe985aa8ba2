"""Sorting and selection: ``sort``, ``argsort``, ``topk``, ``argtopk`` and ``topk_and_argtopk``.

Invariants:

- Every op here works along one axis, fixed when the graph is built (an op
  field, normalized to be non-negative). ``axis=None`` is a composite: the
  input is flattened and the op works along axis 0, as NumPy defines it.
- The gradient of ``sort`` and ``topk`` puts each output gradient back at
  the position its element came from: an advanced-index increment
  (``advanced_inc_subtensor``) at the ``argsort``/``argtopk`` positions,
  so they need no scatter op of their own.
- ``topk(x, kth)`` keeps the ``kth`` largest elements when ``kth > 0`` and
  the ``-kth`` smallest when ``kth < 0`` (Theano's convention); ``sorted``
  orders them largest first (smallest first for ``kth < 0``); otherwise
  they keep the order they have in ``x``. Among equal values, which
  positions ``argtopk`` picks is unspecified, as in Theano.
- Index outputs are int64 (``topk``'s ``idx_dtype`` may say otherwise);
  their gradient with respect to the data is zero, as for ``argmax``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.scalar.basic import CONTINUOUS_DTYPES, DISCRETE_DTYPES, INT_DTYPES
from arignote.tensor.advanced_subtensor import advanced_inc_subtensor
from arignote.tensor.basic import as_tensor_variable, cast, constant
from arignote.tensor.shape import as_int_scalar, flatten, known_int, shape_i
from arignote.tensor.type import TensorType

SORT_KINDS = ("quicksort", "mergesort", "heapsort", "stable")


def normalize_axis(axis: Any, ndim: int, what: str) -> int:
    """One axis of an ``ndim``-dimensional input, as a non-negative int."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        known = known_int(axis) if axis is not None else None
        if known is None:
            raise TypeError(
                f"{what}: axis must be an int known when the graph is built, got {axis!r}"
            )
        axis = known
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a {ndim}-dimensional input")
    return int(axis) % ndim


def zero_gradient_of(x):
    """A float zero gradient of ``x``'s shape: the derivative of a piecewise-constant output."""
    from arignote.config import config
    from arignote.tensor.math import fill

    return fill(x, cast(constant(0), x.dtype if x.dtype in CONTINUOUS_DTYPES else config.floatX))


def _scatter_along(x, indices, values, axis: int):
    """Zeros of ``x``'s shape with ``values`` added at ``indices`` along ``axis``, as the
    inverse of ``np.take_along_axis``: an advanced index with an ``arange`` on every other
    axis."""
    from arignote.tensor.alloc import arange, zeros_like

    index = [
        indices
        if d == axis
        else arange(shape_i(x, d)).dimshuffle(["x" if a != d else 0 for a in range(x.ndim)])
        for d in range(x.ndim)
    ]
    return advanced_inc_subtensor(zeros_like(x), values, *index)


# ---- sort and argsort ---------------------------------------------------------------------
def _check_sort_arguments(what: str, kind: str, order: Any) -> None:
    if kind not in SORT_KINDS:
        raise ValueError(f"{what}: kind must be one of {SORT_KINDS}, got {kind!r}")
    if order is not None:
        raise NotImplementedError(
            f"{what}: order= sorts structured arrays by field; tensors have no fields"
        )


class SortOp(Op):
    """``np.sort(x, axis, kind)``; the gradient puts each output gradient back where its
    element came from (through ``argsort``)."""

    __props__ = ("kind", "axis")

    def __init__(self, kind: str = "quicksort", axis: int = -1):
        _check_sort_arguments("sort", kind, None)
        self.kind = kind
        self.axis = int(axis)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        normalize_axis(self.axis, x.ndim, "sort")
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.sort(inputs[0], axis=self.axis, kind=self.kind)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [None]
        # Element i of the output came from position permutation[i]; among equal values
        # any sorting permutation gives the same output, so any one is a valid choice.
        permutation = ArgSortOp(self.kind, self.axis)(x)
        axis = self.axis % x.ndim
        return [_scatter_along(x, permutation, output_grads[0], axis)]


class ArgSortOp(Op):
    """``np.argsort(x, axis, kind)`` as int64."""

    __props__ = ("kind", "axis")

    def __init__(self, kind: str = "quicksort", axis: int = -1):
        _check_sort_arguments("argsort", kind, None)
        self.kind = kind
        self.axis = int(axis)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        normalize_axis(self.axis, x.ndim, "argsort")
        output = TensorType("int64", shape=x.type.shape).make_variable()
        return Apply(self, [x], [output])

    def perform(self, node, inputs, output_storage):
        result = np.argsort(inputs[0], axis=self.axis, kind=self.kind)
        output_storage[0][0] = np.asarray(result, dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        return [zero_gradient_of(inputs[0])]


def _along(a: Any, axis: Any, what: str):
    """``a`` and the axis to work along: ``axis=None`` flattens ``a`` first."""
    a = as_tensor_variable(a)
    if axis is None:
        return flatten(a), 0
    if a.ndim == 0:
        raise ValueError(f"{what}: the 0-d {a!r} has no axis to work along; use axis=None")
    return a, normalize_axis(axis, a.ndim, what)


def sort(a: Any, axis: Any = -1, kind: str = "quicksort", order: Any = None):
    """A sorted copy of ``a`` along ``axis`` (None: of the flattened ``a``), as ``np.sort``.

    >>> import numpy as np
    >>> sort(np.array([[3.0, 1.0], [0.0, 2.0]]), axis=None).eval().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    _check_sort_arguments("sort", kind, order)
    a, axis = _along(a, axis, "sort")
    return SortOp(kind, axis)(a)


def argsort(a: Any, axis: Any = -1, kind: str = "quicksort", order: Any = None):
    """The int64 indices that sort ``a`` along ``axis`` (None: flattened), as ``np.argsort``.

    >>> import numpy as np
    >>> argsort(np.array([3.0, 1.0, 2.0])).eval().tolist()
    [1, 2, 0]
    """
    _check_sort_arguments("argsort", kind, order)
    a, axis = _along(a, axis, "argsort")
    return ArgSortOp(kind, axis)(a)


# ---- topk ---------------------------------------------------------------------------------
class TopKOp(Op):
    """The ``kth`` largest (``kth > 0``) or ``-kth`` smallest elements along ``axis``, their
    indices, or both (values first).
    """

    __props__ = ("axis", "sorted", "idx_dtype", "return_values", "return_indices")

    def __init__(
        self,
        axis: int = -1,
        sorted: bool = True,
        idx_dtype: str = "int64",
        return_values: bool = True,
        return_indices: bool = True,
    ):
        if not (return_values or return_indices):
            raise ValueError("TopKOp must return the values, the indices or both")
        if str(np.dtype(idx_dtype)) not in INT_DTYPES:
            raise TypeError(f"topk: idx_dtype must be an integer dtype, got {idx_dtype!r}")
        self.axis = int(axis)
        self.sorted = bool(sorted)
        self.idx_dtype = str(np.dtype(idx_dtype))
        self.return_values = bool(return_values)
        self.return_indices = bool(return_indices)

    def make_node(self, x: Any, kth: Any) -> Apply:
        x = as_tensor_variable(x)
        axis = normalize_axis(self.axis, x.ndim, "topk")
        kth = as_int_scalar(kth, "topk: kth")
        count = known_int(kth)
        length = x.type.shape[axis]
        if count == 0:
            raise ValueError(
                "topk: kth must not be 0 (kth > 0 keeps the largest, < 0 the smallest)"
            )
        if count is not None and length is not None and abs(count) > length:
            raise ValueError(
                f"topk: |kth| = {abs(count)} is more than the {length} elements along axis "
                f"{axis} of {x!r}"
            )
        shape = list(x.type.shape)
        shape[axis] = None if count is None else abs(count)
        outputs = []
        if self.return_values:
            outputs.append(TensorType(x.dtype, shape=shape).make_variable())
        if self.return_indices:
            outputs.append(TensorType(self.idx_dtype, shape=shape).make_variable())
        return Apply(self, [x, kth], outputs)

    def perform(self, node, inputs, output_storage):
        x, kth = inputs
        axis = self.axis % x.ndim
        count, length = int(kth), x.shape[axis]
        if count == 0 or abs(count) > length:
            raise ValueError(
                f"topk: kth = {count} must be non-zero and at most {length} in absolute value, "
                f"the length of axis {axis} of the input of shape {x.shape}"
            )
        if count > 0:
            part = np.argpartition(x, length - count, axis=axis)
            indices = part[(slice(None),) * axis + (slice(length - count, None),)]
        else:
            part = np.argpartition(x, -count - 1, axis=axis)
            indices = part[(slice(None),) * axis + (slice(None, -count),)]
        values = np.take_along_axis(x, indices, axis)
        if self.sorted:
            order = np.argsort(values, axis=axis, kind="stable")
            if count > 0:
                order = np.flip(order, axis)
        else:
            order = np.argsort(indices, axis=axis)
        results = []
        if self.return_values:
            results.append(np.take_along_axis(values, order, axis))
        if self.return_indices:
            results.append(np.asarray(np.take_along_axis(indices, order, axis), self.idx_dtype))
        for cell, result in zip(output_storage, results):
            cell[0] = result

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import abs as tensor_abs

        x, kth = node.inputs
        axis = self.axis % x.ndim
        count = known_int(kth)
        length = abs(count) if count is not None else tensor_abs(cast(kth, "int64"))
        shape = tuple(length if a == axis else n for a, n in enumerate(input_shapes[0]))
        return [shape] * len(node.outputs)

    def connection_pattern(self, node):
        return [[True] * len(node.outputs), [False] * len(node.outputs)]

    def L_op(self, inputs, outputs, output_grads):
        x, kth = inputs
        if not self.return_values or x.dtype in DISCRETE_DTYPES:
            return [zero_gradient_of(x), None]
        if self.return_indices:
            indices = outputs[1]
        else:
            indices = TopKOp(self.axis, self.sorted, self.idx_dtype, False, True)(x, kth)
        axis = self.axis % x.ndim
        return [_scatter_along(x, indices, output_grads[0], axis), None]


def _topk(x, kth, axis, sorted, idx_dtype, values: bool, indices: bool):
    x, axis = _along(x, axis, "topk")
    return TopKOp(axis, sorted, idx_dtype, values, indices)(x, kth)


def topk(x: Any, kth: Any, axis: Any = -1, sorted: bool = True, idx_dtype: str = "int64"):
    """The ``kth`` largest elements of ``x`` along ``axis`` (the ``-kth`` smallest if
    ``kth < 0``; ``axis=None`` flattens). ``sorted``: largest (or smallest) first, else in
    their order in ``x``.

    >>> import numpy as np
    >>> topk(np.array([1.0, 5.0, 3.0, 4.0]), 2).eval().tolist()
    [5.0, 4.0]
    >>> topk(np.array([1.0, 5.0, 3.0, 4.0]), -2).eval().tolist()
    [1.0, 3.0]
    """
    return _topk(x, kth, axis, sorted, idx_dtype, True, False)


def argtopk(x: Any, kth: Any, axis: Any = -1, sorted: bool = True, idx_dtype: str = "int64"):
    """The indices of ``topk(x, kth, axis, sorted)`` along ``axis``.

    >>> import numpy as np
    >>> argtopk(np.array([1.0, 5.0, 3.0, 4.0]), 2, sorted=False).eval().tolist()
    [1, 3]
    """
    return _topk(x, kth, axis, sorted, idx_dtype, False, True)


def topk_and_argtopk(
    x: Any, kth: Any, axis: Any = -1, sorted: bool = True, idx_dtype: str = "int64"
):
    """``(topk(...), argtopk(...))`` computed together."""
    return tuple(_topk(x, kth, axis, sorted, idx_dtype, True, True))


__all__ = [
    "ArgSortOp",
    "SortOp",
    "TopKOp",
    "argsort",
    "argtopk",
    "sort",
    "topk",
    "topk_and_argtopk",
]
