"""Derivatives of ``Scan``: backpropagation through time (``L_op``) and forward mode (``R_op``).

The pullback is itself a loop, built with ``build_scan``, that runs the
steps backwards (the last ``truncate_gradient`` of them when that is set).
Per step it reads, as sequences, the forward values that the step's pullback
needs, and carries as states:

- for each recurrent output with lag ``L``, the cotangents already collected
  for its last ``L`` values (a window, or the value itself when ``L = 1``):
  the step's output gets ``outer cotangent[t] + window[-1]``, and each tap
  ``k`` adds its pullback at position ``L + k`` of the shifted window;
- for each state, the cotangent of its current value (it starts as the
  cotangent of the final value);
- for each differentiable non-sequence, the sum of its per-step pullbacks.

The sequences' cotangents are a per-step output of the backward loop. The
step's pullback is the inner graph's symbolic gradient, where every inner
output is replaced by the row that the forward loop stored for it: what the
forward pass computed (``tanh``'s output, a random draw) is read, not
recomputed. Values the forward loop did not store (the per-step values of a
state) are recomputed by a copy of the loop that records them, built only
when the pullback reads them; that is how the gradient of a gradient works.

Forward mode runs one loop computing the values and their tangents side by
side (tangent recurrences have the same taps as their values).
"""

from __future__ import annotations

from typing import Any

from arignote.gradient import NullType, Rop, grad, grad_not_implemented
from arignote.graph.basic import Constant, Variable
from arignote.graph.replace import clone_replace
from arignote.graph.traversal import graph_inputs
from arignote.scalar.basic import CONTINUOUS_DTYPES
from arignote.scan.builder import Recurrent, State, build_scan
from arignote.scan.inner import fresh_copy
from arignote.scan.utils import is_zero_cotangent
from arignote.tensor.type import TensorType


def _differentiable(variable: Variable) -> bool:
    return isinstance(variable.type, TensorType) and variable.type.dtype in CONTINUOUS_DTYPES


def _reversed_rows(array: Variable, start: Any, stop: Any) -> Variable:
    """Rows ``start .. stop-1`` of ``array``, last first (the backward loop's order)."""
    return array[start:stop][::-1]


def scan_pullback(op, inputs: list, outputs: list, output_grads: list) -> list:
    from arignote.tensor.alloc import zeros_like
    from arignote.tensor.join import concatenate
    from arignote.tensor.math import eq, minimum, switch
    from arignote.tensor.shape import shape_i, shape_padleft
    from arignote.tensor.subtensor import inc_subtensor, set_subtensor

    info = op.info

    def all_null(reason: str) -> list:
        return [
            grad_not_implemented(op, i, x, reason) if _differentiable(x) else None
            for i, x in enumerate(inputs)
        ]

    if any(k is not None for k in info.keep):
        return all_null(
            "this loop keeps only its last steps (a compiled graph); take gradients of the "
            "graph as built by scan"
        )
    n_steps, seqs, inits, state_inits, non_seqs = info.outer_input_groups(inputs)
    traces_rec, traces_nit, _ = info.outer_output_groups(outputs)
    grads_rec, grads_nit, grads_states = [
        [None if is_zero_cotangent(g) else g for g in group]
        for group in info.outer_output_groups(output_grads)
    ]
    ins, outs = fresh_copy(op.fgraph)
    seq_in, tap_in, state_in, non_seq_in = info.inner_input_groups(ins)
    rec_out, nit_out, state_out, _ = info.inner_output_groups(outs)

    if info.as_while:
        traced = traces_rec + traces_nit
        if not traced:
            return all_null("a while loop without per-step outputs does not record its length")
        n = shape_i(traced[0], 0)
    else:
        n = n_steps
    truncated = info.truncate_gradient >= 0
    steps = minimum(n, info.truncate_gradient) if truncated else n
    start = n - steps if truncated else 0

    # Cotangent placeholders on the inner outputs that receive one.
    known: dict[Variable, Variable] = {}
    cotangent_of: dict[tuple[str, int], Variable] = {}

    def receive(kind: str, index: int, output: Variable) -> None:
        if isinstance(output, Constant) or not _differentiable(output):
            return
        placeholder = output.type.make_variable("cotangent")
        cotangent_of[kind, index] = placeholder
        known[output] = known[output] + placeholder if output in known else placeholder

    for j, output in enumerate(rec_out):
        receive("rec", j, output)
    for m, output in enumerate(nit_out):
        if grads_nit[m] is not None:
            receive("nit", m, output)
    for s, output in enumerate(state_out):
        receive("state", s, output)
    if not known:
        return [None] * len(inputs)
    wrt = [v for v in ins if _differentiable(v)]
    pulled = grad(
        None,
        wrt,
        known_grads=known,
        disconnected_inputs="ignore",
        return_disconnected="None",
        null_gradients="return",
    )
    for term in pulled:
        if term is not None and isinstance(term.type, NullType):
            return all_null(term.type.why_null)
    pull = dict(zip(wrt, pulled))

    totals: dict[Variable, Variable] = {}
    sequences: list[tuple[Variable, Variable]] = []
    carries: list[State] = []
    finals: dict[tuple[str, int], int] = {}

    def carry(key: tuple[str, int], initial: Variable, placeholder: Variable, new_value) -> None:
        finals[key] = len(carries)
        carries.append(State(initial, placeholder, new_value))

    for j, taps in enumerate(info.recurrent_taps):
        if ("rec", j) not in cotangent_of:
            continue
        lag = info.lags[j]
        row = tap_in[j][0].type
        if lag == 1:
            window = row.make_variable("carry")
            last, initial = window, zeros_like(inits[j][0])
        else:
            window = TensorType(row.dtype, shape=(lag, *row.shape)).make_variable("carry")
            last, initial = window[lag - 1], zeros_like(inits[j][:lag])
        total = last
        if grads_rec[j] is not None:
            g_row = row.make_variable("cotangent_row")
            sequences.append((_reversed_rows(grads_rec[j], start, n), g_row))
            total = g_row + last
        totals[cotangent_of["rec", j]] = total
        contributions = [(tap, pull.get(v)) for tap, v in zip(taps, tap_in[j])]
        if lag == 1:
            ((_, term),) = contributions
            new_window = term if term is not None else zeros_like(window)
        else:
            new_window = concatenate([zeros_like(window[:1]), window[:-1]])
            for tap, term in contributions:
                if term is not None:
                    new_window = inc_subtensor(new_window[lag + tap], term)
        carry(("rec", j), initial, window, new_window)
    for s, placeholder in enumerate(state_in):
        if ("state", s) not in cotangent_of:
            continue
        current = placeholder.type.make_variable("carry")
        totals[cotangent_of["state", s]] = current
        term = pull.get(placeholder)
        initial = grads_states[s] if grads_states[s] is not None else zeros_like(state_inits[s])
        carry(("state", s), initial, current, term if term is not None else zeros_like(current))
    for m in range(info.n_nit_sot):
        if ("nit", m) in cotangent_of:
            g_row = nit_out[m].type.make_variable("cotangent_row")
            sequences.append((_reversed_rows(grads_nit[m], start, n), g_row))
            totals[cotangent_of["nit", m]] = g_row
    for k, placeholder in enumerate(non_seq_in):
        term = pull.get(placeholder)
        if term is not None:
            total = placeholder.type.make_variable("accumulated")
            carry(("non_seq", k), zeros_like(non_seqs[k]), total, total + term)
    seq_terms = [(i, pull.get(v)) for i, v in enumerate(seq_in)]
    seq_terms = [(i, term) for i, term in seq_terms if term is not None]
    if not carries and not seq_terms:
        return [None] * len(inputs)

    # The forward values the backward step reads become its sequences (or non-sequences).
    body = [c.new_value for c in carries] + [term for _, term in seq_terms]
    forward = {v: ("seq", i) for i, v in enumerate(seq_in)}
    for j, group in enumerate(tap_in):
        forward.update({v: ("tap", j, tap) for v, tap in zip(group, info.recurrent_taps[j])})
    forward.update({v: ("state", s) for s, v in enumerate(state_in)})
    forward.update({v: ("non_seq", k) for k, v in enumerate(non_seq_in)})
    for kind, group in (("rec_out", rec_out), ("nit_out", nit_out), ("state_out", state_out)):
        for index, v in enumerate(group):
            if v not in forward and not isinstance(v, Constant):
                forward[v] = (kind, index)
    read = [v for v in graph_inputs(body, blockers=set(forward)) if v in forward]
    recorded = None
    if any(forward[v][0] in ("state", "state_out") for v in read):
        recorded = _recorded_states(op, inputs)
        if recorded is None:
            return all_null(
                "the pullback reads the per-step values of a loop state that is not a tensor "
                "(such as a random generator); draw random numbers with RandomStreams, whose "
                "draws scan stores"
            )
    full_traces: dict[int, Variable] = {}
    non_seq_pairs: list[tuple[Variable, Variable]] = []
    standins: dict[Variable, Variable] = {}
    for v in read:
        where = forward[v]
        placeholder = v.type.make_variable(v.name)
        standins[v] = placeholder
        kind = where[0]
        if kind == "non_seq":
            non_seq_pairs.append((non_seqs[where[1]], placeholder))
            continue
        if kind == "seq":
            outer = _reversed_rows(seqs[where[1]], start, n)
        elif kind == "tap":
            j, tap = where[1], where[2]
            lag = info.lags[j]
            if j not in full_traces:
                full_traces[j] = concatenate([inits[j][:lag], traces_rec[j]])
            outer = _reversed_rows(full_traces[j], lag + tap + start, lag + tap + n)
        elif kind == "rec_out":
            outer = _reversed_rows(traces_rec[where[1]], start, n)
        elif kind == "nit_out":
            outer = _reversed_rows(traces_nit[where[1]], start, n)
        else:
            before = concatenate([shape_padleft(state_inits[where[1]]), recorded[where[1]]])
            offset = 1 if kind == "state_out" else 0
            outer = _reversed_rows(before, start + offset, n + offset)
        sequences.append((outer, placeholder))
    replacements = {**totals, **standins}
    body = clone_replace(body, replacements, strict=False)
    carries = [State(c.initial, c.placeholder, value) for c, value in zip(carries, body)]
    built = build_scan(
        steps,
        sequences=sequences,
        nit_sot=body[len(carries) :],
        states=carries,
        non_seqs=non_seq_pairs,
        name=f"grad_of_{op.name}",
    )

    results: list[Any] = [None] * len(inputs)
    offset_init = 1 + info.n_seqs
    offset_state = offset_init + info.n_recurrent
    offset_non_seq = offset_state + info.n_states
    for (i, _), rows in zip(seq_terms, built.nit_sot):
        results[1 + i] = set_subtensor(zeros_like(seqs[i])[start:n], rows[::-1])

    def at_start(value: Variable) -> Variable:
        """A cotangent reaching the values before step 0: zero if truncation stopped short."""
        return switch(eq(start, 0), value, zeros_like(value)) if truncated else value

    for (kind, index), position in finals.items():
        final = built.states[position]
        if kind == "rec":
            lag = info.lags[index]
            block = at_start(shape_padleft(final) if lag == 1 else final)
            initial = inits[index]
            if initial.type.shape[0] != lag:
                block = set_subtensor(zeros_like(initial)[:lag], block)
            results[offset_init + index] = block
        elif kind == "state":
            results[offset_state + index] = at_start(final)
        else:
            results[offset_non_seq + index] = final
    return results


def _recorded_states(op, inputs: list) -> list[Variable] | None:
    """The value of every state after each step, from a copy of the loop that stores them.

    ``None`` when a state is not a tensor (its values cannot be stacked).
    """
    from arignote.tensor.shape import shape_padleft

    info = op.info
    n_steps, seqs, inits, state_inits, non_seqs = info.outer_input_groups(inputs)
    if not all(isinstance(v.type, TensorType) for v in state_inits):
        return None
    ins, outs = fresh_copy(op.fgraph)
    seq_in, tap_in, state_in, non_seq_in = info.inner_input_groups(ins)
    rec_out, nit_out, state_out, condition = info.inner_output_groups(outs)
    recurrent = [
        Recurrent(initial, taps, group, value)
        for initial, taps, group, value in zip(inits, info.recurrent_taps, tap_in, rec_out)
    ]
    recurrent += [
        Recurrent(shape_padleft(initial), (-1,), [placeholder], value)
        for initial, placeholder, value in zip(state_inits, state_in, state_out)
    ]
    built = build_scan(
        n_steps,
        sequences=list(zip(seqs, seq_in)),
        recurrent=recurrent,
        nit_sot=nit_out,
        non_seqs=list(zip(non_seqs, non_seq_in)),
        condition=condition,
        name=f"record_{op.name}",
    )
    return built.recurrent[info.n_recurrent :]


def scan_pushforward(op, inputs: list, eval_points: list) -> list:
    """Tangents of the loop's outputs: one loop computing values and tangents together."""
    from arignote.tensor.alloc import zeros_like

    info = op.info
    if any(k is not None for k in info.keep):
        raise NotImplementedError("a loop that keeps only its last steps has no R_op")
    n_steps, seqs, inits, state_inits, non_seqs = info.outer_input_groups(inputs)
    _, e_seqs, e_inits, e_states, e_non_seqs = info.outer_input_groups(eval_points)
    ins, outs = fresh_copy(op.fgraph)
    seq_in, tap_in, state_in, non_seq_in = info.inner_input_groups(ins)
    rec_out, nit_out, state_out, condition = info.inner_output_groups(outs)

    active: dict[Variable, Variable] = {}

    def activate(variable: Variable) -> None:
        if variable not in active and _differentiable(variable):
            active[variable] = variable.type.make_variable("tangent")

    for group, points in ((seq_in, e_seqs), (non_seq_in, e_non_seqs), (state_in, e_states)):
        for variable, point in zip(group, points):
            if point is not None:
                activate(variable)
    for group, point in zip(tap_in, e_inits):
        if point is not None:
            for variable in group:
                activate(variable)
    candidates = [o for o in rec_out + nit_out + state_out if _differentiable(o)]
    tangent_of: dict[Variable, Variable] = {}
    while active:
        found = Rop(
            candidates,
            list(active),
            list(active.values()),
            disconnected_outputs="ignore",
            return_disconnected="None",
        )
        tangent_of = {o: t for o, t in zip(candidates, found) if t is not None}
        grown = False
        for group, value in [
            *zip(tap_in, rec_out),
            *(([v], o) for v, o in zip(state_in, state_out)),
        ]:
            if value in tangent_of and group[0] not in active and _differentiable(group[0]):
                for variable in group:
                    activate(variable)
                grown = True
        if not grown:
            break
    if not tangent_of:
        return [None] * (info.n_traced + info.n_states)

    def tangent(value: Variable) -> Variable:
        found = tangent_of.get(value)
        return found if found is not None else zeros_like(value)

    sequences = list(zip(seqs, seq_in))
    sequences += [(p, active[v]) for v, p in zip(seq_in, e_seqs) if v in active]
    recurrent = [
        Recurrent(initial, taps, group, value)
        for initial, taps, group, value in zip(inits, info.recurrent_taps, tap_in, rec_out)
    ]
    tangent_rec = [j for j, group in enumerate(tap_in) if group[0] in active]
    for j in tangent_rec:
        point = e_inits[j] if e_inits[j] is not None else zeros_like(inits[j])
        recurrent.append(
            Recurrent(
                point, info.recurrent_taps[j], [active[v] for v in tap_in[j]], tangent(rec_out[j])
            )
        )
    tangent_nit = [m for m, value in enumerate(nit_out) if value in tangent_of]
    states = [State(i, p, v) for i, p, v in zip(state_inits, state_in, state_out)]
    tangent_states = [s for s, v in enumerate(state_in) if v in active]
    for s in tangent_states:
        point = e_states[s] if e_states[s] is not None else zeros_like(state_inits[s])
        states.append(State(point, active[state_in[s]], tangent(state_out[s])))
    non_seq_pairs = list(zip(non_seqs, non_seq_in))
    non_seq_pairs += [(p, active[v]) for v, p in zip(non_seq_in, e_non_seqs) if v in active]
    built = build_scan(
        n_steps,
        sequences=sequences,
        recurrent=recurrent,
        nit_sot=nit_out + [tangent_of[nit_out[m]] for m in tangent_nit],
        states=states,
        non_seqs=non_seq_pairs,
        condition=condition,
        name=f"tangent_of_{op.name}",
    )
    results: list[Any] = [None] * (info.n_traced + info.n_states)
    for position, j in enumerate(tangent_rec):
        results[j] = built.recurrent[info.n_recurrent + position]
    for position, m in enumerate(tangent_nit):
        results[info.n_recurrent + m] = built.nit_sot[info.n_nit_sot + position]
    for position, s in enumerate(tangent_states):
        results[info.n_traced + s] = built.states[info.n_states + position]
    return results
