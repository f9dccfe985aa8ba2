"""Tensor rewrites; importing this package registers them into ``optdb``'s stages."""

from arignote.tensor.rewriting import basic, fusion  # noqa: F401
from arignote.tensor.rewriting import canonicalize, canonicalize_shape, shape_feature  # noqa: F401
from arignote.tensor.rewriting import specialize, stabilize  # noqa: F401
from arignote.scan import rewriting as scan_rewriting  # noqa: F401  (loops, inner graphs)
