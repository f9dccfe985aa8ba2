"""Assert and CheckAndRaise: the value passes through when the conditions hold, else they raise."""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import DisconnectedInputError, grad
from arignote.tensor.assertions import Assert, CheckAndRaise, assert_op
from tests.helpers import OpCase, assert_infer_shape, uniform

LAYOUTS = (((3, 4),), ((1, 5),), ((0, 2),), ((),))
FLOATS = (("float64",), ("float32",))


class NotFinite(ValueError):
    """A custom exception for CheckAndRaise."""


CASES = [
    OpCase(
        "assert_bounded",
        lambda x: assert_op(x, T.all(T.le(abs(x), 2))),
        lambda x: x,
        (uniform(-1, 1),),
        FLOATS,
        LAYOUTS,
        grad=True,
    ),
    OpCase(
        "check_and_raise_two_conditions",
        lambda x, y: CheckAndRaise(NotFinite, "not finite")(
            x * y, T.all(T.isinf(x) < 1), T.all(T.isnan(y) < 1)
        ),
        lambda x, y: x * y,
        (uniform(-1, 1), uniform(-1, 1)),
        (("float64", "float64"), ("float32", "float32")),
        (((3, 4), (3, 4)), ((1, 4), (3, 4)), ((0,), (0,))),
        grad=True,
    ),
]


def test_failed_assert_raises_with_its_message():
    x = T.vector("x")
    checked = Assert("x must be positive")(x, T.all(x > 0))
    function = arignote.function([x], checked * 2)
    np.testing.assert_array_equal(function(np.array([1.0, 2.0])), [2.0, 4.0])
    with pytest.raises(AssertionError, match="x must be positive"):
        function(np.array([1.0, -2.0]))
    with pytest.raises(AssertionError, match="Arignote Assert failed!"):
        assert_op(x, T.all(x > 0)).eval({x: np.array([-1.0])})


def test_every_condition_is_checked():
    x, y = T.scalar("x"), T.scalar("y")
    checked = CheckAndRaise(ValueError, "bad pair")(x, x > 0, y > 0)
    function = arignote.function([x, y], checked)
    assert function(1.0, 1.0) == 1.0
    for a, b in ((-1.0, 1.0), (1.0, -1.0)):
        with pytest.raises(ValueError, match="bad pair"):
            function(a, b)


def test_conditions_must_be_scalars_and_exc_type_an_exception():
    x = T.vector("x")
    with pytest.raises(TypeError, match=r"condition 0 .* has 1 dimensions.*T\.all"):
        assert_op(x, x > 0)
    with pytest.raises(TypeError, match="exc_type must be an exception class"):
        CheckAndRaise("ValueError", "msg")


def test_gradient_goes_to_the_value_only():
    x, y = T.vector("x"), T.vector("y")
    checked = assert_op(x * 3, T.all(y > 0))
    values = {x: np.ones(2), y: np.ones(3)}
    np.testing.assert_array_equal(grad(checked.sum(), x).eval(values), [3.0, 3.0])
    with pytest.raises(DisconnectedInputError):
        grad(checked.sum(), y)
    assert checked.owner.op.connection_pattern(checked.owner) == [[True], [False]]


def test_infer_shape_and_equality():
    x = T.matrix("x")
    checked = assert_op(x, T.all(x > -100))
    assert_infer_shape(checked, [x], [np.zeros((2, 5))])
    assert Assert("a") == Assert("a") and Assert("a") != Assert("b")
    assert CheckAndRaise(ValueError, "a") != CheckAndRaise(TypeError, "a")
    assert CheckAndRaise(AssertionError, "a") != Assert("a")
    assert str(Assert("a")) == "Assert{'a'}"
