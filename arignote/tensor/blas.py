"""BLAS products: ``Gemm``, ``Gemv`` and ``Ger``, calling BLAS through ``scipy.linalg.blas``.

What the specialize stage makes of ``Dot`` and of the scaled sums around it
(``arignote.tensor.rewriting.specialize``); users rarely build them directly.

- ``Gemm{trans_a, trans_b}(alpha, a, b[, beta, c])``: ``alpha * op(a) @ op(b) [+ beta * c]``
- ``Gemv{trans}(alpha, a, x[, beta, y])``: ``alpha * op(a) @ x [+ beta * y]``
- ``Ger(alpha, x, y[, a])``: ``alpha * outer(x, y) [+ a]``

where ``op(m)`` is ``m.T`` when the op's flag says so: a transposed operand
is read in place, never copied. The accumulated operand (``c``, ``y``,
``a``) is optional, so one op serves both the plain and the accumulating
product. Scalars ``alpha``/``beta`` are 0-d tensors, and every input has
one dtype: float32, float64, complex64 or complex128 (what BLAS serves).

BLAS is column-major and NumPy row-major: a C-ordered result is computed as
its transpose in Fortran order (``(A B)^T = B^T A^T``), so C-ordered inputs
reach BLAS without a copy. Inputs are never modified.

BLAS skips the product when ``alpha == 0`` and ignores ``c`` when
``beta == 0``, so a NaN there would vanish; ``perform`` then computes with
NumPy instead, keeping ``0 * nan = nan`` as the unrewritten graph has it
(also for empty operands, which SciPy's wrappers refuse).
"""

from __future__ import annotations

import functools
import importlib

from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import COMPLEX_DTYPES
from arignote.tensor.basic import as_tensor_variable, constant
from arignote.tensor.elemwise import DimShuffle
from arignote.tensor.type import TensorType

BLAS_DTYPES = ("float32", "float64", "complex64", "complex128")


def _checked_operands(op_name: str, named: list[tuple[str, Any, int]]) -> list[Variable]:
    """Each operand as a tensor of the expected ndim, all of the BLAS dtype of the second (the
    first array); Python and NumPy numbers for the scales take that dtype."""
    dtype = as_tensor_variable(named[1][1]).dtype
    if dtype not in BLAS_DTYPES:
        raise TypeError(
            f"{op_name}: BLAS serves {', '.join(BLAS_DTYPES)}; {named[1][0]} {named[1][1]!r} is "
            f"{dtype}"
        )
    operands = []
    for what, value, ndim in named:
        if ndim == 0 and not isinstance(value, Variable) and np.ndim(value) == 0:
            value = constant(np.asarray(value, dtype=dtype))
        variable = as_tensor_variable(value)
        if variable.ndim != ndim:
            kind = {0: "a scalar", 1: "a vector", 2: "a matrix"}[ndim]
            raise TypeError(
                f"{op_name}: {what} must be {kind} (ndim {ndim}), got {variable!r} of type "
                f"{variable.type}"
            )
        if variable.dtype != dtype:
            raise TypeError(
                f"{op_name}: every operand must have dtype {dtype} (that of {named[1][0]}), but "
                f"{what} {variable!r} is {variable.dtype}"
            )
        operands.append(variable)
    return operands


def _merged_length(op_name: str, what: str, *lengths: int | None) -> int | None:
    known = {n for n in lengths if n is not None}
    if len(known) > 1:
        raise ValueError(f"{op_name}: {what} have different lengths {sorted(known)}")
    return known.pop() if known else None


def _fortran_matrix(x: np.ndarray, transposed: bool) -> tuple[np.ndarray, int]:
    """An F-contiguous array and a BLAS trans flag that together stand for ``x.T`` if
    ``transposed`` else ``x``; without a copy when ``x`` is C- or F-contiguous."""
    if x.flags.f_contiguous:
        return x, int(transposed)
    if x.flags.c_contiguous:
        return x.T, int(not transposed)
    return np.asfortranarray(x.T if transposed else x), 0


@functools.lru_cache(maxsize=None)
def _blas_function(name: str, dtype: np.dtype):
    if name == "ger" and dtype.kind == "c":
        name = "geru"  # the unconjugated rank-1 update: outer(x, y), as NumPy's
    # SciPy's BLAS wrappers load on the first product, not when arignote is imported.
    return importlib.import_module("scipy.linalg.blas").get_blas_funcs(name, dtype=dtype)


def _numpy_fallback(alpha, beta, *arrays) -> bool:
    """Whether to compute with NumPy: a plain product (``alpha`` 1, nothing to add), which
    ``np.matmul`` hands to the same BLAS without SciPy's wrapper overhead, or a case BLAS
    gets wrong (a zero scale drops NaNs) or refuses (an empty array)."""
    scale = alpha.item()
    if beta is None and scale == 1:
        return True
    return scale == 0 or (beta is not None and beta.item() == 0) or 0 in [a.size for a in arrays]


def _transposed(x: Variable, flag: bool) -> Variable:
    return DimShuffle(2, (1, 0))(x) if flag else x


def _conj(x: Variable) -> Variable:
    from arignote.tensor.math import conj

    return conj(x) if x.dtype in COMPLEX_DTYPES else x


def _scaled_gradients(alpha, beta, accumulated, product, gz) -> list[Variable]:
    """Gradients of ``alpha * product + beta * accumulated`` for alpha, and for beta and the
    accumulated operand when there is one (Theano's convention: ``g * conj(df/dz)``)."""
    from arignote.tensor.reduction import sum as tensor_sum

    grads = [tensor_sum(gz * _conj(product))]
    if accumulated is not None:
        grads += [tensor_sum(gz * _conj(accumulated)), _conj(beta) * gz]
    return grads


class Gemm(Op):
    """``alpha * op(a) @ op(b)``, plus ``beta * c`` when given; ``op`` transposes per flag.

    >>> import numpy as np, arignote.tensor as T
    >>> a, b = T.matrix("a"), T.matrix("b")
    >>> out = Gemm(trans_a=True, trans_b=False)(np.float64(2), a, b)
    >>> out.eval({a: np.eye(2), b: np.ones((2, 3))}).tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    __props__ = ("trans_a", "trans_b")

    def __init__(self, trans_a: bool = False, trans_b: bool = False):
        self.trans_a = bool(trans_a)
        self.trans_b = bool(trans_b)

    def __str__(self) -> str:
        flags = "".join("T" if t else "N" for t in (self.trans_a, self.trans_b))
        return f"Gemm{{{flags}}}"

    def make_node(self, alpha, a, b, beta=None, c=None) -> Apply:
        if (beta is None) != (c is None):
            raise TypeError("gemm: beta and c come together (both or neither)")
        named = [("alpha", alpha, 0), ("a", a, 2), ("b", b, 2)]
        if c is not None:
            named += [("beta", beta, 0), ("c", c, 2)]
        operands = _checked_operands("gemm", named)
        a, b = operands[1], operands[2]
        rows, inner_a = a.type.shape[::-1] if self.trans_a else a.type.shape
        inner_b, columns = b.type.shape[::-1] if self.trans_b else b.type.shape
        _merged_length("gemm", "the inner axes of op(a) and op(b)", inner_a, inner_b)
        if c is not None:
            c_rows, c_columns = operands[4].type.shape
            rows = _merged_length("gemm", "the rows of op(a) and of c", rows, c_rows)
            columns = _merged_length("gemm", "the columns of op(b) and of c", columns, c_columns)
        output = TensorType(a.dtype, shape=(rows, columns)).make_variable()
        return Apply(self, operands, [output])

    def perform(self, node, inputs, output_storage):
        alpha, a, b, *rest = inputs
        beta, c = rest if rest else (None, None)
        op_a = a.T if self.trans_a else a
        op_b = b.T if self.trans_b else b
        if op_a.shape[1] != op_b.shape[0]:
            raise ValueError(
                f"gemm: shapes {op_a.shape} and {op_b.shape} are not aligned (op(a) and op(b))"
            )
        shape = (op_a.shape[0], op_b.shape[1])
        if c is not None and c.shape != shape:
            raise ValueError(f"gemm: c has shape {c.shape}, but op(a) @ op(b) has {shape}")
        dtype = np.dtype(node.outputs[0].dtype)
        if _numpy_fallback(alpha, beta, a, b):
            result = op_a @ op_b if alpha.item() == 1 else alpha * (op_a @ op_b)
            result = result if c is None else result + beta * c
        else:
            # The C-ordered result is the Fortran-ordered op(b)^T op(a)^T, transposed.
            first, first_flag = _fortran_matrix(b, not self.trans_b)
            second, second_flag = _fortran_matrix(a, not self.trans_a)
            extra = {} if c is None else {"beta": beta.item(), "c": c.T}
            result = _blas_function("gemm", dtype)(
                alpha.item(), first, second, trans_a=first_flag, trans_b=second_flag, **extra
            ).T
        output_storage[0][0] = np.asarray(result, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        a_shape, b_shape = input_shapes[1], input_shapes[2]
        rows = a_shape[1] if self.trans_a else a_shape[0]
        columns = b_shape[0] if self.trans_b else b_shape[1]
        return [(rows, columns)]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.products import dot

        alpha, a, b, *rest = inputs
        beta, c = rest if rest else (None, None)
        (gz,) = output_grads
        op_a, op_b = _transposed(a, self.trans_a), _transposed(b, self.trans_b)
        scaled = _conj(alpha) * gz
        g_op_a = dot(scaled, _conj(_transposed(op_b, True)))
        g_op_b = dot(_conj(_transposed(op_a, True)), scaled)
        g_alpha, *g_rest = _scaled_gradients(alpha, beta, c, dot(op_a, op_b), gz)
        g_a, g_b = _transposed(g_op_a, self.trans_a), _transposed(g_op_b, self.trans_b)
        return [g_alpha, g_a, g_b, *g_rest]


class Gemv(Op):
    """``alpha * op(a) @ x``, plus ``beta * y`` when given; ``op(a)`` is ``a.T`` if ``trans``.

    >>> import numpy as np, arignote.tensor as T
    >>> a, x = T.matrix("a"), T.vector("x")
    >>> Gemv(trans=True)(np.float64(1), a, x).eval({a: [[1.0, 2.0]], x: [3.0]}).tolist()
    [3.0, 6.0]
    """

    __props__ = ("trans",)

    def __init__(self, trans: bool = False):
        self.trans = bool(trans)

    def __str__(self) -> str:
        return f"Gemv{{{'T' if self.trans else 'N'}}}"

    def make_node(self, alpha, a, x, beta=None, y=None) -> Apply:
        if (beta is None) != (y is None):
            raise TypeError("gemv: beta and y come together (both or neither)")
        named = [("alpha", alpha, 0), ("a", a, 2), ("x", x, 1)]
        if y is not None:
            named += [("beta", beta, 0), ("y", y, 1)]
        operands = _checked_operands("gemv", named)
        a, x = operands[1], operands[2]
        rows, inner = a.type.shape[::-1] if self.trans else a.type.shape
        _merged_length("gemv", "the columns of op(a) and x", inner, x.type.shape[0])
        if y is not None:
            rows = _merged_length(
                "gemv", "the rows of op(a) and y", rows, operands[4].type.shape[0]
            )
        output = TensorType(a.dtype, shape=(rows,)).make_variable()
        return Apply(self, operands, [output])

    def perform(self, node, inputs, output_storage):
        alpha, a, x, *rest = inputs
        beta, y = rest if rest else (None, None)
        op_a = a.T if self.trans else a
        if op_a.shape[1] != x.shape[0]:
            raise ValueError(
                f"gemv: shapes {op_a.shape} and {x.shape} are not aligned (op(a) and x)"
            )
        if y is not None and y.shape != (op_a.shape[0],):
            raise ValueError(f"gemv: y has shape {y.shape}, but op(a) @ x has {(op_a.shape[0],)}")
        dtype = np.dtype(node.outputs[0].dtype)
        if _numpy_fallback(alpha, beta, a, x):
            result = op_a @ x if alpha.item() == 1 else alpha * (op_a @ x)
            result = result if y is None else result + beta * y
        else:
            matrix, flag = _fortran_matrix(a, self.trans)
            extra = {} if y is None else {"beta": beta.item(), "y": y}
            result = _blas_function("gemv", dtype)(alpha.item(), matrix, x, trans=flag, **extra)
        output_storage[0][0] = np.asarray(result, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        a_shape = input_shapes[1]
        return [(a_shape[1] if self.trans else a_shape[0],)]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.products import dot, outer

        alpha, a, x, *rest = inputs
        beta, y = rest if rest else (None, None)
        (gz,) = output_grads
        op_a = _transposed(a, self.trans)
        scaled = _conj(alpha) * gz
        g_a = _transposed(outer(scaled, _conj(x)), self.trans)
        g_x = dot(_conj(_transposed(op_a, True)), scaled)
        g_alpha, *g_rest = _scaled_gradients(alpha, beta, y, dot(op_a, x), gz)
        return [g_alpha, g_a, g_x, *g_rest]


class Ger(Op):
    """``alpha * outer(x, y)``, plus ``a`` when given (the rank-1 update).

    >>> import numpy as np, arignote.tensor as T
    >>> x, y = T.vector("x"), T.vector("y")
    >>> Ger()(np.float64(2), x, y).eval({x: [1.0, 2.0], y: [3.0]}).tolist()
    [[6.0], [12.0]]
    """

    __props__ = ()

    def make_node(self, alpha, x, y, a=None) -> Apply:
        named = [("alpha", alpha, 0), ("x", x, 1), ("y", y, 1)]
        if a is not None:
            named.append(("a", a, 2))
        operands = _checked_operands("ger", named)
        rows, columns = operands[1].type.shape[0], operands[2].type.shape[0]
        if a is not None:
            a_rows, a_columns = operands[3].type.shape
            rows = _merged_length("ger", "the lengths of x and the rows of a", rows, a_rows)
            columns = _merged_length(
                "ger", "the lengths of y and the columns of a", columns, a_columns
            )
        output = TensorType(operands[1].dtype, shape=(rows, columns)).make_variable()
        return Apply(self, operands, [output])

    def perform(self, node, inputs, output_storage):
        alpha, x, y, *rest = inputs
        a = rest[0] if rest else None
        shape = (x.shape[0], y.shape[0])
        if a is not None and a.shape != shape:
            raise ValueError(f"ger: a has shape {a.shape}, but outer(x, y) has {shape}")
        dtype = np.dtype(node.outputs[0].dtype)
        if _numpy_fallback(alpha, None, x, y):
            result = alpha * np.outer(x, y)
            result = result if a is None else result + a
        else:
            # The C-ordered result is the Fortran-ordered a^T + alpha * outer(y, x), transposed.
            extra = {} if a is None else {"a": a.T}
            ger = _blas_function("ger", dtype)
            result = ger(alpha.item(), y, x, overwrite_x=0, overwrite_y=0, **extra).T
        output_storage[0][0] = np.asarray(result, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[1][0], input_shapes[2][0])]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.products import dot, outer
        from arignote.tensor.reduction import sum as tensor_sum

        alpha, x, y, *rest = inputs
        (gz,) = output_grads
        scaled = _conj(alpha) * gz
        grads = [
            tensor_sum(gz * _conj(outer(x, y))),
            dot(scaled, _conj(y)),
            dot(_transposed(scaled, True), _conj(x)),
        ]
        return grads + ([gz] if rest else [])


def gemm(alpha, a, b, beta=None, c=None, trans_a: bool = False, trans_b: bool = False):
    """``alpha * op(a) @ op(b) [+ beta * c]``, where ``op`` transposes per flag."""
    return Gemm(trans_a, trans_b)(alpha, a, b, beta, c)


def gemv(alpha, a, x, beta=None, y=None, trans: bool = False):
    """``alpha * op(a) @ x [+ beta * y]``, where ``op(a)`` is ``a.T`` if ``trans``."""
    return Gemv(trans)(alpha, a, x, beta, y)


def ger(alpha, x, y, a=None):
    """``alpha * outer(x, y) [+ a]``."""
    return Ger()(alpha, x, y, a)


__all__ = ["BLAS_DTYPES", "Gemm", "Gemv", "Ger", "gemm", "gemv", "ger"]
