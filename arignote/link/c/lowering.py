"""How each node runs on the compiled backend, chosen by the class of its Op.

``lower(op, node, tools)`` (``functools.singledispatch`` on the Op class)
returns a ``Lowering``: the C kernels the node needs, and how the node runs
once they are loaded, in one of two forms:

- ``emit(kernels, plan, code)`` writes the node's part of the program the
  linker generates (``NodeCode``): straight-line Python over local names,
  with the kernel call, its shape computation and its buffer choice
  inlined. Kernel nodes and ``perform`` nodes are emitted this way.
- ``make_thunk(kernels, plan)`` returns a *thunk* ``thunk(storage, pool)``
  that reads its inputs from a storage list indexed by variable, computes,
  and stores its outputs; the generated program calls it (for lowerings
  written as thunks).

What runs how:

- ``Elemwise``, ``CAReduce``, ``ElemwiseReduce``: a C kernel (``codegen``).
- ``Softmax``, ``LogSoftmax`` along the last axis: a C kernel of their own
  (one row per iteration: maximum, exponentiate and sum, then divide or
  subtract the log of the sum).
- Products (``Dot``, ``Gemm``, ...): their ``perform``, which calls BLAS
  through NumPy/SciPy, except a plain ``Gemm``/``Gemv`` (constant scale 1,
  nothing added), which is an ``np.matmul`` inlined in the program; shape
  and view ops: their ``perform``, which is O(1). Both are this backend's
  chosen lowering, not fallbacks.
- Every other op, and a kernel node whose scalar op or dtype has no C form
  (or whose kernel failed to build): its ``perform``, listed as a fallback
  in the linker's report with the reason.

Kernels are called through a small CPython extension, the *trampoline*
(built once per machine, cached with the kernels), which passes ints and
array addresses straight to the C function: 0.05 µs a call where a ctypes
call with declared argument types costs 0.8 µs. Without Python headers,
kernels are called through ctypes.

Kernel code keeps the reference semantics: the same run-time broadcasting
checks and errors as ``Elemwise.perform``, outputs of exactly the output
dtype, C-contiguous, never aliasing an input the caller can see. An output
buffer comes from the per-call pool of dead intermediates, or is a dying
input of the same shape and dtype that nothing else references (an
elementwise kernel may write over the element it just read).
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
    implementation) or ``fallback``; ``sources`` are the C kernels it needs. It runs by
    ``emit`` when it has one, else by ``make_thunk``."""

    kind: str
    make_thunk: Callable[[Sequence[Any], ThunkPlan], Thunk] | None
    sources: list[str] = field(default_factory=list)
    detail: str = ""
    emit: Callable[[Sequence[Any], ThunkPlan, NodeCode], None] | None = None


@functools.singledispatch
def lower(op: Op, node: Apply, tools: Any) -> Lowering:
    """The lowering of ``node``; the default runs its ``perform`` and reports a fallback."""
    return fallback(node, f"no compiled lowering for {type(op).__name__}")


def fallback(node: Apply, reason: str) -> Lowering:
    return _perform_lowering("fallback", node, reason)


def native(node: Apply, what: str) -> Lowering:
    return _perform_lowering("native", node, what)


def _perform_lowering(kind: str, node: Apply, detail: str) -> Lowering:
    return Lowering(
        kind,
        lambda kernels, plan: perform_thunk(node, plan),
        detail=detail,
        emit=lambda kernels, plan, code: _emit_perform(node, code),
    )


def _register_products() -> None:
    from arignote.tensor.blas import Gemm, Gemv, Ger
    from arignote.tensor.products import Dot, Einsum, MatMul, TensorDot

    for cls in (Dot, TensorDot, MatMul, Einsum):
        lower.register(cls, lambda op, node, tools: native(node, "BLAS (perform)"))
    for cls in (Gemm, Gemv, Ger):
        lower.register(cls, _lower_product)


def _plain_product(node: Apply) -> bool:
    """A ``Gemm``/``Gemv`` with the constant scale 1 and nothing added: a bare ``np.matmul``."""
    from arignote.graph.basic import Constant
    from arignote.tensor.blas import Ger

    alpha = node.inputs[0]
    return (
        not isinstance(node.op, Ger)
        and len(node.inputs) == 3
        and isinstance(alpha, Constant)
        and np.all(alpha.data == 1)
    )


def _lower_product(op: Op, node: Apply, tools: Any) -> Lowering:
    if not _plain_product(node):
        from arignote.link.c.lower_blas import lower_scaled_product

        return lower_scaled_product(node)
    return Lowering(
        "native",
        lambda kernels, plan: perform_thunk(node, plan),
        detail="BLAS (np.matmul inlined)",
        emit=lambda kernels, plan, code: _emit_plain_product(node, code),
    )


def _emit_plain_product(node: Apply, code: NodeCode) -> None:
    """``np.matmul`` in the program's line (0.1 µs where ``perform`` costs about 1.5 µs); a
    misaligned pair goes to ``perform``, which raises the reference backend's error. Same
    dtype in and out (``make_node`` checks it), so the result is the output's exact dtype."""
    _, a, b = code.inputs
    op = node.op
    trans_a, trans_b = (op.trans_a, op.trans_b) if hasattr(op, "trans_a") else (op.trans, False)
    left = f"{a}.T" if trans_a else a
    right = f"{b}.T" if trans_b else b
    aligned = f"{left}.shape[-1] == {right}.shape[0]"
    matmul = code.bind(np.matmul, "matmul")
    runner = code.bind(perform_outputs(node), "perform")
    (output,) = code.outputs
    code.emit(
        f"{output} = {matmul}({left}, {right}) if {aligned} else "
        f"{runner}([{', '.join(code.inputs)}])[0]"
    )
    code.fresh[0] = True


def _register_views() -> None:
    from arignote.tensor.alloc import Alloc
    from arignote.tensor.shape import (
        MakeVector,
        Rebroadcast,
        Reshape,
        Shape,
        Shape_i,
        SpecifyShape,
    )
    from arignote.tensor.subtensor import Subtensor

    for cls in (DimShuffle, Shape, Shape_i, Reshape, SpecifyShape, Rebroadcast, Subtensor):
        lower.register(cls, lambda op, node, tools: native(node, "view or metadata (perform)"))
    # A fill, and a vector of a few lengths: NumPy's calls are the implementation.
    lower.register(Alloc, lambda op, node, tools: native(node, "NumPy fill (perform)"))
    lower.register(MakeVector, lambda op, node, tools: native(node, "shape vector (perform)"))


_register_products()
_register_views()


# ---- the perform thunk --------------------------------------------------------------
def perform_thunk(node: Apply, plan: ThunkPlan) -> Thunk:
    outputs_of = perform_outputs(node)
    inputs, outputs = plan.inputs, plan.outputs

    def thunk(storage: Storage, pool: Pool) -> None:
        for index, value in zip(outputs, outputs_of([storage[i] for i in inputs])):
            storage[index] = value

    return thunk


def perform_outputs(node: Apply) -> Callable[[list], list]:
    """A function from ``node``'s input values to its output values, by its ``perform``."""
    perform = node.op.perform
    required = [isinstance(v.type, TensorType) for v in node.outputs]

    def outputs(arguments: list) -> list:
        cells = [[None] for _ in required]
        perform(node, arguments, cells)
        values = [cell[0] for cell in cells]
        for position, (value, must) in enumerate(zip(values, required)):
            if value is None and must:
                raise RuntimeError(
                    f"{node.op}.perform did not store output {position}; perform must set "
                    "output_storage[i][0] for every output"
                )
        return values

    return outputs


# ---- generated code -----------------------------------------------------------------
class NodeCode:
    """One node's part of a generated program: what it reads, what it must assign, its lines.

    ``inputs`` are the Python expressions of the node's input values (local
    names, or names of constants bound in the program's namespace);
    ``outputs`` the local names its outputs must be assigned to. ``exact[i]``
    says input ``i`` is statically known to be a C-contiguous ndarray of its
    type's dtype (a kernel made it); ``dying[i]`` that no later node reads
    it. ``pool`` names the per-call pool of dead buffers, or is None (then
    buffers are allocated). An emitter sets ``fresh[j]`` when output ``j`` is
    a new array that nothing else holds, so that the caller need not copy it.
    """

    def __init__(
        self,
        namespace: dict[str, Any],
        counter: Iterator[int],
        inputs: list[str],
        outputs: list[str],
        exact: list[bool],
        dying: list[bool],
        pool: str | None,
    ):
        self.namespace = namespace
        self._counter = counter
        self.inputs, self.outputs, self.exact, self.dying = inputs, outputs, exact, dying
        self.pool = pool
        self.lines: list[str] = []
        self.fresh = [False] * len(outputs)

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def local(self, hint: str) -> str:
        """A local name no other part of the program uses."""
        return f"{hint}{next(self._counter)}"

    def bind(self, value: Any, hint: str) -> str:
        """A global name of the generated code that refers to ``value``."""
        name = f"_{hint}{next(self._counter)}"
        self.namespace[name] = value
        return name


def _emit_perform(node: Apply, code: NodeCode) -> None:
    """One line: ``perform`` called through ``perform_outputs`` (which checks its outputs)."""
    runner = code.bind(perform_outputs(node), "perform")
    targets = "".join(f"{name}, " for name in code.outputs) + "= " if code.outputs else ""
    code.emit(f"{targets}{runner}([{', '.join(code.inputs)}])")


def _operands(node: Apply, code: NodeCode) -> list[str]:
    """Names of the input values as C-contiguous arrays of their dtypes (copied only if not).

    A local is converted in place (and marked ``exact``, so later readers skip the test);
    a constant not already in that form gets a converted local of its own.
    """
    converted: dict[str, str] = {}
    for k, (expression, variable) in enumerate(zip(code.inputs, node.inputs)):
        if code.exact[k] or expression in converted:
            continue
        dtype = code.bind(np.dtype(variable.type.dtype), "dtype")
        name = code.local("a") if expression.startswith("_") else expression
        code.emit(
            f"{name} = {expression} if type({expression}) is _ndarray and "
            f"{expression}.dtype is {dtype} and {expression}.flags.c_contiguous "
            f"else _contiguous({expression}, {dtype})"
        )
        converted[expression] = name
    for k, expression in enumerate(code.inputs):
        if expression in converted and converted[expression] == expression:
            code.exact[k] = True
    return [converted.get(expression, expression) for expression in code.inputs]


def _emit_shape(node: Apply, operands: Sequence[str], code: NodeCode) -> str:
    """Emit the iteration shape of an elementwise node's operands, checked as ``Elemwise``
    checks it: the shape of an operand that broadcasts nowhere, compared with every other
    operand where that one does not broadcast; the general check (and its error) on a
    mismatch."""
    shape = code.local("shape")
    checked = code.bind(_checked_shape(node), "checked_shape")
    everything = f"({', '.join(operands)},)"
    patterns = [v.type.broadcastable for v in node.inputs]
    full = [k for k, pattern in enumerate(patterns) if not any(pattern)]
    if not full:
        code.emit(f"{shape} = {checked}({everything})")
        return shape
    first = operands[full[0]]
    code.emit(f"{shape} = {first}.shape")
    tests = []
    for k, pattern in enumerate(patterns):
        if operands[k] == first or all(pattern):
            continue
        if not any(pattern):
            tests.append(f"{operands[k]}.shape != {shape}")
        else:
            tests += [
                f"{operands[k]}.shape[{d}] != {shape}[{d}]" for d, b in enumerate(pattern) if not b
            ]
    if tests:
        code.emit(f"if {' or '.join(dict.fromkeys(tests))}: {shape} = {checked}({everything})")
    return shape


def _checked_shape(node: Apply) -> Callable[[Sequence[np.ndarray]], tuple[int, ...]]:
    def checked(values: Sequence[np.ndarray]) -> tuple[int, ...]:
        check_runtime_broadcast(node, values)
        return np.broadcast_shapes(*(v.shape for v in values))

    return checked


def _buffer(code: NodeCode, shape: str, dtype: np.dtype) -> str:
    """The expression of a new output buffer: from the pool of dead ones, or allocated."""
    dtype_name = code.bind(dtype, "dtype")
    if code.pool is None:
        return f"_empty({shape}, {dtype_name})"
    return f"_take({code.pool}, {shape}, {dtype_name})"


def _emit_threads(code: NodeCode, size: str, threads: int, minsize: int) -> str:
    """The expression of the thread count for a kernel over ``size`` elements."""
    if threads <= 1:
        return "1"
    many = code.bind(functools.partial(thread_count_for, threads=threads, minsize=0), "threads")
    return f"({many}({size}) if {size} >= {minsize} else 1)"


def _emit_call(
    code: NodeCode,
    kernel: Any,
    count: int,
    shape: str,
    arrays: Sequence[str],
    threads: str,
    threaded: ThreadedKernel | None = None,
) -> None:
    """Call ``kernel(*shape, *array addresses, threads)``: through the trampoline where
    there is one (measured: 0.05 µs a call, against 0.8 µs through ctypes), else ctypes.

    With ``threaded`` (the kernel's threaded variant, built on first use), a call that
    gets more than one thread goes there, and ``kernel`` (one loop) runs the others.
    """
    from arignote.link.c.compiler import kernel_arity

    if threaded is not None and threads != "1":
        count_name = code.local("threads")
        code.emit(f"{count_name} = {threads}")
        variant = code.bind(threaded, "threaded")
        code.emit(f"if {count_name} > 1: {variant}({shape}, {', '.join(arrays)}, {count_name})")
        code.emit("else:")
        serial = NodeCode(code.namespace, code._counter, [], [], [], [], code.pool)
        _emit_call(serial, kernel, count, shape, arrays, "1")
        code.lines += ["    " + line for line in serial.lines]
        return
    if count <= _TRAMPOLINE_ARGUMENTS and _trampoline() is not None:
        address = ctypes.cast(kernel, ctypes.c_void_p).value
        code.namespace["_call"] = _trampoline()
        code.bind(kernel, "loaded")  # the program holds its kernels' libraries
        code.emit(f"_call({address}, {shape}, {', '.join(arrays)}, {threads})")
        return
    function = code.bind(kernel_arity(kernel, count), "kernel")
    addresses = "".join(f"_id({array}), " for array in arrays)
    code.emit(f"{function}(*{shape}, {addresses}{threads})")


def _emit_elemwise(
    node: Apply,
    threaded: ThreadedKernel | None,
    kernels: Sequence[Any],
    plan: ThunkPlan,
    code: NodeCode,
) -> None:
    ndim = node.outputs[0].ndim
    operands = _operands(node, code)
    shape = _emit_shape(node, operands, code)
    out_dtype = node.outputs[0].type.dtype
    donors = {
        operands[k]: None
        for k, variable in enumerate(node.inputs)
        if code.dying[k]
        and len(node.outputs) == 1
        and variable.ndim == ndim
        and variable.type.dtype == out_dtype
    }
    for name, variable in zip(code.outputs, node.outputs):
        expression = _buffer(code, shape, np.dtype(variable.type.dtype))
        # A dying operand that nothing else holds may take the output, read off reference
        # counts: its local and the argument (a view, a caller, a shared variable, another
        # local would each hold one more).
        for operand in reversed(donors):
            expression = (
                f"{operand} if {operand}.shape == {shape} and {operand}.base is None and "
                f"{operand}.flags.writeable and _getrefcount({operand}) == 2 else {expression}"
            )
        code.emit(f"{name} = {expression}")
    threads = _emit_threads(code, f"{code.outputs[0]}.size", plan.threads, plan.thread_minsize)
    count = ndim + len(node.inputs) + len(node.outputs) + 1
    _emit_call(code, kernels[0], count, shape, [*operands, *code.outputs], threads, threaded)
    code.fresh = [True] * len(code.outputs)


def _emit_reduce(
    node: Apply,
    threaded: ThreadedKernel | None,
    kernels: Sequence[Any],
    plan: ThunkPlan,
    code: NodeCode,
) -> None:
    op = node.op
    fused = isinstance(op, ElemwiseReduce)
    reduce_op = op.reduce if fused else op
    elemwise_node = op.elemwise.make_node(*node.inputs) if fused else node
    ndim = node.inputs[0].ndim
    kept = [d for d in range(ndim) if d not in reduce_op.axis]
    out_dtype = np.dtype(node.outputs[0].type.dtype)
    kind = reduce_op.kind
    acc_dtype = np.dtype(codegen.accumulator_dtype(reduce_op, out_dtype.name))
    operands = _operands(node, code)
    shape = _emit_shape(elemwise_node, operands, code)
    (output,) = code.outputs
    body = code
    if kind in ("max", "min"):  # no identity: NumPy's error for an empty one, or its result
        code.emit(f"if 0 in {shape}:")
        perform = NodeCode(code.namespace, code._counter, code.inputs, code.outputs, [], [], None)
        _emit_perform(node, perform)
        code.lines += ["    " + line for line in perform.lines]
        code.emit("else:")
        body = NodeCode(code.namespace, code._counter, code.inputs, code.outputs, [], [], code.pool)
    accumulator = body.local("accumulator")
    kept_shape = "(" + "".join(f"{shape}[{d}], " for d in kept) + ")"
    body.emit(f"{accumulator} = {_buffer(body, kept_shape, acc_dtype)}")
    size = body.local("size")
    threads = _emit_threads(body, size, plan.threads, plan.thread_minsize)
    if threads != "1":
        body.emit(f"{size} = _prod({shape})")
    count = ndim + len(node.inputs) + 2
    _emit_call(body, kernels[0], count, shape, [*operands, accumulator], threads, threaded)
    if acc_dtype == out_dtype:
        body.emit(f"{output} = {accumulator}")
    else:
        body.emit(f"{output} = {accumulator}.astype({body.bind(out_dtype, 'dtype')})")
    if body is not code:
        code.lines += ["    " + line for line in body.lines]
    else:
        code.fresh = [True]


@lower.register(Elemwise)
def _lower_elemwise(op: Elemwise, node: Apply, tools: Any) -> Lowering:
    if all(o.ndim == 0 for o in node.outputs):
        # One element: NumPy's scalar arithmetic costs what a kernel call does, and no
        # compile (a graph's scalar bookkeeping, such as 1 / batch size, needs no kernel).
        return native(node, "0-d: NumPy (perform)")
    try:
        source = codegen.elemwise_source(node, tools.target, threaded=False)
        threaded = _threaded_variant(codegen.elemwise_source, node, tools, source)
    except NoCExpression as exc:
        return fallback(node, str(exc))
    return Lowering(
        "kernel", None, [source], emit=functools.partial(_emit_elemwise, node, threaded)
    )


def _threads_possible() -> bool:
    """Whether kernels may run on several threads here (``config.openmp_threads``, else
    ``OMP_NUM_THREADS``, else the cores)."""
    from arignote.link.c.linker import thread_count

    return thread_count() > 1


def _threaded_variant(generate, node: Apply, tools: Any, serial: str) -> ThreadedKernel | None:
    """The kernel with its threaded loop too, to build when a call first gets threads; None
    where kernels run on one thread here, or where the loop has no threaded form."""
    if not _threads_possible():
        return None
    source = generate(node, tools.target, threaded=True)
    return None if source == serial else ThreadedKernel(source, tools)


class ThreadedKernel:
    """A kernel's variant with a threaded loop, compiled (through the cache) on its first
    call: the threaded copy doubles a kernel's compile, and most functions never give a
    kernel an array big enough for threads. ``variant(shape, *arrays, threads)``."""

    def __init__(self, source: str, tools: Any):
        self.source, self.tools = source, tools
        self._call: Callable[..., None] | None = None
        self._lock = threading.Lock()

    def __call__(self, shape: tuple[int, ...], *arguments: Any) -> None:
        call = self._call or self._load()
        call(shape, *arguments)

    def _load(self) -> Callable[..., None]:
        from arignote.link.c.compiler import build_kernels, kernel_arity

        with self._lock:
            if self._call is None:
                (result,) = build_kernels([self.source], self.tools)
                if result.kernel is None:
                    raise RuntimeError(f"the threaded kernel failed to build:\n{result.error}")
                kernel, trampoline = result.kernel, _trampoline()
                if trampoline is not None:
                    address = ctypes.cast(kernel, ctypes.c_void_p).value
                    self._kernel = kernel  # holds its library
                    self._call = functools.partial(trampoline, address)
                else:
                    self._call = _ctypes_caller(kernel, kernel_arity)
            return self._call


def _ctypes_caller(kernel: Any, kernel_arity: Callable[[Any, int], Any]) -> Callable[..., None]:
    """``call(shape, *arrays, threads)`` through ctypes (where there is no trampoline)."""

    def call(shape: tuple[int, ...], *arguments: Any) -> None:
        *arrays, threads = arguments
        function = kernel_arity(kernel, len(shape) + len(arrays) + 1)
        function(*shape, *map(id, arrays), threads)

    return call


@lower.register(CAReduce)
@lower.register(ElemwiseReduce)
def _lower_reduce(op: Op, node: Apply, tools: Any) -> Lowering:
    try:
        source = codegen.reduce_source(node, tools.target, threaded=False)
        threaded = _threaded_variant(codegen.reduce_source, node, tools, source)
    except NoCExpression as exc:
        return fallback(node, str(exc))
    return Lowering("kernel", None, [source], emit=functools.partial(_emit_reduce, node, threaded))


# ---- the trampoline: calling kernels without ctypes ---------------------------------
_TRAMPOLINE_ARGUMENTS = 32  # as many as _trampoline.c takes
_TRAMPOLINE_NAME = "_arignote_trampoline"


def _trampoline_source() -> str:
    """The extension's C source (``_trampoline.c``), headed by the Python it is built for."""
    source = Path(__file__).with_name("_trampoline.c").read_text()
    return f"// Python {sys.version.split()[0]} {sysconfig.get_config_var('EXT_SUFFIX')}\n{source}"


@functools.cache
def _trampoline() -> Callable[..., None] | None:
    """The trampoline's ``call``: the extension built with the package, else one built once
    per machine (and cached like a kernel); None where it cannot be built (no Python
    headers, say): kernels are then called by ctypes."""
    import importlib.util
    import subprocess

    try:
        from arignote.link.c._arignote_trampoline import call

        return call
    except ImportError:
        pass

    from arignote.config import config
    from arignote.link.c.cache import KernelCache
    from arignote.link.c.compiler import FLAGS, toolchain

    include = sysconfig.get_paths().get("include") or ""
    if not os.path.exists(os.path.join(include, "Python.h")):
        return None
    tools = toolchain()
    source = _trampoline_source()
    # Beside the kernels' cache, not in it: it is no kernel, and ``cache info`` counts kernels.
    cache = KernelCache(Path(config.compiledir) / "trampoline")
    key = tools.cache_key(source + include)
    library = cache.lookup(key)
    if library is None:
        try:
            with cache.work_directory() as scratch:
                Path(scratch, "trampoline.c").write_text(source)
                done = subprocess.run(
                    [
                        tools.compiler,
                        *FLAGS,
                        "-I",
                        include,
                        "-x",
                        "c",
                        "trampoline.c",
                        "-o",
                        "trampoline.so",
                    ],
                    check=False,
                    cwd=scratch,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                if done.returncode != 0:
                    return None
                library = cache.store(
                    key, Path(scratch, "trampoline.so"), {"compiler": tools.identity}
                )
        except (OSError, subprocess.SubprocessError):
            return None
    try:
        spec = importlib.util.spec_from_file_location(_TRAMPOLINE_NAME, library)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, OSError):
        return None
    return module.call


# ---- buffers ------------------------------------------------------------------------
def _take(pool: Pool, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    free = pool.get((shape, dtype))
    return free.pop() if free else np.empty(shape, dtype)


# Names every generated program may use (the linker starts its namespace from a copy).
PROGRAM_GLOBALS: dict[str, Any] = {
    "_ndarray": np.ndarray,
    "_empty": np.empty,
    "_id": id,
    "_getrefcount": sys.getrefcount,
    "_prod": math.prod,
    "_take": _take,
    "_contiguous": lambda value, dtype: np.asarray(value, dtype=dtype, order="C"),
}


# ---- softmax and log-softmax along the last axis ----------------------------------------------
_SOFTMAX_SOURCE = """\
typedef __INT64_TYPE__ int64_t;
typedef __INTPTR_TYPE__ intptr_t;
#define AR_DATA(o) (*(char* const*)((o) + %(offset)d))
#define REAL %(ctype)s
%(declarations)s
void kernel(int64_t rows, int64_t cols, intptr_t o0, intptr_t o1, int64_t nthreads)
{
    const REAL *x = (const REAL *)AR_DATA(o0);
    REAL *y = (REAL *)AR_DATA(o1);
    #pragma omp parallel for num_threads(nthreads) if(nthreads > 1) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const REAL *a = x + r * cols;
        REAL *out = y + r * cols;
        REAL m = a[0];
        for (int64_t j = 1; j < cols; j++)
            m = (a[j] > m || a[j] != a[j]) ? a[j] : m;  /* a NaN wins, as in np.max */
        REAL total = 0;
        #pragma omp simd reduction(+:total)
        for (int64_t j = 0; j < cols; j++) {
%(body)s
        }
%(finish)s
    }
}
"""
_SOFTMAX_PARTS = {
    "Softmax": (
        "            REAL e = %(exp)s(a[j] - m);\n            out[j] = e;\n            total += e;",
        "        #pragma omp simd\n        for (int64_t j = 0; j < cols; j++) out[j] /= total;",
    ),
    "LogSoftmax": (
        (
            "            REAL shifted = a[j] - m;\n            out[j] = shifted;\n"
            "            total += %(exp)s(shifted);"
        ),
        (
            "        REAL log_total = %(log)s(total);\n        #pragma omp simd\n"
            "        for (int64_t j = 0; j < cols; j++) out[j] -= log_total;"
        ),
    ),
}


def _softmax_source(kind: str, dtype: str, target: Any) -> str:
    suffix = "f" if dtype == "float32" else ""
    names = {"exp": "exp" + suffix, "log": "log" + suffix}
    body, finish = (part % names for part in _SOFTMAX_PARTS[kind])
    declarations = codegen._libm_declarations(body + finish, target)
    return _SOFTMAX_SOURCE % {
        "offset": target.data_offset,
        "ctype": "float" if dtype == "float32" else "double",
        "declarations": "\n".join(declarations),
        "body": body,
        "finish": finish,
    }


def _lower_softmax(op: Op, node: Apply, tools: Any) -> Lowering:
    """A C loop per row: the row's maximum, then one pass that exponentiates and sums, one
    that divides (softmax) or subtracts the log of the sum (log-softmax); the reference's
    operations in the same order, so results differ from ``perform`` only by the rounding
    of the sum (sequential, not pairwise) and of libm's ``exp``."""
    (x,) = node.inputs
    if x.dtype not in ("float32", "float64"):
        return fallback(node, f"no C softmax kernel for {x.dtype}")
    if op.axis % x.ndim != x.ndim - 1:
        return fallback(node, "the C softmax kernel reduces the last axis only")
    source = _softmax_source(type(op).__name__, x.dtype, tools.target)
    return Lowering("kernel", None, [source], emit=functools.partial(_emit_softmax, node))


def _emit_softmax(node: Apply, kernels: Sequence[Any], plan: ThunkPlan, code: NodeCode) -> None:
    (x,) = _operands(node, code)
    (output,) = code.outputs
    columns, shape = code.local("columns"), code.local("shape")
    code.emit(f"{columns} = {x}.shape[-1]")
    code.emit(f"{shape} = ({x}.size // {columns} if {columns} else 0, {columns})")
    code.emit(f"{output} = {_buffer(code, f'{x}.shape', np.dtype(node.outputs[0].dtype))}")
    threads = _emit_threads(code, f"{x}.size", plan.threads, plan.thread_minsize)
    _emit_call(code, kernels[0], 5, shape, [x, output], threads)
    code.fresh = [True]


def _register_softmax() -> None:
    from arignote.tensor.nnet.softmax import LogSoftmax, Softmax

    lower.register(Softmax, _lower_softmax)
    lower.register(LogSoftmax, _lower_softmax)


_register_softmax()


# Op families whose lowering lives in a module of its own register themselves on import
# (they import this module, so they come last).
from arignote.link.c import lower_nnet, lower_scan  # noqa: F401

__all__ = [
    "PROGRAM_GLOBALS",
    "Lowering",
    "NodeCode",
    "ThunkPlan",
    "fallback",
    "lower",
    "native",
    "perform_outputs",
    "perform_thunk",
]
