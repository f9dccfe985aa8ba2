"""``In`` and ``Out``: how a function's inputs and outputs are passed and returned."""

from __future__ import annotations

from typing import Any

from arignote.graph.basic import Variable

_NO_VALUE = object()


class In:
    """An input of ``function``, with an optional default and calling name.

    ``value``: default used when the caller omits the argument. ``name``: the
    keyword the caller may use (the variable's name otherwise). ``borrow``: the
    function may keep a reference to the value. ``mutable``: the function may
    overwrite the value in place. ``strict``: the value must already have the
    exact type. ``allow_downcast``: accept narrowing conversions.
    """

    def __init__(
        self,
        variable: Variable,
        name: str | None = None,
        value: Any = _NO_VALUE,
        update: Variable | None = None,
        mutable: bool = False,
        strict: bool = False,
        allow_downcast: bool | None = None,
        borrow: bool = False,
    ):
        if not isinstance(variable, Variable):
            raise TypeError(f"In() needs a symbolic Variable, got {type(variable).__name__}")
        if update is not None:
            raise NotImplementedError(
                "In(..., update=...) (an input that keeps state between calls) is not "
                "supported; use a shared variable and function(..., updates=[(var, new)])"
            )
        self.variable = variable
        self.name = name if name is not None else variable.name
        self.value = value
        self.mutable = mutable
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.borrow = borrow or mutable

    @property
    def has_default(self) -> bool:
        return self.value is not _NO_VALUE

    def __repr__(self) -> str:
        return f"In({self.variable!r}, name={self.name!r})"


class Out:
    """An output of ``function``; ``borrow=True`` may return internal memory."""

    def __init__(self, variable: Variable, borrow: bool = False):
        if not isinstance(variable, Variable):
            raise TypeError(f"Out() needs a symbolic Variable, got {type(variable).__name__}")
        self.variable = variable
        self.borrow = borrow

    def __repr__(self) -> str:
        return f"Out({self.variable!r}, borrow={self.borrow})"
