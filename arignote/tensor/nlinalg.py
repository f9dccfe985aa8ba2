"""``theano.tensor.nlinalg``: linear algebra with NumPy as the reference.

Ops: ``MatrixInverse``, ``MatrixPinv``, ``Det``, ``SLogDet``, ``Eig``,
``SVD``, ``QRFull`` and ``Lstsq`` (``Eigh`` lives with the generalized
eigenproblem in ``slinalg`` and is re-exported here, where Theano had it).
Everything else is a composite and inherits its gradient: ``extract_diag``,
``alloc_diag``, ``diag``, ``trace``, ``matrix_dot``, ``matrix_power``
(repeated squaring), ``norm`` (``np.linalg.norm``: vector and matrix
orders), ``tensorinv`` and ``tensorsolve`` (reshapes around an inverse or a
solve).

Gradients, for a cotangent ``G`` of the output:

- ``matrix_inverse``: ``-A⁻ᵀ G A⁻ᵀ``; ``det``: ``G det(A) A⁻ᵀ``;
  ``slogdet``: ``G A⁻ᵀ`` for the log, nothing for the (locally constant) sign.
- ``pinv`` (``P = A⁺``, constant rank):
  ``-Pᵀ G Pᵀ + (I - A P) Gᵀ P Pᵀ + Pᵀ P Gᵀ (I - P A)``.
- ``svd`` (``A = U diag(s) Vᵀ``, ``full_matrices=False``), with
  ``F[i, j] = 1 / (s[j]² - s[i]²)`` off the diagonal:
  ``U [(F∘(UᵀgU - gUᵀU)) S + diag(gs) + S (F∘(VᵀgV - gVᵀV))] Vᵀ
  + (I - UUᵀ) gU S⁻¹ Vᵀ + U S⁻¹ gVᵀ (I - VVᵀ)``. Only ``gs`` is needed
  when the cost uses only the singular values. With ``full_matrices=True``
  on a non-square matrix the extra singular vectors are not functions of
  ``A``: their gradient is not implemented (it is for the singular values).
- ``qr`` (``mode='reduced'`` or ``'r'``): the square-block formula
  ``gX = Q (gR + tril(QᵀgQ - gQᵀQ + R gRᵀ - gR Rᵀ) R⁻ᵀ) + (gQ - Q QᵀgQ) R⁻ᵀ``,
  extended to wide matrices by splitting ``A = [X Y]``.
- ``lstsq``: ``x = A⁺ b``, so ``gb = A⁺ᵀ G`` and ``A`` gets the ``pinv``
  gradient of ``G bᵀ`` (and ``U diag(gs) Vᵀ`` for the singular values).
- ``eig`` (general matrices, complex results): not differentiable here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.gradient import grad_not_implemented
from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.tensor import rearrange
from arignote.tensor.basic import as_tensor_variable, cast
from arignote.tensor.linalg_common import (
    as_operand,
    check_rows_match,
    check_square,
    complex_dtype,
    fold_triangle,
    is_zero_gradient,
    lapack_errors,
    linalg_dtype,
    matrix_transpose,
    real_dtype,
    require_rows_match,
    require_square,
    square_matrix_apply,
    store,
)
from arignote.tensor.products import dot, outer
from arignote.tensor.slinalg import Eigh, SolveTriangular, eigh, solve
from arignote.tensor.type import TensorType


def _as_float_matrix(x: Variable, dtype: str) -> Variable:
    return x if x.dtype == dtype else cast(x, dtype)


# ---- inverse, pseudo-inverse, determinants -----------------------------------------------
class MatrixInverse(Op):
    """The inverse of a square matrix (``np.linalg.inv``)."""

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        return square_matrix_apply(self, x, "matrix_inverse")

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        require_square(x, "matrix_inverse")
        with lapack_errors("matrix_inverse", x):
            inverse = np.linalg.inv(x.astype(node.outputs[0].dtype, copy=False))
        store(output_storage, 0, inverse, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        (inverse,) = outputs
        (g,) = output_grads
        inverse_t = matrix_transpose(inverse)
        return [-dot(dot(inverse_t, g), inverse_t)]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        inverse = self(inputs[0])
        return [-dot(dot(inverse, eval_points[0]), inverse)]


def matrix_inverse(x: Any):
    """The inverse of a square matrix; a singular one raises ``LinAlgError`` at run time.

    >>> matrix_inverse(np.array([[2.0, 0.0], [0.0, 4.0]])).eval().tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return MatrixInverse()(x)


def _pinv_gradient(a: Variable, pinv: Variable, g: Variable) -> Variable:
    """The gradient with respect to ``a`` of ``<g, pinv(a)>``, at constant rank."""
    p_t = matrix_transpose(pinv)
    g_t = matrix_transpose(g)
    left = g_t - dot(a, dot(pinv, g_t))  # (I - A P) Gᵀ
    right = g_t - dot(dot(g_t, pinv), a)  # Gᵀ (I - P A)
    return -dot(dot(p_t, g), p_t) + dot(left, dot(pinv, p_t)) + dot(dot(p_t, pinv), right)


class MatrixPinv(Op):
    """The Moore-Penrose pseudo-inverse (``np.linalg.pinv``); with ``hermitian`` the input
    is taken as symmetric and only its lower triangle is read."""

    __props__ = ("hermitian",)

    def __init__(self, hermitian: bool = False):
        self.hermitian = bool(hermitian)

    def make_node(self, x: Any) -> Apply:
        x = as_operand(x, "pinv", name="input")
        if self.hermitian:
            check_square(x, "pinv (hermitian)")
        rows, columns = x.type.shape
        output = TensorType(linalg_dtype(x.dtype), shape=(columns, rows)).make_variable()
        return Apply(self, [x], [output])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if self.hermitian:
            require_square(x, "pinv (hermitian)")
        with lapack_errors("pinv", x):
            result = np.linalg.pinv(
                x.astype(node.outputs[0].dtype, copy=False), hermitian=self.hermitian
            )
        store(output_storage, 0, result, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        rows, columns = input_shapes[0]
        return [(columns, rows)]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        gradient = _pinv_gradient(
            _as_float_matrix(x, outputs[0].dtype), outputs[0], output_grads[0]
        )
        return [fold_triangle(gradient, lower=True) if self.hermitian else gradient]


def pinv(x: Any, hermitian: bool = False):
    """The pseudo-inverse of a matrix of any shape.

    >>> pinv(np.array([[2.0, 0.0, 0.0]])).eval().tolist()
    [[0.5], [0.0], [0.0]]
    """
    return MatrixPinv(hermitian)(x)


class Det(Op):
    """The determinant of a square matrix (``np.linalg.det``).

    Its gradient, ``det(A) A⁻ᵀ``, needs ``A`` invertible.
    """

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        x = as_operand(x, "det", name="input")
        check_square(x, "det")
        output = TensorType(linalg_dtype(x.dtype), shape=()).make_variable()
        return Apply(self, [x], [output])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        require_square(x, "det")
        with lapack_errors("det", x):
            result = np.linalg.det(x.astype(node.outputs[0].dtype, copy=False))
        store(output_storage, 0, result, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        return [()]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        (g,) = output_grads
        return [(g * outputs[0]) * matrix_transpose(matrix_inverse(x))]


def det(x: Any):
    """The determinant of a square matrix.

    >>> round(float(det(np.array([[2.0, 1.0], [1.0, 3.0]])).eval()), 12)
    5.0
    """
    return Det()(x)


class SLogDet(Op):
    """``[sign, log|det|]`` of a square matrix (``np.linalg.slogdet``), safe from overflow."""

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        x = as_operand(x, "slogdet", name="input")
        check_square(x, "slogdet")
        dtype = linalg_dtype(x.dtype)
        sign = TensorType(dtype, shape=()).make_variable()
        log_magnitude = TensorType(real_dtype(dtype), shape=()).make_variable()
        return Apply(self, [x], [sign, log_magnitude])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        require_square(x, "slogdet")
        with lapack_errors("slogdet", x):
            sign, log_magnitude = np.linalg.slogdet(x.astype(node.outputs[0].dtype, copy=False))
        store(output_storage, 0, sign, node.outputs[0])
        store(output_storage, 1, log_magnitude, node.outputs[1])

    def infer_shape(self, node, input_shapes):
        return [(), ()]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        g_log = output_grads[1]
        return [g_log * matrix_transpose(matrix_inverse(x))]


def slogdet(x: Any):
    """``[sign, logabsdet]``: the determinant is ``sign * exp(logabsdet)``.

    >>> sign, logdet = slogdet(np.diag([-1.0, 2.0]))
    >>> float(sign.eval()), round(float(logdet.eval()), 6)
    (-1.0, 0.693147)
    """
    return SLogDet()(x)


# ---- eigenproblems, SVD, QR --------------------------------------------------------------
class Eig(Op):
    """Eigenvalues and right eigenvectors of a square matrix (``np.linalg.eig``), always
    complex (NumPy gives real arrays when every eigenvalue happens to be real; the output
    type cannot depend on the values). Not differentiable here."""

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        x = as_operand(x, "eig", name="input")
        n = check_square(x, "eig")
        dtype = complex_dtype(linalg_dtype(x.dtype))
        values = TensorType(dtype, shape=(n,)).make_variable()
        vectors = TensorType(dtype, shape=(n, n)).make_variable()
        return Apply(self, [x], [values, vectors])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        require_square(x, "eig")
        with lapack_errors("eig", x):
            values, vectors = np.linalg.eig(x.astype(linalg_dtype(str(x.dtype)), copy=False))
        store(output_storage, 0, values, node.outputs[0])
        store(output_storage, 1, vectors, node.outputs[1])

    def infer_shape(self, node, input_shapes):
        shape = input_shapes[0]
        return [shape[:1], shape]

    def L_op(self, inputs, outputs, output_grads):
        return [
            grad_not_implemented(
                self, 0, inputs[0], "eigenvectors of a general matrix; use eigh for symmetric ones"
            )
        ]


def eig(x: Any):
    """``[w, v]``: complex eigenvalues and eigenvectors of a square matrix.

    >>> w, v = eig(np.array([[0.0, -1.0], [1.0, 0.0]]))
    >>> sorted(w.eval().imag.tolist())
    [-1.0, 1.0]
    """
    return Eig()(x)


class SVD(Op):
    """The singular value decomposition (``np.linalg.svd``): ``[U, s, Vh]`` with
    ``A = U diag(s) Vh`` and ``s`` descending, or ``s`` alone without ``compute_uv``."""

    __props__ = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices: bool = True, compute_uv: bool = True):
        self.full_matrices = bool(full_matrices)
        self.compute_uv = bool(compute_uv)

    def make_node(self, x: Any) -> Apply:
        x = as_operand(x, "svd", name="input")
        dtype = linalg_dtype(x.dtype)
        m, n = x.type.shape
        k = min(m, n) if m is not None and n is not None else None
        values = TensorType(real_dtype(dtype), shape=(k,)).make_variable()
        if not self.compute_uv:
            return Apply(self, [x], [values])
        u_columns, v_rows = (m, n) if self.full_matrices else (k, k)
        u = TensorType(dtype, shape=(m, u_columns)).make_variable()
        vh = TensorType(dtype, shape=(v_rows, n)).make_variable()
        return Apply(self, [x], [u, values, vh])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        with lapack_errors("svd", x):
            result = np.linalg.svd(
                x.astype(linalg_dtype(str(x.dtype)), copy=False),
                full_matrices=self.full_matrices,
                compute_uv=self.compute_uv,
            )
        results = result if self.compute_uv else [result]
        for position, (value, variable) in enumerate(zip(results, node.outputs)):
            store(output_storage, position, value, variable)

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import minimum

        m, n = input_shapes[0]
        k = minimum(m, n)
        if not self.compute_uv:
            return [(k,)]
        return [(m, m), (k,), (n, n)] if self.full_matrices else [(m, k), (k,), (k, n)]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        if not self.compute_uv:
            u, s, vh = SVD(full_matrices=False)(x)
            return [_svd_gradient(u, s, vh, None, output_grads[0], None)]
        g_u, g_s, g_vh = output_grads
        vectors_used = not (is_zero_gradient(g_u) and is_zero_gradient(g_vh))
        m, n = x.type.shape
        if vectors_used and self.full_matrices and (m is None or m != n):
            return [
                grad_not_implemented(
                    self,
                    0,
                    x,
                    "the singular vectors of full_matrices=True beyond min(m, n) are not "
                    "functions of the input (and the static shape does not show it square); "
                    "use full_matrices=False",
                )
            ]
        u, s, vh = outputs
        if not vectors_used:
            if self.full_matrices:
                u, s, vh = SVD(full_matrices=False)(x)
            return [_svd_gradient(u, s, vh, None, g_s, None)]
        return [_svd_gradient(u, s, vh, g_u, g_s, g_vh)]


def _svd_gradient(u, s, vh, g_u, g_s, g_vh) -> Variable:
    """The gradient of the thin SVD (see the module docstring); ``g_u``/``g_vh`` may be None."""
    from arignote.tensor.alloc import eye
    from arignote.tensor.math import switch
    from arignote.tensor.shape import shape_i

    middle = rearrange.diag(g_s)
    if g_u is None:
        return dot(dot(u, middle), vh)
    v, g_v = matrix_transpose(vh), matrix_transpose(g_vh)
    squares = s * s
    gaps = squares.dimshuffle("x", 0) - squares.dimshuffle(0, "x")
    on_diagonal = eye(shape_i(s, 0), dtype="int8")
    f = switch(on_diagonal, 0, 1 / switch(on_diagonal, 1, gaps))
    u_t_gu = dot(matrix_transpose(u), g_u)
    v_t_gv = dot(matrix_transpose(v), g_v)
    j = f * (u_t_gu - matrix_transpose(u_t_gu))
    k = f * (v_t_gv - matrix_transpose(v_t_gv))
    middle = middle + j * s.dimshuffle("x", 0) + s.dimshuffle(0, "x") * k
    inverse_s = 1 / s
    beside_u = (g_u - dot(u, u_t_gu)) * inverse_s.dimshuffle("x", 0)
    beside_v = inverse_s.dimshuffle(0, "x") * (g_vh - dot(matrix_transpose(v_t_gv), vh))
    return dot(dot(u, middle), vh) + dot(beside_u, vh) + dot(u, beside_v)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True):
    """``np.linalg.svd(a, full_matrices, compute_uv)``: ``[U, s, Vh]``, or ``s``.

    >>> svd(np.diag([1.0, 3.0]), compute_uv=False).eval().tolist()
    [3.0, 1.0]
    """
    return SVD(full_matrices, compute_uv)(a)


_QR_MODES = ("reduced", "complete", "r", "raw")


def _qr_shapes(mode: str, m: Any, n: Any, k: Any) -> list[tuple]:
    """The output shapes of ``qr`` in ``mode`` for an m by n input, k = min(m, n)."""
    return {
        "reduced": [(m, k), (k, n)],
        "complete": [(m, m), (m, n)],
        "r": [(k, n)],
        "raw": [(n, m), (k,)],
    }[mode]


class QRFull(Op):
    """The QR decomposition (``np.linalg.qr``): ``mode='reduced'`` gives ``[Q, R]`` with
    ``Q`` m by k (k = min(m, n)), ``'complete'`` ``Q`` m by m, ``'r'`` only ``R``, ``'raw'``
    LAPACK's ``[h, tau]``. Differentiable in modes ``'reduced'`` and ``'r'`` (and
    ``'complete'`` when the static shape shows no more rows than columns), where ``R``'s
    leading square block is invertible."""

    __props__ = ("mode",)

    def __init__(self, mode: str = "reduced"):
        if mode not in _QR_MODES:
            raise ValueError(f"qr: mode must be one of {_QR_MODES}, got {mode!r}")
        self.mode = mode

    def make_node(self, x: Any) -> Apply:
        x = as_operand(x, "qr", name="input")
        dtype = linalg_dtype(x.dtype)
        m, n = x.type.shape
        k = min(m, n) if m is not None and n is not None else None
        shapes = _qr_shapes(self.mode, m, n, k)
        return Apply(self, [x], [TensorType(dtype, shape=s).make_variable() for s in shapes])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        with lapack_errors("qr", x):
            result = np.linalg.qr(x.astype(node.outputs[0].dtype, copy=False), mode=self.mode)
        results = [result] if self.mode == "r" else result
        for position, (value, variable) in enumerate(zip(results, node.outputs)):
            store(output_storage, position, value, variable)

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import minimum

        m, n = input_shapes[0]
        return _qr_shapes(self.mode, m, n, minimum(m, n))

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.alloc import zeros_like

        (x,) = inputs
        m, n = x.type.shape
        if self.mode == "raw" or (self.mode == "complete" and (m is None or n is None or m > n)):
            return [
                grad_not_implemented(
                    self,
                    0,
                    x,
                    f"mode={self.mode!r} (with more rows than columns, or rows not known to be "
                    "fewer, Q's extra columns are not functions of the input); use "
                    "mode='reduced'",
                )
            ]
        if self.mode == "r":
            q, r = QRFull("reduced")(x)
            g_q, g_r = zeros_like(q), output_grads[0]
        else:
            (q, r), (g_q, g_r) = outputs, output_grads
        return [_qr_gradient(_as_float_matrix(x, r.dtype), q, r, g_q, g_r)]


def _times_inverse_transpose(x: Variable, upper: Variable) -> Variable:
    """``x R⁻ᵀ`` for an upper triangular ``R``."""
    return matrix_transpose(SolveTriangular(lower=False)(upper, matrix_transpose(x)))


def _qr_gradient(a, q, r, g_q, g_r) -> Variable:
    """The reduced QR pullback; for a wide ``A = [X Y]`` (``R = [U V]``), ``Y = Q V`` adds
    ``Y gVᵀ`` to ``gQ`` and gets ``Q gV``."""
    from arignote.tensor.join import concatenate
    from arignote.tensor.math import minimum
    from arignote.tensor.shape import shape_i

    k = minimum(shape_i(a, 0), shape_i(a, 1))
    square = r[:, :k]
    g_square, g_rest = g_r[:, :k], g_r[:, k:]
    g_q = g_q + dot(a[:, k:], matrix_transpose(g_rest))
    q_t_gq = dot(matrix_transpose(q), g_q)
    r_gr_t = dot(square, matrix_transpose(g_square))
    mixed = rearrange.tril(q_t_gq - matrix_transpose(q_t_gq) + r_gr_t - matrix_transpose(r_gr_t))
    g_x = dot(q, g_square + _times_inverse_transpose(mixed, square)) + _times_inverse_transpose(
        g_q - dot(q, q_t_gq), square
    )
    return concatenate([g_x, dot(q, g_rest)], axis=1)


def qr(a: Any, mode: str = "reduced"):
    """``np.linalg.qr(a, mode)``: ``[Q, R]`` (``'reduced'``, ``'complete'``), ``R``
    (``'r'``) or ``[h, tau]`` (``'raw'``).

    >>> q, r = qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> np.abs(r.eval()).round(12).tolist()
    [[5.0, 2.2], [0.0, 0.4]]
    """
    return QRFull(mode)(a)


# ---- least squares -----------------------------------------------------------------------
class Lstsq(Op):
    """The least-squares solution of ``a x = b`` (``np.linalg.lstsq``): ``[x, residuals,
    rank, s]`` (``residuals`` is empty unless ``a`` has full column rank and more rows
    than columns). ``rcond`` is NumPy's cut-off for small singular values."""

    __props__ = ("rcond",)

    def __init__(self, rcond: float | None = None):
        self.rcond = None if rcond is None else float(rcond)

    def make_node(self, a: Any, b: Any) -> Apply:
        a = as_operand(a, "lstsq", name="matrix")
        b = as_operand(b, "lstsq", (1, 2), "right-hand side")
        check_rows_match(a, b, "lstsq")
        dtype = linalg_dtype(a.dtype, b.dtype)
        m, n = a.type.shape
        k = min(m, n) if m is not None and n is not None else None
        outputs = [
            TensorType(dtype, shape=(n,) + b.type.shape[1:]).make_variable(),
            TensorType(real_dtype(dtype), shape=(None,)).make_variable(),
            TensorType("int64", shape=()).make_variable(),
            TensorType(real_dtype(dtype), shape=(k,)).make_variable(),
        ]
        return Apply(self, [a, b], outputs)

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        require_rows_match(a, b, "lstsq")
        dtype = node.outputs[0].dtype
        with lapack_errors("lstsq", a, b):
            results = np.linalg.lstsq(
                a.astype(dtype, copy=False), b.astype(dtype, copy=False), rcond=self.rcond
            )
        for position, (value, variable) in enumerate(zip(results, node.outputs)):
            store(output_storage, position, value, variable)

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import minimum

        a, b = node.inputs
        # How many residuals there are depends on the rank, which only the op itself finds.
        residuals = Lstsq(self.rcond)(a, b)[1]
        (m, n), b_shape = input_shapes
        return [(n,) + tuple(b_shape[1:]), (residuals.shape[0],), (), (minimum(m, n),)]

    def connection_pattern(self, node):
        return [[True, True, False, True], [True, True, False, False]]

    def L_op(self, inputs, outputs, output_grads):
        a, b = inputs
        g_x, g_residuals, _, g_s = output_grads
        if not is_zero_gradient(g_residuals):
            reason = "the residuals are not differentiable here; use ((b - a x) ** 2).sum(0)"
            return [grad_not_implemented(self, i, v, reason) for i, v in enumerate(inputs)]
        dtype = outputs[0].dtype
        a, b = _as_float_matrix(a, dtype), _as_float_matrix(b, dtype)
        pseudo_inverse = MatrixPinv()(a)
        g_a = _pinv_gradient(
            a, pseudo_inverse, outer(g_x, b) if b.ndim == 1 else dot(g_x, matrix_transpose(b))
        )
        if not is_zero_gradient(g_s):
            u, _, vh = SVD(full_matrices=False)(a)
            g_a = g_a + _svd_gradient(u, None, vh, None, g_s, None)
        return [g_a, dot(matrix_transpose(pseudo_inverse), g_x)]


def lstsq(a: Any, b: Any, rcond: float | None = None):
    """``[x, residuals, rank, s]`` as ``np.linalg.lstsq(a, b, rcond)``.

    >>> x, residuals, rank, s = lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    >>> x.eval().round(12).tolist(), residuals.eval().round(12).tolist(), int(rank.eval())
    ([2.0], [2.0], 1)
    """
    return Lstsq(rcond)(a, b)


# ---- composites --------------------------------------------------------------------------
def extract_diag(x: Any, offset: int = 0):
    """Diagonal ``offset`` of a matrix (Theano's ``ExtractDiag``; a strided slice).

    >>> extract_diag(np.arange(6.0).reshape(2, 3), 1).eval().tolist()
    [1.0, 5.0]
    """
    return rearrange.diagonal(as_operand(x, "extract_diag", name="input"), offset)


def alloc_diag(v: Any, offset: int = 0):
    """The square matrix with ``v`` on diagonal ``offset`` and zeros elsewhere (Theano's
    ``AllocDiag``).

    >>> alloc_diag(np.array([1.0, 2.0])).eval().tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    return rearrange.diag(as_operand(v, "alloc_diag", (1,), "input"), offset)


def diag(x: Any):
    """Theano's ``nlinalg.diag``: a vector's diagonal matrix, or a matrix's diagonal."""
    x = as_tensor_variable(x)
    if x.ndim == 1:
        return alloc_diag(x)
    if x.ndim == 2:
        return extract_diag(x)
    raise TypeError(f"diag: needs a vector or a matrix, got {x} of type {x.type}")


def trace(x: Any):
    """The sum of a matrix's diagonal.

    >>> float(trace(np.arange(4.0).reshape(2, 2)).eval())
    3.0
    """
    return rearrange.diagonal(as_operand(x, "trace", name="input")).sum()


def matrix_dot(*matrices: Any):
    """The product of several matrices, left to right (``np.linalg.multi_dot`` without the
    reordering)."""
    if not matrices:
        raise TypeError("matrix_dot needs at least one matrix")
    result = as_tensor_variable(matrices[0])
    for matrix in matrices[1:]:
        result = dot(result, matrix)
    return result


def matrix_power(M: Any, n: int):
    """``M`` multiplied by itself ``n`` times (``np.linalg.matrix_power``), by repeated
    squaring; a negative ``n`` inverts first, ``n = 0`` gives the identity.

    >>> matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3).eval().tolist()
    [[1.0, 3.0], [0.0, 1.0]]
    """
    from arignote.tensor.alloc import eye
    from arignote.tensor.shape import shape_i

    M = as_operand(M, "matrix_power", name="input")
    check_square(M, "matrix_power")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent must be an int, got {n!r}")
    if n == 0:
        return eye(shape_i(M, 0), dtype=M.dtype)
    if n < 0:
        M, n = matrix_inverse(M), -n
    result, square = None, M
    while n:
        if n & 1:
            result = square if result is None else dot(result, square)
        n >>= 1
        if n:
            square = dot(square, square)
    return result


def _vector_norm(x: Variable, order: Any, axis: int) -> Variable:
    from arignote.tensor import math
    from arignote.tensor.reduction import max as tensor_max
    from arignote.tensor.reduction import min as tensor_min

    magnitude = math.abs(x)
    if order is None or order == 2:
        return math.sqrt((magnitude * magnitude).sum(axis=axis))
    if isinstance(order, bool) or not isinstance(order, (int, float, np.number)):
        raise ValueError(f"norm: invalid order {order!r} for vectors")  # noqa: TRY004  (NumPy's)
    if order == np.inf:
        return tensor_max(magnitude, axis=axis)
    if order == -np.inf:
        return tensor_min(magnitude, axis=axis)
    if order == 0:
        return cast(math.neq(x, 0), magnitude.dtype).sum(axis=axis)
    if order == 1:
        return magnitude.sum(axis=axis)
    power = np.asarray(order, dtype=magnitude.dtype)  # a constant that keeps float32 float32
    return ((magnitude**power).sum(axis=axis)) ** (1 / power)


def _matrix_norm(x: Variable, order: Any, rows: int, columns: int) -> Variable:
    from arignote.tensor import math
    from arignote.tensor.reduction import max as tensor_max
    from arignote.tensor.reduction import min as tensor_min

    magnitude = math.abs(x)
    if order in (None, "fro"):
        return math.sqrt((magnitude * magnitude).sum(axis=(rows, columns)))
    if order in ("nuc", 2, -2):
        if x.ndim != 2:
            raise NotImplementedError(
                f"norm: order {order!r} needs singular values, implemented for matrices only "
                f"(got {x.ndim} dimensions)"
            )
        values = SVD(compute_uv=False)(x)
        if order == "nuc":
            return values.sum()
        return tensor_max(values) if order == 2 else tensor_min(values)
    if order in (np.inf, -np.inf):
        pick = tensor_max if order == np.inf else tensor_min
        return pick(magnitude.sum(axis=columns), axis=rows - (rows > columns))
    if order in (1, -1):
        pick = tensor_max if order == 1 else tensor_min
        return pick(magnitude.sum(axis=rows), axis=columns - (columns > rows))
    raise ValueError(f"norm: invalid order {order!r} for matrices")


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False):
    """``np.linalg.norm``: vector norms (``ord`` None/2, 1, inf, -inf, 0, any p) over one
    axis, matrix norms (``'fro'``, ``'nuc'``, 1, -1, 2, -2, inf, -inf) over two; without
    ``axis``, a vector's or a matrix's norm, or (``ord=None``) the 2-norm of everything.
    Integers are computed as ``floatX``.

    >>> float(norm(np.array([3.0, -4.0])).eval()), float(norm(np.eye(2), "nuc").eval())
    (5.0, 2.0)
    """
    from arignote.tensor import math
    from arignote.tensor.reduction import keep_reduced_dims, normalize_axes

    x = as_tensor_variable(x)
    dtype = linalg_dtype(x.dtype)
    if x.dtype != dtype and x.dtype not in ("float16", "complex64", "complex128"):
        x = cast(x, dtype)
    if axis is None:
        if ord is None:
            everything = tuple(range(x.ndim))
            magnitude = math.abs(x)
            result = math.sqrt((magnitude * magnitude).sum())
            return keep_reduced_dims(result, everything, x.ndim) if keepdims else result
        if x.ndim not in (1, 2):
            raise ValueError(
                f"norm: ord={ord!r} without axis needs a vector or a matrix, got {x.ndim} "
                "dimensions"
            )
        axis = tuple(range(x.ndim))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    normalized = normalize_axes(axes, x.ndim, "norm: axis")
    if len(axes) == 1:
        result = _vector_norm(x, ord, normalized[0])
    elif len(axes) == 2:
        rows, columns = (int(a) % x.ndim for a in axes)
        result = _matrix_norm(x, ord, rows, columns)
    else:
        raise ValueError(f"norm: axis must name one or two axes, got {axis!r}")
    return keep_reduced_dims(result, normalized, x.ndim) if keepdims else result


def _product(lengths: Sequence[Any]) -> Any:
    product: Any = 1
    for length in lengths:
        product = product * length
    return product


def tensorinv(a: Any, ind: int = 2):
    """The inverse of ``a`` seen as a linear map from its last axes to its first ``ind``
    (``np.linalg.tensorinv``): ``tensordot(tensorinv(a, ind), a, ind)`` is the identity.

    >>> tensorinv(np.eye(4).reshape(4, 2, 2), 1).eval().shape
    (2, 2, 4)
    """
    from arignote.tensor.shape import reshape, shape_i

    a = as_tensor_variable(a)
    if isinstance(ind, bool) or not isinstance(ind, (int, np.integer)) or not 0 < ind < a.ndim:
        raise ValueError(f"tensorinv: ind must be an int in [1, {a.ndim - 1}], got {ind!r}")
    front, back = a.type.shape[:ind], a.type.shape[ind:]
    if None not in front + back and _product(front) != _product(back):
        raise ValueError(
            f"tensorinv: the first {ind} axes of {a} (shape {a.type.shape}) hold "
            f"{_product(front)} elements and the others {_product(back)}; they must match"
        )
    lengths = [shape_i(a, d) for d in range(a.ndim)]
    square = reshape(a, (_product(lengths[ind:]), _product(lengths[:ind])))
    return reshape(matrix_inverse(square), lengths[ind:] + lengths[:ind])


def tensorsolve(a: Any, b: Any, axes: Sequence[int] | None = None):
    """``x`` with ``tensordot(a, x, x.ndim) = b`` (``np.linalg.tensorsolve``); ``axes`` are
    axes of ``a`` moved to the end first.

    >>> tensorsolve(np.eye(6).reshape(6, 2, 3), np.ones(6)).eval().shape
    (2, 3)
    """
    from arignote.tensor.shape import reshape, shape_i, transpose

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if axes is not None:
        order = [d for d in range(a.ndim) if d not in [int(k) % a.ndim for k in axes]]
        a = transpose(a, order + [int(k) % a.ndim for k in axes])
    if a.ndim <= b.ndim:
        raise ValueError(f"tensorsolve: {a} needs more dimensions ({a.ndim}) than {b} ({b.ndim})")
    lengths = [shape_i(a, d) for d in range(a.ndim)]
    solution_lengths = lengths[b.ndim :]
    rows, columns = a.type.shape[: b.ndim], a.type.shape[b.ndim :]
    if None not in rows + columns and _product(rows) != _product(columns):
        raise ValueError(
            f"tensorsolve: prod(a.shape[b.ndim:]) must equal prod(a.shape[:b.ndim]); {a} has "
            f"static shape {a.type.shape} and {b} has {b.ndim} dimensions"
        )
    size = _product(solution_lengths)
    solution = solve(reshape(a, (size, size)), b.flatten())
    return reshape(solution, solution_lengths)


__all__ = [
    "SVD",
    "Det",
    "Eig",
    "Eigh",
    "Lstsq",
    "MatrixInverse",
    "MatrixPinv",
    "QRFull",
    "SLogDet",
    "alloc_diag",
    "det",
    "diag",
    "eig",
    "eigh",
    "extract_diag",
    "lstsq",
    "matrix_dot",
    "matrix_inverse",
    "matrix_power",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "svd",
    "tensorinv",
    "tensorsolve",
    "trace",
]
