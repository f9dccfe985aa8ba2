"""The HTML graph view in a real browser: headless Chromium runs the page's script offline.

Chromium loads the page from a file (network switched off), lets its
script run (``--virtual-time-budget``), and prints the resulting DOM
(``--dump-dom``). The tests read the DOM: one ``<g class="node">`` per box
of the graph, ``data-rendered-nodes`` on the body, the labels drawn. An
extra script appended to a copy of the page plays a user: it clicks an op
holding an inner graph (which unfolds it), hovers over a node (the tooltip
shows its type and the line that built it) and turns the mouse wheel
(the view zooms).

Skipped when Chromium is not installed (Debian's ``chromium`` package,
which ``.ci/run`` installs when missing).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import arignote.tensor as T
from arignote.compile.builders import OpFromGraph
from arignote.printing import d3viz
from arignote.printing.view import GraphView, graph_view
from arignote.tensor.nnet import sigmoid

CHROMIUM = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)",
)

NODE = re.compile(r'<g class="node [^"]*" data-id="(n\d+)"')


def dump_dom(page: Path, profile: Path, fragment: str = "") -> str:
    """The page's DOM after its script ran, as Chromium serialises it."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1200,900",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.as_uri() + fragment,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def count_boxes(view: GraphView, unfolded: bool) -> int:
    """Boxes drawn: every node of the view, and of its inner graphs when they are unfolded."""
    total, stack = 0, [view]
    while stack:
        current = stack.pop()
        total += len(current.nodes)
        if unfolded:
            stack.extend(node.inner for node in current.nodes if node.inner is not None)
    return total


def seed_loss():
    X = T.matrix(name="X")
    y = T.vector(name="y")
    w = T.vector(name="w")
    mu = sigmoid(X.dot(w))
    return -(y * T.log(mu) + (1 - y) * T.log(1 - mu)).sum()


def with_inner_graph():
    a, b = T.scalars("a", "b")
    op = OpFromGraph([a, b], [a * T.exp(b)], name="aexpb")
    s = T.vector("s")
    return op(s.sum(), s.sum() * 2) * 3


def test_the_seed_graph_renders_every_node(tmp_path):
    loss = seed_loss()
    page = tmp_path / "seed.html"
    d3viz(loss, str(page))
    dom = dump_dom(page, tmp_path / "profile")
    expected = count_boxes(graph_view(loss), unfolded=False)
    assert f'data-rendered-nodes="{expected}"' in dom
    assert len(NODE.findall(dom)) == expected
    assert len(set(NODE.findall(dom))) == expected
    for label in ("Dot", "sigmoid", "log", "neg", "sum{axis=(0,)}", "X", "float64 (?, ?)"):
        assert f">{label}</text>" in dom, label
    # The layout put the boxes at distinct places.
    places = re.findall(r'<g class="node [^"]*" data-id="n\d+" [^>]*transform="([^"]*)"', dom)
    assert len(set(places)) == expected


def test_inner_graphs_start_folded_and_unfold(tmp_path):
    out = with_inner_graph()
    view = graph_view(out)
    page = tmp_path / "inner.html"
    d3viz(out, str(page))
    folded = dump_dom(page, tmp_path / "profile")
    assert len(NODE.findall(folded)) == count_boxes(view, unfolded=False)
    unfolded = dump_dom(page, tmp_path / "profile", "#expanded")
    assert len(NODE.findall(unfolded)) == count_boxes(view, unfolded=True)
    assert ">*0 a</text>" in unfolded and ">exp</text>" in unfolded


def _scale(transform: str) -> float:
    return float(re.search(r"scale\(([^)]*)\)", transform).group(1))


# Plays a user once the page has drawn itself: click, hover, wheel; leaves what it saw in the DOM.
_USER = """
<script>
(function () {
  const before = document.body.getAttribute("data-rendered-nodes");
  const viewport = document.getElementById("viewport");
  const zoomBefore = viewport.getAttribute("transform");
  const click = (g) => g.querySelector("rect").dispatchEvent(new MouseEvent("click", {bubbles: true}));
  click(document.querySelector(".node.has-inner"));
  // A click on a box inside the unfolded graph leaves it unfolded.
  click([...document.querySelectorAll(".node.expanded .node")].find(
    (g) => g.querySelector("text").textContent === "exp"));
  const sigmoid = [...document.querySelectorAll(".node")].find(
    (g) => g.querySelector("text").textContent === "sigmoid");
  sigmoid.dispatchEvent(new MouseEvent("mouseenter", {clientX: 50, clientY: 60}));
  document.getElementById("canvas").dispatchEvent(
    new WheelEvent("wheel", {deltaY: -300, clientX: 200, clientY: 200, bubbles: true}));
  const seen = document.createElement("div");
  seen.id = "seen";
  seen.setAttribute("data-before", before);
  seen.setAttribute("data-zoom-before", zoomBefore);
  seen.setAttribute("data-zoom-after", viewport.getAttribute("transform"));
  document.body.appendChild(seen);
})();
</script>
</body>"""


def test_click_unfolds_hover_shows_the_creation_line_wheel_zooms(tmp_path):
    out = with_inner_graph()
    s_sum = out.owner.inputs[0].owner.inputs[0]
    mu = sigmoid(s_sum)
    line = sys._getframe().f_lineno - 1
    graph = mu * out
    view = graph_view(graph)
    page = tmp_path / "user.html"
    d3viz(graph, str(page))
    page.write_text(page.read_text().replace("</body>", _USER))
    dom = dump_dom(page, tmp_path / "profile")
    seen = re.search(r'<div id="seen" ([^>]*)>', dom).group(1)
    assert f'data-before="{count_boxes(view, unfolded=False)}"' in seen
    assert f'data-rendered-nodes="{count_boxes(view, unfolded=True)}"' in dom
    tooltip = re.search(r'<div id="tooltip" style="([^"]*)">(.*?)</div>', dom, re.DOTALL)
    assert "display: block" in tooltip.group(1)
    assert f"created at test_printing_browser.py:{line}" in tooltip.group(2)
    assert "mu = sigmoid(s_sum)" in tooltip.group(2)
    assert "TensorType(float64, scalar)" in tooltip.group(2)
    before = re.search(r'data-zoom-before="([^"]*)"', seen).group(1)
    after = re.search(r'data-zoom-after="([^"]*)"', seen).group(1)
    assert _scale(after) > _scale(before)
