"""A ``Scan`` loop as one C function: the plan of its memory and the generated source.

``plan_loop(op, target)`` reads the loop body (``op.fgraph``) once, at compile
time, and decides everything that does not depend on run-time shapes:

- *slots*: the memory regions the body touches, one ``char*`` each in the
  driver's array ``D``: a sequence's row ``t``, a tap's row (in the trace or
  in the initial value), a traced output's row ``t`` (the node computing that
  output writes there directly), a state's private buffer, a non-sequence, a
  constant, a private intermediate. Views (``DimShuffle``) share their
  input's slot; a 2-d transposition is a flag that only BLAS operands may
  carry (the flag flips their ``trans`` argument);
- *steps*: per inner node, an elementwise or reduction kernel (``codegen``'s
  loop nest, renamed and compiled into the same shared object), a BLAS
  product through a function pointer to ``scipy.linalg.cython_blas`` (passed
  at run time: no link-time BLAS), a cast of a widened accumulator, a copy of
  a non-contiguous ``Subtensor`` view or of a broadcast ``Alloc``; lengths
  (``Shape_i``) and scalar arithmetic on them and on non-sequences are
  computed once per call, in Python;
- *in place*: a product's accumulated operand (``Gemm``'s ``c``, ``Gemv``'s
  ``y``, ``Ger``'s ``a``) and an elementwise op's same-typed input are
  overwritten when no later node reads them and they are private (a state's
  buffer or an intermediate), so a gradient accumulator is updated where it
  lies, with no copy per step.

The driver's source depends only on this plan, never on shapes: its numbers
(lengths, strides, BLAS arguments and routine addresses, thread counts, and the
arrays, as ``ndarray`` object addresses whose data pointer it reads as the kernels
do) come at run time in one ``int64`` table whose entries ``LoopPlan.fields``
names (``lower_scan`` fills it). A body with a node this module cannot
compile raises ``NotCompilable``, saying which node and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.link.c import codegen
from arignote.link.c.scalar_c import ExprContext, NoCExpression, c_type
from arignote.tensor.elemwise import DimShuffle, Elemwise
from arignote.tensor.fused import ElemwiseReduce
from arignote.tensor.reduction import CAReduce
from arignote.tensor.type import TensorType

BLAS_LOOP_DTYPES = ("float32", "float64")


class NotCompilable(Exception):
    """The loop body has a node the loop compiler cannot run in C (the message says which)."""


@dataclass(frozen=True)
class Slot:
    """A memory region: ``kind`` is ``seq``, ``tap``, ``trace`` (an output's row), ``state``,
    ``non_seq``, ``constant``, ``per_call`` (a value fixed for the call), ``private`` (an
    intermediate), ``stage`` (a new state waiting to be copied) or ``view`` (a pointer into
    another region); ``index`` says which one (a tap: ``(output, tap position)``)."""

    kind: str
    index: object
    dtype: str


@dataclass
class Step:
    """One inner node's work. ``kind``: ``kernel`` (elementwise), ``reduce``, ``gemm``,
    ``gemv``, ``ger``, ``dot``, ``view`` (a ``DimShuffle``: no code), ``subtensor`` (a
    pointer, or a copy when the view is not contiguous), ``alloc`` (a broadcasting
    copy), ``shape`` and ``scalar``
    (values fixed for the call, computed in Python before the loop).

    ``accumulated`` is a product's added operand (copied into the output first,
    unless it already lies there); ``scratch`` is the slot of a reduction's
    widened accumulator or of a subtensor's contiguous copy.
    """

    kind: str
    node: Apply
    output: Variable
    function: str = ""
    ndim: int = 0
    acc_dtype: str = ""
    accumulated: Variable | None = None
    scratch: int | None = None


@dataclass
class LoopPlan:
    slots: list[Slot]
    slot_of: dict[Variable, int]
    transposed: dict[Variable, bool]
    steps: list[Step]
    # End of step: (output position, variable) copied into the trace row / the state buffer.
    trace_copies: list[tuple[int, Variable]]
    state_copies: list[tuple[int, Variable, int | None]]  # (state, variable, stage slot)
    condition: Variable | None
    matrix_only: set[Variable]  # non-sequences only BLAS matrix operands read (any layout)
    fields: list[tuple] = field(default_factory=list)  # the run-time table's entries, in order
    source: str = ""


# ---- planning ---------------------------------------------------------------------------
def plan_loop(op, target: codegen.Target) -> LoopPlan:
    """The plan and C source of ``op``'s loop, or ``NotCompilable`` naming what is missing."""
    info = op.info
    fgraph = op.fgraph
    for variable in fgraph.inputs:
        if not isinstance(variable.type, TensorType):
            raise NotCompilable(f"inner input {variable} is a {variable.type}, not a tensor")
    order = fgraph.toposort()
    seqs, taps, states, non_seqs = info.inner_input_groups(fgraph.inputs)
    outputs = list(fgraph.outputs)
    recurrent, nit_sot, new_states, condition = info.inner_output_groups(outputs)
    traced = recurrent + nit_sot
    slots: list[Slot] = []
    slot_of: dict[Variable, int] = {}
    transposed: dict[Variable, bool] = {}

    def new_slot(kind: str, index: object, dtype: str) -> int:
        slots.append(Slot(kind, index, dtype))
        return len(slots) - 1

    def place(variable: Variable, slot: int, flipped: bool = False) -> None:
        slot_of[variable] = slot
        transposed[variable] = flipped

    for position, variable in enumerate(seqs):
        if variable not in slot_of:
            place(variable, new_slot("seq", position, variable.dtype))
    for j, group in enumerate(taps):
        for k, variable in enumerate(group):
            if variable not in slot_of:
                place(variable, new_slot("tap", (j, k), variable.dtype))
    state_slots = []
    for position, variable in enumerate(states):
        state_slots.append(new_slot("state", position, variable.dtype))
        slot_of.setdefault(variable, state_slots[-1])
        transposed.setdefault(variable, False)
    for position, variable in enumerate(non_seqs):
        if variable not in slot_of:
            place(variable, new_slot("non_seq", position, variable.dtype))
    for node in order:
        for variable in node.inputs:
            if isinstance(variable, Constant) and variable not in slot_of:
                if not isinstance(variable.type, TensorType):
                    raise NotCompilable(f"constant {variable} is not a tensor")
                place(variable, new_slot("constant", variable, variable.dtype))
    for variable in outputs:
        if isinstance(variable, Constant) and variable not in slot_of:
            place(variable, new_slot("constant", variable, variable.dtype))

    steps = [_step_of(node) for node in order]
    _check_transposes(steps, outputs, transposed)
    last_read = _last_reads(order, outputs)
    # Values fixed for a whole call (computed in Python before the loop): constants,
    # non-sequences, lengths, and scalar arithmetic on them (e.g. a slice bound h.shape[1]).
    per_call = set(non_seqs) | {v for v in slot_of if isinstance(v, Constant)}
    for step in reversed(steps):  # a subtensor view keeps its source alive while it is read
        if step.kind == "subtensor":
            source = step.node.inputs[0]
            last_read[source] = max(last_read.get(source, -1), last_read.get(step.output, -1))
    traced_first: dict[Variable, int] = {}
    for position, variable in enumerate(traced):
        traced_first.setdefault(variable, position)
    state_outputs = set(new_states)
    for position, step in enumerate(steps):
        node = step.node
        if step.kind == "view":
            (source,) = node.inputs
            flips = _is_transpose(node.op)
            place(step.output, slot_of[source], transposed[source] != flips)
            continue
        if (
            step.kind == "kernel"
            and len(node.outputs) == 1
            and step.output.ndim == 0
            and all(v in per_call for v in node.inputs)
        ):
            step.kind = "scalar"
        if step.kind == "subtensor":
            for index in node.inputs[1:]:
                if index not in per_call:
                    raise NotCompilable(f"{node.op} has an index that changes from step to step")
            # A pointer into the source when the view is contiguous, else a copy into scratch.
            place(step.output, new_slot("view", step.output, step.output.dtype))
            step.scratch = new_slot("private", step.output, step.output.dtype)
            continue
        if step.kind == "alloc" and any(v not in per_call for v in node.inputs[1:]):
            raise NotCompilable(f"{node.op} has a shape that changes from step to step")
        if step.kind in ("shape", "scalar"):
            place(step.output, new_slot("per_call", step.output, step.output.dtype))
            per_call.add(step.output)
            continue
        for output in node.outputs:
            if output in traced_first and output not in state_outputs and output is not condition:
                place(output, new_slot("trace", traced_first[output], output.dtype))
                continue
            donor = _donor(step, output, position, slot_of, transposed, slots, last_read)
            if donor is not None:
                place(output, donor)
            else:
                place(output, new_slot("private", output, output.dtype))
        if step.kind == "reduce" and step.acc_dtype != step.output.dtype:
            step.scratch = new_slot("private", ("acc", position), step.acc_dtype)
    trace_copies = [
        (position, variable)
        for position, variable in enumerate(traced)
        if slots[slot_of[variable]] != Slot("trace", position, variable.dtype)
    ]
    for position, variable in trace_copies:
        if transposed[variable]:
            raise NotCompilable(f"output {position} is a transposed view")
    state_copies = []
    for position, variable in enumerate(new_states):
        if not isinstance(variable.type, TensorType):
            raise NotCompilable(f"state {position} is a {variable.type}, not a tensor")
        if slot_of[variable] == state_slots[position]:
            continue
        if transposed[variable]:
            raise NotCompilable(f"new state {position} is a transposed view")
        staged = slots[slot_of[variable]].kind == "state"
        stage = new_slot("stage", position, variable.dtype) if staged else None
        state_copies.append((position, variable, stage))
    matrix_only = _matrix_only(non_seqs, order, steps, outputs)
    plan = LoopPlan(
        slots, slot_of, transposed, steps, trace_copies, state_copies, condition, matrix_only
    )
    plan.source = _source(plan, info, target)
    return plan


def _step_of(node: Apply) -> Step:
    from arignote.tensor.alloc import Alloc
    from arignote.tensor.blas import Gemm, Gemv, Ger
    from arignote.tensor.products import Dot
    from arignote.tensor.shape import Shape_i
    from arignote.tensor.subtensor import Subtensor

    op = node.op
    for variable in [*node.inputs, *node.outputs]:
        if not isinstance(variable.type, TensorType):
            raise NotCompilable(f"{op} reads or makes a {variable.type}, not a tensor")
    output = node.outputs[0]
    if isinstance(op, DimShuffle):
        if _is_transpose(op) or not _transposes(op):
            return Step("view", node, output)
        raise NotCompilable(f"{op} reorders axes (only 2-d transposes are views here)")
    if isinstance(op, Subtensor):
        return Step("subtensor", node, output)
    if isinstance(op, Shape_i):
        return Step("shape", node, output)
    if isinstance(op, Alloc):
        return Step("alloc", node, output)
    if isinstance(op, Elemwise):
        return Step("kernel", node, output, ndim=output.ndim)
    if isinstance(op, (CAReduce, ElemwiseReduce)):
        reduce_op = op.reduce if isinstance(op, ElemwiseReduce) else op
        if isinstance(op, ElemwiseReduce):
            ndim = op.elemwise.make_node(*node.inputs).outputs[0].ndim
        else:
            ndim = node.inputs[0].ndim
        acc_dtype = codegen.accumulator_dtype(reduce_op, output.dtype)
        return Step("reduce", node, output, ndim=ndim, acc_dtype=acc_dtype)
    dtypes = {v.dtype for v in [*node.inputs, *node.outputs]}
    if isinstance(op, (Gemm, Gemv, Ger, Dot)) and (
        len(dtypes) != 1 or dtypes.pop() not in BLAS_LOOP_DTYPES
    ):
        raise NotCompilable(
            f"{op} on {sorted({v.dtype for v in node.inputs})}: BLAS here "
            "serves float32 and float64"
        )
    if isinstance(op, Gemm):
        accumulated = node.inputs[4] if len(node.inputs) == 5 else None
        return Step("gemm", node, output, accumulated=accumulated)
    if isinstance(op, Gemv):
        accumulated = node.inputs[4] if len(node.inputs) == 5 else None
        return Step("gemv", node, output, accumulated=accumulated)
    if isinstance(op, Ger):
        accumulated = node.inputs[3] if len(node.inputs) == 4 else None
        return Step("ger", node, output, accumulated=accumulated)
    if isinstance(op, Dot):
        return Step("dot", node, output)
    raise NotCompilable(f"no compiled form for {type(op).__name__} ({op}) in a loop body")


def _transposes(op: DimShuffle) -> bool:
    kept = [o for o in op.new_order if o != "x"]
    return kept != sorted(kept)


def _is_transpose(op: DimShuffle) -> bool:
    return op.input_ndim == 2 and tuple(op.new_order) == (1, 0)


def _matrix_positions(step: Step) -> tuple[int, ...]:
    """Operand positions a BLAS call reads as matrices (any layout)."""
    if step.kind == "gemm":
        return (1, 2)
    if step.kind == "gemv":
        return (1,)
    if step.kind == "dot":
        return tuple(k for k, v in enumerate(step.node.inputs) if v.ndim == 2)
    return ()


def _check_transposes(steps, outputs, transposed) -> None:
    """Transposing views may only feed BLAS matrix operands (or other such views)."""
    flipped = {s.output for s in steps if s.kind == "view" and _is_transpose(s.node.op)}
    for step in steps:
        matrix = _matrix_positions(step)
        for k, variable in enumerate(step.node.inputs):
            if (
                variable in flipped
                and k not in matrix
                and not (step.kind == "view" and _is_transpose(step.node.op))
            ):
                raise NotCompilable(f"{step.node.op} reads the transposed view {variable}")
    for variable in outputs:
        if variable in flipped:
            raise NotCompilable(f"the body returns the transposed view {variable}")


def _matrix_only(non_seqs, order, steps, outputs) -> set[Variable]:
    """Non-sequences that are read only as BLAS matrix operands (directly or transposed)."""
    readers: dict[Variable, list[tuple[Step, int]]] = {}
    for step in steps:
        for k, variable in enumerate(step.node.inputs):
            readers.setdefault(variable, []).append((step, k))
    result = set()
    for variable in non_seqs:
        if variable in outputs or variable not in readers:
            continue
        ok = True
        for step, k in readers[variable]:
            if k in _matrix_positions(step):
                continue
            if step.kind == "view" and _is_transpose(step.node.op):
                if step.output in outputs or not all(
                    kk in _matrix_positions(s) for s, kk in readers.get(step.output, [])
                ):
                    ok = False
                continue
            ok = False
        if ok:
            result.add(variable)
    return result


def _last_reads(order: Sequence[Apply], outputs: Sequence[Variable]) -> dict[Variable, int]:
    """The position of each variable's last reader (the end for the body's outputs)."""
    last: dict[Variable, int] = {}
    for position, node in enumerate(order):
        for variable in node.inputs:
            last[variable] = position
    for variable in outputs:
        last[variable] = len(order)
    return last


def _donor(step, output, position, slot_of, transposed, slots, last_read) -> int | None:
    """An input slot ``output`` may overwrite: private, read by nobody after this node."""
    candidates: list[Variable] = []
    if step.accumulated is not None:
        candidates = [step.accumulated]
    elif step.kind == "kernel" and len(step.node.outputs) == 1:
        candidates = [
            v
            for v in step.node.inputs
            if v.dtype == output.dtype and v.type.broadcastable == output.type.broadcastable
        ]
    for candidate in candidates:
        slot = slot_of[candidate]
        if slots[slot].kind not in ("private", "state") or transposed[candidate]:
            continue
        if slots[slot].dtype != output.dtype:
            continue
        sharing = [v for v, s in slot_of.items() if s == slot]
        if any(last_read.get(v, -1) > position for v in sharing):
            continue
        if step.kind != "kernel" and any(
            slot_of[v] == slot for v in step.node.inputs if v is not candidate
        ):
            continue  # a product must not write over an operand it is still reading
        return slot
    return None


# ---- the C source -------------------------------------------------------------------------
def _node_kernel(step: Step, target: codegen.Target, name: str) -> tuple[str, dict[str, str]]:
    """The node's loop-nest kernel named ``name``, and the helpers it needs (by name)."""
    context = ExprContext()
    generate = codegen.elemwise_source if step.kind == "kernel" else codegen.reduce_source
    try:
        source = generate(step.node, target, context)
    except NoCExpression as exc:
        raise NotCompilable(f"{step.node.op}: {exc}") from None
    header, kernel = source.split("\nvoid kernel(", 1)
    for helper in context.helpers.values():
        header = header.replace(helper, "")
    return header + f"\nstatic void {name}(" + kernel, dict(context.helpers)


def _source(plan: LoopPlan, info, target: codegen.Target) -> str:
    """The whole shared object: the node kernels, BLAS helpers, and the driver ``kernel``."""
    fields: list[tuple] = [("n",)]

    def f(*key) -> str:
        if key not in index:
            index[key] = len(fields)
            fields.append(key)
        return f"a[{index[key]}]"

    index = {("n",): 0}
    header_lines: dict[str, None] = {}
    helpers: dict[str, str] = {}
    kernels: list[str] = []
    for position, step in enumerate(plan.steps):
        if step.kind in ("kernel", "reduce"):
            step.function = f"ar_node{position}"
            text, needed = _node_kernel(step, target, step.function)
            head, body = text.split(f"\nstatic void {step.function}(", 1)
            for line in head.splitlines():
                if line.strip() and not line.startswith("#pragma GCC optimize"):
                    header_lines.setdefault(line)
            helpers.update(needed)
            kernels.append(f"static void {step.function}(" + body)
    D = {slot: f"D[{slot}]" for slot in range(len(plan.slots))}

    def ptr(variable: Variable) -> str:
        return D[plan.slot_of[variable]]

    def obj(variable_or_slot) -> str:
        slot = (
            variable_or_slot
            if isinstance(variable_or_slot, int)
            else plan.slot_of[variable_or_slot]
        )
        return f"(intptr_t)&D[{slot}] - {target.data_offset}"

    setup: list[str] = []
    per_step: list[str] = []
    for slot, s in enumerate(plan.slots):
        if s.kind in ("constant", "non_seq", "state", "private", "stage", "per_call"):
            setup.append(f"D[{slot}] = AR_ADDRESS({f('ptr', slot)});")
        elif s.kind == "seq":
            per_step.append(
                f"D[{slot}] = AR_ADDRESS({f('seq', s.index)}) + t * {f('seq_stride', s.index)};"
            )
        elif s.kind == "tap":
            j, k = s.index
            tap = info.recurrent_taps[j][k]
            per_step += [
                f"{{ const int64_t r = t - {-tap};",
                (
                    f"  D[{slot}] = r >= 0 ? AR_ADDRESS({f('trace', j)}) + ROW(r, {f('cap', j)}) * "
                    f"{f('row_bytes', j)} : AR_ADDRESS({f('init', j)}) + ({f('lag', j)} + r) * "
                    f"{f('init_stride', j)}; }}"
                ),
            ]
        elif s.kind == "trace":
            j = s.index
            per_step.append(
                f"D[{slot}] = AR_ADDRESS({f('trace', j)}) + ROW(t, {f('cap', j)}) * {f('row_bytes', j)};"
            )
    body: list[str] = []
    for position, step in enumerate(plan.steps):
        body += _step_code(position, step, plan, f, ptr, obj)
    ends: list[str] = []
    if plan.condition is not None:
        ends.append(f"const int stop = *(const _Bool*){ptr(plan.condition)};")
    trace_slot = {s.index: k for k, s in enumerate(plan.slots) if s.kind == "trace"}
    for position, variable in plan.trace_copies:
        if position in trace_slot:
            target_ptr = D[trace_slot[position]]
        else:
            target_ptr = (
                f"(AR_ADDRESS({f('trace', position)}) + ROW(t, {f('cap', position)}) * "
                f"{f('row_bytes', position)})"
            )
        ends.append(
            f"__builtin_memmove({target_ptr}, {ptr(variable)}, {f('row_bytes', position)});"
        )
    state_slot = {s.index: k for k, s in enumerate(plan.slots) if s.kind == "state"}
    for position, variable, stage in plan.state_copies:
        if stage is not None:
            ends.append(
                f"__builtin_memcpy(D[{stage}], {ptr(variable)}, {f('state_bytes', position)});"
            )
    for position, variable, stage in plan.state_copies:
        source = D[stage] if stage is not None else ptr(variable)
        ends.append(
            f"__builtin_memmove(D[{state_slot[position]}], {source}, {f('state_bytes', position)});"
        )
    if plan.condition is not None:
        ends.append("if (stop) return t + 1;")
    driver = [
        f"#define AR_ADDRESS(o) (*(char* const*)((o) + {target.data_offset}))",
        "int64_t kernel(const int64_t* a)",
        "{",
        f"    char* D[{max(1, len(plan.slots))}];",
        "    const int64_t n = a[0];",
        *_indent(setup, 1),
        "    for (int64_t t = 0; t < n; t++) {",
        *_indent(per_step + body + ends, 2),
        "    }",
        "    return n;",
        "}",
    ]
    if not header_lines:
        header_lines = {line: None for line in _MINIMAL_PRELUDE.splitlines()}
    plan.fields = fields
    return "\n".join(
        [
            *header_lines,
            *helpers.values(),
            *_library(plan.steps),
            *kernels,
            "\n".join(driver),
            "",
        ]
    )


def _step_code(position, step, plan, f, ptr, obj) -> list[str]:
    if step.kind in ("view", "shape", "scalar"):
        return []
    if step.kind == "subtensor":
        ndim = step.output.ndim
        source, view, copy = ptr(step.node.inputs[0]), ptr(step.output), step.scratch
        shape = _block(f, ("sub", position, "shape"), ndim)
        strides = _block(f, ("sub", position, "stride"), ndim)
        itemsize = np.dtype(step.output.dtype).itemsize
        return [
            (
                f"if ({f('sub', position, 'contiguous')}) {view} = {source} + "
                f"{f('sub', position, 'offset')};"
            ),
            (
                f"else {{ {view} = D[{copy}]; ar_copy_strided(D[{copy}], {source} + "
                f"{f('sub', position, 'offset')}, {ndim}, &{shape}, &{strides}, {itemsize}); }}"
            ),
        ]
    node = step.node
    if step.kind == "alloc":  # the value, broadcast (stride 0) to the output's shape
        ndim = step.output.ndim
        shape = _block(f, ("sub", position, "shape"), ndim)
        strides = _block(f, ("sub", position, "stride"), ndim)
        itemsize = np.dtype(step.output.dtype).itemsize
        return [
            (
                f"ar_copy_strided({ptr(step.output)}, {ptr(node.inputs[0])}, {ndim}, &{shape}, "
                f"&{strides}, {itemsize});"
            )
        ]
    if step.kind in ("kernel", "reduce"):
        dims = [f("dim", position, d) for d in range(step.ndim)]
        operands = [obj(v) for v in node.inputs]
        if step.kind == "kernel":
            operands += [obj(v) for v in node.outputs]
        else:
            operands.append(obj(step.scratch if step.scratch is not None else step.output))
        call = f"{step.function}({', '.join([*dims, *operands, f('threads', position)])});"
        if step.scratch is None:
            return [call]
        t_out, t_acc = c_type(step.output.dtype), c_type(plan.slots[step.scratch].dtype)
        return [
            call,
            (
                f"{{ {t_out}* o = ({t_out}*){ptr(step.output)}; "
                f"const {t_acc}* c = (const {t_acc}*)D[{step.scratch}];"
            ),
            f"  for (int64_t i = 0; i < {f('size', position)}; i++) o[i] = ({t_out})c[i]; }}",
        ]
    t = c_type(step.output.dtype)
    suffix = "s" if step.output.dtype == "float32" else "d"
    lines = []
    if step.accumulated is not None:
        lines.append(
            f"if ({ptr(step.output)} != {ptr(step.accumulated)}) __builtin_memmove("
            f"{ptr(step.output)}, {ptr(step.accumulated)}, {f('bytes', position)});"
        )
    blas = f"&{_block(f, ('blas', position), _BLAS_FIELDS)}"
    has_c = int(step.accumulated is not None)

    def scalar(variable: Variable | None, default: str) -> str:
        return f"*(const {t}*){ptr(variable)}" if variable is not None else default

    if step.kind == "gemm":
        alpha, a, b = node.inputs[:3]
        beta = node.inputs[3] if has_c else None
        lines.append(
            f"ar_gemm_{suffix}({blas}, (const {t}*){ptr(a)}, (const {t}*){ptr(b)}, "
            f"{scalar(alpha, '1')}, {scalar(beta, '0')}, ({t}*){ptr(step.output)}, {has_c});"
        )
    elif step.kind == "gemv":
        alpha, a, x = node.inputs[:3]
        beta = node.inputs[3] if has_c else None
        lines.append(
            f"ar_gemv_{suffix}({blas}, (const {t}*){ptr(a)}, (const {t}*){ptr(x)}, "
            f"{scalar(alpha, '1')}, {scalar(beta, '0')}, ({t}*){ptr(step.output)}, {has_c});"
        )
    elif step.kind == "ger":
        alpha, x, y = node.inputs[:3]
        if not has_c:
            lines.append(f"__builtin_memset({ptr(step.output)}, 0, {f('bytes', position)});")
        lines.append(
            f"ar_ger_{suffix}({blas}, (const {t}*){ptr(x)}, (const {t}*){ptr(y)}, "
            f"{scalar(alpha, '1')}, ({t}*){ptr(step.output)});"
        )
    else:  # dot
        x, y = node.inputs
        if x.ndim == 1 and y.ndim == 1:
            lines.append(
                f"ar_dot_{suffix}({blas}, (const {t}*){ptr(x)}, (const {t}*){ptr(y)}, "
                f"({t}*){ptr(step.output)});"
            )
        elif x.ndim == 2 and y.ndim == 2:
            lines.append(
                f"ar_gemm_{suffix}({blas}, (const {t}*){ptr(x)}, (const {t}*){ptr(y)}, 1, 0, "
                f"({t}*){ptr(step.output)}, 0);"
            )
        else:
            matrix, vector = (x, y) if x.ndim == 2 else (y, x)
            lines.append(
                f"ar_gemv_{suffix}({blas}, (const {t}*){ptr(matrix)}, (const {t}*){ptr(vector)},"
                f" 1, 0, ({t}*){ptr(step.output)}, 0);"
            )
    return lines


def _block(f, key: tuple, length: int) -> str:
    """``length`` consecutive table entries (at least one); the first, to take its address."""
    first = f(*key, 0)
    for d in range(1, length):
        f(*key, d)
    return first


def _indent(lines: Sequence[str], depth: int) -> list[str]:
    return ["    " * depth + line for line in lines]


# Each BLAS step has this many table fields (see _BLAS_TEMPLATE for their meaning).
_BLAS_FIELDS = 12

_MINIMAL_PRELUDE = """\
typedef __INT64_TYPE__ int64_t;
typedef __INTPTR_TYPE__ intptr_t;"""

# Row-major products through column-major BLAS: the table gives, for C = op(A) op(B)
# (m x n, k inner): g = [m, n, k, a_row_stride, a_col_stride, b_row_stride, b_col_stride,
# trans for B^T, trans for A^T, ld of B, ld of A, BLAS address]. A zero scale (BLAS would
# drop a NaN) or an empty operand takes the plain loop, as ``Gemm.perform`` takes NumPy.
_BLAS_TEMPLATE = """\
typedef void (*ar_gemm_{s}_t)(char*, char*, int*, int*, int*, {T}*, {T}*, int*, {T}*, int*,
                              {T}*, {T}*, int*);
typedef void (*ar_gemv_{s}_t)(char*, int*, int*, {T}*, {T}*, int*, {T}*, int*, {T}*, {T}*,
                              int*);
typedef void (*ar_ger_{s}_t)(int*, int*, {T}*, {T}*, int*, {T}*, int*, {T}*, int*);
static void ar_gemm_{s}(const int64_t* g, const {T}* A, const {T}* B, {T} alpha, {T} beta,
                        {T}* C, int has_c)
{{
    const int64_t m = g[0], n = g[1], k = g[2];
    if (alpha == 0 || (has_c && beta == 0) || m == 0 || n == 0 || k == 0 || !g[11]) {{
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {{
                {T} s = 0;
                for (int64_t p = 0; p < k; p++) s += A[i * g[3] + p * g[4]] * B[p * g[5] + j * g[6]];
                C[i * n + j] = has_c ? alpha * s + beta * C[i * n + j] : alpha * s;
            }}
        return;
    }}
    char tb = (char)g[7], ta = (char)g[8];
    int M = (int)n, N = (int)m, K = (int)k, ldb = (int)g[9], lda = (int)g[10], ldc = (int)n;
    {T} b = has_c ? beta : 0;
    ((ar_gemm_{s}_t)g[11])(&tb, &ta, &M, &N, &K, &alpha, ({T}*)B, &ldb, ({T}*)A, &lda, &b, C,
                           &ldc);
}}
/* y (m) = alpha op(A) (m x n) x [+ beta y]; g = [m, n, 0, a_rs, a_cs, 0, 0, trans, rows, cols,
   ld, BLAS address]. */
static void ar_gemv_{s}(const int64_t* g, const {T}* A, const {T}* x, {T} alpha, {T} beta,
                        {T}* y, int has_c)
{{
    const int64_t m = g[0], n = g[1];
    if (alpha == 0 || (has_c && beta == 0) || m == 0 || n == 0 || !g[11]) {{
        for (int64_t i = 0; i < m; i++) {{
            {T} s = 0;
            for (int64_t p = 0; p < n; p++) s += A[i * g[3] + p * g[4]] * x[p];
            y[i] = has_c ? alpha * s + beta * y[i] : alpha * s;
        }}
        return;
    }}
    char tr = (char)g[7];
    int M = (int)g[8], N = (int)g[9], ld = (int)g[10], one = 1;
    {T} b = has_c ? beta : 0;
    ((ar_gemv_{s}_t)g[11])(&tr, &M, &N, &alpha, ({T}*)A, &ld, ({T}*)x, &one, &b, y, &one);
}}
/* C (m x n) += alpha x y^T; g = [m, n, ..., BLAS address]. */
static void ar_ger_{s}(const int64_t* g, const {T}* x, const {T}* y, {T} alpha, {T}* C)
{{
    const int64_t m = g[0], n = g[1];
    if (alpha == 0 || m == 0 || n == 0 || !g[11]) {{
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) C[i * n + j] += alpha * (x[i] * y[j]);
        return;
    }}
    int M = (int)n, N = (int)m, ld = (int)n, one = 1;
    ((ar_ger_{s}_t)g[11])(&M, &N, &alpha, ({T}*)y, &one, ({T}*)x, &one, C, &ld);
}}
static void ar_dot_{s}(const int64_t* g, const {T}* x, const {T}* y, {T}* out)
{{
    {T} s = 0;
    for (int64_t p = 0; p < g[0]; p++) s += x[p] * y[p];
    *out = s;
}}
"""
_COPY_HELPER = """\
/* Copy a strided view (byte strides) into a C-contiguous buffer. */
static void ar_copy_strided(char* dst, const char* src, int64_t ndim, const int64_t* shape,
                            const int64_t* strides, int64_t itemsize)
{
    int64_t index[16] = {0}, total = 1;
    for (int64_t d = 0; d < ndim; d++) total *= shape[d];
    for (int64_t e = 0; e < total; e++) {
        const char* at = src;
        for (int64_t d = 0; d < ndim; d++) at += index[d] * strides[d];
        __builtin_memcpy(dst + e * itemsize, at, itemsize);
        for (int64_t d = ndim - 1; d >= 0; d--) {
            if (++index[d] < shape[d]) break;
            index[d] = 0;
        }
    }
}
"""


def _library(steps: Sequence[Step]) -> list[str]:
    """The helper functions the steps call (only those: each costs compile time)."""
    parts = ["#define ROW(r, cap) ((cap) ? (r) % (cap) : (r))"]
    if any(step.kind in ("subtensor", "alloc") for step in steps):
        parts.append(_COPY_HELPER)
    for dtype, suffix, c in (("float32", "s", "float"), ("float64", "d", "double")):
        kinds = {step.kind for step in steps if step.output.dtype == dtype}
        if kinds & {"gemm", "gemv", "ger", "dot"}:
            parts.append(_BLAS_TEMPLATE.format(s=suffix, T=c))
    return parts


__all__ = ["LoopPlan", "NotCompilable", "Slot", "Step", "plan_loop"]
