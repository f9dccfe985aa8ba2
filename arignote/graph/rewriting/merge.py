"""Merging: equal constants and identical nodes become one (common-subexpression elimination).

One pass in topological order: constants are keyed by their type and
value; a node by its op and the identities of its (already merged) inputs.
A node whose key was seen is replaced by the first one. Linear in the
number of nodes; ``Op.__eq__``/``__hash__`` (from ``__props__``) decide
which ops are the same.
"""

from __future__ import annotations

from arignote.graph.basic import Constant, Variable
from arignote.graph.fg import FunctionGraph
from arignote.graph.rewriting.basic import GraphRewriter, report_rewrite_error


class MergeRewriter(GraphRewriter):
    name = "merge"

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        merged = 0
        constants: dict[tuple, Variable] = {}
        for variable in list(fgraph.variables):
            if isinstance(variable, Constant) and fgraph.clients.get(variable):
                try:
                    key = variable.signature()
                    hash(key)
                except TypeError:
                    continue
                first = constants.setdefault(key, variable)
                if first is not variable:
                    fgraph.replace(variable, first, reason="merge")
                    merged += 1
        seen: dict[tuple, object] = {}
        for node in fgraph.toposort():
            if node not in fgraph.apply_nodes:
                continue
            key = (node.op, tuple(id(i) for i in node.inputs))
            try:
                first = seen.setdefault(key, node)
            except TypeError as exc:  # an op whose props are unhashable
                report_rewrite_error(self, node, exc)
                continue
            if first is node:
                continue
            for old, new in zip(node.outputs, first.outputs):  # type: ignore[attr-defined]
                fgraph.replace(old, new, reason="merge")
            merged += 1
        return {"merge": merged} if merged else {}
