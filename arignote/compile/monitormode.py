"""``MonitorMode``: call user hooks before and after every node a function runs.

``MonitorMode(pre_func=None, post_func=None)`` compiles like ``FAST_RUN``
and calls ``pre_func(i, node, fn)`` just before node number ``i`` of the
program runs and ``post_func(i, node, fn)`` just after, with Theano's
arguments: ``fn.inputs`` and ``fn.outputs`` are lists of one-element lists
(storage cells) holding the node's input values and, after it ran, its
output values (``None`` before). The hooks see the values the linker
really computes, on whichever backend runs the function, through its
per-node observer (``arignote.link.observer``).

Unlike Theano's thunks, ``fn`` cannot be called to run the node again, and
putting another value in a cell does not change what the program computes:
the cells are handed to the hooks, not read back. The arrays in them are
the program's own; write to them and you change the computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arignote.compile.mode import Mode, ObserverChain, Program, observing_linker
from arignote.config import config
from arignote.graph.basic import Apply
from arignote.graph.fg import FunctionGraph
from arignote.graph.rewriting.db import RewriteQuery
from arignote.link.observer import NodeObserver

Hook = Callable[[int, Apply, "NodeStorage"], Any]


class NodeStorage:
    """What a hook gets as ``fn``: the node's input and output cells (one-element lists)."""

    __slots__ = ("inputs", "outputs")

    def __init__(self, inputs: list[list[Any]], outputs: list[list[Any]]):
        self.inputs = inputs
        self.outputs = outputs

    def __repr__(self) -> str:
        return f"NodeStorage(inputs={self.inputs!r}, outputs={self.outputs!r})"


class MonitorMode(Mode):
    """Compile like FAST_RUN, calling ``pre_func``/``post_func(i, node, fn)`` around each node.

    >>> import numpy as np, arignote, arignote.tensor as T
    >>> seen = []
    >>> def record(i, node, fn):
    ...     seen.append((i, str(node.op), [cell[0] for cell in fn.outputs]))
    >>> x = T.dscalar("x")
    >>> f = arignote.function([x], 5 * x, mode=MonitorMode(post_func=record))
    >>> f(3.0)
    array(15.)
    >>> seen
    [(0, 'mul', [array(15.)])]
    """

    def __init__(
        self,
        pre_func: Hook | None = None,
        post_func: Hook | None = None,
        optimizer: str | RewriteQuery | None = "default",
        linker: str | Any = None,
    ):
        if optimizer == "default":
            optimizer = config.optimizer
        super().__init__(observing_linker() if linker is None else linker, optimizer, "MonitorMode")
        self.pre_func = pre_func
        self.post_func = post_func

    def make_program(self, fgraph: FunctionGraph, observer: NodeObserver | None = None) -> Program:
        """The linker's program, calling the hooks around each node."""
        return super().make_program(fgraph, ObserverChain.of(_HookCaller(self), observer))

    def __repr__(self) -> str:
        return f"MonitorMode(linker={self.linker.name!r}, query={self.query})"


class _HookCaller:
    """The observer: builds each node's cells and calls the mode's hooks with them."""

    def __init__(self, mode: MonitorMode):
        self.mode = mode
        self._storage = NodeStorage([], [])

    def before(self, position: int, node: Apply, inputs: Sequence[Any]) -> None:
        storage = NodeStorage([[value] for value in inputs], [[None] for _ in node.outputs])
        self._storage = storage
        if self.mode.pre_func is not None:
            self.mode.pre_func(position, node, storage)

    def after(
        self, position: int, node: Apply, inputs: Sequence[Any], outputs: Sequence[Any]
    ) -> None:
        storage = self._storage  # one program's nodes run one at a time: set by before()
        for cell, value in zip(storage.outputs, outputs):
            cell[0] = value
        if self.mode.post_func is not None:
            self.mode.post_func(position, node, storage)


def detect_nan(i: int, node: Apply, fn: NodeStorage) -> None:
    """A ``post_func`` printing the node, its inputs and outputs when an output holds a NaN.

    Theano's suggested hook (``theano.compile.monitormode.detect_nan``).
    """
    from arignote.printing import debugprint

    for output in fn.outputs:
        value = output[0]
        floats = isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "fc"
        if floats and np.isnan(value).any():
            print("*** NaN detected ***")
            debugprint(node)
            print(f"Inputs : {[cell[0] for cell in fn.inputs]}")
            print(f"Outputs: {[cell[0] for cell in fn.outputs]}")
            break


__all__ = ["MonitorMode", "NodeStorage", "detect_nan"]
