"""Shared variables: construction, get/set_value with and without borrow, use in functions."""

from __future__ import annotations

import numpy as np
import pytest

import arignote.tensor as T
from arignote import config, function, shared
from arignote.compile import SharedVariable


def test_shared_holds_a_copy_of_its_value():
    value = np.array([1.0, 2.0, 3.0])
    w = shared(value, name="w")
    assert isinstance(w, SharedVariable)
    assert w.name == "w" and str(w) == "w"
    assert w.type == T.TensorType("float64", shape=(None,))
    value[0] = 100.0
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0, 3.0])


def test_shared_with_borrow_may_alias():
    value = np.array([1.0, 2.0, 3.0])
    w = shared(value, borrow=True)
    assert w.get_value(borrow=True) is value


def test_get_value_copies_unless_borrowed():
    w = shared(np.zeros(3))
    copy = w.get_value()
    copy[0] = 5.0
    assert w.get_value()[0] == 0.0
    internal = w.get_value(borrow=True)
    assert internal is w.get_value(borrow=True)
    internal[1] = 7.0
    assert w.get_value()[1] == 7.0


def test_set_value_copies_unless_borrowed():
    w = shared(np.zeros(3))
    value = np.ones(3)
    w.set_value(value)
    value[0] = 9.0
    np.testing.assert_array_equal(w.get_value(), [1.0, 1.0, 1.0])
    w.set_value(value, borrow=True)
    assert w.get_value(borrow=True) is value


def test_set_value_copies_a_view():
    base = np.arange(6.0)
    w = shared(np.zeros(3))
    w.set_value(base[::2])
    base[0] = 100.0
    np.testing.assert_array_equal(w.get_value(), [0.0, 2.0, 4.0])


def test_set_value_may_change_the_shape_but_not_the_type():
    w = shared(np.zeros((2, 2)), name="w")
    w.set_value(np.ones((3, 5)))
    assert w.get_value().shape == (3, 5)
    with pytest.raises(TypeError, match=r"'w'.*expected 2.*got 1"):
        w.set_value(np.ones(3))
    with pytest.raises(TypeError, match=r"'w'.*complex128"):
        w.set_value(np.ones((2, 2), dtype="complex128"))


def test_set_value_from_a_list_and_widening():
    w = shared(np.zeros(2), name="w")
    w.set_value([1, 2])
    assert w.get_value().dtype == np.float64
    w.set_value(np.array([3, 4], dtype="int8"))
    np.testing.assert_array_equal(w.get_value(), [3.0, 4.0])


def test_narrowing_set_value_needs_allow_downcast():
    w = shared(np.zeros(2, dtype="float32"), name="w32")
    with pytest.raises(TypeError, match=r"'w32'.*float64.*allow_downcast=True"):
        w.set_value(np.array([0.1, 0.2]))
    relaxed = shared(np.zeros(2, dtype="float32"), allow_downcast=True)
    relaxed.set_value(np.array([0.1, 0.2]))
    assert relaxed.get_value().dtype == np.float32
    np.testing.assert_allclose(relaxed.get_value(), [0.1, 0.2], rtol=1e-6)


def test_strict_shared_wants_the_exact_type():
    w = shared(np.zeros(2), name="w", strict=True)
    with pytest.raises(TypeError, match=r"'w'.*float64.*list"):
        w.set_value([1.0, 2.0])
    with pytest.raises(TypeError, match=r"'w'.*float64"):
        w.set_value(np.zeros(2, dtype="float32"))
    w.set_value(np.ones(2))
    np.testing.assert_array_equal(w.get_value(), [1.0, 1.0])


@pytest.mark.parametrize(
    "value, dtype, ndim",
    [
        (np.zeros((2, 3), dtype="float32"), "float32", 2),
        (np.arange(4, dtype="int16"), "int16", 1),
        (np.float32(1.5), "float32", 0),
        (np.int64(3), "int64", 0),
        (3, "int64", 0),
        (1.5, "float64", 0),
        ([1, 2, 3], "int64", 1),
        ([[1.0], [2.0]], "float64", 2),
        (True, "bool", 0),
    ],
)
def test_shared_dtype_and_ndim(value, dtype, ndim):
    w = shared(value)
    assert w.dtype == dtype and w.ndim == ndim
    np.testing.assert_array_equal(w.get_value(), np.asarray(value))


def test_shared_python_float_follows_floatx():
    with config.change_flags(floatX="float32"):
        assert shared(0.5).dtype == "float32"
    assert shared(0.5).dtype == "float64"


def test_shared_is_not_broadcastable_unless_asked():
    w = shared(np.zeros((1, 3)))
    assert w.broadcastable == (False, False)
    row = shared(np.zeros((1, 3)), broadcastable=(True, False))
    assert row.broadcastable == (True, False)
    with pytest.raises(TypeError, match="dimension 0 must have length 1"):
        row.set_value(np.zeros((2, 3)))
    fixed = shared(np.zeros((2, 3)), shape=(None, 3))
    assert fixed.type.shape == (None, 3)


def test_shared_refuses_symbols_and_objects():
    with pytest.raises(TypeError, match="not a symbolic Variable"):
        shared(T.vector("x"))
    with pytest.raises(TypeError, match="cannot hold"):
        shared(["a", object()])


def test_shared_variable_is_an_implicit_input():
    w = shared(np.array([1.0, 2.0]), name="w")
    x = T.vector("x")
    f = function([x], x * w)
    np.testing.assert_allclose(f([3.0, 4.0]), [3.0, 8.0])
    w.set_value([10.0, 10.0])
    np.testing.assert_allclose(f([3.0, 4.0]), [30.0, 40.0])
    w.set_value([1.0, 1.0, 1.0])  # a new length is fine when the graph allows it
    np.testing.assert_allclose(function([], w.sum())(), 3.0)


def test_two_functions_share_the_value():
    counter = shared(np.int64(0), name="counter")
    increment = function([], [], updates=[(counter, counter + 1)])
    read = function([], counter * 1)
    increment()
    increment()
    assert read() == 2
    assert counter.get_value() == 2


def test_update_result_is_private_to_the_shared_variable():
    w = shared(np.array([1.0, 2.0]), name="w")
    x = T.vector("x")
    f = function([x], [], updates=[(w, x)])
    value = np.array([5.0, 6.0])
    f(value)
    value[0] = -1.0
    np.testing.assert_array_equal(w.get_value(), [5.0, 6.0])


def test_shared_variables_in_arithmetic():
    a = shared(np.array([1.0, 2.0]), name="a")
    out = (a * 2 + a.sum()).eval()
    np.testing.assert_allclose(out, [5.0, 7.0])
    assert "a" in str(a * 2)


def test_shared_value_readable_through_eval_after_set_value():
    w = shared(np.zeros(2), name="w")
    doubled = w * 2
    np.testing.assert_array_equal(doubled.eval(), [0.0, 0.0])
    w.set_value([1.0, 2.0])
    np.testing.assert_array_equal(doubled.eval(), [2.0, 4.0])
