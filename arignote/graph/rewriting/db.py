"""Databases of rewrites, selected by tags: how a mode says which rewrites it wants.

A ``RewriteDatabase`` holds named rewrites, each with tags. A
``RewriteQuery`` picks those that carry at least one ``include`` tag, none
of the ``exclude`` tags, and all of the ``require`` tags (a rewrite's own
name counts as one of its tags). A ``SequenceDB`` orders its entries by
position (the stages: merge, canonicalize, stabilize, specialize, fusion);
an ``EquilibriumDB`` turns its node rewriters into one equilibrium pass.
Entries may themselves be databases, queried with the same query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arignote.graph.rewriting.basic import (
    EquilibriumGraphRewriter,
    GraphRewriter,
    NodeRewriter,
    SequentialGraphRewriter,
)


@dataclass(frozen=True)
class RewriteQuery:
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    require: frozenset[str] = frozenset()

    def including(self, *tags: str) -> RewriteQuery:
        return RewriteQuery(self.include | set(tags), self.exclude, self.require)

    def excluding(self, *tags: str) -> RewriteQuery:
        return RewriteQuery(self.include, self.exclude | set(tags), self.require)

    def requiring(self, *tags: str) -> RewriteQuery:
        return RewriteQuery(self.include, self.exclude, self.require | set(tags))

    def selects(self, tags: frozenset[str]) -> bool:
        return bool(tags & self.include) and not (tags & self.exclude) and self.require <= tags


@dataclass
class _Entry:
    name: str
    rewriter: Any
    tags: frozenset[str]
    position: float = 0.0


@dataclass
class RewriteDatabase:
    entries: dict[str, _Entry] = field(default_factory=dict)

    def register(self, name: str, rewriter: Any, *tags: str, position: float = 0.0) -> Any:
        if name in self.entries:
            raise ValueError(f"a rewrite named {name!r} is already registered")
        self.entries[name] = _Entry(name, rewriter, frozenset(tags) | {name}, position)
        return rewriter

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def __getitem__(self, name: str) -> Any:
        return self.entries[name].rewriter

    def selected(self, query: RewriteQuery) -> list[_Entry]:
        return [e for e in self.entries.values() if query.selects(e.tags)]

    def query(self, query: RewriteQuery) -> Any:
        raise NotImplementedError


class EquilibriumDB(RewriteDatabase):
    """Node rewriters applied together, to equilibrium."""

    def __init__(self, name: str = ""):
        super().__init__()
        self.name = name

    def query(self, query: RewriteQuery) -> GraphRewriter:
        rewriters: list[NodeRewriter] = []
        for entry in self.selected(query):
            found = entry.rewriter.query(query) if isinstance(entry.rewriter, RewriteDatabase) else (
                entry.rewriter
            )
            rewriters.extend(found.rewriters if isinstance(found, EquilibriumGraphRewriter) else
                             [found])
        return EquilibriumGraphRewriter(rewriters, name=self.name)


class SequenceDB(RewriteDatabase):
    """Graph rewriters (or databases) applied in order of position."""

    def __init__(self, name: str = ""):
        super().__init__()
        self.name = name

    def query(self, query: RewriteQuery) -> GraphRewriter:
        stages = []
        for entry in sorted(self.selected(query), key=lambda e: e.position):
            rewriter = entry.rewriter
            if isinstance(rewriter, RewriteDatabase):
                rewriter = rewriter.query(query)
            elif isinstance(rewriter, NodeRewriter):
                rewriter = EquilibriumGraphRewriter([rewriter], name=entry.name)
            stages.append(rewriter)
        return SequentialGraphRewriter(stages, name=self.name)
