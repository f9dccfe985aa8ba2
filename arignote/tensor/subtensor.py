"""Basic indexing: ``x[i, a:b:c, ...]``, ``set_subtensor``, ``inc_subtensor``, ``nonzero``.

An index is split in two: its structure, ``idx_list``, is part of the op
(``__props__``), and the values not known when the graph is built are extra
inputs. Each ``idx_list`` entry is an int (an integer index known now), a
``SYMBOLIC`` placeholder (an integer index read from the next extra input)
or an ``IndexSlice`` whose start, stop and step are each None, an int or
``SYMBOLIC``. Constant symbolic indices are folded into ints, so the static
output shape is exact whenever the input's static shape allows.

``None``/``np.newaxis`` is a ``DimShuffle`` after the ``Subtensor``; Ellipsis
expands to full slices. An integer index out of range is an ``IndexError``
naming the index, the axis and its length: when the graph is built if both
are known then, else at run time, before anything is read.

An index holding an integer array, a list or a boolean mask is advanced:
``getitem`` hands it to ``arignote.tensor.advanced_subtensor``, and
``inc_subtensor``/``set_subtensor`` accept the result of either kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import DISCRETE_DTYPES, INT_DTYPES, upcast
from arignote.tensor.basic import as_tensor_variable, cast, constant
from arignote.tensor.elemwise import _HOW_TO_BROADCAST as HOW_TO_BROADCAST
from arignote.tensor.elemwise import DimShuffle, sum_to_broadcastable
from arignote.tensor.shape import (
    SYMBOLIC,
    MakeVector,
    Shape,
    SymbolicEntry,
    known_int,
    shape_i,
    specify_shape,
)
from arignote.tensor.type import TensorType

Bound = int | None | SymbolicEntry


@dataclass(frozen=True)
class IndexSlice:
    """A slice in an op's static index: each bound is None, an int or ``SYMBOLIC``."""

    start: Bound = None
    stop: Bound = None
    step: Bound = None

    def __str__(self) -> str:
        text = f"{_bound_str(self.start)}:{_bound_str(self.stop)}"
        return text if self.step is None else f"{text}:{_bound_str(self.step)}"


IndexEntry = int | SymbolicEntry | IndexSlice


def _bound_str(bound: Bound) -> str:
    return "" if bound is None else str(bound)


def entries_str(idx_list: Sequence[IndexEntry]) -> str:
    return ", ".join(str(entry) for entry in idx_list)


def fill_entries(idx_list: Sequence[IndexEntry], values: Iterator[Any]) -> list[Any]:
    """``idx_list`` with each ``SYMBOLIC`` replaced by the next of ``values``, slices as slices."""

    def bound(b: Bound) -> Any:
        return next(values) if b is SYMBOLIC else b

    return [
        slice(bound(e.start), bound(e.stop), bound(e.step))
        if isinstance(e, IndexSlice)
        else bound(e)
        for e in idx_list
    ]


def count_symbolic(idx_list: Sequence[IndexEntry]) -> int:
    return sum(
        [e.start, e.stop, e.step].count(SYMBOLIC) if isinstance(e, IndexSlice) else e is SYMBOLIC
        for e in idx_list
    )


def _check_index_inputs(op: Op, idx_list: Sequence[IndexEntry], inputs: Sequence[Any]) -> list:
    inputs = [as_tensor_variable(i) for i in inputs]
    if len(inputs) != count_symbolic(idx_list):
        raise TypeError(f"{op} takes {count_symbolic(idx_list)} index inputs, got {len(inputs)}")
    for position, index in enumerate(inputs):
        if index.ndim != 0 or index.dtype not in INT_DTYPES:
            raise TypeError(
                f"{op}: index input {position} must be an integer scalar, got {index!r} "
                f"(dtype {index.dtype}, {index.ndim} dimensions)"
            )
    return inputs


def _static_indexed_shape(
    x: Variable, idx_list: Sequence[IndexEntry], inputs: Sequence[Variable]
) -> tuple[int | None, ...]:
    """The static shape of ``x[index]``; raises ``IndexError`` for a known index out of range."""
    if len(idx_list) > x.ndim:
        raise IndexError(f"too many indices for {x.ndim}-d {x!r}: {len(idx_list)} were given")
    known = [known_int(i) for i in inputs]
    index = fill_entries(idx_list, iter(SYMBOLIC if k is None else k for k in known))
    shape: list[int | None] = []
    for axis, (entry, length) in enumerate(zip(index, x.type.shape)):
        if isinstance(entry, slice):
            if entry.step == 0:
                raise ValueError(f"slice step cannot be zero (axis {axis} of {x!r})")
            bounds = (entry.start, entry.stop, entry.step)
            if length is not None and SYMBOLIC not in bounds:
                shape.append(len(range(*entry.indices(length))))
            else:
                shape.append(0 if length == 0 else None)
        elif entry is not SYMBOLIC and length is not None and not -length <= entry < length:
            raise IndexError(
                f"index {entry} is out of bounds for axis {axis} with length {length} "
                f"({x!r} has static shape {x.type.shape})"
            )
    return tuple(shape) + x.type.shape[len(idx_list) :]


def _concrete_index(
    op: Op, idx_list: Sequence[IndexEntry], values: Sequence[Any], shape: tuple[int, ...]
) -> tuple:
    """The NumPy index for run-time index values, after checking integer indices' range."""
    index = fill_entries(idx_list, iter(int(v) for v in values))
    if len(index) > len(shape):
        raise IndexError(f"{op}: too many indices for an array of shape {shape}")
    for axis, (entry, length) in enumerate(zip(index, shape)):
        if isinstance(entry, int) and not -length <= entry < length:
            raise IndexError(
                f"{op}: index {entry} is out of bounds for axis {axis} with length {length} "
                f"(array of shape {shape})"
            )
    return tuple(index)


class Subtensor(Op):
    """``x[index]`` for a basic index (integers and slices); the result is a view.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x"); i = T.lscalar("i")
    >>> y = x[i, ::-1]
    >>> print(y.owner.op)
    Subtensor{?, ::-1}
    >>> y.eval({x: np.arange(6.0).reshape(2, 3), i: 1})
    array([5., 4., 3.])
    """

    __props__ = ("idx_list",)

    def __init__(self, idx_list: Sequence[IndexEntry]):
        self.idx_list = tuple(idx_list)

    def __str__(self) -> str:
        return f"Subtensor{{{entries_str(self.idx_list)}}}"

    def make_node(self, x: Any, *index_inputs: Any) -> Apply:
        x = as_tensor_variable(x)
        index_inputs = _check_index_inputs(self, self.idx_list, index_inputs)
        shape = _static_indexed_shape(x, self.idx_list, index_inputs)
        output = TensorType(x.dtype, shape=shape).make_variable()
        return Apply(self, [x, *index_inputs], [output])

    def perform(self, node, inputs, output_storage):
        x, *values = inputs
        index = _concrete_index(self, self.idx_list, values, x.shape)
        output_storage[0][0] = np.asarray(x[index])

    def infer_shape(self, node, input_shapes):
        index = fill_entries(self.idx_list, iter(node.inputs[1:]))
        lengths = input_shapes[0]
        out = [
            slice_length(length, entry.start, entry.stop, entry.step)
            for entry, length in zip(index, lengths)
            if isinstance(entry, slice)
        ]
        return [tuple(out) + tuple(lengths[len(index) :])]

    def connection_pattern(self, node):
        return [[True]] + [[False]] * (len(node.inputs) - 1)

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.math import fill

        x, *index_inputs = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [None] * len(inputs)
        zeros = fill(x, cast(constant(0), x.dtype))
        gx = IncSubtensor(self.idx_list)(zeros, output_grads[0], *index_inputs)
        return [gx] + [None] * len(index_inputs)

    def constant_value(self, node: Apply) -> Any:
        """A scalar read from a vector known when the graph is built (a shape, a constant)."""
        x = node.inputs[0]
        if node.outputs[0].ndim != 0 or len(node.inputs) > 1:
            return None
        if isinstance(x, Constant):
            return np.asarray(x.data)[self.idx_list]
        (position,) = self.idx_list
        if x.owner is not None and isinstance(x.owner.op, Shape):
            return x.owner.inputs[0].type.shape[position]
        if x.owner is not None and isinstance(x.owner.op, MakeVector):
            return known_int(x.owner.inputs[position])
        return None


def slice_length(length: Any, start: Any, stop: Any, step: Any) -> Any:
    """``len(range(*slice(start, stop, step).indices(length)))``, symbolic where needed."""
    from arignote.tensor import math

    bounds = (length, start, stop, step)
    if not any(isinstance(b, Variable) for b in bounds):
        return len(range(*slice(start, stop, step).indices(length)))

    def wrap_and_clip(bound: Any, low: Any, high: Any) -> Any:
        wrapped = math.switch(math.lt(bound, 0), bound + length, bound)
        return math.minimum(math.maximum(wrapped, low), high)

    def forward() -> Any:
        first = 0 if start is None else wrap_and_clip(start, 0, length)
        end = length if stop is None else wrap_and_clip(stop, 0, length)
        return math.maximum((end - first + step_ - 1) // step_, 0)

    def backward() -> Any:
        first = length - 1 if start is None else wrap_and_clip(start, -1, length - 1)
        end = -1 if stop is None else wrap_and_clip(stop, -1, length - 1)
        return math.maximum((first - end - step_ - 1) // -step_, 0)

    step_ = 1 if step is None else step
    if isinstance(step_, Variable):
        result = math.switch(math.gt(step_, 0), forward(), backward())
    else:
        result = forward() if step_ > 0 else backward()
    return cast(as_tensor_variable(result), "int64")


class IncSubtensor(Op):
    """A copy of ``x`` with ``x[index]`` incremented by (or set to) ``y``, broadcast.

    ``y``'s dimensions line up with the right of ``x[index]``'s; only its
    broadcastable (static length 1) dimensions broadcast.
    """

    __props__ = ("idx_list", "set_instead_of_inc")

    def __init__(self, idx_list: Sequence[IndexEntry], set_instead_of_inc: bool = False):
        self.idx_list = tuple(idx_list)
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def __str__(self) -> str:
        name = "SetSubtensor" if self.set_instead_of_inc else "IncSubtensor"
        return f"{name}{{{entries_str(self.idx_list)}}}"

    def make_node(self, x: Any, y: Any, *index_inputs: Any) -> Apply:
        x = as_tensor_variable(x)
        y = as_tensor_variable(y)
        index_inputs = _check_index_inputs(self, self.idx_list, index_inputs)
        indexed = _static_indexed_shape(x, self.idx_list, index_inputs)
        check_value_type(self, x, y, indexed)
        return Apply(self, [x, y, *index_inputs], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        x, y, *values = inputs
        index = _concrete_index(self, self.idx_list, values, x.shape)
        result = x.copy()
        check_value_shape(self, node.inputs[1].type, np.shape(result[index]), y, index)
        if self.set_instead_of_inc:
            result[index] = y
        else:
            result[index] += y
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def connection_pattern(self, node):
        return [[True], [True]] + [[False]] * (len(node.inputs) - 2)

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.reduction import sum as tensor_sum

        x, y, *index_inputs = inputs
        (gz,) = output_grads
        if x.dtype in DISCRETE_DTYPES:
            return [None] * len(inputs)
        if self.set_instead_of_inc:
            gx = IncSubtensor(self.idx_list, True)(gz, cast(constant(0), gz.dtype), *index_inputs)
        else:
            gx = gz
        gy = Subtensor(self.idx_list)(gz, *index_inputs)
        if gy.ndim > y.ndim:
            gy = tensor_sum(gy, axis=list(range(gy.ndim - y.ndim)))
        return [gx, sum_to_broadcastable(gy, y)] + [None] * len(index_inputs)


def check_value_type(op: Op, x: Variable, y: Variable, indexed: tuple[int | None, ...]) -> None:
    """At graph-build time: ``y`` fits in ``x``'s dtype and broadcasts to the static shape
    ``indexed`` of ``x[index]`` (lined up on the right)."""
    verb = "set" if op.set_instead_of_inc else "increment"
    target = f"x[{entries_str(op.idx_list)}]"
    if y.ndim > len(indexed):
        raise ValueError(
            f"{op}: cannot {verb} the {len(indexed)}-d {target} with the {y.ndim}-d {y!r}"
        )
    if upcast(x.dtype, y.dtype) != x.dtype:
        raise TypeError(
            f"{op}: {y!r} of dtype {y.dtype} does not fit in {x!r} of dtype {x.dtype} "
            f"without loss; cast it to {x.dtype} first"
        )
    for axis, (length, given) in enumerate(zip(indexed[len(indexed) - y.ndim :], y.type.shape)):
        if given not in (None, 1) and length is not None and length != given:
            raise ValueError(
                f"{op}: cannot {verb} {target} of static shape {indexed} with {y!r} of static "
                f"shape {y.type.shape} (axis {axis} of the value)"
            )


def check_value_shape(
    op: Op, value_type: TensorType, target_shape: tuple[int, ...], y: np.ndarray, index: Any
) -> None:
    """At run time: ``y`` has the shape of ``x[index]`` except where its type broadcasts."""
    offset = len(target_shape) - y.ndim
    for axis, given in enumerate(y.shape):
        if value_type.shape[axis] != 1 and given != target_shape[offset + axis]:
            hint = f"; {HOW_TO_BROADCAST}" if given == 1 else ""
            verb = "set" if op.set_instead_of_inc else "increment"
            raise ValueError(
                f"{op}: cannot {verb} x[{index}] of shape {target_shape} with a value of "
                f"shape {y.shape}{hint}"
            )


# ---- building an index --------------------------------------------------------------------
def _is_advanced(item: Any) -> bool:
    if isinstance(item, (bool, np.bool_, list, tuple)):
        return True
    if isinstance(item, np.ndarray):
        return item.ndim > 0 or item.dtype == bool
    if isinstance(item, Variable):
        return getattr(item.type, "ndim", 0) > 0 or getattr(item.type, "dtype", "") == "bool"
    return False


def index_value(item: Any, inputs: list[Variable], where: str) -> int | SymbolicEntry:
    """One integer index: an int if known now, else ``SYMBOLIC`` with the variable queued."""
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, np.ndarray) and item.dtype.kind in "iu":
        return int(item)
    if isinstance(item, Variable):
        variable = as_tensor_variable(item)
        if variable.dtype not in INT_DTYPES:
            raise TypeError(
                f"{where} must be an integer, got {variable!r} of dtype {variable.dtype}"
            )
        known = known_int(variable)
        if known is not None:
            return known
        inputs.append(variable)
        return SYMBOLIC
    raise TypeError(
        f"{where} must be an integer, a slice, None or Ellipsis, got {item!r} "
        f"({type(item).__name__})"
    )


def _parse_index(
    x: Variable, index: Any
) -> tuple[list[IndexEntry], list[Variable], list[int | str]]:
    """The ``idx_list``, the index inputs, and the DimShuffle pattern that inserts ``None``s."""
    items = list(index) if isinstance(index, tuple) else [index]
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    real = sum(item is not None and item is not Ellipsis for item in items)
    if real > x.ndim:
        raise IndexError(f"too many indices for {x.ndim}-d {x!r}: {real} were given")
    if Ellipsis in items:
        at = next(p for p, item in enumerate(items) if item is Ellipsis)
        items[at : at + 1] = [slice(None)] * (x.ndim - real)

    idx_list: list[IndexEntry] = []
    inputs: list[Variable] = []
    pattern: list[int | str] = []
    for item in items:
        if item is None:
            pattern.append("x")
            continue
        axis = len(idx_list)
        if isinstance(item, slice):
            bounds = [
                None if b is None else index_value(b, inputs, f"slice {name} on axis {axis}")
                for b, name in ((item.start, "start"), (item.stop, "stop"), (item.step, "step"))
            ]
            idx_list.append(IndexSlice(*bounds))
            pattern.append(len(pattern) - pattern.count("x"))
        else:
            idx_list.append(index_value(item, inputs, f"the index on axis {axis}"))
    kept = len(pattern) - pattern.count("x")
    pattern += list(range(kept, kept + x.ndim - len(idx_list)))
    return idx_list, inputs, pattern


def getitem(x: Any, index: Any) -> Variable:
    """``x[index]``, as NumPy; ``TensorVariable.__getitem__`` calls this.

    >>> import arignote.tensor as T
    >>> x = T.tensor3("x")
    >>> x[0, None, ..., 1:].type.shape
    (1, None, None)
    """
    x = as_tensor_variable(x)
    items = index if isinstance(index, tuple) else (index,)
    if any(_is_advanced(item) for item in items):
        from arignote.tensor.advanced_subtensor import advanced_subtensor

        return advanced_subtensor(x, *items)
    idx_list, inputs, pattern = _parse_index(x, index)
    if (
        x.owner is not None
        and isinstance(x.owner.op, Shape)
        and len(idx_list) == 1
        and isinstance(idx_list[0], int)
        and "x" not in pattern
    ):
        # x.shape[i] is the length of axis i: a constant when the static shape knows it.
        return shape_i(x.owner.inputs[0], idx_list[0])
    result = Subtensor(idx_list)(x, *inputs)
    if "x" in pattern:
        result = DimShuffle(result.ndim, pattern)(result)
    return result


# ---- set_subtensor / inc_subtensor --------------------------------------------------------
def inc_subtensor(
    x: Variable,
    y: Any,
    inplace: bool = False,
    set_instead_of_inc: bool = False,
    tolerate_inplace_aliasing: bool = False,
) -> Variable:
    """A copy of the tensor that ``x`` indexes, with ``x`` incremented by ``y`` (broadcast).

    ``x`` must be an indexing result, ``x_orig[index]``. ``inplace`` and
    ``tolerate_inplace_aliasing`` are accepted for Theano code and ignored:
    working in place is the compiler's decision.

    >>> import numpy as np, arignote.tensor as T
    >>> v = T.vector("v")
    >>> inc_subtensor(v[1:], 10.0).eval({v: np.zeros(3)})
    array([ 0., 10., 10.])
    """
    if not isinstance(x, Variable) or x.owner is None:
        raise TypeError(
            f"inc_subtensor/set_subtensor: x must be the result of indexing a tensor "
            f"(x_orig[index]), got {x!r}"
        )
    y = _as_value_for(y, x)
    node = x.owner
    if isinstance(node.op, DimShuffle) and _inserts_only(node.op):
        # x_orig[..., None, ...]: drop the inserted axes from y, after checking they have length 1.
        inserted = [p for p, o in enumerate(node.op.new_order) if o == "x"]
        y = DimShuffle(y.ndim, ("x",) * (x.ndim - y.ndim) + tuple(range(y.ndim)))(y)
        y = specify_shape(y, [1 if p in inserted else None for p in range(y.ndim)])
        y = DimShuffle(y.ndim, [p for p in range(y.ndim) if p not in inserted])(y)
        x, node = node.inputs[0], node.inputs[0].owner
    from arignote.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor

    if node is not None and isinstance(node.op, AdvancedSubtensor):
        update = AdvancedIncSubtensor(node.op.idx_list, set_instead_of_inc)
    elif node is not None and isinstance(node.op, Subtensor):
        update = IncSubtensor(node.op.idx_list, set_instead_of_inc)
    else:
        raise TypeError(
            f"inc_subtensor/set_subtensor: x must be the result of indexing a tensor "
            f"(x_orig[index]), got {x!r} computed by {node.op if node else 'nothing'}"
        )
    return update(node.inputs[0], y, *node.inputs[1:])


def set_subtensor(
    x: Variable, y: Any, inplace: bool = False, tolerate_inplace_aliasing: bool = False
) -> Variable:
    """A copy of the tensor that ``x`` indexes, with ``x`` replaced by ``y`` (broadcast).

    >>> import numpy as np, arignote.tensor as T
    >>> m = T.matrix("m")
    >>> set_subtensor(m[0], [1.0, 2.0]).eval({m: np.zeros((2, 2))})
    array([[1., 2.],
           [0., 0.]])
    """
    return inc_subtensor(x, y, set_instead_of_inc=True)


def _inserts_only(op: DimShuffle) -> bool:
    return [o for o in op.new_order if o != "x"] == list(range(op.input_ndim))


def _as_value_for(y: Any, x: Variable) -> Variable:
    """``y`` as a tensor. A literal or constant takes ``x``'s dtype when that holds it
    exactly, and a float literal goes into a float ``x`` (as NumPy assignment would)."""
    literal = not isinstance(y, Variable)
    y = as_tensor_variable(y)
    if isinstance(y, Constant) and upcast(x.dtype, y.dtype) != x.dtype:
        value = np.asarray(y.data)
        with np.errstate(all="ignore"):
            converted = value.astype(x.dtype)
        float_into_float = literal and value.dtype.kind == "f" and converted.dtype.kind in "fc"
        if float_into_float or np.array_equal(converted, value):
            return constant(converted)
    return y


# ---- nonzero ------------------------------------------------------------------------------
class Nonzero(Op):
    """The indices of the non-zero elements of ``x``: an int64 matrix of shape (x.ndim, count)."""

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise ValueError(f"nonzero needs at least one dimension, got the scalar {x!r}")
        output = TensorType("int64", shape=(x.ndim, None)).make_variable()
        return Apply(self, [x], [output])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        output_storage[0][0] = np.asarray(np.nonzero(x), dtype="int64").reshape(x.ndim, -1)

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import neq
        from arignote.tensor.reduction import sum as tensor_sum

        return [(node.inputs[0].ndim, tensor_sum(neq(node.inputs[0], 0), dtype="int64"))]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.gradient import grad_undefined

        return [
            grad_undefined(self, 0, inputs[0], "the indices of non-zeros are piecewise constant")
        ]


def nonzero(x: Any, return_matrix: bool = False) -> Any:
    """Indices of the non-zero elements: one int64 vector per axis, or one (ndim, k) matrix.

    >>> import numpy as np, arignote.tensor as T
    >>> v = T.vector("v")
    >>> [r.eval({v: np.array([0.0, 3.0, 0.0, 1.0])}) for r in nonzero(v)]
    [array([1, 3])]
    """
    matrix = Nonzero()(x)
    if return_matrix:
        return matrix
    return tuple(matrix[axis] for axis in range(matrix.type.shape[0]))


__all__ = [
    "IncSubtensor",
    "IndexSlice",
    "Nonzero",
    "Subtensor",
    "getitem",
    "inc_subtensor",
    "nonzero",
    "set_subtensor",
]
