"""Elementwise ops against NumPy/SciPy: one table, then dtype rules, edge cases and errors.

Every row of ``CASES`` (run by ``tests/test_op_tables.py``) runs on each of
its layouts (the core rows on every layout of their arity: same shapes, 0-d,
empty, and Theano broadcasting: row+matrix, col+row, a vector left-padded
against a matrix, 0-d against a matrix; the catalogue rows on a few) and
every dtype combination listed, comparing value, shape and dtype with the
NumPy/SciPy reference. Rows marked ``grad`` are checked by finite
differences in float64, on domains chosen away from kinks and poles; complex
functions are differentiated through real inputs (``abs(complex(a, b))``).
Theano's dtype rules, broadcasting errors, IEEE edge cases, numerically
delicate functions and the ``TensorVariable`` operator protocol follow.
"""

from __future__ import annotations

import warnings
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
import scipy.special

import arignote
import arignote.tensor as T
from arignote.config import config
from arignote.gradient import NullType, NullTypeGradError
from tests.helpers import OpCase, case_id, evaluate, uniform, variable_for

# ---- layouts: one shape per input; a length of 1 is declared broadcastable -------------------
UNARY = (((5,),), ((),), ((0,),), ((2, 3, 4),), ((3, 1),))
BINARY = (
    ((3, 4), (3, 4)),
    ((), ()),
    ((0,), (0,)),
    ((1, 4), (3, 4)),  # row + matrix
    ((3, 1), (1, 4)),  # col + row
    ((4,), (3, 4)),  # vector + matrix: the vector is padded on the left
    ((), (2, 3)),  # 0-d + matrix
    ((0, 3), (1, 3)),  # empty matrix + row
    ((2, 1, 3), (4, 3)),  # 3-d + matrix
)
TERNARY = (
    ((3, 4), (3, 4), (3, 4)),
    ((3, 1), (1, 4), ()),
    ((0, 2), (1, 2), (0, 1)),
    ((), (), ()),
)
GRAD_LAYOUTS = {
    1: (((5,),), ((),), ((2, 3),)),
    2: (((3, 4), (3, 4)), ((1, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (3, 4)), ((), (2, 3))),
    3: (((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), ())),
}
LAYOUTS = {1: UNARY, 2: BINARY, 3: TERNARY}
# The catalogue rows: a few layouts each keep the table fast.
FEW1 = (((2, 3),), ((),), ((0,),))
FEW2 = (((3, 4), (3, 4)), ((1, 4), (3, 4)), ((0,), (0,)), ((), (2, 3)))
FEW_GRAD1 = (((2, 2),),)
FEW_GRAD2 = (((1, 3), (2, 3)),)

# ---- dtype combinations ----------------------------------------------------------------------
FLOATS1 = (("float64",), ("float32",))
NUMERIC1 = FLOATS1 + (("int32",), ("int8",), ("uint8",))
SIGNED1 = FLOATS1 + (("int32",), ("int8",))
FLOATS2 = (("float64", "float64"), ("float32", "float32"))
NUMERIC2 = FLOATS2 + (
    ("int8", "int8"),
    ("int32", "int32"),
    ("int8", "int16"),
    ("uint8", "int8"),
    ("float32", "int8"),
    ("int32", "float32"),
    ("float32", "float64"),
)
DISCRETE2 = (("bool", "bool"), ("int8", "int8"), ("int32", "int16"), ("uint8", "uint8"))
FLOATISH1 = FLOATS1 + (("int8",),)
FLOATISH2 = FLOATS2 + (("int8", "int16"), ("int32", "float32"))
COMPLEX1 = (("complex128",), ("complex64",))
COMPLEX2 = (("complex128", "complex128"), ("complex64", "complex64"), ("complex64", "float64"))

# ---- Theano's output dtypes, where they are not NumPy's --------------------------------------
_SMALL_INTS = ("bool", "int8", "int16", "uint8", "uint16")


def float_of(dtype: str) -> str:
    """Theano's ``upgrade_to_float``: small integers give float32, wider ones float64."""
    if dtype in _SMALL_INTS:
        return "float32"
    return dtype if np.dtype(dtype).kind in "fc" else "float64"


def true_div_dtype(a: str, b: str) -> str:
    """Theano's ``TrueDiv``: integer over integer gives floatX; otherwise NumPy's upcast."""
    if np.dtype(a).kind in "biu" and np.dtype(b).kind in "biu":
        return config.floatX
    return str(np.result_type(a, b))


def bool_dtype(*dtypes: str) -> str:
    return "bool"


def round_half_away_reference(x):
    """Exact: ``Decimal`` holds the binary value of each float, so ties are real ties."""
    rounded = [float(Decimal(float(v)).quantize(Decimal(1), ROUND_HALF_UP)) for v in x.ravel()]
    return np.asarray(rounded, dtype=x.dtype).reshape(x.shape)


def coin(values):
    """A sampler picking among a few values, so that comparisons meet ties."""

    def sample(rng, shape, dtype):
        return np.asarray(rng.choice(values, size=shape), dtype=dtype)

    return sample


def off_integers(low, high):
    """Floats at least 0.1 away from every integer (the jumps of floor and ceil); integers."""

    def sample(rng, shape, dtype):
        whole = rng.integers(low, high, size=shape)
        if np.dtype(dtype).kind in "iu":
            return np.asarray(whole, dtype=dtype)
        return np.asarray(whole + rng.uniform(0.1, 0.9, size=shape), dtype=dtype)

    return sample


def complex_uniform(low, high):
    """Complex values with real and imaginary parts in ``[low, high]``; real dtypes as
    ``uniform``."""
    real_sampler = uniform(low, high)

    def sample(rng, shape, dtype):
        if np.dtype(dtype).kind != "c":
            return real_sampler(rng, shape, dtype)
        parts = rng.uniform(low, high, size=(2, *shape))
        return np.asarray(parts[0] + 1j * parts[1], dtype=dtype)

    return sample


def complex_dtype(*dtypes: str) -> str:
    """``T.complex``'s rule: float32 and small integers give complex64, the rest complex128."""
    wide = str(np.result_type(*dtypes))
    return "complex64" if wide in _SMALL_INTS + ("float16", "float32") else "complex128"


def angle_dtype(dtype: str) -> str:
    return {"complex64": "float32", "complex128": "float64"}.get(dtype) or float_of(dtype)


def float_of_last(*dtypes: str) -> str:
    return float_of(dtypes[-1])


def float_of_all(*dtypes: str) -> str:
    return float_of(str(np.result_type(*dtypes)))


def in_common_float(reference):
    """``reference`` evaluated on its inputs converted to the op's float dtype (NumPy would
    take ``log`` of a float32 ``y`` in float32 before multiplying by an int32 ``x``)."""

    def evaluate_widened(*values):
        dtype = float_of_all(*(str(v.dtype) for v in values))
        return reference(*(v.astype(dtype) for v in values))

    return evaluate_widened


ANY = uniform(-3, 3)
NONZERO = uniform(-3, 3, avoid=(0,), gap=0.5)
POSITIVE = uniform(0.5, 4)
SMALL = uniform(-2, 2)
UNIT = uniform(-0.9, 0.9)
CPLX = complex_uniform(-2, 2)
CPLX_NONZERO = complex_uniform(0.5, 2)


def unary(name, build, reference, domain=ANY, dtypes=NUMERIC1, **options):
    options = {"grad_layouts": GRAD_LAYOUTS[1], **options}
    return OpCase(name, build, reference, (domain,), dtypes, UNARY, **options)


def binary(name, build, reference, domains=(ANY, ANY), dtypes=NUMERIC2, **options):
    options = {"grad_layouts": GRAD_LAYOUTS[2], **options}
    return OpCase(name, build, reference, domains, dtypes, BINARY, **options)


def ternary(name, build, reference, domains, dtypes, **options):
    options = {"grad_layouts": GRAD_LAYOUTS[3], **options}
    return OpCase(name, build, reference, domains, dtypes, TERNARY, **options)


def float_fn(name, build, reference, domain=ANY, dtypes=FLOATISH1, **options):
    """A catalogue row of a float function of one argument: integers give floats."""
    options = {"out_dtype": float_of, "grad": True, "grad_layouts": FEW_GRAD1, **options}
    return OpCase(name, build, reference, (domain,), dtypes, FEW1, **options)


def float_fn2(name, build, reference, domains, dtypes=FLOATISH2, **options):
    options = {"out_dtype": float_of_all, "grad": True, "grad_layouts": FEW_GRAD2, **options}
    return OpCase(name, build, reference, domains, dtypes, FEW2, **options)


def complex_row(name, build, reference, nin, dtypes, domain=CPLX, **options):
    layouts = FEW1 if nin == 1 else FEW2
    return OpCase(name, build, reference, (domain,) * nin, dtypes, layouts, **options)


def through_complex(name, build, reference):
    """A real function of two real inputs built through complex values: its gradient
    checks the complex pullbacks (the right half-plane keeps log and sqrt off their cut)."""
    return OpCase(
        name, build, reference, (POSITIVE, ANY), FLOATS2, FEW2, grad=True, grad_layouts=FEW_GRAD2
    )


CASES = [
    # arithmetic
    binary("add", T.add, np.add, grad=True),
    ternary(
        "add3",
        T.add,
        lambda a, b, c: a + b + c,
        (ANY,) * 3,
        (("float64",) * 3, ("int8", "int16", "float32")),
        grad=True,
    ),
    binary("sub", T.sub, np.subtract, grad=True),
    binary("mul", T.mul, np.multiply, grad=True),
    ternary(
        "mul3",
        T.mul,
        lambda a, b, c: a * b * c,
        (ANY,) * 3,
        (("float64",) * 3, ("float32", "int8", "int8")),
        grad=True,
    ),
    binary(
        "true_div", T.true_div, np.true_divide, (ANY, NONZERO), out_dtype=true_div_dtype, grad=True
    ),
    binary("int_div", T.int_div, np.floor_divide, (ANY, NONZERO)),
    binary("mod", T.mod, np.mod, (ANY, NONZERO), grad=True),
    binary(
        "pow",
        T.pow,
        np.power,
        (POSITIVE, uniform(0, 3)),
        dtypes=FLOATS2 + (("int8", "int8"), ("int32", "int32"), ("float32", "int8")),
        grad=True,
    ),
    unary("neg", T.neg, np.negative, dtypes=SIGNED1, grad=True),
    unary("abs", T.abs, np.abs, NONZERO, dtypes=SIGNED1, grad=True),
    unary("sgn", T.sgn, np.sign, NONZERO, dtypes=SIGNED1, grad=True),
    unary("sqr", T.sqr, np.square, grad=True),
    binary("maximum", T.maximum, np.maximum, grad=True),
    binary("minimum", T.minimum, np.minimum, grad=True),
    # exponentials, logarithms, trigonometry: integers give floats (Theano's upgrade_to_float)
    unary("exp", T.exp, np.exp, out_dtype=float_of, grad=True),
    unary("expm1", T.expm1, np.expm1, out_dtype=float_of, grad=True),
    unary("log", T.log, np.log, POSITIVE, out_dtype=float_of, grad=True),
    unary("log1p", T.log1p, np.log1p, uniform(-0.5, 3), out_dtype=float_of, grad=True),
    unary("sqrt", T.sqrt, np.sqrt, POSITIVE, out_dtype=float_of, grad=True),
    unary("sin", T.sin, np.sin, out_dtype=float_of, grad=True),
    unary("cos", T.cos, np.cos, out_dtype=float_of, grad=True),
    unary("tanh", T.tanh, np.tanh, out_dtype=float_of, grad=True),
    unary("sigmoid", T.sigmoid, scipy.special.expit, uniform(-8, 8), out_dtype=float_of, grad=True),
    unary(
        "softplus",
        T.softplus,
        lambda x: np.logaddexp(0, x),
        uniform(-8, 8),
        out_dtype=float_of,
        grad=True,
    ),
    # rounding: the derivative is 0 away from the jumps
    unary("floor", T.floor, np.floor, off_integers(-3, 3), out_dtype=float_of, grad=True),
    unary("ceil", T.ceil, np.ceil, off_integers(-3, 3), out_dtype=float_of, grad=True),
    unary("trunc", T.trunc, np.trunc, off_integers(-3, 3), out_dtype=float_of, grad=True),
    unary("round", T.round, np.round, out_dtype=float_of),
    unary("iround", T.iround, lambda x: np.round(x).astype("int64"), dtypes=FLOATS1),
    unary(
        "round_half_to_even",
        lambda x: T.round(x, "half_to_even"),
        np.round,
        coin([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999999999999994, 1.2, -3.7]),
        dtypes=FLOATS1,
    ),
    unary(
        "round_half_away_from_zero",
        lambda x: T.round(x, "half_away_from_zero"),
        round_half_away_reference,
        coin([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999999999999994, 1.2, -3.7]),
        dtypes=FLOATS1,
    ),
    # comparisons: bool; coins make ties
    binary("lt", T.lt, np.less, (coin([-1, 0, 1]),) * 2, out_dtype=bool_dtype),
    binary("gt", T.gt, np.greater, (coin([-1, 0, 1]),) * 2, out_dtype=bool_dtype),
    binary("le", T.le, np.less_equal, (coin([-1, 0, 1]),) * 2, out_dtype=bool_dtype),
    binary("ge", T.ge, np.greater_equal, (coin([-1, 0, 1]),) * 2, out_dtype=bool_dtype),
    binary("eq", T.eq, np.equal, (coin([-1, 0, 1]),) * 2, out_dtype=bool_dtype),
    binary("neq", T.neq, np.not_equal, (coin([-1, 0, 1]),) * 2, out_dtype=bool_dtype),
    unary("isnan", T.isnan, np.isnan, coin([0.0, np.nan, np.inf, -1.5]), FLOATS1),
    unary("isinf", T.isinf, np.isinf, coin([0.0, np.nan, np.inf, -np.inf]), FLOATS1),
    # logic and bits on bools and integers
    binary("and_", T.and_, np.bitwise_and, (SMALL, SMALL), DISCRETE2),
    binary("or_", T.or_, np.bitwise_or, (SMALL, SMALL), DISCRETE2),
    binary("xor", T.xor, np.bitwise_xor, (SMALL, SMALL), DISCRETE2),
    unary("invert", T.invert, np.invert, SMALL, (("bool",), ("int8",), ("uint8",), ("int64",))),
    # selection, clipping, casting
    ternary(
        "switch",
        T.switch,
        np.where,
        (coin([0, 1]), ANY, ANY),
        (
            ("bool", "float64", "float64"),
            ("bool", "float32", "int8"),
            ("int8", "int32", "int32"),
            ("float64", "float64", "float32"),
        ),
    ),
    ternary(
        "switch_on_comparison",
        lambda c, a, b: T.switch(c > 0, a, b),
        lambda c, a, b: np.where(c > 0, a, b),
        (NONZERO, ANY, ANY),
        (("float64",) * 3, ("int8", "float32", "float32")),
        grad=True,
    ),
    ternary(
        "clip",
        T.clip,
        np.clip,
        (ANY, uniform(-2, -0.5), uniform(0.5, 2)),
        (("float64",) * 3, ("float32", "float32", "float32"), ("int8", "int8", "int16")),
        grad=True,
    ),
    unary("cast_int32", lambda x: T.cast(x, "int32"), lambda x: x.astype("int32")),
    unary("cast_float32", lambda x: T.cast(x, "float32"), lambda x: x.astype("float32")),
    unary("cast_bool", lambda x: T.cast(x, "bool"), lambda x: x.astype("bool"), coin([-1, 0, 2])),
    unary("astype_int8", lambda x: x.astype("int8"), lambda x: x.astype("int8")),
    unary("identity", T.identity, np.positive, grad=True),
    unary("fill", lambda x: T.fill(x, 2.5), lambda x: np.full_like(x, 2.5, dtype="float32")),
    # operators, and Python numbers with Theano's autocasting of literals
    binary("operator+", lambda a, b: a + b, np.add),
    binary("operator-", lambda a, b: a - b, np.subtract),
    binary("operator*", lambda a, b: a * b, np.multiply),
    binary(
        "operator/", lambda a, b: a / b, np.true_divide, (ANY, NONZERO), out_dtype=true_div_dtype
    ),
    binary("operator//", lambda a, b: a // b, np.floor_divide, (ANY, NONZERO)),
    binary("operator%", lambda a, b: a % b, np.mod, (ANY, NONZERO)),
    binary("operator**", lambda a, b: a**b, np.power, (POSITIVE, uniform(0, 3)), FLOATS2),
    binary("operator<", lambda a, b: a < b, np.less, out_dtype=bool_dtype),
    binary("operator<=", lambda a, b: a <= b, np.less_equal, out_dtype=bool_dtype),
    binary("operator>", lambda a, b: a > b, np.greater, out_dtype=bool_dtype),
    binary("operator>=", lambda a, b: a >= b, np.greater_equal, out_dtype=bool_dtype),
    binary("operator&", lambda a, b: a & b, np.bitwise_and, (SMALL, SMALL), DISCRETE2),
    binary("operator|", lambda a, b: a | b, np.bitwise_or, (SMALL, SMALL), DISCRETE2),
    binary("operator^", lambda a, b: a ^ b, np.bitwise_xor, (SMALL, SMALL), DISCRETE2),
    unary("operator~", lambda x: ~x, np.invert, SMALL, (("bool",), ("int8",))),
    unary("operator-unary", lambda x: -x, np.negative, dtypes=SIGNED1, grad=True),
    unary("builtin_abs", abs, np.abs, NONZERO, dtypes=SIGNED1, grad=True),
    unary("x*1.5", lambda x: x * 1.5, lambda x: x * np.float32(1.5), grad=True),
    unary("x*0.1", lambda x: x * 0.1, lambda x: x * np.float64(0.1), grad=True),
    unary("x+1", lambda x: x + 1, lambda x: x + np.int8(1)),
    unary("x+1000", lambda x: x + 1000, lambda x: x + np.int16(1000)),
    unary("2-x", lambda x: 2 - x, lambda x: np.int8(2) - x, dtypes=SIGNED1, grad=True),
    unary(
        "3/x",
        lambda x: 3 / x,
        lambda x: np.int8(3) / x,
        NONZERO,
        out_dtype=lambda d: true_div_dtype("int8", d),
        grad=True,
    ),
    unary("7//x", lambda x: 7 // x, lambda x: np.int8(7) // x, NONZERO),
    unary("7%x", lambda x: 7 % x, lambda x: np.int8(7) % x, NONZERO),
    unary("2**x", lambda x: 2**x, lambda x: np.int8(2) ** x, uniform(0, 3), grad=True),
    unary("x**2", lambda x: x**2, lambda x: x ** np.int8(2), grad=True),
    unary(
        "x**0.5",
        lambda x: x**0.5,
        lambda x: x ** np.float32(0.5),
        POSITIVE,
        dtypes=FLOATS1,
        grad=True,
    ),
    unary("1.5*x", lambda x: 1.5 * x, lambda x: np.float32(1.5) * x),
    unary(
        "clip_method",
        lambda x: x.clip(-0.1, 0.1),
        lambda x: np.clip(x, np.asarray(-0.1, x.dtype), np.asarray(0.1, x.dtype)),
        dtypes=FLOATS1,
    ),
    unary("round_method", lambda x: x.round(), np.round, out_dtype=float_of, dtypes=FLOATS1),
    # ---- the catalogue: exponentials, logarithms, trigonometry ----------------------------
    float_fn("exp2", T.exp2, np.exp2),
    float_fn("log2", T.log2, np.log2, POSITIVE),
    float_fn("log10", T.log10, np.log10, POSITIVE),
    float_fn("log1mexp", T.log1mexp, lambda x: np.log(-np.expm1(x)), uniform(-4, -0.1)),
    float_fn2("logaddexp", T.logaddexp, np.logaddexp, (ANY, ANY)),
    float_fn("reciprocal", T.reciprocal, lambda x: 1.0 / x, NONZERO),
    float_fn("tan", T.tan, np.tan, uniform(-1.2, 1.2)),
    float_fn("arcsin", T.arcsin, np.arcsin, UNIT),
    float_fn("arccos", T.arccos, np.arccos, UNIT),
    float_fn("arctan", T.arctan, np.arctan),
    float_fn2("arctan2", T.arctan2, np.arctan2, (NONZERO, NONZERO)),
    float_fn("sinh", T.sinh, np.sinh),
    float_fn("cosh", T.cosh, np.cosh),
    float_fn("arcsinh", T.arcsinh, np.arcsinh),
    float_fn("arccosh", T.arccosh, np.arccosh, uniform(1.2, 4)),
    float_fn("arctanh", T.arctanh, np.arctanh, UNIT),
    float_fn("deg2rad", T.deg2rad, np.deg2rad),
    float_fn("rad2deg", T.rad2deg, np.rad2deg),
    # ---- SciPy's special functions (real only) --------------------------------------------
    float_fn("erf", T.erf, scipy.special.erf),
    float_fn("erfc", T.erfc, scipy.special.erfc),
    float_fn("erfcx", T.erfcx, scipy.special.erfcx, uniform(-2, 3)),
    float_fn("erfinv", T.erfinv, scipy.special.erfinv, UNIT),
    float_fn("erfcinv", T.erfcinv, scipy.special.erfcinv, uniform(0.1, 1.9)),
    float_fn("gamma", T.gamma, scipy.special.gamma, POSITIVE),
    float_fn("gammaln", T.gammaln, scipy.special.gammaln, POSITIVE),
    float_fn("psi", T.psi, scipy.special.psi, POSITIVE),
    float_fn("tri_gamma", T.tri_gamma, lambda x: scipy.special.polygamma(1, x), POSITIVE),
    OpCase(
        "polygamma",
        T.polygamma,
        scipy.special.polygamma,
        (coin([0, 1, 2, 3]), POSITIVE),
        (("int8", "float64"), ("int32", "float32"), ("int64", "int8")),
        FEW2,
        out_dtype=float_of_last,
    ),
    float_fn(
        "polygamma_dx",
        lambda x: T.polygamma(2, x),
        lambda x: scipy.special.polygamma(2, x),
        POSITIVE,
        FLOATS1,
    ),
    float_fn2(
        "gammainc", T.gammainc, scipy.special.gammainc, (POSITIVE, uniform(0.1, 4)), grad=False
    ),
    float_fn2(
        "gammaincc", T.gammaincc, scipy.special.gammaincc, (POSITIVE, uniform(0.1, 4)), grad=False
    ),
    float_fn(
        "gammainc_dx",
        lambda x: T.gammainc(2.5, x),
        lambda x: scipy.special.gammainc(2.5, x),
        uniform(0.1, 4),
        (("float64",),),
    ),
    float_fn(
        "gammaincc_dx",
        lambda x: T.gammaincc(0.5, x),
        lambda x: scipy.special.gammaincc(0.5, x),
        uniform(0.1, 4),
        (("float64",),),
    ),
    float_fn2(
        "gammau",
        T.gammau,
        lambda k, x: scipy.special.gammaincc(k, x) * scipy.special.gamma(k),
        (POSITIVE, uniform(0.1, 4)),
        FLOATS2,
        grad=False,
    ),
    float_fn2(
        "gammal",
        T.gammal,
        lambda k, x: scipy.special.gammainc(k, x) * scipy.special.gamma(k),
        (POSITIVE, uniform(0.1, 4)),
        FLOATS2,
        grad=False,
    ),
    float_fn("j0", T.j0, scipy.special.j0),
    float_fn("j1", T.j1, scipy.special.j1),
    float_fn2("jv", T.jv, scipy.special.jv, (uniform(0, 3), POSITIVE), grad=False),
    float_fn(
        "jv_dx", lambda x: T.jv(1.5, x), lambda x: scipy.special.jv(1.5, x), POSITIVE, FLOATS1
    ),
    float_fn("i0", T.i0, scipy.special.i0),
    float_fn("i1", T.i1, scipy.special.i1),
    float_fn2("iv", T.iv, scipy.special.iv, (uniform(0, 3), ANY), grad=False),
    float_fn(
        "iv_dx", lambda x: T.iv(2.5, x), lambda x: scipy.special.iv(2.5, x), POSITIVE, FLOATS1
    ),
    float_fn("xlogx", T.xlogx, lambda x: x * np.log(x), uniform(0.2, 3)),
    float_fn2("xlogy0", T.xlogy0, in_common_float(lambda x, y: x * np.log(y)), (ANY, POSITIVE)),
    # ---- closeness ------------------------------------------------------------------------
    binary(
        "isclose",
        T.isclose,
        np.isclose,
        (coin([0.0, 1e-9, 1.0, 1.0 + 1e-6, 1.1, np.nan, np.inf, -np.inf]),) * 2,
        FLOATS2 + (("float32", "float64"),),
        out_dtype=bool_dtype,
    ),
    binary(
        "isclose_equal_nan",
        lambda a, b: T.isclose(a, b, rtol=0.1, atol=0.0, equal_nan=True),
        lambda a, b: np.isclose(a, b, rtol=0.1, atol=0.0, equal_nan=True),
        (coin([1.0, 1.05, 1.2, np.nan, np.inf]),) * 2,
        FLOATS2,
        out_dtype=bool_dtype,
    ),
    binary(
        "isclose_ints",
        T.isclose,
        np.isclose,
        (SMALL, SMALL),
        (("int8", "int32"),),
        out_dtype=bool_dtype,
    ),
    OpCase(
        "allclose",
        T.allclose,
        np.allclose,
        (coin([1.0, 1.0 + 1e-9, 1.0 + 1e-3]),) * 2,
        FLOATS2,
        FEW2 + (((2,), (2,)),),
        out_dtype=bool_dtype,
    ),
    # ---- complex numbers: values ----------------------------------------------------------
    complex_row(
        "complex",
        T.complex,
        lambda a, b: a + 1j * b,
        2,
        FLOATS2 + (("int8", "int16"), ("int32", "float32")),
        ANY,
        out_dtype=complex_dtype,
    ),
    complex_row("real", T.real, np.real, 1, COMPLEX1 + (("float32",), ("int8",))),
    complex_row("imag", T.imag, np.imag, 1, COMPLEX1 + (("float64",),)),
    complex_row("conj", T.conj, np.conj, 1, COMPLEX1 + (("float64",),)),
    complex_row(
        "angle", T.angle, np.angle, 1, COMPLEX1 + FLOATS1 + (("int8",),), out_dtype=angle_dtype
    ),
    complex_row("complex_abs", T.abs, np.abs, 1, COMPLEX1),
    complex_row("complex_neg", T.neg, np.negative, 1, COMPLEX1),
    complex_row("complex_exp", T.exp, np.exp, 1, COMPLEX1),
    complex_row("complex_log", T.log, np.log, 1, COMPLEX1, CPLX_NONZERO),
    complex_row("complex_sqrt", T.sqrt, np.sqrt, 1, COMPLEX1),
    complex_row("complex_sqr", T.sqr, np.square, 1, COMPLEX1),
    complex_row("complex_reciprocal", T.reciprocal, np.reciprocal, 1, COMPLEX1, CPLX_NONZERO),
    complex_row("complex_sin", T.sin, np.sin, 1, COMPLEX1),
    complex_row("complex_add", T.add, np.add, 2, COMPLEX2),
    complex_row("complex_sub", T.sub, np.subtract, 2, COMPLEX2),
    complex_row("complex_mul", T.mul, np.multiply, 2, COMPLEX2),
    complex_row("complex_true_div", T.true_div, np.true_divide, 2, COMPLEX2, CPLX_NONZERO),
    complex_row(
        "cast_complex128",
        lambda x: T.cast(x, "complex128"),
        lambda x: x.astype("complex128"),
        1,
        FLOATS1 + (("complex64",),),
    ),
    complex_row(
        "complex_from_polar", T.complex_from_polar, lambda r, t: r * np.exp(1j * t), 2, FLOATS2, ANY
    ),
    # ---- complex numbers: gradients, through real inputs ----------------------------------
    through_complex("grad_abs_complex", lambda a, b: T.abs(T.complex(a, b)), np.hypot),
    through_complex(
        "grad_angle", lambda a, b: T.angle(T.complex(a, b)), lambda a, b: np.arctan2(b, a)
    ),
    through_complex(
        "grad_real_imag_of_products",
        lambda a, b: (
            T.real(T.complex(a, b) * T.complex(b, a))
            + T.imag(T.complex(a, b) / T.complex(a, b * b))
        ),
        lambda a, b: (
            np.real((a + 1j * b) * (b + 1j * a)) + np.imag((a + 1j * b) / (a + 1j * b * b))
        ),
    ),
    through_complex(
        "grad_exp_log_sqrt",
        lambda a, b: T.abs(
            T.exp(T.complex(a, b)) + T.log(T.complex(a, b)) * T.sqrt(T.complex(a, b))
        ),
        lambda a, b: np.abs(np.exp(a + 1j * b) + np.log(a + 1j * b) * np.sqrt(a + 1j * b)),
    ),
    through_complex(
        "grad_conj_sqr_reciprocal_neg",
        lambda a, b: T.imag(T.conj(T.sqr(T.complex(a, b))) - T.reciprocal(T.complex(b, a))),
        lambda a, b: np.imag(np.conj((a + 1j * b) ** 2) - 1 / (b + 1j * a)),
    ),
    through_complex(
        "grad_cast_and_mixed_add",
        lambda a, b: T.angle(T.cast(a, "complex128") * T.complex(b, a) + a - b),
        lambda a, b: np.angle(a.astype("complex128") * (b + 1j * a) + a - b),
    ),
    through_complex(
        "grad_complex_from_polar",
        lambda r, t: T.real(T.complex_from_polar(r, t)) * T.imag(T.complex_from_polar(r, t)),
        lambda r, t: (r * np.cos(t)) * (r * np.sin(t)),
    ),
]


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=case_id)
def test_pullback_gradients_have_their_inputs_types(case):
    """``L_op`` itself (not only ``grad``) returns one gradient per input, of that input's
    ndim, dtype-castable, and never broadcastable where the input is not (``floor``'s
    constant 0 must still have the input's shape). Null gradients (of an integer order,
    say) are left to ``grad``."""
    for layout in case.layouts:
        inputs = [variable_for(np.zeros(shape)) for shape in layout]
        node = case.build(*inputs).owner
        gradients = node.op.L_op(node.inputs, node.outputs, [o.type() for o in node.outputs])
        for variable, gradient in zip(node.inputs, gradients):
            if isinstance(gradient.type, NullType):
                continue
            assert gradient.ndim == variable.ndim
            assert all(
                b or not g for g, b in zip(gradient.broadcastable, variable.broadcastable)
            ), (case.name, layout, gradient.type, variable.type)


def test_table_covers_the_required_ops():
    required = [
        "add",
        "sub",
        "mul",
        "true_div",
        "int_div",
        "mod",
        "pow",
        "neg",
        "abs",
        "exp",
        "log",
        "log1p",
        "expm1",
        "sqrt",
        "sqr",
        "sin",
        "cos",
        "tanh",
        "sigmoid",
        "softplus",
        "maximum",
        "minimum",
        "sgn",
        "floor",
        "ceil",
        "round",
        "lt",
        "gt",
        "le",
        "ge",
        "eq",
        "neq",
        "and_",
        "or_",
        "xor",
        "invert",
        "switch",
        "clip",
        "exp2",
        "log2",
        "log10",
        "trunc",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "arctan2",
        "sinh",
        "cosh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "erf",
        "erfc",
        "erfinv",
        "erfcinv",
        "erfcx",
        "gamma",
        "gammaln",
        "psi",
        "tri_gamma",
        "gammainc",
        "gammaincc",
        "j0",
        "j1",
        "i0",
        "i1",
        "xlogx",
        "xlogy0",
        "log1mexp",
        "logaddexp",
        "reciprocal",
        "deg2rad",
        "rad2deg",
        "isnan",
        "isinf",
        "isclose",
        "allclose",
        "real",
        "imag",
        "angle",
        "conj",
        "complex",
        "iround",
    ]
    names = {case.name for case in CASES}
    assert not [name for name in required if name not in names]


def test_the_catalogue_is_in_theanos_namespace():
    names = [
        "exp2",
        "log2",
        "log10",
        "trunc",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "arctan2",
        "sinh",
        "cosh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "erf",
        "erfc",
        "erfinv",
        "erfcinv",
        "erfcx",
        "gamma",
        "gammaln",
        "psi",
        "tri_gamma",
        "polygamma",
        "gammainc",
        "gammaincc",
        "gammau",
        "gammal",
        "j0",
        "j1",
        "jv",
        "i0",
        "i1",
        "iv",
        "xlogx",
        "xlogy0",
        "log1mexp",
        "logaddexp",
        "reciprocal",
        "inv",
        "abs_",
        "sqr",
        "square",
        "deg2rad",
        "rad2deg",
        "isnan",
        "isinf",
        "isclose",
        "allclose",
        "real",
        "imag",
        "angle",
        "conj",
        "complex",
        "complex_from_polar",
        "iround",
        "clip",
        "and_",
        "or_",
        "xor",
        "invert",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "bitwise_not",
        "identity",
        "tensor_copy",
    ]
    assert [name for name in names if not callable(getattr(T, name, None))] == []


# ---- Theano's dtype rules --------------------------------------------------------------------
@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: T.bvector() + T.bvector(), "int8"),
        (lambda: T.bvector() + T.wvector(), "int16"),
        (lambda: T.bvector() + 1, "int8"),
        (lambda: T.bvector() + 300, "int16"),
        (lambda: T.ivector() / T.ivector(), "float64"),
        (lambda: T.bvector() / T.bvector(), "float64"),
        (lambda: T.bvector() / T.fvector(), "float32"),
        (lambda: T.bvector() // T.bvector(), "int8"),
        (lambda: T.fvector() * 1.5, "float32"),
        (lambda: T.fvector() * 0.1, "float64"),
        (lambda: T.fvector() + 1, "float32"),
        (lambda: T.fvector() * np.float64(2), "float64"),
        (lambda: T.fvector() < T.fvector(), "bool"),
        (lambda: T.eq(T.ivector(), 1), "bool"),
        (lambda: T.exp(T.ivector()), "float64"),
        (lambda: T.exp(T.bvector()), "float32"),
        (lambda: T.sqrt(T.lvector()), "float64"),
        (lambda: T.floor(T.bvector()), "float32"),
        (lambda: T.sqr(T.bvector()), "int8"),
        (lambda: T.abs(T.ivector()), "int32"),
        (lambda: T.switch(T.bvector() > 0, T.fvector(), 1), "float32"),
        (lambda: T.maximum(T.fvector(), T.ivector()), "float64"),
        (lambda: T.cast(T.fvector(), "int16"), "int16"),
        (lambda: T.fvector().clip(0.1, 0.9), "float32"),
        (lambda: T.exp2(T.bvector()), "float32"),
        (lambda: T.erf(T.ivector()), "float64"),
        (lambda: T.gammaln(T.fvector()), "float32"),
        (lambda: T.gammainc(T.bvector(), T.fvector()), "float32"),
        (lambda: T.arctan2(T.ivector(), T.ivector()), "float64"),
        (lambda: T.polygamma(1, T.fvector()), "float32"),
        (lambda: T.reciprocal(T.ivector()), "float64"),
        (lambda: T.inv(T.bvector()), "float32"),
        (lambda: T.deg2rad(T.fvector()), "float32"),
        (lambda: T.xlogy0(T.fvector(), T.dvector()), "float64"),
        (lambda: T.complex(T.fvector(), T.fvector()), "complex64"),
        (lambda: T.complex(T.ivector(), T.bvector()), "complex128"),
        (lambda: T.abs(T.vector(dtype="complex64")), "float32"),
        (lambda: T.angle(T.vector(dtype="complex128")), "float64"),
        (lambda: T.real(T.fvector()), "float32"),
        (lambda: T.exp(T.vector(dtype="complex64")), "complex64"),
        (lambda: T.isclose(T.fvector(), T.ivector()), "bool"),
        (lambda: T.allclose(T.fvector(), T.fvector()), "bool"),
    ],
)
def test_theano_dtype_rules(build, expected):
    assert build().dtype == expected


def test_floatx_float32_changes_literals_and_integer_division():
    with config.change_flags(floatX="float32"):
        assert (T.fvector() * 0.1).dtype == "float32"
        assert (T.ivector() / T.ivector()).dtype == "float32"
        assert (T.bvector() / T.bvector()).dtype == "float32"
        assert T.vector().dtype == "float32"


# ---- broadcasting ----------------------------------------------------------------------------
def test_undeclared_length_one_dimension_is_an_error_that_says_how_to_declare_it():
    x, y = T.matrix("x"), T.matrix("y")
    f = arignote.function([x, y], x + y)
    with pytest.raises(
        ValueError, match=r"(?s)axis 0.*\(1, 3\).*T\.row.*broadcastable.*addbroadcast"
    ):
        f(np.ones((1, 3)), np.ones((2, 3)))


def test_left_padded_vector_must_match_columns():
    x, v = T.matrix("x"), T.vector("v")
    f = arignote.function([x, v], x * v)
    np.testing.assert_allclose(f(np.ones((2, 3)), np.arange(3.0)), np.ones((2, 3)) * np.arange(3))
    with pytest.raises(ValueError, match=r"axis 1.*T\.row"):
        f(np.ones((2, 3)), np.ones(1))
    with pytest.raises(ValueError, match=r"axis 1"):
        f(np.ones((2, 3)), np.ones(4))


def test_static_shape_mismatch_raises_when_the_graph_is_built():
    a = T.tensor("float64", shape=(2, 3), name="a")
    b = T.tensor("float64", shape=(2, 4), name="b")
    with pytest.raises(ValueError, match=r"cannot be broadcast.*axis 1"):
        a + b


def test_static_shapes_propagate():
    out = T.tensor("float64", shape=(None, 3)) + T.row()
    assert out.type.shape == (None, 3)
    assert (T.col() * T.row()).type.shape == (None, None)
    assert (T.col() * T.tensor("float64", shape=(1, 1))).broadcastable == (False, True)


# ---- IEEE edge cases: right values, no warnings ----------------------------------------------
@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.usefixtures("warnings_are_errors")
def test_division_by_zero_gives_ieee_values_without_warnings():
    x = T.vector("x")
    np.testing.assert_array_equal((x / 0.0).eval({x: [1.0, -1.0, 0.0]}), [np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal((x // 0.0).eval({x: [1.0, -1.0]}), [np.inf, -np.inf])
    np.testing.assert_array_equal(T.log(x).eval({x: [0.0]}), [-np.inf])


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softplus_and_sigmoid_at_extremes(dtype):
    x = T.vector("x", dtype=dtype)
    big = np.asarray([1000.0, -1000.0, 0.0], dtype=dtype)
    softplus = T.softplus(x).eval({x: big})
    assert softplus.dtype == dtype
    assert softplus[0] == 1000.0 and 0.0 <= softplus[1] < 1e-30
    np.testing.assert_allclose(softplus[2], np.log(2.0), rtol=1e-6)
    np.testing.assert_array_equal(T.sigmoid(x).eval({x: big}), np.asarray([1.0, 0.0, 0.5], dtype))
    slopes = arignote.function([x], T.grad(T.softplus(x).sum(), x))(big)
    np.testing.assert_array_equal(slopes, np.asarray([1.0, 0.0, 0.5], dtype))
    sigmoid_slopes = arignote.function([x], T.grad(T.sigmoid(x).sum(), x))(big)
    np.testing.assert_array_equal(sigmoid_slopes, np.asarray([0.0, 0.0, 0.25], dtype))


# ---- errors when the graph is built ----------------------------------------------------------
def test_bitwise_ops_reject_floats():
    with pytest.raises(TypeError, match="integer or bool"):
        T.and_(T.vector(), T.vector())
    with pytest.raises(TypeError, match="integer or bool"):
        ~T.vector()


def test_round_rejects_unknown_mode():
    with pytest.raises(ValueError, match="half_to_even"):
        T.round(T.vector(), "half_up")


def test_wrong_number_of_inputs():
    with pytest.raises(TypeError, match="takes 2 inputs, got 3"):
        T.sub(T.vector(), T.vector(), T.vector())
    with pytest.raises(TypeError, match="add needs at least one input"):
        T.add()


# ---- the TensorVariable protocol -------------------------------------------------------------
def test_double_equals_is_identity_not_elementwise():
    x, y = T.vector("x"), T.vector("y")
    assert (x == x) is True and (x == y) is False  # noqa: PLR0124
    assert T.eq(x, y).dtype == "bool"
    np.testing.assert_array_equal(T.eq(x, y).eval({x: [1.0, 2.0], y: [1.0, 3.0]}), [True, False])
    np.testing.assert_array_equal(T.neq(x, y).eval({x: [1.0, 2.0], y: [1.0, 3.0]}), [False, True])


def test_variables_have_no_truth_value():
    x = T.scalar("x")
    with pytest.raises(TypeError, match="no truth value"):
        if x > 0:
            pass
    with pytest.raises(TypeError, match="T.switch"):
        bool(x)


def test_bool_literal_is_refused_with_a_hint_about_eq():
    with pytest.raises(TypeError, match="T.eq"):
        T.vector() + (T.vector() == T.vector())


def test_methods_build_the_documented_ops():
    x = T.vector("x")
    value = np.asarray([-1.5, 0.5, 2.5])
    np.testing.assert_array_equal(x.round().eval({x: value}), np.round(value))
    np.testing.assert_array_equal(x.round("half_away_from_zero").eval({x: value}), [-2, 1, 3])
    np.testing.assert_array_equal(x.clip(-1, 1).eval({x: value}), np.clip(value, -1, 1))
    assert x.astype("int16").dtype == "int16"
    assert x.astype(x.dtype) is x
    assert (+x) is x


def test_elemwise_does_not_modify_its_inputs():
    value = np.asarray([1.0, 2.0])
    before = value.copy()
    evaluate(lambda v: T.exp(v) + v, [value])
    np.testing.assert_array_equal(value, before)


# ---- numerically delicate functions: right values, no warnings -------------------------------
@pytest.mark.usefixtures("warnings_are_errors")
def test_logaddexp_and_log1mexp_do_not_overflow_or_cancel():
    a, b = T.vector("a"), T.vector("b")
    got = T.logaddexp(a, b).eval({a: [1000.0, -1000.0, 0.0], b: [1000.0, -1000.0, -np.inf]})
    np.testing.assert_allclose(got, [1000.0 + np.log(2.0), -1000.0 + np.log(2.0), 0.0], rtol=1e-15)
    x = T.vector("x")
    tiny, huge = 1e-20, 50.0
    got = T.log1mexp(x).eval({x: [-tiny, -huge]})
    # log(1 - exp(-t)) = log(t) + O(t) for tiny t, and -exp(-t) + O(exp(-2t)) for large t.
    np.testing.assert_allclose(got, [np.log(tiny), -np.exp(-huge)], rtol=1e-12)
    slope = arignote.function([x], T.grad(T.log1mexp(x).sum(), x))(np.asarray([-1e-10]))
    np.testing.assert_allclose(slope, [-1e10], rtol=1e-6)  # -exp(x) / (1 - exp(x))


@pytest.mark.usefixtures("warnings_are_errors")
def test_erfcx_stays_finite_where_erfc_underflows():
    x = T.vector("x")
    got = T.erfcx(x).eval({x: [30.0, 1e6]})
    # erfcx(x) ~ 1 / (x sqrt(pi)) (1 - 1/(2x^2)) for large x
    asymptote = (
        1 / (np.asarray([30.0, 1e6]) * np.sqrt(np.pi)) * (1 - 0.5 / np.asarray([900.0, 1e12]))
    )
    np.testing.assert_allclose(got, asymptote, rtol=1e-6)


@pytest.mark.usefixtures("warnings_are_errors")
def test_xlogx_and_xlogy0_are_zero_where_x_is_zero():
    x, y = T.vector("x"), T.vector("y")
    np.testing.assert_array_equal(T.xlogx(x).eval({x: [0.0, 1.0]}), [0.0, 0.0])
    got = T.xlogy0(x, y).eval({x: [0.0, 0.0, 0.0, 2.0], y: [0.0, 3.0, np.inf, 1.0]})
    np.testing.assert_array_equal(got, [0.0, 0.0, 0.0, 0.0])
    small = T.bvector("small")
    got = T.xlogx(small).eval({small: np.asarray([0, 2], "int8")})
    assert got.dtype == "float32"
    np.testing.assert_allclose(got, [0.0, 2 * np.log(2.0)], rtol=1e-6)


def test_special_function_identities():
    """Independent checks of the special functions: psi' = tri_gamma, gammainc + gammaincc = 1,
    erf(erfinv(x)) = x, and j0' = -j1 through ``grad``."""
    x = T.vector("x")
    points = np.asarray([0.3, 1.7, 4.2])
    f = arignote.function(
        [x],
        [
            T.grad(T.psi(x).sum(), x) - T.tri_gamma(x),
            T.gammainc(2.5, x) + T.gammaincc(2.5, x),
            T.erf(T.erfinv(x / 5)) * 5,
            T.grad(T.j0(x).sum(), x) + T.j1(x),
            T.exp(T.gammaln(x)) - T.gamma(x),
        ],
    )
    psi_slope, total, round_trip, bessel, gamma_gap = f(points)
    np.testing.assert_allclose(psi_slope, 0.0, atol=1e-12)
    np.testing.assert_allclose(total, 1.0, rtol=1e-14)
    np.testing.assert_allclose(round_trip, points, rtol=1e-13)
    np.testing.assert_allclose(bessel, 0.0, atol=1e-15)
    np.testing.assert_allclose(gamma_gap, 0.0, atol=1e-12)


def test_inv_and_square_are_theano_aliases():
    assert T.inv is T.reciprocal and T.square is T.sqr and T.abs_ is T.abs
    x = T.ivector("x")
    np.testing.assert_array_equal(T.inv(x).eval({x: np.asarray([2, -4], "int32")}), [0.5, -0.25])


# ---- gradient decisions ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "build, op_name",
    [
        (lambda k, x: T.gammainc(k, x), "gammainc"),
        (lambda k, x: T.gammaincc(k, x), "gammaincc"),
        (lambda k, x: T.jv(k, x), "jv"),
        (lambda k, x: T.iv(k, x), "iv"),
    ],
)
def test_gradient_in_a_shape_or_order_parameter_is_not_implemented(build, op_name):
    k, x = T.vector("k"), T.vector("x")
    cost = build(k, x).sum()
    with pytest.raises(NullTypeGradError, match=rf"{op_name} does not implement.*input 0"):
        T.grad(cost, k)
    assert T.grad(cost, x).ndim == 1  # the other input is differentiable


def test_gradient_through_an_unsupported_complex_op_names_the_op():
    a, b = T.vector("a"), T.vector("b")
    cost = T.real(T.sin(T.complex(a, b))).sum()
    with pytest.raises(NullTypeGradError, match="sin does not implement.*complex values"):
        T.grad(cost, a)


def test_gradient_of_a_real_input_of_a_complex_op_is_real():
    a, b = T.vector("a"), T.vector("b")
    gradient = T.grad(T.abs(T.complex(a, b) * a).sum(), a)
    assert gradient.dtype == "float64"
    value = np.asarray([0.5, -2.0])
    other = np.asarray([1.5, 0.25])
    # |a (a + ib)| = |a| sqrt(a^2 + b^2): d/da = sgn(a) (2a^2 + b^2) / sqrt(a^2 + b^2)
    expected = np.sign(value) * (2 * value**2 + other**2) / np.hypot(value, other)
    np.testing.assert_allclose(gradient.eval({a: value, b: other}), expected, rtol=1e-12)


# ---- errors when the graph is built: complex and integer arguments ---------------------------
@pytest.mark.parametrize(
    "build",
    [
        lambda z: T.erf(z),
        lambda z: T.gammaln(z),
        lambda z: T.arctan2(z, z),
        lambda z: T.logaddexp(z, 1.0),
        lambda z: T.log1mexp(z),
        lambda z: T.complex(z, z),
    ],
)
def test_real_only_functions_refuse_complex_inputs(build):
    z = T.vector("z", dtype="complex128")
    with pytest.raises(TypeError, match=r"real inputs only.*complex128.*name='z'"):
        build(z)


def test_polygamma_order_must_be_an_integer():
    with pytest.raises(TypeError, match="integer or bool inputs, got float64"):
        T.polygamma(T.vector(), T.vector())
