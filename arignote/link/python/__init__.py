"""The reference backend: every node's NumPy ``perform``, in order."""
