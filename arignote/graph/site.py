"""Where in the user's code a graph node was built.

Every Apply node keeps a ``CreationSite``: the first stack frame outside the
library (skipping ``make_node`` of ops defined outside it). Only three small
values are kept (file, line, function name), and nodes built on one line
share one site: no frame or traceback objects, so graphs do not pin user
locals in memory, and building a node stays cheap (building a graph of
150,000 nodes measured the same with and without sites, within noise). The
source line is read lazily, on display.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
from dataclasses import dataclass

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Frames in these files are never "the user's line". Tests and examples live
# outside the package directory, so they count as user code.
_LIBRARY_PREFIXES = (_PACKAGE_DIR + os.sep, "<frozen ")
# An Op written outside the library builds its node in its own ``make_node``;
# the line worth showing is the one that applied the op, one frame further out.
_NODE_BUILDING_FUNCTIONS = frozenset({"make_node"})


@dataclass(frozen=True, slots=True)
class CreationSite:
    filename: str
    lineno: int
    function: str

    @property
    def source_line(self) -> str:
        return linecache.getline(self.filename, self.lineno).strip()

    def __str__(self) -> str:
        text = f'File "{self.filename}", line {self.lineno}, in {self.function}'
        line = self.source_line
        return f"{text}\n    {line}" if line else text


def user_creation_site() -> CreationSite | None:
    """The innermost stack frame that is not inside the library."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if not (
            code.co_filename.startswith(_LIBRARY_PREFIXES)
            or code.co_name in _NODE_BUILDING_FUNCTIONS
        ):
            return _site(code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None


@functools.lru_cache(maxsize=4096)
def _site(filename: str, lineno: int, function: str) -> CreationSite:
    # Nodes built on the same line (in a loop, say) share one immutable site.
    return CreationSite(filename, lineno, function)
