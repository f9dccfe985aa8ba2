"""What the jit-linker tests share: whether a C compiler works here."""

from __future__ import annotations

import pytest


def jit_available() -> bool:
    from arignote.link.c import compiler

    try:
        compiler.toolchain()
    except compiler.BackendUnavailable:
        return False
    return True


requires_compiler = pytest.mark.skipif(
    not jit_available(), reason="the jit linker needs a C compiler (config.cxx)"
)
