"""SciPy's special functions as scalar ops: error functions, gamma functions, Bessel functions.

Each op is ``scipy.special``'s function with Theano's dtype rule (integers
give floats, ``upgrade_to_float``) and its derivative as a graph of other
scalar ops, for example ``erf' = 2/sqrt(pi) exp(-x^2)``, ``gammaln' = psi``,
``psi' = tri_gamma``, ``j0' = -j1``. These functions are real only: a complex
input is refused when the graph is built. Derivatives with respect to an
order or shape parameter (``v`` of ``jv``, ``k`` of ``gammainc``) have no
closed form here; they are ``grad_not_implemented``, so ``grad`` raises and
names the op, and integer orders (``n`` of ``polygamma``) are
``grad_undefined``.
"""

from __future__ import annotations

import numpy as np

from arignote.scalar.basic import constant_like, require_discrete, scipy_special, upgrade_to_float
from arignote.scalar.math import (
    FloatBinaryOp,
    FloatUnaryOp,
    exp,
    log,
    sqr,
)

_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)
_SQRT_PI_OVER_TWO = np.sqrt(np.pi) / 2.0


def _no_closed_form(op, position, variable, parameter):
    # Imported here: arignote.gradient imports this package.
    from arignote.gradient import grad_not_implemented

    return grad_not_implemented(
        op, position, variable, f"the derivative in the parameter {parameter} has no closed form"
    )


class SpecialUnaryOp(FloatUnaryOp):
    accepts_complex = False


# ---- error functions ----------------------------------------------------------------
class Erf(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("erf"))

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * constant_like(_TWO_OVER_SQRT_PI, outputs[0]) * exp(-sqr(inputs[0]))]


class Erfc(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("erfc"))

    def L_op(self, inputs, outputs, gout):
        return [-gout[0] * constant_like(_TWO_OVER_SQRT_PI, outputs[0]) * exp(-sqr(inputs[0]))]


class Erfcx(SpecialUnaryOp):
    """``exp(x^2) erfc(x)``, which stays finite where ``erfc`` underflows."""

    numpy_fn = staticmethod(scipy_special("erfcx"))

    def L_op(self, inputs, outputs, gout):
        slope = 2 * inputs[0] * outputs[0] - constant_like(_TWO_OVER_SQRT_PI, outputs[0])
        return [gout[0] * slope]


class Erfinv(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("erfinv"))

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * constant_like(_SQRT_PI_OVER_TWO, outputs[0]) * exp(sqr(outputs[0]))]


class Erfcinv(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("erfcinv"))

    def L_op(self, inputs, outputs, gout):
        return [-gout[0] * constant_like(_SQRT_PI_OVER_TWO, outputs[0]) * exp(sqr(outputs[0]))]


# ---- gamma and its relatives --------------------------------------------------------
class Gamma(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("gamma"))

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * outputs[0] * psi(inputs[0])]


class GammaLn(SpecialUnaryOp):
    """``log|gamma(x)|``."""

    numpy_fn = staticmethod(scipy_special("gammaln"))

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * psi(inputs[0])]


class Psi(SpecialUnaryOp):
    """The digamma function, ``gamma'(x) / gamma(x)``."""

    numpy_fn = staticmethod(scipy_special("psi"))

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * tri_gamma(inputs[0])]


def _trigamma(x):
    return scipy_special("polygamma")(1, x)


class TriGamma(SpecialUnaryOp):
    """The derivative of ``psi``: ``polygamma(1, x)``."""

    numpy_fn = staticmethod(_trigamma)

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * polygamma(2, inputs[0])]


def _polygamma_out(order_dtype: str, x_dtype: str) -> tuple[str, ...]:
    return upgrade_to_float(x_dtype)


class PolyGamma(FloatBinaryOp):
    """``polygamma(n, x)``: the ``n``-th derivative of ``psi``; ``n`` is an integer."""

    numpy_fn = staticmethod(scipy_special("polygamma"))
    dtype_rule = staticmethod(_polygamma_out)

    def output_dtypes(self, *input_dtypes):
        require_discrete(self, input_dtypes[:1])
        return super().output_dtypes(*input_dtypes)

    def L_op(self, inputs, outputs, gout):
        from arignote.gradient import grad_undefined

        n, x = inputs
        return [
            grad_undefined(self, 0, n, "the order n is an integer"),
            gout[0] * polygamma(n + 1, x),
        ]


def _incomplete_gamma_slope(k, x):
    """d/dx of the regularized lower incomplete gamma function: x^(k-1) e^-x / gamma(k)."""
    return exp(-x) * x ** (k - 1) / gamma(k)


class GammaInc(FloatBinaryOp):
    """The regularized lower incomplete gamma function ``P(k, x)``."""

    numpy_fn = staticmethod(scipy_special("gammainc"))

    def L_op(self, inputs, outputs, gout):
        k, x = inputs
        return [
            _no_closed_form(self, 0, k, "k"),
            gout[0] * _incomplete_gamma_slope(k, x),
        ]


class GammaIncC(FloatBinaryOp):
    """The regularized upper incomplete gamma function ``Q(k, x) = 1 - P(k, x)``."""

    numpy_fn = staticmethod(scipy_special("gammaincc"))

    def L_op(self, inputs, outputs, gout):
        k, x = inputs
        return [
            _no_closed_form(self, 0, k, "k"),
            -gout[0] * _incomplete_gamma_slope(k, x),
        ]


# ---- Bessel functions ---------------------------------------------------------------
class J0(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("j0"))

    def L_op(self, inputs, outputs, gout):
        return [-gout[0] * j1(inputs[0])]


class J1(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("j1"))

    def L_op(self, inputs, outputs, gout):
        x = inputs[0]
        return [gout[0] * (j0(x) - jv(2, x)) * 0.5]


class Jv(FloatBinaryOp):
    """The Bessel function of the first kind of real order ``v``."""

    numpy_fn = staticmethod(scipy_special("jv"))

    def L_op(self, inputs, outputs, gout):
        v, x = inputs
        return [
            _no_closed_form(self, 0, v, "v"),
            gout[0] * (jv(v - 1, x) - jv(v + 1, x)) * 0.5,
        ]


class I0(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("i0"))

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * i1(inputs[0])]


class I1(SpecialUnaryOp):
    numpy_fn = staticmethod(scipy_special("i1"))

    def L_op(self, inputs, outputs, gout):
        x = inputs[0]
        return [gout[0] * (i0(x) + iv(2, x)) * 0.5]


class Iv(FloatBinaryOp):
    """The modified Bessel function of the first kind of real order ``v``."""

    numpy_fn = staticmethod(scipy_special("iv"))

    def L_op(self, inputs, outputs, gout):
        v, x = inputs
        return [
            _no_closed_form(self, 0, v, "v"),
            gout[0] * (iv(v - 1, x) + iv(v + 1, x)) * 0.5,
        ]


# ---- x log x ------------------------------------------------------------------------
def _xlogx(x):
    return scipy_special("xlogy")(x, x)


class XLogX(SpecialUnaryOp):
    """``x log(x)``, with ``xlogx(0) = 0`` (its limit)."""

    numpy_fn = staticmethod(_xlogx)

    def L_op(self, inputs, outputs, gout):
        return [gout[0] * (log(inputs[0]) + 1)]


class XLogY0(FloatBinaryOp):
    """``x log(y)``, with ``0`` wherever ``x == 0`` (even where ``log(y)`` is infinite)."""

    numpy_fn = staticmethod(scipy_special("xlogy"))

    def L_op(self, inputs, outputs, gout):
        x, y = inputs
        return [gout[0] * log(y), gout[0] * x / y]


erf = Erf()
erfc = Erfc()
erfcx = Erfcx()
erfinv = Erfinv()
erfcinv = Erfcinv()
gamma = Gamma()
gammaln = GammaLn()
psi = Psi()
tri_gamma = TriGamma()
polygamma = PolyGamma()
gammainc = GammaInc()
gammaincc = GammaIncC()
j0 = J0()
j1 = J1()
jv = Jv()
i0 = I0()
i1 = I1()
iv = Iv()
xlogx = XLogX()
xlogy0 = XLogY0()
