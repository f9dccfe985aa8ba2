"""``RandomType``: variables whose values are NumPy random generators.

A random draw is a pure function of a generator state: the ops take a
``numpy.random.Generator``, draw from a private copy, and return the advanced
copy as a new value. Nothing ever advances a generator it was given, so

- ``filter`` only checks the value (the ops copy before they draw);
- a constant copies the generator it is made of, so later use of the
  caller's generator cannot change the graph;
- a shared generator (``shared_randomstreams.RandomGeneratorSharedVariable``)
  copies on ``get_value``/``set_value`` unless ``borrow=True``, like a
  shared tensor.

A generator is one opaque value: its variables report ``ndim`` 0, so shape
code that walks every input of a node (``infer_shape`` checks) sees a scalar.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arignote.graph.basic import Constant, Variable
from arignote.graph.type import Type


def copy_generator(generator: np.random.Generator) -> np.random.Generator:
    """An independent generator in the same state (same kind of bit generator).

    >>> g = np.random.default_rng(0)
    >>> twin = copy_generator(g)
    >>> bool(twin.random() == g.random())
    True
    """
    bits = type(generator.bit_generator)()
    bits.state = generator.bit_generator.state
    return np.random.Generator(bits)


def _frozen(value: Any) -> Any:
    """A hashable image of a bit-generator state (nested dicts, ints, arrays)."""
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.shape, value.tobytes())
    return value


class GeneratorValued:
    """What every variable of ``RandomType`` shares: one opaque (0-d) value."""

    __slots__ = ()
    ndim = 0


class RandomGeneratorVariable(GeneratorValued, Variable):
    __slots__ = ()


class RandomGeneratorConstant(GeneratorValued, Constant):
    __slots__ = ()


class RandomType(Type):
    """The type of a ``numpy.random.Generator`` (the state a random draw reads).

    >>> generator = np.random.default_rng(0)
    >>> RandomType().filter(generator) is generator
    True
    """

    variable_type = RandomGeneratorVariable
    constant_type = RandomGeneratorConstant
    ndim = 0

    def filter(self, value: Any, strict: bool = False, allow_downcast: bool | None = None) -> Any:
        if isinstance(value, Variable):
            raise TypeError(
                f"{self} expected a numpy.random.Generator value but got a symbolic Variable "
                f"({value!r})"
            )
        if not isinstance(value, np.random.Generator):
            hint = (
                "; the legacy RandomState is not supported, use numpy.random.default_rng(seed)"
                if isinstance(value, np.random.RandomState)
                else ""
            )
            raise TypeError(
                f"{self} expected a numpy.random.Generator, got {type(value).__name__}{hint}"
            )
        return value

    def make_constant(self, value: Any, name: str | None = None) -> Constant:
        return self.constant_type(self, copy_generator(self.filter(value)), name)

    def value_key(self, value: Any) -> Any:
        return _frozen(value.bit_generator.state)

    def values_eq(self, a: Any, b: Any) -> bool:
        return self.value_key(a) == self.value_key(b)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __str__(self) -> str:
        return "RandomType"

    __repr__ = __str__


random_type = RandomType()


def as_generator_variable(value: Any, what: str) -> Variable:
    """``value`` as a ``RandomType`` variable: a Generator becomes a constant."""
    if isinstance(value, Variable):
        if not isinstance(value.type, RandomType):
            raise TypeError(
                f"{what}: the generator must be a RandomType variable (a shared generator, "
                f"e.g. from RandomStreams), got {value!r} of type {value.type}"
            )
        return value
    try:
        return random_type.make_constant(value)
    except TypeError as exc:
        raise TypeError(f"{what}: {exc}") from None
