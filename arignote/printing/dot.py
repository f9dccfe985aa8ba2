"""``pydotprint``: a picture of a graph, drawn by graphviz's ``dot`` program.

The DOT text is written here and piped to ``dot`` (no Python binding is
needed): ops are ellipses coloured by kind (elementwise, reduction,
product, shape, indexing, ...), the variables a graph reads are boxes
(inputs green, shared variables aquamarine, constants grey), outputs are
blue boxes, and every arrow is labelled with the dtype and static shape of
the value it carries (prefixed by the input position where a node reads
several). Inner graphs (``OpFromGraph``, ``Scan``, fused loops) are drawn
as dashed clusters beside their op. ``format="dot"`` writes the DOT text
itself and needs no graphviz at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from arignote.printing.describe import KIND_COLOURS
from arignote.printing.view import GraphView, ViewNode, graph_view

_INSTALL_HINT = (
    "pydotprint needs graphviz's `dot` program, which is not on PATH. Install graphviz: "
    "`apt-get install graphviz` (Debian, Ubuntu), `dnf install graphviz` (Fedora), "
    "`brew install graphviz` (macOS) or `conda install graphviz`; or call "
    "pydotprint(..., format='dot') to write the DOT text and render it elsewhere."
)


def dot_source(
    fct: Any,
    with_ids: bool = False,
    high_contrast: bool = True,
    max_label_size: int = 70,
    inner_graphs: bool = True,
) -> str:
    """The DOT text of the graph of ``fct`` (a variable, node, compiled function or list).

    Options as for ``pydotprint``.

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> text = dot_source(T.exp(x))
    >>> [line.strip() for line in text.splitlines() if "->" in line]
    ['n0 -> n1 [label="float64 (?,)"];', 'n1 -> n2 [label="float64 (?,)"];']
    """
    lines = [
        "digraph arignote {",
        "  compound=true;",
        '  graph [fontname="Helvetica", fontsize=11];',
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    options = (with_ids, high_contrast, max_label_size)
    _emit(graph_view(fct), lines, "  ", options, inner_graphs)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _emit(
    view: GraphView, lines: list[str], indent: str, options: tuple, inner_graphs: bool
) -> None:
    readers: dict[str, int] = {}
    for edge in view.edges:
        readers[edge.target] = readers.get(edge.target, 0) + 1
    for node in view.nodes:
        lines.append(f"{indent}{node.id} [{_node_attributes(node, *options)}];")
    for edge in view.edges:
        label = f"{edge.position} {edge.label}" if readers[edge.target] > 1 else edge.label
        lines.append(f"{indent}{edge.source} -> {edge.target} [label={_quote(label)}];")
    for node in view.nodes:
        if not inner_graphs or node.inner is None or not node.inner.nodes:
            continue
        lines.append(f"{indent}subgraph cluster_{node.id} {{")
        lines.append(f"{indent}  label={_quote(f'inner graph of {node.label}')};")
        lines.append(f"{indent}  style=dashed;")
        _emit(node.inner, lines, indent + "  ", options, inner_graphs)
        lines.append(f"{indent}}}")
        first = node.inner.nodes[0].id
        lines.append(
            f"{indent}{node.id} -> {first} "
            f"[style=dashed, arrowhead=none, lhead=cluster_{node.id}, constraint=false];"
        )


def _node_attributes(
    node: ViewNode, with_ids: bool, high_contrast: bool, max_label_size: int
) -> str:
    label = node.label
    if len(label) > max_label_size:
        label = label[: max(max_label_size - 3, 1)] + "..."
    if node.caption:
        label = f"{label}\n{node.caption}"
    if with_ids:
        label += f"\nid={node.id}"
    colour = KIND_COLOURS[node.kind]
    shape = "ellipse" if node.role == "apply" else "box"
    paint = (
        f'style=filled, fillcolor="{colour}"' if high_contrast else f'color="{colour}", penwidth=2'
    )
    tooltip = "\n".join(node.details)
    return f"label={_quote(label)}, shape={shape}, {paint}, tooltip={_quote(tooltip)}"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def pydotprint(
    fct: Any,
    outfile: str | None = None,
    format: str = "png",
    with_ids: bool = False,
    high_contrast: bool = True,
    max_label_size: int = 70,
    print_output_file: bool = True,
    return_image: bool = False,
    inner_graphs: bool = True,
) -> bytes | None:
    """Draw the graph of ``fct`` (a variable, node, compiled function or list) with graphviz.

    ``format`` is any output format of ``dot`` (``png``, ``svg``, ``pdf``,
    ...), or ``dot`` for the DOT text. The picture goes to ``outfile``
    (default ``arignote.pydotprint.<format>``; the extension is added when
    missing), or is returned as bytes with ``return_image=True``.
    ``high_contrast=False`` colours outlines instead of filling boxes;
    labels longer than ``max_label_size`` are cut; ``with_ids`` adds each
    box's id; ``inner_graphs=False`` leaves out the inner graphs' clusters.
    """
    source = dot_source(fct, with_ids, high_contrast, max_label_size, inner_graphs)
    image = source.encode() if format == "dot" else _render(source, format)
    if return_image:
        return image
    if outfile is None:
        outfile = f"arignote.pydotprint.{format}"
    elif not outfile.endswith(f".{format}"):
        outfile = f"{outfile}.{format}"
    with open(outfile, "wb") as stream:
        stream.write(image)
    if print_output_file:
        print("The output file is available at", os.path.abspath(outfile))
    return None


def _render(source: str, format: str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(_INSTALL_HINT)
    result = subprocess.run(
        [program, f"-T{format}"], input=source.encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"graphviz's dot could not draw the graph as {format!r}: {message}")
    return result.stdout
