"""Advanced indexing: integer arrays and boolean masks, with NumPy's semantics.

``AdvancedSubtensor`` is ``x[index]`` for an index holding at least one
integer array or boolean mask; ``AdvancedIncSubtensor`` is a copy of ``x``
with ``x[index]`` set to, or incremented by, a value. ``take``,
``nonzero_values``, ``flatnonzero``, ``argwhere`` and one-argument ``where``
are composites of these and ``Nonzero``.

Invariants:

- ``idx_list`` is the basic ops' (ints; ``IndexSlice`` whose bounds are None,
  ints or ``SYMBOLIC``) plus ``None`` (a new axis) and a top-level
  ``SYMBOLIC``: the next index input, an integer tensor of any ndim or a
  boolean mask. A k-d mask covers k axes; everything else one (``None``:
  none). The mask's kind comes from its input's type, so ``idx_list`` is the
  op's whole static description.
- NumPy's rules, exactly: the integer indices (ints included) and masks (as
  their ``nonzero()``) broadcast together; the broadcast dimensions replace
  them where they stand when they are adjacent in the index, and go first
  when a slice or ``None`` separates them.
- Every integer index is checked against its axis, and every mask's shape
  against the axes it covers, before anything is read: an ``IndexError``
  naming the index, the axis and its length. When the graph is built if the
  static shapes decide it, else at run time.
- Increments accumulate at repeated positions (``np.add.at``); a set with
  repeated positions keeps NumPy's choice (the last write), and its gradient
  with respect to the value goes to the writes that were kept, only.
- Index inputs are integers or bools: they get no gradient (disconnected).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import DISCRETE_DTYPES, INT_DTYPES
from arignote.tensor.basic import as_tensor_variable, cast, constant
from arignote.tensor.elemwise import sum_to_broadcastable
from arignote.tensor.shape import SYMBOLIC, known_int
from arignote.tensor.subtensor import (
    IndexEntry,
    IndexSlice,
    check_value_shape,
    check_value_type,
    count_symbolic,
    entries_str,
    fill_entries,
    index_value,
    nonzero,
    slice_length,
)
from arignote.tensor.type import TensorType

AdvancedEntry = IndexEntry | None
# One part of an index, for laying out the result: (advanced?, the lengths it contributes).
Piece = tuple[bool, tuple[Any, ...]]


def _is_mask(entry: Any) -> bool:
    return hasattr(entry, "dtype") and str(entry.dtype) == "bool"


def _axes_covered(entry: Any) -> int:
    if entry is None:
        return 0
    return entry.ndim if _is_mask(entry) else 1


def _layout(pieces: Sequence[Piece], trailing: Sequence[Any], broadcast: Callable) -> tuple:
    """The result's shape: NumPy's placement of the broadcast advanced dimensions."""
    advanced = [position for position, (is_advanced, _) in enumerate(pieces) if is_advanced]
    if not advanced:
        return tuple(n for _, lengths in pieces for n in lengths) + tuple(trailing)
    joint = tuple(broadcast([lengths for is_advanced, lengths in pieces if is_advanced]))
    basic = [
        (p, n)
        for p, (is_advanced, lengths) in enumerate(pieces)
        if not is_advanced
        for n in lengths
    ]
    if advanced == list(range(advanced[0], advanced[-1] + 1)):
        before = tuple(n for p, n in basic if p < advanced[0])
        after = tuple(n for p, n in basic if p > advanced[-1])
        return before + joint + after + tuple(trailing)
    return joint + tuple(n for _, n in basic) + tuple(trailing)


def _right_aligned(shapes: Sequence[tuple]) -> list[tuple]:
    """Per output axis, the lengths each shape gives it (1 where a shape is too short)."""
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    return list(zip(*padded)) if padded else []


def _static_broadcast(shapes: Sequence[tuple]) -> tuple[int | None, ...]:
    """NumPy broadcasting of index shapes known in part: a known length other than 1 wins."""
    result: list[int | None] = []
    for lengths in _right_aligned(shapes):
        known = {n for n in lengths if n is not None and n != 1}
        if len(known) > 1:
            raise IndexError(
                f"shape mismatch: indexing arrays of static shapes {[tuple(s) for s in shapes]} "
                f"cannot be broadcast together"
            )
        result.append(known.pop() if known else 1 if all(n == 1 for n in lengths) else None)
    return tuple(result)


def _symbolic_broadcast(shapes: Sequence[tuple]) -> tuple:
    from arignote.tensor.math import eq, switch

    def pair(a: Any, b: Any) -> Any:
        if isinstance(a, int) and a == 1 or isinstance(b, int) and b != 1:
            return b
        if isinstance(a, int) or isinstance(b, int):  # a known length other than 1, or b == 1
            return a
        return switch(eq(a, 1), b, a)

    result = []
    for lengths in _right_aligned(shapes):
        length = lengths[0]
        for other in lengths[1:]:
            length = pair(length, other)
        result.append(length)
    return tuple(result)


def _runtime_broadcast(shapes: Sequence[tuple]) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError(
            "shape mismatch: indexing arrays could not be broadcast together with shapes "
            + " ".join(str(tuple(s)) for s in shapes)
        ) from None


def _out_of_range(values: np.ndarray, length: int) -> int | None:
    """An index in ``values`` outside ``[-length, length)`` (the largest or the smallest), if any."""
    if values.size == 0:
        return None
    low, high = int(values.min()), int(values.max())
    return high if high >= length else low if low < -length else None


def _too_many(ndim: int, covered: int, where: str) -> IndexError:
    return IndexError(f"too many indices for the {ndim}-d {where}: they cover {covered} axes")


# ---- build time ------------------------------------------------------------------------------
def _check_index_inputs(op: Op, idx_list: Sequence[AdvancedEntry], inputs: Sequence[Any]) -> list:
    """The index inputs as tensors: integer scalars for slice bounds, integer or bool arrays else."""
    inputs = [as_tensor_variable(i) for i in inputs]
    if len(inputs) != count_symbolic(idx_list):
        raise TypeError(f"{op} takes {count_symbolic(idx_list)} index inputs, got {len(inputs)}")
    roles = []
    for entry in idx_list:
        if isinstance(entry, IndexSlice):
            roles += ["slice bound"] * [entry.start, entry.stop, entry.step].count(SYMBOLIC)
        elif entry is SYMBOLIC:
            roles.append("index")
    for position, (index, role) in enumerate(zip(inputs, roles)):
        if role == "index" and index.dtype not in INT_DTYPES + ("bool",):
            raise TypeError(
                f"{op}: index input {position} ({index!r}) has dtype {index.dtype}; arrays used "
                "as indices must be of integer or boolean type"
            )
        if role == "slice bound" and (index.ndim != 0 or index.dtype not in INT_DTYPES):
            raise TypeError(
                f"{op}: index input {position} is a slice bound and must be an integer scalar, "
                f"got {index!r} (dtype {index.dtype}, {index.ndim} dimensions)"
            )
    return inputs


def _static_slice_length(entry: slice, length: int | None, axis: int, x: Variable) -> int | None:
    bounds = [
        b if b is None or isinstance(b, int) else known_int(b)
        for b in (entry.start, entry.stop, entry.step)
    ]
    symbolic = any(
        b is None and given is not None
        for b, given in zip(bounds, (entry.start, entry.stop, entry.step))
    )
    if bounds[2] == 0:
        raise ValueError(f"slice step cannot be zero (axis {axis} of {x!r})")
    if length is None or symbolic:
        return 0 if length == 0 else None
    return len(range(*slice(*bounds).indices(length)))


def _static_indexed_shape(op: Op, x: Variable, entries: Sequence[Any]) -> tuple:
    """The static shape of ``x[entries]``; an ``IndexError`` for what is known to be wrong."""
    pieces: list[Piece] = []
    axis = 0
    covered = sum(_axes_covered(e) for e in entries)
    if covered > x.ndim:
        raise _too_many(x.ndim, covered, repr(x))
    for entry in entries:
        if entry is None:
            pieces.append((False, (1,)))
            continue
        lengths = x.type.shape[axis : axis + _axes_covered(entry)]
        if isinstance(entry, slice):
            pieces.append((False, (_static_slice_length(entry, lengths[0], axis, x),)))
        elif _is_mask(entry):
            for offset, (length, given) in enumerate(zip(lengths, entry.type.shape)):
                if None not in (length, given) and length != given:
                    raise IndexError(
                        f"{op}: the boolean index {entry!r} of static shape {entry.type.shape} "
                        f"does not match axis {axis + offset} of {x!r}, of length {length}"
                    )
            if isinstance(entry, Constant):
                count = int(np.count_nonzero(entry.data))
            else:
                count = 0 if 0 in entry.type.shape else None
            pieces.append((True, (count,)))
        else:
            value = entry.data if isinstance(entry, Constant) else entry
            if isinstance(value, (int, np.ndarray)) and lengths[0] is not None:
                bad = _out_of_range(np.asarray(value), lengths[0])
                if bad is not None:
                    raise IndexError(
                        f"{op}: index {bad} is out of bounds for axis {axis} with length "
                        f"{lengths[0]} ({x!r} has static shape {x.type.shape})"
                    )
            pieces.append((True, () if isinstance(entry, int) else entry.type.shape))
        axis += _axes_covered(entry)
    return _layout(pieces, x.type.shape[axis:], _static_broadcast)


# ---- run time --------------------------------------------------------------------------------
def _concrete_index(
    op: Op, idx_list: Sequence[AdvancedEntry], values: Sequence[Any], shape: tuple[int, ...]
) -> tuple[tuple, tuple[int, ...]]:
    """The NumPy index for run-time index values, checked, and the shape it selects."""
    entries = [
        slice(*(None if b is None else int(b) for b in (e.start, e.stop, e.step)))
        if isinstance(e, slice)
        else e
        for e in fill_entries(idx_list, iter(values))
    ]
    covered = sum(_axes_covered(e) for e in entries)
    if covered > len(shape):
        raise _too_many(len(shape), covered, f"array of shape {shape} ({op})")
    pieces: list[Piece] = []
    axis = 0
    for entry in entries:
        if entry is None:
            pieces.append((False, (1,)))
            continue
        lengths = shape[axis : axis + _axes_covered(entry)]
        if isinstance(entry, slice):
            if entry.step == 0:
                raise ValueError(f"{op}: slice step cannot be zero (axis {axis})")
            pieces.append((False, (len(range(*entry.indices(lengths[0]))),)))
        elif _is_mask(entry):
            if entry.shape != lengths:
                raise IndexError(
                    f"{op}: the boolean index of shape {entry.shape} does not match axes "
                    f"{axis} to {axis + entry.ndim - 1} of the array of shape {shape}, of "
                    f"lengths {lengths}"
                )
            pieces.append((True, (int(np.count_nonzero(entry)),)))
        else:
            bad = _out_of_range(np.asarray(entry), lengths[0])
            if bad is not None:
                raise IndexError(
                    f"{op}: index {bad} is out of bounds for axis {axis} with length "
                    f"{lengths[0]} (array of shape {shape})"
                )
            pieces.append((True, np.shape(entry)))
        axis += _axes_covered(entry)
    return tuple(entries), _layout(pieces, shape[axis:], _runtime_broadcast)


# ---- the ops ---------------------------------------------------------------------------------
class AdvancedSubtensor(Op):
    """``x[index]`` for an index with integer arrays or boolean masks; a copy.

    >>> import numpy as np, arignote.tensor as T
    >>> p = T.matrix("p"); y = T.lvector("y")
    >>> out = p[T.arange(y.shape[0]), y]
    >>> print(out.owner.op)
    AdvancedSubtensor{?, ?}
    >>> out.eval({p: np.arange(6.0).reshape(3, 2), y: np.array([1, 0, 1])})
    array([1., 2., 5.])
    """

    __props__ = ("idx_list",)

    def __init__(self, idx_list: Sequence[AdvancedEntry]):
        self.idx_list = tuple(idx_list)

    def __str__(self) -> str:
        return f"AdvancedSubtensor{{{entries_str(self.idx_list)}}}"

    def make_node(self, x: Any, *index_inputs: Any) -> Apply:
        x = as_tensor_variable(x)
        index_inputs = _check_index_inputs(self, self.idx_list, index_inputs)
        entries = fill_entries(self.idx_list, iter(index_inputs))
        shape = _static_indexed_shape(self, x, entries)
        output = TensorType(x.dtype, shape=shape).make_variable()
        return Apply(self, [x, *index_inputs], [output])

    def perform(self, node, inputs, output_storage):
        x, *values = inputs
        index, _ = _concrete_index(self, self.idx_list, values, x.shape)
        output_storage[0][0] = np.asarray(x[index])

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.reduction import sum as tensor_sum

        entries = fill_entries(self.idx_list, iter(node.inputs[1:]))
        index_shapes = iter(input_shapes[1:])
        lengths = input_shapes[0]
        pieces: list[Piece] = []
        axis = 0
        for entry in entries:
            if entry is None:
                pieces.append((False, (1,)))
            elif isinstance(entry, slice):
                for bound in (entry.start, entry.stop, entry.step):
                    if isinstance(bound, Variable):
                        next(index_shapes)
                length = slice_length(lengths[axis], entry.start, entry.stop, entry.step)
                pieces.append((False, (length,)))
            elif isinstance(entry, int):
                pieces.append((True, ()))
            elif _is_mask(entry):
                next(index_shapes)
                pieces.append((True, (tensor_sum(entry, dtype="int64"),)))
            else:
                pieces.append((True, tuple(next(index_shapes))))
            axis += _axes_covered(entry)
        shape = _layout(pieces, lengths[axis:], _symbolic_broadcast)
        static = node.outputs[0].type.shape
        return [tuple(n if known is None else known for n, known in zip(shape, static))]

    def connection_pattern(self, node):
        return [[True]] + [[False]] * (len(node.inputs) - 1)

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.math import fill

        x, *index_inputs = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [None] * len(inputs)
        zeros = fill(x, cast(constant(0), x.dtype))
        gx = AdvancedIncSubtensor(self.idx_list)(zeros, output_grads[0], *index_inputs)
        return [gx] + [None] * len(index_inputs)


class AdvancedIncSubtensor(Op):
    """A copy of ``x`` with ``x[index]`` incremented by (or set to) ``y``, for an advanced index.

    ``y`` lines up with the right of ``x[index]``; only its broadcastable
    dimensions broadcast. Increments at a repeated position add up, as
    ``np.add.at``; a set at a repeated position keeps the last write, as NumPy.

    >>> import numpy as np, arignote.tensor as T
    >>> v = T.vector("v")
    >>> T.inc_subtensor(v[[0, 2, 0]], 1.0).eval({v: np.zeros(3)})
    array([2., 0., 1.])
    """

    __props__ = ("idx_list", "set_instead_of_inc")

    def __init__(self, idx_list: Sequence[AdvancedEntry], set_instead_of_inc: bool = False):
        self.idx_list = tuple(idx_list)
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def __str__(self) -> str:
        name = "AdvancedSetSubtensor" if self.set_instead_of_inc else "AdvancedIncSubtensor"
        return f"{name}{{{entries_str(self.idx_list)}}}"

    def make_node(self, x: Any, y: Any, *index_inputs: Any) -> Apply:
        x = as_tensor_variable(x)
        y = as_tensor_variable(y)
        index_inputs = _check_index_inputs(self, self.idx_list, index_inputs)
        indexed = _static_indexed_shape(self, x, fill_entries(self.idx_list, iter(index_inputs)))
        check_value_type(self, x, y, indexed)
        return Apply(self, [x, y, *index_inputs], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        x, y, *values = inputs
        index, target_shape = _concrete_index(self, self.idx_list, values, x.shape)
        check_value_shape(self, node.inputs[1].type, target_shape, y, entries_str(self.idx_list))
        result = x.copy()
        if self.set_instead_of_inc:
            result[index] = y
        else:
            np.add.at(result, index, y)
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def connection_pattern(self, node):
        return [[True], [True]] + [[False]] * (len(node.inputs) - 2)

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.math import switch
        from arignote.tensor.reduction import sum as tensor_sum

        x, y, *index_inputs = inputs
        (gz,) = output_grads
        if x.dtype in DISCRETE_DTYPES:
            return [None] * len(inputs)
        gy = AdvancedSubtensor(self.idx_list)(gz, *index_inputs)
        if self.set_instead_of_inc:
            gx = AdvancedIncSubtensor(self.idx_list, True)(
                gz, cast(constant(0), gz.dtype), *index_inputs
            )
            if _may_repeat(self.idx_list, index_inputs):
                kept = self._kept_writes(x, gy, index_inputs)
                gy = switch(kept, gy, cast(constant(0), gy.dtype))
        else:
            gx = gz
        if gy.ndim > y.ndim:
            gy = tensor_sum(gy, axis=list(range(gy.ndim - y.ndim)))
        return [gx, sum_to_broadcastable(gy, y)] + [None] * len(index_inputs)

    def _kept_writes(self, x: Variable, selected: Variable, index_inputs: Sequence[Variable]):
        """A bool tensor shaped like ``x[index]``: which writes of a set survive.

        Each write is numbered, the numbers are set into ``x``'s shape with the
        same index, and a write survived where its number is read back.
        """
        from arignote.tensor.alloc import arange, zeros_like
        from arignote.tensor.math import eq
        from arignote.tensor.shape import reshape

        numbers = reshape(arange(selected.size, dtype="int64"), selected.shape, ndim=selected.ndim)
        stamped = AdvancedIncSubtensor(self.idx_list, True)(
            zeros_like(x, dtype="int64") - 1, numbers, *index_inputs
        )
        return eq(AdvancedSubtensor(self.idx_list)(stamped, *index_inputs), numbers)


def _may_repeat(idx_list: Sequence[AdvancedEntry], index_inputs: Sequence[Variable]) -> bool:
    """Whether an index can name one position twice: only integer arrays (ndim >= 1) can,
    and one constant array of distinct non-negative values cannot."""
    arrays = [
        e
        for e in fill_entries(idx_list, iter(index_inputs))
        if isinstance(e, Variable) and not _is_mask(e) and e.ndim >= 1
    ]
    if len(arrays) == 1 and isinstance(arrays[0], Constant):
        values = np.asarray(arrays[0].data).ravel()
        return bool(values.size and values.min() < 0) or np.unique(values).size != values.size
    return bool(arrays)


# ---- building an index -----------------------------------------------------------------------
def _as_index_item(item: Any) -> Any:
    """One item of an index, normalised: None, Ellipsis, a slice, an int or an index tensor."""
    if item is None or item is Ellipsis or isinstance(item, slice):
        return item
    if isinstance(item, (bool, np.bool_)):
        return constant(np.asarray(item, dtype=bool))
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, (list, tuple)) and len(item) == 0:
        return constant(np.zeros(0, dtype="int64"))
    variable = as_tensor_variable(item)
    if variable.dtype not in INT_DTYPES + ("bool",):
        raise TypeError(
            f"arrays used as indices must be of integer or boolean type, got {item!r} of "
            f"dtype {variable.dtype}"
        )
    if variable.ndim == 0 and variable.dtype in INT_DTYPES:
        known = known_int(variable)
        return variable if known is None else known
    return variable


def advanced_subtensor(x: Any, *index: Any) -> Variable:
    """``x[index]`` where the index may hold integer arrays, lists and boolean masks.

    >>> import numpy as np, arignote.tensor as T
    >>> m = T.matrix("m")
    >>> advanced_subtensor(m, m > 2).eval({m: np.arange(6.0).reshape(2, 3)})
    array([3., 4., 5.])
    """
    x = as_tensor_variable(x)
    items = [_as_index_item(item) for item in index]
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    covered = sum(_axes_covered(item) for item in items if item is not Ellipsis)
    if covered > x.ndim:
        raise _too_many(x.ndim, covered, repr(x))
    if Ellipsis in items:
        at = next(p for p, item in enumerate(items) if item is Ellipsis)
        items[at : at + 1] = [slice(None)] * (x.ndim - covered)
    idx_list: list[AdvancedEntry] = []
    inputs: list[Variable] = []
    axis = 0
    for item in items:
        if isinstance(item, slice):
            bounds = [
                None if b is None else index_value(b, inputs, f"slice {name} on axis {axis}")
                for b, name in ((item.start, "start"), (item.stop, "stop"), (item.step, "step"))
            ]
            idx_list.append(IndexSlice(*bounds))
        elif isinstance(item, Variable):
            idx_list.append(SYMBOLIC)
            inputs.append(item)
        else:
            idx_list.append(item)
        axis += _axes_covered(item)
    return AdvancedSubtensor(idx_list)(x, *inputs)


def advanced_inc_subtensor(x: Any, y: Any, *index: Any) -> Variable:
    """A copy of ``x`` with ``y`` added at ``x[index]`` (repeated positions accumulate)."""
    from arignote.tensor.subtensor import inc_subtensor

    return inc_subtensor(advanced_subtensor(x, *index), y)


def advanced_set_subtensor(x: Any, y: Any, *index: Any) -> Variable:
    """A copy of ``x`` with ``x[index]`` replaced by ``y``."""
    from arignote.tensor.subtensor import set_subtensor

    return set_subtensor(advanced_subtensor(x, *index), y)


# ---- composites ------------------------------------------------------------------------------
def take(a: Any, indices: Any, axis: int | None = None, mode: str = "raise") -> Variable:
    """``np.take``: elements of ``a`` (flattened when ``axis`` is None) at ``indices``.

    ``mode`` is ``'raise'`` (an out-of-range index is an ``IndexError``;
    negative ones count from the end), ``'wrap'`` or ``'clip'``, as NumPy.

    >>> import numpy as np, arignote.tensor as T
    >>> m = T.matrix("m")
    >>> take(m, [2, -1], axis=1, mode="clip").eval({m: np.arange(6.0).reshape(2, 3)})
    array([[2., 0.],
           [5., 3.]])
    """
    from arignote.tensor.math import clip, mod
    from arignote.tensor.shape import flatten, shape_i

    a = as_tensor_variable(a)
    indices = _as_index_item(indices)
    if not isinstance(indices, (int, Variable)) or _is_mask(indices):
        raise TypeError(f"take: indices must be integers, got {indices!r}")
    if axis is None:
        a, axis = flatten(a, 1), 0
    if not isinstance(axis, (int, np.integer)) or not -a.ndim <= axis < a.ndim:
        raise ValueError(f"take: axis {axis!r} is not an axis of the {a.ndim}-d {a!r}")
    axis = int(axis) % a.ndim
    if mode in ("clip", "wrap"):
        length = shape_i(a, axis)
        indices = cast(indices, "int64")
        indices = clip(indices, 0, length - 1) if mode == "clip" else mod(indices, length)
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return a[(slice(None),) * axis + (indices,)]


def flatnonzero(x: Any) -> Variable:
    """Indices of the non-zero elements of ``x`` flattened (``np.flatnonzero``), int64.

    >>> import numpy as np, arignote.tensor as T
    >>> m = T.matrix("m")
    >>> flatnonzero(m).eval({m: np.array([[0.0, 2.0], [3.0, 0.0]])})
    array([1, 2])
    """
    from arignote.tensor.shape import flatten

    return nonzero(flatten(as_tensor_variable(x), 1), return_matrix=True)[0]


def nonzero_values(x: Any) -> Variable:
    """The non-zero elements of ``x``, flattened, in order (``x[x != 0]`` as a vector).

    >>> import numpy as np, arignote.tensor as T
    >>> v = T.vector("v")
    >>> nonzero_values(v).eval({v: np.array([0.0, 2.0, 0.0, -1.0])})
    array([ 2., -1.])
    """
    from arignote.tensor.shape import flatten

    x = as_tensor_variable(x)
    return flatten(x, 1)[flatnonzero(x)]


def argwhere(x: Any) -> Variable:
    """The indices of the non-zero elements, one row per element (``np.argwhere``), int64.

    >>> import numpy as np, arignote.tensor as T
    >>> m = T.matrix("m")
    >>> argwhere(m).eval({m: np.array([[0.0, 2.0], [3.0, 0.0]])})
    array([[0, 1],
           [1, 0]])
    """
    return nonzero(x, return_matrix=True).T


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """``where(c, x, y)`` is ``switch(c, x, y)``; ``where(c)`` is ``nonzero(c)``, as NumPy.

    >>> import numpy as np, arignote.tensor as T
    >>> v = T.vector("v")
    >>> where(v > 0)[0].eval({v: np.array([1.0, -1.0, 2.0])})
    array([0, 2])
    """
    from arignote.tensor.math import switch

    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where takes either one argument (nonzero) or three (switch), not two")
    return switch(condition, x, y)


__all__ = [
    "AdvancedIncSubtensor",
    "AdvancedSubtensor",
    "advanced_inc_subtensor",
    "advanced_set_subtensor",
    "advanced_subtensor",
    "argwhere",
    "flatnonzero",
    "nonzero_values",
    "take",
    "where",
]
