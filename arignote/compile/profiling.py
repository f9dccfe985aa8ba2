"""Profiling compiled functions: where the time and the memory go.

``function(..., profile=True)`` gives the function a ``ProfileStats`` as
``f.profile``; ``profile=stats`` (a ``ProfileStats``) lets several functions
add to one; ``config.profile=True`` profiles every function and prints each
profile to stderr when the process exits (as Theano did). What is recorded:

- calls of the function's program and their total time;
- per node: calls and time, taken by the linker's per-node observer
  (``arignote.link.observer``) with ``time.perf_counter`` just around the
  node, on whichever backend runs it; the tables group it per node, per op
  and per op class;
- compile time, split into rewriting and linking (the linker's lowering and
  code generation, kernel compilation included);
- memory: the bytes of each node's outputs (the largest seen; an output
  that shares memory with an input, a view or a value written in place,
  counts 0) and, from those and the order the nodes ran in, an estimate of
  the peak memory of a call: values are counted from the node that makes
  them to their last reader (the graph's outputs to the end), as the
  linkers free them. Inputs are the caller's and are not counted.

Nodes are keyed by their Apply node, which belongs to one function's graph,
so profiles of several functions add up without mixing.
"""

from __future__ import annotations

import atexit
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import IO, Any

import numpy as np

from arignote.compile.mode import wrapped_program
from arignote.config import config
from arignote.graph.basic import Apply, Variable
from arignote.graph.fg import FunctionGraph

Program = Callable[[Sequence[Any]], list[Any]]


class ProfileStats:
    """Time, calls and memory of one or more compiled functions; ``summary()`` prints them.

    >>> import numpy as np, arignote, arignote.tensor as T
    >>> x = T.vector("x")
    >>> f = arignote.function([x], T.exp(x).sum(), profile=True)
    >>> _ = f(np.ones(3)); _ = f(np.ones(3))
    >>> f.profile.fct_callcount
    2
    """

    def __init__(self, atexit_print: bool = False, message: str = ""):
        self.message = message
        self.compile_time = 0.0
        self.optimizer_time = 0.0
        self.linker_time = 0.0
        self.nb_nodes = 0
        self.fct_callcount = 0
        self.fct_call_time = 0.0
        self.apply_time: dict[Apply, float] = defaultdict(float)
        self.apply_callcount: dict[Apply, int] = defaultdict(int)
        self.output_bytes: dict[Variable, int] = {}
        self.variable_shape: dict[Variable, tuple[int, ...]] = {}
        self._programs: list[_ProgramRecord] = []
        if atexit_print:
            _print_at_exit(self)

    # ---- recording --------------------------------------------------------------------------
    def record_compile(self, fgraph: FunctionGraph, rewriting: float, linking: float) -> None:
        self.optimizer_time += rewriting
        self.linker_time += linking
        self.compile_time += rewriting + linking
        self.nb_nodes += len(fgraph.apply_nodes)

    def observer(self, fgraph: FunctionGraph) -> NodeTimer:
        """The per-node observer that records into these stats for one function's program."""
        record = _ProgramRecord(fgraph)
        self._programs.append(record)
        return NodeTimer(self, record)

    def timed(self, program: Program) -> Program:
        """``program``, counting its calls and their time into these stats."""

        def timed_program(input_values: Sequence[Any]) -> list[Any]:
            start = time.perf_counter()
            try:
                return program(input_values)
            finally:
                self.fct_call_time += time.perf_counter() - start
                self.fct_callcount += 1

        return wrapped_program(program, timed_program)

    # ---- aggregates -------------------------------------------------------------------------
    def class_time(self) -> dict[type, float]:
        return _grouped(self.apply_time, lambda node: type(node.op))

    def class_callcount(self) -> dict[type, int]:
        return _grouped(self.apply_callcount, lambda node: type(node.op))

    def op_time(self) -> dict[Any, float]:
        return _grouped(self.apply_time, lambda node: node.op)

    def op_callcount(self) -> dict[Any, int]:
        return _grouped(self.apply_callcount, lambda node: node.op)

    def peak_memory(self) -> int:
        """Estimated peak bytes of one call (the largest over the functions profiled)."""
        return max((record.peak(self.output_bytes) for record in self._programs), default=0)

    # ---- printing ---------------------------------------------------------------------------
    def summary(
        self, file: IO[str] | None = None, n_ops_to_print: int = 20, n_apply_to_print: int = 20
    ) -> None:
        """Print the global times, the class, op and node tables and the memory (to stderr)."""
        out = sys.stderr if file is None else file
        out.write(self.summary_text(n_ops_to_print, n_apply_to_print))

    def summary_text(self, n_ops_to_print: int = 20, n_apply_to_print: int = 20) -> str:
        lines = ["Function profiling", "==================", f"  Message: {self.message}"]
        node_time = sum(self.apply_time.values())
        per_call = self.fct_call_time / self.fct_callcount if self.fct_callcount else 0.0
        lines += [
            (
                f"  Time in {self.fct_callcount} calls to the program: "
                f"{self.fct_call_time:.3e}s ({per_call:.3e}s per call)"
            ),
            f"  Time in nodes: {node_time:.3e}s ({_percent(node_time, self.fct_call_time)})",
            f"  Total compile time: {self.compile_time:.3e}s",
            f"    Number of Apply nodes: {self.nb_nodes}",
            f"    Rewriting time: {self.optimizer_time:.3e}s",
            f"    Linking time (lowering, code generation, compiling): {self.linker_time:.3e}s",
            "",
        ]
        calls = self.apply_callcount
        apply_counts = _grouped({node: 1 for node in calls}, lambda node: type(node.op))
        lines += _table(
            "Class",
            "<#apply> <Class name>",
            [
                (time_, self.class_callcount()[cls], f"{apply_counts[cls]:>8}  {_class_name(cls)}")
                for cls, time_ in self.class_time().items()
            ],
            node_time,
            n_ops_to_print,
        )
        op_apply_counts = _grouped({node: 1 for node in calls}, lambda node: node.op)
        lines += _table(
            "Ops",
            "<#apply> <Op name>",
            [
                (time_, self.op_callcount()[op], f"{op_apply_counts[op]:>8}  {op}")
                for op, time_ in self.op_time().items()
            ],
            node_time,
            n_ops_to_print,
        )
        positions = {node: n for record in self._programs for n, node in record.nodes()}
        lines += _table(
            "Apply",
            "<id> <Apply name>",
            [
                (time_, calls[node], f"{positions.get(node, '?'):>4}  {node}")
                for node, time_ in self.apply_time.items()
            ],
            node_time,
            n_apply_to_print,
        )
        lines += self._memory_lines(n_apply_to_print)
        return "\n".join(lines) + "\n"

    def _memory_lines(self, n_apply_to_print: int) -> list[str]:
        lines = [
            "Memory",
            "---",
            (
                "  Estimated peak of one call (intermediate and output values): "
                f"{_bytes(self.peak_memory())}"
            ),
        ]
        per_node = [
            (sum(self.output_bytes.get(v, 0) for v in node.outputs), node)
            for node in self.apply_callcount
        ]
        per_node.sort(key=lambda pair: -pair[0])
        shown = per_node if config.profile_memory else per_node[: min(5, n_apply_to_print)]
        if shown:
            lines.append("  <bytes of outputs> <output shapes> <Apply name>")
        for size, node in shown:
            shapes = ", ".join(str(self.variable_shape.get(v, "?")) for v in node.outputs)
            lines.append(f"  {_bytes(size):>14}  {shapes:<20}  {node}")
        if len(shown) < len(per_node):
            lines.append(
                f"  ... {len(per_node) - len(shown)} more nodes (config.profile_memory=True "
                "lists all)"
            )
        return [*lines, ""]


class NodeTimer:
    """The observer of one profiled program: times each node and measures its outputs."""

    def __init__(self, stats: ProfileStats, record: _ProgramRecord):
        self.stats = stats
        self.record = record
        self._start = 0.0

    def before(self, position: int, node: Apply, inputs: Sequence[Any]) -> None:
        self._start = time.perf_counter()

    def after(
        self, position: int, node: Apply, inputs: Sequence[Any], outputs: Sequence[Any]
    ) -> None:
        elapsed = time.perf_counter() - self._start
        stats = self.stats
        stats.apply_time[node] += elapsed
        stats.apply_callcount[node] += 1
        self.record.order[position] = node
        for variable, value in zip(node.outputs, outputs):
            size = _new_bytes(value, inputs)
            if size > stats.output_bytes.get(variable, -1):
                stats.output_bytes[variable] = size
            shape = getattr(value, "shape", None)
            if shape is not None:
                stats.variable_shape[variable] = shape


class _ProgramRecord:
    """What the peak estimate needs of one program: its node order and what it keeps."""

    def __init__(self, fgraph: FunctionGraph):
        self.order: dict[int, Apply] = {}
        self.kept = set(fgraph.outputs)

    def nodes(self) -> list[tuple[int, Apply]]:
        return sorted(self.order.items(), key=lambda pair: pair[0])

    def peak(self, output_bytes: dict[Variable, int]) -> int:
        order = [node for _, node in self.nodes()]
        last_reader: dict[Variable, int] = {}
        for position, node in enumerate(order):
            for variable in node.inputs:
                last_reader[variable] = position
            for variable in node.outputs:
                last_reader.setdefault(variable, position)
        live = peak = 0
        freed_after: dict[int, int] = defaultdict(int)
        for variable, position in last_reader.items():
            if variable.owner is not None and variable not in self.kept:
                freed_after[position] += output_bytes.get(variable, 0)
        for position, node in enumerate(order):
            live += sum(output_bytes.get(v, 0) for v in node.outputs)
            peak = max(peak, live)
            live -= freed_after[position]
        return peak


def _new_bytes(value: Any, inputs: Sequence[Any]) -> int:
    """Bytes ``value`` adds: 0 for a non-array, or an array sharing memory with an input."""
    if not isinstance(value, np.ndarray):
        return int(getattr(value, "nbytes", 0))
    for argument in inputs:
        if isinstance(argument, np.ndarray) and np.may_share_memory(value, argument):
            return 0
    return value.nbytes


def _grouped(values: dict[Apply, Any], key: Callable[[Apply], Any]) -> dict[Any, Any]:
    totals: dict[Any, Any] = defaultdict(int)
    for node, value in values.items():
        totals[key(node)] += value
    return dict(totals)


def _table(
    title: str, last_columns: str, rows: list[tuple[float, int, str]], total: float, limit: int
) -> list[str]:
    """Rows of (time, calls, rest of the line), slowest first, with % and cumulative %."""
    lines = [
        title,
        "---",
        f"  <% time> <sum %> <apply time> <time per call> <#call> {last_columns}",
    ]
    rows = sorted(rows, key=lambda row: -row[0])
    cumulative = 0.0
    for time_, calls, rest in rows[:limit]:
        cumulative += time_
        per_call = time_ / calls if calls else 0.0
        lines.append(
            f"  {_percent(time_, total):>7} {_percent(cumulative, total):>7} {time_:>11.3e}s "
            f"{per_call:>13.3e}s {calls:>7}  {rest}"
        )
    if len(rows) > limit:
        lines.append(f"  ... {len(rows) - limit} more rows")
    return [*lines, ""]


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole > 0 else "n/a"


def _bytes(size: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


# ---- printing at exit -----------------------------------------------------------------------
_AT_EXIT: list[ProfileStats] = []


def _print_at_exit(stats: ProfileStats) -> None:
    if not _AT_EXIT:
        atexit.register(_print_all)
    _AT_EXIT.append(stats)


def _print_all() -> None:
    for stats in _AT_EXIT:
        if stats.fct_callcount:
            stats.summary(file=sys.stderr)


def profile_stats_for(profile: Any, name: str | None) -> ProfileStats | None:
    """The ``ProfileStats`` a ``function(..., profile=...)`` call records into, or None.

    ``profile`` is None or False (profile only if ``config.profile``), True,
    a message (a string), or a ``ProfileStats`` to add to.
    """
    message = name or ""
    if profile is None or profile is False:
        return ProfileStats(atexit_print=True, message=message) if config.profile else None
    if profile is True:
        return ProfileStats(message=message)
    if isinstance(profile, str):
        return ProfileStats(message=profile)
    if isinstance(profile, ProfileStats):
        return profile
    raise TypeError(
        f"function: profile must be True, False, a message string or a ProfileStats, got "
        f"{type(profile).__name__} {profile!r}"
    )


__all__ = ["NodeTimer", "ProfileStats", "profile_stats_for"]
