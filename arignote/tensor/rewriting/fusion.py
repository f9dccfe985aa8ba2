"""Elementwise fusion: connected elementwise regions become one ``Composite`` loop.

Walking consumers before producers, each elementwise node grows a region
by absorbing the elementwise producers of its inputs when every reader of
the producer is already in the region (so nothing computed inside is
needed outside) and the producer's output has the same broadcast pattern
as the region's (so one loop over the output covers it). Scalar-like
constants are inlined into the composite. A reduction whose input is a
fused region read by nothing else then absorbs it (``ElemwiseReduce``).

A cheap producer (one ``add``/``sub``/``mul``/``neg`` node with a scalar
constant operand, such as ``1 - y``) that several elementwise consumers
read is copied into each consumer's region rather than kept as a kernel of
its own: recomputing it in each loop costs less than a kernel call and a
pass over memory. Only a producer of no elementwise input is copied (an
input, a product's result): a copy is not grown through, so it would cut
a region that could otherwise absorb its producers once.

Before fusion, two arithmetic rewrites make the fused loops cheaper, both
exact in floating point:

- ``softplus(x)`` and ``softplus(-x)`` both read: ``t = softplus(-|x|)``,
  ``softplus(x) = max(x, 0) + t``, ``softplus(-x) = max(-x, 0) + t``, one
  ``exp`` and one ``log1p`` per element where there were two of each (the
  C form of ``softplus`` already is ``max(x, 0) + log1p(exp(-|x|))``);
- ``-sum(e)`` of an elementwise ``e`` (float) → ``sum(-e)``, so the
  negation is done in the fused loop, not by a kernel on a scalar.
"""

from __future__ import annotations

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import OUTPUT, FunctionGraph
from arignote.graph.rewriting.basic import GraphRewriter
from arignote.graph.rewriting.stages import fusion
from arignote.scalar import math as scalar_math
from arignote.scalar.basic import ScalarConstant, ScalarType
from arignote.scalar.composite import Composite
from arignote.tensor import math as tensor_math
from arignote.tensor.basic import constant
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.fused import ElemwiseReduce
from arignote.tensor.reduction import CAReduce


def _fusable(node: Apply) -> bool:
    return isinstance(node.op, Elemwise) and len(node.outputs) == 1


def _scalar_constant(variable: Variable) -> bool:
    """A constant with one element, broadcastable everywhere: it can live inside the loop."""
    return (
        isinstance(variable, Constant)
        and np.size(variable.data) == 1
        and all(variable.type.broadcastable)
    )


_CHEAP = (scalar_math.Add, scalar_math.Sub, scalar_math.Mul, scalar_math.Neg)


def _copied_into_consumers(fgraph: FunctionGraph, producer: Apply) -> bool:
    """Whether ``producer`` is cheap enough to recompute in each elementwise consumer's loop."""
    if not isinstance(producer.op.scalar_op, _CHEAP):
        return False
    if not any(_scalar_constant(v) for v in producer.inputs):
        return False
    if any(v.owner is not None and _fusable(v.owner) for v in producer.inputs):
        return False  # the copy would cut the region it could join whole
    (output,) = producer.outputs
    pattern = output.type.broadcastable
    return all(
        client != OUTPUT
        and _fusable(client)
        and client.outputs[0].type.broadcastable == pattern
        for client, _ in fgraph.clients[output]
    )


def _grow_region(fgraph: FunctionGraph, root: Apply, position: dict[Apply, int]) -> list[Apply]:
    region = {root}
    pattern = root.outputs[0].type.broadcastable
    frontier = [root]
    while frontier:
        node = frontier.pop()
        for variable in node.inputs:
            producer = variable.owner
            if producer is None or producer in region or not _fusable(producer):
                continue
            if producer.outputs[0].type.broadcastable != pattern:
                continue
            clients = fgraph.clients[variable]
            if any(client == OUTPUT or client not in region for client, _ in clients):
                if _copied_into_consumers(fgraph, producer):
                    region.add(producer)  # a copy: its inputs stay the region's inputs
                continue
            region.add(producer)
            frontier.append(producer)
    return sorted(region, key=position.__getitem__)


def _composite_for(region: list[Apply]) -> tuple[Composite, list[Variable]]:
    """The composite computing the region's last node, and the region's tensor inputs."""
    produced = {out for node in region for out in node.outputs}
    tensor_inputs: list[Variable] = []
    scalar_of: dict[Variable, Variable] = {}
    for node in region:
        for variable in node.inputs:
            if variable in produced or variable in scalar_of:
                continue
            if _scalar_constant(variable):
                value = np.asarray(variable.data).reshape(())
                scalar_of[variable] = ScalarConstant(ScalarType(str(value.dtype)), value)
            else:
                scalar_of[variable] = ScalarType(variable.dtype).make_variable()
                tensor_inputs.append(variable)
    for node in region:
        scalar_node = node.op.scalar_op.make_node(*(scalar_of[v] for v in node.inputs))
        scalar_node.creation_site = node.creation_site  # errors in the loop name the user's line
        scalar_of.update(zip(node.outputs, scalar_node.outputs))
    scalar_inputs = [scalar_of[v] for v in tensor_inputs]
    return Composite(scalar_inputs, [scalar_of[region[-1].outputs[0]]]), tensor_inputs


def _elemwise_of(variable: Variable, scalar_class: type) -> Apply | None:
    node = variable.owner
    if node is not None and _fusable(node) and type(node.op.scalar_op) is scalar_class:
        return node
    return None


class SoftplusPairs(GraphRewriter):
    """``softplus(x)`` and ``softplus(-x)`` through one shared ``softplus(-|x|)``."""

    name = "softplus_pairs"

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        positive: dict[Variable, Variable] = {}  # x -> softplus(x)
        negative: dict[Variable, Variable] = {}  # x -> softplus(-x)
        for node in fgraph.toposort():
            if not _fusable(node) or type(node.op.scalar_op) is not scalar_math.Softplus:
                continue
            (argument,) = node.inputs
            negation = _elemwise_of(argument, scalar_math.Neg)
            if negation is not None:
                negative.setdefault(negation.inputs[0], node.outputs[0])
            else:
                positive.setdefault(argument, node.outputs[0])
        paired = 0
        for x, softplus_x in positive.items():
            softplus_neg_x = negative.get(x)
            if softplus_neg_x is None or softplus_x.dtype != x.dtype:
                continue
            zero = constant(np.zeros((1,) * x.ndim, dtype=x.dtype))
            shared = tensor_math.softplus(tensor_math.neg(tensor_math.abs(x)))
            fgraph.replace(softplus_x, tensor_math.maximum(x, zero) + shared, reason=self.name)
            negated = tensor_math.maximum(tensor_math.neg(x), zero) + shared
            fgraph.replace(softplus_neg_x, negated, reason=self.name)
            paired += 1
        return {self.name: paired} if paired else {}


class NegationIntoSum(GraphRewriter):
    """``-sum(e)`` → ``sum(-e)`` for a float elementwise ``e`` read only by the sum."""

    name = "negation_into_sum"

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        moved = 0
        for node in fgraph.toposort():
            if node not in fgraph.apply_nodes or not _fusable(node):
                continue
            if type(node.op.scalar_op) is not scalar_math.Neg:
                continue
            (total,) = node.inputs
            reduction = total.owner
            if reduction is None or not isinstance(reduction.op, CAReduce):
                continue
            (summed,) = reduction.inputs
            if (
                reduction.op.kind != "sum"
                or summed.dtype not in ("float16", "float32", "float64")
                or summed.dtype != total.dtype
                or summed.owner is None
                or not _fusable(summed.owner)
                or len(fgraph.clients[total]) != 1
                or len(fgraph.clients[summed]) != 1
            ):
                continue
            fgraph.replace(node.outputs[0], reduction.op(tensor_math.neg(summed)), reason=self.name)
            moved += 1
        return {self.name: moved} if moved else {}


class ElemwiseFusion(GraphRewriter):
    name = "elemwise_fusion"

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        fused = 0
        order = fgraph.toposort()
        position = {node: index for index, node in enumerate(order)}
        for root in reversed(order):
            if root not in fgraph.apply_nodes or not _fusable(root):
                continue
            region = _grow_region(fgraph, root, position)
            if len(region) < 2:
                continue
            composite, tensor_inputs = _composite_for(region)
            if not tensor_inputs:
                continue
            replacement = Elemwise(composite)(*tensor_inputs)
            fgraph.replace(root.outputs[0], replacement, reason=self.name)
            fused += 1
        return {self.name: fused} if fused else {}


class ReductionFusion(GraphRewriter):
    """A reduction of an elementwise result that nothing else reads: one ``ElemwiseReduce``."""

    name = "elemwise_reduce_fusion"

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        fused = 0
        for node in fgraph.toposort():
            if node not in fgraph.apply_nodes or not isinstance(node.op, CAReduce):
                continue
            (variable,) = node.inputs
            producer = variable.owner
            if producer is None or not _fusable(producer) or len(fgraph.clients[variable]) != 1:
                continue
            if any(_scalar_constant(v) for v in producer.inputs) and not isinstance(
                producer.op.scalar_op, Composite
            ):
                continue
            elemwise, inputs = producer.op, producer.inputs
            if not isinstance(elemwise.scalar_op, Composite):
                # As a one-node composite the producer keeps its creation site in the loop.
                composite, inputs = _composite_for([producer])
                elemwise = Elemwise(composite)
            replacement = ElemwiseReduce(elemwise, node.op)(*inputs)
            fgraph.replace(node.outputs[0], replacement, reason=self.name)
            fused += 1
        return {self.name: fused} if fused else {}


fusion.register("softplus_pairs", SoftplusPairs(), "fast_run", "fusion", position=-2)
fusion.register("negation_into_sum", NegationIntoSum(), "fast_run", "fusion", position=-1)
fusion.register("elemwise_fusion", ElemwiseFusion(), "fast_run", "fusion", position=0)
fusion.register("elemwise_reduce_fusion", ReductionFusion(), "fast_run", "fusion", position=1)
