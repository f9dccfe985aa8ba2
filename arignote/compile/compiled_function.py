"""``Function``: a compiled program with Theano's calling conventions.

A call binds and converts the arguments (positional, keyword, defaults),
runs the program (which computes every output and every new shared value),
checks the new values, and only then stores them all: if anything raises
before that, no shared variable changes. Outputs are fresh arrays that the
caller owns, unless ``Out(borrow=True)`` asked otherwise; arguments are
never written to.

The call path is generated per function (Python source exec'd once,
``_call_source``): arguments passed positionally that already are ndarrays
of their input's exact dtype and dimensions are checked inline (``type(a)
is ndarray and a.dtype is float64 and a.ndim == 1``) and go straight to the
program; anything else (keywords, defaults, conversions, errors) takes the
general path, ``_call_general``, so every conversion and error message is
the same either way. Outputs the program marks fresh
(``program.fresh_outputs``: a kernel made them) are handed out without the
ownership test. ``f.trust_input = True`` (Theano's attribute) skips the
inline checks: positional arguments go to the program as they are.

``pickle.dumps(f)`` keeps the rewritten graph, the shared variables (with
their values) and what the call needs, never the program: unpickling links
the graph again (``arignote.compile.pickling``).
"""

from __future__ import annotations

import copy
import inspect
import itertools
import linecache
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arignote.compile.io import In
from arignote.compile.pickling import register_inner_graph_ops, restore_function
from arignote.compile.sharedvalue import SharedVariable
from arignote.graph.basic import Variable
from arignote.graph.fg import FunctionGraph
from arignote.tensor.type import DowncastError, TensorType


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
        self.profile: Any = None
        self._position_of_name = {}
        for position, spec in enumerate(input_specs):
            if spec.name is not None:
                self._position_of_name.setdefault(spec.name, position)
        self._trust_input = False
        self._trusted_call: Callable[..., Any] | None = None
        self._checked_call = _generated_call(self, trusted=False)
        self._call = self._checked_call

    # ---- calling ----------------------------------------------------------------------
    @property
    def __call__(self) -> Callable[..., Any]:
        # A property, so that each function has its own generated call: ``f(x)`` looks
        # ``__call__`` up on the class, and the property hands out this function's.
        return self._call

    @property
    def __signature__(self) -> inspect.Signature:
        # (``inspect.signature(f)`` would otherwise find the property, not a callable.)
        return inspect.Signature(
            [
                inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
            ]
        )

    @property
    def trust_input(self) -> bool:
        """Theano's ``f.trust_input``: when True, positional arguments go to the program
        unchecked and unconverted (a wrong one may give wrong results, or crash)."""
        return self._trust_input

    @trust_input.setter
    def trust_input(self, value: bool) -> None:
        self._trust_input = bool(value)
        if self._trust_input and self._trusted_call is None:
            self._trusted_call = _generated_call(self, trusted=True)
        self._call = self._trusted_call if self._trust_input else self._checked_call

    def _call_leftover(self, leading: tuple, more: tuple, named: dict) -> Any:
        """The general path, from a generated call's parameters (the omitted ones trail)."""
        return self._call_general(tuple(a for a in leading if a is not _MISSING) + more, named)

    def _call_general(self, args: tuple, kwargs: dict) -> Any:
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
        """Theano's ``f.maker``: what built the function (``f.maker.fgraph``, ``f.maker.mode``,
        ``f.maker.linker_report``)."""
        return self

    @property
    def linker_report(self) -> Any:
        """The linker's report on the program (the jit linker's ``LinkerReport``: how each
        node runs, which fall back to ``perform`` and why), or None where there is none."""
        return getattr(self.program, "report", None)

    # ---- pickling ---------------------------------------------------------------------
    def __reduce__(self) -> tuple:
        # The specs travel without the user's graph (its variables would pickle one level of
        # recursion per node): they name the rewritten graph's inputs and outputs on loading.
        register_inner_graph_ops()
        input_specs = [copy.copy(spec) for spec in self.input_specs]
        for spec in input_specs:
            spec.variable = None
        state = {
            "fgraph": self.fgraph,
            "input_specs": input_specs,
            "shared_inputs": self.shared_inputs,
            "update_targets": self.update_targets,
            "output_specs": [spec.borrow for spec in self.output_specs],
            "single_output": self.single_output,
            "output_keys": self.output_keys,
            "allow_input_downcast": self.allow_input_downcast,
            "name": self.name,
            "mode": self.mode,
            "trust_input": self.trust_input,
        }
        return restore_function, (state,)

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


def _own(value: Any, others: tuple) -> Any:
    """``_owned`` for generated code: a copy unless ``value`` owns its writable data and is
    none of ``others`` (the arguments, shared values and values already handed out)."""
    if isinstance(value, np.ndarray) and (
        not value.flags.owndata
        or not value.flags.writeable
        or any(value is other for other in others)
    ):
        return value.copy()
    return value


def _own_by_id(value: Any, seen: set[int]) -> Any:
    """``_own`` against the ids in ``seen``, to which the returned value's id is added."""
    if isinstance(value, np.ndarray) and (
        not value.flags.owndata or not value.flags.writeable or id(value) in seen
    ):
        value = value.copy()
    seen.add(id(value))
    return value


_INLINE_OWNERSHIP = 16


# ---- the generated call path ------------------------------------------------------------
_calls = itertools.count()


def _generated_call(function: Function, trusted: bool) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    source = _call_source(function, trusted, namespace)
    filename = f"<arignote call {next(_calls)}{' trusted' if trusted else ''}>"
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102  (our own source)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    call = namespace["call"]
    call.source = source
    return call


def _call_source(function: Function, trusted: bool, namespace: dict[str, Any]) -> str:
    """The source of ``call(*args, **kwargs)`` for ``function`` (see the module docstring).

    The parameters are positional-only (``p0=_MISSING, /``), so no keyword a user passes can
    bind to them: keywords land in ``named`` and take the general path.
    """
    specs = function.input_specs
    namespace.update(
        _MISSING=_MISSING,
        _ndarray=np.ndarray,
        _leftover=function._call_leftover,
        _general=function._call_general,
        _own=_own,
        _own_by_id=_own_by_id,
    )
    checks = []
    for k, spec in enumerate(specs):
        variable_type = spec.variable.type
        if trusted:
            continue
        if not isinstance(variable_type, TensorType):
            return "def call(*args, **kwargs):\n    return _general(args, kwargs)\n"
        namespace[f"_dtype{k}"] = np.dtype(variable_type.dtype)
        checks.append(f"type(p{k}) is _ndarray and p{k}.dtype is _dtype{k}")
        checks.append(f"p{k}.ndim == {variable_type.ndim}")
        checks += [
            f"p{k}.shape[{d}] == {length}"
            for d, length in enumerate(variable_type.shape)
            if length is not None
        ]
    parameters = [f"p{k}" for k in range(len(specs))]
    leftover = ["more", "named"] + ([f"{parameters[-1]} is _MISSING"] if specs else [])
    if checks:
        leftover.append(f"not ({' and '.join(checks)})")
    signature = "".join(f"{p}=_MISSING, " for p in parameters) + ("/, " if specs else "")
    lines = [
        f"def call({signature}*more, **named):",
        f"    if {' or '.join(leftover)}:",
        f"        return _leftover(({''.join(f'{p}, ' for p in parameters)}), more, named)",
    ]
    held = list(parameters)  # what the caller and the shared variables hold
    for k, shared in enumerate(function.shared_inputs):
        namespace[f"_shared{k}"] = shared
        if type(shared).get_value is SharedVariable.get_value:
            lines.append(f"    s{k} = _shared{k}._value")
        else:
            lines.append(f"    s{k} = _shared{k}.get_value(borrow=True)")
        held.append(f"s{k}")
    fgraph_outputs = function.fgraph.outputs
    results = [f"r{p}" for p in range(len(fgraph_outputs))]
    program = function.program
    run = getattr(program, "run", None)
    fresh = getattr(program, "fresh_outputs", None) or (False,) * len(results)
    if run is not None:
        namespace["_run"] = run
        call = f"_run({', '.join(held)})"
    else:
        namespace["_program"] = program
        call = f"_program([{', '.join(held)}])"
    lines.append(f"    {''.join(f'{r}, ' for r in results)}= {call}" if results else f"    {call}")
    # Ownership, in the general path's order (the updates, then the outputs not borrowed):
    # a value is copied unless it is fresh and not handed out already.
    n_outputs = len(function.output_specs)
    given: set[Variable] = set()
    handed: list[str] = []
    order = list(range(n_outputs, len(results))) + [
        p for p, spec in enumerate(function.output_specs) if not spec.borrow
    ]
    # Past a few values, the ones handed out so far are kept as a set of ids (a tuple of
    # names per output would make the source, and its compile, quadratic in the outputs).
    by_id = len(held) + len(order) > _INLINE_OWNERSHIP
    if by_id:
        lines.append(f"    _seen = {{{', '.join(f'id({name})' for name in held)}}}")
    for p in order:
        if fresh[p] and fgraph_outputs[p] not in given:
            given.add(fgraph_outputs[p])
            if by_id:
                lines.append(f"    _seen.add(id(r{p}))")
        elif by_id:
            lines.append(f"    r{p} = _own_by_id(r{p}, _seen)")
        else:
            others = "".join(f"{name}, " for name in [*held, *handed])
            lines.append(f"    r{p} = _own(r{p}, ({others}))")
        handed.append(f"r{p}")
    # New shared values: checked (a kernel's fresh array of the exact type needs no check),
    # then all stored.
    for k, target in enumerate(function.update_targets):
        p = n_outputs + k
        namespace[f"_target{k}"] = target
        value_type = fgraph_outputs[p].type
        exact = (
            fresh[p]
            and isinstance(target.type, TensorType)
            and isinstance(value_type, TensorType)
            and all(length is None for length in target.type.shape)
            and value_type.dtype == target.type.dtype
            and value_type.ndim == target.type.ndim
        )
        if not exact:
            lines.append(f"    r{p} = _target{k}.filter_value(r{p})")
    for k, target in enumerate(function.update_targets):
        p = n_outputs + k
        if type(target).set_value is SharedVariable.set_value:
            lines.append(f"    _target{k}._value = r{p}")
        else:
            lines.append(f"    _target{k}.set_value(r{p}, borrow=True)")
    returned = results[:n_outputs]
    if function.single_output:
        lines.append(f"    return {returned[0]}")
    elif function.output_keys is not None:
        items = ", ".join(f"{key!r}: {r}" for key, r in zip(function.output_keys, returned))
        lines.append(f"    return {{{items}}}")
    else:
        lines.append(f"    return [{', '.join(returned)}]")
    return "\n".join(lines) + "\n"
