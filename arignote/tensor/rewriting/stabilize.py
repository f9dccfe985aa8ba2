"""Stabilize: rewrite naive formulas into forms that stay finite and accurate.

Each rewrite replaces an expression by one equal to it in exact arithmetic
whose floating-point value is finite wherever the true value is:

- ``log(sigmoid(x))`` → ``-softplus(-x)``; ``log(1 - sigmoid(x))`` → ``-softplus(x)``;
  ``1 - sigmoid(x)`` → ``sigmoid(-x)``;
- ``log(1 + x)`` → ``log1p(x)`` (and ``log(1 - x)`` → ``log1p(-x)``); ``exp(x) - 1`` →
  ``expm1(x)``; ``log(exp(x))`` → ``x``; ``sqrt(sqr(x))`` → ``abs(x)`` (real ``x``);
- ``log(softmax(x))`` → ``logsoftmax(x)``; ``log(sum(exp(x)))`` → ``logsumexp(x)``
  (max-shifted); ``exp(x) / sum(exp(x), keepdims)`` → ``exp(x - logsumexp(x, keepdims))``,
  which is also the naive gradient of ``log(sum(exp(x)))``;
- the cross-entropy of a softmax with integer labels, as
  ``crossentropy_categorical_1hot(softmax(x), y)`` or as ``-log(p)[arange(n), y]`` (in its
  spellings), → ``CrossentropySoftmaxArgmax1HotWithBias``, which never forms the softmax's
  log; with one-hot (or any dense) targets ``-sum(t * log(softmax(x)))`` reads the stable
  ``LogSoftmax`` after the rule above;
- quotients cancelled in products (``local_mul_cancel_quotients``): ``(n / d) * d`` → ``n``,
  also when the quotients are the terms of a sum, ``(a / s + b / c) * s * c`` → ``a * c + b * s``;
  and ``switch(mask, n / d[mask], 0) * d`` → ``switch(mask, n, 0)`` for a one-hot ``mask``
  (``local_one_hot_quotient_cancel``).

The cancellations are what make gradients of the naive formulas finite. ``grad``
builds them from the graph the user wrote: ``log``'s gradient divides by its
argument and the sigmoid's multiplies by ``s * (1 - s)``, so for a saturated
``s`` the gradient of ``log(s)`` is ``(g / 0) * 0 = nan``; cancelling first
leaves ``g * (1 - s)``, computed as ``g * sigmoid(-x)``. When a sum divides by both ``s = sigmoid(x)`` and its
complement ``c = 1 - s`` (the logistic loss ``y log s + (1 - y) log(1 - s)``
does), the product ``a * c + b * s`` is written ``a + (b - a) * s``: exact
up to an absolute error of ``eps * (|a| + |b|)``, as accurate as the float
``s`` itself near 1, and it reads the one sigmoid the forward pass computes,
where ``sigmoid(-x)`` would add a second. (For the logistic loss it is
``g * (y - s)``, the textbook gradient.) Complements are recognised in every
spelling: ``1 - s``, ``1 + (-s)``, ``sigmoid(-x)``.

Patterns match the raw graph and canonical forms (n-ary ``add``/``mul``,
``neg(x)`` or ``-1 * x``, constants as broadcastable ``DimShuffle`` of
scalars). A replacement has the dtype and broadcast pattern of what it
replaces (``fit``: cast, pad, or ``fill`` from a removed operand's shape).
Every rewrite looks only at a node, its inputs' producers (a bounded number
of levels) and its clients: constant time per visit (the cross-entropy
rewrite also asks the graph's ``ShapeFeature`` for a length, which it
infers once per variable).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from arignote.graph.basic import Constant, Variable
from arignote.graph.fg import OUTPUT
from arignote.graph.rewriting.basic import node_rewriter
from arignote.graph.rewriting.stages import stabilize
from arignote.scalar import math as scalar_math
from arignote.scalar.basic import COMPLEX_DTYPES, INT_DTYPES
from arignote.tensor import math as tensor_math
from arignote.tensor.advanced_subtensor import AdvancedSubtensor
from arignote.tensor.alloc import ARange, zeros
from arignote.tensor.basic import cast, constant
from arignote.tensor.elemwise import DimShuffle, Elemwise, pad_left
from arignote.tensor.nnet.crossentropy import (
    CrossentropyCategorical1Hot,
    CrossentropySoftmaxArgmax1HotWithBias,
)
from arignote.tensor.nnet.softmax import LogSoftmax, Softmax
from arignote.tensor.reduction import CAReduce, LogSumExp, keep_reduced_dims
from arignote.tensor.rewriting.shape_feature import lengths_equal, shape_feature
from arignote.tensor.shape import SYMBOLIC

# A product is flattened through at most this many nested ``mul`` nodes when matching.
_MAX_NESTED_MULS = 4


# ---- matching helpers (shared with ``specialize``) --------------------------------------------
def elemwise_node(variable: Variable, scalar_op_class: type):
    """The node computing ``variable`` when it is an ``Elemwise`` of that scalar op class."""
    node = variable.owner
    if (
        node is not None
        and isinstance(node.op, Elemwise)
        and isinstance(node.op.scalar_op, scalar_op_class)
    ):
        return node
    return None


def constant_value(variable: Variable) -> np.ndarray | None:
    """The single value of a constant that broadcasts everywhere (every axis of static length 1),
    seen through ``DimShuffle``; ``None`` for anything else."""
    if not all(variable.type.broadcastable):
        return None
    while variable.owner is not None and isinstance(variable.owner.op, DimShuffle):
        variable = variable.owner.inputs[0]
    if isinstance(variable, Constant) and np.size(variable.data) == 1:
        return np.asarray(variable.data).reshape(())
    return None


def is_constant(variable: Variable, value: float) -> bool:
    found = constant_value(variable)
    return found is not None and bool(found == value)


def negated(variable: Variable) -> Variable | None:
    """``x`` when ``variable`` is ``neg(x)`` or ``-1 * x`` (of ``x``'s broadcast pattern)."""
    node = elemwise_node(variable, scalar_math.Neg)
    if node is not None:
        return node.inputs[0]
    node = elemwise_node(variable, scalar_math.Mul)
    if node is not None and len(node.inputs) == 2:
        for k, other in ((0, 1), (1, 0)):
            x = node.inputs[other]
            if is_constant(node.inputs[k], -1) and x.type.broadcastable == variable.broadcastable:
                return x
    return None


def negate(variable: Variable) -> Variable:
    """``-variable``, unwrapping a negation rather than adding a second one."""
    inner = negated(variable)
    return inner if inner is not None else tensor_math.neg(variable)


def fit(new: Variable, old: Variable, shape_sources: Sequence[Variable] = ()) -> Variable | None:
    """``new`` made to stand for ``old``: cast to its dtype, padded to its ndim, and spread
    (``fill``) over a source's shape where ``new`` broadcasts and ``old`` does not. ``None``
    when that cannot be done."""
    if new.dtype != old.dtype:
        if new.dtype in COMPLEX_DTYPES and old.dtype not in COMPLEX_DTYPES:
            return None
        new = cast(new, old.dtype)
    if new.ndim > old.ndim:
        return None
    new = pad_left(new, old.ndim)
    for source in shape_sources:
        if _broadcasts_wider(new, old) and source.ndim <= old.ndim:
            if any(
                s and not n
                for s, n in zip(pad_left(source, old.ndim).broadcastable, old.broadcastable)
            ):
                continue
            new = tensor_math.fill(source, new)
    return None if _broadcasts_wider(new, old) else new


def replacement(new: Variable, old: Variable, shape_sources: Sequence[Variable] = ()):
    """A rewrite's answer: ``[fit(new, old)]``, or ``None`` when ``new`` cannot stand for
    ``old``."""
    fitted = fit(new, old, shape_sources)
    return [fitted] if fitted is not None else None


def _broadcasts_wider(new: Variable, old: Variable) -> bool:
    return any(n and not o for n, o in zip(new.broadcastable, old.broadcastable))


def _product(factors: Sequence[Variable]) -> Variable | None:
    if not factors:
        return None
    return factors[0] if len(factors) == 1 else tensor_math.mul(*factors)


def _sum(terms: Sequence[Variable]) -> Variable:
    return terms[0] if len(terms) == 1 else tensor_math.add(*terms)


def _times(value: Variable, factors: Sequence[Variable]) -> Variable:
    return tensor_math.mul(value, *factors) if factors else value


def flat_factors(variable: Variable) -> list[Variable]:
    """The factors of a product, through nested ``mul`` nodes (a bounded number of them)."""
    factors, pending, expanded = [], [variable], 0
    while pending:
        current = pending.pop(0)
        node = elemwise_node(current, scalar_math.Mul)
        if node is not None and expanded < _MAX_NESTED_MULS:
            expanded += 1
            pending[:0] = node.inputs
        else:
            factors.append(current)
    return factors


def unpadded(variable: Variable) -> Variable:
    """``x`` when ``variable`` is ``x`` padded on the left with broadcastable axes (what
    ``Elemwise`` does to an input of fewer dimensions), else ``variable``."""
    node = variable.owner
    if node is not None and isinstance(node.op, DimShuffle):
        added = len(node.op.new_order) - node.op.input_ndim
        if added > 0 and node.op.new_order == ("x",) * added + tuple(range(node.op.input_ndim)):
            return node.inputs[0]
    return variable


def sigmoid_input(variable: Variable) -> Variable | None:
    """``x`` when ``variable`` is ``sigmoid(x)``, possibly padded with broadcastable axes."""
    node = elemwise_node(unpadded(variable), scalar_math.Sigmoid)
    return node.inputs[0] if node is not None else None


def _one_minus(variable: Variable) -> Variable | None:
    """``v`` when ``variable`` is ``1 - v`` or ``1 + (-v)`` (two-term forms)."""
    node = elemwise_node(variable, scalar_math.Sub)
    if node is not None and is_constant(node.inputs[0], 1):
        return node.inputs[1]
    node = elemwise_node(variable, scalar_math.Add)
    if node is not None and len(node.inputs) == 2:
        for k, other in ((0, 1), (1, 0)):
            if is_constant(node.inputs[k], 1):
                return negated(node.inputs[other])
    return None


def complemented_sigmoid(variable: Variable) -> Variable | None:
    """``x`` when ``variable`` is ``1 - sigmoid(x)``, in any spelling (``sigmoid(-x)`` too)."""
    argument = sigmoid_input(variable)
    if argument is not None:
        return negated(argument)
    subtracted = _one_minus(variable)
    return sigmoid_input(subtracted) if subtracted is not None else None


def _sigmoid_key(variable: Variable) -> tuple[str, Variable]:
    """What a factor is, for cancelling: ``("sigmoid", x)``, ``("complement", x)`` (of
    ``sigmoid(x)``), else ``("value", variable)``. Spellings of one value share a key."""
    x = complemented_sigmoid(variable)
    if x is not None:
        return ("complement", x)
    x = sigmoid_input(variable)
    if x is not None:
        return ("sigmoid", x)
    return ("value", variable)


def _logits_of_softmax(variable: Variable, op_class: type = Softmax) -> Variable | None:
    """``x`` when ``variable`` is ``op_class(x)`` over the last axis of a matrix."""
    node = variable.owner
    if node is None or not isinstance(node.op, op_class):
        return None
    x = node.inputs[0]
    return x if x.ndim == 2 and node.op.axis in (-1, 1) else None


def _logits_of_log_softmax(variable: Variable) -> Variable | None:
    """``x`` when ``variable`` is ``logsoftmax(x)`` or ``log(softmax(x))`` of a matrix."""
    x = _logits_of_softmax(variable, LogSoftmax)
    if x is not None:
        return x
    log_node = elemwise_node(variable, scalar_math.Log)
    return _logits_of_softmax(log_node.inputs[0]) if log_node is not None else None


def _softmax_nll(logits: Variable, labels: Variable, rows: Variable | None = None) -> Variable:
    """The negative log-likelihood of ``labels`` under ``softmax(logits)``, in one stable op;
    with ``rows``, of the first ``rows`` rows only.

    ``softmax(x + b)`` with ``b`` a row added to every row hands ``b`` to the op as its bias.
    """
    from arignote.tensor.shape import shape_i

    x, bias = logits, None
    add_node = elemwise_node(logits, scalar_math.Add)
    if add_node is not None and len(add_node.inputs) == 2:
        for k, other in ((0, 1), (1, 0)):
            row = add_node.inputs[k].owner
            if (
                row is not None
                and isinstance(row.op, DimShuffle)
                and row.op.new_order == ("x", 0)
                and row.inputs[0].dtype == logits.dtype
                and add_node.inputs[other].dtype == logits.dtype
                and add_node.inputs[other].ndim == 2
            ):
                x, bias = add_node.inputs[other], row.inputs[0]
    if bias is None:
        bias = zeros((shape_i(logits, 1),), dtype=logits.dtype)
    if rows is not None:
        x = x[:rows]
    return CrossentropySoftmaxArgmax1HotWithBias()(x, bias, labels)[0]


def _rows_picked(fgraph, rows: Variable, labels: Variable, logits: Variable):
    """Whether ``[arange(n), labels]`` picks one entry of every row of ``logits``, and which
    rows: ``(True, None)`` when ``n`` is its number of rows, ``(True, n)`` when ``n`` is the
    number of labels (the first ``n`` rows), else ``(False, None)``."""
    node = rows.owner
    if (
        node is None
        or not isinstance(node.op, ARange)
        or not is_constant(node.inputs[0], 0)
        or not is_constant(node.inputs[2], 1)
        or labels.dtype not in INT_DTYPES
        or labels.ndim != 1
        or labels.broadcastable[0]
    ):
        return False, None
    length = node.inputs[1]
    shapes = shape_feature(fgraph)
    if lengths_equal(length, shapes.length(logits, 0)):
        return True, None
    if lengths_equal(length, shapes.length(labels, 0)):
        return True, length
    return False, None


def _indexed_nll(fgraph, variable: Variable) -> Variable | None:
    """``-log(softmax(x))[arange(n), y]`` (with the log or the minus inside or outside the
    index, or ``logsoftmax``) as the stable op's output; ``None`` if ``variable`` is not one."""
    negative = negated(variable)
    sign_inside = negative is not None
    indexed = negative if sign_inside else variable
    log_node = elemwise_node(indexed, scalar_math.Log)
    if log_node is not None:  # log(softmax(x)[arange(n), y])
        node = log_node.inputs[0].owner
        source_logits = _logits_of_softmax
    else:
        node = indexed.owner
        source_logits = _logits_of_log_softmax
    if node is None or not isinstance(node.op, AdvancedSubtensor):
        return None
    if node.op.idx_list != (SYMBOLIC, SYMBOLIC):
        return None
    source, rows, labels = node.inputs
    inner = negated(source) if log_node is None else None
    logits = source_logits(inner if inner is not None else source)
    if logits is None:
        return None
    every_row, first_rows = _rows_picked(fgraph, rows, labels, logits)
    if not every_row:
        return None
    nll = _softmax_nll(logits, labels, first_rows)
    return nll if sign_inside != (inner is not None) else tensor_math.neg(nll)


# ---- rewrites -------------------------------------------------------------------------------
@node_rewriter([tensor_math.log.op])
def local_log_sigmoid(fgraph, node):
    """``log(sigmoid(x))`` → ``-softplus(-x)``; ``log(1 - sigmoid(x))`` → ``-softplus(x)``."""
    (argument,) = node.inputs
    x = complemented_sigmoid(argument)
    if x is not None:
        new = tensor_math.neg(tensor_math.softplus(x))
    else:
        x = sigmoid_input(argument)
        if x is None:
            return None
        new = tensor_math.neg(tensor_math.softplus(negate(x)))
    return replacement(new, node.outputs[0])


@node_rewriter([tensor_math.sub.op, tensor_math.add.op])
def local_one_minus_sigmoid(fgraph, node):
    """``1 - sigmoid(x)`` → ``sigmoid(-x)``, also as a term of a longer sum."""
    output = node.outputs[0]
    if elemwise_node(output, scalar_math.Sub) is not None:
        one, subtracted = node.inputs
        x = sigmoid_input(subtracted)
        if not is_constant(one, 1) or x is None:
            return None
        return replacement(tensor_math.sigmoid(negate(x)), output, [one])
    ones = [k for k, term in enumerate(node.inputs) if is_constant(term, 1)]
    for k, term in enumerate(node.inputs):
        minus = negated(term)
        x = sigmoid_input(minus) if minus is not None else None
        if x is None or not ones:
            continue
        rest = [t for j, t in enumerate(node.inputs) if j not in (k, ones[0])]
        new = _sum([tensor_math.sigmoid(negate(x)), *rest])
        return replacement(new, output, [node.inputs[ones[0]]])
    return None


@node_rewriter([tensor_math.log.op])
def local_log1p(fgraph, node):
    """``log(1 + x)`` → ``log1p(x)`` (``x`` may be a sum of several terms); ``log(1 - x)`` →
    ``log1p(-x)``. ``log(1 - sigmoid(x))`` is left to ``local_log_sigmoid``."""
    (argument,) = node.inputs
    if complemented_sigmoid(argument) is not None:
        return None
    sub_node = elemwise_node(argument, scalar_math.Sub)
    add_node = elemwise_node(argument, scalar_math.Add)
    if sub_node is not None and is_constant(sub_node.inputs[0], 1):
        one, x = sub_node.inputs[0], negate(sub_node.inputs[1])
    elif add_node is not None:
        ones = [k for k, term in enumerate(add_node.inputs) if is_constant(term, 1)]
        if not ones:
            return None
        one = add_node.inputs[ones[0]]
        x = _sum([t for k, t in enumerate(add_node.inputs) if k != ones[0]])
    else:
        return None
    if x.dtype in INT_DTYPES or x.dtype == "bool":
        return None  # 1 + x could wrap around in the integer dtype; log1p would not
    return replacement(tensor_math.log1p(x), node.outputs[0], [one])


@node_rewriter([tensor_math.sub.op, tensor_math.add.op])
def local_expm1(fgraph, node):
    """``exp(x) - 1`` → ``expm1(x)``, also ``exp(x) + (-1)`` among the terms of a sum."""
    output = node.outputs[0]
    if elemwise_node(output, scalar_math.Sub) is not None:
        exp_node = elemwise_node(node.inputs[0], scalar_math.Exp)
        if exp_node is None or not is_constant(node.inputs[1], 1):
            return None
        return replacement(tensor_math.expm1(exp_node.inputs[0]), output, [node.inputs[1]])
    minus_ones = [k for k, term in enumerate(node.inputs) if is_constant(term, -1)]
    exps = [k for k, term in enumerate(node.inputs) if elemwise_node(term, scalar_math.Exp)]
    if not minus_ones or not exps:
        return None
    exp_node = node.inputs[exps[0]].owner
    rest = [t for k, t in enumerate(node.inputs) if k not in (exps[0], minus_ones[0])]
    new = _sum([tensor_math.expm1(exp_node.inputs[0]), *rest])
    return replacement(new, output, [node.inputs[minus_ones[0]]])


@node_rewriter([tensor_math.log.op])
def local_log_softmax(fgraph, node):
    """``log(softmax(x))`` → ``logsoftmax(x)`` (same axis)."""
    softmax_node = node.inputs[0].owner
    if softmax_node is None or not isinstance(softmax_node.op, Softmax):
        return None
    new = LogSoftmax(softmax_node.op.axis)(softmax_node.inputs[0])
    return replacement(new, node.outputs[0])


@node_rewriter([tensor_math.log.op])
def local_log_sum_exp(fgraph, node):
    """``log(sum(exp(x), axis))`` → ``logsumexp(x, axis)``, max-shifted (``keepdims`` too)."""
    reduced = node.inputs[0]
    keepdims = reduced.owner is not None and isinstance(reduced.owner.op, DimShuffle)
    if keepdims:
        reduced = reduced.owner.inputs[0]
    sum_node = reduced.owner
    if sum_node is None or not isinstance(sum_node.op, CAReduce) or sum_node.op.kind != "sum":
        return None
    exp_node = elemwise_node(sum_node.inputs[0], scalar_math.Exp)
    if exp_node is None or exp_node.outputs[0].dtype != sum_node.op.dtype:
        return None
    x = exp_node.inputs[0]
    if x.dtype in COMPLEX_DTYPES:
        return None
    new = LogSumExp(sum_node.op.axis)(x)
    if keepdims:
        expected = keep_reduced_dims(new, sum_node.op.axis, x.ndim)
        if node.inputs[0].owner.op != expected.owner.op:
            return None
        new = expected
    return replacement(new, node.outputs[0])


@node_rewriter([tensor_math.log.op])
def local_log_exp(fgraph, node):
    """``log(exp(x))`` → ``x`` for real ``x`` (complex logarithms wrap the imaginary part)."""
    exp_node = elemwise_node(node.inputs[0], scalar_math.Exp)
    if exp_node is None or exp_node.inputs[0].dtype in COMPLEX_DTYPES:
        return None
    return replacement(exp_node.inputs[0], node.outputs[0])


@node_rewriter([tensor_math.sqrt.op])
def local_sqrt_sqr(fgraph, node):
    """``sqrt(sqr(x))`` (or ``sqrt(x * x)``, ``sqrt(x ** 2)``) → ``abs(x)`` for real float
    ``x``."""
    argument = node.inputs[0]
    sqr_node = elemwise_node(argument, scalar_math.Sqr)
    mul_node = elemwise_node(argument, scalar_math.Mul)
    pow_node = elemwise_node(argument, scalar_math.Pow)
    if sqr_node is not None:
        x = sqr_node.inputs[0]
    elif (
        mul_node is not None
        and len(mul_node.inputs) == 2
        and (mul_node.inputs[0] is mul_node.inputs[1])
    ):
        x = mul_node.inputs[0]
    elif pow_node is not None and is_constant(pow_node.inputs[1], 2):
        x = pow_node.inputs[0]
    else:
        return None
    if not x.dtype.startswith("float"):
        return None  # complex: sqrt(z**2) is not |z|; integers: the square may wrap around
    return replacement(tensor_math.abs(x), node.outputs[0], [argument])


@node_rewriter([CrossentropyCategorical1Hot])
def local_crossentropy_softmax(fgraph, node):
    """``crossentropy_categorical_1hot(softmax(x), y)`` → the stable op on the logits."""
    coding, labels = node.inputs
    logits = _logits_of_softmax(coding)
    if logits is None:
        return None
    return replacement(_softmax_nll(logits, labels), node.outputs[0])


@node_rewriter([AdvancedSubtensor, tensor_math.log.op, tensor_math.neg.op, tensor_math.mul.op])
def local_indexed_log_softmax(fgraph, node):
    """``-log(softmax(x))[arange(n), y]`` and its spellings → the stable op on the logits.

    An expression read only by its negation is left for the rewrite at that negation, so
    that no double negation is made.
    """
    output = node.outputs[0]
    clients = fgraph.clients[output]
    if (
        len(clients) == 1
        and clients[0][0] != OUTPUT
        and negated(clients[0][0].outputs[0]) is output
    ):
        return None
    new = _indexed_nll(fgraph, output)
    return replacement(new, output) if new is not None else None


def _signed_terms(variable: Variable) -> list[tuple[bool, Variable]]:
    """The terms of a sum (``add``, or ``sub``: its second term negative) as ``(negative,
    term)``; anything else is one positive term."""
    add_node = elemwise_node(variable, scalar_math.Add)
    if add_node is not None:
        return [(False, term) for term in add_node.inputs]
    sub_node = elemwise_node(variable, scalar_math.Sub)
    if sub_node is not None:
        return [(False, sub_node.inputs[0]), (True, sub_node.inputs[1])]
    return [(False, variable)]


def _inverted(variable: Variable) -> Variable | None:
    """``d`` when ``variable`` is ``reciprocal(d)`` or ``d ** -1``."""
    node = elemwise_node(variable, scalar_math.Reciprocal)
    if node is not None:
        return node.inputs[0]
    node = elemwise_node(variable, scalar_math.Pow)
    if node is not None and is_constant(node.inputs[1], -1):
        return node.inputs[0]
    return None


def _quotient(signed_term: tuple[bool, Variable]) -> tuple[bool, Variable, Variable] | None:
    """``(negative, numerator, divisor)`` when the term is ``±n / d``: a ``true_div``, or a
    product holding one ``true_div`` or one ``reciprocal`` (or ``** -1``), under at most two
    negations."""
    negative, term = signed_term
    for _ in range(2):
        inner = negated(term)
        if inner is None:
            break
        negative, term = not negative, inner
    divisor, numerators = None, []
    for factor in flat_factors(term):
        division = elemwise_node(factor, scalar_math.TrueDiv)
        if divisor is None and division is not None:
            divisor = division.inputs[1]
            numerators.append(division.inputs[0])
            continue
        inverted = _inverted(factor)
        if divisor is None and inverted is not None:
            divisor = inverted
        else:
            numerators.append(factor)
    if divisor is None:
        return None
    numerator = _product(numerators)
    if numerator is None:
        numerator = constant(np.ones((), dtype=term.dtype))
    return negative, numerator, divisor


def _cancelled(factors: list[Variable], keys: list, position: int, groups: dict) -> Variable:
    """The product of ``factors`` with the sum at ``position`` distributed over the others:
    ``groups`` maps each factor that divides some of its terms to those terms' numerators."""
    used = list(groups)
    rest = [f for j, f in enumerate(factors) if j != position and j not in groups]
    if (
        len(used) == 2
        and {keys[j][0] for j in used} == {"sigmoid", "complement"}
        and (keys[used[0]][1] is keys[used[1]][1])
    ):
        # a / s * s * c + b / c * s * c = a * c + b * s = a + (b - a) * s, with c = 1 - s.
        at_sigmoid = used[0] if keys[used[0]][0] == "sigmoid" else used[1]
        at_complement = used[1] if at_sigmoid == used[0] else used[0]
        a, b = _sum(groups[at_sigmoid]), _sum(groups[at_complement])
        return _times(a + (b - a) * factors[at_sigmoid], rest)
    terms = [
        _times(_sum(numerators), [factors[k] for k in used if k != j])
        for j, numerators in groups.items()
    ]
    return _times(_sum(terms), rest)


@node_rewriter([tensor_math.mul.op])
def local_mul_cancel_quotients(fgraph, node):
    """``(n / d) * d`` → ``n``, and a sum of quotients times their divisors distributed:
    ``(a / s + b / c) * s * c`` → ``a * c + b * s`` (``a + (b - a) * s`` for a sigmoid ``s``
    and its complement ``c``; see the module docstring). Divisors match factors by identity,
    or as spellings of one sigmoid or complement."""
    output = node.outputs[0]
    factors = flat_factors(output)
    keys = [_sigmoid_key(f) for f in factors]
    for position, factor in enumerate(factors):
        quotients = [_quotient(term) for term in _signed_terms(factor)]
        if any(q is None for q in quotients):
            continue
        groups: dict[int, list[Variable]] = {}
        for negative, numerator, divisor in quotients:
            key = _sigmoid_key(divisor)
            match = next((j for j in range(len(factors)) if j != position and keys[j] == key), None)
            if match is None:
                break
            groups.setdefault(match, []).append(negate(numerator) if negative else numerator)
        else:
            new = _cancelled(factors, keys, position, groups)
            return replacement(new, output, [factors[j] for j in groups])
    return None


def _is_one_hot_mask(mask: Variable) -> bool:
    """Whether ``mask`` is ``eq(y[:, None], arange(k)[None, :])`` for integer labels ``y``:
    at most one true entry per row (``one_hot_mask``, the cross-entropy gradients' mask)."""
    node = elemwise_node(mask, scalar_math.EQ)
    if node is None:
        return False
    patterns = [
        i.owner.op.new_order if i.owner is not None and isinstance(i.owner.op, DimShuffle) else None
        for i in node.inputs
    ]
    if set(patterns) != {(0, "x"), ("x", 0)}:
        return False
    labels, positions = (i.owner.inputs[0] for i in node.inputs)
    if patterns[0] == ("x", 0):
        labels, positions = positions, labels
    arange = positions.owner
    return (
        labels.dtype in INT_DTYPES
        and arange is not None
        and isinstance(arange.op, ARange)
        and is_constant(arange.inputs[0], 0)
        and is_constant(arange.inputs[2], 1)
    )


def _picked_by(picked: Variable, mask: Variable) -> Variable | None:
    """``d`` when ``picked`` is ``sum(switch(mask, d, 0), axis=1)``: each row's entry of ``d``
    at ``mask``."""
    node = picked.owner
    if node is None or not isinstance(node.op, CAReduce) or node.op.kind != "sum":
        return None
    selection = elemwise_node(node.inputs[0], scalar_math.Switch)
    if (
        node.op.axis != (1,)
        or selection is None
        or selection.inputs[0] is not mask
        or not is_constant(selection.inputs[2], 0)
    ):
        return None
    return selection.inputs[1]


@node_rewriter([tensor_math.mul.op])
def local_one_hot_quotient_cancel(fgraph, node):
    """``switch(mask, (n / d[mask])[:, None], 0) * d`` → ``switch(mask, n[:, None], 0)`` for a
    one-hot ``mask`` (one entry per row), where ``d[mask]`` is ``sum(switch(mask, d, 0),
    axis=1)``: the gradient of ``crossentropy_categorical_1hot(softmax(x), y)``, which would
    otherwise divide by a softmax entry that underflowed to 0."""
    output = node.outputs[0]
    factors = flat_factors(output)
    for position, factor in enumerate(factors):
        selection = elemwise_node(factor, scalar_math.Switch)
        if selection is None or not is_constant(selection.inputs[2], 0):
            continue
        mask, spread, zero = selection.inputs
        keep = spread.owner
        if keep is None or not isinstance(keep.op, DimShuffle) or keep.op.new_order != (0, "x"):
            continue
        quotient = _quotient((False, keep.inputs[0]))
        if quotient is None or not _is_one_hot_mask(mask):
            continue
        negative, numerator, picked = quotient
        divided = _picked_by(picked, mask)
        match = next((j for j, f in enumerate(factors) if j != position and f is divided), None)
        if divided is None or match is None:
            continue
        kept = keep.op(negate(numerator) if negative else numerator)
        rest = [f for j, f in enumerate(factors) if j not in (position, match)]
        new = _times(tensor_math.switch(mask, kept, zero), rest)
        return replacement(new, output, [divided])
    return None


def _kept_sum_of_exp(variable: Variable):
    """``(x, axes, keep)`` when ``variable`` is ``keep(sum(exp(x), axes))``: the sum with its
    reduced axes put back as broadcastable ones (``keepdims``), ``keep`` that DimShuffle."""
    node = variable.owner
    if node is None or not isinstance(node.op, DimShuffle):
        return None
    return _sum_of_exp_under(node.op, node.inputs[0])


def _sum_of_exp_under(keep: DimShuffle, reduced: Variable):
    """``(x, axes, keep)`` when ``reduced`` is ``sum(exp(x), axes)`` and ``keep`` restores its
    reduced axes."""
    sum_node = reduced.owner
    if sum_node is None or not isinstance(sum_node.op, CAReduce) or sum_node.op.kind != "sum":
        return None
    exp_node = elemwise_node(sum_node.inputs[0], scalar_math.Exp)
    if exp_node is None or exp_node.outputs[0].dtype != sum_node.op.dtype:
        return None
    x = exp_node.inputs[0]
    if x.dtype in COMPLEX_DTYPES:
        return None
    axes = sum_node.op.axis
    if keep != keep_reduced_dims(reduced, axes, x.ndim).owner.op:
        return None
    return x, axes, keep


def _exp_argument(variable: Variable) -> Variable | None:
    node = elemwise_node(variable, scalar_math.Exp)
    return node.inputs[0] if node is not None else None


def _normalized_exp(x: Variable, axes) -> Variable:
    """``exp(x) / sum(exp(x), axes, keepdims)`` computed as ``exp(x - logsumexp(x, axes))``."""
    return tensor_math.exp(x - keep_reduced_dims(LogSumExp(axes)(x), axes, x.ndim))


def _scaled_over_sum_exp(factor: Variable):
    """``(x, axes, n)`` when ``factor`` is ``n / keep(sum(exp(x), axes))``, spelt
    ``keep(n / s)``, ``n / keep(s)`` or with a ``reciprocal`` (``n`` is then ``None``), with
    ``n`` laid out as ``factor``; else ``None``."""
    node = factor.owner
    keep = node.op if node is not None and isinstance(node.op, DimShuffle) else None
    quotient = _quotient((False, node.inputs[0] if keep is not None else factor))
    if quotient is None or quotient[0]:
        return None
    _, numerator, divisor = quotient
    if keep is None:
        found = _kept_sum_of_exp(divisor)
    else:
        found = _sum_of_exp_under(keep, divisor)
        numerator = keep(numerator)
    if found is None:
        return None
    x, axes, _ = found
    return x, axes, None if is_constant(numerator, 1) else numerator


@node_rewriter([tensor_math.mul.op, tensor_math.true_div.op])
def local_exp_over_sum_exp(fgraph, node):
    """``exp(x) / sum(exp(x), axes, keepdims)`` → ``exp(x - logsumexp(x, axes, keepdims))``,
    also as ``exp(x) * keep(n / sum(exp(x), axes))`` (the gradient of ``logsumexp`` written
    naively), so neither overflows for large ``x``."""
    output = node.outputs[0]
    factors = flat_factors(output)
    if elemwise_node(output, scalar_math.TrueDiv) is not None:
        factors = [output]
    over = [_scaled_over_sum_exp(f) for f in factors]
    position = next((j for j, found in enumerate(over) if found is not None), None)
    if position is None:
        return None
    x, axes, scale = over[position]
    if factors[position] is output:  # exp(x) is in the numerator
        factors, scale = flat_factors(scale) if scale is not None else [], None
    else:
        factors = factors[:position] + factors[position + 1 :]
    exps = [j for j, f in enumerate(factors) if _exp_argument(f) is x]
    if not exps:
        return None
    rest = [f for j, f in enumerate(factors) if j != exps[0]]
    if scale is not None:
        rest.append(scale)
    return replacement(_times(_normalized_exp(x, axes), rest), output, node.inputs)


stabilize.register("local_log_sigmoid", local_log_sigmoid, "fast_run", "stabilize")
stabilize.register("local_one_minus_sigmoid", local_one_minus_sigmoid, "fast_run", "stabilize")
stabilize.register("local_log1p", local_log1p, "fast_run", "stabilize")
stabilize.register("local_expm1", local_expm1, "fast_run", "stabilize")
stabilize.register("local_log_softmax", local_log_softmax, "fast_run", "stabilize")
stabilize.register("local_log_sum_exp", local_log_sum_exp, "fast_run", "stabilize")
stabilize.register("local_log_exp", local_log_exp, "fast_run", "stabilize")
stabilize.register("local_sqrt_sqr", local_sqrt_sqr, "fast_run", "stabilize")
stabilize.register(
    "local_crossentropy_softmax", local_crossentropy_softmax, "fast_run", "stabilize"
)
stabilize.register("local_indexed_log_softmax", local_indexed_log_softmax, "fast_run", "stabilize")
stabilize.register(
    "local_mul_cancel_quotients", local_mul_cancel_quotients, "fast_run", "stabilize"
)
stabilize.register("local_exp_over_sum_exp", local_exp_over_sum_exp, "fast_run", "stabilize")
stabilize.register(
    "local_one_hot_quotient_cancel", local_one_hot_quotient_cancel, "fast_run", "stabilize"
)
