"""Modes: which rewrites run on a function's graph, and which backend runs it.

A ``Mode`` pairs a linker (the backend) with a rewrite query on the staged
database ``optdb`` (see ``arignote.graph.rewriting.stages``). ``FAST_RUN``
applies every rewrite tagged ``fast_run``; ``FAST_COMPILE`` only the cheap,
always-safe ones tagged ``fast_compile``. ``mode.including(...)``,
``.excluding(...)`` and ``.requiring(...)`` refine the query by tag or by
rewrite name, as do ``config.optimizer_including/excluding/requiring``.
``FAST_RUN`` runs on ``config.linker`` (by default the compiled ``jit``
backend of ``arignote.link.c`` when a C compiler is found, else the
reference ``py`` linker, with one warning); the other modes on ``py``.
``"DEBUG"`` (Theano's ``"DebugMode"``) is the checking mode of
``arignote.compile.debugmode``; ``"NanGuardMode"`` that of
``arignote.compile.nanguardmode``.

``mode.make_program(fgraph, observer)`` is how ``function()`` links: the
observers of the checking and measuring modes (``NanGuardMode``,
``MonitorMode``, profiling) reach the linker through it, chained with
``ObserverChain``; without any, the linker is called as before, with no hook.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import importlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from arignote.config import config
from arignote.graph.basic import Apply
from arignote.graph.fg import FunctionGraph
from arignote.graph.rewriting.db import RewriteQuery
from arignote.graph.rewriting.stages import optdb
from arignote.link.c.linker import JITLinker, fast_run_linker
from arignote.link.observer import NodeObserver
from arignote.link.python.linker import PythonLinker

Program = Callable[[Sequence[Any]], list[Any]]

_LINKERS = {"py": PythonLinker, "jit": JITLinker, "cvm": JITLinker, "c": JITLinker}
_KNOWN_MODES = ("FAST_RUN", "FAST_COMPILE", "DEBUG", "DebugMode", "DEBUG_MODE", "NanGuardMode")
_CHECKING_MODES = ("DEBUG", "DebugMode", "DEBUG_MODE")
_OPTIMIZER_TAGS = {"fast_run": "fast_run", "fast_compile": "fast_compile", "merge": "merge"}


def _query_for(optimizer: str | RewriteQuery | None) -> RewriteQuery | None:
    if optimizer is None or optimizer == "None":
        return None
    if isinstance(optimizer, RewriteQuery):
        return optimizer
    if optimizer not in _OPTIMIZER_TAGS:
        known = ", ".join([*_OPTIMIZER_TAGS, "None"])
        raise ValueError(f"unknown optimizer {optimizer!r}; known: {known}")
    return RewriteQuery(include=frozenset({_OPTIMIZER_TAGS[optimizer]}))


def _flag_tags(value: str) -> set[str]:
    return {tag for tag in value.split(":") if tag}


class Mode:
    """A linker (backend) and a rewrite query (which rewrites to apply).

    >>> Mode(optimizer="fast_run").excluding("fusion").query.exclude
    frozenset({'fusion'})
    """

    def __init__(
        self,
        linker: str | Any = "py",
        optimizer: str | RewriteQuery | None = "fast_run",
        name: str = "",
    ):
        if isinstance(linker, str):
            if linker not in _LINKERS:
                raise ValueError(f"unknown linker {linker!r}; known: {', '.join(_LINKERS)}")
            linker = _LINKERS[linker]()
        self.linker = linker
        self.query = _query_for(optimizer)
        self.name = name

    def _with_query(self, query: RewriteQuery) -> Mode:
        twin = copy.copy(self)  # keeps the subclass (DebugMode) and its linker
        twin.query = query
        return twin

    def including(self, *tags: str) -> Mode:
        return self._with_query((self.query or RewriteQuery()).including(*tags))

    def excluding(self, *tags: str) -> Mode:
        return self._with_query((self.query or RewriteQuery()).excluding(*tags))

    def requiring(self, *tags: str) -> Mode:
        return self._with_query((self.query or RewriteQuery()).requiring(*tags))

    def effective_query(self) -> RewriteQuery | None:
        """The query with the ``config.optimizer_*`` flags applied."""
        if self.query is None:
            return None
        return (
            self.query.including(*_flag_tags(config.optimizer_including))
            .excluding(*_flag_tags(config.optimizer_excluding))
            .requiring(*_flag_tags(config.optimizer_requiring))
        )

    def rewrite(self, fgraph: FunctionGraph) -> dict[str, int]:
        """Apply this mode's rewrites to ``fgraph`` in place; return how often each fired."""
        query = self.effective_query()
        if query is None:
            return {}
        # Tensor rewrites register themselves into optdb when their package is imported.
        importlib.import_module("arignote.tensor.rewriting")
        with gc_paused():
            return optdb.query(query).apply(fgraph)

    def make_program(self, fgraph: FunctionGraph, observer: NodeObserver | None = None) -> Program:
        """The linker's program for ``fgraph``; with ``observer``, one that reports each node."""
        if observer is None:
            return self.linker.make_program(fgraph)
        if not takes_observer(self.linker):
            raise TypeError(
                f"the {getattr(self.linker, 'name', type(self.linker).__name__)!r} linker of "
                f"{self!r} cannot report each node it runs (its make_program takes no "
                "observer), which NanGuardMode, MonitorMode and profiling need; use "
                "linker='py' (the reference backend)"
            )
        return self.linker.make_program(fgraph, observer=observer)

    def __repr__(self) -> str:
        return f"Mode(linker={self.linker.name!r}, query={self.query})"


def takes_observer(linker: Any) -> bool:
    """Whether ``linker.make_program`` accepts ``observer=`` (every backend here should)."""
    try:
        parameters = inspect.signature(linker.make_program).parameters
    except (TypeError, ValueError):
        return False
    return "observer" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def wrapped_program(program: Program, wrapper: Program) -> Program:
    """``wrapper`` (a program that calls ``program``) given ``program``'s attributes (a
    linker's ``report``); a fast ``run(*values)`` entry point goes through ``wrapper`` too."""
    wrapper.__dict__.update(program.__dict__)
    if hasattr(program, "run"):
        wrapper.run = lambda *values: tuple(wrapper(list(values)))  # type: ignore[attr-defined]
    return wrapper


def observing_linker() -> Any:
    """The default linker of the observing modes: FAST_RUN's, if it can take an observer.

    Else the reference linker, so that the checks run rather than fail.
    """
    name = fast_run_linker()
    linker = _LINKERS[name]()
    return linker if takes_observer(linker) else PythonLinker()


class ObserverChain:
    """Several observers as one: ``before`` in order, ``after`` in reverse order.

    The reverse order nests them, so the first observer's ``before``/``after``
    enclose everything the later ones do (a profiler placed last times the node
    alone, not the checks of the observers before it).
    """

    def __init__(self, observers: Sequence[NodeObserver]):
        self.observers = list(observers)
        self._reversed = self.observers[::-1]

    @staticmethod
    def of(*observers: NodeObserver | None) -> NodeObserver | None:
        """The given observers that are not None, as one observer (None if there are none)."""
        present = [o for o in observers if o is not None]
        if len(present) <= 1:
            return present[0] if present else None
        return ObserverChain(present)

    def before(self, position: int, node: Apply, inputs: Sequence[Any]) -> None:
        for observer in self.observers:
            observer.before(position, node, inputs)

    def after(
        self, position: int, node: Apply, inputs: Sequence[Any], outputs: Sequence[Any]
    ) -> None:
        for observer in self._reversed:
            observer.after(position, node, inputs, outputs)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector off for a block, if it was on.

    Rewriting a big graph allocates many long-lived objects quickly, which
    triggers full collections, each walking every object alive; at 100,000
    nodes they took ~40% of rewriting and made its cost per node grow with
    the graph (``benchmarks/rewrite_scaling.py``). The cycles left behind
    (pruned nodes) are collected by the first collection after the block.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def get_mode(mode: str | Mode | None) -> Mode:
    """The Mode object for a mode argument (None: ``config.mode``)."""
    if isinstance(mode, Mode):
        return mode
    name = config.mode if mode is None else mode
    if name not in _KNOWN_MODES:
        raise ValueError(f"unknown mode {name!r}; known modes: {', '.join(_KNOWN_MODES)}")
    optimizer = "fast_compile" if name == "FAST_COMPILE" else config.optimizer
    if name in _CHECKING_MODES:
        from arignote.compile.debugmode import DebugMode  # it builds on Mode

        return DebugMode("py", optimizer, name)
    if name == "NanGuardMode":
        from arignote.compile.nanguardmode import NanGuardMode  # it builds on Mode

        return NanGuardMode(optimizer=optimizer)
    return Mode(fast_run_linker() if name == "FAST_RUN" else "py", optimizer, name)
