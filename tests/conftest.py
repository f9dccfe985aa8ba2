"""Test-suite options: ``--mode=DEBUG`` (or ``--arignote-mode=DEBUG``) runs every test in a mode;
``--linker=py`` (or ``jit``; ``--arignote-linker``) sets FAST_RUN's backend, ``config.linker``.

The option sets ``config.mode`` (with ``config.change_flags``) from the
start of the run to its end, so every function compiled without an
explicit ``mode=`` uses it: the tests here and the doctests under
``arignote/`` alike (a session fixture in this folder would not reach
those). Under ``DEBUG`` each call also evaluates the unrewritten graph and
fails, naming the rewrite, if the rewritten one disagrees
(``arignote.compile.debugmode``).
"""

from __future__ import annotations

import contextlib

import pytest

from arignote.config import config as arignote_config

_MODE_BLOCK = pytest.StashKey[contextlib.ExitStack]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--arignote-mode",
        "--mode",
        dest="arignote_mode",
        default=None,
        help="config.mode for the whole run, e.g. DEBUG (the checking mode) or FAST_COMPILE",
    )
    parser.addoption(
        "--arignote-linker",
        "--linker",
        dest="arignote_linker",
        default=None,
        help="config.linker (FAST_RUN's backend) for the whole run: jit (compiled C kernels) "
        "or py (the NumPy reference)",
    )


def pytest_configure(config: pytest.Config) -> None:
    block = contextlib.ExitStack()
    for option, flag in (("arignote_mode", "mode"), ("arignote_linker", "linker")):
        value = config.getoption(option)
        if value is None:
            continue
        try:
            block.enter_context(arignote_config.change_flags(**{flag: value}))
        except ValueError as exc:
            raise pytest.UsageError(f"--{flag}: {exc}") from None
    config.stash[_MODE_BLOCK] = block


def pytest_unconfigure(config: pytest.Config) -> None:
    block = config.stash.get(_MODE_BLOCK, None)
    if block is not None:
        block.close()


def pytest_report_header(config: pytest.Config) -> str:
    return f"arignote config.mode: {arignote_config.mode}, config.linker: {arignote_config.linker}"
