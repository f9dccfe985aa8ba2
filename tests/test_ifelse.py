"""``ifelse``: values, laziness (the branch not taken costs nothing), gradients, rewrites.

Laziness is proven with an op that counts its runs: in the branch not
taken, forward and backward, it never runs. Tests that count runs name
their mode (a checking mode runs every graph twice).
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.scan
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.gradient import Rop, verify_grad
from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.ifelse import IfElse, ifelse
from tests.helpers import OpCase, uniform

POSITIVE, NEGATIVE, ANY = uniform(0.5, 1), uniform(-1, -0.5), uniform(-1, 1)


def pick(c, x, y):
    return ifelse(c.sum() > 0, T.exp(x) * y, x - y**2)


def pick_reference(c, x, y):
    return np.exp(x) * y if c.sum() > 0 else x - y**2


CASES = [
    OpCase(
        "ifelse_then",
        pick,
        pick_reference,
        (POSITIVE, ANY, ANY),
        (("float64",) * 3, ("float32",) * 3),
        (((2,), (3,), (3,)), ((), (0, 2), (1, 2))),
        grad=True,
        grad_layouts=(((2,), (3,), (3,)),),
    ),
    OpCase(
        "ifelse_else",
        pick,
        pick_reference,
        (NEGATIVE, ANY, ANY),
        (("float64",) * 3,),
        (((2,), (3,), (3,)), ((), (2, 1), (2, 3))),
        grad=True,
    ),
]


class Counted(Op):
    """``2 * x``, counting how often it runs; its gradient is ``Counted`` of the cotangent."""

    runs = 0

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        type(self).runs += 1
        output_storage[0][0] = inputs[0] * 2

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        return [Counted()(output_grads[0])]


def test_only_the_branch_taken_is_computed_forward_and_backward():
    c, x = T.scalar("c"), T.vector("x")
    y = ifelse(c > 0, Counted()(T.exp(x)), x * 3)
    f = arignote.function([c, x], [y, arignote.grad(y.sum(), x)], mode="FAST_RUN")
    Counted.runs = 0
    value, gradient = f(-1.0, [1.0, 2.0])
    assert Counted.runs == 0
    np.testing.assert_allclose(value, [3.0, 6.0])
    np.testing.assert_allclose(gradient, [3.0, 3.0])
    value, gradient = f(1.0, [0.0, 1.0])
    assert Counted.runs == 2  # once forward, once backward
    np.testing.assert_allclose(value, 2 * np.exp([0.0, 1.0]))
    np.testing.assert_allclose(gradient, 2 * np.exp([0.0, 1.0]))


@pytest.mark.parametrize("mode", [None, "FAST_COMPILE", Mode("py", None)])
def test_laziness_holds_in_every_mode(mode):
    c, x = T.scalar("c"), T.vector("x")
    f = arignote.function([c, x], ifelse(c > 0, x + 1, Counted()(x)), mode=mode)
    Counted.runs = 0
    np.testing.assert_allclose(f(1.0, [1.0]), [2.0])
    assert Counted.runs == 0


def test_what_both_branches_need_is_computed_outside_once():
    c, x = T.scalar("c"), T.vector("x")
    shared_work = Counted()(x)
    y = ifelse(c > 0, shared_work + 1, shared_work - 1)
    node = y.owner
    assert shared_work in node.inputs
    Counted.runs = 0
    np.testing.assert_allclose(arignote.function([c, x], y, mode="FAST_RUN")(1.0, [1.0]), [3.0])
    assert Counted.runs == 1


def test_a_branch_value_computed_outside_too_is_computed_once():
    c, x = T.scalar("c"), T.vector("x")
    work = Counted()(x)
    y = ifelse(c > 0, work + 1, x)
    assert work not in y.owner.inputs  # alone, the branch computes it
    f = arignote.function([c, x], [y, work * 3], mode="FAST_RUN")
    Counted.runs = 0
    got = f(1.0, [1.0])
    assert Counted.runs == 1
    np.testing.assert_allclose(got[0], [3.0])
    np.testing.assert_allclose(got[1], [6.0])


def test_several_outputs():
    c, x = T.scalar("c"), T.vector("x")
    first, second = ifelse(c > 0, [x * 2, x.sum()], [x * 3, x.max()])
    f = arignote.function([c, x], [first, second])
    got = f(0.0, [1.0, 5.0])
    np.testing.assert_allclose(got[0], [3.0, 15.0])
    assert float(got[1]) == 5.0
    assert float(f(1.0, [1.0, 5.0])[1]) == 6.0


def test_the_output_type_holds_either_branch():
    c = T.scalar("c")
    y = ifelse(c > 0, T.zeros((3,)), T.vector("v"))
    assert y.type.shape == (None,)
    z = ifelse(c > 0, T.zeros((1, 2)), T.ones((1, 3)))
    assert z.type.shape == (1, None)


def test_gradient_through_both_branches_and_a_nested_ifelse():
    def nested(c, x):
        inner = ifelse(c.sum() < 0.2, T.sin(x), T.cos(x) * x)
        return ifelse(c.sum() > 0, inner * x, x**3)

    rng = np.random.default_rng(0)
    for c in (np.array([0.1]), np.array([0.7]), np.array([-0.7])):
        verify_grad(nested, [c, rng.normal(size=3)], rng=rng)


def test_rop_through_a_conditional():
    c, x, v = T.scalar("c"), T.vector("x"), T.vector("v")
    y = ifelse(c > 0, T.exp(x), x**2)
    f = arignote.function([c, x, v], Rop(y, x, v))
    np.testing.assert_allclose(f(1.0, [0.0, 1.0], [1.0, 2.0]), [1.0, 2 * np.e])
    np.testing.assert_allclose(f(-1.0, [3.0, 1.0], [1.0, 2.0]), [6.0, 4.0])


def test_a_constant_condition_keeps_only_its_branch():
    x = T.vector("x")
    f = arignote.function([x], ifelse(T.constant(1), x * 2, Counted()(x)))
    assert not any(isinstance(n.op, IfElse) for n in f.maker.fgraph.toposort())
    np.testing.assert_allclose(f([1.0]), [2.0])


def test_identical_branches_need_no_condition():
    c, x = T.scalar("c"), T.vector("x")
    f = arignote.function([c, x], ifelse(c > 0, x * 2, x * 2))
    assert not any(isinstance(n.op, IfElse) for n in f.maker.fgraph.toposort())


def test_branches_are_rewritten_with_the_function():
    c, x = T.scalar("c"), T.vector("x")
    f = arignote.function([c, x], ifelse(c > 0, T.exp(x) * 2 + 1, x), mode="FAST_RUN")
    (node,) = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, IfElse)]
    assert node.op.inner_rewritten
    assert len(node.op.then_fgraph.toposort()) == 1  # fused into one loop


def test_a_loop_in_a_branch_runs_only_when_taken():
    c, x = T.scalar("c"), T.vector("x")
    sums, _ = arignote.scan(
        lambda v, s: s + Counted()(v), sequences=x, outputs_info=np.float64(0.0)
    )
    f = arignote.function([c, x], ifelse(c > 0, sums[-1], x.sum()), mode="FAST_RUN")
    Counted.runs = 0
    assert float(f(-1.0, [1.0, 2.0])) == 3.0
    assert Counted.runs == 0
    assert float(f(1.0, [1.0, 2.0])) == 6.0
    assert Counted.runs == 2


def test_a_conditional_inside_a_loop():
    x = T.vector("x")
    clipped, _ = arignote.scan(
        lambda v, s: ifelse(s + v > 3, s, s + v), sequences=x, outputs_info=np.float64(0.0)
    )
    np.testing.assert_allclose(clipped.eval({x: [1.0, 1.5, 1.0, 0.2]}), [1.0, 2.5, 2.5, 2.7])


def test_errors_name_the_problem():
    c, x = T.scalar("c"), T.vector("x")
    with pytest.raises(TypeError, match="output 0 is .*float64.*float32.*cast"):
        ifelse(c > 0, x, T.fvector("f"))
    with pytest.raises(TypeError, match="1 dimensions in the then branch but 2"):
        ifelse(c > 0, x, T.matrix("m"))
    with pytest.raises(ValueError, match="then branch has 2 outputs and the else branch 1"):
        ifelse(c > 0, [x, x], [x])
    with pytest.raises(TypeError, match="condition must be a scalar"):
        ifelse(x > 0, x, x)
    with pytest.raises(TypeError, match="both branches as lists, or neither"):
        ifelse(c > 0, [x], x)
