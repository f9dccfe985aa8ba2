"""Theano's named variable constructors: ``matrix``, ``fmatrix``, ``ivectors``, ...

Each name is ``[prefix]kind`` or its plural: the prefix picks the dtype
(none: floatX, read when the variable is made; ``b w i l``: int8/16/32/64;
``f d``: float32/64; ``c z``: complex64/128), the kind the static shape. A
plural (``fmatrices('a', 'b')``, or ``fmatrices(2)`` for two unnamed ones)
makes one variable per name.

As in Theano, a prefixed name is a ``TensorType`` (so ``itypes = [T.dmatrix]``
works in an Op), and calling it makes a variable; an unprefixed one is a
function that also takes ``dtype=`` and ``shape=``.

>>> import arignote.tensor as T
>>> a, b = T.fmatrices("a", "b")
>>> a.name, a.dtype, T.row().broadcastable
('a', 'float32', (True, False))
>>> T.dmatrix("x").type == T.dmatrix
True
"""

from __future__ import annotations

from typing import Any

from arignote.graph.basic import Variable
from arignote.tensor.type import TensorType

_KINDS: dict[str, tuple[int | None, ...]] = {
    "scalar": (),
    "vector": (None,),
    "row": (1, None),
    "col": (None, 1),
    "matrix": (None, None),
    "tensor3": (None,) * 3,
    "tensor4": (None,) * 4,
    "tensor5": (None,) * 5,
    "tensor6": (None,) * 6,
    "tensor7": (None,) * 7,
}
_PREFIXES = {
    "": None,
    "b": "int8",
    "w": "int16",
    "i": "int32",
    "l": "int64",
    "f": "float32",
    "d": "float64",
    "c": "complex64",
    "z": "complex128",
}


def _single(dtype: str | None, kind_shape: tuple[int | None, ...]):
    def constructor(name: str | None = None, dtype: str | None = dtype, shape=None) -> Variable:
        if shape is None:
            shape = kind_shape
        elif len(shape) != len(kind_shape):
            raise ValueError(
                f"{constructor.__name__}: shape {tuple(shape)} has {len(shape)} dimensions, "
                f"expected {len(kind_shape)}"
            )
        return TensorType(dtype, shape=shape).make_variable(name)

    return constructor


def _plural(dtype: str | None, shape: tuple[int | None, ...]):
    def constructor(*names: str | int, dtype: str | None = dtype) -> Variable | list[Variable]:
        """``xs(3)``: three unnamed; ``xs('a', 'b')``: named; ``xs('abc')``: one per letter.

        As in Theano, a single one-letter name gives the variable itself, not a list.
        """
        if len(names) == 1 and isinstance(names[0], int):
            names = (None,) * names[0]  # type: ignore[assignment]
        elif len(names) == 1:
            names = tuple(names[0])  # a string: one variable per character
            if len(names) == 1:
                return TensorType(dtype, shape=shape).make_variable(names[0])
        return [TensorType(dtype, shape=shape).make_variable(n) for n in names]  # type: ignore[arg-type]

    return constructor


def _plural_name(kind: str) -> str:
    return "matrices" if kind == "matrix" else kind + "s"


def _named(function: Any, name: str) -> Any:
    function.__name__ = function.__qualname__ = name
    return function


def _build() -> dict[str, object]:
    made: dict[str, object] = {}
    for prefix, dtype in _PREFIXES.items():
        for kind, shape in _KINDS.items():
            plural = prefix + _plural_name(kind)
            made[plural] = _named(_plural(dtype, shape), plural)
            made[prefix + kind] = (
                TensorType(dtype, shape=shape) if prefix else _named(_single(dtype, shape), kind)
            )
    return made


_CONSTRUCTORS = _build()
globals().update(_CONSTRUCTORS)
__all__ = sorted(_CONSTRUCTORS)  # noqa: PLE0605  (built from the table above)
