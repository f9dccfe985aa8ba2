"""``ifelse``: a lazy conditional; only the branch that is taken is computed.

Laziness lives in the op, not in the linker. Every backend, the reference one
included, runs each node of a graph once, in order; so ``IfElse`` holds each
branch as an inner graph (compiled once, on first use) and its ``perform``
runs only the branch the condition picks. The computations the branches need
whichever way the condition goes (those that both branches, or the condition
itself, read) are left outside, as the op's inputs; everything a single
branch needs is inside it. A compiled backend lowers the op to an ``if``
around the two compiled branches.

Gradients and tangents are themselves ``ifelse`` graphs: the pullback of each
branch, rebuilt on the node's inputs and outputs, taken lazily by the same
condition. The condition has no gradient (it is piecewise constant).

The op's ``then_fgraph``/``else_fgraph`` (``op.fgraphs``) are what printing
shows. Rewrites (registered in ``canonicalize``): a constant condition keeps
only its branch; two identical branches need no condition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import OUTPUT, FunctionGraph
from arignote.graph.replace import clone_replace
from arignote.graph.rewriting.basic import node_rewriter
from arignote.graph.rewriting.stages import canonicalize
from arignote.graph.traversal import ancestors, graph_inputs
from arignote.scan.inner import InnerGraphOp, compile_inner, fresh_copy
from arignote.scan.utils import graph_signature, infer_inner_shapes
from arignote.tensor.type import TensorType

__all__ = ["IfElse", "ifelse"]


class IfElse(InnerGraphOp):
    """``ifelse(condition, then, else)`` with each branch an inner graph of the op's inputs.

    Inputs: the condition (a scalar), then the values the branches read.
    Outputs: one per branch output, of a type that holds either branch's value.

    >>> import arignote.tensor as T
    >>> c = T.scalar("c"); x = T.vector("x")
    >>> y = ifelse(c > 0, T.exp(x), -x)
    >>> y.owner.op.n_outs, float(y.eval({c: 1.0, x: [0.0]})[0])
    (1, 1.0)
    """

    def __init__(
        self,
        then_fgraph: FunctionGraph,
        else_fgraph: FunctionGraph,
        output_types: Sequence[TensorType],
        name: str | None = None,
        inner_rewritten: bool = False,
    ):
        counts = {len(then_fgraph.outputs), len(else_fgraph.outputs), len(output_types)}
        if len(counts) != 1 or len(then_fgraph.inputs) != len(else_fgraph.inputs):
            raise ValueError("IfElse: both branches need the same inputs and one output per type")
        self.then_fgraph = then_fgraph
        self.else_fgraph = else_fgraph
        self.output_types = tuple(output_types)
        self.name = name
        self.inner_rewritten = inner_rewritten
        self._programs: list = [None, None]
        self._signature: Any = None

    @property
    def n_outs(self) -> int:
        return len(self.output_types)

    @property
    def fgraphs(self) -> tuple[FunctionGraph, ...]:
        return (self.then_fgraph, self.else_fgraph)

    def with_fgraphs(self, fgraphs: Sequence[FunctionGraph]) -> IfElse:
        then_graph, else_graph = fgraphs
        return IfElse(then_graph, else_graph, self.output_types, self.name, inner_rewritten=True)

    def signature(self) -> Any:
        if self._signature is None:
            parts = (graph_signature(self.then_fgraph), graph_signature(self.else_fgraph))
            self._signature = (
                (self.output_types, self.inner_rewritten, parts)
                if None not in parts
                else (id(self),)
            )
        return self._signature

    def __eq__(self, other: object) -> bool:
        return self is other or (
            type(other) is IfElse and self.signature() == other.signature()  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((IfElse, self.signature()))

    def __str__(self) -> str:
        return f"IfElse{{{self.name}}}" if self.name else "IfElse"

    # ---- building -----------------------------------------------------------------------------
    def make_node(self, condition: Any, *inputs: Any) -> Apply:
        from arignote.tensor.basic import as_tensor_variable

        condition = as_tensor_variable(condition)
        if condition.ndim != 0:
            raise TypeError(
                f"{self}: the condition must be a scalar, but {condition} has {condition.ndim} "
                "dimensions"
            )
        inner = self.then_fgraph.inputs
        if len(inputs) != len(inner):
            raise TypeError(f"{self} takes a condition and {len(inner)} inputs, got {len(inputs)}")
        checked = []
        for position, (value, placeholder) in enumerate(zip(inputs, inner)):
            if not isinstance(value, Variable):
                value = as_tensor_variable(value)
            converted = placeholder.type.convert_variable(value)
            if converted is None:
                raise TypeError(
                    f"{self}: input {position} ({value}) has type {value.type}, but the branches "
                    f"read a {placeholder.type}"
                )
            checked.append(converted)
        outputs = [t.make_variable() for t in self.output_types]
        return Apply(self, [condition, *checked], outputs)

    # ---- running ------------------------------------------------------------------------------
    def perform(self, node, inputs, output_storage):
        branch = 0 if inputs[0] else 1
        if self._programs[branch] is None:
            self._programs[branch] = compile_inner(self.fgraphs[branch])
        for cell, value in zip(output_storage, self._programs[branch](list(inputs[1:]))):
            cell[0] = value

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import switch
        from arignote.tensor.rewriting.shape_feature import lengths_equal
        from arignote.tensor.shape import shape_i

        condition = node.inputs[0]
        branches = [
            infer_inner_shapes(graph.inputs, graph.outputs, input_shapes[1:], graph.variables)
            for graph in self.fgraphs
        ]
        results = []
        for position, (then_shape, else_shape) in enumerate(zip(*branches)):
            output = node.outputs[position]
            lengths = []
            for axis in range(output.ndim):
                static = output.type.shape[axis]
                a = None if then_shape is None else then_shape[axis]
                b = None if else_shape is None else else_shape[axis]
                if static is not None:
                    lengths.append(static)
                elif a is None or b is None:
                    lengths.append(shape_i(output, axis))
                elif (
                    isinstance(a, Variable)
                    and isinstance(b, Variable)
                    and lengths_equal(a, b)
                    or not isinstance(a, Variable)
                    and not isinstance(b, Variable)
                    and a == b
                ):
                    lengths.append(a)
                else:
                    lengths.append(switch(condition, a, b))
            results.append(tuple(lengths))
        return results

    def connection_pattern(self, node):
        from arignote.compile.builders import _io_connection_pattern

        then_rows = _io_connection_pattern(self.then_fgraph.inputs, self.then_fgraph.outputs)
        else_rows = _io_connection_pattern(self.else_fgraph.inputs, self.else_fgraph.outputs)
        rows = [[True] * self.n_outs]
        rows += [[a or b for a, b in zip(r1, r2)] for r1, r2 in zip(then_rows, else_rows)]
        return rows

    def do_constant_folding(self, node: Apply) -> bool:
        # A constant condition is folded by ``ifelse_constant_condition``, branch and all.
        return False

    # ---- derivatives ----------------------------------------------------------------------
    def L_op(self, inputs, outputs, output_grads):
        from arignote.gradient import DisconnectedType, NullType, grad
        from arignote.tensor.alloc import zeros_like

        condition, *values = inputs
        wanted = [i for i, v in enumerate(values) if _differentiable(v)]
        per_branch = []
        for graph in self.fgraphs:
            ins, outs = fresh_copy(graph)
            known: dict[Variable, Variable] = {}
            cotangents = {}
            for output, g in zip(outs, output_grads):
                if (
                    isinstance(output, Constant)
                    or not _differentiable(output)
                    or isinstance(g.type, DisconnectedType)
                ):
                    continue
                placeholder = output.type.make_variable("cotangent")
                cotangents[placeholder] = g
                known[output] = known[output] + placeholder if output in known else placeholder
            terms = [None] * len(values)
            if known:
                pulled = grad(
                    None,
                    [ins[i] for i in wanted],
                    known_grads=known,
                    disconnected_inputs="ignore",
                    return_disconnected="None",
                    null_gradients="return",
                )
                for i, term in zip(wanted, pulled):
                    terms[i] = term
            replacements = dict(zip(ins, values))
            replacements.update(cotangents)
            # Inside the branch that was taken, its outputs are the node's outputs.
            replacements.update(
                (inner, outer) for inner, outer in zip(outs, outputs) if inner.owner is not None
            )
            symbolic = [t for t in terms if t is not None and not isinstance(t.type, NullType)]
            rebuilt = iter(clone_replace(symbolic, replacements, strict=False))
            per_branch.append(
                [t if t is None or isinstance(t.type, NullType) else next(rebuilt) for t in terms]
            )
        results: list[Any] = [_zero_for_condition(condition)]
        lazy_positions = []
        then_terms, else_terms = [], []
        for i, value in enumerate(values):
            a, b = per_branch[0][i], per_branch[1][i]
            null = next((t for t in (a, b) if t is not None and isinstance(t.type, NullType)), None)
            if null is not None:
                results.append(null)
            elif a is None and b is None:
                results.append(None)
            else:
                results.append(None)
                lazy_positions.append(1 + i)
                then_terms.append(a if a is not None else zeros_like(value))
                else_terms.append(b if b is not None else zeros_like(value))
        if lazy_positions:
            chosen = ifelse(condition, then_terms, else_terms, name=f"grad_of_{self}")
            chosen = chosen if isinstance(chosen, list) else [chosen]
            for position, term in zip(lazy_positions, chosen):
                results[position] = term
        return results

    def R_op(self, inputs, eval_points):
        from arignote.gradient import Rop
        from arignote.tensor.alloc import zeros_like

        condition, *values = inputs
        points = eval_points[1:]
        active = [
            i
            for i, (v, p) in enumerate(zip(values, points))
            if p is not None and _differentiable(v)
        ]
        if not active:
            return [None] * self.n_outs
        branches = []
        for graph in self.fgraphs:
            ins, outs = fresh_copy(graph)
            tangents = [ins[i].type.make_variable("tangent") for i in active]
            found = Rop(
                list(outs),
                [ins[i] for i in active],
                tangents,
                disconnected_outputs="ignore",
                return_disconnected="None",
            )
            replacements = dict(zip(ins, values))
            replacements.update(zip(tangents, [points[i] for i in active]))
            branches.append(
                [None if t is None else clone_replace(t, replacements, strict=False) for t in found]
            )
        results: list[Any] = [None] * self.n_outs
        positions = [
            j
            for j in range(self.n_outs)
            if branches[0][j] is not None or branches[1][j] is not None
        ]
        if not positions:
            return results
        node_outputs = self.make_node(condition, *values).outputs
        then_terms = [
            branches[0][j] if branches[0][j] is not None else zeros_like(node_outputs[j])
            for j in positions
        ]
        else_terms = [
            branches[1][j] if branches[1][j] is not None else zeros_like(node_outputs[j])
            for j in positions
        ]
        chosen = ifelse(condition, then_terms, else_terms, name=f"tangent_of_{self}")
        chosen = chosen if isinstance(chosen, list) else [chosen]
        for j, term in zip(positions, chosen):
            results[j] = term
        return results


def _differentiable(variable: Variable) -> bool:
    from arignote.scalar.basic import CONTINUOUS_DTYPES

    return isinstance(variable.type, TensorType) and variable.type.dtype in CONTINUOUS_DTYPES


def _zero_for_condition(condition: Variable) -> Variable | None:
    from arignote.tensor.alloc import zeros_like

    return zeros_like(condition) if _differentiable(condition) else None


def ifelse(condition: Any, then_branch: Any, else_branch: Any, name: str | None = None) -> Any:
    """``then_branch`` if ``condition`` (a scalar) is true, else ``else_branch``; lazily.

    Each branch is a variable or a list of variables (both of the same length);
    a list gives a list. The two branches of each output need the same dtype
    and number of dimensions.

    >>> import arignote.tensor as T
    >>> a, b = T.scalars("a", "b")
    >>> smaller = ifelse(a < b, a, b)
    >>> float(smaller.eval({a: 3.0, b: 2.0}))
    2.0
    """
    from arignote.tensor.basic import as_tensor_variable

    as_list = isinstance(then_branch, (list, tuple))
    if as_list != isinstance(else_branch, (list, tuple)):
        raise TypeError("ifelse: give both branches as lists, or neither")
    then_outputs = [as_tensor_variable(v) for v in (then_branch if as_list else [then_branch])]
    else_outputs = [as_tensor_variable(v) for v in (else_branch if as_list else [else_branch])]
    if len(then_outputs) != len(else_outputs):
        raise ValueError(
            f"ifelse: the then branch has {len(then_outputs)} outputs and the else branch "
            f"{len(else_outputs)}; they need as many"
        )
    condition = as_tensor_variable(condition)
    if condition.ndim != 0:
        raise TypeError(
            f"ifelse: the condition must be a scalar, but {condition} has {condition.ndim} "
            "dimensions; reduce it first (e.g. with .any() or .all())"
        )
    output_types = [
        _joined_type(a, b, k) for k, (a, b) in enumerate(zip(then_outputs, else_outputs))
    ]
    inputs = _branch_inputs(condition, then_outputs, else_outputs)
    placeholders = {v: v.type.make_variable(v.name) for v in inputs}
    then_inner = clone_replace(then_outputs, placeholders) if then_outputs else []
    else_inner = clone_replace(else_outputs, placeholders) if else_outputs else []
    inner_inputs = [placeholders[v] for v in inputs]
    op = IfElse(
        FunctionGraph(inner_inputs, then_inner, clone=True),
        FunctionGraph(inner_inputs, else_inner, clone=True),
        output_types,
        name,
    )
    outputs = op(condition, *inputs)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return outputs if as_list else outputs[0]


def _joined_type(a: Variable, b: Variable, position: int) -> TensorType:
    if a.type.dtype != b.type.dtype:
        raise TypeError(
            f"ifelse: output {position} is {a.type} in the then branch but {b.type} in the else "
            f"branch; cast one of them (e.g. T.cast(else_value, '{a.type.dtype}'))"
        )
    if a.ndim != b.ndim:
        raise TypeError(
            f"ifelse: output {position} has {a.ndim} dimensions in the then branch but {b.ndim} "
            "in the else branch"
        )
    shape = [x if x == y else None for x, y in zip(a.type.shape, b.type.shape)]
    return TensorType(a.type.dtype, shape=shape)


def _branch_inputs(
    condition: Variable, then_outputs: list[Variable], else_outputs: list[Variable]
) -> list[Variable]:
    """What the branches read from outside: values needed either way, and graph inputs."""
    reached_then = set(ancestors(then_outputs))
    reached_else = set(ancestors(else_outputs))
    needed_anyway = (reached_then & reached_else) | (
        set(ancestors([condition])) & (reached_then | reached_else)
    )
    found: dict[Variable, None] = {}
    for outputs in (then_outputs, else_outputs):
        for v in graph_inputs(outputs, blockers=needed_anyway):
            if not isinstance(v, Constant):
                found.setdefault(v)
    return list(found)


# ---- rewrites ---------------------------------------------------------------------------------
@node_rewriter([IfElse])
def ifelse_constant_condition(fgraph, node):
    """A condition known now keeps only the branch it picks."""
    condition = node.inputs[0]
    if not isinstance(condition, Constant):
        return None
    graph = node.op.fgraphs[0 if bool(np.asarray(condition.data)) else 1]
    return _inlined(node, graph)


@node_rewriter([IfElse])
def ifelse_same_branches(fgraph, node):
    """Two branches computing the same thing need no condition."""
    then_sig = graph_signature(node.op.then_fgraph)
    if then_sig is None or then_sig != graph_signature(node.op.else_fgraph):
        return None
    return _inlined(node, node.op.then_fgraph)


@node_rewriter([IfElse])
def ifelse_reuse_outer_values(fgraph, node):
    """A value a branch computes that the function computes outside anyway becomes an input.

    Branches are cut when ``ifelse`` is called, before the rest of the function
    exists; here, with the whole graph known, a branch computation equal to one
    outside (same op, same inputs) is read instead of being computed twice.
    """
    op: IfElse = node.op
    found: dict[Variable, Variable] = {}  # outer value -> new placeholder
    cuts = []
    for graph in op.fgraphs:
        outer_of: dict[Variable, Variable] = dict(zip(graph.inputs, node.inputs[1:]))
        for inner_node in graph.toposort():
            inputs = [outer_of.get(v, v) for v in inner_node.inputs]
            if not all(v in fgraph.variables or isinstance(v, Constant) for v in inputs):
                continue
            twin = _outer_twin(fgraph, node, inner_node.op, inputs)
            if twin is not None:
                outer_of.update(zip(inner_node.outputs, twin.outputs))
        cut = {}
        for inner, outer in outer_of.items():
            if inner.owner is not None:
                cut[inner] = found.setdefault(outer, inner.type.make_variable(inner.name))
        cuts.append(cut)
    if not found:
        return None
    graphs = []
    for graph, cut in zip(op.fgraphs, cuts):
        placeholders = list(found.values())
        inputs = [*graph.inputs, *placeholders]
        outputs = clone_replace(list(graph.outputs), cut) if cut else list(graph.outputs)
        graphs.append(FunctionGraph(inputs, outputs, clone=True))
    rebuilt = IfElse(graphs[0], graphs[1], op.output_types, op.name, op.inner_rewritten)
    return rebuilt.make_node(*node.inputs, *found).outputs


def _outer_twin(fgraph, node: Apply, op, inputs: list[Variable]) -> Apply | None:
    """A node of ``fgraph`` (not ``node``) applying ``op`` to ``inputs`` (constants by value)."""
    anchor = next((v for v in inputs if not isinstance(v, Constant)), None)
    if anchor is None:
        return None
    for client, _ in fgraph.clients.get(anchor, ()):
        if client == OUTPUT or client is node or client.op != op:
            continue
        if len(client.inputs) == len(inputs) and all(
            a is b
            or (
                isinstance(a, Constant)
                and isinstance(b, Constant)
                and a.signature() == b.signature()
            )
            for a, b in zip(client.inputs, inputs)
        ):
            return client
    return None


def _inlined(node: Apply, graph: FunctionGraph) -> list[Variable]:
    """The branch ``graph`` computed on the node's inputs, cast to the node's output types."""
    ins, outs = fresh_copy(graph)
    values = clone_replace(outs, dict(zip(ins, node.inputs[1:])), strict=False)
    fitted = [output.type.convert_variable(value) for output, value in zip(node.outputs, values)]
    return [f if f is not None else v for f, v in zip(fitted, values)]


canonicalize.register(
    "ifelse_reuse_outer_values", ifelse_reuse_outer_values, "fast_run", "fast_compile", "ifelse"
)
canonicalize.register(
    "ifelse_constant_condition", ifelse_constant_condition, "fast_run", "fast_compile", "ifelse"
)
canonicalize.register(
    "ifelse_same_branches", ifelse_same_branches, "fast_run", "fast_compile", "ifelse"
)
