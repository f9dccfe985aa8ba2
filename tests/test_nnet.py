"""``arignote.tensor.nnet`` against NumPy/SciPy: one table, then stability, shapes and errors.

Every row of ``CASES`` (run by ``tests/test_op_tables.py``) runs on each of its
layouts and dtypes (value, shape and dtype against an independent NumPy
reference) and, where marked ``grad``, through ``verify_grad`` in float64 on
domains kept away from kinks (relu and elu at 0, hard_sigmoid at ±2.5,
ultra_fast_sigmoid at ±3.4 and ±6). Rows with integer class targets build them
inside the graph from the input's shape (``labels_for``), so they exist for
every layout, the empty one included.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

import arignote
import arignote.tensor as T
from arignote.gradient import verify_grad
from arignote.graph.traversal import ancestors
from arignote.tensor import nnet
from tests.helpers import OpCase, uniform, variable_for

# ---- references ------------------------------------------------------------------------------
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def float_of(dtype: str) -> str:
    """Theano's ``upgrade_to_float``: small integers give float32, wider ones float64."""
    if dtype in ("bool", "int8", "int16", "uint8", "uint16"):
        return "float32"
    return dtype if np.dtype(dtype).kind == "f" else "float64"


def ultra_fast_sigmoid_reference(x):
    """Theano's piecewise tanh approximation of ``tanh(x / 2)``, branch by branch."""
    half = 0.5 * np.asarray(x, dtype="float64")
    size = np.abs(half)
    tanh_half = np.select(
        [size < 1.7, size < 3],
        [1.5 * size / (1 + size), 0.935409070603099 + 0.0458812946797165 * (size - 1.7)],
        0.99505475368673,
    )
    return 0.5 * (1 + np.sign(half) * tanh_half)


def along(reference, axis):
    """SciPy's ``softmax``/``log_softmax`` along ``axis``; an empty input gives itself."""
    return lambda x: reference(x, axis=axis) if x.size else x.copy()


def elu_reference(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def labels(rows: int, classes: int) -> np.ndarray:
    """The class indices ``labels_for`` builds: spread over the classes, int32."""
    return ((np.arange(rows) * 7 + 2) % max(classes, 1)).astype("int32")


def labels_for(x):
    """``labels`` as a graph of ``x``'s shape, so a row's targets fit every layout."""
    rows, classes = x.shape[0], x.shape[1]
    return T.cast((T.arange(rows) * 7 + 2) % classes, "int32")


def picked(x, y):
    return x[np.arange(x.shape[0]), y]


def nll_reference(x, b=0.0):
    z = x + b
    y = labels(*z.shape)
    if z.size == 0:
        return np.zeros(z.shape[0], z.dtype)
    return scipy.special.logsumexp(z, axis=1) - picked(z, y)


def h_softmax_reference(x, W1, b1, W2, b2, n_outputs, target=None):
    class_probs = scipy.special.softmax(x @ W1 + b1, axis=1)
    within = scipy.special.softmax(np.einsum("bf,cfo->bco", x, W2) + b2, axis=2)
    probs = (class_probs[:, :, None] * within).reshape(x.shape[0], H_CLASSES * H_PER_CLASS)
    probs = probs[:, :n_outputs]
    return probs if target is None else picked(probs, target)


def h_softmax_targets(rows: int) -> np.ndarray:
    return (np.arange(rows) * 2 + 1) % H_OUTPUTS


# ---- domains, layouts, dtypes ----------------------------------------------------------------
ANY = uniform(-3, 3)
AWAY_FROM_0 = uniform(-3, 3, avoid=(0,), gap=0.1)
WIDE = uniform(-8, 8, avoid=(-6, -3.4, 3.4, 6), gap=0.1)
LOGITS = uniform(-5, 5)
PROBABILITY = uniform(0.05, 0.95)
FRACTION = uniform(0, 1)

UNARY = (((5,),), ((),), ((0,),), ((2, 3, 4),), ((3, 1),))
UNARY_GRAD = (((5,),), ((2, 3),))
ELEMENTWISE2 = (((3, 4), (3, 4)), ((1, 4), (3, 4)), ((4,), (3, 4)), ((), ()), ((0,), (0,)))
ELEMENTWISE2_GRAD = (((3, 4), (3, 4)), ((1, 4), (3, 4)))
ROWS = (((3, 4),), ((0, 4),), ((5,),), ((2, 3, 4),), ((1, 4),), ((3, 1),))
ROWS_GRAD = (((3, 4),), ((5,),), ((1, 4),))
MATRICES = (((5, 3),), ((1, 4),), ((0, 3),), ((4, 1),))
MATRICES_GRAD = (((5, 3),), ((1, 4),))
WITH_BIAS = (((5, 3), (3,)), ((1, 4), (4,)), ((0, 3), (3,)))
WITH_BIAS_GRAD = (((5, 3), (3,)), ((1, 4), (4,)))
DISTRIBUTIONS = (((4, 3), (4, 3)), ((1, 3), (4, 3)), ((0, 3), (0, 3)), ((2, 3, 5), (2, 3, 5)))

FLOATS = (("float64",), ("float32",))
FLOATS_INTS = FLOATS + (("int8",), ("int32",))
FLOATS2 = (("float64", "float64"), ("float32", "float32"))

# h_softmax: 2 classes of 3 outputs each, of which the first 5 are used, on 3 features.
H_OUTPUTS, H_CLASSES, H_PER_CLASS, H_FEATURES = 5, 2, 3, 3
H_LAYOUTS = tuple(
    (
        (batch, H_FEATURES),
        (H_FEATURES, H_CLASSES),
        (H_CLASSES,),
        (H_CLASSES, H_FEATURES, H_PER_CLASS),
        (H_CLASSES, H_PER_CLASS),
    )
    for batch in (4, 0)
)


def h_softmax_of(x, W1, b1, W2, b2, target=None):
    return nnet.h_softmax(
        x, x.shape[0], H_OUTPUTS, H_CLASSES, H_PER_CLASS, W1, b1, W2, b2, target=target
    )


def both_outputs(x, b):
    """A cost using both the NLL and the softmax, so both pull back through the op."""
    nll, sm = nnet.crossentropy_softmax_1hot_with_bias(x, b, labels_for(x))
    return 2 * nll + (sm**2).sum(axis=1)


def activation(name, build, reference, domain=ANY, dtypes=FLOATS_INTS, **options):
    return OpCase(
        name,
        build,
        reference,
        (domain,),
        dtypes,
        UNARY,
        out_dtype=float_of,
        grad=True,
        grad_layouts=UNARY_GRAD,
        **options,
    )


CASES = [
    # activations
    activation("ultra_fast_sigmoid", nnet.ultra_fast_sigmoid, ultra_fast_sigmoid_reference, WIDE),
    activation(
        "hard_sigmoid",
        nnet.hard_sigmoid,
        lambda x: np.clip(0.2 * x + 0.5, 0, 1),
        uniform(-4, 4, avoid=(-2.5, 2.5), gap=0.1),
    ),
    activation("softsign", nnet.softsign, lambda x: x / (1 + np.abs(x))),
    activation("relu", nnet.relu, lambda x: np.maximum(x, 0), AWAY_FROM_0),
    activation(
        "relu_leaky",
        lambda x: nnet.relu(x, 0.1),
        lambda x: np.where(x > 0, x, 0.1 * x),
        AWAY_FROM_0,
        dtypes=FLOATS,
    ),
    OpCase(
        "relu_tensor_alpha",
        nnet.relu,
        lambda x, alpha: np.where(x > 0, x, alpha * x),
        (AWAY_FROM_0, uniform(0, 0.5)),
        FLOATS2,
        ELEMENTWISE2,
        grad=True,
        grad_layouts=ELEMENTWISE2_GRAD,
    ),
    activation("elu", nnet.elu, elu_reference, AWAY_FROM_0),
    activation(
        "elu_alpha",
        lambda x: nnet.elu(x, 0.5),
        lambda x: elu_reference(x, 0.5),
        AWAY_FROM_0,
        dtypes=FLOATS,
    ),
    activation("selu", nnet.selu, lambda x: SELU_SCALE * elu_reference(x, SELU_ALPHA), AWAY_FROM_0),
    # softmax and log-softmax
    OpCase(
        "softmax",
        nnet.softmax,
        along(scipy.special.softmax, -1),
        (LOGITS,),
        FLOATS,
        ROWS,
        grad=True,
        grad_layouts=ROWS_GRAD,
    ),
    OpCase(
        "softmax_axis0",
        lambda x: nnet.softmax(x, axis=0),
        along(scipy.special.softmax, 0),
        (LOGITS,),
        FLOATS,
        ROWS,
        grad=True,
        grad_layouts=ROWS_GRAD,
    ),
    OpCase(
        "logsoftmax",
        nnet.logsoftmax,
        along(scipy.special.log_softmax, -1),
        (LOGITS,),
        FLOATS,
        ROWS,
        grad=True,
        grad_layouts=ROWS_GRAD,
    ),
    OpCase(
        "log_softmax_axis0",
        lambda x: nnet.log_softmax(x, axis=0),
        along(scipy.special.log_softmax, 0),
        (LOGITS,),
        FLOATS,
        ROWS,
        grad=True,
        grad_layouts=ROWS_GRAD,
    ),
    # binary cross-entropies
    OpCase(
        "binary_crossentropy",
        nnet.binary_crossentropy,
        lambda o, t: -(t * np.log(o) + (1 - t) * np.log(1 - o)),
        (PROBABILITY, FRACTION),
        FLOATS2,
        ELEMENTWISE2,
        grad=True,
        grad_layouts=ELEMENTWISE2_GRAD,
    ),
    OpCase(
        "sigmoid_binary_crossentropy",
        nnet.sigmoid_binary_crossentropy,
        lambda x, t: np.logaddexp(0, x) - x * t,
        (LOGITS, FRACTION),
        FLOATS2,
        ELEMENTWISE2,
        grad=True,
        grad_layouts=ELEMENTWISE2_GRAD,
    ),
    # categorical cross-entropies
    OpCase(
        "categorical_crossentropy_distributions",
        nnet.categorical_crossentropy,
        lambda p, t: -np.sum(t * np.log(p), axis=-1),
        (PROBABILITY, FRACTION),
        FLOATS2,
        DISTRIBUTIONS,
        grad=True,
        grad_layouts=DISTRIBUTIONS[:2],
    ),
    OpCase(
        "categorical_crossentropy_class_indices",
        lambda p: nnet.categorical_crossentropy(p, labels_for(p)),
        lambda p: -np.log(picked(p, labels(*p.shape))),
        (PROBABILITY,),
        FLOATS,
        MATRICES,
        grad=True,
        grad_layouts=MATRICES_GRAD,
    ),
    OpCase(
        "crossentropy_categorical_1hot",
        lambda p: nnet.crossentropy_categorical_1hot(p, labels_for(p)),
        lambda p: -np.log(picked(p, labels(*p.shape))),
        (PROBABILITY,),
        FLOATS,
        MATRICES,
        grad=True,
        grad_layouts=MATRICES_GRAD,
    ),
    OpCase(
        "crossentropy_softmax_1hot_nll",
        lambda x: nnet.crossentropy_softmax_1hot(x, labels_for(x))[0],
        nll_reference,
        (LOGITS,),
        FLOATS,
        MATRICES,
        grad=True,
        grad_layouts=MATRICES_GRAD,
    ),
    OpCase(
        "crossentropy_softmax_1hot_softmax",
        lambda x: nnet.crossentropy_softmax_1hot(x, labels_for(x))[1],
        lambda x: scipy.special.softmax(x, axis=1),
        (LOGITS,),
        FLOATS,
        MATRICES,
        grad=True,
        grad_layouts=MATRICES_GRAD,
    ),
    OpCase(
        "crossentropy_softmax_1hot_with_bias_both_outputs",
        both_outputs,
        lambda x, b: (
            2 * nll_reference(x, b) + (scipy.special.softmax(x + b, axis=1) ** 2).sum(axis=1)
        ),
        (LOGITS, LOGITS),
        FLOATS2,
        WITH_BIAS,
        grad=True,
        grad_layouts=WITH_BIAS_GRAD,
    ),
    OpCase(
        "crossentropy_softmax_argmax_1hot_with_bias_argmax",
        lambda x, b: nnet.crossentropy_softmax_argmax_1hot_with_bias(x, b, labels_for(x))[2],
        lambda x, b: np.argmax(x + b, axis=1).astype("int32"),
        (LOGITS, LOGITS),
        FLOATS2,
        WITH_BIAS,
    ),
    # hierarchical softmax
    OpCase(
        "h_softmax",
        h_softmax_of,
        lambda x, W1, b1, W2, b2: h_softmax_reference(x, W1, b1, W2, b2, H_OUTPUTS),
        (ANY,) * 5,
        (("float64",) * 5, ("float32",) * 5),
        H_LAYOUTS,
        grad=True,
        grad_layouts=H_LAYOUTS[:1],
    ),
    OpCase(
        "h_softmax_target",
        lambda x, W1, b1, W2, b2: h_softmax_of(
            x, W1, b1, W2, b2, target=(T.arange(x.shape[0]) * 2 + 1) % H_OUTPUTS
        ),
        lambda x, W1, b1, W2, b2: h_softmax_reference(
            x, W1, b1, W2, b2, H_OUTPUTS, h_softmax_targets(x.shape[0])
        ),
        (ANY,) * 5,
        (("float64",) * 5,),
        H_LAYOUTS,
        grad=True,
        grad_layouts=H_LAYOUTS[:1],
    ),
]


# ---- the table builds every nnet op ----------------------------------------------------------
NNET_OPS = (
    nnet.Softmax,
    nnet.LogSoftmax,
    nnet.CrossentropyCategorical1Hot,
    nnet.CrossentropySoftmaxArgmax1HotWithBias,
)


def test_every_nnet_op_has_a_row():
    built = set()
    for case in CASES:
        values = [np.zeros(s, t) for s, t in zip(case.layouts[0], case.dtypes[0])]
        output = case.build(*[variable_for(v) for v in values])
        built |= {type(v.owner.op) for v in ancestors([output]) if v.owner is not None}
    assert set(NNET_OPS) <= built


# ---- stability -------------------------------------------------------------------------------
def test_logsoftmax_is_finite_and_right_at_extremes():
    x = T.matrix("x")
    value = np.asarray([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1001.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        got = nnet.logsoftmax(x).eval({x: value})
        gradient = T.grad(nnet.logsoftmax(x)[:, 1].sum(), x).eval({x: value})
    np.testing.assert_allclose(got, scipy.special.log_softmax(value, axis=1), rtol=1e-15)
    assert got[0, 2] == -2000.0 and np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient[0], [-1.0, 1.0, 0.0], atol=1e-15)


def test_sigmoid_binary_crossentropy_is_finite_and_right_at_extremes():
    x, t = T.vector("x"), T.vector("t")
    logits, targets = (
        np.asarray([1000.0, 1000.0, -1000.0, -1000.0, 40.0]),
        np.asarray([1.0, 0.0, 1.0, 0.0, 1.0]),
    )
    loss = nnet.sigmoid_binary_crossentropy(x, t)
    got = loss.eval({x: logits, t: targets})
    np.testing.assert_allclose(got, [0.0, 1000.0, 1000.0, 0.0, np.exp(-40.0)], rtol=1e-12)
    gradient = T.grad(loss.sum(), x).eval({x: logits, t: targets})
    np.testing.assert_allclose(gradient, scipy.special.expit(logits) - targets, atol=1e-15)


def test_sigmoid_binary_crossentropy_gradient_at_zero_logits():
    """Zero logits (zero-initialised weights) get ``sigmoid(0) - t``, not a one-sided slope."""
    x, t = T.vector("x"), T.vector("t")
    targets = np.asarray([0.0, 0.3, 1.0])
    gradient = T.grad(nnet.sigmoid_binary_crossentropy(x, t).sum(), x)
    np.testing.assert_allclose(gradient.eval({x: np.zeros(3), t: targets}), 0.5 - targets)


def test_crossentropy_softmax_1hot_is_finite_where_softmax_underflows():
    x = T.matrix("x")
    value = np.asarray([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    nll, _ = nnet.crossentropy_softmax_1hot(x, np.int32([2, 1]))
    np.testing.assert_allclose(nll.eval({x: value}), [2000.0, np.log(3.0)], rtol=1e-15)
    gradient = T.grad(nll.sum(), x).eval({x: value})
    np.testing.assert_allclose(gradient[0], [1.0, 0.0, -1.0], atol=1e-15)


def test_elu_gradient_is_finite_for_large_inputs():
    x = T.vector("x")
    value = np.asarray([1000.0, -1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        gradient = T.grad(nnet.elu(x).sum(), x).eval({x: value})
    np.testing.assert_array_equal(gradient, [1.0, 0.0])


def test_ultra_fast_sigmoid_error_is_as_documented():
    """The module docstring promises a largest error of about 0.0276, near |x| = 0.54."""
    x = T.vector("x")
    grid = np.linspace(-20, 20, 400_001)
    error = np.abs(nnet.ultra_fast_sigmoid(x).eval({x: grid}) - scipy.special.expit(grid))
    assert 0.0275 < error.max() < 0.0277
    assert abs(abs(grid[np.argmax(error)]) - 0.54) < 0.01


# ---- Theano's names and dtypes ---------------------------------------------------------------
def test_nnet_reexports_sigmoid_and_softplus_and_is_reachable_from_T():
    assert nnet.sigmoid is T.sigmoid and nnet.softplus is T.softplus
    assert T.nnet is nnet and nnet.log_softmax is nnet.logsoftmax


def test_float32_stays_float32_with_python_parameters():
    x = T.fmatrix("x")
    for output in (
        nnet.relu(x, 0.01),
        nnet.elu(x, 0.3),
        nnet.selu(x),
        nnet.hard_sigmoid(x),
        nnet.ultra_fast_sigmoid(x),
        nnet.softsign(x),
    ):
        assert output.dtype == "float32", output


def test_crossentropy_softmax_outputs_and_static_shapes():
    x, b = T.tensor("float32", shape=(4, 3)), T.dvector()
    nll, sm, am = nnet.crossentropy_softmax_argmax_1hot_with_bias(x, b, T.ivector())
    assert (nll.type.shape, sm.type.shape, am.type.shape) == ((4,), (4, 3), (4,))
    assert (nll.dtype, sm.dtype, am.dtype) == ("float64", "float64", "int32")
    assert len(nnet.crossentropy_softmax_1hot(x, T.ivector())) == 2


# ---- errors ----------------------------------------------------------------------------------
def test_categorical_crossentropy_refuses_a_rank_mismatch():
    with pytest.raises(TypeError, match="true_dist must have the rank of coding_dist"):
        nnet.categorical_crossentropy(T.matrix(), T.tensor3())


def test_one_hot_crossentropies_refuse_float_targets_and_non_matrices():
    with pytest.raises(TypeError, match="true_one_of_n must be an integer vector"):
        nnet.crossentropy_categorical_1hot(T.matrix(), T.vector())
    with pytest.raises(TypeError, match="coding_dist must be a float matrix"):
        nnet.crossentropy_categorical_1hot(T.tensor3(), T.ivector())
    with pytest.raises(TypeError, match="y_idx must be an integer vector"):
        nnet.crossentropy_softmax_1hot(T.matrix(), T.vector())


def test_one_hot_crossentropies_refuse_static_length_mismatches():
    with pytest.raises(ValueError, match="3 rows but 2 class indices"):
        nnet.crossentropy_categorical_1hot(T.tensor("float64", shape=(3, 4)), np.int32([0, 1]))
    with pytest.raises(ValueError, match="x has 4 columns but b has 3"):
        nnet.crossentropy_softmax_1hot_with_bias(
            T.tensor("float64", shape=(3, 4)), np.zeros(3), T.ivector()
        )


@pytest.mark.parametrize(
    "build",
    [
        nnet.crossentropy_categorical_1hot,
        lambda x, y: nnet.crossentropy_softmax_1hot(x, y)[0],
    ],
    ids=["categorical_1hot", "softmax_1hot"],
)
def test_out_of_range_class_indices_are_reported(build):
    x, y = T.matrix("x"), T.ivector("y")
    fn = arignote.function([x, y], build(x, y))
    with pytest.raises(ValueError, match="class index 3 is out of range for 3 classes"):
        fn(np.full((2, 3), 0.5), np.int32([0, 3]))
    with pytest.raises(ValueError, match="2 rows but 1 class indices"):
        fn(np.full((2, 3), 0.5), np.int32([0]))


def test_gradient_with_respect_to_class_indices_is_zero_as_for_any_integer():
    x, y = T.matrix("x"), T.ivector("y")
    gradient = T.grad(nnet.crossentropy_categorical_1hot(x, y).sum(), y)
    np.testing.assert_array_equal(gradient.eval({x: np.full((2, 3), 0.5), y: [0, 1]}), [0, 0])


def test_logsoftmax_refuses_integers_and_scalars():
    with pytest.raises(TypeError, match="logsoftmax needs a float input"):
        nnet.logsoftmax(T.imatrix())
    with pytest.raises(TypeError, match="at least one dimension"):
        nnet.logsoftmax(T.scalar())
    with pytest.raises(ValueError, match="axis -3 is out of range"):
        nnet.logsoftmax(T.matrix(), axis=-3)


def test_verify_grad_of_a_softmax_classifier_loss():
    """The usual training loss, end to end: mean NLL of softmax(X W + b) w.r.t. W and b."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(6, 4)), np.int32([0, 2, 1, 2, 0, 1])
    verify_grad(
        lambda W, b: nnet.categorical_crossentropy(nnet.softmax(T.dot(X, W) + b), y).mean(),
        [rng.normal(size=(4, 3)), rng.normal(size=3)],
        rng=rng,
    )
