"""Shared variables: symbolic variables with a value that persists between calls.

A shared variable is an implicit input of every function that uses it; its
value lives in one storage cell that those functions read and, through
``updates``, write. ``get_value``/``set_value`` copy unless ``borrow=True``,
so a caller never aliases the stored array by accident.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from arignote.graph.basic import Variable
from arignote.tensor.type import DowncastError, TensorType
from arignote.tensor.variable import _TensorOperators


class SharedVariable(Variable):
    """A variable whose value is stored with it (``get_value``/``set_value``)."""

    __slots__ = ("_value", "strict", "allow_downcast", "default_update")

    def __init__(self, type, value, name=None, strict=False, allow_downcast=None, borrow=False):
        super().__init__(type, None, None, name)
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.default_update: Variable | None = None
        self._value = None
        self.set_value(value, borrow=borrow)

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
        """The stored value: a copy, or with ``borrow=True`` the stored object itself."""
        if borrow:
            return self._value
        return (
            self._value.copy()
            if isinstance(self._value, np.ndarray)
            else copy.deepcopy(self._value)
        )

    def filter_value(self, value: Any) -> Any:
        """``value`` converted to this variable's type, or a TypeError naming the variable."""
        try:
            return self.type.filter(value, strict=self.strict, allow_downcast=self.allow_downcast)
        except DowncastError as exc:
            raise TypeError(
                f"shared variable {self._label()}: {exc}, or create the shared variable with "
                "allow_downcast=True"
            ) from None
        except (TypeError, ValueError) as exc:
            raise TypeError(f"shared variable {self._label()}: {exc}") from None

    def set_value(self, value: Any, borrow: bool = False) -> None:
        """Store ``value`` (a copy unless ``borrow=True``); its shape may change, its type not."""
        filtered = self.filter_value(value)
        if not borrow:
            if isinstance(filtered, np.ndarray):
                if filtered is value or np.may_share_memory(filtered, value):
                    filtered = filtered.copy()
            elif filtered is value:
                filtered = copy.deepcopy(filtered)
        self._value = filtered

    def _label(self) -> str:
        return repr(self.name) if self.name is not None else f"of type {self.type}"

    def clone(self, name: str | None = None) -> Variable:
        """A plain (non-shared) variable of the same type: used when graphs are copied."""
        return self.type.make_variable(self.name if name is None else name)

    def __str__(self) -> str:
        return self.name if self.name is not None else f"<shared {self.type}>"


class TensorSharedVariable(_TensorOperators, SharedVariable):
    __slots__ = ()


def shared(
    value: Any,
    name: str | None = None,
    strict: bool = False,
    allow_downcast: bool | None = None,
    borrow: bool = False,
    shape: tuple[int | None, ...] | None = None,
    broadcastable: tuple[bool, ...] | None = None,
) -> TensorSharedVariable:
    """A shared tensor holding ``value`` (copied unless ``borrow=True``).

    As in Theano, no dimension is broadcastable unless ``broadcastable=`` or
    ``shape=`` says so, because the value may later change shape.

    >>> w = shared(np.zeros(3), name="w")
    >>> w.get_value()
    array([0., 0., 0.])
    """
    if isinstance(value, Variable):
        raise TypeError("shared() takes a value (e.g. a NumPy array), not a symbolic Variable")
    if isinstance(value, (np.ndarray, np.generic)):
        array = value
    elif isinstance(value, (int, float, bool)):
        # Python numbers take their NumPy dtype (int64/float64) unless floatX says float32.
        from arignote.config import config

        array = np.asarray(value, dtype=config.floatX if isinstance(value, float) else None)
    else:
        array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(f"shared() cannot hold {type(value).__name__} values")
    if shape is None:
        shape = (None,) * np.ndim(array) if broadcastable is None else None
    tensor_type = TensorType(str(array.dtype), broadcastable, shape=shape)
    return TensorSharedVariable(
        tensor_type, value, name=name, strict=strict, allow_downcast=allow_downcast, borrow=borrow
    )
