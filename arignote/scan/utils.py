"""Helpers shared by the loop and conditional ops: ``until``, loop-invariant splitting,
structural signatures of inner graphs, inner shape inference, zero-cotangent detection.

``split_loop_invariant`` is the one place that decides what runs inside a loop: a
variable is *variant* when it depends on a per-step input (a sequence row, a
recurrent tap, a state); *constant* when it is computed from constants only (it
stays inside, where the inner rewrites fold it); and *invariant* otherwise. Every
invariant variable that a variant node reads (or that is an output) is cut off:
it becomes a non-sequence input whose outer value is the same expression built on
the outer values. The builder calls it on the step function's graph, and the
push-out rewrite on an existing loop, so a loop never recomputes what does not
change from step to step.

Walks stop at variables created before the first per-step input: a variable can
only depend on a placeholder made before it (``Variable.auto_id`` increases), so
the user's outer graph is never walked past what the step function built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import FunctionGraph
from arignote.graph.replace import replace_and_rebuild
from arignote.graph.traversal import graph_inputs, io_toposort
from arignote.tensor.type import TensorType


class until:
    """Returned by a scan step beside its outputs: stop after the step where ``condition`` holds.

    The outputs of that last step are kept, so ``n_steps`` becomes a maximum.

    >>> import arignote.tensor as T
    >>> until(T.scalar("x") > 3).condition.dtype
    'bool'
    """

    def __init__(self, condition: Any):
        from arignote.tensor.basic import as_tensor_variable
        from arignote.tensor.math import neq

        condition = as_tensor_variable(condition)
        if condition.ndim != 0:
            raise TypeError(
                f"until: the condition must be a scalar (0-d), but {condition} has "
                f"{condition.ndim} dimensions; reduce it, e.g. with .any() or .all()"
            )
        self.condition = condition if condition.dtype == "bool" else neq(condition, 0)


def row_type(variable: Variable) -> TensorType:
    """The type of one entry along the leading axis of the tensor ``variable``."""
    return TensorType(variable.type.dtype, shape=variable.type.shape[1:])


def _walk_nodes(outputs: Sequence[Variable], threshold: int) -> list[Apply]:
    """Nodes between ``outputs`` and variables older than ``threshold`` (or ownerless)."""
    old = [v for v in _frontier_candidates(outputs, threshold)]
    return io_toposort(old, list(outputs))


def _frontier_candidates(outputs: Sequence[Variable], threshold: int) -> set[Variable]:
    """Variables created before ``threshold`` that the walk from ``outputs`` reaches."""
    found: set[Variable] = set()
    seen: set[Variable] = set()
    stack = list(outputs)
    while stack:
        variable = stack.pop()
        if variable in seen:
            continue
        seen.add(variable)
        if variable.owner is None or variable.auto_id < threshold:
            found.add(variable)
            continue
        stack.extend(variable.owner.inputs)
    return found


VARIANT, CONSTANT, INVARIANT = "variant", "constant", "invariant"


def classify(
    outputs: Sequence[Variable], variant: Sequence[Variable]
) -> tuple[dict[Variable, str], list[Apply]]:
    """Each variable's class (variant, constant or invariant) and the nodes walked, in order."""
    variant_set = set(variant)
    threshold = min((v.auto_id for v in variant_set), default=-1)
    if threshold < 0:
        threshold = max((v.auto_id for v in outputs), default=0) + 1
    kinds: dict[Variable, str] = {}

    def kind_of(variable: Variable) -> str:
        found = kinds.get(variable)
        if found is None:
            if variable in variant_set:
                found = VARIANT
            elif isinstance(variable, Constant):
                found = CONSTANT
            else:
                found = INVARIANT
            kinds[variable] = found
        return found

    nodes = _walk_nodes(outputs, threshold)
    for node in nodes:
        input_kinds = {kind_of(v) for v in node.inputs}
        if VARIANT in input_kinds:
            kind = VARIANT
        elif input_kinds <= {CONSTANT}:
            kind = CONSTANT
        else:
            kind = INVARIANT
        for output in node.outputs:
            kinds[output] = kind
    for output in outputs:
        kind_of(output)
    return kinds, nodes


def split_loop_invariant(
    outputs: Sequence[Variable],
    variant: Sequence[Variable],
    outer_of: Mapping[Variable, Variable],
) -> tuple[list[Variable], list[tuple[Variable, Variable]]]:
    """Cut ``outputs`` where loop-invariant values enter the per-step computation.

    ``variant``: the per-step inputs. ``outer_of``: the outer value of each
    invariant placeholder (a non-sequence). Returns the new outputs and the
    non-sequences as ``(outer value, inner placeholder)`` pairs, in the order
    they are first read; equal outer values share one placeholder.
    """
    kinds, nodes = classify(outputs, variant)
    frontier: dict[Variable, None] = {}
    for node in nodes:
        if kinds[node.outputs[0]] != VARIANT:
            continue
        for variable in node.inputs:
            if kinds.get(variable) == INVARIANT:
                frontier.setdefault(variable)
    for output in outputs:
        if kinds.get(output) == INVARIANT:
            frontier.setdefault(output)
    frontier_list = list(frontier)
    outer_values = replace_and_rebuild(frontier_list, dict(outer_of)) if frontier_list else []
    placeholders: dict[Variable, Variable] = {}
    non_seqs: list[tuple[Variable, Variable]] = []
    cut: dict[Variable, Variable] = {}
    for inner, outer in zip(frontier_list, outer_values):
        placeholder = placeholders.get(outer)
        if placeholder is None:
            if inner.owner is None and inner in outer_of:
                placeholder = inner
            else:
                placeholder = inner.type.make_variable(inner.name)
            placeholders[outer] = placeholder
            non_seqs.append((outer, placeholder))
        if placeholder is not inner:
            cut[inner] = placeholder
    new_outputs = replace_and_rebuild(list(outputs), cut) if cut else list(outputs)
    return new_outputs, non_seqs


def used_inputs(outputs: Sequence[Variable], candidates: Sequence[Variable]) -> set[Variable]:
    """Which of ``candidates`` (ownerless inner inputs) ``outputs`` read."""
    wanted = set(candidates)
    return {v for v in graph_inputs(list(outputs), blockers=wanted) if v in wanted}


def graph_signature(fgraph: FunctionGraph) -> Any:
    """A hashable description of ``fgraph``'s structure: equal for graphs computing the same.

    Inputs are named by position, nodes by their op and where their inputs
    come from, constants by value. Returns ``None`` when some op or constant
    is unhashable (the graph is then only equal to itself).
    """
    names: dict[Variable, tuple] = {v: ("input", k) for k, v in enumerate(fgraph.inputs)}

    def name_of(variable: Variable) -> tuple:
        found = names.get(variable)
        if found is not None:
            return found
        if isinstance(variable, Constant):
            return ("constant", variable.signature())
        raise KeyError(variable)

    entries = []
    try:
        for position, node in enumerate(fgraph.toposort()):
            entries.append((node.op, tuple(name_of(v) for v in node.inputs)))
            for index, output in enumerate(node.outputs):
                names[output] = ("node", position, index)
        signature = (
            tuple(v.type for v in fgraph.inputs),
            tuple(entries),
            tuple(name_of(v) for v in fgraph.outputs),
        )
        hash(signature)
    except (TypeError, KeyError):
        return None
    return signature


def infer_inner_shapes(
    inner_inputs: Sequence[Variable],
    inner_outputs: Sequence[Variable],
    input_shapes: Sequence[Any],
    inner_variables: set[Variable],
) -> list[tuple | None]:
    """Shapes of ``inner_outputs`` from the (outer) shapes of ``inner_inputs``.

    Each inner op's ``infer_shape`` is chained, starting from ``input_shapes``.
    A shape that still reads an inner variable (a length computed inside the
    loop) cannot be expressed outside: its entry is ``None``.
    """
    from arignote.graph.op import Op

    shapes: dict[Variable, tuple | None] = {
        v: (tuple(s) if s is not None else None) for v, s in zip(inner_inputs, input_shapes)
    }

    def shape_of(variable: Variable) -> tuple | None:
        if variable in shapes:
            return shapes[variable]
        if not isinstance(variable.type, TensorType):
            return None
        if isinstance(variable, Constant):
            return tuple(getattr(variable.data, "shape", ()))
        return tuple(_length_of(variable, axis) for axis in range(variable.ndim))

    for node in io_toposort(list(inner_inputs), list(inner_outputs)):
        inferred = None
        argument_shapes = [shape_of(v) for v in node.inputs]
        if type(node.op).infer_shape is not Op.infer_shape and all(
            s is not None or not isinstance(v.type, TensorType)
            for s, v in zip(argument_shapes, node.inputs)
        ):
            try:
                inferred = node.op.infer_shape(node, argument_shapes)
            except NotImplementedError:
                inferred = None
        for position, output in enumerate(node.outputs):
            if not isinstance(output.type, TensorType):
                shapes[output] = None
            elif inferred is None:
                shapes[output] = tuple(_length_of(output, axis) for axis in range(output.ndim))
            else:
                shapes[output] = tuple(inferred[position])
    results = []
    for output in inner_outputs:
        shape = shape_of(output)
        if shape is None:
            results.append(None)
            continue
        lengths = []
        for axis, length in enumerate(shape):
            if isinstance(length, Variable) and _reads_inner(length, inner_variables):
                static = output.type.shape[axis]
                lengths.append(static)
            else:
                lengths.append(length)
        results.append(tuple(lengths))
    return results


def _length_of(variable: Variable, axis: int) -> Any:
    from arignote.tensor.shape import shape_i

    static = variable.type.shape[axis]
    return static if static is not None else shape_i(variable, axis)


def _reads_inner(length: Variable, inner_variables: set[Variable]) -> bool:
    return any(v in inner_variables for v in graph_inputs([length]) if not isinstance(v, Constant))


def is_zero_cotangent(gradient: Any) -> bool:
    """Whether an output gradient is known to be zero (disconnected, or ``grad``'s zero fill)."""
    import numpy as np

    from arignote.gradient import DisconnectedType
    from arignote.scalar.math import Cast, Identity, Second
    from arignote.tensor.elemwise import DimShuffle, Elemwise

    if gradient is None or isinstance(gradient.type, DisconnectedType):
        return True
    node = gradient.owner
    if (
        node is None
        or not isinstance(node.op, Elemwise)
        or not isinstance(node.op.scalar_op, Second)
    ):
        return False
    value = node.inputs[1]
    while value.owner is not None and (
        isinstance(value.owner.op, DimShuffle)
        or (
            isinstance(value.owner.op, Elemwise)
            and isinstance(value.owner.op.scalar_op, (Cast, Identity))
        )
    ):
        value = value.owner.inputs[0]
    return isinstance(value, Constant) and not np.any(value.data)
