"""``function``: from symbolic inputs and outputs to a callable.

This module checks and normalises what the user asked for (inputs, outputs,
updates, givens, default updates of shared variables), builds the
``FunctionGraph`` the mode rewrites, lowers it with the mode's linker, and
wraps the program in a ``Function`` (``compiled_function.py``). Every
mistake is reported here, before anything runs, naming the variable.
With ``profile`` (or ``config.profile``) the compile steps are timed and the
program is linked with a profiling observer (``profiling.py``); the
``ProfileStats`` is ``f.profile`` (None when not profiling).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from arignote.compile.compiled_function import Function, OutputSpec
from arignote.compile.io import In, Out
from arignote.compile.mode import Mode, gc_paused, get_mode, takes_observer
from arignote.compile.profiling import NodeTimer, ProfileStats, profile_stats_for
from arignote.compile.sharedvalue import SharedVariable
from arignote.config import config
from arignote.graph.basic import Constant, Variable
from arignote.graph.fg import FunctionGraph, MissingInputError
from arignote.graph.replace import clone_replace
from arignote.graph.traversal import ancestors, graph_inputs
from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.type import TensorType


def function(
    inputs: Sequence[Variable | In],
    outputs: Variable | Out | Sequence[Variable | Out] | Mapping[str, Any] | None = None,
    mode: Any = None,
    updates: Iterable[tuple[Variable, Any]] | Mapping[Variable, Any] | None = None,
    givens: Iterable[tuple[Variable, Any]] | Mapping[Variable, Any] | None = None,
    no_default_updates: bool | Sequence[Variable] = False,
    accept_inplace: bool = False,
    name: str | None = None,
    rebuild_strict: bool = True,
    allow_input_downcast: bool | None = None,
    profile: Any = None,
    on_unused_input: str | None = None,
) -> Function:
    """Compile a callable computing ``outputs`` from ``inputs`` and applying ``updates``.

    ``outputs`` is one variable (the call returns one array), a list (a list),
    a dict of named variables (a dict), or None (an empty list).

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x")
    >>> f = function([x], (x ** 2).sum())
    >>> f([1.0, 2.0])
    array(5.)
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(
            f"function: inputs must be a list of variables, got {type(inputs).__name__} "
            "(write function([x], ...), not function(x, ...))"
        )
    on_unused_input = on_unused_input or config.on_unused_input
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError("on_unused_input must be 'raise', 'warn' or 'ignore'")
    input_specs = [_as_in(i, position) for position, i in enumerate(inputs)]
    _check_inputs(input_specs)
    output_specs, single, output_keys = _as_outputs(outputs)
    update_pairs = _collect_updates(updates)

    output_vars = [spec.variable for spec in output_specs]
    update_vars = [value for _, value in update_pairs]
    if givens:
        pairs = list(givens.items() if isinstance(givens, Mapping) else givens)
        replaced = clone_replace(
            output_vars + update_vars,
            _check_givens(pairs, {spec.variable for spec in input_specs}),
            strict=rebuild_strict,
        )
        output_vars = replaced[: len(output_vars)]
        update_vars = replaced[len(output_vars) :]
    update_pairs = list(zip([target for target, _ in update_pairs], update_vars))
    update_pairs += _default_updates(output_vars + update_vars, update_pairs, no_default_updates)
    update_vars = [value for _, value in update_pairs]

    explicit = [spec.variable for spec in input_specs]
    explicit_set = set(explicit)
    needed = graph_inputs(output_vars + update_vars, blockers=explicit)
    _check_unused(input_specs, set(ancestors(output_vars + update_vars, explicit)), on_unused_input)
    shared_inputs = [v for v in needed if isinstance(v, SharedVariable) and v not in explicit_set]
    shared_set = set(shared_inputs)
    for target, _ in update_pairs:
        if target not in shared_set:
            shared_inputs.append(target)
            shared_set.add(target)
    missing = [
        v for v in needed if v not in explicit_set and not isinstance(v, (Constant, SharedVariable))
    ]
    if missing:
        raise MissingInputError(_missing_input_message(missing[0], output_vars + update_vars))

    chosen_mode = get_mode(mode)
    stats = profile_stats_for(profile, name)
    # Graph-sized work allocates many small objects; full collections would walk them all.
    with gc_paused():
        started = time.perf_counter()
        fgraph = FunctionGraph(explicit + shared_inputs, output_vars + update_vars, clone=True)
        chosen_mode.rewrite(fgraph)
        rewritten = time.perf_counter()
        observer = _profiling_observer(stats, chosen_mode, fgraph)
        program = chosen_mode.make_program(fgraph, observer)
        linked = time.perf_counter()
    if stats is not None:
        stats.record_compile(fgraph, rewritten - started, linked - rewritten)
        program = stats.timed(program)
    compiled = Function(
        program=program,
        fgraph=fgraph,
        input_specs=input_specs,
        shared_inputs=shared_inputs,
        update_targets=[target for target, _ in update_pairs],
        output_specs=output_specs,
        single_output=single,
        output_keys=output_keys,
        allow_input_downcast=allow_input_downcast,
        name=name,
        mode=chosen_mode,
    )
    compiled.profile = stats
    return compiled


def _profiling_observer(
    stats: ProfileStats | None, mode: Mode, fgraph: FunctionGraph
) -> NodeTimer | None:
    """The observer timing each node, if profiling and the mode's linker can take one."""
    if stats is None:
        return None
    if not takes_observer(mode.linker):
        warnings.warn(
            f"function: profiling without per-node times: the {mode.linker.name!r} linker of "
            f"{mode!r} cannot report each node it runs (its make_program takes no observer)",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return stats.observer(fgraph)


def _as_in(item: Any, position: int) -> In:
    spec = item if isinstance(item, In) else None
    if spec is None:
        if not isinstance(item, Variable):
            raise TypeError(
                f"function: input {position} must be a symbolic Variable or In(...), "
                f"got {type(item).__name__} {item!r}"
            )
        spec = In(item)
    variable = spec.variable
    if isinstance(variable, SharedVariable):
        raise TypeError(
            f"function: input {position} ({variable}) is a shared variable; shared variables "
            "are implicit inputs and cannot be listed in inputs (to substitute a value for "
            "it, use givens={shared_var: other_var})"
        )
    if isinstance(variable, Constant):
        raise TypeError(f"function: input {position} ({variable}) is a constant, not an input")
    # A computed variable may be an input too (as in Theano): the graph is cut there,
    # and whatever computed it is not needed.
    return spec


def _check_inputs(specs: list[In]) -> None:
    seen: dict[Variable, int] = {}
    names: dict[str, int] = {}
    for position, spec in enumerate(specs):
        if spec.variable in seen:
            raise ValueError(
                f"function: input {position} ({spec.variable}) is the same variable as input "
                f"{seen[spec.variable]}; each input may be listed once"
            )
        seen[spec.variable] = position
        if spec.name is not None:
            if spec.name in names:
                warnings.warn(
                    f"function: inputs {names[spec.name]} and {position} are both named "
                    f"{spec.name!r}; only the first can be passed by keyword",
                    stacklevel=3,
                )
            names.setdefault(spec.name, position)


def _as_outputs(outputs: Any) -> tuple[list[OutputSpec], bool, list[str] | None]:
    """Output specs; whether the call returns one value; the keys if it returns a dict."""
    if isinstance(outputs, Mapping):
        keys = list(outputs)
        for key in keys:
            if not isinstance(key, str):
                raise TypeError(f"function: output dict keys must be strings, got {key!r}")
        specs, _, _ = _as_outputs([outputs[key] for key in keys])
        return specs, False, keys
    single = not isinstance(outputs, (list, tuple)) and outputs is not None
    items = [] if outputs is None else ([outputs] if single else list(outputs))
    specs = []
    for position, item in enumerate(items):
        borrow = False
        if isinstance(item, Out):
            item, borrow = item.variable, item.borrow
        if not isinstance(item, Variable):
            try:
                item = as_tensor_variable(item)
            except TypeError:
                raise TypeError(
                    f"function: output {position} must be a symbolic Variable or Out(...), "
                    f"got {type(item).__name__}"
                ) from None
        specs.append(OutputSpec(item, borrow))
    return specs, single, None


def _collect_updates(updates: Any) -> list[tuple[SharedVariable, Variable]]:
    if updates is None:
        return []
    pairs = list(updates.items() if isinstance(updates, Mapping) else updates)
    checked: list[tuple[SharedVariable, Variable]] = []
    targets: set[Variable] = set()
    for entry in pairs:
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            raise TypeError(
                f"function: each update must be a (shared_variable, new_value) pair, got {entry!r}"
            )
        target, value = entry
        if not isinstance(target, SharedVariable):
            raise TypeError(
                f"function: update target {target!r} is not a shared variable; only variables "
                "made with theano.shared(...) can be updated"
            )
        if target in targets:
            raise ValueError(f"function: shared variable {target} is updated twice")
        targets.add(target)
        if not isinstance(value, Variable):
            value = as_tensor_variable(value)
        checked.append((target, _check_update_type(target, value)))
    return checked


def _check_update_type(target: SharedVariable, value: Variable) -> Variable:
    if value.type == target.type:
        return value
    converted = target.type.convert_variable(value)
    if converted is not None:
        return converted
    if not (isinstance(value.type, TensorType) and isinstance(target.type, TensorType)):
        fix = "the new value must be of the shared variable's type"
    elif value.dtype != target.dtype:
        fix = f"cast it, e.g. T.cast(new_value, '{target.dtype}')" + (
            ", or build the graph with config.floatX='float32'" if target.dtype == "float32" else ""
        )
    elif value.ndim != target.ndim:
        fix = "give the new value the same number of dimensions"
    else:
        fix = (
            "make the static shapes agree, e.g. with T.unbroadcast(new_value, axis) or "
            "T.specify_shape, or create the shared variable with broadcastable=..."
        )
    raise TypeError(
        f"function: the update of shared variable {target.name or target!r} has type "
        f"{value.type}, but the shared variable has type {target.type}; {fix}"
    )


def _check_givens(
    pairs: list[tuple[Any, Any]], explicit_inputs: set[Variable]
) -> list[tuple[Variable, Variable]]:
    checked = []
    for old, new in pairs:
        if not isinstance(old, Variable):
            raise TypeError(f"function: givens key {old!r} must be a symbolic Variable")
        if old in explicit_inputs:
            raise ValueError(
                f"function: givens replaces {old}, which is also one of the inputs; the input "
                "would then be unused. To compute f(x) from another input y, write "
                "function([y], f(x), givens={x: g(y)})"
            )
        new = new if isinstance(new, Variable) else as_tensor_variable(new)
        converted = old.type.convert_variable(new)
        if converted is None:
            raise TypeError(
                f"function: givens replaces {old!r} of type {old.type} by {new!r} of type "
                f"{new.type}; the types must match (cast it, or fix its dimensions)"
            )
        checked.append((old, converted))
    return checked


def _default_updates(
    roots: list[Variable],
    explicit_updates: list[tuple[SharedVariable, Variable]],
    no_default_updates: bool | Sequence[Variable],
) -> list[tuple[SharedVariable, Variable]]:
    """Updates that shared variables ask for themselves (random streams), unless turned off."""
    if no_default_updates is True:
        return []
    excluded = set(no_default_updates or ()) | {target for target, _ in explicit_updates}
    added: list[tuple[SharedVariable, Variable]] = []
    frontier = roots
    while frontier:
        found = [
            v
            for v in graph_inputs(frontier)
            if isinstance(v, SharedVariable) and v.default_update is not None and v not in excluded
        ]
        for variable in found:
            excluded.add(variable)
            added.append((variable, _check_update_type(variable, variable.default_update)))
        frontier = [update for _, update in added[len(added) - len(found) :]]
    return added


def _check_unused(specs: list[In], used: set[Variable], policy: str) -> None:
    for position, spec in enumerate(specs):
        if spec.variable in used:
            continue
        message = (
            f"function: input {position} ({spec.variable}) is not used to compute the outputs "
            "or updates; pass on_unused_input='ignore' (or 'warn') if that is intended"
        )
        if policy == "raise":
            raise ValueError(message)
        if policy == "warn":
            warnings.warn(message, stacklevel=3)


def _missing_input_message(variable: Variable, roots: list[Variable]) -> str:
    reader = next(
        (v.owner for v in ancestors(roots) if v.owner is not None and variable in v.owner.inputs),
        None,
    )
    where = ""
    if reader is not None and reader.creation_site is not None:
        where = f"; it is read by {reader.op}, created at {reader.creation_site}"
    return (
        f"function: the outputs depend on {variable!r}, which is not among the inputs; add it "
        f"to the inputs, or give its value with givens{where}"
    )
