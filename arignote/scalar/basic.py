"""Scalar types and the scalar-op protocol: the bodies of elementwise ops.

A ``ScalarOp`` says, for single numbers, everything an elementwise tensor
op needs: its output dtypes (a rule from input dtypes, as Theano defined
them), its NumPy implementation (applied to whole arrays by ``Elemwise``),
and its gradient as a graph of other scalar ops. ``Elemwise`` turns that
scalar gradient graph into a tensor graph, so each derivative is written
once, right beside its forward rule, and fused kernels can reuse it.

Complex numbers: a gradient with respect to a complex variable ``z`` is
``dC/dRe(z) + i dC/dIm(z)`` for a real cost ``C`` (Theano's convention), so
a holomorphic ``f`` pulls back ``g`` as ``g * conj(f'(z))``. Only ops that
set ``complex_gradient`` follow it; ``Elemwise`` answers
``grad_not_implemented`` for the others whenever a complex value is
involved, rather than return a silently wrong gradient.
"""

from __future__ import annotations

import importlib

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arignote.config import config
from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.op import Op
from arignote.graph.type import Type

BOOL_DTYPES = ("bool",)
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_DTYPES = ("float16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")
DISCRETE_DTYPES = BOOL_DTYPES + INT_DTYPES
CONTINUOUS_DTYPES = FLOAT_DTYPES + COMPLEX_DTYPES
ALL_DTYPES = DISCRETE_DTYPES + CONTINUOUS_DTYPES

_AUTOCAST_INT = ("int8", "int16", "int32", "int64")


@functools.lru_cache(maxsize=1024)
def dtype_name(dtype: Any) -> str:
    """The canonical name of a dtype spelling (``'f8'``, ``np.float64``, ...): ``'float64'``.

    Cached: graph building asks this for every node, and ``str(np.dtype(...))`` is slow.
    """
    return str(np.dtype(dtype))


@functools.lru_cache(maxsize=4096)
def upcast(*dtypes: str) -> str:
    """The dtype NumPy gives to an operation mixing arrays of these dtypes."""
    return str(np.result_type(*(np.dtype(d) for d in dtypes)))


def autocast_python_scalar(value: int | float | complex) -> np.ndarray:
    """A Python number as the narrowest array that holds it exactly (Theano's rule).

    Ints take the first of int8..int64 that holds them; floats take float32
    if that is exact (or always, when ``floatX`` is float32), else float64.
    Exactness is judged on the Python value: NumPy 2 compares ``float32(0.1)``
    and ``0.1`` in float32 and calls them equal, which would make 0.1 float32.

    >>> [str(autocast_python_scalar(v).dtype) for v in (1, 300, 1.5, 0.1)]
    ['int8', 'int16', 'float32', 'float64']
    """
    if isinstance(value, bool):
        return np.asarray(value, dtype="bool")
    if isinstance(value, int):
        for dtype in _AUTOCAST_INT:
            limits = np.iinfo(dtype)
            if limits.min <= value <= limits.max:
                return np.asarray(value, dtype=dtype)
        return np.asarray(value)
    if isinstance(value, float):
        if config.floatX == "float32":
            return np.asarray(value, dtype="float32")
        with np.errstate(over="ignore"):
            narrow = np.asarray(value, dtype="float32")
        if float(narrow) == value or np.isnan(value):
            return narrow
        return np.asarray(value, dtype="float64")
    return np.asarray(value)


class ScalarType(Type):
    """The type of a single number of one dtype."""

    def __init__(self, dtype: str):
        self.dtype = dtype_name(dtype)

    def filter(self, value: Any, strict: bool = False, allow_downcast: bool | None = None) -> Any:
        if strict and not (isinstance(value, np.generic) and str(value.dtype) == self.dtype):
            raise TypeError(f"{self} expected a NumPy {self.dtype} scalar, got {value!r}")
        return np.asarray(value, dtype=self.dtype)[()]

    def __eq__(self, other: object) -> bool:
        return type(other) is ScalarType and other.dtype == self.dtype  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((ScalarType, self.dtype))

    def __str__(self) -> str:
        return self.dtype

    __repr__ = __str__

    def value_key(self, value: Any) -> Any:
        return (self.dtype, np.asarray(value).tobytes())


class _ScalarOperators:
    """Arithmetic on scalar variables, so gradients read as math."""

    __slots__ = ()

    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    def __rmul__(self, other):
        return mul(other, self)

    def __truediv__(self, other):
        return true_div(self, other)

    def __rtruediv__(self, other):
        return true_div(other, self)

    def __pow__(self, other):
        return pow(self, other)

    def __neg__(self):
        return neg(self)


class ScalarVariable(_ScalarOperators, Variable):
    __slots__ = ()

    @property
    def dtype(self) -> str:
        return self.type.dtype


class ScalarConstant(_ScalarOperators, Constant):
    __slots__ = ()

    @property
    def dtype(self) -> str:
        return self.type.dtype


ScalarType.variable_type = ScalarVariable
ScalarType.constant_type = ScalarConstant


def as_scalar(value: Any) -> Variable:
    """A scalar variable, or a constant made from a number."""
    if isinstance(value, Variable):
        if not isinstance(value.type, ScalarType):
            raise TypeError(f"expected a scalar variable, got {value!r}")
        return value
    array = autocast_python_scalar(value) if isinstance(value, (bool, int, float)) else None
    if array is None:
        array = np.asarray(value)
    if array.ndim != 0:
        raise TypeError(f"expected a scalar, got an array of shape {array.shape}")
    return ScalarConstant(ScalarType(str(array.dtype)), array)


# ---- output dtype rules (Theano's names) --------------------------------------------
DtypeRule = Callable[..., tuple[str, ...]]


def upcast_out(*dtypes: str) -> tuple[str, ...]:
    return (upcast(*dtypes),)


def upcast_out_nobool(*dtypes: str) -> tuple[str, ...]:
    dtype = upcast(*dtypes)
    return ("int8",) if dtype == "bool" else (dtype,)


def upgrade_to_float(*dtypes: str) -> tuple[str, ...]:
    """Integers become the float that holds them (int8/16 → float32, wider → float64)."""
    dtype = upcast(*dtypes)
    if dtype in ("bool", "int8", "int16", "uint8", "uint16"):
        return (upcast("float32", *(d for d in dtypes if d in CONTINUOUS_DTYPES)),)
    if dtype in INT_DTYPES:
        return ("float64",)
    return (dtype,)


def true_div_out(*dtypes: str) -> tuple[str, ...]:
    """Theano's ``TrueDiv``: integers over integers give ``floatX``; anything else upcasts."""
    if all(d in DISCRETE_DTYPES for d in dtypes):
        return (config.floatX,)
    return upcast_out(*dtypes)


def same_out(*dtypes: str) -> tuple[str, ...]:
    return (dtypes[0],)


def bool_out(*dtypes: str) -> tuple[str, ...]:
    return ("bool",)


def float_out_of_complex(*dtypes: str) -> tuple[str, ...]:
    dtype = dtypes[0]
    return ({"complex64": "float32", "complex128": "float64"}.get(dtype, dtype),)


def require_discrete(op: ScalarOp, dtypes: Sequence[str]) -> None:
    for dtype in dtypes:
        if dtype not in DISCRETE_DTYPES:
            raise TypeError(f"{op} works on integer or bool inputs, got {dtype}")


def scipy_special(name: str) -> Any:
    """``scipy.special.<name>`` as a ``numpy_fn``, imported on first use.

    SciPy's special functions take a third of a second to import; ``import
    arignote`` should not pay that for ops a program may never run.
    """
    function = None

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal function
        if function is None:
            function = getattr(importlib.import_module("scipy.special"), name)
        return function(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


class ScalarOp(Op):
    """An operation on numbers. Subclasses set ``numpy_fn``, ``dtype_rule`` and ``L_op``.

    ``numpy_fn`` must accept arrays and broadcast (a ufunc, or built from ufuncs):
    ``Elemwise`` calls it once on whole arrays. ``accepts_complex = False``
    refuses complex inputs when the graph is built; ``complex_gradient = True``
    says ``L_op`` follows the complex convention of the module docstring.
    """

    __props__ = ("name",)
    nin = 1
    nout = 1
    numpy_fn: Callable[..., Any]
    dtype_rule: DtypeRule = staticmethod(upcast_out)
    accepts_complex = True
    complex_gradient = False

    def __init__(self, name: str | None = None):
        self.name = name or type(self).__name__.lower()

    def output_dtypes(self, *input_dtypes: str) -> tuple[str, ...]:
        if self.nin >= 0 and len(input_dtypes) != self.nin:
            raise TypeError(f"{self} takes {self.nin} inputs, got {len(input_dtypes)}")
        if not self.accepts_complex:
            for position, dtype in enumerate(input_dtypes):
                if dtype in COMPLEX_DTYPES:
                    raise TypeError(
                        f"{self} is defined for real inputs only, but input {position} is "
                        f"{dtype}; take T.real/T.imag/T.abs first"
                    )
        return type(self).dtype_rule(*input_dtypes)

    def make_node(self, *inputs: Any) -> Apply:
        inputs = [as_scalar(i) for i in inputs]
        dtypes = self.output_dtypes(*(i.type.dtype for i in inputs))
        return Apply(self, inputs, [ScalarType(d).make_variable() for d in dtypes])

    def compute(self, *values: Any) -> Any:
        """The op on NumPy values: one result, or a tuple for several outputs."""
        return type(self).numpy_fn(*values)

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]) -> None:
        # IEEE results (inf, nan, 0 for integer x // 0) without NumPy's warnings, as in C.
        with np.errstate(all="ignore"):
            results = self.compute(*inputs)
            if self.nout == 1:
                results = (results,)
            for cell, result, output in zip(output_storage, results, node.outputs):
                cell[0] = np.asarray(result, dtype=output.type.dtype)[()]

    def L_op(self, inputs, outputs, output_grads):
        raise NotImplementedError(f"{self} has no gradient")

    def __str__(self) -> str:
        return self.name


def zero_grads(inputs: Sequence[Variable]) -> list[Variable]:
    """Gradients of an op whose output is locally constant in every input."""
    return [as_scalar(np.zeros((), dtype=_grad_dtype(i.type.dtype))) for i in inputs]


def _grad_dtype(dtype: str) -> str:
    return dtype if dtype in CONTINUOUS_DTYPES else config.floatX


def constant_like(value: Any, like: Variable) -> Variable:
    """``value`` as a constant of ``like``'s dtype (floatX for integers), so that an
    irrational constant such as ``2/sqrt(pi)`` does not upcast a float32 gradient."""
    return as_scalar(np.asarray(value, dtype=_grad_dtype(like.type.dtype)))


# The operators of scalar variables (above) build these ops.
from arignote.scalar.math import add, mul, neg, pow, sub, true_div  # noqa: E402
