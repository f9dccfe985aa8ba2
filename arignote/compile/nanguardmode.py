"""``NanGuardMode``: stop at the first node whose output holds a NaN, an infinity or a huge value.

``NanGuardMode(nan_is_error=True, inf_is_error=True, big_is_error=True)``
(also ``mode="NanGuardMode"``) compiles like ``FAST_RUN`` (the same
rewrites, on ``FAST_RUN``'s linker unless ``linker=`` says otherwise) and
checks values as the function runs: its inputs before anything runs, then
every floating-point output of every node, through the linker's per-node
observer (``arignote.link.observer``), so the compiled backend is checked
node by node too. Integer and boolean values cannot hold NaN or Inf and are
skipped.

"Big" is Theano's threshold: a finite value with ``abs(v) > 1e10``;
infinities are left to ``inf_is_error`` (so ``inf_is_error=False`` lets
``-inf`` masks through even when big values are errors).

The first problem found raises ``NanGuardError`` (an ``AssertionError``, as
Theano raised) naming the node, the kind of value, the output and where the
first bad value is, the user's line that created the node, and statistics
of the node's inputs (shape, dtype, min/max/mean, NaN and Inf counts); the
statistics are computed only then, so an input the backend overwrote with
the output (the jit linker computes in place into dying inputs) shows the
output's values, and the message says so. The check of a value costs two
reductions (``min`` and ``max``, which propagate NaN) on the happy path.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from arignote.compile.mode import (
    Mode,
    ObserverChain,
    Program,
    observing_linker,
    wrapped_program,
)
from arignote.config import config
from arignote.graph.basic import Apply, Variable
from arignote.graph.fg import FunctionGraph
from arignote.graph.rewriting.db import RewriteQuery
from arignote.link.errors import inner_sites, mark_reported
from arignote.link.observer import NodeObserver

BIG_THRESHOLD = 1e10

NAN, INF, BIG = "NaN", "Inf", "big value"


class NanGuardError(AssertionError):
    """A NaN, Inf or big value found by ``NanGuardMode``.

    ``kind`` is ``"NaN"``, ``"Inf"`` or ``"big value"``; ``node`` the Apply
    node whose output ``output`` holds it (``node`` is None, and ``input``
    the variable, when a function input holds it).
    """

    def __init__(
        self,
        message: str,
        kind: str,
        node: Apply | None = None,
        output: int | None = None,
        input: Variable | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.node = node
        self.output = output
        self.input = input


class NanGuardMode(Mode):
    """Compile like FAST_RUN, and raise at the first NaN/Inf/big value a node produces.

    >>> import numpy as np, arignote, arignote.tensor as T
    >>> x = T.vector("x")
    >>> f = arignote.function([x], T.log(x), mode=NanGuardMode())
    >>> f([1.0, -1.0])
    Traceback (most recent call last):
    ...
    arignote.compile.nanguardmode.NanGuardError: NanGuardMode: NaN in output 0 of ...
    """

    def __init__(
        self,
        nan_is_error: bool = True,
        inf_is_error: bool = True,
        big_is_error: bool = True,
        optimizer: str | RewriteQuery | None = "default",
        linker: str | Any = None,
    ):
        if not (nan_is_error or inf_is_error or big_is_error):
            raise ValueError(
                "NanGuardMode: nan_is_error, inf_is_error and big_is_error are all False, so "
                "nothing would be checked; set at least one"
            )
        if optimizer == "default":
            optimizer = config.optimizer
        super().__init__(
            observing_linker() if linker is None else linker, optimizer, "NanGuardMode"
        )
        self.nan_is_error = nan_is_error
        self.inf_is_error = inf_is_error
        self.big_is_error = big_is_error

    def find_problem(self, value: Any) -> str | None:
        """The first kind of value checked for that ``value`` holds (NaN, Inf, big), or None."""
        return find_problem(value, self.nan_is_error, self.inf_is_error, self.big_is_error)

    def make_program(self, fgraph: FunctionGraph, observer: NodeObserver | None = None) -> Program:
        """The linker's program, checking the function's inputs and every node's outputs."""
        guard = _OutputGuard(self, len(fgraph.apply_nodes))
        program = super().make_program(fgraph, ObserverChain.of(guard, observer))
        inputs = list(fgraph.inputs)

        def guarded(input_values: Sequence[Any]) -> list[Any]:
            for position, (variable, value) in enumerate(zip(inputs, input_values)):
                kind = self.find_problem(value)
                if kind is not None:
                    raise _input_error(kind, position, variable, value)
            return program(input_values)

        return wrapped_program(program, guarded)

    def __repr__(self) -> str:
        return (
            f"NanGuardMode(nan_is_error={self.nan_is_error}, inf_is_error={self.inf_is_error}, "
            f"big_is_error={self.big_is_error}, linker={self.linker.name!r}, query={self.query})"
        )


class _OutputGuard:
    """The observer: checks each node's float outputs after it runs."""

    def __init__(self, mode: NanGuardMode, n_nodes: int):
        self.mode = mode
        self.n_nodes = n_nodes

    def before(self, position: int, node: Apply, inputs: Sequence[Any]) -> None:
        pass

    def after(
        self, position: int, node: Apply, inputs: Sequence[Any], outputs: Sequence[Any]
    ) -> None:
        for index, value in enumerate(outputs):
            kind = self.mode.find_problem(value)
            if kind is not None:
                raise _node_error(kind, position, self.n_nodes, node, index, inputs, value)


# ---- finding bad values ---------------------------------------------------------------------
def find_problem(value: Any, nan: bool = True, inf: bool = True, big: bool = True) -> str | None:
    """Which of NaN, Inf, big value (finite, ``abs > 1e10``) ``value`` holds first, if checked.

    >>> find_problem(np.array([1.0, np.inf])), find_problem(np.array([3e10]), big=False)
    ('Inf', None)
    """
    if not isinstance(value, (np.ndarray, np.generic)) or value.dtype.kind not in "fc":
        return None
    if value.size == 0:
        return None
    if value.dtype.kind == "c":
        return find_problem(value.real, nan, inf, big) or find_problem(value.imag, nan, inf, big)
    low, high = value.min(), value.max()  # both NaN if any value is
    if np.isnan(low):
        if nan:
            return NAN
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN array
            low, high = np.nanmin(value), np.nanmax(value)
        if np.isnan(low):
            return None
    infinite = np.isinf(low) or np.isinf(high)
    if inf and infinite:
        return INF
    if not big:
        return None
    if infinite:  # big values are finite ones
        finite = value[np.isfinite(value)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
    return BIG if max(abs(float(low)), abs(float(high))) > BIG_THRESHOLD else None


def _mask_of(kind: str, value: np.ndarray) -> np.ndarray:
    if value.dtype.kind == "c":
        return _mask_of(kind, value.real) | _mask_of(kind, value.imag)
    if kind == NAN:
        return np.isnan(value)
    if kind == INF:
        return np.isinf(value)
    with np.errstate(invalid="ignore"):
        return np.isfinite(value) & (np.abs(value) > BIG_THRESHOLD)


def _where(kind: str, value: Any) -> str:
    """How many values of ``kind`` ``value`` holds, and where the first one is."""
    value = np.asarray(value)
    mask = _mask_of(kind, value)
    count = int(mask.sum())
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))
    example = value[first].item()
    noun = kind if count == 1 else f"{kind}s" if kind != NAN else "NaNs"
    return f"{count} {noun} of {value.size} values, the first at index {first} ({example!r})"


def describe_statistics(value: Any) -> str:
    """Shape, dtype and summary statistics of a value, for an error message.

    >>> describe_statistics(np.array([1.0, np.nan, 3.0]))
    'shape (3,), dtype float64, min 1, max 3, mean 2 (of the finite values), 1 NaN, 0 Inf'
    """
    if not isinstance(value, (np.ndarray, np.generic)):
        return f"{type(value).__name__}"
    text = f"shape {value.shape}, dtype {value.dtype}"
    if value.dtype.kind not in "biufc":
        return text
    if value.size == 0:
        return f"{text}, empty"
    if value.dtype.kind == "c":
        finite = value[np.isfinite(value)]
        text += f", mean {_number(finite.mean())}" if finite.size else ""
    else:
        finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
        if finite.size:
            text += (
                f", min {_number(finite.min())}, max {_number(finite.max())}, "
                f"mean {_number(finite.mean())}"
            )
    if value.dtype.kind in "fc":
        text += " (of the finite values)" if finite.size else ", no finite value"
        text += f", {int(np.isnan(value).sum())} NaN, {int(np.isinf(value).sum())} Inf"
    return text


def _number(value: Any) -> str:
    number = value.item() if hasattr(value, "item") else value
    return f"{number:.6g}" if isinstance(number, (float, complex)) else str(number)


# ---- reporting -------------------------------------------------------------------------------
def _node_error(
    kind: str,
    position: int,
    n_nodes: int,
    node: Apply,
    index: int,
    inputs: Sequence[Any],
    value: Any,
) -> NanGuardError:
    from arignote.printing import debugprint

    lines = [
        (
            f"NanGuardMode: {kind} in output {index} of {node} (node {position + 1} of "
            f"{n_nodes} in the program), the first node to produce one"
        ),
        (
            f"output {index} ({node.outputs[index]}): {describe_statistics(value)}; "
            f"{_where(kind, value)}"
        ),
    ]
    if node.creation_site is not None:
        lines.append(f"The node was created at:\n  {node.creation_site}")
    fused_lines = inner_sites(node)
    if fused_lines:
        lines.append("It computes operations from these lines:")
        lines += [f"  {site}: {', '.join(ops)}" for site, ops in fused_lines]
    lines.append("Inputs of the node:")
    for number, (variable, argument) in enumerate(zip(node.inputs, inputs)):
        lines.append(f"  input {number} ({variable}): {describe_statistics(argument)}")
    if not node.inputs:
        lines.append("  none")
    lines.append("The node:")
    lines.append(debugprint(node, depth=3, file="str").rstrip())
    error = NanGuardError("\n".join(lines), kind, node=node, output=index)
    mark_reported(error, node)  # the linker adds no second report on this node
    return error


def _input_error(kind: str, position: int, variable: Variable, value: Any) -> NanGuardError:
    label = f"{position} ({variable.name})" if variable.name else f"{position} ({variable})"
    return NanGuardError(
        f"NanGuardMode: {kind} in function input {label}, before any node ran\n"
        f"input {label}: {describe_statistics(value)}; {_where(kind, value)}",
        kind,
        input=variable,
    )


__all__ = ["NanGuardError", "NanGuardMode", "describe_statistics", "find_problem"]
