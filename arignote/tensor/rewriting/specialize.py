"""Specialize: faster forms of what canonicalize and stabilize left.

- Small constant powers (``local_pow_specialize``): ``x ** 2`` → ``sqr(x)``, ``x ** 0.5`` →
  ``sqrt(x)``, ``x ** -1`` → ``reciprocal(x)``, ``x ** -0.5`` → ``reciprocal(sqrt(x))``,
  ``x ** 0`` → ones, ``x ** 1`` → ``x``, and integer powers up to ``MAX_INTEGER_POWER`` (and
  their reciprocals) by repeated squaring. Integer inputs of a float power are cast first,
  so that the square is not taken in a narrower integer that could wrap around.
- BLAS (``arignote.tensor.blas``), for float32/float64 operands only (a mixed pair is cast
  to the product's dtype; integers, float16 and complex keep ``Dot``):

  - ``local_dot_to_blas``: ``Dot`` of matrices → ``Gemm``, of a matrix and a vector (either
    side) → ``Gemv``, of a column and a row (``outer``) → ``Ger``. An operand that is a
    transpose (``DimShuffle{1,0}``) is passed untransposed with the BLAS flag set, so it is
    never copied. A dot of two vectors stays ``Dot`` (``np.dot`` already calls BLAS).
  - ``local_blas_scale``: ``s * G`` and ``-G`` for a BLAS product ``G`` that nothing else
    reads and a scalar(-like) ``s`` → ``G`` with ``alpha`` (and ``beta``) scaled.
  - ``local_blas_accumulate``: ``G + beta * C`` (also ``C + G``, ``C - G``, ``G - C``, and
    among the terms of a longer sum) → the accumulating op (``Gemm``/``Gemv`` with ``beta``
    and ``C``; ``Ger`` with ``C`` when ``beta`` is 1), when ``C`` has the product's shape
    pattern (BLAS does not broadcast it) and nothing else reads ``G``.

  Together they turn ``alpha * dot(A, B) + beta * C`` into one ``Gemm`` call.
"""

from __future__ import annotations

import numpy as np

from arignote.graph.basic import Variable
from arignote.graph.rewriting.basic import node_rewriter
from arignote.graph.rewriting.stages import specialize
from arignote.scalar import math as scalar_math
from arignote.tensor import math as tensor_math
from arignote.tensor.basic import cast, constant
from arignote.tensor.blas import Gemm, Gemv, Ger
from arignote.tensor.elemwise import DimShuffle
from arignote.tensor.products import Dot
from arignote.tensor.rewriting.stabilize import (
    constant_value,
    elemwise_node,
    negated,
    replacement,
)

MAX_INTEGER_POWER = 16
BLAS_REWRITE_DTYPES = ("float32", "float64")
_BLAS_OPS = (Gemm, Gemv, Ger)


# ---- powers -----------------------------------------------------------------------------------
def _integer_power(x: Variable, exponent: int) -> Variable:
    """``x ** exponent`` for ``exponent >= 1`` by repeated squaring."""
    result, square = None, x
    while exponent:
        if exponent & 1:
            result = square if result is None else tensor_math.mul(result, square)
        exponent >>= 1
        if exponent:
            square = tensor_math.sqr(square)
    return result


def _power_of(x: Variable, exponent: float) -> Variable | None:
    if exponent == 0.5:
        return tensor_math.sqrt(x)
    if exponent == -0.5:
        return tensor_math.reciprocal(tensor_math.sqrt(x))
    if exponent == int(exponent) and 1 <= abs(exponent) <= MAX_INTEGER_POWER:
        power = _integer_power(x, int(abs(exponent)))
        return power if exponent > 0 else tensor_math.reciprocal(power)
    return None


@node_rewriter([tensor_math.pow.op])
def local_pow_specialize(fgraph, node):
    """``x ** c`` for a small constant ``c`` → products, ``sqr``, ``sqrt``, ``reciprocal``."""
    x, exponent_variable = node.inputs
    output = node.outputs[0]
    exponent = constant_value(exponent_variable)
    if exponent is None or exponent.dtype.kind not in "iuf" or output.dtype.startswith("complex"):
        return None
    exponent = float(exponent)
    if exponent < 0 and not output.dtype.startswith("float"):
        return None  # NumPy refuses integers to negative integer powers; keep its error
    if x.dtype != output.dtype:
        x = cast(x, output.dtype)
    if exponent == 0:
        new = tensor_math.fill(x, np.ones((), dtype=output.dtype))
    elif exponent == 1:
        new = x
    else:
        new = _power_of(x, exponent)
        if new is None:
            return None
    return replacement(new, output, [exponent_variable])


# ---- BLAS -------------------------------------------------------------------------------------
def _untransposed(matrix: Variable) -> tuple[Variable, bool]:
    """``(m, True)`` when ``matrix`` is the transpose ``DimShuffle{1,0}(m)``, else itself."""
    node = matrix.owner
    if node is not None and isinstance(node.op, DimShuffle) and node.op.new_order == (1, 0):
        return node.inputs[0], True
    return matrix, False


def _vector_as(matrix: Variable, pattern: tuple) -> Variable | None:
    """``v`` when ``matrix`` is ``DimShuffle(pattern)(v)`` of a vector ``v``."""
    node = matrix.owner
    if node is not None and isinstance(node.op, DimShuffle) and node.op.new_order == pattern:
        return node.inputs[0]
    return None


def _scalar(value, dtype: str) -> Variable:
    return constant(np.asarray(value, dtype=dtype))


@node_rewriter([Dot])
def local_dot_to_blas(fgraph, node):
    """``Dot`` of float32/float64 matrices and vectors → ``Gemm``/``Gemv``/``Ger``, with
    transposed operands passed by flag."""
    output = node.outputs[0]
    dtype = output.dtype
    if dtype not in BLAS_REWRITE_DTYPES or any(
        i.dtype not in BLAS_REWRITE_DTYPES for i in node.inputs
    ):
        return None
    a, b = (cast(i, dtype) for i in node.inputs)
    one = _scalar(1, dtype)
    if a.ndim == 2 and b.ndim == 2:
        column, row = _vector_as(a, (0, "x")), _vector_as(b, ("x", 0))
        if column is not None and row is not None:
            return replacement(Ger()(one, column, row), output)
        (a, trans_a), (b, trans_b) = _untransposed(a), _untransposed(b)
        return replacement(Gemm(trans_a, trans_b)(one, a, b), output)
    if a.ndim == 2 and b.ndim == 1:
        matrix, trans = _untransposed(a)
        return replacement(Gemv(trans)(one, matrix, b), output)
    if a.ndim == 1 and b.ndim == 2:
        # x @ B = B.T @ x
        matrix, trans = _untransposed(b)
        return replacement(Gemv(not trans)(one, matrix, a), output)
    return None


def _blas_product(variable: Variable, fgraph) -> Variable | None:
    """``variable`` when a BLAS op computes it and nothing else reads it."""
    node = variable.owner
    if node is None or not isinstance(node.op, _BLAS_OPS):
        return None
    return variable if len(fgraph.clients[variable]) == 1 else None


def _accumulates(node) -> bool:
    return len(node.inputs) == (4 if isinstance(node.op, Ger) else 5)


def _as_0d(scale: Variable, dtype: str) -> Variable:
    """A scalar-like tensor (every axis broadcastable) as a 0-d tensor of ``dtype``."""
    if scale.ndim:
        scale = DimShuffle(scale.ndim, ())(scale)
    return cast(scale, dtype)


def _rescaled(product: Variable, scale: Variable) -> Variable | None:
    """The BLAS ``product`` with its ``alpha`` (and ``beta``) multiplied by a 0-d ``scale``;
    ``None`` for an accumulating ``Ger``, which has no ``beta`` to scale its matrix."""
    node = product.owner
    inputs = list(node.inputs)
    if _accumulates(node):
        if isinstance(node.op, Ger):
            return None
        inputs[3] = inputs[3] * scale
    inputs[0] = inputs[0] * scale
    return node.op(*inputs)


def _scalar_like(variable: Variable, like: Variable) -> bool:
    return all(variable.type.broadcastable) and variable.ndim <= like.ndim


@node_rewriter([tensor_math.mul.op, tensor_math.neg.op])
def local_blas_scale(fgraph, node):
    """``s * G`` (scalar-like ``s``, any number of them) and ``-G`` → ``G`` rescaled."""
    output = node.outputs[0]
    if elemwise_node(output, scalar_math.Neg) is not None:
        product = _blas_product(node.inputs[0], fgraph)
        if product is None:
            return None
        new = _rescaled(product, _scalar(-1, product.dtype))
        return replacement(new, output) if new is not None else None
    products = [p for p in (_blas_product(i, fgraph) for i in node.inputs) if p is not None]
    if not products or products[0].dtype != output.dtype:
        return None
    product = products[0]
    scales = [i for i in node.inputs if i is not product and _scalar_like(i, product)]
    if not scales:
        return None
    rest = [i for i in node.inputs if i is not product and not _scalar_like(i, product)]
    scale = _as_0d(scales[0] if len(scales) == 1 else tensor_math.mul(*scales), product.dtype)
    new = _rescaled(product, scale)
    if new is None:
        return None
    return replacement(tensor_math.mul(new, *rest) if rest else new, output)


def _scaled_term(term: Variable, product: Variable) -> tuple[Variable, Variable | None]:
    """``(C, beta)`` with ``term = beta * C`` for a scalar-like ``beta`` (``None``: 1)."""
    inner = negated(term)
    if inner is not None:
        return inner, _scalar(-1, product.dtype)
    node = elemwise_node(term, scalar_math.Mul)
    if node is not None and len(node.inputs) == 2:
        for k, other in ((0, 1), (1, 0)):
            if _scalar_like(node.inputs[k], product) and (
                node.inputs[other].type.broadcastable == product.type.broadcastable
            ):
                return node.inputs[other], _as_0d(node.inputs[k], product.dtype)
    return term, None


def _accumulated(product: Variable, negative: bool, term: Variable, term_negative: bool):
    """The BLAS op computing ``±product ± term``, or ``None``."""
    node = product.owner
    if _accumulates(node) or term.dtype != product.dtype:
        return None
    if term.type.broadcastable != product.type.broadcastable:
        return None
    accumulated, beta = _scaled_term(term, product)
    if term_negative:
        beta = _scalar(-1, product.dtype) if beta is None else tensor_math.neg(beta)
    alpha = tensor_math.neg(node.inputs[0]) if negative else node.inputs[0]
    if isinstance(node.op, Ger):
        if beta is not None:
            return None  # Ger adds its matrix unscaled
        return Ger()(alpha, node.inputs[1], node.inputs[2], accumulated)
    beta = beta if beta is not None else _scalar(1, product.dtype)
    return node.op(alpha, node.inputs[1], node.inputs[2], beta, accumulated)


@node_rewriter([tensor_math.add.op, tensor_math.sub.op])
def local_blas_accumulate(fgraph, node):
    """``G + beta * C`` (and the other signs and orders) → the accumulating BLAS op."""
    output = node.outputs[0]
    if elemwise_node(output, scalar_math.Sub) is not None:
        signed = [(False, node.inputs[0]), (True, node.inputs[1])]
    else:
        signed = [(False, term) for term in node.inputs]
    for k, (negative, term) in enumerate(signed):
        product = _blas_product(term, fgraph)
        if product is None or product.type.broadcastable != output.type.broadcastable:
            continue
        for j, (other_negative, other) in enumerate(signed):
            if j == k:
                continue
            new = _accumulated(product, negative, other, other_negative)
            if new is None:
                continue
            rest = [
                tensor_math.neg(t) if n else t for i, (n, t) in enumerate(signed) if i not in (j, k)
            ]
            return replacement(tensor_math.add(new, *rest) if rest else new, output)
    return None


specialize.register("local_pow_specialize", local_pow_specialize, "fast_run", "specialize")
specialize.register("local_dot_to_blas", local_dot_to_blas, "fast_run", "specialize", "blas")
specialize.register("local_blas_scale", local_blas_scale, "fast_run", "specialize", "blas")
specialize.register(
    "local_blas_accumulate", local_blas_accumulate, "fast_run", "specialize", "blas"
)
