"""``scan`` against NumPy loops: every kind of input and output, while loops, errors.

``CASES`` rows (run by ``tests/test_op_tables.py``: value, gradient, infer_shape)
cover the common loops; the tests below cover each argument of ``scan`` in
turn, with a hand-written NumPy loop as the reference. Gradients are in
``test_scan_grad.py``, rewrites in ``test_scan_rewriting.py``.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import arignote
import arignote.scan
import arignote.scan_module
import arignote.tensor as T
from arignote.scan import Scan, foldl, foldr, until
from arignote.scan import map as scan_map
from arignote.scan import reduce as scan_reduce
from arignote.tensor.shared_randomstreams import RandomStreams
from tests.helpers import OpCase, uniform

scan = arignote.scan.scan
ANY = uniform(-1, 1)


# ---- table rows -------------------------------------------------------------------------
def cumulative_sum(x):
    sums, _ = scan(lambda v, total: total + v, sequences=x, outputs_info=T.zeros_like(x.sum(0)))
    return sums


def tanh_rnn(x, h0, w, u):
    states, _ = scan(
        lambda x_t, h, w, u: T.tanh(T.dot(h, w) + T.dot(x_t, u)),
        sequences=x,
        outputs_info=h0,
        non_sequences=[w, u],
    )
    return states


def tanh_rnn_reference(x, h0, w, u):
    h, states = h0, []
    for x_t in x:
        h = np.tanh(h @ w + x_t @ u)
        states.append(h)
    return np.array(states).reshape((len(x), len(h0)))


def two_taps(x, h_init):
    states, _ = scan(
        lambda x_t, h2, h1: 0.5 * h2 - 0.3 * h1 + x_t,
        sequences=x,
        outputs_info=dict(initial=h_init, taps=[-2, -1]),
    )
    return states


def two_taps_reference(x, h_init):
    rows = list(h_init[:2])
    for x_t in x:
        rows.append(0.5 * rows[-2] - 0.3 * rows[-1] + x_t)
    return np.array(rows[2:]).reshape((len(x),) + h_init.shape[1:])


def grow_until(x, a):
    states, _ = scan(
        lambda x_t, h, a: (h * a + x_t, until((h * a + x_t).sum() > 2.0)),
        sequences=x,
        outputs_info=T.zeros_like(x[0]),
        non_sequences=a,
    )
    return states


def grow_until_reference(x, a):
    h, states = np.zeros_like(x[0]), []
    for x_t in x:
        h = h * a + x_t
        states.append(h)
        if h.sum() > 2.0:
            break
    return np.array(states)


CASES = [
    OpCase(
        "scan_cumulative_sum",
        cumulative_sum,
        lambda x: np.cumsum(x, axis=0),
        (ANY,),
        (("float64",), ("float32",)),
        (((5, 3),), ((0, 3),), ((4,),)),
        grad=True,
    ),
    OpCase(
        "scan_tanh_rnn",
        tanh_rnn,
        tanh_rnn_reference,
        (ANY,) * 4,
        (("float64",) * 4,),
        (((4, 3), (2,), (2, 2), (3, 2)), ((0, 3), (2,), (2, 2), (3, 2))),
        grad=True,
    ),
    OpCase(
        "scan_two_taps",
        two_taps,
        two_taps_reference,
        (ANY,) * 2,
        (("float64",) * 2,),
        (((5, 2), (2, 2)), ((3,), (3,))),
        grad=True,
    ),
    OpCase(
        "scan_until",
        grow_until,
        grow_until_reference,
        (uniform(0.2, 1),) * 2,
        (("float64",) * 2,),
        (((6, 3), (3,)),),
        grad=True,
    ),
]


# ---- sequences ----------------------------------------------------------------------------
def test_map_over_a_sequence_and_a_matrix_sequence_row_by_row():
    x = T.matrix("x")
    rows, updates = scan(lambda row: row.sum() * 2, sequences=x)
    assert updates == OrderedDict()
    values = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(rows.eval({x: values}), values.sum(axis=1) * 2)


def test_the_shortest_sequence_decides_the_number_of_steps():
    a, b = T.vector("a"), T.vector("b")
    out, _ = scan(lambda u, v: u * v, sequences=[a, b])
    got = arignote.function([a, b], out)([1.0, 2.0, 3.0, 4.0], [10.0, 20.0])
    np.testing.assert_allclose(got, [10.0, 40.0])


def test_sequence_taps_read_past_and_future_entries():
    x = T.vector("x")
    out, _ = scan(
        lambda before, now, after: 100 * before + 10 * now + after,
        sequences=dict(input=x, taps=[-2, 0, 1]),
    )
    values = np.arange(1.0, 8.0)
    expected = [100 * values[t - 2] + 10 * values[t] + values[t + 1] for t in range(2, 6)]
    np.testing.assert_allclose(out.eval({x: values}), expected)


def test_taps_are_passed_in_the_order_given():
    x = T.vector("x")
    out, _ = scan(lambda later, earlier: later - earlier, sequences=dict(input=x, taps=[1, -1]))
    values = np.array([1.0, 4.0, 9.0, 16.0])
    np.testing.assert_allclose(out.eval({x: values}), [9.0 - 1.0, 16.0 - 4.0])


def test_n_steps_alone_and_with_sequences():
    k = T.iscalar("k")
    count, _ = scan(lambda c: c + 1, outputs_info=np.int64(0), n_steps=k)
    assert count.dtype == "int64"
    np.testing.assert_array_equal(arignote.function([k], count)(4), [1, 2, 3, 4])
    x = T.vector("x")
    firsts, _ = scan(lambda v: v * 3, sequences=x, n_steps=2)
    np.testing.assert_allclose(firsts.eval({x: [1.0, 2.0, 3.0]}), [3.0, 6.0])


def test_a_sequence_shorter_than_n_steps_is_an_error_when_run():
    x = T.vector("x")
    out, _ = scan(lambda v: v, sequences=x, n_steps=5)
    with pytest.raises(ValueError, match="sequence 0 has 2 entries, but the loop runs 5 steps"):
        out.eval({x: [1.0, 2.0]})


def test_go_backwards_iterates_sequences_from_the_end():
    x = T.vector("x")
    out, _ = scan(
        lambda v, total: total * 10 + v,
        sequences=x,
        outputs_info=np.float64(0.0),
        go_backwards=True,
    )
    np.testing.assert_allclose(out.eval({x: [1.0, 2.0, 3.0]}), [3.0, 32.0, 321.0])
    pairs, _ = scan(
        lambda prev, now: 10 * prev + now, sequences=dict(input=x, taps=[-1, 0]), go_backwards=True
    )
    np.testing.assert_allclose(pairs.eval({x: [1.0, 2.0, 3.0]}), [32.0, 21.0])


def test_a_negative_constant_n_steps_runs_backwards():
    x = T.vector("x")
    out, _ = scan(lambda v: v, sequences=x, n_steps=-2)
    np.testing.assert_allclose(out.eval({x: [1.0, 2.0, 3.0]}), [3.0, 2.0])


def test_zero_steps_give_empty_outputs_of_the_right_shape():
    x = T.matrix("x")
    h0 = T.vector("h0")
    states, _ = scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=h0)
    sums, _ = scan(lambda x_t: x_t * 2, sequences=x)
    f = arignote.function([x, h0], [states, sums])
    got_states, got_sums = f(np.zeros((0, 3)), np.ones(3))
    assert got_states.shape == (0, 3) and got_sums.shape == (0, 3)


# ---- outputs --------------------------------------------------------------------------------
def test_outputs_with_one_tap_several_taps_and_none():
    x = T.vector("x")
    fib_init = T.vector("fib_init")
    fib, total, doubled = scan(
        lambda x_t, f2, f1, s: [f2 + f1, s + x_t, 2 * x_t],
        sequences=x,
        outputs_info=[dict(initial=fib_init, taps=[-2, -1]), np.float64(0.0), None],
    )[0]
    values = np.arange(1.0, 6.0)
    got = arignote.function([x, fib_init], [fib, total, doubled])(values, [0.0, 1.0])
    np.testing.assert_allclose(got[0], [1.0, 2.0, 3.0, 5.0, 8.0])
    np.testing.assert_allclose(got[1], np.cumsum(values))
    np.testing.assert_allclose(got[2], 2 * values)


def test_a_lag_of_three_reads_the_initial_rows_in_order():
    h_init = T.vector("h_init")
    lagged, _ = scan(lambda h3: h3 + 100, outputs_info=dict(initial=h_init, taps=[-3]), n_steps=5)
    got = lagged.eval({h_init: [1.0, 2.0, 3.0]})
    np.testing.assert_allclose(got, [101.0, 102.0, 103.0, 201.0, 202.0])


def test_several_outputs_return_a_list_and_return_list_wraps_one():
    x = T.vector("x")
    both, _ = scan(lambda v: [v + 1, v - 1], sequences=x)
    assert isinstance(both, list) and len(both) == 2
    one, _ = scan(lambda v: v + 1, sequences=x, return_list=True)
    assert isinstance(one, list) and len(one) == 1


def test_non_sequences_listed_or_read_implicitly():
    x = T.vector("x")
    w = T.scalar("w")
    v = arignote.shared(np.float64(3.0), name="v")
    listed, _ = scan(lambda x_t, w: x_t * w, sequences=x, non_sequences=w)
    implicit, _ = scan(lambda x_t: x_t * w + v, sequences=x)
    f = arignote.function([x, w], [listed, implicit])
    got = f([1.0, 2.0], 5.0)
    np.testing.assert_allclose(got[0], [5.0, 10.0])
    np.testing.assert_allclose(got[1], [8.0, 13.0])
    v.set_value(0.0)
    np.testing.assert_allclose(f([1.0, 2.0], 5.0)[1], [5.0, 10.0])


def test_the_step_receives_the_non_sequences_themselves():
    w = T.vector("w")
    seen = []

    def step(h, w_inner):
        seen.append(w_inner)
        return h + w_inner

    scan(step, outputs_info=T.zeros_like(w), non_sequences=w, n_steps=2)
    assert seen == [w]


def test_updates_returned_by_the_step_advance_a_shared_variable():
    counter = arignote.shared(np.int64(0), name="counter")
    x = T.vector("x")
    doubled, updates = scan(lambda v: (2 * v, {counter: counter + 1}), sequences=x)
    assert list(updates) == [counter]
    f = arignote.function([x], doubled, updates=updates)
    np.testing.assert_allclose(f([1.0, 2.0, 3.0]), [2.0, 4.0, 6.0])
    assert counter.get_value() == 3
    f([1.0])
    assert counter.get_value() == 4


def test_a_step_that_only_updates_returns_none_for_outputs():
    total = arignote.shared(np.float64(0.0), name="total")
    x = T.vector("x")
    outputs, updates = scan(lambda v: {total: total + v}, sequences=x)
    assert outputs is None
    arignote.function([x], [], updates=updates)([1.0, 2.0, 4.0])
    assert total.get_value() == 7.0


def test_random_draws_inside_the_step_differ_per_step_and_per_call():
    srng = RandomStreams(seed=11)
    walk, updates = scan(lambda h: h + srng.normal((3,)), outputs_info=T.zeros((3,)), n_steps=4)
    f = arignote.function([], walk, updates=updates)
    first, second = f(), f()
    steps = np.diff(np.vstack([np.zeros(3), first]), axis=0)
    assert len({tuple(row) for row in steps}) == 4
    assert not np.allclose(first, second)
    srng.seed(11)
    np.testing.assert_allclose(f(), first)


def test_a_draw_passed_as_a_non_sequence_is_drawn_once_per_call():
    srng = RandomStreams(seed=5)
    noise = srng.uniform((2,))
    passed, passed_updates = scan(
        lambda h, n: h + n, outputs_info=T.zeros((2,)), non_sequences=noise, n_steps=3
    )
    read, read_updates = scan(lambda h: h + noise, outputs_info=T.zeros((2,)), n_steps=3)
    assert not passed_updates and list(read_updates) == [noise.tag.rng]
    steps = np.diff(arignote.function([], passed)(), axis=0)
    np.testing.assert_allclose(steps[0], steps[1])
    steps = np.diff(arignote.function([], read, updates=read_updates)(), axis=0)
    assert not np.allclose(steps[0], steps[1])


def test_until_stops_after_the_step_where_the_condition_holds():
    def power_of_2(previous, limit):
        return previous * 2, until(previous * 2 > limit)

    limit = T.scalar("limit")
    values, _ = scan(power_of_2, outputs_info=np.float64(1.0), non_sequences=limit, n_steps=1024)
    f = arignote.function([limit], values)
    np.testing.assert_allclose(f(45.0), [2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    np.testing.assert_allclose(f(1e9)[-1], 2.0**30)
    assert len(f(np.inf)) == 1024


def test_until_with_sequences_and_a_per_step_output():
    x = T.vector("x")
    (running, squares), _ = scan(
        lambda v, total: ([total + v, v * v], until(total + v > 4)),
        sequences=x,
        outputs_info=[np.float64(0.0), None],
    )
    got = arignote.function([x], [running, squares])([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(got[0], [1.0, 3.0, 6.0])
    np.testing.assert_allclose(got[1], [1.0, 4.0, 9.0])


def test_nested_scan():
    m = T.matrix("m")

    def row_prefix_sums(row):
        sums, _ = scan(lambda v, total: total + v, sequences=row, outputs_info=np.float64(0.0))
        return sums

    out, _ = scan(row_prefix_sums, sequences=m)
    values = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(out.eval({m: values}), np.cumsum(values, axis=1))


@pytest.mark.parametrize("mode", [None, "FAST_COMPILE", arignote.Mode("py", None)])
def test_every_mode_computes_the_same(mode):
    x = T.matrix("x")
    h0 = T.vector("h0")
    w = T.matrix("w")
    states, _ = scan(
        lambda x_t, h, w: T.tanh(T.dot(h, w) + x_t + T.dot(w, w).sum()),
        sequences=x,
        outputs_info=h0,
        non_sequences=w,
    )
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(4, 2)), rng.normal(size=2), rng.normal(size=(2, 2)) * 0.3]
    got = arignote.function([x, h0, w], states[-1], mode=mode)(*values)
    h = values[1]
    for x_t in values[0]:
        h = np.tanh(h @ values[2] + x_t + (values[2] @ values[2]).sum())
    np.testing.assert_allclose(got, h)


# ---- map, reduce, folds, the Theano path --------------------------------------------------
def test_map_reduce_and_folds():
    x = T.vector("x")
    values = np.array([1.0, 2.0, 3.0])
    squares, _ = scan_map(lambda v: v * v, x)
    total, _ = scan_reduce(lambda v, acc: acc + v, x, np.float64(0.0))
    left, _ = foldl(lambda v, acc: acc * 10 + v, x, np.float64(0.0))
    right, _ = foldr(lambda v, acc: acc * 10 + v, x, np.float64(0.0))
    got = arignote.function([x], [squares, total, left, right])(values)
    np.testing.assert_allclose(got[0], values**2)
    assert got[1:] == [6.0, 123.0, 321.0]


def test_the_theano_paths():
    assert arignote.scan_module.scan is arignote.scan.scan
    assert arignote.scan_module.until is until
    x = T.vector("x")
    out, _ = arignote.scan(lambda v: v + 1, sequences=x)
    assert isinstance(out.owner.op, Scan)


# ---- errors ---------------------------------------------------------------------------------
def test_a_dtype_change_in_the_recurrence_is_an_error_naming_both_types():
    x = T.vector("x")
    with pytest.raises(TypeError, match="float64.*initial value has type.*float32.*cast"):
        scan(lambda v, h: h + v, sequences=x, outputs_info=T.constant(0.0, dtype="float32"))


def test_no_sequence_and_no_n_steps_is_an_error():
    with pytest.raises(ValueError, match="give n_steps, or at least one sequence"):
        scan(lambda h: h + 1, outputs_info=np.float64(0.0))


def test_outputs_info_must_match_the_outputs():
    x = T.vector("x")
    with pytest.raises(ValueError, match="returned 2 outputs, but outputs_info has 1"):
        scan(lambda v, h: [h + v, v], sequences=x, outputs_info=[np.float64(0.0)])


def test_output_taps_must_be_negative():
    with pytest.raises(ValueError, match="must be negative"):
        scan(lambda h: h, outputs_info=dict(initial=T.vector(), taps=[1]), n_steps=2)


def test_an_initial_value_too_short_for_its_taps_is_an_error():
    with pytest.raises(ValueError, match="read 3 steps back, but its initial value has only 2"):
        scan(lambda h: h, outputs_info=dict(initial=T.zeros((2,)), taps=[-3]), n_steps=2)


def test_strict_requires_every_outer_variable_as_a_non_sequence():
    x = T.vector("x")
    w = arignote.shared(np.float64(2.0), name="w")
    with pytest.raises(ValueError, match="reads .*'w'.* pass it in non_sequences"):
        scan(lambda v: v * w, sequences=x, strict=True)
    out, _ = scan(lambda v, w: v * w, sequences=x, non_sequences=w, strict=True)
    np.testing.assert_allclose(out.eval({x: [1.0]}), [2.0])


def test_a_scalar_sequence_is_an_error():
    with pytest.raises(ValueError, match="is a scalar"):
        scan(lambda v: v, sequences=T.scalar("s"))


def test_a_bad_return_value_is_explained():
    with pytest.raises(ValueError, match="must return its outputs"):
        scan(lambda v: "nope", sequences=T.vector("x"))


def test_a_step_whose_shape_changes_fails_naming_the_output():
    x = T.vector("x")
    out, _ = scan(lambda v: T.alloc(v, T.cast(v, "int64")), sequences=x)
    with pytest.raises(ValueError, match="every step must give the same shape"):
        out.eval({x: [1.0, 2.0]})
