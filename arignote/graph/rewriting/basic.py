"""The rewrite engine: node rewriters, graph rewriters and the equilibrium driver.

A *node rewriter* looks at one Apply node and proposes replacements for its
outputs (a list, one per output, or a dict old → new), or ``None``/``False``.
A *graph rewriter* transforms a whole ``FunctionGraph`` in place.

``EquilibriumGraphRewriter`` applies a set of node rewriters until none
fires. It is a worklist algorithm, so its cost follows the number of nodes
(and of changes), not passes over the graph times rewrites: nodes are
visited in topological order, each node only by the rewriters that track
its op, and only nodes that a change created or touched are revisited.

A rewriter that raises is reported (which rewriter, on which node, with
the error) and skipped; with ``config.on_opt_error='raise'`` it raises.
"""

from __future__ import annotations

import time
import warnings
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from arignote.config import config
from arignote.graph.basic import Apply, Variable
from arignote.graph.fg import OUTPUT, FunctionGraph
from arignote.graph.op import Op

Replacements = Sequence[Variable] | dict[Variable, Variable] | None | bool


class RewriteError(RuntimeError):
    """A rewrite raised, or proposed a replacement of the wrong type."""


class NodeRewriter:
    """Proposes replacements for one node. ``tracks``: the op classes/instances it applies to."""

    tracks: tuple[type | Op, ...] | None = None
    name: str = ""

    def transform(self, fgraph: FunctionGraph, node: Apply) -> Replacements:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.name or type(self).__name__


class FunctionNodeRewriter(NodeRewriter):
    """A node rewriter made from a function by ``@node_rewriter``."""

    def __init__(self, function: Callable[[FunctionGraph, Apply], Replacements], tracks, name=None):
        self.function = function
        self.tracks = tuple(tracks) if tracks is not None else None
        self.name = name or function.__name__
        self.__doc__ = function.__doc__

    def transform(self, fgraph: FunctionGraph, node: Apply) -> Replacements:
        return self.function(fgraph, node)


def node_rewriter(tracks: Iterable[type | Op] | None, name: str | None = None):
    """Decorate ``f(fgraph, node)`` into a node rewriter applied to nodes of the tracked ops.

    >>> from arignote.tensor.elemwise import Elemwise
    >>> @node_rewriter([Elemwise])
    ... def local_nothing(fgraph, node):
    ...     return None
    >>> local_nothing.tracks
    (<class 'arignote.tensor.elemwise.Elemwise'>,)
    """

    def decorate(function):
        return FunctionNodeRewriter(function, tracks, name)

    return decorate


class GraphRewriter:
    """Transforms a FunctionGraph in place; ``apply`` returns counts for the report."""

    name: str = ""

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        raise NotImplementedError

    def rewrite(self, fgraph: FunctionGraph) -> dict[str, int]:
        return self.apply(fgraph)

    def __str__(self) -> str:
        return self.name or type(self).__name__


class SequentialGraphRewriter(GraphRewriter):
    """Graph rewriters applied one after the other."""

    def __init__(self, rewriters: Sequence[GraphRewriter], name: str = ""):
        self.rewriters = list(rewriters)
        self.name = name

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for rewriter in self.rewriters:
            for key, value in rewriter.apply(fgraph).items():
                counts[key] += value
        return dict(counts)


def report_rewrite_error(rewriter: Any, node: Apply | None, exc: Exception) -> None:
    """Raise or warn (``config.on_opt_error``) that ``rewriter`` failed on ``node``."""
    where = f" on node {node}" if node is not None else ""
    message = f"rewrite {rewriter} failed{where}: {type(exc).__name__}: {exc}"
    if config.on_opt_error == "raise":
        raise RewriteError(message) from exc
    if config.on_opt_error == "warn":
        warnings.warn(message + " (skipped; set on_opt_error=raise to stop here)", stacklevel=3)


def _as_pairs(node: Apply, result: Replacements) -> list[tuple[Variable, Variable]]:
    if isinstance(result, dict):
        return list(result.items())
    result = list(result)  # type: ignore[arg-type]
    if len(result) != len(node.outputs):
        raise RewriteError(
            f"a rewrite of {node} returned {len(result)} replacements for "
            f"{len(node.outputs)} outputs"
        )
    return [(old, new) for old, new in zip(node.outputs, result) if new is not None]


def apply_replacements(
    fgraph: FunctionGraph, pairs: list[tuple[Variable, Variable]], reason: str
) -> None:
    """Replace each pair, checking that the new variable can stand for the old one."""
    for old, new in pairs:
        if old is new:
            continue
        if getattr(old.type, "dtype", None) != getattr(new.type, "dtype", None):
            raise RewriteError(
                f"{reason} would replace {old} ({old.type}) by {new} ({new.type}): dtypes differ"
            )
        fgraph.replace(old, new, reason=reason)


class _Dispatcher:
    """Which node rewriters to try on a node, found by its op's class or value."""

    def __init__(self, rewriters: Sequence[NodeRewriter]):
        self.by_class: dict[type, list[NodeRewriter]] = defaultdict(list)
        self.by_op: dict[Op, list[NodeRewriter]] = defaultdict(list)
        self.everywhere: list[NodeRewriter] = []
        for rewriter in rewriters:
            if rewriter.tracks is None:
                self.everywhere.append(rewriter)
                continue
            for tracked in rewriter.tracks:
                if isinstance(tracked, type):
                    self.by_class[tracked].append(rewriter)
                else:
                    self.by_op[tracked].append(rewriter)
        self._cache: dict[type, list[NodeRewriter]] = {}

    def for_op(self, op: Op) -> list[NodeRewriter]:
        cls = type(op)
        if cls not in self._cache:
            found = [r for klass in cls.__mro__ for r in self.by_class.get(klass, ())]
            self._cache[cls] = found + self.everywhere
        specific = self.by_op.get(op, ()) if self.by_op else ()
        return list(specific) + self._cache[cls] if specific else self._cache[cls]


class _Worklist:
    """FunctionGraph feature: queue nodes that are new or whose inputs changed."""

    def __init__(self, nodes: Iterable[Apply]):
        self.queue: deque[Apply] = deque(nodes)
        self.queued: set[Apply] = set(self.queue)

    def push(self, node: Apply) -> None:
        if node not in self.queued:
            self.queued.add(node)
            self.queue.append(node)

    def on_import(self, fgraph, node, reason):
        self.push(node)

    def on_change_input(self, fgraph, node, position, old, new, reason):
        if node != OUTPUT:
            self.push(node)
        if new.owner is not None:
            # The new producer may now match patterns that look at its clients.
            self.push(new.owner)


class EquilibriumGraphRewriter(GraphRewriter):
    """Apply node rewriters until none fires (or ``max_use_ratio`` × nodes changes happened)."""

    def __init__(
        self, rewriters: Sequence[NodeRewriter], name: str = "", max_use_ratio: float = 10.0
    ):
        self.rewriters = list(rewriters)
        self.name = name
        self.max_use_ratio = max_use_ratio
        self.profile: dict[str, float] = defaultdict(float)

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        dispatcher = _Dispatcher(self.rewriters)
        worklist = _Worklist(fgraph.toposort())
        fgraph.attach_feature(worklist)
        counts: dict[str, int] = defaultdict(int)
        budget = max(100, int(self.max_use_ratio * len(fgraph.apply_nodes)))
        try:
            while worklist.queue:
                node = worklist.queue.popleft()
                worklist.queued.discard(node)
                if node not in fgraph.apply_nodes:
                    continue
                for rewriter in dispatcher.for_op(node.op):
                    if self._try(fgraph, node, rewriter, counts):
                        budget -= 1
                        break
                if budget <= 0:
                    warnings.warn(
                        f"{self}: stopped after too many rewrites (more than {self.max_use_ratio}"
                        " per node); a pair of rewrites may undo each other",
                        stacklevel=2,
                    )
                    break
        finally:
            fgraph.remove_feature(worklist)
        return dict(counts)

    def _try(self, fgraph, node, rewriter, counts) -> bool:
        start = time.perf_counter()
        try:
            result = rewriter.transform(fgraph, node)
            if not result:
                return False
            apply_replacements(fgraph, _as_pairs(node, result), reason=str(rewriter))
        except Exception as exc:  # noqa: BLE001  (reported, and raised if configured)
            report_rewrite_error(rewriter, node, exc)
            return False
        finally:
            self.profile[str(rewriter)] += time.perf_counter() - start
        counts[str(rewriter)] += 1
        return True


class WalkingGraphRewriter(EquilibriumGraphRewriter):
    """One pass of node rewriters over the nodes in topological order (Theano's in2out)."""

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        dispatcher = _Dispatcher(self.rewriters)
        counts: dict[str, int] = defaultdict(int)
        for node in fgraph.toposort():
            if node not in fgraph.apply_nodes:
                continue
            for rewriter in dispatcher.for_op(node.op):
                if self._try(fgraph, node, rewriter, counts):
                    break
        return dict(counts)


def in2out(*rewriters: NodeRewriter, name: str = "") -> EquilibriumGraphRewriter:
    """Node rewriters applied to equilibrium (the name Theano used)."""
    return EquilibriumGraphRewriter(rewriters, name=name)
