"""Draw functions on an explicit generator (Theano's ``raw_random``).

Each takes the generator first (a ``RandomType`` variable, or a
``numpy.random.Generator`` that becomes a constant) and returns
``(new_rng, draw)``. Arguments follow Theano: ``size`` (None, an int, a tuple
of ints or symbolic scalars, or an int vector such as ``x.shape``), the
distribution's parameters (symbolic or not, broadcast against ``size``),
``ndim`` (the length of ``size`` when it is a vector of unknown length; with
``size=None``, the number of batch dimensions, padding the parameters on the
left) and ``dtype`` (floatX, widened by float parameters, for continuous
draws; int64 for counts).

``RandomStreams`` wraps these with a shared generator per draw.
"""

from __future__ import annotations

from typing import Any

from arignote.graph.basic import Variable
from arignote.graph.test_value import compute_node_test_value
from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.random.distributions import (
    Binomial,
    Choice,
    Distribution,
    Multinomial,
    Normal,
    Permutation,
    Poisson,
    RandomIntegers,
    TruncatedNormal,
    Uniform,
)
from arignote.tensor.random.op import RandomVariable, size_vector
from arignote.tensor.shape import shape_padleft


def draw(
    distribution: Distribution,
    rng: Any,
    size: Any,
    params: list[Any],
    ndim: int | None = None,
    dtype: Any = None,
) -> tuple[Variable, Variable]:
    """``(new_rng, draw)`` for any distribution: the function every named one calls."""
    what = distribution.name
    params = [as_tensor_variable(p) for p in params]
    size = size_vector(size, ndim, what)
    if size.type.shape[0] == 0 and ndim and distribution.size_is_batch:
        params = _pad_batches(distribution, params, ndim, what)
    if dtype is None:
        distribution.check_params(params, what)
        dtype = distribution.default_dtype(params)
    node = RandomVariable(distribution, dtype).make_node(rng, size, *params)
    compute_node_test_value(node)
    new_rng, value = node.outputs
    return new_rng, value


def _pad_batches(distribution: Distribution, params: list, ndim: int, what: str) -> list:
    """Parameters given ``ndim`` batch dimensions by adding broadcastable ones in front."""
    distribution.check_params(params, what)
    cores = distribution.core_ndims(params)
    padded = []
    for name, param, core in zip(distribution.param_names, params, cores):
        batch = param.ndim - core
        if batch > ndim:
            raise ValueError(f"{what}: {name} has {batch} batch dimensions, more than ndim={ndim}")
        padded.append(shape_padleft(param, ndim - batch) if batch < ndim else param)
    return padded


def uniform(rng, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
    """Floats in ``[low, high)``.

    >>> import numpy as np
    >>> _, u = uniform(np.random.default_rng(0), (3,), low=2.0, high=3.0)
    >>> bool(((2 <= u.eval()) & (u.eval() < 3)).all())
    True
    """
    return draw(Uniform(), rng, size, [low, high], ndim, dtype)


def normal(rng, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
    """Normal draws with mean ``avg`` and standard deviation ``std``."""
    return draw(Normal(), rng, size, [avg, std], ndim, dtype)


def truncated_normal(rng, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
    """Normal draws kept within two standard deviations of ``avg`` (as Theano's MRG)."""
    return draw(TruncatedNormal(), rng, size, [avg, std], ndim, dtype)


def binomial(rng, size=None, n=1, p=0.5, ndim=None, dtype="int64"):
    """The number of successes in ``n`` trials of probability ``p`` (``n=1``: a coin/mask)."""
    return draw(Binomial(), rng, size, [n, p], ndim, dtype)


def random_integers(rng, size=None, low=0, high=1, ndim=None, dtype="int64"):
    """Integers between ``low`` and ``high``, both included."""
    return draw(RandomIntegers(), rng, size, [low, high], ndim, dtype)


def poisson(rng, size=None, lam=1.0, ndim=None, dtype="int64"):
    """Poisson counts of mean ``lam``."""
    return draw(Poisson(), rng, size, [lam], ndim, dtype)


def multinomial(rng, size=None, n=1, pvals=(0.5, 0.5), ndim=None, dtype="int64"):
    """Counts over the categories on the last axis of ``pvals`` (shape ``batch + (k,)``)."""
    return draw(Multinomial(), rng, size, [n, pvals], ndim, dtype)


def choice(rng, size=1, a=2, replace=True, p=None, ndim=None, dtype=None):
    """``size`` values from ``a`` (``range(a)`` when ``a`` is an int), weighted by ``p``.

    ``p`` may carry leading batch axes (one distribution per row): the draw
    then has shape ``p.shape[:-1] + size``.
    """
    params = [a] if p is None else [a, p]
    return draw(Choice(bool(replace), p is not None), rng, size, params, ndim, dtype)


def permutation(rng, size=None, n=1, ndim=None, dtype="int64"):
    """Permutations of ``0 .. n-1``: shape ``size + (n,)``."""
    return draw(Permutation(), rng, size, [n], ndim, dtype)
