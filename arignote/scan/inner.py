"""Ops whose meaning is an inner graph: the protocol that loops and conditionals share.

An inner-graph op (``Scan``, ``IfElse``) holds one or more private
``FunctionGraph`` objects (``op.fgraphs``; ``op.fgraph`` when there is one)
and never changes them: a rewrite that wants another inner graph builds a new
op (``op.with_fgraphs(graphs)``), because one op object may appear in several
graphs (the user's, each compiled function's). ``with_fgraphs`` marks the
result ``inner_rewritten``: the rewrite stage in ``arignote.scan.rewriting``
applies the compiling function's own rewrite query to the inner graphs once,
so inner graphs are optimised exactly as the outer one is (and not at all
when the function is compiled without rewrites).

At run time the inner graph is compiled once per op, on first use, by
``arignote.function`` with the reference linker and no further rewriting.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from arignote.graph.fg import FunctionGraph
from arignote.graph.op import Op

Program = Callable[[Sequence[Any]], list[Any]]


class InnerGraphOp(Op):
    """Base class of ops defined by inner ``FunctionGraph`` objects."""

    inner_rewritten: bool = False

    @property
    def fgraphs(self) -> tuple[FunctionGraph, ...]:
        raise NotImplementedError

    def with_fgraphs(self, fgraphs: Sequence[FunctionGraph]) -> InnerGraphOp:
        """The same op holding ``fgraphs`` (same inputs and output types), marked rewritten."""
        raise NotImplementedError


def compile_inner(fgraph: FunctionGraph) -> Program:
    """A program computing ``fgraph``'s outputs from its inputs' values (reference backend).

    The graph is compiled as it is: it was already rewritten (or deliberately
    not) by the compilation of the function that holds the op.
    """
    from arignote.compile.function import function
    from arignote.compile.mode import Mode

    with warnings.catch_warnings():
        # Inner inputs are never passed by keyword, so repeated names do not matter.
        warnings.filterwarnings("ignore", message=".*only the first can be passed by keyword")
        compiled = function(
            list(fgraph.inputs),
            list(fgraph.outputs),
            mode=Mode("py", None),
            on_unused_input="ignore",
        )
    return compiled.program


def fresh_copy(fgraph: FunctionGraph) -> tuple[list, list]:
    """New variables for ``fgraph``'s inputs and outputs (and every node between)."""
    from arignote.graph.replace import clone_get_equiv

    equiv = clone_get_equiv(fgraph.inputs, fgraph.outputs, copy_inputs=True, copy_orphans=False)
    return [equiv[v] for v in fgraph.inputs], [equiv[v] for v in fgraph.outputs]
