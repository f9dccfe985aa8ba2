"""An interactive view of a graph: one HTML file that works offline, in any browser.

The page holds the graph as JSON (the same boxes and arrows as
``pydotprint``, see ``view.py``) and a small script that lays it out and
draws it as SVG (``html_assets.py``): no library, no network, no graphviz.
In the page: the mouse wheel zooms, dragging pans, clicking an op that
holds a graph (``OpFromGraph``, ``Scan``, a fused loop) unfolds it in
place and clicking again folds it; hovering over a box shows its op, its
outputs' types and the user's line that built it, hovering over an arrow
the type it carries. ``#expanded`` at the end of the address opens every
inner graph.

The JSON is escaped for inclusion in a ``<script>`` element (``<``, ``>``
and ``&`` as ``\\u`` escapes), so names in the graph cannot end it early.
"""

from __future__ import annotations

import html
import json
import os
from typing import Any

from arignote.printing.describe import KIND_COLOURS
from arignote.printing.html_assets import SCRIPT, STYLE
from arignote.printing.view import GraphView, graph_view

_BUTTONS = (
    ("zoom-in", "+", "zoom in"),
    ("zoom-out", "\u2212", "zoom out"),
    ("fit", "fit", "fit the graph in the window"),
    ("expand-all", "unfold all", "show every inner graph"),
    ("collapse-all", "fold all", "hide every inner graph"),
    ("shapes", "shapes", "show or hide the types on the arrows"),
)


def graph_html(fct: Any, title: str | None = None) -> str:
    """The interactive page of the graph of ``fct`` (a variable, node, compiled function or list).

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> page = graph_html(T.exp(x), title="exp")
    >>> page.startswith("<!DOCTYPE html>"), "<script src" in page
    (True, False)
    """
    view = graph_view(fct)
    if title is None:
        title = getattr(fct, "name", None) or "arignote graph"
    payload = {"graph": view.to_json(), "colours": KIND_COLOURS}
    data = (
        json.dumps(payload).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )
    buttons = "".join(
        f'<button id="{key}" title="{tip}">{html.escape(text)}</button>'
        for key, text, tip in _BUTTONS
    )
    legend = "".join(
        f'<span><i style="background:{KIND_COLOURS[kind]}"></i>{kind}</span>'
        for kind in _kinds_in(view)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<div id="toolbar"><h1>{html.escape(title)}</h1>{buttons}<div id="legend">{legend}</div></div>
<svg id="canvas" xmlns="http://www.w3.org/2000/svg">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"
 markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>
<g id="viewport"></g>
</svg>
<div id="tooltip"></div>
<script type="application/json" id="graph-data">{data}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""


def d3viz(fct: Any, outfile: str, title: str | None = None) -> None:
    """Write the interactive page of ``fct``'s graph to ``outfile`` (Theano's ``d3viz``).

    The one file is the whole page: open it in a browser, offline.
    """
    folder = os.path.dirname(os.path.abspath(outfile))
    os.makedirs(folder, exist_ok=True)
    with open(outfile, "w", encoding="utf-8") as stream:
        stream.write(graph_html(fct, title))


def _kinds_in(view: GraphView) -> list[str]:
    """The colour classes used anywhere in the view (inner graphs included), in legend order."""
    found: set[str] = set()
    stack = [view]
    while stack:
        current = stack.pop()
        for node in current.nodes:
            found.add(node.kind)
            if node.inner is not None:
                stack.append(node.inner)
    return [kind for kind in KIND_COLOURS if kind in found]
