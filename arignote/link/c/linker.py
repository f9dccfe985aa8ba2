"""``JITLinker``: the compiled CPU backend (``linker="jit"``, the default of ``FAST_RUN``).

``make_program(fgraph)`` lowers every node (``lowering``), builds all the C
kernels the graph needs at once (in parallel, through the disk cache), and
returns one program: a list of thunks over a storage list indexed by
variable (no dicts on the call path). After each node the values no later
node reads are dropped, as in the reference linker; a dropped array that
nothing else references goes to a per-call pool, from which later kernels
of the same shape and dtype take their output buffers. Inputs, constants
and the graph's outputs are never dropped nor reused, so a function's
results are fresh arrays and its arguments are never written.

Every node's lowering is recorded in ``program.report`` (a ``LinkerReport``):
which nodes run a C kernel, which run their ``perform`` and why. Without a
usable C compiler every node runs its ``perform`` (the report says why);
``FAST_RUN`` then picks the reference linker instead, and warns once.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arignote.config import config
from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import FunctionGraph
from arignote.link.errors import annotate_node_error


@dataclass(frozen=True)
class NodeReport:
    """How one node runs: ``kind`` is ``kernel``, ``native`` or ``fallback``; ``detail`` says
    which native implementation, or why the node falls back to its ``perform``."""

    apply: Apply
    kind: str
    detail: str = ""

    @property
    def node(self) -> str:
        return str(self.apply)


@dataclass
class LinkerReport:
    """What ``JITLinker`` made of a graph; ``str(report)`` is a table.

    ``fallbacks`` lists the nodes that run their ``perform`` for want of a
    compiled lowering, with the reason: no silent slow path.
    """

    nodes: list[NodeReport] = field(default_factory=list)
    kernels_compiled: int = 0
    kernels_loaded: int = 0
    backend_unavailable: str = ""

    @property
    def fallbacks(self) -> list[NodeReport]:
        return [n for n in self.nodes if n.kind == "fallback"]

    def __str__(self) -> str:
        counts = {
            kind: sum(n.kind == kind for n in self.nodes)
            for kind in ("kernel", "native", "fallback")
        }
        summary = (
            f"jit linker: {len(self.nodes)} nodes: {counts['kernel']} C kernels, "
            f"{counts['native']} native (BLAS, views), {counts['fallback']} perform fallbacks; "
            f"{self.kernels_compiled} kernels compiled, {self.kernels_loaded} from the cache"
        )
        lines = [summary]
        if self.backend_unavailable:
            lines.append(f"compiled backend unavailable: {self.backend_unavailable}")
        lines += [
            f"  {n.kind:<8}  {n.node}" + (f"  ({n.detail})" if n.detail else "") for n in self.nodes
        ]
        return "\n".join(lines)


_warned: set[str] = set()


def warn_once(message: str) -> None:
    """A warning shown once per process for each distinct ``message``."""
    if message not in _warned:
        _warned.add(message)
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=4)


def thread_count() -> int:
    """``config.openmp_threads``; when it is 0, ``OMP_NUM_THREADS`` if set, else the cores
    this process may run on."""
    if config.openmp_threads > 0:
        return config.openmp_threads
    with contextlib.suppress(ValueError):
        requested = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])
        if requested > 0:
            return requested
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def fast_run_linker() -> str:
    """The linker ``FAST_RUN`` uses: ``config.linker``, where ``'auto'`` means ``'jit'`` when
    a C compiler works here and ``'py'`` otherwise (with one warning per process saying why)."""
    if config.linker != "auto":
        return config.linker
    from arignote.link.c import compiler

    try:
        compiler.toolchain()
    except compiler.BackendUnavailable as exc:
        warn_once(f"arignote: FAST_RUN runs on the reference (NumPy) backend: {exc}")
        return "py"
    return "jit"


class JITLinker:
    """Lowers a FunctionGraph to C kernels (and ``perform`` elsewhere), as one callable."""

    name = "jit"

    def make_program(self, fgraph: FunctionGraph) -> Callable[[Sequence[Any]], list[Any]]:
        from arignote.link.c import compiler
        from arignote.link.c.lowering import ThunkPlan, fallback, lower

        order = fgraph.toposort()
        report = LinkerReport()
        try:
            tools = compiler.toolchain()
        except compiler.BackendUnavailable as exc:
            tools = None
            report.backend_unavailable = str(exc)
            warn_once(
                f"arignote: the compiled backend is unavailable ({exc}); every node runs "
                "its NumPy perform"
            )
        lowerings = [
            lower(node.op, node, tools) if tools else fallback(node, report.backend_unavailable)
            for node in order
        ]
        sources = [source for lowering in lowerings for source in lowering.sources]
        built = iter(compiler.build_kernels(sources, tools) if sources else [])
        slots = _Slots(fgraph, order)
        threads, minsize = thread_count(), config.openmp_elemwise_minsize
        steps = []
        for node, lowering in zip(order, lowerings):
            results = [next(built) for _ in lowering.sources]
            failed = [r.error for r in results if r.kernel is None]
            report.kernels_compiled += sum(r.compiled for r in results)
            report.kernels_loaded += sum(r.kernel is not None and not r.compiled for r in results)
            if failed:
                warn_once(
                    f"arignote: a C kernel failed to build; its node runs perform:\n{failed[0]}"
                )
                lowering = fallback(node, f"kernel build failed: {failed[0].splitlines()[0]}")
            plan = ThunkPlan(
                slots.inputs_of(node),
                slots.outputs_of(node),
                slots.dying_at(node),
                threads,
                minsize,
            )
            thunk = lowering.make_thunk([r.kernel for r in results], plan)
            steps.append((thunk, slots.released_after(node)))
            report.nodes.append(NodeReport(node, lowering.kind, lowering.detail))
        program = _program(order, steps, slots)
        program.report = report  # type: ignore[attr-defined]
        return program


class _Slots:
    """Storage indices: graph inputs first, then constants, then every node's outputs."""

    def __init__(self, fgraph: FunctionGraph, order: list[Apply]):
        self.index: dict[Variable, int] = {}
        for variable in fgraph.inputs:
            self.index[variable] = len(self.index)
        self.constants: dict[int, Any] = {}
        for node in order:
            for variable in node.inputs:
                if isinstance(variable, Constant) and variable not in self.index:
                    self.index[variable] = len(self.index)
                    self.constants[self.index[variable]] = variable.data
        for variable in fgraph.outputs:
            if isinstance(variable, Constant) and variable not in self.index:
                self.index[variable] = len(self.index)
                self.constants[self.index[variable]] = variable.data
        for node in order:
            for variable in node.outputs:
                self.index[variable] = len(self.index)
        self.n_inputs = len(fgraph.inputs)
        self.outputs = tuple(self.index[v] for v in fgraph.outputs)
        keep = set(fgraph.inputs) | set(fgraph.outputs)
        last_reader: dict[Variable, Apply] = {}
        for node in order:
            for variable in node.inputs:
                last_reader[variable] = node
            for variable in node.outputs:
                last_reader.setdefault(variable, node)
        self._released: dict[Apply, list[int]] = {node: [] for node in order}
        for variable, node in last_reader.items():
            if variable.owner is not None and variable not in keep:
                self._released[node].append(self.index[variable])

    def inputs_of(self, node: Apply) -> tuple[int, ...]:
        return tuple(self.index[v] for v in node.inputs)

    def outputs_of(self, node: Apply) -> tuple[int, ...]:
        return tuple(self.index[v] for v in node.outputs)

    def released_after(self, node: Apply) -> tuple[int, ...]:
        return tuple(self._released[node])

    def dying_at(self, node: Apply) -> frozenset[int]:
        """Input slots whose value no node after this one reads."""
        return frozenset(self._released[node]) & frozenset(self.inputs_of(node))


def _program(order: list[Apply], steps: list, slots: _Slots) -> Callable[[Sequence[Any]], list]:
    template = [None] * len(slots.index)
    for index, value in slots.constants.items():
        template[index] = value
    n_inputs, outputs = slots.n_inputs, slots.outputs
    input_slots = [slots.inputs_of(node) for node in order]
    getrefcount = sys.getrefcount
    ndarray = np.ndarray

    def program(input_values: Sequence[Any]) -> list[Any]:
        storage = template.copy()
        storage[:n_inputs] = input_values
        pool: dict = {}
        position = 0
        try:
            for position, (thunk, released) in enumerate(steps):
                thunk(storage, pool)
                for index in released:
                    value = storage[index]
                    storage[index] = None
                    # Reusable if nothing else holds it (no view, no caller): this name and
                    # getrefcount's argument are its only references.
                    if (
                        type(value) is ndarray
                        and value.base is None
                        and getrefcount(value) == 2
                        and value.flags.c_contiguous
                        and value.flags.writeable
                    ):
                        pool.setdefault((value.shape, value.dtype), []).append(value)
                value = None
        except Exception as exc:
            node = order[position]
            annotate_node_error(exc, node, [storage[i] for i in input_slots[position]])
            raise
        return [storage[i] for i in outputs]

    return program


__all__ = ["JITLinker", "LinkerReport", "NodeReport", "fast_run_linker"]
