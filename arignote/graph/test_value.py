"""Test values: evaluate each node as it is built, so errors appear at the user's line.

With ``config.compute_test_value`` other than ``off``, every node whose
inputs all carry a test value (``x.tag.test_value``; constants and shared
variables have theirs implicitly) is run through its ``perform`` when it is
created, and its outputs get theirs. A failure there raises at the line
that built the node, with a note naming the node and its inputs' values.
An input without a test value is skipped (``ignore``), warned about at the
user's line (``warn``), or an error (``raise``, ``pdb``) naming the
variable and where it was created; ``pdb`` also opens the debugger on a
failing ``perform``.

A test value is converted by its variable's type on first use (a list
becomes an array; a value of the wrong number of dimensions is an error
naming the variable), as Theano's ``tag.test_value`` did.
"""

from __future__ import annotations

import warnings
from typing import Any

from arignote.config import config
from arignote.graph.basic import Apply, Constant, Variable


def get_test_value(variable: Variable) -> Any:
    """The test value of ``variable``; AttributeError, naming it and its origin, if it has none."""
    if isinstance(variable, Constant):
        return variable.data
    # A shared variable (recognised by its interface: the graph package imports nothing
    # from compile) has its current value as test value, as in Theano.
    get_value = getattr(variable, "get_value", None)
    if get_value is not None:
        return get_value(borrow=True)
    tag = variable._tag
    if tag is None or not hasattr(tag, "test_value"):
        raise AttributeError(_missing_message(variable))
    value = tag.test_value
    try:
        converted = variable.type.filter(value)
    except NotImplementedError:  # a type that cannot check values takes them as they are
        return value
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"the test value of {variable!r} does not fit its type: {exc}") from None
    if converted is not value:
        tag.test_value = converted
    return converted


def _missing_message(variable: Variable) -> str:
    if variable.owner is None:
        name = variable.name or "<the variable>"
        return (
            f"{variable!r} has no test value; it is a graph input: give it one with "
            f"{name}.tag.test_value = <array of its type>"
        )
    site = variable.owner.creation_site
    where = f" (created at {site})" if site is not None else ""
    return (
        f"{variable!r} has no test value{where}; it was computed while "
        "config.compute_test_value was 'off' or from an input without one"
    )


def compute_node_test_value(node: Apply) -> None:
    """Run ``node`` on its inputs' test values, as ``config.compute_test_value`` says."""
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
                _warn_at(node, str(exc))
                return
            raise ValueError(f"cannot compute the test value of {node.op}: {exc}") from None
    storage: list[list[Any]] = [[None] for _ in node.outputs]
    try:
        node.op.perform(node, values, storage)
    except Exception as exc:
        exc.add_note(_failure_note(node, values))
        if policy == "pdb":
            import pdb  # noqa: T100 (the pdb policy asks for the debugger)

            pdb.post_mortem(exc.__traceback__)
        raise
    for output, cell in zip(node.outputs, storage):
        output.tag.test_value = cell[0]


def seed_test_value(placeholder: Variable, source: Variable, row: int | None = None) -> None:
    """Give an inner graph's input the test value of the outer ``source`` (or its ``row``).

    A loop builder calls it on the placeholders it hands a step function (a
    sequence's slice, a state's previous value), so that the step's nodes get
    test values too. Nothing happens when test values are off or ``source``
    has none.
    """
    if config.compute_test_value == "off":
        return
    try:
        value = get_test_value(source)
    except AttributeError:
        return
    placeholder.tag.test_value = value if row is None else value[row]


def _warn_at(node: Apply, message: str) -> None:
    site = node.creation_site
    if site is None:
        warnings.warn(message, UserWarning, stacklevel=4)
    else:
        warnings.warn_explicit(message, UserWarning, site.filename, site.lineno)


def _failure_note(node: Apply, values: list[Any]) -> str:
    policy = f"config.compute_test_value={config.compute_test_value!r}"
    lines = [f"While computing the test value of {node} ({policy}), on the inputs' test values:"]
    for position, (variable, value) in enumerate(zip(node.inputs, values)):
        shape = getattr(value, "shape", None)
        dtype = getattr(value, "dtype", None)
        described = f"shape {shape}, dtype {dtype}" if shape is not None else repr(value)
        lines.append(f"  {position} {variable}: {described}")
    if node.creation_site is not None:
        lines.append(f"The node was built at:\n  {node.creation_site}")
    return "\n".join(lines)
