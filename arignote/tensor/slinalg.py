"""``theano.tensor.slinalg``: linear algebra with SciPy as the reference.

Factorizations (``cholesky``, ``lu``, ``lu_factor``), solvers (``solve``
for general, symmetric and positive definite matrices, ``solve_triangular``,
``cho_solve``, ``lu_solve``), the symmetric eigenproblem (``Eigh``, also
generalized, and ``eigvalsh``), ``expm``, ``block_diag`` and ``kron``.

Every op's gradient is a graph of these same ops (triangular solves above
all), so gradients of gradients work. The formulas, for a cotangent ``G``
of the output:

- ``solve``: ``gb = solve(Aᵀ, G)``, ``gA = -gb xᵀ``; a symmetric or
  positive definite ``A`` is read from one triangle only, and its gradient
  is folded onto that triangle (see ``linalg_common``).
- ``cholesky`` (``A = L Lᵀ``): ``S = L⁻ᵀ Φ(Lᵀ G) L⁻¹`` with ``Φ`` the lower
  triangle with its diagonal halved, folded onto the triangle read.
- ``lu`` (square ``A = P L U``, ``P`` locally constant):
  ``gA = P L⁻ᵀ (tril(Lᵀ gL, -1) + triu(gU Uᵀ)) U⁻ᵀ``.
- ``eigh`` (``A V = B V diag(w)``, ``Vᵀ B V = I``): with ``H = Vᵀ gV`` and
  ``F[j, k] = 1 / (w[k] - w[j])`` off the diagonal,
  ``gA = V (diag(gw) + F∘H) Vᵀ`` and
  ``gB = -V (diag(gw w) + (F∘H) diag(w) + diag(H)/2) Vᵀ``. Repeated
  eigenvalues make ``F`` infinite: the vectors' gradient is then undefined
  (NaN); when the cost uses only the eigenvalues it is never formed.
- ``expm``: the Fréchet derivative at ``Aᵀ`` applied to ``G``, read from
  the top-right block of ``expm([[Aᵀ, G], [0, Aᵀ]])``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.gradient import grad_not_implemented
from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.tensor.linalg_common import (
    as_operand,
    check_rows_match,
    check_square,
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
from arignote.tensor.products import dot, kron, outer
from arignote.tensor.rearrange import diag, diagonal, tril, triu
from arignote.tensor.type import TensorType


def _scipy_linalg():
    """SciPy's linalg, imported when a factorization first runs (``import arignote`` stays light)."""
    return importlib.import_module("scipy.linalg")


def _right_hand_side(b: Any, what: str) -> Variable:
    return as_operand(b, what, (1, 2), "right-hand side")


def _system(matrix: Any, b: Any, what: str, label: str) -> tuple[Variable, Variable, Variable]:
    """A solver's square ``matrix`` (called ``label`` in errors) and right-hand side ``b``,
    checked, and a new variable for the solution ``x`` (``b``'s shape, ``matrix``'s columns)."""
    matrix = as_operand(matrix, what, name=label)
    b = _right_hand_side(b, what)
    check_square(matrix, what)
    check_rows_match(matrix, b, what)
    shape = (matrix.type.shape[1],) + b.type.shape[1:]
    return matrix, b, TensorType(linalg_dtype(matrix.dtype, b.dtype), shape=shape).make_variable()


def _system_values(matrix: Any, b: Any, what: str, dtype: str) -> tuple[Any, Any]:
    """A solver's run-time operands, checked and in the solution's ``dtype``."""
    require_square(matrix, what)
    require_rows_match(matrix, b, what)
    return matrix.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _solution_shape(matrix_shape: Sequence[Any], b_shape: Sequence[Any]) -> list[tuple]:
    return [(matrix_shape[1],) + tuple(b_shape[1:])]


def _times_transpose(u: Variable, v: Variable) -> Variable:
    """``u vᵀ`` for two vectors (an outer product) or two matrices."""
    return outer(u, v) if u.ndim == 1 else dot(u, matrix_transpose(v))


# ---- Cholesky ----------------------------------------------------------------------------
class Cholesky(Op):
    """The Cholesky factor of a symmetric positive definite matrix: ``L`` with
    ``A = L Lᵀ`` (``lower``) or ``U`` with ``A = Uᵀ U``; only that triangle of ``A`` is read.

    ``on_error='nan'`` returns a matrix of NaN instead of raising when ``A``
    is not positive definite.
    """

    __props__ = ("lower", "on_error")

    def __init__(self, lower: bool = True, on_error: str = "raise"):
        if on_error not in ("raise", "nan"):
            raise ValueError(f"Cholesky: on_error must be 'raise' or 'nan', got {on_error!r}")
        self.lower = bool(lower)
        self.on_error = on_error

    def make_node(self, x: Any) -> Apply:
        return square_matrix_apply(self, x, "cholesky")

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        require_square(x, "cholesky")
        dtype = node.outputs[0].dtype
        try:
            with lapack_errors("cholesky", x):
                factor = _scipy_linalg().cholesky(x.astype(dtype, copy=False), lower=self.lower)
        except np.linalg.LinAlgError:
            if self.on_error == "raise":
                raise
            factor = np.full(x.shape, np.nan, dtype=dtype)
        store(output_storage, 0, factor, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        (factor,) = outputs
        (g_factor,) = output_grads
        lower = factor if self.lower else matrix_transpose(factor)
        g_lower = g_factor if self.lower else matrix_transpose(g_factor)
        phi = tril(dot(matrix_transpose(lower), g_lower))
        phi = phi - 0.5 * diag(diagonal(phi))
        # S = L⁻ᵀ Φ L⁻¹, as two triangular solves with Lᵀ.
        left = SolveTriangular(lower=True, trans=1)(lower, phi)
        s = matrix_transpose(SolveTriangular(lower=True, trans=1)(lower, matrix_transpose(left)))
        return [fold_triangle(s, self.lower)]


def cholesky(x: Any, lower: bool = True, on_error: str = "raise"):
    """The Cholesky factor of a symmetric positive definite matrix (``scipy.linalg.cholesky``;
    lower triangular by default, as in Theano).

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]])).eval().tolist()
    [[2.0, 0.0], [1.0, 2.0]]
    """
    return Cholesky(lower, on_error)(x)


# ---- Solve -------------------------------------------------------------------------------
_ASSUME_A = {"gen": "general", "sym": "symmetric", "pos": "positive definite"}


class Solve(Op):
    """``x`` with ``A x = b`` (``scipy.linalg.solve``). ``assume_a`` is ``'gen'`` (general),
    ``'sym'`` (symmetric) or ``'pos'`` (positive definite); for the last two only the
    ``lower`` (or upper) triangle of ``A`` is read."""

    __props__ = ("assume_a", "lower")

    def __init__(self, assume_a: str = "gen", lower: bool = False):
        if assume_a not in _ASSUME_A:
            raise ValueError(
                f"Solve: assume_a must be one of {sorted(_ASSUME_A)}, got {assume_a!r}"
            )
        self.assume_a = assume_a
        self.lower = bool(lower)

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b, x = _system(a, b, "solve", "matrix")
        return Apply(self, [a, b], [x])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        operands = _system_values(a, b, "solve", node.outputs[0].dtype)
        with lapack_errors(f"solve ({_ASSUME_A[self.assume_a]})", a, b):
            x = _scipy_linalg().solve(*operands, assume_a=self.assume_a, lower=self.lower)
        store(output_storage, 0, x, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        return _solution_shape(*input_shapes)

    def L_op(self, inputs, outputs, output_grads):
        a, _ = inputs
        (x,) = outputs
        (gx,) = output_grads
        if self.assume_a == "gen":
            gb = self(matrix_transpose(a), gx)
            return [-_times_transpose(gb, x), gb]
        gb = self(a, gx)
        return [fold_triangle(-_times_transpose(gb, x), self.lower), gb]


def solve(a: Any, b: Any, assume_a: str = "gen", lower: bool = False):
    """Solve ``a x = b`` for ``x`` (``b`` a vector or a matrix of right-hand sides).

    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0])).eval().tolist()
    [0.5, 0.25]
    """
    return Solve(assume_a, lower)(a, b)


def solve_symmetric(a: Any, b: Any):
    """Solve ``a x = b`` for a symmetric ``a`` (its upper triangle is read)."""
    return Solve("sym")(a, b)


# ---- SolveTriangular ---------------------------------------------------------------------
_TRANS = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}


class SolveTriangular(Op):
    """``x`` with ``A x = b`` (``trans=0``) or ``Aᵀ x = b`` (1 or 2) for a triangular ``A``
    (``scipy.linalg.solve_triangular``): only the ``lower`` (or upper) triangle is read, and
    with ``unit_diagonal`` not even the diagonal (taken as ones)."""

    __props__ = ("lower", "trans", "unit_diagonal")

    def __init__(self, lower: bool = False, trans: Any = 0, unit_diagonal: bool = False):
        if trans not in _TRANS:
            raise ValueError(
                f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', not {trans!r}"
            )
        self.lower = bool(lower)
        self.trans = _TRANS[trans]
        self.unit_diagonal = bool(unit_diagonal)

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b, x = _system(a, b, "solve_triangular", "matrix")
        return Apply(self, [a, b], [x])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        operands = _system_values(a, b, "solve_triangular", node.outputs[0].dtype)
        with lapack_errors("solve_triangular", a, b):
            x = _scipy_linalg().solve_triangular(
                *operands, trans=self.trans, lower=self.lower, unit_diagonal=self.unit_diagonal
            )
        store(output_storage, 0, x, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        return _solution_shape(*input_shapes)

    def L_op(self, inputs, outputs, output_grads):
        a, _ = inputs
        (x,) = outputs
        (gx,) = output_grads
        back = SolveTriangular(self.lower, 0 if self.trans else 1, self.unit_diagonal)
        gb = back(a, gx)
        ga = -_times_transpose(x, gb) if self.trans else -_times_transpose(gb, x)
        k = 1 if self.unit_diagonal else 0
        return [tril(ga, -k) if self.lower else triu(ga, k), gb]


def solve_triangular(
    a: Any, b: Any, trans: Any = 0, lower: bool = False, unit_diagonal: bool = False
):
    """Solve ``a x = b`` (or ``aᵀ x = b``) for a triangular ``a``; SciPy's signature.

    >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.ones(2), lower=True).eval().tolist()
    [0.5, 0.5]
    """
    return SolveTriangular(lower, trans, unit_diagonal)(a, b)


def solve_lower_triangular(a: Any, b: Any):
    """Theano's name: ``solve_triangular(a, b, lower=True)``."""
    return SolveTriangular(lower=True)(a, b)


def solve_upper_triangular(a: Any, b: Any):
    """Theano's name: ``solve_triangular(a, b, lower=False)``."""
    return SolveTriangular(lower=False)(a, b)


# ---- cho_solve ---------------------------------------------------------------------------
class ChoSolve(Op):
    """``x`` with ``A x = b`` given the Cholesky factor ``c`` of ``A``
    (``scipy.linalg.cho_solve((c, lower), b)``); only ``c``'s triangle is read."""

    __props__ = ("lower",)

    def __init__(self, lower: bool = False):
        self.lower = bool(lower)

    def make_node(self, c: Any, b: Any) -> Apply:
        c, b, x = _system(c, b, "cho_solve", "Cholesky factor")
        return Apply(self, [c, b], [x])

    def perform(self, node, inputs, output_storage):
        c, b = inputs
        factor, rhs = _system_values(c, b, "cho_solve", node.outputs[0].dtype)
        with lapack_errors("cho_solve", c, b):
            x = _scipy_linalg().cho_solve((factor, self.lower), rhs)
        store(output_storage, 0, x, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        return _solution_shape(*input_shapes)

    def L_op(self, inputs, outputs, output_grads):
        c, _ = inputs
        (x,) = outputs
        (gx,) = output_grads
        gb = self(c, gx)
        ga = -_times_transpose(gb, x)
        symmetric = ga + matrix_transpose(ga)
        # A = L Lᵀ or Uᵀ U, with L (U) the triangle of c that is read.
        if self.lower:
            gc = tril(dot(symmetric, tril(c)))
        else:
            gc = triu(dot(triu(c), symmetric))
        return [gc, gb]


def cho_solve(c_and_lower: tuple[Any, bool], b: Any):
    """Solve ``A x = b`` from ``(c, lower)``, the Cholesky factor of ``A`` (SciPy's signature).

    >>> cho_solve((np.array([[2.0, 0.0], [0.0, 1.0]]), True), np.ones(2)).eval().tolist()
    [0.25, 1.0]
    """
    c, lower = c_and_lower
    return ChoSolve(lower)(c, b)


# ---- LU ----------------------------------------------------------------------------------
def _unit_lower(lu: Variable) -> Variable:
    from arignote.tensor.alloc import eye
    from arignote.tensor.shape import shape_i

    return tril(lu, -1) + eye(shape_i(lu, 0), shape_i(lu, 1), dtype=lu.dtype)


def _lu_core_gradient(
    lower: Variable, upper: Variable, g_lower: Variable, g_upper: Variable
) -> Variable:
    """``tril(Lᵀ gL, -1) + triu(gU Uᵀ)``: the cotangent of ``L⁻¹ Pᵀ dA U⁻¹``."""
    return tril(dot(matrix_transpose(lower), g_lower), -1) + triu(
        dot(g_upper, matrix_transpose(upper))
    )


def _times_inverse_transpose(x: Variable, upper: Variable) -> Variable:
    """``x U⁻ᵀ`` for an upper triangular ``U``."""
    return matrix_transpose(SolveTriangular(lower=False)(upper, matrix_transpose(x)))


class LU(Op):
    """The LU factorization with partial pivoting, ``scipy.linalg.lu``: ``A = P L U`` with
    outputs ``(P, L, U)``, or ``(P L, U)`` with ``permute_l``.

    The gradient is for square matrices (``P`` is locally constant): refused when the
    static shape shows a rectangular one; otherwise a rectangular value fails at run time in
    the gradient's triangular solves.
    """

    __props__ = ("permute_l",)

    def __init__(self, permute_l: bool = False):
        self.permute_l = bool(permute_l)

    def make_node(self, a: Any) -> Apply:
        a = as_operand(a, "lu", name="input")
        dtype = linalg_dtype(a.dtype)
        m, n = a.type.shape
        k = min(m, n) if m is not None and n is not None else None
        shapes = [(m, m), (m, k), (k, n)]
        if self.permute_l:
            shapes = shapes[1:]
        outputs = [TensorType(dtype, shape=s).make_variable() for s in shapes]
        return Apply(self, [a], outputs)

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        if a.ndim != 2:
            raise ValueError(f"lu: needs a matrix, got shape {a.shape}")
        with lapack_errors("lu", a):
            factors = _scipy_linalg().lu(
                a.astype(node.outputs[0].dtype, copy=False), permute_l=self.permute_l
            )
        for position, (value, variable) in enumerate(zip(factors, node.outputs)):
            store(output_storage, position, value, variable)

    def infer_shape(self, node, input_shapes):
        from arignote.tensor.math import minimum

        m, n = input_shapes[0]
        k = minimum(m, n)
        shapes = [(m, m), (m, k), (k, n)]
        return shapes[1:] if self.permute_l else shapes

    def L_op(self, inputs, outputs, output_grads):
        (a,) = inputs
        m, n = a.type.shape
        if m is not None and n is not None and m != n:
            return [
                grad_not_implemented(self, 0, a, "the gradient is implemented for square matrices")
            ]
        upper = outputs[-1]
        g_upper = output_grads[-1]
        if self.permute_l:
            # A = M U with M = P L: gA = M⁻ᵀ C U⁻ᵀ, M a permuted triangle (a general solve).
            permuted_lower, g_permuted = outputs[0], output_grads[0]
            # Lᵀ gL = Mᵀ gM, as P is orthogonal: the core is formed from M and gM directly.
            core = _lu_core_gradient(permuted_lower, upper, g_permuted, g_upper)
            right = _times_inverse_transpose(core, upper)
            return [Solve()(matrix_transpose(permuted_lower), right)]
        permutation, lower = outputs[0], outputs[1]
        core = _lu_core_gradient(lower, upper, output_grads[1], g_upper)
        inner = SolveTriangular(lower=True, trans=1, unit_diagonal=True)(
            lower, _times_inverse_transpose(core, upper)
        )
        return [dot(permutation, inner)]


def lu(a: Any, permute_l: bool = False):
    """``scipy.linalg.lu(a)``: ``[P, L, U]`` with ``a = P L U``, or ``[P L, U]``.

    >>> p, l, u = lu(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> u.eval().tolist()
    [[3.0, 4.0], [0.0, 0.6666666666666667]]
    """
    return LU(permute_l)(a)


class LUFactor(Op):
    """``scipy.linalg.lu_factor``: ``L`` and ``U`` packed in one matrix, and the pivots
    (int32, row ``i`` was swapped with row ``piv[i]``), for ``lu_solve``."""

    __props__ = ()

    def make_node(self, a: Any) -> Apply:
        a = as_operand(a, "lu_factor", name="input")
        n = check_square(a, "lu_factor")
        factors = TensorType(linalg_dtype(a.dtype), shape=(n, n)).make_variable()
        pivots = TensorType("int32", shape=(n,)).make_variable()
        return Apply(self, [a], [factors, pivots])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        require_square(a, "lu_factor")
        with lapack_errors("lu_factor", a):
            factors, pivots = _scipy_linalg().lu_factor(a.astype(node.outputs[0].dtype, copy=False))
        store(output_storage, 0, factors, node.outputs[0])
        store(output_storage, 1, pivots, node.outputs[1])

    def infer_shape(self, node, input_shapes):
        (shape,) = input_shapes
        return [shape, shape[:1]]

    def connection_pattern(self, node):
        return [[True, False]]

    def L_op(self, inputs, outputs, output_grads):
        factors, pivots = outputs
        g_factors = output_grads[0]
        upper = triu(factors)
        core = _lu_core_gradient(_unit_lower(factors), upper, tril(g_factors, -1), triu(g_factors))
        # P L⁻ᵀ C U⁻ᵀ = A⁻ᵀ (Uᵀ C U⁻ᵀ): one transposed lu_solve brings P in.
        right = dot(matrix_transpose(upper), _times_inverse_transpose(core, upper))
        return [LUSolve(trans=1)(factors, pivots, right)]


def lu_factor(a: Any):
    """``scipy.linalg.lu_factor(a)``: ``[lu, piv]`` for ``lu_solve``."""
    return LUFactor()(a)


class LUSolve(Op):
    """``x`` with ``A x = b`` (``trans=0``) or ``Aᵀ x = b`` (1, 2) from ``lu_factor(A)``
    (``scipy.linalg.lu_solve``)."""

    __props__ = ("trans",)

    def __init__(self, trans: Any = 0):
        if trans not in _TRANS:
            raise ValueError(f"lu_solve: trans must be 0, 1, 2, 'N', 'T' or 'C', not {trans!r}")
        self.trans = _TRANS[trans]

    def make_node(self, factors: Any, pivots: Any, b: Any) -> Apply:
        pivots = as_operand(pivots, "lu_solve", (1,), "pivots")
        if pivots.dtype not in ("int8", "int16", "int32", "int64"):
            raise TypeError(
                f"lu_solve: the pivots must be integers, got {pivots} of type {pivots.type}"
            )
        factors, b, x = _system(factors, b, "lu_solve", "LU factors")
        return Apply(self, [factors, pivots, b], [x])

    def perform(self, node, inputs, output_storage):
        factors, pivots, b = inputs
        lu, rhs = _system_values(factors, b, "lu_solve", node.outputs[0].dtype)
        if pivots.shape != factors.shape[:1]:
            raise ValueError(
                f"lu_solve: {pivots.shape[0]} pivots for a matrix of shape {factors.shape}"
            )
        with lapack_errors("lu_solve", factors, b):
            x = _scipy_linalg().lu_solve((lu, pivots), rhs, self.trans)
        store(output_storage, 0, x, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        factors_shape, _, b_shape = input_shapes
        return _solution_shape(factors_shape, b_shape)

    def connection_pattern(self, node):
        return [[True], [False], [True]]

    def L_op(self, inputs, outputs, output_grads):
        factors, pivots, b = inputs
        (x,) = outputs
        (gx,) = output_grads
        gb = LUSolve(1 if self.trans == 0 else 0)(factors, pivots, gx)
        upper = triu(factors)
        to_upper = SolveTriangular(lower=False, trans=1)
        to_lower = SolveTriangular(lower=True, trans=1, unit_diagonal=True)
        if self.trans == 0:
            # x = U⁻¹ L⁻¹ Pᵀ b: z = U⁻ᵀ gx, L⁻ᵀ z = Pᵀ gb, and L⁻¹ Pᵀ b = U x.
            z = to_upper(factors, gx)
            g_upper = _times_transpose(z, x)
            g_lower = _times_transpose(to_lower(factors, z), dot(upper, x))
        else:
            # x = P L⁻ᵀ U⁻ᵀ b: w = U⁻ᵀ b, v = L⁻ᵀ w = Pᵀ x, and L⁻¹ Pᵀ gx = U gb.
            w = to_upper(factors, b)
            g_upper = _times_transpose(w, gb)
            g_lower = _times_transpose(to_lower(factors, w), dot(upper, gb))
        return [-(triu(g_upper) + tril(g_lower, -1)), None, gb]


def lu_solve(lu_and_piv: tuple[Any, Any], b: Any, trans: Any = 0):
    """Solve ``A x = b`` from ``(lu, piv) = lu_factor(A)`` (SciPy's signature).

    >>> import arignote.tensor as T
    >>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> lu_solve(lu_factor(a), np.array([3.0, 4.0])).eval().round(12).tolist()
    [1.0, 1.0]
    """
    factors, pivots = lu_and_piv
    return LUSolve(trans)(factors, pivots, b)


# ---- symmetric eigenproblem --------------------------------------------------------------
class Eigh(Op):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, from its ``UPLO``
    triangle (``'L'`` or ``'U'``), as ``np.linalg.eigh``; with a second, positive definite
    ``b``, of the generalized problem ``a v = w b v`` (``scipy.linalg.eigh(a, b)``).
    """

    __props__ = ("UPLO",)

    def __init__(self, UPLO: str = "L"):
        if UPLO not in ("L", "U"):
            raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
        self.UPLO = UPLO

    def make_node(self, a: Any, b: Any = None) -> Apply:
        a = as_operand(a, "eigh", name="matrix")
        n = check_square(a, "eigh")
        inputs = [a]
        if b is not None:
            b = as_operand(b, "eigh", name="second matrix")
            check_square(b, "eigh")
            check_rows_match(a, b, "eigh")
            inputs.append(b)
        dtype = linalg_dtype(*(i.dtype for i in inputs))
        values = TensorType(real_dtype(dtype), shape=(n,)).make_variable()
        vectors = TensorType(dtype, shape=(n, n)).make_variable()
        return Apply(self, inputs, [values, vectors])

    def perform(self, node, inputs, output_storage):
        dtype = node.outputs[1].dtype
        for value in inputs:
            require_square(value, "eigh")
        arrays = [value.astype(dtype, copy=False) for value in inputs]
        with lapack_errors("eigh", *inputs):
            if len(arrays) == 1:
                values, vectors = np.linalg.eigh(arrays[0], UPLO=self.UPLO)
            else:
                require_rows_match(*arrays, "eigh")
                values, vectors = _scipy_linalg().eigh(*arrays, lower=self.UPLO == "L")
        store(output_storage, 0, values, node.outputs[0])
        store(output_storage, 1, vectors, node.outputs[1])

    def infer_shape(self, node, input_shapes):
        shape = input_shapes[0]
        return [shape[:1], shape]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.alloc import eye
        from arignote.tensor.math import switch

        values, vectors = outputs
        g_values, g_vectors = output_grads
        lower = self.UPLO == "L"

        def rotate(core):
            return fold_triangle(dot(dot(vectors, core), matrix_transpose(vectors)), lower)

        core_a = diag(g_values)
        core_b = -diag(g_values * values)
        if not is_zero_gradient(g_vectors):
            h = dot(matrix_transpose(vectors), g_vectors)
            gaps = values.dimshuffle("x", 0) - values.dimshuffle(0, "x")
            on_diagonal = eye(values.shape[0], dtype="int8")
            mixing = switch(on_diagonal, 0, h / switch(on_diagonal, 1, gaps))
            core_a = core_a + mixing
            core_b = core_b - mixing * values.dimshuffle("x", 0) - 0.5 * diag(diagonal(h))
        gradients = [rotate(core_a)]
        if len(inputs) == 2:
            gradients.append(rotate(core_b))
        return gradients


def eigh(a: Any, UPLO: str = "L", b: Any = None):
    """``[w, v]``: eigenvalues and eigenvectors of the symmetric ``a`` (``np.linalg.eigh``),
    or of ``a v = w b v`` when ``b`` is given.

    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w.eval().round(12).tolist()
    [1.0, 3.0]
    """
    return Eigh(UPLO)(a) if b is None else Eigh(UPLO)(a, b)


def eigvalsh(a: Any, b: Any = None, lower: bool = True):
    """Eigenvalues of the symmetric ``a``, or of ``a v = w b v`` (``scipy.linalg.eigvalsh``).

    >>> eigvalsh(np.array([[2.0, 0.0], [0.0, 1.0]])).eval().tolist()
    [1.0, 2.0]
    """
    return eigh(a, "L" if lower else "U", b)[0]


# ---- expm --------------------------------------------------------------------------------
class Expm(Op):
    """The matrix exponential (``scipy.linalg.expm``)."""

    __props__ = ()

    def make_node(self, a: Any) -> Apply:
        return square_matrix_apply(self, a, "expm")

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        require_square(a, "expm")
        with lapack_errors("expm", a):
            result = _scipy_linalg().expm(a.astype(node.outputs[0].dtype, copy=False))
        store(output_storage, 0, result, node.outputs[0])

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.alloc import zeros_like
        from arignote.tensor.join import concatenate
        from arignote.tensor.shape import shape_i

        (a,) = inputs
        (g,) = output_grads
        transposed = matrix_transpose(a).astype(outputs[0].dtype)
        g = g.astype(outputs[0].dtype)
        block = concatenate(
            [
                concatenate([transposed, g], axis=1),
                concatenate([zeros_like(transposed), transposed], axis=1),
            ],
            axis=0,
        )
        n = shape_i(a, 0)
        return [self(block)[:n, n:]]


def expm(a: Any):
    """The matrix exponential of a square matrix.

    >>> expm(np.zeros((2, 2))).eval().tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return Expm()(a)


# ---- block_diag --------------------------------------------------------------------------
def block_diag(*matrices: Any):
    """The block diagonal matrix of ``matrices`` (``scipy.linalg.block_diag``); a composite
    of joins, so it takes symbolic shapes and passes gradients to every block. Vectors are
    rows and scalars 1 by 1 matrices, as in SciPy.

    >>> block_diag(np.ones((1, 1)), 2 * np.ones((1, 2))).eval().tolist()
    [[1.0, 0.0, 0.0], [0.0, 2.0, 2.0]]
    """
    from arignote.scalar.basic import upcast
    from arignote.tensor.alloc import zeros
    from arignote.tensor.basic import as_tensor_variable
    from arignote.tensor.elemwise import pad_left
    from arignote.tensor.join import concatenate
    from arignote.tensor.shape import shape_i

    blocks = []
    for position, matrix in enumerate(matrices):
        matrix = as_tensor_variable(matrix)
        if matrix.ndim > 2:
            raise ValueError(
                f"block_diag: block {position} ({matrix}) has {matrix.ndim} dimensions; "
                "blocks are matrices, vectors (rows) or scalars"
            )
        blocks.append(pad_left(matrix, 2))
    if not blocks:
        return zeros((1, 0))
    dtype = upcast(*(b.dtype for b in blocks))
    blocks = [b.astype(dtype) for b in blocks]
    if len(blocks) == 1:
        return blocks[0]
    rows = []
    for position, block in enumerate(blocks):
        height = shape_i(block, 0)
        row = [
            block if column == position else zeros((height, shape_i(other, 1)), dtype=dtype)
            for column, other in enumerate(blocks)
        ]
        rows.append(concatenate(row, axis=1))
    return concatenate(rows, axis=0)


__all__ = [
    "LU",
    "ChoSolve",
    "Cholesky",
    "Eigh",
    "Expm",
    "LUFactor",
    "LUSolve",
    "Solve",
    "SolveTriangular",
    "block_diag",
    "cho_solve",
    "cholesky",
    "eigh",
    "eigvalsh",
    "expm",
    "kron",
    "lu",
    "lu_factor",
    "lu_solve",
    "solve",
    "solve_lower_triangular",
    "solve_symmetric",
    "solve_triangular",
    "solve_upper_triangular",
]
