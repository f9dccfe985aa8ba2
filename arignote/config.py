"""One typed configuration object.

Every flag is declared once below with its type, default and allowed values.
Values come from the defaults, then from the ``ARIGNOTE_FLAGS`` environment
variable (``key=value,key=value``; ``THEANO_FLAGS`` is read first, for legacy
code), and may be changed for a block with ``config.change_flags(...)``.
An unknown flag or a value outside a flag's domain is an error that names
the flag and what it accepts, whether it came from ``ARIGNOTE_FLAGS`` or
code; in ``THEANO_FLAGS`` it is a warning, as in Theano.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Flag:
    """A declared configuration flag: its default, how to parse and check it."""

    name: str
    default: Any
    doc: str
    choices: tuple[Any, ...] | None = None
    parse: Callable[[str], Any] = str

    def validate(self, value: Any) -> Any:
        if isinstance(value, str) and self.parse is not str:
            try:
                value = self.parse(value)
            except ValueError as exc:
                raise ValueError(f"config.{self.name}: cannot read {value!r}: {exc}") from None
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ValueError(f"config.{self.name} must be one of {allowed}; got {value!r}")
        return value


def _parse_optimizer(text: str) -> str | None:
    return None if text in ("None", "none", "") else text


def _parse_count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected True or False")


def _default_compiledir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "arignote")


_FLAGS = (
    Flag(
        "floatX",
        "float64",
        "dtype of float variables built without one",
        ("float64", "float32", "float16"),
    ),
    Flag(
        "mode",
        "FAST_RUN",
        "default compilation mode",
        ("FAST_RUN", "FAST_COMPILE", "DEBUG", "DebugMode", "NanGuardMode", "DEBUG_MODE"),
    ),
    Flag("device", "cpu", "where functions run", ("cpu",)),
    Flag(
        "optimizer",
        "fast_run",
        "which graph rewrites a mode applies",
        ("fast_run", "fast_compile", "merge", None),
        _parse_optimizer,
    ),
    Flag("exception_verbosity", "low", "how much an error report shows", ("low", "high")),
    Flag(
        "compute_test_value",
        "off",
        "evaluate test values as the graph is built",
        ("off", "ignore", "warn", "raise", "pdb"),
    ),
    Flag("compiledir", _default_compiledir(), "directory of the compiled-kernel cache"),
    Flag(
        "linker",
        "auto",
        "backend of FAST_RUN: 'jit' (compiled C kernels; 'cvm' and 'c' are aliases), 'py' (the "
        "NumPy reference), 'auto' (jit when a C compiler is found, else py with a warning)",
        ("auto", "jit", "cvm", "c", "py"),
    ),
    Flag("cxx", os.environ.get("CC", "gcc"), "C compiler of the jit linker ('' disables it)"),
    Flag(
        "openmp_threads",
        0,
        "threads of a large compiled kernel (0: $OMP_NUM_THREADS, else every core available)",
        parse=_parse_count,
    ),
    Flag(
        "openmp_elemwise_minsize",
        65536,
        "elements from which a compiled kernel runs on several threads",
        parse=_parse_count,
    ),
    Flag("cast_policy", "custom", "how Python scalars get their dtype", ("custom", "numpy+floatX")),
    Flag(
        "on_unused_input",
        "raise",
        "what function() does with an unused input",
        ("raise", "warn", "ignore"),
    ),
    Flag("optimizer_including", "", "extra rewrite tags to apply, separated by ':'"),
    Flag("optimizer_excluding", "", "rewrite tags (or names) not to apply, separated by ':'"),
    Flag("optimizer_requiring", "", "tags every applied rewrite must carry, separated by ':'"),
    Flag(
        "on_opt_error",
        "warn",
        "what a failing rewrite does: warn and skip it, or raise",
        ("warn", "raise", "ignore"),
    ),
    Flag(
        "profile",
        False,
        "profile every compiled function (as function(..., profile=True)) and print each "
        "profile to stderr when the process exits",
        (False, True),
        _parse_bool,
    ),
    Flag(
        "profile_memory",
        False,
        "profile summaries also list each node's output shapes and bytes (the peak estimate "
        "is always shown)",
        (False, True),
        _parse_bool,
    ),
)


class Config:
    """Attribute access to the current value of each declared flag.

    >>> from arignote import config
    >>> with config.change_flags(floatX="float32"):
    ...     config.floatX
    'float32'
    """

    def __init__(self, flags: tuple[Flag, ...]):
        object.__setattr__(self, "_flags", {f.name: f for f in flags})
        # Current values live in the instance dict, so reading a flag is a plain
        # attribute lookup (it happens for every node built); ``__getattr__`` only
        # runs for names that are not flags.
        for flag in flags:
            object.__setattr__(self, flag.name, flag.default)

    def _flag(self, name: str) -> Flag:
        if name not in self._flags:
            raise self._unknown(name)
        return self._flags[name]

    def _unknown(self, name: str) -> AttributeError:
        known = ", ".join(sorted(self._flags))
        return AttributeError(f"unknown config flag {name!r}; known flags: {known}")

    def __getattr__(self, name: str) -> Any:
        """Only reached for names that are not flags: flag values are instance attributes."""
        raise AttributeError(name) if name.startswith("__") else self._unknown(name)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, self._flag(name).validate(value))

    def __dir__(self) -> list[str]:
        return sorted(self._flags)

    @contextlib.contextmanager
    def change_flags(self, **changes: Any) -> Iterator[None]:
        """Set flags for the duration of a ``with`` block, restoring them after."""
        validated = {name: self._flag(name).validate(v) for name, v in changes.items()}
        saved = {name: getattr(self, name) for name in validated}
        self.__dict__.update(validated)
        try:
            yield
        finally:
            self.__dict__.update(saved)

    def read_flag_string(self, text: str, source: str, lenient: bool = False) -> None:
        """Apply ``key=value,key=value`` settings, as found in ``ARIGNOTE_FLAGS``.

        A malformed item, unknown flag or bad value raises ``ValueError`` naming
        it; with ``lenient`` it is skipped with a warning instead.
        """
        for item in filter(None, (part.strip() for part in text.split(","))):
            try:
                self._read_flag_item(item, source)
            except ValueError as exc:
                if not lenient:
                    raise
                warnings.warn(f"{exc} (ignored)", stacklevel=2)

    def _read_flag_item(self, item: str, source: str) -> None:
        if "=" not in item:
            raise ValueError(f"{source}: expected key=value, got {item!r}")
        name, value = (s.strip() for s in item.split("=", 1))
        if name not in self._flags:
            known = ", ".join(sorted(self._flags))
            raise ValueError(f"{source}: unknown flag {name!r}; known flags: {known}")
        try:
            setattr(self, name, value)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None


def _config_from_environment() -> Config:
    cfg = Config(_FLAGS)
    # Legacy THEANO_FLAGS often name flags Arignote has no use for (device=cuda,
    # lib.cnmem=...): those are skipped with a warning, as Theano did. ARIGNOTE_FLAGS
    # is ours, so any mistake in it is an error. It is read last, so it wins.
    if os.environ.get("THEANO_FLAGS"):
        cfg.read_flag_string(os.environ["THEANO_FLAGS"], "THEANO_FLAGS", lenient=True)
    if os.environ.get("ARIGNOTE_FLAGS"):
        cfg.read_flag_string(os.environ["ARIGNOTE_FLAGS"], "ARIGNOTE_FLAGS")
    return cfg


config = _config_from_environment()
change_flags = config.change_flags
