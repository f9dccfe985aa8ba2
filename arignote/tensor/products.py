"""Products: ``dot`` (Theano's ``tensor.dot``), ``outer`` and ``tensordot``.

``Dot`` is the op for vectors and matrices, the four cases BLAS serves
(dot, gemv both ways, gemm); backends specialise it, and its gradients are
built of ``Dot`` again, so they reach BLAS too. ``dot`` dispatches as
Theano's did: a 0-d operand is an elementwise product, operands of more
than two dimensions go to ``TensorDot`` over the last axis of ``a`` and the
second-to-last of ``b`` (``np.dot``'s semantics). Inner lengths that are
known to differ when the graph is built are an error there.

``TensorDot``'s gradient is again a ``TensorDot`` (over the output's other
axes) followed by a ``DimShuffle`` back to the input's axis order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import upcast
from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.elemwise import DimShuffle
from arignote.tensor.join import static_shape_text
from arignote.tensor.type import TensorType


def _transpose(x: Variable) -> Variable:
    return DimShuffle(2, (1, 0))(x)


class Dot(Op):
    """The product of two vectors or matrices, as ``np.dot``.

    >>> import arignote.tensor as T
    >>> Dot()(T.matrix("X"), T.vector("w")).type
    TensorType(float64, vector)
    """

    __props__ = ()

    def make_node(self, x: Any, y: Any) -> Apply:
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        for operand in (x, y):
            if operand.ndim not in (1, 2):
                raise TypeError(
                    f"Dot multiplies vectors and matrices, got {operand} of type "
                    f"{operand.type}; use dot() for scalars and tensors of more dimensions"
                )
        inner_x, inner_y = x.type.shape[-1], y.type.shape[0]
        if inner_x is not None and inner_y is not None and inner_x != inner_y:
            raise ValueError(
                f"dot: shapes {static_shape_text(x.type.shape)} and "
                f"{static_shape_text(y.type.shape)} are not aligned: axis {x.ndim - 1} of "
                f"{x} has length {inner_x}, axis 0 of {y} has length {inner_y}"
            )
        shape = x.type.shape[:-1] + y.type.shape[1:]
        output = TensorType(upcast(x.dtype, y.dtype), shape=shape).make_variable()
        return Apply(self, [x, y], [output])

    def perform(self, node, inputs, output_storage):
        x, y = inputs
        if x.shape[-1] != y.shape[0]:
            raise ValueError(f"dot: shapes {x.shape} and {y.shape} are not aligned")
        output_storage[0][0] = np.asarray(np.dot(x, y), dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        x_shape, y_shape = input_shapes
        return [tuple(x_shape[:-1]) + tuple(y_shape[1:])]

    def L_op(self, inputs, outputs, output_grads):
        x, y = inputs
        (gz,) = output_grads
        if x.ndim == 1 and y.ndim == 1:
            return [gz * y, gz * x]
        gx = outer(gz, y) if y.ndim == 1 else dot(gz, _transpose(y))
        gy = outer(x, gz) if x.ndim == 1 else dot(_transpose(x), gz)
        return [gx, gy]

    def R_op(self, inputs, eval_points):
        x, y = inputs
        ex, ey = eval_points
        terms = []
        if ex is not None:
            terms.append(dot(ex, y))
        if ey is not None:
            terms.append(dot(x, ey))
        if not terms:
            return [None]
        return [terms[0] + terms[1] if len(terms) == 2 else terms[0]]


_dot = Dot()


def _normalize_axes(axes: Sequence[Any], ndim: int, operand: Variable) -> tuple[int, ...]:
    normalized = []
    for axis in axes:
        if not -ndim <= int(axis) < ndim:
            raise ValueError(
                f"tensordot: axis {axis} is out of range for {operand} ({ndim} dimensions)"
            )
        normalized.append(int(axis) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"tensordot: the axes {tuple(axes)} of {operand} repeat an axis")
    return tuple(normalized)


class TensorDot(Op):
    """``np.tensordot(a, b, axes)``: sum over ``a_axes`` of ``a`` paired with ``b_axes`` of ``b``.

    The output has ``a``'s other axes, then ``b``'s, each in their order.
    """

    __props__ = ("a_axes", "b_axes")

    def __init__(self, a_axes: Sequence[int], b_axes: Sequence[int]):
        self.a_axes = tuple(int(a) for a in a_axes)
        self.b_axes = tuple(int(b) for b in b_axes)
        if len(self.a_axes) != len(self.b_axes):
            raise ValueError(
                f"tensordot: {len(self.a_axes)} axes of a cannot pair with "
                f"{len(self.b_axes)} axes of b"
            )

    def free_axes(self, a_ndim: int, b_ndim: int) -> tuple[list[int], list[int]]:
        """The axes of ``a`` and of ``b`` that are not summed over, in order."""
        return (
            [d for d in range(a_ndim) if d not in self.a_axes],
            [d for d in range(b_ndim) if d not in self.b_axes],
        )

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for operand, axes in ((a, self.a_axes), (b, self.b_axes)):
            if any(not 0 <= axis < operand.ndim for axis in axes):
                raise ValueError(
                    f"tensordot: axes {axes} are out of range for {operand} "
                    f"({operand.ndim} dimensions)"
                )
        for axis_a, axis_b in zip(self.a_axes, self.b_axes):
            length_a, length_b = a.type.shape[axis_a], b.type.shape[axis_b]
            if length_a is not None and length_b is not None and length_a != length_b:
                raise ValueError(
                    f"tensordot: shapes {static_shape_text(a.type.shape)} and "
                    f"{static_shape_text(b.type.shape)} are not aligned: axis {axis_a} of "
                    f"{a} has length {length_a}, axis {axis_b} of {b} has length {length_b}"
                )
        free_a, free_b = self.free_axes(a.ndim, b.ndim)
        shape = [a.type.shape[d] for d in free_a] + [b.type.shape[d] for d in free_b]
        output = TensorType(upcast(a.dtype, b.dtype), shape=shape).make_variable()
        return Apply(self, [a, b], [output])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        for axis_a, axis_b in zip(self.a_axes, self.b_axes):
            if a.shape[axis_a] != b.shape[axis_b]:
                raise ValueError(
                    f"tensordot: shapes {a.shape} and {b.shape} are not aligned: axis "
                    f"{axis_a} has length {a.shape[axis_a]}, axis {axis_b} has length "
                    f"{b.shape[axis_b]}"
                )
        result = np.tensordot(a, b, axes=(list(self.a_axes), list(self.b_axes)))
        output_storage[0][0] = np.asarray(result, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        a_shape, b_shape = input_shapes
        free_a, free_b = self.free_axes(len(a_shape), len(b_shape))
        return [tuple(a_shape[d] for d in free_a) + tuple(b_shape[d] for d in free_b)]

    def L_op(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        free_a, free_b = self.free_axes(a.ndim, b.ndim)
        gz_a_part = list(range(len(free_a)))
        gz_b_part = list(range(len(free_a), gz.ndim))
        # gz . b over b's free axes leaves a's free axes, then b's summed axes in order.
        ga = TensorDot(gz_b_part, free_b)(gz, b)
        ga_axes = free_a + [self.a_axes[self.b_axes.index(d)] for d in sorted(self.b_axes)]
        # a . gz over a's free axes leaves a's summed axes in order, then b's free axes.
        gb = TensorDot(free_a, gz_a_part)(a, gz)
        gb_axes = [self.b_axes[self.a_axes.index(d)] for d in sorted(self.a_axes)] + free_b
        return [_reorder(ga, ga_axes), _reorder(gb, gb_axes)]


def _reorder(x: Variable, axes_held: list[int]) -> Variable:
    """``x``, whose axis ``i`` is axis ``axes_held[i]`` of the target, in the target's order."""
    pattern = [axes_held.index(d) for d in range(len(axes_held))]
    if pattern == list(range(len(pattern))):
        return x
    return DimShuffle(x.ndim, pattern)(x)


def tensordot(a: Any, b: Any, axes: Any = 2):
    """Sum products over the given axes, as ``np.tensordot``.

    ``axes`` is an int ``n`` (the last ``n`` axes of ``a`` with the first ``n``
    of ``b``) or a pair of axis lists.

    >>> tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5)), axes=2).type.shape
    (2, 5)
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(
                f"tensordot: cannot sum over {axes} axes of {a.ndim}-d and {b.ndim}-d operands"
            )
        a_axes, b_axes = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        if len(axes) != 2:
            raise ValueError(f"tensordot: axes must be an int or a pair of axis lists: {axes!r}")
        a_axes, b_axes = (
            [side] if isinstance(side, (int, np.integer)) else list(side) for side in axes
        )
    return TensorDot(_normalize_axes(a_axes, a.ndim, a), _normalize_axes(b_axes, b.ndim, b))(a, b)


def dot(a: Any, b: Any):
    """Theano's ``T.dot``: ``np.dot`` semantics for every number of dimensions.

    A 0-d operand gives the elementwise product; vectors and matrices use
    ``Dot``; more dimensions sum over the last axis of ``a`` and the
    second-to-last of ``b``.

    >>> import arignote.tensor as T
    >>> dot(T.matrix("X"), T.vector("w")).type
    TensorType(float64, vector)
    >>> dot(np.ones((3, 4)), np.ones(5))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: dot: shapes (3, 4) and (5,) are not aligned: ...
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        return tensordot(a, b, [[a.ndim - 1], [max(0, b.ndim - 2)]])
    return _dot(a, b)


def outer(x: Any, y: Any):
    """The outer product of two vectors (other operands are flattened first).

    >>> outer(np.arange(2.0), np.arange(3.0)).eval().tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]]
    """
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim != 1:
        x = x.flatten()
    if y.ndim != 1:
        y = y.flatten()
    return dot(DimShuffle(1, (0, "x"))(x), DimShuffle(1, ("x", 0))(y))


__all__ = ["Dot", "TensorDot", "dot", "outer", "tensordot"]
