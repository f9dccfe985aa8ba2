"""Elementwise tensor math: each function is an ``Elemwise`` of a scalar op.

A new elementwise op needs its scalar op (in ``arignote.scalar.math``) and
one line here; gradients, broadcasting and shape inference come from
``Elemwise``. Products live in ``arignote.tensor.products`` and reductions
in ``arignote.tensor.reduction``; both are re-exported here, as Theano had
them in one module.
"""

from __future__ import annotations

from typing import Any

from arignote.scalar import math as scalar_math
from arignote.tensor.basic import as_tensor_variable, cast
from arignote.tensor.elemwise import Elemwise


def _elemwise(scalar_op, name: str) -> Elemwise:
    op = Elemwise(scalar_op)

    def apply(*inputs: Any):
        return op(*inputs)

    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"Elementwise ``{scalar_op}`` with Theano's broadcasting."
    apply.op = op  # type: ignore[attr-defined]
    return apply


add = _elemwise(scalar_math.add, "add")
sub = _elemwise(scalar_math.sub, "sub")
mul = _elemwise(scalar_math.mul, "mul")
true_div = _elemwise(scalar_math.true_div, "true_div")
int_div = _elemwise(scalar_math.int_div, "int_div")
mod = _elemwise(scalar_math.mod, "mod")
pow = _elemwise(scalar_math.pow, "pow")
neg = _elemwise(scalar_math.neg, "neg")
abs = _elemwise(scalar_math.abs_, "abs")
abs_ = abs
sgn = _elemwise(scalar_math.sgn, "sgn")
sqr = _elemwise(scalar_math.sqr, "sqr")
square = sqr
maximum = _elemwise(scalar_math.maximum, "maximum")
minimum = _elemwise(scalar_math.minimum, "minimum")
exp = _elemwise(scalar_math.exp, "exp")
expm1 = _elemwise(scalar_math.expm1, "expm1")
log = _elemwise(scalar_math.log, "log")
log1p = _elemwise(scalar_math.log1p, "log1p")
sqrt = _elemwise(scalar_math.sqrt, "sqrt")
sin = _elemwise(scalar_math.sin, "sin")
cos = _elemwise(scalar_math.cos, "cos")
tanh = _elemwise(scalar_math.tanh, "tanh")
sigmoid = _elemwise(scalar_math.sigmoid, "sigmoid")
softplus = _elemwise(scalar_math.softplus, "softplus")
floor = _elemwise(scalar_math.floor, "floor")
ceil = _elemwise(scalar_math.ceil, "ceil")
trunc = _elemwise(scalar_math.trunc, "trunc")
round_half_to_even = _elemwise(scalar_math.round_half_to_even, "round_half_to_even")
round_half_away_from_zero = _elemwise(
    scalar_math.round_half_away_from_zero, "round_half_away_from_zero"
)
isnan = _elemwise(scalar_math.isnan, "isnan")
isinf = _elemwise(scalar_math.isinf, "isinf")
lt = _elemwise(scalar_math.lt, "lt")
gt = _elemwise(scalar_math.gt, "gt")
le = _elemwise(scalar_math.le, "le")
ge = _elemwise(scalar_math.ge, "ge")
eq = _elemwise(scalar_math.eq, "eq")
neq = _elemwise(scalar_math.neq, "neq")
and_ = _elemwise(scalar_math.and_, "and_")
or_ = _elemwise(scalar_math.or_, "or_")
xor = _elemwise(scalar_math.xor, "xor")
invert = _elemwise(scalar_math.invert, "invert")
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = and_, or_, xor, invert
switch = _elemwise(scalar_math.switch, "switch")
where = switch
fill = _elemwise(scalar_math.second, "fill")
second = fill
identity = _elemwise(scalar_math.identity, "identity")
tensor_copy = identity
_clip = _elemwise(scalar_math.clip, "clip")


def clip(x: Any, a_min: Any, a_max: Any):
    """``x`` limited to ``[a_min, a_max]``; the gradient flows where ``x`` is inside."""
    x = as_tensor_variable(x)
    return _clip(x, cast_like_float(a_min, x), cast_like_float(a_max, x))


def cast_like_float(bound: Any, like) -> Any:
    """Python float bounds take ``like``'s float dtype, so clip keeps float32 float32."""
    if isinstance(bound, float) and like.dtype.startswith("float"):
        return cast(as_tensor_variable(bound), like.dtype)
    return bound


def round(x: Any, mode: str | None = None):
    """Round to nearest; ties to even by default (NumPy's rule, Theano's default since 0.9)."""
    mode = mode or "half_to_even"
    if mode == "half_away_from_zero":
        return round_half_away_from_zero(x)
    if mode == "half_to_even":
        return round_half_to_even(x)
    raise ValueError(f"round mode must be 'half_away_from_zero' or 'half_to_even', got {mode!r}")


def iround(x: Any, mode: str | None = None):
    """``round(x, mode)`` as int64."""
    return cast(round(x, mode), "int64")


def true_divide(x: Any, y: Any):
    return true_div(x, y)


def floor_div(x: Any, y: Any):
    return int_div(x, y)
from arignote.tensor.products import dot, outer  # noqa: E402,F401
