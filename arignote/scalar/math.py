"""The scalar op catalogue: each op's NumPy rule, dtype rule and derivative together.

Derivatives are graphs of scalar ops. Gradients with respect to integer or
bool inputs are zero; ``arignote.gradient`` enforces that centrally, so the
rules below are written for continuous inputs only. Ops marked
``complex_gradient`` pull back ``g`` through a holomorphic ``f`` as
``g * conj(f'(z))`` (see ``arignote.scalar.basic``); ``_conjugate`` is the
identity on real variables, so those rules read the same for real inputs.
SciPy's special functions live in ``arignote.scalar.special``.
"""

from __future__ import annotations

import numpy as np

from arignote.scalar.basic import (
    COMPLEX_DTYPES,
    ScalarOp,
    as_scalar,
    bool_out,
    constant_like,
    float_out_of_complex,
    require_discrete,
    same_out,
    scipy_special,
    true_div_out,
    upcast,
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


class FloatOp(ScalarOp):
    """An op whose integer and bool inputs give float outputs (Theano's ``upgrade_to_float``).

    Integers are converted to the output dtype before NumPy sees them: NumPy
    would compute ``log(int8)`` in float16 and lose most of float32's digits.
    """

    dtype_rule = staticmethod(upgrade_to_float)

    def compute(self, *values):
        arrays = [np.asarray(v) for v in values]
        dtype = self.output_dtypes(*(str(a.dtype) for a in arrays))[0]
        return type(self).numpy_fn(
            *(a.astype(dtype) if a.dtype.kind in "biu" else a for a in arrays)
        )


class FloatUnaryOp(FloatOp, UnaryScalarOp):
    pass


class FloatBinaryOp(FloatOp, BinaryScalarOp):
    """A float function of two real arguments (``arctan2``, ``gammainc``, ...)."""

    accepts_complex = False


def _conjugate(x):
    """``conj(x)`` for a complex scalar variable, ``x`` itself for a real one."""
    return conj(x) if x.type.dtype in COMPLEX_DTYPES else x


# ---- arithmetic ---------------------------------------------------------------------
class Add(VariadicScalarOp):
    numpy_fn = np.add
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [gout[0]] * len(inputs)


class Mul(VariadicScalarOp):
    numpy_fn = np.multiply
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        grads = []
        for position in range(len(inputs)):
            others = [_conjugate(x) for j, x in enumerate(inputs) if j != position]
            grads.append(mul(gout[0], *others) if others else gout[0])
        return grads


class Sub(BinaryScalarOp):
    numpy_fn = np.subtract
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [gout[0], -gout[0]]


class TrueDiv(BinaryScalarOp):
    numpy_fn = np.true_divide
    dtype_rule = staticmethod(true_div_out)
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        y = _conjugate(inputs[1])
        return [gout[0] / y, -gout[0] * _conjugate(outputs[0]) / y]


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
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [-gout[0]]


class Abs(UnaryScalarOp):
    numpy_fn = np.abs
    dtype_rule = staticmethod(float_out_of_complex)
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        # sgn(z) = z / |z| for complex z: the direction of steepest ascent of |z|.
        return [gout[0] * sgn(inputs[0])]


class Sgn(UnaryScalarOp):
    numpy_fn = np.sign
    dtype_rule = staticmethod(same_out)

    def L_op(self, inputs, outputs, gout):
        return zero_grads(inputs)


class Sqr(UnaryScalarOp):
    numpy_fn = np.square
    dtype_rule = staticmethod(same_out)
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * 2 * _conjugate(inputs[0])]


class Maximum(BinaryScalarOp):
    numpy_fn = np.maximum

    def L_op(self, inputs, outputs, gout):
        # Ties send the gradient to both inputs, as Theano did.
        return [gout[0] * eq(outputs[0], x) for x in inputs]


class Minimum(BinaryScalarOp):
    numpy_fn = np.minimum

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * eq(outputs[0], x) for x in inputs]


# ---- exponentials and logarithms -----------------------------------------------------
class Exp(FloatUnaryOp):
    numpy_fn = np.exp
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * _conjugate(outputs[0])]


class Exp2(FloatUnaryOp):
    numpy_fn = np.exp2

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * outputs[0] * constant_like(np.log(2.0), outputs[0])]


class Expm1(FloatUnaryOp):
    numpy_fn = np.expm1

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * (outputs[0] + 1)]


class Log(FloatUnaryOp):
    numpy_fn = np.log
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / _conjugate(inputs[0])]


class Log2(FloatUnaryOp):
    numpy_fn = np.log2

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / (inputs[0] * constant_like(np.log(2.0), outputs[0]))]


class Log10(FloatUnaryOp):
    numpy_fn = np.log10

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / (inputs[0] * constant_like(np.log(10.0), outputs[0]))]


class Log1p(FloatUnaryOp):
    numpy_fn = np.log1p

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / (1 + inputs[0])]


class Sqrt(FloatUnaryOp):
    numpy_fn = np.sqrt
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * 0.5 / _conjugate(outputs[0])]


class Reciprocal(FloatUnaryOp):
    """``1 / x``; integers give floats (Theano's ``inv``), never NumPy's integer reciprocal."""

    numpy_fn = np.reciprocal
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [-gout[0] * sqr(_conjugate(outputs[0]))]


def _log1mexp(x):
    """``log(1 - exp(x))`` for ``x <= 0``, accurate both near 0 and far below it (Maechler)."""
    return np.where(x < -np.log(2.0), np.log1p(-np.exp(x)), np.log(-np.expm1(x)))


class Log1mExp(FloatUnaryOp):
    numpy_fn = staticmethod(_log1mexp)
    accepts_complex = False

    def L_op(self, inputs, outputs, gout):
        # d/dx log(1 - e^x) = -1 / (e^-x - 1), without cancellation near 0.
        return [-gout[0] / expm1(-inputs[0])]


class LogAddExp(FloatBinaryOp):
    """``log(exp(a) + exp(b))`` without overflow."""

    numpy_fn = np.logaddexp

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * exp(x - outputs[0]) for x in inputs]


# ---- trigonometry -------------------------------------------------------------------
class Sin(FloatUnaryOp):
    numpy_fn = np.sin

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * cos(inputs[0])]


class Cos(FloatUnaryOp):
    numpy_fn = np.cos

    def L_op(self, inputs, outputs, gout):
        return [-gout[0] * sin(inputs[0])]


class Tan(FloatUnaryOp):
    numpy_fn = np.tan

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * (1 + sqr(outputs[0]))]


class ArcSin(FloatUnaryOp):
    numpy_fn = np.arcsin

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / sqrt(1 - sqr(inputs[0]))]


class ArcCos(FloatUnaryOp):
    numpy_fn = np.arccos

    def L_op(self, inputs, outputs, gout):
        return [-gout[0] / sqrt(1 - sqr(inputs[0]))]


class ArcTan(FloatUnaryOp):
    numpy_fn = np.arctan

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / (1 + sqr(inputs[0]))]


class ArcTan2(FloatBinaryOp):
    """``arctan2(y, x)``: the angle of the point ``(x, y)``, in ``[-pi, pi]``."""

    numpy_fn = np.arctan2

    def L_op(self, inputs, outputs, gout):
        y, x = inputs
        radius_squared = sqr(x) + sqr(y)
        return [gout[0] * x / radius_squared, -gout[0] * y / radius_squared]


class Sinh(FloatUnaryOp):
    numpy_fn = np.sinh

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * cosh(inputs[0])]


class Cosh(FloatUnaryOp):
    numpy_fn = np.cosh

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * sinh(inputs[0])]


class Tanh(FloatUnaryOp):
    numpy_fn = np.tanh

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * (1 - sqr(outputs[0]))]


class ArcSinh(FloatUnaryOp):
    numpy_fn = np.arcsinh

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / sqrt(sqr(inputs[0]) + 1)]


class ArcCosh(FloatUnaryOp):
    numpy_fn = np.arccosh

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / sqrt(sqr(inputs[0]) - 1)]


class ArcTanh(FloatUnaryOp):
    numpy_fn = np.arctanh

    def L_op(self, inputs, outputs, gout):
        return [gout[0] / (1 - sqr(inputs[0]))]


class Sigmoid(FloatUnaryOp):
    numpy_fn = staticmethod(scipy_special("expit"))

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
    complex_gradient = True

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

    complex_gradient = True

    @staticmethod
    def dtype_rule(a, b):
        return (b,)

    def L_op(self, inputs, outputs, gout):
        return [zero_grads(inputs[:1])[0], gout[0]]


class Identity(UnaryScalarOp):
    numpy_fn = staticmethod(np.positive)
    dtype_rule = staticmethod(same_out)
    complex_gradient = True

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
    complex_gradient = True

    def __init__(self, dtype: str):
        self.dtype = str(np.dtype(dtype))
        super().__init__(f"cast{{{self.dtype}}}")

    def output_dtypes(self, *input_dtypes):
        return (self.dtype,)

    def compute(self, x):
        return np.asarray(x).astype(self.dtype)

    def L_op(self, inputs, outputs, gout):
        (gz,) = gout
        if gz.type.dtype in COMPLEX_DTYPES and inputs[0].type.dtype not in COMPLEX_DTYPES:
            gz = real(gz)  # a real input moves only the real part of the output
        return [cast(gz, inputs[0].type.dtype)]


# ---- complex numbers ----------------------------------------------------------------
class Real(UnaryScalarOp):
    numpy_fn = np.real
    dtype_rule = staticmethod(float_out_of_complex)
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        if inputs[0].type.dtype in COMPLEX_DTYPES:
            return [complex(gout[0], constant_like(0, gout[0]))]
        return [gout[0]]


class Imag(UnaryScalarOp):
    numpy_fn = np.imag
    dtype_rule = staticmethod(float_out_of_complex)
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        if inputs[0].type.dtype in COMPLEX_DTYPES:
            return [complex(constant_like(0, gout[0]), gout[0])]
        return zero_grads(inputs)


class Conj(UnaryScalarOp):
    numpy_fn = np.conjugate
    dtype_rule = staticmethod(same_out)
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [_conjugate(gout[0])]


def _angle_out(dtype: str) -> tuple[str, ...]:
    return float_out_of_complex(dtype) if dtype in COMPLEX_DTYPES else upgrade_to_float(dtype)


class Angle(UnaryScalarOp):
    """The argument of a complex number, in ``[-pi, pi]`` (``0`` or ``pi`` for reals)."""

    numpy_fn = np.angle
    dtype_rule = staticmethod(_angle_out)
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        (z,) = inputs
        if z.type.dtype not in COMPLEX_DTYPES:
            return zero_grads(inputs)
        # d angle = (Re z dIm - Im z dRe) / |z|^2
        x, y = real(z), imag(z)
        return [gout[0] * complex(-y, x) / (sqr(x) + sqr(y))]


_COMPLEX64_PARTS = ("bool", "int8", "int16", "uint8", "uint16", "float16", "float32")


def _complex_out(real_dtype: str, imag_dtype: str) -> tuple[str, ...]:
    parts = upcast(real_dtype, imag_dtype)
    return ("complex64" if parts in _COMPLEX64_PARTS else "complex128",)


def _complex(real_part, imag_part):
    """``real_part + 1j * imag_part``, exactly (``inf * 1j`` would give a nan real part)."""
    real_part, imag_part = np.broadcast_arrays(real_part, imag_part)
    dtype = _complex_out(str(real_part.dtype), str(imag_part.dtype))[0]
    result = np.empty(real_part.shape, dtype=dtype)
    result.real = real_part
    result.imag = imag_part
    return result


class Complex(BinaryScalarOp):
    """``complex(re, im)``: float32 and small integers give complex64, else complex128."""

    numpy_fn = staticmethod(_complex)
    dtype_rule = staticmethod(_complex_out)
    accepts_complex = False
    complex_gradient = True

    def L_op(self, inputs, outputs, gout):
        return [real(gout[0]), imag(gout[0])]


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
exp2 = Exp2()
expm1 = Expm1()
log = Log()
log2 = Log2()
log10 = Log10()
log1p = Log1p()
log1mexp = Log1mExp()
logaddexp = LogAddExp()
sqrt = Sqrt()
reciprocal = Reciprocal()
sin = Sin()
cos = Cos()
tan = Tan()
arcsin = ArcSin()
arccos = ArcCos()
arctan = ArcTan()
arctan2 = ArcTan2()
sinh = Sinh()
cosh = Cosh()
tanh = Tanh()
arcsinh = ArcSinh()
arccosh = ArcCosh()
arctanh = ArcTanh()
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
real = Real()
imag = Imag()
conj = Conj()
angle = Angle()
complex = Complex()
