"""Pickling compiled functions: loaded in another process they compute the same values and
updates, shared variables keep their values and their sharing, nothing is rewritten again."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote import scan, shared
from arignote.compile.mode import Mode
from arignote.tensor.nnet import sigmoid
from arignote.tensor.shared_randomstreams import RandomStreams
from tests.jit_support import jit_available

ROOT = Path(__file__).resolve().parent.parent
LINKERS = ["py", pytest.param("jit", marks=pytest.mark.skipif(not jit_available(), reason="no C"))]

# Loads the pickled functions, makes the calls, prints the pickled results and shared values.
CHILD = textwrap.dedent("""
    import pickle, sys
    import arignote.compile.mode as mode_module

    unrewritten = mode_module.Mode.rewrite

    def refuse(self, fgraph):
        if self.effective_query() is not None:  # (inner graphs compile without rewrites)
            raise AssertionError("a loaded function was rewritten again")
        return unrewritten(self, fgraph)

    mode_module.Mode.rewrite = refuse
    functions, shared_variables, calls = pickle.loads(sys.stdin.buffer.read())
    results = [functions[index](*args) for index, args in calls]
    values = [variable.get_value() for variable in shared_variables]
    sys.stdout.buffer.write(pickle.dumps((results, values)))
""")


def in_another_process(functions, shared_variables, calls):
    """Results of ``calls`` (function index, arguments) made in a fresh process on unpickled
    ``functions``, and the values of ``shared_variables`` after them."""
    blob = pickle.dumps((functions, shared_variables, calls))
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=blob,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return pickle.loads(done.stdout)


def here(functions, shared_variables, calls):
    """The same, in this process (after the pickling, so on the same starting values)."""
    results = [functions[index](*args) for index, args in calls]
    return results, [variable.get_value() for variable in shared_variables]


def assert_same(got, expected):
    for a, b in zip(got, expected, strict=True):
        if isinstance(b, (list, tuple)):
            assert_same(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.fixture(params=LINKERS)
def mode(request):
    return Mode(request.param)


def test_the_seed_example_with_updates_in_another_process(mode):
    rng = np.random.default_rng(0)
    X, y = T.matrix("X"), T.vector("y")
    w = shared(rng.standard_normal(5), name="w")
    mu = sigmoid(X.dot(w))
    E = -(y * T.log(mu) + (1 - y) * T.log(1 - mu)).sum()
    train = arignote.function(
        [X, y], [E, T.grad(E, w)], updates=[(w, w - 0.1 * T.grad(E, w))], mode=mode
    )
    error = arignote.function([X, y], E, mode=mode)
    data = (rng.standard_normal((20, 5)), (rng.random(20) > 0.5).astype(float))
    calls = [(0, data), (1, data), (0, data), (1, data)]
    functions = (train, error)
    expected = in_another_process(functions, [w], calls)
    assert_same(here(functions, [w], calls), expected)
    assert not np.allclose(expected[0][1], expected[0][3])  # the update took effect


def test_functions_that_share_a_variable_still_share_it(mode):
    counter = shared(np.zeros(2), name="counter")
    step = arignote.function([], [], updates=[(counter, counter + 1)], mode=mode)
    read = arignote.function([], counter * 10, mode=mode)
    step()
    (results, values) = in_another_process((step, read), [counter], [(0, ()), (0, ()), (1, ())])
    np.testing.assert_allclose(results[2], [30.0, 30.0])
    np.testing.assert_allclose(values[0], [3.0, 3.0])
    loaded_step, loaded_read, loaded_counter = pickle.loads(pickle.dumps((step, read, counter)))
    loaded_step()
    np.testing.assert_allclose(loaded_read(), [20.0, 20.0])
    np.testing.assert_allclose(loaded_counter.get_value(), [2.0, 2.0])
    np.testing.assert_allclose(counter.get_value(), [1.0, 1.0])  # the original is untouched


def test_an_mlp_step_and_trust_input(mode):
    rng = np.random.default_rng(1)
    x, labels = T.matrix("x"), T.ivector("labels")
    w1 = shared(rng.standard_normal((6, 8)) * 0.3, name="w1")
    b1 = shared(np.zeros(8), name="b1")
    w2 = shared(rng.standard_normal((8, 3)) * 0.3, name="w2")
    hidden = T.tanh(x.dot(w1) + b1)
    probabilities = T.nnet.softmax(hidden.dot(w2))
    loss = -T.mean(T.log(probabilities)[T.arange(labels.shape[0]), labels])
    params = [w1, b1, w2]
    grads = T.grad(loss, params)
    step = arignote.function(
        [x, labels], loss, updates=[(p, p - 0.5 * g) for p, g in zip(params, grads)], mode=mode
    )
    step.trust_input = True
    loaded = pickle.loads(pickle.dumps(step))
    assert loaded.trust_input
    batch = (rng.standard_normal((4, 6)), rng.integers(0, 3, 4).astype("int32"))
    calls = [(0, batch)] * 3
    expected = in_another_process((step,), params, calls)
    assert_same(here((step,), params, calls), expected)
    assert expected[0][2] < expected[0][0]


def test_a_scan_and_a_random_stream(mode):
    v = T.vector("v")
    sums, _ = scan(lambda a, total: total + a, sequences=v, outputs_info=np.float64(0))
    cumulative = arignote.function([v], sums, mode=mode)
    cumulative(np.ones(3))  # the scan's inner program exists now; it must not be pickled
    streams = RandomStreams(3)
    draw = arignote.function([], streams.uniform((3,)) + 1, mode=mode)
    calls = [(0, (np.arange(4.0),)), (1, ()), (1, ())]
    expected = in_another_process((cumulative, draw), [], calls)
    np.testing.assert_allclose(expected[0][0], [0.0, 1.0, 3.0, 6.0])
    assert not np.allclose(expected[0][1], expected[0][2])
    assert_same(here((cumulative, draw), [], calls), expected)


def test_a_deep_graph_pickles_flat():
    x = T.vector("x")
    out = x
    for k in range(3000):
        out = out * 1.0001 + k
    f = arignote.function([x], out, mode=Mode("py", None))
    loaded = pickle.loads(pickle.dumps(f))
    np.testing.assert_allclose(loaded(np.ones(2)), f(np.ones(2)))
    assert len(loaded.fgraph.apply_nodes) == len(f.fgraph.apply_nodes)


@pytest.mark.skipif(not jit_available(), reason="needs the jit linker")
def test_loading_links_again_and_keeps_the_report():
    x = T.vector("x")
    f = arignote.function([x], T.exp(x) * 2, mode=Mode("jit"))
    loaded = pickle.loads(pickle.dumps(f))
    assert loaded.program is not f.program
    assert loaded.maker.linker_report.nodes[0].kind == "kernel"
    np.testing.assert_allclose(loaded(np.zeros(2)), [2.0, 2.0])
