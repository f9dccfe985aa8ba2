"""C source of the kernels: an elementwise loop, or an elementwise loop reduced on the fly.

One generator serves ``Elemwise`` (any scalar op, ``Composite`` included),
``CAReduce`` and ``ElemwiseReduce``: a loop nest over the *iteration shape*
(the broadcast shape of the inputs) where every operand is a C-contiguous
array that is either present or broadcast (stride 0) along each dimension,
as its static type says. For a reduction the accumulator is one more
operand, broadcast along the reduced dimensions.

Static facts pick the loop structure, so the source depends only on the
node's types, never on run-time shapes (one compile serves every shape):

- dimensions every operand broadcasts (static length 1) are dropped, and
  neighbouring dimensions along which every operand is alike (present or
  broadcast, reduced or kept) are collapsed into one: a same-shape
  elementwise op is one flat loop whatever its ndim;
- the innermost loop is unit-stride (or stride 0, hoisted) for every
  operand and carries ``#pragma omp simd``, so gcc vectorises it and calls
  glibc's vector math (``libmvec``) for the libm functions it declares SIMD
  (kernels include no header: a short prelude and declarations of the libm
  functions used replace ``<stdint.h>`` and ``<math.h>``, a third of a compile);
- a second copy of the nest runs the outer loop on ``nthreads`` OpenMP
  threads; the caller passes ``nthreads = 1`` for small arrays, so they
  never pay for threads. A reduction whose outermost dimension is reduced
  and that has kept dimensions inside stays on one thread;
- huge fused regions (hundreds of statements) get one nest, and past a
  thousand statements fewer gcc passes, so no compile takes seconds.

The kernel's signature is ``kernel(int64_t d0, ..., intptr_t operand0, ...,
int64_t nthreads)``: the iteration shape, then the operands as the
addresses of their ``ndarray`` objects (``id(array)``), whose data pointer
the kernel reads at a byte offset the compiler module verified at start-up.
A call passes integers only, which ctypes converts fastest (reading
``array.ctypes.data`` costs more than the call). Kernels include no Python
header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from arignote.graph.basic import Apply, Constant, Variable
from arignote.link.c.scalar_c import (
    Arg,
    ExprContext,
    NoCExpression,
    c_expression,
    c_literal,
    c_type,
)
from arignote.scalar.basic import ScalarOp
from arignote.scalar.composite import Composite
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.fused import ElemwiseReduce
from arignote.tensor.reduction import CAReduce

_FLOATS = ("float32", "float64")


@dataclass(frozen=True)
class Target:
    """Facts about this platform that kernel sources depend on (so they are part of the key)."""

    data_offset: int
    vector_math: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Operand:
    """One array of the loop: its dtype, and along which iteration dimensions it broadcasts."""

    dtype: str
    broadcast: tuple[bool, ...]
    writable: bool = False


# ---- the scalar body ----------------------------------------------------------------
def scalar_body(
    scalar_op: ScalarOp,
    inputs: Sequence[Arg],
    out_dtypes: Sequence[str],
    context: ExprContext,
    prefix: str = "t",
) -> tuple[list[str], list[Arg]]:
    """C statements computing ``scalar_op(*inputs)``, and the outputs as C values.

    A ``Composite`` becomes one statement per inner node, each held in a
    variable of its node's dtype, exactly as the reference computes them.
    Variables are named ``<prefix><position>_<output>``; a nested composite
    extends the prefix, so names never collide.
    """
    if not isinstance(scalar_op, Composite):
        code = _assigned(scalar_op, context, inputs, out_dtypes, f"{prefix}0")
        return code, [Arg(f"{prefix}0_0", out_dtypes[0])]
    known: dict[Variable, Arg] = dict(zip(scalar_op.inputs, inputs))
    lines: list[str] = []
    for position, node in enumerate(scalar_op.nodes):
        args = [_constant_arg(v) if isinstance(v, Constant) else known[v] for v in node.inputs]
        dtypes = [o.type.dtype for o in node.outputs]
        if isinstance(node.op, Composite):
            inner_lines, results = scalar_body(
                node.op, args, dtypes, context, f"{prefix}{position}n"
            )
            lines += inner_lines
            known.update(zip(node.outputs, results))
            continue
        lines += _assigned(node.op, context, args, dtypes, f"{prefix}{position}")
        known[node.outputs[0]] = Arg(f"{prefix}{position}_0", dtypes[0])
    outputs = [_constant_arg(o) if isinstance(o, Constant) else known[o] for o in scalar_op.outputs]
    return lines, outputs


def _assigned(
    op: ScalarOp, context: ExprContext, args: Sequence[Arg], dtypes: Sequence[str], prefix: str
) -> list[str]:
    if len(dtypes) != 1:
        raise NoCExpression(f"scalar op {op} has {len(dtypes)} outputs")
    (dtype,) = dtypes
    expression = c_expression(op, context, list(args), dtype)
    if dtype == "bool":
        expression = f"(({expression}) != 0)"
    return [f"const {c_type(dtype)} {prefix}_0 = {expression};"]


def _constant_arg(constant: Constant) -> Arg:
    dtype = constant.type.dtype
    return Arg(c_literal(constant.data, dtype), dtype)


# ---- the loop nest ------------------------------------------------------------------
@dataclass(frozen=True)
class _Group:
    dims: tuple[int, ...]
    reduced: bool
    broadcast: tuple[bool, ...]  # per operand


def _groups(operands: Sequence[Operand], reduced: Sequence[bool]) -> list[_Group]:
    """Iteration dimensions, without all-broadcast ones, with alike neighbours collapsed."""
    groups: list[_Group] = []
    for dim in range(len(reduced)):
        pattern = tuple(op.broadcast[dim] for op in operands)
        if all(pattern):
            continue
        if groups and groups[-1].reduced == reduced[dim] and groups[-1].broadcast == pattern:
            groups[-1] = _Group((*groups[-1].dims, dim), reduced[dim], pattern)
        else:
            groups.append(_Group((dim,), reduced[dim], pattern))
    return groups


@dataclass(frozen=True)
class _Reducer:
    openmp: str  # the reduction operator of the OpenMP clause
    update: str  # new accumulator value from {a} and {v}


_REDUCERS = {
    "sum": _Reducer("+", "{a} + {v}"),
    "prod": _Reducer("*", "{a} * {v}"),
    "max": _Reducer("max", "({v} > {a} ? {v} : {a})"),
    "min": _Reducer("min", "({v} < {a} ? {v} : {a})"),
    "all": _Reducer("&", "({a} & {v})"),
    "any": _Reducer("|", "({a} | {v})"),
}


def _identity(kind: str, dtype: str) -> str:
    """The accumulator's start: the value ``kind`` leaves unchanged (the extreme for max/min)."""
    if kind in ("sum", "any"):
        return c_literal(0, dtype)
    if kind in ("prod", "all"):
        return c_literal(1, dtype)
    if dtype in _FLOATS:
        return c_literal(-np.inf if kind == "max" else np.inf, dtype)
    if dtype == "bool":
        return c_literal(kind == "min", dtype)
    info = np.iinfo(dtype)
    return c_literal(info.min if kind == "max" else info.max, dtype)


@dataclass(frozen=True)
class Reduction:
    """What the loop accumulates: the reduction kind and the accumulator's dtype."""

    kind: str
    acc_dtype: str


def loop_source(
    operands: Sequence[Operand],
    reduced: Sequence[bool],
    inputs: int,
    body: Sequence[str],
    results: Sequence[Arg],
    context: ExprContext,
    target: Target,
    reduction: Reduction | None = None,
    threaded: bool = True,
) -> str:
    """The whole C source of one kernel (see the module docstring for its signature).

    ``operands`` are the ``inputs`` read arrays, then the written ones (the
    outputs, or the one accumulator of a ``reduction``). ``body`` computes
    ``results`` from the loaded input elements ``x0, x1, ...``.
    """
    ndim = len(reduced)
    groups = _groups(operands, reduced)
    lines = [f"void kernel({_parameters(ndim, len(operands))})", "{"]
    for k, op in enumerate(operands):
        qualifier = "" if op.writable else "const "
        t = c_type(op.dtype)
        lines.append(f"    {qualifier}{t}* const p{k} = ({qualifier}{t}*)AR_DATA(o{k});")
    for g, group in enumerate(groups):
        lines.append(f"    const int64_t n{g} = {' * '.join(f'd{d}' for d in group.dims)};")
    for k in range(len(operands)):
        for g, group in enumerate(groups[:-1]):
            if not group.broadcast[k]:
                later = [f"n{h}" for h in range(g + 1, len(groups)) if not groups[h].broadcast[k]]
                lines.append(f"    const int64_t s{k}_{g} = {' * '.join(later) or '1'};")
    if reduction is not None:
        lines += _accumulator_init(operands, groups, reduction)
    large = len(body) > _ONE_NEST_STATEMENTS
    serial = _nest(operands, groups, inputs, body, results, reduction, threads=False)
    parallel = (
        _nest(operands, groups, inputs, body, results, reduction, threads=True)
        if threaded
        else None
    )
    if parallel is None:
        lines += ["    (void)nthreads;", *_indent(serial, 1)]
    elif large:
        # One nest whose parallel region is skipped at run time for one thread: half the code
        # to compile, for a call overhead (~1 us) that a body this long does not notice.
        lines += _indent([_conditional(line) for line in parallel], 1)
    else:
        lines += ["    if (nthreads > 1) {", *_indent(parallel, 2), "    } else {"]
        lines += [*_indent(serial, 2), "    }"]
    lines.append("}")
    kernel_text = "\n".join(lines)
    helpers = "\n".join(context.helpers.values())
    return "\n".join(
        [
            _optimisation_pragma(len(body)),
            _PRELUDE,
            f"#define AR_DATA(o) (*(char* const*)((o) + {target.data_offset}))",
            *_libm_declarations(helpers + kernel_text, target),
            helpers,
            kernel_text,
            "",
        ]
    )


# Bodies longer than this get one loop nest (not a serial and a threaded copy).
_ONE_NEST_STATEMENTS = 200


def _optimisation_pragma(statements: int) -> str:
    """Fewer gcc passes for huge fused regions: gcc's time grows faster than the body.

    Measured (one nest): 1,500 statements compile in 0.75 s at -O3, 0.45 s at -O1, 0.08 s
    at -O0; 4,800 statements in 4.7 s, 2.8 s and 0.27 s. Even unoptimised, one loop beats
    running thousands of NumPy ops, so the compile stays under a second.
    """
    if statements > 3000:
        return '#pragma GCC optimize ("O0")'
    if statements > 1000:
        return '#pragma GCC optimize ("O1")'
    return ""


def _conditional(line: str) -> str:
    """A parallel pragma made to run the region on one thread (inline) for ``nthreads == 1``."""
    return line + " if(nthreads > 1)" if line.lstrip().startswith("#pragma omp parallel") else line


def _parameters(ndim: int, n_operands: int) -> str:
    shape = [f"int64_t d{d}" for d in range(ndim)]
    return ", ".join([*shape, *(f"intptr_t o{k}" for k in range(n_operands)), "int64_t nthreads"])


def _accumulator_init(
    operands: Sequence[Operand], groups: Sequence[_Group], reduction: Reduction
) -> list[str]:
    acc = len(operands) - 1
    kept = [f"n{g}" for g, group in enumerate(groups) if not group.broadcast[acc]]
    size = " * ".join(kept) or "1"
    identity = _identity(reduction.kind, reduction.acc_dtype)
    return [f"    for (int64_t i = 0; i < {size}; i++) p{acc}[i] = {identity};"]


def _nest(
    operands: Sequence[Operand],
    groups: Sequence[_Group],
    inputs: int,
    body: Sequence[str],
    results: Sequence[Arg],
    reduction: Reduction | None,
    threads: bool,
) -> list[str] | None:
    """The loop nest, serial or threaded (None when threads would not be safe or useful)."""
    outer = groups[:-1]
    if not threads:
        lines = [f"for (int64_t i{g} = 0; i{g} < n{g}; i{g}++)" for g in range(len(outer))]
        inner = _inner(operands, groups, inputs, body, results, reduction, threaded=False)
        return lines + (["{", *_indent(inner, 1), "}"] if outer else inner)
    if not groups:
        return None
    if not outer:
        return _inner(operands, groups, inputs, body, results, reduction, threaded=True)
    leading_kept = 0
    while leading_kept < len(outer) and not outer[leading_kept].reduced:
        leading_kept += 1
    if not leading_kept:
        return None  # threads would race on the accumulator
    lines = [
        f"#pragma omp parallel for collapse({leading_kept}) num_threads(nthreads) schedule(static)"
    ]
    lines += [f"for (int64_t i{g} = 0; i{g} < n{g}; i{g}++)" for g in range(len(outer))]
    inner = _inner(operands, groups, inputs, body, results, reduction, threaded=False)
    return lines + ["{", *_indent(inner, 1), "}"]


def _inner(operands, groups, inputs, body, results, reduction, threaded: bool) -> list[str]:
    """Pointer set-up for the current outer indices, then the vectorised innermost loop.

    ``threaded``: the innermost loop is the only one and is shared among threads.
    """
    lines = []
    for k, op in enumerate(operands):
        qualifier = "" if op.writable else "const "
        offsets = [
            f"i{g} * s{k}_{g}" for g, group in enumerate(groups[:-1]) if not group.broadcast[k]
        ]
        start = f"p{k} + {' + '.join(offsets)}" if offsets else f"p{k}"
        lines.append(f"{qualifier}{c_type(op.dtype)}* const a{k} = {start};")
    inner_broadcast = list(groups[-1].broadcast) if groups else [True] * len(operands)
    index = ["0" if b else "j" for b in inner_broadcast]
    lines += [
        f"const {c_type(operands[k].dtype)} x{k} = a{k}[0];"
        for k in range(inputs)
        if inner_broadcast[k]
    ]
    loads = [
        f"const {c_type(operands[k].dtype)} x{k} = a{k}[j];"
        for k in range(inputs)
        if not inner_broadcast[k]
    ]
    length = f"n{len(groups) - 1}" if groups else "1"
    pragma = (
        "#pragma omp parallel for simd num_threads(nthreads) schedule(static)"
        if threaded
        else "#pragma omp simd"
    )
    if reduction is None:
        stores = [f"a{inputs + i}[{index[inputs + i]}] = {r.code};" for i, r in enumerate(results)]
        return lines + _loop(pragma, length, [*loads, *body, *stores])
    acc = len(operands) - 1
    acc_type = c_type(reduction.acc_dtype)
    reducer = _REDUCERS[reduction.kind]
    value = f"const {acc_type} v = {_accumulated_value(results[0], reduction)};"
    float_extremum = reduction.kind in ("max", "min") and reduction.acc_dtype in _FLOATS
    if inner_broadcast[acc]:
        # The innermost dimension is reduced: a scalar accumulator, an OpenMP reduction.
        # max/min track nan apart: the reduction clause's max does not propagate it.
        clauses = [f"reduction({reducer.openmp}:a)"]
        update = [f"a = {reducer.update.format(a='a', v='v')};"]
        lines.append(f"{acc_type} a = a{acc}[0];")
        if float_extremum:
            lines.append("int nan_seen = a != a;")
            clauses.append("reduction(|:nan_seen)")
            update.append("nan_seen |= v != v;")
        statements = [*loads, *body, value, *update]
        lines += _loop(f"{pragma} {' '.join(clauses)}", length, statements)
        if float_extremum:
            lines.append("if (nan_seen) a = NAN;")
        return lines + [f"a{acc}[0] = a;"]
    # The innermost dimension is kept: each element updates its own accumulator.
    update = reducer.update.format(a=f"a{acc}[j]", v="v")
    if float_extremum:
        update = f"(v != v) ? v : {update}"
    return lines + _loop(pragma, length, [*loads, *body, value, f"a{acc}[j] = {update};"])


def _accumulated_value(result: Arg, reduction: Reduction) -> str:
    if reduction.kind in ("all", "any"):
        return f"({result.code} != 0)"
    return f"(({c_type(reduction.acc_dtype)})({result.code}))"


def _loop(pragma: str, length: str, statements: Sequence[str]) -> list[str]:
    return [pragma, f"for (int64_t j = 0; j < {length}; j++) {{", *_indent(statements, 1), "}"]


def _indent(lines: Sequence[str], depth: int) -> list[str]:
    pad = "    " * depth
    return [pad + line if line else line for line in lines]


# The kernels include no header (parsing <math.h> and <stdint.h> was a third of a compile):
# this prelude and the declarations of the libm functions a kernel calls stand in for them.
_PRELUDE = """\
typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INTPTR_TYPE__ intptr_t;
#define NAN __builtin_nan("")
#define INFINITY __builtin_inf()
#define M_LN2 0.693147180559945309417232121458176568
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)"""
_LIBM_UNARY = [
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "floor",
    "ceil",
    "trunc",
    "nearbyint",
    "round",
    "fabs",
    "erf",
    "erfc",
    "tgamma",
    "j0",
    "j1",
]
_LIBM_BINARY = ("atan2", "pow", "fmod", "copysign")


def _libm_declarations(code: str, target: Target) -> list[str]:
    """Declare the libm functions ``code`` calls; those glibc's libmvec has vector versions
    of are declared SIMD, so gcc calls them on whole vectors."""
    called = set(re.findall(r"\b([a-z0-9_]+)\(", code))
    declarations = []
    for name in (*_LIBM_UNARY, *_LIBM_BINARY, "lgamma_r"):
        for suffix, t in (("", "double"), ("f", "float")):
            function = name.replace("_r", suffix + "_r") if name == "lgamma_r" else name + suffix
            if function not in called:
                continue
            if name == "lgamma_r":
                params = f"{t}, int*"
            else:
                params = ", ".join([t] * (2 if name in _LIBM_BINARY else 1))
            vector = ' __attribute__((simd("notinbranch")))' if name in target.vector_math else ""
            declarations.append(f"{t} {function}({params}){vector};")
    return declarations


# ---- the three node kinds -----------------------------------------------------------
def _input_args(variables: Sequence[Variable]) -> list[Arg]:
    return [Arg(f"x{k}", v.type.dtype) for k, v in enumerate(variables)]


def elemwise_source(
    node: Apply, target: Target, context: ExprContext | None = None, threaded: bool = True
) -> str:
    """The kernel of an ``Elemwise`` node (raises ``NoCExpression`` if it has none).

    A caller that merges kernels into one file passes its own ``context``, which
    collects the helper functions the kernel's source defines. ``threaded=False``
    leaves out the threaded copy of the loop (a process that runs kernels on one
    thread never calls it, and it is half the compile).
    """
    if context is not None:
        return _elemwise_source(node, target, context, threaded)
    return _memoized(_elemwise_source, node, target, threaded)


def reduce_source(
    node: Apply, target: Target, context: ExprContext | None = None, threaded: bool = True
) -> str:
    """The kernel of a ``CAReduce`` or ``ElemwiseReduce`` node (see ``_reduce_source``)."""
    if context is not None:
        return _reduce_source(node, target, context, threaded)
    return _memoized(_reduce_source, node, target, threaded)


def accumulator_dtype(reduce_op: CAReduce, out_dtype: str) -> str:
    """The dtype a reduction kernel accumulates in: ``bool`` for all/any, the op's
    ``acc_dtype`` for sum/prod (wider than the output for small types), else the output's."""
    if reduce_op.kind in ("all", "any"):
        return "bool"
    if reduce_op.kind in ("sum", "prod"):
        return reduce_op.acc_dtype
    return out_dtype


def _memoized(generate, node: Apply, target: Target, threaded: bool) -> str:
    """A source depends only on the op and the node's types, so nodes alike (every layer of a
    deep net) share one generation: linking a 100,000-node graph generates each kernel once."""
    key = (
        generate,
        node.op,
        tuple(v.type for v in node.inputs),
        tuple(v.type for v in node.outputs),
        target,
        threaded,
    )
    source = _SOURCES.get(key)
    if source is None:
        if len(_SOURCES) >= _SOURCES_KEPT:
            _SOURCES.clear()
        source = _SOURCES[key] = generate(node, target, None, threaded)
    return source


_SOURCES: dict[tuple, str] = {}
_SOURCES_KEPT = 4096


def _elemwise_source(
    node: Apply, target: Target, context: ExprContext | None = None, threaded: bool = True
) -> str:
    op = node.op
    assert isinstance(op, Elemwise)
    context = context or ExprContext()
    out_dtypes = [o.type.dtype for o in node.outputs]
    body, results = scalar_body(op.scalar_op, _input_args(node.inputs), out_dtypes, context)
    operands = [Operand(v.type.dtype, v.type.broadcastable) for v in node.inputs]
    operands += [Operand(v.type.dtype, v.type.broadcastable, writable=True) for v in node.outputs]
    reduced = (False,) * node.outputs[0].ndim
    return loop_source(
        operands, reduced, len(node.inputs), body, results, context, target, threaded=threaded
    )


def _reduce_source(
    node: Apply, target: Target, context: ExprContext | None = None, threaded: bool = True
) -> str:
    """Its operands are the inputs (for ``ElemwiseReduce``, padded to the elementwise
    output's ndim) and the accumulator, which broadcasts along the reduced axes and along
    kept axes of static length 1."""
    op = node.op
    reduce_op = op.reduce if isinstance(op, ElemwiseReduce) else op
    assert isinstance(reduce_op, CAReduce)
    context = context or ExprContext()
    inputs = _input_args(node.inputs)
    if isinstance(op, ElemwiseReduce):
        elemwise_node = op.elemwise.make_node(*node.inputs)
        out_dtype = elemwise_node.outputs[0].type.dtype
        body, results = scalar_body(op.elemwise.scalar_op, inputs, [out_dtype], context)
        iterated = elemwise_node.inputs
    else:
        body, results = [], inputs
        iterated = node.inputs
    ndim = iterated[0].ndim
    reduced = tuple(d in reduce_op.axis for d in range(ndim))
    acc_dtype = accumulator_dtype(reduce_op, node.outputs[0].type.dtype)
    kept_lengths = iter(node.outputs[0].type.shape)
    acc_broadcast = tuple(True if r else next(kept_lengths) == 1 for r in reduced)
    operands = [Operand(v.type.dtype, v.type.broadcastable) for v in iterated]
    operands.append(Operand(acc_dtype, acc_broadcast, writable=True))
    return loop_source(
        operands,
        reduced,
        len(inputs),
        body,
        results,
        context,
        target,
        Reduction(reduce_op.kind, acc_dtype),
        threaded,
    )


__all__ = [
    "NoCExpression",
    "Operand",
    "Reduction",
    "Target",
    "accumulator_dtype",
    "elemwise_source",
    "reduce_source",
]
