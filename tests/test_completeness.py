"""Every concrete Op in the package has a perform, a gradient decision, infer_shape and a test row.

The Op classes are found by importing every module of ``arignote``. A
class that other Op classes derive from and that has no kernel of its own
(no ``perform``; for scalar ops no ``numpy_fn``) is an abstract base and is
skipped. "A test row" means the class occurs in the
graph built by some ``OpCase`` of a ``CASES`` table in ``tests/`` (or in
the gradient graph of a differentiable row, which ``verify_grad`` runs).

Run ``pytest tests/test_completeness.py -s`` to see the coverage table.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

import arignote
from arignote.graph.op import Op
from arignote.graph.traversal import ancestors
from arignote.scalar.basic import ScalarOp
from arignote.tensor.elemwise import Elemwise
from tests.helpers import all_table_cases, draw_inputs, variable_for


def package_op_classes() -> list[type]:
    for module in pkgutil.walk_packages(arignote.__path__, "arignote."):
        importlib.import_module(module.name)
    found: dict[type, None] = {}
    stack = [Op]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("arignote.") and sub not in found:
                found[sub] = None
            stack.append(sub)
    return list(found)


def _overrides(cls: type, name: str, base: type) -> bool:
    """Whether ``cls`` gets ``name`` from somewhere below ``base`` in its MRO."""
    for klass in cls.__mro__:
        if klass is base:
            return False
        if name in klass.__dict__:
            return True
    return False


def _implemented(cls: type) -> bool:
    if issubclass(cls, ScalarOp):
        return _overrides(cls, "numpy_fn", ScalarOp) or _overrides(cls, "compute", ScalarOp)
    return _overrides(cls, "perform", Op)


def _has_own_kernel(cls: type) -> bool:
    if issubclass(cls, ScalarOp):
        return hasattr(cls, "numpy_fn")
    return _overrides(cls, "perform", Op)


def concrete_op_classes() -> list[type]:
    classes = package_op_classes()
    bases = {base for cls in classes for base in cls.__mro__[1:]}
    return [cls for cls in classes if cls not in bases or _has_own_kernel(cls)]


def op_classes_in(outputs) -> set[type]:
    found = set()
    for variable in ancestors(outputs):
        if variable.owner is not None:
            op = variable.owner.op
            found.add(type(op))
            if isinstance(op, Elemwise):
                found.add(type(op.scalar_op))
    return found


def covered_op_classes() -> dict[type, str]:
    covered: dict[type, str] = {}
    rng = np.random.default_rng(0)
    for module_name, case in all_table_cases():
        values = draw_inputs(case, rng, case.layouts[0], case.dtypes[0])
        inputs = [variable_for(v) for v in values]
        output = case.build(*inputs)
        outputs = list(output) if isinstance(output, (list, tuple)) else [output]
        if case.grad:
            float_inputs = [variable_for(np.asarray(v, dtype="float64")) for v in values]
            graded = case.build(*float_inputs)
            graded = graded[0] if isinstance(graded, (list, tuple)) else graded
            outputs += arignote.grad(graded.sum(), float_inputs, disconnected_inputs="ignore")
        for cls in op_classes_in(outputs):
            covered.setdefault(cls, f"{module_name}::{case.name}")
    return covered


def coverage_rows() -> list[tuple[str, bool, bool, bool, str]]:
    covered = covered_op_classes()
    rows = []
    for cls in sorted(concrete_op_classes(), key=lambda c: (c.__module__, c.__name__)):
        scalar = issubclass(cls, ScalarOp)
        perform = _implemented(cls)
        gradient = _overrides(cls, "L_op", ScalarOp if scalar else Op) or (
            not scalar and _overrides(cls, "grad", Op)
        )
        shape = scalar or _overrides(cls, "infer_shape", Op)
        rows.append((f"{cls.__module__}.{cls.__name__}", perform, gradient, shape,
                     covered.get(cls, "")))
    return rows


def test_every_concrete_op_is_complete_and_tested():
    rows = coverage_rows()
    width = max(len(r[0]) for r in rows)
    mark = {True: "yes", False: "NO"}
    table = [f"{'op class':<{width}}  perform  gradient  infer_shape  test row"]
    table += [
        f"{name:<{width}}  {mark[p]:<7}  {mark[g]:<8}  {mark[s]:<11}  {row or 'NO'}"
        for name, p, g, s, row in rows
    ]
    print("\n".join(table))
    incomplete = [line for line, r in zip(table[1:], rows) if not (r[1] and r[2] and r[3] and r[4])]
    assert not incomplete, "ops missing a perform, gradient, infer_shape or test row:\n" + "\n".join(
        [table[0], *incomplete]
    )
