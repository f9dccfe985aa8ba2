"""``arignote.tensor.slinalg`` against SciPy: cholesky, the solvers (general, symmetric,
positive definite, triangular, Cholesky and LU based), lu and lu_factor, the symmetric and
generalized eigenproblem, expm, block_diag and kron.

The ``CASES`` table (run by ``tests/test_op_tables.py``) runs every row on
each of its layouts and dtypes (value, shape and dtype against
``scipy.linalg``), every ``grad`` row through finite differences in float64,
and checks every node's ``infer_shape``. Inputs are well conditioned: a
large diagonal, or ``B Bᵀ + n I`` where positive definiteness is needed. Ops
that read one triangle of their input are fed matrices whose other triangle
is unrelated, so their gradients must leave it alone. Then: errors for
non-square, mismatched, singular and indefinite inputs, and static types.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

import arignote
import arignote.tensor as T
from arignote.gradient import grad
from arignote.tensor import slinalg
from arignote.tensor.slinalg import Cholesky, Solve, SolveTriangular
from tests.helpers import OpCase, positive_definite, uniform, well_conditioned

ANY = uniform(-1, 1)
WELL = well_conditioned()
SPD = positive_definite
FLOATS = (("float64",), ("float32",))
FLOATS2 = (("float64", "float64"), ("float32", "float32"))
NUMERIC2 = FLOATS2 + (("int32", "float64"),)
SQUARE = (((3, 3),), ((1, 1),), ((0, 0),))
# (matrix, right-hand side): a vector, a matrix, one column, nothing.
SYSTEMS = (((3, 3), (3,)), ((3, 3), (3, 2)), ((1, 1), (1, 1)), ((0, 0), (0, 2)))


def row(name, build, reference, layouts, domains=(WELL,), dtypes=FLOATS, **options):
    """A row; gradients on the layouts without an empty dimension; values to 1e-9, or to
    float32's rounding through a factorization where an input is float32."""
    options.setdefault("grad_layouts", tuple(lay for lay in layouts if 0 not in sum(lay, ())))
    options = {"rtol": 1e-9, "atol": 1e-10, "float32_tolerance": (2e-4, 2e-5), **options}
    return OpCase(name, build, reference, domains, dtypes, layouts, **options)


def output(function, position, **options):
    """Output ``position`` of a multi-output function (symbolic or SciPy's)."""
    return lambda *args: function(*args, **options)[position]


def lu_solve_reference(trans):
    return lambda a, b: scipy.linalg.lu_solve(scipy.linalg.lu_factor(a), b, trans)


CASES = [
    *(
        row(
            f"cholesky_{'lower' if lower else 'upper'}",
            lambda x, lower=lower: slinalg.cholesky(x, lower=lower),
            lambda x, lower=lower: scipy.linalg.cholesky(x, lower=lower),
            SQUARE,
            domains=(SPD,),
            grad=True,
        )
        for lower in (True, False)
    ),
    row("solve", slinalg.solve, scipy.linalg.solve, SYSTEMS, (WELL, ANY), NUMERIC2, grad=True),
    row(
        "solve_symmetric",
        slinalg.solve_symmetric,
        lambda a, b: scipy.linalg.solve(a, b, assume_a="sym"),
        SYSTEMS,
        (WELL, ANY),
        FLOATS2,
        grad=True,
    ),
    row(
        "solve_positive_definite_lower",
        lambda a, b: slinalg.solve(a, b, assume_a="pos", lower=True),
        lambda a, b: scipy.linalg.solve(a, b, assume_a="pos", lower=True),
        SYSTEMS,
        (SPD, ANY),
        FLOATS2,
        grad=True,
    ),
    *(
        row(
            f"solve_triangular_{'lower' if lower else 'upper'}_trans{trans}"
            + ("_unit" if unit else ""),
            lambda a, b, lower=lower, trans=trans, unit=unit: slinalg.solve_triangular(
                a, b, trans=trans, lower=lower, unit_diagonal=unit
            ),
            lambda a, b, lower=lower, trans=trans, unit=unit: scipy.linalg.solve_triangular(
                a, b, trans=trans, lower=lower, unit_diagonal=unit
            ),
            SYSTEMS,
            (WELL, ANY),
            NUMERIC2 if trans == 0 else FLOATS2,
            grad=True,
        )
        for lower in (True, False)
        for trans, unit in ((0, False), ("T", False), (0, True), (2, True))
    ),
    row(
        "solve_lower_triangular",
        slinalg.solve_lower_triangular,
        lambda a, b: scipy.linalg.solve_triangular(a, b, lower=True),
        SYSTEMS[:2],
        (WELL, ANY),
        FLOATS2,
    ),
    row(
        "solve_upper_triangular",
        slinalg.solve_upper_triangular,
        lambda a, b: scipy.linalg.solve_triangular(a, b, lower=False),
        SYSTEMS[:2],
        (WELL, ANY),
        FLOATS2,
    ),
    *(
        row(
            f"cho_solve_{'lower' if lower else 'upper'}",
            lambda c, b, lower=lower: slinalg.cho_solve((c, lower), b),
            lambda c, b, lower=lower: scipy.linalg.cho_solve((c, lower), b),
            SYSTEMS,
            (WELL, ANY),
            FLOATS2,
            grad=True,
        )
        for lower in (True, False)
    ),
    *(
        row(
            f"lu_{part}",
            output(slinalg.lu, position),
            output(scipy.linalg.lu, position),
            SQUARE + (((2, 4),), ((4, 2),)),
            dtypes=FLOATS + (("int32",),),
            grad=part != "p",
            grad_layouts=(((3, 3),),),
        )
        for position, part in enumerate("plu")
    ),
    *(
        row(
            f"lu_permute_l_{part}",
            output(slinalg.lu, position, permute_l=True),
            output(scipy.linalg.lu, position, permute_l=True),
            SQUARE + (((2, 4),),),
            grad=True,
            grad_layouts=(((3, 3),),),
        )
        for position, part in enumerate(("pl", "u"))
    ),
    row(
        "lu_factor",
        output(slinalg.lu_factor, 0),
        output(scipy.linalg.lu_factor, 0),
        SQUARE,
        grad=True,
    ),
    row(
        "lu_factor_pivots",
        output(slinalg.lu_factor, 1),
        output(scipy.linalg.lu_factor, 1),
        SQUARE,
        domains=(ANY,),
    ),
    *(
        row(
            f"lu_solve_trans{trans}",
            lambda a, b, trans=trans: slinalg.lu_solve(slinalg.lu_factor(a), b, trans),
            lu_solve_reference(trans),
            SYSTEMS,
            (WELL, ANY),
            NUMERIC2,
            grad=True,
        )
        for trans in (0, 1)
    ),
    row(
        "lu_solve_from_factors",
        # The factors as an input of their own: the gradient reaches them directly.
        lambda f, b: slinalg.lu_solve((f, np.array([2, 1, 2], dtype="int32")), b),
        lambda f, b: scipy.linalg.lu_solve((f, np.array([2, 1, 2])), b),
        (((3, 3), (3, 2)), ((3, 3), (3,))),
        (WELL, ANY),
        FLOATS2,
        grad=True,
    ),
    row(
        "lu_solve_transposed_from_factors",
        lambda f, b: slinalg.lu_solve((f, np.array([1, 1, 2], dtype="int32")), b, trans=1),
        lambda f, b: scipy.linalg.lu_solve((f, np.array([1, 1, 2])), b, trans=1),
        (((3, 3), (3, 2)), ((3, 3), (3,))),
        (WELL, ANY),
        FLOATS2,
        grad=True,
    ),
    row(
        "eigh_values", output(slinalg.eigh, 0), output(np.linalg.eigh, 0), SQUARE, (ANY,), grad=True
    ),
    row(
        "eigh_vectors",
        output(slinalg.eigh, 1),
        output(np.linalg.eigh, 1),
        SQUARE,
        (ANY,),
        grad=True,
    ),
    row(
        "eigh_upper_vectors",
        output(slinalg.eigh, 1, UPLO="U"),
        output(np.linalg.eigh, 1, UPLO="U"),
        SQUARE,
        (ANY,),
        grad=True,
    ),
    row(
        "eigh_generalized_values",
        lambda a, b: slinalg.eigh(a, b=b)[0],
        lambda a, b: scipy.linalg.eigh(a, b)[0],
        (((3, 3), (3, 3)), ((1, 1), (1, 1)), ((0, 0), (0, 0))),
        (ANY, SPD),
        FLOATS2,
        grad=True,
    ),
    row(
        "eigh_generalized_vectors",
        lambda a, b: slinalg.eigh(a, "U", b)[1],
        lambda a, b: scipy.linalg.eigh(a, b, lower=False)[1],
        (((3, 3), (3, 3)),),
        (ANY, SPD),
        FLOATS2,
        grad=True,
    ),
    row("eigvalsh", slinalg.eigvalsh, scipy.linalg.eigvalsh, SQUARE, (ANY,), grad=True),
    row(
        "eigvalsh_generalized_upper",
        lambda a, b: slinalg.eigvalsh(a, b, lower=False),
        lambda a, b: scipy.linalg.eigvalsh(a, b, lower=False),
        (((3, 3), (3, 3)),),
        (ANY, SPD),
        FLOATS2,
        grad=True,
    ),
    row(
        "expm",
        slinalg.expm,
        scipy.linalg.expm,
        SQUARE,
        (ANY,),
        FLOATS + (("int32",),),
        grad=True,
    ),
    row(
        "block_diag",
        slinalg.block_diag,
        scipy.linalg.block_diag,
        (((2, 3), (1, 2), (3,)), ((0, 2), (2, 0), ())),
        (ANY,) * 3,
        (("float64",) * 3, ("float32", "int8", "float32")),
        grad=True,
    ),
    row(
        "kron",
        slinalg.kron,
        np.kron,
        (((2, 3), (3, 2)), ((2,), (2, 3))),
        (ANY, ANY),
        FLOATS2,
        grad=True,
    ),
]


# ---- errors ----------------------------------------------------------------------------------
SQUARE_OPS = {
    "cholesky": slinalg.cholesky,
    "lu_factor": slinalg.lu_factor,
    "expm": slinalg.expm,
    "eigh": slinalg.eigh,
    "solve": lambda a: slinalg.solve(a, np.ones(2)),
    "solve_triangular": lambda a: slinalg.solve_triangular(a, np.ones(2)),
    "cho_solve": lambda a: slinalg.cho_solve((a, True), np.ones(2)),
}


@pytest.mark.parametrize("name", SQUARE_OPS)
def test_non_square_matrices_fail_when_built_if_known_else_at_run_time(name):
    build = SQUARE_OPS[name]
    with pytest.raises(ValueError, match=rf"{name}: needs a square matrix, .* \(2, 3\)"):
        build(T.tensor("float64", shape=(2, 3), name="x"))
    x = T.matrix("x")
    fn = arignote.function([x], build(x))
    with pytest.raises(ValueError, match=rf"{name}: needs a square matrix, got shape \(2, 3\)"):
        fn(np.ones((2, 3)))


def test_mismatched_right_hand_sides():
    a = T.tensor("float64", shape=(3, 3), name="a")
    b = T.tensor("float64", shape=(4,), name="b")
    for build in (
        slinalg.solve,
        slinalg.solve_triangular,
        lambda a, b: slinalg.cho_solve((a, 1), b),
    ):
        with pytest.raises(ValueError, match="has 3 rows .* but b has 4"):
            build(a, b)
    x, y = T.matrix("x"), T.matrix("y")
    fn = arignote.function([x, y], slinalg.solve(x, y))
    with pytest.raises(ValueError, match=r"solve: the matrix of shape \(2, 2\) and the right-hand"):
        fn(np.eye(2), np.ones((3, 1)))
    with pytest.raises(TypeError, match="solve: the right-hand side must have 1 or 2 dimensions"):
        slinalg.solve(T.matrix(), T.tensor3())


@pytest.mark.parametrize(
    "build, matrix, message",
    [
        (
            slinalg.solve,
            [[1.0, 2.0], [2.0, 4.0]],
            r"solve \(general\): .*singular.*\(input of shape \(2, 2\) and \(2,\)\)",
        ),
        (slinalg.solve_lower_triangular, [[0.0, 5.0], [1.0, 1.0]], "solve_triangular: singular"),
        (lambda a, b: slinalg.cholesky(a), [[1.0, 2.0], [2.0, 1.0]], "cholesky: .*not positive"),
    ],
    ids=["solve", "solve_triangular", "cholesky"],
)
def test_singular_and_indefinite_matrices_raise_linalg_errors_naming_the_op(build, matrix, message):
    a, b = T.matrix("a"), T.vector("b")
    fn = arignote.function([a, b], build(a, b), on_unused_input="ignore")
    with pytest.raises(np.linalg.LinAlgError, match=message):
        fn(np.array(matrix), np.ones(2))


def test_cholesky_can_return_nan_instead_of_raising():
    x = T.matrix("x")
    got = arignote.function([x], slinalg.cholesky(x, on_error="nan"))(-np.eye(2))
    assert got.shape == (2, 2) and np.isnan(got).all()
    with pytest.raises(ValueError, match="on_error must be"):
        Cholesky(on_error="ignore")


def test_lu_gradient_is_refused_for_a_known_rectangular_matrix():
    from arignote.gradient import NullTypeGradError

    x = T.tensor("float64", shape=(2, 3), name="x")
    with pytest.raises(NullTypeGradError, match="square matrices"):
        grad(slinalg.lu(x)[2].sum(), x)


def test_argument_errors():
    with pytest.raises(ValueError, match="assume_a must be one of"):
        Solve("banded")
    with pytest.raises(ValueError, match="trans must be"):
        SolveTriangular(trans=3)
    with pytest.raises(ValueError, match="UPLO must be"):
        slinalg.eigh(T.matrix(), "X")
    with pytest.raises(ValueError, match="block_diag: block 0 .* has 3 dimensions"):
        slinalg.block_diag(T.tensor3())
    with pytest.raises(TypeError, match="lu_solve: the pivots must be integers"):
        slinalg.lu_solve((T.matrix(), T.vector()), T.vector())


# ---- types and derivatives -------------------------------------------------------------------
def test_static_shapes_and_dtypes():
    a = T.tensor("float32", shape=(3, None))
    assert slinalg.cholesky(a).type.shape == (3, 3)
    assert slinalg.solve(a, T.fmatrix()).type.shape == (None, None)
    assert [o.type.shape for o in slinalg.lu(T.tensor("float64", shape=(2, 4)))] == [
        (2, 2),
        (2, 2),
        (2, 4),
    ]
    assert [o.dtype for o in slinalg.lu_factor(T.imatrix())] == ["float64", "int32"]
    assert slinalg.expm(T.tensor("float16", shape=(2, 2))).dtype == "float32"
    assert slinalg.block_diag().type.shape == (1, 0)


def test_eigvalsh_of_repeated_eigenvalues_has_a_gradient():
    """The eigenvectors are not unique there, but the cost uses only the values: the
    vectors' (infinite) mixing term is never formed."""
    x = T.matrix("x")
    gradient = arignote.function([x], grad(slinalg.eigvalsh(x).sum(), x))(np.eye(3))
    np.testing.assert_allclose(gradient, np.eye(3), atol=1e-12)


def test_second_derivative_of_solve():
    """Gradients are graphs of the same ops, so they differentiate again."""
    a, b = T.matrix("a"), T.vector("b")
    first = grad(slinalg.solve(a, b).sum(), b)
    second = grad(first.sum(), a)
    a_value = well_conditioned()(np.random.default_rng(4), (3, 3), "float64")
    got = arignote.function([a, b], second, on_unused_input="ignore")(a_value, np.ones(3))
    # sum(A⁻ᵀ 1) = 1ᵀ A⁻¹ 1, whose gradient with respect to A is -(A⁻ᵀ 1)(A⁻¹ 1)ᵀ.
    inverse = np.linalg.inv(a_value)
    expected = -np.outer(inverse.T @ np.ones(3), inverse @ np.ones(3))
    np.testing.assert_allclose(got, expected, rtol=1e-10)
