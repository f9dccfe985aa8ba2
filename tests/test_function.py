"""``function``: calling conventions, updates, givens, input checks and error messages."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote import In, Out, config, function, shared
from arignote.graph import Apply, Op
from arignote.graph.fg import MissingInputError

RNG = np.random.default_rng(0)


class WrongNdim(Op):
    """Claims to return its input's type but returns a 2-d array: a run-time failure."""

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.atleast_2d(inputs[0]).copy()


# ---- outputs ---------------------------------------------------------------------------------
def test_single_output_list_of_outputs_and_none():
    x = T.vector("x")
    value = RNG.standard_normal(4)
    single = function([x], T.exp(x))(value)
    assert isinstance(single, np.ndarray)
    np.testing.assert_allclose(single, np.exp(value))
    both = function([x], [x * 2, x.sum()])(value)
    assert isinstance(both, list) and len(both) == 2
    np.testing.assert_allclose(both[0], value * 2)
    np.testing.assert_allclose(both[1], value.sum())
    one_in_list = function([x], [x + 1])(value)
    assert isinstance(one_in_list, list) and len(one_in_list) == 1
    assert function([x], [], on_unused_input="ignore")(value) == []
    assert function([x], None, on_unused_input="ignore")(value) == []
    assert len(function([x], (x, x * 2))(value)) == 2


def test_dict_outputs():
    x = T.vector("x")
    f = function([x], {"double": x * 2, "total": x.sum()})
    result = f([1.0, 2.0])
    assert isinstance(result, dict) and list(result) == ["double", "total"]
    np.testing.assert_array_equal(result["double"], [2.0, 4.0])
    assert result["total"] == 3.0
    with pytest.raises(TypeError, match="keys must be strings"):
        function([x], {1: x})


def test_output_dtypes_are_exact():
    x = T.fvector("x")
    out = function([x], [x * 2, T.cast(x, "int32")])(np.ones(3, dtype="float32"))
    assert out[0].dtype == np.float32 and out[1].dtype == np.int32


def test_constant_outputs():
    np.testing.assert_array_equal(function([], T.constant([1.0, 2.0]))(), [1.0, 2.0])
    assert function([], 3)() == 3


def test_output_that_is_not_a_variable():
    x = T.vector("x")
    with pytest.raises(TypeError, match="output 0 must be a symbolic Variable"):
        function([x], "x")


# ---- inputs: positional, keyword, defaults --------------------------------------------------
def test_keyword_calls_and_defaults():
    x, y = T.vectors("x", "y")
    z = T.scalar("z")
    f = function(
        [x, In(y, value=np.array([10.0, 20.0])), In(z, value=1.0, name="scale")], (x + y) * z
    )
    np.testing.assert_allclose(f([1.0, 2.0]), [11.0, 22.0])
    np.testing.assert_allclose(f([1.0, 2.0], [0.0, 0.0]), [1.0, 2.0])
    np.testing.assert_allclose(f([1.0, 2.0], scale=2.0), [22.0, 44.0])
    np.testing.assert_allclose(f(x=[1.0, 2.0], y=[1.0, 1.0], scale=3.0), [6.0, 9.0])
    np.testing.assert_allclose(f(scale=0.5, x=[2.0, 2.0]), [6.0, 11.0])


def test_python_lists_and_scalars_are_accepted():
    x = T.matrix("x")
    s = T.scalar("s")
    i = T.iscalar("i")
    f = function([x, s, i], x * s + i)
    result = f([[1, 2], [3, 4]], 2, 1)
    np.testing.assert_allclose(result, [[3.0, 5.0], [7.0, 9.0]])
    assert result.dtype == np.float64


def test_wrong_number_of_arguments_names_the_inputs():
    x, y = T.vectors("x", "y")
    f = function([x, y], x + y)
    with pytest.raises(TypeError, match=r"takes 2 input.*'x'.*'y'.*3 were given"):
        f([1.0], [2.0], [3.0])


def test_unknown_keyword_is_named():
    x, y = T.vectors("x", "y")
    f = function([x, y], x + y)
    with pytest.raises(TypeError, match=r"no input named 'w'.*'x', 'y'"):
        f([1.0], w=[2.0])
    with pytest.raises(TypeError, match=r"got input 'x' twice"):
        f([1.0], x=[2.0])


def test_missing_argument_is_named():
    x, y = T.vectors("x", "y")
    f = function([x, y], x + y, name="adder")
    with pytest.raises(TypeError, match=r"'adder' is missing input 1 \('y'\)"):
        f([1.0])


def test_wrong_ndim_names_the_input():
    x, y = T.vectors("x", "y")
    f = function([x, y], x + y)
    with pytest.raises(TypeError, match=r"input 1 \('y'\).*expected 1.*got 2"):
        f([1.0], [[2.0]])


def test_wrong_dtype_names_the_input():
    x = T.ivector("counts")
    f = function([x], x * 2)
    with pytest.raises(TypeError, match=r"input 0 \('counts'\).*int32.*float64"):
        f(np.array([1.5, 2.5]))
    with pytest.raises(TypeError, match=r"input 0 \('counts'\).*\[1\.5\].*allow_input_downcast"):
        f([1.5])
    with pytest.raises(TypeError, match=r"input 0 \('counts'\).*not a numeric"):
        f(["a"])


def test_unnamed_input_errors_give_its_position():
    x = T.vector()
    f = function([x], x * 2)
    with pytest.raises(TypeError, match=r"bad value for input 0: wrong number of dimensions"):
        f(np.zeros((2, 2)))


def test_symbolic_argument_is_refused():
    x = T.vector("x")
    f = function([x], x * 2)
    with pytest.raises(TypeError, match="symbolic Variable"):
        f(T.vector("y"))


# ---- dtype conversion of arguments ----------------------------------------------------------
def test_narrowing_needs_allow_input_downcast():
    x = T.fvector("x")
    value = np.array([0.1, 0.2])
    with pytest.raises(TypeError, match=r"input 0 \('x'\).*float64.*allow_input_downcast=True"):
        function([x], x * 2)(value)
    result = function([x], x * 2, allow_input_downcast=True)(value)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, value.astype("float32") * 2)
    # Per input, In(allow_downcast=...) wins over the function's setting.
    result = function([In(x, allow_downcast=True)], x * 2)(value)
    assert result.dtype == np.float32
    with pytest.raises(TypeError, match="float64"):
        function([In(x, allow_downcast=False)], x * 2, allow_input_downcast=True)(value)


def test_widening_is_always_fine():
    x = T.dvector("x")
    result = function([x], x * 2)(np.array([1, 2], dtype="int8"))
    assert result.dtype == np.float64
    result = function([x], x * 2)(np.array([1, 2], dtype="float32"))
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, [2.0, 4.0])


def test_exact_python_values_need_no_downcast():
    i = T.ivector("i")
    np.testing.assert_array_equal(function([i], i + 1)([1, 2]), [2, 3])
    f = T.fscalar("f")
    assert function([f], f * 2)(0.5) == np.float32(1.0)
    with pytest.raises(TypeError, match="exactly"):
        function([i], i + 1)([2**40])


def test_python_float_to_floatx_is_special_cased():
    # floatX float64: a Python float into a float32 input is a narrowing conversion.
    f32 = T.fscalar("f32")
    with pytest.raises(TypeError, match=r"input 0 \('f32'\).*0\.1.*allow_input_downcast"):
        function([f32], f32 * 2)(0.1)
    with config.change_flags(floatX="float32"):
        x = T.scalar("x")
        assert x.dtype == "float32"
        f = function([x], x * 2)
        result = f(0.1)
        assert result.dtype == np.float32
        np.testing.assert_allclose(result, np.float32(0.1) * 2)
        # Only when the downcast setting is left unspecified, as in Theano.
        with pytest.raises(TypeError, match="exactly"):
            function([x], x * 2, allow_input_downcast=False)(0.1)
        # A NumPy float64 is not a Python float: still refused.
        with pytest.raises(TypeError, match="float64"):
            f(np.float64(0.1))


# ---- checks at compile time -----------------------------------------------------------------
def test_inputs_must_be_a_list():
    x = T.vector("x")
    with pytest.raises(TypeError, match=r"function\(\[x\], \.\.\.\)"):
        function(x, x * 2)


def test_shared_variable_in_inputs_is_refused():
    w = shared(np.zeros(2), name="w")
    with pytest.raises(TypeError, match=r"input 0 \(w\) is a shared variable.*givens"):
        function([w], w * 2)


def test_a_computed_variable_can_be_an_input():
    x = T.vector("x")
    hidden = T.exp(x)
    out = hidden * 2 + 1
    f = function([hidden], out)
    np.testing.assert_allclose(f([1.0, 2.0]), [3.0, 5.0])
    # Nothing above the cut is needed, and the cut variable is an ordinary argument.
    assert all(node.op != hidden.owner.op for node in f.fgraph.toposort())
    with pytest.raises(ValueError, match="not used"):
        function([hidden], x)


def test_constant_in_inputs_is_refused():
    with pytest.raises(TypeError, match="is a constant"):
        function([T.constant(1.0)], T.constant(2.0))


def test_duplicate_input_is_refused():
    x = T.vector("x")
    with pytest.raises(ValueError, match="input 1 .*same variable as input 0"):
        function([x, x], x)


def test_unused_input():
    x, y = T.vectors("x", "y")
    with pytest.raises(ValueError, match=r"input 1 \(y\) is not used.*on_unused_input"):
        function([x, y], x * 2)
    f = function([x, y], x * 2, on_unused_input="ignore")
    np.testing.assert_allclose(f([1.0], [5.0]), [2.0])
    with pytest.warns(UserWarning, match="not used"):
        function([x, y], x * 2, on_unused_input="warn")
    with pytest.raises(ValueError, match="on_unused_input must be"):
        function([x], x, on_unused_input="sometimes")


def test_input_used_only_by_an_update_is_used():
    x = T.vector("x")
    acc = shared(np.zeros(2), name="acc")
    f = function([x], [], updates=[(acc, acc + x)])
    f([1.0, 2.0])
    np.testing.assert_allclose(acc.get_value(), [1.0, 2.0])


def test_missing_input_is_named():
    x = T.vector("x")
    bias = T.vector("bias")
    with pytest.raises(MissingInputError, match=r"name='bias'.*not among the inputs"):
        function([x], x + bias)
    with pytest.raises(MissingInputError, match="bias"):
        (x + bias).eval({x: [1.0]})


def test_missing_input_error_points_at_the_users_line():
    x, hidden = T.vectors("x", "hidden")
    out = x * hidden  # MISSING-line
    with pytest.raises(MissingInputError) as info:
        function([x], out)
    assert "x * hidden" in str(info.value) and "test_function.py" in str(info.value)


def test_bad_mode_is_named():
    x = T.vector("x")
    with pytest.raises(ValueError, match="unknown mode 'FASTEST'"):
        function([x], x, mode="FASTEST")


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "FAST_RUN", None])
def test_modes_run(mode):
    x = T.matrix("x")
    value = RNG.standard_normal((3, 2))
    f = function([x], T.exp(x).sum(axis=0), mode=mode)
    np.testing.assert_allclose(f(value), np.exp(value).sum(axis=0))


# ---- fresh outputs, untouched inputs --------------------------------------------------------
def test_outputs_are_fresh_arrays_the_caller_owns():
    x = T.vector("x")
    w = shared(np.array([1.0, 2.0]), name="w")
    doubled = x * 2
    f = function([x], [x, doubled, doubled, w, T.constant([5.0, 6.0]), x.dimshuffle("x", 0)])
    value = np.array([3.0, 4.0])
    outputs = f(value)
    for out in outputs:
        out[...] = -1.0  # each is writable and ours
    np.testing.assert_array_equal(value, [3.0, 4.0])
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0])
    again = f(value)
    np.testing.assert_array_equal(again[0], [3.0, 4.0])
    np.testing.assert_array_equal(again[1], [6.0, 8.0])
    np.testing.assert_array_equal(again[2], [6.0, 8.0])
    np.testing.assert_array_equal(again[3], [1.0, 2.0])
    np.testing.assert_array_equal(again[4], [5.0, 6.0])
    assert again[1] is not again[2]


def test_output_equal_to_an_update_does_not_alias_the_shared_value():
    w = shared(np.array([1.0, 2.0]), name="w")
    new_w = w + 1
    f = function([], new_w, updates=[(w, new_w)])
    out = f()
    out[0] = 100.0
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0])
    np.testing.assert_array_equal(f(), [3.0, 4.0])


def test_inputs_are_never_modified():
    x = T.matrix("x")
    value = RNG.standard_normal((3, 4))
    saved = value.copy()
    f = function([x], [x + 1, T.exp(x), x.T, x.sum(axis=1), -x, x * x])
    f(value)
    np.testing.assert_array_equal(value, saved)
    # Also when passed through In(borrow=True).
    function([In(x, borrow=True)], x * 3)(value)
    np.testing.assert_array_equal(value, saved)


def test_out_borrow_still_gives_correct_values():
    x = T.vector("x")
    f = function([x], Out(x * 2, borrow=True))
    first = f([1.0, 2.0]).copy()
    second = f([3.0, 4.0])
    np.testing.assert_array_equal(first, [2.0, 4.0])
    np.testing.assert_array_equal(second, [6.0, 8.0])


# ---- updates --------------------------------------------------------------------------------
def test_updates_as_list_and_as_ordered_dict():
    x = T.scalar("x")
    total = shared(np.float64(0.0), name="total")
    count = shared(np.int64(0), name="count")
    f = function([x], total, updates=[(total, total + x), (count, count + 1)])
    g = function([x], total, updates=OrderedDict([(total, total * x), (count, count + 1)]))
    assert f(2.0) == 0.0 and total.get_value() == 2.0
    assert g(3.0) == 2.0 and total.get_value() == 6.0
    assert count.get_value() == 2


def test_outputs_see_the_values_from_before_the_updates():
    w = shared(np.array([1.0, 2.0]), name="w")
    f = function([], [w * 1, w.sum()], updates=[(w, w * 10)])
    before, total = f()
    np.testing.assert_array_equal(before, [1.0, 2.0])
    assert total == 3.0
    np.testing.assert_array_equal(w.get_value(), [10.0, 20.0])


def test_updates_are_applied_together_a_swap():
    a = shared(np.array([1.0, 2.0]), name="a")
    b = shared(np.array([3.0, 4.0]), name="b")
    swap = function([], [], updates=[(a, b), (b, a)])
    swap()
    np.testing.assert_array_equal(a.get_value(), [3.0, 4.0])
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0])
    swap()
    np.testing.assert_array_equal(a.get_value(), [1.0, 2.0])
    np.testing.assert_array_equal(b.get_value(), [3.0, 4.0])
    # The two shared variables do not end up holding the same array.
    a.get_value(borrow=True)[0] = 50.0
    assert b.get_value()[0] == 3.0


def test_a_failing_call_changes_no_shared_variable():
    first = shared(np.array([1.0, 2.0]), name="first")
    second = shared(np.array([1.0, 2.0, 3.0]), name="second")
    v = T.vector("v")
    f = function([v], [], updates=[(first, first + 1), (second, second + v)])
    with pytest.raises(ValueError, match="shapes do not match"):
        f(np.ones(2))
    np.testing.assert_array_equal(first.get_value(), [1.0, 2.0])
    np.testing.assert_array_equal(second.get_value(), [1.0, 2.0, 3.0])
    f(np.ones(3))
    np.testing.assert_array_equal(first.get_value(), [2.0, 3.0])


def test_a_bad_new_value_changes_no_shared_variable():
    first = shared(np.array([1.0, 2.0]), name="first")
    second = shared(np.array([1.0, 2.0]), name="second")
    f = function([], [], updates=[(first, first + 1), (second, WrongNdim()(second))])
    with pytest.raises(TypeError, match="shared variable 'second'.*dimensions"):
        f()
    np.testing.assert_array_equal(first.get_value(), [1.0, 2.0])
    np.testing.assert_array_equal(second.get_value(), [1.0, 2.0])


def test_update_type_mismatch_names_variable_types_and_fix():
    w = shared(np.zeros(3, dtype="float32"), name="weights")
    x = T.dvector("x")
    with pytest.raises(TypeError) as info:
        function([x], [], updates=[(w, w + x)])
    message = str(info.value)
    assert "'weights'" in message
    assert "TensorType(float64, vector)" in message and "TensorType(float32, vector)" in message
    assert "T.cast(" in message and "'float32'" in message
    # The suggested fix works.
    f = function([x], [], updates=[(w, T.cast(w + x, "float32"))])
    f([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.get_value(), np.array([1, 2, 3], dtype="float32"))


def test_update_ndim_mismatch():
    w = shared(np.zeros(3), name="w")
    with pytest.raises(TypeError, match="'w'.*same number of dimensions"):
        function([], [], updates=[(w, w.sum())])


def test_update_target_must_be_shared():
    x = T.vector("x")
    with pytest.raises(TypeError, match="is not a shared variable"):
        function([x], [], updates=[(x, x + 1)])


def test_update_must_be_a_pair_and_only_once():
    w = shared(np.zeros(2), name="w")
    with pytest.raises(TypeError, match="pair"):
        function([], [], updates=[(w,)])
    with pytest.raises(ValueError, match="updated twice"):
        function([], [], updates=[(w, w + 1), (w, w + 2)])


def test_update_from_a_value():
    w = shared(np.zeros(2), name="w")
    function([], [], updates=[(w, [7.0, 8.0])])()
    np.testing.assert_array_equal(w.get_value(), [7.0, 8.0])


def test_default_updates():
    w = shared(np.array(0.0), name="w")
    w.default_update = w + 1
    f = function([], w * 1)
    assert f() == 0.0 and f() == 1.0 and w.get_value() == 2.0
    function([], w * 1, no_default_updates=True)()
    function([], w * 1, no_default_updates=[w])()
    assert w.get_value() == 2.0
    function([], w * 1, updates=[(w, w + 10)])()  # an explicit update wins
    assert w.get_value() == 12.0


# ---- givens ---------------------------------------------------------------------------------
def test_givens_replace_a_variable():
    x, y = T.vectors("x", "y")
    out = x * 2 + 1
    f = function([y], out, givens={x: y * 10})
    np.testing.assert_allclose(f([1.0, 2.0]), [21.0, 41.0])
    f = function([y], out, givens=[(x, y)])
    np.testing.assert_allclose(f([1.0, 2.0]), [3.0, 5.0])


def test_givens_replace_a_shared_variable():
    w = shared(np.array([1.0, 2.0]), name="w")
    x = T.vector("x")
    f = function([x], w * 3, givens={w: x})
    np.testing.assert_allclose(f([5.0, 6.0]), [15.0, 18.0])
    g = function([], w * 3, givens={w: np.array([2.0, 2.0])})
    np.testing.assert_allclose(g(), [6.0, 6.0])
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0])


def test_givens_in_updates():
    w = shared(np.zeros(2), name="w")
    x, step = T.vectors("x", "step")
    f = function([x], [], updates=[(w, w + step)], givens={step: x * 2})
    f([1.0, 2.0])
    np.testing.assert_allclose(w.get_value(), [2.0, 4.0])


def test_givens_type_mismatch():
    x = T.vector("x")
    with pytest.raises(TypeError, match=r"givens replaces .*x.*matrix.*types must match"):
        function([], x * 2, givens={x: T.matrix("m")})
    with pytest.raises(TypeError, match="must be a symbolic Variable"):
        function([x], x, givens={"x": x})


def test_givens_of_an_input_is_refused():
    x, y = T.vectors("x", "y")
    with pytest.raises(ValueError, match="also one of the inputs"):
        function([x, y], x * 2, givens={x: y})


# ---- misc -----------------------------------------------------------------------------------
def test_in_update_is_refused_clearly():
    x = T.vector("x")
    with pytest.raises(NotImplementedError, match="shared variable"):
        In(x, value=np.zeros(1), update=x + 1)


def test_function_is_reusable_and_independent_of_graph_edits():
    x = T.vector("x")
    out = x + 1
    f = function([x], out)
    out.name = "renamed"
    assert f.name is None
    for k in range(3):
        np.testing.assert_allclose(f([float(k)]), [k + 1.0])


def test_top_level_function_is_the_same():
    assert arignote.function is function
    assert arignote.shared is shared


def test_no_warnings_on_a_plain_call():
    x = T.vector("x")
    f = function([x], x * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f([1.0, 2.0])
