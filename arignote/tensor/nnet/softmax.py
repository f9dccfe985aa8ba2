"""Softmax over the last axis, as one op: stable (max subtracted) with a direct gradient."""

from __future__ import annotations

import numpy as np

from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.tensor.basic import as_tensor_variable


class Softmax(Op):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis`` (default: the last)."""

    __props__ = ("axis",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise TypeError(f"softmax needs at least one dimension, got the scalar {x!r}")
        if x.dtype not in ("float16", "float32", "float64"):
            raise TypeError(f"softmax needs a float input, got {x.dtype} ({x!r})")
        if not -x.ndim <= self.axis < x.ndim:
            raise ValueError(f"softmax axis {self.axis} is out of range for {x.ndim} dimensions")
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        shifted = x - np.max(x, axis=self.axis, keepdims=True) if x.size else x
        e = np.exp(shifted)
        output_storage[0][0] = e / np.sum(e, axis=self.axis, keepdims=True)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.reduction import sum as tensor_sum

        (sm,) = outputs
        (gz,) = output_grads
        weighted = gz * sm
        return [weighted - sm * tensor_sum(weighted, axis=self.axis, keepdims=True)]


def softmax(x, axis: int = -1):
    """Softmax along ``axis`` (Theano's ``softmax`` works on the rows of a matrix)."""
    return Softmax(axis)(x)
