"""Printing: debugprint's trees, pp's expressions, pydotprint's pictures, the HTML page, Print.

Trees are checked by their structure (ids name the same variable wherever it
appears, every node of a compiled graph appears once with its run
position, inner graphs point at the outer inputs that feed them) rather
than against a stored text. ``pp`` is checked by evaluating the text it
prints with NumPy and comparing with the graph's own value, which also
checks every parenthesis. Pictures need graphviz's ``dot`` and are skipped
without it (``.ci/run`` installs it); the DOT text and the page need
nothing. The page's script is exercised in a browser by
``test_printing_browser.py``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.special

import arignote
import arignote.tensor as T
from arignote.compile.builders import OpFromGraph
from arignote.graph.basic import Apply
from arignote.graph.fg import FunctionGraph
from arignote.graph.op import Op
from arignote.printing import (
    Print,
    d3viz,
    debugprint,
    dot_source,
    graph_html,
    pp,
    pydotprint,
)
from arignote.printing.view import graph_view
from arignote.scalar import math as scalar_math
from arignote.scalar.basic import ScalarType
from arignote.scalar.composite import Composite
from arignote.tensor.elemwise import Elemwise
from arignote.tensor.nnet import sigmoid
from tests.helpers import (
    OpCase,
    check_infer_shape,
    check_op,
    check_op_grad,
    table_params,
    uniform,
)

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="graphviz's dot is not installed (apt-get install graphviz)"
)
ID = re.compile(r"\[id (\w+)\]")


def _quiet_print(x):
    return Print("table row", global_fn=lambda op, value: None)(x)


CASES = [
    OpCase(
        "print_identity",
        lambda x: Print("value of x", attrs=("shape",))(x),
        lambda x: x,
        (uniform(-3, 3),),
        (("float64",), ("float32",), ("int32",)),
        (((3, 4),), ((0, 2),), ((1, 5),), ((),)),
        grad=True,
        grad_layouts=(((3, 4),), ((1, 5),)),
    ),
    OpCase(
        "print_in_an_expression",
        lambda x, y: _quiet_print(x * y) + 1,
        lambda x, y: x * y + 1,
        (uniform(-3, 3), uniform(-3, 3)),
        (("float64", "float64"),),
        (((2, 3), (1, 3)), ((0, 3), (0, 3))),
        grad=True,
    ),
]
VALUE_PARAMS, GRAD_PARAMS = table_params(CASES)


def seed_graph() -> SimpleNamespace:
    """The logistic regression of the README: inputs X, y, w, the prediction mu, the loss E."""
    X = T.matrix(name="X")
    y = T.vector(name="y")
    w = T.vector(name="w")
    mu = sigmoid(X.dot(w))
    E = -(y * T.log(mu) + (1 - y) * T.log(1 - mu)).sum()
    return SimpleNamespace(X=X, y=y, w=w, mu=mu, E=E)


def _ofg_graph():
    """``aexpb(s.sum(), s.sum() * 2) * 3`` with ``aexpb(a, b) = a * exp(b)`` as an OpFromGraph."""
    a, b = T.scalars("a", "b")
    op = OpFromGraph([a, b], [a * T.exp(b)], name="aexpb")
    s = T.vector("s")
    total = s.sum()
    return op(total, total * 2) * 3


# ---- the table: values, gradients, shapes ----------------------------------------------------
@pytest.mark.parametrize("case, layout, dtypes", VALUE_PARAMS)
def test_table_values(case, layout, dtypes):
    check_op(case, np.random.default_rng(61), layout, dtypes)


@pytest.mark.parametrize("case, layout", GRAD_PARAMS)
def test_table_gradients(case, layout):
    check_op_grad(case, np.random.default_rng(62), layout)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_table_infer_shape(case):
    for layout in case.layouts:
        check_infer_shape(case, np.random.default_rng(63), layout, case.dtypes[0])


# ---- Print ---------------------------------------------------------------------------------
def test_print_prints_each_attribute_at_every_call(capsys):
    x = T.matrix("x")
    f = arignote.function([x], Print("x is", attrs=("shape", "sum"))(x) * 2)
    capsys.readouterr()
    value = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(f(value), value * 2)
    f(value[:1])
    assert capsys.readouterr().out.splitlines() == [
        "x is shape = (2, 3)",
        "x is sum = 15.0",
        "x is shape = (1, 3)",
        "x is sum = 3.0",
    ]


def test_print_default_prints_the_value_and_returns_a_view(capsys):
    x = T.vector("x")
    f = arignote.function([x], Print("v")(x))
    value = np.array([1.5, -2.0])
    result = f(value)
    assert capsys.readouterr().out.strip() == f"v __str__ = {value}"
    assert result is not value and np.shares_memory(result, value) is False
    np.testing.assert_array_equal(value, [1.5, -2.0])


def test_print_of_a_constant_prints_when_run_not_when_compiled(capsys):
    f = arignote.function([], Print("constant", attrs=("shape",))(T.constant(np.ones(3))))
    assert capsys.readouterr().out == ""
    f()
    assert capsys.readouterr().out.strip() == "constant shape = (3,)"


def test_print_global_fn_receives_the_op_and_value():
    seen = []
    op = Print("mine", global_fn=lambda op, value: seen.append((op.message, value.copy())))
    x = T.vector("x")
    out = op(x)
    np.testing.assert_array_equal(out.eval({x: [4.0, 5.0]}), [4.0, 5.0])
    assert seen[0][0] == "mine"
    np.testing.assert_array_equal(seen[0][1], [4.0, 5.0])


def test_print_gradient_passes_through_and_prints_in_the_forward_pass(capsys):
    x = T.vector("x")
    cost = (Print("forward", attrs=("shape",))(x) ** 2).sum()
    g = arignote.function([x], T.grad(cost, x))
    np.testing.assert_allclose(g([1.0, -3.0]), [2.0, -6.0])
    assert "forward shape = (2,)" in capsys.readouterr().out


def test_print_checks_its_arguments_and_shows_its_message():
    with pytest.raises(TypeError, match="attrs must be a sequence of names"):
        Print("oops", attrs="shape")
    assert str(Print("x is")) == "Print{x is}"
    assert Print("a") == Print("a") and Print("a") != Print("b")


# ---- debugprint ------------------------------------------------------------------------------
def _lines(obj, **options) -> list[str]:
    text = debugprint(obj, file="str", **options)
    assert isinstance(text, str)
    return text.splitlines()


def _outer_lines(lines: list[str]) -> list[str]:
    return lines[: lines.index("")] if "" in lines else lines


def test_debugprint_ids_name_one_variable_everywhere():
    lines = _lines(seed_graph().E)
    assert lines[0].startswith("neg [id A]")
    # mu is read twice: both lines carry its id, and its inputs are printed only once.
    mu_lines = [line for line in lines if line.lstrip(" │├└─").startswith("sigmoid")]
    assert len(mu_lines) == 2 and len({ID.search(line).group(1) for line in mu_lines}) == 1
    assert sum("Dot" in line for line in lines) == 1
    # Every id belongs to one label.
    label_of = {}
    for line in lines:
        label = ID.split(line.lstrip(" │├└─"))[0].strip()
        assert label_of.setdefault(ID.search(line).group(1), label) == label
    for name in "Xyw":
        assert any(line.lstrip(" │├└─").startswith(f"{name} [id") for line in lines)


def test_debugprint_tree_prefixes_follow_the_inputs():
    x, y, z = T.vectors("x", "y", "z")
    lines = _lines(T.exp(x) * (y + z))
    assert [line[: line.index("[") - 1].rstrip() for line in lines] == [
        "mul",
        " ├─ exp",
        " │  └─ x",
        " └─ add",
        "    ├─ y",
        "    └─ z",
    ]


def test_debugprint_types_depth_and_stop_on_name():
    g = seed_graph()
    X, mu, E = g.X, g.mu, g.E
    typed = _lines(E, print_type=True)
    assert typed[0].endswith(f"<{E.type}>")
    assert any(line.endswith(f"<{X.type}>") and "X [id" in line for line in typed)
    assert _lines(E, depth=1) == [_lines(E)[0]]
    assert len(_lines(E, depth=2)) == 2
    mu.name = "mu"
    stopped = _lines(E, stop_on_name=True)
    assert any("sigmoid" in line and "'mu'" in line for line in stopped)
    assert not any("Dot" in line for line in stopped)


@pytest.mark.parametrize(
    "ids, pattern",
    [("int", r"\[id \d+\]"), ("id", r"\[id \d+\]"), ("auto", r"\[id \d+\]"), ("", None)],
)
def test_debugprint_id_styles(ids, pattern):
    x = T.vector("x")
    out = T.exp(x)
    lines = _lines(out, ids=ids)
    if pattern is None:
        assert lines == ["exp", " └─ x"]
        return
    assert all(re.search(pattern, line) for line in lines)
    first = ID.search(lines[0]).group(1)
    expected = {"int": "0", "id": str(id(out)), "auto": str(out.auto_id)}[ids]
    assert first == expected


def test_debugprint_rejects_unknown_ids_and_objects():
    with pytest.raises(ValueError, match="ids must be one of"):
        debugprint(T.vector("x"), ids="letters")
    with pytest.raises(TypeError, match="cannot print a int: expected a Variable"):
        debugprint(3)


def test_debugprint_writes_to_a_file_or_stdout(capsys):
    x = T.vector("x")
    buffer = io.StringIO()
    assert debugprint(T.exp(x), file=buffer) is buffer
    assert buffer.getvalue().splitlines()[0] == "exp [id A]"
    assert debugprint(T.exp(x)) is None
    assert capsys.readouterr().out.splitlines()[0] == "exp [id A]"


def test_debugprint_of_a_function_shows_its_run_order():
    g = seed_graph()
    f = arignote.function([g.X, g.w, g.y], [g.E, T.grad(g.E, g.w)])
    order = f.maker.fgraph.toposort()
    lines = _outer_lines(_lines(f))
    positions = {}
    for line in lines:
        match = re.search(r"\[id \w+\](?: '[^']*')? (\d+)$", line)
        if match:
            positions.setdefault(int(match.group(1)), line.lstrip(" │├└─").split(" [id")[0])
    assert sorted(positions) == list(range(len(order)))
    for position, node in enumerate(order):
        label = str(node.op) + (".0" if len(node.outputs) > 1 else "")
        assert positions[position].startswith(label.split(".")[0])


def test_debugprint_of_an_apply_and_a_list():
    x = T.vector("x")
    a, b = T.exp(x), T.log(x)
    assert _lines(a.owner) == _lines(a)
    lines = _lines([a, b])
    assert lines[0] == "exp [id A]" and "log [id C]" in lines
    assert "x [id B]" in lines[1] and "x [id B]" in lines[3]


def test_debugprint_shows_creation_sites():
    x = T.vector("x")
    out = T.exp(x)
    line = sys._getframe().f_lineno - 1
    assert _lines(out, print_creation_site=True)[0].endswith(f"@ test_printing.py:{line}")


def test_debugprint_shows_an_opfromgraph_inner_graph_indented():
    out = _ofg_graph()
    lines = _lines(out)
    outer = _outer_lines(lines)
    node_line = next(line for line in outer if "aexpb" in line)
    node_id = ID.search(node_line).group(1)
    inner = lines[lines.index("Inner graphs:") + 1 :]
    assert inner[0] == "" and inner[1] == f"aexpb [id {node_id}]"
    assert inner[2].startswith(" ← mul [id")
    assert all(line.startswith("    ") for line in inner[3:])
    # The inner inputs point at the outer inputs that feed them.
    outer_ids = {line.lstrip(" │├└─").split(" [id")[0]: ID.search(line).group(1) for line in outer}
    arrows = dict(re.findall(r"\*(\d)-\w+ \[id \w+\] -> \[id (\w+)\]", "\n".join(inner)))
    assert arrows == {"0": outer_ids["sum{axis=(0,)}"], "1": outer_ids["mul"]}


def test_debugprint_nested_inner_graphs_each_listed_once():
    a = T.scalar("a")
    inner = OpFromGraph([a], [T.exp(a)], name="inner_exp")
    b = T.scalar("b")
    outer = OpFromGraph([b], [inner(b) + inner(b * 2)], name="outer_sum")
    c = T.scalar("c")
    lines = _lines(outer(c) * outer(c + 1))
    section = lines[lines.index("Inner graphs:") :]
    assert sum(line.startswith("outer_sum [id") for line in section) == 1
    assert sum(line.startswith("inner_exp [id") for line in section) == 1


class _LoopLike(Op):
    """Shaped like a loop: one ``fgraph``, fed by as many outer inputs, which still don't pair."""

    def __init__(self):
        state = T.scalar("state")
        self.fgraph = FunctionGraph([state], [state * 2], clone=False)

    def make_node(self, x):
        return Apply(self, [x], [x.type.make_variable()])


class _TwoBranches(Op):
    """Shaped like a conditional: two inner graphs (``fgraphs``)."""

    def __init__(self):
        a, b = T.scalar("a"), T.scalar("b")
        self.fgraphs = (
            FunctionGraph([a], [T.exp(a)], clone=False),
            FunctionGraph([b], [T.log(b)], clone=False),
        )

    def make_node(self, x):
        return Apply(self, [x], [x.type.make_variable()])


def test_debugprint_finds_inner_graphs_by_shape_and_draws_no_wrong_arrows():
    x = T.scalar("x")
    lines = _lines(_LoopLike()(x))
    section = lines[lines.index("Inner graphs:") :]
    assert section[2] == "_LoopLike [id A]"
    assert section[3].startswith(" ← mul [id")
    assert any("*0-state [id" in line and "->" not in line for line in section)


def test_debugprint_lists_each_of_several_inner_graphs():
    x = T.scalar("x")
    lines = _lines(_TwoBranches()(x) + 1)
    section = lines[lines.index("Inner graphs:") :]
    first, second = section.index(" inner graph 0:"), section.index(" inner graph 1:")
    assert section[first + 1].startswith(" ← exp") and section[second + 1].startswith(" ← log")
    inner = graph_view(_TwoBranches()(x)).nodes[1].inner
    assert {n.label for n in inner.nodes if n.role == "apply"} == {"exp", "log"}


def test_debugprint_shows_a_scan_body():
    scan_module = pytest.importorskip("arignote.scan")
    x = T.vector("x")
    sums, _ = scan_module.scan(
        lambda v, total: total + v * 3, sequences=x, outputs_info=T.constant(0.0, dtype="float64")
    )
    lines = _lines(sums)
    section = lines[lines.index("Inner graphs:") :]
    assert section[2].startswith(str(sums.owner.op))
    assert section[3].startswith(" ← add")
    assert any("mul" in line for line in section)


def test_debugprint_shows_a_fused_loop_body():
    a, b = ScalarType("float64").make_variable("a"), ScalarType("float64").make_variable("b")
    fused = Elemwise(Composite([a, b], [scalar_math.exp(a) * b]))
    x, y = T.vectors("x", "y")
    lines = _lines(fused(x, y))
    section = lines[lines.index("Inner graphs:") :]
    assert any(line.startswith(" ← mul") for line in section)
    assert any("exp" in line for line in section)


def test_printers_walk_a_deep_chain_without_recursion():
    x = T.scalar("x")
    out = x
    for _ in range(3000):
        out = T.exp(out)
    lines = _lines(out)
    assert len(lines) == 3001 and lines[-1].lstrip(" └─").startswith("x [id")
    assert pp(out).count("exp(") == 3000
    assert len(graph_view(out).nodes) == 3002


# ---- pp --------------------------------------------------------------------------------------
def _pp_cases():
    x, y, z = T.vectors("x", "y", "z")
    M = T.matrix("M")
    i = T.lscalar("i")
    g = seed_graph()
    cases = [
        ("seed loss", g.E, [g.X, g.w, g.y]),
        ("subtraction nests", x - (y - z) - x, [x, y, z]),
        ("division nests", x / (y * z) / (x + 1), [x, y, z]),
        ("unary and power", -(x**2) + (-x) ** 2 + x ** (y**2), [x, y]),
        ("power of a power", (x**y) ** z, [x, y, z]),
        ("comparisons", T.and_(T.lt(x, y), T.le(y, z)) | T.eq(T.gt(x, 0), T.ge(z, 1)), [x, y, z]),
        ("reductions", M.sum(axis=0) + M.max(axis=1).sum() + M.sum(), [M]),
        ("transpose and index", M.T[i, 1:] + M[::-1, i].sum(), [M, i]),
        ("shapes", x * x.shape[0] + M.shape.sum(), [x, M]),
        ("dot and functions", T.maximum(T.dot(M, x), 0) * sigmoid(y), [M, x, y]),
    ]
    return [pytest.param(expression, inputs, id=name) for name, expression, inputs in cases]


_PP_NAMESPACE = {
    "log": np.log,
    "exp": np.exp,
    "sigmoid": scipy.special.expit,
    "dot": np.dot,
    "maximum": np.maximum,
    "sum": lambda v, axis=None: np.sum(v, axis=axis),
    "max": lambda v, axis=None: np.max(v, axis=axis),
}


@pytest.mark.parametrize("expression, inputs", _pp_cases())
def test_pp_text_evaluates_to_the_graph_value(expression, inputs):
    rng = np.random.default_rng(5)
    values = {}
    for variable in inputs:
        if variable.ndim == 0:
            values[variable] = np.int64(1)
        else:
            values[variable] = rng.uniform(0.5, 1.5, size=(3,) * variable.ndim)
    text = pp(expression)
    namespace = dict(_PP_NAMESPACE, **{v.name: values[v] for v in inputs})
    expected = arignote.function(inputs, expression)(*(values[v] for v in inputs))
    np.testing.assert_allclose(eval(text, namespace), expected, rtol=1e-12)


def test_pp_spells_the_seed_loss_as_written():
    assert (
        pp(seed_graph().E)
        == "-sum(y * log(sigmoid(dot(X, w))) + (1 - y) * log(1 - sigmoid(dot(X, w))))"
    )


def test_pp_spells_out_a_fused_loop_and_lists_outputs():
    a, b = ScalarType("float64").make_variable("a"), ScalarType("float64").make_variable("b")
    fused = Elemwise(Composite([a, b], [(a + b) * scalar_math.exp(a)]))
    x, y = T.vectors("x", "y")
    assert pp(fused(x, y * 2)) == "(x + y * 2) * exp(x)"
    assert pp([T.exp(x), x + y]) == "exp(x)\nx + y"


def test_pp_of_a_compiled_function_reads_without_fused_op_names():
    g = seed_graph()
    text = pp(arignote.function([g.X, g.w, g.y], g.E))
    assert "composite{" not in text and "X" in text and "y" in text


# ---- DOT and pydotprint ----------------------------------------------------------------------
def _dot_nodes(source: str) -> dict[str, str]:
    """The outer graph's nodes (inner graphs' lines are indented further)."""
    return dict(re.findall(r"^  (n\d+) \[(.*)\];$", source, flags=re.MULTILINE))


def _dot_edges(source: str) -> list[tuple[str, str, str]]:
    return re.findall(r'^  (n\d+) -> (n\d+) \[label="([^"]*)"\];$', source, flags=re.MULTILINE)


def test_dot_source_draws_every_node_and_value():
    g = seed_graph()
    f = arignote.function([g.X, g.w, g.y], g.E)
    source = dot_source(f, max_label_size=1000)
    nodes = _dot_nodes(source)
    order = f.maker.fgraph.toposort()
    ellipses = [attrs for attrs in nodes.values() if "shape=ellipse" in attrs]
    assert len(ellipses) == len(order)
    assert sorted(re.search(r'label="([^"]*)"', a).group(1) for a in ellipses) == sorted(
        str(node.op) for node in order
    )
    # One arrow per input read, plus one into the output box.
    assert len(_dot_edges(source)) == sum(len(node.inputs) for node in order) + 1
    inputs = {name: attrs for name, attrs in nodes.items() if "#7CD67C" in attrs}
    assert len(inputs) == 3
    assert sum("#6FA8FF" in attrs for attrs in nodes.values()) == 1
    assert any(label.endswith("float64 (?, ?)") for _, _, label in _dot_edges(source))


def test_dot_source_options():
    plain = dot_source(seed_graph().E, high_contrast=False, with_ids=True, max_label_size=5)
    assert "style=filled" not in plain and "penwidth=2" in plain
    assert all("\\nid=n" in attrs for attrs in _dot_nodes(plain).values())
    assert 'label="si...' in plain and 'label="sigmoid' not in plain


def test_dot_source_escapes_names():
    x = T.vector('say "hi"\\')
    source = dot_source(T.exp(x))
    assert 'label="say \\"hi\\"\\\\\\nfloat64 (?,)"' in source


def test_dot_source_draws_inner_graphs_as_clusters():
    out = _ofg_graph()
    source = dot_source(out)
    assert source.count("subgraph cluster_") == 1
    assert 'label="inner graph of aexpb"' in source
    cluster = source[source.index("subgraph cluster_") :]
    assert 'label="*0 a\\nfloat64 ()"' in cluster and 'label="exp"' in cluster
    assert "cluster" not in dot_source(out, inner_graphs=False)


def test_pydotprint_dot_format_needs_no_graphviz(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    loss = seed_graph().E
    pydotprint(loss, outfile=str(tmp_path / "graph"), format="dot")
    written = (tmp_path / "graph.dot").read_text()
    assert written == dot_source(loss)
    assert str(tmp_path / "graph.dot") in capsys.readouterr().out


def test_pydotprint_without_dot_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"`dot` program.*apt-get install graphviz"):
        pydotprint(T.exp(T.vector("x")), outfile=str(tmp_path / "g.png"))
    assert not (tmp_path / "g.png").exists()


@needs_dot
def test_pydotprint_writes_a_png_of_the_seed_example(tmp_path):
    g = seed_graph()
    X, y, w, mu, E = g.X, g.y, g.w, g.mu, g.E
    f = arignote.function([X, w, y], [(y - mu).dot(X), T.grad(E, w)])
    for obj, name in ((E, "loss.png"), (f, "gradients.png")):
        outfile = tmp_path / name
        pydotprint(obj, outfile=str(outfile), print_output_file=False)
        data = outfile.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = np.frombuffer(data[16:24], dtype=">u4")
        assert width > 200 and height > 200


@needs_dot
def test_pydotprint_svg_has_every_op_and_returns_images():
    loss = seed_graph().E
    svg = pydotprint(loss, format="svg", return_image=True).decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for label in ("Dot", "sigmoid", "log", "neg", "X", "float64 (?, ?)"):
        assert f">{label}</text>" in svg, label
    with pytest.raises(RuntimeError, match="could not draw the graph as 'no-such-format'"):
        pydotprint(loss, format="no-such-format", return_image=True)


# ---- the HTML page ---------------------------------------------------------------------------
def _page_data(page: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="graph-data">(.*?)</script>', page, re.DOTALL
    )
    return json.loads(match.group(1))


def test_html_page_holds_the_whole_graph_with_types_and_sites():
    X, w = T.matrix("X"), T.vector("w")
    mu = sigmoid(X.dot(w))
    line = sys._getframe().f_lineno - 1
    E = -T.log(mu).sum()
    page = graph_html(E, title="seed")
    data = _page_data(page)
    nodes = data["graph"]["nodes"]
    applies = [n for n in nodes if n["role"] == "apply"]
    assert sorted(n["label"] for n in applies) == sorted(
        str(node.op) for node in arignote.graph.traversal.toposort([E])
    )
    sigmoid_box = next(n for n in applies if n["label"] == "sigmoid")
    assert sigmoid_box["site"] == f"test_printing.py:{line}"
    assert any("mu = sigmoid(X.dot(w))" in d for d in sigmoid_box["details"])
    assert any(d == f"output 0: {mu.type}" for d in sigmoid_box["details"])
    assert {n["label"] for n in nodes if n["role"] == "input"} == {"X", "w"}
    assert "<title>seed</title>" in page


def test_html_page_is_self_contained():
    out = _ofg_graph()
    page = graph_html(out)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and "url(http" not in page and "<link" not in page
    inner = next(n for n in _page_data(page)["graph"]["nodes"] if n.get("inner"))
    assert inner["label"] == "aexpb" and inner["kind"] == "inner"
    assert {n["label"] for n in inner["inner"]["nodes"]} >= {"*0 a", "*1 b", "exp", "mul"}


def test_html_page_survives_hostile_names(tmp_path):
    x = T.vector("</script><script>alert(1)</script>")
    outfile = tmp_path / "deep" / "page.html"
    d3viz(T.exp(x), str(outfile))
    page = outfile.read_text()
    assert page.count("</script>") == 2
    labels = {n["label"] for n in _page_data(page)["graph"]["nodes"]}
    assert x.name in labels
