"""The generated call path: inline checks and ``trust_input``, the same results and errors as
the general path, fresh outputs, atomic updates, error notes, the per-node observer hook."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote import In, Out, shared
from arignote.compile.mode import Mode
from arignote.graph import Apply, Op
from arignote.graph.fg import FunctionGraph
from arignote.link.c import JITLinker, lowering
from tests.jit_support import jit_available

RNG = np.random.default_rng(0)
LINKERS = ["py", pytest.param("jit", marks=pytest.mark.skipif(not jit_available(), reason="no C"))]


@pytest.fixture(params=LINKERS)
def mode(request):
    return Mode(request.param)


class WrongNdim(Op):
    """Claims to return its input's type but returns a 2-d array: a run-time failure."""

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.atleast_2d(inputs[0]).copy()


def general(f, *args, **kwargs):
    """What the general path (binding, conversion, checks) gives for a call."""
    return f._call_general(args, kwargs)


def test_the_fast_path_and_the_general_path_agree(mode):
    x, y = T.vector("x"), T.matrix("y")
    f = arignote.function([x, y], [T.exp(x) * y + 1, (y * x).sum(axis=1), x], mode=mode)
    a, b = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    fast = f(a, b)
    for got, expected in zip(fast, general(f, a, b)):
        np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(fast[0], np.exp(a) * b + 1)
    f.trust_input = True
    assert f.trust_input
    for got, expected in zip(f(a, b), fast):
        np.testing.assert_allclose(got, expected)
    f.trust_input = False
    np.testing.assert_allclose(f(a, b)[1], (b * a).sum(axis=1))


@pytest.mark.parametrize(
    "call,error,match,trusted_too",
    [
        (lambda f: f(np.ones(3, dtype="int64"), np.ones((2, 3))), None, None, False),  # upcast
        (lambda f: f([1.0, 1.0, 1.0], np.ones((2, 3))), None, None, False),  # converted
        (lambda f: f(np.ones((3, 1)), np.ones((2, 3))), TypeError, "number of dimensions", False),
        (lambda f: f(np.ones(3, "complex128"), np.ones((2, 3))), TypeError, "input 0", False),
        (lambda f: f(np.ones(3)), TypeError, "missing input 1 \\('y'\\)", True),
        (lambda f: f(np.ones(3), np.ones((2, 3)), 1), TypeError, "takes 2 input", True),
        (lambda f: f(np.ones(3), y=np.ones((2, 3))), None, None, True),
        (lambda f: f(np.ones(3), z=np.ones((2, 3))), TypeError, "no input named 'z'", True),
        (lambda f: f(np.ones(3), np.ones((2, 3)), y=1), TypeError, "got input 'y' twice", True),
    ],
)
def test_arguments_the_fast_path_does_not_take_get_the_general_path(
    mode, call, error, match, trusted_too
):
    x, y = T.vector("x"), T.matrix("y")
    f = arignote.function([x, y], x * y, mode=mode)
    # Keywords, omissions and surplus arguments take the general path even when trusted.
    for trusted in (False, True) if trusted_too else (False,):
        f.trust_input = trusted
        if error is None:
            np.testing.assert_allclose(call(f), np.ones((2, 3)))
        else:
            with pytest.raises(error, match=match):
                call(f)


def test_a_function_is_an_ordinary_callable(mode):
    x = T.vector("x")
    f = arignote.function([x], x + 1, mode=mode)
    assert callable(f)
    assert str(inspect.signature(f)) == "(*args, **kwargs)"
    np.testing.assert_allclose(f.__call__(np.zeros(2)), [1.0, 1.0])


def test_a_keyword_spelled_like_a_generated_parameter_binds_by_name(mode):
    first, second = T.vector("p1"), T.vector("p0")  # the generated names, swapped
    f = arignote.function([first, second], first - 2 * second, mode=mode)
    np.testing.assert_allclose(f(p0=np.ones(2), p1=np.zeros(2)), [-2.0, -2.0])
    np.testing.assert_allclose(f(p1=np.ones(2), p0=np.zeros(2)), [1.0, 1.0])


def test_defaults_and_static_shapes(mode):
    x = T.tensor("float64", shape=(2, None), name="x")
    y = T.vector("y")
    f = arignote.function([x, In(y, value=np.ones(3))], x + y, mode=mode)
    np.testing.assert_allclose(f(np.zeros((2, 3))), np.ones((2, 3)))
    with pytest.raises(TypeError, match="dimension 0 must have length 2"):
        f(np.zeros((3, 3)), np.ones(3))


def test_outputs_are_fresh_and_inputs_never_written(mode):
    x = T.vector("x")
    w = shared(np.arange(3.0), name="w")
    outputs = [T.exp(x) + 1, T.exp(x) + 1, x, w, x.dimshuffle("x", 0), w * x]
    f = arignote.function([x], outputs, mode=mode)
    value = RNG.standard_normal(3)
    kept = value.copy()
    first, second = f(value), f(value)
    np.testing.assert_array_equal(value, kept)
    arrays = [value, w.get_value(borrow=True), *first, *second]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert not np.shares_memory(a, b)
    np.testing.assert_allclose(first[4], value[None, :])


def test_a_borrowed_output_may_be_the_internal_value(mode):
    w = shared(np.arange(3.0), name="w")
    f = arignote.function([], Out(w, borrow=True), mode=mode)
    assert f() is w.get_value(borrow=True)
    g = arignote.function([], w, mode=mode)
    assert g() is not w.get_value(borrow=True)


def test_an_intermediate_seen_through_a_view_is_never_overwritten(mode):
    # exp(x) dies at the add, but the returned DimShuffle view still holds it.
    x = T.vector("x")
    a = T.exp(x)
    f = arignote.function([x], [a.dimshuffle("x", 0), T.exp(a * 2) + 1], mode=mode)
    value = RNG.standard_normal(4)
    view, other = f(value)
    np.testing.assert_allclose(view[0], np.exp(value))
    np.testing.assert_allclose(other, np.exp(np.exp(value) * 2) + 1)


def test_updates_are_applied_together_and_not_at_all_when_one_fails(mode):
    a = shared(np.zeros(3), name="a")
    b = shared(np.zeros(1), name="b", shape=(1,))
    x = T.vector("x")
    f = arignote.function([x], [], updates=[(a, a + x), (b, x[:1] * 2)], mode=mode)
    f(np.ones(3))
    np.testing.assert_allclose(a.get_value(), np.ones(3))
    np.testing.assert_allclose(b.get_value(), [2.0])
    swap = arignote.function([], [], updates=[(a, a * 0 + b[0]), (b, a[:1])], mode=mode)
    swap()
    np.testing.assert_allclose(a.get_value(), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(b.get_value(), [1.0])
    c = shared(np.zeros(2), name="c")
    wrong = arignote.function([x], [], updates=[(a, a - 1), (c, WrongNdim()(x))], mode=mode)
    with pytest.raises(TypeError, match="wrong number of dimensions"):
        wrong(np.ones(2))
    np.testing.assert_allclose(a.get_value(), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(c.get_value(), [0.0, 0.0])


def test_an_update_and_an_output_of_one_value_do_not_alias(mode):
    w = shared(np.ones(2), name="w")
    f = arignote.function([], w * 3, updates=[(w, w * 3)], mode=mode)
    returned = f()
    assert not np.shares_memory(returned, w.get_value(borrow=True))
    np.testing.assert_allclose(returned, w.get_value())


def test_a_failing_node_is_named_in_the_error(mode):
    x, y = T.matrix("x"), T.matrix("y")
    f = arignote.function([x, y], [T.exp(x) + y, T.dot(x, y)], mode=mode)
    with pytest.raises(ValueError) as error:
        f(np.ones((2, 3)), np.ones((3, 3)))
    notes = "\n".join(error.value.__notes__)
    assert "Apply node that caused the error" in notes
    assert "shape (2, 3)" in notes and "test_call_path.py" in notes
    with pytest.raises(ValueError) as error:
        f(np.ones((2, 3)), np.ones((2, 3)))
    assert "dot" in "\n".join(error.value.__notes__).lower()


def test_non_contiguous_and_trusted_arguments(mode):
    x = T.matrix("x")
    f = arignote.function([x], T.exp(x) * 2, mode=mode)
    value = RNG.standard_normal((4, 6))[:, ::2]
    np.testing.assert_allclose(f(value), np.exp(value) * 2)
    f.trust_input = True
    np.testing.assert_allclose(f(value), np.exp(value) * 2)
    np.testing.assert_allclose(f(value.astype("float32")), np.exp(value) * 2, rtol=1e-6)


def test_the_linker_report_is_on_the_maker(mode):
    x = T.vector("x")
    f = arignote.function([x], T.sort(T.exp(x)), mode=mode)
    report = f.maker.linker_report
    if isinstance(mode.linker, JITLinker):
        assert report is f.program.report
        assert any(n.kind == "fallback" for n in report.nodes)
    else:
        assert report is None or report is getattr(f.program, "report", None)


class Recorder:
    def __init__(self):
        self.events = []

    def before(self, position, node, inputs):
        self.events.append(("before", position, str(node), [np.copy(v) for v in inputs]))

    def after(self, position, node, inputs, outputs):
        self.events.append(("after", position, str(node), [np.copy(v) for v in outputs]))


@pytest.mark.skipif(not jit_available(), reason="needs the jit linker")
def test_the_jit_linker_calls_an_observer_around_every_node():
    x, y = T.vector("x"), T.vector("y")
    fgraph = FunctionGraph([x, y], [T.dot(T.exp(x) * y, x) + 1, T.sort(x)])
    Mode("jit").rewrite(fgraph)
    order = fgraph.toposort()
    recorder = Recorder()
    observed = JITLinker().make_program(fgraph, observer=recorder)
    plain = JITLinker().make_program(fgraph)
    values = [RNG.standard_normal(4), RNG.standard_normal(4)]
    for got, expected in zip(observed(values), plain(values)):
        np.testing.assert_allclose(got, expected)
    assert [(kind, position) for kind, position, _, _ in recorder.events] == [
        (kind, position) for position in range(len(order)) for kind in ("before", "after")
    ]
    produced = {}
    for kind, position, _, arrays in recorder.events:
        node = order[position]
        if kind == "before":
            for variable, value in zip(node.inputs, arrays):
                if variable in produced:
                    np.testing.assert_allclose(value, produced[variable])
        else:
            produced.update(zip(node.outputs, arrays))
    np.testing.assert_allclose(produced[fgraph.outputs[1]], np.sort(values[0]))
    assert "_observer" not in plain.source


@pytest.mark.skipif(not jit_available(), reason="needs the jit linker")
def test_kernels_run_through_ctypes_without_the_trampoline(monkeypatch):
    monkeypatch.setattr(lowering, "_trampoline", lambda: None)
    x, y = T.matrix("x"), T.row("y")
    f = arignote.function([x, y], [T.exp(x) * y, (x * y).sum(axis=0)], mode=Mode("jit"))
    assert "_call(" not in f.program.source
    a, b = RNG.standard_normal((3, 2)), RNG.standard_normal((1, 2))
    got = f(a, b)
    np.testing.assert_allclose(got[0], np.exp(a) * b)
    np.testing.assert_allclose(got[1], (a * b).sum(axis=0))
