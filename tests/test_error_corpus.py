"""The buggy-program corpus: every error a user can make points at the user's own line.

Each script in ``tests/error_corpus/`` is a small program with one mistake.
It marks the line that makes the mistake (builds the faulty node, or makes
the bad call) with ``# ERROR-LINE``, the exception it expects with
``# EXPECT-ERROR: Name``, and the shapes, types or words the error must
show with ``# EXPECT: text`` lines. Each runs as its own process, as a user
would run it, under the default mode and under ``FAST_COMPILE``; what it
prints must name the script's file and the marked line, and every expected
text. The processes run in parallel, once per test session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from arignote.config import config

CORPUS = Path(__file__).resolve().parent / "error_corpus"
ROOT = CORPUS.parent.parent
MODES = {"FAST_RUN": "", "FAST_COMPILE": "mode=FAST_COMPILE"}


@dataclass(frozen=True)
class Case:
    script: Path
    error_line: int
    error_name: str | None
    expected: tuple[str, ...]


def read_case(script: Path) -> Case:
    lines = script.read_text().splitlines()
    marked = [number for number, line in enumerate(lines, 1) if line.endswith("# ERROR-LINE")]
    assert len(marked) == 1, f"{script.name} must mark exactly one line with # ERROR-LINE"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("# EXPECT-ERROR:")]
    expected = tuple(
        line.split(":", 1)[1].strip() for line in lines if line.startswith("# EXPECT: ")
    )
    return Case(script, marked[0], names[0] if names else None, expected)


CASES = {
    path.stem: read_case(path) for path in sorted(CORPUS.glob("*.py")) if path.stem != "conftest"
}


def _run(case: Case, mode: str) -> subprocess.CompletedProcess:
    flags = ",".join(f for f in (MODES[mode], f"compiledir={config.compiledir}") if f)
    env = {key: value for key, value in os.environ.items() if key != "THEANO_FLAGS"}
    env["ARIGNOTE_FLAGS"] = flags
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(case.script)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(ROOT),
    )


@pytest.fixture(scope="session")
def corpus_runs() -> dict[tuple[str, str], subprocess.CompletedProcess]:
    jobs = [(name, mode) for name in CASES for mode in MODES]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda job: _run(CASES[job[0]], job[1]), jobs)
        return dict(zip(jobs, results))


def test_the_corpus_covers_the_required_mistakes():
    required = {
        "elemwise_shape_mismatch",
        "dot_mismatch",
        "wrong_input_dtype",
        "wrong_input_count",
        "wrong_ndim",
        "update_type_mismatch",
        "non_scalar_cost",
        "disconnected_input",
        "nan_from_log_of_negative",
        "undeclared_broadcast",
        "index_out_of_range",
        "impossible_reshape",
    }
    assert required <= set(CASES)
    for case in CASES.values():
        assert case.expected, f"{case.script.name} expects no shapes or types"


@pytest.mark.parametrize("name, mode", [(name, mode) for name in CASES for mode in MODES])
def test_the_error_points_at_the_users_line(corpus_runs, name, mode):
    case = CASES[name]
    run = corpus_runs[(name, mode)]
    printed = run.stderr + run.stdout
    assert run.returncode != 0, f"{case.script.name} ran without an error:\n{printed}"
    where = f'File "{case.script}", line {case.error_line}'
    assert where in printed, f"the error does not name {where}:\n{printed}"
    if case.error_name is not None:
        pattern = rf"^([\w.]+\.)?{re.escape(case.error_name)}: "
        assert re.search(pattern, printed, re.MULTILINE), (
            f"expected a {case.error_name}:\n{printed}"
        )
    for text in case.expected:
        assert text in printed, f"the error does not show {text!r}:\n{printed}"
    assert "report failed" not in printed, printed
