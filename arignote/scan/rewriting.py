"""Loop rewrites, and the stage that rewrites the inner graphs of loops and conditionals.

Registered into the staged database (``arignote.graph.rewriting.stages``):

- ``scan_push_out_invariants`` (canonicalize): computations of the body that
  do not change from step to step move out of the loop;
- ``scan_drop_unused`` (canonicalize): outputs nobody reads (and that feed no
  output that is read), and inputs the body no longer reads, are dropped;
  equal outer values passed twice become one input;
- ``scan_save_mem`` (after specialize): a trace that is only read through
  ``trace[-k]`` or ``trace[-k:]`` stores only its last ``k`` rows, so a loop
  whose result is its last state runs in constant memory;
- ``inner_graphs`` (before fusion): each inner-graph op (``Scan``,
  ``IfElse``) gets its inner graphs rewritten with the query of the function
  being compiled, once (the op is rebuilt and marked ``inner_rewritten``).
  The stage is a database entry whose ``query`` returns a rewriter holding
  the query, which is how it knows which rewrites the function asked for.
"""

from __future__ import annotations

import functools

import arignote.ifelse  # noqa: F401  (registers the conditional's rewrites)
from arignote.graph.basic import Variable
from arignote.graph.fg import OUTPUT, FunctionGraph
from arignote.graph.rewriting.basic import GraphRewriter, node_rewriter, report_rewrite_error
from arignote.graph.rewriting.db import RewriteDatabase, RewriteQuery
from arignote.graph.rewriting.stages import canonicalize, optdb
from arignote.scan.builder import Recurrent, State, build_scan
from arignote.scan.inner import InnerGraphOp, fresh_copy
from arignote.scan.op import Scan
from arignote.scan.utils import INVARIANT, classify, used_inputs
from arignote.tensor.subtensor import IndexSlice, Subtensor


def _rebuilt(node, keep_output=None, merge_non_seqs=None) -> dict[Variable, Variable]:
    """The node's loop rebuilt by ``build_scan``: hoisting, pruning, optionally dropping outputs.

    ``keep_output(position)`` says which outer outputs to keep; ``merge_non_seqs`` maps
    a non-sequence position to an earlier one holding the same outer value.
    Returns old output -> new output for the kept outputs.
    """
    op: Scan = node.op
    info = op.info
    keep_output = keep_output or (lambda position: True)
    n_steps, seqs, inits, state_inits, non_seqs = info.outer_input_groups(node.inputs)
    ins, outs = fresh_copy(op.fgraph)
    seq_in, tap_in, state_in, non_seq_in = info.inner_input_groups(ins)
    rec_out, nit_out, state_out, condition = info.inner_output_groups(outs)
    substitutes = {}
    for position, earlier in (merge_non_seqs or {}).items():
        substitutes[non_seq_in[position]] = non_seq_in[earlier]
    if substitutes:
        from arignote.graph.replace import replace_and_rebuild

        replaced = replace_and_rebuild(outs, substitutes)
        rec_out, nit_out, state_out, condition = info.inner_output_groups(replaced)
    kept_rec = [j for j in range(info.n_recurrent) if keep_output(j)]
    kept_nit = [m for m in range(info.n_nit_sot) if keep_output(info.n_recurrent + m)]
    kept_states = [s for s in range(info.n_states) if keep_output(info.n_traced + s)]
    built = build_scan(
        n_steps,
        sequences=list(zip(seqs, seq_in)),
        recurrent=[
            Recurrent(inits[j], info.recurrent_taps[j], tap_in[j], rec_out[j]) for j in kept_rec
        ],
        nit_sot=[nit_out[m] for m in kept_nit],
        states=[State(state_inits[s], state_in[s], state_out[s]) for s in kept_states],
        non_seqs=[
            (outer, inner)
            for k, (outer, inner) in enumerate(zip(non_seqs, non_seq_in))
            if k not in (merge_non_seqs or {})
        ],
        condition=condition,
        truncate_gradient=info.truncate_gradient,
        name=info.name,
        keep=[info.keep[j] for j in kept_rec] + [info.keep[info.n_recurrent + m] for m in kept_nit],
    )
    rec_outer, nit_outer, state_outer = info.outer_output_groups(node.outputs)
    pairs = list(zip([rec_outer[j] for j in kept_rec], built.recurrent))
    pairs += list(zip([nit_outer[m] for m in kept_nit], built.nit_sot))
    pairs += list(zip([state_outer[s] for s in kept_states], built.states))
    return dict(pairs)


@node_rewriter([Scan])
def scan_push_out_invariants(fgraph, node):
    """Move the loop body's step-independent computations out of the loop."""
    info = node.op.info
    ins, outs = fresh_copy(node.op.fgraph)
    seq_in, tap_in, state_in, _ = info.inner_input_groups(ins)
    variant = seq_in + [v for group in tap_in for v in group] + state_in
    kinds, nodes = classify(outs, variant)
    if not any(kinds[inner.outputs[0]] == INVARIANT for inner in nodes):
        return None
    return _rebuilt(node)


@node_rewriter([Scan])
def scan_drop_unused(fgraph, node):
    """Drop outputs nobody needs, inputs the body does not read, repeated non-sequences."""
    op: Scan = node.op
    info = op.info
    needed = _needed_outputs(fgraph, node)
    seq_in, tap_in, _, non_seq_in = info.inner_input_groups(op.fgraph.inputs)
    read_once = seq_in + [v for group in tap_in for v in group] + non_seq_in
    all_read = len(used_inputs(op.fgraph.outputs, read_once)) == len(read_once)
    first_position: dict[Variable, int] = {}
    merge = {}
    for k, outer in enumerate(info.outer_input_groups(node.inputs)[4]):
        earlier = first_position.setdefault(outer, k)
        if earlier != k:
            merge[k] = earlier
    if all(needed) and all_read and not merge:
        return None
    return _rebuilt(node, keep_output=lambda position: needed[position], merge_non_seqs=merge)


def _needed_outputs(fgraph: FunctionGraph, node) -> list[bool]:
    """Per outer output: read outside, or fed back into the computation of a needed output."""
    op: Scan = node.op
    info = op.info
    n_out = info.n_traced + info.n_states
    needed = [bool(fgraph.clients.get(output)) for output in node.outputs]
    positions = list(range(len(op.fgraph.inputs)))
    _, tap_groups, state_inputs, _ = info.inner_input_groups(positions)
    feeds = {j: group for j, group in enumerate(tap_groups)}
    feeds.update({info.n_traced + s: [position] for s, position in enumerate(state_inputs)})
    outputs = op.fgraph.outputs
    # A while loop's stop condition is always needed, and so is what it reads.
    roots = [outputs[-1]] if info.as_while else []
    changed = True
    while changed:
        changed = False
        wanted = roots + [outputs[j] for j in range(n_out) if needed[j]]
        read = used_inputs(wanted, op.fgraph.inputs)
        for j in range(n_out):
            if not needed[j] and any(op.fgraph.inputs[p] in read for p in feeds.get(j, ())):
                needed[j] = True
                changed = True
    return needed


@node_rewriter([Scan])
def scan_save_mem(fgraph, node):
    """Store only the last rows of traces that are only read through ``trace[-k]``/``[-k:]``."""
    op: Scan = node.op
    info = op.info
    new_keep = list(info.keep)
    for position in range(info.n_traced):
        if info.keep[position] is not None:
            continue
        rows = _rows_read_from_end(fgraph, node.outputs[position])
        if rows is not None:
            new_keep[position] = rows
    if new_keep == list(info.keep):
        return None
    new_node = op.with_info(keep=tuple(new_keep)).make_node(*node.inputs)
    new_node.creation_site = node.creation_site  # the loop's line, not its reader's
    replacements: dict[Variable, Variable] = {}
    for position, (old, new) in enumerate(zip(node.outputs, new_node.outputs)):
        if position >= info.n_traced or new_keep[position] == info.keep[position]:
            replacements[old] = new
            continue
        for client, _ in fgraph.clients.get(old, ()):
            replacements[client.outputs[0]] = client.op.make_node(new, *client.inputs[1:]).outputs[
                0
            ]
    return replacements


def _rows_read_from_end(fgraph: FunctionGraph, trace: Variable) -> int | None:
    """How many last rows the readers of ``trace`` use, if all index it from the end."""
    rows = 0
    for client, position in fgraph.clients.get(trace, ()):
        if client == OUTPUT or position != 0 or not isinstance(client.op, Subtensor):
            return None
        first = client.op.idx_list[0]
        if isinstance(first, int) and first < 0:
            rows = max(rows, -first)
        elif (
            isinstance(first, IndexSlice)
            and isinstance(first.start, int)
            and first.start < 0
            and first.stop is None
            and first.step in (None, 1)
        ):
            rows = max(rows, -first.start)
        else:
            return None
    return rows


class RewriteInnerGraphs(GraphRewriter):
    """Rewrite every inner graph of the function's inner-graph ops with the function's query."""

    name = "inner_graphs"

    def __init__(self, query: RewriteQuery):
        self.query = query

    @functools.cached_property
    def rewriter(self) -> GraphRewriter:
        return optdb.query(self.query)

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        rewritten = 0
        for node in fgraph.toposort():
            op = node.op
            if not isinstance(op, InnerGraphOp) or op.inner_rewritten:
                continue
            try:
                graphs = []
                for inner in op.fgraphs:
                    copy = FunctionGraph(inner.inputs, inner.outputs, clone=True)
                    self.rewriter.apply(copy)
                    graphs.append(copy)
                new_node = op.with_fgraphs(graphs).make_node(*node.inputs)
                new_node.creation_site = node.creation_site
                fgraph.replace_all(list(zip(node.outputs, new_node.outputs)), reason=self.name)
            except Exception as exc:  # noqa: BLE001  (reported, and raised if configured)
                report_rewrite_error(self, node, exc)
                continue
            rewritten += 1
        return {self.name: rewritten} if rewritten else {}


class _InnerGraphStage(RewriteDatabase):
    """A database entry whose query is a rewriter that remembers the query."""

    def query(self, query: RewriteQuery) -> GraphRewriter:
        return RewriteInnerGraphs(query)


canonicalize.register(
    "scan_push_out_invariants", scan_push_out_invariants, "fast_run", "fast_compile", "scan"
)
canonicalize.register("scan_drop_unused", scan_drop_unused, "fast_run", "fast_compile", "scan")
optdb.register("scan_save_mem", scan_save_mem, "fast_run", "fast_compile", "scan", position=2.5)
optdb.register("inner_graphs", _InnerGraphStage(), "fast_run", "fast_compile", "scan", position=48)
