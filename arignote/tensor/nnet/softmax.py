"""Softmax and log-softmax along one axis (default: the last), and the hierarchical softmax.

``Softmax`` and ``LogSoftmax`` are ops of their own for stability: both
subtract the maximum along the axis before exponentiating, so inputs of
any size give finite results wherever the true result is finite
(``log_softmax([1000, 0])`` is ``[0, -1000]``, where ``log(softmax(x))``
would give ``-inf``). Each has a direct gradient written with its own
output. Theano's ``softmax`` worked on the rows of a matrix: the last axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.scalar.basic import FLOAT_DTYPES
from arignote.tensor.basic import as_tensor_variable


def _checked_input(op_name: str, x: Any, axis: int):
    x = as_tensor_variable(x)
    if x.ndim == 0:
        raise TypeError(f"{op_name} needs at least one dimension, got the scalar {x!r}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op_name} needs a float input, got {x.dtype} ({x!r})")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op_name} axis {axis} is out of range for {x.ndim} dimensions")
    return x


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """``x`` minus its maximum along ``axis`` (an empty ``x`` has no maximum, nor needs one)."""
    return x - np.max(x, axis=axis, keepdims=True) if x.size else x


class Softmax(Op):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis`` (default: the last)."""

    __props__ = ("axis",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def make_node(self, x):
        x = _checked_input("softmax", x, self.axis)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        e = np.exp(_shifted(x, self.axis))
        output_storage[0][0] = e / np.sum(e, axis=self.axis, keepdims=True)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.reduction import sum as tensor_sum

        (sm,) = outputs
        (gz,) = output_grads
        weighted = gz * sm
        return [weighted - sm * tensor_sum(weighted, axis=self.axis, keepdims=True)]


class LogSoftmax(Op):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``: the log of ``Softmax``, stably."""

    __props__ = ("axis",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def make_node(self, x):
        x = _checked_input("logsoftmax", x, self.axis)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if x.size == 0:
            output_storage[0][0] = x.copy()
            return
        shifted = _shifted(x, self.axis)
        log_total = np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))
        output_storage[0][0] = np.asarray(shifted - log_total, dtype=x.dtype)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.math import exp
        from arignote.tensor.reduction import sum as tensor_sum

        (log_sm,) = outputs
        (gz,) = output_grads
        return [gz - exp(log_sm) * tensor_sum(gz, axis=self.axis, keepdims=True)]


def softmax(x, axis: int = -1):
    """Softmax along ``axis`` (Theano's ``softmax`` works on the rows of a matrix).

    >>> import arignote.tensor as T
    >>> x = T.matrix("x")
    >>> softmax(x).eval({x: [[0.0, 0.0], [1000.0, 0.0]]}).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    return Softmax(axis)(x)


def logsoftmax(x, axis: int = -1):
    """``log(softmax(x))`` along ``axis``, finite wherever the true value is.

    >>> import arignote.tensor as T
    >>> x = T.matrix("x")
    >>> logsoftmax(x).eval({x: [[1000.0, 0.0]]}).tolist()
    [[0.0, -1000.0]]
    """
    return LogSoftmax(axis)(x)


log_softmax = logsoftmax


def h_softmax(
    x, batch_size, n_outputs, n_classes, n_outputs_per_class, W1, b1, W2, b2, target=None
):
    """Theano's two-level hierarchical softmax.

    The outputs are split into ``n_classes`` classes of ``n_outputs_per_class``
    each: ``softmax(x W1 + b1)`` gives each class's probability, and a second
    softmax per class (weights ``W2[c]`` of shape ``(features, n_outputs_per_class)``,
    bias ``b2[c]``) the probability of each output within it. Returns the
    ``(batch_size, n_outputs)`` probabilities, or with ``target`` (integer
    vector) only each row's target probability, shape ``(batch_size,)``.

    Unlike Theano, the target form computes every output and picks the targets'
    (no advanced indexing here yet), so it saves no time over the full form; a
    target outside ``[0, n_outputs)`` picks nothing and gives 0.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x")
    >>> W1, b1 = np.zeros((3, 2)), np.zeros(2)
    >>> W2, b2 = np.zeros((2, 3, 2)), np.zeros((2, 2))
    >>> h_softmax(x, 1, 3, 2, 2, W1, b1, W2, b2).eval({x: np.ones((1, 3))}).tolist()
    [[0.25, 0.25, 0.25]]
    """
    from arignote.tensor.alloc import arange
    from arignote.tensor.math import eq, switch
    from arignote.tensor.products import dot
    from arignote.tensor.reduction import sum as tensor_sum

    x, W2 = as_tensor_variable(x), as_tensor_variable(W2)
    class_probs = softmax(dot(x, W1) + b1)
    # (features, n_classes * n_outputs_per_class): every class's weights side by side.
    width = n_classes * n_outputs_per_class
    side_by_side = W2.dimshuffle(1, 0, 2).reshape((W2.shape[1], width))
    activations = dot(x, side_by_side).reshape((batch_size, n_classes, n_outputs_per_class)) + b2
    output_probs = class_probs.dimshuffle(0, 1, "x") * softmax(activations)
    output_probs = output_probs.reshape((batch_size, width))
    output_probs = output_probs[:, :n_outputs]
    if target is None:
        return output_probs
    target = as_tensor_variable(target)
    is_target = eq(target.dimshuffle(0, "x"), arange(n_outputs).dimshuffle("x", 0))
    return tensor_sum(switch(is_target, output_probs, 0), axis=1)
