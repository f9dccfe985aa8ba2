"""The scalar op catalogue: each op's NumPy rule, dtype rule and derivative together.

Derivatives are graphs of scalar ops. Gradients with respect to integer or
bool inputs are zero; ``arignote.gradient`` enforces that centrally, so the
rules below are written for continuous inputs only.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from arignote.scalar.basic import (
    ScalarOp,
    as_scalar,
    bool_out,
    float_out_of_complex,
    require_discrete,
    same_out,
    true_div_out,
    upcast_out,
    upgrade_to_float,
    zero_grads,
)


class UnaryScalarOp(ScalarOp):
    nin = 1


class BinaryScalarOp(ScalarOp):
    nin = 2


class VariadicScalarOp(ScalarOp):
    """Ops like ``add`` and ``mul`` that take any number of inputs."""

    nin = -1

    def compute(self, *values):
        result = values[0]
        for value in values[1:]:
            result = type(self).numpy_fn(result, value)
        return result


# ---- arithmetic ---------------------------------------------------------------------
class Add(VariadicScalarOp):
    numpy_fn = np.add

    def L_op(self, inputs, outputs, gout):
        return [gout[0]] * len(inputs)


class Mul(VariadicScalarOp):
    numpy_fn = np.multiply

    def L_op(self, inputs, outputs, gout):
        grads = []
        for position in range(len(inputs)):
            others = [x for j, x in enumerate(inputs) if j != position]
            grads.append(mul(gout[0], *others) if others else gout[0])
        return grads


class Sub(BinaryScalarOp):
    numpy_fn = np.subtract

    def L_op(self, inputs, outputs, gout):
        return [gout[0], -gout[0]]


class TrueDiv(BinaryScalarOp):
    numpy_fn = np.true_divide
    dtype_rule = staticmethod(true_div_out)

    def L_op(self, inputs, outputs, gout):
        y = inputs[1]
        return [gout[0] / y, -gout[0] * outputs[0] / y]


class IntDiv(BinaryScalarOp):
    """Floor division, ``//``, as in Python."""

    numpy_fn = np.floor_divide

    def L_op(self, inputs, outputs, gout):
        return zero_grads(inputs)


class Mod(BinaryScalarOp):
    """Remainder with the sign of the divisor, as Python's ``%``."""

    numpy_fn = np.mod

    def L_op(self, inputs, outputs, gout):
        x, y = inputs
        return [gout[0], -gout[0] * int_div(x, y)]


class Pow(BinaryScalarOp):
    numpy_fn = np.power

    def L_op(self, inputs, outputs, gout):
        x, y = inputs
        (gz,) = gout
        gx = gz * y * x ** (y - 1)
        # d/dy x**y = log(x) x**y; where x == 0 the product is taken as 0, not nan.
        gy = switch(eq(x, 0), 0, gz * log(x) * outputs[0])
        return [gx, gy]


class Neg(UnaryScalarOp):
    numpy_fn = np.negative
    dtype_rule = staticmethod(same_out)

    def L_op(self, inputs, outputs, gout):
        return [-gout[0]]


class Abs(UnaryScalarOp):
    numpy_fn = np.abs
    dtype_rule = staticmethod(float_out_of_complex)

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * sgn(inputs[0])]


class Sgn(UnaryScalarOp):
    numpy_fn = np.sign
    dtype_rule = staticmethod(same_out)

    def L_op(self, inputs, outputs, gout):
        return zero_grads(inputs)


class Sqr(UnaryScalarOp):
    numpy_fn = np.square
    dtype_rule = staticmethod(same_out)

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * 2 * inputs[0]]


class Maximum(BinaryScalarOp):
    numpy_fn = np.maximum

    def L_op(self, inputs, outputs, gout):
        # Ties send the gradient to both inputs, as Theano did.
        return [gout[0] * eq(outputs[0], x) for x in inputs]


class Minimum(BinaryScalarOp):
    numpy_fn = np.minimum

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * eq(outputs[0], x) for x in inputs]


# ---- exponentials, logarithms, trigonometry ----------------------------------------
class FloatUnaryOp(UnaryScalarOp):
    """A unary op whose integer inputs give float outputs.

    Integers are converted to the output dtype before NumPy sees them: NumPy
    would compute ``log(int8)`` in float16 and lose most of float32's digits.
    """

    dtype_rule = staticmethod(upgrade_to_float)

    def compute(self, x):
        x = np.asarray(x)
        if x.dtype.kind in "biu":
            x = x.astype(self.output_dtypes(str(x.dtype))[0])
        return type(self).numpy_fn(x)


class Exp(FloatUnaryOp):
    numpy_fn = np.exp

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * outputs[0]]


class Expm1(FloatUnaryOp):
    numpy_fn = np.expm1

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * (outputs[0] + 1)]


class Log(FloatUnaryOp):
    numpy_fn = np.log

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / inputs[0]]


class Log1p(FloatUnaryOp):
    numpy_fn = np.log1p

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / (1 + inputs[0])]


class Sqrt(FloatUnaryOp):
    numpy_fn = np.sqrt

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * 0.5 / outputs[0]]


class Sin(FloatUnaryOp):
    numpy_fn = np.sin

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * cos(inputs[0])]


class Cos(FloatUnaryOp):
    numpy_fn = np.cos

    def L_op(self, inputs, outputs, gout):
        return [-gout[0] * sin(inputs[0])]


class Tanh(FloatUnaryOp):
    numpy_fn = np.tanh

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * (1 - sqr(outputs[0]))]


class Sigmoid(FloatUnaryOp):
    numpy_fn = scipy.special.expit

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * outputs[0] * (1 - outputs[0])]


def _softplus(x):
    """log(1 + exp(x)) without overflow for large x nor loss for very negative x."""
    return np.logaddexp(np.zeros((), dtype=np.result_type(x, np.float32)), x)


class Softplus(FloatUnaryOp):
    numpy_fn = staticmethod(_softplus)

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * sigmoid(inputs[0])]


# ---- rounding -----------------------------------------------------------------------
class RoundingOp(FloatUnaryOp):
    """Floor, ceil and friends: integers become floats (as in Theano), derivative zero."""

    def L_op(self, inputs, outputs, gout):
        return zero_grads(inputs)


class Floor(RoundingOp):
    numpy_fn = np.floor


class Ceil(RoundingOp):
    numpy_fn = np.ceil


class Trunc(RoundingOp):
    numpy_fn = np.trunc


class RoundHalfToEven(RoundingOp):
    numpy_fn = np.round


def _round_half_away_from_zero(x):
    whole = np.trunc(x)
    # x - trunc(x) is exact in floating point, so the half-way test is exact too.
    return whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0).astype(whole.dtype)


class RoundHalfAwayFromZero(RoundingOp):
    numpy_fn = staticmethod(_round_half_away_from_zero)


# ---- comparisons and logic ----------------------------------------------------------
class Comparison(BinaryScalarOp):
    dtype_rule = staticmethod(bool_out)

    def L_op(self, inputs, outputs, gout):
        return zero_grads(inputs)


class LT(Comparison):
    numpy_fn = np.less


class GT(Comparison):
    numpy_fn = np.greater


class LE(Comparison):
    numpy_fn = np.less_equal


class GE(Comparison):
    numpy_fn = np.greater_equal


class EQ(Comparison):
    numpy_fn = np.equal


class NEQ(Comparison):
    numpy_fn = np.not_equal


class IsNan(UnaryScalarOp):
    numpy_fn = np.isnan
    dtype_rule = staticmethod(bool_out)

    def L_op(self, inputs, outputs, gout):
        return zero_grads(inputs)


class IsInf(IsNan):
    numpy_fn = np.isinf


class BitwiseOp(ScalarOp):
    """``& | ^ ~`` on integers and bools (logical on bools)."""

    def output_dtypes(self, *input_dtypes):
        require_discrete(self, input_dtypes)
        return super().output_dtypes(*input_dtypes)

    def L_op(self, inputs, outputs, gout):
        return zero_grads(inputs)


class And(BitwiseOp, BinaryScalarOp):
    numpy_fn = np.bitwise_and


class Or(BitwiseOp, BinaryScalarOp):
    numpy_fn = np.bitwise_or


class Xor(BitwiseOp, BinaryScalarOp):
    numpy_fn = np.bitwise_xor


class Invert(BitwiseOp, UnaryScalarOp):
    numpy_fn = np.invert
    dtype_rule = staticmethod(same_out)


# ---- selection and conversion -------------------------------------------------------
class Switch(ScalarOp):
    """``switch(cond, a, b)``: ``a`` where ``cond`` is true, else ``b``."""

    nin = 3
    numpy_fn = np.where

    @staticmethod
    def dtype_rule(cond, a, b):
        return upcast_out(a, b)

    def L_op(self, inputs, outputs, gout):
        cond = inputs[0]
        (gz,) = gout
        zero = as_scalar(np.zeros((), dtype=gz.dtype))
        return [zero_grads([cond])[0], switch(cond, gz, zero), switch(cond, zero, gz)]


class Second(BinaryScalarOp):
    """``second(a, b) = b``: the value of ``b`` where ``a`` only sets the shape (``fill``)."""

    @staticmethod
    def numpy_fn(a, b):
        return np.broadcast_to(b, np.broadcast_shapes(np.shape(a), np.shape(b)))

    @staticmethod
    def dtype_rule(a, b):
        return (b,)

    def L_op(self, inputs, outputs, gout):
        return [zero_grads(inputs[:1])[0], gout[0]]


class Identity(UnaryScalarOp):
    numpy_fn = staticmethod(np.positive)
    dtype_rule = staticmethod(same_out)

    def L_op(self, inputs, outputs, gout):
        return [gout[0]]


class Clip(ScalarOp):
    """``clip(x, low, high)``; the gradient goes to whichever bound is active."""

    nin = 3
    numpy_fn = np.clip

    def L_op(self, inputs, outputs, gout):
        x, low, high = inputs
        (gz,) = gout
        inside = and_(ge(x, low), le(x, high))
        return [gz * inside, gz * lt(x, low), gz * gt(x, high)]


class Cast(UnaryScalarOp):
    __props__ = ("dtype",)

    def __init__(self, dtype: str):
        self.dtype = str(np.dtype(dtype))
        super().__init__(f"cast{{{self.dtype}}}")

    def output_dtypes(self, *input_dtypes):
        return (self.dtype,)

    def compute(self, x):
        return np.asarray(x).astype(self.dtype)

    def L_op(self, inputs, outputs, gout):
        return [cast(gout[0], inputs[0].type.dtype)]


def cast(x, dtype: str):
    return Cast(dtype)(x)


add = Add()
mul = Mul()
sub = Sub()
true_div = TrueDiv()
int_div = IntDiv()
mod = Mod()
pow = Pow()
neg = Neg()
abs_ = Abs(name="abs")
sgn = Sgn()
sqr = Sqr()
maximum = Maximum()
minimum = Minimum()
exp = Exp()
expm1 = Expm1()
log = Log()
log1p = Log1p()
sqrt = Sqrt()
sin = Sin()
cos = Cos()
tanh = Tanh()
sigmoid = Sigmoid()
softplus = Softplus()
floor = Floor()
ceil = Ceil()
trunc = Trunc()
round_half_to_even = RoundHalfToEven()
round_half_away_from_zero = RoundHalfAwayFromZero()
lt = LT()
gt = GT()
le = LE()
ge = GE()
eq = EQ()
neq = NEQ()
isnan = IsNan()
isinf = IsInf()
and_ = And(name="and_")
or_ = Or(name="or_")
xor = Xor()
invert = Invert()
switch = Switch()
second = Second()
identity = Identity()
clip = Clip()
