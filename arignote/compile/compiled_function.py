"""``Function``: a compiled program with Theano's calling conventions.

A call binds and converts the arguments (positional, keyword, defaults),
runs the program (which computes every output and every new shared value),
checks the new values, and only then stores them all: if anything raises
before that, no shared variable changes. Outputs are fresh arrays that the
caller owns, unless ``Out(borrow=True)`` asked otherwise; arguments are
never written to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arignote.compile.io import In
from arignote.compile.sharedvalue import SharedVariable
from arignote.graph.basic import Variable
from arignote.graph.fg import FunctionGraph
from arignote.tensor.type import DowncastError


@dataclass(frozen=True)
class OutputSpec:
    variable: Variable
    borrow: bool


class Function:
    """A callable made by ``arignote.function``."""

    def __init__(
        self,
        program: Callable[[Sequence[Any]], list[Any]],
        fgraph: FunctionGraph,
        input_specs: list[In],
        shared_inputs: list[SharedVariable],
        update_targets: list[SharedVariable],
        output_specs: list[OutputSpec],
        single_output: bool,
        output_keys: list[str] | None,
        allow_input_downcast: bool | None,
        name: str | None,
        mode: Any,
    ):
        self.program = program
        self.fgraph = fgraph
        self.input_specs = input_specs
        self.shared_inputs = shared_inputs
        self.update_targets = update_targets
        self.output_specs = output_specs
        self.single_output = single_output
        self.output_keys = output_keys
        self.allow_input_downcast = allow_input_downcast
        self.name = name
        self.mode = mode
        self._position_of_name = {}
        for position, spec in enumerate(input_specs):
            if spec.name is not None:
                self._position_of_name.setdefault(spec.name, position)

    # ---- calling ----------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        values = self._bind(args, kwargs)
        shared_values = [s.get_value(borrow=True) for s in self.shared_inputs]
        results = self.program(values + shared_values)
        n_outputs = len(self.output_specs)
        outputs, new_values = results[:n_outputs], results[n_outputs:]
        # Nothing below may leave some shared variables updated and others not: every
        # new value is checked and made private first, then all are stored at once.
        protected = {id(v) for v in values} | {id(v) for v in shared_values}
        staged = []
        for target, value in zip(self.update_targets, new_values):
            value = _owned(value, protected)
            protected.add(id(value))
            staged.append(target.filter_value(value))
        returned = []
        for spec, value in zip(self.output_specs, outputs):
            if not spec.borrow:
                value = _owned(value, protected)
                protected.add(id(value))
            returned.append(value)
        for target, value in zip(self.update_targets, staged):
            target.set_value(value, borrow=True)
        if self.single_output:
            return returned[0]
        if self.output_keys is not None:
            return dict(zip(self.output_keys, returned))
        return returned

    def _bind(self, args: tuple, kwargs: dict) -> list[Any]:
        specs = self.input_specs
        if len(args) > len(specs):
            raise TypeError(
                f"{self._describe()} takes {len(specs)} input(s) "
                f"({', '.join(self._input_label(i) for i in range(len(specs))) or 'none'}), "
                f"but {len(args)} were given"
            )
        given: list[Any] = list(args) + [_MISSING] * (len(specs) - len(args))
        for keyword, value in kwargs.items():
            position = self._position_of_name.get(keyword)
            if position is None:
                known = ", ".join(repr(n) for n in self._position_of_name) or "none"
                raise TypeError(
                    f"{self._describe()} has no input named {keyword!r} (named inputs: {known})"
                )
            if given[position] is not _MISSING:
                raise TypeError(f"{self._describe()} got input {keyword!r} twice")
            given[position] = value
        converted = []
        for position, (spec, value) in enumerate(zip(specs, given)):
            if value is _MISSING:
                if not spec.has_default:
                    raise TypeError(
                        f"{self._describe()} is missing input {self._input_label(position)} "
                        f"of type {spec.variable.type}"
                    )
                value = spec.value
            allow_downcast = (
                spec.allow_downcast
                if spec.allow_downcast is not None
                else self.allow_input_downcast
            )
            try:
                value = spec.variable.type.filter(
                    value, strict=spec.strict, allow_downcast=allow_downcast
                )
            except (TypeError, ValueError) as exc:
                hint = (
                    ", or pass allow_input_downcast=True to function() to accept a narrowing "
                    "conversion"
                    if isinstance(exc, DowncastError)
                    else ""
                )
                raise TypeError(
                    f"{self._describe()}: bad value for input {self._input_label(position)}: "
                    f"{exc}{hint}"
                ) from None
            converted.append(value)
        return converted

    @property
    def maker(self) -> Function:
        """Theano's ``f.maker``: what built the function (``f.maker.fgraph``, ``f.maker.mode``)."""
        return self

    # ---- describing -------------------------------------------------------------------
    def _describe(self) -> str:
        return f"function {self.name!r}" if self.name else "function"

    def _input_label(self, position: int) -> str:
        spec = self.input_specs[position]
        return f"{position} ({spec.name!r})" if spec.name else f"{position}"

    @property
    def inputs(self) -> list[In]:
        return self.input_specs

    @property
    def outputs(self) -> list[OutputSpec]:
        return self.output_specs

    def __repr__(self) -> str:
        return f"<Function {self.name or ''} with {len(self.input_specs)} inputs>"


_MISSING = object()


def _owned(value: Any, protected: set[int]) -> Any:
    """``value`` itself if nothing else holds it, else a copy the caller can own."""
    if isinstance(value, np.ndarray) and (not value.flags.owndata or id(value) in protected):
        return value.copy()
    if isinstance(value, np.ndarray) and not value.flags.writeable:
        return value.copy()
    return value
