"""``arignote.tensor.nlinalg`` against NumPy: inverses, determinants, eig, SVD, QR, lstsq,
diagonals, matrix powers, norms, tensorinv and tensorsolve.

The ``CASES`` table (run by ``tests/test_op_tables.py``) runs every row
on each of its layouts and dtypes (value, shape and dtype against
``np.linalg``), every ``grad`` row through finite differences in float64
on well-conditioned matrices (a large diagonal, or ``B Bᵀ + n I`` where
symmetry matters), and checks every node's ``infer_shape``. Multi-output
ops have a row per output. Then: errors for non-square and singular
inputs, gradients that are refused with a reason, static shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import NullTypeGradError, grad
from arignote.tensor import nlinalg
from arignote.tensor.nlinalg import SVD, Lstsq, QRFull
from tests.helpers import OpCase, positive_definite, uniform, well_conditioned

ANY = uniform(-1, 1)
WELL = well_conditioned()
FLOATS = (("float64",), ("float32",))
NUMERIC = FLOATS + (("int32",),)
SQUARE = (((3, 3),), ((1, 1),), ((0, 0),))
RECTANGULAR = (((4, 3),), ((3, 4),), ((3, 3),), ((0, 3),))
GRAD_SQUARE = (((3, 3),),)
GRAD_RECTANGULAR = (((4, 3),), ((3, 4),))


def row(name, build, reference, layouts, domains=(WELL,), dtypes=FLOATS, **options):
    """A row; gradients on the layouts without an empty dimension; values to 1e-9, or to
    float32's rounding through a factorization where an input is float32."""
    options.setdefault("grad_layouts", tuple(lay for lay in layouts if 0 not in sum(lay, ())))
    options = {"rtol": 1e-9, "atol": 1e-10, "float32_tolerance": (2e-4, 2e-5), **options}
    return OpCase(name, build, reference, domains, dtypes, layouts, **options)


def output(function, position, **options):
    """Output ``position`` of a multi-output function (symbolic or NumPy's)."""
    return lambda *args: function(*args, **options)[position]


def complex_of(dtype):
    return "complex64" if dtype == "float32" else "complex128"


CASES = [
    row("matrix_inverse", nlinalg.matrix_inverse, np.linalg.inv, SQUARE, dtypes=NUMERIC, grad=True),
    row("pinv", nlinalg.pinv, np.linalg.pinv, RECTANGULAR, domains=(ANY,), grad=True),
    row(
        "pinv_hermitian",
        lambda x: nlinalg.pinv(x, hermitian=True),
        lambda x: np.linalg.pinv(x, hermitian=True),
        SQUARE,
        domains=(positive_definite,),
        grad=True,
    ),
    row("det", nlinalg.det, np.linalg.det, SQUARE, dtypes=NUMERIC, grad=True),
    row(
        "slogdet_sign",
        output(nlinalg.slogdet, 0),
        output(np.linalg.slogdet, 0),
        SQUARE,
        domains=(ANY,),
    ),
    row(
        "slogdet_log",
        output(nlinalg.slogdet, 1),
        output(np.linalg.slogdet, 1),
        SQUARE,
        dtypes=NUMERIC,
        grad=True,
    ),
    row(
        "eig_values",
        output(nlinalg.eig, 0),
        output(np.linalg.eig, 0),
        SQUARE,
        domains=(ANY,),
        out_dtype=complex_of,
    ),
    row(
        "eig_vectors",
        output(nlinalg.eig, 1),
        output(np.linalg.eig, 1),
        SQUARE,
        domains=(ANY,),
        out_dtype=complex_of,
    ),
    row(
        "svd_values",
        lambda x: nlinalg.svd(x, compute_uv=False),
        lambda x: np.linalg.svd(x, compute_uv=False),
        RECTANGULAR,
        domains=(ANY,),
        grad=True,
    ),
    *(
        row(
            f"svd_thin_{part}",
            output(nlinalg.svd, position, full_matrices=False),
            output(np.linalg.svd, position, full_matrices=False),
            RECTANGULAR,
            domains=(ANY,),
            grad=True,
        )
        for position, part in enumerate(("u", "s", "vh"))
    ),
    *(
        row(
            f"svd_full_{part}",
            output(nlinalg.svd, position),
            output(np.linalg.svd, position),
            RECTANGULAR,
            domains=(ANY,),
            grad=part == "s",  # the vectors need a static shape that shows a square input
        )
        for position, part in enumerate(("u", "s", "vh"))
    ),
    row(
        "qr_q",
        output(nlinalg.qr, 0),
        output(np.linalg.qr, 0),
        RECTANGULAR,
        domains=(ANY,),
        grad=True,
    ),
    row(
        "qr_r",
        output(nlinalg.qr, 1),
        output(np.linalg.qr, 1),
        RECTANGULAR,
        domains=(ANY,),
        grad=True,
    ),
    row(
        "qr_r_only",
        lambda x: nlinalg.qr(x, "r"),
        lambda x: np.linalg.qr(x, "r"),
        RECTANGULAR,
        domains=(ANY,),
        grad=True,
    ),
    row(
        "qr_complete_q",
        output(nlinalg.qr, 0, mode="complete"),
        output(np.linalg.qr, 0, mode="complete"),
        RECTANGULAR,
        domains=(ANY,),
    ),
    row(
        "qr_raw_h",
        output(nlinalg.qr, 0, mode="raw"),
        output(np.linalg.qr, 0, mode="raw"),
        RECTANGULAR,
        domains=(ANY,),
    ),
    row(
        "lstsq_x",
        output(nlinalg.lstsq, 0),
        output(np.linalg.lstsq, 0),
        (((5, 3), (5,)), ((5, 3), (5, 2)), ((3, 4), (3, 2)), ((0, 2), (0,))),
        domains=(ANY, ANY),
        dtypes=(("float64", "float64"), ("float32", "float32"), ("int32", "float64")),
        grad=True,
    ),
    row(
        "lstsq_residuals",
        output(nlinalg.lstsq, 1),
        output(np.linalg.lstsq, 1),
        (((5, 3), (5, 2)), ((3, 4), (3,))),
        domains=(ANY, ANY),
        dtypes=(("float64", "float64"),),
    ),
    row(
        "lstsq_rank",
        output(nlinalg.lstsq, 2),
        output(np.linalg.lstsq, 2),
        (((5, 3), (5, 2)), ((3, 4), (3,))),
        domains=(ANY, ANY),
        dtypes=(("float64", "float64"),),
        out_dtype=lambda *dtypes: "int64",
    ),
    row(
        "lstsq_singular_values",
        output(nlinalg.lstsq, 3),
        output(np.linalg.lstsq, 3),
        (((5, 3), (5, 2)),),
        domains=(ANY, ANY),
        dtypes=(("float64", "float64"),),
        grad=True,
    ),
    row(
        "extract_diag",
        lambda x: nlinalg.extract_diag(x, -1),
        lambda x: np.diagonal(x, -1),
        RECTANGULAR,
        domains=(ANY,),
        grad=True,
    ),
    row(
        "alloc_diag",
        lambda v: nlinalg.alloc_diag(v, 2),
        lambda v: np.diag(v, 2),
        (((3,),), ((0,),)),
        domains=(ANY,),
        grad=True,
    ),
    row("diag_of_vector", nlinalg.diag, np.diag, (((3,),),), domains=(ANY,), grad=True),
    row("diag_of_matrix", nlinalg.diag, np.diag, RECTANGULAR, domains=(ANY,), grad=True),
    row("trace", nlinalg.trace, np.trace, RECTANGULAR, domains=(ANY,), dtypes=NUMERIC, grad=True),
    row(
        "matrix_dot",
        nlinalg.matrix_dot,
        lambda a, b, c: a @ b @ c,
        (((2, 3), (3, 4), (4, 2)),),
        domains=(ANY,) * 3,
        dtypes=(("float64",) * 3, ("float32",) * 3),
        grad=True,
    ),
    *(
        row(
            f"matrix_power_{n}".replace("-", "minus_"),
            lambda x, n=n: nlinalg.matrix_power(x, n),
            lambda x, n=n: np.linalg.matrix_power(x, n),
            SQUARE if n else SQUARE[:1],
            dtypes=NUMERIC if n >= 0 else FLOATS,
            grad=n != 0,
        )
        for n in (0, 1, 2, 5, -3)
    ),
    *(
        row(
            f"norm_vector_{order}",
            lambda x, order=order: nlinalg.norm(x, order),
            lambda x, order=order: np.linalg.norm(x, order),
            (((5,),), ((1,),)),
            domains=(uniform(-2, 2, avoid=(0,), gap=0.3),),
            dtypes=NUMERIC,
            grad=order != 0,
        )
        for order in (None, 1, 2, 3, 0.5, -1, 0, np.inf, -np.inf)
    ),
    *(
        row(
            f"norm_matrix_{order}",
            lambda x, order=order: nlinalg.norm(x, order),
            lambda x, order=order: np.linalg.norm(x, order),
            (((4, 3),), ((3, 4),)),
            domains=(ANY,),
            dtypes=NUMERIC,
            grad=True,
        )
        for order in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)
    ),
    *(
        row(
            f"norm_axes_keepdims_{order}",
            lambda x, order=order: nlinalg.norm(x, order, axis=(2, 0), keepdims=True),
            lambda x, order=order: np.linalg.norm(x, order, axis=(2, 0), keepdims=True),
            (((2, 3, 4),), ((2, 0, 4),)),
            domains=(ANY,),
            grad=True,
        )
        for order in ("fro", 1, -np.inf)
    ),
    row(
        "norm_vector_axis",
        lambda x: nlinalg.norm(x, 3, axis=-1),
        lambda x: np.linalg.norm(x, 3, axis=-1),
        (((2, 3, 4),), ((0, 3),)),
        domains=(ANY,),
        grad=True,
    ),
    row(
        "norm_everything",
        lambda x: nlinalg.norm(x, keepdims=True),
        lambda x: np.linalg.norm(x, keepdims=True),
        (((2, 3, 4),), ((),)),
        domains=(ANY,),
        dtypes=NUMERIC,
        grad=True,
    ),
    row(
        "tensorinv",
        lambda x: nlinalg.tensorinv(x.reshape((2, 3, 6)), 2),
        lambda x: np.linalg.tensorinv(x.reshape((2, 3, 6)), 2),
        (((6, 6),),),
        grad=True,
    ),
    row(
        "tensorsolve",
        lambda a, b: nlinalg.tensorsolve(a.reshape((3, 2, 6)), b),
        lambda a, b: np.linalg.tensorsolve(a.reshape((3, 2, 6)), b),
        (((6, 6), (3, 2)),),
        domains=(WELL, ANY),
        dtypes=(("float64", "float64"), ("float32", "float32")),
        grad=True,
    ),
    row(
        "tensorsolve_axes",
        lambda a, b: nlinalg.tensorsolve(a.reshape((6, 2, 3)), b, axes=(0,)),
        lambda a, b: np.linalg.tensorsolve(a.reshape((6, 2, 3)), b, axes=(0,)),
        (((6, 6), (2, 3)),),
        domains=(WELL, ANY),
        dtypes=(("float64", "float64"),),
        grad=True,
    ),
]


# ---- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [nlinalg.matrix_inverse, nlinalg.det, nlinalg.slogdet, nlinalg.eig, nlinalg.trace],
    ids=lambda f: f.__name__,
)
def test_non_square_matrices_fail_when_built_if_known_else_at_run_time(build):
    name = build.__name__
    if name != "trace":
        with pytest.raises(ValueError, match=rf"{name}: needs a square matrix, .* \(2, 3\)"):
            build(T.tensor("float64", shape=(2, 3), name="x"))
        x = T.matrix("x")
        fn = arignote.function([x], build(x))
        with pytest.raises(ValueError, match=rf"{name}: needs a square matrix, got shape \(2, 3\)"):
            fn(np.ones((2, 3)))
    with pytest.raises(TypeError, match=f"{name}: the input must have 2 dimensions"):
        build(T.vector("v"))


def test_singular_matrices_raise_linalg_errors_naming_the_op():
    x = T.matrix("x")
    fn = arignote.function([x], nlinalg.matrix_inverse(x))
    with pytest.raises(
        np.linalg.LinAlgError, match=r"matrix_inverse: .*\(input of shape \(2, 2\)\)"
    ):
        fn(np.ones((2, 2)))
    # A singular matrix has a determinant (0) but no gradient of it: the inverse fails.
    gradient = arignote.function([x], grad(nlinalg.det(x), x))
    with pytest.raises(np.linalg.LinAlgError, match="matrix_inverse"):
        gradient(np.ones((2, 2)))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda x: nlinalg.eig(x)[1], "eigenvectors of a general"),
        (lambda x: nlinalg.svd(x)[0], "full_matrices=True"),
        (lambda x: nlinalg.qr(x, "complete")[0], "mode='complete'"),
        (lambda x: nlinalg.qr(x, "raw")[1], "mode='raw'"),
        (lambda x: nlinalg.lstsq(x, x)[1], "residuals are not differentiable"),
    ],
    ids=["eig", "svd_full", "qr_complete", "qr_raw", "lstsq_residuals"],
)
def test_refused_gradients_name_the_op_and_the_reason(build, message):
    x = T.matrix("x")
    output = build(x)
    cost = (abs(output) if output.dtype.startswith("complex") else output).sum()
    with pytest.raises(NullTypeGradError, match=message):
        grad(cost, x)


def test_svd_vector_gradient_of_a_statically_square_full_svd():
    x = T.tensor("float64", shape=(3, 3), name="x")
    u, _, vh = nlinalg.svd(x)
    value = np.random.default_rng(2).uniform(-1, 1, (3, 3))
    full = arignote.function([x], grad((u * vh.T).sum(), x))(value)
    u_thin, _, vh_thin = nlinalg.svd(x, full_matrices=False)
    thin = arignote.function([x], grad((u_thin * vh_thin.T).sum(), x))(value)
    np.testing.assert_allclose(full, thin, rtol=1e-12)


def test_qr_complete_gradient_when_the_static_shape_is_wide():
    x = T.tensor("float64", shape=(2, 3), name="x")
    q, r = nlinalg.qr(x, "complete")
    value = np.random.default_rng(3).uniform(-1, 1, (2, 3))
    got = arignote.function([x], grad(q.sum() + r.sum(), x))(value)
    q_reduced, r_reduced = nlinalg.qr(x)
    expected = arignote.function([x], grad(q_reduced.sum() + r_reduced.sum(), x))(value)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_other_argument_errors():
    with pytest.raises(ValueError, match="qr: mode must be one of"):
        nlinalg.qr(T.matrix(), "economic")
    with pytest.raises(TypeError, match="matrix_power: the exponent must be an int"):
        nlinalg.matrix_power(T.matrix(), 1.5)
    with pytest.raises(ValueError, match="norm: invalid order 'fro' for vectors"):
        nlinalg.norm(T.vector(), "fro")
    with pytest.raises(ValueError, match="norm: invalid order 3 for matrices"):
        nlinalg.norm(T.matrix(), 3)
    with pytest.raises(NotImplementedError, match="matrices only"):
        nlinalg.norm(T.tensor3(), 2, axis=(0, 1))
    with pytest.raises(ValueError, match="without axis needs a vector or a matrix"):
        nlinalg.norm(T.tensor3(), 1)
    with pytest.raises(ValueError, match=r"tensorinv: the first 2 axes .* hold 6 elements"):
        nlinalg.tensorinv(T.tensor("float64", shape=(2, 3, 4)), 2)
    with pytest.raises(ValueError, match="tensorinv: ind must be"):
        nlinalg.tensorinv(T.matrix(), 0)
    with pytest.raises(ValueError, match="lstsq: .* has 3 rows .* but .* has 4"):
        nlinalg.lstsq(T.tensor("float64", shape=(3, 2)), T.tensor("float64", shape=(4,)))
    with pytest.raises(TypeError, match="diag: needs a vector or a matrix"):
        nlinalg.diag(T.tensor3())


# ---- types -----------------------------------------------------------------------------------
def test_static_shapes_and_dtypes():
    m = T.tensor("float32", shape=(4, 3))
    assert nlinalg.pinv(m).type.shape == (3, 4)
    assert [o.type.shape for o in nlinalg.svd(m)] == [(4, 4), (3,), (3, 3)]
    assert [o.type.shape for o in nlinalg.svd(m, full_matrices=False)] == [(4, 3), (3,), (3, 3)]
    assert [o.type.shape for o in nlinalg.qr(m)] == [(4, 3), (3, 3)]
    assert [o.dtype for o in nlinalg.eig(T.fmatrix())] == ["complex64", "complex64"]
    assert nlinalg.matrix_inverse(T.imatrix()).dtype == "float64"
    assert nlinalg.det(T.tensor("float16", shape=(2, 2))).dtype == "float32"
    assert [o.dtype for o in nlinalg.lstsq(m, T.fvector())] == [
        "float32",
        "float32",
        "int64",
        "float32",
    ]


def test_ops_merge_by_their_flags():
    assert SVD(False, True) == SVD(False, True) != SVD(True, True)
    assert QRFull("r") != QRFull("reduced")
    assert Lstsq(None) != Lstsq(1e-3)
    assert nlinalg.Eigh is T.slinalg.Eigh
