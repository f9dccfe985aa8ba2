"""Random streams: draws as graph nodes, their statistics, shapes, seeding and updates.

``CASES`` (run by ``tests/test_op_tables.py``) draws each distribution from a
generator with a constant seed; the reference draws from a NumPy generator with
the same seed, so values (not only shapes and dtypes) must agree: a draw is
NumPy's ``Generator`` method on the same state. The statistical tests draw
10^5 values through ``RandomStreams`` and ``MRG_RandomStreams`` and check the
mean and variance against the distribution's, within 5 standard errors (the
standard error of a sample variance is ``sqrt((mu4 - var**2) / n)``). Seeding
is checked in another process too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import scipy.stats

import arignote
import arignote.tensor as T
from arignote.gradient import NullTypeGradError
from arignote.sandbox.rng_mrg import MRG_RandomStreams
from arignote.tensor import random as R
from arignote.tensor.random import RandomType, RandomVariable
from arignote.tensor.shared_randomstreams import RandomStreams, shared_generator
from tests.helpers import OpCase, uniform

SEED = 20240611


def generator():
    return np.random.default_rng(SEED)


def simplex(rng, shape, dtype):
    """Probabilities over the last axis (each row sums to 1)."""
    values = rng.uniform(0.1, 1.0, shape)
    return (values / values.sum(axis=-1, keepdims=True)).astype(dtype)


def as_probabilities(p):
    p = np.asarray(p)
    return p.astype("float64") / p.sum(axis=-1, dtype="float64", keepdims=True)


def truncated_normal_reference(avg, std, size=None):
    shape = np.broadcast_shapes(np.shape(avg), np.shape(std)) if size is None else size
    low, high = scipy.special.ndtr(-2.0), scipy.special.ndtr(2.0)
    return avg + std * scipy.special.ndtri(generator().uniform(low, high, shape))


def batched_choice_reference(a, size, p):
    rng, p = generator(), as_probabilities(p)
    rows = [rng.choice(a, size, True, p[index]) for index in np.ndindex(p.shape[:-1])]
    return np.asarray(rows, dtype="int64").reshape(p.shape[:-1] + size)


def permutation_reference(n, size=()):
    ordered = np.broadcast_to(np.arange(n), size + (int(n),))
    return generator().permuted(ordered, axis=-1)


def drawn(function):
    """A row build: the draw (not the new generator) of a raw draw function."""
    return lambda *params: function(*params)[1]


ANY = uniform(-3, 3)
LOW, HIGH = uniform(-3, -0.5), uniform(0.5, 3)
POSITIVE = uniform(0.1, 3)
PROBABILITY = uniform(0.05, 0.95)
COUNT = uniform(0, 8)
F64, F32 = ("float64", "float64"), ("float32", "float32")

CASES = [
    OpCase(
        "uniform",
        drawn(lambda low, high: R.uniform(generator(), None, low, high)),
        lambda low, high: generator().uniform(low, high),
        (LOW, HIGH),
        (F64, F32),
        (((3, 4), (3, 4)), ((1, 4), (3, 1)), ((), ()), ((0,), (0,))),
    ),
    OpCase(
        "uniform_sized_float32",
        drawn(lambda low, high: R.uniform(generator(), (2, 3, 4), low, high, dtype="float32")),
        lambda low, high: generator().uniform(low, high, (2, 3, 4)).astype("float32"),
        (LOW, HIGH),
        (F64,),
        (((3, 1), (1, 4)), ((), (4,))),
    ),
    OpCase(
        "normal_size_from_a_shape",
        drawn(lambda x, avg, std: R.normal(generator(), x.shape, avg, std)),
        lambda x, avg, std: generator().normal(avg, std, x.shape),
        (ANY, ANY, POSITIVE),
        (("float64",) * 3,),
        (((2, 3), (1, 3), ()), ((0, 3), (), (3,)), ((4,), (), ())),
    ),
    OpCase(
        "truncated_normal",
        drawn(lambda avg, std: R.truncated_normal(generator(), None, avg, std)),
        truncated_normal_reference,
        (ANY, POSITIVE),
        (F64, F32),
        (((3, 4), (1, 4)), ((), ())),
    ),
    OpCase(
        "binomial",
        drawn(lambda n, p: R.binomial(generator(), (5, 3), n, p)),
        lambda n, p: generator().binomial(n, p, (5, 3)),
        (COUNT, PROBABILITY),
        (("int64", "float64"), ("int8", "float32")),
        (((3,), (5, 1)), ((), ())),
    ),
    OpCase(
        "random_integers",
        drawn(lambda low, high: R.random_integers(generator(), None, low, high)),
        lambda low, high: generator().integers(low, high, endpoint=True),
        (uniform(-5, 0), uniform(0, 5)),
        (("int64", "int64"), ("int16", "int8")),
        (((4, 1), (1, 3)), ((), ())),
    ),
    OpCase(
        "poisson",
        drawn(lambda lam: R.poisson(generator(), None, lam)),
        lambda lam: generator().poisson(lam),
        (POSITIVE,),
        (("float64",), ("float32",)),
        (((6, 2),), ((0,),)),
    ),
    OpCase(
        "multinomial",
        drawn(lambda n, pvals: R.multinomial(generator(), None, n, pvals)),
        lambda n, pvals: generator().multinomial(n, as_probabilities(pvals)),
        (COUNT, simplex),
        (("int64", "float64"), ("int32", "float32")),
        (((2,), (2, 3)), ((), (4,)), ((3,), (1, 5)), ((0,), (0, 2))),
    ),
    OpCase(
        "choice_from_a_vector",
        drawn(lambda a: R.choice(generator(), (2, 3), a, replace=False)),
        lambda a: generator().choice(a, (2, 3), False),
        (ANY,),
        (("float64",), ("int32",)),
        (((7,),),),
    ),
    OpCase(
        "choice_weighted",
        drawn(lambda p: R.choice(generator(), (4,), 5, True, p)),
        lambda p: generator().choice(5, (4,), True, as_probabilities(p)),
        (simplex,),
        (("float64",), ("float32",)),
        (((5,),),),
    ),
    OpCase(
        "choice_batched_p",
        drawn(lambda p: R.choice(generator(), (2,), 4, True, p)),
        lambda p: batched_choice_reference(4, (2,), p),
        (simplex,),
        (("float64",),),
        (((3, 4),), ((0, 4),)),
    ),
    OpCase(
        "permutation",
        drawn(lambda n: R.permutation(generator(), (3,), n)),
        lambda n: permutation_reference(n, (3,)),
        (uniform(0, 6),),
        (("int64",), ("int8",)),
        (((),),),
    ),
]


# ---- statistics ----------------------------------------------------------------------------
N = 100_000
STREAMS = [RandomStreams, MRG_RandomStreams]


def assert_moments(values, distribution):
    """Sample mean and variance within 5 standard errors of ``distribution``'s."""
    values = np.asarray(values, dtype="float64").reshape(-1)
    mean, var, excess_kurtosis = (float(m) for m in distribution.stats(moments="mvk"))
    fourth_moment = (excess_kurtosis + 3) * var**2
    n = values.size
    mean_error, var_error = np.sqrt(var / n), np.sqrt((fourth_moment - var**2) / n)
    assert abs(values.mean() - mean) < 5 * mean_error, (values.mean(), mean, mean_error)
    assert abs(values.var() - var) < 5 * var_error, (values.var(), var, var_error)


def sample(draw):
    return arignote.function([], draw)()


@pytest.fixture(params=STREAMS, ids=lambda cls: cls.__name__)
def streams(request):
    return request.param(seed=7)


def test_uniform_statistics(streams):
    assert_moments(
        sample(streams.uniform(size=(N,), low=-1.0, high=3.0)), scipy.stats.uniform(-1, 4)
    )


def test_uniform_float32_stays_in_range(streams):
    values = sample(streams.uniform(size=(N,), low=2.0, high=5.0, dtype="float32"))
    assert values.dtype == np.float32 and values.min() >= 2 and values.max() <= 5
    assert_moments(values, scipy.stats.uniform(2, 3))


def test_normal_statistics(streams):
    assert_moments(sample(streams.normal(size=(N,), avg=2.0, std=3.0)), scipy.stats.norm(2, 3))


def test_truncated_normal_statistics(streams):
    values = sample(streams.truncated_normal(size=(N,), avg=1.0, std=2.0))
    assert values.min() >= 1 - 4 and values.max() <= 1 + 4
    assert_moments(values, scipy.stats.truncnorm(-2, 2, loc=1, scale=2))


def test_mrg_normal_truncate_is_truncated_normal():
    values = sample(MRG_RandomStreams(3).normal((N,), avg=-1.0, std=0.5, truncate=True))
    assert_moments(values, scipy.stats.truncnorm(-2, 2, loc=-1, scale=0.5))


def test_binomial_statistics(streams):
    values = sample(streams.binomial(size=(N,), n=5, p=0.3))
    assert values.dtype == np.int64
    assert_moments(values, scipy.stats.binom(5, 0.3))


def test_random_integers_statistics(streams):
    values = sample(streams.random_integers(size=(N,), low=-2, high=4))
    assert set(np.unique(values)) == set(range(-2, 5))
    assert_moments(values, scipy.stats.randint(-2, 5))


def test_poisson_statistics(streams):
    assert_moments(sample(streams.poisson(size=(N,), lam=3.5)), scipy.stats.poisson(3.5))


def test_multinomial_statistics(streams):
    pvals = [0.2, 0.3, 0.5]
    counts = sample(streams.multinomial(size=(N,), n=10, pvals=pvals))
    assert counts.shape == (N, 3) and (counts.sum(axis=1) == 10).all()
    for column, p in enumerate(pvals):
        assert_moments(counts[:, column], scipy.stats.binom(10, p))


def test_weighted_choice_statistics(streams):
    a, p = np.array([1.0, 2.0, 5.0, 10.0]), np.array([0.1, 0.2, 0.3, 0.4])
    values = sample(streams.choice(size=(N,), a=a, p=p))
    assert values.dtype == np.float64
    assert_moments(values, scipy.stats.rv_discrete(values=(a, p)))


def test_choice_without_replacement_per_row(streams):
    rows, categories, size = 2000, 100, 50  # 10^5 values, distinct within each row
    p = np.full((rows, categories), 1 / categories)
    values = sample(streams.choice(size=size, a=categories, replace=False, p=p))
    assert values.shape == (rows, size)
    ordered = np.sort(values, axis=1)
    assert (ordered[:, 1:] != ordered[:, :-1]).all()
    assert_moments(values, scipy.stats.randint(0, categories))


def test_permutation_statistics(streams):
    values = sample(streams.permutation(size=(N // 6,), n=6))
    assert (np.sort(values, axis=1) == np.arange(6)).all()
    for position in range(6):
        assert_moments(values[:, position], scipy.stats.randint(0, 6))


# ---- updates and seeding -------------------------------------------------------------------
def test_each_call_draws_new_numbers_unless_default_updates_are_off():
    srng = RandomStreams(seed=1)
    u = srng.uniform((5,))
    f = arignote.function([], u)
    assert not np.array_equal(f(), f())
    frozen = arignote.function([], u, no_default_updates=True)
    np.testing.assert_array_equal(frozen(), frozen())


def test_two_draws_of_one_stream_are_different_streams():
    srng = RandomStreams(seed=1)
    a, b = sample([srng.normal((5,)), srng.normal((5,))])
    assert not np.array_equal(a, b)


def test_seed_makes_runs_reproducible_and_matches_fresh_streams():
    srng = RandomStreams(seed=1)
    f = arignote.function([], [srng.uniform((3,)), srng.poisson((4,), lam=2.0)])
    f()
    srng.seed(99)
    first = f()
    srng.seed(99)
    again = f()
    fresh = RandomStreams(seed=99)
    fresh_values = arignote.function([], [fresh.uniform((3,)), fresh.poisson((4,), lam=2.0)])()
    for x, y, z in zip(first, again, fresh_values):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    srng.seed()  # the streams' own seed
    np.testing.assert_array_equal(f()[0], RandomStreams(seed=1).uniform((3,)).eval())


def test_same_seed_gives_the_same_numbers_in_another_process():
    script = textwrap.dedent(
        """
        import json, arignote
        from arignote.tensor.shared_randomstreams import RandomStreams
        from arignote.sandbox.rng_mrg import MRG_RandomStreams
        results = []
        for streams in (RandomStreams(seed=2024), MRG_RandomStreams(seed=2024)):
            f = arignote.function([], [streams.normal((4,)), streams.binomial((3,), p=0.4)])
            results.append([[v.tolist() for v in f()] for _ in range(2)])
        print(json.dumps(results))
        """
    )
    root = Path(__file__).resolve().parents[1]
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root
    ).stdout
    here = []
    for streams in (RandomStreams(seed=2024), MRG_RandomStreams(seed=2024)):
        f = arignote.function([], [streams.normal((4,)), streams.binomial((3,), p=0.4)])
        here.append([[v.tolist() for v in f()] for _ in range(2)])
    assert json.loads(output) == here
    assert here[0][0] != here[0][1]


def test_mrg_default_seed_and_six_int_seed_are_deterministic():
    assert np.array_equal(
        MRG_RandomStreams().uniform((4,)).eval(), MRG_RandomStreams().uniform((4,)).eval()
    )
    seeds = [1, 2, 3, 4, 5, 6]
    assert np.array_equal(
        MRG_RandomStreams(seeds).normal((4,)).eval(), MRG_RandomStreams(seeds).normal((4,)).eval()
    )
    with pytest.raises(ValueError, match="nstreams"):
        MRG_RandomStreams().uniform((2,), nstreams=0)


def test_streams_expose_and_replace_a_draws_generator():
    srng = RandomStreams(seed=3)
    u = srng.uniform((4,))
    assert isinstance(srng[u], np.random.Generator) and u.tag.rng.default_update is u.tag.update[1]
    srng[u] = np.random.default_rng(7)
    np.testing.assert_array_equal(sample(u), np.random.default_rng(7).uniform(0.0, 1.0, (4,)))
    assert srng.updates() == srng.state_updates and len(srng.updates()) == 1
    with pytest.raises(KeyError, match="not a draw"):
        srng[T.vector("v")]


def test_explicit_updates_from_updates_work_like_default_ones():
    srng = RandomStreams(seed=3)
    u = srng.uniform((4,))
    f = arignote.function([], u, updates=srng.updates(), no_default_updates=True)
    assert not np.array_equal(f(), f())


def test_draws_never_advance_a_generator_they_are_given():
    rng = RandomType()("rng")
    new_rng, u = R.normal(rng, (3,))
    f = arignote.function([rng], [u, new_rng])
    given = np.random.default_rng(5)
    state = given.bit_generator.state
    (first, advanced), (second, _) = f(given), f(given)
    np.testing.assert_array_equal(first, second)
    assert given.bit_generator.state == state
    np.testing.assert_array_equal(advanced.normal(size=3), given.normal(size=6)[3:])


def test_a_returned_generator_is_not_the_stored_one():
    srng = RandomStreams(seed=2)
    u = srng.uniform((3,))
    _, new_rng = u.tag.update
    returned = arignote.function([], new_rng)()
    stored = srng[u]
    assert returned is not stored
    returned.random(5)
    assert returned.bit_generator.state != stored.bit_generator.state


def test_a_constant_generator_is_a_copy():
    given = np.random.default_rng(5)
    _, u = R.uniform(given, (3,))
    given.random(10)
    np.testing.assert_array_equal(u.eval(), np.random.default_rng(5).uniform(size=3))


def test_shared_generator_copies_unless_borrowed():
    original = np.random.default_rng(0)
    shared = shared_generator(original)
    assert shared.get_value(borrow=True) is not original
    assert shared.get_value() is not shared.get_value(borrow=True)
    shared.set_value(original, borrow=True)
    assert shared.get_value(borrow=True) is original
    with pytest.raises(TypeError, match="default_rng"):
        shared.set_value(np.random.RandomState(0))


# ---- training with a dropout mask --------------------------------------------------------
def _dropout_step(mask_dtype):
    rng = np.random.default_rng(0)
    x, y = T.matrix("x"), T.vector("y")
    W = arignote.shared(rng.normal(size=(4, 8)), name="W")
    v = arignote.shared(rng.normal(size=8), name="v")
    hidden = T.tanh(x.dot(W))
    mask = RandomStreams(seed=11).binomial(size=hidden.shape, p=0.5, dtype=mask_dtype)
    cost = ((T.dot(hidden * mask, v) - y) ** 2).mean()
    updates = [(p, p - 0.1 * g) for p, g in zip([W, v], T.grad(cost, [W, v]))]
    train = arignote.function([x, y], [cost, mask], updates=updates)
    data, target = rng.normal(size=(16, 4)), rng.normal(size=16)
    before = W.get_value()
    (_, first_mask), (_, second_mask) = train(data, target), train(data, target)
    assert first_mask.shape == (16, 8) and set(np.unique(first_mask)) <= {0, 1}
    assert not np.array_equal(first_mask, second_mask)
    assert not np.allclose(W.get_value(), before)


def test_dropout_mask_in_a_training_function():
    _dropout_step("int64")


def test_float_dropout_mask_in_a_training_function():
    _dropout_step(arignote.config.floatX)


def test_grad_through_a_draw_names_the_op():
    avg = T.scalar("avg")
    with pytest.raises(NullTypeGradError, match="RandomVariable.*avg"):
        T.grad(RandomStreams(1).normal((3,), avg=avg).sum(), avg)


def test_grad_of_a_draw_is_undefined_for_float_params_and_none_for_the_rest():
    n, p = T.lscalar("n"), T.scalar("p")
    node = RandomStreams(1).binomial((3,), n=n, p=p, dtype="float64").owner
    grads = node.op.L_op(node.inputs, node.outputs, [None, T.vector()])
    assert grads[:3] == [None, None, None]
    assert "not differentiable" in grads[3].type.why_null and "p:" in grads[3].type.why_null


# ---- static shapes and errors --------------------------------------------------------------
def test_static_shape_follows_size_and_parameters():
    srng = RandomStreams(seed=0)
    n = T.lscalar("n")
    assert srng.binomial(size=T.row("r").shape, p=0.5).type.shape == (1, None)
    assert srng.uniform(size=(n, 3)).type.shape == (None, 3)
    assert srng.normal(size=(n, n), avg=T.tensor(shape=(1, 4))).type.shape == (None, 4)
    assert srng.normal(avg=T.col("c"), std=T.row("r")).type.shape == (None, None)
    assert srng.normal(avg=np.zeros((2, 1)), std=np.ones(3)).type.shape == (2, 3)
    assert srng.multinomial(pvals=T.matrix("p")).type.ndim == 2
    assert srng.permutation(size=(2,), n=5).type.shape == (2, 5)
    assert srng.uniform(ndim=2).type.shape == (1, 1)
    assert srng.uniform(5).type.shape == (5,)
    assert srng.normal(size=T.lvector("s"), ndim=3).type.shape == (None, None, None)


def test_continuous_draws_follow_floatx():
    with arignote.config.change_flags(floatX="float32"):
        srng = RandomStreams(seed=0)
        assert srng.uniform((3,)).dtype == "float32"
        assert srng.normal((3,), avg=0.1, std=2).eval().dtype == np.float32
        assert srng.binomial((2,), p=0.3, dtype="floatX").dtype == "float32"
        assert srng.normal((3,), avg=np.float64(0.5)).dtype == "float64"
    assert RandomStreams(seed=0).uniform((3,)).dtype == "float64"
    assert RandomStreams(seed=0).poisson((3,)).dtype == "int64"


def test_symbolic_size_runs():
    srng = RandomStreams(seed=0)
    n = T.lscalar("n")
    draw = srng.uniform(size=(n, 2))
    assert draw.eval({n: 3}).shape == (3, 2)
    sizes = T.lvector("sizes")
    assert srng.normal(size=sizes, ndim=2).eval({sizes: [2, 5]}).shape == (2, 5)


def test_size_errors_are_raised_when_the_graph_is_built():
    srng = RandomStreams(seed=0)
    with pytest.raises(TypeError, match="ndim="):
        srng.uniform(size=T.lvector("s"))
    with pytest.raises(ValueError, match="ndim=3"):
        srng.uniform(size=(2, 2), ndim=3)
    with pytest.raises(ValueError, match="does not broadcast"):
        srng.normal(size=(2, 3), avg=np.zeros(4))
    with pytest.raises(ValueError, match="more than the 1 entries"):
        srng.normal(size=(2,), avg=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="do not broadcast together"):
        srng.normal(avg=np.zeros(2), std=np.ones(3))
    with pytest.raises(TypeError, match="size must hold integers"):
        srng.uniform(size=T.vector("s"))


def test_parameter_errors_name_the_parameter():
    srng = RandomStreams(seed=0)
    with pytest.raises(TypeError, match="binomial: n must be an integer"):
        srng.binomial(size=(2,), n=T.scalar("n"))
    with pytest.raises(TypeError, match="permutation: n must be a scalar"):
        srng.permutation(n=T.lvector("n"))
    with pytest.raises(ValueError, match="a has 3 entries but p has 4"):
        srng.choice(size=2, a=np.arange(3), p=np.full(4, 0.25))
    with pytest.raises(TypeError, match="default_rng"):
        R.uniform(np.random.RandomState(0), (2,))
    with pytest.raises(TypeError, match="RandomType"):
        R.uniform(T.scalar("not_a_generator"), (2,))
    with pytest.raises(TypeError, match="pvals"):
        MRG_RandomStreams().multinomial(size=(2,))


def test_runtime_errors_say_what_is_wrong():
    srng = RandomStreams(seed=0)
    pvals = T.vector("pvals")
    with pytest.raises(ValueError, match="pvals must sum to 1"):
        srng.multinomial(n=3, pvals=pvals).eval({pvals: [0.5, 0.6]})
    std = T.scalar("std")
    with pytest.raises(ValueError, match="std must not be negative"):
        srng.truncated_normal((2,), std=std).eval({std: -1.0})


def test_equal_draws_on_one_generator_merge_and_are_equal():
    rng = shared_generator(np.random.default_rng(0))
    a, b = R.uniform(rng, (3,))[1], R.uniform(rng, (3,))[1]
    first, second = arignote.function([], [a, b])()
    np.testing.assert_array_equal(first, second)
    assert RandomVariable(R.distributions.Uniform(), "float64") == a.owner.op
