"""``Scan`` on the compiled backend: the whole loop runs in one C function.

At compile time ``loopgen.plan_loop`` lays out the body's memory and
generates one shared object (the body's kernels, BLAS calls through
function pointers, the step loop); it is built with the function's other
kernels. A body the loop compiler cannot handle (a node with no C form, a
non-tensor state such as a random generator) runs its ``perform`` per step,
and the report's detail says why.

Per call, in Python and once (not per step): the shape of every inner value
from the outer inputs' shapes (the body has the same shapes every step),
one buffer per private slot, the traces (``keep`` rings included), the
table of lengths, strides and addresses the driver reads. Whatever this
pass does not accept (no steps, a shape mismatch, a sequence too short, an
empty max) runs ``Scan.perform`` instead, which computes the same result or
raises the reference's error.
"""

from __future__ import annotations

import ctypes
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.link.c import loopgen
from arignote.link.c.lowering import (
    Lowering,
    ThunkPlan,
    fallback,
    lower,
    perform_thunk,
    thread_count_for,
)
from arignote.scan.op import Scan
from arignote.tensor.elemwise import DimShuffle


@lower.register(Scan)
def _lower_scan(op: Scan, node: Apply, tools: Any) -> Lowering:
    try:
        plan = loopgen.plan_loop(op, tools.target)
    except loopgen.NotCompilable as exc:
        return fallback(node, f"the loop body runs per step in Python: {exc}")
    detail = f"loop compiled: {sum(s.kind != 'view' for s in plan.steps)} body nodes in C"
    return Lowering(
        "kernel",
        lambda kernels, thunk_plan: _scan_thunk(node, plan, kernels[0], thunk_plan),
        [plan.source],
        detail=detail,
    )


@functools.cache
def blas_addresses() -> dict[str, int]:
    """Addresses of SciPy's Fortran BLAS routines (empty without SciPy: plain C loops then)."""
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return {}
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    addresses = {}
    for name in ("sgemm", "dgemm", "sgemv", "dgemv", "sger", "dger"):
        capsule = cython_blas.__pyx_capi__[name]
        addresses[name] = get_pointer(capsule, get_name(capsule))
    return addresses


def _scan_thunk(node: Apply, plan: loopgen.LoopPlan, driver: Any, thunk_plan: ThunkPlan):
    driver.argtypes = [ctypes.c_void_p]
    driver.restype = ctypes.c_int64
    perform = perform_thunk(node, thunk_plan)
    call = _Call(node, plan, thunk_plan)
    inputs, outputs = thunk_plan.inputs, thunk_plan.outputs

    def thunk(storage, pool) -> None:
        prepared = call.prepare([storage[i] for i in inputs])
        if prepared is None:
            perform(storage, pool)
            return
        table, traces, states, keep_alive = prepared
        done = driver(table.ctypes.data)
        for index, value in zip(outputs, call.results(done, traces, states)):
            storage[index] = value
        del keep_alive

    return thunk


def _matrix_strides(shape: Sequence[int], flipped: bool) -> tuple[int, int]:
    """Element strides (rows, columns) of a contiguous matrix stored as itself or transposed."""
    rows, columns = shape
    if flipped and rows > 1 and columns > 1:
        return 1, rows
    return columns, 1


def _column_major(rows: int, columns: int, rs: int, cs: int) -> tuple[int, int]:
    """BLAS's view of X^T for a row-major X (rows x columns, element strides rs, cs):
    (trans character, leading dimension)."""
    if (cs == 1 or columns <= 1) and rs >= max(1, columns):
        return ord("N"), max(1, rs)
    return ord("T"), max(1, cs, rows)


_BLAS_INT_MAX = 2**31 - 1
_BLAS_ADDRESS = 11  # the table entry of a BLAS step that holds the routine's address

# Layouts kept per loop (a loop called with ever new shapes starts over past this).
_LAYOUTS_KEPT = 8


@dataclass
class _Layout:
    """What one set of input shapes gives: the table without its addresses (``addresses``
    says where they go), the arrays fixed for the call, the buffers and traces to allocate."""

    template: np.ndarray
    addresses: list[tuple[int, tuple]]
    threaded: list[tuple[int, int]]  # (table index, kernel size): thread counts
    fixed: dict[int, np.ndarray]
    allocations: dict[int, tuple]
    traces: list[tuple]


class _Call:
    """What one call of the loop needs: shapes, buffers, the driver's table, the results."""

    def __init__(self, node: Apply, plan: loopgen.LoopPlan, thunk_plan: ThunkPlan):
        self.node = node
        self.plan = plan
        self.info = node.op.info
        self.threads = thunk_plan.threads
        self.minsize = thunk_plan.thread_minsize
        fgraph = node.op.fgraph
        seqs, taps, states, non_seqs = self.info.inner_input_groups(fgraph.inputs)
        self.inner = (seqs, taps, states, non_seqs)
        self.outputs = self.info.inner_output_groups(fgraph.outputs)
        self.constants = {
            s.index: np.ascontiguousarray(s.index.data, dtype=s.dtype).reshape(s.index.data.shape)
            for s in plan.slots
            if s.kind == "constant"
        }
        self.out_dtypes = [np.dtype(v.type.dtype) for v in node.outputs]
        self.non_seq_slots = [plan.slot_of[v] for v in non_seqs]
        self.state_slots = [k for k, s in enumerate(plan.slots) if s.kind == "state"]
        # Non-sequences whose values (not only shapes) the layout depends on.
        value_inputs = {
            v
            for step in plan.steps
            if step.kind in ("scalar", "subtensor", "alloc")
            for v in step.node.inputs[0 if step.kind == "scalar" else 1 :]
        }
        self.value_read = [k for k, v in enumerate(non_seqs) if v in value_inputs]
        self.layouts: dict[tuple, _Layout] = {}

    # ---- per call ---------------------------------------------------------------------------
    def prepare(self, values: Sequence[Any]):
        """The driver's table, the traces, the state buffers and the arrays the table points
        into; None to run ``perform`` instead."""
        inputs = self._inputs(values)
        if inputs is None:
            return None
        _, seq_arrays, init_arrays, state_arrays, non_seq_arrays, _ = inputs
        key = self._key(inputs)
        layout = self.layouts.get(key) if key is not None else None
        if layout is None:
            layout = self._layout(inputs)
            if layout is None:
                return None
            if key is not None:
                if len(self.layouts) >= _LAYOUTS_KEPT:
                    self.layouts.clear()
                self.layouts[key] = layout
        by_slot = dict(layout.fixed)
        for slot, array in zip(self.non_seq_slots, non_seq_arrays):
            by_slot[slot] = array
        for slot, array in zip(self.state_slots, state_arrays):
            by_slot[slot] = array
        for slot, (shape, dtype) in layout.allocations.items():
            by_slot[slot] = np.empty(shape, dtype)
        traces = [
            (np.empty((capacity, *row), dtype), keep, capacity)
            for capacity, row, dtype, keep in layout.traces
        ]
        table = layout.template.copy()
        for index, (kind, which) in layout.addresses:
            if kind == "ptr":
                array = by_slot[which]
            elif kind == "seq":
                array = seq_arrays[which]
            elif kind == "init":
                array = init_arrays[which]
            else:
                array = traces[which][0]
            table[index] = id(array)  # the driver reads the data pointer from the object
        for index, size in layout.threaded:  # decided per call: no threads after a fork
            table[index] = thread_count_for(size, self.threads, self.minsize)
        return table, traces, state_arrays, (seq_arrays, init_arrays, by_slot)

    def _inputs(self, values: Sequence[Any]):
        """The outer inputs as the loop reads them (rows contiguous, states copied), or None."""
        info, plan = self.info, self.plan
        n_steps, seqs, inits, states, non_seqs = info.outer_input_groups(values)
        n = int(n_steps)
        if n <= 0:
            return None
        inner_seqs, inner_taps, inner_states, inner_non_seqs = self.inner
        seq_arrays = []
        for value, variable in zip(seqs, inner_seqs):
            array = _rows_contiguous(value, variable.dtype)
            if array is None or len(array) < n:
                return None
            seq_arrays.append(array)
        init_arrays = []
        for value, group, lag in zip(inits, inner_taps, info.lags):
            array = _rows_contiguous(value, group[0].dtype)
            if array is None or len(array) < lag:
                return None
            init_arrays.append(array)
        state_arrays = []
        for value, variable in zip(states, inner_states):
            array = np.array(value, dtype=variable.dtype, order="C", copy=True)
            if array.ndim != variable.ndim:
                return None
            state_arrays.append(array)
        non_seq_arrays, flips = [], []
        for value, variable in zip(non_seqs, inner_non_seqs):
            array = np.asarray(value)
            if array.dtype != variable.dtype or array.ndim != variable.ndim:
                return None
            flip = False
            if not array.flags.c_contiguous:
                if variable in plan.matrix_only and array.ndim == 2 and array.flags.f_contiguous:
                    array, flip = array.T, True  # read in place, transposed
                else:
                    array = np.ascontiguousarray(array)
            non_seq_arrays.append(array)
            flips.append(flip)
        return n, seq_arrays, init_arrays, state_arrays, non_seq_arrays, flips

    def _key(self, inputs) -> tuple | None:
        """What the layout depends on: lengths, strides, and the values of the non-sequences
        that lengths or indices are computed from (None: too big to key on)."""
        n, seq_arrays, init_arrays, state_arrays, non_seq_arrays, flips = inputs
        key: list = [n, tuple(flips)]
        for array in (*seq_arrays, *init_arrays, *state_arrays, *non_seq_arrays):
            key.append(array.shape)
            key.append(array.strides)
        for position in self.value_read:
            array = non_seq_arrays[position]
            if array.size > 16:
                return None
            key.append(array.tobytes())
        return tuple(key)

    def _layout(self, inputs) -> _Layout | None:
        """Every shape and every table entry but the addresses, for these inputs."""
        info, plan = self.info, self.plan
        n, seq_arrays, init_arrays, state_arrays, non_seq_arrays, flips = inputs
        inner_seqs, inner_taps, inner_states, inner_non_seqs = self.inner
        shape: dict[Any, Any] = {}
        flipped: dict[Variable, bool] = dict(plan.transposed)
        fields: dict[tuple, int] = {("n",): n}
        for position, (array, variable) in enumerate(zip(seq_arrays, inner_seqs)):
            shape[variable] = array.shape[1:]
            fields[("seq_stride", position)] = array.strides[0]
        rows: list[tuple[int, ...]] = []
        for j, (array, group, lag) in enumerate(zip(init_arrays, inner_taps, info.lags)):
            rows.append(array.shape[1:])
            for variable in group:
                shape[variable] = array.shape[1:]
            fields[("init_stride", j)] = array.strides[0]
            fields[("lag", j)] = lag
        for array, variable in zip(state_arrays, inner_states):
            shape[variable] = array.shape
        value_of = {}
        for array, flip, variable in zip(non_seq_arrays, flips, inner_non_seqs):
            flipped[variable] = flip
            shape[variable] = array.shape[::-1] if flip else array.shape
            value_of[variable] = array
        if not self._propagate(shape, flipped, value_of):
            return None
        recurrent, nit_sot, new_states, condition = self.outputs
        for variable, row in zip(recurrent, rows):
            if shape[variable] != row:
                return None
        for variable, state in zip(new_states, state_arrays):
            if shape[variable] != state.shape:
                return None
        if condition is not None and shape[condition] != ():
            return None
        rows += [shape[v] for v in nit_sot]
        traces = []
        for j, (row, keep) in enumerate(zip(rows, info.keep)):
            lag = info.lags[j] if j < info.n_recurrent else 0
            capacity = n if keep is None else max(keep, lag + 1)
            traces.append((capacity, row, self.out_dtypes[j], keep))
            fields[("cap", j)] = 0 if keep is None else capacity
            fields[("row_bytes", j)] = self.out_dtypes[j].itemsize * math.prod(row)
        fixed: dict[int, np.ndarray] = {}
        allocations: dict[int, tuple] = {}
        for slot, s in enumerate(plan.slots):
            if s.kind == "constant":
                fixed[slot] = self.constants[s.index]
            elif s.kind == "per_call":  # a length, the same every step
                fixed[slot] = np.asarray(shape[("value", s.index)], dtype=s.dtype)
            elif s.kind == "private":
                owner = s.index
                if isinstance(owner, tuple):  # a reduction's widened accumulator
                    owner = plan.steps[owner[1]].output
                allocations[slot] = (shape[owner], np.dtype(s.dtype))
            elif s.kind == "stage":
                allocations[slot] = (state_arrays[s.index].shape, np.dtype(s.dtype))
        for position, state in enumerate(state_arrays):
            fields[("state_bytes", position)] = state.nbytes
        self._step_fields(fields, shape, flipped)
        if any(
            abs(value) > _BLAS_INT_MAX
            for key, value in fields.items()
            if key[0] == "blas" and key[2] != _BLAS_ADDRESS
        ):
            return None  # BLAS takes 32-bit lengths
        template = np.zeros(len(plan.fields), dtype=np.int64)
        addresses, threaded = [], []
        for index, key in enumerate(plan.fields):
            if key[0] in ("ptr", "seq", "init", "trace"):
                addresses.append((index, key))
            elif key[0] == "threads":
                threaded.append((index, fields[key]))
            else:
                template[index] = fields[key]
        return _Layout(template, addresses, threaded, fixed, allocations, traces)

    @staticmethod
    def results(done: int, traces: list, states: list) -> list[np.ndarray]:
        """The outer outputs once ``done`` steps ran: traces (the kept rows), final states."""
        outputs = []
        for trace, keep, capacity in traces:
            if keep is not None:
                first = max(0, done - keep)
                outputs.append(trace[[row % capacity for row in range(first, done)]])
            elif done == len(trace):
                outputs.append(trace)
            else:
                outputs.append(trace[:done].copy())
        return outputs + states

    # ---- shapes -----------------------------------------------------------------------------
    def _propagate(self, shape: dict, flipped: dict, value_of: dict) -> bool:
        """Every inner value's shape (False where the reference would raise or differ)."""

        def of(variable: Variable) -> tuple[int, ...]:
            if isinstance(variable, Constant):
                return self.constants[variable].shape
            return shape[variable]

        def value(variable: Variable) -> Any:
            if isinstance(variable, Constant):
                return variable.data
            if variable in value_of:
                return value_of[variable]
            return shape[("value", variable)]

        for step in self.plan.steps:
            node = step.node
            op = node.op
            try:
                if step.kind == "view":
                    (source,) = node.inputs
                    flipped[step.output] = flipped.get(source, False) != loopgen._is_transpose(op)
                    shape[step.output] = _dimshuffle_shape(op, of(source))
                elif step.kind == "subtensor":
                    found = _view_of(
                        op,
                        of(node.inputs[0]),
                        node.inputs[0].dtype,
                        [value(v) for v in node.inputs[1:]],
                    )
                    if found is None:
                        return False
                    shape[step.output] = found[0].shape
                    shape[("view", step.output)] = found
                elif step.kind == "alloc":
                    found = _alloc_layout(
                        node, of(node.inputs[0]), [value(v) for v in node.inputs[1:]]
                    )
                    if found is None:
                        return False
                    shape[step.output] = found[0]
                    shape[("alloc", step.output)] = found
                elif step.kind == "shape":
                    source = of(node.inputs[0])
                    if not 0 <= op.i < len(source):
                        return False
                    shape[step.output] = ()
                    shape[("value", step.output)] = source[op.i]
                elif step.kind == "scalar":
                    cells = [[None]]
                    op.perform(node, [value(v) for v in node.inputs], cells)
                    shape[step.output] = ()
                    shape[("value", step.output)] = cells[0][0]
                elif step.kind == "kernel":
                    out = _broadcast(node.inputs, [of(v) for v in node.inputs])
                    if out is None:
                        return False
                    for output in node.outputs:
                        shape[output] = out
                elif step.kind == "reduce":
                    iterated = _reduce_iterated(node, [of(v) for v in node.inputs])
                    if iterated is None:
                        return False
                    reduce_op = getattr(op, "reduce", op)
                    if math.prod(iterated) == 0 and reduce_op.kind in ("max", "min"):
                        return False
                    step_shape = tuple(n for d, n in enumerate(iterated) if d not in reduce_op.axis)
                    shape[step.output] = step_shape
                    shape[("iterated", step.output)] = iterated
                else:
                    out = _product_shape(step, of, flipped)
                    if out is None:
                        return False
                    shape[step.output] = out
            except (KeyError, IndexError, TypeError, ValueError, ArithmeticError):
                return False
        return True

    # ---- the table --------------------------------------------------------------------------
    def _step_fields(self, fields: dict, shape: dict, flipped: dict) -> None:
        addresses = blas_addresses()

        def of(variable: Variable) -> tuple[int, ...]:
            if isinstance(variable, Constant):
                return self.constants[variable].shape
            return shape[variable]

        for position, step in enumerate(self.plan.steps):
            if step.kind in ("view", "shape", "scalar"):
                continue
            out_shape = of(step.output)
            if step.kind == "alloc":
                out, strides = shape[("alloc", step.output)]
                for d in range(max(1, len(out))):
                    fields[("sub", position, "shape", d)] = out[d] if out else 1
                    fields[("sub", position, "stride", d)] = strides[d] if out else 0
                continue
            if step.kind == "subtensor":
                view, base = shape[("view", step.output)]
                fields[("sub", position, "contiguous")] = int(view.flags.c_contiguous)
                fields[("sub", position, "offset")] = (
                    view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
                )
                for d in range(max(1, view.ndim)):
                    fields[("sub", position, "shape", d)] = view.shape[d] if view.ndim else 1
                    fields[("sub", position, "stride", d)] = view.strides[d] if view.ndim else 0
                continue
            size = math.prod(out_shape)
            if step.kind in ("kernel", "reduce"):
                dims = out_shape if step.kind == "kernel" else shape[("iterated", step.output)]
                for d, length in enumerate(dims):
                    fields[("dim", position, d)] = length
                fields[("threads", position)] = math.prod(dims)  # the size; see prepare
                fields[("size", position)] = size
                continue
            prefix = "s" if step.output.dtype == "float32" else "d"
            itemsize = np.dtype(step.output.dtype).itemsize
            fields[("bytes", position)] = size * itemsize
            g = [0] * 12
            node = step.node
            if step.kind == "ger" or (step.kind == "dot" and len(out_shape) == 0):
                if step.kind == "ger":
                    g[0], g[1] = out_shape
                    g[11] = addresses.get(prefix + "ger", 0)
                else:
                    g[0] = of(node.inputs[0])[0]
            else:
                if step.kind == "gemm":
                    a, b, trans_a, trans_b = (
                        node.inputs[1],
                        node.inputs[2],
                        node.op.trans_a,
                        node.op.trans_b,
                    )
                elif step.kind == "gemv":
                    a, b, trans_a, trans_b = node.inputs[1], node.inputs[2], node.op.trans, False
                else:
                    x, y = node.inputs
                    if x.ndim == 1:  # x @ Y = Y^T x
                        a, b, trans_a, trans_b = y, x, True, False
                    else:
                        a, b, trans_a, trans_b = x, y, False, False
                a_rs, a_cs = _matrix_strides(of(a), flipped.get(a, False))
                m, k = of(a)
                if trans_a:
                    (a_rs, a_cs), (m, k) = (a_cs, a_rs), (k, m)
                g[3], g[4] = a_rs, a_cs
                if b.ndim == 2:  # gemm
                    b_rs, b_cs = _matrix_strides(of(b), flipped.get(b, False))
                    _, n = of(b)[::-1] if trans_b else of(b)
                    if trans_b:
                        b_rs, b_cs = b_cs, b_rs
                    g[:3] = m, n, k
                    g[5], g[6] = b_rs, b_cs
                    g[7], g[9] = _column_major(k, n, b_rs, b_cs)
                    g[8], g[10] = _column_major(m, k, a_rs, a_cs)
                    g[11] = addresses.get(prefix + "gemm", 0)
                else:  # gemv: y (m) = op(A) (m x k) x
                    g[0], g[1] = m, k
                    trans, ld = _column_major(m, k, a_rs, a_cs)
                    if trans == ord("N"):  # BLAS's matrix is op(A)^T (k x m)
                        g[7], g[8], g[9] = ord("T"), k, m
                    else:  # BLAS's matrix is op(A) (m x k)
                        g[7], g[8], g[9] = ord("N"), m, k
                    g[10] = ld
                    g[11] = addresses.get(prefix + "gemv", 0)
            for index, value in enumerate(g):
                fields[("blas", position, index)] = value


def _rows_contiguous(value: Any, dtype: str) -> np.ndarray | None:
    """``value`` whose rows are C-contiguous (copied if they are not); None if not an array
    of ``dtype`` with at least one dimension."""
    array = np.asarray(value)
    if array.dtype != dtype or array.ndim == 0:
        return None
    expected = array.itemsize
    for length, stride in zip(array.shape[:0:-1], array.strides[:0:-1]):
        if length > 1 and stride != expected:
            return np.ascontiguousarray(array)
        expected *= length
    return array


def _view_of(op, shape: tuple, dtype: str, index_values: list):
    """``x[index]`` on a stand-in for ``x`` (no data) and the stand-in: the view's shape,
    strides and offset; None where ``Subtensor.perform`` would raise."""
    from numpy.lib.stride_tricks import as_strided

    from arignote.tensor.subtensor import _concrete_index

    try:
        index = _concrete_index(op, op.idx_list, index_values, shape)
    except (IndexError, TypeError, ValueError):
        return None
    itemsize = np.dtype(dtype).itemsize
    strides = []
    for length in reversed(shape):
        strides.insert(0, itemsize)
        itemsize *= max(length, 1)
    base = as_strided(np.empty(1, dtype), shape=shape, strides=strides, writeable=False)
    return base[(*index, Ellipsis)], base  # (the Ellipsis keeps a 0-d result an array)


def _alloc_layout(node: Apply, value_shape: tuple, lengths: list) -> tuple | None:
    """``Alloc``'s output shape and the value's byte strides broadcast to it (0 along
    broadcast axes); None where ``Alloc.perform`` would raise."""
    shape = tuple(int(n) for n in lengths)
    offset = len(shape) - len(value_shape)
    if any(n < 0 for n in shape) or offset < 0:
        return None
    itemsize = np.dtype(node.inputs[0].dtype).itemsize
    strides = [0] * len(shape)
    step = itemsize
    for axis in range(len(value_shape) - 1, -1, -1):
        length = value_shape[axis]
        if length != shape[offset + axis]:
            if length != 1 or not node.inputs[0].broadcastable[axis]:
                return None
        else:
            strides[offset + axis] = step if length > 1 else 0
        step *= length
    return shape, strides


def _dimshuffle_shape(op: DimShuffle, shape: tuple[int, ...]) -> tuple[int, ...]:
    for axis in op.dropped:
        if shape[axis] != 1:
            raise KeyError(axis)  # the reference raises: let it
    return tuple(1 if o == "x" else shape[o] for o in op.new_order)


def _broadcast(variables: Sequence[Variable], shapes: Sequence[tuple]) -> tuple | None:
    """The elementwise result's shape, or None where ``Elemwise`` would raise."""
    ndim = len(shapes[0])
    result = []
    for axis in range(ndim):
        lengths = {s[axis] for s, v in zip(shapes, variables) if not v.type.broadcastable[axis]}
        if len(lengths) > 1:
            return None
        result.append(lengths.pop() if lengths else 1)
    return tuple(result)


def _reduce_iterated(node: Apply, shapes: Sequence[tuple]) -> tuple | None:
    op = node.op
    if hasattr(op, "elemwise"):
        padded = op.elemwise.make_node(*node.inputs).inputs
        ndim = padded[0].ndim
        shapes = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
        return _broadcast(padded, shapes)
    return shapes[0]


def _product_shape(step: loopgen.Step, of, flipped) -> tuple | None:
    node = step.node
    op = node.op
    if step.kind == "gemm":
        a, b = of(node.inputs[1]), of(node.inputs[2])
        a = a[::-1] if op.trans_a else a
        b = b[::-1] if op.trans_b else b
        out = (a[0], b[1])
        if a[1] != b[0] or (step.accumulated is not None and of(step.accumulated) != out):
            return None
        return out
    if step.kind == "gemv":
        a, x = of(node.inputs[1]), of(node.inputs[2])
        a = a[::-1] if op.trans else a
        out = (a[0],)
        if a[1] != x[0] or (step.accumulated is not None and of(step.accumulated) != out):
            return None
        return out
    if step.kind == "ger":
        out = (of(node.inputs[1])[0], of(node.inputs[2])[0])
        if step.accumulated is not None and of(step.accumulated) != out:
            return None
        return out
    x, y = of(node.inputs[0]), of(node.inputs[1])
    if x[-1] != y[0]:
        return None
    return tuple(x[:-1]) + tuple(y[1:])


__all__ = ["blas_addresses"]
