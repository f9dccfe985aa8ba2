"""The one compiled part of the package: the jit backend's kernel trampoline.

Optional: where it cannot be built (no compiler, no Python headers) the install goes on,
and the backend builds it at run time or calls kernels through ctypes. Everything else
is declared in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "arignote.link.c._arignote_trampoline",
            sources=["arignote/link/c/_trampoline.c"],
            optional=True,
        )
    ]
)
