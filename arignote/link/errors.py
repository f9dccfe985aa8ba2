"""What an error raised inside a compiled function says about the node that failed.

Every backend calls ``annotate_node_error`` on an exception escaping a node:
it adds a note (PEP 678, shown under the message in the traceback) naming
the op, its inputs' shapes, dtypes and strides (and their values when they
are small), the user's line that built the node, the user's lines of what a
fused loop computes, and a short ``debugprint`` of the node and its inputs
two levels up. With ``config.exception_verbosity == 'high'`` the note holds
the whole graph and every input value in full instead.

The exception itself, type and message, is left as raised, so ``except
ValueError`` in user code behaves as without the library. The first node
that sees an exception is the one that failed: it writes the report, and a
node holding an inner graph (a scan, say) that the exception then crosses
adds one line saying where it was created, never a second report. An
error that carries its own report on the node (NanGuardMode's) is marked
with ``mark_reported`` before it is raised, and gets no second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from arignote.config import config
from arignote.graph.basic import Apply, Variable
from arignote.graph.site import CreationSite

if TYPE_CHECKING:
    from arignote.graph.fg import FunctionGraph

# Values with at most this many elements are shown in the default report.
SMALL_VALUE_SIZE = 10
# The neighbourhood shown: the failing node, its inputs and their inputs.
NEIGHBOURHOOD_DEPTH = 3
# A fused loop or inner graph lists at most this many distinct user lines.
MAX_INNER_SITES = 8
# The neighbourhood's debugprint is cut after this many lines (a join of many inputs, say).
MAX_NEIGHBOURHOOD_LINES = 40


def describe_value(value: Any, full: bool = False) -> str:
    """Shape, dtype and strides of an array, and its values when small (or ``full``)."""
    if isinstance(value, np.ndarray):
        text = f"shape {value.shape}, dtype {value.dtype}, strides {value.strides}"
        if full or value.size <= SMALL_VALUE_SIZE:
            text += f", value{_array_text(value, full)}"
        return text
    if isinstance(value, np.generic):
        return f"{type(value).__name__} {value}"
    text = repr(value)
    if not full and len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


def _array_text(value: np.ndarray, full: bool) -> str:
    if not full:
        return " " + " ".join(np.array2string(value, separator=", ").split())
    text = np.array2string(value, separator=", ", threshold=value.size + 1)
    return " " + text if "\n" not in text else ":\n" + _indent(text, "      ")


def node_report(node: Apply, arguments: Sequence[Any], fgraph: FunctionGraph | None = None) -> str:
    """The note added to an exception raised by ``node`` run on ``arguments``."""
    high = config.exception_verbosity == "high"
    lines = [
        f"Apply node that caused the error: {node}",
        f"Op: {node.op} (class {type(node.op).__name__})",
    ]
    lines.append("Inputs:" if arguments else "Inputs: none")
    for position, (variable, value) in enumerate(zip(node.inputs, arguments)):
        lines.append(
            f"  {position} {variable} <{variable.type}>: {describe_value(value, full=high)}"
        )
    outputs = ", ".join(str(o.type) for o in node.outputs)
    lines.append(f"Output types: {outputs}")
    if node.creation_site is not None:
        lines.append(f"The node was created at:\n  {node.creation_site}")
    else:
        lines.append("The node's creation site is unknown (it was built inside the library).")
    inner = inner_sites(node)
    if inner:
        lines.append("Inside, it runs operations created at:")
        lines += [f"  {', '.join(ops)}: {site}" for site, ops in inner]
    lines.append(_graph_text(node, fgraph, high))
    if not high:
        lines.append(
            "For the whole graph and every input value in full, set "
            "config.exception_verbosity='high' (ARIGNOTE_FLAGS=exception_verbosity=high)."
        )
    return "\n".join(lines)


def _graph_text(node: Apply, fgraph: FunctionGraph | None, high: bool) -> str:
    from arignote.printing.tree import debugprint

    if high:
        whole = fgraph if fgraph is not None else node.outputs
        text = debugprint(whole, print_type=True, print_creation_site=True, file="str")
        return "The whole graph (debugprint):\n" + _indent(text, "  ")
    text = debugprint(
        node.outputs,
        depth=NEIGHBOURHOOD_DEPTH,
        print_type=True,
        print_creation_site=True,
        file="str",
    )
    lines = text.splitlines()
    if len(lines) > MAX_NEIGHBOURHOOD_LINES:
        more = len(lines) - MAX_NEIGHBOURHOOD_LINES
        lines = lines[:MAX_NEIGHBOURHOOD_LINES] + [f"... ({more} more lines)"]
    heading = "Around the node (debugprint, its inputs two levels up):\n"
    return heading + _indent("\n".join(lines), "  ")


def inner_sites(node: Apply) -> list[tuple[CreationSite, list[str]]]:
    """The user's lines of the operations in a node's inner graphs (a fused loop's, a scan's),
    other than the node's own line, each with the ops created there."""
    from arignote.printing.describe import inner_graphs

    ops_at: dict[CreationSite, list[str]] = {}
    seen: set[Apply] = set()
    for graph in inner_graphs(node.op):
        stop = set(graph.inputs)
        stack: list[Variable] = list(graph.outputs)
        while stack:
            inner = stack.pop().owner
            if inner is None or inner in seen:
                continue
            seen.add(inner)
            stack += [v for v in inner.inputs if v not in stop]
            site = inner.creation_site
            if site is None or site == node.creation_site:
                continue
            names = ops_at.setdefault(site, [])
            if str(inner.op) not in names:
                names.append(str(inner.op))
    ordered = sorted(ops_at.items(), key=lambda item: (item[0].filename, item[0].lineno))
    return ordered[:MAX_INNER_SITES]


def mark_reported(exc: BaseException, node: Apply) -> None:
    """Say that ``exc`` already reports on ``node``: ``annotate_node_error`` adds nothing."""
    exc._arignote_nodes = [node]  # type: ignore[attr-defined]


def annotate_node_error(
    exc: BaseException,
    node: Apply,
    arguments: Sequence[Any],
    fgraph: FunctionGraph | None = None,
) -> None:
    """Add to ``exc`` the report on ``node`` (run on ``arguments``), once per exception.

    ``fgraph`` (the graph the node belongs to) is printed whole under
    ``exception_verbosity='high'``; without it, the node's ancestors are.
    """
    annotated: list[Apply] | None = getattr(exc, "_arignote_nodes", None)
    if annotated is None:
        try:
            exc._arignote_nodes = [node]  # type: ignore[attr-defined]
        except AttributeError:  # an exception class with __slots__: report it anyway
            pass
        try:
            report = node_report(node, arguments, fgraph)
        except Exception as failure:  # noqa: BLE001 (never hide the error behind ours)
            report = f"Apply node that caused the error: {node} (report failed: {failure!r})"
        exc.add_note(report)
        return
    if node in annotated:
        return
    annotated.append(node)
    where = f", created at\n  {node.creation_site}" if node.creation_site is not None else ""
    exc.add_note(f"The failing node ran inside the inner graph of {node}{where}")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())
