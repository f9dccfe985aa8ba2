"""How each node runs on the compiled backend, chosen by the class of its Op.

``lower(op, node, tools)`` (``functools.singledispatch`` on the Op class)
returns a ``Lowering``: the C kernels the node needs, and how to make its
*thunk* once they are loaded. A thunk ``thunk(storage, pool)`` reads its
inputs from the linker's storage list, computes, and stores its outputs.

- ``Elemwise``, ``CAReduce``, ``ElemwiseReduce``: a C kernel (``codegen``).
- Products (``Dot``, ``Gemm``, ...): their ``perform``, which calls BLAS
  through NumPy/SciPy; shape and view ops: their ``perform``, which is O(1).
  Both are this backend's chosen lowering, not fallbacks.
- Every other op, and a kernel node whose scalar op or dtype has no C form
  (or whose kernel failed to build): its ``perform``, listed as a fallback
  in the linker's report with the reason.

Kernel thunks keep the reference semantics: the same run-time broadcasting
checks and errors as ``Elemwise.perform``, outputs of exactly the output
dtype, C-contiguous, never aliasing an input the caller can see. An output
buffer comes from the per-call pool of dead intermediates, or is a dying
input of the same shape and dtype that nothing else references (an
elementwise kernel may write over the element it just read).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arignote.graph.basic import Apply
from arignote.graph.op import Op
from arignote.link.c import codegen
from arignote.link.c.scalar_c import NoCExpression
from arignote.tensor.elemwise import DimShuffle, Elemwise, check_runtime_broadcast
from arignote.tensor.fused import ElemwiseReduce
from arignote.tensor.reduction import CAReduce
from arignote.tensor.type import TensorType

Storage = list
Pool = dict
Thunk = Callable[[Storage, Pool], None]


class _OpenMP:
    """Whether kernels may start threads here. GNU OpenMP hangs in a forked child whose parent
    ran a parallel region (its thread pool did not survive the fork), so such a child runs
    every kernel on one thread."""

    started = False  # this process has run a kernel on several threads
    usable = True


def _after_fork_in_child() -> None:
    if _OpenMP.started:
        _OpenMP.usable = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def thread_count_for(size: int, threads: int, minsize: int) -> int:
    """Threads for a kernel over ``size`` elements: one below ``minsize`` or after a fork."""
    if threads > 1 and size >= minsize and _OpenMP.usable:
        _OpenMP.started = True
        return threads
    return 1


@dataclass(frozen=True)
class ThunkPlan:
    """Where a node's values live (indices into the storage list) and how it may run."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    dying: frozenset[int]  # input slots this node is the last reader of
    threads: int
    thread_minsize: int


@dataclass
class Lowering:
    """A node's lowering: ``kind`` is ``kernel``, ``native`` (a perform that is the intended
    implementation) or ``fallback``; ``sources`` are the C kernels ``make_thunk`` needs."""

    kind: str
    make_thunk: Callable[[Sequence[Any], ThunkPlan], Thunk]
    sources: list[str] = field(default_factory=list)
    detail: str = ""


@functools.singledispatch
def lower(op: Op, node: Apply, tools: Any) -> Lowering:
    """The lowering of ``node``; the default runs its ``perform`` and reports a fallback."""
    return fallback(node, f"no compiled lowering for {type(op).__name__}")


def fallback(node: Apply, reason: str) -> Lowering:
    return Lowering("fallback", lambda kernels, plan: perform_thunk(node, plan), detail=reason)


def native(node: Apply, what: str) -> Lowering:
    return Lowering("native", lambda kernels, plan: perform_thunk(node, plan), detail=what)


def _register_products() -> None:
    from arignote.tensor.blas import Gemm, Gemv, Ger
    from arignote.tensor.products import Dot, Einsum, MatMul, TensorDot

    for cls in (Dot, TensorDot, MatMul, Einsum, Gemm, Gemv, Ger):
        lower.register(cls, lambda op, node, tools: native(node, "BLAS (perform)"))


def _register_views() -> None:
    from arignote.tensor.shape import Rebroadcast, Reshape, Shape, Shape_i, SpecifyShape
    from arignote.tensor.subtensor import Subtensor

    for cls in (DimShuffle, Shape, Shape_i, Reshape, SpecifyShape, Rebroadcast, Subtensor):
        lower.register(cls, lambda op, node, tools: native(node, "view or metadata (perform)"))


_register_products()
_register_views()


# ---- the perform thunk --------------------------------------------------------------
def perform_thunk(node: Apply, plan: ThunkPlan) -> Thunk:
    perform = node.op.perform
    inputs, outputs = plan.inputs, plan.outputs
    required = [isinstance(v.type, TensorType) for v in node.outputs]

    def thunk(storage: Storage, pool: Pool) -> None:
        cells = [[None] for _ in outputs]
        perform(node, [storage[i] for i in inputs], cells)
        for index, cell, must in zip(outputs, cells, required):
            if cell[0] is None and must:
                raise RuntimeError(
                    f"{node.op}.perform did not store output {outputs.index(index)}; perform "
                    "must set output_storage[i][0] for every output"
                )
            storage[index] = cell[0]

    return thunk


# ---- kernel nodes -------------------------------------------------------------------
@lower.register(Elemwise)
def _lower_elemwise(op: Elemwise, node: Apply, tools: Any) -> Lowering:
    try:
        source = codegen.elemwise_source(node, tools.target)
    except NoCExpression as exc:
        return fallback(node, str(exc))
    return Lowering(
        "kernel", lambda kernels, plan: _elemwise_thunk(node, kernels[0], plan), [source]
    )


@lower.register(CAReduce)
@lower.register(ElemwiseReduce)
def _lower_reduce(op: Op, node: Apply, tools: Any) -> Lowering:
    try:
        source = codegen.reduce_source(node, tools.target)
    except NoCExpression as exc:
        return fallback(node, str(exc))
    return Lowering("kernel", lambda kernels, plan: _reduce_thunk(node, kernels[0], plan), [source])


def _gather(storage: Storage, slots: Sequence[int], dtypes: Sequence[np.dtype]) -> list:
    """The input values, each a C-contiguous array of its dtype (a copy only if it is not)."""
    values = [storage[i] for i in slots]
    for position, dtype in enumerate(dtypes):
        value = values[position]
        if (
            type(value) is not np.ndarray
            or value.dtype is not dtype
            or not value.flags.c_contiguous
        ):
            values[position] = np.asarray(value, dtype=dtype, order="C")
    return values


def _shape_rule(node: Apply) -> Callable[[Sequence[np.ndarray]], tuple[int, ...]]:
    """The iteration shape of an elementwise node's input values, checked as ``Elemwise``
    checks it (and its error raised on a mismatch).

    Fast path: the shape of an input that broadcasts nowhere, which every other such
    input must share, and every partly broadcast input must match where it does not
    broadcast. Types guarantee the broadcast dimensions have length 1.
    """
    patterns = [v.type.broadcastable for v in node.inputs]
    full = [k for k, pattern in enumerate(patterns) if not any(pattern)]
    partial = [
        (k, [d for d, b in enumerate(pattern) if not b])
        for k, pattern in enumerate(patterns)
        if any(pattern) and not all(pattern)
    ]

    def checked(values: Sequence[np.ndarray]) -> tuple[int, ...]:
        check_runtime_broadcast(node, values)
        return np.broadcast_shapes(*(v.shape for v in values))

    if not full:
        return checked
    first, others = full[0], full[1:]

    def shape_of(values: Sequence[np.ndarray]) -> tuple[int, ...]:
        shape = values[first].shape
        for k in others:
            if values[k].shape != shape:
                return checked(values)
        for k, dims in partial:
            lengths = values[k].shape
            for d in dims:
                if lengths[d] != shape[d]:
                    return checked(values)
        return shape

    return shape_of


def _donor(values: list, slots: Sequence[int], dying: frozenset[int], shape, dtype) -> Any:
    """A dying input that can take the output: same shape and dtype, and nobody else's.

    "Nobody else's" is read off the reference count: the storage slot and the
    argument list are the only holders (a view of it, a caller, a shared
    variable or a constant would each hold one more).
    """
    for position, slot in enumerate(slots):
        if slot not in dying:
            continue
        value = values[position]
        if value.shape != shape or value.dtype != dtype or value.base is not None:
            continue
        if not (value.flags.c_contiguous and value.flags.writeable):  # (a flags object
            continue  # holds its array: keep none around while counting references)
        holders = 1  # the storage slot
        for other in range(len(values)):  # (indices: a loop variable would be one more holder)
            holders += values[other] is value
        if sys.getrefcount(value) == holders + 2:  # + the name ``value`` + getrefcount's argument
            return value
    return None


def _take(pool: Pool, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    free = pool.get((shape, dtype))
    return free.pop() if free else np.empty(shape, dtype)


def _elemwise_thunk(node: Apply, kernel: Any, plan: ThunkPlan) -> Thunk:
    from arignote.link.c.compiler import kernel_arity

    ndim = node.outputs[0].ndim
    kernel = kernel_arity(kernel, ndim + len(node.inputs) + len(node.outputs) + 1)
    in_dtypes = [np.dtype(v.type.dtype) for v in node.inputs]
    out_dtypes = [np.dtype(v.type.dtype) for v in node.outputs]
    inputs, outputs, dying = plan.inputs, plan.outputs, plan.dying
    donate = bool(dying) and len(outputs) == 1
    threads, minsize = plan.threads, plan.thread_minsize
    shape_of = _shape_rule(node)

    def thunk(storage: Storage, pool: Pool) -> None:
        # No local name may hold an input array here: ``_donor`` counts references.
        values = _gather(storage, inputs, in_dtypes)
        shape = shape_of(values)
        results = []
        for dtype in out_dtypes:
            buffer = _donor(values, inputs, dying, shape, dtype) if donate else None
            results.append(_take(pool, shape, dtype) if buffer is None else buffer)
            buffer = None
        kernel(
            *shape,
            *map(id, values),
            *map(id, results),
            thread_count_for(results[0].size, threads, minsize),
        )
        for index, result in zip(outputs, results):
            storage[index] = result

    return thunk


def _reduce_thunk(node: Apply, kernel: Any, plan: ThunkPlan) -> Thunk:
    from arignote.link.c.compiler import kernel_arity

    op = node.op
    fused = isinstance(op, ElemwiseReduce)
    reduce_op = op.reduce if fused else op
    elemwise_node = op.elemwise.make_node(*node.inputs) if fused else node
    ndim = node.inputs[0].ndim
    kernel = kernel_arity(kernel, ndim + len(node.inputs) + 2)
    kept = [d for d in range(ndim) if d not in reduce_op.axis]
    in_dtypes = [np.dtype(v.type.dtype) for v in node.inputs]
    out_dtype = np.dtype(node.outputs[0].type.dtype)
    kind = reduce_op.kind
    if kind in ("all", "any"):
        acc_dtype = np.dtype("bool")
    elif kind in ("sum", "prod"):
        acc_dtype = np.dtype(reduce_op.acc_dtype)
    else:
        acc_dtype = out_dtype
    no_identity = kind in ("max", "min")
    (output,) = plan.outputs
    inputs, threads, minsize = plan.inputs, plan.threads, plan.thread_minsize
    perform = perform_thunk(node, plan)
    shape_of = _shape_rule(elemwise_node)

    def thunk(storage: Storage, pool: Pool) -> None:
        values = _gather(storage, inputs, in_dtypes)
        shape = shape_of(values)
        size = 1
        for length in shape:
            size *= length
        if no_identity and size == 0:
            perform(storage, pool)  # NumPy's error for an empty max/min, or its empty result
            return
        accumulator = _take(pool, tuple(shape[d] for d in kept), acc_dtype)
        kernel(
            *shape,
            *map(id, values),
            id(accumulator),
            thread_count_for(size, threads, minsize),
        )
        storage[output] = accumulator if acc_dtype == out_dtype else accumulator.astype(out_dtype)

    return thunk


__all__ = ["Lowering", "ThunkPlan", "fallback", "lower", "native", "perform_thunk"]
