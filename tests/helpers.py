"""Shared machinery for table-driven op tests: draw inputs, type them, compare with a reference.

A table is a list of ``OpCase``: how to build the graph from symbolic
inputs, the NumPy/SciPy reference, where each input's values are drawn
from, which dtype combinations and shape layouts to try, and tolerances.
``check_op`` runs one case on one layout and dtype combination;
``check_op_grad`` runs ``verify_grad`` on it in float64; ``check_infer_shape``
compares every node's ``infer_shape`` with the shapes it computes.
``all_table_cases`` collects the ``CASES`` table of every ``tests/test_*.py``
module: ``tests/test_op_tables.py`` runs those three checks on every row, so a
table module holds its rows and its op-specific tests, not the generic ones.

Symbolic inputs are typed from the values they will receive: a dimension of
length 1 is declared broadcastable, every other one is unknown, so a layout
such as ``((1, 4), (3, 4))`` is a row meeting a matrix, exactly as a user
would declare it with ``T.row()`` and ``T.matrix()``.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

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

    Options for the generic checks, where a row needs them:

    - ``grad_layouts``/``grad_domains``: where the gradient is checked, when
      not on every layout or not on the value domains (away from a kink);
    - ``rtol``/``atol`` (``None``: the output dtype's ``TOLERANCES``), and
      ``float32_tolerance``, the ``(rtol, atol)`` that replaces them when an
      input or the output is float32 (rounding grows with long sums and
      factorizations);
    - ``raises_like_reference``: exception types that, raised by the reference
      on a draw (the maximum of nothing), the op must raise too;
    - ``infer_shape_raises``: ``(exception type, message pattern)`` that the
      graph's ``infer_shape`` must raise (a length that depends on the values).
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
    grad_domains: tuple[Sampler, ...] | None = None
    rtol: float | None = None
    atol: float | None = None
    float32_tolerance: tuple[float | None, float | None] | None = None
    raises_like_reference: tuple[type[Exception], ...] = ()
    infer_shape_raises: tuple[type[Exception], str] | None = None

    @property
    def nin(self) -> int:
        return len(self.domains)

    def tolerance(self, dtypes: Sequence[str], out_dtype: str) -> tuple[float | None, float | None]:
        """``(rtol, atol)`` for the output on inputs of ``dtypes``; ``None``: the dtype's own."""
        if self.float32_tolerance is not None and "float32" in (*dtypes, out_dtype):
            return self.float32_tolerance
        return self.rtol, self.atol


def case_rng(case: OpCase) -> np.random.Generator:
    """A generator seeded from the case's name: each row draws the same values on every run."""
    return np.random.default_rng(zlib.crc32(case.name.encode()))


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

    NumPy warnings in the reference (e.g. 0/0 on an empty draw) are not the op's business;
    a draw it refuses with a ``raises_like_reference`` error, the op must refuse too.
    """
    values = draw_inputs(case, rng, layout, dtypes)
    try:
        expected = _quiet_reference(case.reference, values)
    except case.raises_like_reference:
        with pytest.raises(case.raises_like_reference):
            evaluate(case.build, values)
        return
    got = evaluate(case.build, values)
    dtype = case.out_dtype(*dtypes) if case.out_dtype is not None else str(expected.dtype)
    if expected.dtype.kind == "f" and expected.dtype.itemsize < np.dtype(dtype).itemsize:
        # NumPy computed in a narrower float (float16 for int8); ask again on float inputs.
        widened = [v.astype(dtype) if v.dtype.kind in "biu" else v for v in values]
        expected = _quiet_reference(case.reference, widened)
    assert_matches(got, expected, dtype, *case.tolerance(dtypes, dtype))


def _quiet_reference(reference: Callable[..., Any], values: Sequence[np.ndarray]) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(reference(*values))


def check_op_grad(case: OpCase, rng, layout: Sequence[Shape]) -> None:
    """``verify_grad`` of the case in float64 on one layout, at points from ``grad_domains``."""
    domains = case.grad_domains or case.domains
    values = [sample(rng, shape, "float64") for sample, shape in zip(domains, layout)]
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


TableRow = tuple[str | None, OpCase]


def all_table_cases(tests_dir: Path = Path(__file__).parent) -> list[TableRow]:
    """``(module name, case)`` for every ``OpCase`` in the ``CASES`` of every ``test_*.py``.

    Modules in file-name order, rows in table order. Only modules that assign ``CASES`` at
    their top level are imported, under the name pytest gives them (``test_x`` when the
    folder is on ``sys.path``, else ``tests.test_x``), so each is imported once.
    """
    prefix = "" if str(tests_dir) in sys.path else "tests."
    rows = []
    for path in sorted(tests_dir.glob("test_*.py")):
        if not re.search(r"^CASES\b", path.read_text(), re.MULTILINE):
            continue
        module = importlib.import_module(prefix + path.stem)
        rows += [(path.stem, c) for c in getattr(module, "CASES", ()) if isinstance(c, OpCase)]
    return rows


def _param_id(module: str | None, case: OpCase, *parts: Any) -> str:
    prefix = f"{module}::" if module else ""
    return prefix + "-".join([case.name, *map(case_id, parts)])


def value_params(rows: Sequence[TableRow]) -> list:
    """``(case, layout, dtypes)`` for every layout and dtype combination of every row."""
    return [
        pytest.param(case, layout, dtypes, id=_param_id(module, case, layout, dtypes))
        for module, case in rows
        for layout in case.layouts
        for dtypes in case.dtypes
    ]


def grad_params(rows: Sequence[TableRow]) -> list:
    """``(case, layout)`` for every ``grad_layouts`` (else ``layouts``) of a ``grad`` row."""
    return [
        pytest.param(case, layout, id=_param_id(module, case, layout))
        for module, case in rows
        if case.grad
        for layout in (case.grad_layouts or case.layouts)
    ]


def infer_shape_params(rows: Sequence[TableRow]) -> list:
    """``(case, layout, dtypes)`` for every layout of every row, in its first dtypes."""
    return [
        pytest.param(
            case, layout, case.dtypes[0], id=_param_id(module, case, layout, case.dtypes[0])
        )
        for module, case in rows
        for layout in case.layouts
    ]


def table_params(cases: Sequence[OpCase]) -> tuple[list, list]:
    """pytest params for one table: (``value_params``, ``grad_params``)."""
    rows = [(None, case) for case in cases]
    return value_params(rows), grad_params(rows)


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
    The graph runs unrewritten on the reference backend, so every node's own
    ``perform`` computes the shape its ``infer_shape`` predicted (rewrites would
    fuse or replace it; ``check_op`` covers the rewritten graph). A row with
    ``infer_shape_raises`` must raise that instead; a draw that the reference
    refuses with a ``raises_like_reference`` error, the graph refuses too.
    """
    values = draw_inputs(case, rng, layout, dtypes)
    if case.infer_shape_raises is not None:
        error, pattern = case.infer_shape_raises
        with pytest.raises(error, match=pattern):
            _compare_inferred_shapes(case.build, values)
    elif _reference_refuses(case, values):
        with pytest.raises(case.raises_like_reference):
            _compare_inferred_shapes(case.build, values)
    else:
        _compare_inferred_shapes(case.build, values)


def _reference_refuses(case: OpCase, values: Sequence[np.ndarray]) -> bool:
    if not case.raises_like_reference:
        return False
    try:
        _quiet_reference(case.reference, values)
    except case.raises_like_reference:
        return True
    return False


def _compare_inferred_shapes(build: Callable[..., Any], values: Sequence[np.ndarray]) -> None:
    from arignote.compile.mode import Mode
    from arignote.graph.basic import Variable
    from arignote.graph.traversal import io_toposort
    from arignote.tensor.shape import shape_i

    inputs = [variable_for(v, f"x{i}") for i, v in enumerate(values)]
    output = build(*inputs)
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
        inputs,
        [v for _, v, _ in predictions] + symbolic,
        mode=Mode(optimizer=None),
        on_unused_input="ignore",
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
