"""The on-disk kernel cache under ``config.compiledir``.

An entry is keyed by the SHA-256 of everything that decides the machine
code: the kernel's C source, the compiler's identity and flags, the CPU
(``-march=native``) and the Arignote version. It is two files in
``<compiledir>/kernels/``:

- ``<key>-<digest>.so``, the shared library, named by the SHA-256 of its
  own bytes (``digest``), so a library file never changes once written;
- ``<key>.json``, the metadata: the key, the library's file name and digest,
  and what built it. It is written last: an entry exists once it does.

(``compilers.json`` remembers each compiler's ``--version`` by its file's
size and time, so that a process with a warm cache runs no compiler.)

Every write goes to a temporary file in the same directory, then
``os.replace``, which is atomic: a reader sees a whole file or none, so any
number of processes may build the same entry at once (the last one's
metadata wins, and every library it may name is complete). A reader checks
the library's digest against the metadata; a missing, unreadable or
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
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1  # bump when the entry layout or the kernel calling convention changes
_SUBDIR = "kernels"
COMPILERS = "compilers.json"  # what each compiler executable said its version was


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
class CacheInfo:
    location: Path
    entries: int
    size_bytes: int
    temporary_files: int

    def __str__(self) -> str:
        return (
            f"kernel cache: {self.location}\n"
            f"entries: {self.entries}\n"
            f"size: {self.size_bytes / 1e6:.2f} MB ({self.size_bytes} bytes)\n"
            f"temporary files: {self.temporary_files}"
        )


class KernelCache:
    """Compiled kernels on disk, shared by every process using the same ``compiledir``."""

    def __init__(self, compiledir: str | os.PathLike):
        self.directory = Path(compiledir) / _SUBDIR

    def lookup(self, key: str) -> Path | None:
        """The verified library of entry ``key``, or None if there is no sound entry."""
        try:
            metadata = json.loads((self.directory / f"{key}.json").read_text())
            library = self.directory / metadata["library"]
            if metadata["key"] != key or _file_digest(library) != metadata["digest"]:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return library

    def work_directory(self) -> tempfile.TemporaryDirectory:
        """A private scratch directory in the cache (one file system, so renames are atomic)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix="tmp-build-", dir=self.directory)

    def store(self, key: str, built_library: Path, description: dict[str, str]) -> Path:
        """Publish ``built_library`` (a file in a work directory) as entry ``key``."""
        digest = _file_digest(built_library)
        library = self.directory / f"{key}-{digest[:16]}.so"
        os.replace(built_library, library)
        metadata = {"key": key, "library": library.name, "digest": digest, **description}
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
        entries = size = temporary = 0
        if self.directory.is_dir():
            for path in self.directory.iterdir():
                if path.name.startswith("tmp-"):
                    temporary += 1
                    continue
                entries += path.suffix == ".json" and path.name != COMPILERS
                with contextlib.suppress(OSError):
                    size += path.stat().st_size
        return CacheInfo(self.directory, entries, size, temporary)

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


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
