"""``MRG_RandomStreams``: Theano's ``sandbox.rng_mrg`` interface on the common random ops.

Theano's MRG streams ran the MRG31k3p generator so that draws could be made
on a GPU. Here every draw is a ``RandomVariable`` on a NumPy PCG64
generator, exactly as in ``RandomStreams``; what this class keeps is MRG's
calling conventions, so legacy code runs unchanged:

- the default seed is 12345, and a seed may be a list of six ints (it is
  used whole as the entropy of the seed sequence);
- ``size`` comes first and is required for ``uniform``, ``normal`` and
  ``truncated_normal``; ``normal(..., truncate=True)`` is ``truncated_normal``;
- ``choice(size, a=None, p=pvals)`` draws from ``range(pvals.shape[-1])``,
  once per row of a matrix ``pvals``, giving shape ``(rows, size)``; its
  dtype is int64 as in Theano, unless a float vector ``a`` is given (then
  ``a``'s dtype: Theano's MRG did not take an ``a``);
- ``nstreams`` is accepted and checked, and has no effect: there is one
  generator per draw, not a set of parallel substreams.

The numbers differ from Theano's MRG31k3p sequences; the distributions and
the reproducibility rules (same seed, same numbers, in any process) are the
same as ``RandomStreams``'.
"""

from __future__ import annotations

from collections.abc import Sequence

from arignote.tensor.basic import as_tensor_variable
from arignote.tensor.shape import shape_i
from arignote.tensor.shared_randomstreams import RandomStreams


def _check_nstreams(nstreams: int | None) -> None:
    if nstreams is not None and (not isinstance(nstreams, int) or nstreams < 1):
        raise ValueError(f"nstreams must be a positive int or None, got {nstreams!r}")


class MRG_RandomStreams(RandomStreams):
    """Random streams with the calling conventions of Theano's MRG generator.

    >>> srng = MRG_RandomStreams(seed=42)
    >>> srng.uniform((3,)).eval().shape
    (3,)
    """

    def __init__(self, seed: int | Sequence[int] = 12345):
        if not isinstance(seed, int):
            seed = [int(s) for s in seed]
        super().__init__(seed)

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        _check_nstreams(nstreams)
        return super().uniform(size, low, high, ndim, dtype)

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None, truncate=False):
        _check_nstreams(nstreams)
        if truncate:
            return super().truncated_normal(size, avg, std, ndim, dtype)
        return super().normal(size, avg, std, ndim, dtype)

    def truncated_normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None):
        _check_nstreams(nstreams)
        return super().truncated_normal(size, avg, std, ndim, dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None):
        _check_nstreams(nstreams)
        return super().binomial(size, n, p, ndim, dtype)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None):
        _check_nstreams(nstreams)
        if pvals is None:
            raise TypeError("multinomial: pvals (the probabilities of the categories) is required")
        return super().multinomial(size, n, pvals, ndim, dtype)

    def choice(self, size=1, a=None, replace=True, p=None, ndim=None, dtype=None, nstreams=None):
        _check_nstreams(nstreams)
        if a is None:
            if p is None:
                raise TypeError("choice: give a (the population) or p (the probabilities)")
            a = shape_i(as_tensor_variable(p), -1)
        return super().choice(size, a, replace, p, ndim, dtype)
