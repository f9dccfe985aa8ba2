"""What an error raised inside a compiled function says about the node that failed.

Every backend calls ``annotate_node_error`` on an exception escaping a node:
it adds a note (PEP 678, shown under the message in the traceback) naming
the op, its inputs' shapes, dtypes and strides, and the user's line that
built the node. The exception itself, type and message, is left as raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply


def describe_value(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"shape {value.shape}, dtype {value.dtype}, strides {value.strides}"
    return f"{type(value).__name__} {value!r}"


def node_report(node: Apply, arguments: Sequence[Any]) -> str:
    lines = [f"Apply node that caused the error: {node}"]
    for position, (variable, value) in enumerate(zip(node.inputs, arguments)):
        lines.append(f"  input {position} ({variable}): {describe_value(value)}")
    if node.creation_site is not None:
        lines.append(f"The node was created at:\n  {node.creation_site}")
    return "\n".join(lines)


def annotate_node_error(exc: BaseException, node: Apply, arguments: Sequence[Any]) -> None:
    if getattr(exc, "_arignote_node", None) is None:
        exc._arignote_node = node  # type: ignore[attr-defined]
        exc.add_note(node_report(node, arguments))
