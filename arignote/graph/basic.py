"""The IR's nodes: ``Variable``, ``Constant`` and ``Apply``.

A graph is a bipartite DAG: an ``Apply`` node holds an ``Op``, its input
Variables and its output Variables; a Variable knows the Apply that made it
(``owner``, ``None`` for graph inputs) and its position there (``index``).
Nodes are immutable once built except for ``Apply.inputs``, which only a
``FunctionGraph`` rewires. Every Apply records its user ``creation_site``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from arignote.graph.site import CreationSite, user_creation_site

if TYPE_CHECKING:
    from arignote.graph.op import Op
    from arignote.graph.type import Type

_variable_ids = itertools.count()

# str() of an unnamed variable spells out its expression to this depth.
_STR_DEPTH = 3


class Variable:
    """A symbolic value of a known ``Type``: a graph input or an Apply output."""

    __slots__ = (
        "type",
        "owner",
        "index",
        "name",
        "_tag",
        "auto_id",
        "_eval_functions",
        "__weakref__",
    )

    def __init__(
        self,
        type: Type,
        owner: Apply | None = None,
        index: int | None = None,
        name: str | None = None,
    ):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self._tag: SimpleNamespace | None = None
        self.auto_id = next(_variable_ids)
        # Functions compiled by ``eval``, by input variables; a clone starts without.
        self._eval_functions: dict[tuple[Variable, ...], Any] | None = None

    @property
    def tag(self) -> SimpleNamespace:
        """Theano's ``x.tag`` (``x.tag.test_value`` lives here), made on first use."""
        if self._tag is None:
            self._tag = SimpleNamespace()
        return self._tag

    @tag.setter
    def tag(self, value: SimpleNamespace) -> None:
        self._tag = value

    def clone(self, name: str | None = None) -> Variable:
        """A new, ownerless Variable of the same type (and class)."""
        twin = type(self)(self.type, None, None, self.name if name is None else name)
        if self._tag is not None:
            twin._tag = SimpleNamespace(**vars(self._tag))
        return twin

    def get_parents(self) -> list[Apply]:
        return [self.owner] if self.owner is not None else []

    def eval(self, inputs_to_values: dict[Variable, Any] | None = None) -> Any:
        """Compute this variable's value, given values for the inputs it needs.

        Compiled functions are cached on the variable, keyed by the inputs.

        >>> import arignote.tensor as T
        >>> x = T.vector("x")
        >>> (x * 2).eval({x: [1.0, 2.0]})
        array([2., 4.])
        """
        from arignote.compile.function import function

        inputs_to_values = inputs_to_values or {}
        inputs = tuple(inputs_to_values)
        if self._eval_functions is None:
            self._eval_functions = {}
        compiled = self._eval_functions.get(inputs)
        if compiled is None:
            compiled = function(list(inputs), self, on_unused_input="ignore")
            self._eval_functions[inputs] = compiled
        return compiled(*(inputs_to_values[v] for v in inputs))

    def __str__(self) -> str:
        return _expression_str(self, _STR_DEPTH)

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"{type(self).__name__}({self.type}{name})"


class Constant(Variable):
    """A Variable with a fixed value; equal constants are interchangeable."""

    __slots__ = ("data",)

    def __init__(self, type: Type, data: Any, name: str | None = None):
        super().__init__(type, None, None, name)
        self.data = type.filter(data)

    def clone(self, name: str | None = None) -> Constant:
        return type(self)(self.type, self.data, self.name if name is None else name)

    def signature(self) -> tuple:
        """What makes two constants equal: their type and value."""
        return (self.type, self.type.value_key(self.data))

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        text = str(self.data).replace("\n", "")
        return text if len(text) < 20 else text[:17] + "..."

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        text = " ".join(str(self.data).split())
        text = text if len(text) < 40 else text[:37] + "..."
        return f"{type(self).__name__}({self.type}, data={text}{name})"


class Apply:
    """An application of an Op to input Variables, producing output Variables."""

    __slots__ = ("op", "inputs", "outputs", "creation_site", "_tag", "__weakref__")

    def __init__(
        self,
        op: Op,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        creation_site: CreationSite | None = None,
    ):
        for position, variable in enumerate(inputs):
            if not isinstance(variable, Variable):
                raise TypeError(
                    f"input {position} of {op} must be a Variable, got {type(variable).__name__}"
                )
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for index, output in enumerate(self.outputs):
            if output.owner is None:
                output.owner, output.index = self, index
            elif output.owner is not self or output.index != index:
                raise ValueError(f"output {index} of {op} already belongs to another node")
        self.creation_site = creation_site if creation_site is not None else user_creation_site()
        self._tag: SimpleNamespace | None = None

    @property
    def tag(self) -> SimpleNamespace:
        """Free-form notes on the node (Theano's ``node.tag``), made on first use."""
        if self._tag is None:
            self._tag = SimpleNamespace()
        return self._tag

    @tag.setter
    def tag(self, value: SimpleNamespace) -> None:
        self._tag = value

    @property
    def default_output(self) -> Variable:
        """The output that ``op(...)`` returns when the op has several."""
        chosen = getattr(self.op, "default_output", None)
        if chosen is None:
            if len(self.outputs) != 1:
                raise ValueError(f"{self.op} has {len(self.outputs)} outputs and no default")
            return self.outputs[0]
        return self.outputs[chosen]

    @property
    def nin(self) -> int:
        return len(self.inputs)

    @property
    def nout(self) -> int:
        return len(self.outputs)

    def clone_with_new_inputs(self, inputs: Sequence[Variable], strict: bool = True) -> Apply:
        """The same op applied to other inputs, keeping the creation site.

        Inputs of identical types reuse this node's output types; otherwise the
        op rebuilds the node (and checks the new types) with ``make_node``.
        """
        inputs = list(inputs)
        if len(inputs) != len(self.inputs):
            raise ValueError(f"{self.op} takes {len(self.inputs)} inputs, got {len(inputs)}")
        if all(
            new.type is old.type or new.type == old.type for new, old in zip(inputs, self.inputs)
        ):
            outputs = [out.type.make_variable(name=out.name) for out in self.outputs]
            node = Apply(self.op, inputs, outputs, self.creation_site)
        else:
            if strict:
                for new, old in zip(inputs, self.inputs):
                    if not new.type.is_super(old.type) and not old.type.is_super(new.type):
                        raise TypeError(
                            f"cannot replace an input of type {old.type} of {self.op} "
                            f"by one of type {new.type}"
                        )
            node = self.op.make_node(*inputs)
            node.creation_site = self.creation_site
        if self._tag is not None:
            node._tag = SimpleNamespace(**vars(self._tag))
        return node

    def __str__(self) -> str:
        return f"{self.op}({', '.join(str(i) for i in self.inputs)})"

    def __repr__(self) -> str:
        return str(self)


def _expression_str(variable: Variable, depth: int) -> str:
    """Readable spelling of an expression, cut off below ``depth`` levels."""
    if isinstance(variable, Constant):
        return str(variable)
    if variable.name is not None or variable.owner is None:
        return variable.name if variable.name is not None else f"<{variable.type}>"
    node = variable.owner
    if depth == 0:
        return "..."
    args = ", ".join(_expression_str(i, depth - 1) for i in node.inputs)
    suffix = f".{variable.index}" if len(node.outputs) > 1 else ""
    return f"{node.op}({args}){suffix}"
