"""Run-time checks inside a graph: ``CheckAndRaise`` and ``Assert`` (Theano's ``tensor.opt.Assert``).

``CheckAndRaise(exc_type, msg)(x, *conditions)`` is ``x`` itself (a view)
when every condition holds, and raises ``exc_type(msg)`` otherwise. The
conditions are scalars, built with the graph, so a check costs one node and
the failure names the user's line that built it. The gradient flows to
``x`` only: the conditions are disconnected from the output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.tensor.basic import as_tensor_variable


class CheckAndRaise(Op):
    """``x`` if all conditions hold, else raise ``exc_type(msg)``.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x")
    >>> checked = CheckAndRaise(ValueError, "x must be positive")(x, T.all(x > 0))
    >>> checked.eval({x: [1.0, 2.0]})
    array([1., 2.])
    """

    __props__ = ("exc_type", "msg")

    def __init__(self, exc_type: type[Exception], msg: str = ""):
        if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
            raise TypeError(f"CheckAndRaise: exc_type must be an exception class, got {exc_type!r}")
        self.exc_type = exc_type
        self.msg = msg

    def __str__(self) -> str:
        return f"{type(self).__name__}{{{self.exc_type.__name__}, {self.msg!r}}}"

    def make_node(self, value: Any, *conditions: Any) -> Apply:
        if not isinstance(value, Variable):
            value = as_tensor_variable(value)
        checked = []
        for position, condition in enumerate(conditions):
            condition = as_tensor_variable(condition)
            if condition.ndim != 0:
                raise TypeError(
                    f"{self}: condition {position} ({condition}) has {condition.ndim} "
                    "dimensions, but conditions must be scalars; reduce it, e.g. T.all(condition)"
                )
            checked.append(condition)
        return Apply(self, [value, *checked], [value.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        value, *conditions = inputs
        if not all(bool(np.all(c)) for c in conditions):
            raise self.exc_type(self.msg)
        output_storage[0][0] = value

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def connection_pattern(self, node):
        return [[True]] + [[False]] * (len(node.inputs) - 1)

    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0]] + [None] * (len(inputs) - 1)

    def R_op(self, inputs, eval_points):
        return [eval_points[0]]


class Assert(CheckAndRaise):
    """``x`` if all conditions hold, else ``AssertionError(msg)``.

    >>> import arignote.tensor as T
    >>> x = T.scalar("x")
    >>> float(Assert("x is negative")(x, x >= 0).eval({x: 2.0}))
    2.0
    """

    def __init__(self, msg: str = "Arignote Assert failed!"):
        super().__init__(AssertionError, msg)

    def __str__(self) -> str:
        return f"Assert{{{self.msg!r}}}"


assert_op = Assert()
