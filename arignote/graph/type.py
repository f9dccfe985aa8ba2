"""``Type``: what values a Variable may hold, and how values are converted.

A Type is an immutable, hashable description (dtype, static shape, ...).
It makes Variables and Constants of itself, converts user values with
``filter`` (raising ``TypeError`` that says what was expected), and says
whether it accepts every value of another type (``is_super``), which is
what replacing one variable by another requires.
"""

from __future__ import annotations

from typing import Any

from arignote.graph.basic import Constant, Variable


class Type:
    """Base class of all types. Subclasses set ``variable_type``/``constant_type``."""

    variable_type: type[Variable] = Variable
    constant_type: type[Constant] = Constant

    def filter(self, value: Any, strict: bool = False, allow_downcast: bool | None = None) -> Any:
        """Return ``value`` converted to this type, or raise ``TypeError``."""
        raise NotImplementedError

    def is_valid_value(self, value: Any) -> bool:
        try:
            self.filter(value, strict=True)
        except (TypeError, ValueError):
            return False
        return True

    def value_key(self, value: Any) -> Any:
        """A hashable key such that equal values have equal keys (for merging constants)."""
        return value

    def values_eq(self, a: Any, b: Any) -> bool:
        return a == b

    def is_super(self, other: Type) -> bool:
        """Whether every value of ``other`` is a value of this type."""
        return self == other

    def convert_variable(self, variable: Variable) -> Variable | None:
        """``variable`` as a variable of this type, or None if its values may not fit."""
        return variable if self.is_super(variable.type) else None

    def make_variable(self, name: str | None = None) -> Variable:
        return self.variable_type(self, None, None, name)

    def make_constant(self, value: Any, name: str | None = None) -> Constant:
        return self.constant_type(self, value, name)

    def __call__(self, name: str | None = None) -> Variable:
        """``T.TensorType('float64', (False,))('x')`` makes a variable, as in Theano."""
        return self.make_variable(name)
