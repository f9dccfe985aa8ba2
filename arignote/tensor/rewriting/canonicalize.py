"""Canonical forms of arithmetic: one spelling per expression, so later rewrites see fewer cases.

- Nested ``add``/``mul`` become one n-ary node (``(a + b) + c`` → ``a + b + c``).
- Their scalar constants are collapsed into one (``2 * x * 3`` → ``6 * x``), and a
  neutral constant is dropped (``x * 1``, ``x + 0``), also a constant array of ones
  or zeros when the other inputs already give the output its shape.
- ``x - x`` → zeros of ``x``'s shape; ``--x`` → ``x``; ``x / c`` → ``x * (1/c)``
  for a float constant ``c``; ``sum(k * x)`` → ``k * sum(x)`` for factors ``k``
  constant along the summed axes, and ``sum(-x)`` → ``-sum(x)``.

Invariants every rewrite here keeps:

- The replacement has the replaced variable's dtype and at least its static
  shape, so broadcasting is never lost: a constant that decides a dimension
  of the output (``row + zeros((3, 4))``) stays.
- Reordering an ``add``/``mul`` must not change where integer arithmetic wraps
  around. NumPy folds an n-ary node left to right, promoting at each step;
  a node is reordered only when its first step already computes in the output
  dtype (or, for a float output, in floating point): after that, integer
  arithmetic is exact modulo the output's width and float arithmetic differs
  only by rounding.
- Each rewrite looks only at a node and its direct inputs (and their client
  counts), so a pass over the graph costs time linear in its size.
"""

from __future__ import annotations

import numpy as np

from arignote.graph.basic import Constant, Variable
from arignote.graph.rewriting.basic import node_rewriter
from arignote.graph.rewriting.stages import canonicalize
from arignote.scalar import math as scalar_math
from arignote.scalar.basic import CONTINUOUS_DTYPES, DISCRETE_DTYPES, FLOAT_DTYPES, upcast
from arignote.tensor.alloc import Alloc
from arignote.tensor.basic import cast, constant
from arignote.tensor.elemwise import DimShuffle, Elemwise
from arignote.tensor.reduction import CAReduce
from arignote.tensor.rewriting.shape_feature import shape_feature

_ADD_MUL = (scalar_math.Add, scalar_math.Mul)
_NEUTRAL = {scalar_math.Add: 0, scalar_math.Mul: 1}
_NUMPY_FOLD = {scalar_math.Add: np.add, scalar_math.Mul: np.multiply}


# ---- helpers ----------------------------------------------------------------------------------
def elemwise_of(variable: Variable, scalar_class: type | tuple[type, ...]) -> bool:
    """Whether ``variable`` is computed by an ``Elemwise`` of that scalar op class."""
    node = variable.owner
    return (
        node is not None
        and isinstance(node.op, Elemwise)
        and isinstance(node.op.scalar_op, scalar_class)
    )


def constant_data(variable: Variable) -> np.ndarray | None:
    """The value of a constant, also seen through a ``DimShuffle`` (how ``Elemwise`` pads
    constants before constant folding has run)."""
    if isinstance(variable, Constant):
        return np.asarray(variable.data)
    node = variable.owner
    if (
        node is not None
        and isinstance(node.op, DimShuffle)
        and isinstance(node.inputs[0], Constant)
    ):
        return np.asarray(node.inputs[0].data)
    return None


def scalar_constant(variable: Variable) -> np.ndarray | None:
    """The 0-d value of a one-element constant broadcastable along every axis, else None."""
    if not all(variable.broadcastable):
        return None
    data = constant_data(variable)
    return None if data is None or data.size != 1 else data.reshape(())


def is_constant_of(variable: Variable, value: float) -> bool:
    """Whether ``variable`` is a constant whose every element equals ``value`` (a zeros
    matrix is a constant of 0); a non-empty one."""
    data = constant_data(variable)
    return (
        data is not None and data.size > 0 and data.flat[0] == value and bool(np.all(data == value))
    )


def covered(inputs: list[Variable], position: int) -> bool:
    """Whether, wherever input ``position`` is not broadcastable, another input is not either
    (so the others give the output its length there, and that input can be dropped or
    replaced by a broadcastable one without changing the output's shape)."""
    return all(
        any(not other.broadcastable[axis] for j, other in enumerate(inputs) if j != position)
        for axis in range(inputs[position].ndim)
        if not inputs[position].broadcastable[axis]
    )


def keeps_type(old: Variable, new: Variable) -> bool:
    """Whether ``new`` can stand for ``old``: same dtype, a static shape at least as precise."""
    return new.type.dtype == old.type.dtype and old.type.is_super(new.type)


def fold_is_exact(dtypes: list[str], out_dtype: str) -> bool:
    """Whether an n-ary add/mul of these input dtypes may be reordered (module docstring)."""
    if out_dtype == "bool":
        return False
    if len(dtypes) < 2:
        return True
    first_step = upcast(dtypes[0], dtypes[1])
    if out_dtype in DISCRETE_DTYPES:
        return first_step == out_dtype
    return first_step in CONTINUOUS_DTYPES


def with_dtype(variable: Variable, dtype: str) -> Variable:
    """``variable`` cast to ``dtype`` if it has another."""
    return cast(variable, dtype) if variable.dtype != dtype else variable


def _rebuilt(node, inputs: list[Variable]) -> Variable | None:
    """``node``'s add/mul on new inputs, if the result can replace ``node``'s output. The
    first input is cast to the output dtype when the new node would compute in another."""
    old = node.outputs[0]
    dtypes = [i.dtype for i in inputs]
    if len(inputs) == 1:
        new = with_dtype(inputs[0], old.dtype)
    else:
        if upcast(*dtypes) != old.dtype or not fold_is_exact(dtypes, old.dtype):
            inputs = [with_dtype(inputs[0], old.dtype), *inputs[1:]]
        new = node.op(*inputs)
    return new if keeps_type(old, new) else None


# ---- add and mul -----------------------------------------------------------------------------
@node_rewriter([Elemwise])
def local_flatten_add_mul(fgraph, node):
    """``add(add(a, b), c)`` → ``add(a, b, c)`` (likewise ``mul``), when the inner node has
    no other reader and computes in the outer one's dtype."""
    scalar_op = node.op.scalar_op
    if not isinstance(scalar_op, _ADD_MUL) or len(node.outputs) != 1:
        return None
    out_dtype = node.outputs[0].dtype
    flat: list[Variable] = []
    changed = False
    for variable in node.inputs:
        inner = variable.owner
        if (
            inner is not None
            and isinstance(inner.op, Elemwise)
            and type(inner.op.scalar_op) is type(scalar_op)
            and variable.dtype == out_dtype
            and len(fgraph.clients.get(variable, ())) == 1
            and fold_is_exact([i.dtype for i in inner.inputs], out_dtype)
        ):
            flat.extend(inner.inputs)
            changed = True
        else:
            flat.append(variable)
    if not changed:
        return None
    if not fold_is_exact([i.dtype for i in node.inputs], out_dtype):
        return None
    if not fold_is_exact([i.dtype for i in flat], out_dtype):
        return None
    new = _rebuilt(node, flat)
    return None if new is None else [new]


@node_rewriter([Elemwise])
def local_add_mul_constants(fgraph, node):
    """Collapse the scalar constants of an ``add``/``mul`` into one (``2 * x * 3`` → ``6 * x``)
    and drop a neutral one (``x * 1``, ``x + 0``, a zeros array the others cover)."""
    scalar_op = node.op.scalar_op
    if not isinstance(scalar_op, _ADD_MUL) or len(node.outputs) != 1:
        return None
    out = node.outputs[0]
    neutral = _NEUTRAL[type(scalar_op)]
    inputs = list(node.inputs)
    scalars = [(p, v) for p, v in enumerate(inputs) if scalar_constant(v) is not None]
    # Neutral arrays (not scalar-like): droppable where the other inputs give the shape.
    droppable = [
        p
        for p, v in enumerate(inputs)
        if scalar_constant(v) is None and is_constant_of(v, neutral) and covered(inputs, p)
    ][:1]
    if not droppable and len(scalars) < 2:
        lone = scalar_constant(scalars[0][1]) if scalars else None
        minus_one = lone == -1 and isinstance(scalar_op, scalar_math.Mul)
        if lone is None or not (lone == neutral or minus_one):
            return None
    if not fold_is_exact([i.dtype for i in inputs], out.dtype):
        return None
    if droppable:
        remaining = [v for p, v in enumerate(inputs) if p != droppable[0]]
    else:
        combined = _NUMPY_FOLD[type(scalar_op)].reduce(
            [scalar_constant(v).astype(out.dtype) for _, v in scalars]
        )
        first = scalars[0][0]
        remaining = [v for p, v in enumerate(inputs) if p == first or scalar_constant(v) is None]
        if combined == neutral:
            remaining.remove(inputs[first])
        elif combined == -1 and isinstance(scalar_op, scalar_math.Mul) and len(remaining) > 1:
            remaining.remove(inputs[first])  # -1 * x → -x
            product = _rebuilt(node, remaining)
            return None if product is None else [-product]
        else:
            remaining[remaining.index(inputs[first])] = constant(
                np.asarray(combined, dtype=out.dtype).reshape((1,) * out.ndim)
            )
    if not remaining:
        return None  # only constants: constant folding's job
    new = _rebuilt(node, remaining)
    return None if new is None else [new]


# ---- sub, neg, div ----------------------------------------------------------------------------
@node_rewriter([Elemwise])
def local_sub_self(fgraph, node):
    """``x - x`` → zeros of ``x``'s shape (an ``alloc``, which does not read ``x``'s value)."""
    if not isinstance(node.op.scalar_op, scalar_math.Sub):
        return None
    x, y = node.inputs
    out = node.outputs[0]
    if x is not y or out.dtype == "bool":
        return None
    zero = np.zeros((), dtype=out.dtype)
    if out.ndim == 0:
        return [constant(zero)]
    return [Alloc()(constant(zero), *shape_feature(fgraph).shape_of(out))]


@node_rewriter([Elemwise])
def local_sub_zero(fgraph, node):
    """``x - 0`` → ``x``, when ``x`` already has the output's shape."""
    if not isinstance(node.op.scalar_op, scalar_math.Sub):
        return None
    x, zero = node.inputs
    if not is_constant_of(zero, 0):
        return None
    if not covered(list(node.inputs), 1):
        return None
    new = with_dtype(x, node.outputs[0].dtype)
    return [new] if keeps_type(node.outputs[0], new) else None


@node_rewriter([Elemwise])
def local_neg_neg(fgraph, node):
    """``-(-x)`` → ``x``."""
    if not isinstance(node.op.scalar_op, scalar_math.Neg):
        return None
    (inner,) = node.inputs
    if not elemwise_of(inner, scalar_math.Neg):
        return None
    x = inner.owner.inputs[0]
    return [x] if keeps_type(node.outputs[0], x) else None


@node_rewriter([Elemwise])
def local_lift_neg(fgraph, node):
    """Move a negation out: ``(-a) * b`` → ``-(a * b)``, ``(-a) / b`` and ``a / (-b)`` →
    ``-(a / b)``, ``(-a) + b`` → ``b - a``, ``a - (-b)`` → ``a + b``, ``(-a) - b`` →
    ``-(a + b)``. Exact (sign flips), and it lets ``--x`` cancel. Only for a negated
    input of the output's dtype, which cannot wrap around differently."""
    scalar_op = node.op.scalar_op
    if not isinstance(
        scalar_op, (scalar_math.Mul, scalar_math.TrueDiv, scalar_math.Add, scalar_math.Sub)
    ):
        return None
    out = node.outputs[0]
    inputs = list(node.inputs)
    order = [1, 0] if isinstance(scalar_op, scalar_math.Sub) else range(len(inputs))
    for position in order:
        variable = inputs[position]
        if (
            elemwise_of(variable, scalar_math.Neg)
            and variable.dtype == out.dtype
            and len(fgraph.clients.get(variable, ())) == 1
        ):
            break
    else:
        return None
    negated = variable.owner.inputs[0]
    if isinstance(scalar_op, scalar_math.Sub):
        new = inputs[0] + negated if position == 1 else -(negated + inputs[1])
    elif isinstance(scalar_op, scalar_math.Add):
        if len(inputs) != 2:
            return None
        other = inputs[1 - position]
        new = other - negated
    else:
        inputs[position] = negated
        new = -node.op(*inputs)
    return [new] if keeps_type(out, new) else None


@node_rewriter([Elemwise])
def local_div_to_mul(fgraph, node):
    """``x / c`` → ``x * (1/c)`` for a scalar constant ``c`` and a float result, when ``1/c``
    is finite (a huge ``1/c`` would overflow where ``x / c`` does not)."""
    if not isinstance(node.op.scalar_op, scalar_math.TrueDiv):
        return None
    x, divisor = node.inputs
    out = node.outputs[0]
    value = scalar_constant(divisor)
    if value is None or out.dtype not in FLOAT_DTYPES:
        return None
    with np.errstate(all="ignore"):
        reciprocal = np.asarray(1, dtype=out.dtype) / value.astype(out.dtype)
    if not np.isfinite(reciprocal) or reciprocal == 0:
        return None
    factor = constant(np.asarray(reciprocal, dtype=out.dtype).reshape((1,) * out.ndim))
    new = with_dtype(x, out.dtype) * factor
    return [new] if keeps_type(out, new) else None


# ---- reductions of scaled values ---------------------------------------------------------------
@node_rewriter([CAReduce])
def local_sum_of_scaled(fgraph, node):
    """``sum(k * x)`` → ``k * sum(x)`` for the factors ``k`` broadcastable along every summed
    axis (scalars, or rows when summing columns); ``sum(-x)`` → ``-sum(x)``. Float only."""
    if node.op.kind != "sum":
        return None
    (product,) = node.inputs
    out = node.outputs[0]
    if product.dtype not in CONTINUOUS_DTYPES or len(fgraph.clients.get(product, ())) != 1:
        return None
    if elemwise_of(product, scalar_math.Neg):
        new = -node.op(product.owner.inputs[0])
        return [new] if keeps_type(out, new) else None
    if not elemwise_of(product, scalar_math.Mul):
        return None
    axes = node.op.axis
    factors = [v for v in product.owner.inputs if all(v.broadcastable[a] for a in axes)]
    rest = [v for v in product.owner.inputs if not all(v.broadcastable[a] for a in axes)]
    if not factors or not rest:
        return None
    kept = [a for a in range(product.ndim) if a not in axes]
    rest_product = rest[0] if len(rest) == 1 else product.owner.op(*rest)
    total = node.op(with_dtype(rest_product, product.dtype))
    new = product.owner.op(total, *(DimShuffle(product.ndim, kept)(f) for f in factors))
    return [new] if keeps_type(out, new) else None


canonicalize.register("local_flatten_add_mul", local_flatten_add_mul, "fast_run", "algebra")
canonicalize.register("local_add_mul_constants", local_add_mul_constants, "fast_run", "algebra")
canonicalize.register("local_sub_self", local_sub_self, "fast_run", "algebra")
canonicalize.register("local_sub_zero", local_sub_zero, "fast_run", "algebra")
canonicalize.register("local_neg_neg", local_neg_neg, "fast_run", "fast_compile", "algebra")
canonicalize.register("local_lift_neg", local_lift_neg, "fast_run", "algebra")
canonicalize.register("local_div_to_mul", local_div_to_mul, "fast_run", "algebra")
canonicalize.register("local_sum_of_scaled", local_sum_of_scaled, "fast_run", "algebra")

__all__ = [
    "constant_data",
    "covered",
    "elemwise_of",
    "fold_is_exact",
    "is_constant_of",
    "keeps_type",
    "local_add_mul_constants",
    "local_div_to_mul",
    "local_flatten_add_mul",
    "local_lift_neg",
    "local_neg_neg",
    "local_sub_self",
    "local_sub_zero",
    "local_sum_of_scaled",
    "scalar_constant",
    "with_dtype",
]
