"""``as_op``: a Python function over NumPy arrays as an Op (Theano's ``theano.as_op``).

The op's input and output types are declared, so graphs built from it are
typed like any other; its ``perform`` calls the function and converts each
result to the declared output type (raising if the number of dimensions or
a static length is wrong). It has no gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.graph.type import Type


class FromFunctionOp(Op):
    """An op whose ``perform`` is a Python function; equal when the function is the same."""

    __props__ = ("function", "itypes", "otypes")

    def __init__(
        self,
        function: Callable[..., Any],
        itypes: Sequence[Type],
        otypes: Sequence[Type],
        infer_shape: Callable[[Apply, list], list] | None = None,
    ):
        for kind, types in (("itypes", itypes), ("otypes", otypes)):
            for entry in types:
                if not isinstance(entry, Type):
                    raise TypeError(
                        f"as_op: {kind} must be Types such as T.dmatrix or "
                        f"T.TensorType('float32', shape=(None,)); got {entry!r}"
                    )
        self.function = function
        self.itypes = tuple(itypes)
        self.otypes = tuple(otypes)
        self._infer_shape = infer_shape
        self.name = getattr(function, "__name__", None)

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]) -> None:
        results = self.function(*inputs)
        if len(self.otypes) == 1 and not isinstance(results, (list, tuple)):
            results = [results]
        if len(results) != len(self.otypes):
            raise ValueError(
                f"{self}: the function returned {len(results)} values, but otypes declares "
                f"{len(self.otypes)}"
            )
        for cell, otype, result in zip(output_storage, self.otypes, results):
            cell[0] = otype.filter(result, allow_downcast=True)

    def infer_shape(self, node: Apply, input_shapes):
        if self._infer_shape is None:
            return super().infer_shape(node, input_shapes)
        return self._infer_shape(node, input_shapes)

    def L_op(self, inputs, outputs, output_grads):
        from arignote.gradient import grad_not_implemented

        return [
            grad_not_implemented(self, position, x, "an op made by as_op has no gradient")
            for position, x in enumerate(inputs)
        ]


def as_op(
    itypes: Sequence[Type],
    otypes: Sequence[Type],
    infer_shape: Callable[[Apply, list], list] | None = None,
) -> Callable[[Callable[..., Any]], FromFunctionOp]:
    """Decorator: turn a NumPy function into an op with declared input/output types.

    >>> import numpy as np, arignote.tensor as T
    >>> @as_op(itypes=[T.dvector], otypes=[T.dvector])
    ... def cumulative(x):
    ...     return np.cumsum(x)
    >>> v = T.dvector("v")
    >>> cumulative(v).eval({v: [1.0, 2.0, 3.0]})
    array([1., 3., 6.])
    """

    def wrap(function: Callable[..., Any]) -> FromFunctionOp:
        return FromFunctionOp(function, itypes, otypes, infer_shape)

    return wrap
