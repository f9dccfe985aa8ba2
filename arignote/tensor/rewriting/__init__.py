"""Tensor rewrites; importing this package registers them into ``optdb``'s stages."""

from arignote.tensor.rewriting import basic, fusion  # noqa: F401
