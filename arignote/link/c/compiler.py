"""The system C compiler: finding it, building kernels (in parallel, through the cache), loading.

Nothing here runs at import. The first ``build_kernels`` of a process asks
the compiler its version (one ``--version`` call, remembered in the cache
directory, part of every cache key)
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

Kernels a graph is missing are built by one compiler run into one shared
library (``bundle_source``: each kernel under a symbol of its own); each
kernel still has its own cache entry. Measured on the MLP step's 14
kernels: 0.73 s against 1.33 s for one run per kernel on the 2-core
machine; ``-O2`` instead of ``-O3`` would save about 10% of that and ``-pipe``
3%. The kernel trampoline, when not built yet, is built alongside.

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
import re
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
    "exp2 expm1 log2 log10 log1p tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh "  # noqa: SIM905
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
# Libraries opened in this process, by path: a bundle is opened once for all its kernels.
_LIBRARIES: dict[str, ctypes.CDLL] = {}


@dataclass(frozen=True)
class BuildResult:
    """A loaded kernel, or why there is none (the compiler's message)."""

    kernel: Kernel | None
    error: str = ""
    compiled: bool = False


def build_kernels(sources: Sequence[str], tools: Toolchain) -> list[BuildResult]:
    """Load each source's kernel: from this process, from the disk cache, or compiled.

    The kernels missing from both are compiled together: one compiler run
    builds one library (a bundle) holding all of them, in parallel bundles
    where several cores are free and there are enough kernels to share; each
    kernel gets its own cache entry. If a bundle does not build, its kernels
    are built one by one, so that only the kernel at fault falls back.
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
        entry = cache.lookup_entry(key)
        if entry is not None:
            try:
                results[key] = BuildResult(_load(key, entry.library, entry.symbol))
                continue
            except (OSError, AttributeError):
                pass  # unloadable despite its digest: rebuild it
        missing[key] = source
    if missing:
        results.update(_build_missing(missing, tools, cache))
    return [results[key] for key in keys]


# A graph's missing kernels go to one bundle, split over more cores only when each part
# gets at least this many. Measured on the MLP step (14 kernels, loaded 2-core machine): one
# compiler run per kernel 1.33 s, all in one 0.73 s (each compiler process costs about 35 ms
# before it reads a line); two bundles of 7 on the 2 cores 0.82 s, one 0.71 s (medians).
_KERNELS_PER_BUNDLE = 12


def _build_missing(
    missing: dict[str, str], tools: Toolchain, cache: KernelCache
) -> dict[str, BuildResult]:
    items = sorted(missing.items())
    count = max(1, min(_available_cores(), len(items) // _KERNELS_PER_BUNDLE))
    groups = [items[i::count] for i in range(count)]
    prefetch = _prefetch_trampoline()
    results: dict[str, BuildResult] = {}
    for group, built in zip(groups, _in_parallel(_compile_bundle, groups, tools, cache)):
        if len(group) > 1 and any(r.kernel is None for r in built.values()):
            # One kernel at fault must not take the others down: build each on its own.
            built = {}
            for single in _in_parallel(_compile_bundle, [[item] for item in group], tools, cache):
                built.update(single)
        results.update(built)
    if prefetch is not None:
        prefetch.join()
    return results


def _in_parallel(build, groups, tools: Toolchain, cache: KernelCache) -> list:
    if len(groups) == 1:
        return [build(groups[0], tools, cache)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(groups), _available_cores())) as pool:
        return list(pool.map(lambda group: build(group, tools, cache), groups))


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _prefetch_trampoline():
    """Build the kernel trampoline (``lowering._trampoline``, built once per compiledir) on
    a thread while the kernels compile, not after them; None when it is already there."""
    import threading

    from arignote.link.c import lowering

    info = getattr(lowering._trampoline, "cache_info", None)
    if info is None or info().currsize:
        return None

    def build() -> None:
        with contextlib.suppress(Exception):  # the linker's own call then says why
            lowering._trampoline()

    thread = threading.Thread(target=build, daemon=True)
    thread.start()
    return thread


_STATIC_NAME = re.compile(r"^static\b[^;{]*?\b([A-Za-z_]\w*)\s*[(\[=;]", re.MULTILINE)
_MACRO_NAME = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def symbol_of(key: str) -> str:
    """The symbol of kernel ``key`` in its bundle."""
    return f"ar_kernel_{key}"


def bundle_source(items: Sequence[tuple[str, str]]) -> str:
    """One C translation unit holding every ``(key, source)`` kernel, each kernel's
    ``kernel`` function renamed ``symbol_of(key)``.

    One unit, not one file per kernel, because each unit costs the compiler
    a fixed 35 ms (measured). Kernel sources are written as units of their
    own, so each is fenced: its file-scope ``static`` names get a suffix of
    its own and the macros it defines are undefined after it. (Two sources
    that declare the same external function or typedef alike are valid C
    together; anything else that clashes fails the bundle, whose kernels
    are then built one by one.)
    """
    parts = []
    for position, (key, source) in enumerate(items):
        renamed = [("kernel", symbol_of(key))]
        renamed += [(name, f"{name}__k{position}") for name in _STATIC_NAME.findall(source)]
        macros = sorted(set(_MACRO_NAME.findall(source)))
        parts.append(f"/* ---- kernel {key} */")
        parts += [f"#define {name} {new}" for name, new in dict(renamed).items()]
        parts += [source, ""]
        parts += [f"#undef {name}" for name in sorted({*dict(renamed), *macros})]
    return "\n".join(parts) + "\n"


def _compile_bundle(
    items: Sequence[tuple[str, str]], tools: Toolchain, cache: KernelCache
) -> dict[str, BuildResult]:
    import subprocess

    keys = [key for key, _ in items]

    def failed(message: str) -> dict[str, BuildResult]:
        return {key: BuildResult(None, message) for key in keys}

    try:
        with cache.work_directory() as scratch:
            Path(scratch, "bundle.c").write_text(bundle_source(items))
            command = [
                tools.compiler,
                *FLAGS,
                "-pipe",
                "-x",
                "c",
                "bundle.c",
                "-o",
                "bundle.so",
                *tools.link_flags,
            ]
            done = subprocess.run(
                command, check=False, cwd=scratch, capture_output=True, text=True, timeout=300
            )
            output = Path(scratch, "bundle.so")
            if done.returncode != 0 or not output.exists():
                message = (done.stderr or done.stdout).strip()
                return failed(f"{' '.join(command)} failed:\n{message}")
            symbols = {key: symbol_of(key) for key in keys}
            library = cache.store_bundle(
                keys[0] if len(keys) == 1 else f"bundle-{keys[0][:16]}",  # digest follows
                output,
                symbols,
                {"compiler": tools.identity},
            )
    except (OSError, subprocess.SubprocessError) as exc:
        return failed(f"building a kernel failed: {exc}")
    try:
        return {key: BuildResult(_load(key, library, symbols[key]), compiled=True) for key in keys}
    except (OSError, AttributeError) as exc:
        return failed(f"loading {library} failed: {exc}")


def _load(key: str, library: Path, symbol: str) -> Kernel:
    # Threads waiting for work sleep rather than spin: spinning ones starve the others on a
    # busy machine (measured: 2 threads 20x slower than 1 under load, with the default).
    # libgomp reads this when it loads, which is with the first kernel; a user's setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    opened = _LIBRARIES.get(str(library))
    if opened is None:
        opened = _LIBRARIES[str(library)] = ctypes.CDLL(str(library))
    function = opened[symbol]  # a function object of its own (kernel_arity sets its types)
    function.restype = None
    _LOADED[key] = function
    return function


def kernel_arity(function: Kernel, count: int) -> Kernel:
    """Declare ``count`` integer arguments (shape, array addresses, threads) for ``function``."""
    function.argtypes = [ctypes.c_int64] * count
    return function
