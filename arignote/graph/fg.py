"""``FunctionGraph``: a graph with fixed inputs and outputs that rewrites edit in place.

It owns its nodes: it knows every variable's clients (the nodes, or output
slots, that read it), and ``replace`` rewires all clients of one variable to
another, dropping nodes that nothing reads any more. Features (listeners)
are told of every import, prune and input change, which is how the rewrite
engine and shape inference stay in sync with the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.replace import clone_get_equiv
from arignote.graph.site import user_creation_site
from arignote.graph.traversal import graph_inputs, io_toposort

# A client is (node, input position), or (OUTPUT, output position).
OUTPUT = "output"
Client = tuple[Any, int]


class Feature(Protocol):
    def on_attach(self, fgraph: FunctionGraph) -> None: ...


class MissingInputError(ValueError):
    """A graph needs a variable that is neither an input nor computable from inputs."""


class FunctionGraph:
    """Inputs, outputs and everything between, with client bookkeeping.

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> fg = FunctionGraph([x], [T.exp(x) * x], clone=False)
    >>> [str(node.op) for node in fg.toposort()]
    ['exp', 'mul']
    >>> len(fg.clients[x])
    2
    """

    def __init__(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        clone: bool = True,
        features: Sequence[Any] = (),
    ):
        if clone:
            equiv = clone_get_equiv(inputs, outputs, copy_inputs=True)
            inputs = [equiv[i] for i in inputs]
            outputs = [equiv[o] for o in outputs]
        self.inputs: list[Variable] = []
        self._input_set: set[Variable] = set()  # ``inputs`` for O(1) membership
        self.outputs: list[Variable] = list(outputs)
        self.clients: dict[Variable, list[Client]] = {}
        self.apply_nodes: set[Apply] = set()
        self.variables: set[Variable] = set()
        self._features: list[Any] = []
        for variable in inputs:
            self.add_input(variable)
        for position, output in enumerate(self.outputs):
            self._import_variable(output, reason="init")
            self.clients[output].append((OUTPUT, position))
        for feature in features:
            self.attach_feature(feature)

    # ---- building -------------------------------------------------------------------
    def add_input(self, variable: Variable) -> None:
        if variable in self.variables:
            return
        self.inputs.append(variable)
        self._input_set.add(variable)
        self.variables.add(variable)
        self.clients.setdefault(variable, [])

    def _import_variable(self, variable: Variable, reason: str) -> None:
        """Add ``variable`` and every node it needs that the graph does not have yet."""
        if variable in self.variables:
            return
        for missing in graph_inputs([variable], blockers=self.variables):
            if missing not in self.variables and not isinstance(missing, Constant):
                raise MissingInputError(
                    f"the graph needs {missing!r}, which is not one of the function's inputs "
                    "(add it to the inputs, or give its value with givens)"
                )
        for node in io_toposort(self.variables, [variable]):
            self._import_node(node, reason)
        if variable not in self.variables:
            self.variables.add(variable)
            self.clients.setdefault(variable, [])

    def _import_node(self, node: Apply, reason: str) -> None:
        if node in self.apply_nodes:
            return
        self.apply_nodes.add(node)
        for position, variable in enumerate(node.inputs):
            if variable not in self.variables:
                self.variables.add(variable)
                self.clients.setdefault(variable, [])
            self.clients[variable].append((node, position))
        for output in node.outputs:
            self.variables.add(output)
            self.clients.setdefault(output, [])
        for feature in self._features:
            if hasattr(feature, "on_import"):
                feature.on_import(self, node, reason)

    # ---- editing --------------------------------------------------------------------
    def change_node_input(self, client: Client, new_variable: Variable, reason: str) -> None:
        """Make one client read ``new_variable``; importing it first, so a failure changes nothing."""
        node, position = client
        old_variable = self.outputs[position] if node == OUTPUT else node.inputs[position]
        if old_variable is new_variable:
            return
        self._import_variable(new_variable, reason)
        if node == OUTPUT:
            self.outputs[position] = new_variable
        else:
            node.inputs[position] = new_variable
        self.clients[new_variable].append(client)
        self.clients[old_variable].remove(client)
        for feature in self._features:
            if hasattr(feature, "on_change_input"):
                feature.on_change_input(self, node, position, old_variable, new_variable, reason)
        self._prune_if_unused(old_variable, reason)

    def replace(
        self, old: Variable, new: Variable, reason: str = "", verbose: bool = False
    ) -> None:
        """Make every client of ``old`` read ``new`` instead."""
        if old not in self.variables:
            return
        if old.type != new.type:
            converted = old.type.convert_variable(new)
            if converted is None:
                raise TypeError(
                    f"replacing {old!r} by {new!r} would change its type from {old.type} "
                    f"to {new.type} (reason: {reason or 'unnamed rewrite'})"
                )
            new = converted
        self._inherit_creation_site(old, new)
        for client in list(self.clients[old]):
            self.change_node_input(client, new, reason)

    def _inherit_creation_site(self, old: Variable, new: Variable) -> None:
        """Nodes a rewrite creates point at the user's line of the node they replace.

        Otherwise they would name the line that called ``function()``, and an error in
        the rewritten graph would point there instead of at the user's expression.
        A node the rewrite gave a line on purpose (say, the line of the loop it
        rebuilt) keeps it: only sites that are unknown or are the line running the
        rewrites (where nodes built by a rewrite point) are replaced.
        """
        site = old.owner.creation_site if old.owner is not None else None
        if site is None:
            return
        rewriting_site = user_creation_site()
        for node in io_toposort(self.variables, [new]):
            if node.creation_site is None or node.creation_site == rewriting_site:
                node.creation_site = site

    def replace_all(self, pairs: Sequence[tuple[Variable, Variable]], reason: str = "") -> None:
        for old, new in pairs:
            self.replace(old, new, reason)

    def _prune_if_unused(self, variable: Variable, reason: str) -> None:
        """Drop what nobody reads any more, walking up iteratively.

        A node goes when none of its outputs has a client; an ownerless variable
        (a constant) goes when it has no client and is not an input.
        """
        stack = [variable]
        while stack:
            current = stack.pop()
            if self.clients.get(current):
                continue
            node = current.owner
            if node is None:
                if current in self.variables and current not in self._input_set:
                    self.variables.discard(current)
                    self.clients.pop(current, None)
                continue
            if node not in self.apply_nodes or any(self.clients.get(o) for o in node.outputs):
                continue
            self.apply_nodes.discard(node)
            for output in node.outputs:
                self.variables.discard(output)
                self.clients.pop(output, None)
            for feature in self._features:
                if hasattr(feature, "on_prune"):
                    feature.on_prune(self, node, reason)
            for position, parent in enumerate(node.inputs):
                self.clients[parent].remove((node, position))
                if not self.clients[parent]:
                    stack.append(parent)

    # ---- features -------------------------------------------------------------------
    def attach_feature(self, feature: Any) -> None:
        """Add a listener; it hears of later changes (``on_attach`` may scan the graph)."""
        if feature in self._features:
            return
        self._features.append(feature)
        if hasattr(feature, "on_attach"):
            feature.on_attach(self)

    def remove_feature(self, feature: Any) -> None:
        self._features.remove(feature)
        if hasattr(feature, "on_detach"):
            feature.on_detach(self)

    # ---- reading --------------------------------------------------------------------
    def toposort(self) -> list[Apply]:
        return io_toposort(self.inputs, self.outputs)

    def check_integrity(self) -> None:
        """Raise ``AssertionError`` unless the bookkeeping matches the graph exactly.

        The nodes are those between inputs and outputs; the clients of each
        variable are exactly the (node, position) pairs and output slots that
        read it. Rewrites and tests call this after editing a graph.
        """
        nodes = set(self.toposort())
        if nodes != self.apply_nodes:
            raise AssertionError(
                f"apply_nodes is out of date: {len(self.apply_nodes - nodes)} stale, "
                f"{len(nodes - self.apply_nodes)} missing"
            )
        expected: dict[Variable, list[Client]] = {v: [] for v in self.inputs}
        for node in nodes:
            for position, variable in enumerate(node.inputs):
                expected.setdefault(variable, []).append((node, position))
            for output in node.outputs:
                expected.setdefault(output, [])
        for position, output in enumerate(self.outputs):
            expected.setdefault(output, []).append((OUTPUT, position))
        if set(expected) != self.variables:
            raise AssertionError(
                f"variables is out of date: stale {self.variables - set(expected)}, "
                f"missing {set(expected) - self.variables}"
            )
        for variable, clients in expected.items():
            if sorted(map(_client_key, clients)) != sorted(
                map(_client_key, self.clients.get(variable, []))
            ):
                raise AssertionError(
                    f"clients of {variable} are {self.clients.get(variable)}, expected {clients}"
                )

    def get_clients(self, variable: Variable) -> list[Client]:
        return self.clients.get(variable, [])

    def __str__(self) -> str:
        return f"FunctionGraph({', '.join(str(o) for o in self.outputs)})"


def _client_key(client: Client) -> tuple[int, int]:
    node, position = client
    return (0 if node == OUTPUT else id(node), position)
