"""Where in the user's code a graph node was built.

Every Apply node keeps a ``CreationSite``: the first stack frame outside the
library. Only three small values are kept (file, line, function name): no
frame or traceback objects, so graphs do not pin user locals in memory and
building a node stays cheap. The source line is read lazily, on display.
"""

from __future__ import annotations

import linecache
import os
import sys
from dataclasses import dataclass

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Frames in these files are never "the user's line". Tests and examples live
# outside the package directory, so they count as user code.
_LIBRARY_PREFIXES = (_PACKAGE_DIR + os.sep, "<frozen ")


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
        filename = frame.f_code.co_filename
        if not filename.startswith(_LIBRARY_PREFIXES):
            return CreationSite(filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None
