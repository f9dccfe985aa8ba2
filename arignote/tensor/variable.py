"""``TensorVariable``: operators and NumPy-style methods on symbolic tensors.

Every method builds graph through the public tensor functions; none holds
semantics of its own. As in Theano, ``==`` and ``!=`` compare identity (use
``T.eq``/``T.neq`` elementwise), and a variable has no truth value, so
``if x > 0:`` fails loudly instead of silently taking one branch.
"""

from __future__ import annotations

import importlib
from typing import Any

from arignote.graph.basic import Constant, Variable


def _module(name: str):
    """A tensor submodule, imported on first use (they import this module).

    By full name, because ``arignote.tensor.shape`` the attribute is Theano's
    ``T.shape`` function, not the module.
    """
    return importlib.import_module(f"arignote.tensor.{name}")


def _math():
    return _module("math")


def _reduction():
    return _module("reduction")


def _shape():
    return _module("shape")


class _TensorOperators:
    """Operators shared by tensor variables and tensor constants."""

    __slots__ = ()
    # ``ndarray + variable`` defers to the variable's ``__radd__``, as in Theano.
    __array_priority__ = 1000
    # NumPy defers to our reflected operators (ndarray + x builds a graph, not an object array).
    __array_ufunc__ = None

    # ---- arithmetic -------------------------------------------------------------------
    def __add__(self, other):
        return _math().add(self, other)

    def __radd__(self, other):
        return _math().add(other, self)

    def __sub__(self, other):
        return _math().sub(self, other)

    def __rsub__(self, other):
        return _math().sub(other, self)

    def __mul__(self, other):
        return _math().mul(self, other)

    def __rmul__(self, other):
        return _math().mul(other, self)

    def __truediv__(self, other):
        return _math().true_div(self, other)

    def __rtruediv__(self, other):
        return _math().true_div(other, self)

    def __floordiv__(self, other):
        return _math().int_div(self, other)

    def __rfloordiv__(self, other):
        return _math().int_div(other, self)

    def __mod__(self, other):
        return _math().mod(self, other)

    def __rmod__(self, other):
        return _math().mod(other, self)

    def __pow__(self, other):
        return _math().pow(self, other)

    def __rpow__(self, other):
        return _math().pow(other, self)

    def __neg__(self):
        return _math().neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _math().abs(self)

    def __matmul__(self, other):
        return _module("products").matmul(self, other)

    def __rmatmul__(self, other):
        return _module("products").matmul(other, self)

    # ---- comparison and logic ---------------------------------------------------------
    def __lt__(self, other):
        return _math().lt(self, other)

    def __le__(self, other):
        return _math().le(self, other)

    def __gt__(self, other):
        return _math().gt(self, other)

    def __ge__(self, other):
        return _math().ge(self, other)

    def __and__(self, other):
        return _math().and_(self, other)

    def __rand__(self, other):
        return _math().and_(other, self)

    def __or__(self, other):
        return _math().or_(self, other)

    def __ror__(self, other):
        return _math().or_(other, self)

    def __xor__(self, other):
        return _math().xor(self, other)

    def __rxor__(self, other):
        return _math().xor(other, self)

    def __invert__(self):
        return _math().invert(self)

    def __bool__(self):
        raise TypeError(
            "a symbolic variable has no truth value; use T.switch or ifelse for a "
            "condition, and T.eq/T.neq for elementwise comparison"
        )

    def __len__(self):
        raise TypeError(
            f"len() of a symbolic variable ({self!r}) is not known when the graph is built; "
            "use x.shape[0] for a symbolic length"
        )

    def __iter__(self):
        length = self.type.shape[0] if self.ndim else None
        if length is None:
            raise TypeError(
                f"cannot iterate over {self!r}: its length is not known when the graph is "
                "built (index it with x[i], or use scan)"
            )
        for position in range(length):
            yield self[position]

    # ---- attributes -------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self.type.broadcastable

    @property
    def shape(self):
        return _shape().shape(self)

    @property
    def size(self):
        return _reduction().prod(self.shape)

    @property
    def T(self):
        return _shape().transpose(self)

    # ---- methods ----------------------------------------------------------------------
    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _shape().transpose(self, axes or None)

    def dimshuffle(self, *pattern):
        from arignote.tensor.elemwise import DimShuffle

        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return DimShuffle(self.ndim, tuple(pattern))(self)

    def reshape(self, shape, ndim=None):
        return _shape().reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1):
        return _shape().flatten(self, ndim)

    def ravel(self):
        return _shape().flatten(self, 1)

    def astype(self, dtype):
        from arignote.tensor.basic import cast

        return cast(self, dtype)

    def dot(self, other):
        return _math().dot(self, other)

    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _reduction().sum(
            self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype
        )

    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _reduction().prod(
            self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype
        )

    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _reduction().mean(
            self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype
        )

    def var(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return _reduction().var(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    def std(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return _reduction().std(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    def max(self, axis=None, keepdims=False):
        return _reduction().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _reduction().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _reduction().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _reduction().argmin(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return _reduction().all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return _reduction().any(self, axis=axis, keepdims=keepdims)

    def clip(self, a_min, a_max):
        return _math().clip(self, a_min, a_max)

    def round(self, mode=None):
        return _math().round(self, mode)

    def nonzero(self, return_matrix=False):
        from arignote.tensor.subtensor import nonzero

        return nonzero(self, return_matrix=return_matrix)

    @property
    def real(self):
        return _math().real(self)

    @property
    def imag(self):
        return _math().imag(self)

    def conj(self):
        return _math().conj(self)

    def ptp(self, axis=None, keepdims=False):
        return _reduction().ptp(self, axis=axis, keepdims=keepdims)

    def norm(self, L, axis=None, keepdims=False):
        return _reduction().norm(self, L, axis=axis, keepdims=keepdims)

    def squeeze(self, axis=None):
        return _shape().squeeze(self, axis)

    def swapaxes(self, axis1, axis2):
        return _shape().swapaxes(self, axis1, axis2)

    def repeat(self, repeats, axis=None):
        return _module("rearrange").repeat(self, repeats, axis=axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return _module("rearrange").diagonal(self, offset, axis1, axis2)

    def trace(self):
        return _module("rearrange").trace(self)

    def nonzero_values(self):
        return _module("advanced_subtensor").nonzero_values(self)

    def take(self, indices, axis=None, mode="raise"):
        return _module("advanced_subtensor").take(self, indices, axis=axis, mode=mode)

    def sort(self, axis=-1, kind="quicksort", order=None):
        return _module("sort").sort(self, axis=axis, kind=kind, order=order)

    def argsort(self, axis=-1, kind="quicksort", order=None):
        return _module("sort").argsort(self, axis=axis, kind=kind, order=order)

    def cumsum(self, axis=None):
        return _module("extra_ops").cumsum(self, axis=axis)

    def cumprod(self, axis=None):
        return _module("extra_ops").cumprod(self, axis=axis)

    def searchsorted(self, v, side="left", sorter=None):
        return _module("extra_ops").searchsorted(self, v, side=side, sorter=sorter)

    def compress(self, a, axis=None):
        """Theano's ``x.compress(condition)``: the elements where ``a`` is true."""
        return _module("extra_ops").compress(a, self, axis=axis)

    def __getitem__(self, index):
        from arignote.tensor.subtensor import getitem

        return getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError(
            "symbolic variables are immutable; use T.set_subtensor(x[index], value) "
            "or T.inc_subtensor(x[index], value) to build a modified copy"
        )


class TensorVariable(_TensorOperators, Variable):
    """A symbolic ndarray."""

    __slots__ = ()


class TensorConstant(_TensorOperators, Constant):
    """A constant ndarray; equal values (and types) are interchangeable."""

    __slots__ = ()

    @property
    def value(self) -> Any:
        return self.data
