"""Command line: ``python -m arignote cache info`` shows the kernel cache, ``clear`` empties it.

The cache lives under ``config.compiledir`` (set it with ``ARIGNOTE_FLAGS=compiledir=...``).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arignote", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cache = commands.add_parser("cache", help="the compiled-kernel cache")
    cache.add_argument("action", choices=("info", "clear"), help="show it, or empty it")
    arguments = parser.parse_args(argv)

    from arignote.config import config
    from arignote.link.c.cache import KernelCache

    kernels = KernelCache(config.compiledir)
    if arguments.action == "info":
        print(kernels.info())
    else:
        removed = kernels.clear()
        print(f"removed {removed} entries from {kernels.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
