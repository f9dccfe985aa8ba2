"""Profiling: call counts, per-node times, compile-time split, memory, summary tables."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from observer_support import OBSERVING_LINKERS as LINKERS

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.compile.profiling import ProfileStats
from arignote.config import config

ROOT = Path(__file__).resolve().parents[1]


def _model():
    x, w = T.matrix("x"), T.matrix("w")
    return [x, w], T.tanh(x.dot(w)).sum(axis=1) + T.exp(x).mean()


def _values(rng):
    return rng.normal(size=(6, 4)), rng.normal(size=(4, 5))


@pytest.mark.parametrize("linker", LINKERS)
def test_counts_equal_the_calls_and_node_times_fit_in_call_time(linker):
    inputs, out = _model()
    f = arignote.function(inputs, out, mode=Mode(linker), profile=True, name="model")
    stats = f.profile
    assert isinstance(stats, ProfileStats) and stats.message == "model"
    rng = np.random.default_rng(0)
    for _ in range(3):
        xv, wv = _values(rng)
        np.testing.assert_allclose(f(xv, wv), np.tanh(xv @ wv).sum(axis=1) + np.exp(xv).mean())
    nodes = set(f.maker.fgraph.apply_nodes)
    assert stats.fct_callcount == 3
    assert set(stats.apply_callcount) == nodes
    assert all(count == 3 for count in stats.apply_callcount.values())
    assert all(t >= 0 for t in stats.apply_time.values())
    assert 0 < sum(stats.apply_time.values()) <= stats.fct_call_time
    assert sum(stats.class_callcount().values()) == 3 * len(nodes)
    assert sum(stats.op_callcount().values()) == 3 * len(nodes)
    assert stats.nb_nodes == len(nodes)
    assert stats.optimizer_time > 0 and stats.linker_time > 0
    assert stats.compile_time == pytest.approx(stats.optimizer_time + stats.linker_time)


def test_summary_lists_every_op_class_node_and_the_compile_split():
    inputs, out = _model()
    f = arignote.function(inputs, out, mode=Mode("py"), profile=True, name="model")
    f(*_values(np.random.default_rng(1)))
    buffer = io.StringIO()
    f.profile.summary(file=buffer)
    text = buffer.getvalue()
    assert "Message: model" in text
    assert "Time in 1 calls to the program" in text
    assert "Rewriting time:" in text and "Linking time" in text
    for node in f.maker.fgraph.apply_nodes:
        assert str(node.op) in text
        assert f"{type(node.op).__module__}.{type(node.op).__qualname__}" in text
    for section in ("\nClass\n", "\nOps\n", "\nApply\n", "\nMemory\n"):
        assert section in text
    assert text == f.profile.summary_text()


def test_a_shared_profile_adds_up_several_functions():
    x = T.matrix("x")
    stats = ProfileStats(message="both")
    g = arignote.function([x], T.exp(x), mode=Mode("py"), profile=stats)
    h = arignote.function([x], T.log(x), mode=Mode("py"), profile=stats)
    assert g.profile is stats and h.profile is stats
    value = np.ones((2, 3))
    g(value)
    h(value)
    h(value)
    assert stats.fct_callcount == 3
    assert sorted(stats.apply_callcount.values()) == [1, 2]
    assert {str(op): n for op, n in stats.op_callcount().items()} == {"exp": 1, "log": 2}
    assert stats.nb_nodes == 2
    text = stats.summary_text()
    assert "exp(x)" in text and "log(x)" in text


def test_profile_argument_forms():
    x = T.vector("x")
    assert arignote.function([x], x * 2).profile is None
    assert arignote.function([x], x * 2, profile="named").profile.message == "named"
    with config.change_flags(profile=True):
        assert isinstance(arignote.function([x], x * 2).profile, ProfileStats)
    with pytest.raises(TypeError, match="profile must be True, False, a message string"):
        arignote.function([x], x * 2, profile=3)


def test_memory_counts_output_bytes_views_as_zero_and_estimates_the_peak():
    x = T.vector("x")
    out = (T.exp(x) * 2).sum() + x.dimshuffle("x", 0).sum()
    f = arignote.function([x], out, mode=Mode("py", "fast_compile"), profile=True)
    n = 100
    f(np.ones(n))
    stats = f.profile
    by_op = {str(node.op): node for node in f.maker.fgraph.apply_nodes}
    assert stats.output_bytes[by_op["exp"].outputs[0]] == 8 * n
    assert stats.variable_shape[by_op["exp"].outputs[0]] == (n,)
    assert stats.output_bytes[by_op["DimShuffle{x,0}"].outputs[0]] == 0  # a view of x
    # exp's and mul's outputs are alive together; everything else is a few scalars.
    assert 16 * n <= stats.peak_memory() <= 16 * n + 64
    assert "Estimated peak of one call" in stats.summary_text()


def test_profile_memory_flag_lists_every_node():
    x = T.vector("x")
    out = T.exp(x) + T.sin(x) * T.cos(x) - T.tanh(x) * T.sqrt(x)
    f = arignote.function([x], out, mode="FAST_COMPILE", profile=True)
    f(np.ones(3))
    short = f.profile.summary_text()
    with config.change_flags(profile_memory=True):
        full = f.profile.summary_text()
    memory = full.split("\nMemory\n")[1]
    for node in f.maker.fgraph.apply_nodes:
        assert str(node) in memory
    assert "more nodes (config.profile_memory=True lists all)" in short


def test_profiling_works_with_the_checking_modes():
    from arignote.compile.nanguardmode import NanGuardError, NanGuardMode

    x = T.vector("x")
    f = arignote.function([x], T.log(x), mode=NanGuardMode(linker="py"), profile=True)
    f(np.ones(2))
    with pytest.raises(NanGuardError):
        f(-np.ones(2))
    assert f.profile.fct_callcount == 2
    assert list(f.profile.apply_callcount.values()) == [2]


def test_config_profile_prints_the_summary_at_exit():
    script = textwrap.dedent(
        """
        import numpy as np, arignote, arignote.tensor as T
        x = T.vector("x")
        f = arignote.function([x], T.exp(x), name="at_exit_fn")
        f(np.ones(2)); f(np.ones(2))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"ARIGNOTE_FLAGS": "profile=True,linker=py", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Message: at_exit_fn" in run.stderr
    assert "Time in 2 calls to the program" in run.stderr


def test_a_programs_fast_entry_point_and_report_survive_the_timing_wrapper():
    def program(values):
        return [float(values[0].sum())]

    program.run = lambda *values: tuple(program(list(values)))
    program.report = "the linker's report"
    stats = ProfileStats()
    timed = stats.timed(program)
    assert timed.run(np.ones(2)) == (2.0,)
    assert timed([np.ones(3)]) == [3.0]
    assert timed.report == "the linker's report"
    assert stats.fct_callcount == 2
