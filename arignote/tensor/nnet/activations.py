"""Activations as composites of elementwise tensor ops, so gradients and backends come free.

Each function takes Theano's name and definition. Integer inputs are first
converted to the float that holds them (``upgrade_to_float``: small integers
to float32, wider ones to float64), as Theano's float ops did; constants take
the input's float dtype, so a float32 graph stays float32. ``sigmoid`` and
``softplus`` are scalar ops in ``arignote.tensor.math`` (re-exported by
``arignote.tensor.nnet``).

``ultra_fast_sigmoid`` is Theano's piecewise approximation, as a function of
its own: its gradient is the derivative of the approximation, not of the
sigmoid. Its largest error against the sigmoid is about 0.0276 (near
``|x| = 0.54``); it jumps by about 0.0045 at ``|x| = 3.4`` (Theano's pieces do
not meet there) and is constant (0.00247 and 0.99753) beyond ``|x| = 6``.
"""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from arignote.scalar.basic import upgrade_to_float
from arignote.tensor.basic import as_tensor_variable, cast, constant
from arignote.tensor.math import abs_, clip, expm1, minimum, sgn, switch

# Theano's SELU constants (Klambauer et al., 2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def as_float_tensor(x: Any):
    """``x`` as a tensor, integers and bools cast to the float that holds them."""
    x = as_tensor_variable(x)
    return cast(x, upgrade_to_float(x.dtype)[0])


def float_constant(value: float, like):
    """``value`` as a constant of ``like``'s dtype (so float32 graphs stay float32)."""
    return constant(np.asarray(value, dtype=like.dtype))


def as_parameter(value: Any, like):
    """A Python number takes ``like``'s dtype; a tensor (a learnt parameter) stays itself."""
    if isinstance(value, Number) and not isinstance(value, bool):
        return float_constant(value, like)
    return as_tensor_variable(value)


def ultra_fast_sigmoid(x: Any):
    """Theano's piecewise approximation of the sigmoid (see the module docstring for its error).

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> ultra_fast_sigmoid(x).eval({x: [-10.0, 0.0, 10.0]}).round(5).tolist()
    [0.00247, 0.5, 0.99753]
    """
    x = as_float_tensor(x)
    half = float_constant(0.5, x) * x
    size = abs_(half)
    sloped = float_constant(0.935409070603099, x) + float_constant(0.0458812946797165, x) * (
        size - float_constant(1.7, x)
    )
    tail = switch(size < 3, sloped, float_constant(0.99505475368673, x))
    # The first piece is odd on its own; writing it without sgn keeps its gradient at 0 exact.
    tanh_half = switch(
        size < float_constant(1.7, x),
        float_constant(1.5, x) * half / (1 + size),
        sgn(half) * tail,
    )
    return float_constant(0.5, x) * (tanh_half + 1)


def hard_sigmoid(x: Any):
    """``clip(0.2 * x + 0.5, 0, 1)``: Theano's hard sigmoid.

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> hard_sigmoid(x).eval({x: [-3.0, 0.0, 1.0, 3.0]}).tolist()
    [0.0, 0.5, 0.7, 1.0]
    """
    x = as_float_tensor(x)
    return clip(float_constant(0.2, x) * x + float_constant(0.5, x), 0, 1)


def softsign(x: Any):
    """``x / (1 + |x|)``.

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> softsign(x).eval({x: [-3.0, 0.0, 1.0]}).tolist()
    [-0.75, 0.0, 0.5]
    """
    x = as_float_tensor(x)
    return x / (1 + abs_(x))


def relu(x: Any, alpha: Any = 0):
    """Rectifier ``max(x, 0)``; with ``alpha``, the leaky rectifier ``x if x > 0 else alpha * x``.

    ``alpha`` may be a tensor (a learnt slope, broadcast against ``x``). With
    ``alpha = 0`` the value is Theano's ``0.5 * (x + |x|)`` (exact, gradient 1/2 at 0).

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> relu(x).eval({x: [-2.0, 3.0]}).tolist(), relu(x, 0.1).eval({x: [-2.0, 3.0]}).tolist()
    ([0.0, 3.0], [-0.2, 3.0])
    """
    x = as_float_tensor(x)
    if isinstance(alpha, Number) and alpha == 0:
        return float_constant(0.5, x) * (x + abs_(x))
    return switch(x > 0, x, as_parameter(alpha, x) * x)


def elu(x: Any, alpha: Any = 1):
    """Exponential linear unit: ``x if x > 0 else alpha * (exp(x) - 1)``.

    The exponential sees ``min(x, 0)``, so large positive inputs never overflow it
    (an ``inf`` there would turn the unused branch's gradient into NaN).

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> elu(x).eval({x: [0.0, 2.0, 1000.0]}).tolist()
    [0.0, 2.0, 1000.0]
    """
    x = as_float_tensor(x)
    return switch(x > 0, x, as_parameter(alpha, x) * expm1(minimum(x, 0)))


def selu(x: Any):
    """Scaled ELU: ``SELU_SCALE * elu(x, SELU_ALPHA)`` (self-normalising networks).

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> float(selu(x).eval({x: [1.0]})[0])
    1.0507009873554805
    """
    x = as_float_tensor(x)
    return float_constant(SELU_SCALE, x) * elu(x, float_constant(SELU_ALPHA, x))
