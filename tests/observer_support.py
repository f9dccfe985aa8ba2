"""The linkers the observing modes' tests run on: the reference one, and the jit one.

The jit one needs a C compiler and an observer hook, and is left out of a
run on the reference backend (``--linker=py``).
"""

from __future__ import annotations

import pytest
from jit_support import requires_compiler

from arignote.compile.mode import takes_observer
from arignote.config import config
from arignote.link.c.linker import JITLinker

OBSERVING_LINKERS = [
    "py",
    pytest.param(
        "jit",
        marks=[
            requires_compiler,
            pytest.mark.skipif(
                not takes_observer(JITLinker()), reason="the jit linker takes no observer yet"
            ),
            pytest.mark.skipif(config.linker == "py", reason="a run on the reference backend"),
        ],
    ),
]
