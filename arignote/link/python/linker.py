"""The reference backend: run each node's NumPy ``perform`` in topological order.

It is the semantics every other backend is tested against, so it stays
simple: one storage cell per variable, nodes run in order, and an
intermediate value is dropped as soon as its last reader has run, so peak
memory follows liveness rather than graph size.

Given an observer (``arignote.link.observer``), the program calls
``observer.before``/``after`` around each node with the node's actual values;
without one it runs the plain loop, which carries no trace of the hook.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import FunctionGraph
from arignote.link.errors import annotate_node_error
from arignote.link.observer import NodeObserver
from arignote.tensor.type import TensorType


class PythonLinker:
    """Lowers a FunctionGraph to a Python callable over NumPy values."""

    name = "py"

    def make_program(
        self, fgraph: FunctionGraph, observer: NodeObserver | None = None
    ) -> Callable[[Sequence[Any]], list[Any]]:
        """A function from input values (in ``fgraph.inputs`` order) to output values."""
        order = fgraph.toposort()
        inputs = list(fgraph.inputs)
        outputs = list(fgraph.outputs)
        constants = {v: v.data for node in order for v in node.inputs if isinstance(v, Constant)}
        constants.update({o: o.data for o in outputs if isinstance(o, Constant)})
        frees = _release_schedule(order, set(inputs) | set(outputs) | set(constants))
        steps = list(zip(order, frees))

        def program(input_values: Sequence[Any]) -> list[Any]:
            storage: dict[Variable, Any] = dict(constants)
            storage.update(zip(inputs, input_values))
            for node, releasable in steps:
                cells = [[None] for _ in node.outputs]
                arguments = [storage[v] for v in node.inputs]
                try:
                    node.op.perform(node, arguments, cells)
                except Exception as exc:
                    annotate_node_error(exc, node, arguments, fgraph)
                    raise
                for variable, cell in zip(node.outputs, cells):
                    if cell[0] is None and isinstance(variable.type, TensorType):
                        raise _missing_output_error(node, variable, arguments)
                    storage[variable] = cell[0]
                for variable in releasable:
                    del storage[variable]
            return [storage[o] for o in outputs]

        def observed_program(input_values: Sequence[Any]) -> list[Any]:
            storage: dict[Variable, Any] = dict(constants)
            storage.update(zip(inputs, input_values))
            for position, (node, releasable) in enumerate(steps):
                arguments = [storage[v] for v in node.inputs]
                observer.before(position, node, arguments)
                _run_node(node, arguments, storage, fgraph)
                observer.after(position, node, arguments, [storage[v] for v in node.outputs])
                for variable in releasable:
                    del storage[variable]
            return [storage[o] for o in outputs]

        return program if observer is None else observed_program


def _run_node(
    node: Apply, arguments: list[Any], storage: dict[Variable, Any], fgraph: FunctionGraph
) -> None:
    """Run ``node``'s perform on ``arguments``; store its outputs in ``storage``.

    The observed program's step; the plain one inlines the same lines (no call per node).
    """
    cells = [[None] for _ in node.outputs]
    try:
        node.op.perform(node, arguments, cells)
    except Exception as exc:
        annotate_node_error(exc, node, arguments, fgraph)
        raise
    for variable, cell in zip(node.outputs, cells):
        if cell[0] is None and isinstance(variable.type, TensorType):
            raise _missing_output_error(node, variable, arguments)
        storage[variable] = cell[0]


def _missing_output_error(node: Apply, variable: Variable, arguments: list[Any]) -> Exception:
    error = RuntimeError(
        f"{node.op}.perform did not store output {variable.index} ({variable}); perform must "
        "set output_storage[i][0] for every output"
    )
    annotate_node_error(error, node, arguments)
    return error


def _release_schedule(order: list[Apply], keep: set[Variable]) -> list[list[Variable]]:
    """For each node, the values no later node reads (so they can be freed after it)."""
    last_reader: dict[Variable, int] = {}
    for position, node in enumerate(order):
        for variable in node.inputs:
            last_reader[variable] = position
        for variable in node.outputs:
            last_reader.setdefault(variable, position)
    schedule: list[list[Variable]] = [[] for _ in order]
    for variable, position in last_reader.items():
        if variable not in keep and variable.owner is not None:
            schedule[position].append(variable)
    return schedule
