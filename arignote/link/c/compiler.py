"""The system C compiler: finding it, building kernels (in parallel, through the cache), loading.

Nothing here runs at import. The first ``build_kernels`` of a process asks
the compiler its version (one ``--version`` call, part of every cache key)
and checks, on a probe array, the byte offset of an ndarray's data
pointer that kernels read (``codegen``); a NumPy whose arrays are laid out
otherwise disables the backend instead of crashing it.

Flags (measured: with these, the fused elementwise benchmark runs as fast
as with ``-ffast-math``): ``-O3 -march=native`` vectorises;
``-fno-math-errno -fno-trapping-math`` let gcc vectorise calls to libm and
if-convert branches without changing any result; ``-fwrapv`` makes signed
overflow wrap as NumPy's does; ``-fopenmp`` gives threads and ``omp simd``.
``-ffast-math`` is left out on purpose: it would break NaN/Inf semantics,
signed zeros and the rounding of compensated expressions. On glibc x86-64,
kernels declare the libm functions glibc's ``libmvec`` vectorises
(``codegen``) and link ``-lmvec``.

Threads: unless the environment says otherwise, OpenMP threads wait
passively (``OMP_WAIT_POLICY=passive``, set before the first kernel loads
libgomp): spinning threads made two-thread kernels up to 20x slower than
one thread on a loaded 2-core machine, sleeping ones cost a few
microseconds to wake.

A kernel that fails to compile is reported (its node falls back to
``perform``), with the compiler's message, never raised at the user.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arignote.config import config
from arignote.link.c.cache import COMPILERS, KernelCache, entry_key
from arignote.link.c.codegen import Target

FLAGS = (
    "-O3",
    "-march=native",
    "-fPIC",
    "-shared",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fwrapv",
    "-fopenmp",
)
_GLIBC_2_22_VECTOR_MATH = frozenset({"exp", "log", "sin", "cos", "pow"})
_GLIBC_2_35_VECTOR_MATH = frozenset(
    "exp2 expm1 log2 log10 log1p tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh "
    "erf erfc".split()
)

Kernel = Callable[..., None]


class BackendUnavailable(RuntimeError):
    """The compiled backend cannot run here (no compiler, or an unexpected NumPy layout)."""


def compiler_path() -> str | None:
    """The compiler ``config.cxx`` names, resolved on ``PATH`` (None: no compiler).

    >>> from arignote.config import config
    >>> with config.change_flags(cxx=""):
    ...     compiler_path() is None
    True
    """
    if not config.cxx:
        return None
    return shutil.which(config.cxx)


@functools.cache
def _compiler_identity(path: str) -> str:
    """The compiler's path and ``--version``, remembered in the cache directory by the
    executable's size and time (so a warm process runs no compiler at all)."""
    real = os.path.realpath(path)
    status = os.stat(real)
    remembered = KernelCache(config.compiledir).directory / COMPILERS
    stamp = f"{real}:{status.st_size}:{status.st_mtime_ns}"
    try:
        known = json.loads(remembered.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict) or not isinstance(known.get(stamp), str):
        import subprocess

        result = subprocess.run(
            [path, "--version"], check=False, capture_output=True, text=True, timeout=60
        )
        first_line = (result.stdout or result.stderr).splitlines()[:1]
        known = {stamp: f"{real}: {first_line[0] if first_line else 'unknown version'}"}
        with contextlib.suppress(OSError):
            KernelCache(config.compiledir).write_atomically(remembered, json.dumps(known))
    return known[stamp]


@functools.cache
def _cpu_identity() -> str:
    """What ``-march=native`` depends on: the CPU model and its feature flags."""
    try:
        with open("/proc/cpuinfo") as handle:
            lines = [line for line in handle if line.startswith(("model name", "flags"))]
        return hashlib.sha256("".join(sorted(set(lines))).encode()).hexdigest()
    except OSError:
        return " ".join(os.uname())


@functools.cache
def _data_pointer_offset() -> int:
    """Where an ndarray object keeps its data pointer (right after the object header),
    checked on probe arrays."""
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        raise BackendUnavailable("the compiled backend needs a 64-bit Python")
    offset = 16
    probes = [np.empty(3), np.zeros((2, 0)), np.arange(5.0)[1:], np.empty(())]
    if all(ctypes.c_void_p.from_address(id(p) + offset).value == p.ctypes.data for p in probes):
        return offset
    raise BackendUnavailable(
        f"NumPy {np.__version__} lays out ndarray objects in a way this backend does not know"
    )


def _vector_math() -> frozenset[str]:
    """libm functions glibc's libmvec has SIMD versions of here (none off glibc x86-64)."""
    try:
        machine = os.uname().machine
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()
        major, minor = (int(part) for part in version.split(".")[:2])
    except (AttributeError, OSError, ValueError):
        return frozenset()
    if machine != "x86_64" or name != "glibc" or (major, minor) < (2, 22):
        return frozenset()
    return _GLIBC_2_22_VECTOR_MATH | (
        _GLIBC_2_35_VECTOR_MATH if (major, minor) >= (2, 35) else set()
    )


@dataclass(frozen=True)
class Toolchain:
    """A usable compiler and the platform facts kernel sources depend on."""

    compiler: str
    identity: str
    target: Target
    link_flags: tuple[str, ...]

    def cache_key(self, source: str) -> str:
        from arignote import __version__

        return entry_key(
            source, " ".join(FLAGS + self.link_flags), self.identity, _cpu_identity(), __version__
        )


@functools.cache
def _toolchain_for(path: str) -> Toolchain:
    vector_math = _vector_math()
    target = Target(_data_pointer_offset(), vector_math)
    link_flags = ("-lmvec", "-lm") if vector_math else ("-lm",)
    return Toolchain(path, _compiler_identity(path), target, link_flags)


def toolchain() -> Toolchain:
    """The toolchain for ``config.cxx``; raises ``BackendUnavailable`` saying why there is none."""
    path = compiler_path()
    if path is None:
        why = "config.cxx is empty" if not config.cxx else f"no {config.cxx!r} on PATH"
        raise BackendUnavailable(f"no C compiler ({why})")
    return _toolchain_for(path)


# Kernels loaded in this process, by cache key: a kernel is compiled and loaded once.
_LOADED: dict[str, Kernel] = {}


@dataclass(frozen=True)
class BuildResult:
    """A loaded kernel, or why there is none (the compiler's message)."""

    kernel: Kernel | None
    error: str = ""
    compiled: bool = False


def build_kernels(sources: Sequence[str], tools: Toolchain) -> list[BuildResult]:
    """Load each source's kernel: from this process, from the disk cache, or compiled.

    Sources missing from both are compiled concurrently, one compiler
    process per core, and published to the cache.
    """
    cache = KernelCache(config.compiledir)
    keys = [tools.cache_key(source) for source in sources]
    results: dict[str, BuildResult] = {}
    missing: dict[str, str] = {}
    for key, source in zip(keys, sources):
        if key in results or key in missing:
            continue
        if key in _LOADED:
            results[key] = BuildResult(_LOADED[key])
            continue
        library = cache.lookup(key)
        if library is not None:
            try:
                results[key] = BuildResult(_load(key, library))
                continue
            except OSError:
                pass  # unloadable despite its digest: rebuild it
        missing[key] = source
    if missing:
        from concurrent.futures import ThreadPoolExecutor

        workers = min(len(missing), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            built = pool.map(lambda item: _compile(item[0], item[1], tools, cache), missing.items())
            results.update(zip(missing, built))
    return [results[key] for key in keys]


def _compile(key: str, source: str, tools: Toolchain, cache: KernelCache) -> BuildResult:
    import subprocess

    try:
        with cache.work_directory() as scratch:
            source_path = Path(scratch) / "kernel.c"
            source_path.write_text(source)
            output = Path(scratch) / "kernel.so"
            command = [
                tools.compiler,
                *FLAGS,
                "-x",
                "c",
                "kernel.c",
                "-o",
                "kernel.so",
                *tools.link_flags,
            ]
            done = subprocess.run(
                command, check=False, cwd=scratch, capture_output=True, text=True, timeout=300
            )
            if done.returncode != 0 or not output.exists():
                message = (done.stderr or done.stdout).strip()
                return BuildResult(None, f"{' '.join(command)} failed:\n{message}")
            library = cache.store(key, output, {"compiler": tools.identity})
    except (OSError, subprocess.SubprocessError) as exc:
        return BuildResult(None, f"building a kernel failed: {exc}")
    try:
        return BuildResult(_load(key, library), compiled=True)
    except OSError as exc:
        return BuildResult(None, f"loading {library} failed: {exc}")


def _load(key: str, library: Path) -> Kernel:
    # Threads waiting for work sleep rather than spin: spinning ones starve the others on a
    # busy machine (measured: 2 threads 20x slower than 1 under load, with the default).
    # libgomp reads this when it loads, which is with the first kernel; a user's setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    function = ctypes.CDLL(str(library)).kernel
    function.restype = None
    _LOADED[key] = function
    return function


def kernel_arity(function: Kernel, count: int) -> Kernel:
    """Declare ``count`` integer arguments (shape, array addresses, threads) for ``function``."""
    function.argtypes = [ctypes.c_int64] * count
    return function
