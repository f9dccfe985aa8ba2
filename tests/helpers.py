"""Shared machinery for table-driven op tests: draw inputs, type them, compare with a reference.

A table is a list of ``OpCase``: how to build the graph from symbolic
inputs, the NumPy/SciPy reference, where each input's values are drawn
from, which dtype combinations and shape layouts to try, and tolerances.
``check_op`` runs one case on one layout and dtype combination;
``check_op_grad`` runs ``verify_grad`` on it in float64.

Symbolic inputs are typed from the values they will receive: a dimension of
length 1 is declared broadcastable, every other one is unknown, so a layout
such as ``((1, 4), (3, 4))`` is a row meeting a matrix, exactly as a user
would declare it with ``T.row()`` and ``T.matrix()``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import arignote
from arignote.gradient import verify_grad
from arignote.tensor.type import TensorType

Shape = tuple[int, ...]
Sampler = Callable[[np.random.Generator, Shape, str], np.ndarray]

# Per output dtype: (rtol, atol) against the reference.
TOLERANCES = {
    "float16": (1e-3, 1e-3),
    "float32": (1e-5, 1e-6),
    "float64": (1e-10, 1e-12),
    "complex64": (1e-5, 1e-6),
    "complex128": (1e-10, 1e-12),
}


def uniform(low: float, high: float, avoid: Sequence[float] = (), gap: float = 0.1) -> Sampler:
    """Values in ``[low, high]`` kept ``gap`` away from the points in ``avoid`` (kinks, poles).

    Integer dtypes draw integers in the range (skipping avoided ones); bool draws coin flips.
    """

    def sample(rng: np.random.Generator, shape: Shape, dtype: str) -> np.ndarray:
        kind = np.dtype(dtype).kind
        if kind == "b":
            return rng.random(shape) < 0.5
        if kind in "iu":
            choices = [
                v
                for v in range(math.ceil(low), math.floor(high) + 1)
                if all(abs(v - p) >= gap for p in avoid)
            ]
            return np.asarray(rng.choice(choices, size=shape), dtype=dtype)
        values = rng.uniform(low, high, size=shape)
        for point in avoid:
            near = np.abs(values - point) < gap
            values = np.where(near, point + np.where(values >= point, gap, -gap), values)
        return np.asarray(values, dtype=dtype)

    return sample


def variable_for(value: np.ndarray, name: str | None = None):
    """A symbolic input for ``value``: its dtype, broadcastable where its length is 1."""
    shape = [1 if n == 1 else None for n in np.shape(value)]
    return TensorType(str(np.asarray(value).dtype), shape=shape).make_variable(name)


@dataclass(frozen=True)
class OpCase:
    """One row of an op table.

    ``build(*symbolic_inputs)`` makes the graph, ``reference(*arrays)`` the
    expected value. ``out_dtype(*input_dtypes)`` gives the expected dtype
    when it is not the reference's own (Theano's rules differ from NumPy's
    for small integers and Python scalars). ``grad`` marks a case that is
    differentiable on its sampling domain.
    """

    name: str
    build: Callable[..., Any]
    reference: Callable[..., Any]
    domains: tuple[Sampler, ...]
    dtypes: tuple[tuple[str, ...], ...]
    layouts: tuple[tuple[Shape, ...], ...]
    out_dtype: Callable[..., str] | None = None
    grad: bool = False
    grad_layouts: tuple[tuple[Shape, ...], ...] | None = None
    rtol: float | None = None
    atol: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nin(self) -> int:
        return len(self.domains)


def draw_inputs(case: OpCase, rng, layout: Sequence[Shape], dtypes: Sequence[str]) -> list:
    return [sample(rng, shape, dtype) for sample, shape, dtype in zip(case.domains, layout, dtypes)]


def evaluate(build: Callable[..., Any], values: Sequence[np.ndarray]) -> np.ndarray:
    """Build the graph on inputs typed from ``values``, compile it, run it on ``values``."""
    inputs = [variable_for(v, f"x{i}") for i, v in enumerate(values)]
    output = build(*inputs)
    function = arignote.function(inputs, output, on_unused_input="ignore")
    result = function(*values)
    assert result.dtype == output.dtype, (
        f"the output variable says {output.dtype} but the function returned {result.dtype}"
    )
    return result


def assert_matches(got: np.ndarray, expected: Any, dtype: str, rtol=None, atol=None) -> None:
    """Same dtype, same shape, values equal (floats: within the dtype's tolerance, nan == nan)."""
    expected = np.asarray(expected)
    assert str(got.dtype) == dtype, f"dtype {got.dtype}, expected {dtype}"
    assert got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}"
    if np.dtype(dtype).kind in "fc":
        default_rtol, default_atol = TOLERANCES[dtype]
        np.testing.assert_allclose(
            got,
            expected.astype(dtype) if expected.dtype.kind not in "fc" else expected,
            rtol=default_rtol if rtol is None else rtol,
            atol=default_atol if atol is None else atol,
            equal_nan=True,
        )
    else:
        np.testing.assert_array_equal(got, expected)


def check_op(case: OpCase, rng, layout: Sequence[Shape], dtypes: Sequence[str]) -> None:
    """One case on one layout and dtype combination: value, shape and dtype vs the reference.

    NumPy warnings in the reference (e.g. 0/0 on an empty draw) are not the op's business.
    """
    values = draw_inputs(case, rng, layout, dtypes)
    got = evaluate(case.build, values)
    expected = _quiet_reference(case.reference, values)
    dtype = case.out_dtype(*dtypes) if case.out_dtype is not None else str(expected.dtype)
    if expected.dtype.kind == "f" and expected.dtype.itemsize < np.dtype(dtype).itemsize:
        # NumPy computed in a narrower float (float16 for int8); ask again on float inputs.
        widened = [v.astype(dtype) if v.dtype.kind in "biu" else v for v in values]
        expected = _quiet_reference(case.reference, widened)
    assert_matches(got, expected, dtype, case.rtol, case.atol)


def _quiet_reference(reference: Callable[..., Any], values: Sequence[np.ndarray]) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(reference(*values))


def check_op_grad(case: OpCase, rng, layout: Sequence[Shape]) -> None:
    """``verify_grad`` of the case in float64 on one layout."""
    values = draw_inputs(case, rng, layout, ("float64",) * case.nin)
    verify_grad(case.build, values, n_tests=1, rng=rng)


def case_id(value: Any) -> str:
    """Readable pytest ids for cases, layouts and dtype tuples."""
    if isinstance(value, OpCase):
        return value.name
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, tuple):
        return "+".join("x".join(map(str, s)) if s else "0d" for s in value)
    return str(value)


def table_params(cases: Sequence[OpCase]) -> tuple[list, list]:
    """pytest params for a table whose rows carry their own layouts: (value params, grad params).

    Value params are ``(case, layout, dtypes)`` for every layout and dtype combination; grad
    params ``(case, layout)`` for every ``grad_layouts`` (else ``layouts``) of a ``grad`` row.
    """
    import pytest

    value = [
        pytest.param(case, layout, dtypes, id=f"{case.name}-{case_id(layout)}-{case_id(dtypes)}")
        for case in cases
        for layout in case.layouts
        for dtypes in case.dtypes
    ]
    grad = [
        pytest.param(case, layout, id=f"{case.name}-{case_id(layout)}")
        for case in cases
        if case.grad
        for layout in (case.grad_layouts or case.layouts)
    ]
    return value, grad


def assert_infer_shape(output: Any, inputs: Sequence[Any], values: Sequence[np.ndarray]) -> None:
    """``infer_shape`` of ``output``'s op, evaluated on ``values``, is the shape it computes."""
    from arignote.graph.basic import Variable
    from arignote.tensor.shape import shape_i

    node = output.owner
    input_shapes = [tuple(shape_i(v, axis) for axis in range(v.ndim)) for v in node.inputs]
    inferred = node.op.infer_shape(node, input_shapes)[output.index]
    symbolic = [length for length in inferred if isinstance(length, Variable)]
    computed = arignote.function(inputs, [output, *symbolic], on_unused_input="ignore")(*values)
    actual, lengths = computed[0], iter(computed[1:])
    got = tuple(int(next(lengths)) if isinstance(n, Variable) else int(n) for n in inferred)
    assert got == actual.shape, f"infer_shape gives {got}, the op computed {actual.shape}"


def check_infer_shape(case: OpCase, rng, layout: Sequence[Shape], dtypes: Sequence[str]) -> None:
    """Every node of the case's graph: its ``infer_shape``, evaluated, is the shape it computes.

    Checks composites too: each op inside them is asked for its output shapes
    from its inputs' shapes, and the answer is compared with what it returned.
    """
    from arignote.graph.basic import Variable
    from arignote.graph.traversal import io_toposort
    from arignote.tensor.shape import shape_i

    values = draw_inputs(case, rng, layout, dtypes)
    inputs = [variable_for(v, f"x{i}") for i, v in enumerate(values)]
    output = case.build(*inputs)
    predictions = []
    for node in io_toposort(inputs, [output]):
        input_shapes = [tuple(shape_i(v, axis) for axis in range(v.ndim)) for v in node.inputs]
        for variable, lengths in zip(node.outputs, node.op.infer_shape(node, input_shapes)):
            assert len(lengths) == variable.ndim, (
                f"{node.op}: infer_shape gives {len(lengths)} lengths for a {variable.ndim}-d output"
            )
            predictions.append((node.op, variable, tuple(lengths)))
    symbolic = [n for _, _, lengths in predictions for n in lengths if isinstance(n, Variable)]
    computed = arignote.function(
        inputs, [v for _, v, _ in predictions] + symbolic, on_unused_input="ignore"
    )(*values)
    actual, lengths = computed[: len(predictions)], iter(computed[len(predictions) :])
    for (op, _, inferred), value in zip(predictions, actual):
        got = tuple(int(next(lengths)) if isinstance(n, Variable) else int(n) for n in inferred)
        assert got == np.shape(value), (
            f"{op}: infer_shape gives {got}, it computed {np.shape(value)}"
        )


def well_conditioned(low: float = -1.0, high: float = 1.0) -> Sampler:
    """Matrices (or stacks of them) with uniform entries plus a large diagonal: far from
    singular, so inverses, solves and factorizations are well conditioned; integers too."""

    def sample(rng: np.random.Generator, shape: Shape, dtype: str) -> np.ndarray:
        if len(shape) < 2:
            return uniform(low, high)(rng, shape, dtype)
        rows, columns = shape[-2:]
        diagonal = np.eye(rows, columns) * (max(rows, columns) + 1) * max(abs(low), abs(high))
        if np.dtype(dtype).kind in "iu":
            values = rng.integers(math.ceil(low), math.floor(high) + 1, size=shape)
            return np.asarray(values + diagonal.astype(int), dtype=dtype)
        return np.asarray(rng.uniform(low, high, size=shape) + diagonal, dtype=dtype)

    return sample


def positive_definite(rng: np.random.Generator, shape: Shape, dtype: str) -> np.ndarray:
    """Symmetric positive definite matrices ``B Bᵀ + n I`` (``shape`` is square)."""
    n = shape[-1]
    factor = rng.uniform(-1, 1, size=shape)
    return np.asarray(factor @ np.swapaxes(factor, -1, -2) + n * np.eye(n), dtype=dtype)
