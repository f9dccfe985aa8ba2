"""``OpFromGraph``: a graph wrapped as one Op (Theano's ``theano.compile.builders``).

The op holds a private copy of the graph (the *inner* graph), cut at the
given inputs; shared variables the graph reads become extra, implicit
inputs of every node, so their current values flow in at run time.
Everything about the op is derived from the inner graph:

- ``perform`` runs it through a function compiled once, on first use;
- ``L_op``/``R_op`` differentiate it symbolically and substitute the node's
  own inputs, outputs and output gradients, so the derivative is an
  ordinary outer graph (and can be differentiated again);
- ``infer_shape`` chains the inner ops' ``infer_shape``;
- ``connection_pattern`` follows the inner ops' own patterns.

Two ``OpFromGraph`` objects are never equal (as in Theano): each stands for
its own graph, so nodes of different ones never merge.

``inline=True`` expands the inner graph where the op is applied, so the
compiled graph sees the inner ops themselves. (Theano did this during
compilation; until the rewrite engine exists, it happens at the call.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from arignote.compile.sharedvalue import SharedVariable
from arignote.gradient import DisconnectedType, NullType, Rop, grad
from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.fg import MissingInputError
from arignote.graph.op import Op
from arignote.graph.replace import clone_replace, replace_and_rebuild
from arignote.graph.traversal import graph_inputs, io_toposort
from arignote.tensor.type import TensorType

_UNSUPPORTED_FUNCTION_ARGUMENTS = ("updates", "givens")


class OpFromGraph(Op):
    """An op computing ``outputs`` from ``inputs`` by a graph built once.

    ``grad_overrides`` (a callable ``(inputs, output_grads) -> grads``, an
    ``OpFromGraph`` taking inputs then output gradients, or a list with one
    entry per input), ``lop_overrides`` (the same with ``(inputs, outputs,
    output_grads)``) and ``rop_overrides`` (``(inputs, eval_points) ->
    tangents``, or one entry per output) replace the derived derivatives.
    List entries are ``'default'``, a callable returning one variable, or a
    variable (e.g. a ``NullType`` or ``DisconnectedType`` one). Other keyword
    arguments go to ``arignote.function`` when the inner graph is compiled.

    >>> import arignote.tensor as T
    >>> x, y = T.scalars("x", "y")
    >>> op = OpFromGraph([x, y], [x + 2 * y])
    >>> a, b = T.scalars("a", "b")
    >>> float(op(a, b).eval({a: 1.0, b: 3.0})), float(T.grad(op(a, b), b).eval({a: 1.0, b: 3.0}))
    (7.0, 2.0)
    """

    def __init__(
        self,
        inputs: Sequence[Variable],
        outputs: Variable | Sequence[Variable],
        inline: bool = False,
        lop_overrides: Any = "default",
        grad_overrides: Any = "default",
        rop_overrides: Any = "default",
        connection_pattern: list[list[bool]] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"OpFromGraph: inputs must be a list of variables, got {inputs!r}")
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        for kind, variables in (("input", inputs), ("output", outputs)):
            for position, variable in enumerate(variables):
                if not isinstance(variable, Variable):
                    raise TypeError(
                        f"OpFromGraph: {kind} {position} must be a symbolic Variable, "
                        f"got {type(variable).__name__}"
                    )
        for position, variable in enumerate(inputs):
            if isinstance(variable, Constant):
                raise TypeError(f"OpFromGraph: input {position} ({variable}) is a constant")
        if len(set(inputs)) != len(inputs):
            raise ValueError("OpFromGraph: an input is listed twice")
        for key in _UNSUPPORTED_FUNCTION_ARGUMENTS:
            if key in kwargs:
                raise TypeError(f"OpFromGraph does not support {key}")
        if lop_overrides != "default" and grad_overrides != "default":
            raise ValueError("OpFromGraph: give lop_overrides or grad_overrides, not both")

        shared = []
        for variable in graph_inputs(outputs, blockers=inputs):
            if variable in inputs or isinstance(variable, Constant):
                continue
            if not isinstance(variable, SharedVariable):
                raise MissingInputError(
                    f"OpFromGraph: the outputs depend on {variable!r}, which is not among the "
                    "inputs; add it to inputs"
                )
            shared.append(variable)
        self.shared_inputs = shared
        self.inner_inputs = [v.type.make_variable(v.name) for v in [*inputs, *shared]]
        self.inner_outputs = clone_replace(
            outputs, dict(zip([*inputs, *shared], self.inner_inputs))
        )
        self.inline = inline
        self.lop_overrides = lop_overrides
        self.grad_overrides = grad_overrides
        self.rop_overrides = rop_overrides
        self.name = name
        self.kwargs = kwargs
        self._connection_pattern = connection_pattern or _io_connection_pattern(
            self.inner_inputs, self.inner_outputs
        )
        self._fn = None
        self._pullback: tuple[list, list] | None = None

    # Each op stands for its own graph.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __str__(self) -> str:
        return self.name or "OpFromGraph"

    @property
    def n_explicit(self) -> int:
        return len(self.inner_inputs) - len(self.shared_inputs)

    @property
    def fn(self):
        """The inner graph compiled with ``arignote.function`` (on first use)."""
        if self._fn is None:
            from arignote.compile.function import function

            options = {"on_unused_input": "ignore", **self.kwargs}
            self._fn = function(self.inner_inputs, list(self.inner_outputs), **options)
        return self._fn

    # ---- building ------------------------------------------------------------------------
    def make_node(self, *inputs: Any) -> Apply:
        outputs = [o.type.make_variable() for o in self.inner_outputs]
        return Apply(self, self._checked_inputs(inputs), outputs)

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.inline:
            return super().__call__(*inputs, **kwargs)
        outer = self._checked_inputs(inputs)
        expanded = clone_replace(self.inner_outputs, dict(zip(self.inner_inputs, outer)))
        return expanded[0] if len(expanded) == 1 else expanded

    def _checked_inputs(self, inputs: Sequence[Any]) -> list[Variable]:
        """The call's inputs as variables of the inner inputs' types, then the shared ones."""
        if len(inputs) != self.n_explicit:
            raise TypeError(f"{self} takes {self.n_explicit} inputs, got {len(inputs)}")
        checked = []
        for position, (value, inner) in enumerate(zip(inputs, self.inner_inputs)):
            if not isinstance(value, Variable):
                value = inner.type.make_constant(value)
            converted = inner.type.convert_variable(value)
            if converted is None:
                raise TypeError(
                    f"{self}: input {position} ({value}) has type {value.type}, but the graph "
                    f"was built for {inner.type}"
                )
            checked.append(converted)
        return [*checked, *self.shared_inputs]

    # ---- semantics -----------------------------------------------------------------------
    def perform(self, node, inputs, output_storage):
        for cell, value in zip(output_storage, self.fn(*inputs)):
            cell[0] = value

    def connection_pattern(self, node):
        return [list(row) for row in self._connection_pattern]

    def infer_shape(self, node, input_shapes):
        shapes: dict[Variable, tuple] = dict(zip(self.inner_inputs, map(tuple, input_shapes)))

        def shape_of(variable: Variable) -> tuple:
            return shapes[variable] if variable in shapes else _static_or_symbolic_shape(variable)

        for inner_node in io_toposort(self.inner_inputs, self.inner_outputs):
            try:
                inferred = inner_node.op.infer_shape(
                    inner_node, list(map(shape_of, inner_node.inputs))
                )
            except NotImplementedError:
                inferred = [_static_or_symbolic_shape(o) for o in inner_node.outputs]
            shapes.update(zip(inner_node.outputs, map(tuple, inferred)))
        results = [shape_of(o) for o in self.inner_outputs]
        # Lengths built on inner variables are rebuilt on the node's inputs.
        symbolic = [n for shape in results for n in shape if isinstance(n, Variable)]
        outer = iter(replace_and_rebuild(symbolic, dict(zip(self.inner_inputs, node.inputs))))
        return [tuple(next(outer) if isinstance(n, Variable) else n for n in s) for s in results]

    def L_op(self, inputs, outputs, output_grads):
        explicit = list(inputs[: self.n_explicit])
        if self.lop_overrides != "default":
            override = self.lop_overrides
            arguments = (explicit, list(outputs), list(output_grads))
        elif self.grad_overrides != "default":
            override = self.grad_overrides
            arguments = (explicit, list(output_grads))
        else:
            return self._default_pullback(inputs, outputs, output_grads)
        if isinstance(override, (list, tuple)):
            if len(override) != self.n_explicit:
                raise ValueError(
                    f"{self}: the gradient overrides list has {len(override)} entries for "
                    f"{self.n_explicit} inputs"
                )
            default = None
            results = []
            for position, entry in enumerate(override):
                if isinstance(entry, str) and entry == "default":
                    if default is None:
                        default = self._default_pullback(inputs, outputs, output_grads)
                    results.append(default[position])
                else:
                    results.append(entry(*arguments) if callable(entry) else entry)
        else:
            results = _call_override(override, arguments)
            if len(results) != self.n_explicit:
                raise ValueError(
                    f"{self}: the gradient override returned {len(results)} gradients for "
                    f"{self.n_explicit} inputs"
                )
        if self.shared_inputs:
            results += self._default_pullback(inputs, outputs, output_grads)[self.n_explicit :]
        return [_none_if_disconnected(g) for g in results]

    def R_op(self, inputs, eval_points):
        if self.rop_overrides == "default":
            return self._default_pushforward(inputs, eval_points)
        override = self.rop_overrides
        arguments = (list(inputs[: self.n_explicit]), list(eval_points[: self.n_explicit]))
        if not isinstance(override, (list, tuple)):
            results = _call_override(override, arguments)
        else:
            default = None
            results = []
            for position, entry in enumerate(override):
                if isinstance(entry, str) and entry == "default":
                    if default is None:
                        default = self._default_pushforward(inputs, eval_points)
                    results.append(default[position])
                else:
                    results.append(entry(*arguments) if callable(entry) else entry)
        if len(results) != len(self.inner_outputs):
            raise ValueError(
                f"{self}: the R_op override gave {len(results)} tangents for "
                f"{len(self.inner_outputs)} outputs"
            )
        return [_none_if_disconnected(t) for t in results]

    # ---- derived derivatives -------------------------------------------------------------
    def _default_pullback(self, inputs, outputs, output_grads) -> list:
        """The inner graph's gradient, rebuilt on the node's inputs, outputs and gradients."""
        if self._pullback is None:
            cotangents = [o.type.make_variable("cotangent") for o in self.inner_outputs]
            known: dict[Variable, Variable] = {}
            for output, cotangent in zip(self.inner_outputs, cotangents):
                if _is_continuous(output):
                    known[output] = known[output] + cotangent if output in known else cotangent
            gradients = (
                grad(
                    None,
                    self.inner_inputs,
                    known_grads=known,
                    disconnected_inputs="ignore",
                    return_disconnected="Disconnected",
                    null_gradients="return",
                )
                if known
                else [None] * len(self.inner_inputs)
            )
            self._pullback = (cotangents, gradients)
        cotangents, gradients = self._pullback
        replacements: dict[Variable, Variable] = {}
        for inner, outer in zip(self.inner_outputs, outputs):
            if inner.owner is not None:
                replacements[inner] = outer
        replacements.update(zip(cotangents, output_grads))
        replacements.update(zip(self.inner_inputs, inputs))
        return _rebuild(gradients, replacements)

    def _default_pushforward(self, inputs, eval_points) -> list:
        """The inner graph's ``Rop``, rebuilt on the node's inputs and tangents."""
        pairs = [
            (inner, inner.type.make_variable("tangent"), point)
            for inner, point in zip(self.inner_inputs, eval_points)
            if point is not None
        ]
        if not pairs:
            return [None] * len(self.inner_outputs)
        tangents = Rop(
            list(self.inner_outputs),
            [inner for inner, _, _ in pairs],
            [tangent for _, tangent, _ in pairs],
            disconnected_outputs="ignore",
            return_disconnected="None",
        )
        replacements = dict(zip(self.inner_inputs, inputs))
        replacements.update({tangent: point for _, tangent, point in pairs})
        return _rebuild(tangents, replacements)


def _is_continuous(variable: Variable) -> bool:
    return isinstance(variable.type, TensorType) and variable.type.dtype[0] in "fc"


def _none_if_disconnected(term: Any) -> Any:
    return None if term is None or isinstance(term.type, DisconnectedType) else term


def _call_override(override: Callable[..., Any] | OpFromGraph, arguments: tuple) -> list:
    """An override's results: an ``OpFromGraph`` takes the lists flattened, a callable the lists."""
    if isinstance(override, OpFromGraph):
        results = override(*(v for group in arguments for v in group))
    elif callable(override):
        results = override(*arguments)
    else:
        raise TypeError(
            f"OpFromGraph: an override must be 'default', a callable, an OpFromGraph or a "
            f"list, got {override!r}"
        )
    return list(results) if isinstance(results, (list, tuple)) else [results]


def _rebuild(terms: Sequence[Any], replacements: dict[Variable, Variable]) -> list:
    """Inner-graph terms rebuilt on outer variables; None and null/disconnected kept as they are."""
    symbolic = [
        t for t in terms if t is not None and not isinstance(t.type, (NullType, DisconnectedType))
    ]
    rebuilt = iter(clone_replace(symbolic, replacements, strict=False)) if symbolic else iter(())
    return [
        t if t is None or isinstance(t.type, (NullType, DisconnectedType)) else next(rebuilt)
        for t in terms
    ]


def _static_or_symbolic_shape(variable: Variable) -> tuple:
    """``variable``'s shape: static lengths as ints, the others as ``Shape_i`` of it."""
    from arignote.tensor.shape import shape_i

    if isinstance(variable, Constant):
        return tuple(getattr(variable.data, "shape", ()))
    return tuple(
        length if length is not None else shape_i(variable, axis)
        for axis, length in enumerate(variable.type.shape)
    )


def _io_connection_pattern(inputs: list[Variable], outputs: list[Variable]) -> list[list[bool]]:
    """``pattern[i][j]``: whether output ``j`` depends on input ``i``, per the inner ops."""
    reaches: dict[Variable, frozenset[int]] = {v: frozenset([i]) for i, v in enumerate(inputs)}
    for node in io_toposort(inputs, outputs):
        pattern = node.op.connection_pattern(node)
        for j, output in enumerate(node.outputs):
            reaches[output] = frozenset().union(
                *(
                    reaches.get(x, frozenset())
                    for position, x in enumerate(node.inputs)
                    if pattern[position][j]
                )
            )
    return [[i in reaches.get(o, frozenset()) for o in outputs] for i in range(len(inputs))]
