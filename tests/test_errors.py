"""What errors say: the run-time report on the failing node, broadcast hints, test values.

Run-time reports are checked on both backends: each names the node that
failed (not the first one run), its inputs' shapes, dtypes, strides and
small values, the line of this file that built it, and its neighbourhood;
``exception_verbosity='high'`` shows the whole graph and every value.
"""

from __future__ import annotations

import inspect
import os
import re
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.config import config
from arignote.graph.test_value import seed_test_value
from arignote.link.errors import (
    MAX_NEIGHBOURHOOD_LINES,
    annotate_node_error,
    describe_value,
    inner_sites,
    mark_reported,
)
from arignote.scalar.basic import ScalarType
from arignote.scalar.composite import Composite
from arignote.scalar.math import add, exp
from arignote.tensor.elemwise import Elemwise
from tests.jit_support import jit_available

HERE = os.path.abspath(__file__)
SOURCE = Path(HERE).read_text().splitlines()


def line_of(marker: str) -> int:
    """The line of this file that ends with ``marker`` (written split, so only one line does)."""
    (number,) = [n for n, line in enumerate(SOURCE, 1) if line.endswith(marker)]
    return number


LINKERS = [
    "py",
    pytest.param("jit", marks=pytest.mark.skipif(not jit_available(), reason="needs a C compiler")),
]


def notes_of(error: pytest.ExceptionInfo) -> str:
    return "\n".join(getattr(error.value, "__notes__", []))


# ---- the run-time report -----------------------------------------------------------------------
@pytest.mark.parametrize("linker", LINKERS)
def test_the_report_names_the_node_that_failed_and_its_line(linker):
    x = T.matrix("x")
    W = T.matrix("W")
    first = T.exp(x)  # SITE-first
    product = first.dot(W)  # SITE-dot
    f = arignote.function([x, W], product, mode=Mode(linker, optimizer=None))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 2\)") as error:
        f(np.ones((2, 3)), np.arange(8.0).reshape(4, 2))
    notes = notes_of(error)
    assert f'File "{HERE}", line {line_of("# SITE-" + "dot")}, in ' in notes
    assert "product = first.dot(W)" in notes
    # the node that ran first (exp) is in the neighbourhood, not reported as the failure
    assert f"line {line_of('# SITE-' + 'first')}," not in notes
    assert "Apply node that caused the error: Dot(" in notes
    assert "shape (2, 3), dtype float64, strides (24, 8)" in notes
    # small values are shown, flattened onto the input's line
    assert "value [[0., 1.], [2., 3.], [4., 5.], [6., 7.]]" in notes
    neighbourhood = notes.split("Around the node")[1]
    assert "exp" in neighbourhood and "x [id" in neighbourhood
    assert f"test_errors.py:{line_of('# SITE-' + 'first')}" in neighbourhood
    assert "exception_verbosity='high'" in notes


@pytest.mark.parametrize("linker", LINKERS)
def test_large_values_are_left_out_unless_verbosity_is_high(linker):
    x = T.vector("x")
    y = T.vector("y")
    out = x + T.exp(y)
    f = arignote.function([x, y], out, mode=Mode(linker, optimizer=None))
    big = np.arange(20.0)
    with pytest.raises(ValueError) as low:
        f(big, np.ones(3))
    assert "shape (20,), dtype float64, strides (8,)" in notes_of(low)
    assert "19." not in notes_of(low)
    with config.change_flags(exception_verbosity="high"), pytest.raises(ValueError) as high:
        f(big, np.ones(3))
    notes = notes_of(high)
    assert "19." in notes and "The whole graph" in notes
    assert "exception_verbosity='high'" not in notes


def test_the_exception_keeps_its_type_message_and_one_report():
    x = T.vector("x")
    f = arignote.function([x], x[T.constant(5)] * 2, mode=Mode("py"))
    with pytest.raises(IndexError) as error:
        f(np.ones(3))
    assert str(error.value).startswith("Subtensor")
    assert notes_of(error).count("Apply node that caused the error") == 1
    # the same node seen again (a linker re-raising through a wrapper) adds nothing
    node = error.value._arignote_nodes[0]
    annotate_node_error(error.value, node, [np.ones(3)])
    assert notes_of(error).count("Apply node that caused the error") == 1
    text = "".join(traceback.format_exception(error.value))
    assert "Apply node that caused the error" in text


def _scan_error(optimizer):
    rows = T.matrix("rows")

    def accumulate(row, total):
        return total + row[:2]  # SITE-step

    totals, _ = arignote.scan(accumulate, sequences=[rows], outputs_info=[T.zeros(3)])  # SITE-scan
    last = totals[-1]
    f = arignote.function([rows], last, mode=Mode("py", optimizer=optimizer))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)") as error:
        f(np.ones((4, 3)))
    return notes_of(error)


def test_a_wide_neighbourhood_is_cut_and_a_marked_error_gets_no_report():
    parts = [T.vector(f"v{i}") for i in range(60)]
    joined = T.concatenate(parts)
    bad = joined.reshape((7, 7))
    node = bad.owner
    values = [np.ones(60), np.array([7, 7])]
    error = ValueError("reshape failed")
    annotate_node_error(error, node, values)
    (note,) = error.__notes__
    assert note.splitlines()[-2].endswith("more lines)")
    neighbourhood = note.split("Around the node")[1].splitlines()
    assert len(neighbourhood) <= MAX_NEIGHBOURHOOD_LINES + 3
    reported = ValueError("reported by its raiser")
    mark_reported(reported, node)
    annotate_node_error(reported, node, values)
    assert not getattr(reported, "__notes__", [])


def test_an_error_inside_a_scan_step_names_the_step_line_and_the_scan():
    notes = _scan_error(optimizer=None)
    assert notes.count("Apply node that caused the error") == 1
    assert f"line {line_of('# SITE-' + 'step')}, in accumulate" in notes
    inside = notes.split("ran inside the inner graph of Scan")[1]
    assert f"line {line_of('# SITE-' + 'scan')}, in " in inside


def test_a_rewritten_scan_keeps_the_line_of_the_scan():
    inside = _scan_error(optimizer="fast_run").split("ran inside the inner graph of Scan")[1]
    assert f"line {line_of('# SITE-' + 'scan')}, in " in inside


def test_a_fused_loop_lists_the_lines_of_what_it_computes():
    a, b = ScalarType("float64").make_variable(), ScalarType("float64").make_variable()
    total = add(a, b)  # SITE-scalar-add
    body = exp(total)  # SITE-scalar-exp
    x, y = T.vector("x"), T.vector("y")
    fused = Elemwise(Composite([a, b], [body]))(x, y)  # SITE-fused
    sites = {site.lineno: ops for site, ops in inner_sites(fused.owner)}
    assert sites == {
        line_of("# SITE-" + "scalar-add"): ["add"],
        line_of("# SITE-" + "scalar-exp"): ["exp"],
    }
    f = arignote.function([x, y], fused, mode=Mode("py", optimizer=None))
    with pytest.raises(ValueError) as error:
        f(np.ones(2), np.ones(3))
    notes = notes_of(error)
    assert f"line {line_of('# SITE-' + 'fused')}," in notes
    assert f'exp: File "{HERE}", line {line_of("# SITE-" + "scalar-exp")}' in notes


def test_describe_value_of_arrays_scalars_and_other_objects():
    empty = np.zeros((2, 0), dtype=np.float32)
    assert describe_value(empty) == (
        f"shape (2, 0), dtype float32, strides {empty.strides}, value []"
    )
    assert describe_value(np.float32(1.5)) == "float32 1.5"
    assert describe_value(None) == "NoneType None"
    long = describe_value("x" * 200)
    assert long.startswith("str 'xxx") and long.endswith("...") and len(long) < 90


# ---- run-time broadcasting ---------------------------------------------------------------------
@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize(
    "shapes, axis, declaration",
    [
        (((4, 3), (1, 3)), 0, r"T\.row\(\.\.\.\)"),
        (((4, 3), (4, 1)), 1, r"T\.col\(\.\.\.\)"),
        (((2, 4, 3), (2, 1, 3)), 1, r"T\.tensor\('float64', shape=\(None, 1, None\)\)"),
    ],
)
def test_an_undeclared_length_one_axis_says_how_to_declare_it(linker, shapes, axis, declaration):
    x = T.tensor("float64", shape=(None,) * len(shapes[0]), name="x")
    b = T.tensor("float64", shape=(None,) * len(shapes[0]), name="b")
    f = arignote.function([x, b], x * b, mode=Mode(linker, optimizer=None))
    with pytest.raises(ValueError) as error:
        f(np.ones(shapes[0]), np.ones(shapes[1]))
    message = str(error.value)
    assert f"input 1 (b) has length 1 along axis {axis} at run time" in message
    assert "does not declare that axis broadcastable" in message
    assert f"T.addbroadcast(b, {axis})" in message
    assert re.search(declaration, message)
    # declared, the same values broadcast
    declared = T.addbroadcast(b, axis)
    g = arignote.function([x, b], x * declared, mode=Mode(linker, optimizer=None))
    np.testing.assert_allclose(g(np.ones(shapes[0]), np.ones(shapes[1])), np.ones(shapes[0]))


def test_the_hint_names_the_users_variable_behind_left_padding():
    x, v = T.matrix("x"), T.vector("v")
    f = arignote.function([x, v], x * v, mode=Mode("py"))
    with pytest.raises(
        ValueError, match=r"DimShuffle\{x,0\}\(v\)\) has length 1 along axis 1"
    ) as error:
        f(np.ones((2, 3)), np.ones(1))
    assert "declare it with T.tensor('float64', shape=(1,))" in str(error.value)
    assert "where v is created" in str(error.value)
    assert "T.addbroadcast(v, 0)" in str(error.value)


def test_a_plain_length_mismatch_gives_no_broadcast_hint():
    x, y = T.vector("x"), T.vector("y")
    with pytest.raises(ValueError) as error:
        (x + y).eval({x: np.ones(3), y: np.ones(4)})
    assert "broadcastable" not in str(error.value)


# ---- test values -------------------------------------------------------------------------------
def test_a_shape_mistake_raises_at_the_line_that_makes_it():
    with config.change_flags(compute_test_value="raise"):
        x = T.matrix("x")
        x.tag.test_value = np.ones((8, 4))
        W = T.matrix("W")
        W.tag.test_value = np.ones((5, 2))
        with pytest.raises(ValueError, match=r"\(8, 4\) and \(5, 2\)") as error:
            x.dot(W)  # SITE-test-value-dot
    frames = traceback.extract_tb(error.value.__traceback__)
    assert (frames[0].filename, frames[0].lineno) == (HERE, line_of("# SITE-" + "test-value-dot"))
    notes = notes_of(error)
    assert "test value of Dot(x, W)" in notes
    assert "0 x: shape (8, 4), dtype float64" in notes
    assert f"line {line_of('# SITE-' + 'test-value-dot')}," in notes


def test_test_values_flow_through_constants_shared_variables_and_lists():
    w = arignote.shared(np.arange(3.0), name="w")
    with config.change_flags(compute_test_value="raise"):
        x = T.vector("x")
        x.tag.test_value = [1.0, 2.0, 3.0]
        out = (x * w + 1).sum()
    assert isinstance(x.tag.test_value, np.ndarray)
    np.testing.assert_allclose(out.tag.test_value, (np.arange(1.0, 4.0) * np.arange(3.0) + 1).sum())


def test_a_test_value_that_does_not_fit_its_type_names_the_variable():
    with config.change_flags(compute_test_value="raise"):
        x = T.matrix("x")
        x.tag.test_value = np.ones(3)
        with pytest.raises(TypeError, match=r"test value of .*name='x'.* does not fit its type"):
            x * 2


def test_has_no_test_value_names_the_variable_and_where_it_was_made():
    x = T.vector("x")
    doubled = x * 2  # SITE-untested
    with config.change_flags(compute_test_value="raise"):
        x.tag.test_value = np.ones(2)
        with pytest.raises(ValueError, match=r"name='y'.* no test value; it is a graph input"):
            x + T.vector("y")
        with pytest.raises(ValueError, match="no test value") as error:
            doubled + x
    assert f"line {line_of('# SITE-' + 'untested')}" in str(error.value)


def test_warn_points_at_the_users_line_and_ignore_is_silent():
    x = T.vector("x")
    x.tag.test_value = np.ones(2)
    warns = pytest.warns(UserWarning, match="'untested'.* no test value")
    with config.change_flags(compute_test_value="warn"), warns as record:
        out = x + T.vector("untested")  # SITE-warn
    assert (record[0].filename, record[0].lineno) == (HERE, line_of("# SITE-" + "warn"))
    assert not hasattr(out.tag, "test_value")
    with config.change_flags(compute_test_value="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x + T.vector("untested")
    assert not hasattr(out.tag, "test_value")
    assert not hasattr((x * 2).tag, "test_value")  # off


def test_pdb_opens_the_debugger_on_the_failure_then_raises(monkeypatch):
    import pdb  # noqa: T100 (replaced below: the test checks that it is called)

    seen = []
    monkeypatch.setattr(pdb, "post_mortem", lambda tb=None: seen.append(tb))
    with config.change_flags(compute_test_value="pdb"):
        x = T.vector("x")
        x.tag.test_value = np.ones(3)
        y = T.vector("y")
        y.tag.test_value = np.ones(4)
        with pytest.raises(ValueError, match="do not match"):
            x + y
    assert len(seen) == 1 and inspect.istraceback(seen[0])


def test_seed_test_value_hands_an_outer_value_to_an_inner_input():
    rows = T.matrix("rows")
    row = T.vector("row")
    seed_test_value(row, rows)  # off: nothing happens
    assert not hasattr(row.tag, "test_value")
    with config.change_flags(compute_test_value="raise"):
        seed_test_value(row, rows)  # the source has no test value: nothing happens
        assert not hasattr(row.tag, "test_value")
        rows.tag.test_value = np.arange(6.0).reshape(2, 3)
        seed_test_value(row, rows, row=1)
        np.testing.assert_allclose((row * 2).tag.test_value, [6.0, 8.0, 10.0])
