"""``Elemwise`` (a scalar op over whole arrays) and ``DimShuffle``.

Broadcasting follows Theano: inputs of fewer dimensions are padded on the
left with broadcastable dimensions, and a dimension broadcasts only when
its type says so (static length 1). A run-time length of 1 in a dimension
the type did not declare broadcastable is an error that says how to declare
it, never a silent broadcast.

The gradient of an ``Elemwise`` is the scalar op's gradient graph, rebuilt
over tensors, then summed over the dimensions the input was broadcast along
(and spread over the input's shape when it does not depend on it). Where a
complex value is involved, only scalar ops marked ``complex_gradient`` give
one (others answer ``grad_not_implemented``), and a real input keeps the real
part of its complex gradient. A scalar op's ``grad_undefined`` or
``grad_not_implemented`` passes through unchanged, still naming that op.

``perform`` gives IEEE results (``1/0 = inf``, ``0/0 = nan``) without
NumPy's floating-point warnings, as a compiled loop does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.gradient import NullType, grad_not_implemented
from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.op import Op
from arignote.graph.traversal import io_toposort
from arignote.scalar.basic import COMPLEX_DTYPES, ScalarOp, ScalarType
from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.type import TensorType

_HOW_TO_BROADCAST = (
    "only dimensions declared broadcastable (static length 1) broadcast; declare it with "
    "T.row/T.col, T.tensor(..., shape=(1, None)), broadcastable=... , "
    "T.addbroadcast(x, axis) or T.specify_shape"
)


def broadcast_static_shape(
    shapes: Sequence[Sequence[int | None]], context: str
) -> tuple[int | None, ...]:
    """The static output shape of inputs broadcast together (all of the same ndim)."""
    result: list[int | None] = []
    for axis, lengths in enumerate(zip(*shapes)):
        known = {s for s in lengths if s is not None and s != 1}
        if len(known) > 1:
            raise ValueError(
                f"{context}: static shapes {[tuple(s) for s in shapes]} cannot be broadcast "
                f"together (axis {axis} has lengths {sorted(known)})"
            )
        if known:
            result.append(known.pop())
        elif all(s == 1 for s in lengths):
            result.append(1)
        else:
            result.append(None)
    return tuple(result)


def pad_left(variable: Variable, ndim: int) -> Variable:
    """``variable`` with broadcastable dimensions added in front up to ``ndim``."""
    missing = ndim - variable.ndim
    if missing <= 0:
        return variable
    return DimShuffle(variable.ndim, ("x",) * missing + tuple(range(variable.ndim)))(variable)


class Elemwise(Op):
    """Apply a scalar op elementwise over broadcast inputs.

    >>> import arignote.tensor as T
    >>> x = T.matrix("x"); v = T.vector("v")
    >>> (x + v).type   # the vector is padded to a row
    TensorType(float64, matrix)
    """

    __props__ = ("scalar_op",)

    def __init__(self, scalar_op: ScalarOp, name: str | None = None):
        self.scalar_op = scalar_op
        self.name = name

    def __str__(self) -> str:
        return self.name or str(self.scalar_op)

    def make_node(self, *inputs: Any) -> Apply:
        inputs = [as_tensor_variable(i) for i in inputs]
        if self.scalar_op.nin >= 0 and len(inputs) != self.scalar_op.nin:
            raise TypeError(f"{self} takes {self.scalar_op.nin} inputs, got {len(inputs)}")
        if not inputs:
            raise TypeError(f"{self} needs at least one input")
        ndim = max((i.ndim for i in inputs), default=0)
        inputs = [pad_left(i, ndim) for i in inputs]
        shape = broadcast_static_shape([i.type.shape for i in inputs], f"{self}")
        try:
            dtypes = self.scalar_op.output_dtypes(*(i.dtype for i in inputs))
        except TypeError as error:
            described = ", ".join(repr(i) for i in inputs)
            raise TypeError(f"{error}; the inputs were {described}") from None
        outputs = [TensorType(dtype, shape=shape).make_variable() for dtype in dtypes]
        return Apply(self, inputs, outputs)

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]) -> None:
        check_runtime_broadcast(node, inputs)
        # IEEE results (inf, nan; 0 for an integer x // 0) without NumPy's warnings, as a
        # compiled loop gives them.
        with np.errstate(all="ignore"):
            results = self.scalar_op.compute(*inputs)
            if len(node.outputs) == 1:
                results = (results,)
            for cell, result, output in zip(output_storage, results, node.outputs):
                cell[0] = np.asarray(result, dtype=output.type.dtype)

    def infer_shape(self, node: Apply, input_shapes):
        out_shape = []
        for axis in range(node.outputs[0].ndim):
            lengths = [
                shape[axis]
                for shape, variable in zip(input_shapes, node.inputs)
                if not variable.broadcastable[axis]
            ]
            out_shape.append(lengths[0] if lengths else 1)
        return [tuple(out_shape)] * len(node.outputs)

    def L_op(self, inputs, outputs, output_grads):
        involved = [v.dtype for v in (*inputs, *outputs, *output_grads)]
        if not self.scalar_op.complex_gradient and any(d in COMPLEX_DTYPES for d in involved):
            why = (
                "gradients through complex values exist only for add, sub, neg, mul, "
                "true_div, exp, log, sqr, sqrt, reciprocal, abs, real, imag, conj, angle, "
                "complex, cast, switch and fill"
            )
            return [grad_not_implemented(self, i, x, why) for i, x in enumerate(inputs)]
        scalar_inputs = [ScalarType(i.dtype).make_variable() for i in inputs]
        scalar_node = self.scalar_op.make_node(*scalar_inputs)
        scalar_grads_in = [ScalarType(g.dtype).make_variable() for g in output_grads]
        scalar_result = self.scalar_op.L_op(scalar_inputs, scalar_node.outputs, scalar_grads_in)
        known = dict(zip(scalar_inputs, inputs))
        known.update(zip(scalar_node.outputs, outputs))
        known.update(zip(scalar_grads_in, output_grads))
        tensor_grads = scalar_graph_to_tensor(scalar_result, known)
        return [_shaped_gradient(g, x) for g, x in zip(tensor_grads, inputs)]


def _shaped_gradient(gradient: Variable | None, like: Variable) -> Variable | None:
    """A tensor gradient made to fit ``like``: its real part for a real ``like``, summed and
    spread to ``like``'s broadcast pattern. ``None`` and null gradients pass through."""
    if gradient is None or isinstance(gradient.type, NullType):
        return gradient
    if gradient.dtype in COMPLEX_DTYPES and like.dtype not in COMPLEX_DTYPES:
        from arignote.scalar.math import real

        gradient = Elemwise(real)(gradient)
    return sum_to_broadcastable(gradient, like)


def check_runtime_broadcast(node: Apply, values: Sequence[Any]) -> None:
    """Reject an undeclared length-1 dimension meeting a longer one."""
    if len(values) < 2:
        return
    shapes = [np.shape(v) for v in values]
    for axis in range(len(shapes[0])):
        lengths = {
            shape[axis]
            for shape, variable in zip(shapes, node.inputs)
            if not variable.broadcastable[axis]
        }
        if len(lengths) > 1:
            offenders = [
                f"input {position} ({variable}) has shape {shape}"
                for position, (shape, variable) in enumerate(zip(shapes, node.inputs))
                if not variable.broadcastable[axis]
            ]
            undeclared = [
                (position, variable)
                for position, (shape, variable) in enumerate(zip(shapes, node.inputs))
                if not variable.broadcastable[axis] and shape[axis] == 1
            ]
            hint = _how_to_broadcast(undeclared, axis) if 1 in lengths else ""
            raise ValueError(
                f"{node.op}: input shapes do not match along axis {axis}: "
                f"{'; '.join(offenders)}{hint}"
            )


def _how_to_broadcast(undeclared: list[tuple[int, Variable]], axis: int) -> str:
    """Why a run-time length 1 did not broadcast, and how to declare it for the first input."""
    position, variable = undeclared[0]
    declared, declared_axis = _declared_at(variable, axis)
    name = declared.name or "x"
    shape = ", ".join("1" if a == declared_axis else "None" for a in range(declared.ndim))
    constructor = f"T.tensor({declared.dtype!r}, shape=({shape}{',' * (declared.ndim == 1)}))"
    if declared.ndim == 2:
        constructor = f"{'T.row' if declared_axis == 0 else 'T.col'}(...) (or {constructor}"
    else:
        constructor += " (or T.row/T.col for a matrix"
    return (
        f"; input {position} ({variable}) has length 1 along axis {axis} at run time, but its "
        f"type {variable.type} does not declare that axis broadcastable, and only declared "
        f"axes (static length 1) broadcast. To broadcast it, declare it with {constructor}, or "
        f"broadcastable=...) where {name} is created, or with "
        f"T.addbroadcast({name}, {declared_axis}) (or T.specify_shape) where it is used"
    )


def _declared_at(variable: Variable, axis: int) -> tuple[Variable, int]:
    """The variable and axis a user declared, seen through the DimShuffles that Elemwise adds
    to pad an input's dimensions on the left."""
    while variable.owner is not None and isinstance(variable.owner.op, DimShuffle):
        source = variable.owner.op.new_order[axis]
        if source == "x":
            break
        variable, axis = variable.owner.inputs[0], source
    return variable, axis


def scalar_graph_to_tensor(outputs: Sequence[Any], known: dict[Variable, Variable]) -> list:
    """Rebuild a scalar graph over tensors: each scalar Apply becomes an ``Elemwise``."""
    equiv = dict(known)
    roots = [o for o in outputs if isinstance(o, Variable)]
    for node in io_toposort(list(known), roots):
        args = []
        for variable in node.inputs:
            if variable not in equiv:
                if not isinstance(variable, Constant):
                    raise ValueError(f"scalar gradient graph reads an unknown input {variable}")
                equiv[variable] = as_tensor_variable(np.asarray(variable.data))
            args.append(equiv[variable])
        results = Elemwise(node.op)(*args)
        results = results if isinstance(results, list) else [results]
        equiv.update(zip(node.outputs, results))
    converted = []
    for output in outputs:
        if output is None or isinstance(output.type, NullType):
            converted.append(output)
        elif output in equiv:
            converted.append(equiv[output])
        else:
            converted.append(as_tensor_variable(np.asarray(output.data)))
    return converted


def sum_to_broadcastable(gradient: Variable, like: Variable) -> Variable:
    """``gradient`` reshaped to ``like``'s type: summed where ``like`` was broadcast,
    spread (``fill``) where the gradient is broadcastable and ``like`` is not.

    The second case is a gradient that does not depend on the output's shape,
    such as the constant 0 of ``floor``: it must still have ``like``'s shape.
    """
    from arignote.scalar.math import second
    from arignote.tensor.reduction import sum as tensor_sum

    if gradient.ndim < like.ndim:
        gradient = pad_left(gradient, like.ndim)
    axes = [
        axis
        for axis in range(like.ndim)
        if like.broadcastable[axis] and not gradient.broadcastable[axis]
    ]
    if axes:
        gradient = tensor_sum(gradient, axis=axes, keepdims=True)
    if any(g and not b for g, b in zip(gradient.broadcastable, like.broadcastable)):
        gradient = Elemwise(second)(like, gradient)
    return gradient


class DimShuffle(Op):
    """Reorder, drop (broadcastable) and insert (``'x'``) dimensions; a view.

    ``new_order`` lists input axes in their new position, with ``'x'`` for a
    new broadcastable axis; input axes left out must be broadcastable.
    """

    __props__ = ("input_ndim", "new_order")

    def __init__(self, input_ndim: int, new_order: Sequence[int | str]):
        self.input_ndim = int(input_ndim)
        self.new_order = tuple(o if o == "x" else int(o) for o in new_order)
        kept = [o for o in self.new_order if o != "x"]
        if len(set(kept)) != len(kept):
            raise ValueError(f"dimshuffle pattern {self.new_order} repeats an axis")
        for axis in kept:
            if not 0 <= axis < self.input_ndim:
                raise ValueError(
                    f"dimshuffle pattern {self.new_order} names axis {axis} of a "
                    f"{self.input_ndim}-dimensional input"
                )
        self.dropped = tuple(a for a in range(self.input_ndim) if a not in kept)
        self.transposition = tuple(self.dropped) + tuple(kept)

    def __str__(self) -> str:
        return f"DimShuffle{{{','.join(str(o) for o in self.new_order)}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != self.input_ndim:
            raise TypeError(f"{self} expects a {self.input_ndim}-d input, got {x.ndim}-d {x!r}")
        for axis in self.dropped:
            if x.type.shape[axis] != 1:
                raise ValueError(
                    f"{self} drops axis {axis} of {x!r}, which is not broadcastable "
                    f"(static shape {x.type.shape})"
                )
        shape = tuple(1 if o == "x" else x.type.shape[o] for o in self.new_order)
        return Apply(self, [x], [TensorType(x.dtype, shape=shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        kept = [o for o in self.new_order if o != "x"]
        moved = np.transpose(x, self.dropped + tuple(kept)) if x.ndim else x
        new_shape = [1 if o == "x" else x.shape[o] for o in self.new_order]
        output_storage[0][0] = np.reshape(moved, new_shape)

    def infer_shape(self, node, input_shapes):
        (shape,) = input_shapes
        return [tuple(1 if o == "x" else shape[o] for o in self.new_order)]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        (gz,) = output_grads
        kept_positions = {o: position for position, o in enumerate(self.new_order) if o != "x"}
        back = [("x" if axis in self.dropped else kept_positions[axis]) for axis in range(x.ndim)]
        # Axes inserted as 'x' are summed away (they have length 1, so this is a reshape).
        inserted = [p for p, o in enumerate(self.new_order) if o == "x"]
        if inserted and not all(gz.broadcastable[p] for p in inserted):
            from arignote.tensor.reduction import sum as tensor_sum

            gz = tensor_sum(gz, axis=inserted, keepdims=True)
        return [DimShuffle(gz.ndim, back)(gz)]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0])]
