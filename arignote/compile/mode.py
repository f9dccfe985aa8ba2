"""Modes: which rewrites run on a function's graph, and which backend runs it.

Until the rewrite engine and the compiled backend land, every mode runs the
graph unchanged on the reference (``py``) linker; the names are accepted
now so that user code written for Theano runs as is.
"""

from __future__ import annotations

from typing import Any

from arignote.config import config
from arignote.link.python.linker import PythonLinker

_LINKERS = {"py": PythonLinker}
_KNOWN_MODES = ("FAST_RUN", "FAST_COMPILE", "DebugMode", "DEBUG_MODE", "NanGuardMode")


class Mode:
    """A linker (backend) and an optimizer (a rewrite selection)."""

    def __init__(self, linker: str | Any = "py", optimizer: str | None = None, name: str = ""):
        if isinstance(linker, str):
            if linker not in _LINKERS:
                raise ValueError(f"unknown linker {linker!r}; known: {', '.join(_LINKERS)}")
            linker = _LINKERS[linker]()
        self.linker = linker
        self.optimizer = optimizer
        self.name = name

    def __repr__(self) -> str:
        return f"Mode(linker={self.linker.name!r}, optimizer={self.optimizer!r})"


def get_mode(mode: str | Mode | None) -> Mode:
    """The Mode object for a mode argument (None: ``config.mode``)."""
    if isinstance(mode, Mode):
        return mode
    name = config.mode if mode is None else mode
    if name not in _KNOWN_MODES:
        raise ValueError(f"unknown mode {name!r}; known modes: {', '.join(_KNOWN_MODES)}")
    optimizer = "fast_compile" if name == "FAST_COMPILE" else config.optimizer
    return Mode("py", optimizer, name)
