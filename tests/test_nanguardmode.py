"""NanGuardMode: the first node producing a NaN, Inf or big value is named, with its line.

Every behaviour is checked on each linker that can report its nodes
(``LINKERS``, from ``observer_support``): the reference one, and the jit one.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from observer_support import OBSERVING_LINKERS as LINKERS

import arignote
import arignote.tensor as T
from arignote.compile.mode import get_mode
from arignote.compile.nanguardmode import NanGuardError, NanGuardMode, find_problem


def _here() -> int:
    """The line number of the caller's line."""
    return sys._getframe(1).f_lineno


def _guard(linker: str, **flags) -> NanGuardMode:
    return NanGuardMode(linker=linker, **flags)


@pytest.mark.parametrize("linker", LINKERS)
def test_nan_from_log_names_the_log_node_its_line_and_input_statistics(linker):
    x = T.vector("x")
    y, line = T.log(x), _here()
    f = arignote.function([x], y * 2, mode=_guard(linker).excluding("fusion"))
    with pytest.raises(NanGuardError) as caught:
        f(np.array([-1.0, 1.0, 2.0]))
    error = caught.value
    message = str(error)
    assert isinstance(error, AssertionError)  # what Theano raised
    assert error.kind == "NaN" and error.output == 0
    assert "log" in str(error.node.op) and error.node.inputs[0].name == "x"
    assert message.startswith("NanGuardMode: NaN in output 0 of log(x)")
    assert f'{__file__}", line {line}' in message
    assert "y, line = T.log(x), _here()" in message
    assert "input 0 (x): shape (3,), dtype float64, min -1, max 2, mean 0.666667" in message
    assert "1 NaN of 3 values, the first at index (0,)" in message


@pytest.mark.parametrize("linker", LINKERS)
def test_inf_from_exp_of_a_large_value(linker):
    x = T.vector("x")
    y, line = T.exp(x), _here()
    f = arignote.function([x], y, mode=_guard(linker))
    np.testing.assert_allclose(f([0.0, 1.0]), np.exp([0.0, 1.0]))
    with pytest.raises(NanGuardError, match=r"Inf in output 0 of .*exp") as caught:
        f(np.array([1.0, 1000.0]))
    assert caught.value.kind == "Inf"
    assert f"line {line}" in str(caught.value)
    assert "1 Inf of 2 values, the first at index (1,)" in str(caught.value)


@pytest.mark.parametrize("linker", LINKERS)
def test_big_values_are_finite_ones_beyond_1e10(linker):
    x = T.vector("x")
    f = arignote.function([x], x * 1e6, mode=_guard(linker))
    np.testing.assert_allclose(f([1.0, 2.0]), [1e6, 2e6])
    with pytest.raises(NanGuardError, match=r"big value in output 0 of .*mul") as caught:
        f(np.array([1.0, -1e5]))
    assert caught.value.kind == "big value"
    assert "(-100000000000.0)" in str(caught.value)
    # With infinities allowed, an infinity is not a big value either.
    lenient = arignote.function([x], x * 1e6, mode=_guard(linker, inf_is_error=False))
    assert np.isneginf(lenient(np.array([-np.inf, 1.0]))[0])
    with pytest.raises(NanGuardError, match="big value"):
        lenient(np.array([-np.inf, 1e5]))


@pytest.mark.parametrize("linker", LINKERS)
def test_disabled_checks_let_values_through(linker):
    x = T.vector("x")
    f = arignote.function([x], T.log(x), mode=_guard(linker, nan_is_error=False))
    assert np.isnan(f(np.array([-1.0]))[0])
    with pytest.raises(NanGuardError, match="Inf"):
        f(np.array([0.0]))
    g = arignote.function([x], x * 1e12, mode=_guard(linker, big_is_error=False))
    np.testing.assert_allclose(g([1.0]), [1e12])


@pytest.mark.parametrize("linker", LINKERS)
def test_the_first_bad_node_is_named_not_the_ones_its_nan_flows_into(linker):
    x, z = T.vector("x"), T.vector("z")
    bad, line = T.sqrt(x), _here()
    out = T.exp(z) + bad * 3
    f = arignote.function([x, z], out, mode=_guard(linker).excluding("fusion"))
    np.testing.assert_allclose(f([4.0], [0.0]), [7.0])
    with pytest.raises(NanGuardError) as caught:
        f(np.array([-4.0]), np.array([0.0]))
    assert "sqrt" in str(caught.value.node.op)
    assert f"line {line}" in str(caught.value)


@pytest.mark.parametrize("linker", LINKERS)
def test_function_inputs_are_checked_before_anything_runs(linker):
    x = T.matrix("x")
    w = arignote.shared(np.ones((2, 3)), name="w")
    f = arignote.function([x], T.dot(x, w), mode=_guard(linker))
    with pytest.raises(NanGuardError, match=r"Inf in function input 0 \(x\), before any") as c:
        f(np.full((3, 2), np.inf))
    assert c.value.input is not None and c.value.node is None
    w.set_value(np.full((2, 3), np.nan))
    with pytest.raises(NanGuardError, match=r"NaN in function input 1 \(w\)"):
        f(np.ones((3, 2)))


@pytest.mark.parametrize("linker", LINKERS)
def test_integer_outputs_are_not_checked_and_values_match_numpy(linker):
    i = T.lvector("i")
    x = T.matrix("x")
    f = arignote.function([i, x], [i * 1000, T.tanh(x).sum(axis=0)], mode=_guard(linker))
    big_ints = np.array([10**11, -(10**12)], dtype="int64")
    data = np.random.default_rng(0).normal(size=(4, 3))
    ints, sums = f(big_ints, data)
    np.testing.assert_array_equal(ints, big_ints * 1000)
    np.testing.assert_allclose(sums, np.tanh(data).sum(axis=0))
    empty = f(np.zeros(0, dtype="int64"), np.zeros((0, 3)))
    assert empty[0].shape == (0,)
    np.testing.assert_array_equal(empty[1], np.zeros(3))


def test_mode_by_name_and_checks_required():
    mode = get_mode("NanGuardMode")
    assert isinstance(mode, NanGuardMode)
    assert (mode.nan_is_error, mode.inf_is_error, mode.big_is_error) == (True, True, True)
    x = T.vector("x")
    f = arignote.function([x], T.log(x), mode="NanGuardMode")
    with pytest.raises(NanGuardError, match="NaN"):
        f(np.array([-1.0]))
    with pytest.raises(ValueError, match="nothing would be checked"):
        NanGuardMode(nan_is_error=False, inf_is_error=False, big_is_error=False)


def test_excluding_keeps_the_guard_settings():
    mode = NanGuardMode(linker="py", big_is_error=False).excluding("fusion")
    assert isinstance(mode, NanGuardMode) and mode.big_is_error is False
    assert "fusion" in mode.query.exclude


@pytest.mark.parametrize(
    ("value", "flags", "expected"),
    [
        (np.array([1.0, 2.0]), {}, None),
        (np.zeros((0, 3)), {}, None),
        (np.array([np.nan, np.inf]), {}, "NaN"),
        (np.array([np.nan, np.inf]), {"nan": False}, "Inf"),
        (np.array([np.nan, np.nan]), {"nan": False}, None),
        (np.array([np.nan, 2e10]), {"nan": False}, "big value"),
        (np.array([-np.inf, 2e10]), {"inf": False}, "big value"),
        (np.array([-np.inf, 2.0]), {"inf": False}, None),
        (np.array([1e10]), {}, None),
        (np.float32(-3e10), {}, "big value"),
        (np.array([np.inf], dtype="float16"), {}, "Inf"),
        (np.array([1 + 1j * np.nan]), {}, "NaN"),
        (np.array([10**12]), {}, None),
        (np.array([True]), {}, None),
        ("text", {}, None),
    ],
)
def test_find_problem(value, flags, expected):
    assert find_problem(value, **flags) == expected
