"""Backends: one folder per backend; ``python`` is the reference."""
