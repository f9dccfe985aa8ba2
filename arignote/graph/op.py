"""``Op``: one operation's semantics, in one class.

An Op declares ``__props__``, the fields that decide equality and hashing,
so that two nodes applying equal ops to the same inputs can merge. The
methods keep Theano's names and signatures, so an Op written for Theano
works unchanged:

- ``make_node(*inputs)``: check input types, return an ``Apply`` with typed
  outputs. Shape and dtype mistakes are raised here, at the user's line.
  (Or, as in Theano, declare ``itypes`` and ``otypes`` and inherit one.)
- ``perform(node, inputs, output_storage)``: the NumPy reference; it stores
  output ``i`` in ``output_storage[i][0]``.
- ``L_op(inputs, outputs, output_grads)`` or ``grad(inputs, output_grads)``:
  the pullback, as a graph.
- ``R_op(inputs, eval_points)``: the pushforward (optional).
- ``infer_shape(node, input_shapes)``: output shapes from input shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arignote.graph.basic import Apply, Variable
from arignote.graph.test_value import compute_node_test_value


class Op:
    """Base class of all operations."""

    __props__: tuple[str, ...] = ()
    default_output: int | None = None

    # ---- identity -------------------------------------------------------------------
    def _props(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__props__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._props() == other._props()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._props()))

    def __str__(self) -> str:
        name = getattr(self, "name", None) or type(self).__name__
        if not self.__props__ or getattr(self, "name", None):
            return name
        return f"{name}{{{', '.join(f'{p}={getattr(self, p)!r}' for p in self.__props__)}}}"

    def __repr__(self) -> str:
        return str(self)

    # ---- building -------------------------------------------------------------------
    def make_node(self, *inputs: Any) -> Apply:
        """Theano's default: check inputs against ``itypes``, make outputs of ``otypes``.

        An op declares either ``itypes``/``otypes`` (lists of Types) or its own
        ``make_node``. Values that are not variables become constants of the
        declared type.
        """
        itypes = getattr(self, "itypes", None)
        otypes = getattr(self, "otypes", None)
        if itypes is None or otypes is None:
            raise NotImplementedError(
                f"{type(self).__name__} must define make_node, or both itypes and otypes"
            )
        if len(inputs) != len(itypes):
            raise TypeError(f"{self} takes {len(itypes)} inputs, got {len(inputs)}")
        checked = []
        for position, (value, itype) in enumerate(zip(inputs, itypes)):
            if not isinstance(value, Variable):
                value = itype.make_constant(value)
            converted = itype.convert_variable(value)
            if converted is None:
                raise TypeError(
                    f"{self}: input {position} ({value}) has type {value.type}, expected {itype}"
                )
            checked.append(converted)
        return Apply(self, checked, [otype.make_variable() for otype in otypes])

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        """Apply the op; return the default output, or all outputs as a list."""
        node = self.make_node(*inputs, **kwargs)
        compute_node_test_value(node)
        if self.default_output is not None or len(node.outputs) == 1:
            return node.default_output
        return list(node.outputs)

    # ---- semantics ------------------------------------------------------------------
    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]) -> None:
        raise NotImplementedError(f"{self} has no perform (no reference implementation)")

    def L_op(
        self, inputs: Sequence[Variable], outputs: Sequence[Variable], output_grads: Sequence[Any]
    ) -> list[Variable]:
        return self.grad(inputs, output_grads)

    def grad(self, inputs: Sequence[Variable], output_grads: Sequence[Any]) -> list[Variable]:
        from arignote.gradient import grad_not_implemented

        return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]

    def R_op(self, inputs: Sequence[Variable], eval_points: Sequence[Any]) -> list[Variable]:
        raise NotImplementedError(f"{self} has no R_op (forward-mode derivative)")

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """``pattern[i][j]``: whether output ``j`` depends on input ``i`` at all."""
        return [[True] * len(node.outputs) for _ in node.inputs]

    def infer_shape(self, node: Apply, input_shapes: Sequence[Sequence[Any]]) -> list[tuple]:
        raise NotImplementedError(f"{self} has no infer_shape")

    def do_constant_folding(self, node: Apply) -> bool:
        return True
