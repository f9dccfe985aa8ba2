"""Arignote: Theano's model (symbolic tensors, whole-graph compilation, exact gradients).

``import arignote as theano`` gives the Theano API at Theano's paths.
Importing is light: no compiler or backend is touched until a function is
compiled.
"""

from arignote.config import config
from arignote.compile import In, Mode, Out, SharedVariable, as_op, function, shared
from arignote.graph import Apply, Constant, FunctionGraph, Op, Type, Variable
from arignote.graph.replace import clone_replace
from arignote.compile.builders import OpFromGraph
from arignote.gradient import Lop, Rop, grad, subgraph_grad
from arignote import tensor  # noqa: F401  (theano.tensor)
from arignote import ifelse, scan, scan_module  # noqa: F401  (theano.ifelse; theano.scan, callable)
from arignote.scan import foldl, foldr, map, reduce  # noqa: A004  (theano.map, theano.reduce, ...)
from arignote import gradient  # noqa: F401
from arignote import printing  # noqa: F401
from arignote.printing import debugprint as dprint
from arignote.tensor import dot

__version__ = "0.1.0"


def clone(output, replace=None, strict=True, share_inputs=True):
    """Copy a graph with some variables replaced (Theano's ``theano.clone``).

    >>> import arignote.tensor as T
    >>> x, y = T.scalars("x", "y")
    >>> clone(x + 1, replace={x: y}).eval({y: 2.0})
    array(3.)
    """
    return clone_replace(output, replace=replace, strict=strict, share_inputs=share_inputs)


__all__ = [
    "foldl",
    "foldr",
    "ifelse",
    "map",
    "reduce",
    "scan",
    "scan_module",
    "Apply",
    "Constant",
    "FunctionGraph",
    "In",
    "Lop",
    "Mode",
    "Op",
    "OpFromGraph",
    "Out",
    "Rop",
    "SharedVariable",
    "Type",
    "Variable",
    "as_op",
    "clone",
    "config",
    "dprint",
    "dot",
    "function",
    "grad",
    "gradient",
    "printing",
    "shared",
    "subgraph_grad",
    "tensor",
]
