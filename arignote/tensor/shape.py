"""Shape ops: ``shape``, ``reshape``, ``flatten``, ``specify_shape``, axis permutations, and
the ops that add, remove or (un)declare broadcastable axes.

Invariants:

- Lengths are int64. ``Shape`` gives a vector of static length ``x.ndim``;
  ``shape_i`` gives a scalar, and a constant when the static shape knows it,
  so shape arithmetic on statically known dimensions stays constant.
- A shape argument is an int64 vector: a constant when every entry is a
  Python int, else a ``MakeVector`` of int64 scalars. The static shape of a
  ``Reshape`` output is read from that vector's constant entries (through
  ``MakeVector``, ``Shape`` and ``get_scalar_constant_value``), so
  ``reshape(x, (n, 3))`` is known to have 3 columns.
- Mismatches are reported when the graph is built if the static shapes
  decide them, else at run time, naming the input shape and the request.
- Broadcastability is part of the type (a static length of 1), so declaring
  it is an op: ``Rebroadcast`` (``addbroadcast``, ``unbroadcast``,
  ``patternbroadcast``) changes only the type and checks at run time that an
  axis declared broadcastable really has length 1; ``squeeze`` of a named
  axis goes through it, so a wrong length is an error, never a silent drop.
- Everything else here is a composite (``DimShuffle`` for ``transpose``,
  ``swapaxes``, ``shape_pad*``, ``expand_dims``, ``squeeze``; ``Reshape``
  for ``flatten``/``ravel``) and inherits gradients and shape inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import CONTINUOUS_DTYPES, INT_DTYPES, upcast
from arignote.tensor.basic import (
    NotScalarConstantError,
    as_tensor_variable,
    cast,
    constant,
    get_scalar_constant_value,
)
from arignote.tensor.elemwise import DimShuffle
from arignote.tensor.type import TensorType


class SymbolicEntry:
    """Placeholder, in an op's static description, for a value passed as an extra input."""

    def __reduce__(self) -> str:
        return "SYMBOLIC"

    def __repr__(self) -> str:
        return "?"


SYMBOLIC = SymbolicEntry()


def known_int(value: Any) -> int | None:
    """``value`` as a Python int if it is a constant known when the graph is built, else None."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        return int(get_scalar_constant_value(value))
    except NotScalarConstantError:
        return None


def as_int_scalar(value: Any, what: str) -> Variable:
    """``value`` as a 0-d integer tensor (Python ints become int64 constants)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return constant(np.int64(value))
    variable = as_tensor_variable(value)
    if variable.ndim != 0 or variable.dtype not in INT_DTYPES:
        raise TypeError(
            f"{what} must be an integer scalar, got {variable!r} "
            f"(dtype {variable.dtype}, {variable.ndim} dimensions)"
        )
    return variable


# ---- MakeVector --------------------------------------------------------------------------
class MakeVector(Op):
    """Stack 0-d tensors into a vector of ``dtype`` (Theano's ``MakeVector``).

    >>> import arignote.tensor as T
    >>> n = T.lscalar("n")
    >>> MakeVector("int64")(n, 3).eval({n: 2})
    array([2, 3])
    """

    __props__ = ("dtype",)

    def __init__(self, dtype: str = "int64"):
        self.dtype = str(np.dtype(dtype))

    def make_node(self, *scalars: Any) -> Apply:
        scalars = [as_tensor_variable(s) for s in scalars]
        for position, scalar in enumerate(scalars):
            if scalar.ndim != 0:
                raise TypeError(
                    f"{self}: entry {position} ({scalar!r}) must be 0-d, "
                    f"has {scalar.ndim} dimensions"
                )
            if upcast(self.dtype, scalar.dtype) != self.dtype:
                raise TypeError(
                    f"{self}: entry {position} ({scalar!r}) of dtype {scalar.dtype} does not "
                    f"fit in {self.dtype} without loss; cast it first"
                )
        output = TensorType(self.dtype, shape=(len(scalars),)).make_variable()
        return Apply(self, scalars, [output])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.array(inputs, dtype=self.dtype).reshape(len(inputs))

    def infer_shape(self, node, input_shapes):
        return [(len(node.inputs),)]

    def L_op(self, inputs, outputs, output_grads):
        if self.dtype not in CONTINUOUS_DTYPES:
            return [None] * len(inputs)
        (gz,) = output_grads
        return [gz[position] for position in range(len(inputs))]


def shape_vector(entries: Sequence[Any], what: str = "shape") -> Variable:
    """Lengths (Python ints and symbolic integer scalars) as one int64 vector.

    >>> shape_vector([2, 3]).eval()
    array([2, 3])
    """
    if all(isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in entries):
        return constant(np.asarray(entries, dtype="int64").reshape(len(entries)))
    scalars = [
        cast(as_int_scalar(entry, f"{what} entry {position}"), "int64")
        for position, entry in enumerate(entries)
    ]
    return MakeVector("int64")(*scalars)


def static_entries(vector: Variable) -> list[int | None]:
    """The entries of a static-length int vector that are known when the graph is built."""
    length = vector.type.shape[0]
    if isinstance(vector, Constant):
        return [int(v) for v in np.asarray(vector.data).reshape(-1)]
    if vector.owner is not None and isinstance(vector.owner.op, MakeVector):
        return [known_int(v) for v in vector.owner.inputs]
    if vector.owner is not None and isinstance(vector.owner.op, Shape):
        return list(vector.owner.inputs[0].type.shape)
    return [None] * (length or 0)


def vector_entry(vector: Variable, position: int) -> Any:
    """Entry ``position`` of an int vector: an int when known, else a symbolic scalar."""
    if isinstance(vector, Constant):
        return int(np.asarray(vector.data).reshape(-1)[position])
    if vector.owner is not None and isinstance(vector.owner.op, MakeVector):
        return vector.owner.inputs[position]
    if vector.owner is not None and isinstance(vector.owner.op, Shape):
        return shape_i(vector.owner.inputs[0], position)
    return vector[position]


# ---- Shape and Shape_i --------------------------------------------------------------------
class Shape(Op):
    """The shape of a tensor, as an int64 vector of length ``x.ndim``."""

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorType("int64", shape=(x.ndim,)).make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape, dtype="int64").reshape(-1)

    def infer_shape(self, node, input_shapes):
        return [(node.inputs[0].ndim,)]

    def connection_pattern(self, node):
        return [[False]]

    def L_op(self, inputs, outputs, output_grads):
        return [None]


def shape(x: Any) -> Variable:
    """The symbolic shape of ``x`` (an int64 vector); ``x.shape`` calls this.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x")
    >>> shape(x).eval({x: np.zeros((2, 5))})
    array([2, 5])
    """
    return Shape()(x)


class Shape_i(Op):
    """The length of axis ``i``, as an int64 scalar."""

    __props__ = ("i",)

    def __init__(self, i: int):
        self.i = int(i)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if not 0 <= self.i < x.ndim:
            raise IndexError(f"{self}: axis {self.i} is out of range for {x.ndim}-d {x!r}")
        return Apply(self, [x], [TensorType("int64", shape=()).make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape[self.i], dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [()]

    def connection_pattern(self, node):
        return [[False]]

    def L_op(self, inputs, outputs, output_grads):
        return [None]

    def constant_value(self, node: Apply) -> int | None:
        """The length, when the input's static shape knows it."""
        return node.inputs[0].type.shape[self.i]


def shape_i(x: Any, i: int) -> Variable:
    """The length of axis ``i`` of ``x``: a constant when the static shape knows it.

    >>> import arignote.tensor as T
    >>> shape_i(T.row("r"), 0).eval()
    array(1)
    """
    x = as_tensor_variable(x)
    if not -x.ndim <= i < x.ndim:
        raise IndexError(f"shape_i: axis {i} is out of range for {x.ndim}-d {x!r}")
    i = int(i) % x.ndim
    static = x.type.shape[i]
    if static is not None:
        return constant(np.int64(static))
    return Shape_i(i)(x)


# ---- Reshape ------------------------------------------------------------------------------
class Reshape(Op):
    """``x`` with the same elements in a new shape of ``ndim`` dimensions (a view if it can be).

    The second input is an integer vector of length ``ndim``; one entry may be
    -1, meaning "whatever length makes the sizes agree".
    """

    __props__ = ("ndim",)

    def __init__(self, ndim: int):
        self.ndim = int(ndim)

    def make_node(self, x: Any, new_shape: Any) -> Apply:
        x = as_tensor_variable(x)
        if not isinstance(new_shape, Variable):
            new_shape = shape_vector([new_shape] if np.ndim(new_shape) == 0 else list(new_shape))
        if new_shape.ndim != 1 or new_shape.dtype not in INT_DTYPES:
            raise TypeError(
                f"reshape: the new shape must be an integer vector, got {new_shape!r} "
                f"(dtype {new_shape.dtype}, {new_shape.ndim} dimensions)"
            )
        if new_shape.type.shape[0] not in (None, self.ndim):
            raise ValueError(
                f"reshape: the new shape {new_shape} has {new_shape.type.shape[0]} entries, "
                f"but the output should have {self.ndim} dimensions"
            )
        entries = static_entries(new_shape) if new_shape.type.shape[0] is not None else []
        out_shape = self._static_output_shape(x, entries or [None] * self.ndim)
        return Apply(self, [x, new_shape], [TensorType(x.dtype, shape=out_shape).make_variable()])

    def _static_output_shape(self, x: Variable, entries: list[int | None]) -> list[int | None]:
        """Static output lengths; raises when constants already contradict ``x``'s size."""
        if any(e is not None and e < -1 for e in entries) or entries.count(-1) > 1:
            raise ValueError(
                f"reshape: invalid new shape {_spell(entries)} for {x!r}: lengths must be "
                "non-negative, with at most one -1"
            )
        size = None if None in x.type.shape else int(np.prod(x.type.shape, dtype="int64"))
        known = [e for e in entries if e is not None and e != -1]
        out_shape = [None if e == -1 else e for e in entries]
        if size is None or len(known) + (-1 in entries) < len(entries):
            return out_shape
        rest = int(np.prod(known, dtype="int64"))
        if -1 not in entries:
            if rest != size:
                raise ValueError(
                    f"reshape: cannot reshape {x!r} of static shape {x.type.shape} (size {size}) "
                    f"into shape {_spell(entries)} (size {rest})"
                )
            return out_shape
        if rest == 0 or size % rest:
            raise ValueError(
                f"reshape: cannot reshape {x!r} of static shape {x.type.shape} (size {size}) "
                f"into shape {_spell(entries)}: no length for -1 makes the sizes agree"
            )
        out_shape[entries.index(-1)] = size // rest
        return out_shape

    def perform(self, node, inputs, output_storage):
        x, new_shape = inputs
        requested = tuple(int(s) for s in np.asarray(new_shape).reshape(-1))
        if len(requested) != self.ndim:
            raise ValueError(
                f"reshape: the new shape {requested} has {len(requested)} entries, but the "
                f"output should have {self.ndim} dimensions"
            )
        try:
            result = np.reshape(x, requested)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape an array of shape {x.shape} (size {x.size}) "
                f"into shape {requested}"
            ) from None
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        from arignote.tensor import math
        from arignote.tensor.reduction import prod

        new_shape = node.inputs[1]
        entries = [vector_entry(new_shape, position) for position in range(self.ndim)]
        known = [known_int(e) for e in entries]
        total = _product(input_shapes[0])
        if -1 in known:
            others = _product([e for e, k in zip(entries, known) if k != -1])
            return [tuple(total // others if k == -1 else e for e, k in zip(entries, known))]
        # An entry unknown at build time may still be -1 at run time.
        rest = math.maximum(math.abs(prod(new_shape)), 1)
        return [
            tuple(
                k if k is not None else math.switch(math.eq(e, -1), total // rest, e)
                for e, k in zip(entries, known)
            )
        ]

    def connection_pattern(self, node):
        return [[True], [False]]

    def L_op(self, inputs, outputs, output_grads):
        x, _ = inputs
        return [reshape(output_grads[0], shape(x), ndim=x.ndim), None]


def _spell(entries: Sequence[int | None]) -> str:
    return (
        "("
        + ", ".join("?" if e is None else str(e) for e in entries)
        + (",)" if len(entries) == 1 else ")")
    )


def _product(lengths: Sequence[Any]) -> Any:
    """The product of lengths (ints and symbolic scalars); an int when all are known."""
    known_part = 1
    symbolic_part = None
    for length in lengths:
        known = known_int(length)
        if known is not None:
            known_part *= known
        else:
            symbolic_part = length if symbolic_part is None else symbolic_part * length
    if symbolic_part is None:
        return known_part
    return symbolic_part if known_part == 1 else symbolic_part * known_part


def reshape(x: Any, newshape: Any, ndim: int | None = None) -> Variable:
    """``x`` reshaped to ``newshape`` (ints, symbolic int scalars, or an int vector).

    ``ndim`` is needed only when ``newshape`` is a symbolic vector whose
    length is not known when the graph is built.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x")
    >>> y = reshape(x, (2, -1))
    >>> y.type.shape, y.eval({x: np.arange(6.0)}).shape
    ((2, None), (2, 3))
    """
    x = as_tensor_variable(x)
    if isinstance(newshape, Variable):
        new_shape = newshape if newshape.ndim == 1 else shape_vector([newshape])
        length = new_shape.type.shape[0]
        if length is None and ndim is None:
            raise ValueError(
                f"reshape: the length of the new shape {newshape} is not known when the graph "
                "is built; pass ndim= (the number of output dimensions)"
            )
        if length is not None and ndim is not None and length != ndim:
            raise ValueError(f"reshape: ndim={ndim}, but the new shape has {length} entries")
        return Reshape(length if length is not None else ndim)(x, new_shape)
    entries = [newshape] if np.ndim(newshape) == 0 else list(newshape)
    if ndim is not None and ndim != len(entries):
        raise ValueError(f"reshape: ndim={ndim}, but the new shape has {len(entries)} entries")
    return Reshape(len(entries))(x, shape_vector(entries, "reshape: shape"))


def flatten(x: Any, ndim: int = 1, outdim: int | None = None) -> Variable:
    """Keep the first ``ndim - 1`` axes of ``x`` and collapse the rest into one (Theano's rule).

    >>> import numpy as np, arignote.tensor as T
    >>> t = T.tensor3("t")
    >>> flatten(t, 2).eval({t: np.zeros((2, 3, 4))}).shape
    (2, 12)
    """
    x = as_tensor_variable(x)
    ndim = outdim if outdim is not None else ndim
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(
            f"flatten: ndim must be between 1 and {max(x.ndim, 1)} for {x.ndim}-d {x!r}, got {ndim}"
        )
    if ndim == 1:
        return reshape(x, (-1,))
    kept = [shape_i(x, axis) for axis in range(ndim - 1)]
    collapsed = _product([shape_i(x, axis) for axis in range(ndim - 1, x.ndim)])
    return reshape(x, kept + [collapsed])


# ---- SpecifyShape -------------------------------------------------------------------------
class SpecifyShape(Op):
    """``x`` unchanged, asserting its shape at run time and refining its static shape.

    ``pattern`` has one entry per axis: an int (a length known when the graph
    is built), ``None`` (not checked) or ``SYMBOLIC`` (checked against the
    next extra input, an integer scalar).
    """

    __props__ = ("pattern",)

    def __init__(self, pattern: Sequence[int | None | SymbolicEntry]):
        self.pattern = tuple(p if p is None or p is SYMBOLIC else int(p) for p in pattern)

    def __str__(self) -> str:
        return f"SpecifyShape{_spell([None if p is SYMBOLIC else p for p in self.pattern])}"

    def make_node(self, x: Any, *lengths: Any) -> Apply:
        x = as_tensor_variable(x)
        lengths = [as_int_scalar(n, f"{self}: length") for n in lengths]
        if x.ndim != len(self.pattern):
            raise ValueError(
                f"specify_shape: {x!r} has {x.ndim} dimensions, but the shape "
                f"{self.pattern} has {len(self.pattern)} entries"
            )
        if len(lengths) != self.pattern.count(SYMBOLIC):
            raise TypeError(
                f"{self} takes {self.pattern.count(SYMBOLIC)} lengths, got {len(lengths)}"
            )
        out_shape = []
        for axis, (static, wanted) in enumerate(zip(x.type.shape, self.pattern)):
            if isinstance(wanted, int) and static is not None and static != wanted:
                raise ValueError(
                    f"specify_shape: {x!r} has static shape {x.type.shape}, which contradicts "
                    f"the specified length {wanted} of axis {axis}"
                )
            out_shape.append(wanted if isinstance(wanted, int) else static)
        return Apply(self, [x, *lengths], [TensorType(x.dtype, shape=out_shape).make_variable()])

    def _expected(self, lengths: Sequence[Any]) -> list[int | None]:
        symbolic = iter(lengths)
        return [int(next(symbolic)) if p is SYMBOLIC else p for p in self.pattern]

    def perform(self, node, inputs, output_storage):
        x, *lengths = inputs
        expected = self._expected(lengths)
        if x.ndim != len(expected):
            raise AssertionError(
                f"SpecifyShape: expected shape {_spell(expected)}, but the value has shape "
                f"{x.shape}"
            )
        wrong = [
            f"axis {axis} has length {actual}, not {e}"
            for axis, (e, actual) in enumerate(zip(expected, x.shape))
            if e is not None and e != actual
        ]
        if wrong:
            raise AssertionError(
                f"SpecifyShape: expected shape {_spell(expected)}, but the value has shape "
                f"{x.shape} ({'; '.join(wrong)})"
            )
        output_storage[0][0] = x

    def infer_shape(self, node, input_shapes):
        symbolic = iter(node.inputs[1:])
        return [
            tuple(
                actual if p is None else (cast(next(symbolic), "int64") if p is SYMBOLIC else p)
                for p, actual in zip(self.pattern, input_shapes[0])
            )
        ]

    def connection_pattern(self, node):
        return [[True]] + [[False]] * (len(node.inputs) - 1)

    def L_op(self, inputs, outputs, output_grads):
        lengths = inputs[1:]
        return [self(output_grads[0], *lengths)] + [None] * len(lengths)


def specify_shape(x: Any, shape: Any) -> Variable:
    """``x``, asserted (at run time) to have ``shape``; ``None`` entries are left unknown.

    The result's static shape includes every length known when the graph is
    built, so ``specify_shape(x, (None, 1))`` makes the second axis broadcastable.

    >>> import arignote.tensor as T
    >>> specify_shape(T.matrix("x"), (None, 3)).type.shape
    (None, 3)
    """
    x = as_tensor_variable(x)
    if isinstance(shape, Variable) and shape.ndim == 1:
        if shape.type.shape[0] is None:
            raise ValueError(
                f"specify_shape: the length of the shape {shape} is not known when the graph "
                "is built"
            )
        entries = [vector_entry(shape, position) for position in range(shape.type.shape[0])]
    else:
        entries = [shape] if isinstance(shape, Variable) or np.ndim(shape) == 0 else list(shape)
    if len(entries) != x.ndim:
        raise ValueError(
            f"specify_shape: {x!r} has {x.ndim} dimensions, but the shape has "
            f"{len(entries)} entries"
        )
    pattern: list[int | None | SymbolicEntry] = []
    lengths = []
    for position, entry in enumerate(entries):
        if entry is None:
            pattern.append(None)
            continue
        length = as_int_scalar(entry, f"specify_shape: shape entry {position}")
        known = known_int(length)
        if known is not None and known < 0:
            raise ValueError(f"specify_shape: shape entry {position} is negative ({known})")
        if known is None:
            pattern.append(SYMBOLIC)
            lengths.append(length)
        else:
            pattern.append(known)
    if not lengths and all(p is None or p == s for p, s in zip(pattern, x.type.shape)):
        return x
    return SpecifyShape(pattern)(x, *lengths)


# ---- transpose, swapaxes ------------------------------------------------------------------
def normalize_axis(axis: Any, ndim: int, what: str) -> int:
    """``axis`` (an int in ``[-ndim, ndim)``) as a non-negative int; IndexError otherwise."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(
            f"{what}: an axis must be an int known when the graph is built, got {axis!r}"
        )
    if not -ndim <= axis < ndim:
        raise IndexError(f"{what}: axis {axis} is out of range for {ndim} dimensions")
    return int(axis) % ndim


def transpose(x: Any, axes: Sequence[int] | None = None) -> Variable:
    """``x`` with its axes permuted (reversed by default); a ``DimShuffle``.

    >>> import arignote.tensor as T
    >>> transpose(T.tensor3("t"), (1, 0, 2)).type.shape, T.matrix("m").T.owner.op.new_order
    ((None, None, None), (1, 0))
    """
    x = as_tensor_variable(x)
    if axes is None:
        order = tuple(reversed(range(x.ndim)))
    else:
        axes = tuple(axes)
        if len(axes) != x.ndim or any(not -x.ndim <= a < x.ndim for a in axes):
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of {x!r}"
            )
        order = tuple(int(a) % x.ndim for a in axes)
    return DimShuffle(x.ndim, order)(x)


def swapaxes(x: Any, axis1: int, axis2: int) -> Variable:
    """``x`` with two axes exchanged (``np.swapaxes``); a ``DimShuffle``.

    >>> import arignote.tensor as T
    >>> swapaxes(T.tensor("float64", shape=(2, None, 4)), 0, -1).type.shape
    (4, None, 2)
    """
    x = as_tensor_variable(x)
    first = normalize_axis(axis1, x.ndim, "swapaxes")
    second = normalize_axis(axis2, x.ndim, "swapaxes")
    order = list(range(x.ndim))
    order[first], order[second] = second, first
    return DimShuffle(x.ndim, order)(x)


def ravel(x: Any) -> Variable:
    """``x`` as a vector, in C order (``flatten(x, 1)``).

    >>> ravel(np.ones((2, 3))).type.shape
    (6,)
    """
    return flatten(x, 1)


# ---- adding and removing broadcastable axes ---------------------------------------------
def shape_padleft(t: Any, n_ones: int = 1) -> Variable:
    """``t`` with ``n_ones`` broadcastable axes added in front.

    >>> import arignote.tensor as T
    >>> shape_padleft(T.vector("v"), 2).type.shape
    (1, 1, None)
    """
    t = as_tensor_variable(t)
    return DimShuffle(t.ndim, ("x",) * _count(n_ones, "shape_padleft") + tuple(range(t.ndim)))(t)


def shape_padright(t: Any, n_ones: int = 1) -> Variable:
    """``t`` with ``n_ones`` broadcastable axes added at the end.

    >>> import arignote.tensor as T
    >>> shape_padright(T.vector("v")).type.shape
    (None, 1)
    """
    t = as_tensor_variable(t)
    return DimShuffle(t.ndim, tuple(range(t.ndim)) + ("x",) * _count(n_ones, "shape_padright"))(t)


def _count(n_ones: Any, what: str) -> int:
    if isinstance(n_ones, bool) or not isinstance(n_ones, (int, np.integer)) or n_ones < 0:
        raise ValueError(f"{what}: n_ones must be a non-negative int, got {n_ones!r}")
    return int(n_ones)


def shape_padaxis(t: Any, axis: int) -> Variable:
    """``t`` with a broadcastable axis inserted so that it becomes axis ``axis`` of the result.

    ``axis`` counts in the result, which has ``t.ndim + 1`` axes (negative from the end).

    >>> import arignote.tensor as T
    >>> shape_padaxis(T.matrix("m"), -1).type.shape, shape_padaxis(T.matrix("m"), 1).type.shape
    ((None, None, 1), (None, 1, None))
    """
    return expand_dims(t, axis)


def expand_dims(a: Any, axis: int | Sequence[int]) -> Variable:
    """``a`` with broadcastable axes inserted at positions ``axis`` of the result (NumPy's rule).

    >>> import arignote.tensor as T
    >>> expand_dims(T.vector("v"), (0, 2)).type.shape
    (1, None, 1)
    """
    a = as_tensor_variable(a)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = a.ndim + len(axes)
    inserted = {normalize_axis(ax, out_ndim, "expand_dims") for ax in axes}
    if len(inserted) != len(axes):
        raise ValueError(f"expand_dims: axis {axes} repeats an axis")
    kept = iter(range(a.ndim))
    return DimShuffle(a.ndim, ["x" if d in inserted else next(kept) for d in range(out_ndim)])(a)


class Rebroadcast(Op):
    """``x`` with the broadcastability of some axes changed (Theano's ``Rebroadcast``); a view.

    ``axis`` holds ``(axis, broadcastable)`` pairs. An axis made broadcastable
    gets static length 1, checked when the function runs; an axis made not
    broadcastable forgets a static length of 1, so it no longer broadcasts.
    """

    __props__ = ("axis",)

    def __init__(self, *axis: tuple[int, bool]):
        pairs = {}
        for position, flag in axis:
            position = int(position)
            if pairs.get(position, bool(flag)) != bool(flag):
                raise ValueError(f"Rebroadcast: axis {position} is both made broadcastable and not")
            pairs[position] = bool(flag)
        self.axis = tuple(sorted(pairs.items()))

    def __str__(self) -> str:
        return "Rebroadcast{" + ", ".join(f"{a}:{'1' if b else '?'}" for a, b in self.axis) + "}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        out_shape = list(x.type.shape)
        for axis, flag in self.axis:
            if not 0 <= axis < x.ndim:
                raise IndexError(f"{self}: axis {axis} is out of range for {x.ndim}-d {x!r}")
            static = x.type.shape[axis]
            if flag and static not in (None, 1):
                raise ValueError(
                    f"cannot make axis {axis} of {x!r} broadcastable: its static length is "
                    f"{static}, not 1"
                )
            out_shape[axis] = 1 if flag else (None if static == 1 else static)
        return Apply(self, [x], [TensorType(x.dtype, shape=out_shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        for axis, flag in self.axis:
            if flag and x.shape[axis] != 1:
                raise ValueError(
                    f"{self}: axis {axis} was declared broadcastable (length 1), but the value "
                    f"has shape {x.shape}: axis {axis} has length {x.shape[axis]}"
                )
        output_storage[0][0] = x

    def infer_shape(self, node, input_shapes):
        made_broadcastable = {axis for axis, flag in self.axis if flag}
        return [tuple(1 if a in made_broadcastable else n for a, n in enumerate(input_shapes[0]))]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        back = Rebroadcast(*((axis, x.broadcastable[axis]) for axis, _ in self.axis))
        return [back(output_grads[0])]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0])]


def _rebroadcast(x: Any, wanted: dict[int, bool]) -> Variable:
    """``x`` with ``wanted`` broadcastability; ``x`` itself when it already has it."""
    changes = [
        (axis, flag) for axis, flag in sorted(wanted.items()) if x.broadcastable[axis] != flag
    ]
    return Rebroadcast(*changes)(x) if changes else x


def addbroadcast(x: Any, *axes: int) -> Variable:
    """``x`` with ``axes`` declared broadcastable; their length is checked to be 1 at run time.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x"); z = T.matrix("z")
    >>> y = addbroadcast(x, 1)
    >>> y.type.shape, (y + z).eval({x: np.ones((2, 1)), z: np.ones((2, 3))}).shape
    ((None, 1), (2, 3))
    """
    x = as_tensor_variable(x)
    return _rebroadcast(x, {normalize_axis(a, x.ndim, "addbroadcast"): True for a in axes})


def unbroadcast(x: Any, *axes: int) -> Variable:
    """``x`` with ``axes`` no longer broadcastable (a static length 1 becomes unknown).

    >>> import arignote.tensor as T
    >>> unbroadcast(T.row("r"), 0).type.shape
    (None, None)
    """
    x = as_tensor_variable(x)
    return _rebroadcast(x, {normalize_axis(a, x.ndim, "unbroadcast"): False for a in axes})


def patternbroadcast(x: Any, broadcastable: Sequence[bool]) -> Variable:
    """``x`` with exactly the broadcastability ``broadcastable`` (one bool per axis).

    >>> import arignote.tensor as T
    >>> patternbroadcast(T.row("r"), (False, True)).type.shape
    (None, 1)
    """
    x = as_tensor_variable(x)
    broadcastable = tuple(broadcastable)
    if len(broadcastable) != x.ndim:
        raise ValueError(
            f"patternbroadcast: {x!r} has {x.ndim} dimensions, but the pattern "
            f"{broadcastable} has {len(broadcastable)} entries"
        )
    return _rebroadcast(x, {axis: bool(flag) for axis, flag in enumerate(broadcastable)})


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Variable:
    """``x`` without its broadcastable axes (Theano's rule), or without the axes ``axis``.

    An axis named in ``axis`` that is not broadcastable is declared so first
    (``addbroadcast``), so its length is checked to be 1 when the function runs.

    >>> import arignote.tensor as T
    >>> squeeze(T.tensor("float64", shape=(1, None, 1))).type.shape
    (None,)
    >>> squeeze(T.matrix("m"), 0).type.shape
    (None,)
    """
    x = as_tensor_variable(x)
    if axis is None:
        axes = {a for a in range(x.ndim) if x.broadcastable[a]}
    else:
        named = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        axes = {normalize_axis(a, x.ndim, "squeeze") for a in named}
        for a in sorted(axes):
            if x.type.shape[a] not in (None, 1):
                raise ValueError(
                    f"squeeze: cannot remove axis {a} of {x!r}: its static length is "
                    f"{x.type.shape[a]}, not 1"
                )
        x = addbroadcast(x, *axes)
    return DimShuffle(x.ndim, [a for a in range(x.ndim) if a not in axes])(x)


__all__ = [
    "MakeVector",
    "Rebroadcast",
    "Reshape",
    "Shape",
    "Shape_i",
    "SpecifyShape",
    "addbroadcast",
    "expand_dims",
    "flatten",
    "patternbroadcast",
    "ravel",
    "reshape",
    "shape",
    "shape_i",
    "shape_padaxis",
    "shape_padleft",
    "shape_padright",
    "shape_vector",
    "specify_shape",
    "squeeze",
    "swapaxes",
    "transpose",
    "unbroadcast",
]
