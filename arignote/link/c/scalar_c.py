"""The C expression of each scalar op, registered on the scalar-op class.

``c_expression(op, context, args, out_dtype)`` returns a C expression of
``op`` applied to ``args`` (C identifiers or literals, each with its dtype)
whose value, assigned to a variable of ``out_dtype``'s C type, equals what
the op's NumPy ``compute`` gives for one element. Rules are registered with
``functools.singledispatch`` on the op class; a family shares one rule
where its members differ only in a name (libm functions, comparisons).
An op or dtype without a rule raises ``NoCExpression``, and its node runs
its ``perform`` instead (listed in the linker's report).

Semantics kept, element by element:

- Arithmetic happens in the output dtype: every argument is converted to
  it first, as NumPy's ufunc loops do. Integers wrap (kernels are built
  with ``-fwrapv``); a bool result is normalised to 0/1 by the caller.
- ``//`` and ``%`` follow Python (floor division, the remainder takes the
  divisor's sign); an integer division by zero gives 0, as NumPy's does,
  and ``MIN // -1`` wraps instead of trapping. Float ``//`` and ``%`` are
  NumPy's ``divmod`` algorithm.
- IEEE results: ``maximum``/``minimum``/``clip`` propagate NaN, comparisons
  with NaN are false (kernels keep ``-fno-finite-math-only`` semantics).
- float32 ops call the ``f``-suffixed libm functions, so nothing is
  computed in double behind NumPy's back.

Complex and float16 values have no C type here (their nodes use perform),
nor do ops that raise for some inputs in NumPy (integer powers) or whose
special function libm lacks (``erfinv``, ``psi``, Bessel ``iv``...).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from arignote.scalar import math as sm
from arignote.scalar import special as ss
from arignote.scalar.basic import INT_DTYPES, ScalarOp, upcast

C_TYPES = {
    "bool": "uint8_t",
    "int8": "int8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "uint8": "uint8_t",
    "uint16": "uint16_t",
    "uint32": "uint32_t",
    "uint64": "uint64_t",
    "float32": "float",
    "float64": "double",
}
_SIGNED = ("int8", "int16", "int32", "int64")
_FLOATS = ("float32", "float64")


class NoCExpression(Exception):
    """The C backend cannot express this op on these dtypes; the node runs ``perform``."""


def c_type(dtype: str) -> str:
    """The C type holding one element of ``dtype``.

    >>> c_type("float32"), c_type("bool")
    ('float', 'uint8_t')
    """
    if dtype not in C_TYPES:
        raise NoCExpression(f"dtype {dtype} has no C type in this backend")
    return C_TYPES[dtype]


@dataclass(frozen=True)
class Arg:
    """An argument of a scalar op in C: an identifier or literal, and its dtype."""

    code: str
    dtype: str


@dataclass
class ExprContext:
    """What the expressions of one kernel need besides ``<math.h>``: helper functions."""

    helpers: dict[str, str] = field(default_factory=dict)

    def helper(self, name: str, definition: str) -> str:
        self.helpers.setdefault(name, definition)
        return name


def c_literal(value: object, dtype: str) -> str:
    """A C literal of ``dtype`` for a NumPy scalar value (exact, inf and nan included).

    >>> c_literal(0.1, "float64"), c_literal(-128, "int8"), c_literal(np.inf, "float32")
    ('0.1', '((int8_t)-128)', '((float)INFINITY)')
    """
    ctype = c_type(dtype)
    number = np.asarray(value, dtype=dtype)[()]
    if dtype in _FLOATS:
        if np.isnan(number):
            return f"(({ctype})NAN)"
        if np.isinf(number):
            return f"(({ctype})INFINITY)" if number > 0 else f"(-({ctype})INFINITY)"
        text = repr(float(number)) if dtype == "float64" else f"{float(number)!r}f"
        return text.replace("inf", "INFINITY")
    integer = int(number)
    if dtype == "int64" and integer == -(2**63):
        return "((int64_t)(-9223372036854775807LL - 1))"
    suffix = "ULL" if dtype.startswith("uint") or dtype == "bool" else "LL"
    return f"(({ctype}){integer}{suffix})" if integer >= 0 else f"(({ctype}){integer})"


def convert(arg: Arg, dtype: str) -> str:
    """``arg`` converted to ``dtype`` as NumPy's ``astype`` does (floats to ints truncate)."""
    if arg.dtype == dtype:
        return arg.code
    ctype = c_type(dtype)
    if dtype == "bool":
        return f"({arg.code} != 0)"
    if arg.dtype in _FLOATS and dtype not in _FLOATS:
        # C leaves out-of-range conversions undefined; going through int64 gives
        # NumPy's results on x86 (wrapped values, INT64_MIN for nan).
        if dtype == "uint64":
            return f"(({arg.code}) < 0 ? (uint64_t)(int64_t)({arg.code}) : (uint64_t)({arg.code}))"
        return f"(({ctype})(int64_t)({arg.code}))"
    return f"(({ctype})({arg.code}))"


@functools.singledispatch
def c_expression(op: ScalarOp, context: ExprContext, args: Sequence[Arg], out_dtype: str) -> str:
    """The C expression of ``op(*args)`` as a value of ``out_dtype``; see the module docstring."""
    raise NoCExpression(f"scalar op {op} ({type(op).__name__}) has no C expression")


def _in(args: Sequence[Arg], dtype: str) -> list[str]:
    return [convert(a, dtype) for a in args]


def _libm(name: str, dtype: str) -> str:
    if dtype not in _FLOATS:
        raise NoCExpression(f"{name} on {dtype} has no C expression")
    return name + ("f" if dtype == "float32" else "")


# ---- arithmetic ---------------------------------------------------------------------
_INFIX = {sm.Add: "+", sm.Mul: "*", sm.Sub: "-"}


@c_expression.register(sm.Add)
@c_expression.register(sm.Mul)
@c_expression.register(sm.Sub)
def _infix(op, context, args, out_dtype):
    if out_dtype == "bool" and isinstance(op, sm.Sub):
        raise NoCExpression("NumPy refuses to subtract booleans")
    return "(" + f" {_INFIX[type(op)]} ".join(_in(args, out_dtype)) + ")"


@c_expression.register(sm.TrueDiv)
def _true_div(op, context, args, out_dtype):
    a, b = _in(args, out_dtype)
    return f"({a} / {b})"


def _integer_division_helpers(context: ExprContext, dtype: str) -> tuple[str, str]:
    """Names of ``floordiv``/``mod`` helpers for an integer dtype (Python's rules)."""
    t = c_type(dtype)
    div, mod = f"ar_floordiv_{dtype}", f"ar_mod_{dtype}"
    if dtype in _SIGNED:
        context.helper(
            div,
            f"""static inline {t} {div}({t} a, {t} b) {{
    if (b == 0) return 0;
    if (b == -1) return ({t})(0 - (int64_t)a);
    {t} q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? ({t})(q - 1) : q;
}}""",
        )
        context.helper(
            mod,
            f"""static inline {t} {mod}({t} a, {t} b) {{
    if (b == 0 || b == -1) return 0;
    {t} r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? ({t})(r + b) : r;
}}""",
        )
    else:
        context.helper(div, f"static inline {t} {div}({t} a, {t} b) {{ return b ? a / b : 0; }}")
        context.helper(mod, f"static inline {t} {mod}({t} a, {t} b) {{ return b ? a % b : 0; }}")
    return div, mod


def _float_divmod_helper(context: ExprContext, dtype: str) -> str:
    """NumPy's ``divmod`` for floats: the floored quotient, the remainder through a pointer."""
    t, f = c_type(dtype), "f" if dtype == "float32" else ""
    name = f"ar_divmod_{dtype}"
    return context.helper(
        name,
        f"""static inline {t} {name}({t} a, {t} b, {t}* modulus) {{
    {t} mod = fmod{f}(a, b);
    if (b == 0) {{ *modulus = mod; return a / b; }}
    {t} div = (a - mod) / b;
    if (mod != 0) {{
        if ((b < 0) != (mod < 0)) {{ mod += b; div -= 1; }}
    }} else {{
        mod = copysign{f}(0, b);
    }}
    {t} floordiv;
    if (div != 0) {{
        floordiv = floor{f}(div);
        if (div - floordiv > 0.5{f}) floordiv += 1;
    }} else {{
        floordiv = copysign{f}(0, a / b);
    }}
    *modulus = mod;
    return floordiv;
}}""",
    )


@c_expression.register(sm.IntDiv)
@c_expression.register(sm.Mod)
def _floor_div_or_mod(op, context, args, out_dtype):
    a, b = _in(args, out_dtype)
    want_mod = isinstance(op, sm.Mod)
    if out_dtype in INT_DTYPES:
        div, mod = _integer_division_helpers(context, out_dtype)
        return f"{mod if want_mod else div}({a}, {b})"
    if out_dtype in _FLOATS:
        divmod_ = _float_divmod_helper(context, out_dtype)
        t = c_type(out_dtype)
        name = f"ar_{'mod' if want_mod else 'floordiv'}_{out_dtype}"
        result = "m" if want_mod else "q"
        context.helper(
            name,
            f"""static inline {t} {name}({t} a, {t} b) {{
    {t} m; {t} q = {divmod_}(a, b, &m); return {result};
}}""",
        )
        return f"{name}({a}, {b})"
    raise NoCExpression(f"{op} on {out_dtype} has no C expression")


@c_expression.register(sm.Pow)
def _pow(op, context, args, out_dtype):
    if out_dtype not in _FLOATS:
        raise NoCExpression("integer powers raise for negative exponents in NumPy")
    a, b = _in(args, out_dtype)
    return f"{_libm('pow', out_dtype)}({a}, {b})"


@c_expression.register(sm.Neg)
def _neg(op, context, args, out_dtype):
    if out_dtype == "bool":
        raise NoCExpression("NumPy refuses to negate booleans")
    (a,) = _in(args, out_dtype)
    return f"(-{a})"


@c_expression.register(sm.Abs)
def _abs(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    if out_dtype in _FLOATS:
        return f"{_libm('fabs', out_dtype)}({a})"
    if out_dtype in _SIGNED:
        return f"({a} < 0 ? -{a} : {a})"
    return a


@c_expression.register(sm.Sgn)
def _sgn(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    t = c_type(out_dtype)
    if out_dtype in _FLOATS:
        return f"({a} > 0 ? ({t})1 : ({a} < 0 ? ({t})-1 : ({a} == 0 ? ({t})0 : {a})))"
    if out_dtype == "bool":
        raise NoCExpression("NumPy has no sign of booleans")
    return f"(({t})(({a} > 0) - ({a} < 0)))"


@c_expression.register(sm.Sqr)
def _sqr(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    return f"({a} * {a})"


@c_expression.register(sm.Maximum)
@c_expression.register(sm.Minimum)
def _extremum(op, context, args, out_dtype):
    a, b = _in(args, out_dtype)
    compare = ">=" if isinstance(op, sm.Maximum) else "<="
    if out_dtype in _FLOATS:
        return f"(({a} {compare} {b} || {a} != {a}) ? {a} : {b})"
    return f"({a} {compare} {b} ? {a} : {b})"


# ---- float functions ----------------------------------------------------------------
_LIBM_NAMES = {
    sm.Exp: "exp",
    sm.Exp2: "exp2",
    sm.Expm1: "expm1",
    sm.Log: "log",
    sm.Log2: "log2",
    sm.Log10: "log10",
    sm.Log1p: "log1p",
    sm.Sqrt: "sqrt",
    sm.Sin: "sin",
    sm.Cos: "cos",
    sm.Tan: "tan",
    sm.ArcSin: "asin",
    sm.ArcCos: "acos",
    sm.ArcTan: "atan",
    sm.ArcTan2: "atan2",
    sm.Sinh: "sinh",
    sm.Cosh: "cosh",
    sm.Tanh: "tanh",
    sm.ArcSinh: "asinh",
    sm.ArcCosh: "acosh",
    sm.ArcTanh: "atanh",
    sm.Floor: "floor",
    sm.Ceil: "ceil",
    sm.Trunc: "trunc",
    sm.RoundHalfToEven: "nearbyint",
    sm.RoundHalfAwayFromZero: "round",
    ss.Erf: "erf",
    ss.Erfc: "erfc",
    ss.Gamma: "tgamma",
}


@c_expression.register(sm.FloatOp)
def _libm_function(op, context, args, out_dtype):
    """The family rule: a float op that is one libm function of its converted arguments."""
    name = _LIBM_NAMES.get(type(op))
    if name is None:
        raise NoCExpression(f"scalar op {op} ({type(op).__name__}) has no C expression")
    return f"{_libm(name, out_dtype)}({', '.join(_in(args, out_dtype))})"


@c_expression.register(sm.Reciprocal)
def _reciprocal(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    return f"(({c_type(out_dtype)})1 / {a})"


@c_expression.register(sm.Log1mExp)
def _log1mexp(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    t = c_type(out_dtype)
    log, log1p, exp, expm1 = (_libm(n, out_dtype) for n in ("log", "log1p", "exp", "expm1"))
    return f"({a} < -({t})M_LN2 ? {log1p}(-{exp}({a})) : {log}(-{expm1}({a})))"


def _logaddexp_helper(context: ExprContext, dtype: str) -> str:
    t, f = c_type(dtype), "f" if dtype == "float32" else ""
    name = f"ar_logaddexp_{dtype}"
    return context.helper(
        name,
        f"""static inline {t} {name}({t} x, {t} y) {{
    if (x == y) return x + ({t})M_LN2;  /* also infinities of one sign */
    {t} d = x - y;
    if (d > 0) return x + log1p{f}(exp{f}(-d));
    if (d <= 0) return y + log1p{f}(exp{f}(d));
    return d;  /* nan */
}}""",
    )


@c_expression.register(sm.LogAddExp)
def _logaddexp(op, context, args, out_dtype):
    a, b = _in(args, out_dtype)
    return f"{_logaddexp_helper(context, out_dtype)}({a}, {b})"


@c_expression.register(sm.Softplus)
def _softplus(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    return f"{_logaddexp_helper(context, out_dtype)}(0, {a})"


@c_expression.register(sm.Sigmoid)
def _sigmoid(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    exp = _libm("exp", out_dtype)
    t = c_type(out_dtype)
    return f"({a} < 0 ? {exp}({a}) / (1 + {exp}({a})) : ({t})1 / (1 + {exp}(-{a})))"


@c_expression.register(ss.GammaLn)
def _gammaln(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    # lgamma_r: lgamma writes the global signgam, a data race under threads.
    name = f"ar_gammaln_{out_dtype}"
    t, f = c_type(out_dtype), "f" if out_dtype == "float32" else ""
    context.helper(name, f"static inline {t} {name}({t} x) {{ int s; return lgamma{f}_r(x, &s); }}")
    return f"{name}({a})"


@c_expression.register(ss.J0)
@c_expression.register(ss.J1)
def _bessel(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    return f"{_libm(type(op).__name__.lower(), out_dtype)}({a})"


@c_expression.register(ss.XLogX)
def _xlogx(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    return f"({a} == 0 ? 0 : {a} * {_libm('log', out_dtype)}({a}))"


@c_expression.register(ss.XLogY0)
def _xlogy0(op, context, args, out_dtype):
    x, y = _in(args, out_dtype)
    return f"(({x} == 0 && {y} == {y}) ? 0 : {x} * {_libm('log', out_dtype)}({y}))"


# ---- comparisons and logic ----------------------------------------------------------
_COMPARISONS = {sm.LT: "<", sm.GT: ">", sm.LE: "<=", sm.GE: ">=", sm.EQ: "==", sm.NEQ: "!="}


@c_expression.register(sm.Comparison)
def _comparison(op, context, args, out_dtype):
    common = upcast(*(a.dtype for a in args))
    a, b = _in(args, common)
    return f"({a} {_COMPARISONS[type(op)]} {b})"


@c_expression.register(sm.IsNan)
def _isnan(op, context, args, out_dtype):
    (a,) = args
    if a.dtype in _FLOATS:
        return f"({'isnan' if type(op) is sm.IsNan else 'isinf'}({a.code}) != 0)"
    c_type(a.dtype)
    return "0"


_BITWISE = {sm.And: "&", sm.Or: "|", sm.Xor: "^"}


@c_expression.register(sm.And)
@c_expression.register(sm.Or)
@c_expression.register(sm.Xor)
def _bitwise(op, context, args, out_dtype):
    a, b = _in(args, out_dtype)
    return f"({a} {_BITWISE[type(op)]} {b})"


@c_expression.register(sm.Invert)
def _invert(op, context, args, out_dtype):
    (a,) = _in(args, out_dtype)
    return f"(!{a})" if out_dtype == "bool" else f"(~{a})"


# ---- selection and conversion -------------------------------------------------------
@c_expression.register(sm.Switch)
def _switch(op, context, args, out_dtype):
    condition = args[0]
    c_type(condition.dtype)
    a, b = _in(args[1:], out_dtype)
    return f"({condition.code} != 0 ? {a} : {b})"


@c_expression.register(sm.Second)
def _second(op, context, args, out_dtype):
    return convert(args[1], out_dtype)


@c_expression.register(sm.Identity)
@c_expression.register(sm.Real)
@c_expression.register(sm.Conj)
@c_expression.register(sm.Cast)
def _same_value(op, context, args, out_dtype):
    c_type(args[0].dtype)
    return convert(args[0], out_dtype)


@c_expression.register(sm.Imag)
def _imag(op, context, args, out_dtype):
    c_type(args[0].dtype)
    return f"(({c_type(out_dtype)})0)"


@c_expression.register(sm.Angle)
def _angle(op, context, args, out_dtype):
    c_type(args[0].dtype)
    (a,) = _in(args, out_dtype)
    return f"{_libm('atan2', out_dtype)}(0, {a})"


@c_expression.register(sm.Clip)
def _clip(op, context, args, out_dtype):
    x, low, high = _in(args, out_dtype)
    if out_dtype in _FLOATS:
        raised = f"(({x} >= {low} || {x} != {x}) ? {x} : {low})"
        return f"(({raised} <= {high} || {raised} != {raised}) ? {raised} : {high})"
    raised = f"({x} > {low} ? {x} : {low})"
    return f"({raised} < {high} ? {raised} : {high})"


__all__ = ["Arg", "ExprContext", "NoCExpression", "c_expression", "c_literal", "c_type"]
