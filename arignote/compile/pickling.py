"""Pickling compiled functions: the rewritten graph travels, the program never does.

``pickle.dumps(f)`` (``Function.__reduce__``) keeps the rewritten
``FunctionGraph``, the input and output specs (which name the rewritten
graph's inputs and outputs once loaded, not the user's variables), the
shared variables (each with its value) and the mode; ``pickle.loads`` only links the graph again
(``restore_function``), which loads its kernels from the disk cache or
compiles them: no rewrite runs twice. A program is made of generated code
and loaded machine code, so it is rebuilt, never pickled. Shared variables
are ordinary pickled objects, so functions pickled together
(``pickle.dumps((f, g))``) that share one still share it after loading,
and their updates still reach it.

A ``FunctionGraph`` pickles flat (``copyreg``, registered on import): its
variables in one list and its nodes in topological order, each node naming
its inputs and outputs by position in that list. Pickle would otherwise
follow owner to inputs to owner, one level of recursion per node, and
overflow the stack on a long chain (a graph of a few hundred nodes deep).
Inner graphs (scan, ifelse) are ``FunctionGraph`` objects too, so they
pickle the same way. The graph comes back without the rewriting features
it had (they are not needed to run it).

Inner-graph ops (``Scan``, ``IfElse``) cache the programs of their inner
graphs once they have run (``_program``, ``_programs``); those pickle
empty, registered for every ``InnerGraphOp`` class when a function is
pickled (``register_inner_graph_ops``). (This belongs in those ops'
own ``__getstate__``; it lives here until they have one.)
"""

from __future__ import annotations

import copyreg
from typing import Any

from arignote.graph.basic import Apply, Variable, _variable_ids
from arignote.graph.fg import FunctionGraph

# Variable fields that are the graph's wiring or per-process caches, rebuilt on loading.
_REBUILT = frozenset({"owner", "index", "auto_id", "_eval_functions", "__weakref__"})


def restore_function(state: dict[str, Any]) -> Any:
    """A ``Function`` from ``Function.__reduce__``'s state: the graph linked again."""
    from arignote.compile.compiled_function import Function, OutputSpec

    fields = dict(state)
    trust_input = fields.pop("trust_input", False)
    fgraph, mode = fields["fgraph"], fields["mode"]
    for spec, variable in zip(fields["input_specs"], fgraph.inputs):
        spec.variable = variable
    fields["output_specs"] = [
        OutputSpec(variable, borrow)
        for variable, borrow in zip(fgraph.outputs, state["output_specs"])
    ]
    make_program = getattr(mode, "make_program", None) or mode.linker.make_program
    function = Function(program=make_program(fgraph), **fields)
    function.trust_input = trust_input
    return function


# An inner-graph op's caches of compiled programs, and what each pickles as.
_PROGRAM_CACHES = {"_program": lambda value: None, "_programs": lambda value: [None] * len(value)}


def register_inner_graph_ops() -> None:
    """Make every inner-graph op class defined so far pickle without its compiled programs."""
    from arignote.scan.inner import InnerGraphOp

    classes = [InnerGraphOp]
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        if cls not in copyreg.dispatch_table:
            copyreg.pickle(cls, _reduce_inner_graph_op)


def _reduce_inner_graph_op(op: Any) -> tuple:
    state = dict(vars(op))
    for name, empty in _PROGRAM_CACHES.items():
        if name in state and state[name] is not None:
            state[name] = empty(state[name])
    return _rebuild_op, (type(op), state)


def _rebuild_op(cls: type, state: dict[str, Any]) -> Any:
    op = cls.__new__(cls)
    op.__dict__.update(state)
    return op


def _slots(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return [name for name in dict.fromkeys(names) if name not in _REBUILT]


def _variable_state(variable: Variable) -> tuple[type, dict[str, Any]]:
    fields = {
        name: getattr(variable, name) for name in _slots(type(variable)) if hasattr(variable, name)
    }
    if hasattr(variable, "__dict__"):
        fields.update(vars(variable))
    return type(variable), fields


def _new_variable(cls: type, fields: dict[str, Any]) -> Variable:
    variable = cls.__new__(cls)
    variable.owner = None
    variable.index = None
    variable.auto_id = next(_variable_ids)
    variable._eval_functions = None
    for name, value in fields.items():
        object.__setattr__(variable, name, value)
    return variable


def _reduce_function_graph(fgraph: FunctionGraph) -> tuple:
    order = fgraph.toposort()
    position: dict[Variable, int] = {}
    variables: list[tuple[type, dict[str, Any]]] = []

    def number(variable: Variable) -> int:
        if variable not in position:
            position[variable] = len(variables)
            variables.append(_variable_state(variable))
        return position[variable]

    inputs = [number(v) for v in fgraph.inputs]
    nodes = []
    for node in order:
        node_inputs = [number(v) for v in node.inputs]
        node_outputs = [number(v) for v in node.outputs]
        nodes.append((node.op, node_inputs, node_outputs, node.creation_site, node._tag))
    outputs = [number(v) for v in fgraph.outputs]
    return _rebuild_function_graph, (variables, nodes, inputs, outputs)


def _rebuild_function_graph(
    variables: list[tuple[type, dict[str, Any]]],
    nodes: list[tuple],
    inputs: list[int],
    outputs: list[int],
) -> FunctionGraph:
    built = [_new_variable(cls, fields) for cls, fields in variables]
    for op, node_inputs, node_outputs, site, tag in nodes:
        node = Apply(op, [built[i] for i in node_inputs], [built[i] for i in node_outputs], site)
        node.creation_site = site  # (None stays None: the loader is not where it was made)
        node._tag = tag
    return FunctionGraph([built[i] for i in inputs], [built[i] for i in outputs], clone=False)


copyreg.pickle(FunctionGraph, _reduce_function_graph)

__all__ = ["register_inner_graph_ops", "restore_function"]
