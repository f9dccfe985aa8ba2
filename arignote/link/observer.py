"""The per-node hook every backend offers: ``make_program(fgraph, observer=None)``.

Checking and measuring modes (``NanGuardMode``, ``MonitorMode``, profiling)
need to see each node run, on whichever backend runs it. A linker given an
observer calls ``observer.before`` just before a node runs and
``observer.after`` just after, with the node's position in the program's
order and its actual input and output values. Without one, a linker's call
path carries no trace of the hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from arignote.graph.basic import Apply


class NodeObserver(Protocol):
    def before(self, position: int, node: Apply, inputs: Sequence[Any]) -> None: ...

    def after(
        self, position: int, node: Apply, inputs: Sequence[Any], outputs: Sequence[Any]
    ) -> None: ...


__all__ = ["NodeObserver"]
