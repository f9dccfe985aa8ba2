"""Arignote: Theano's model (symbolic tensors, whole-graph compilation, exact gradients).

``import arignote as theano`` gives the Theano API at Theano's paths.
Importing is light: no compiler or backend is touched until a function is
compiled.
"""

from arignote.config import config
from arignote.compile import In, Mode, Out, SharedVariable, function, shared
from arignote.graph.replace import clone_replace
from arignote.gradient import grad
from arignote import tensor  # noqa: F401  (theano.tensor)
from arignote import gradient  # noqa: F401

__version__ = "0.1.0"


def clone(output, replace=None, strict=True, share_inputs=True):
    """Copy a graph with some variables replaced (Theano's ``theano.clone``)."""
    return clone_replace(output, replace=replace, strict=strict, share_inputs=share_inputs)


__all__ = [
    "In", "Mode", "Out", "SharedVariable", "clone", "config", "function", "grad", "shared",
    "tensor", "gradient",
]
