"""The on-disk kernel cache under ``config.compiledir``.

An entry is keyed by the SHA-256 of everything that decides the machine
code: the kernel's C source, the compiler's identity and flags, the CPU
(``-march=native``) and the Arignote version. Kernels compiled together
share one shared library (a *bundle*: one compiler run for every kernel a
graph is missing, each kernel under its own symbol), but every kernel keeps
an entry of its own, so another graph with the same kernel finds it by its
key. In ``<compiledir>/kernels/``:

- ``<name>-<digest>.so``, a shared library, named by the SHA-256 of its own
  bytes (``digest``), so a library file never changes once written;
- ``<key>.json``, one kernel's metadata: the key, the library's file name
  and digest, the kernel's symbol in it, and what built it. It is written
  after its library: an entry exists once it does.

(``compilers.json`` remembers each compiler's ``--version`` by its file's
size and time, so that a process with a warm cache runs no compiler; the
kernel trampoline, a Python extension, is cached the same way beside the
kernels, in ``<compiledir>/trampoline/``.)

Every write goes to a temporary file in the same directory, then
``os.replace``, which is atomic: a reader sees a whole file or none, so any
number of processes may build the same entries at once (the last one's
metadata wins, and every library it may name is complete). A reader checks
the library's digest against the metadata (once per process and file: a
bundle holding many kernels is hashed once); a missing, unreadable or
mismatched entry counts as absent and is rebuilt (``lookup`` returns None).
Nothing is ever locked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1  # bump when the entry layout or the kernel calling convention changes
_SUBDIR = "kernels"
TRAMPOLINE_SUBDIR = "trampoline"  # the kernel-calling extension's cache, beside the kernels'
COMPILERS = "compilers.json"  # what each compiler executable said its version was
DEFAULT_SYMBOL = "kernel"  # an entry without a "symbol" names a library's only kernel


def entry_key(*parts: str) -> str:
    """The hex SHA-256 of the parts (each one length-prefixed, so no two splits collide).

    >>> entry_key("a", "bc") == entry_key("ab", "c")
    False
    """
    digest = hashlib.sha256(f"arignote-kernel-cache-{FORMAT}".encode())
    for part in parts:
        data = part.encode()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class Entry:
    """Where a cached kernel is: its verified library and its symbol there."""

    library: Path
    symbol: str


@dataclass(frozen=True)
class CacheInfo:
    location: Path
    entries: int
    libraries: int
    size_bytes: int
    temporary_files: int

    def __str__(self) -> str:
        return (
            f"kernel cache: {self.location}\n"
            f"entries: {self.entries}\n"
            f"libraries: {self.libraries} (kernels compiled together share one)\n"
            f"size: {self.size_bytes / 1e6:.2f} MB ({self.size_bytes} bytes)\n"
            f"temporary files: {self.temporary_files}"
        )


# Libraries whose digest this process has checked, by (path, inode, size, mtime): a replaced
# or rewritten file has another identity and is checked again.
_VERIFIED: set[tuple[str, int, int, int, str]] = set()


class KernelCache:
    """Compiled kernels on disk, shared by every process using the same ``compiledir``."""

    def __init__(self, compiledir: str | os.PathLike):
        self.directory = Path(compiledir) / _SUBDIR

    def lookup_entry(self, key: str) -> Entry | None:
        """Entry ``key``'s verified library and symbol, or None if there is no sound entry."""
        try:
            metadata = json.loads((self.directory / f"{key}.json").read_text())
            library = self.directory / metadata["library"]
            symbol = metadata.get("symbol", DEFAULT_SYMBOL)
            if metadata["key"] != key or not isinstance(symbol, str):
                return None
            if not _verified(library, metadata["digest"]):
                return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return Entry(library, symbol)

    def lookup(self, key: str) -> Path | None:
        """The verified library of entry ``key``, or None if there is no sound entry."""
        entry = self.lookup_entry(key)
        return None if entry is None else entry.library

    def work_directory(self) -> tempfile.TemporaryDirectory:
        """A private scratch directory in the cache (one file system, so renames are atomic)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix="tmp-build-", dir=self.directory)

    def store(self, key: str, built_library: Path, description: dict[str, str]) -> Path:
        """Publish ``built_library`` (a file in a work directory) as entry ``key``, whose
        symbol is ``kernel`` (or whatever the caller looks up)."""
        return self.store_bundle(key, built_library, {key: DEFAULT_SYMBOL}, description)

    def store_bundle(
        self,
        name: str,
        built_library: Path,
        symbols: Mapping[str, str],
        description: dict[str, str],
    ) -> Path:
        """Publish ``built_library`` as ``<name>-<digest>.so``, then one entry per item of
        ``symbols`` (key: the symbol of that entry's kernel in the library)."""
        data = built_library.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        library = self.directory / f"{name}-{digest[:16]}.so"
        os.replace(built_library, library)
        status = library.stat()
        _VERIFIED.add((str(library), status.st_ino, status.st_size, status.st_mtime_ns, digest))
        for key, symbol in symbols.items():
            metadata = {
                "key": key,
                "library": library.name,
                "digest": digest,
                "symbol": symbol,
                **description,
            }
            self.write_atomically(self.directory / f"{key}.json", json.dumps(metadata, indent=1))
        return library

    def write_atomically(self, path: Path, text: str) -> None:
        """Write ``path`` (in the cache directory) through a temporary file and a rename."""
        self.directory.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix="tmp-", suffix=".json", dir=self.directory)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def info(self) -> CacheInfo:
        entries = libraries = size = temporary = 0
        if self.directory.is_dir():
            for path in self.directory.iterdir():
                if path.name.startswith("tmp-"):
                    temporary += 1
                    continue
                entries += path.suffix == ".json" and path.name != COMPILERS
                libraries += path.suffix == ".so"
                with contextlib.suppress(OSError):
                    size += path.stat().st_size
        return CacheInfo(self.directory, entries, libraries, size, temporary)

    def clear(self) -> int:
        """Remove every entry (and leftover temporary files); return how many entries there were."""
        count = self.info().entries
        if self.directory.is_dir():
            for path in self.directory.iterdir():
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        path.unlink()
        return count


def _verified(library: Path, digest: str) -> bool:
    """Whether ``library``'s bytes have the SHA-256 ``digest`` (checked once per file)."""
    status = library.stat()
    identity = (str(library), status.st_ino, status.st_size, status.st_mtime_ns, digest)
    if identity in _VERIFIED:
        return True
    if hashlib.sha256(library.read_bytes()).hexdigest() != digest:
        return False
    _VERIFIED.add(identity)
    return True
