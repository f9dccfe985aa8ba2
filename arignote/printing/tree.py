"""``debugprint``: a graph as an indented tree, one variable per line.

Each line names the op that computes a variable (or the input or constant
it is), an id, and on request its type and the user's line that built it.
A variable reached a second time is printed again with the same id but
without its inputs, so shared subexpressions stay visible and the output
stays linear in the graph's size. For a compiled function each node's
position in the run order ends its line.

Ops holding a graph of their own (``OpFromGraph``, ``Scan``, fused loops)
are listed once more under "Inner graphs:", their inner outputs indented
under the op's line (``←``), their inner inputs marked ``*i-`` with an
arrow to the outer input that feeds them. The walk is iterative: a chain
of 100,000 nodes prints without touching the recursion limit.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from arignote.graph.basic import Apply, Variable
from arignote.printing.describe import (
    inner_graphs,
    inner_to_outer,
    output_label,
    print_target,
    site_text,
)

_ID_STYLES = ("CHAR", "int", "id", "auto", "")


def debugprint(
    obj: Any,
    depth: int = -1,
    print_type: bool = False,
    file: IO[str] | str | None = None,
    ids: str = "CHAR",
    stop_on_name: bool = False,
    print_creation_site: bool = False,
) -> IO[str] | str | None:
    """Print the graph of ``obj`` (a variable, node, compiled function or a list of them).

    ``depth`` limits how many levels are printed (-1: all); ``print_type``
    adds each variable's type; ``ids`` is ``"CHAR"`` (``[id A]``),
    ``"int"``, ``"id"`` (Python's ``id``), ``"auto"`` (the variable's
    ``auto_id``) or ``""`` (none); ``stop_on_name`` does not expand named
    variables below the top; ``print_creation_site`` adds the file and line
    that built each node. ``file="str"`` returns the text; another file
    receives it (and is returned); by default it goes to standard output.

    >>> import arignote.tensor as T
    >>> x, y = T.vector("x"), T.vector("y")
    >>> debugprint(T.exp(x) * (x + y), print_type=True)
    mul [id A] <TensorType(float64, vector)>
     ├─ exp [id B] <TensorType(float64, vector)>
     │  └─ x [id C] <TensorType(float64, vector)>
     └─ add [id D] <TensorType(float64, vector)>
        ├─ x [id C] <TensorType(float64, vector)>
        └─ y [id E] <TensorType(float64, vector)>
    """
    if ids not in _ID_STYLES:
        raise ValueError(f"ids must be one of {', '.join(map(repr, _ID_STYLES))}, got {ids!r}")
    target = print_target(obj)
    printer = _TreePrinter(depth, print_type, ids, stop_on_name, print_creation_site)
    if target.order is not None:
        printer.run_position = {node: i for i, node in enumerate(target.order)}
    for output in target.outputs:
        printer.print_tree(output, "", " ")
    printer.print_inner_graphs()
    text = "\n".join(printer.lines)
    if file == "str":
        return text
    stream = sys.stdout if file is None else file
    stream.write(text + "\n")
    return file


class _TreePrinter:
    """The lines printed so far, and the ids given to variables in this one print."""

    def __init__(
        self, depth: int, print_type: bool, ids: str, stop_on_name: bool, print_site: bool
    ):
        self.depth = depth
        self.print_type = print_type
        self.ids = ids
        self.stop_on_name = stop_on_name
        self.print_site = print_site
        self.lines: list[str] = []
        self.run_position: dict[Apply, int] = {}
        self._id_of: dict[Variable, str] = {}
        self._expanded: set[Apply] = set()
        # Nodes with inner graphs, in the order met; the list grows while it is printed.
        self._inner_nodes: list[Apply] = []
        self._inner_nodes_met: set[Apply] = set()
        self._inner_input_of: dict[Variable, tuple[int, Variable | None]] = {}

    # ---- one tree -------------------------------------------------------------------------
    def print_tree(self, root: Variable, line_prefix: str, child_prefix: str) -> None:
        stack: list[tuple[Variable, str, str, int]] = [(root, line_prefix, child_prefix, 1)]
        while stack:
            variable, prefix, below, level = stack.pop()
            self.lines.append(prefix + self._describe(variable))
            node = variable.owner
            if node is None or node in self._expanded:
                continue
            if self.stop_on_name and variable.name is not None and level > 1:
                continue
            if node not in self._inner_nodes_met and inner_graphs(node.op):
                self._inner_nodes_met.add(node)
                self._inner_nodes.append(node)
            if 0 <= self.depth <= level:
                continue
            self._expanded.add(node)
            last = len(node.inputs) - 1
            for position in range(last, -1, -1):
                branch, under = ("└─ ", "   ") if position == last else ("├─ ", "│  ")
                stack.append((node.inputs[position], below + branch, below + under, level + 1))

    def print_inner_graphs(self) -> None:
        if not self._inner_nodes:
            return
        self.lines += ["", "Inner graphs:"]
        # Equal ops hold equal graphs (fused loops of one structure): each is printed once.
        done: set[Any] = set()
        position = 0
        while position < len(self._inner_nodes):
            node = self._inner_nodes[position]
            position += 1
            if node.op in done:
                continue
            done.add(node.op)
            graphs = inner_graphs(node.op)
            self.lines += ["", f"{node.op}{self._id_text(node.outputs[0])}"]
            for number, graph in enumerate(graphs):
                outer = inner_to_outer(node, graph)
                for index, inner_input in enumerate(graph.inputs):
                    self._inner_input_of[inner_input] = (index, outer.get(inner_input))
                if len(graphs) > 1:
                    self.lines.append(f" inner graph {number}:")
                for inner_output in graph.outputs:
                    self.print_tree(inner_output, " ← ", "    ")

    # ---- one line -------------------------------------------------------------------------
    def _describe(self, variable: Variable) -> str:
        node = variable.owner
        if node is not None:
            text = output_label(node, variable) + self._id_text(variable)
            if variable.name is not None:
                text += f" '{variable.name}'"
        elif variable in self._inner_input_of:
            index, outer = self._inner_input_of[variable]
            text = f"*{index}-{variable}{self._id_text(variable)}"
            if outer is not None and self.ids:
                text += f" ->{self._id_text(outer)}"
        else:
            text = f"{variable}{self._id_text(variable)}"
        if self.print_type:
            text += f" <{variable.type}>"
        if node is not None and node in self.run_position:
            text += f" {self.run_position[node]}"
        if self.print_site and node is not None and node.creation_site is not None:
            text += f"  @ {site_text(node.creation_site)}"
        return text

    def _id_text(self, variable: Variable) -> str:
        if not self.ids:
            return ""
        if variable not in self._id_of:
            if self.ids == "CHAR":
                self._id_of[variable] = _letters(len(self._id_of))
            elif self.ids == "int":
                self._id_of[variable] = str(len(self._id_of))
            elif self.ids == "id":
                self._id_of[variable] = str(id(variable))
            else:
                self._id_of[variable] = str(variable.auto_id)
        return f" [id {self._id_of[variable]}]"


def _letters(number: int) -> str:
    """0 -> A, 25 -> Z, 26 -> BA: Theano's ids, base 26 with A as zero."""
    digits = ""
    while True:
        number, digit = divmod(number, 26)
        digits = chr(ord("A") + digit) + digits
        if number == 0:
            return digits
