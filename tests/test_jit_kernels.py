"""C kernels of the jit linker against the reference backend: scalar semantics, layouts, reductions.

Each test compiles the same graph twice, without rewrites, on the jit
linker and on the reference (``py``) linker, and compares the results:
integers and booleans exactly, floats to the dtype's tolerance with NaN
equal to NaN. The values probe the edges where C and NumPy part ways if
one is careless: division by zero and ``MIN // -1``, NaN in comparisons,
``maximum`` and reductions, overflow, casts, booleans, huge arguments.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.config import config
from arignote.tensor.type import TensorType
from tests.helpers import TOLERANCES
from tests.jit_support import requires_compiler

pytestmark = requires_compiler

JIT = Mode("jit", optimizer=None)
FUSING = Mode("jit", optimizer="fast_run")
REFERENCE = Mode("py", optimizer=None)


def run_both(inputs, outputs, values, mode=JIT):
    """Results on the jit and reference linkers, and the jit function (for its report)."""
    jit = arignote.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    reference = arignote.function(inputs, outputs, mode=REFERENCE, on_unused_input="ignore")
    return jit(*values), reference(*values), jit


def assert_same(got, expected):
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape
        if g.dtype.kind in "fc":
            rtol, atol = TOLERANCES[str(g.dtype)]
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, e)


def compiled_without_fallback(function):
    fallbacks = function.program.report.fallbacks
    assert not fallbacks, str(function.program.report)


def pairs(values, dtype):
    """Every ordered pair of ``values`` as two vectors of ``dtype``."""
    left, right = zip(*itertools.product(values, repeat=2))
    return np.array(left, dtype=dtype), np.array(right, dtype=dtype)


INTEGER_EDGES = {
    "int8": [-128, -7, -3, -1, 0, 1, 3, 7, 127],
    "int16": [-32768, -7, -1, 0, 1, 7, 32767],
    "int32": [-(2**31), -7, -1, 0, 1, 3, 2**31 - 1],
    "int64": [-(2**63), -7, -1, 0, 1, 3, 2**63 - 1],
    "uint8": [0, 1, 3, 7, 255],
    "uint64": [0, 1, 7, 2**64 - 1],
}
FLOAT_EDGES = [-np.inf, -7.5, -2.0, -0.5, -0.0, 0.0, 0.5, 3.0, 7.25, np.inf, np.nan]


@pytest.mark.parametrize("dtype", [*INTEGER_EDGES, "float32", "float64"])
def test_floor_division_and_remainder_follow_python(dtype):
    edges = INTEGER_EDGES.get(dtype, FLOAT_EDGES)
    left, right = pairs(edges, dtype)
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    got, expected, function = run_both([x, y], [x // y, x % y], [left, right])
    assert_same(got, expected)
    compiled_without_fallback(function)


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint8", "uint64"])
def test_integer_arithmetic_wraps_as_numpy(dtype):
    left, right = pairs(INTEGER_EDGES[dtype], dtype)
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    outputs = [x + y, x - y, x * y, -x, abs(x), T.sgn(x), T.sqr(x), T.maximum(x, y)]
    got, expected, function = run_both([x, y], outputs, [left, right])
    assert_same(got, expected)
    compiled_without_fallback(function)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_and_infinities_in_comparisons_and_extrema(dtype):
    left, right = pairs(FLOAT_EDGES, dtype)
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    outputs = [
        x < y,
        x > y,
        x <= y,
        x >= y,
        T.eq(x, y),
        T.neq(x, y),
        T.maximum(x, y),
        T.minimum(x, y),
        T.isnan(x),
        T.isinf(x),
        T.sgn(x),
        T.clip(x, y, 2.0),
        T.clip(x, -1.0, y),
        T.switch(x, x, y),
    ]
    got, expected, function = run_both([x, y], outputs, [left, right])
    assert_same(got, expected)
    compiled_without_fallback(function)


def test_booleans_stay_zero_or_one():
    left, right = pairs([False, True], "bool")
    x, y = T.vector("x", dtype="bool"), T.vector("y", dtype="bool")
    outputs = [x + y, x * y, T.maximum(x, y), ~x, x & y, x | y, x ^ y, T.cast(x, "float32")]
    got, expected, function = run_both([x, y], outputs, [left, right])
    assert_same(got, expected)
    compiled_without_fallback(function)
    assert set(np.unique(got[0].view(np.uint8))) <= {0, 1}


@pytest.mark.parametrize("target", ["int8", "uint8", "int64", "uint64", "bool", "float32"])
def test_casts_match_astype(target):
    values = np.array([-3.7, -1.0, -0.5, 0.0, 0.5, 1.0, 2.9, 100.25, 250.0], dtype="float64")
    if target.startswith("uint"):
        values = np.abs(values)
    x = T.vector("x")
    got, expected, function = run_both([x], [T.cast(x, target)], [values])
    assert_same(got, expected)
    compiled_without_fallback(function)


def test_stable_functions_at_extreme_arguments():
    values = np.array([-1000.0, -50.0, -1e-10, 0.0, 1e-10, 30.0, 1000.0, -np.inf, np.inf, np.nan])
    x = T.vector("x")
    outputs = [
        T.sigmoid(x),
        T.softplus(x),
        T.log1mexp(-abs(x)),
        T.logaddexp(x, -x),
        T.logaddexp(x, x),
        T.xlogx(abs(x)),
        T.expm1(x),
        T.log1p(abs(x)),
        T.arctan2(x, 1.0),
    ]
    got, expected, function = run_both([x], outputs, [values])
    assert_same(got, expected)
    compiled_without_fallback(function)


def test_float32_math_stays_float32():
    values = np.linspace(-3, 3, 101, dtype="float32")
    x = T.vector("x", dtype="float32")
    outputs = [T.exp(x), T.tanh(x) * x, T.erf(x), T.gammaln(abs(x) + 1), x / 3, x**2.5]
    got, expected, function = run_both([x], outputs, [values])
    assert all(g.dtype == np.float32 for g in got)
    assert_same(got, expected)
    compiled_without_fallback(function)


def test_integers_into_float_functions_convert_first():
    values = np.arange(-5, 6, dtype="int8")
    x = T.vector("x", dtype="int8")
    outputs = [T.exp(x), x / 2, T.floor(x), T.sqrt(abs(x))]
    got, expected, _ = run_both([x], outputs, [values])
    assert [str(g.dtype) for g in got] == ["float32", "float64", "float32", "float32"]
    assert_same(got, expected)


def test_an_op_without_c_form_falls_back_and_is_reported():
    x = T.vector("x")
    got, expected, function = run_both([x], [T.psi(x) + 1], [np.array([0.5, 2.0])])
    assert_same(got, expected)
    report = function.program.report
    assert [n.kind for n in report.nodes].count("fallback") == 1
    assert "psi" in report.fallbacks[0].detail and "psi" in str(report)


# ---- layouts ------------------------------------------------------------------------
def typed(shape, dtype="float64", name=None):
    return TensorType(dtype, shape=[1 if n == 1 else None for n in shape]).make_variable(name)


LAYOUTS = [
    ((5,), (5,)),
    ((3, 4), (1, 4)),
    ((3, 4), (3, 1)),
    ((1, 1), (3, 4)),
    ((2, 3, 4), (1, 3, 1)),
    ((2, 1, 4), (1, 3, 1)),
    ((2, 3, 4, 5), (2, 3, 4, 5)),
    ((0, 4), (1, 4)),
    ((3, 0), (3, 0)),
    ((), ()),
]


@pytest.mark.parametrize("shapes", LAYOUTS, ids=str)
def test_broadcast_layouts(shapes):
    rng = np.random.default_rng(1)
    values = [rng.uniform(-2, 2, size=s) for s in shapes]
    inputs = [typed(s) for s in shapes]
    x, y = inputs
    got, expected, function = run_both(inputs, [T.exp(x) * y - x / (1 + y * y)], values)
    assert_same(got, expected)
    compiled_without_fallback(function)


def test_non_contiguous_inputs_and_inputs_left_untouched():
    base = np.random.default_rng(2).uniform(-1, 1, size=(6, 8))
    kept = base.copy()
    x, y = T.matrix("x"), T.matrix("y")
    got, expected, _ = run_both([x, y], [x * 2 + y, T.sin(x)], [base[::2, 1:5], base[:4, :3].T])
    assert_same(got, expected)
    np.testing.assert_array_equal(base, kept)
    assert not any(np.shares_memory(g, base) for g in got)


def test_a_runtime_broadcast_mismatch_raises_the_reference_error():
    x, y = T.matrix("x"), T.matrix("y")
    jit = arignote.function([x, y], T.exp(x) + y, mode=JIT)
    reference = arignote.function([x, y], T.exp(x) + y, mode=REFERENCE)
    values = [np.ones((3, 4)), np.ones((1, 4))]
    with pytest.raises(ValueError) as expected:
        reference(*values)
    with pytest.raises(ValueError, match="declare it with") as got:
        jit(*values)
    assert str(got.value) == str(expected.value)
    assert "Apply node that caused the error" in "\n".join(got.value.__notes__)


def test_threads_give_the_single_thread_results():
    rng = np.random.default_rng(3)
    x, row = T.matrix("x"), T.row("row")
    values = [rng.uniform(-1, 1, size=(64, 300)), rng.uniform(-1, 1, size=(1, 300))]
    outputs = [T.tanh(x) * row, T.sum(T.exp(x)), T.sum(x * row, axis=1), T.max(x, axis=0)]
    results = []
    for threads in (1, 2):
        with config.change_flags(openmp_threads=threads, openmp_elemwise_minsize=1):
            results.append(arignote.function([x, row], outputs, mode=FUSING)(*values))
    # Not bit for bit: where the threads split the loop decides which elements go through
    # libmvec's vector tanh and which through libm's scalar one (both within 4 ulp).
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_composite_with_two_outputs():
    from arignote.scalar import math as sm
    from arignote.scalar.basic import ScalarType
    from arignote.scalar.composite import Composite
    from arignote.tensor.elemwise import Elemwise

    a, b = ScalarType("float64").make_variable(), ScalarType("int32").make_variable()
    composite = Composite([a, b], [sm.exp(a) * b, sm.int_div(b, 3)])
    x, y = T.vector("x"), T.vector("y", dtype="int32")
    outputs = Elemwise(composite)(x, y)
    values = [np.linspace(-1, 1, 7), np.arange(-3, 4, dtype="int32")]
    got, expected, function = run_both([x, y], outputs, values)
    assert_same(got, expected)
    compiled_without_fallback(function)


# ---- reductions ---------------------------------------------------------------------
AXES = [(), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]
REDUCTIONS = [
    ("sum", "float64"),
    ("prod", "float64"),
    ("max", "float64"),
    ("min", "float64"),
    ("all", "float64"),
    ("any", "bool"),
    ("all", "bool"),
    ("sum", "bool"),
    ("sum", "int8"),
    ("max", "int8"),
    ("prod", "int32"),
    ("sum", "float32"),
    ("min", "float32"),
]


def draw(rng, shape, dtype):
    if dtype == "bool":
        return rng.random(shape) < 0.7
    if dtype in ("int8", "int32"):
        return rng.integers(-3, 4, size=shape).astype(dtype)
    values = rng.uniform(0.5, 1.5, size=shape).astype(dtype)
    values[values < 0.55] = 0.0  # zeros for all/any
    return values


@pytest.mark.parametrize("kind,dtype", REDUCTIONS, ids=lambda v: str(v))
def test_reductions_over_every_axis_subset(kind, dtype):
    reduce = getattr(T, kind)
    x = T.tensor3("x", dtype=dtype)
    axes = [a for a in AXES if a or kind in ("all", "any")]
    outputs = [reduce(x, axis=list(a)) for a in axes]
    value = draw(np.random.default_rng(4), (3, 4, 5), dtype)
    got, expected, function = run_both([x], outputs, [value])
    assert_same(got, expected)
    compiled_without_fallback(function)


@pytest.mark.parametrize("kind", ["max", "min"])
def test_a_nan_wins_max_and_min_wherever_it_is(kind):
    value = np.random.default_rng(5).uniform(-1, 1, size=(4, 6))
    value[1, 2] = value[3, 5] = np.nan
    x = T.matrix("x")
    reduce = getattr(T, kind)
    got, expected, _ = run_both([x], [reduce(x), reduce(x, axis=0), reduce(x, axis=1)], [value])
    assert_same(got, expected)


def test_empty_reductions():
    x = T.matrix("x")
    value = np.zeros((0, 3))
    got, expected, _ = run_both([x], [T.sum(x, axis=0), T.prod(x), T.any(x, axis=0)], [value])
    assert_same(got, expected)
    jit = arignote.function([x], T.max(x, axis=0), mode=JIT)
    with pytest.raises(ValueError, match="zero-size"):
        jit(value)


def test_accumulator_and_output_dtypes():
    x = T.matrix("x", dtype="float32")
    outputs = [
        T.sum(x, axis=1, acc_dtype="float64", dtype="float32"),
        T.sum(x),
        T.prod(T.cast(x, "int8"), axis=0),
        T.mean(x, axis=0),
    ]
    value = np.random.default_rng(6).uniform(-2, 2, size=(50, 7)).astype("float32")
    got, expected, _ = run_both([x], outputs, [value])
    assert [str(g.dtype) for g in got] == [str(e.dtype) for e in expected]
    assert_same(got, expected)


def test_fused_elementwise_reduction_with_broadcast_inputs():
    x, row = T.matrix("x"), T.row("row")
    output = T.sum(T.exp(x - row) * 2, axis=1)
    values = [np.random.default_rng(7).uniform(-1, 1, size=(5, 9)), np.ones((1, 9))]
    got, expected, function = run_both([x, row], [output], values, mode=FUSING)
    assert_same(got, expected)
    kinds = {n.node.split("(")[0]: n.kind for n in function.program.report.nodes}
    assert any("sum" in node and kind == "kernel" for node, kind in kinds.items())
    compiled_without_fallback(function)


# ---- buffers ------------------------------------------------------------------------
def test_a_dying_private_input_may_take_the_output_but_an_observed_one_may_not():
    """Unfused kernels in a row: the second may write over the first's dead result (the
    program tests that nothing else holds it); with an observer it may not, since the
    observer is shown each node's inputs after the node ran."""
    x = T.dvector("x")
    unfused = Mode("jit").excluding("fusion")
    f = arignote.function([x], T.sin(T.exp(x)) * 2.0, mode=unfused)
    assert "_getrefcount(" in f.program.source
    value = np.linspace(-1.0, 1.0, 7)
    np.testing.assert_allclose(f(value), np.sin(np.exp(value)) * 2.0)

    seen = []

    class Recorder:
        def before(self, position, node, inputs):
            seen.append([np.array(v, copy=True) for v in inputs])

        def after(self, position, node, inputs, outputs):
            for kept, now in zip(seen[-1], inputs):
                np.testing.assert_array_equal(kept, now)

    fgraph = f.maker.fgraph
    program = unfused.linker.make_program(fgraph, observer=Recorder())
    assert "_getrefcount(" not in program.source
    np.testing.assert_allclose(program([value])[0], np.sin(np.exp(value)) * 2.0)
    assert len(seen) == len(fgraph.apply_nodes)


def test_buffer_reuse_never_clobbers_a_returned_view_or_a_later_input():
    x = T.matrix("x")
    first = T.exp(x)
    viewed = first.T  # returned to the caller: a view of an intermediate buffer
    second = T.sort(first, axis=1)  # perform between kernels, so nothing fuses
    third = T.sin(second) + 1
    fourth = T.sort(third, axis=0)
    fifth = T.cos(fourth) * 3
    value = np.random.default_rng(8).uniform(-1, 1, size=(4, 4))
    outputs = [viewed, fifth, third]
    got, expected, _ = run_both([x], outputs, [value], mode=FUSING)
    assert_same(got, expected)
    again = arignote.function([x], outputs, mode=FUSING)
    first_call = [g.copy() for g in again(value)]
    kept = again(value)
    assert_same(kept, first_call)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_threaded_loop_is_compiled_on_the_first_call_that_gets_threads(threads):
    """A function's kernels are compiled with one loop; the variant with the threaded loop
    (half of a kernel's compile) is built when a call first gets more than one thread, and
    never where kernels run on one thread. Every call agrees with NumPy."""
    from arignote.link.c import compiler
    from arignote.link.c.lowering import ThreadedKernel, lower

    x, y = T.dmatrix("x"), T.dmatrix("y")
    outputs = [T.exp(x) * y + 1.0, (T.tanh(x) * y).sum(axis=1)]
    with config.change_flags(openmp_threads=threads, openmp_elemwise_minsize=1000):
        f = arignote.function([x, y], outputs, mode=Mode("jit"))
        for node in f.maker.fgraph.toposort():
            (source,) = lower(node.op, node, compiler.toolchain()).sources
            assert "omp parallel" not in source
    variants = [v for v in f.program.run.__globals__.values() if isinstance(v, ThreadedKernel)]
    assert len(variants) == (2 if threads > 1 else 0)
    rng = np.random.default_rng(0)
    seen_big = False
    for shape in [(2, 3), (40, 50), (40, 50), (3, 2)]:  # below, above, above, below minsize
        value = rng.standard_normal(shape)
        seen_big |= value.size >= 1000
        first, second = f(value, value)
        np.testing.assert_allclose(first, np.exp(value) * value + 1.0, rtol=1e-12)
        np.testing.assert_allclose(second, (np.tanh(value) * value).sum(axis=1), rtol=1e-12)
        assert [v._call is not None for v in variants] == [seen_big] * len(variants)
