"""Kernel bundles: the kernels a graph is missing are built by one compiler run into one
library, yet each keeps a cache entry of its own (found by its key from any graph).

Kernels here are small hand-written C sources (``void kernel(int64_t address)`` storing
one int64 at ``address``), built through ``compiler.build_kernels`` into a private
compiledir, so that what each kernel computes tells which source it came from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.config import config
from arignote.link.c import compiler
from arignote.link.c.cache import COMPILERS, KernelCache
from tests.jit_support import requires_compiler

pytestmark = requires_compiler

# Each source defines a static helper and a macro under the same names as the others, with
# other values: a bundle must keep every kernel's own.
KERNEL = """
typedef __INT64_TYPE__ int64_t;
#define AR_TEST_SCALE {scale}
static int64_t ar_test_helper(int64_t x) {{ return x * AR_TEST_SCALE + {offset}; }}
static const int64_t ar_test_table[2] = {{{offset}, {scale}}};
void kernel(int64_t address) {{ *(int64_t*)address = ar_test_helper(1000) + ar_test_table[1]; }}
"""
BROKEN = "void kernel(int64_t address) { this is not C; }"


def source(scale: int, offset: int) -> str:
    return KERNEL.format(scale=scale, offset=offset)


def expected(scale: int, offset: int) -> int:
    return 1000 * scale + offset + scale


def call(kernel) -> int:
    out = np.zeros(1, np.int64)
    compiler.kernel_arity(kernel, 1)(out.ctypes.data)
    return int(out[0])


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A private, empty compiledir; this process's loaded kernels forgotten."""
    monkeypatch.setattr(compiler, "_LOADED", {})
    with config.change_flags(compiledir=str(tmp_path)):
        yield tmp_path


def entries(directory: Path) -> dict[str, dict]:
    paths = (directory / "kernels").glob("*.json")
    return {p.stem: json.loads(p.read_text()) for p in paths if p.name != COMPILERS}


def libraries(directory: Path) -> list[str]:
    return sorted(p.name for p in (directory / "kernels").glob("*.so"))


def test_missing_kernels_share_one_library_and_keep_their_own_code(cache_dir):
    pairs = [(2, 7), (3, 11), (5, 13)]
    results = compiler.build_kernels([source(*p) for p in pairs], compiler.toolchain())
    assert [r.error for r in results] == ["", "", ""]
    assert all(r.compiled for r in results)
    assert [call(r.kernel) for r in results] == [expected(*p) for p in pairs]
    found = entries(cache_dir)
    assert len(found) == 3 and len(libraries(cache_dir)) == 1
    assert len({e["symbol"] for e in found.values()}) == 3
    assert {e["library"] for e in found.values()} == set(libraries(cache_dir))


def test_a_kernel_of_a_bundle_is_found_alone_by_its_key(cache_dir, monkeypatch):
    tools = compiler.toolchain()
    compiler.build_kernels([source(2, 17), source(3, 19)], tools)
    monkeypatch.setattr(compiler, "_LOADED", {})  # as in another process
    (result,) = compiler.build_kernels([source(3, 19)], tools)
    assert not result.compiled and call(result.kernel) == expected(3, 19)
    # A graph with one known and one new kernel compiles only the new one.
    monkeypatch.setattr(compiler, "_LOADED", {})
    known, new = compiler.build_kernels([source(2, 17), source(7, 23)], tools)
    assert (known.compiled, new.compiled) == (False, True)
    assert (call(known.kernel), call(new.kernel)) == (expected(2, 17), expected(7, 23))
    assert len(libraries(cache_dir)) == 2


def test_a_broken_kernel_does_not_take_its_bundle_down(cache_dir):
    results = compiler.build_kernels([source(2, 29), BROKEN, source(3, 31)], compiler.toolchain())
    good = [results[0], results[2]]
    assert [call(r.kernel) for r in good] == [expected(2, 29), expected(3, 31)]
    assert results[1].kernel is None and "this is not C" in results[1].error
    assert len(entries(cache_dir)) == 2


def test_a_damaged_bundle_is_detected_and_each_of_its_kernels_rebuilt(cache_dir, monkeypatch):
    tools = compiler.toolchain()
    pairs = [(2, 37), (3, 41)]
    compiler.build_kernels([source(*p) for p in pairs], tools)
    (name,) = libraries(cache_dir)
    library = cache_dir / "kernels" / name
    data = bytearray(library.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = library.with_name("damage-" + name)  # replaced, not written into: it is mapped
    damaged.write_bytes(bytes(data))
    os.replace(damaged, library)
    cache = KernelCache(cache_dir)
    assert all(cache.lookup_entry(key) is None for key in entries(cache_dir))
    monkeypatch.setattr(compiler, "_LOADED", {})
    results = compiler.build_kernels([source(*p) for p in pairs], tools)
    assert all(r.compiled for r in results)
    assert [call(r.kernel) for r in results] == [expected(*p) for p in pairs]
    assert all(cache.lookup_entry(key) is not None for key in entries(cache_dir))


def test_a_graph_compiles_its_kernels_in_one_library(cache_dir):
    x, y = T.vector("x"), T.vector("y")
    # Two fused regions (a reduction between them): two kernels.
    total = T.sum(T.exp(x * 0.4375) + y)
    out = T.tanh(x * total) * 0.5625
    f = arignote.function([x, y], out, mode=Mode("jit", optimizer="fast_run"))
    a, b = np.linspace(-1, 1, 7), np.linspace(0, 2, 7)
    reference = np.tanh(a * np.sum(np.exp(a * 0.4375) + b)) * 0.5625
    np.testing.assert_allclose(f(a, b), reference)
    report = f.program.report
    assert report.kernels_compiled >= 2 and not report.fallbacks
    assert len(entries(cache_dir)) == report.kernels_compiled
    assert len(libraries(cache_dir)) == 1


def test_cache_info_counts_libraries_and_clear_removes_the_trampoline(cache_dir, capsys):
    from arignote.__main__ import main

    compiler.build_kernels([source(2, 43), source(3, 47)], compiler.toolchain())
    trampoline = cache_dir / "trampoline" / "kernels"
    trampoline.mkdir(parents=True)
    (trampoline / "stand-in.so").write_bytes(b"\0")
    main(["cache", "info"])
    shown = capsys.readouterr().out
    assert "entries: 2" in shown and "libraries: 1" in shown and "trampoline: built" in shown
    main(["cache", "clear"])
    assert "removed 2 entries" in capsys.readouterr().out
    assert list(trampoline.iterdir()) == [] and entries(cache_dir) == {}
    main(["cache", "info"])
    assert "trampoline: not built" in capsys.readouterr().out
