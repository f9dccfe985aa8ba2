"""Products: ``dot`` (Theano's ``tensor.dot``), ``outer``, ``tensordot``, ``matmul`` (``@``
with NumPy's batching), ``batched_dot``, ``batched_tensordot``, ``einsum`` and ``kron``.

``Dot`` is the op for vectors and matrices, the four cases BLAS serves
(dot, gemv both ways, gemm); backends specialise it, and its gradients are
built of ``Dot`` again, so they reach BLAS too. ``dot`` dispatches as
Theano's did: a 0-d operand is an elementwise product, operands of more
than two dimensions go to ``TensorDot`` over the last axis of ``a`` and the
second-to-last of ``b`` (``np.dot``'s semantics). Inner lengths that are
known to differ when the graph is built are an error there.

``TensorDot``'s gradient is again a ``TensorDot`` (over the output's other
axes) followed by a ``DimShuffle`` back to the input's axis order.

``MatMul`` is ``np.matmul`` on operands of two or more dimensions: a stack
of matrix products whose leading (batch) axes broadcast by Theano's rule,
only where the type says length 1. ``matmul`` adds NumPy's vector cases
around it and leaves plain vectors and matrices to ``Dot``.
``batched_tensordot`` and ``batched_dot`` are composites (transpose,
reshape, ``MatMul``), so they reach batched BLAS.

``Einsum`` holds a subscripts string normalised when the graph is built
(ellipses spelt out, the output explicit) and runs ``np.einsum``. The
gradient for operand ``i`` is one more ``Einsum``: the output gradient with
the other operands, contracted into operand ``i``'s subscripts. A letter
repeated in operand ``i`` (a diagonal) becomes a fresh letter tied to the
first by an identity matrix operand; a letter only operand ``i`` has (summed
away in the forward pass) gets a ones vector; an axis of operand ``i``
declared broadcastable is summed and put back as a length-1 axis.
``kron`` is a composite: an outer product with interleaved axes, reshaped.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import upcast
from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.elemwise import DimShuffle, broadcast_static_shape, pad_left
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
        # Complex gradients follow Theano's convention (dC/dRe + i dC/dIm): the other
        # operand enters conjugated, as it does for elementwise mul.
        x_, y_ = _conj_if_complex(x), _conj_if_complex(y)
        if x.ndim == 1 and y.ndim == 1:
            return [gz * y_, gz * x_]
        gx = outer(gz, y_) if y.ndim == 1 else dot(gz, _transpose(y_))
        gy = outer(x_, gz) if x.ndim == 1 else dot(_transpose(x_), gz)
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


def _conj_if_complex(x: Variable) -> Variable:
    from arignote.tensor.math import conj

    return conj(x) if x.dtype.startswith("complex") else x


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


# ---- matmul ----------------------------------------------------------------------------------
def swap_last_axes(x: Variable) -> Variable:
    """``x`` with its last two axes exchanged (the transpose of every matrix in a stack)."""
    order = list(range(x.ndim))
    order[-2], order[-1] = order[-1], order[-2]
    return DimShuffle(x.ndim, order)(x)


def _reduce_to(gradient: Variable, like: Variable) -> Variable:
    """``gradient`` summed over the leading axes ``like`` lacks and the axes it broadcast."""
    from arignote.tensor.elemwise import sum_to_broadcastable
    from arignote.tensor.reduction import sum as tensor_sum

    extra = gradient.ndim - like.ndim
    if extra:
        gradient = tensor_sum(gradient, axis=tuple(range(extra)))
    return sum_to_broadcastable(gradient, like)


class MatMul(Op):
    """``np.matmul`` of two stacks of matrices (two or more dimensions each).

    The leading axes are batch axes: the operand with fewer is padded on
    the left, and an axis broadcasts only where its type has length 1.

    >>> import arignote.tensor as T
    >>> MatMul()(T.tensor3("a"), T.matrix("b")).type.shape
    (None, None, None)
    """

    __props__ = ()

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for operand in (a, b):
            if operand.ndim < 2:
                raise TypeError(
                    f"MatMul multiplies stacks of matrices (2 or more dimensions), got "
                    f"{operand} of type {operand.type}; matmul() handles vectors"
                )
        inner_a, inner_b = a.type.shape[-1], b.type.shape[-2]
        if inner_a is not None and inner_b is not None and inner_a != inner_b:
            raise ValueError(
                f"matmul: shapes {static_shape_text(a.type.shape)} and "
                f"{static_shape_text(b.type.shape)} are not aligned: the last axis of {a} has "
                f"length {inner_a}, the second-to-last of {b} has length {inner_b}"
            )
        batch = self._batch_shape(a, b)
        shape = batch + (a.type.shape[-2], b.type.shape[-1])
        output = TensorType(upcast(a.dtype, b.dtype), shape=shape).make_variable()
        return Apply(self, [a, b], [output])

    @staticmethod
    def _padded_batches(a_shape: Sequence[Any], b_shape: Sequence[Any]) -> list[tuple]:
        ndim = max(len(a_shape), len(b_shape)) - 2
        return [(1,) * (ndim - len(s) + 2) + tuple(s[:-2]) for s in (a_shape, b_shape)]

    def _batch_shape(self, a: Variable, b: Variable) -> tuple[int | None, ...]:
        return broadcast_static_shape(
            self._padded_batches(a.type.shape, b.type.shape), "matmul: batch axes"
        )

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned: the last axis of the "
                f"first has length {a.shape[-1]}, the second-to-last of the second "
                f"{b.shape[-2]}"
            )
        a_batch, b_batch = self._padded_batches(a.shape, b.shape)
        a_static, b_static = self._padded_batches(
            node.inputs[0].type.shape, node.inputs[1].type.shape
        )
        for axis, (la, lb, sa, sb) in enumerate(zip(a_batch, b_batch, a_static, b_static)):
            if la != lb and not (sa == 1 or sb == 1):
                raise ValueError(
                    f"matmul: batch axis {axis} has length {la} in the first operand (shape "
                    f"{a.shape}) and {lb} in the second (shape {b.shape}); only axes declared "
                    "broadcastable (static length 1) broadcast"
                )
        output_storage[0][0] = np.asarray(np.matmul(a, b), dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        a, b = node.inputs
        a_shape, b_shape = input_shapes
        a_batch, b_batch = self._padded_batches(a_shape, b_shape)
        a_static, b_static = self._padded_batches(a.type.shape, b.type.shape)
        batch = [
            la if sa != 1 else lb if sb != 1 else 1
            for la, lb, sa, sb in zip(a_batch, b_batch, a_static, b_static)
        ]
        return [tuple(batch) + (a_shape[-2], b_shape[-1])]

    def L_op(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        ga = _reduce_to(self(gz, swap_last_axes(b)), a)
        gb = _reduce_to(self(swap_last_axes(a), gz), b)
        return [ga, gb]

    def R_op(self, inputs, eval_points):
        a, b = inputs
        terms = [self(e, b) for e in eval_points[:1] if e is not None]
        terms += [self(a, e) for e in eval_points[1:] if e is not None]
        if not terms:
            return [None]
        return [terms[0] + terms[1] if len(terms) == 2 else terms[0]]


_matmul = MatMul()


def matmul(a: Any, b: Any):
    """``np.matmul`` (the ``@`` of NumPy): matrix products broadcast over leading axes.

    A vector operand is a matrix with one row (first operand) or one column
    (second), removed from the result again. 0-d operands are an error.
    Vectors and matrices alone go to ``Dot``.

    >>> import arignote.tensor as T
    >>> matmul(T.tensor3("a"), T.vector("v")).type.shape
    (None, None)
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    for position, operand in enumerate((a, b)):
        if operand.ndim == 0:
            raise ValueError(
                f"matmul: operand {position} ({operand}) is 0-d; matmul needs at least one "
                "dimension (use * for a scalar product)"
            )
    if a.ndim <= 2 and b.ndim <= 2:
        return _dot(a, b)
    a_matrix = DimShuffle(1, ("x", 0))(a) if a.ndim == 1 else a
    b_matrix = DimShuffle(1, (0, "x"))(b) if b.ndim == 1 else b
    result = _matmul(a_matrix, b_matrix)
    keep = list(range(result.ndim))
    if b.ndim == 1:
        keep.remove(result.ndim - 1)
    if a.ndim == 1:
        keep.remove(result.ndim - 2)
    return result if len(keep) == result.ndim else DimShuffle(result.ndim, keep)(result)


def _static_product(lengths: Sequence[Any]) -> Any:
    product: Any = 1
    for length in lengths:
        product = product * length
    return product


def batched_tensordot(x: Any, y: Any, axes: Any = 2):
    """``tensordot`` of ``x[i]`` with ``y[i]`` for every ``i`` along the first (batch) axis.

    ``axes`` is an int ``n`` (the last ``n`` axes of ``x`` with axes ``1..n``
    of ``y``) or a pair of axis lists, which must not name the batch axis 0.

    >>> import arignote.tensor as T
    >>> batched_tensordot(T.tensor3("x"), T.tensor4("y"), [[2], [1]]).ndim
    4
    """
    from arignote.tensor.shape import reshape, shape_i, transpose

    x, y = as_tensor_variable(x), as_tensor_variable(y)
    for position, operand in enumerate((x, y)):
        if operand.ndim < 2:
            raise TypeError(
                f"batched_tensordot: operand {position} ({operand}) needs a batch axis and at "
                f"least one more, has {operand.ndim} dimensions"
            )
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(x.ndim, y.ndim) - 1:
            raise ValueError(
                f"batched_tensordot: cannot sum over {axes} axes of {x.ndim}-d and {y.ndim}-d "
                "operands besides the batch axis"
            )
        x_axes, y_axes = list(range(x.ndim - axes, x.ndim)), list(range(1, axes + 1))
    else:
        if len(axes) != 2:
            raise ValueError(f"batched_tensordot: axes must be an int or a pair of lists: {axes!r}")
        x_axes, y_axes = (
            [side] if isinstance(side, (int, np.integer)) else list(side) for side in axes
        )
    x_axes = list(_normalize_axes(x_axes, x.ndim, x))
    y_axes = list(_normalize_axes(y_axes, y.ndim, y))
    if 0 in x_axes or 0 in y_axes:
        raise ValueError("batched_tensordot: axis 0 is the batch axis and cannot be summed over")
    if len(x_axes) != len(y_axes):
        raise ValueError(
            f"batched_tensordot: {len(x_axes)} axes of x cannot pair with {len(y_axes)} of y"
        )
    for axis_x, axis_y in zip(x_axes, y_axes):
        length_x, length_y = x.type.shape[axis_x], y.type.shape[axis_y]
        if length_x is not None and length_y is not None and length_x != length_y:
            raise ValueError(
                f"batched_tensordot: shapes {static_shape_text(x.type.shape)} and "
                f"{static_shape_text(y.type.shape)} are not aligned: axis {axis_x} of {x} has "
                f"length {length_x}, axis {axis_y} of {y} has length {length_y}"
            )
    free_x = [d for d in range(1, x.ndim) if d not in x_axes]
    free_y = [d for d in range(1, y.ndim) if d not in y_axes]
    x_lengths = [shape_i(x, d) for d in range(x.ndim)]
    y_lengths = [shape_i(y, d) for d in range(y.ndim)]
    summed = _static_product([x_lengths[d] for d in x_axes])
    x_matrices = reshape(
        transpose(x, [0] + free_x + x_axes),
        (x_lengths[0], _static_product([x_lengths[d] for d in free_x]), summed),
    )
    y_matrices = reshape(
        transpose(y, [0] + y_axes + free_y),
        (y_lengths[0], summed, _static_product([y_lengths[d] for d in free_y])),
    )
    products = _matmul(x_matrices, y_matrices)
    batch = shape_i(products, 0)
    return reshape(
        products, [batch] + [x_lengths[d] for d in free_x] + [y_lengths[d] for d in free_y]
    )


def batched_dot(a: Any, b: Any):
    """``dot(a[i], b[i])`` for every ``i`` along the first (batch) axis, as Theano's.

    A 1-d operand holds one scalar per batch entry and multiplies the other.

    >>> import arignote.tensor as T
    >>> batched_dot(T.tensor3("a"), T.tensor3("b")).ndim, batched_dot(T.matrix(), T.matrix()).ndim
    (3, 1)
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise TypeError(
            f"batched_dot: both operands need a batch axis; got {a.ndim}-d {a} and {b.ndim}-d {b}"
        )
    if a.ndim == 1:
        return DimShuffle(1, (0,) + ("x",) * (b.ndim - 1))(a) * b
    if b.ndim == 1:
        return a * DimShuffle(1, (0,) + ("x",) * (a.ndim - 1))(b)
    return batched_tensordot(a, b, [[a.ndim - 1], [max(1, b.ndim - 2)]])


# ---- einsum ----------------------------------------------------------------------------------
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _fresh_letters(used: str, count: int, subscripts: str) -> list[str]:
    free = [c for c in _LETTERS if c not in used]
    if len(free) < count:
        raise ValueError(
            f"einsum: {subscripts!r} needs {count} more distinct letters than the 52 available"
        )
    return free[:count]


def _parse_subscripts(subscripts: str, operands: Sequence[Variable]) -> str:
    """``subscripts`` for ``operands`` as explicit ``"ab,bc->ac"``: no ellipsis, no spaces."""
    text = subscripts.replace(" ", "")
    inputs_text, arrow, output_text = text.partition("->")
    terms = inputs_text.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum: {subscripts!r} names {len(terms)} operands, but {len(operands)} were given"
        )
    for term in terms + ([output_text] if arrow else []):
        stripped = term.replace("...", "")
        if "." in stripped or any(c not in _LETTERS for c in stripped):
            raise ValueError(
                f"einsum: {subscripts!r} has an invalid subscript {term!r}; use letters and '...'"
            )
    ellipsis_lengths = []
    for term, operand in zip(terms, operands):
        letters = len(term.replace("...", ""))
        if term.count("...") > 1:
            raise ValueError(f"einsum: {subscripts!r}: {term!r} has more than one '...'")
        covered = operand.ndim - letters
        if covered < 0 or (covered and "..." not in term):
            raise ValueError(
                f"einsum: subscripts {term!r} name {letters} axes, but {operand} has "
                f"{operand.ndim} dimensions"
            )
        ellipsis_lengths.append(covered)
    ellipsis = _fresh_letters(text, max(ellipsis_lengths, default=0), subscripts)
    expanded = [
        term.replace("...", "".join(ellipsis[len(ellipsis) - n :]) if n else "")
        for term, n in zip(terms, ellipsis_lengths)
    ]
    if arrow:
        if ellipsis and "..." not in output_text:
            raise ValueError(
                f"einsum: {subscripts!r}: the inputs have '...' axes, so the output must "
                "name them with '...' too"
            )
        output = output_text.replace("...", "".join(ellipsis))
    else:
        counts = {c: "".join(expanded).count(c) for c in set("".join(expanded))}
        named = sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis)
        output = "".join(ellipsis) + "".join(named)
    for c in output:
        if output.count(c) > 1:
            raise ValueError(f"einsum: {subscripts!r}: the output repeats the subscript {c!r}")
        if not any(c in term for term in expanded):
            raise ValueError(
                f"einsum: {subscripts!r}: the output subscript {c!r} names no input axis"
            )
    return ",".join(expanded) + "->" + output


class Einsum(Op):
    """``np.einsum`` with normalised subscripts (``"ab,bc->ac"``: explicit, no ellipsis).

    >>> import arignote.tensor as T
    >>> Einsum("ij,jk->ik")(T.matrix(), T.matrix()).ndim
    2
    """

    __props__ = ("subscripts",)

    def __init__(self, subscripts: str):
        self.subscripts = subscripts
        inputs_text, _, self.output_letters = subscripts.partition("->")
        self.input_letters = tuple(inputs_text.split(","))

    def _occurrences(self, letter: str) -> list[tuple[int, int]]:
        """(operand, axis) of every axis named ``letter``."""
        return [
            (position, axis)
            for position, term in enumerate(self.input_letters)
            for axis, c in enumerate(term)
            if c == letter
        ]

    def make_node(self, *operands: Any) -> Apply:
        operands = [as_tensor_variable(o) for o in operands]
        if len(operands) != len(self.input_letters):
            raise TypeError(f"{self} takes {len(self.input_letters)} operands, got {len(operands)}")
        for term, operand in zip(self.input_letters, operands):
            if len(term) != operand.ndim:
                raise ValueError(
                    f"einsum: subscripts {term!r} name {len(term)} axes, but {operand} has "
                    f"{operand.ndim} dimensions"
                )
        lengths = {}
        for letter in set("".join(self.input_letters)):
            places = self._occurrences(letter)
            static = [operands[p].type.shape[a] for p, a in places]
            known = {s for s in static if s is not None and s != 1}
            if len(known) > 1:
                shapes = ", ".join(static_shape_text(o.type.shape) for o in operands)
                raise ValueError(
                    f"einsum: {self.subscripts!r}: the axes named {letter!r} have lengths "
                    f"{sorted(known)} in operands of shapes {shapes}"
                )
            lengths[letter] = known.pop() if known else 1 if all(s == 1 for s in static) else None
        shape = [lengths[c] for c in self.output_letters]
        output = TensorType(upcast(*(o.dtype for o in operands)), shape=shape).make_variable()
        return Apply(self, operands, [output])

    def perform(self, node, inputs, output_storage):
        for letter in set("".join(self.input_letters)):
            places = self._occurrences(letter)
            strict = {inputs[p].shape[a] for p, a in places if node.inputs[p].type.shape[a] != 1}
            if len(strict) > 1:
                shapes = ", ".join(str(i.shape) for i in inputs)
                raise ValueError(
                    f"einsum: {self.subscripts!r}: the axes named {letter!r} have lengths "
                    f"{sorted(strict)} in operands of shapes {shapes} (only axes declared "
                    "broadcastable, of static length 1, broadcast)"
                )
        result = np.einsum(self.subscripts, *inputs, optimize=len(inputs) > 1)
        output_storage[0][0] = np.asarray(result, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        shape = []
        for letter in self.output_letters:
            places = self._occurrences(letter)
            wide = [(p, a) for p, a in places if node.inputs[p].type.shape[a] != 1]
            shape.append(input_shapes[wide[0][0]][wide[0][1]] if wide else 1)
        return [tuple(shape)]

    def L_op(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        return [self._pullback(inputs, gz, i) for i in range(len(inputs))]

    def _pullback(self, inputs: Sequence[Variable], gz: Variable, position: int) -> Variable:
        from arignote.tensor.alloc import eye, ones
        from arignote.tensor.shape import shape_i

        x = inputs[position]
        terms = [self.output_letters] + [
            t for i, t in enumerate(self.input_letters) if i != position
        ]
        operands = [gz] + [o for i, o in enumerate(inputs) if i != position]
        fresh = iter(_fresh_letters(self.subscripts, x.ndim, self.subscripts))
        target, kept_axes = [], []
        for axis, letter in enumerate(self.input_letters[position]):
            if x.type.shape[axis] == 1:
                continue  # summed here, restored as a broadcastable axis below
            kept_axes.append(axis)
            if letter in target:
                # A diagonal: a fresh letter, tied to the first by an identity matrix.
                twin = next(fresh)
                terms.append(letter + twin)
                operands.append(eye(shape_i(x, axis), dtype=gz.dtype))
                letter = twin
            elif not any(letter in t for t in terms):
                # Summed away in the forward pass: every element got the same gradient.
                terms.append(letter)
                operands.append(ones((shape_i(x, axis),), dtype=gz.dtype))
            target.append(letter)
        gradient = Einsum(",".join(terms) + "->" + "".join(target))(*operands)
        if len(kept_axes) == x.ndim:
            return gradient
        pattern = [kept_axes.index(a) if a in kept_axes else "x" for a in range(x.ndim)]
        return DimShuffle(gradient.ndim, pattern)(gradient)

    def R_op(self, inputs, eval_points):
        terms = [
            self(*inputs[:i], e, *inputs[i + 1 :])
            for i, e in enumerate(eval_points)
            if e is not None
        ]
        if not terms:
            return [None]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return [total]


def einsum(subscripts: str, *operands: Any):
    """Einstein summation, as ``np.einsum(subscripts, *operands)``.

    Subscripts are letters, with ``...`` for broadcast axes and an optional
    ``->output`` (without it, the letters named once, in alphabetical
    order). Broadcasting follows Theano: only axes of static length 1.

    >>> import arignote.tensor as T
    >>> a, b = T.matrix("a"), T.matrix("b")
    >>> einsum("ij,jk", a, b).eval({a: np.eye(2), b: np.ones((2, 3))}).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    if not isinstance(subscripts, str):
        raise TypeError(
            f"einsum: the first argument must be a subscripts string, got {subscripts!r}"
        )
    operands = [as_tensor_variable(o) for o in operands]
    if not operands:
        raise ValueError("einsum needs at least one operand")
    return Einsum(_parse_subscripts(subscripts, operands))(*operands)


# ---- kron ------------------------------------------------------------------------------------
def kron(a: Any, b: Any):
    """The Kronecker product, as ``np.kron`` (the operand with fewer axes is padded on the
    left with length-1 axes).

    >>> kron(np.eye(2), np.ones((1, 2))).eval().tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
    """
    from arignote.tensor.shape import reshape, shape_i

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    ndim = max(a.ndim, b.ndim)
    if ndim == 0:
        return a * b
    a, b = pad_left(a, ndim), pad_left(b, ndim)
    # a[i, j] * b[k, l] laid out as (i, k, j, l), then (i, k) and (j, l) merged.
    spread_a = DimShuffle(ndim, [p for d in range(ndim) for p in (d, "x")])(a)
    spread_b = DimShuffle(ndim, [p for d in range(ndim) for p in ("x", d)])(b)
    lengths = [shape_i(a, d) * shape_i(b, d) for d in range(ndim)]
    return reshape(spread_a * spread_b, lengths)


__all__ = [
    "Dot",
    "Einsum",
    "MatMul",
    "TensorDot",
    "batched_dot",
    "batched_tensordot",
    "dot",
    "einsum",
    "kron",
    "matmul",
    "outer",
    "tensordot",
]
