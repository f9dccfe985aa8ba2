"""The standard rewrite pipeline, as a database of stages that modes query by tag.

Stages, in order: ``merge1`` (CSE), ``canonicalize`` (put expressions in one
form so later rewrites see fewer cases), ``stabilize`` (numerically safer
forms), ``specialize`` (faster forms: BLAS calls, powers as products),
``fusion`` (elementwise regions into one loop), ``merge2``. Rewrites
register into the stage databases with tags: ``fast_run`` (applied by
FAST_RUN), ``fast_compile`` (cheap and always safe, also applied by
FAST_COMPILE). Tensor rewrites live in ``arignote.tensor.rewriting`` and
register themselves when that package is imported.
"""

from __future__ import annotations

from arignote.graph.rewriting.db import EquilibriumDB, SequenceDB
from arignote.graph.rewriting.merge import MergeRewriter

optdb = SequenceDB("optdb")
canonicalize = EquilibriumDB("canonicalize")
stabilize = EquilibriumDB("stabilize")
specialize = EquilibriumDB("specialize")
fusion = SequenceDB("fusion")

optdb.register("merge1", MergeRewriter(), "fast_run", "fast_compile", "merge", position=0)
optdb.register("canonicalize", canonicalize, "fast_run", "fast_compile", position=1)
optdb.register("stabilize", stabilize, "fast_run", position=1.5)
optdb.register("specialize", specialize, "fast_run", position=2)
optdb.register("fusion", fusion, "fast_run", position=49)
optdb.register("merge2", MergeRewriter(), "fast_run", "fast_compile", "merge", position=100)
