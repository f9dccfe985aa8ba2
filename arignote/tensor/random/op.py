"""``RandomVariable``: one draw from a distribution, as a pure op.

Inputs are ``(rng, size, *params)``; outputs are ``(new_rng, draw)``, and
``draw`` is the default output. ``perform`` copies the generator, draws
from the copy and returns the advanced copy, so the op never changes a
value it was given and two nodes with equal inputs compute equal draws
(they may merge). Randomness across calls comes from a shared generator
whose ``default_update`` is ``new_rng`` (``RandomStreams`` sets that up).

``size`` is an int64 vector whose length is known when the graph is built
(it decides the draw's number of dimensions); an empty ``size`` means "the
shape of the parameters", as in Theano. Its entries that are constants, and
the parameters' static lengths, become the draw's static shape, so a
mismatch between them is reported at the line that builds the draw.

Gradients: none. The generator and ``size`` are not differentiable inputs
(``None``); a float parameter answers ``grad_undefined``, so ``grad``
through a draw raises and names this op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.graph.basic import Apply, Variable
from arignote.graph.op import Op
from arignote.scalar.basic import DISCRETE_DTYPES, INT_DTYPES
from arignote.tensor.basic import as_tensor_variable, cast
from arignote.tensor.random.distributions import Distribution
from arignote.tensor.random.type import as_generator_variable, copy_generator, random_type
from arignote.tensor.shape import shape_vector, specify_shape, static_entries, vector_entry
from arignote.tensor.type import TensorType, _resolve_dtype


def size_vector(size: Any, ndim: int | None, what: str) -> Variable:
    """``size`` (None, an int, a tuple of ints/scalars, or an int vector) as an int64 vector.

    The vector's length must be known when the graph is built: a symbolic
    vector of unknown length needs ``ndim``. ``None`` is the empty vector.

    >>> size_vector((2, 3), None, "uniform").type.shape
    (2,)
    """
    if size is None:
        return shape_vector([])
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = [size]
    if isinstance(size, (list, tuple)):
        vector = shape_vector(list(size), f"{what}: size")
    else:
        vector = as_tensor_variable(size)
        if vector.dtype not in INT_DTYPES:
            raise TypeError(
                f"{what}: size must hold integers, got {vector!r} of dtype {vector.dtype}"
            )
        if vector.ndim == 0:
            vector = shape_vector([vector], f"{what}: size")
        elif vector.ndim != 1:
            raise TypeError(f"{what}: size must be a tuple or an int vector, got {vector!r}")
        vector = cast(vector, "int64")
    length = vector.type.shape[0]
    if length is None:
        if ndim is None:
            raise TypeError(
                f"{what}: the length of size {vector!r} is not known when the graph is built, "
                "so the number of dimensions of the draw is unknown; pass ndim="
            )
        return specify_shape(vector, (ndim,))
    if ndim is not None and length and ndim != length:
        raise ValueError(f"{what}: size has {length} entries but ndim={ndim}")
    if any(n is not None and n < 0 for n in static_entries(vector)):
        raise ValueError(f"{what}: size {tuple(static_entries(vector))} has a negative length")
    return vector


class RandomVariable(Op):
    """Draw from ``distribution`` with a generator; outputs ``(new_rng, draw)``.

    >>> import numpy as np
    >>> from arignote.tensor.random.distributions import Uniform
    >>> op = RandomVariable(Uniform(), "float64")
    >>> draw = op(np.random.default_rng(0), (2,), 0.0, 1.0)
    >>> draw.eval().shape
    (2,)
    """

    __props__ = ("distribution", "dtype")
    default_output = 1

    def __init__(self, distribution: Distribution, dtype: Any):
        self.distribution = distribution
        self.dtype = _resolve_dtype(dtype)

    def __str__(self) -> str:
        return f"RandomVariable{{{self.distribution}, {self.dtype}}}"

    def make_node(self, rng: Any, size: Any, *params: Any) -> Apply:
        what = self.distribution.name
        rng = as_generator_variable(rng, what)
        size = size_vector(size, None, what)
        params = [as_tensor_variable(p) for p in params]
        self.distribution.check_params(params, what)
        draw_type = TensorType(self.dtype, shape=self._static_shape(size, params, what))
        return Apply(self, [rng, size, *params], [random_type.make_variable(), draw_type()])

    def _batch_shapes(self, params: Sequence[Variable]) -> list[tuple]:
        cores = self.distribution.core_ndims(params)
        return [p.type.shape[: p.ndim - core] for p, core in zip(params, cores)]

    def _static_shape(self, size: Variable, params: list[Variable], what: str) -> tuple:
        entries = static_entries(size)
        batches = self._batch_shapes(params)
        names = self.distribution.param_names
        if self.distribution.size_is_batch and entries:
            batch = _fit_to_size(entries, dict(zip(names, batches)), what)
        else:
            batch = _broadcast_static(dict(zip(names, batches)), what)
        return tuple(batch) + tuple(self.distribution.static_support_shape(entries, params))

    def perform(self, node, inputs, output_storage):
        rng, size, *params = inputs
        generator = copy_generator(rng)
        draw = self.distribution.sample(generator, params, tuple(int(n) for n in size) or None)
        output_storage[0][0] = generator
        output_storage[1][0] = np.asarray(draw, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        _, size, *params = node.inputs
        param_shapes = input_shapes[2:]
        entries = [vector_entry(size, i) for i in range(size.type.shape[0])]
        if self.distribution.size_is_batch and entries:
            batch = entries
        else:
            batch = _broadcast_lengths(self._batch_shapes(params), param_shapes)
        support = self.distribution.support_shape(entries, params, param_shapes)
        static = node.outputs[1].type.shape
        lengths = [
            known if known is not None else n for known, n in zip(static, [*batch, *support])
        ]
        return [(), tuple(lengths)]

    def L_op(self, inputs, outputs, output_grads):
        from arignote.gradient import grad_undefined

        names = self.distribution.param_names
        return [None, None] + [
            None
            if param.dtype in DISCRETE_DTYPES
            else grad_undefined(
                self,
                position,
                param,
                f"{name}: a random draw is not differentiable with "
                "respect to the parameters of its distribution",
            )
            for position, (name, param) in enumerate(zip(names, inputs[2:]), start=2)
        ]

    def do_constant_folding(self, node: Apply) -> bool:
        # A draw is data: storing it in the graph as a constant saves nothing.
        return False


def _fit_to_size(size: list[int | None], batches: dict[str, tuple], what: str) -> list:
    """The static batch shape when ``size`` is given; every parameter must broadcast to it."""
    result = list(size)
    for name, shape in batches.items():
        if len(shape) > len(size):
            raise ValueError(
                f"{what}: {name} has {len(shape)} batch dimensions (static shape {shape}), "
                f"more than the {len(size)} entries of size"
            )
        for offset, length in enumerate(reversed(shape), start=1):
            axis = len(size) - offset
            if length is None or length == 1:
                continue
            if result[axis] is not None and result[axis] != length:
                raise ValueError(
                    f"{what}: {name} of static shape {shape} does not broadcast to size "
                    f"{tuple('?' if n is None else n for n in size)} (axis {axis})"
                )
            result[axis] = length
    return result


def _broadcast_static(batches: dict[str, tuple], what: str) -> list:
    """The static broadcast of the parameters' batch shapes (NumPy's rule on known lengths)."""
    ndim = max((len(shape) for shape in batches.values()), default=0)
    result: list[int | None] = []
    for offset in range(ndim, 0, -1):
        lengths = {name: shape[-offset] for name, shape in batches.items() if len(shape) >= offset}
        known = {n for n in lengths.values() if n is not None and n != 1}
        if len(known) > 1:
            raise ValueError(
                f"{what}: the parameters' shapes do not broadcast together "
                f"({', '.join(f'{name}: {batches[name]}' for name in lengths)})"
            )
        if known:
            result.append(known.pop())
        elif all(n == 1 for n in lengths.values()):
            result.append(1)
        else:
            result.append(None)
    return result


def _broadcast_lengths(batches: list[tuple], param_shapes: Sequence[Sequence[Any]]) -> list:
    """Symbolic broadcast lengths: on each axis, the length of a parameter not declared 1 there."""
    ndim = max((len(shape) for shape in batches), default=0)
    lengths = []
    for offset in range(ndim, 0, -1):
        chosen: Any = 1
        for static, shape in zip(batches, param_shapes):
            if len(static) >= offset and static[-offset] != 1:
                chosen = shape[len(static) - offset]
                break
        lengths.append(chosen)
    return lengths
