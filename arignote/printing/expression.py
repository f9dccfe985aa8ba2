"""``pp``: a graph spelled as the expression a person would write.

Arithmetic prints infix with Python's precedence (parentheses only where
they are needed), other elementwise ops as calls (``log(x)``), reductions
as ``sum(x, axis=0)``, indexing as ``x[1:]``. Broadcasting (a
``DimShuffle`` that only inserts broadcastable axes) is left out, as the
user left it out; a transposition prints ``x.T``. A fused loop
(``Composite``) is spelled out on its arguments, so the rewritten graph of
a compiled function reads like the source. Any other op prints as a call
of its name.

Texts are built bottom-up over the nodes in topological order (no
recursion over the graph); a subexpression used twice is spelled twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arignote.graph.basic import Apply, Constant, Variable
from arignote.graph.traversal import io_toposort
from arignote.printing.describe import composite_of, print_target
from arignote.scalar import math as scalar_math
from arignote.scalar.basic import ScalarOp
from arignote.tensor.elemwise import DimShuffle, Elemwise
from arignote.tensor.fused import ElemwiseReduce
from arignote.tensor.products import Dot, MatMul
from arignote.tensor.reduction import CAReduce
from arignote.tensor.shape import SYMBOLIC, Shape, Shape_i
from arignote.tensor.subtensor import IndexSlice, Subtensor

# Binding strength as in Python, tightest last; a call, a name or a subscript is an atom.
COMPARE, OR, XOR, AND, ADD, MUL, UNARY, POW, ATOM = range(1, 10)

# A text and how tightly it binds.
Term = tuple[str, int]

_INFIX: dict[type, tuple[str, int]] = {
    scalar_math.Add: ("+", ADD),
    scalar_math.Sub: ("-", ADD),
    scalar_math.Mul: ("*", MUL),
    scalar_math.TrueDiv: ("/", MUL),
    scalar_math.IntDiv: ("//", MUL),
    scalar_math.Mod: ("%", MUL),
    scalar_math.Pow: ("**", POW),
    scalar_math.LT: ("<", COMPARE),
    scalar_math.GT: (">", COMPARE),
    scalar_math.LE: ("<=", COMPARE),
    scalar_math.GE: (">=", COMPARE),
    scalar_math.EQ: ("==", COMPARE),
    scalar_math.NEQ: ("!=", COMPARE),
    scalar_math.And: ("&", AND),
    scalar_math.Or: ("|", OR),
    scalar_math.Xor: ("^", XOR),
}
_PREFIX: dict[type, str] = {scalar_math.Neg: "-", scalar_math.Invert: "~"}


def pp(obj: Any) -> str:
    """The expression computing ``obj`` (a variable, function or list), as readable math.

    >>> import arignote.tensor as T
    >>> x, y = T.vector("x"), T.vector("y")
    >>> pp(-(y * T.log(x) + (1 - y) * T.log(1 - x)).sum())
    '-sum(y * log(x) + (1 - y) * log(1 - x))'
    >>> pp((x - y) ** 2 / x.shape[0])
    '(x - y) ** 2 / x.shape[0]'
    """
    target = print_target(obj)
    terms = _terms(io_toposort(target.inputs, target.outputs), {})
    return "\n".join(_leaf(v, terms)[0] for v in target.outputs)


pprint = pp  # Theano's other name for it


def _terms(nodes: Sequence[Apply], terms: dict[Variable, Term]) -> dict[Variable, Term]:
    """Texts of every node output, computed in order (inputs before the nodes that read them)."""
    for node in nodes:
        args = [_leaf(v, terms) for v in node.inputs]
        results = _node_terms(node, args)
        terms.update(zip(node.outputs, results))
    return terms


def _leaf(variable: Variable, terms: dict[Variable, Term]) -> Term:
    if variable in terms:
        return terms[variable]
    if isinstance(variable, Constant) or variable.name is not None:
        return str(variable), ATOM
    return f"<{variable.type}>", ATOM


def _node_terms(node: Apply, args: list[Term]) -> list[Term]:
    op = node.op
    composite = composite_of(op)
    if composite is not None and composite.nout == 1:
        inner = _terms(composite.nodes, dict(zip(composite.inputs, args)))
        body = _leaf(composite.outputs[0], inner)
        if isinstance(op, ElemwiseReduce):
            ndim = max(v.type.ndim for v in node.inputs)
            return [_reduction(op.reduce, body, ndim)]
        return [body]
    if isinstance(op, Elemwise):
        op = op.scalar_op
    if isinstance(op, ScalarOp) and len(node.outputs) == 1:
        return [_scalar(op, args)]
    if isinstance(op, DimShuffle):
        return [_dimshuffle(op, args[0])]
    if isinstance(op, CAReduce):
        return [_reduction(op, args[0], node.inputs[0].type.ndim)]
    if isinstance(op, Dot):
        return [(f"dot({args[0][0]}, {args[1][0]})", ATOM)]
    if isinstance(op, MatMul):
        return [_infix("@", MUL, args)]
    if isinstance(op, Shape):
        return [(f"{_atom(args[0])}.shape", ATOM)]
    if isinstance(op, Shape_i):
        return [(f"{_atom(args[0])}.shape[{op.i}]", ATOM)]
    if isinstance(op, Subtensor):
        return [(f"{_atom(args[0])}[{_index_text(op.idx_list, args[1:])}]", ATOM)]
    call = f"{op}({', '.join(text for text, _ in args)})"
    if len(node.outputs) == 1:
        return [(call, ATOM)]
    return [(f"{call}[{index}]", ATOM) for index in range(len(node.outputs))]


def _scalar(op: ScalarOp, args: list[Term]) -> Term:
    if type(op) in _INFIX and len(args) >= 2:
        symbol, strength = _INFIX[type(op)]
        return _infix(symbol, strength, args)
    if type(op) in _PREFIX:
        text, strength = args[0]
        operand = text if strength >= UNARY else f"({text})"
        return f"{_PREFIX[type(op)]}{operand}", UNARY
    return f"{op}({', '.join(text for text, _ in args)})", ATOM


def _infix(symbol: str, strength: int, args: list[Term]) -> Term:
    """``a op b op c``, left-associative except ``**``; an operand binding looser gets parens."""
    parts = []
    for position, (text, binding) in enumerate(args):
        if strength == COMPARE:
            needs = binding <= COMPARE  # a < b < c would be a chained comparison
        elif symbol == "**":
            # Right-associative, and -x ** 2 means -(x ** 2): parenthesise the left side more.
            needs = binding <= strength if position == 0 else binding < UNARY
        else:
            needs = binding < strength if position == 0 else binding <= strength
        parts.append(f"({text})" if needs else text)
    return f" {symbol} ".join(parts), strength


def _atom(term: Term) -> str:
    text, binding = term
    return text if binding == ATOM else f"({text})"


def _dimshuffle(op: DimShuffle, arg: Term) -> Term:
    kept = [o for o in op.new_order if o != "x"]
    if kept == sorted(kept) and not op.dropped:
        return arg  # only broadcastable axes inserted: broadcasting, implicit in the math
    if op.new_order == tuple(range(op.input_ndim - 1, -1, -1)):
        return f"{_atom(arg)}.T", ATOM
    order = ", ".join(repr(o) for o in op.new_order)
    return f"{_atom(arg)}.dimshuffle({order})", ATOM


def _reduction(op: CAReduce, arg: Term, ndim: int) -> Term:
    if sorted(op.axis) == list(range(ndim)):
        return f"{op.kind}({arg[0]})", ATOM
    axis = op.axis[0] if len(op.axis) == 1 else op.axis
    return f"{op.kind}({arg[0]}, axis={axis})", ATOM


def _index_text(idx_list: Sequence[Any], index_args: Sequence[Term]) -> str:
    """A basic index with its symbolic entries filled in by the index inputs' texts."""
    symbolic = iter(text for text, _ in index_args)

    def bound(entry: Any) -> str:
        if entry is SYMBOLIC:
            return next(symbolic)
        return "" if entry is None else str(entry)

    parts = []
    for entry in idx_list:
        if isinstance(entry, IndexSlice):
            text = f"{bound(entry.start)}:{bound(entry.stop)}"
            parts.append(text if entry.step is None else f"{text}:{bound(entry.step)}")
        else:
            parts.append(bound(entry))
    return ", ".join(parts)
