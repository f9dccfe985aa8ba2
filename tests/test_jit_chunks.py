"""Big graphs: the jit program is cut into functions of ``CHUNK_NODES`` nodes (CPython's
compile is superlinear in a function's length), and many inputs and outputs keep the call
path's source linear. Small chunks here make small graphs take the same path."""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote.compile.mode import Mode
from arignote.link.c import linker
from tests.jit_support import requires_compiler

pytestmark = requires_compiler
RNG = np.random.default_rng(0)


def _chain(depth: int):
    """A tanh MLP with the gradient of every weight: many nodes, inputs and outputs."""
    x = T.dmatrix("x")
    weights = [T.dmatrix(f"w{k}") for k in range(depth)]
    h = x
    for w in weights:
        h = T.tanh(h.dot(w) + 0.5)
    cost = (h**2).sum()
    return [x, *weights], [cost, h, *arignote.grad(cost, weights)]


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_a_chunked_program_computes_what_the_reference_does(monkeypatch, chunk):
    monkeypatch.setattr(linker, "CHUNK_NODES", chunk)
    inputs, outputs = _chain(12)
    values = [RNG.standard_normal((3, 3)) * 0.5 for _ in inputs]
    f = arignote.function(inputs, outputs, mode=Mode("jit"))
    assert "def _part1(" in f.program.source
    expected = arignote.function(inputs, outputs, mode=Mode("py"))(*values)
    kept = [v.copy() for v in values]
    for _ in range(2):  # the second call reuses the pool's buffers
        got = f(*values)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip(values, kept):
        np.testing.assert_array_equal(a, b)
    assert len({id(v) for v in got}) == len(got)  # every output its own array


def test_an_error_in_a_later_chunk_names_its_node(monkeypatch):
    monkeypatch.setattr(linker, "CHUNK_NODES", 1)
    x, y = T.dvector("x"), T.dvector("y")
    h = x
    for _ in range(6):
        h = T.exp(h) * 0.5 + 1.0
    out = h.dot(T.tanh(y))  # the last node sees a shape mismatch
    f = arignote.function([x, y], out, mode=Mode("jit"))
    assert "def _part2(" in f.program.source  # the fused chain, tanh, then the product
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones(4))
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "Apply node that caused the error" in notes
    assert "dot" in notes.splitlines()[0].lower() or "Dot" in notes
    assert "shape (3,)" in notes and "shape (4,)" in notes


def test_many_outputs_keep_the_call_path_linear():
    xs = [T.dvector(f"x{k}") for k in range(60)]
    outputs = [x * 2.0 for x in xs] + [xs[0]] * 3  # an input returned, several times
    f = arignote.function(xs, outputs, mode=Mode("jit"))
    values = [RNG.standard_normal(2) for _ in xs]
    got = f(*values)
    for value, result in zip(values, got[:60]):
        np.testing.assert_allclose(result, value * 2.0)
    for result in got[60:]:
        np.testing.assert_array_equal(result, values[0])
        assert result is not values[0]
    assert len({id(v) for v in got}) == len(got)
