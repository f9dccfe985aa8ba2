"""The distributions a ``RandomVariable`` draws from: parameters, shapes, NumPy samplers.

A ``Distribution`` is a small frozen description, not an Op: one Op class
(``RandomVariable``) applies any of them, so equality of nodes is equality
of (distribution, dtype), and a backend lowers one class.

Shapes follow NumPy's ``Generator`` methods. A parameter has *core*
dimensions (``pvals`` of a multinomial has one: the categories) and *batch*
dimensions in front. A draw has the shape ``batch + support``: the batch is
``size`` when one is given (the parameters' batches must broadcast to it),
else the broadcast of the parameters' batches; the support is what one draw
adds (the categories of a multinomial, the ``n`` entries of a permutation).
``choice`` is the exception: its ``size`` counts the draws made from each
distribution, so it is the support, and the batch comes from ``p`` alone.

Samplers draw in float64 (or int64) exactly as NumPy does, so a draw is
reproducible from the generator's state with NumPy alone; the op casts the
result to the requested dtype.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from arignote.config import config
from arignote.graph.basic import Variable
from arignote.scalar.basic import COMPLEX_DTYPES, INT_DTYPES, upcast
from arignote.tensor.shape import known_int

Size = tuple[int, ...] | None

# truncated_normal keeps the standard normal within two standard deviations (as MRG did).
TRUNCATION = 2.0


def normalized(probabilities: np.ndarray, what: str) -> np.ndarray:
    """Probabilities over the last axis, checked to sum to 1 and renormalised in float64.

    The check allows the square root of the dtype's epsilon, so a float32
    softmax passes; NumPy then sees sums of exactly 1 (to float64 rounding).
    """
    probabilities = np.asarray(probabilities)
    sums = probabilities.sum(axis=-1, dtype="float64", keepdims=True)
    kind = probabilities.dtype if probabilities.dtype.kind == "f" else np.dtype("float64")
    if np.any(np.abs(sums - 1) > np.sqrt(np.finfo(kind).eps)):
        raise ValueError(
            f"{what} must sum to 1 along the last axis, got sums such as "
            f"{sums.reshape(-1)[np.argmax(np.abs(sums - 1).reshape(-1))]:.8g}"
        )
    return probabilities.astype("float64") / sums


@dataclass(frozen=True)
class Distribution:
    """How one family of draws is made. Subclasses set the class variables and ``sample``."""

    name: ClassVar[str]
    params: ClassVar[tuple[str, ...]]
    integer_params: ClassVar[tuple[str, ...]] = ()
    vector_params: ClassVar[tuple[str, ...]] = ()
    scalar_params: ClassVar[tuple[str, ...]] = ()
    continuous: ClassVar[bool] = False
    size_is_batch: ClassVar[bool] = True

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.params

    def __str__(self) -> str:
        return self.name

    # ---- building -------------------------------------------------------------------------
    def check_params(self, params: Sequence[Variable], what: str) -> None:
        """Raise a TypeError naming the parameter whose dtype or ndim cannot be right."""
        names = self.param_names
        if len(params) != len(names):
            raise TypeError(f"{what} takes the parameters ({', '.join(names)}), got {len(params)}")
        for name, param in zip(names, params):
            if param.dtype in COMPLEX_DTYPES:
                raise TypeError(
                    f"{what}: {name} must be real, got {param!r} of dtype {param.dtype}"
                )
            if name in self.integer_params and param.dtype not in INT_DTYPES:
                raise TypeError(
                    f"{what}: {name} must be an integer tensor, got {param!r} of dtype "
                    f"{param.dtype}"
                )
            if name in self.vector_params and param.ndim < 1:
                raise TypeError(f"{what}: {name} must have at least one dimension, got {param!r}")
            if name in self.scalar_params and param.ndim != 0:
                raise TypeError(
                    f"{what}: {name} must be a scalar (0-d), got {param!r} with {param.ndim} "
                    "dimensions"
                )

    def core_ndims(self, params: Sequence[Variable]) -> list[int]:
        """How many trailing dimensions of each parameter belong to one distribution."""
        return [1 if name in self.vector_params else 0 for name in self.param_names]

    def default_dtype(self, params: Sequence[Variable]) -> str:
        """floatX (widened by float parameters) for continuous draws, int64 for counts."""
        if self.continuous:
            return upcast(config.floatX, *(p.dtype for p in params if p.dtype not in ("bool",)))
        return "int64"

    def static_support_shape(self, size: Sequence[int | None], params: Sequence[Variable]):
        """The lengths one draw adds after the batch, where known when the graph is built."""
        return ()

    def support_shape(self, size: Sequence[Any], params: Sequence[Variable], param_shapes) -> tuple:
        """The same lengths as (possibly symbolic) scalars, for ``infer_shape``."""
        return ()

    # ---- running --------------------------------------------------------------------------
    def sample(self, generator: np.random.Generator, params: Sequence[np.ndarray], size: Size):
        raise NotImplementedError


@dataclass(frozen=True)
class Uniform(Distribution):
    name = "uniform"
    params = ("low", "high")
    continuous = True

    def sample(self, generator, params, size):
        low, high = params
        return generator.uniform(low, high, size)


@dataclass(frozen=True)
class Normal(Distribution):
    name = "normal"
    params = ("avg", "std")
    continuous = True

    def sample(self, generator, params, size):
        avg, std = params
        return generator.normal(avg, std, size)


@dataclass(frozen=True)
class TruncatedNormal(Distribution):
    """A normal kept within ``TRUNCATION`` standard deviations of its mean.

    Drawn by inverting the normal CDF on a uniform draw over the kept
    interval: exact, one uniform per value, no rejection loop.
    """

    name = "truncated_normal"
    params = ("avg", "std")
    continuous = True

    def sample(self, generator, params, size):
        avg, std = (np.asarray(p, dtype="float64") for p in params)
        if np.any(std < 0):
            raise ValueError("truncated_normal: std must not be negative")
        shape = np.broadcast_shapes(avg.shape, std.shape) if size is None else size
        avg, std = np.broadcast_to(avg, shape), np.broadcast_to(std, shape)
        special = importlib.import_module("scipy.special")  # imported on first draw only
        low, high = special.ndtr(-TRUNCATION), special.ndtr(TRUNCATION)
        standard = special.ndtri(generator.uniform(low, high, shape))
        return avg + std * standard


@dataclass(frozen=True)
class Binomial(Distribution):
    name = "binomial"
    params = ("n", "p")
    integer_params = ("n",)

    def sample(self, generator, params, size):
        n, p = params
        return generator.binomial(n, p, size)


@dataclass(frozen=True)
class RandomIntegers(Distribution):
    """Integers between ``low`` and ``high``, both included (Theano's ``random_integers``)."""

    name = "random_integers"
    params = ("low", "high")
    integer_params = ("low", "high")

    def sample(self, generator, params, size):
        low, high = params
        return generator.integers(low, high, size, dtype="int64", endpoint=True)


@dataclass(frozen=True)
class Poisson(Distribution):
    name = "poisson"
    params = ("lam",)

    def sample(self, generator, params, size):
        (lam,) = params
        return generator.poisson(lam, size)


@dataclass(frozen=True)
class Multinomial(Distribution):
    """Counts of ``n`` draws over the categories on the last axis of ``pvals``.

    ``pvals`` must sum to 1 along that axis (see ``normalized``).
    """

    name = "multinomial"
    params = ("n", "pvals")
    integer_params = ("n",)
    vector_params = ("pvals",)

    def static_support_shape(self, size, params):
        return (params[1].type.shape[-1],)

    def support_shape(self, size, params, param_shapes):
        return (param_shapes[1][-1],)

    def sample(self, generator, params, size):
        n, pvals = params
        return generator.multinomial(n, normalized(pvals, "multinomial: pvals"), size)


@dataclass(frozen=True)
class Permutation(Distribution):
    """Permutations of ``0 .. n-1``, one per batch entry: the draw has shape ``batch + (n,)``."""

    name = "permutation"
    params = ("n",)
    integer_params = ("n",)
    scalar_params = ("n",)

    def static_support_shape(self, size, params):
        return (known_int(params[0]),)

    def support_shape(self, size, params, param_shapes):
        return (params[0],)

    def sample(self, generator, params, size):
        n = int(params[0])
        if n < 0:
            raise ValueError(f"permutation: n must not be negative, got {n}")
        ordered = np.broadcast_to(np.arange(n, dtype="int64"), (size or ()) + (n,))
        return generator.permuted(ordered, axis=-1)


@dataclass(frozen=True)
class Choice(Distribution):
    """``size`` values taken from ``a`` (``range(a)`` for a scalar), with or without replacement.

    With ``weighted``, a parameter ``p`` gives the probabilities over the
    last axis; its leading axes are a batch of distributions (one choice of
    ``size`` values from each), as Theano's MRG ``choice`` had for a matrix.
    """

    replace: bool = True
    weighted: bool = False
    name = "choice"
    vector_params = ("p",)
    size_is_batch = False

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("a", "p") if self.weighted else ("a",)

    def __str__(self) -> str:
        return f"choice(replace={self.replace}, weighted={self.weighted})"

    def check_params(self, params, what):
        super().check_params(params, what)
        population = params[0]
        if population.ndim > 1:
            raise TypeError(
                f"{what}: a must be a scalar (draw from range(a)) or a vector, got {population!r}"
            )
        if population.ndim == 0 and population.dtype not in INT_DTYPES:
            raise TypeError(f"{what}: a scalar a must be an integer, got dtype {population.dtype}")
        if self.weighted and population.ndim == 1:
            length, categories = population.type.shape[0], params[1].type.shape[-1]
            if None not in (length, categories) and length != categories:
                raise ValueError(
                    f"{what}: a has {length} entries but p has {categories} probabilities"
                )

    def core_ndims(self, params):
        return [params[0].ndim] + ([1] if self.weighted else [])

    def default_dtype(self, params):
        population = params[0]
        return "int64" if population.ndim == 0 else population.dtype

    def static_support_shape(self, size, params):
        return tuple(size)

    def support_shape(self, size, params, param_shapes):
        return tuple(size)

    def sample(self, generator, params, size):
        population = params[0] if params[0].ndim else int(params[0])
        if not self.weighted:
            return generator.choice(population, size, self.replace)
        p = normalized(params[1], "choice: p")
        if p.ndim == 1:
            return generator.choice(population, size, self.replace, p)
        batch = p.shape[:-1]
        result = np.empty(batch + (size or ()), dtype=np.result_type(population))
        for index in np.ndindex(batch):
            result[index] = generator.choice(population, size, self.replace, p[index])
        return result
