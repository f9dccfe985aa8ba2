"""The kernel cache: shared by processes, safe under concurrent builds, self-repairing.

Every test points ``config.compiledir`` at its own temporary directory (the
rest of the suite shares the user's cache, so a second run compiles
nothing) and forgets the kernels this process has loaded, so lookups go
to disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
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

ROOT = Path(__file__).resolve().parent.parent

# A graph whose one fused kernel no other test builds (the constant 0.3125 makes it unique).
GRAPH = """
import numpy as np, arignote, arignote.tensor as T
x = T.vector("x")
f = arignote.function([x], T.exp(-x * x) * 0.3125 + T.tanh(x), mode="FAST_RUN")
value = np.linspace(-2, 2, 11)
assert np.allclose(f(value), np.exp(-value**2) * 0.3125 + np.tanh(value)), "wrong values"
report = f.program.report
print(report.kernels_compiled, report.kernels_loaded, len(report.fallbacks))
"""


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A private, empty compiledir for this test; this process's loaded kernels forgotten."""
    monkeypatch.setattr(compiler, "_LOADED", {})
    with config.change_flags(compiledir=str(tmp_path)):
        yield tmp_path


def run_graph_process(compiledir: Path) -> subprocess.Popen:
    env = {**os.environ, "ARIGNOTE_FLAGS": f"compiledir={compiledir}", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", GRAPH],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def counts(process: subprocess.Popen) -> tuple[int, int, int]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return tuple(int(n) for n in out.split())


JIT = Mode("jit", optimizer="fast_run")


def build():
    x = T.vector("x")
    f = arignote.function([x], T.exp(-x * x) * 0.3125 + T.tanh(x), mode=JIT)
    value = np.linspace(-2, 2, 11)
    np.testing.assert_allclose(f(value), np.exp(-(value**2)) * 0.3125 + np.tanh(value))
    return f.program.report


def entries(directory: Path) -> list[dict]:
    paths = (directory / "kernels").glob("*.json")
    return [json.loads(p.read_text()) for p in paths if p.name != COMPILERS]


@pytest.mark.slow
def test_eight_processes_build_the_same_kernel_at_once_and_a_ninth_compiles_nothing(cache_dir):
    processes = [run_graph_process(cache_dir) for _ in range(8)]
    results = [counts(p) for p in processes]
    assert all(fallbacks == 0 for _, _, fallbacks in results)
    assert sum(compiled for compiled, _, _ in results) >= 1
    (entry,) = entries(cache_dir)
    assert KernelCache(cache_dir).lookup(entry["key"]) is not None
    leftovers = [p.name for p in (cache_dir / "kernels").iterdir() if p.name.startswith("tmp-")]
    assert leftovers == []
    assert counts(run_graph_process(cache_dir)) == (0, 1, 0)


def replace_file(path: Path, data: bytes) -> None:
    """Damage by replacing the file, not by writing into it: this process has the library
    mapped, and overwriting a mapped library in place would crash it, not test the cache."""
    temporary = path.with_name("damage-" + path.name)
    temporary.write_bytes(data)
    os.replace(temporary, path)


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "garbage metadata"])
def test_a_damaged_entry_is_detected_and_rebuilt(cache_dir, monkeypatch, damage):
    assert build().kernels_compiled == 1
    (entry,) = entries(cache_dir)
    library = cache_dir / "kernels" / entry["library"]
    if damage == "truncate":
        replace_file(library, library.read_bytes()[:100])
    elif damage == "flip":
        data = bytearray(library.read_bytes())
        data[len(data) // 2] ^= 0xFF
        replace_file(library, bytes(data))
    elif damage == "delete":
        library.unlink()
    else:
        replace_file(cache_dir / "kernels" / f"{entry['key']}.json", b"{not json")
    assert KernelCache(cache_dir).lookup(entry["key"]) is None
    monkeypatch.setattr(compiler, "_LOADED", {})
    report = build()
    assert (report.kernels_compiled, report.kernels_loaded) == (1, 0)
    assert KernelCache(cache_dir).lookup(entry["key"]) is not None


def test_a_new_version_builds_new_entries(cache_dir, monkeypatch):
    assert build().kernels_compiled == 1
    monkeypatch.setattr(compiler, "_LOADED", {})
    monkeypatch.setattr(arignote, "__version__", arignote.__version__ + ".post1")
    assert build().kernels_compiled == 1
    assert len(entries(cache_dir)) == 2
    monkeypatch.undo()
    monkeypatch.setattr(compiler, "_LOADED", {})
    with config.change_flags(compiledir=str(cache_dir)):
        assert build().kernels_loaded == 1


def test_a_compile_error_falls_back_to_perform_and_warns(cache_dir, monkeypatch):
    from arignote.link.c.lowering import _trampoline

    _trampoline()  # built with sound flags (kernel builds start it alongside, with theirs)
    monkeypatch.setattr(compiler, "FLAGS", (*compiler.FLAGS, "-fno-such-flag-for-arignote"))
    monkeypatch.setattr("arignote.link.c.linker._warned", set())
    with pytest.warns(RuntimeWarning, match="failed to build"):
        report = build()
    assert report.kernels_compiled == 0
    assert "kernel build failed" in report.fallbacks[0].detail


def test_the_command_line_shows_and_clears_the_cache(cache_dir, capsys):
    from arignote.__main__ import main

    build()
    main(["cache", "info"])
    shown = capsys.readouterr().out
    assert str(cache_dir / "kernels") in shown and "entries: 1" in shown
    main(["cache", "clear"])
    assert "removed 1 entries" in capsys.readouterr().out
    main(["cache", "info"])
    assert "entries: 0" in capsys.readouterr().out
    assert entries(cache_dir) == []


def test_python_dash_m_arignote_runs(cache_dir):
    env = {**os.environ, "ARIGNOTE_FLAGS": f"compiledir={cache_dir}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "arignote", "cache", "info"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert str(cache_dir / "kernels") in done.stdout


def test_import_touches_no_compiler():
    code = textwrap.dedent("""
        import sys, arignote
        backend = ("arignote.link.c.compiler", "arignote.link.c.codegen")
        print([m for m in backend if m in sys.modules])
    """)
    env = {**os.environ, "ARIGNOTE_FLAGS": "cxx=/nonexistent/cc", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_the_packaged_trampoline_one_is_built_at_run_time(tmp_path, monkeypatch):
    """The trampoline normally comes with the package; where its build was skipped, the
    backend compiles the same source into the cache and calls kernels through it."""
    import ctypes

    from arignote.link.c import lowering

    monkeypatch.setitem(sys.modules, "arignote.link.c._arignote_trampoline", None)
    lowering._trampoline.cache_clear()
    try:
        with config.change_flags(compiledir=str(tmp_path)):
            call = lowering._trampoline()
        assert call is not None
        assert list((tmp_path / "trampoline").rglob("*.so"))
        buffer = (ctypes.c_int64 * 1)()
        libc = ctypes.CDLL(None)
        # memset(buffer, 7, 8) through the trampoline: its arguments arrive as int64s
        call(ctypes.cast(libc.memset, ctypes.c_void_p).value, ctypes.addressof(buffer), 7, 8)
        assert buffer[0] == int.from_bytes(b"\x07" * 8, "little")
    finally:
        lowering._trampoline.cache_clear()
