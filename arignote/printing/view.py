"""A graph as boxes and arrows: the one description that the picture and the web page draw.

Apply nodes are boxes; so are the ownerless variables a graph reads
(inputs, shared variables, constants) and one box per output. Every other
variable is an arrow from the node that computes it to each node that
reads it, labelled with its dtype and static shape. A constant gets a box
per use, so it sits next to its reader instead of pulling arrows across
the drawing. An op with an inner graph carries that graph as a nested
``GraphView`` (built with the same rules), which the drawings show inside
the op's box.

Ids are unique across a view and its inner views; the walk is iterative
over the graph and recursive only over the nesting of inner graphs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.traversal import io_toposort
from arignote.printing.describe import (
    inner_graphs,
    inner_to_outer,
    op_kind,
    print_target,
    site_text,
    type_text,
    variable_role,
)

_CONSTANT_TEXT = 40


@dataclass
class ViewNode:
    """A box: ``role`` is apply, input, shared, constant or output; ``kind`` picks its colour.

    ``caption`` is a second line under the label (a variable's type), ``details``
    the lines shown on hover, ``site`` the ``file:line`` that built an Apply.
    """

    id: str
    role: str
    kind: str
    label: str
    details: list[str]
    caption: str = ""
    site: str = ""
    inner: GraphView | None = None


@dataclass
class ViewEdge:
    """An arrow carrying one value into input ``position`` of ``target`` (or into an output box)."""

    source: str
    target: str
    label: str
    position: int


@dataclass
class GraphView:
    nodes: list[ViewNode] = field(default_factory=list)
    edges: list[ViewEdge] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain lists and dicts, nested inner graphs included (for the web page)."""
        nodes = []
        for node in self.nodes:
            item = {
                "id": node.id,
                "role": node.role,
                "kind": node.kind,
                "label": node.label,
                "details": node.details,
                "caption": node.caption,
                "site": node.site,
            }
            if node.inner is not None:
                item["inner"] = node.inner.to_json()
            nodes.append(item)
        edges = [
            {"source": e.source, "target": e.target, "label": e.label, "position": e.position}
            for e in self.edges
        ]
        return {"nodes": nodes, "edges": edges}


def graph_view(obj: Any) -> GraphView:
    """The boxes and arrows of ``obj`` (a variable, node, compiled function or list of them)."""
    target = print_target(obj)
    return _build(target.inputs, target.outputs, target.order, {}, _ids())


def _ids() -> Iterator[str]:
    return (f"n{number}" for number in itertools.count())


def _build(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    order: Sequence[Apply] | None,
    input_labels: dict[Variable, str],
    ids: Iterator[str],
) -> GraphView:
    view = GraphView()
    box_of: dict[Variable, str] = {}

    def variable_box(variable: Variable) -> str:
        role = variable_role(variable)
        label = input_labels.get(variable) or _variable_label(variable)
        details = [f"{role}: {label}", f"type: {variable.type}"]
        if isinstance(variable, Constant):
            details.append(f"value: {_short(repr(variable.data))}")
        box = ViewNode(next(ids), role, role, label, details, type_text(variable))
        view.nodes.append(box)
        return box.id

    for variable in inputs:
        box_of[variable] = variable_box(variable)
    nodes = order if order is not None else io_toposort(inputs, outputs)
    for node in nodes:
        sources = []
        for variable in node.inputs:
            if isinstance(variable, Constant):
                sources.append(variable_box(variable))
            else:
                if variable not in box_of:
                    box_of[variable] = variable_box(variable)
                sources.append(box_of[variable])
        box = _apply_box(node, next(ids), ids)
        view.nodes.append(box)
        for position, (variable, source) in enumerate(zip(node.inputs, sources)):
            view.edges.append(ViewEdge(source, box.id, _edge_label(variable), position))
        for variable in node.outputs:
            box_of[variable] = box.id
    for position, variable in enumerate(outputs):
        if variable not in box_of:
            box_of[variable] = variable_box(variable)
        label = variable.name or f"output {position}"
        details = [f"output {position}: {label}", f"type: {variable.type}"]
        box = ViewNode(next(ids), "output", "output", label, details, type_text(variable))
        view.nodes.append(box)
        view.edges.append(ViewEdge(box_of[variable], box.id, _edge_label(variable), 0))
    return view


def _apply_box(node: Apply, box_id: str, ids: Iterator[str]) -> ViewNode:
    details = [f"op: {node.op} ({type(node.op).__name__})"]
    for variable in node.outputs:
        name = f" '{variable.name}'" if variable.name else ""
        details.append(f"output {variable.index}{name}: {variable.type}")
    site = node.creation_site
    if site is not None:
        details.append(f"created at {site_text(site)}, in {site.function}")
        if site.source_line:
            details.append(f"    {site.source_line}")
    box = ViewNode(box_id, "apply", op_kind(node.op), str(node.op), details, site=site_text(site))
    graphs = inner_graphs(node.op)
    if graphs:
        box.inner = GraphView()
        for graph in graphs:
            outer = inner_to_outer(node, graph)
            labels = {
                v: f"*{i} {v.name or _variable_label(outer.get(v, v))}"
                for i, v in enumerate(graph.inputs)
            }
            part = _build(graph.inputs, graph.outputs, None, labels, ids)
            box.inner.nodes += part.nodes
            box.inner.edges += part.edges
    return box


def _variable_label(variable: Variable) -> str:
    if variable.owner is not None:
        return variable.name or str(variable.owner.op)
    if isinstance(variable, Constant) or variable.name is not None:
        return _short(str(variable))
    return f"<{type_text(variable)}>"


def _edge_label(variable: Variable) -> str:
    node = variable.owner
    prefix = f"{variable.index}: " if node is not None and len(node.outputs) > 1 else ""
    return prefix + type_text(variable)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CONSTANT_TEXT else text[: _CONSTANT_TEXT - 3] + "..."
