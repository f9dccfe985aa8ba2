"""``Print``: an identity op that prints its input's value (or some of its attributes) at run time.

The output is a view of the input, so the op costs nothing but the print.
It takes part in the graph like any op: its gradient is the output
gradient, unchanged, and its shape the input's. Constant folding skips it,
so a print of a constant happens when the function runs, not when it is
compiled. A ``Print`` whose output nothing uses is removed with the rest of
the unused graph and prints nothing, as in Theano.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.tensor.basic import as_tensor_variable


def print_attributes(op: Print, value: np.ndarray) -> None:
    """Theano's printer: one line ``message attr = value`` per attribute (a method is called)."""
    for attr in op.attrs:
        shown = getattr(value, attr)
        if callable(shown):
            shown = shown()
        print(op.message, attr, "=", shown)


class Print(Op):
    """``Print(message, attrs=("shape", ...))(x)`` is ``x``, printing those attributes when run.

    ``global_fn(op, value)`` replaces the printing (it may log, or check the value).

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> y = Print("x is", attrs=("shape", "__str__"))(x) * 2
    >>> y.eval({x: [1.0, 2.0]})
    x is shape = (2,)
    x is __str__ = [1. 2.]
    array([2., 4.])
    """

    __props__ = ("message", "attrs", "global_fn")

    def __init__(
        self,
        message: str = "",
        attrs: Sequence[str] = ("__str__",),
        global_fn: Callable[[Print, np.ndarray], None] = print_attributes,
    ):
        if isinstance(attrs, str):
            raise TypeError(f"Print: attrs must be a sequence of names, got the string {attrs!r}")
        self.message = message
        self.attrs = tuple(attrs)
        self.global_fn = global_fn

    def __str__(self) -> str:
        return f"Print{{{self.message}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        self.global_fn(self, x)
        output_storage[0][0] = np.asarray(x).view()

    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0]]

    def R_op(self, inputs, eval_points):
        return [eval_points[0]]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def do_constant_folding(self, node: Apply) -> bool:
        return False
