"""Batch normalization against NumPy: train and test modes, running averages through updates.

The reference computes the statistics with ``np.mean``/``np.var`` over the
normalization axes. Rows cover ``'per-activation'``, ``'spatial'`` and an
explicit axes tuple, parameters given with and without the normalized
axes, every returned statistic, and the gradients (``verify_grad`` in
float64) of each.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.tensor import nnet
from arignote.tensor.nnet import bn
from tests.helpers import OpCase, check_infer_shape, check_op, check_op_grad, table_params, uniform

EPSILON = 1e-4


def axes_of(axes, ndim):
    return {"per-activation": (0,), "spatial": (0, *range(2, ndim))}.get(axes, axes)


def as_full(parameter, axes, ndim):
    """A parameter given without the normalized axes, with them put back as length 1."""
    if parameter.ndim == ndim:
        return parameter
    return np.expand_dims(parameter, axis=axes)


def reference_train(x, gamma, beta, axes, running_mean=None, running_var=None, factor=0.1):
    axes = axes_of(axes, x.ndim)
    reduced = gamma.ndim != x.ndim
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    invstd = 1 / np.sqrt(var + EPSILON)
    out = (x - mean) * invstd * as_full(gamma, axes, x.ndim) + as_full(beta, axes, x.ndim)
    statistics = [mean, invstd]
    if running_mean is not None:
        m = np.prod([x.shape[a] for a in axes])
        statistics.append(as_full(running_mean, axes, x.ndim) * (1 - factor) + mean * factor)
        statistics.append(
            as_full(running_var, axes, x.ndim) * (1 - factor) + var * m / (m - 1) * factor
        )
    if reduced:
        statistics = [s.squeeze(axis=axes) for s in statistics]
    return [out, *statistics]


def reference_test(x, gamma, beta, mean, var, axes):
    axes = axes_of(axes, x.ndim)
    full = [as_full(p, axes, x.ndim) for p in (gamma, beta, mean, var)]
    return (x - full[2]) * full[0] / np.sqrt(full[3] + EPSILON) + full[1]


ANY = uniform(-2, 2)
POSITIVE = uniform(0.5, 2)
FLOAT64 = "float64"
# (axes, input shape, parameter shape): parameters without the axes and with them.
SETTINGS = [
    ("per-activation", (5, 3), (3,)),
    ("per-activation", (4, 2, 3, 3), (1, 2, 3, 3)),
    ("spatial", (3, 2, 4, 3), (2,)),
    ("spatial", (3, 2, 4, 3), (1, 2, 1, 1)),
    ((0, 2), (3, 2, 4), (2,)),
]


def running_pair(outputs):
    return 2 * outputs[3] + outputs[4]


def train_rows(axes, shape, parameter_shape):
    name = f"{axes}_{len(shape)}d_{len(parameter_shape)}d"
    ones, zeros = np.ones(parameter_shape), np.zeros(parameter_shape)
    rows = [
        OpCase(
            f"train_out_{name}",
            lambda x, g, b: bn.batch_normalization_train(x, g, b, axes, EPSILON)[0],
            lambda x, g, b: reference_train(x, g, b, axes)[0],
            (ANY, POSITIVE, ANY),
            ((FLOAT64,) * 3, ("float32",) * 3),
            ((shape, parameter_shape, parameter_shape),),
            grad=True,
        )
    ]
    for position, statistic in ((1, "mean"), (2, "invstd")):
        rows.append(
            OpCase(
                f"train_{statistic}_{name}",
                lambda x, position=position: bn.batch_normalization_train(
                    x, ones, zeros, axes, EPSILON
                )[position],
                lambda x, position=position: reference_train(x, ones, zeros, axes)[position],
                (ANY,),
                ((FLOAT64,),),
                ((shape,),),
                grad=True,
            )
        )
    # Both running statistics in one output (each alone leaves the other's input unused).
    rows.append(
        OpCase(
            f"train_running_{name}",
            lambda x, rm, rv: running_pair(
                bn.batch_normalization_train(x, ones, zeros, axes, EPSILON, 0.3, rm, rv)
            ),
            lambda x, rm, rv: running_pair(reference_train(x, ones, zeros, axes, rm, rv, 0.3)),
            (ANY, ANY, POSITIVE),
            ((FLOAT64,) * 3,),
            ((shape, parameter_shape, parameter_shape),),
            grad=True,
        )
    )
    return rows


CASES = [
    *(row for setting in SETTINGS for row in train_rows(*setting)),
    *(
        OpCase(
            f"test_{axes}_{len(shape)}d_{len(parameter_shape)}d",
            lambda x, g, b, m, v, axes=axes: bn.batch_normalization_test(
                x, g, b, m, v, axes, EPSILON
            ),
            lambda x, g, b, m, v, axes=axes: reference_test(x, g, b, m, v, axes),
            (ANY, POSITIVE, ANY, ANY, POSITIVE),
            ((FLOAT64,) * 5, ("float32",) * 5),
            ((shape, *[parameter_shape] * 4),),
            grad=True,
        )
        for axes, shape, parameter_shape in SETTINGS
    ),
    OpCase(
        "batch_normalization",
        lambda x, g, b, m, s: bn.batch_normalization(x, g, b, m, s, mode="high_mem"),
        lambda x, g, b, m, s: (x - m) * (g / s) + b,
        (ANY, POSITIVE, ANY, ANY, POSITIVE),
        ((FLOAT64,) * 5,),
        (((4, 3), (3,), (3,), (3,), (3,)), ((2, 3, 2), (1, 3, 1), (3, 1), (2,), ())),
        grad=True,
    ),
]

VALUE_PARAMS, GRAD_PARAMS = table_params(CASES)


def _rng(case):
    return np.random.default_rng(zlib.crc32(case.name.encode()))


@pytest.mark.parametrize("case, layout, dtypes", VALUE_PARAMS)
def test_value_matches_reference(case, layout, dtypes):
    check_op(case, _rng(case), layout, dtypes)


@pytest.mark.parametrize("case, layout", GRAD_PARAMS)
def test_gradient_matches_finite_differences(case, layout):
    check_op_grad(case, _rng(case), layout)


@pytest.mark.parametrize("case", CASES[:5], ids=lambda c: c.name)
def test_every_node_infers_its_shape(case):
    check_infer_shape(case, _rng(case), case.layouts[0], case.dtypes[0])


# ---- running averages through updates ------------------------------------------------------------
def test_running_averages_follow_the_batches_through_updates():
    rng = np.random.default_rng(0)
    gamma, beta = np.ones(2), np.zeros(2)
    running_mean = arignote.shared(np.zeros(2), name="running_mean")
    running_var = arignote.shared(np.ones(2), name="running_var")
    x = T.tensor4("x")
    out, _, _, new_mean, new_var = bn.batch_normalization_train(
        x,
        gamma,
        beta,
        "spatial",
        running_average_factor=0.25,
        running_mean=running_mean,
        running_var=running_var,
    )
    assert new_mean.type.shape == (2,) or new_mean.ndim == 1
    step = arignote.function([x], out, updates=[(running_mean, new_mean), (running_var, new_var)])
    expected_mean, expected_var = np.zeros(2), np.ones(2)
    for _ in range(3):
        batch = rng.standard_normal((4, 2, 3, 3)) * [[[[1.0]], [[3.0]]]] + [[[[2.0]], [[-1.0]]]]
        step(batch)
        m = 4 * 3 * 3
        expected_mean = 0.75 * expected_mean + 0.25 * batch.mean(axis=(0, 2, 3))
        expected_var = 0.75 * expected_var + 0.25 * batch.var(axis=(0, 2, 3)) * m / (m - 1)
    np.testing.assert_allclose(running_mean.get_value(), expected_mean, rtol=1e-12)
    np.testing.assert_allclose(running_var.get_value(), expected_var, rtol=1e-12)
    # At test time the running statistics normalize.
    test_out = bn.batch_normalization_test(x, gamma, beta, running_mean, running_var, "spatial")
    value = rng.standard_normal((2, 2, 3, 3))
    expected = (value - expected_mean[:, None, None]) / np.sqrt(
        expected_var[:, None, None] + EPSILON
    )
    np.testing.assert_allclose(test_out.eval({x: value}), expected, rtol=1e-10)


def test_second_derivative_of_a_batch_normalized_cost():
    rng = np.random.default_rng(1)

    def hessian_vector(x, gamma):
        out, _, _ = bn.batch_normalization_train(x, gamma, T.zeros_like(gamma), "spatial")
        (g_x,) = arignote.grad((out**3).sum(), [x])
        return g_x

    verify_grad(
        hessian_vector,
        [rng.standard_normal((3, 2, 2, 2)), rng.uniform(0.5, 2, 2)],
        n_tests=1,
        rng=rng,
    )


def test_float32_stays_float32():
    x = T.matrix("x", dtype="float32")
    g = T.vector("g", dtype="float32")
    outputs = bn.batch_normalization_train(x, g, g, running_mean=g, running_var=g)
    assert [o.dtype for o in outputs] == ["float32"] * 5
    assert bn.batch_normalization_test(x, g, g, g, g).dtype == "float32"


def test_arguments_are_checked():
    x = T.tensor4("x")
    with pytest.raises(ValueError, match="axes must be"):
        bn.batch_normalization_train(x, T.vector(), T.vector(), axes="channels")
    with pytest.raises(ValueError, match="gamma must have 4 dimensions .* or 3"):
        bn.batch_normalization_train(x, T.vector(), T.vector())
    with pytest.raises(ValueError, match="both running_mean and running_var"):
        bn.batch_normalization_train(x, T.tensor3(), T.tensor3(), running_mean=T.tensor3())
    with pytest.raises(TypeError, match="float input"):
        bn.batch_normalization_test(T.imatrix(), 1, 0, 0, 1)
    with pytest.raises(ValueError, match="low_mem"):
        bn.batch_normalization(x, 1, 0, 0, 1, mode="fast")


def test_reachable_as_in_theano():
    assert nnet.bn is bn and nnet.batch_normalization is bn.batch_normalization
