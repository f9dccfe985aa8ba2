"""Always-safe rewrites: constant folding.

A node whose inputs are all constants is computed once, at compile time,
with its reference ``perform``, unless the op declines
(``do_constant_folding``: e.g. ``Alloc``, whose result would bloat the
graph, or ops with side effects).
"""

from __future__ import annotations

from arignote.graph.basic import Constant
from arignote.graph.rewriting.basic import node_rewriter
from arignote.graph.rewriting.stages import canonicalize, specialize, stabilize


@node_rewriter(None)
def constant_folding(fgraph, node):
    """Replace a node of constant inputs by the constants it computes."""
    if not node.inputs or not all(isinstance(i, Constant) for i in node.inputs):
        return None
    if not node.op.do_constant_folding(node):
        return None
    storage = [[None] for _ in node.outputs]
    node.op.perform(node, [i.data for i in node.inputs], storage)
    return [out.type.make_constant(cell[0]) for out, cell in zip(node.outputs, storage)]


canonicalize.register("constant_folding", constant_folding, "fast_run", "fast_compile")
# Later stages build constant expressions too (a BLAS op's scale from ``-0.01 * G``): folded
# there, they are constants of the call, not kernels run on every call.
stabilize.register("constant_folding", constant_folding, "fast_run")
specialize.register("constant_folding", constant_folding, "fast_run")
