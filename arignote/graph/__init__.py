"""The graph IR: variables, apply nodes, ops, types, traversal and FunctionGraph."""

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import FunctionGraph
from arignote.graph.op import Op
from arignote.graph.replace import clone, clone_get_equiv, clone_replace
from arignote.graph.traversal import ancestors, graph_inputs, io_toposort, toposort
from arignote.graph.type import Type

__all__ = [
    "Apply",
    "Constant",
    "FunctionGraph",
    "Op",
    "Type",
    "Variable",
    "ancestors",
    "clone",
    "clone_get_equiv",
    "clone_replace",
    "graph_inputs",
    "io_toposort",
    "toposort",
]
