"""Theano's named variable constructors: ``matrix``, ``fmatrix``, ``ivectors``, ...

Each name is ``[prefix]kind[s]``: the prefix picks the dtype (none: floatX;
``b w i l``: int8/16/32/64; ``f d``: float32/64; ``c z``: complex64/128), the
kind the static shape, and the plural makes one variable per name given.
"""

from __future__ import annotations

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
    "": None, "b": "int8", "w": "int16", "i": "int32", "l": "int64",
    "f": "float32", "d": "float64", "c": "complex64", "z": "complex128",
}


def _single(dtype: str | None, shape: tuple[int | None, ...]):
    def constructor(name: str | None = None, dtype: str | None = dtype, shape=shape) -> Variable:
        return TensorType(dtype, shape=shape).make_variable(name)

    return constructor


def _plural(dtype: str | None, shape: tuple[int | None, ...]):
    def constructor(*names: str | int, dtype: str | None = dtype) -> list[Variable]:
        if len(names) == 1 and isinstance(names[0], int):
            names = (None,) * names[0]  # type: ignore[assignment]
        return [TensorType(dtype, shape=shape).make_variable(n) for n in names]  # type: ignore[arg-type]

    return constructor


def _build() -> dict[str, object]:
    made: dict[str, object] = {}
    for prefix, dtype in _PREFIXES.items():
        for kind, shape in _KINDS.items():
            made[prefix + kind] = _single(dtype, shape)
            made[prefix + kind + "s"] = _plural(dtype, shape)
    for name, function in made.items():
        function.__name__ = function.__qualname__ = name  # type: ignore[attr-defined]
    return made


_CONSTRUCTORS = _build()
globals().update(_CONSTRUCTORS)
__all__ = sorted(_CONSTRUCTORS)
