"""``RandomStreams``: random numbers in graphs, the Theano way.

Every draw gets its own shared generator whose ``default_update`` is the
draw's advanced generator, so a function that computes the draw advances
that generator once per call and returns new numbers every call
(``function(..., no_default_updates=True)`` keeps it fixed). A draw is an
ordinary tensor: it can be used as a dropout mask inside a training
function, next to other updates.

Seeding is deterministic: the streams hold a ``numpy.random.SeedSequence``
and the k-th draw's generator (a PCG64) is seeded from its k-th spawned
child. ``seed(s)`` restarts the sequence at ``s`` and reseeds every existing
generator in creation order, so afterwards the streams give what a fresh
``RandomStreams(s)`` with the same draws gives, in any process.

Values are ``numpy.random.Generator`` objects (Theano used the legacy
``RandomState``): ``srng[draw]`` reads a draw's generator and
``srng[draw] = numpy.random.default_rng(7)`` replaces it. Theano's
``draw.rng`` and ``draw.update`` live in ``draw.tag.rng`` and
``draw.tag.update``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from arignote.compile.sharedvalue import SharedVariable
from arignote.graph.basic import Variable
from arignote.tensor import random
from arignote.tensor.random.type import GeneratorValued, copy_generator, random_type


class RandomGeneratorSharedVariable(GeneratorValued, SharedVariable):
    """A shared generator: the state of one random stream, kept between calls.

    ``get_value``/``set_value`` copy the generator unless ``borrow=True``, and
    so does ``filter_value``, through which a function stores its updates: a
    new generator that a function also returns is never the stored one.
    """

    __slots__ = ()

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
        return self._value if borrow else copy_generator(self._value)

    def filter_value(self, value: Any) -> Any:
        return copy_generator(super().filter_value(value))

    def set_value(self, value: Any, borrow: bool = False) -> None:
        self._value = super().filter_value(value) if borrow else self.filter_value(value)


def shared_generator(
    value: np.random.Generator, name: str | None = None, borrow: bool = False
) -> RandomGeneratorSharedVariable:
    """A shared variable holding a generator (a copy unless ``borrow=True``).

    >>> rng = shared_generator(np.random.default_rng(0), name="rng")
    >>> rng.type
    RandomType
    """
    return RandomGeneratorSharedVariable(random_type, value, name=name, borrow=borrow)


class RandomStreams:
    """A source of random draws whose generators live in shared variables.

    >>> import arignote
    >>> srng = RandomStreams(seed=234)
    >>> u = srng.uniform((2,))
    >>> f = arignote.function([], u)
    >>> bool((f() != f()).all())
    True
    >>> srng.seed(234); a = f(); srng.seed(234)
    >>> bool((a == f()).all())
    True
    """

    def __init__(self, seed: int | None = None):
        self.default_instance_seed = seed
        self.state_updates: list[tuple[RandomGeneratorSharedVariable, Variable]] = []
        self._seeds = np.random.SeedSequence(seed)

    def _new_generator(self) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self._seeds.spawn(1)[0]))

    def updates(self) -> list[tuple[RandomGeneratorSharedVariable, Variable]]:
        """Every (shared generator, advanced generator) pair, for ``function(updates=...)``."""
        return list(self.state_updates)

    def seed(self, seed: int | None = None) -> None:
        """Reseed every generator made so far, and those made later, from ``seed``.

        ``None`` means the seed the streams were made with.
        """
        self._seeds = np.random.SeedSequence(self.default_instance_seed if seed is None else seed)
        for generator_variable, _ in self.state_updates:
            generator_variable.set_value(self._new_generator(), borrow=True)

    def gen(self, op: Callable[..., tuple[Variable, Variable]], *args: Any, **kwargs: Any):
        """The draw of ``op(shared_generator, *args, **kwargs)``, with its generator updated.

        ``op`` is a function of ``arignote.tensor.random`` (or any callable
        returning ``(new_rng, draw)``).
        """
        generator_variable = shared_generator(self._new_generator(), borrow=True)
        new_rng, value = op(generator_variable, *args, **kwargs)
        generator_variable.default_update = new_rng
        value.tag.rng = generator_variable
        value.tag.update = (generator_variable, new_rng)
        self.state_updates.append((generator_variable, new_rng))
        return value

    def _generator_of(self, item: Variable) -> RandomGeneratorSharedVariable:
        generator_variable = getattr(item.tag, "rng", None) if isinstance(item, Variable) else None
        if not any(generator_variable is g for g, _ in self.state_updates):
            raise KeyError(f"{item!r} is not a draw made by this RandomStreams")
        return generator_variable

    def __getitem__(self, item: Variable) -> np.random.Generator:
        """The generator a draw reads (the stored object, not a copy)."""
        return self._generator_of(item).get_value(borrow=True)

    def __setitem__(self, item: Variable, generator: np.random.Generator) -> None:
        self._generator_of(item).set_value(generator, borrow=True)

    # ---- distributions ----------------------------------------------------------------------
    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        """Floats in ``[low, high)`` (dtype: floatX, widened by float parameters)."""
        return self.gen(random.uniform, size, low, high, ndim=ndim, dtype=dtype)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Normal draws of mean ``avg`` and standard deviation ``std``."""
        return self.gen(random.normal, size, avg, std, ndim=ndim, dtype=dtype)

    def truncated_normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Normal draws kept within two standard deviations of ``avg``."""
        return self.gen(random.truncated_normal, size, avg, std, ndim=ndim, dtype=dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64"):
        """Successes in ``n`` trials of probability ``p``; ``binomial(x.shape, p=0.5)``: a mask."""
        return self.gen(random.binomial, size, n, p, ndim=ndim, dtype=dtype)

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        """Integers between ``low`` and ``high``, both included."""
        return self.gen(random.random_integers, size, low, high, ndim=ndim, dtype=dtype)

    def poisson(self, size=None, lam=1.0, ndim=None, dtype="int64"):
        """Poisson counts of mean ``lam``."""
        return self.gen(random.poisson, size, lam, ndim=ndim, dtype=dtype)

    def multinomial(self, size=None, n=1, pvals=(0.5, 0.5), ndim=None, dtype="int64"):
        """Counts of ``n`` draws over the categories on the last axis of ``pvals``."""
        return self.gen(random.multinomial, size, n, pvals, ndim=ndim, dtype=dtype)

    def choice(self, size=1, a=2, replace=True, p=None, ndim=None, dtype=None):
        """``size`` values from ``a`` (``range(a)`` for an int), weighted by ``p`` if given."""
        return self.gen(random.choice, size, a, replace, p, ndim=ndim, dtype=dtype)

    def permutation(self, size=None, n=1, ndim=None, dtype="int64"):
        """Permutations of ``0 .. n-1``, of shape ``size + (n,)``."""
        return self.gen(random.permutation, size, n, ndim=ndim, dtype=dtype)
