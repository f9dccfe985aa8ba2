"""Copying graphs, and copying them with some variables replaced.

``clone_get_equiv`` is the one mechanism: it walks the nodes between inputs
and outputs in topological order and rebuilds each one whose inputs
changed, recording old → new for every variable. ``clone`` and
``clone_replace`` (Theano's ``theano.clone``) are thin front ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from arignote.graph.basic import Constant, Variable
from arignote.graph.traversal import graph_inputs, io_toposort


def clone_get_equiv(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    copy_inputs: bool = True,
    copy_orphans: bool = True,
    memo: dict[Variable, Variable] | None = None,
    rebuild_unchanged: bool = True,
) -> dict[Any, Any]:
    """Map every variable and node between ``inputs`` and ``outputs`` to its copy.

    Entries already in ``memo`` are used as given: that is how replacements
    are expressed. With ``rebuild_unchanged=False`` a node whose inputs all
    map to themselves is kept rather than copied.
    """
    equiv: dict[Any, Any] = {} if memo is None else memo
    for variable in inputs:
        if variable not in equiv:
            equiv[variable] = variable.clone() if copy_inputs else variable
    for node in io_toposort(list(inputs) + [v for v in equiv if isinstance(v, Variable)], outputs):
        new_inputs = []
        for variable in node.inputs:
            if variable not in equiv:
                # An orphan: a constant or an input not listed in ``inputs``.
                keep = not copy_orphans or not isinstance(variable, Constant)
                equiv[variable] = variable if keep else variable.clone()
            new_inputs.append(equiv[variable])
        if not rebuild_unchanged and all(n is o for n, o in zip(new_inputs, node.inputs)):
            new_node = node
        else:
            new_node = node.clone_with_new_inputs(new_inputs, strict=False)
        equiv[node] = new_node
        for old, new in zip(node.outputs, new_node.outputs):
            equiv.setdefault(old, new)
            if new is not old and new.name is None:
                new.name = old.name
    for variable in outputs:
        equiv.setdefault(variable, variable.clone() if copy_inputs else variable)
    return equiv


def clone(
    inputs: Sequence[Variable], outputs: Sequence[Variable], copy_inputs: bool = True
) -> tuple[list[Variable], list[Variable]]:
    """Copies of ``inputs`` and of the graph computing ``outputs`` from them."""
    equiv = clone_get_equiv(inputs, outputs, copy_inputs=copy_inputs)
    return [equiv[i] for i in inputs], [equiv[o] for o in outputs]


def _check_replacement(old: Variable, new: Any) -> Variable:
    if not isinstance(new, Variable):
        raise TypeError(f"the replacement of {old!r} must be a Variable, got {type(new).__name__}")
    if old.type != new.type:
        converted = old.type.convert_variable(new)
        if converted is None:
            raise TypeError(
                f"cannot replace {old!r} by {new!r}: type {new.type} is not compatible with "
                f"{old.type}"
            )
        new = converted
    return new


def clone_replace(
    output: Variable | Sequence[Variable],
    replace: Mapping[Variable, Any] | Iterable[tuple[Variable, Any]] | None = None,
    strict: bool = True,
    share_inputs: bool = True,
) -> Variable | list[Variable]:
    """Copy the graph of ``output`` with the variables in ``replace`` substituted.

    >>> import arignote.tensor as T
    >>> x, y = T.scalars("x", "y")
    >>> z = clone_replace(x * 2, {x: y})
    >>> z.eval({y: 3.0})
    array(6.)
    """
    pairs = list(replace.items() if isinstance(replace, Mapping) else (replace or ()))
    outputs = list(output) if isinstance(output, (list, tuple)) else [output]
    memo: dict[Any, Any] = {
        old: (_check_replacement(old, new) if strict else new) for old, new in pairs
    }
    inputs = graph_inputs(outputs, blockers=memo)
    equiv = clone_get_equiv(
        [i for i in inputs if i not in memo],
        outputs,
        copy_inputs=not share_inputs,
        copy_orphans=False,
        memo=memo,
    )
    cloned = [equiv[o] for o in outputs]
    return cloned if isinstance(output, (list, tuple)) else cloned[0]


def replace_and_rebuild(
    outputs: Sequence[Variable], replacements: Mapping[Variable, Variable]
) -> list[Variable]:
    """Outputs with ``replacements`` applied, reusing every node that does not change."""
    memo: dict[Any, Any] = dict(replacements)
    inputs = graph_inputs(outputs, blockers=memo)
    equiv = clone_get_equiv(
        [i for i in inputs if i not in memo],
        outputs,
        copy_inputs=False,
        copy_orphans=False,
        memo=memo,
        rebuild_unchanged=False,
    )
    return [equiv[o] for o in outputs]
