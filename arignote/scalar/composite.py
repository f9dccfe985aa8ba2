"""``Composite``: a graph of scalar ops used as one scalar op.

Elementwise fusion turns a connected region of elementwise nodes into one
``Elemwise(Composite(...))``: one loop over the data, no temporaries. The
reference ``compute`` runs the inner ops one after the other on whole
arrays (so its results equal the unfused graph's, bit for bit); compiled
backends emit the inner graph as one loop body.

Two composites are equal when their inner graphs have the same structure
(ops, wiring, constants and input dtypes), so fused regions merge and a
compiled kernel cache can key on the structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Constant, Variable
from arignote.graph.replace import clone_get_equiv
from arignote.graph.traversal import io_toposort
from arignote.scalar.basic import ScalarOp, ScalarType, as_scalar


class Composite(ScalarOp):
    """The scalar graph from ``inputs`` to ``outputs``, as one op of ``len(inputs)`` inputs.

    >>> from arignote.scalar import math as sm
    >>> x, y = ScalarType("float64").make_variable(), ScalarType("float64").make_variable()
    >>> c = Composite([x, y], [sm.exp(x) * y + 1])
    >>> float(c.compute(np.float64(0.0), np.float64(2.0)))
    3.0
    """

    __props__ = ("structure",)

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable]):
        equiv = clone_get_equiv(list(inputs), list(outputs), copy_inputs=True)
        self.inputs = [equiv[i] for i in inputs]
        self.outputs = [equiv[o] for o in outputs]
        self.nodes = io_toposort(self.inputs, self.outputs)
        self.nin = len(self.inputs)
        self.nout = len(self.outputs)
        self.structure = self._structure()
        self.name = "composite{" + ", ".join(_expression(o, self.inputs) for o in self.outputs) + "}"

    def _structure(self) -> tuple:
        """A hashable description of the inner graph: equal graphs, equal structures."""
        reference: dict[Variable, tuple] = {v: ("in", i) for i, v in enumerate(self.inputs)}
        steps = []
        for position, node in enumerate(self.nodes):
            args = []
            for variable in node.inputs:
                if isinstance(variable, Constant):
                    args.append(("const", variable.type.dtype, np.asarray(variable.data).tobytes()))
                else:
                    args.append(reference[variable])
            steps.append((node.op, tuple(args)))
            for index, output in enumerate(node.outputs):
                reference[output] = ("node", position, index)
        dtypes = tuple(v.type.dtype for v in self.inputs)
        return dtypes, tuple(steps), tuple(reference[o] for o in self.outputs)

    def output_dtypes(self, *input_dtypes: str) -> tuple[str, ...]:
        expected = tuple(v.type.dtype for v in self.inputs)
        if tuple(input_dtypes) != expected:
            raise TypeError(f"{self} was built for input dtypes {expected}, got {input_dtypes}")
        return tuple(o.type.dtype for o in self.outputs)

    def compute(self, *values: Any) -> Any:
        env: dict[Variable, Any] = dict(zip(self.inputs, values))
        for node in self.nodes:
            args = [v.data if isinstance(v, Constant) else env[v] for v in node.inputs]
            results = node.op.compute(*args)
            if len(node.outputs) == 1:
                results = (results,)
            for output, result in zip(node.outputs, results):
                env[output] = np.asarray(result, dtype=output.type.dtype)
        results = tuple(env[o] if not isinstance(o, Constant) else o.data for o in self.outputs)
        return results[0] if self.nout == 1 else results

    def L_op(self, inputs, outputs, output_grads):
        """Reverse mode through the inner graph, rebuilt on the outer scalar inputs."""
        outer: dict[Variable, Variable] = dict(zip(self.inputs, inputs))
        rebuilt = []
        for node in self.nodes:
            args = [v if isinstance(v, Constant) else outer[v] for v in node.inputs]
            new_node = node.op.make_node(*args)
            outer.update(zip(node.outputs, new_node.outputs))
            rebuilt.append(new_node)
        grads: dict[Variable, list[Variable]] = {}
        for output, gz in zip(self.outputs, output_grads):
            if gz is not None:
                grads.setdefault(outer.get(output, output), []).append(gz)
        for node in reversed(rebuilt):
            incoming = [_total(grads.get(o)) for o in node.outputs]
            if all(g is None for g in incoming):
                continue
            incoming = [
                g if g is not None else as_scalar(np.zeros((), dtype=o.type.dtype))
                for g, o in zip(incoming, node.outputs)
            ]
            for variable, term in zip(node.inputs, node.op.L_op(node.inputs, node.outputs, incoming)):
                if term is not None and not isinstance(variable, Constant):
                    grads.setdefault(variable, []).append(term)
        return [
            _total(grads.get(x)) if x in grads else as_scalar(np.zeros((), dtype=_float(x)))
            for x in inputs
        ]


def _total(terms: list[Variable] | None) -> Variable | None:
    if not terms:
        return None
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _float(variable: Variable) -> str:
    dtype = variable.type.dtype
    return dtype if np.dtype(dtype).kind in "fc" else "float64"


def _expression(variable: Variable, inputs: list[Variable]) -> str:
    """The inner graph as text, with inputs named i0, i1, ... (iterative, memoised)."""
    names: dict[Variable, str] = {v: f"i{i}" for i, v in enumerate(inputs)}
    for node in io_toposort(inputs, [variable]):
        args = ", ".join(
            str(np.asarray(v.data)) if isinstance(v, Constant) else names[v] for v in node.inputs
        )
        for index, output in enumerate(node.outputs):
            suffix = f".{index}" if len(node.outputs) > 1 else ""
            text = f"{node.op}({args}){suffix}"
            # Capped, so a deep region's name stays short (its text would grow quadratically).
            names[output] = text if len(text) <= 120 else text[:117] + "..."
    if isinstance(variable, Constant):
        return str(np.asarray(variable.data))
    return names[variable]


__all__ = ["Composite", "ScalarType"]
