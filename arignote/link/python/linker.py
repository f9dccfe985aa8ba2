"""The reference backend: run each node's NumPy ``perform`` in topological order.

It is the semantics every other backend is tested against, so it stays
simple: one storage cell per variable, nodes run in order, and an
intermediate value is dropped as soon as its last reader has run, so peak
memory follows liveness rather than graph size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import FunctionGraph
from arignote.link.errors import annotate_node_error
from arignote.tensor.type import TensorType


class PythonLinker:
    """Lowers a FunctionGraph to a Python callable over NumPy values."""

    name = "py"

    def make_program(self, fgraph: FunctionGraph) -> Callable[[Sequence[Any]], list[Any]]:
        """A function from input values (in ``fgraph.inputs`` order) to output values."""
        order = fgraph.toposort()
        inputs = list(fgraph.inputs)
        outputs = list(fgraph.outputs)
        constants = {v: v.data for node in order for v in node.inputs if isinstance(v, Constant)}
        constants.update({o: o.data for o in outputs if isinstance(o, Constant)})
        frees = _release_schedule(order, set(inputs) | set(outputs) | set(constants))

        def program(input_values: Sequence[Any]) -> list[Any]:
            storage: dict[Variable, Any] = dict(constants)
            storage.update(zip(inputs, input_values))
            for node, releasable in zip(order, frees):
                cells = [[None] for _ in node.outputs]
                arguments = [storage[v] for v in node.inputs]
                try:
                    node.op.perform(node, arguments, cells)
                except Exception as exc:
                    annotate_node_error(exc, node, arguments)
                    raise
                for variable, cell in zip(node.outputs, cells):
                    if cell[0] is None and isinstance(variable.type, TensorType):
                        raise _missing_output_error(node, variable, arguments)
                    storage[variable] = cell[0]
                for variable in releasable:
                    del storage[variable]
            return [storage[o] for o in outputs]

        return program


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
