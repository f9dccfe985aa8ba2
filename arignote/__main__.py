"""Command line: ``python -m arignote cache info`` shows the kernel cache, ``clear`` empties it.

The cache lives under ``config.compiledir`` (set it with ``ARIGNOTE_FLAGS=compiledir=...``):
the kernels and their libraries, and the kernel trampoline built beside them (``clear``
removes both; a process that has them loaded keeps running, and the next one rebuilds).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arignote", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cache = commands.add_parser("cache", help="the compiled-kernel cache")
    cache.add_argument("action", choices=("info", "clear"), help="show it, or empty it")
    arguments = parser.parse_args(argv)

    from arignote.config import config
    from arignote.link.c.cache import TRAMPOLINE_SUBDIR, KernelCache

    kernels = KernelCache(config.compiledir)
    trampoline = KernelCache(Path(config.compiledir) / TRAMPOLINE_SUBDIR)
    if arguments.action == "info":
        print(kernels.info())
        built = trampoline.info().libraries
        print(f"trampoline: {'built' if built else 'not built'} ({trampoline.directory})")
    else:
        removed = kernels.clear()
        trampoline.clear()
        print(f"removed {removed} entries from {kernels.directory}, and the trampoline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
