"""``TensorType``: dtype plus static shape, and the variable constructors.

A static shape entry is an int (that length is known when the graph is
built) or ``None``. A dimension of static length 1 is *broadcastable*: as in
Theano, only such dimensions broadcast, so ``T.row()`` broadcasts along its
rows and ``T.matrix()`` never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.config import config
from arignote.graph.basic import Variable
from arignote.graph.type import Type
from arignote.scalar.basic import ALL_DTYPES, upcast
from arignote.tensor.variable import TensorConstant, TensorVariable

_ND_NAMES = {0: "scalar", 1: "vector", 2: "matrix", 3: "tensor3", 4: "tensor4", 5: "tensor5"}


def _resolve_dtype(dtype: str | np.dtype | type | None) -> str:
    if dtype is None or (isinstance(dtype, str) and dtype == "floatX"):
        return config.floatX
    if isinstance(dtype, str) and dtype in ALL_DTYPES:
        return dtype  # the common case, without NumPy's dtype parsing
    try:
        resolved = str(np.dtype(dtype))
    except TypeError:
        raise TypeError(
            f"unknown dtype {dtype!r}; supported: {', '.join(ALL_DTYPES)} or 'floatX'"
        ) from None
    if resolved not in ALL_DTYPES:
        raise TypeError(f"unsupported dtype {resolved!r}; supported: {', '.join(ALL_DTYPES)}")
    return resolved


class DowncastError(TypeError):
    """A value would lose precision in the conversion; the caller says how to allow it."""


class TensorType(Type):
    """An ndarray of one dtype with a static shape (``None`` for unknown lengths).

    >>> TensorType("float32", shape=(None, 1)).broadcastable
    (False, True)
    >>> TensorType("float64", (True, False)).shape
    (1, None)
    """

    variable_type = TensorVariable
    constant_type = TensorConstant

    def __init__(
        self,
        dtype: Any,
        broadcastable: Sequence[bool] | None = None,
        name: str | None = None,
        shape: Sequence[int | None] | None = None,
    ):
        self.dtype = _resolve_dtype(dtype)
        if shape is None:
            if broadcastable is None:
                raise TypeError("TensorType needs broadcastable= or shape=")
            shape = [1 if b else None for b in broadcastable]
        else:
            shape = [None if s is None else int(s) for s in shape]
            if any(s is not None and s < 0 for s in shape):
                raise ValueError(f"static shape {tuple(shape)} has a negative length")
            if broadcastable is not None:
                if len(broadcastable) != len(shape):
                    raise ValueError("broadcastable and shape have different lengths")
                for position, (b, s) in enumerate(zip(broadcastable, shape)):
                    if b and s not in (None, 1):
                        raise ValueError(
                            f"dimension {position} is broadcastable but has length {s}"
                        )
                    if b:
                        shape[position] = 1
        self.shape: tuple[int | None, ...] = tuple(shape)
        # Derived once: types are immutable, and these are read on every call.
        self.broadcastable: tuple[bool, ...] = tuple(s == 1 for s in self.shape)
        self.ndim = len(self.shape)
        self.name = name
        self.numpy_dtype = np.dtype(self.dtype)

    def clone(
        self,
        dtype: Any = None,
        shape: Sequence[int | None] | None = None,
        broadcastable: Sequence[bool] | None = None,
    ) -> TensorType:
        """This type with another dtype, or another static shape (or broadcastable pattern)."""
        if shape is None and broadcastable is None:
            shape = self.shape
        return TensorType(self.dtype if dtype is None else dtype, broadcastable, shape=shape)

    # ---- values -------------------------------------------------------------------------
    def filter(self, data: Any, strict: bool = False, allow_downcast: bool | None = None) -> Any:
        """Convert ``data`` to an ndarray of this type, or raise ``TypeError``.

        Safe conversions always happen; a narrowing one only with
        ``allow_downcast`` (or, for a Python float going to ``floatX``, when
        ``allow_downcast`` is None, as in Theano).
        """
        if isinstance(data, Variable):
            raise TypeError(
                "expected an array-like value but got a symbolic Variable "
                f"({data!r}); call the function on numbers, not on graph variables"
            )
        if type(data) is np.ndarray and data.dtype == self.numpy_dtype:
            pass
        elif strict:
            got = data.dtype if isinstance(data, np.ndarray) else type(data).__name__
            raise TypeError(f"{self} expected an ndarray of dtype {self.dtype}, got {got}")
        elif allow_downcast:
            try:
                with np.errstate(all="ignore"):
                    data = np.asarray(data, dtype=self.dtype)
            except (ValueError, OverflowError) as exc:
                raise TypeError(f"{self} cannot hold {_short(data)}: {exc}") from None
        elif isinstance(data, (np.ndarray, np.generic)):
            if upcast(self.dtype, str(data.dtype)) != self.dtype:
                raise DowncastError(
                    f"{self} cannot hold a value of dtype {data.dtype} without possible loss "
                    f"of precision; cast the value to {self.dtype}"
                )
            data = np.asarray(data, dtype=self.dtype)
        else:
            data = self._convert_python_value(data, allow_downcast)
        if data.ndim != self.ndim:
            raise TypeError(
                f"wrong number of dimensions: expected {self.ndim} ({self}), "
                f"got {data.ndim} with shape {data.shape}"
            )
        for position, (static, actual) in enumerate(zip(self.shape, data.shape)):
            if static is not None and static != actual:
                raise TypeError(
                    f"dimension {position} must have length {static} ({self}), "
                    f"got shape {data.shape}"
                )
        return data

    def _convert_python_value(self, data: Any, allow_downcast: bool | None) -> np.ndarray:
        """Python numbers and lists: accepted when the value survives the conversion."""
        try:
            natural = np.asarray(data)
        except (ValueError, OverflowError) as exc:
            raise TypeError(f"{self} cannot hold {_short(data)}: {exc}") from None
        if natural.dtype.kind not in "biufc":
            raise TypeError(f"{self} cannot hold {_short(data)} (not a numeric value)")
        if upcast(self.dtype, str(natural.dtype)) == self.dtype:
            return natural.astype(self.dtype)
        # A narrowing conversion: fine when no value changes, and (as in Theano) for
        # a Python float going to floatX unless allow_downcast=False says otherwise.
        floatx_float = (
            allow_downcast is None and type(data) is float and self.dtype == config.floatX
        )
        if natural.dtype.kind == "c" and self.numpy_dtype.kind != "c":
            if np.any(natural.imag):
                raise DowncastError(
                    f"{self} cannot hold the complex value {_short(data)}; take its real part"
                )
            natural = natural.real
        with np.errstate(all="ignore"):
            converted = natural.astype(self.dtype)
            exact = np.array_equal(converted, natural, equal_nan=natural.dtype.kind == "f")
        if not (floatx_float or exact):
            raise DowncastError(
                f"{self} cannot hold {_short(data)} exactly (as {self.dtype}); cast it to "
                f"{self.dtype}"
            )
        return converted

    def value_key(self, value: Any) -> Any:
        array = np.asarray(value)
        return (array.shape, str(array.dtype), array.tobytes())

    def values_eq(self, a: Any, b: Any) -> bool:
        return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")

    def values_eq_approx(self, a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)

    # ---- relations between types ----------------------------------------------------------
    def is_super(self, other: Type) -> bool:
        return (
            isinstance(other, TensorType)
            and other.dtype == self.dtype
            and other.ndim == self.ndim
            and all(s is None or s == o for s, o in zip(self.shape, other.shape))
        )

    def convert_variable(self, variable: Variable) -> Variable | None:
        """A variable of a less precise static shape is narrowed with ``specify_shape``."""
        if self.is_super(variable.type):
            return variable
        other = variable.type
        if (
            isinstance(other, TensorType)
            and other.dtype == self.dtype
            and other.ndim == self.ndim
            and other.is_super(self)
        ):
            from arignote.tensor.shape import specify_shape

            return specify_shape(variable, self.shape)
        return None

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and other.dtype == self.dtype  # type: ignore[attr-defined]
            and other.shape == self.shape  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((type(self), self.dtype, self.shape))

    def __str__(self) -> str:
        if self.name:
            return self.name
        return f"TensorType({self.dtype}, {self.kind_name()})"

    def kind_name(self) -> str:
        """Theano's word for the shape: scalar, vector, row, col, matrix, ... or the shape."""
        if self.shape == (1, None):
            return "row"
        if self.shape == (None, 1):
            return "col"
        if all(s is None for s in self.shape) and self.ndim in _ND_NAMES:
            return _ND_NAMES[self.ndim]
        return (
            "shape=("
            + ", ".join("?" if s is None else str(s) for s in self.shape)
            + (",)" if self.ndim == 1 else ")")
        )

    __repr__ = __str__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _names_a_dtype(text: str) -> bool:
    """Whether a string is meant as a dtype: a full NumPy name such as 'float32', or 'floatX'.

    One-letter type codes ('f', 'b', ...) count as variable names.
    """
    if text == "floatX":
        return True
    if len(text) < 2:
        return False
    try:
        return str(np.dtype(text)) in ALL_DTYPES
    except TypeError:
        return False


def tensor(
    dtype: Any = None,
    broadcastable: Sequence[bool] | None = None,
    name: str | None = None,
    shape: Sequence[int | None] | None = None,
) -> Variable:
    """A symbolic tensor input: ``T.tensor('float32', shape=(None, 3), name='x')``."""
    if isinstance(dtype, str) and name is None and not _names_a_dtype(dtype):
        # T.tensor("x", shape=...) in the PyTensor spelling: the first argument is a name.
        name, dtype = dtype, None
    if broadcastable is None and shape is None:
        raise TypeError("T.tensor needs broadcastable= or shape= to know its number of dimensions")
    return TensorType(dtype, broadcastable, shape=shape).make_variable(name)
