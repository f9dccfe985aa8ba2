"""Turning Python values into tensor variables, and casting between dtypes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.scalar.basic import ScalarType, autocast_python_scalar
from arignote.tensor.type import TensorType, _resolve_dtype
from arignote.tensor.variable import TensorConstant, TensorVariable


class NotScalarConstantError(ValueError):
    """The variable's value is not a constant known when the graph is built."""


def constant(value: Any, name: str | None = None, ndim: int | None = None, dtype: Any = None):
    """A tensor constant; Python numbers take Theano's narrowest exact dtype.

    >>> constant(1).dtype, constant(1.5).dtype, constant(0.1).dtype
    ('int8', 'float32', 'float64')
    """
    if dtype is not None:
        array = np.asarray(value, dtype=_resolve_dtype(dtype))
    elif isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
        array = autocast_python_scalar(value)
    else:
        array = np.asarray(value)
        if array.size == 0 and isinstance(value, (list, tuple)):
            # An empty list has no element to take a dtype from: Theano gives floatX.
            array = array.astype(_resolve_dtype("floatX"))
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"cannot make a tensor constant of {value!r} (dtype {array.dtype})")
    if ndim is not None:
        if array.ndim > ndim:
            raise ValueError(f"a value of shape {array.shape} cannot be a constant of {ndim} dims")
        array = array.reshape((1,) * (ndim - array.ndim) + array.shape)
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return TensorConstant(TensorType(str(array.dtype), shape=array.shape), array, name=name)


def as_tensor_variable(value: Any, name: str | None = None, ndim: int | None = None):
    """``value`` as a tensor variable: variables pass through, values become constants."""
    if isinstance(value, Apply):
        value = value.default_output
    if isinstance(value, Variable):
        if isinstance(value.type, ScalarType):
            raise TypeError(f"{value!r} is a scalar-op variable, not a tensor")
        if not isinstance(value.type, TensorType):
            raise TypeError(f"expected a tensor, got {value!r} of type {value.type}")
        if ndim is not None and value.ndim != ndim:
            extra = value.ndim - ndim
            if extra > 0 and all(value.broadcastable[:extra]):
                return value.dimshuffle(list(range(extra, value.ndim)))
            raise ValueError(f"{value!r} has {value.ndim} dimensions, expected {ndim}")
        return value
    if isinstance(value, bool):
        raise TypeError(
            "cannot make a tensor of True or False here; this often comes from `==` between "
            "variables, which compares identity: use T.eq(a, b) for elementwise equality"
        )
    if isinstance(value, (list, tuple)) and any(isinstance(v, Variable) for v in value):
        from arignote.tensor.join import stack

        return stack([as_tensor_variable(v) for v in value])
    try:
        return constant(value, name=name, ndim=ndim)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot convert {value!r} to a tensor variable: {exc}") from None


as_tensor = as_tensor_variable


def cast(x: Any, dtype: Any) -> TensorVariable:
    """``x`` converted to ``dtype`` (``'floatX'`` allowed); a no-op when already there."""
    from arignote.scalar.math import Cast
    from arignote.tensor.elemwise import Elemwise

    x = as_tensor_variable(x)
    dtype = _resolve_dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.dtype.startswith("complex") and not dtype.startswith("complex"):
        raise TypeError(
            f"casting the complex {x} to {dtype} is ambiguous; use T.real, T.imag, T.abs "
            "or T.angle first"
        )
    return Elemwise(Cast(dtype))(x)


def get_scalar_constant_value(variable: Any) -> np.ndarray:
    """The value of a variable that is a constant scalar in disguise, or raise.

    Looks through casts, dimshuffles and elementwise ops of constants, so that
    shape arguments built from literals are known when the graph is built.
    """
    if isinstance(variable, (int, float, np.number, np.ndarray)):
        array = np.asarray(variable)
        if array.size == 1:
            return array.reshape(())
    if isinstance(variable, Constant):
        array = np.asarray(variable.data)
        if array.size == 1:
            return array.reshape(())
        if array.size and np.all(array == array.flat[0]):
            return array.flat[0]
        raise NotScalarConstantError(f"{variable} is not a single scalar value")
    if isinstance(variable, Variable) and variable.owner is not None:
        from arignote.tensor.elemwise import DimShuffle, Elemwise

        node = variable.owner
        if isinstance(node.op, DimShuffle):
            return get_scalar_constant_value(node.inputs[0])
        if isinstance(node.op, Elemwise) and len(node.outputs) == 1:
            values = [get_scalar_constant_value(i) for i in node.inputs]
            return np.asarray(node.op.scalar_op.compute(*values), dtype=variable.dtype)
        if hasattr(node.op, "constant_value"):
            result = node.op.constant_value(node)
            if result is not None:
                return np.asarray(result)
    raise NotScalarConstantError(f"{variable} is not a constant scalar")


def as_int_sequence(values: Sequence[Any] | Any) -> list[Any]:
    """Shape-like arguments: Python ints stay ints, symbolic entries become int64 scalars."""
    if isinstance(values, Variable):
        return [values]
    return [int(v) if isinstance(v, (int, np.integer)) else v for v in values]
