"""Printing graphs: as text, as math, as a picture, as an interactive page; and printing values.

- ``debugprint(x)``: one variable per line, with ids, types and inner graphs;
- ``pp(x)``: the expression as readable math;
- ``pydotprint(f, outfile)``: a picture through graphviz's ``dot`` program;
- ``d3viz(f, outfile)``: one self-contained HTML page to zoom, fold and hover;
- ``Print(message)(x)``: an identity op that prints its input's value at run time.

Every printer takes a variable, an Apply node, a compiled function (its
rewritten graph) or a list of these.
"""

from arignote.printing.dot import dot_source, pydotprint
from arignote.printing.expression import pp, pprint
from arignote.printing.html import d3viz, graph_html
from arignote.printing.print_op import Print
from arignote.printing.tree import debugprint

__all__ = [
    "Print",
    "d3viz",
    "debugprint",
    "dot_source",
    "graph_html",
    "pp",
    "pprint",
    "pydotprint",
]
