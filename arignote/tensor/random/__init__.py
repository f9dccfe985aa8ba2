"""Random draws as graph nodes: the generator type, the ``RandomVariable`` op, draw functions.

- ``type``: ``RandomType``, whose values are ``numpy.random.Generator``;
- ``distributions``: what each distribution's parameters and shapes are, and
  its NumPy sampler;
- ``op``: ``RandomVariable``, the one op that applies any distribution;
- ``basic``: ``uniform(rng, size, ...)`` and friends, returning
  ``(new_rng, draw)`` (Theano's ``raw_random``).

The friendly interface, with a shared generator per draw, is
``arignote.tensor.shared_randomstreams.RandomStreams``. This package does
not import ``arignote.compile``, so ``arignote.tensor`` can import it.
"""

from arignote.tensor.random.basic import (
    binomial,
    choice,
    draw,
    multinomial,
    normal,
    permutation,
    poisson,
    random_integers,
    truncated_normal,
    uniform,
)
from arignote.tensor.random.distributions import Distribution
from arignote.tensor.random.op import RandomVariable
from arignote.tensor.random.type import RandomType, copy_generator, random_type

__all__ = [
    "Distribution",
    "RandomType",
    "RandomVariable",
    "binomial",
    "choice",
    "copy_generator",
    "draw",
    "multinomial",
    "normal",
    "permutation",
    "poisson",
    "random_integers",
    "random_type",
    "truncated_normal",
    "uniform",
]
