"""``ElemwiseReduce``: an elementwise computation reduced on the fly, as one op.

What fusion makes of a reduction fed by an elementwise region
(``sum(exp(x - m))``): one pass over the data with no temporary array.
The reference ``perform`` is the two steps in turn, so its values equal the
unfused graph's; a compiled backend emits one loop. Its gradient is the
unfused graph's, built on demand.
"""

from __future__ import annotations

from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.reduction import CAReduce


class ElemwiseReduce(Op):
    """``reduce(elemwise(*inputs))`` for one ``Elemwise`` and one ``CAReduce``."""

    __props__ = ("elemwise", "reduce")

    def __init__(self, elemwise: Elemwise, reduce: CAReduce):
        self.elemwise = elemwise
        self.reduce = reduce

    def __str__(self) -> str:
        return f"{self.reduce}({self.elemwise})"

    def _unfused(self, *inputs):
        return self.reduce(self.elemwise(*inputs))

    def make_node(self, *inputs) -> Apply:
        elemwise_node = self.elemwise.make_node(*inputs)
        if len(elemwise_node.outputs) != 1:
            raise TypeError(f"{self}: the elementwise part must have one output")
        reduce_node = self.reduce.make_node(elemwise_node.outputs[0])
        return Apply(self, elemwise_node.inputs, [reduce_node.outputs[0].type.make_variable()])

    def perform(self, node, inputs, output_storage):
        elemwise_node = self.elemwise.make_node(*node.inputs)
        cell = [[None]]
        self.elemwise.perform(elemwise_node, inputs, cell)
        reduce_node = self.reduce.make_node(elemwise_node.outputs[0])
        self.reduce.perform(reduce_node, [cell[0][0]], output_storage)

    def infer_shape(self, node, input_shapes):
        elemwise_node = self.elemwise.make_node(*node.inputs)
        (shape,) = self.elemwise.infer_shape(elemwise_node, input_shapes)[:1]
        reduce_node = self.reduce.make_node(elemwise_node.outputs[0])
        return self.reduce.infer_shape(reduce_node, [shape])

    def L_op(self, inputs, outputs, output_grads):
        from arignote.gradient import grad

        unfused = self._unfused(*inputs)
        return grad(
            None, list(inputs), known_grads={unfused: output_grads[0]},
            disconnected_inputs="ignore", return_disconnected="None",
        )
