"""The rewrite engine: node and graph rewriters, the equilibrium driver, tagged databases."""

from arignote.graph.rewriting.basic import (
    EquilibriumGraphRewriter,
    GraphRewriter,
    NodeRewriter,
    RewriteError,
    SequentialGraphRewriter,
    WalkingGraphRewriter,
    in2out,
    node_rewriter,
)
from arignote.graph.rewriting.db import EquilibriumDB, RewriteDatabase, RewriteQuery, SequenceDB
from arignote.graph.rewriting.merge import MergeRewriter

__all__ = [
    "EquilibriumDB", "EquilibriumGraphRewriter", "GraphRewriter", "MergeRewriter", "NodeRewriter",
    "RewriteDatabase", "RewriteError", "RewriteQuery", "SequenceDB", "SequentialGraphRewriter",
    "WalkingGraphRewriter", "in2out", "node_rewriter",
]
