"""The compiled CPU backend: fused elementwise and reduction regions as cached C kernels.

See ``README.md`` in this folder for how the pieces fit; ``JITLinker`` is the entry point.
"""

from arignote.link.c.linker import JITLinker, LinkerReport, NodeReport

__all__ = ["JITLinker", "LinkerReport", "NodeReport"]
