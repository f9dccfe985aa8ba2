"""Walking graphs: ancestors, inputs, topological order.

Every walk here is iterative (an explicit stack), so a chain of 100,000
nodes does not touch Python's recursion limit. Blockers and stopping sets
given as a ``set`` are used as they are, not copied: a ``FunctionGraph``
passes its (large) variable set on every import.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Sequence

from arignote.graph.basic import Apply, Variable


def _as_set(variables: Iterable[Variable]) -> Container[Variable]:
    return variables if isinstance(variables, (set, frozenset, dict)) else set(variables)


def ancestors(outputs: Iterable[Variable], blockers: Iterable[Variable] = ()) -> Iterator[Variable]:
    """Every variable that ``outputs`` depend on (outputs included), each once.

    Walking stops at ``blockers``: they are yielded, their ancestors are not.
    """
    blocked = _as_set(blockers)
    seen: set[Variable] = set()
    stack = list(outputs)[::-1]
    while stack:
        variable = stack.pop()
        if variable in seen:
            continue
        seen.add(variable)
        yield variable
        if variable.owner is not None and variable not in blocked:
            stack.extend(reversed(variable.owner.inputs))


def graph_inputs(outputs: Iterable[Variable], blockers: Iterable[Variable] = ()) -> list[Variable]:
    """The ownerless variables (and reached blockers) that ``outputs`` depend on."""
    blocked = _as_set(blockers)
    return [v for v in ancestors(outputs, blocked) if v.owner is None or v in blocked]


def applys_between(inputs: Iterable[Variable], outputs: Iterable[Variable]) -> list[Apply]:
    """The Apply nodes needed to compute ``outputs`` from ``inputs``, in topological order."""
    return io_toposort(inputs, outputs)


def io_toposort(inputs: Iterable[Variable], outputs: Sequence[Variable]) -> list[Apply]:
    """Apply nodes between ``inputs`` and ``outputs``, each after those it depends on.

    The order is deterministic: a depth-first post-order that visits inputs
    left to right, so building the same graph twice gives the same order.
    """
    stop = _as_set(inputs)
    order: list[Apply] = []
    # Nodes pushed so far. In a DAG a node is never met again while it is still on
    # the stack, so one set serves for "finished" and "in progress".
    seen: set[Apply] = set()
    for output in outputs:
        root = output.owner
        if root is None or root in seen or output in stop:
            continue
        seen.add(root)
        # Stack of (node, iterator over the inputs still to visit).
        stack = [(root, iter(root.inputs))]
        while stack:
            node, pending = stack[-1]
            for variable in pending:
                parent = variable.owner
                if parent is not None and parent not in seen and variable not in stop:
                    seen.add(parent)
                    stack.append((parent, iter(parent.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def toposort(outputs: Sequence[Variable]) -> list[Apply]:
    """All Apply nodes that ``outputs`` depend on, in topological order."""
    return io_toposort((), outputs)


def variables_between(inputs: Iterable[Variable], outputs: Sequence[Variable]) -> list[Variable]:
    """Inputs, outputs and every variable computed between them."""
    found: dict[Variable, None] = dict.fromkeys(inputs)
    for node in io_toposort(found, outputs):
        found.update(dict.fromkeys(node.inputs))
        found.update(dict.fromkeys(node.outputs))
    found.update(dict.fromkeys(outputs))
    return list(found)
