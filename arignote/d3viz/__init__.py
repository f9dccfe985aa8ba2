"""Theano's ``theano.d3viz`` path: the interactive HTML view of a graph."""

from arignote.printing.html import d3viz

__all__ = ["d3viz"]
