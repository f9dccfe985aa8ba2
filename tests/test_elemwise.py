"""Elementwise ops against NumPy: one table, one value test, one gradient test.

Every row of ``CASES`` runs on every layout of its arity (same shapes,
0-d, empty, and Theano broadcasting: row+matrix, col+row, a vector left-
padded against a matrix, 0-d against a matrix) and every dtype combination
listed, comparing value, shape and dtype with the NumPy reference. Rows
marked ``grad`` are checked by finite differences in float64, on domains
chosen away from kinks and poles. Theano's dtype rules, broadcasting
errors, IEEE edge cases and the ``TensorVariable`` operator protocol follow.
"""

from __future__ import annotations

import warnings
import zlib
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
import scipy.special

import arignote
import arignote.tensor as T
from arignote.config import config
from tests.helpers import (
    OpCase,
    case_id,
    check_op,
    check_op_grad,
    evaluate,
    uniform,
    variable_for,
)

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


ANY = uniform(-3, 3)
NONZERO = uniform(-3, 3, avoid=(0,), gap=0.5)
POSITIVE = uniform(0.5, 4)
SMALL = uniform(-2, 2)


def unary(name, build, reference, domain=ANY, dtypes=NUMERIC1, **options):
    return OpCase(name, build, reference, (domain,), dtypes, UNARY, **options)


def binary(name, build, reference, domains=(ANY, ANY), dtypes=NUMERIC2, **options):
    return OpCase(name, build, reference, domains, dtypes, BINARY, **options)


def ternary(name, build, reference, domains, dtypes, **options):
    return OpCase(name, build, reference, domains, dtypes, TERNARY, **options)


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
]

VALUE_PARAMS = [
    pytest.param(case, layout, dtypes, id=f"{case.name}-{case_id(layout)}-{case_id(dtypes)}")
    for case in CASES
    for layout in LAYOUTS[case.nin]
    for dtypes in case.dtypes
]
GRAD_PARAMS = [
    pytest.param(case, layout, id=f"{case.name}-{case_id(layout)}")
    for case in CASES
    if case.grad
    for layout in (case.grad_layouts or GRAD_LAYOUTS[case.nin])
]


@pytest.mark.parametrize("case, layout, dtypes", VALUE_PARAMS)
def test_value_matches_numpy(case, layout, dtypes):
    check_op(case, np.random.default_rng(zlib.crc32(case.name.encode())), layout, dtypes)


@pytest.mark.parametrize("case, layout", GRAD_PARAMS)
def test_gradient_matches_finite_differences(case, layout):
    check_op_grad(case, np.random.default_rng(1), layout)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=case_id)
def test_pullback_gradients_have_their_inputs_types(case):
    """``L_op`` itself (not only ``grad``) returns one gradient per input, of that input's
    ndim, dtype-castable, and never broadcastable where the input is not (``floor``'s
    constant 0 must still have the input's shape)."""
    for layout in LAYOUTS[case.nin]:
        inputs = [variable_for(np.zeros(shape)) for shape in layout]
        node = case.build(*inputs).owner
        gradients = node.op.L_op(node.inputs, node.outputs, [o.type() for o in node.outputs])
        for variable, gradient in zip(node.inputs, gradients):
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
    ]
    names = {case.name for case in CASES}
    assert not [name for name in required if name not in names]


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
