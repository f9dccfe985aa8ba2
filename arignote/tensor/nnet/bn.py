"""Batch normalization (Theano 1.0's ``theano.tensor.nnet.bn``), as composites.

``batch_normalization_train`` normalizes with the statistics of the batch
and, given running statistics, also returns their updated values, which the
caller applies through ``function(..., updates=...)``;
``batch_normalization_test`` normalizes with given statistics;
``batch_normalization`` is the older form taking a standard deviation.

Invariants:

- ``axes`` are the axes the statistics are taken over: ``'per-activation'``
  is ``(0,)``, ``'spatial'`` is ``(0, 2, 3, ...)``, or any tuple of axes.
- Parameters (``gamma``, ``beta``, ``mean``, ``var``, running statistics)
  come either with the input's number of dimensions (length 1 on ``axes``)
  or without the ``axes``; the returned statistics have the form that
  ``gamma`` had.
- The batch variance is biased (divides by ``m``, the number of entries
  averaged); the running variance is updated with the unbiased one
  (``m / (m - 1)`` times it), as Theano did.
- Everything is built from elementwise ops and reductions, so gradients
  of every order and every backend come for free. Python numbers
  (``epsilon``, ``running_average_factor``) take the input's float dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arignote.scalar.basic import FLOAT_DTYPES
from arignote.tensor.basic import as_tensor_variable, cast, constant
from arignote.tensor.math import sqrt
from arignote.tensor.reduction import mean as tensor_mean
from arignote.tensor.reduction import normalize_axes
from arignote.tensor.reduction import var as tensor_var
from arignote.tensor.shape import addbroadcast, shape_i


def _axes(axes: Any, ndim: int) -> tuple[int, ...]:
    if axes == "per-activation":
        return (0,)
    if axes == "spatial":
        return (0, *range(2, ndim))
    if isinstance(axes, (tuple, list)):
        return normalize_axes(tuple(axes), ndim, "axes")
    raise ValueError(f"axes must be 'per-activation', 'spatial' or a tuple of ints, got {axes!r}")


class _Layout:
    """The input's dimensions, the normalized axes, and how parameters are shaped."""

    def __init__(self, inputs: Any, axes: Any):
        self.inputs = as_tensor_variable(inputs)
        if self.inputs.dtype not in FLOAT_DTYPES:
            raise TypeError(f"batch normalization needs a float input, got {self.inputs!r}")
        self.ndim = self.inputs.ndim
        self.axes = _axes(axes, self.ndim)
        self.kept = tuple(a for a in range(self.ndim) if a not in self.axes)

    def parameter(self, value: Any, what: str):
        """``value`` broadcastable against the input; and whether it came without ``axes``."""
        value = as_tensor_variable(value)
        if value.ndim == self.ndim:
            return addbroadcast(value, *self.axes), False
        if value.ndim == len(self.kept):
            pattern: list[Any] = ["x"] * self.ndim
            for position, axis in enumerate(self.kept):
                pattern[axis] = position
            return value.dimshuffle(*pattern), True
        raise ValueError(
            f"{what} must have {self.ndim} dimensions (the input's) or {len(self.kept)} (the "
            f"input's without axes {self.axes}), got {value.ndim}-d {value!r}"
        )

    def number(self, value: float):
        return constant(np.asarray(value, dtype=self.inputs.dtype))

    def reduced(self, statistic: Any):
        """A statistic computed with kept dimensions, without the ``axes``."""
        return statistic.dimshuffle(*self.kept)


def batch_normalization_train(
    inputs: Any,
    gamma: Any,
    beta: Any,
    axes: Any = "per-activation",
    epsilon: float = 1e-4,
    running_average_factor: float = 0.1,
    running_mean: Any = None,
    running_var: Any = None,
):
    """Normalize ``inputs`` with its own mean and variance over ``axes``, then scale and shift.

    Returns ``(out, mean, invstd)``, and with ``running_mean`` and
    ``running_var`` also ``(new_running_mean, new_running_var)``:
    ``running * (1 - factor) + batch_statistic * factor``. Pass those to
    ``updates`` to keep the running averages.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x")
    >>> out, mean, invstd = batch_normalization_train(x, np.ones(2), np.zeros(2))
    >>> np.round(out.eval({x: [[1.0, 2.0], [3.0, 6.0]]}), 3).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    layout = _Layout(inputs, axes)
    x = layout.inputs
    gamma, reduced = layout.parameter(gamma, "gamma")
    beta, _ = layout.parameter(beta, "beta")
    mean = tensor_mean(x, axis=layout.axes, keepdims=True)
    var = tensor_var(x, axis=layout.axes, keepdims=True)
    invstd = 1 / sqrt(var + layout.number(epsilon))
    out = (x - mean) * invstd * gamma + beta
    statistics = [mean, invstd]
    if (running_mean is None) != (running_var is None):
        raise ValueError("give both running_mean and running_var, or neither")
    if running_mean is not None:
        factor = layout.number(running_average_factor)
        running_mean, _ = layout.parameter(running_mean, "running_mean")
        running_var, _ = layout.parameter(running_var, "running_var")
        count = cast(_count(x, layout.axes), x.dtype)
        unbiased = var * count / (count - 1)
        statistics.append(running_mean * (1 - factor) + mean * factor)
        statistics.append(running_var * (1 - factor) + unbiased * factor)
    if reduced:
        statistics = [layout.reduced(s) for s in statistics]
    return (out, *statistics)


def _count(x: Any, axes: tuple[int, ...]):
    count = constant(np.int64(1))
    for axis in axes:
        count = count * shape_i(x, axis)
    return count


def batch_normalization_test(
    inputs: Any,
    gamma: Any,
    beta: Any,
    mean: Any,
    var: Any,
    axes: Any = "per-activation",
    epsilon: float = 1e-4,
):
    """Normalize ``inputs`` with a given ``mean`` and ``var`` (typically running averages).

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.matrix("x")
    >>> y = batch_normalization_test(x, [2.0], [1.0], [1.0], [4.0], epsilon=0.0)
    >>> y.eval({x: [[3.0], [5.0]]}).tolist()
    [[3.0], [5.0]]
    """
    layout = _Layout(inputs, axes)
    gamma, _ = layout.parameter(gamma, "gamma")
    beta, _ = layout.parameter(beta, "beta")
    mean, _ = layout.parameter(mean, "mean")
    var, _ = layout.parameter(var, "var")
    return (layout.inputs - mean) * (gamma / sqrt(var + layout.number(epsilon))) + beta


def batch_normalization(
    inputs: Any, gamma: Any, beta: Any, mean: Any, std: Any, mode: str = "low_mem"
):
    """``(inputs - mean) * (gamma / std) + beta``, all broadcasting as elementwise ops do.

    ``mode`` (``'low_mem'`` or ``'high_mem'``) chose between two Theano
    implementations of the same value; both give this one.

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> batch_normalization(x, 2.0, 1.0, 3.0, 2.0).eval({x: [3.0, 5.0]}).tolist()
    [1.0, 3.0]
    """
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f"mode must be 'low_mem' or 'high_mem', got {mode!r}")
    return (as_tensor_variable(inputs) - mean) * (gamma / as_tensor_variable(std)) + beta
