"""The graph IR: nodes, ops, types, traversal, clone/replace, FunctionGraph, creation sites."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.graph import (
    Apply,
    Constant,
    FunctionGraph,
    Op,
    Type,
    Variable,
    ancestors,
    clone,
    clone_get_equiv,
    clone_replace,
    graph_inputs,
    io_toposort,
    toposort,
)
from arignote.graph.fg import OUTPUT, MissingInputError
from arignote.graph.traversal import variables_between
from tests.helpers import OpCase, uniform

HERE = os.path.abspath(__file__)


def line_of(marker: str) -> int:
    """The line number in this file of the (unique) line containing ``marker``."""
    with open(HERE) as source:
        lines = [n for n, text in enumerate(source, start=1) if marker in text]
    assert len(lines) == 1, lines
    return lines[0]


class AddAmount(Op):
    """A tiny test op: ``x + amount``, with ``amount`` its only prop."""

    __props__ = ("amount",)

    def __init__(self, amount):
        self.amount = amount

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0] + self.amount, dtype=node.outputs[0].dtype)


class SubAmount(AddAmount):
    """Same props as AddAmount, different class: must not compare equal to it."""


class SplitSign(Op):
    """Two outputs (positive part, negative part); the second is the default."""

    __props__ = ()
    default_output = 1

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable(), x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        output_storage[0][0] = np.maximum(x, 0)
        output_storage[1][0] = np.minimum(x, 0)


add_one = AddAmount(1)


# ---- nodes, ops and types -------------------------------------------------------------------
def test_op_equality_and_hash_come_from_props():
    assert AddAmount(1) == AddAmount(1)
    assert hash(AddAmount(1)) == hash(AddAmount(1))
    assert AddAmount(1) != AddAmount(2)
    assert AddAmount(1) != SubAmount(1)
    assert len({AddAmount(1), AddAmount(1), AddAmount(2)}) == 2
    assert "amount=1" in str(AddAmount(1)) and "AddAmount" in str(AddAmount(1))


def test_apply_links_outputs_to_itself():
    x = T.vector("x")
    node = add_one.make_node(x)
    (out,) = node.outputs
    assert out.owner is node and out.index == 0
    assert node.inputs == [x] and node.nin == 1 and node.nout == 1
    assert node.default_output is out
    assert add_one(x).owner.op == add_one


def test_apply_rejects_non_variables_and_stolen_outputs():
    x = T.vector("x")
    with pytest.raises(TypeError, match="input 0 .* must be a Variable, got list"):
        Apply(add_one, [[1.0]], [x.type.make_variable()])
    taken = add_one(x)
    with pytest.raises(ValueError, match="already belongs to another node"):
        Apply(add_one, [x], [taken])


def test_default_output_of_a_multi_output_op():
    x = T.vector("x")
    negative = SplitSign()(x)
    assert negative is negative.owner.outputs[1]
    value = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(negative.eval({x: value}), [-1.0, 0.0])
    positive = negative.owner.outputs[0]
    np.testing.assert_array_equal(positive.eval({x: value}), [0.0, 2.0])
    assert str(positive).endswith(".0") and str(negative).endswith(".1")


def test_constant_holds_filtered_data_and_signature():
    a = T.constant(np.array([1.0, 2.0]))
    b = T.constant(np.array([1.0, 2.0]))
    c = T.constant(np.array([1.0, 3.0]))
    assert isinstance(a, Constant) and a.owner is None
    assert a.signature() == b.signature() != c.signature()
    twin = a.clone()
    assert twin is not a and twin.signature() == a.signature()
    np.testing.assert_array_equal(twin.data, a.data)


def test_constant_data_cannot_be_changed_by_mutating_the_source():
    source = np.array([1.0, 2.0])
    c = T.constant(source)
    source[0] = 100.0
    np.testing.assert_array_equal(c.data, [1.0, 2.0])


def test_type_makes_variables_and_constants():
    t = T.TensorType("float64", shape=(None,))
    assert isinstance(t, Type)
    x = t("x")
    assert isinstance(x, Variable) and x.type == t and x.name == "x" and x.owner is None
    c = t.make_constant([1.0, 2.0])
    assert isinstance(c, Constant) and c.type == t
    assert t.is_valid_value(np.zeros(2)) and not t.is_valid_value(np.zeros((2, 2)))


def test_variable_clone_is_a_fresh_input_of_the_same_type():
    x = T.matrix("x")
    y = x.clone()
    assert y is not x and y.type == x.type and y.name == "x" and y.owner is None
    assert x.clone(name="other").name == "other"
    assert type(y) is type(x)


def test_variable_equality_is_identity():
    x, y = T.vectors("x", "y")
    assert x == x and (x == y) is False and x != y  # noqa: PLR0124
    assert len({x, y, x}) == 2


class DoubleOp(Op):
    """The Op from Theano's "Creating a new Op" guide, written as Theano users wrote it."""

    __props__ = ()
    itypes = [T.dmatrix]  # noqa: RUF012  (lists, exactly as in Theano's guide)
    otypes = [T.dmatrix]  # noqa: RUF012

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        z = output_storage[0]
        z[0] = x * 2

    def infer_shape(self, node, i0_shapes):
        return i0_shapes

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]


class DoubleOpWithMakeNode(Op):
    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return arignote.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2


def test_theano_style_ops_work_unchanged():
    x = T.dmatrix("x")
    value = np.arange(6.0).reshape(2, 3)
    for op in (DoubleOp(), DoubleOpWithMakeNode()):
        out = op(x)
        assert out.type == T.dmatrix
        np.testing.assert_array_equal(arignote.function([x], out)(value), value * 2)
    assert DoubleOp() == DoubleOp() and DoubleOp() != DoubleOpWithMakeNode()
    cost = DoubleOp()(x).sum()
    np.testing.assert_array_equal(arignote.grad(cost, x).eval({x: value}), np.full((2, 3), 2.0))


def test_itypes_are_checked():
    with pytest.raises(TypeError, match=r"input 0 \(v\) has type .*vector.*expected .*matrix"):
        DoubleOp()(T.dvector("v"))
    with pytest.raises(TypeError, match="takes 1 inputs, got 2"):
        DoubleOp()(T.dmatrix(), T.dmatrix())
    constant_input = DoubleOp()([[1.0, 2.0]])
    np.testing.assert_array_equal(constant_input.eval(), [[2.0, 4.0]])


def test_op_without_make_node_or_itypes():
    class Incomplete(Op):
        pass

    with pytest.raises(NotImplementedError, match="make_node, or both itypes and otypes"):
        Incomplete()(T.vector())


cumulative = arignote.as_op(
    itypes=[T.dvector], otypes=[T.dvector], infer_shape=lambda node, shapes: shapes
)(np.cumsum)

CASES = [
    OpCase(
        name="as_op_cumsum",
        build=cumulative,
        reference=np.cumsum,
        domains=(uniform(-2.0, 2.0),),
        dtypes=(("float64",),),
        layouts=(((5,),), ((1,),), ((0,),)),
    ),
]


def test_as_op_has_no_gradient():
    v = T.dvector("v")
    with pytest.raises(TypeError, match="cumsum does not implement the gradient.*as_op"):
        arignote.grad(cumulative(v).sum(), v)


def test_as_op():
    @arignote.as_op(itypes=[T.dvector, T.dvector], otypes=[T.dvector, T.dscalar])
    def sorted_sum(a, b):
        return np.sort(a + b), float(np.sum(a))

    a, b = T.dvectors("a", "b")
    ordered, total = sorted_sum(a, b)
    f = arignote.function([a, b], [ordered, total])
    got_ordered, got_total = f([3.0, 1.0], [0.0, 1.0])
    np.testing.assert_array_equal(got_ordered, [2.0, 3.0])
    assert got_total.dtype == np.float64 and got_total.shape == () and got_total == 4.0
    assert "sorted_sum" in str(ordered)
    with pytest.raises(TypeError, match="expected"):
        sorted_sum(T.fvector(), T.dvector())
    with pytest.raises(TypeError, match="itypes must be Types such as T.dmatrix"):
        arignote.as_op(itypes=[T.matrix], otypes=[T.dmatrix])(np.abs)


def test_as_op_result_of_the_wrong_rank_is_an_error():
    @arignote.as_op(itypes=[T.dvector], otypes=[T.dvector])
    def broken(a):
        return np.outer(a, a)

    a = T.dvector("a")
    with pytest.raises(TypeError, match="expected 1"):
        broken(a).eval({a: [1.0, 2.0]})


def test_perform_that_stores_nothing_is_named():
    class Forgetful(Op):
        __props__ = ()
        itypes = (T.dvector,)
        otypes = (T.dvector,)

        def perform(self, node, inputs, output_storage):
            pass

    a = T.dvector("a")
    with pytest.raises(RuntimeError, match=r"Forgetful.perform did not store output 0"):
        Forgetful()(a).eval({a: [1.0]})


# ---- readable printing ----------------------------------------------------------------------
def test_str_and_repr_of_variables():
    x = T.vector("x")
    assert str(x) == "x"
    assert "x" in repr(x) and "vector" in repr(x) and "float64" in repr(x)
    anonymous = T.fmatrix()
    assert "float32" in str(anonymous) and "matrix" in str(anonymous)
    expression = T.exp(x) * 2
    text = str(expression)
    assert "exp" in text and "mul" in text and "x" in text and "2" in text
    assert "TensorVariable" in repr(expression)
    named = T.exp(x)
    named.name = "ex"
    assert str(named * 2).startswith("mul(ex")


def test_str_and_repr_of_constants():
    c = T.constant(np.array([1.5, 2.5]))
    assert str(c) == "[1.5 2.5]"
    assert "TensorConstant" in repr(c) and "data=[1.5 2.5]" in repr(c) and "float64" in repr(c)
    assert len(str(T.constant(np.zeros(1000)))) <= 20
    assert str(T.constant(1.0, name="one")) == "one"


def test_str_of_a_deep_expression_is_cut_off():
    x = T.scalar("x")
    y = x
    for _ in range(50):
        y = T.exp(y)
    text = str(y)
    assert "..." in text and len(text) < 100


def test_str_of_apply_names_op_and_inputs():
    x = T.vector("x")
    node = add_one(x).owner
    assert "AddAmount" in str(node) and "x" in str(node)


# ---- traversal ------------------------------------------------------------------------------
def test_ancestors_and_blockers():
    x, y = T.scalars("x", "y")
    middle = x * y
    out = T.exp(middle) + x
    found = list(ancestors([out]))
    assert len(found) == len(set(found))
    assert {x, y, middle, out} <= set(found)
    blocked = set(ancestors([out], blockers=[middle]))
    assert middle in blocked and y not in blocked
    assert set(graph_inputs([out])) >= {x, y}
    assert all(v.owner is None for v in graph_inputs([out]))
    assert set(graph_inputs([out], blockers=[middle])) == {middle, x} | {
        v for v in graph_inputs([out]) if isinstance(v, Constant)
    }


def test_io_toposort_orders_nodes_after_their_inputs():
    x, y = T.vectors("x", "y")
    a = T.exp(x)
    b = a * y
    c = b + a
    d = T.log(c) - b
    order = io_toposort([x, y], [d])
    assert set(order) == {v.owner for v in (a, b, c, d)} | {
        v.owner for v in ancestors([d]) if v.owner is not None
    }
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for variable in node.inputs:
            if variable.owner is not None:
                assert position[variable.owner] < position[node]
    assert order == io_toposort([x, y], [d])  # deterministic
    assert toposort([d]) == order
    # Inputs stop the walk: from ``a`` and ``b`` to ``c`` there is only ``c``'s node.
    assert io_toposort([a, b], [c]) == [c.owner]


def test_io_toposort_visits_shared_subgraph_once():
    x = T.scalar("x")
    shared_part = T.exp(x)
    outputs = [shared_part + 1, shared_part * 2]
    order = io_toposort([x], outputs)
    assert order.count(shared_part.owner) == 1
    assert order.index(shared_part.owner) == 0


def test_variables_between():
    x = T.vector("x")
    a = T.exp(x)
    out = T.log(a)
    found = variables_between([x], [out])
    assert found[0] is x and a in found and out in found


# ---- deep graphs: nothing recursive ---------------------------------------------------------
CHAIN_LENGTH = 100_000


@pytest.fixture(scope="module")
def long_chain():
    x = T.dscalar("x")
    y = x
    for _ in range(CHAIN_LENGTH):
        y = add_one(y)
    return x, y


def test_long_chain_traversal(long_chain):
    x, y = long_chain
    assert sys.getrecursionlimit() < CHAIN_LENGTH  # the walks must not lean on it
    assert len(list(ancestors([y]))) == CHAIN_LENGTH + 1
    assert graph_inputs([y]) == [x]
    order = io_toposort([x], [y])
    assert len(order) == CHAIN_LENGTH
    assert order[0].inputs[0] is x and order[-1] is y.owner


def test_long_chain_clone_and_function_graph(long_chain):
    x, y = long_chain
    (x2,), (y2,) = clone([x], [y])
    assert x2 is not x and y2 is not y
    assert len(io_toposort([x2], [y2])) == CHAIN_LENGTH
    fg = FunctionGraph([x], [y])
    assert len(fg.apply_nodes) == CHAIN_LENGTH
    assert fg.inputs[0] is not x and graph_inputs(fg.outputs) == fg.inputs


def test_long_chain_compiles_and_runs(long_chain):
    x, y = long_chain
    f = arignote.function([x], y)
    assert float(f(0.5)) == 0.5 + CHAIN_LENGTH


def test_long_chain_str_does_not_recurse(long_chain):
    _, y = long_chain
    assert "AddAmount" in str(y)


# ---- clone and clone_replace ----------------------------------------------------------------
def test_clone_copies_every_node():
    x, y = T.vectors("x", "y")
    out = T.exp(x) * y
    (x2, y2), (out2,) = clone([x, y], [out])
    assert x2 is not x and y2 is not y and x2.type == x.type and x2.name == "x"
    old_nodes = {v.owner for v in ancestors([out]) if v.owner}
    new_nodes = {v.owner for v in ancestors([out2]) if v.owner}
    assert not old_nodes & new_nodes and len(old_nodes) == len(new_nodes)
    assert x not in set(ancestors([out2]))
    (_, _), (out3,) = clone([x, y], [out], copy_inputs=False)
    assert x in set(ancestors([out3])) and out3 is not out


def test_clone_keeps_op_and_creation_site():
    x = T.vector("x")
    out = add_one(x)
    equiv = clone_get_equiv([x], [out])
    new_node = equiv[out.owner]
    assert new_node is not out.owner and new_node.op == out.owner.op
    assert new_node.creation_site == out.owner.creation_site


def test_clone_replace_substitutes_and_leaves_the_original_alone():
    x, y = T.scalars("x", "y")
    out = T.exp(x) + x * 3
    replaced = clone_replace(out, {x: y})
    assert x not in set(ancestors([replaced])) and y in set(ancestors([replaced]))
    np.testing.assert_allclose(replaced.eval({y: 2.0}), np.exp(2.0) + 6.0)
    np.testing.assert_allclose(out.eval({x: 1.0}), np.exp(1.0) + 3.0)


def test_clone_replace_of_an_intermediate_and_a_list():
    x, z = T.vectors("x", "z")
    middle = T.exp(x)
    outs = [middle + 1, middle * 2]
    new = clone_replace(outs, [(middle, z)])
    assert isinstance(new, list) and len(new) == 2
    value = np.array([1.0, 2.0])
    np.testing.assert_allclose(new[0].eval({z: value}), value + 1)
    np.testing.assert_allclose(new[1].eval({z: value}), value * 2)


def test_clone_replace_rejects_a_different_type():
    x = T.vector("x")
    m = T.matrix("m")
    with pytest.raises(TypeError, match=r"cannot replace .*x.* by .*m.*"):
        clone_replace(x + 1, {x: m})
    with pytest.raises(TypeError, match="must be a Variable"):
        clone_replace(x + 1, {x: "x"})


def test_clone_replace_share_inputs():
    x, y = T.scalars("x", "y")
    out = x + y
    shared_inputs = clone_replace(out, {x: T.scalar("w")})
    assert y in set(ancestors([shared_inputs]))
    copied = clone_replace(out, {x: T.scalar("w")}, share_inputs=False)
    assert y not in set(ancestors([copied]))


def test_theano_clone_alias():
    x, y = T.vectors("x", "y")
    out = (x * 2).sum()
    new_out = arignote.clone(out, replace={x: y})
    np.testing.assert_allclose(new_out.eval({y: np.array([1.0, 4.0])}), 10.0)
    both = arignote.clone([out, x + 1], replace={x: y})
    assert isinstance(both, list) and len(both) == 2
    assert x not in set(ancestors(both))
    assert arignote.clone(out) is not out


# ---- FunctionGraph --------------------------------------------------------------------------
def test_function_graph_clients():
    x = T.vector("x")
    a = T.exp(x)
    b = a + 1
    c = a * b
    fg = FunctionGraph([x], [c], clone=False)
    assert fg.inputs == [x] and fg.outputs == [c]
    assert {node for node, _ in fg.clients[a]} == {b.owner, c.owner}
    assert fg.clients[c] == [(OUTPUT, 0)]
    assert fg.get_clients(x) == [(a.owner, 0)]
    assert {a.owner, b.owner, c.owner} <= fg.apply_nodes
    assert {x, a, b, c} <= fg.variables


def test_function_graph_clones_by_default():
    x = T.vector("x")
    out = T.exp(x)
    fg = FunctionGraph([x], [out])
    assert fg.inputs[0] is not x and fg.outputs[0] is not out
    assert out.owner not in fg.apply_nodes


def test_function_graph_replace_updates_clients_and_prunes():
    x, y = T.vectors("x", "y")
    a = T.exp(x)
    b = T.log(a)
    c = b * y
    fg = FunctionGraph([x, y], [c], clone=False)
    fg.replace(b, x, reason="log(exp(x)) -> x")
    assert c.owner.inputs[0] is x
    assert a.owner not in fg.apply_nodes and b.owner not in fg.apply_nodes
    assert a not in fg.variables and b not in fg.variables
    assert (c.owner, 0) in fg.clients[x]
    assert all(node is not a.owner for node, _ in fg.clients[x])
    assert [node.op for node in fg.toposort()] == [c.owner.op]
    np.testing.assert_allclose(
        arignote.function([x, y], fg.outputs[0])([1.0, 2.0], [3.0, 4.0]), [3.0, 8.0]
    )


def test_function_graph_replace_keeps_the_books_exact():
    x, y = T.vectors("x", "y")
    a = T.exp(x) + 2.0
    b = a * y
    c = T.log(b) + a
    fg = FunctionGraph([x, y], [c, b])
    fg.check_integrity()
    old_a = fg.outputs[1].owner.inputs[0]
    two = old_a.owner.inputs[1]
    fg.replace(old_a, fg.inputs[1] * 3.0, reason="test")
    fg.check_integrity()
    # The constant that only the replaced node read is gone too.
    assert two not in fg.variables and two not in fg.clients
    assert all(not isinstance(v, Constant) or fg.clients[v] for v in fg.variables)
    f = arignote.function(fg.inputs, fg.outputs, on_unused_input="ignore")
    xv, yv = np.array([0.5, 1.0]), np.array([2.0, 3.0])
    np.testing.assert_allclose(f(xv, yv)[1], 3 * yv * yv)


def test_function_graph_failed_replace_changes_nothing():
    x, y = T.vectors("x", "y")
    out = T.exp(x) * 2.0
    fg = FunctionGraph([x], [out], clone=False)
    before = (set(fg.apply_nodes), set(fg.variables), list(out.owner.inputs))
    with pytest.raises(MissingInputError, match="y"):
        fg.replace(out.owner.inputs[0], T.exp(y))
    assert (set(fg.apply_nodes), set(fg.variables), list(out.owner.inputs)) == before
    fg.check_integrity()


def test_check_integrity_catches_stale_books():
    x = T.vector("x")
    out = T.exp(x)
    fg = FunctionGraph([x], [out], clone=False)
    fg.clients[x].append((out.owner, 0))
    with pytest.raises(AssertionError, match="clients of x"):
        fg.check_integrity()


def test_function_graph_replace_an_output():
    x = T.vector("x")
    a = T.exp(x)
    fg = FunctionGraph([x], [a], clone=False)
    new = T.log(x)
    fg.replace(a, new)
    assert fg.outputs == [new]
    assert new.owner in fg.apply_nodes and a.owner not in fg.apply_nodes
    assert fg.clients[new] == [(OUTPUT, 0)]


def test_function_graph_replace_rejects_a_type_change():
    x = T.vector("x")
    a = T.exp(x)
    fg = FunctionGraph([x], [a], clone=False)
    with pytest.raises(TypeError, match="change its type"):
        fg.replace(a, T.matrix("m"), reason="bad rewrite")


def test_function_graph_missing_input():
    x, y = T.vectors("x", "y")
    with pytest.raises(MissingInputError, match=r"needs .*y"):
        FunctionGraph([x], [x + y], clone=False)


def test_function_graph_features_hear_of_changes():
    events = []

    class Recorder:
        def on_attach(self, fg):
            events.append("attach")

        def on_import(self, fg, node, reason):
            events.append(("import", str(node.op)))

        def on_prune(self, fg, node, reason):
            events.append(("prune", str(node.op), reason))

        def on_change_input(self, fg, node, position, old, new, reason):
            events.append(("change", position, reason))

    x = T.vector("x")
    out = T.exp(x) + 1
    fg = FunctionGraph([x], [out], clone=False, features=[Recorder()])
    assert events == ["attach"]
    fg.replace(out.owner.inputs[0], T.log(x), reason="test")
    assert ("import", "log") in events
    assert ("prune", "exp", "test") in events
    assert ("change", 0, "test") in events


# ---- eval -----------------------------------------------------------------------------------
def test_eval_with_and_without_inputs():
    x = T.vector("x")
    y = T.scalar("y")
    out = x * y + 1
    np.testing.assert_allclose(out.eval({x: np.array([1.0, 2.0]), y: 3.0}), [4.0, 7.0])
    np.testing.assert_allclose(out.eval({y: 0.5, x: [2.0, 4.0]}), [2.0, 3.0])
    assert float((T.constant(2.0) * 3).eval()) == 6.0


def test_eval_cache_is_not_inherited_by_a_clone():
    x = T.scalar("x")
    assert float(x.eval({x: 1.0})) == 1.0
    twin = x.clone()
    y = twin * 2
    assert float(y.eval({twin: 3.0})) == 6.0
    with pytest.raises(MissingInputError):
        twin.eval({x: 1.0})


def test_eval_reports_a_missing_input_by_name():
    x, y = T.vectors("x", "y")
    with pytest.raises(Exception, match=r"\by\b"):
        (x + y).eval({x: [1.0]})


def test_eval_returns_a_fresh_array():
    x = T.vector("x")
    out = x * 1
    first = out.eval({x: [1.0, 2.0]})
    first[0] = 50.0
    np.testing.assert_array_equal(out.eval({x: [1.0, 2.0]}), [1.0, 2.0])


# ---- creation sites -------------------------------------------------------------------------
def test_apply_records_the_users_line():
    x = T.vector("x")
    out = add_one(x)  # SITE-direct
    site = out.owner.creation_site
    assert os.path.abspath(site.filename) == HERE
    assert site.lineno == line_of("# SITE-" + "direct")
    assert site.function == "test_apply_records_the_users_line"
    assert "add_one(x)" in site.source_line
    assert HERE in str(site)


def test_operator_overloads_record_the_users_line():
    x = T.vector("x")
    out = (x + 1) * 2  # SITE-operators
    expected = line_of("# SITE-" + "operators")
    # Every node built for this expression (the adds, the dimshuffles of the
    # constants) points at the user's line, not inside the library.
    nodes = [v.owner for v in ancestors([out]) if v.owner is not None]
    assert nodes
    for node in nodes:
        assert os.path.abspath(node.creation_site.filename) == HERE
        assert node.creation_site.lineno == expected


def _helper_that_builds(x):
    return T.exp(x)  # SITE-helper


def test_site_is_the_innermost_user_frame():
    out = _helper_that_builds(T.vector("x"))
    assert out.owner.creation_site.lineno == line_of("# SITE-" + "helper")
    assert out.owner.creation_site.function == "_helper_that_builds"


def test_runtime_error_names_the_creation_site():
    x = T.vector("x")
    y = T.vector("y")
    out = x + y  # SITE-runtime
    f = arignote.function([x, y], out)
    with pytest.raises(ValueError) as info:
        f(np.ones(2), np.ones(3))
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert f"line {line_of('# SITE-' + 'runtime')}" in notes
    assert HERE in notes and "out = x + y" in notes


# ---- test values ----------------------------------------------------------------------------
def test_test_values_are_computed_as_the_graph_is_built():
    with arignote.config.change_flags(compute_test_value="raise"):
        x = T.vector("x")
        x.tag.test_value = np.array([1.0, 2.0, 3.0])
        y = T.exp(x) * 2
        np.testing.assert_allclose(y.tag.test_value, np.exp([1.0, 2.0, 3.0]) * 2)
        w = T.vector("w")
        w.tag.test_value = np.ones(4)
        with pytest.raises(ValueError, match=r"input 0 \(x\) has shape \(3,\)"):
            x + w
        with pytest.raises(ValueError, match="test value of .*name='untested'.* no test value"):
            x + T.vector("untested")


def test_test_values_off_warn_and_ignore():
    x = T.vector("x")
    x.tag.test_value = np.ones(2)
    assert not hasattr((x * 2).tag, "test_value")  # off by default
    with arignote.config.change_flags(compute_test_value="warn"):
        with pytest.warns(UserWarning, match="'untested'.* no test value"):
            x + T.vector("untested")
    with arignote.config.change_flags(compute_test_value="ignore"):
        out = x + T.vector("untested")
        assert not hasattr(out.tag, "test_value")
