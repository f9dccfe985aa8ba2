"""Compiling graphs into callables: ``function``, ``In``/``Out``, shared variables, modes."""

from arignote.compile.builders import OpFromGraph
from arignote.compile.compiled_function import Function
from arignote.compile.debugmode import DebugMode
from arignote.compile.function import function
from arignote.compile.io import In, Out
from arignote.compile.mode import Mode, get_mode
from arignote.compile.monitormode import MonitorMode
from arignote.compile.nanguardmode import NanGuardMode
from arignote.compile.ops import FromFunctionOp, as_op
from arignote.compile.profiling import ProfileStats
from arignote.compile.sharedvalue import SharedVariable, shared

__all__ = [
    "DebugMode",
    "FromFunctionOp",
    "Function",
    "In",
    "Mode",
    "MonitorMode",
    "NanGuardMode",
    "OpFromGraph",
    "Out",
    "ProfileStats",
    "SharedVariable",
    "as_op",
    "function",
    "get_mode",
    "shared",
]
