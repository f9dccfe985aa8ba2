"""Parity: every row of every op table gives the same values on the jit and reference backends.

For each ``OpCase`` in a ``CASES`` table of ``tests/``, the row's graph
is compiled with ``FAST_RUN`` on the jit linker (rewritten, fused, C
kernels) and with ``FAST_COMPILE`` on the reference linker, run on the
row's first layout and dtypes, and compared to the row's tolerance. A row
the reference refuses must be refused by the jit too, with the same
exception type. Shared variables (random states) are restored between the
two runs, so both draw the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import arignote
from arignote.compile.mode import Mode
from arignote.compile.sharedvalue import SharedVariable
from arignote.graph.traversal import graph_inputs
from tests.helpers import all_table_cases, assert_matches, case_rng, draw_inputs, variable_for
from tests.jit_support import requires_compiler

pytestmark = requires_compiler

JIT = Mode("jit", optimizer="fast_run", name="FAST_RUN")
ROWS = all_table_cases()


def run(inputs, outputs, values, mode, shared_state):
    for variable, state in shared_state:
        variable.set_value(state)
    function = arignote.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    return function(*values)


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=f"{module}::{case.name}") for module, case in ROWS]
)
def test_jit_matches_the_reference(case):
    layout, dtypes = case.layouts[0], case.dtypes[0]
    values = draw_inputs(case, case_rng(case), layout, dtypes)
    inputs = [variable_for(v, f"x{i}") for i, v in enumerate(values)]
    built = case.build(*inputs)
    outputs = list(built) if isinstance(built, (list, tuple)) else [built]
    shared_state = [
        (v, v.get_value(borrow=False))
        for v in graph_inputs(outputs)
        if isinstance(v, SharedVariable)
    ]
    try:
        expected = run(inputs, outputs, values, "FAST_COMPILE", shared_state)
    except Exception as refusal:
        with pytest.raises(type(refusal)):
            run(inputs, outputs, values, JIT, shared_state)
        return
    got = run(inputs, outputs, values, JIT, shared_state)
    for g, e in zip(got, expected):
        g, e = np.asarray(g), np.asarray(e)
        assert_matches(g, e, str(e.dtype), *case.tolerance(dtypes, str(e.dtype)))
