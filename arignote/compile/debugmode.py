"""The checking mode: every call also runs the unrewritten graph, and the two must agree.

``mode="DEBUG"`` (Theano's names ``"DebugMode"``/``"DEBUG_MODE"`` too, or
``DebugMode()``) rewrites a function's graph as its query says, but first
keeps a copy of the graph as it was. On every call the rewritten graph runs
on the mode's linker and the copy on the reference (``py``) linker, on the
same arguments; every output and every update must agree:

- same dtype and shape;
- floats and complex numbers within the dtype's tolerance (``_TOLERANCES``,
  Theano's), NaN equal to NaN, an infinity equal to itself. Where the
  unrewritten graph gives an infinity or NaN and the rewritten one a finite
  value, the rewritten value is accepted: that is what stabilising rewrites
  (``log(1 + exp(x))`` → ``softplus(x)``) are for, as Theano's
  ``values_eq_approx_remove_inf`` allowed;
- everything else (integers, booleans, generators) exactly (``Type.values_eq``).

The call returns the rewritten graph's values. When they disagree (or only
one graph raises), the mode finds the rewrite responsible by bisection: the
rewrites that changed the graph are recorded in the order they first fired
(``RewriteHistory`` hears every ``on_change_input`` and its reason), then
fresh copies of the unrewritten graph are rewritten again with the first
``m`` of them excluded by name, to find the least ``m`` for which the values
agree. Rewrite ``m`` is named in the ``BadOptimization`` raised, with the
output, the largest difference and the input shapes. This costs
``log2(rewrites fired)`` rewriting passes, only after a mismatch.

``function()`` rewrites then links; the two steps meet through ``_RECORDS``,
which maps each rewritten graph (weakly, so it dies with its function) to
what the linker needs: the unrewritten copy, the query and the history.
"""

from __future__ import annotations

import importlib
import warnings
import weakref
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arignote.compile.mode import Mode
from arignote.graph.basic import Variable
from arignote.graph.fg import FunctionGraph
from arignote.graph.rewriting.db import RewriteDatabase, RewriteQuery
from arignote.graph.rewriting.stages import optdb
from arignote.link.observer import NodeObserver
from arignote.link.python.linker import PythonLinker
from arignote.tensor.type import TensorType

Program = Callable[[Sequence[Any]], list[Any]]

# Per dtype: (rtol, atol), as Theano's DebugMode compared values.
_TOLERANCES = {
    "float16": (1e-3, 1e-3),
    "float32": (1e-5, 1e-5),
    "float64": (1e-5, 1e-8),
    "complex64": (1e-5, 1e-5),
    "complex128": (1e-5, 1e-8),
}


class DebugModeError(Exception):
    """Something the checking mode found wrong (Theano's base class of its reports)."""


class BadOptimization(DebugModeError):
    """A rewrite changed what the graph computes.

    ``rewrite`` is the name of the rewrite found responsible (``None`` when no
    single rewrite explains the difference), ``output`` the position of the
    output that differs (``None`` when one graph raised and the other did not).
    """

    def __init__(self, message: str, rewrite: str | None, output: int | None):
        super().__init__(message)
        self.rewrite = rewrite
        self.output = output


class RewriteHistory:
    """FunctionGraph feature: how often each reason changed an input, in first-seen order.

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> fg = FunctionGraph([x], [T.exp(x) + 0], clone=False)
    >>> history = RewriteHistory()
    >>> fg.attach_feature(history)
    >>> fg.replace(fg.outputs[0], fg.outputs[0].owner.inputs[0], reason="local_add_zero")
    >>> history.reasons
    {'local_add_zero': 1}
    """

    def __init__(self) -> None:
        self.reasons: dict[str, int] = {}

    def on_change_input(self, fgraph, node, position, old, new, reason) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


@dataclass
class _Record:
    """What a checking program needs to know of how its graph was rewritten."""

    unrewritten: FunctionGraph
    query: RewriteQuery | None
    reasons: list[str]


_RECORDS: weakref.WeakKeyDictionary[FunctionGraph, _Record] = weakref.WeakKeyDictionary()


class DebugMode(Mode):
    """Rewrite as ``optimizer`` says, and check every call against the unrewritten graph.

    >>> import numpy as np, arignote, arignote.tensor as T
    >>> x = T.vector("x")
    >>> f = arignote.function([x], T.log(1 + T.exp(x)), mode=DebugMode())
    >>> bool(np.allclose(f([0.0, 1.0]), np.log1p(np.exp([0.0, 1.0]))))
    True
    """

    def __init__(
        self,
        linker: str | Any = "py",
        optimizer: str | RewriteQuery | None = "fast_run",
        name: str = "DEBUG",
    ):
        super().__init__(linker, optimizer, name)
        self.linker = CheckingLinker(self.linker)

    def rewrite(self, fgraph: FunctionGraph) -> dict[str, int]:
        """Rewrite ``fgraph`` in place, keeping a copy of it as it was for the linker."""
        unrewritten = FunctionGraph(fgraph.inputs, fgraph.outputs, clone=True)
        history = RewriteHistory()
        fgraph.attach_feature(history)
        try:
            counts = super().rewrite(fgraph)
        finally:
            fgraph.remove_feature(history)
        _RECORDS[fgraph] = _Record(unrewritten, self.effective_query(), list(history.reasons))
        return counts


class CheckingLinker:
    """Links the rewritten graph with ``linker``, the unrewritten one with the reference."""

    name = "debug"

    def __init__(self, linker: Any):
        self.linker = linker

    def make_program(self, fgraph: FunctionGraph, observer: NodeObserver | None = None) -> Program:
        program = (
            self.linker.make_program(fgraph)
            if observer is None
            else self.linker.make_program(fgraph, observer)
        )
        record = _RECORDS.get(fgraph)
        if record is None:  # not rewritten by a DebugMode: nothing to compare with
            return program
        reference = PythonLinker().make_program(record.unrewritten)

        def checked(values: Sequence[Any]) -> list[Any]:
            try:
                found: list[Any] | Exception = program(values)
            except Exception as exc:  # noqa: BLE001  (re-raised below unless a rewrite caused it)
                found = exc
            expected = _outcome(reference, values)
            difference = _first_difference(record.unrewritten.outputs, expected, found)
            if difference is not None:
                cause = found if isinstance(found, Exception) else None
                raise _bad_optimization(record, self.linker, values, expected, *difference) from (
                    cause
                )
            if isinstance(found, Exception):
                raise found  # both graphs raise: the caller's mistake, reported as usual
            return found

        return checked


# ---- comparing ---------------------------------------------------------------------------
def _outcome(program: Program, values: Sequence[Any]) -> list[Any] | Exception:
    """The program's results on private copies of ``values``, or the exception it raised."""
    copies = [v.copy() if isinstance(v, np.ndarray) else v for v in values]
    try:
        return program(copies)
    except Exception as exc:  # noqa: BLE001  (an outcome to compare, not an error here)
        return exc


def _first_difference(
    outputs: Sequence[Variable], expected: list[Any] | Exception, found: list[Any] | Exception
) -> tuple[int | None, str] | None:
    """``(output position, how it differs)`` for the first output that differs, else None.

    The position is None when only one of the graphs raised.
    """
    if isinstance(expected, Exception) or isinstance(found, Exception):
        if isinstance(expected, Exception) and isinstance(found, Exception):
            return None
        if isinstance(expected, Exception):
            return None, (
                f"the unrewritten graph raises {type(expected).__name__}: {expected}, "
                "the rewritten one returns values"
            )
        return None, f"the rewritten graph raises {type(found).__name__}: {found}"
    for position, (variable, reference, value) in enumerate(zip(outputs, expected, found)):
        difference = value_difference(variable.type, reference, value)
        if difference is not None:
            return position, difference
    return None


def value_difference(type_: Any, reference: Any, value: Any) -> str | None:
    """How ``value`` differs from ``reference`` (values of ``type_``), or None if they agree.

    >>> from arignote.tensor.type import TensorType
    >>> t = TensorType("float64", shape=(None,))
    >>> value_difference(t, np.array([1.0, np.nan]), np.array([1.0 + 1e-9, np.nan])) is None
    True
    >>> value_difference(t, np.array([1.0, 2.0]), np.array([1.0, 2.5]))
    'max |difference| 0.5 at index (1,): 2.5 where the unrewritten graph gives 2.0'
    """
    if not isinstance(type_, TensorType):
        return None if type_.values_eq(reference, value) else f"{value!r} instead of {reference!r}"
    reference, value = np.asarray(reference), np.asarray(value)
    if value.dtype != reference.dtype:
        return f"dtype {value.dtype} where the unrewritten graph gives {reference.dtype}"
    if value.shape != reference.shape:
        return f"shape {value.shape} where the unrewritten graph gives {reference.shape}"
    if reference.dtype.name in _TOLERANCES:
        rtol, atol = _TOLERANCES[reference.dtype.name]
        agree = np.isclose(value, reference, rtol=rtol, atol=atol, equal_nan=True)
        agree |= ~np.isfinite(reference) & np.isfinite(value)
    else:
        agree = value == reference
    if agree.all():
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        gap = np.abs(np.subtract(value, reference, dtype=np.result_type(value, np.float64)))
    gap = np.where(agree, 0.0, np.nan_to_num(gap, nan=np.inf, posinf=np.inf))
    index = np.unravel_index(int(np.argmax(gap)), gap.shape)
    found, wanted = value[index].item(), reference[index].item()
    return (
        f"max |difference| {gap[index]:.3g} at index {tuple(int(i) for i in index)}: "
        f"{found!r} where the unrewritten graph gives {wanted!r}"
    )


# ---- finding the rewrite responsible ---------------------------------------------------
def _names_by_reason() -> dict[str, list[str]]:
    """For each rewriter in ``optdb`` (at any depth): the reason it reports -> its entry names."""
    names: dict[str, list[str]] = defaultdict(list)
    databases: list[RewriteDatabase] = [optdb]
    while databases:
        database = databases.pop()
        for entry in database.entries.values():
            if isinstance(entry.rewriter, RewriteDatabase):
                databases.append(entry.rewriter)
            else:
                names[str(entry.rewriter)].append(entry.name)
    return names


def _agrees_without(
    record: _Record, linker: Any, excluded: list[str], values: Sequence[Any], expected: Any
) -> bool:
    """Whether the graph rewritten without the ``excluded`` rewrites gives ``expected``."""
    trial = FunctionGraph(record.unrewritten.inputs, record.unrewritten.outputs, clone=True)
    try:
        if record.query is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optdb.query(record.query.excluding(*excluded)).apply(trial)
        program = linker.make_program(trial)
    except Exception:  # noqa: BLE001  (a trial that cannot be built does not agree)
        return False
    found = _outcome(program, values)
    return _first_difference(record.unrewritten.outputs, expected, found) is None


def _find_responsible_rewrite(
    record: _Record, linker: Any, values: Sequence[Any], expected: Any
) -> tuple[list[str], bool] | None:
    """The first recorded rewrite whose exclusion (with those before it) restores agreement.

    Returns its registered names and whether excluding it alone is enough;
    None when even excluding every recorded rewrite leaves the results different.
    """
    importlib.import_module("arignote.tensor.rewriting")
    names_by_reason = _names_by_reason()
    # A reason no database reports is tried as a name anyway (it excludes nothing).
    groups = [names_by_reason.get(reason, [reason]) for reason in record.reasons]

    def agrees_without_first(count: int) -> bool:
        excluded = [name for names in groups[:count] for name in names]
        return _agrees_without(record, linker, excluded, values, expected)

    if not groups or not agrees_without_first(len(groups)):
        return None
    low, high = 1, len(groups)
    while low < high:
        middle = (low + high) // 2
        if agrees_without_first(middle):
            high = middle
        else:
            low = middle + 1
    names = groups[low - 1]
    alone = low == 1 or _agrees_without(record, linker, names, values, expected)
    return names, alone


def _describe_inputs(inputs: Sequence[Variable], values: Sequence[Any]) -> str:
    parts = []
    for position, (variable, value) in enumerate(zip(inputs, values)):
        label = variable.name or f"input {position}"
        if isinstance(value, np.ndarray):
            parts.append(f"{label}: {value.dtype} {value.shape}")
        else:
            parts.append(f"{label}: {type(value).__name__}")
    return ", ".join(parts) or "none"


def _bad_optimization(
    record: _Record,
    linker: Any,
    values: Sequence[Any],
    expected: Any,
    position: int | None,
    difference: str,
) -> BadOptimization:
    found = _find_responsible_rewrite(record, linker, values, expected)
    inputs = _describe_inputs(record.unrewritten.inputs, values)
    what = "the call"
    if position is not None:
        what = f"output {position} ({record.unrewritten.outputs[position]})"
    if found is None:
        unnamed = [r for r in record.reasons if r not in _names_by_reason()]
        also = f", or one of {unnamed}, which no database names" if unnamed else ""
        return BadOptimization(
            f"DebugMode: the rewritten graph and the unrewritten one disagree on {what}: "
            f"{difference}; inputs: {inputs}. No single rewrite explains it: the graph "
            "rewritten without any of the rewrites that fired still disagrees (a backend or an "
            f"op's perform may be at fault{also}).",
            None,
            position,
        )
    names, alone = found
    name = "/".join(names)
    blame = (
        f"Without it the results agree; exclude it with mode.excluding"
        f"({', '.join(map(repr, names))}) or ARIGNOTE_FLAGS=optimizer_excluding={':'.join(names)}"
        if alone
        else "The results agree once it and the rewrites that fired before it are excluded"
    )
    return BadOptimization(
        f"DebugMode: rewrite {name!r} changed the result of {what}: {difference}; inputs: "
        f"{inputs}. {blame}.",
        name,
        position,
    )
