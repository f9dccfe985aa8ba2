"""Building ``Scan`` nodes: the internal ``build_scan`` and Theano's ``scan``.

``build_scan`` takes the loop body as inner variables (placeholders for the
per-step inputs, and the new values computed from them) and makes the node:
it cuts loop-invariant computations out of the body (``split_loop_invariant``),
drops per-step inputs the body does not read (a recurrent output none of whose
taps is read becomes an ordinary per-step output), checks types and builds the
op. The public ``scan`` front end, the gradient and the rewrites all build
their loops through it.

``scan`` follows ``theano.scan``: the step function receives, in order, the
sequence taps, the taps of the outputs that have them, and the
non-sequences (the variables themselves, so the step may differentiate with
respect to them); it returns its outputs, possibly with an updates dict and
an ``until`` condition, in any order. Variables the step reads without
receiving them (shared variables, other outer variables) become
non-sequences. Shared variables that the step updates, explicitly or by a
``default_update`` (a random stream's generator), become loop states; their
final values are returned in the updates, which must be passed to
``function`` for the state to advance (a draw made outside the step and read
by it without being passed in ``non_sequences`` is drawn anew at every step,
as in Theano; passed in ``non_sequences``, it is drawn once per call). Every
random draw in the step is also
stored, one row per step, as a hidden output: a gradient reads the numbers
that were drawn instead of drawing again (the hidden output is dropped by
rewriting when no gradient uses it).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.replace import replace_and_rebuild
from arignote.graph.traversal import graph_inputs
from arignote.graph.test_value import compute_node_test_value, seed_test_value
from arignote.scan.op import Scan, ScanInfo
from arignote.scan.utils import (
    VARIANT,
    classify,
    row_type,
    split_loop_invariant,
    until,
    used_inputs,
)
from arignote.tensor.type import TensorType


@dataclass
class Recurrent:
    """A fed-back output: ``initial`` (outer; its first ``lag`` rows precede step 0), the taps
    (negative offsets), one inner placeholder per tap, and the inner new value."""

    initial: Variable
    taps: tuple[int, ...]
    tap_inputs: list[Variable]
    new_value: Variable


@dataclass
class State:
    """A carried value without history: outer initial value, inner placeholder, new value."""

    initial: Variable
    placeholder: Variable
    new_value: Variable


@dataclass
class ScanOutputs:
    """The outer outputs of a built loop, in the order the pieces were given."""

    recurrent: list[Variable]
    nit_sot: list[Variable]
    states: list[Variable]
    node: Apply


def build_scan(
    n_steps: Any,
    sequences: Sequence[tuple[Variable, Variable]] = (),
    recurrent: Sequence[Recurrent] = (),
    nit_sot: Sequence[Variable] = (),
    states: Sequence[State] = (),
    non_seqs: Sequence[tuple[Variable, Variable]] = (),
    condition: Variable | None = None,
    truncate_gradient: int = -1,
    name: str | None = None,
    keep: Sequence[int | None] | None = None,
) -> ScanOutputs:
    """Make a ``Scan`` node from a loop body given as inner variables.

    ``sequences`` and ``non_seqs`` are ``(outer value, inner placeholder)``
    pairs; any other variable the body reads and that does not change from
    step to step becomes a non-sequence too. ``keep`` (one entry per recurrent
    then nit-sot output) limits the rows a trace stores.
    """
    from arignote.tensor.basic import as_tensor_variable

    recurrent = [
        Recurrent(
            r.initial,
            tuple(r.taps),
            list(r.tap_inputs),
            _fitted(r.new_value, r.tap_inputs[0], f"recurrent output {j}"),
        )
        for j, r in enumerate(recurrent)
    ]
    states = [
        State(s.initial, s.placeholder, _fitted(s.new_value, s.placeholder, f"state {k}"))
        for k, s in enumerate(states)
    ]
    nit_sot = [as_tensor_variable(v) for v in nit_sot]
    keep = list(keep) if keep is not None else [None] * (len(recurrent) + len(nit_sot))

    body = [r.new_value for r in recurrent] + list(nit_sot) + [s.new_value for s in states]
    body += [condition] if condition is not None else []
    variant = [p for _, p in sequences]
    variant += [p for r in recurrent for p in r.tap_inputs]
    variant += [s.placeholder for s in states]
    outer_of = {inner: outer for outer, inner in non_seqs}
    body, invariant = split_loop_invariant(body, variant, outer_of)
    used = used_inputs(body, variant)

    n_rec = len(recurrent)
    new_recurrent = body[:n_rec]
    new_nit = body[n_rec : n_rec + len(nit_sot)]
    new_states = body[n_rec + len(nit_sot) : n_rec + len(nit_sot) + len(states)]
    new_condition = body[-1] if condition is not None else None

    # A recurrent output whose taps are all unread is an ordinary per-step output.
    kept_recurrent: list[tuple[int, Recurrent]] = []
    converted: list[int] = []
    for j, (spec, value) in enumerate(zip(recurrent, new_recurrent)):
        pairs = [(k, p) for k, p in zip(spec.taps, spec.tap_inputs) if p in used]
        if not pairs:
            converted.append(j)
            continue
        lag, new_lag = -min(spec.taps), -min(k for k, _ in pairs)
        initial = spec.initial if new_lag == lag else spec.initial[lag - new_lag : lag]
        taps, inputs = zip(*pairs)
        kept_recurrent.append((j, Recurrent(initial, tuple(taps), list(inputs), value)))
    kept_sequences = [(outer, inner) for outer, inner in sequences if inner in used]

    nit_values = [new_recurrent[j] for j in converted] + new_nit
    traced_keep = [keep[j] for j, _ in kept_recurrent] + [keep[j] for j in converted]
    traced_keep += keep[n_rec:]
    info = ScanInfo(
        n_seqs=len(kept_sequences),
        recurrent_taps=tuple(r.taps for _, r in kept_recurrent),
        n_nit_sot=len(nit_values),
        n_states=len(states),
        n_non_seqs=len(invariant),
        as_while=condition is not None,
        keep=tuple(traced_keep),
        truncate_gradient=truncate_gradient,
        name=name,
    )
    inner_inputs = [inner for _, inner in kept_sequences]
    inner_inputs += [p for _, r in kept_recurrent for p in r.tap_inputs]
    inner_inputs += [s.placeholder for s in states]
    inner_inputs += [inner for _, inner in invariant]
    inner_outputs = [r.new_value for _, r in kept_recurrent] + nit_values + new_states
    inner_outputs += [new_condition] if new_condition is not None else []
    op = Scan(inner_inputs, inner_outputs, info)
    node = op.make_node(
        n_steps,
        *[outer for outer, _ in kept_sequences],
        *[r.initial for _, r in kept_recurrent],
        *[s.initial for s in states],
        *[outer for outer, _ in invariant],
    )
    compute_node_test_value(node)  # the whole loop, so its outputs have test values too
    traced = {j: node.outputs[position] for position, (j, _) in enumerate(kept_recurrent)}
    offset = len(kept_recurrent)
    for position, j in enumerate(converted):
        traced[j] = node.outputs[offset + position]
    offset += len(converted)
    nit_outputs = node.outputs[offset : offset + len(nit_sot)]
    state_outputs = node.outputs[info.n_traced :]
    return ScanOutputs(
        [traced[j] for j in range(n_rec)], list(nit_outputs), list(state_outputs), node
    )


def _fitted(value: Any, placeholder: Variable, what: str) -> Variable:
    """``value`` as a variable of ``placeholder``'s type (static shapes checked at run time)."""
    from arignote.tensor.basic import as_tensor_variable

    if not isinstance(value, Variable):
        value = as_tensor_variable(value)
    converted = placeholder.type.convert_variable(value)
    if converted is not None:
        return converted
    hint = ""
    if isinstance(value.type, TensorType) and isinstance(placeholder.type, TensorType):
        if value.dtype != placeholder.type.dtype:
            hint = (
                f"; cast one of them (e.g. T.cast(initial, '{value.dtype}')): scan never "
                "converts a loop's state silently"
            )
        elif value.ndim != placeholder.type.ndim:
            hint = "; the step must return a value of the same number of dimensions"
    raise TypeError(
        f"scan: the step function returns {value} of type {value.type} for {what}, but its "
        f"initial value has type {placeholder.type}{hint}"
    )


# ---- the public front end -----------------------------------------------------------------
def scan(
    fn,
    sequences=None,
    outputs_info=None,
    non_sequences=None,
    n_steps=None,
    truncate_gradient=-1,
    go_backwards=False,
    mode=None,
    name=None,
    profile=False,
    allow_gc=None,
    strict=False,
    return_list=False,
):
    """Loop ``fn`` over sequences and/or for ``n_steps``; return ``(outputs, updates)``.

    As ``theano.scan``: ``sequences`` are tensors (or ``dict(input=x, taps=[...])``)
    iterated along their first axis, ``outputs_info`` gives for each output its
    initial value (``None``: not fed back; ``dict(initial=x, taps=[-2, -1])``:
    several taps, ``x`` then has one row per step back), ``non_sequences`` are
    passed unchanged to every step. ``outputs`` is one variable, or a list when
    there are several (or ``return_list=True``); ``updates`` maps each shared
    variable the step updates to its final value, for ``function(updates=...)``.
    ``mode``, ``profile`` and ``allow_gc`` are accepted for compatibility: the
    loop body is rewritten and run as the function that contains it is.

    >>> import numpy as np, arignote, arignote.tensor as T
    >>> x = T.vector("x")
    >>> powers, _ = scan(lambda previous, v: previous * v, outputs_info=T.ones_like(x),
    ...                  non_sequences=x, n_steps=3)
    >>> arignote.function([x], powers)([2.0, 3.0])
    array([[ 2.,  3.],
           [ 4.,  9.],
           [ 8., 27.]])
    """
    from arignote.tensor.basic import cast
    from arignote.tensor.math import minimum
    from arignote.tensor.shape import as_int_scalar, shape_i, shape_padleft

    del mode, profile, allow_gc
    sequence_specs = [
        _sequence_spec(item, position) for position, item in enumerate(_as_list(sequences))
    ]
    non_seqs = [_as_variable(v) for v in _as_list(non_sequences)]
    n_steps = _steps_argument(n_steps)
    if isinstance(n_steps, int) and n_steps < 0:
        # Theano's convention: a negative count runs the other way.
        n_steps, go_backwards = -n_steps, not go_backwards

    arguments: list[Variable] = []
    seq_pairs: list[tuple[Variable, Variable]] = []
    for x, taps in sequence_specs:
        if go_backwards:
            x = x[::-1]
        before, after = max(0, -min(taps)), max(0, max(taps))
        for tap in taps:
            first, stop = before + tap, tap - after
            piece = x if first == 0 and stop == 0 else x[first : stop if stop != 0 else None]
            label = f"{x.name}[t{tap:+d}]" if x.name else None
            placeholder = row_type(x).make_variable(label)
            seed_test_value(placeholder, piece, row=0)
            seq_pairs.append((piece, placeholder))
            arguments.append(placeholder)

    output_specs = (
        None
        if outputs_info is None
        else [_output_spec(item, position) for position, item in enumerate(_as_list(outputs_info))]
    )
    recurrent_inputs: dict[int, tuple[Variable, tuple[int, ...], list[Variable]]] = {}
    for position, (initial, taps) in enumerate(output_specs or ()):
        if taps is None:
            continue
        if taps == (-1,):
            placeholder_type = initial.type
            outer_initial = shape_padleft(initial)
        else:
            if initial.ndim < 1:
                raise ValueError(
                    f"scan: outputs_info[{position}] has taps {list(taps)}, so its initial value "
                    f"needs a leading axis of at least {-min(taps)} steps, but it is a scalar"
                )
            length = initial.type.shape[0]
            if length is not None and length < -min(taps):
                raise ValueError(
                    f"scan: outputs_info[{position}] has taps {list(taps)}, which read "
                    f"{-min(taps)} steps back, but its initial value has only {length} rows"
                )
            placeholder_type = row_type(initial)
            outer_initial = initial
        label = initial.name
        tap_inputs = [
            placeholder_type.make_variable(f"{label}[t{tap:+d}]" if label else None) for tap in taps
        ]
        for tap, placeholder in zip(taps, tap_inputs):
            seed_test_value(placeholder, initial, row=None if taps == (-1,) else tap - min(taps))
        recurrent_inputs[position] = (outer_initial, taps, tap_inputs)
        arguments += tap_inputs
    arguments += non_seqs

    result = fn(*arguments)
    outputs, update_pairs, condition = _parse_step_result(result)
    if output_specs is None:
        output_specs = [(None, None)] * len(outputs)
    if len(outputs) != len(output_specs):
        raise ValueError(
            f"scan: the step function returned {len(outputs)} outputs, but outputs_info has "
            f"{len(output_specs)} entries; give one entry per output (None for an output that "
            "is not fed back)"
        )
    outputs = [_as_variable(o) for o in outputs]
    if strict:
        _check_strict(outputs, update_pairs, condition, arguments)

    # Shared variables the step updates become states of the loop.
    update_pairs = _with_default_updates(outputs, update_pairs, condition, non_seqs)
    placeholders = {shared: shared.type.make_variable(shared.name) for shared, _ in update_pairs}
    roots = outputs + [value for _, value in update_pairs]
    roots += [condition] if condition is not None else []
    if placeholders:
        roots = replace_and_rebuild(roots, placeholders)
    outputs = roots[: len(outputs)]
    update_values = roots[len(outputs) : len(outputs) + len(update_pairs)]
    if condition is not None:
        condition = roots[-1]

    variant = [p for _, p in seq_pairs]
    variant += [p for _, _, inputs in recurrent_inputs.values() for p in inputs]
    variant += list(placeholders.values())
    hidden = _variant_draws(outputs + update_values, variant)

    if n_steps is not None:
        steps = as_int_scalar(n_steps, "scan: n_steps")
        steps = steps if steps.dtype == "int64" else cast(steps, "int64")
    elif seq_pairs:
        lengths = [shape_i(piece, 0) for piece, _ in seq_pairs]
        steps = lengths[0]
        for length in lengths[1:]:
            steps = minimum(steps, length)
    else:
        raise ValueError(
            "scan: give n_steps, or at least one sequence to loop over; neither was given"
        )

    recurrent = [
        Recurrent(initial, taps, inputs, outputs[position])
        for position, (initial, taps, inputs) in recurrent_inputs.items()
    ]
    nit_positions = [p for p in range(len(outputs)) if p not in recurrent_inputs]
    built = build_scan(
        steps,
        sequences=seq_pairs,
        recurrent=recurrent,
        nit_sot=[outputs[p] for p in nit_positions] + hidden,
        states=[
            State(shared, placeholders[shared], value)
            for (shared, _), value in zip(update_pairs, update_values)
        ],
        condition=condition,
        truncate_gradient=truncate_gradient,
        name=name,
    )
    results: list[Variable | None] = [None] * len(outputs)
    for (position, _), trace in zip(recurrent_inputs.items(), built.recurrent):
        results[position] = trace
    for position, trace in zip(nit_positions, built.nit_sot):
        results[position] = trace
    updates = OrderedDict((shared, final) for (shared, _), final in zip(update_pairs, built.states))
    if return_list:
        return results, updates
    if not results:
        return None, updates
    return (results[0] if len(results) == 1 else results), updates


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _as_variable(value: Any) -> Variable:
    from arignote.tensor.basic import as_tensor_variable

    return value if isinstance(value, Variable) else as_tensor_variable(value)


def _steps_argument(n_steps: Any) -> Any:
    """None for 'no count given' (None, NaN, inf, as Theano allowed); ints as ints."""
    if n_steps is None:
        return None
    if isinstance(n_steps, float) and (math.isnan(n_steps) or math.isinf(n_steps)):
        return None
    if isinstance(n_steps, (int, np.integer)) and not isinstance(n_steps, bool):
        return int(n_steps)
    if (
        isinstance(n_steps, Constant)
        and np.ndim(n_steps.data) == 0
        and np.asarray(n_steps.data).dtype.kind in "iu"
    ):
        return int(n_steps.data)
    return n_steps


def _sequence_spec(item: Any, position: int) -> tuple[Variable, tuple[int, ...]]:
    from arignote.tensor.basic import as_tensor_variable

    if isinstance(item, Mapping):
        if "input" not in item:
            raise ValueError(f"scan: sequences[{position}] is a dict without an 'input' entry")
        taps = item.get("taps", [0])
        taps = [0] if taps is None else ([taps] if isinstance(taps, int) else list(taps))
        x = as_tensor_variable(item["input"])
    else:
        x, taps = as_tensor_variable(item), [0]
    if not taps or not all(isinstance(k, (int, np.integer)) for k in taps):
        raise ValueError(f"scan: the taps of sequences[{position}] must be integers, got {taps}")
    if x.ndim < 1:
        raise ValueError(
            f"scan: sequences[{position}] ({x}) is a scalar; a sequence is iterated along its "
            "first axis, so it needs at least one dimension"
        )
    return x, tuple(int(k) for k in taps)


def _output_spec(item: Any, position: int) -> tuple[Variable | None, tuple[int, ...] | None]:
    """(initial value, taps) of one ``outputs_info`` entry; taps None: not fed back."""
    if item is None:
        return None, None
    if isinstance(item, Mapping):
        initial = item.get("initial")
        taps = item.get("taps", [-1])
        if initial is None:
            if taps not in (None, [], ()) and "taps" in item:
                raise ValueError(
                    f"scan: outputs_info[{position}] gives taps {taps} but no 'initial' value"
                )
            return None, None
        if taps is None:
            return None, None
        taps = [taps] if isinstance(taps, (int, np.integer)) else list(taps)
        if not taps or any(int(k) >= 0 for k in taps):
            raise ValueError(
                f"scan: the taps of outputs_info[{position}] must be negative (steps back), "
                f"got {taps}"
            )
        return _initial_value(initial), tuple(int(k) for k in taps)
    return _initial_value(item), (-1,)


def _initial_value(value: Any) -> Variable:
    """A Python number becomes a floatX (or int64) constant, not Theano's narrowest dtype."""
    from arignote.config import config
    from arignote.tensor.basic import constant

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _as_variable(value)
    return constant(value, dtype=config.floatX if isinstance(value, float) else "int64")


def _is_outputs(value: Any) -> bool:
    def one(item: Any) -> bool:
        return isinstance(item, (Variable, int, float, np.ndarray, np.generic)) and not isinstance(
            item, bool
        )

    if one(value):
        return True
    return isinstance(value, (list, tuple)) and all(one(item) for item in value)


def _is_updates(value: Any) -> bool:
    from arignote.compile.sharedvalue import SharedVariable

    if isinstance(value, Mapping):
        return True
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and isinstance(pair[0], SharedVariable)
            for pair in value
        )
    )


def _parse_step_result(result: Any) -> tuple[list, list[tuple[Variable, Variable]], Any]:
    """(outputs, update pairs, stop condition or None) from what the step function returned."""
    message = (
        "scan: the step function must return its outputs (a variable or a list of them), "
        "optionally with an updates dict and an until(condition), e.g. `return h, {w: w + 1}` "
        f"or `return [h, y], until(h > 3)`; got {result!r}"
    )
    if _is_outputs(result):
        return (list(result) if isinstance(result, (list, tuple)) else [result]), [], None
    if _is_updates(result):
        return [], _update_pairs(result), None
    if isinstance(result, until):
        return [], [], result.condition
    if not isinstance(result, (list, tuple)):
        raise ValueError(message)
    outputs = updates = condition = None
    for item in result:
        if isinstance(item, until) and condition is None:
            condition = item.condition
        elif _is_updates(item) and updates is None:
            updates = _update_pairs(item)
        elif _is_outputs(item) and outputs is None:
            outputs = list(item) if isinstance(item, (list, tuple)) else [item]
        else:
            raise ValueError(message)
    return outputs or [], updates or [], condition


def _update_pairs(updates: Any) -> list[tuple[Variable, Variable]]:
    from arignote.compile.function import _check_update_type
    from arignote.compile.sharedvalue import SharedVariable

    pairs = list(updates.items() if isinstance(updates, Mapping) else updates)
    checked = []
    for target, value in pairs:
        if not isinstance(target, SharedVariable):
            raise TypeError(
                f"scan: the step function updates {target!r}, which is not a shared variable"
            )
        checked.append((target, _check_update_type(target, _as_variable(value))))
    return checked


def _with_default_updates(
    outputs, update_pairs, condition, non_seqs
) -> list[tuple[Variable, Variable]]:
    """The explicit updates, then those shared variables ask for themselves (random streams).

    The search stops at the non-sequences: a random draw passed in ``non_sequences`` is
    drawn once per call; one the step reads without receiving it is drawn at every step
    (as in Theano).
    """
    from arignote.compile.function import _check_update_type
    from arignote.compile.sharedvalue import SharedVariable

    pairs = list(update_pairs)
    taken = {target for target, _ in pairs}
    frontier = outputs + [value for _, value in pairs]
    frontier += [condition] if condition is not None else []
    passed = set(non_seqs)
    while frontier:
        found = [
            v
            for v in graph_inputs(frontier, blockers=passed)
            if isinstance(v, SharedVariable) and v.default_update is not None and v not in taken
        ]
        for variable in found:
            taken.add(variable)
            pairs.append((variable, _check_update_type(variable, variable.default_update)))
        frontier = [variable.default_update for variable in found]
    return pairs


def _variant_draws(roots: list[Variable], variant: list[Variable]) -> list[Variable]:
    """The random draws made inside the loop body (stored as hidden outputs, for gradients)."""
    from arignote.tensor.random.op import RandomVariable

    kinds, nodes = classify(roots, variant)
    return [
        node.outputs[1]
        for node in nodes
        if isinstance(node.op, RandomVariable) and kinds.get(node.outputs[1]) == VARIANT
    ]


def _check_strict(outputs, update_pairs, condition, arguments) -> None:
    roots = outputs + [value for _, value in update_pairs]
    roots += [condition] if condition is not None else []
    allowed = set(arguments) | {target for target, _ in update_pairs}
    for variable in graph_inputs(roots, blockers=allowed):
        if variable in allowed or isinstance(variable, Constant):
            continue
        raise ValueError(
            f"scan(strict=True): the step function reads {variable!r}, which is not one of its "
            "arguments; pass it in non_sequences"
        )
