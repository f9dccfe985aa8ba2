"""Test values: evaluate each node as it is built, so errors appear at the user's line.

With ``config.compute_test_value`` other than ``off``, every node whose
inputs all carry a test value (``x.tag.test_value``, constants included)
is run through its ``perform`` when it is created; a failure there raises
at the line that built the node. Inputs without a test value are ignored,
warned about, or an error, as the flag says.
"""

from __future__ import annotations

import warnings

from arignote.config import config
from arignote.graph.basic import Apply, Constant, Variable


def get_test_value(variable: Variable):
    if isinstance(variable, Constant):
        return variable.data
    try:
        return variable.tag.test_value
    except AttributeError:
        site = variable.owner.creation_site if variable.owner is not None else None
        where = f" (created at {site})" if site is not None else ""
        raise AttributeError(f"{variable!r} has no test value{where}") from None


def compute_node_test_value(node: Apply) -> None:
    policy = config.compute_test_value
    if policy == "off":
        return
    values = []
    for variable in node.inputs:
        try:
            values.append(get_test_value(variable))
        except AttributeError as exc:
            if policy == "ignore":
                return
            if policy == "warn":
                warnings.warn(str(exc), stacklevel=3)
                return
            raise ValueError(f"cannot compute the test value of {node.op}: {exc}") from None
    storage = [[None] for _ in node.outputs]
    if policy == "pdb":
        import pdb

        try:
            node.op.perform(node, values, storage)
        except Exception:
            pdb.post_mortem()
            raise
    else:
        node.op.perform(node, values, storage)
    for output, cell in zip(node.outputs, storage):
        output.tag.test_value = cell[0]
