"""Elementwise fusion: connected elementwise regions become one ``Composite`` loop.

Walking consumers before producers, each elementwise node grows a region
by absorbing the elementwise producers of its inputs when every reader of
the producer is already in the region (so nothing computed inside is
needed outside) and the producer's output has the same broadcast pattern
as the region's (so one loop over the output covers it). Scalar-like
constants are inlined into the composite. A reduction whose input is a
fused region read by nothing else then absorbs it (``ElemwiseReduce``).
"""

from __future__ import annotations

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import OUTPUT, FunctionGraph
from arignote.graph.rewriting.basic import GraphRewriter
from arignote.graph.rewriting.stages import fusion
from arignote.scalar.basic import ScalarConstant, ScalarType
from arignote.scalar.composite import Composite
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


fusion.register("elemwise_fusion", ElemwiseFusion(), "fast_run", "fusion", position=0)
fusion.register("elemwise_reduce_fusion", ReductionFusion(), "fast_run", "fusion", position=1)
