"""What the linear-algebra ops (``nlinalg``, ``slinalg``) share: operand checks, the dtype
they compute in, LAPACK failures named after the op, folding a gradient onto a triangle, and recognising an
output gradient that is known to be zero.

Invariants:

- Every op checks the number of dimensions of its operands, and squareness
  where the static shape decides it, when the graph is built (``TypeError``
  or ``ValueError`` naming the op, the variable and its static shape), and
  again at run time (``ValueError`` naming the op and the shape).
- A failure inside LAPACK (a singular matrix, one that is not positive
  definite) is re-raised as ``numpy.linalg.LinAlgError`` whose message
  starts with the op's name and says the input shapes.
- Ops compute in float32, float64 or complex: integers and bools are
  computed in ``floatX`` and float16 in float32 (LAPACK has no half
  precision), so an op's output dtype never depends on the values.
- An op that reads one triangle of a symmetric input (``eigh``,
  ``cholesky``, a symmetric ``solve``) is differentiated as the function it
  is, of that triangle only: ``fold_triangle`` moves the other triangle's
  share of the gradient onto it, so finite differences agree on any input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from arignote.config import config
from arignote.graph.basic import Apply, Constant, Variable
from arignote.scalar.basic import COMPLEX_DTYPES, FLOAT_DTYPES, upcast
from arignote.tensor.basic import (
    NotScalarConstantError,
    as_tensor_variable,
    get_scalar_constant_value,
)
from arignote.tensor.join import static_shape_text
from arignote.tensor.type import TensorType

LinAlgError = np.linalg.LinAlgError


def linalg_dtype(*dtypes: str) -> str:
    """The dtype LAPACK computes ``dtypes`` in: floats and complex as they are (float16 as
    float32), everything else as ``floatX``; several operands take the upcast."""
    computed = []
    for dtype in dtypes:
        if dtype == "float16":
            computed.append("float32")
        elif dtype in FLOAT_DTYPES or dtype in COMPLEX_DTYPES:
            computed.append(dtype)
        else:
            computed.append(config.floatX)
    return upcast(*computed)


def real_dtype(dtype: str) -> str:
    """The dtype of the real and imaginary parts of ``dtype`` (``dtype`` itself if real)."""
    return {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)


def complex_dtype(dtype: str) -> str:
    """The complex dtype holding ``dtype``'s values."""
    return {"float32": "complex64", "float64": "complex128"}.get(dtype, dtype)


def as_operand(value: Any, what: str, ndims: Sequence[int] = (2,), name: str = "operand"):
    """``value`` as a tensor variable of one of ``ndims`` dimensions, or a ``TypeError``."""
    variable = as_tensor_variable(value)
    if variable.ndim not in ndims:
        expected = " or ".join(str(n) for n in ndims)
        raise TypeError(
            f"{what}: the {name} must have {expected} dimensions, got {variable} of type "
            f"{variable.type}"
        )
    return variable


def check_square(x: Variable, what: str) -> int | None:
    """Raise if ``x``'s static shape says it is not square; return its known length."""
    rows, columns = x.type.shape[-2:]
    if rows is not None and columns is not None and rows != columns:
        raise ValueError(
            f"{what}: needs a square matrix, got {x} of static shape "
            f"{static_shape_text(x.type.shape)}"
        )
    return rows if rows is not None else columns


def square_matrix_apply(op: Any, x: Any, what: str) -> Apply:
    """The node of an op from one square matrix to one of the same size (an inverse, a
    factor, an exponential): the input checked, the output of the floating dtype."""
    x = as_operand(x, what, name="input")
    n = check_square(x, what)
    return Apply(op, [x], [TensorType(linalg_dtype(x.dtype), shape=(n, n)).make_variable()])


def check_rows_match(a: Variable, b: Variable, what: str) -> None:
    """Raise if the static shapes say that ``b`` does not have as many rows as ``a``."""
    rows_a, rows_b = a.type.shape[0], b.type.shape[0]
    if rows_a is not None and rows_b is not None and rows_a != rows_b:
        raise ValueError(
            f"{what}: {a} has {rows_a} rows (static shape {static_shape_text(a.type.shape)}) "
            f"but {b} has {rows_b} (static shape {static_shape_text(b.type.shape)})"
        )


def require_square(value: np.ndarray, what: str) -> None:
    if value.ndim != 2 or value.shape[0] != value.shape[1]:
        raise ValueError(f"{what}: needs a square matrix, got shape {value.shape}")


def require_rows_match(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{what}: the matrix of shape {a.shape} and the right-hand side of shape {b.shape} "
            "have different numbers of rows"
        )


@contextmanager
def lapack_errors(what: str, *values: np.ndarray) -> Iterator[None]:
    """Re-raise LAPACK's ``LinAlgError`` with the op's name and the input shapes."""
    try:
        yield
    except LinAlgError as error:
        shapes = " and ".join(str(np.shape(v)) for v in values)
        raise LinAlgError(f"{what}: {error} (input of shape {shapes})") from error


def store(output_storage: list, position: int, value: Any, variable: Variable) -> None:
    """Store ``value`` as an array of exactly ``variable``'s dtype."""
    output_storage[position][0] = np.asarray(value, dtype=variable.dtype)


# ---- graph pieces ------------------------------------------------------------------------
def matrix_transpose(x: Variable) -> Variable:
    from arignote.tensor.elemwise import DimShuffle

    return DimShuffle(2, (1, 0))(x)


def triangle(x: Variable, lower: bool, k: int = 0) -> Variable:
    """``tril(x, -k)`` if ``lower`` else ``triu(x, k)``: the triangle ``k`` off the diagonal."""
    from arignote.tensor.rearrange import tril, triu

    return tril(x, -k) if lower else triu(x, k)


def fold_triangle(gradient: Variable, lower: bool) -> Variable:
    """The gradient of a function of a symmetric matrix that reads only one triangle.

    ``gradient`` is taken with respect to the full symmetric matrix; the
    entries the function never reads get nothing, and each entry it reads
    gets its own share plus its mirror's.
    """
    return triangle(gradient, lower) + triangle(matrix_transpose(gradient), lower, k=1)


def is_zero_gradient(gradient: Variable) -> bool:
    """Whether ``gradient`` is known to be zero when the graph is built.

    ``grad`` hands an op zeros (``fill(output, 0)``) for the outputs the cost
    does not use; an op whose pullback is undefined or costly for one output
    can then skip that output's terms.
    """
    from arignote.scalar.math import Second
    from arignote.tensor.elemwise import Elemwise

    if isinstance(gradient, Constant):
        return not np.any(gradient.data)
    node = gradient.owner
    if node is None or not isinstance(node.op, Elemwise):
        return False
    if not isinstance(node.op.scalar_op, Second):
        return False
    try:
        return get_scalar_constant_value(node.inputs[1]) == 0
    except NotScalarConstantError:
        return False
