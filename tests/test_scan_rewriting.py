"""The loop rewrites: each fires where it should (structure) and keeps the values (numbers).

The memory test runs a loop long enough that storing every state would
take tens of megabytes, and checks with ``tracemalloc`` that the compiled
function stores a few rows.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

import arignote
import arignote.scan
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.scalar.composite import Composite
from arignote.scan import Scan, ScanInfo
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.shared_randomstreams import RandomStreams

scan = arignote.scan.scan
NO_REWRITES = Mode("py", None)


def scan_nodes(function):
    return [node for node in function.maker.fgraph.toposort() if isinstance(node.op, Scan)]


def inner_ops(op: Scan) -> list:
    return [node.op for node in op.fgraph.toposort()]


def test_loop_invariant_work_in_a_body_moves_out():
    # A body built by hand, with w @ w computed at every step.
    h, w = T.vector("h"), T.matrix("w")
    body = T.tanh(T.dot(h, T.dot(w, w)))
    op = Scan(
        [h, w],
        [body],
        ScanInfo(n_seqs=0, recurrent_taps=((-1,),), n_nit_sot=0, n_states=0, n_non_seqs=1),
    )
    h0, w_outer = T.vector("h0"), T.matrix("w_outer")
    trace = op(5, h0.dimshuffle("x", 0), w_outer)
    f = arignote.function([h0, w_outer], trace)
    (node,) = scan_nodes(f)
    products_inside = [
        o
        for o in inner_ops(node.op)
        if "Dot" in type(o).__name__ or "Gemv" in type(o).__name__ or "Gemm" in type(o).__name__
    ]
    assert len(products_inside) == 1
    rng = np.random.default_rng(0)
    h_value, w_value = rng.normal(size=3), rng.normal(size=(3, 3)) * 0.3
    expected = arignote.function([h0, w_outer], trace, mode=NO_REWRITES)(h_value, w_value)
    np.testing.assert_allclose(f(h_value, w_value), expected)


def test_the_builder_already_leaves_invariants_outside():
    x, w = T.matrix("x"), T.matrix("w")
    states, _ = scan(
        lambda x_t, h, w: T.tanh(T.dot(h, T.dot(w, w.T)) + x_t),
        sequences=x,
        outputs_info=T.zeros_like(x[0]),
        non_sequences=w,
    )
    op = states.owner.op
    assert sum(type(o).__name__ == "Dot" for o in inner_ops(op)) == 1
    assert op.info.n_non_seqs == 1


def test_unused_outputs_and_inputs_are_dropped():
    x, y = T.vector("x"), T.vector("y")
    (kept, _, _), _ = scan(
        lambda a, b, s: [a * 2, b * 3, s + a],
        sequences=[x, y],
        outputs_info=[None, None, np.float64(0.0)],
    )
    f = arignote.function([x, y], kept, on_unused_input="ignore")
    (node,) = scan_nodes(f)
    assert node.op.info.n_seqs == 1 and node.op.info.n_recurrent == 0
    assert len(node.outputs) == 1
    np.testing.assert_allclose(f([1.0, 2.0], [5.0, 6.0]), [2.0, 4.0])


def test_a_recurrence_that_feeds_a_used_output_is_kept():
    x = T.vector("x")
    (_, scaled), _ = scan(
        lambda v, s: [s + v, (s + v) * 10], sequences=x, outputs_info=[np.float64(0.0), None]
    )
    f = arignote.function([x], scaled)
    (node,) = scan_nodes(f)
    assert node.op.info.n_recurrent == 1
    np.testing.assert_allclose(f([1.0, 2.0]), [10.0, 30.0])


def test_the_stored_random_draws_are_dropped_when_no_gradient_reads_them():
    srng = RandomStreams(seed=1)
    walk, updates = scan(lambda h: h + srng.uniform((2,)), outputs_info=T.zeros((2,)), n_steps=3)
    assert walk.owner.op.info.n_nit_sot == 1  # the hidden draws
    f = arignote.function([], walk, updates=updates)
    (node,) = scan_nodes(f)
    assert node.op.info.n_nit_sot == 0


def test_equal_non_sequences_become_one_input():
    h, a, b = T.vector("h"), T.vector("a"), T.vector("b")
    op = Scan(
        [h, a, b],
        [h * a + b],
        ScanInfo(n_seqs=0, recurrent_taps=((-1,),), n_nit_sot=0, n_states=0, n_non_seqs=2),
    )
    h0, v = T.vector("h0"), T.vector("v")
    f = arignote.function([h0, v], op(2, h0.dimshuffle("x", 0), v, v))
    (node,) = scan_nodes(f)
    assert node.op.info.n_non_seqs == 1
    np.testing.assert_allclose(f([1.0], [2.0]), [[4.0], [10.0]])


def test_only_the_last_rows_are_stored_when_only_they_are_read():
    x, h0 = T.vector("x"), T.vector("h0")
    states, _ = scan(lambda h, x: h * 0.5 + x, outputs_info=h0, non_sequences=x, n_steps=7)
    f = arignote.function([h0, x], [states[-1], states[-3:]])
    (node,) = scan_nodes(f)
    assert node.op.info.keep == (3,)
    reference = arignote.function([h0, x], states, mode=NO_REWRITES)([1.0, 2.0], [0.5, 0.25])
    last, last_three = f([1.0, 2.0], [0.5, 0.25])
    np.testing.assert_allclose(last, reference[-1])
    np.testing.assert_allclose(last_three, reference[-3:])


def test_traces_read_otherwise_are_stored_whole():
    x = T.vector("x")
    states, _ = scan(lambda v, s: s + v, sequences=x, outputs_info=np.float64(0.0))
    for output in (states, states[1], states[:-1]):
        f = arignote.function([x], output)
        (node,) = scan_nodes(f)
        assert node.op.info.keep == (None,)


def test_a_long_loop_whose_last_state_is_used_runs_in_constant_memory():
    steps, size = 4000, 1000
    h0, x = T.vector("h0"), T.vector("x")
    states, _ = scan(lambda h, x: h * 0.5 + x, outputs_info=h0, non_sequences=x, n_steps=steps)
    f = arignote.function([h0, x], states[-1], mode="FAST_RUN")
    value = np.ones(size)
    f(value, value)
    tracemalloc.start()
    try:
        f(value, value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Every state would be steps * size * 8 = 32 MB; a few rows are some 10 kB.
    assert peak < 20 * size * 8, f"peak {peak} bytes: the loop stored more than a few states"


def test_inner_graphs_get_the_functions_rewrites():
    x = T.vector("x")
    states, _ = scan(lambda v, h: T.tanh(h * 2 + v) * 3, sequences=x, outputs_info=np.float64(0.0))
    fused = scan_nodes(arignote.function([x], states, mode="FAST_RUN"))[0].op
    assert fused.inner_rewritten
    assert any(
        isinstance(o, Elemwise) and isinstance(o.scalar_op, Composite) for o in inner_ops(fused)
    )
    plain = scan_nodes(arignote.function([x], states, mode=NO_REWRITES))[0].op
    assert not plain.inner_rewritten
    assert not any(
        isinstance(o, Elemwise) and isinstance(o.scalar_op, Composite) for o in inner_ops(plain)
    )


def test_identical_loops_merge():
    x = T.vector("x")
    first, _ = scan(lambda v, s: s + v * 2, sequences=x, outputs_info=np.float64(0.0))
    second, _ = scan(lambda v, s: s + v * 2, sequences=x, outputs_info=np.float64(0.0))
    other, _ = scan(lambda v, s: s + v * 3, sequences=x, outputs_info=np.float64(0.0))
    assert first.owner.op == second.owner.op and first.owner.op != other.owner.op
    f = arignote.function([x], [first, second, other])
    assert len(scan_nodes(f)) == 2
    got = f([1.0, 2.0])
    np.testing.assert_allclose(got[0], got[1])
