"""Loops: ``scan`` (Theano's), ``map``, ``reduce``, ``foldl``, ``foldr``, ``until``, the ``Scan`` op.

``op.py`` holds the op (its layout, ``perform``, shapes), ``builder.py`` the
front end and the internal node builder, ``grad.py`` backpropagation through
time and forward-mode derivatives, ``rewriting.py`` the loop rewrites and the
stage that rewrites inner graphs, ``utils.py`` what they share.

Theano's ``theano.scan`` is a function; here the package itself is callable
(``arignote.scan(fn, ...)`` is ``arignote.scan.scan(fn, ...)``), so that the
function and the package can share the name without one hiding the other.

>>> import arignote.scan
>>> import arignote.tensor as T
>>> x = T.vector("x")
>>> doubled, _ = arignote.scan(lambda v: 2 * v, sequences=x)
>>> doubled.eval({x: [1.0, 2.0]})
array([2., 4.])
"""

import inspect
import sys
import types

from arignote.scan.builder import scan
from arignote.scan.op import Scan, ScanInfo
from arignote.scan.utils import until
from arignote.scan.views import foldl, foldr, map, reduce


class _CallableModule(types.ModuleType):
    """This package, callable as ``scan``."""

    def __call__(self, *args, **kwargs):
        return scan(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
__signature__ = inspect.signature(scan)

__all__ = ["Scan", "ScanInfo", "foldl", "foldr", "map", "reduce", "scan", "until"]
