"""Cross-entropy losses, with Theano's names and argument orders.

``binary_crossentropy`` and the one-hot form of ``categorical_crossentropy``
are composites. Two ops stand where a composite would need advanced
indexing (``p[arange(n), y]``) or would lose stability:

- ``CrossentropyCategorical1Hot(p, y)``: ``-log(p[i, y[i]])``, one pick per row,
  with the class indices checked at run time;
- ``CrossentropySoftmaxArgmax1HotWithBias(x, b, y)``: softmax of ``x + b``, the
  negative log-likelihood of the targets, and the argmax, in one pass. The
  likelihood is ``log(sum(exp(z - max))) - (z[i, y[i]] - max)``, so it stays
  finite where the softmax underflows to 0.

Their gradients are composites that select with a one-hot mask
``eq(y[:, None], arange(k))``, so they can be differentiated again. For the
integer class indices they answer ``grad_undefined``; ``grad`` then gives those
indices zero, as it does for every integer variable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arignote.gradient import grad_undefined
from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.scalar.basic import FLOAT_DTYPES, INT_DTYPES, upcast
from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.nnet.activations import relu
from arignote.tensor.type import TensorType


def _checked(what: str, variable: Any, ndim: int, dtypes: tuple[str, ...], kind: str):
    variable = as_tensor_variable(variable)
    if variable.ndim != ndim or variable.dtype not in dtypes:
        raise TypeError(
            f"{what} must be {kind} ({ndim}-d), got {variable!r} of type {variable.type}"
        )
    return variable


def _same_length(what: str, first: int | None, second: int | None) -> int | None:
    if first is not None and second is not None and first != second:
        raise ValueError(f"{what}: {first} rows but {second} class indices")
    return first if first is not None else second


def _check_class_indices(op_name: str, y: np.ndarray, rows: int, classes: int) -> None:
    if y.shape[0] != rows:
        raise ValueError(f"{op_name}: {rows} rows but {y.shape[0]} class indices")
    if y.size and (y.min() < 0 or y.max() >= classes):
        bad = y[(y < 0) | (y >= classes)][0]
        raise ValueError(f"{op_name}: class index {bad} is out of range for {classes} classes")


def one_hot_mask(y_idx, classes):
    """Boolean ``(n, classes)`` matrix, true at ``[i, y_idx[i]]``."""
    from arignote.tensor.alloc import arange
    from arignote.tensor.math import eq

    return eq(y_idx.dimshuffle(0, "x"), arange(classes).dimshuffle("x", 0))


class CrossentropyCategorical1Hot(Op):
    """``-log(coding_dist[i, true_one_of_n[i]])`` for each row ``i``."""

    __props__ = ()

    def make_node(self, coding_dist, true_one_of_n):
        coding = _checked(
            "crossentropy_categorical_1hot: coding_dist",
            coding_dist,
            2,
            FLOAT_DTYPES,
            "a float matrix",
        )
        targets = _checked(
            "crossentropy_categorical_1hot: true_one_of_n",
            true_one_of_n,
            1,
            INT_DTYPES,
            "an integer vector of class indices",
        )
        rows = _same_length(
            "crossentropy_categorical_1hot", coding.type.shape[0], targets.type.shape[0]
        )
        out = TensorType(coding.dtype, shape=(rows,)).make_variable()
        return Apply(self, [coding, targets], [out])

    def perform(self, node, inputs, output_storage):
        coding, targets = inputs
        _check_class_indices("crossentropy_categorical_1hot", targets, *coding.shape)
        picked = coding[np.arange(coding.shape[0]), targets]
        with np.errstate(divide="ignore", invalid="ignore"):
            output_storage[0][0] = np.asarray(-np.log(picked), dtype=coding.dtype)

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[0][0],)]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.math import switch
        from arignote.tensor.reduction import sum as tensor_sum

        coding, targets = inputs
        (g_nll,) = output_grads
        is_target = one_hot_mask(targets, coding.shape[1])
        picked = tensor_sum(switch(is_target, coding, 0), axis=1)
        g_coding = switch(is_target, (-g_nll / picked).dimshuffle(0, "x"), 0)
        return [g_coding, grad_undefined(self, 1, targets, "class indices are integers")]


class CrossentropySoftmaxArgmax1HotWithBias(Op):
    """``(nll, softmax, argmax)`` of ``z = x + b`` (``b`` added to every row) and targets ``y``."""

    __props__ = ()

    def make_node(self, x, b, y_idx):
        name = "crossentropy_softmax_argmax_1hot_with_bias"
        x = _checked(f"{name}: x", x, 2, FLOAT_DTYPES, "a float matrix")
        b = _checked(f"{name}: b", b, 1, FLOAT_DTYPES, "a float vector")
        y_idx = _checked(
            f"{name}: y_idx", y_idx, 1, INT_DTYPES, "an integer vector of class indices"
        )
        classes = x.type.shape[1]
        if classes is not None and b.type.shape[0] not in (None, classes):
            raise ValueError(f"{name}: x has {classes} columns but b has {b.type.shape[0]}")
        rows = _same_length(name, x.type.shape[0], y_idx.type.shape[0])
        dtype = upcast(x.dtype, b.dtype)
        classes = classes if classes is not None else b.type.shape[0]
        outputs = [
            TensorType(dtype, shape=(rows,)).make_variable(),
            TensorType(dtype, shape=(rows, classes)).make_variable(),
            TensorType(y_idx.dtype, shape=(rows,)).make_variable(),
        ]
        return Apply(self, [x, b, y_idx], outputs)

    def perform(self, node, inputs, output_storage):
        x, b, y_idx = inputs
        dtype = node.outputs[0].dtype
        z = np.asarray(x + b, dtype=dtype)
        rows, classes = z.shape
        _check_class_indices("crossentropy_softmax_argmax_1hot_with_bias", y_idx, rows, classes)
        if z.size == 0:
            nll, sm, am = np.zeros(rows, dtype), z, np.zeros(rows, y_idx.dtype)
        else:
            shifted = z - np.max(z, axis=1, keepdims=True)
            e = np.exp(shifted)
            total = np.sum(e, axis=1)
            nll = np.log(total) - shifted[np.arange(rows), y_idx]
            sm = e / total[:, None]
            am = np.argmax(z, axis=1)
        output_storage[0][0] = np.asarray(nll, dtype=dtype)
        output_storage[1][0] = np.asarray(sm, dtype=dtype)
        output_storage[2][0] = np.asarray(am, dtype=y_idx.dtype)

    def infer_shape(self, node, input_shapes):
        rows, classes = input_shapes[0]
        return [(rows,), (rows, classes), (rows,)]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.reduction import sum as tensor_sum

        x, _, y_idx = inputs
        sm = outputs[1]
        g_nll, g_sm = output_grads[0], output_grads[1]
        is_target = one_hot_mask(y_idx, x.shape[1])
        weighted = g_sm * sm
        g_z = g_nll.dimshuffle(0, "x") * (sm - is_target) + (
            weighted - sm * tensor_sum(weighted, axis=1, keepdims=True)
        )
        return [
            g_z,
            tensor_sum(g_z, axis=0),
            grad_undefined(self, 2, y_idx, "class indices are integers"),
        ]


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    """``-log(coding_dist[i, true_one_of_n[i]])``: the cross-entropy against one-hot targets.

    >>> import numpy as np, arignote.tensor as T
    >>> p = T.matrix("p")
    >>> crossentropy_categorical_1hot(p, np.int32([1])).eval({p: [[0.5, 0.25, 0.25]]}).tolist()
    [1.3862943611198906]
    """
    return CrossentropyCategorical1Hot()(coding_dist, true_one_of_n)


def categorical_crossentropy(coding_dist, true_dist):
    """Cross-entropy of each row of ``coding_dist`` (probabilities) against ``true_dist``.

    ``true_dist`` has the same rank (a distribution per row, e.g. one-hot:
    ``-sum(true_dist * log(coding_dist), axis=-1)``), or one less: integer
    class indices, handled by ``crossentropy_categorical_1hot``.

    >>> import numpy as np, arignote.tensor as T
    >>> p = T.matrix("p")
    >>> categorical_crossentropy(p, np.eye(2)).eval({p: [[0.5, 0.5], [0.5, 0.5]]}).round(4).tolist()
    [0.6931, 0.6931]
    """
    from arignote.tensor.math import log
    from arignote.tensor.reduction import sum as tensor_sum

    coding_dist = as_tensor_variable(coding_dist)
    true_dist = as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return -tensor_sum(true_dist * log(coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise TypeError(
        f"categorical_crossentropy: true_dist must have the rank of coding_dist ({coding_dist.ndim},"
        f" a distribution per row) or one less (class indices), got rank {true_dist.ndim}"
    )


def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx):
    """``(nll, softmax(x + b), argmax(x + b, axis=1))`` for integer targets ``y_idx``."""
    return CrossentropySoftmaxArgmax1HotWithBias()(x, b, y_idx)


def crossentropy_softmax_1hot_with_bias(x, b, y_idx):
    """``(nll, softmax(x + b))``: the negative log-likelihood of ``y_idx`` and the softmax."""
    return crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx)[:2]


def crossentropy_softmax_1hot(x, y_idx):
    """``(nll, softmax(x))`` for integer targets, stable where the softmax underflows.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x")
    >>> nll, sm = crossentropy_softmax_1hot(x, np.int32([1]))
    >>> nll.eval({x: [[1000.0, 0.0]]}).tolist()
    [1000.0]
    """
    from arignote.tensor.alloc import zeros

    x = as_tensor_variable(x)
    return crossentropy_softmax_1hot_with_bias(x, zeros((x.shape[1],), dtype=x.dtype), y_idx)


def binary_crossentropy(output, target):
    """``-(target * log(output) + (1 - target) * log(1 - output))``, elementwise.

    >>> import arignote.tensor as T
    >>> o = T.vector("o")
    >>> binary_crossentropy(o, [1.0, 0.0]).eval({o: [0.5, 0.5]}).round(4).tolist()
    [0.6931, 0.6931]
    """
    from arignote.tensor.math import log

    output = as_tensor_variable(output)
    target = as_tensor_variable(target)
    return -(target * log(output) + (1 - target) * log(1 - output))


def sigmoid_binary_crossentropy(output, target):
    """``binary_crossentropy(sigmoid(output), target)`` computed from the logits ``output``.

    Written as ``softplus(-|x|) + (relu(x) - x * t)``: finite for any logits,
    exact where the loss is tiny, and with gradient ``sigmoid(x) - t``
    everywhere (``relu``'s gradient at 0 is 1/2, the sigmoid's value there).

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> sigmoid_binary_crossentropy(x, [1.0, 0.0]).eval({x: [-1000.0, -1000.0]}).tolist()
    [1000.0, 0.0]
    """
    from arignote.tensor.math import abs_, softplus

    output = as_tensor_variable(output)
    target = as_tensor_variable(target)
    return softplus(-abs_(output)) + (relu(output) - output * target)
