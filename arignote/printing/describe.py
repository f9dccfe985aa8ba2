"""What every printer needs to know about a graph: what to print, and how to name its parts.

A printer accepts what a user has at hand: a Variable, an Apply node, a
compiled function (it prints the rewritten graph the function runs), a
``FunctionGraph``, or a list of these. ``print_target`` turns each into one
``PrintTarget``.

Ops that hold a graph of their own (``OpFromGraph``, ``Scan``, fused
``Composite`` loops) are recognised by shape, not by class, so an op
written later is printed without this module knowing it: an op with
``fgraphs`` or an ``fgraph`` (``FunctionGraph`` objects), or with
``inner_inputs`` and ``inner_outputs``, or an elementwise op whose scalar
op is a ``Composite``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import FunctionGraph
from arignote.graph.site import CreationSite
from arignote.scalar.composite import Composite


@dataclass(frozen=True)
class PrintTarget:
    """The outputs to print, where the graph is cut, and the order the nodes run in.

    ``inputs`` is empty for a bare expression (it reaches down to ownerless
    variables); ``order`` is a compiled graph's run order, or None.
    """

    outputs: list[Variable]
    inputs: list[Variable]
    order: list[Apply] | None


def print_target(obj: Any) -> PrintTarget:
    """What to print for ``obj``: a Variable, Apply, function, FunctionGraph or a list of them."""
    fgraph = _fgraph_of(obj)
    if fgraph is not None:
        return PrintTarget(list(fgraph.outputs), list(fgraph.inputs), fgraph.toposort())
    if isinstance(obj, Variable):
        return PrintTarget([obj], [], None)
    if isinstance(obj, Apply):
        return PrintTarget(list(obj.outputs), [], None)
    if isinstance(obj, (list, tuple)):
        parts = [print_target(item) for item in obj]
        if len(parts) == 1:
            return parts[0]
        outputs = [v for part in parts for v in part.outputs]
        return PrintTarget(outputs, [v for part in parts for v in part.inputs], None)
    raise TypeError(
        f"cannot print a {type(obj).__name__}: expected a Variable, an Apply node, a compiled "
        "function, a FunctionGraph, or a list of them"
    )


def _fgraph_of(obj: Any) -> FunctionGraph | None:
    if isinstance(obj, FunctionGraph):
        return obj
    # A compiled function (``f.maker.fgraph``, as in Theano), found without importing compile.
    fgraph = getattr(getattr(obj, "maker", None), "fgraph", None)
    return fgraph if isinstance(fgraph, FunctionGraph) else None


@dataclass(frozen=True)
class InnerGraph:
    """One graph an op holds. ``paired``: inner input ``i`` is fed by the node's input ``i``."""

    inputs: list[Variable]
    outputs: list[Variable]
    paired: bool


def inner_graphs(op: Any) -> list[InnerGraph]:
    """The graphs that ``op`` holds (none for a plain op).

    Loops and conditionals hold ``FunctionGraph`` objects (``fgraphs``, or
    one ``fgraph``) whose inputs are laid out their own way (``Scan``: slices
    of sequences, previous states), so they are not paired with the node's
    inputs. ``OpFromGraph`` (``inner_inputs``/``inner_outputs``) and fused
    loops take their inner inputs in the node's order.
    """
    try:
        fgraphs = getattr(op, "fgraphs", None)
    except NotImplementedError:
        fgraphs = None
    if fgraphs is None and isinstance(getattr(op, "fgraph", None), FunctionGraph):
        fgraphs = (op.fgraph,)
    if fgraphs:
        return [InnerGraph(list(g.inputs), list(g.outputs), paired=False) for g in fgraphs]
    inner_inputs = getattr(op, "inner_inputs", None)
    inner_outputs = getattr(op, "inner_outputs", None)
    if inner_inputs is not None and inner_outputs is not None:
        return [InnerGraph(list(inner_inputs), list(inner_outputs), paired=True)]
    composite = composite_of(op)
    if composite is not None:
        return [InnerGraph(list(composite.inputs), list(composite.outputs), paired=True)]
    return []


def composite_of(op: Any) -> Composite | None:
    """The ``Composite`` loop body of a fused op (Elemwise, ElemwiseReduce) or the op itself."""
    for candidate in (
        op,
        getattr(op, "scalar_op", None),
        getattr(getattr(op, "elemwise", None), "scalar_op", None),
    ):
        if isinstance(candidate, Composite):
            return candidate
    return None


def inner_to_outer(node: Apply, graph: InnerGraph) -> dict[Variable, Variable]:
    """Which outer input feeds each inner input, where the graph pairs them one to one."""
    if not graph.paired or len(graph.inputs) != len(node.inputs):
        return {}
    return dict(zip(graph.inputs, node.inputs))


# ---- kinds and colours ----------------------------------------------------------------------
# Apply nodes are coloured by what they do, found from the module that defines the op.
_KIND_OF_MODULE = {
    "elemwise": "elemwise",
    "math": "elemwise",
    "reduction": "reduction",
    "fused": "reduction",
    "products": "product",
    "blas": "product",
    "shape": "shape",
    "rearrange": "shape",
    "alloc": "shape",
    "join": "shape",
    "subtensor": "indexing",
    "advanced_subtensor": "indexing",
    "nlinalg": "linalg",
    "slinalg": "linalg",
    "linalg_common": "linalg",
}
_KIND_OF_CLASS = {"DimShuffle": "shape"}

# Fill colours by kind; variables take their role's colour (Theano's green inputs, blue outputs).
KIND_COLOURS = {
    "elemwise": "#FFAABB",
    "reduction": "#FFD39B",
    "product": "#A9C8F5",
    "shape": "#DDC9A3",
    "indexing": "#F5AAFF",
    "linalg": "#B0E0E6",
    "random": "#C9F2C7",
    "inner": "#FFFF88",
    "other": "#E8E8E8",
    "input": "#7CD67C",
    "shared": "#7FFFD4",
    "constant": "#D3D3D3",
    "output": "#6FA8FF",
}


def op_kind(op: Any) -> str:
    """The colour class of an op: elemwise, reduction, product, shape, indexing, ..., other."""
    if inner_graphs(op) and composite_of(op) is None:
        return "inner"
    cls = type(op)
    if cls.__name__ in _KIND_OF_CLASS:
        return _KIND_OF_CLASS[cls.__name__]
    module = cls.__module__
    if ".random." in module or module.endswith(".random"):
        return "random"
    return _KIND_OF_MODULE.get(module.rsplit(".", 1)[-1], "other")


def variable_role(variable: Variable) -> str:
    """How an ownerless variable enters a graph: constant, shared or input."""
    if isinstance(variable, Constant):
        return "constant"
    # Shared variables by their interface: this package imports nothing from compile.
    if hasattr(variable, "get_value"):
        return "shared"
    return "input"


# ---- words ----------------------------------------------------------------------------------
def type_text(variable: Variable) -> str:
    """A short spelling of a variable's type: ``float64 (?, 100)`` for a tensor."""
    vtype = variable.type
    shape = getattr(vtype, "shape", None)
    dtype = getattr(vtype, "dtype", None)
    if shape is None or dtype is None:
        return str(vtype)
    lengths = ", ".join("?" if n is None else str(n) for n in shape)
    return f"{dtype} ({lengths}{',' if len(shape) == 1 else ''})"


def site_text(site: CreationSite | None) -> str:
    """``file.py:12`` for a creation site, or an empty string."""
    if site is None:
        return ""
    return f"{os.path.basename(site.filename)}:{site.lineno}"


def output_label(node: Apply, variable: Variable) -> str:
    """The op's name, with ``.i`` when the node has several outputs."""
    suffix = f".{variable.index}" if len(node.outputs) > 1 else ""
    return f"{node.op}{suffix}"
