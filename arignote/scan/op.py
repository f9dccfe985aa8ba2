"""``Scan``: a loop whose body is an inner graph.

Layout (``ScanInfo`` gives the counts). Inner inputs, per step ``t``:

- ``seqs``: row ``t`` of each sequence;
- ``taps``: for each recurrent output ``j`` and each of its taps ``k < 0``, the
  value it had at step ``t + k`` (before step 0: a row of its initial value);
- ``states``: the current value of each state (a value of any type that is
  carried from step to step but whose history is not kept: updates of shared
  variables, random generators, gradient accumulators);
- ``non_seqs``: values that do not change from step to step.

Inner outputs: the new value of each recurrent output, each ``nit_sot``
output (computed per step, not fed back), the new value of each state, and,
for a while loop (``as_while``), a boolean that stops the loop after the step
where it is true.

Outer inputs: ``n_steps`` (the number of steps; the maximum for a while
loop), the sequences (at least ``n_steps`` rows), the initial values of the
recurrent outputs (the first ``lag = -min(taps)`` rows are the values at
steps ``-lag .. -1``), the states' initial values, the non-sequences.

Outer outputs: each recurrent output's trace (``n`` rows: steps ``0 .. n-1``,
the initial rows excluded, as ``theano.scan`` returns them), each nit-sot
trace (``n`` rows), and each state's final value (its initial value when no
step runs). With ``keep[j] = k`` a trace holds only its last ``min(k, n)``
rows, and the loop stores no more than that (plus the ``lag`` rows it reads):
that is how a loop whose result is only its last state runs in constant
memory. ``Scan`` ops are equal when their layout and inner graphs are
structurally equal, so identical loops merge.

``perform`` compiles the inner graph once (``inner.compile_inner``) and loops
in Python; the compiled backends lower the whole loop instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Variable
from arignote.graph.fg import FunctionGraph
from arignote.scan.inner import InnerGraphOp, compile_inner
from arignote.scan.utils import graph_signature, infer_inner_shapes
from arignote.tensor.type import TensorType


@dataclass(frozen=True)
class ScanInfo:
    """The layout of a ``Scan``'s inputs and outputs (see the module docstring)."""

    n_seqs: int
    recurrent_taps: tuple[tuple[int, ...], ...]
    n_nit_sot: int
    n_states: int
    n_non_seqs: int
    as_while: bool = False
    keep: tuple[int | None, ...] | None = None
    truncate_gradient: int = -1
    name: str | None = None
    inner_rewritten: bool = False

    def __post_init__(self):
        if self.keep is None:
            object.__setattr__(self, "keep", (None,) * (self.n_recurrent + self.n_nit_sot))
        if len(self.keep) != self.n_recurrent + self.n_nit_sot:
            raise ValueError("ScanInfo: keep needs one entry per recurrent and nit-sot output")
        for taps in self.recurrent_taps:
            if not taps or any(k >= 0 for k in taps):
                raise ValueError(f"ScanInfo: recurrent taps must be negative, got {taps}")

    @property
    def n_recurrent(self) -> int:
        return len(self.recurrent_taps)

    @property
    def n_taps(self) -> int:
        return sum(len(taps) for taps in self.recurrent_taps)

    @property
    def n_traced(self) -> int:
        return self.n_recurrent + self.n_nit_sot

    @property
    def lags(self) -> tuple[int, ...]:
        return tuple(-min(taps) for taps in self.recurrent_taps)

    # Positions of each group among the inner inputs, inner outputs and outer inputs.
    def inner_input_groups(self, values: Sequence[Any]) -> tuple[list, list[list], list, list]:
        """(seqs, taps grouped per recurrent output, states, non_seqs) of the inner inputs."""
        position = self.n_seqs
        seqs = list(values[:position])
        taps = []
        for group in self.recurrent_taps:
            taps.append(list(values[position : position + len(group)]))
            position += len(group)
        states = list(values[position : position + self.n_states])
        position += self.n_states
        return seqs, taps, states, list(values[position : position + self.n_non_seqs])

    def inner_output_groups(self, values: Sequence[Any]) -> tuple[list, list, list, Any]:
        """(recurrent, nit_sot, states, condition or None) of the inner outputs."""
        a = self.n_recurrent
        b = a + self.n_nit_sot
        c = b + self.n_states
        condition = values[c] if self.as_while else None
        return list(values[:a]), list(values[a:b]), list(values[b:c]), condition

    def outer_input_groups(self, values: Sequence[Any]) -> tuple[Any, list, list, list, list]:
        """(n_steps, seqs, initial values, states, non_seqs) of the outer inputs."""
        a = 1 + self.n_seqs
        b = a + self.n_recurrent
        c = b + self.n_states
        return values[0], list(values[1:a]), list(values[a:b]), list(values[b:c]), list(values[c:])

    def outer_output_groups(self, values: Sequence[Any]) -> tuple[list, list, list]:
        """(recurrent traces, nit-sot traces, final states) of the outer outputs."""
        a = self.n_recurrent
        b = a + self.n_nit_sot
        return list(values[:a]), list(values[a:b]), list(values[b:])


class Scan(InnerGraphOp):
    """A loop over an inner graph (built by ``arignote.scan``; see the module docstring).

    >>> import numpy as np, arignote.tensor as T
    >>> from arignote.scan import scan
    >>> x = T.vector("x")
    >>> sums, _ = scan(lambda v, total: total + v, sequences=x, outputs_info=np.float64(0))
    >>> sums.owner.op.info.recurrent_taps, sums.eval({x: [1.0, 2.0, 3.0]})
    (((-1,),), array([1., 3., 6.]))
    """

    __props__ = ("info",)

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable], info: ScanInfo):
        n_inputs = info.n_seqs + info.n_taps + info.n_states + info.n_non_seqs
        n_outputs = info.n_traced + info.n_states + int(info.as_while)
        if len(inputs) != n_inputs or len(outputs) != n_outputs:
            raise ValueError(
                f"Scan: the layout needs {n_inputs} inner inputs and {n_outputs} inner outputs, "
                f"got {len(inputs)} and {len(outputs)}"
            )
        self.info = info
        self.fgraph = FunctionGraph(list(inputs), list(outputs), clone=True)
        self._program = None
        self._row_shapes = None
        self._signature: Any = None

    # ---- identity ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.info.name or "scan"

    @property
    def inputs(self) -> list[Variable]:
        """The inner graph's inputs (Theano's ``op.inputs``)."""
        return self.fgraph.inputs

    @property
    def outputs(self) -> list[Variable]:
        """The inner graph's outputs (Theano's ``op.outputs``)."""
        return self.fgraph.outputs

    @property
    def fgraphs(self) -> tuple[FunctionGraph, ...]:
        return (self.fgraph,)

    @property
    def inner_rewritten(self) -> bool:  # type: ignore[override]
        return self.info.inner_rewritten

    def with_fgraphs(self, fgraphs: Sequence[FunctionGraph]) -> Scan:
        (fgraph,) = fgraphs
        return Scan(fgraph.inputs, fgraph.outputs, replace(self.info, inner_rewritten=True))

    def with_info(self, **changes: Any) -> Scan:
        """The same loop with other layout fields (``keep``, ``truncate_gradient``, ...)."""
        return Scan(self.fgraph.inputs, self.fgraph.outputs, replace(self.info, **changes))

    def signature(self) -> Any:
        if self._signature is None:
            structure = graph_signature(self.fgraph)
            self._signature = (self.info, structure) if structure is not None else (id(self),)
        return self._signature

    def __eq__(self, other: object) -> bool:
        return self is other or (
            type(other) is Scan and self.signature() == other.signature()  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((Scan, self.signature()))

    def __str__(self) -> str:
        return f"Scan{{{self.name}}}"

    # ---- building -----------------------------------------------------------------------------
    def make_node(self, n_steps: Any, *outer: Any) -> Apply:
        from arignote.tensor.basic import as_tensor_variable, cast
        from arignote.tensor.shape import as_int_scalar, known_int

        info = self.info
        expected = info.n_seqs + info.n_recurrent + info.n_states + info.n_non_seqs
        if len(outer) != expected:
            raise TypeError(f"{self} takes n_steps and {expected} inputs, got {len(outer)}")
        n_steps = as_int_scalar(n_steps, f"{self}: n_steps")
        if n_steps.dtype != "int64":
            n_steps = cast(n_steps, "int64")
        seqs, inits, states, non_seqs = info.outer_input_groups([None, *outer])[1:]
        inner_seqs, inner_taps, inner_states, inner_non_seqs = info.inner_input_groups(
            self.fgraph.inputs
        )
        checked = []
        for position, (value, inner) in enumerate(zip(seqs, inner_seqs)):
            checked.append(self._check_stacked(value, inner.type, f"sequence {position}"))
        for position, (value, taps) in enumerate(zip(inits, inner_taps)):
            checked.append(self._check_stacked(value, taps[0].type, f"initial value {position}"))
        for kind, values, inners in (
            ("state", states, inner_states),
            ("non-sequence", non_seqs, inner_non_seqs),
        ):
            for position, (value, inner) in enumerate(zip(values, inners)):
                if not isinstance(value, Variable):
                    value = as_tensor_variable(value)
                converted = inner.type.convert_variable(value)
                if converted is None:
                    raise TypeError(
                        f"{self}: {kind} {position} ({value}) has type {value.type}, but the "
                        f"loop body reads a {inner.type}"
                    )
                checked.append(converted)
        length = None if info.as_while else known_int(n_steps)
        outputs = []
        _, inner_nit, _, _ = info.inner_output_groups(self.fgraph.outputs)
        rows = [taps[0].type for taps in inner_taps] + [v.type for v in inner_nit]
        for row, keep in zip(rows, info.keep):
            rows_kept = length if keep is None or length is None else min(keep, length)
            outputs.append(TensorType(row.dtype, shape=(rows_kept, *row.shape)).make_variable())
        outputs += [v.type.make_variable() for v in inner_states]
        return Apply(self, [n_steps, *checked], outputs)

    def _check_stacked(self, value: Any, row: Any, what: str) -> Variable:
        """``value`` as a tensor whose rows have type ``row``, or a TypeError naming it."""
        from arignote.tensor.basic import as_tensor_variable

        value = as_tensor_variable(value)
        wanted = TensorType(row.dtype, shape=(None, *row.shape))
        converted = wanted.convert_variable(value) if value.ndim == wanted.ndim else None
        if converted is None:
            raise TypeError(
                f"{self}: {what} ({value}) has type {value.type}, but the loop body reads rows "
                f"of type {row} (so it needs a {wanted})"
            )
        return converted

    # ---- running ------------------------------------------------------------------------------
    @property
    def program(self):
        """The inner graph, compiled on first use."""
        if self._program is None:
            self._program = compile_inner(self.fgraph)
        return self._program

    def perform(self, node, inputs, output_storage):
        info = self.info
        n_steps, seqs, inits, states, non_seqs = info.outer_input_groups(inputs)
        n_steps = int(n_steps)
        if n_steps < 0:
            raise ValueError(
                f"{self}: n_steps is {n_steps}; the number of steps cannot be negative"
            )
        for position, sequence in enumerate(seqs):
            if len(sequence) < n_steps:
                raise ValueError(
                    f"{self}: sequence {position} has {len(sequence)} entries, but the loop runs "
                    f"{n_steps} steps"
                )
        for position, (initial, lag) in enumerate(zip(inits, info.lags)):
            if len(initial) < lag:
                raise ValueError(
                    f"{self}: the initial value of recurrent output {position} has "
                    f"{len(initial)} rows, but its taps {info.recurrent_taps[position]} read "
                    f"{lag} steps back"
                )
        traces = [
            _Trace(
                f"recurrent output {j}",
                lag,
                keep,
                n_steps,
                info.as_while,
                initial.shape[1:],
                node.outputs[j].type.numpy_dtype,
            )
            for j, (initial, lag, keep) in enumerate(zip(inits, info.lags, info.keep))
        ]
        traces += [
            _Trace(
                f"output {info.n_recurrent + m}",
                0,
                keep,
                n_steps,
                info.as_while,
                None,
                node.outputs[info.n_recurrent + m].type.numpy_dtype,
            )
            for m, keep in enumerate(info.keep[info.n_recurrent :])
        ]
        program = self.program
        state_values = list(states)
        n_traced = info.n_traced
        done = n_steps
        for step in range(n_steps):
            arguments = [sequence[step] for sequence in seqs]
            for trace, initial, taps in zip(traces, inits, info.recurrent_taps):
                for tap in taps:
                    row = step + tap
                    arguments.append(trace.read(row) if row >= 0 else initial[trace.lag + row])
            arguments += state_values
            arguments += non_seqs
            try:
                results = program(arguments)
                for trace, value in zip(traces, results):
                    trace.write(step, value)
            except Exception as exc:
                exc.add_note(f"(in step {step} of {self})")
                raise
            state_values = results[n_traced : n_traced + info.n_states]
            if info.as_while and results[-1]:
                done = step + 1
                break
        if done == 0 and info.n_nit_sot:
            rows = self._rows_without_steps(inputs)
            for trace, row in zip(traces[info.n_recurrent :], rows):
                trace.row_shape = row
        for position, trace in enumerate(traces):
            output_storage[position][0] = trace.result(done, node.outputs[position].type)
        for position, value in enumerate(state_values, start=n_traced):
            output_storage[position][0] = value

    def _rows_without_steps(self, inputs: Sequence[Any]) -> list[tuple[int, ...]]:
        """The row shapes of the per-step outputs when no step ran, from the inputs' shapes.

        The inner graph's ``infer_shape`` chain is compiled once into a function of
        the inner inputs' lengths; a length it cannot express (one computed from
        values) is 0.
        """
        from arignote.compile.function import function
        from arignote.compile.mode import Mode
        from arignote.tensor.constructors import lscalar

        info = self.info
        if self._row_shapes is None:
            lengths = [
                [lscalar() for _ in range(v.ndim)] if isinstance(v.type, TensorType) else None
                for v in self.fgraph.inputs
            ]
            _, inner_nit, _, _ = info.inner_output_groups(self.fgraph.outputs)
            shapes = infer_inner_shapes(
                self.fgraph.inputs, inner_nit, lengths, self.fgraph.variables
            )
            entries = [n for shape in shapes for n in (shape or ()) if isinstance(n, Variable)]
            flat = [n for group in lengths if group is not None for n in group]
            compute = function(flat, entries, mode=Mode("py", None), on_unused_input="ignore")
            self._row_shapes = (shapes, compute)
        shapes, compute = self._row_shapes
        _, seqs, inits, states, non_seqs = info.outer_input_groups(inputs)
        values = [np.shape(v)[1:] for v in seqs]
        for initial, taps in zip(inits, info.recurrent_taps):
            values += [np.shape(initial)[1:]] * len(taps)
        values += [np.shape(v) for v in [*states, *non_seqs]]
        flat = [
            n
            for value, v in zip(values, self.fgraph.inputs)
            if isinstance(v.type, TensorType)
            for n in value
        ]
        computed = iter(compute(*flat))
        return [
            tuple(
                0 if n is None else int(next(computed)) if isinstance(n, Variable) else int(n)
                for n in (shape or (None,) * v.ndim)
            )
            for shape, v in zip(shapes, self.fgraph.outputs[info.n_recurrent :])
        ]

    # ---- shapes and dependencies ----------------------------------------------------------
    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import minimum
        from arignote.tensor.shape import shape_i

        info = self.info
        _, seq_shapes, init_shapes, state_shapes, non_seq_shapes = info.outer_input_groups(
            input_shapes
        )
        inner_shapes = [None if s is None else tuple(s)[1:] for s in seq_shapes]
        for shape, taps in zip(init_shapes, info.recurrent_taps):
            inner_shapes += [tuple(shape)[1:]] * len(taps)
        inner_shapes += list(state_shapes) + list(non_seq_shapes)
        _, inner_nit, inner_states, _ = info.inner_output_groups(self.fgraph.outputs)
        inferred = infer_inner_shapes(
            self.fgraph.inputs, inner_nit + inner_states, inner_shapes, self.fgraph.variables
        )
        rows = [tuple(s)[1:] for s in init_shapes] + inferred[: info.n_nit_sot]
        results = []
        for position, (row, keep) in enumerate(zip(rows, info.keep)):
            output = node.outputs[position]
            if info.as_while:
                leading = shape_i(output, 0)
            elif keep is None:
                leading = node.inputs[0]
            else:
                leading = minimum(node.inputs[0], keep)
            row = row if row is not None else (None,) * (output.ndim - 1)
            results.append(
                (
                    leading,
                    *(n if n is not None else shape_i(output, a + 1) for a, n in enumerate(row)),
                )
            )
        for offset, shape in enumerate(inferred[info.n_nit_sot :]):
            output = node.outputs[info.n_traced + offset]
            if not isinstance(output.type, TensorType):
                results.append(())
                continue
            shape = shape if shape is not None else (None,) * output.ndim
            results.append(
                tuple(n if n is not None else shape_i(output, a) for a, n in enumerate(shape))
            )
        return results

    def connection_pattern(self, node):
        """Which outer outputs depend on which outer inputs, following the recurrences."""
        from arignote.compile.builders import _io_connection_pattern

        info = self.info
        inner = _io_connection_pattern(self.fgraph.inputs, self.fgraph.outputs)
        n_out = info.n_traced + info.n_states
        seq_inputs, tap_groups, state_inputs, non_seq_inputs = info.inner_input_groups(
            list(range(len(inner)))
        )
        # The inner inputs that each output feeds back into (its taps; a state's own input).
        feeds: dict[int, list[int]] = {j: group for j, group in enumerate(tap_groups)}
        for s, position in enumerate(state_inputs):
            feeds[info.n_traced + s] = [position]
        # reach[i]: the outputs that inner input i reaches, through any number of steps.
        reach = [{j for j in range(n_out) if inner[i][j]} for i in range(len(inner))]
        changed = True
        while changed:
            changed = False
            for i, reached in enumerate(reach):
                extra = set().union(*(reach[p] for j in reached for p in feeds.get(j, ())))
                if not extra <= reached:
                    reached |= extra
                    changed = True

        def row(positions: Sequence[int]) -> list[bool]:
            return [any(j in reach[i] for i in positions) for j in range(n_out)]

        rows = [[True] * n_out]
        rows += [row([i]) for i in seq_inputs]
        rows += [row(group) for group in tap_groups]
        rows += [row([i]) for i in state_inputs]
        rows += [row([i]) for i in non_seq_inputs]
        return rows

    def do_constant_folding(self, node: Apply) -> bool:
        # A loop is run when the function runs, not while it compiles.
        return False

    # ---- derivatives ----------------------------------------------------------------------
    def L_op(self, inputs, outputs, output_grads):
        from arignote.scan.grad import scan_pullback

        return scan_pullback(self, list(inputs), list(outputs), list(output_grads))

    def R_op(self, inputs, eval_points):
        from arignote.scan.grad import scan_pushforward

        return scan_pushforward(self, list(inputs), list(eval_points))


class _Trace:
    """The stored rows of one traced output, growing, or a ring when only the last are kept.

    A ring keeps ``max(keep, lag + 1)`` rows: the step writing row ``t`` reads rows
    ``t - lag .. t - 1``, so it never overwrites a row it is reading.
    """

    def __init__(self, what, lag, keep, n_steps, growable, row_shape, dtype):
        self.what = what
        self.lag = lag
        self.keep = keep
        self.dtype = dtype
        self.row_shape = None if row_shape is None else tuple(row_shape)
        if keep is not None:
            self.capacity = max(keep, lag + 1)
        else:
            self.capacity = min(n_steps, 64) if growable else n_steps
        self.ring = keep is not None
        self.growable = growable and keep is None
        self.buffer = None if row_shape is None else self._allocate(self.capacity)

    def _allocate(self, rows: int) -> np.ndarray:
        return np.empty((rows, *self.row_shape), dtype=self.dtype)

    def write(self, step: int, value: Any) -> None:
        shape = np.shape(value)
        if self.buffer is None:
            self.row_shape = shape
            self.buffer = self._allocate(self.capacity)
        elif shape != self.row_shape:
            raise ValueError(
                f"scan: the step function returned a value of shape {shape} for {self.what}, "
                f"whose earlier values have shape {self.row_shape}; every step must give the "
                "same shape"
            )
        if self.ring:
            self.buffer[step % self.capacity] = value
            return
        if step >= len(self.buffer):
            grown = self._allocate(max(2 * len(self.buffer), step + 1))
            grown[: len(self.buffer)] = self.buffer
            self.buffer = grown
        self.buffer[step] = value

    def read(self, row: int) -> np.ndarray:
        return self.buffer[row % self.capacity] if self.ring else self.buffer[row]

    def result(self, done: int, output_type: TensorType) -> np.ndarray:
        if self.buffer is None:
            return np.empty((0, *self.row_shape), dtype=self.dtype)
        if self.ring:
            first = max(0, done - self.keep)
            return self.buffer[[row % self.capacity for row in range(first, done)]]
        if len(self.buffer) == done:
            return self.buffer
        return self.buffer[:done].copy()
