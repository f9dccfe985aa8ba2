"""Scaled and accumulating products (``Gemm``, ``Gemv``, ``Ger``) through NumPy's own BLAS.

NumPy's wheels ship OpenBLAS with its CBLAS interface exported
(``scipy_cblas_dgemm64_``: row-major calls, 64-bit integers). Calling it
through ``ctypes`` costs a microsecond; the same products through
``perform`` go through SciPy's wrappers, whose first use imports
``scipy.linalg`` (0.1-0.3 s of a fresh process, more than a warm compile
may take). Where the library or a symbol is not found (another NumPy
build), or for a case BLAS gets wrong or refuses (a zero scale drops
NaNs, empty operands, complex or integer dtypes), the node runs its
``perform``, which is the reference. Plain products (scale 1, nothing
added) are ``np.matmul`` lines (``lowering``), not this.

The accumulated operand (``c``, ``y``, ``a``) is copied into the output
first: inputs are never written.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path
from typing import Any

import numpy as np

from arignote.graph.basic import Apply
from arignote.link.c.lowering import Lowering, NodeCode, native, perform_outputs, perform_thunk

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_C_SCALARS = {"float32": ctypes.c_float, "float64": ctypes.c_double}


@functools.lru_cache(maxsize=1)
def _library() -> tuple[ctypes.CDLL, str, type] | None:
    """NumPy's bundled OpenBLAS, its symbol prefix/suffix and integer type, or None."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        for suffix, integer in (("64_", ctypes.c_int64), ("", ctypes.c_int32)):
            if hasattr(library, f"scipy_cblas_dgemm{suffix}"):
                return library, suffix, integer
    return None


@functools.cache
def _routine(name: str, dtype: str) -> Any:
    """The CBLAS routine ``name`` (``gemm``, ``gemv``, ``ger``) for ``dtype``, or None."""
    found = _library()
    if found is None or dtype not in _C_SCALARS:
        return None
    library, suffix, integer = found
    symbol = f"scipy_cblas_{'s' if dtype == 'float32' else 'd'}{name}{suffix}"
    function = getattr(library, symbol, None)
    if function is None:
        return None
    scalar, pointer, flag = _C_SCALARS[dtype], ctypes.c_void_p, ctypes.c_int
    function.restype = None
    function.argtypes = {
        # order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc
        "gemm": [flag, flag, flag, integer, integer, integer, scalar, pointer, integer]
        + [pointer, integer, scalar, pointer, integer],
        # order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy
        "gemv": [flag, flag, integer, integer, scalar, pointer, integer, pointer, integer]
        + [scalar, pointer, integer],
        # order, m, n, alpha, x, incx, y, incy, a, lda
        "ger": [flag, integer, integer, scalar, pointer, integer, pointer, integer, pointer]
        + [integer],
    }[name]
    return function


def lower_scaled_product(node: Apply) -> Lowering:
    """The lowering of a ``Gemm``/``Gemv``/``Ger`` that is not a plain product."""
    name = type(node.op).__name__.lower()
    dtype = node.outputs[0].type.dtype
    routine = _routine(name, dtype)
    if routine is None:
        why = "no CBLAS in NumPy's wheel" if _library() is None else f"{dtype} has no CBLAS call"
        return native(node, f"BLAS through SciPy (perform): {why}")
    runner = {"gemm": _gemm, "gemv": _gemv, "ger": _ger}[name]
    call = functools.partial(runner, node.op, routine, np.dtype(dtype), perform_outputs(node))
    return Lowering(
        "native",
        lambda kernels, plan: perform_thunk(node, plan),
        detail=f"BLAS ({name} from NumPy's OpenBLAS)",
        emit=lambda kernels, plan, code: _emit_call(call, code),
    )


def _emit_call(call: Any, code: NodeCode) -> None:
    call = code.bind(call, "cblas")
    (output,) = code.outputs
    code.emit(f"{output} = {call}({', '.join(code.inputs)})")
    code.fresh[0] = True


def _matrix(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """``x`` as a row-major matrix BLAS reads, and whether it is ``x`` transposed."""
    if x.flags.c_contiguous:
        return x, False
    if x.flags.f_contiguous:
        return x.T, True
    return np.ascontiguousarray(x), False


def _refused(dtype: np.dtype, scales: tuple, arrays: tuple) -> bool:
    """Cases for ``perform``: BLAS would drop a NaN (zero scale) or refuse the operands."""
    return (
        any(s.item() == 0 for s in scales)
        or any(a.size == 0 for a in arrays)
        or any(a.dtype != dtype for a in arrays)
    )


def _gemm(op, call, dtype, perform, alpha, a, b, beta=None, c=None):
    """``beta * c + alpha * op(a) @ op(b)`` into a copy of ``c``."""
    op_a = a.T if op.trans_a else a
    op_b = b.T if op.trans_b else b
    (m, k), (k_b, n) = op_a.shape, op_b.shape
    arrays = (a, b) if c is None else (a, b, c)
    scales = (alpha,) if beta is None else (alpha, beta)
    if k != k_b or (c is not None and c.shape != (m, n)) or _refused(dtype, scales, arrays):
        return perform([alpha, a, b] + ([] if c is None else [beta, c]))[0]
    left, flip_a = _matrix(op_a)
    right, flip_b = _matrix(op_b)
    out = np.empty((m, n), dtype) if c is None else np.array(c, dtype, order="C")
    call(
        _ROW_MAJOR,
        _TRANS if flip_a else _NO_TRANS,
        _TRANS if flip_b else _NO_TRANS,
        m,
        n,
        k,
        alpha.item(),
        left.ctypes.data,
        max(1, left.shape[1]),
        right.ctypes.data,
        max(1, right.shape[1]),
        0.0 if beta is None else beta.item(),
        out.ctypes.data,
        max(1, n),
    )
    return out


def _gemv(op, call, dtype, perform, alpha, a, x, beta=None, y=None):
    """``beta * y + alpha * op(a) @ x`` into a copy of ``y``."""
    op_a = a.T if op.trans else a
    m, n = op_a.shape
    arrays = (a, x) if y is None else (a, x, y)
    scales = (alpha,) if beta is None else (alpha, beta)
    if n != x.shape[0] or (y is not None and y.shape != (m,)) or _refused(dtype, scales, arrays):
        return perform([alpha, a, x] + ([] if y is None else [beta, y]))[0]
    matrix, flipped = _matrix(op_a)
    rows, columns = matrix.shape
    vector = np.ascontiguousarray(x)
    out = np.empty(m, dtype) if y is None else np.array(y, dtype, order="C")
    call(
        _ROW_MAJOR,
        _TRANS if flipped else _NO_TRANS,
        rows,
        columns,
        alpha.item(),
        matrix.ctypes.data,
        max(1, columns),
        vector.ctypes.data,
        1,
        0.0 if beta is None else beta.item(),
        out.ctypes.data,
        1,
    )
    return out


def _ger(op, call, dtype, perform, alpha, x, y, a=None):
    """``a + alpha * outer(x, y)`` into a copy of ``a`` (zeros without one)."""
    m, n = x.shape[0], y.shape[0]
    arrays = (x, y) if a is None else (x, y, a)
    if (a is not None and a.shape != (m, n)) or _refused(dtype, (alpha,), arrays):
        return perform([alpha, x, y] + ([] if a is None else [a]))[0]
    out = np.zeros((m, n), dtype) if a is None else np.array(a, dtype, order="C")
    left, right = np.ascontiguousarray(x), np.ascontiguousarray(y)
    call(
        _ROW_MAJOR,
        m,
        n,
        alpha.item(),
        left.ctypes.data,
        1,
        right.ctypes.data,
        1,
        out.ctypes.data,
        n,
    )
    return out


__all__ = ["lower_scaled_product"]
