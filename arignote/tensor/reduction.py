"""Reductions: sum, prod, max, min, all, any, argmax, argmin, logsumexp, and composites.

One op class, ``CAReduce``, reduces over a set of axes with a commutative,
associative scalar op (the accumulation runs in ``acc_dtype`` and is cast
to ``dtype``, Theano's defaults widening small integers and float32).
``keepdims`` is a ``DimShuffle`` after the reduction, so no op carries it.
``mean``, ``var``, ``std``, ``ptp``, ``norm`` and ``max_and_argmax`` are
composites and inherit gradients. ``LogSumExp`` is a real op for numerical
reasons (see its docstring).
"""

from __future__ import annotations

import builtins  # this module defines sum/max/min/all/any as tensor ops
from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.scalar.basic import (
    COMPLEX_DTYPES,
    CONTINUOUS_DTYPES,
    DISCRETE_DTYPES,
    dtype_name,
    upcast,
    upgrade_to_float,
)
from arignote.tensor.basic import as_tensor_variable, cast
from arignote.tensor.elemwise import DimShuffle
from arignote.tensor.type import TensorType

# Theano's defaults: small integers and bools accumulate and return as 64-bit.
_WIDE_OUTPUT = {
    "bool": "int64",
    "int8": "int64",
    "int16": "int64",
    "int32": "int64",
    "uint8": "uint64",
    "uint16": "uint64",
    "uint32": "uint64",
}
_WIDE_ACCUMULATOR = dict(_WIDE_OUTPUT, float16="float32", float32="float64", complex64="complex128")


def normalize_axes(axis: Any, ndim: int, what: str = "axis") -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence, negatives allowed) as sorted non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        items = [axis]
    elif isinstance(axis, (list, tuple, np.ndarray)):
        items = list(np.ravel(axis)) if isinstance(axis, np.ndarray) else list(axis)
    else:
        raise TypeError(f"{what} must be None, an int or a sequence of ints, got {axis!r}")
    axes = []
    for item in items:
        if not isinstance(item, (int, np.integer)):
            raise TypeError(f"{what} must be ints, got {item!r}")
        if not -ndim <= item < ndim:
            raise ValueError(f"{what} {item} is out of range for a {ndim}-dimensional input")
        axes.append(int(item) % ndim if ndim else 0)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{what} {tuple(items)} repeats an axis")
    return tuple(sorted(axes))


def keep_reduced_dims(result, axes: Sequence[int], ndim: int):
    """Reinsert the reduced axes as broadcastable dimensions (``keepdims=True``)."""
    pattern: list[int | str] = []
    kept = 0
    for axis in range(ndim):
        if axis in axes:
            pattern.append("x")
        else:
            pattern.append(kept)
            kept += 1
    return DimShuffle(result.ndim, pattern)(result)


class CAReduce(Op):
    """Reduce ``axis`` with a commutative, associative operation (``kind``)."""

    __props__ = ("kind", "axis", "dtype", "acc_dtype")
    _NUMPY = {
        "sum": np.sum,
        "prod": np.prod,
        "max": np.max,
        "min": np.min,
        "all": np.all,
        "any": np.any,
    }

    def __init__(self, kind: str, axis: tuple[int, ...], dtype: str, acc_dtype: str):
        if kind not in self._NUMPY:
            raise ValueError(f"unknown reduction {kind!r}")
        self.kind = kind
        self.axis = tuple(axis)
        self.dtype = dtype
        self.acc_dtype = acc_dtype

    def __str__(self) -> str:
        return f"{self.kind}{{axis={self.axis}}}" if self.axis else self.kind

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if builtins.any(a >= x.ndim for a in self.axis):
            raise ValueError(f"{self} reduces an axis a {x.ndim}-dimensional input lacks")
        shape = [s for a, s in enumerate(x.type.shape) if a not in self.axis]
        return Apply(self, [x], [TensorType(self.dtype, shape=shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        reduce = self._NUMPY[self.kind]
        if self.kind in ("sum", "prod"):
            result = reduce(x, axis=self.axis, dtype=self.acc_dtype)
        else:
            result = reduce(x, axis=self.axis)
        output_storage[0][0] = np.asarray(result, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        (shape,) = input_shapes
        return [tuple(s for a, s in enumerate(shape) if a not in self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor import math

        (x,) = inputs
        if self.kind in ("all", "any") or x.dtype not in CONTINUOUS_DTYPES:
            return [math.fill(x, cast(0, _float_dtype(x)))]
        gz = keep_reduced_dims(output_grads[0], self.axis, x.ndim)
        if self.kind == "sum":
            return [math.fill(x, gz)]
        result = keep_reduced_dims(outputs[0], self.axis, x.ndim)
        if self.kind in ("max", "min"):
            # Every element equal to the extreme receives the gradient, as in Theano.
            return [gz * math.eq(x, result)]
        return [gz * _product_of_others(x, self.axis)]


def _float_dtype(x) -> str:
    from arignote.config import config

    return x.dtype if x.dtype in CONTINUOUS_DTYPES else config.floatX


def _product_of_others(x, axes: tuple[int, ...]):
    """For each element, the product of the other elements of its reduced slice.

    Written without dividing by zero: with one zero in a slice only that zero's
    position gets the product of the rest; with two or more, everything is 0.
    """
    from arignote.tensor import math

    is_zero = math.eq(x, 0)
    zeros_in_slice = sum(is_zero, axis=axes, keepdims=True)
    nonzero_product = prod(math.switch(is_zero, 1, x), axis=axes, keepdims=True)
    safe_x = math.switch(is_zero, 1, x)
    at_zero = math.switch(math.eq(zeros_in_slice, 1), nonzero_product, 0)
    elsewhere = math.switch(math.eq(zeros_in_slice, 0), nonzero_product / safe_x, 0)
    return math.switch(is_zero, at_zero, elsewhere)


def _accumulator_dtype(kind: str, input_dtype: str, acc_dtype: Any) -> str:
    """Theano's rule: the default widens; a given ``acc_dtype`` must not lose precision
    (a float accumulator for integers is allowed)."""
    if acc_dtype is None:
        return _WIDE_ACCUMULATOR.get(input_dtype, input_dtype)
    acc = dtype_name(acc_dtype)
    if acc in CONTINUOUS_DTYPES and input_dtype in DISCRETE_DTYPES:
        return acc
    if upcast(input_dtype, acc) != acc:
        raise TypeError(
            f"{kind}: acc_dtype={acc} would lose precision on an input of dtype {input_dtype}; "
            f"use an acc_dtype at least as precise as {upcast(input_dtype, acc)}, or dtype= to "
            "cast only the result"
        )
    return acc


def _reduce(kind, x, axis, keepdims, dtype=None, acc_dtype=None):
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim)
    if kind in ("all", "any"):
        out_dtype = acc = "bool"
    elif kind in ("max", "min"):
        out_dtype = acc = x.dtype
    else:
        out_dtype = dtype_name(dtype) if dtype is not None else _WIDE_OUTPUT.get(x.dtype, x.dtype)
        acc = _accumulator_dtype(kind, x.dtype, acc_dtype)
    if not axes and kind not in ("all", "any"):
        result = cast(x, out_dtype)
    else:
        result = CAReduce(kind, axes, out_dtype, acc)(x)
    return keep_reduced_dims(result, axes, x.ndim) if keepdims else result


def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Sum over ``axis`` (None: all); small integers sum as int64, as in Theano."""
    return _reduce("sum", x, axis, keepdims, dtype, acc_dtype)


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None, no_zeros_in_input=False):
    """Product over ``axis``; the gradient is exact even where inputs are zero."""
    return _reduce("prod", x, axis, keepdims, dtype, acc_dtype)


def max(x, axis=None, keepdims=False):
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce("min", x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    return _reduce("all", x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _reduce("any", x, axis, keepdims)


class Argmax(Op):
    """Index of the largest (``kind='max'``) or smallest element along ``axis``; int64."""

    __props__ = ("kind", "axis")

    def __init__(self, kind: str, axis: tuple[int, ...]):
        self.kind = kind
        self.axis = tuple(axis)

    def __str__(self) -> str:
        return f"arg{self.kind}{{axis={self.axis}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        shape = [s for a, s in enumerate(x.type.shape) if a not in self.axis]
        return Apply(self, [x], [TensorType("int64", shape=shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        kept = [a for a in range(x.ndim) if a not in self.axis]
        # Move the reduced axes last and flatten them, so one argmax covers several axes.
        # The flattened length is spelled out: -1 is ambiguous when a kept axis is empty.
        moved = np.transpose(x, kept + list(self.axis))
        reduced_length = int(np.prod([x.shape[a] for a in self.axis], dtype=np.int64))
        flat = moved.reshape(moved.shape[: len(kept)] + (reduced_length,))
        find = np.argmax if self.kind == "max" else np.argmin
        output_storage[0][0] = np.asarray(find(flat, axis=-1), dtype="int64")

    def infer_shape(self, node, input_shapes):
        (shape,) = input_shapes
        return [tuple(s for a, s in enumerate(shape) if a not in self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor import math

        return [math.fill(inputs[0], cast(0, _float_dtype(inputs[0])))]


def argmax(x, axis=None, keepdims=False):
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim)
    result = Argmax("max", axes)(x)
    return keep_reduced_dims(result, axes, x.ndim) if keepdims else result


def argmin(x, axis=None, keepdims=False):
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim)
    result = Argmax("min", axes)(x)
    return keep_reduced_dims(result, axes, x.ndim) if keepdims else result


def max_and_argmax(x, axis=None, keepdims=False):
    """The maximum and its index along ``axis``, as a pair (Theano's ``max_and_argmax``)."""
    return max(x, axis, keepdims), argmax(x, axis, keepdims)


def ptp(x, axis=None, keepdims=False):
    """Peak to peak: ``max - min`` over ``axis``; booleans are refused, as NumPy refuses them."""
    x = as_tensor_variable(x)
    if x.dtype == "bool":
        raise TypeError(f"ptp: {x!r} is bool, and max - min of booleans is undefined; cast it")
    return max(x, axis, keepdims) - min(x, axis, keepdims)


def norm(x, L, axis=None, keepdims=False):
    """The ``L``-norm of ``x`` over ``axis`` (all of it by default) taken as one vector.

    ``L`` is 1, 2, ``inf`` (the largest magnitude), ``-inf`` (the smallest) or any
    other positive number ``p`` (``sum(|x|^p)^(1/p)``). Integers give floats, as
    ``np.linalg.vector_norm``; complex inputs give their magnitude's norm.

    >>> import numpy as np
    >>> x = np.array([3.0, -4.0])
    >>> float(norm(x, 1).eval()), float(norm(x, 2).eval()), float(norm(x, np.inf).eval())
    (7.0, 5.0, 4.0)
    """
    from arignote.tensor import math

    x = as_tensor_variable(x)
    if isinstance(L, bool) or not isinstance(L, (int, float, np.integer, np.floating)):
        raise TypeError(f"norm: L must be a number (1, 2, inf, -inf or p > 0), got {L!r}")
    if not (L > 0 or L == -np.inf):
        raise ValueError(f"norm: L must be 1, 2, inf, -inf or a positive number, got {L!r}")
    if x.dtype not in CONTINUOUS_DTYPES:
        x = cast(x, upgrade_to_float(x.dtype)[0])
    magnitude = math.abs(x)
    if L == np.inf:
        return max(magnitude, axis, keepdims)
    if L == -np.inf:
        return min(magnitude, axis, keepdims)
    if L == 1:
        return sum(magnitude, axis, keepdims=keepdims)
    if L == 2:
        return math.sqrt(sum(math.sqr(magnitude), axis, keepdims=keepdims))
    power = as_tensor_variable(np.asarray(L, dtype=magnitude.dtype))
    return sum(magnitude**power, axis, keepdims=keepdims) ** (1 / power)


class LogSumExp(Op):
    """``log(sum(exp(x)))`` over ``axis``, shifted by the slice's maximum so no ``exp`` overflows.

    A real op rather than the composite ``log(sum(exp(x - m))) + m``: the shift needs
    the maximum of every slice, which an empty slice does not have (its logsumexp is
    ``-inf``), and the composite's gradient would flow through ``max`` only to cancel.
    The gradient is the softmax of each slice. Integers give floats.
    """

    __props__ = ("axis",)

    def __init__(self, axis: tuple[int, ...]):
        self.axis = tuple(axis)

    def __str__(self) -> str:
        return f"logsumexp{{axis={self.axis}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.dtype in COMPLEX_DTYPES:
            raise TypeError(f"{self}: {x!r} is complex; logsumexp is defined for real inputs")
        if builtins.any(a >= x.ndim for a in self.axis):
            raise ValueError(f"{self} reduces an axis a {x.ndim}-dimensional input lacks")
        shape = [s for a, s in enumerate(x.type.shape) if a not in self.axis]
        dtype = upgrade_to_float(x.dtype)[0]
        return Apply(self, [x], [TensorType(dtype, shape=shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        dtype = node.outputs[0].dtype
        x = np.asarray(inputs[0], dtype=dtype)
        with np.errstate(all="ignore"):
            shift = np.max(x, axis=self.axis, keepdims=True, initial=-np.inf)
            # An infinite or nan maximum cannot be subtracted; it decides the result alone.
            shift = np.where(np.isfinite(shift), shift, 0).astype(dtype)
            total = np.sum(np.exp(x - shift), axis=self.axis, keepdims=True)
            result = np.log(total) + shift
        output_storage[0][0] = np.asarray(np.squeeze(result, axis=self.axis), dtype=dtype)

    def infer_shape(self, node, input_shapes):
        (shape,) = input_shapes
        return [tuple(s for a, s in enumerate(shape) if a not in self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor import math

        (x,) = inputs
        gz = keep_reduced_dims(output_grads[0], self.axis, x.ndim)
        result = keep_reduced_dims(outputs[0], self.axis, x.ndim)
        return [gz * math.exp(x - result)]


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))``, exact where the direct formula overflows.

    >>> import numpy as np
    >>> round(float(logsumexp(np.array([1000.0, 1000.0])).eval()) - 1000.0, 6)  # log(2)
    0.693147
    """
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim)
    result = LogSumExp(axes)(x)
    return keep_reduced_dims(result, axes, x.ndim) if keepdims else result


def _reduced_count(x, axes: tuple[int, ...]):
    """The number of elements each reduction combines, as a symbolic int64."""
    from arignote.tensor.shape import shape_i

    count = None
    for axis in axes:
        length = shape_i(x, axis)
        count = length if count is None else count * length
    return count if count is not None else as_tensor_variable(np.int64(1))


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Arithmetic mean; integers and bools give float64, floats keep their dtype (Theano)."""
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim)
    if dtype is None:
        dtype = x.dtype if x.dtype in CONTINUOUS_DTYPES else "float64"
    total = sum(
        x, axis=axes, dtype=acc_dtype or _WIDE_ACCUMULATOR.get(dtype, dtype), acc_dtype=acc_dtype
    )
    result = cast(total / _reduced_count(x, axes), dtype)
    return keep_reduced_dims(result, axes, x.ndim) if keepdims else result


def var(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Variance, dividing by ``n - ddof``; the dtype is the mean's.

    ``corrected=True`` selects the corrected two-pass algorithm (Chan, Golub
    and LeVeque): the rounding error left in the mean is subtracted, as
    Theano's ``corrected`` flag did. It is not Bessel's correction; that is
    ``ddof=1``. Complex inputs give the real variance of their magnitudes'
    spread, ``mean(|x - mean(x)|^2)``, as NumPy does.
    """
    if isinstance(ddof, bool):
        raise ValueError(
            "var: ddof must be an int, not a bool; keepdims is the fourth argument: "
            "var(x, axis=None, ddof=0, keepdims=False, corrected=False)"
        )
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim)
    centred = x - mean(x, axis=axes, keepdims=True)
    count = _reduced_count(x, axes)
    magnitudes = _squared_magnitude(centred)
    squares = sum(magnitudes, axis=axes)
    if corrected:
        drift = sum(centred, axis=axes)
        squares = squares - _squared_magnitude(drift) / count
    divisor = count
    if ddof:
        from arignote.tensor.math import maximum

        # NumPy's rule: with no degrees of freedom left (n <= ddof) the divisor is 0.
        divisor = maximum(count - ddof, 0)
    result = cast(squares / divisor, magnitudes.dtype)
    return keep_reduced_dims(result, axes, x.ndim) if keepdims else result


def _squared_magnitude(x):
    """``x * x``, or ``|x|^2`` (a real number) for complex ``x``."""
    from arignote.tensor import math

    if x.dtype in COMPLEX_DTYPES:
        return math.sqr(math.real(x)) + math.sqr(math.imag(x))
    return x * x


def std(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Standard deviation: the square root of ``var`` with the same arguments."""
    from arignote.tensor.math import sqrt

    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected))


__all__ = [
    "Argmax",
    "CAReduce",
    "LogSumExp",
    "all",
    "any",
    "argmax",
    "argmin",
    "logsumexp",
    "max",
    "max_and_argmax",
    "mean",
    "min",
    "norm",
    "prod",
    "ptp",
    "std",
    "sum",
    "var",
]
