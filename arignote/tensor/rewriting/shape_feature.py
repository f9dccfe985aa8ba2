"""The shape feature: the symbolic shape of every variable, and the rewrites that use it.

``ShapeFeature`` (a ``FunctionGraph`` listener, attached on first use by
``shape_feature(fgraph)``) answers ``shape_of(x)``: a tuple of 0-d int64
tensors, one per axis of ``x``, computed from the shapes of the inputs of
``x``'s node by its op's ``infer_shape``, never from the value of ``x``.
So ``x.shape[0]`` of ``x = exp(y)`` is ``y.shape[0]``, and the ``exp`` is
not computed when only the length is needed.

Invariants:

- Lengths known from static types are int64 constants. A graph input's
  other lengths are ``Shape_i(axis)(x)`` (the graph's own node when it has
  one, so that expressions merge). A node whose op has no ``infer_shape``
  (or whose ``infer_shape`` fails: reported as a failing rewrite) gets the
  same fallback on its outputs.
- Shapes are computed lazily, on demand, with an explicit stack (no
  recursion), and cached: every variable is inferred once per validity.
- Every cached shape records its *roots*: the graph variables its
  expression reads (through ``Shape_i`` or as a value, such as the length
  arguments of ``alloc``). Rewrites only replace variables by others of
  equal value, so a cached shape stays right while its roots are in the
  graph; when a root is pruned, every shape that reads it is dropped, so
  that using the shape later does not resurrect the pruned computation.
  Roots are found by walking only the nodes that ``infer_shape`` built.
- A length is shape arithmetic only: ``Shape``/``Shape_i`` of arrays and ops
  on scalars and integer vectors. A length that ``infer_shape`` computes
  otherwise (say by applying the op again, as ``lstsq``'s residual count
  does) is replaced by ``Shape_i`` of the output, so that using a shape
  never computes an op a second time (and a rewrite cannot chase its tail
  importing ever new copies of it).

Rewrites here (``canonicalize``): ``Shape(x)`` becomes the ``MakeVector`` of
the inferred lengths (a constant when the static shape knows them all),
``Shape_i(i)(x)`` the inferred length, and an integer index into a
``MakeVector`` the entry it picks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import FunctionGraph
from arignote.graph.rewriting.basic import node_rewriter, report_rewrite_error
from arignote.graph.rewriting.stages import canonicalize
from arignote.scalar.basic import INT_DTYPES
from arignote.tensor.basic import as_tensor_variable, cast, constant
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.reduction import CAReduce
from arignote.tensor.shape import MakeVector, Shape, Shape_i
from arignote.tensor.subtensor import Subtensor, fill_entries
from arignote.tensor.type import TensorType

Lengths = tuple[Variable, ...]
# Ops whose equal applications to the same inputs give equal lengths (no random draws).
_DETERMINISTIC_SHAPE_OPS = (Shape_i, Shape, MakeVector, Subtensor, Elemwise, CAReduce)


def length_constant(length: int) -> Variable:
    """A length known now, as the int64 constant that shapes hold."""
    return constant(np.int64(length))


def known_length(length: Variable) -> int | None:
    """The value of a length when it is a constant (or the ``Shape_i`` of a static axis)."""
    if isinstance(length, Constant):
        return int(np.asarray(length.data).reshape(()))
    node = length.owner
    if node is not None and isinstance(node.op, Shape_i):
        return node.inputs[0].type.shape[node.op.i]
    return None


def lengths_equal(a: Variable, b: Variable) -> bool:
    """Whether two lengths are provably equal: the same variable, equal constants, or the
    same op applied to the same inputs (two ``Shape_i(0)(x)`` nodes, say).

    >>> import arignote.tensor as T
    >>> x = T.matrix("x")
    >>> lengths_equal(Shape_i(0)(x), Shape_i(0)(x)), lengths_equal(Shape_i(0)(x), Shape_i(1)(x))
    (True, False)
    """
    if a is b:
        return True
    known_a, known_b = known_length(a), known_length(b)
    if known_a is not None or known_b is not None:
        return known_a == known_b
    node_a, node_b = a.owner, b.owner
    return (
        node_a is not None
        and node_b is not None
        and isinstance(node_a.op, _DETERMINISTIC_SHAPE_OPS)
        and a.index == b.index
        and node_a.op == node_b.op
        and len(node_a.inputs) == len(node_b.inputs)
        and all(x is y for x, y in zip(node_a.inputs, node_b.inputs))
    )


def is_shape_i_of(length: Variable, variable: Variable, axis: int) -> bool:
    """Whether ``length`` is ``Shape_i(axis)(variable)`` itself (read from the value)."""
    node = length.owner
    return (
        node is not None
        and isinstance(node.op, Shape_i)
        and node.op.i == axis
        and node.inputs[0] is variable
    )


class ShapeFeature:
    """Lazily inferred, cached symbolic shapes of a graph's variables.

    >>> import arignote.tensor as T
    >>> y = T.matrix("y")
    >>> fg = FunctionGraph([y], [T.exp(y).sum(axis=1)], clone=False)
    >>> lengths = shape_feature(fg).shape_of(fg.outputs[0])
    >>> lengths[0].owner.op, lengths[0].owner.inputs[0] is y
    (Shape_i{i=0}, True)
    """

    name = "shape_feature"

    def __str__(self) -> str:
        return self.name

    def __init__(self) -> None:
        self.fgraph: FunctionGraph | None = None
        self._shapes: dict[Variable, Lengths | None] = {}
        self._roots: dict[Variable, frozenset[Variable]] = {}
        # The roots of each length expression handed out (keyed by the length variable).
        self._length_roots: dict[Variable, frozenset[Variable]] = {}
        self._dependents: dict[Variable, set[Variable]] = {}

    # ---- FunctionGraph listener -----------------------------------------------------------
    def on_attach(self, fgraph: FunctionGraph) -> None:
        if self.fgraph is not None and self.fgraph is not fgraph:
            raise ValueError("a ShapeFeature serves one FunctionGraph")
        self.fgraph = fgraph
        fgraph.shape_feature = self  # type: ignore[attr-defined]  (Theano's attribute)

    def on_detach(self, fgraph: FunctionGraph) -> None:
        self._shapes.clear()
        self._roots.clear()
        self._length_roots.clear()
        self._dependents.clear()
        if getattr(fgraph, "shape_feature", None) is self:
            del fgraph.shape_feature  # type: ignore[attr-defined]
        self.fgraph = None

    def on_prune(self, fgraph: FunctionGraph, node: Apply, reason: str) -> None:
        for output in node.outputs:
            for dependent in self._dependents.pop(output, ()):
                self._forget(dependent)

    def _forget(self, variable: Variable) -> None:
        for length in self._shapes.pop(variable, None) or ():
            self._length_roots.pop(length, None)
        for root in self._roots.pop(variable, ()):
            dependents = self._dependents.get(root)
            if dependents is not None:
                dependents.discard(variable)

    # ---- queries --------------------------------------------------------------------------
    def shape_of(self, variable: Variable) -> Lengths:
        """The lengths of ``variable``'s axes: 0-d int64 tensors (constants where known)."""
        if not isinstance(variable.type, TensorType):
            raise TypeError(f"shape_of: {variable!r} is not a tensor")
        if variable not in self._shapes:
            self._infer_up_to(variable)
        return self._shapes[variable]  # type: ignore[return-value]

    def length(self, variable: Variable, axis: int) -> Variable:
        return self.shape_of(variable)[axis]

    # ---- inference --------------------------------------------------------------------------
    def _infer_up_to(self, variable: Variable) -> None:
        """Infer the shapes of ``variable`` and of the ancestors it needs, without recursion."""
        stack = [variable]
        while stack:
            current = stack[-1]
            if current in self._shapes:
                stack.pop()
                continue
            node = current.owner
            if node is None:
                self._record(current, self._leaf_shape(current))
                stack.pop()
                continue
            missing = [i for i in node.inputs if i not in self._shapes]
            if missing:
                stack.extend(missing)
                continue
            self._infer_node(node)
            stack.pop()

    def _leaf_shape(self, variable: Variable) -> Lengths | None:
        if not isinstance(variable.type, TensorType):
            return None
        if isinstance(variable, Constant):
            return tuple(length_constant(n) for n in np.shape(variable.data))
        return tuple(self._static_or_read(variable, axis) for axis in range(variable.ndim))

    def _static_or_read(self, variable: Variable, axis: int) -> Variable:
        """The static length of ``axis``, or ``Shape_i(axis)`` read from the value."""
        static = variable.type.shape[axis]
        if static is not None:
            return length_constant(static)
        if self.fgraph is not None:
            for client, _ in self.fgraph.clients.get(variable, ()):
                if isinstance(getattr(client, "op", None), Shape_i) and client.op.i == axis:
                    return client.outputs[0]
        return Shape_i(axis)(variable)

    def _infer_node(self, node: Apply) -> None:
        input_shapes = [self._shapes[i] for i in node.inputs]
        inferred: Sequence[Any] | None = None
        try:
            inferred = node.op.infer_shape(node, input_shapes)
            if len(inferred) != len(node.outputs):
                raise ValueError(
                    f"infer_shape gave {len(inferred)} shapes for {len(node.outputs)} outputs"
                )
            for output, lengths in zip(node.outputs, inferred):
                if isinstance(output.type, TensorType) and len(lengths) != output.ndim:
                    raise ValueError(
                        f"infer_shape gave {len(lengths)} lengths for a {output.ndim}-d output"
                    )
        except NotImplementedError:
            inferred = None
        except Exception as exc:  # noqa: BLE001  (reported, and raised if configured)
            report_rewrite_error(self, node, exc)
            inferred = None
        for position, output in enumerate(node.outputs):
            if not isinstance(output.type, TensorType):
                self._record(output, None)
                continue
            lengths = [None] * output.ndim if inferred is None else inferred[position]
            self._record(output, tuple(lengths))

    def _record(self, variable: Variable, lengths: Sequence[Any] | None) -> None:
        """Cache ``variable``'s lengths, each checked (static lengths win; an entry that is not
        an integer scalar, or that would compute more than shape arithmetic, falls back to
        ``Shape_i`` of ``variable``), with the roots they read."""
        if lengths is None:
            self._shapes[variable] = None
            return
        settled = []
        roots: set[Variable] = set()
        for axis, entry in enumerate(lengths):
            static = variable.type.shape[axis]
            length = length_constant(static) if static is not None else _as_length(entry)
            read = None if length is None else self._reads(length)
            if read is None:
                length = self._static_or_read(variable, axis)
                read = self._reads(length) or frozenset()
            settled.append(length)
            roots |= read
        self._shapes[variable] = tuple(settled)
        if roots:
            self._roots[variable] = frozenset(roots)
            for root in roots:
                self._dependents.setdefault(root, set()).add(variable)

    def _reads(self, length: Variable) -> frozenset[Variable] | None:
        """The graph variables ``length`` reads, or None when it computes more than shape
        arithmetic. Lengths seen before (those of input shapes) give their recorded roots, so
        the walk covers only the nodes that ``infer_shape`` just built."""
        if isinstance(length, Constant):
            return frozenset()
        known = self._length_roots.get(length)
        if known is not None:
            return known
        in_graph = self.fgraph.variables if self.fgraph is not None else set()
        roots: set[Variable] = set()
        seen: set[Variable] = set()
        stack = [length]
        while stack:
            current = stack.pop()
            if current in seen or isinstance(current, Constant):
                continue
            seen.add(current)
            if current in self._length_roots:
                roots.update(self._length_roots[current])
            elif current in in_graph or current.owner is None:
                roots.add(current)
            elif _is_shape_arithmetic(current.owner):
                stack.extend(current.owner.inputs)
            else:
                return None
        found = self._length_roots[length] = frozenset(roots)
        return found


def _is_shape_like(variable: Variable) -> bool:
    """A scalar, or an integer vector: what shape arithmetic computes on."""
    kind = variable.type
    return isinstance(kind, TensorType) and (
        kind.ndim == 0 or (kind.ndim == 1 and kind.dtype in INT_DTYPES)
    )


def _is_shape_arithmetic(node: Apply) -> bool:
    """Reading an array's shape, or computing on scalars and shape vectors: cheap, unlike an
    ``infer_shape`` that recomputes its op (whose value we do not want to compute twice)."""
    return isinstance(node.op, (Shape, Shape_i)) or all(
        _is_shape_like(v) for v in (*node.inputs, *node.outputs)
    )


def _as_length(entry: Any) -> Variable | None:
    """An ``infer_shape`` entry as a 0-d int64 tensor, or None if it cannot be one."""
    if entry is None or isinstance(entry, bool):
        return None
    if isinstance(entry, (int, np.integer)):
        return length_constant(int(entry))
    try:
        variable = as_tensor_variable(entry)
    except (TypeError, ValueError):
        return None
    if variable.ndim != 0 or variable.dtype not in INT_DTYPES or variable.dtype == "uint64":
        return None
    return cast(variable, "int64")


def shape_feature(fgraph: FunctionGraph) -> ShapeFeature:
    """The graph's ``ShapeFeature``, attached now if it has none.

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> fg = FunctionGraph([x], [T.exp(x)[1:]], clone=False)
    >>> shape_feature(fg) is shape_feature(fg) is fg.shape_feature
    True
    """
    feature = getattr(fgraph, "shape_feature", None)
    if feature is None or feature.fgraph is not fgraph:  # none yet, or a copied graph's
        feature = ShapeFeature()
        fgraph.attach_feature(feature)
    return feature


# ---- rewrites ---------------------------------------------------------------------------------
@node_rewriter([Shape])
def local_shape_to_shape_i(fgraph, node):
    """``Shape(x)`` → ``MakeVector`` of ``x``'s inferred lengths, or a constant when all are
    known; left alone when the other lengths would all be read from ``x`` itself."""
    (x,) = node.inputs
    lengths = shape_feature(fgraph).shape_of(x)
    values = [known_length(n) for n in lengths]
    if None not in values:
        return [constant(np.asarray(values, dtype="int64").reshape(len(values)))]
    if all(
        v is not None or is_shape_i_of(n, x, a) for a, (n, v) in enumerate(zip(lengths, values))
    ):
        return None
    return [MakeVector("int64")(*lengths)]


@node_rewriter([Shape_i])
def local_track_shape_i(fgraph, node):
    """``Shape_i(i)(x)`` → the inferred length of axis ``i``, which does not read ``x``."""
    (x,) = node.inputs
    length = shape_feature(fgraph).length(x, node.op.i)
    if length is node.outputs[0] or is_shape_i_of(length, x, node.op.i):
        return None
    return [length]


@node_rewriter([Subtensor])
def local_subtensor_make_vector(fgraph, node):
    """``MakeVector(a, b, c)[1]`` → ``b``; a constant slice gives a shorter ``MakeVector``."""
    vector = node.inputs[0]
    if vector.owner is None or not isinstance(vector.owner.op, MakeVector):
        return None
    if len(node.op.idx_list) != 1:
        return None
    bounds = [known_length(v) for v in node.inputs[1:]]
    if None in bounds:
        return None
    (index,) = fill_entries(node.op.idx_list, iter(bounds))
    entries = vector.owner.inputs
    dtype = vector.owner.op.dtype
    if isinstance(index, slice):
        return [MakeVector(dtype)(*entries[index])]
    if not -len(entries) <= index < len(entries):
        return None  # out of range: leave the error to run time
    return [cast(entries[index], dtype)]


canonicalize.register("local_shape_to_shape_i", local_shape_to_shape_i, "fast_run", "shape")
canonicalize.register("local_track_shape_i", local_track_shape_i, "fast_run", "shape")
canonicalize.register(
    "local_subtensor_make_vector", local_subtensor_make_vector, "fast_run", "shape"
)

__all__ = [
    "ShapeFeature",
    "is_shape_i_of",
    "known_length",
    "length_constant",
    "lengths_equal",
    "shape_feature",
]
