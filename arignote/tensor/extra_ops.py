"""``theano.tensor.extra_ops``: cumulative ops, counting, searching, diagonals and index maths.

Invariants and choices:

- ``axis=None`` means "of the flattened input" everywhere, as in NumPy; it
  is a ``flatten`` in front of the op, so the ops themselves always work
  along one fixed non-negative axis.
- ``cumsum``/``cumprod`` keep the input's dtype (Theano's rule, unlike
  NumPy's widening of small integers; bool counts as int64). The gradient
  of ``cumprod`` is exact at zeros, and so is its own gradient (see
  ``_cumprod_pullback``); a third derivative at a zero is not.
- ``diff``, ``compress``, ``to_one_hot`` and ``bartlett`` are composites of
  existing ops and inherit gradients and shape inference. ``compress`` and
  ``to_one_hot`` are Theano's definitions through advanced indexing
  (``take``, ``set_subtensor``), so an index out of range is an ``IndexError``.
- Index-valued results (``bincount`` counts, ``searchsorted``, ``unique``'s
  index/inverse/counts, ``unravel_index``, ``ravel_multi_index``) are int64.
  Their gradient with respect to float inputs is zero (they are piecewise
  constant); integer inputs get none.
- ``squeeze`` and ``repeat`` live in ``shape`` and ``rearrange``; they are
  re-exported here because Theano had them in this module.
- ``unique``'s output length depends on the values, so its ``infer_shape``
  raises ``NotImplementedError`` saying so; ``bincount``'s length is
  ``max(max(x) + 1, minlength)``, which ``infer_shape`` computes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import DISCRETE_DTYPES, INT_DTYPES, upcast
from arignote.tensor.advanced_subtensor import (
    advanced_set_subtensor,
    advanced_subtensor,
    flatnonzero,
    take,
)
from arignote.tensor.basic import as_tensor_variable, cast, constant
from arignote.tensor.elemwise import broadcast_static_shape, check_runtime_broadcast, pad_left
from arignote.tensor.rearrange import repeat  # theano.tensor.extra_ops.repeat
from arignote.tensor.shape import (
    as_int_scalar,
    flatten,
    known_int,
    shape_i,
    shape_vector,
    squeeze,  # theano.tensor.extra_ops.squeeze
)
from arignote.tensor.sort import normalize_axis, zero_gradient_of
from arignote.tensor.type import TensorType, _resolve_dtype


def _reversed_along(x, axis: int):
    """``x`` reversed along ``axis`` (a view)."""
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def _flattened_unless(x: Any, axis: Any, what: str):
    """``x`` and its axis to work along; ``axis=None`` flattens ``x`` first."""
    x = as_tensor_variable(x)
    if axis is None:
        return flatten(x), 0
    return x, normalize_axis(axis, x.ndim, what)


# ---- cumsum and cumprod -------------------------------------------------------------------
class CumOp(Op):
    """Cumulative sum (``mode='add'``) or product (``mode='mul'``) along ``axis``."""

    __props__ = ("axis", "mode")

    def __init__(self, axis: int, mode: str = "add"):
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp mode must be 'add' or 'mul', got {mode!r}")
        self.axis = int(axis)
        self.mode = mode

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        normalize_axis(self.axis, x.ndim, f"cum{'sum' if self.mode == 'add' else 'prod'}")
        dtype = "int64" if x.dtype == "bool" else x.dtype
        return Apply(self, [x], [TensorType(dtype, shape=x.type.shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        accumulate = np.cumsum if self.mode == "add" else np.cumprod
        output_storage[0][0] = accumulate(inputs[0], axis=self.axis, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        (gz,) = output_grads
        if x.dtype in DISCRETE_DTYPES:
            return [None]
        axis = self.axis % x.ndim
        if self.mode == "add":
            return [_reversed_cumsum(gz, axis)]
        return [_cumprod_pullback(x, outputs[0], gz, axis, refine=True)]


def _reversed_cumsum(values, axis: int):
    """``out[i] = sum(values[i:])`` along ``axis``."""
    return _reversed_along(CumOp(axis, "add")(_reversed_along(values, axis)), axis)


def _cumprod_pullback(x, y, gz, axis: int, refine: bool):
    """``g[i] = sum_{j >= i} gz[j] * prod_{k <= j, k != i} x[k]`` along ``axis``, without
    dividing by zero; ``y`` is ``cumprod(x)``.

    Before the first zero of a slice, ``g[i] = revcumsum(gz * y)[i] / x[i]``; at it, the
    same sum with that zero taken as 1 (and no division); after it, every term holds the
    zero as a factor: ``g[i] = x[first zero] * g'[i]``, ``g'`` this pullback with the zero
    taken as 1. That product is 0, but written so, its own derivative with respect to the
    zero is right: ``refine`` builds it (one level, so second derivatives are exact at
    zeros too); without it the value 0 stands there.
    """
    from arignote.tensor import math
    from arignote.tensor.reduction import sum as tensor_sum

    is_zero = math.eq(x, 0)
    zeros_so_far = CumOp(axis, "add")(cast(is_zero, "int64"))
    before_zero = math.eq(zeros_so_far, 0)
    first_zero = math.and_(is_zero, math.eq(zeros_so_far, 1))
    before = _reversed_cumsum(gz * y, axis) / math.switch(before_zero, x, 1)
    zero_as_one = math.switch(first_zero, 1, x)
    products_without_zero = CumOp(axis, "mul")(zero_as_one)
    at_first_zero = _reversed_cumsum(gz * products_without_zero, axis)
    after = 0
    if refine:
        the_zero = tensor_sum(math.switch(first_zero, x, 0), axis=axis, keepdims=True)
        after = the_zero * _cumprod_pullback(
            zero_as_one, products_without_zero, gz, axis, refine=False
        )
    return math.switch(before_zero, before, math.switch(first_zero, at_first_zero, after))


def cumsum(x: Any, axis: Any = None):
    """Cumulative sum along ``axis`` (None: of the flattened ``x``), in ``x``'s dtype.

    >>> import numpy as np
    >>> cumsum(np.array([[1, 2], [3, 4]])).eval().tolist()
    [1, 3, 6, 10]
    """
    x, axis = _flattened_unless(x, axis, "cumsum")
    return CumOp(axis, "add")(x)


def cumprod(x: Any, axis: Any = None):
    """Cumulative product along ``axis`` (None: of the flattened ``x``), in ``x``'s dtype.

    >>> import numpy as np
    >>> cumprod(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0).eval().tolist()
    [[1.0, 2.0], [3.0, 8.0]]
    """
    x, axis = _flattened_unless(x, axis, "cumprod")
    return CumOp(axis, "mul")(x)


def diff(x: Any, n: int = 1, axis: int = -1):
    """The ``n``-th discrete difference along ``axis``, ``x[1:] - x[:-1]`` repeated ``n`` times.

    >>> import numpy as np
    >>> diff(np.array([1.0, 4.0, 9.0, 16.0]), n=2).eval().tolist()
    [2.0, 2.0]
    """
    from arignote.tensor.math import neq

    x = as_tensor_variable(x)
    axis = normalize_axis(axis, x.ndim, "diff")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    before = (slice(None),) * axis
    for _ in range(n):
        later, earlier = x[before + (slice(1, None),)], x[before + (slice(None, -1),)]
        # NumPy's difference of booleans is "changed", not a subtraction.
        x = neq(later, earlier) if x.dtype == "bool" else later - earlier
    return x


# ---- bincount -----------------------------------------------------------------------------
class BinCountOp(Op):
    """How often each value ``0..max(x)`` occurs in ``x`` (or the sum of its ``weights``), at
    least ``minlength`` bins. Inputs: ``x``, ``minlength`` and optionally ``weights``."""

    __props__ = ()

    def make_node(self, x: Any, minlength: Any, weights: Any = None) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != 1 or x.dtype not in DISCRETE_DTYPES:
            raise TypeError(f"bincount: x must be an integer vector, got {x!r} of type {x.type}")
        minlength = as_int_scalar(minlength, "bincount: minlength")
        known = known_int(minlength)
        if known is not None and known < 0:
            raise ValueError(f"bincount: minlength must not be negative, got {known}")
        inputs = [x, minlength]
        dtype = "int64"
        if weights is not None:
            weights = as_tensor_variable(weights)
            if weights.ndim != 1:
                raise TypeError(f"bincount: weights must be a vector, got {weights!r}")
            lengths = {x.type.shape[0], weights.type.shape[0]} - {None}
            if len(lengths) > 1:
                raise ValueError(
                    f"bincount: x has {x.type.shape[0]} elements but weights has "
                    f"{weights.type.shape[0]}; they must have the same length"
                )
            inputs.append(weights)
            dtype = "int64" if weights.dtype == "bool" else weights.dtype
        return Apply(self, inputs, [TensorType(dtype, shape=(None,)).make_variable()])

    def perform(self, node, inputs, output_storage):
        x, minlength, *weights = inputs
        dtype = node.outputs[0].dtype
        if x.size and x.min() < 0:
            position = int(np.argmin(x))
            raise ValueError(
                f"bincount: x must not have negative values, but x[{position}] = {x[position]}"
            )
        if minlength < 0:
            raise ValueError(f"bincount: minlength must not be negative, got {int(minlength)}")
        x = x.astype("int64")
        if not weights:
            output_storage[0][0] = np.bincount(x, minlength=int(minlength)).astype(dtype)
            return
        (weights,) = weights
        if weights.shape != x.shape:
            raise ValueError(
                f"bincount: x has shape {x.shape} but weights has shape {weights.shape}; they "
                "must have the same length"
            )
        length = max(int(x.max()) + 1 if x.size else 0, int(minlength))
        if dtype in ("float16", "float32", "float64"):
            counts = np.bincount(x, weights.astype("float64"), minlength=length)
            output_storage[0][0] = counts.astype(dtype)
        else:
            counts = np.zeros(length, dtype=dtype)
            np.add.at(counts, x, weights)
            output_storage[0][0] = counts

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.join import join
        from arignote.tensor.math import maximum
        from arignote.tensor.reduction import max as tensor_max

        x, minlength = node.inputs[:2]
        # The -1 makes the maximum of an empty x well defined: no bins but minlength's.
        largest = tensor_max(join(0, cast(x, "int64"), constant(np.array([-1], dtype="int64"))))
        return [(maximum(largest + 1, cast(minlength, "int64")),)]

    def connection_pattern(self, node):
        return [[True], [False]] + [[True]] * (len(node.inputs) - 2)

    def L_op(self, inputs, outputs, output_grads):
        x, _, *weights = inputs
        if not weights or weights[0].dtype in DISCRETE_DTYPES:
            return [None] * len(inputs)
        # Each weight was added into the bin of its value.
        return [None, None, advanced_subtensor(output_grads[0], x)]


def bincount(x: Any, weights: Any = None, minlength: Any = None, assert_nonneg: bool = False):
    """Occurrences of each value ``0..max(x)`` in the non-negative int vector ``x``.

    With ``weights`` the bins sum the weights instead (output in their dtype); at least
    ``minlength`` bins. A negative value in ``x`` is always a ``ValueError`` (Theano's
    ``assert_nonneg`` is accepted and has nothing left to switch on).

    >>> import numpy as np
    >>> bincount(np.array([0, 2, 2, 5])).eval().tolist()
    [1, 0, 2, 0, 0, 1]
    """
    return BinCountOp()(x, 0 if minlength is None else minlength, weights)


# ---- searchsorted -------------------------------------------------------------------------
class SearchsortedOp(Op):
    """Where the elements of ``v`` would go in the sorted vector ``x`` (``np.searchsorted``)."""

    __props__ = ("side",)

    def __init__(self, side: str = "left"):
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        self.side = side

    def make_node(self, x: Any, v: Any, sorter: Any = None) -> Apply:
        x = as_tensor_variable(x)
        v = as_tensor_variable(v)
        if x.ndim != 1:
            raise TypeError(f"searchsorted: x must be a sorted vector, got {x!r} of type {x.type}")
        inputs = [x, v]
        if sorter is not None:
            sorter = as_tensor_variable(sorter)
            if sorter.ndim != 1 or sorter.dtype not in INT_DTYPES:
                raise TypeError(f"searchsorted: sorter must be an integer vector, got {sorter!r}")
            inputs.append(sorter)
        output = TensorType("int64", shape=v.type.shape).make_variable()
        return Apply(self, inputs, [output])

    def perform(self, node, inputs, output_storage):
        x, v, *sorter = inputs
        result = np.searchsorted(x, v, side=self.side, sorter=sorter[0] if sorter else None)
        output_storage[0][0] = np.asarray(result, dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        x, v, *sorter = inputs
        return [zero_gradient_of(x), zero_gradient_of(v)] + [None] * len(sorter)


def searchsorted(x: Any, v: Any, side: str = "left", sorter: Any = None):
    """Indices where the elements of ``v`` would be inserted into ``x`` to keep it sorted.

    ``x`` is an ascending vector, or any vector with ``sorter`` the indices that sort it.

    >>> import numpy as np
    >>> searchsorted(np.array([1.0, 2.0, 3.0]), np.array([2.0, 5.0])).eval().tolist()
    [1, 3]
    """
    return SearchsortedOp(side)(x, v, sorter)


# ---- unique -------------------------------------------------------------------------------
class Unique(Op):
    """The sorted distinct elements of ``x`` (or distinct slices along ``axis``), with the
    requested int64 extras, in order: first indices, inverse (flat, as in Theano), counts."""

    __props__ = ("return_index", "return_inverse", "return_counts", "axis")

    def __init__(
        self,
        return_index: bool = False,
        return_inverse: bool = False,
        return_counts: bool = False,
        axis: int | None = None,
    ):
        self.return_index = bool(return_index)
        self.return_inverse = bool(return_inverse)
        self.return_counts = bool(return_counts)
        self.axis = None if axis is None else int(axis)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if self.axis is None:
            values_shape: tuple = (None,)
            known = [n for n in x.type.shape if n is not None]
            inverse_length = math.prod(known) if len(known) == x.ndim else None
        else:
            axis = normalize_axis(self.axis, x.ndim, "unique")
            values_shape = x.type.shape[:axis] + (None,) + x.type.shape[axis + 1 :]
            inverse_length = x.type.shape[axis]
        outputs = [TensorType(x.dtype, shape=values_shape).make_variable()]
        if self.return_index:
            outputs.append(TensorType("int64", shape=(None,)).make_variable())
        if self.return_inverse:
            outputs.append(TensorType("int64", shape=(inverse_length,)).make_variable())
        if self.return_counts:
            outputs.append(TensorType("int64", shape=(None,)).make_variable())
        return Apply(self, [x], outputs)

    def perform(self, node, inputs, output_storage):
        results = np.unique(
            inputs[0],
            return_index=self.return_index,
            return_inverse=self.return_inverse,
            return_counts=self.return_counts,
            axis=self.axis,
        )
        results = results if isinstance(results, tuple) else (results,)
        for cell, result, output in zip(output_storage, results, node.outputs):
            cell[0] = np.asarray(result, dtype=output.dtype).reshape(
                -1 if output.ndim == 1 else result.shape
            )

    def infer_shape(self, node, input_shapes):
        raise NotImplementedError(
            "unique: the number of distinct elements, which is the length of its outputs, is "
            "known only once the values are"
        )

    def L_op(self, inputs, outputs, output_grads):
        from arignote.gradient import grad_undefined

        reason = (
            "unique merges equal elements, so its output changes length as soon as two of "
            "them move apart"
        )
        return [grad_undefined(self, 0, inputs[0], reason)]


def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
):
    """The sorted distinct elements of ``ar`` (flattened unless ``axis`` is given), as
    ``np.unique``; with any ``return_*`` flag, a list: values, then the requested int64
    index, inverse and counts vectors.

    >>> import numpy as np
    >>> [r.eval().tolist() for r in unique(np.array([3, 1, 3]), return_counts=True)]
    [[1, 3], [1, 2]]
    """
    return Unique(return_index, return_inverse, return_counts, axis)(ar)


# ---- compress -----------------------------------------------------------------------------
def compress(condition: Any, x: Any, axis: Any = None):
    """The slices of ``x`` along ``axis`` (None: elements of the flattened ``x``) where the
    vector ``condition`` is non-zero, as ``np.compress``.

    >>> import numpy as np
    >>> compress(np.array([1, 0, 1]), np.array([[1.0, 2.0, 3.0]]), axis=1).eval().tolist()
    [[1.0, 3.0]]
    """
    condition = as_tensor_variable(condition)
    if condition.ndim != 1:
        raise TypeError(f"compress: condition must be a vector, got {condition!r}")
    x, axis = _flattened_unless(x, axis, "compress")
    return take(x, flatnonzero(condition), axis=axis)


# ---- diagonals ----------------------------------------------------------------------------
def _scalar_for(value: Any, a: Variable, what: str) -> Variable:
    """``value`` as a 0-d tensor of ``a``'s dtype; a literal is converted when that loses
    nothing (or is a float going into a float ``a``), a variable only when it upcasts."""
    literal = not isinstance(value, Variable)
    value = as_tensor_variable(value)
    if value.ndim != 0:
        raise TypeError(f"{what}: the value must be a scalar, got {value!r} of type {value.type}")
    if upcast(a.dtype, value.dtype) != a.dtype:
        convertible = False
        if isinstance(value, Constant):
            data = np.asarray(value.data)
            with np.errstate(all="ignore"):
                converted = data.astype(a.dtype)
            convertible = np.array_equal(converted, data) or (
                literal and data.dtype.kind == "f" and converted.dtype.kind in "fc"
            )
        if not convertible:
            raise TypeError(
                f"{what}: the value {value!r} of dtype {value.dtype} does not fit in {a!r} of "
                f"dtype {a.dtype} without loss; cast it to {a.dtype}"
            )
    return cast(value, a.dtype)


def _diagonal_sum(gz, mark_diagonal):
    """The sum of ``gz`` over the positions ``mark_diagonal(zeros)`` sets to 1."""
    from arignote.tensor.alloc import zeros_like
    from arignote.tensor.reduction import sum as tensor_sum

    return tensor_sum(gz * mark_diagonal(zeros_like(gz)))


class FillDiagonal(Op):
    """A copy of ``a`` with its main diagonal ``a[i, i, ..., i]`` set to the scalar ``val``.

    A matrix may be rectangular (a tall one is not wrapped, unlike ``np.fill_diagonal``'s
    ``wrap=True``); a tensor of more dimensions must have them all of one length.
    """

    __props__ = ()

    def make_node(self, a: Any, val: Any) -> Apply:
        a = as_tensor_variable(a)
        if a.ndim < 2:
            raise TypeError(f"fill_diagonal: a needs at least 2 dimensions, got {a!r}")
        val = _scalar_for(val, a, "fill_diagonal")
        known = {n for n in a.type.shape if n is not None}
        if a.ndim > 2 and len(known) > 1:
            raise ValueError(
                f"fill_diagonal: a tensor of more than 2 dimensions must have them all of one "
                f"length, got {a!r} of static shape {a.type.shape}"
            )
        return Apply(self, [a, val], [a.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        a, val = inputs
        if a.ndim > 2 and len(set(a.shape)) > 1:
            raise ValueError(
                f"fill_diagonal: a tensor of more than 2 dimensions must have them all of one "
                f"length, got shape {a.shape}"
            )
        result = a.copy()
        positions = np.arange(min(a.shape))
        result[(positions,) * a.ndim] = val
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        a = inputs[0]
        (gz,) = output_grads
        if a.dtype in DISCRETE_DTYPES:
            return [None, None]
        zero, one = cast(constant(0), gz.dtype), cast(constant(1), gz.dtype)
        return [self(gz, zero), _diagonal_sum(gz, lambda zeros: self(zeros, one))]


def fill_diagonal(a: Any, val: Any):
    """A copy of ``a`` with the main diagonal set to ``val`` (which must fit in ``a``'s dtype).

    >>> import numpy as np
    >>> fill_diagonal(np.zeros((2, 3)), 5.0).eval().tolist()
    [[5.0, 0.0, 0.0], [0.0, 5.0, 0.0]]
    """
    return FillDiagonal()(a, val)


class FillDiagonalOffset(Op):
    """A copy of the matrix ``a`` with diagonal ``offset`` (above the main one if positive)
    set to the scalar ``val``; a tall or wide matrix is never wrapped."""

    __props__ = ()

    def make_node(self, a: Any, val: Any, offset: Any) -> Apply:
        a = as_tensor_variable(a)
        if a.ndim != 2:
            raise TypeError(f"fill_diagonal_offset: a must be a matrix, got {a!r}")
        val = _scalar_for(val, a, "fill_diagonal_offset")
        offset = as_int_scalar(offset, "fill_diagonal_offset: offset")
        return Apply(self, [a, val, offset], [a.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        a, val, offset = inputs
        height, width = a.shape
        offset = int(offset)
        length = max(0, min(height, width - offset) if offset >= 0 else min(height + offset, width))
        positions = np.arange(length)
        result = a.copy()
        if offset >= 0:
            result[positions, positions + offset] = val
        else:
            result[positions - offset, positions] = val
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def connection_pattern(self, node):
        return [[True], [True], [False]]

    def L_op(self, inputs, outputs, output_grads):
        a, _, offset = inputs
        (gz,) = output_grads
        if a.dtype in DISCRETE_DTYPES:
            return [None, None, None]
        zero, one = cast(constant(0), gz.dtype), cast(constant(1), gz.dtype)
        return [
            self(gz, zero, offset),
            _diagonal_sum(gz, lambda zeros: self(zeros, one, offset)),
            None,
        ]


def fill_diagonal_offset(a: Any, val: Any, offset: Any):
    """A copy of the matrix ``a`` with diagonal ``offset`` set to ``val``.

    >>> import numpy as np
    >>> fill_diagonal_offset(np.zeros((2, 3)), 1.0, -1).eval().tolist()
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    return FillDiagonalOffset()(a, val, offset)


# ---- one-hot and index maths --------------------------------------------------------------
def to_one_hot(y: Any, nb_class: Any, dtype: Any = None):
    """A ``(len(y), nb_class)`` matrix (``floatX`` unless ``dtype``) with row ``i`` one-hot at
    ``y[i]``. A class out of range is an ``IndexError``; a negative one counts from the end,
    as Theano's indexing did.

    >>> import numpy as np
    >>> to_one_hot(np.array([2, 0]), 3, dtype="int8").eval().tolist()
    [[0, 0, 1], [1, 0, 0]]
    """
    from arignote.tensor.alloc import arange, zeros

    y = as_tensor_variable(y)
    if y.ndim != 1 or y.dtype not in INT_DTYPES:
        raise TypeError(f"to_one_hot: y must be an integer vector, got {y!r} of type {y.type}")
    dtype = _resolve_dtype(dtype)
    rows = shape_i(y, 0)
    one = constant(np.ones((), dtype))
    return advanced_set_subtensor(zeros((rows, nb_class), dtype=dtype), one, arange(rows), y)


def _dims_vector(dims: Any, what: str) -> Variable:
    """``dims`` (a sequence of ints or int scalars, or an int vector) as an int64 vector of
    static length."""
    if isinstance(dims, (list, tuple)):
        return shape_vector(list(dims), f"{what}: dims")
    dims = as_tensor_variable(dims)
    if dims.ndim != 1 or dims.dtype not in INT_DTYPES or dims.type.shape[0] is None:
        raise TypeError(
            f"{what}: dims must be a sequence of ints or an integer vector of known length, "
            f"got {dims!r} of type {dims.type}"
        )
    return cast(dims, "int64")


def _check_order(order: str, what: str) -> None:
    if order not in ("C", "F"):
        raise ValueError(f"{what}: order must be 'C' or 'F', got {order!r}")


class UnravelIndex(Op):
    """Flat indices into an array of shape ``dims`` as one int64 coordinate array per axis."""

    __props__ = ("order",)

    def __init__(self, order: str = "C"):
        _check_order(order, "unravel_index")
        self.order = order

    def make_node(self, indices: Any, dims: Any) -> Apply:
        indices = as_tensor_variable(indices)
        if indices.dtype not in INT_DTYPES:
            raise TypeError(f"unravel_index: indices must be integers, got {indices!r}")
        dims = _dims_vector(dims, "unravel_index")
        outputs = [
            TensorType("int64", shape=indices.type.shape).make_variable()
            for _ in range(dims.type.shape[0])
        ]
        return Apply(self, [indices, dims], outputs)

    def perform(self, node, inputs, output_storage):
        indices, dims = inputs
        try:
            coordinates = np.unravel_index(indices, tuple(int(d) for d in dims), order=self.order)
        except ValueError as exc:
            raise ValueError(f"unravel_index into dims {tuple(dims.tolist())}: {exc}") from None
        for cell, coordinate in zip(output_storage, coordinates):
            cell[0] = np.asarray(coordinate, dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]] * len(node.outputs)

    def L_op(self, inputs, outputs, output_grads):
        return [None, None]


def unravel_index(indices: Any, dims: Any, order: str = "C") -> tuple:
    """The coordinates, one int64 array per axis, of flat ``indices`` into shape ``dims``.

    >>> import numpy as np
    >>> [c.eval().tolist() for c in unravel_index(np.array([5, 7]), (2, 4))]
    [[1, 1], [1, 3]]
    """
    coordinates = UnravelIndex(order)(indices, dims)
    return tuple(coordinates) if isinstance(coordinates, list) else (coordinates,)


class RavelMultiIndex(Op):
    """Coordinate arrays (broadcast together) into an array of shape ``dims`` as int64 flat
    indices. Inputs: the coordinate arrays, then ``dims``."""

    __props__ = ("mode", "order")

    def __init__(self, mode: str | tuple[str, ...] = "raise", order: str = "C"):
        _check_order(order, "ravel_multi_index")
        modes = mode if isinstance(mode, tuple) else (mode,)
        for entry in modes:
            if entry not in ("raise", "wrap", "clip"):
                raise ValueError(
                    f"ravel_multi_index: mode must be 'raise', 'wrap' or 'clip' (or a tuple of "
                    f"them), got {mode!r}"
                )
        self.mode = mode
        self.order = order

    def make_node(self, *inputs: Any) -> Apply:
        *multi_index, dims = inputs
        multi_index = [as_tensor_variable(i) for i in multi_index]
        if not multi_index:
            raise TypeError("ravel_multi_index needs at least one coordinate array")
        for position, coordinate in enumerate(multi_index):
            if coordinate.dtype not in INT_DTYPES:
                raise TypeError(
                    f"ravel_multi_index: coordinate array {position} ({coordinate!r}) must be "
                    f"integers, got {coordinate.dtype}"
                )
        dims = _dims_vector(dims, "ravel_multi_index")
        if dims.type.shape[0] != len(multi_index):
            raise ValueError(
                f"ravel_multi_index: {len(multi_index)} coordinate arrays for "
                f"{dims.type.shape[0]} dims"
            )
        if isinstance(self.mode, tuple) and len(self.mode) != len(multi_index):
            raise ValueError(
                f"ravel_multi_index: {len(self.mode)} modes for {len(multi_index)} dims"
            )
        ndim = max(i.ndim for i in multi_index)
        multi_index = [pad_left(i, ndim) for i in multi_index]
        shape = broadcast_static_shape([i.type.shape for i in multi_index], "ravel_multi_index")
        output = TensorType("int64", shape=shape).make_variable()
        return Apply(self, [*multi_index, dims], [output])

    def perform(self, node, inputs, output_storage):
        *multi_index, dims = inputs
        check_runtime_broadcast(node, multi_index)
        dims = tuple(int(d) for d in dims)
        try:
            flat = np.ravel_multi_index(tuple(multi_index), dims, mode=self.mode, order=self.order)
        except ValueError as exc:
            raise ValueError(
                f"ravel_multi_index into dims {dims} with mode={self.mode!r}: {exc}"
            ) from None
        output_storage[0][0] = np.asarray(flat, dtype="int64")

    def infer_shape(self, node, input_shapes):
        multi_index = node.inputs[:-1]
        shape = []
        for axis in range(node.outputs[0].ndim):
            lengths = [
                s[axis] for s, i in zip(input_shapes, multi_index) if not i.broadcastable[axis]
            ]
            shape.append(lengths[0] if lengths else 1)
        return [tuple(shape)]

    def L_op(self, inputs, outputs, output_grads):
        return [None] * len(inputs)


def ravel_multi_index(
    multi_index: Sequence[Any], dims: Any, mode: str | tuple = "raise", order: str = "C"
):
    """The flat int64 indices of the coordinate arrays ``multi_index`` into shape ``dims``.

    >>> import numpy as np
    >>> ravel_multi_index((np.array([1, 1]), np.array([1, 3])), (2, 4)).eval().tolist()
    [5, 7]
    """
    if not isinstance(multi_index, (list, tuple)):
        raise TypeError(
            f"ravel_multi_index: multi_index must be a sequence of integer arrays, one per "
            f"axis, got {multi_index!r}"
        )
    mode = tuple(mode) if isinstance(mode, list) else mode
    return RavelMultiIndex(mode, order)(*multi_index, dims)


# ---- windows ------------------------------------------------------------------------------
def bartlett(M: Any):
    """The Bartlett (triangular) window of ``M`` points as float64, ``np.bartlett(M)``;
    empty when ``M < 1``.

    >>> bartlett(5).eval().tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    from arignote.tensor.alloc import arange
    from arignote.tensor.math import abs as tensor_abs
    from arignote.tensor.math import maximum

    M = cast(as_int_scalar(M, "bartlett: M"), "int64")
    # Symmetric positions 1-M, 3-M, ..., M-1; M = 1 gives the single point 0, weight 1.
    positions = cast(arange(1 - M, M, 2), "float64")
    return 1.0 - tensor_abs(positions) / cast(maximum(M - 1, 1), "float64")


__all__ = [
    "BinCountOp",
    "CumOp",
    "FillDiagonal",
    "FillDiagonalOffset",
    "RavelMultiIndex",
    "SearchsortedOp",
    "Unique",
    "UnravelIndex",
    "bartlett",
    "bincount",
    "compress",
    "cumprod",
    "cumsum",
    "diff",
    "fill_diagonal",
    "fill_diagonal_offset",
    "ravel_multi_index",
    "repeat",
    "searchsorted",
    "squeeze",
    "to_one_hot",
    "unique",
    "unravel_index",
]
