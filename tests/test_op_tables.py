"""The generic checks of every op table: each ``CASES`` row of each ``tests/test_*.py``.

A table module holds its rows (``OpCase``, ``tests/helpers.py``) and the
tests particular to its ops; the three checks every row gets live here:

- value, shape and dtype against the reference, on every layout and dtype
  combination of the row;
- the gradient against finite differences in float64, on every
  ``grad_layouts`` (else ``layouts``) of a ``grad`` row;
- every node's ``infer_shape`` against the shapes it computes, on every
  layout, in the row's first dtypes.

Ids read ``<module>::<case>-<layout>-<dtypes>``, so ``-k test_sort::topk``
runs one row. Each check draws from a generator seeded by the row's name,
so a failure reproduces on its own. Per-row options (tolerances, the
gradient's domain, errors the reference raises) are ``OpCase`` fields,
honoured by the ``check_*`` helpers.
"""

from __future__ import annotations

import pytest

from tests.helpers import (
    all_table_cases,
    case_rng,
    check_infer_shape,
    check_op,
    check_op_grad,
    grad_params,
    infer_shape_params,
    value_params,
)

ROWS = all_table_cases()


@pytest.mark.parametrize("case, layout, dtypes", value_params(ROWS))
def test_value_matches_reference(case, layout, dtypes):
    check_op(case, case_rng(case), layout, dtypes)


@pytest.mark.parametrize("case, layout", grad_params(ROWS))
def test_gradient_matches_finite_differences(case, layout):
    check_op_grad(case, case_rng(case), layout)


@pytest.mark.parametrize("case, layout, dtypes", infer_shape_params(ROWS))
def test_infer_shape_matches_computed_shapes(case, layout, dtypes):
    check_infer_shape(case, case_rng(case), layout, dtypes)
