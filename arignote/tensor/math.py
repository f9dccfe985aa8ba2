"""Elementwise tensor math: each function is an ``Elemwise`` of a scalar op.

A new elementwise op needs its scalar op (in ``arignote.scalar.math`` or
``arignote.scalar.special``) and one line here; gradients, broadcasting and
shape inference come from ``Elemwise``. Functions that are short formulas of
these (``deg2rad``, ``isclose``, ``gammau``, ...) are composites and inherit
their gradients. Products live in ``arignote.tensor.products`` and
reductions in ``arignote.tensor.reduction``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arignote.scalar import math as scalar_math
from arignote.scalar import special as scalar_special
from arignote.scalar.basic import (
    COMPLEX_DTYPES,
    FLOAT_DTYPES,
    float_out_of_complex,
    upcast,
    upgrade_to_float,
)
from arignote.tensor.basic import as_tensor_variable, cast, constant
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
exp2 = _elemwise(scalar_math.exp2, "exp2")
expm1 = _elemwise(scalar_math.expm1, "expm1")
log = _elemwise(scalar_math.log, "log")
log2 = _elemwise(scalar_math.log2, "log2")
log10 = _elemwise(scalar_math.log10, "log10")
log1p = _elemwise(scalar_math.log1p, "log1p")
log1mexp = _elemwise(scalar_math.log1mexp, "log1mexp")
logaddexp = _elemwise(scalar_math.logaddexp, "logaddexp")
sqrt = _elemwise(scalar_math.sqrt, "sqrt")
reciprocal = _elemwise(scalar_math.reciprocal, "reciprocal")
inv = reciprocal
sin = _elemwise(scalar_math.sin, "sin")
cos = _elemwise(scalar_math.cos, "cos")
tan = _elemwise(scalar_math.tan, "tan")
arcsin = _elemwise(scalar_math.arcsin, "arcsin")
arccos = _elemwise(scalar_math.arccos, "arccos")
arctan = _elemwise(scalar_math.arctan, "arctan")
arctan2 = _elemwise(scalar_math.arctan2, "arctan2")
sinh = _elemwise(scalar_math.sinh, "sinh")
cosh = _elemwise(scalar_math.cosh, "cosh")
tanh = _elemwise(scalar_math.tanh, "tanh")
arcsinh = _elemwise(scalar_math.arcsinh, "arcsinh")
arccosh = _elemwise(scalar_math.arccosh, "arccosh")
arctanh = _elemwise(scalar_math.arctanh, "arctanh")
erf = _elemwise(scalar_special.erf, "erf")
erfc = _elemwise(scalar_special.erfc, "erfc")
erfcx = _elemwise(scalar_special.erfcx, "erfcx")
erfinv = _elemwise(scalar_special.erfinv, "erfinv")
erfcinv = _elemwise(scalar_special.erfcinv, "erfcinv")
gamma = _elemwise(scalar_special.gamma, "gamma")
gammaln = _elemwise(scalar_special.gammaln, "gammaln")
psi = _elemwise(scalar_special.psi, "psi")
tri_gamma = _elemwise(scalar_special.tri_gamma, "tri_gamma")
polygamma = _elemwise(scalar_special.polygamma, "polygamma")
gammainc = _elemwise(scalar_special.gammainc, "gammainc")
gammaincc = _elemwise(scalar_special.gammaincc, "gammaincc")
j0 = _elemwise(scalar_special.j0, "j0")
j1 = _elemwise(scalar_special.j1, "j1")
jv = _elemwise(scalar_special.jv, "jv")
i0 = _elemwise(scalar_special.i0, "i0")
i1 = _elemwise(scalar_special.i1, "i1")
iv = _elemwise(scalar_special.iv, "iv")
xlogx = _elemwise(scalar_special.xlogx, "xlogx")
xlogy0 = _elemwise(scalar_special.xlogy0, "xlogy0")
real = _elemwise(scalar_math.real, "real")
imag = _elemwise(scalar_math.imag, "imag")
conj = _elemwise(scalar_math.conj, "conj")
angle = _elemwise(scalar_math.angle, "angle")
complex = _elemwise(scalar_math.complex, "complex")
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


def _as_float(x: Any):
    """``x`` as a tensor, integers converted to the float that holds them."""
    x = as_tensor_variable(x)
    return cast(x, upgrade_to_float(x.dtype)[0])


def deg2rad(x: Any):
    """Degrees to radians; integers give floats.

    >>> import numpy as np
    >>> float(deg2rad(np.float64(180)).eval())
    3.141592653589793
    """
    x = _as_float(x)
    return x * constant(np.pi / 180, dtype=x.dtype)


def rad2deg(x: Any):
    """Radians to degrees; integers give floats."""
    x = _as_float(x)
    return x * constant(180 / np.pi, dtype=x.dtype)


def complex_from_polar(abs: Any, angle: Any):
    """The complex number of modulus ``abs`` and argument ``angle``."""
    return complex(abs * cos(angle), abs * sin(angle))


def gammau(k: Any, x: Any):
    """The upper incomplete gamma function ``Gamma(k, x)`` (not regularized)."""
    return gammaincc(k, x) * gamma(k)


def gammal(k: Any, x: Any):
    """The lower incomplete gamma function ``gamma(k, x)`` (not regularized)."""
    return gammainc(k, x) * gamma(k)


def isclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
    """NumPy's ``isclose``: ``|a - b| <= atol + rtol |b|``; infinities are close only to
    themselves, and NaNs to NaNs only when ``equal_nan``. Integers compare as float64.

    >>> import numpy as np
    >>> isclose(np.array([1.0, 1.1, np.inf]), np.array([1.0 + 1e-9, 1.0, np.inf])).eval()
    array([ True, False,  True])
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    dtype = upcast(a.dtype, b.dtype)
    if dtype not in FLOAT_DTYPES + COMPLEX_DTYPES:
        dtype = "float64"
    a, b = cast(a, dtype), cast(b, dtype)
    magnitude_dtype = float_out_of_complex(dtype)[0]
    relative = constant(rtol, dtype=magnitude_dtype) * abs(b)
    tolerance = constant(atol, dtype=magnitude_dtype) + relative
    within = and_(le(abs(a - b), tolerance), invert(isinf(b)))
    close = or_(eq(a, b), within)
    if equal_nan:
        close = or_(close, and_(isnan(a), isnan(b)))
    return close


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
    """Whether every element of ``a`` is close to ``b`` (``isclose``), as a bool scalar."""
    from arignote.tensor.reduction import all as all_

    return all_(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


__all__ = [
    "abs",
    "abs_",
    "add",
    "allclose",
    "and_",
    "angle",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "ceil",
    "clip",
    "complex",
    "complex_from_polar",
    "conj",
    "cos",
    "cosh",
    "deg2rad",
    "dot",
    "eq",
    "erf",
    "erfc",
    "erfcinv",
    "erfcx",
    "erfinv",
    "exp",
    "exp2",
    "expm1",
    "fill",
    "floor",
    "floor_div",
    "gamma",
    "gammainc",
    "gammaincc",
    "gammal",
    "gammaln",
    "gammau",
    "ge",
    "gt",
    "i0",
    "i1",
    "identity",
    "imag",
    "int_div",
    "inv",
    "invert",
    "iround",
    "isclose",
    "isinf",
    "isnan",
    "iv",
    "j0",
    "j1",
    "jv",
    "le",
    "log",
    "log1mexp",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "lt",
    "maximum",
    "minimum",
    "mod",
    "mul",
    "neg",
    "neq",
    "or_",
    "outer",
    "polygamma",
    "pow",
    "psi",
    "rad2deg",
    "real",
    "reciprocal",
    "round",
    "round_half_away_from_zero",
    "round_half_to_even",
    "second",
    "sgn",
    "sigmoid",
    "sin",
    "sinh",
    "softplus",
    "sqr",
    "sqrt",
    "square",
    "sub",
    "switch",
    "tan",
    "tanh",
    "tensor_copy",
    "tri_gamma",
    "true_div",
    "true_divide",
    "trunc",
    "where",
    "xlogx",
    "xlogy0",
    "xor",
]
from arignote.tensor.products import dot, outer  # noqa: E402,F401
