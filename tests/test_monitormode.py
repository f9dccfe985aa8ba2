"""MonitorMode's hooks, Theano's FAQ examples, and the per-node observer of the linkers."""

from __future__ import annotations

import numpy as np
import pytest
from observer_support import OBSERVING_LINKERS as LINKERS

import arignote
import arignote as theano
import arignote.tensor as T
from arignote.compile.mode import Mode, ObserverChain
from arignote.compile.monitormode import MonitorMode, detect_nan
from arignote.graph.fg import FunctionGraph
from arignote.link.python.linker import PythonLinker


class Recorder:
    """An observer keeping every call it gets, with copies of the values."""

    def __init__(self, label: str = "", log: list | None = None):
        self.label = label
        self.log = [] if log is None else log

    def before(self, position, node, inputs):
        self.log.append((self.label, "before", position, node, [np.copy(v) for v in inputs]))

    def after(self, position, node, inputs, outputs):
        self.log.append((self.label, "after", position, node, [np.copy(v) for v in outputs]))


@pytest.mark.parametrize("linker", LINKERS)
def test_post_func_sees_every_node_output_matching_numpy(linker):
    x, y = T.vector("x"), T.vector("y")
    out = (T.exp(x) * y).sum() - T.log(y).mean()
    seen = {}

    def post_func(i, node, fn):
        assert all(len(cell) == 1 for cell in fn.inputs + fn.outputs)
        seen[node] = fn.outputs[0][0].copy()

    mode = MonitorMode(post_func=post_func, linker=linker).excluding("fusion")
    f = arignote.function([x, y], out, mode=mode)
    rng = np.random.default_rng(0)
    xv, yv = rng.normal(size=5), rng.uniform(0.5, 2.0, size=5)
    np.testing.assert_allclose(f(xv, yv), (np.exp(xv) * yv).sum() - np.log(yv).mean())
    assert set(seen) == set(f.maker.fgraph.apply_nodes)
    by_op = {str(node.op): value for node, value in seen.items()}
    np.testing.assert_allclose(by_op["exp"], np.exp(xv))
    np.testing.assert_allclose(by_op["log"], np.log(yv))
    np.testing.assert_allclose(by_op["mul"], np.exp(xv) * yv)
    np.testing.assert_allclose(by_op["sub"], f(xv, yv))
    sums = sorted(float(v) for node, v in seen.items() if "sum" in str(node.op))
    np.testing.assert_allclose(sums, sorted([(np.exp(xv) * yv).sum(), np.log(yv).sum()]))


@pytest.mark.parametrize("linker", LINKERS)
def test_hooks_get_the_position_node_and_cells_in_program_order(linker):
    x = T.vector("x")
    calls = []

    def pre_func(i, node, fn):
        calls.append(("pre", i, node, [c[0] for c in fn.outputs]))

    def post_func(i, node, fn):
        calls.append(("post", i, node, [c[0] is not None for c in fn.outputs]))

    mode = MonitorMode(pre_func, post_func, linker=linker).excluding("fusion")
    f = arignote.function([x], T.exp(T.sin(x)) + 1, mode=mode)
    order = f.maker.fgraph.toposort()
    f(np.zeros(3))
    f(np.ones(2))
    expected = [
        (kind, i, node)
        for _ in range(2)
        for i, node in enumerate(order)
        for kind in ("pre", "post")
    ]
    assert [call[:3] for call in calls] == expected
    assert all(call[3] == [None] for call in calls if call[0] == "pre")
    assert all(call[3] == [True] for call in calls if call[0] == "post")


def test_faq_inspect_example_prints_inputs_and_outputs(capsys):
    def inspect_inputs(i, node, fn):
        print(i, node, "input(s) value(s):", [input[0] for input in fn.inputs], end="")

    def inspect_outputs(i, node, fn):
        print(" output(s) value(s):", [output[0] for output in fn.outputs])

    x = theano.tensor.dscalar("x")
    f = theano.function(
        [x],
        [5 * x],
        mode=theano.compile.monitormode.MonitorMode(
            pre_func=inspect_inputs, post_func=inspect_outputs
        ),
    )
    f(3)
    printed = capsys.readouterr().out
    assert printed.startswith("0 mul(")
    assert "input(s) value(s): [array(5, dtype=int8), array(3.)]" in printed
    assert printed.endswith("output(s) value(s): [array(15.)]\n")


@pytest.mark.parametrize("fusion", [True, False])
def test_faq_detect_nan_example(capsys, fusion):
    found = []

    def detect_nan_faq(i, node, fn):  # Theano's FAQ hook, as written there
        for output in fn.outputs:
            if not isinstance(output[0], np.random.RandomState) and np.isnan(output[0]).any():
                print("*** NaN detected ***")
                theano.printing.debugprint(node)
                print("Inputs : %s" % [input[0] for input in fn.inputs])
                print("Outputs: %s" % [output[0] for output in fn.outputs])
                found.append(node)
                break

    x = theano.tensor.dscalar("x")
    mode = theano.compile.monitormode.MonitorMode(post_func=detect_nan_faq)
    if not fusion:
        mode = mode.excluding("fusion")
        assert isinstance(mode, MonitorMode) and mode.post_func is detect_nan_faq
    f = theano.function([x], [theano.tensor.log(x) * x], mode=mode)
    assert len(f.maker.fgraph.apply_nodes) == (1 if fusion else 2)
    f(0)  # log(0) * 0 = -inf * 0 = NaN
    assert len(found) == 1 and "mul" in str(found[0].op)
    printed = capsys.readouterr().out
    assert "*** NaN detected ***" in printed
    assert "Outputs: [array(nan)]" in printed


def test_detect_nan_hook_prints_only_for_nans(capsys):
    x = T.vector("x")
    f = arignote.function([x], T.sqrt(x), mode=MonitorMode(post_func=detect_nan))
    f(np.array([4.0]))
    assert capsys.readouterr().out == ""
    f(np.array([-4.0]))
    printed = capsys.readouterr().out
    assert "*** NaN detected ***" in printed and "sqrt" in printed


def test_python_linker_observer_gets_values_around_each_node():
    x = T.vector("x")
    fgraph = FunctionGraph([x], [T.exp(x) * 2], clone=True)
    log: list = []
    program = PythonLinker().make_program(fgraph, observer=Recorder(log=log))
    np.testing.assert_allclose(program([np.array([0.0, 1.0])])[0], 2 * np.exp([0.0, 1.0]))
    order = fgraph.toposort()
    assert [(kind, position, node) for _, kind, position, node, _ in log] == [
        (kind, position, node)
        for position, node in enumerate(order)
        for kind in ("before", "after")
    ]
    np.testing.assert_allclose(log[0][4][0], [0.0, 1.0])  # exp's input
    np.testing.assert_allclose(log[1][4][0], np.exp([0.0, 1.0]))  # exp's output
    plain = PythonLinker().make_program(fgraph)
    np.testing.assert_allclose(plain([np.array([1.0])])[0], [2 * np.e])


def test_observer_chain_nests_before_and_after():
    x = T.vector("x")
    fgraph = FunctionGraph([x], [T.exp(x)], clone=True)
    log: list = []
    chained = ObserverChain.of(Recorder("outer", log), None, Recorder("inner", log))
    PythonLinker().make_program(fgraph, observer=chained)([np.ones(1)])
    assert [(label, kind) for label, kind, *_ in log] == [
        ("outer", "before"),
        ("inner", "before"),
        ("inner", "after"),
        ("outer", "after"),
    ]
    lone = Recorder()
    assert ObserverChain.of(None, lone) is lone and ObserverChain.of() is None


def test_a_linker_without_observer_support_is_refused_by_the_observing_modes():
    class OldLinker:
        name = "old"

        def make_program(self, fgraph):
            return PythonLinker().make_program(fgraph)

    x = T.vector("x")
    with pytest.raises(TypeError, match="'old' linker .* takes no observer"):
        arignote.function([x], T.exp(x), mode=MonitorMode(post_func=detect_nan, linker=OldLinker()))
    f = arignote.function([x], T.exp(x), mode=Mode(OldLinker()))  # no observer: fine
    np.testing.assert_allclose(f([0.0]), [1.0])
