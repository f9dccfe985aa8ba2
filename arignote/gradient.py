"""Symbolic differentiation: ``grad`` (reverse mode) and ``verify_grad``.

``grad`` walks the nodes between the ``wrt`` variables and the cost in
reverse topological order (iteratively), asks each op for its pullback
(``L_op``) and sums the contributions that reach every variable. The
result is an ordinary graph, so gradients of gradients work.

Conventions, as in Theano:

- a gradient with respect to an integer or bool variable is zero;
- an op may answer ``grad_undefined``/``grad_not_implemented`` for an
  input; ``grad`` raises, naming the op, only if that gradient is needed.
  Such a null gradient spreads to everything upstream of it and wins over
  any sum it takes part in;
- an op answers ``None`` (or a ``DisconnectedType`` variable) for an
  input its outputs do not depend on.

Every term an op returns is checked against its variable when it is
collected: the same ndim (else an error naming the op), cast to the
variable's dtype, and spread to its shape where it is broadcastable and the
variable is not, so every gradient has its variable's type.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arignote.config import config
from arignote.graph.basic import Variable
from arignote.graph.op import Op
from arignote.graph.traversal import ancestors, io_toposort
from arignote.graph.type import Type
from arignote.scalar.basic import CONTINUOUS_DTYPES, DISCRETE_DTYPES


class NullType(Type):
    """The type of a gradient that does not exist; ``why_null`` says why."""

    def __init__(self, why_null: str):
        self.why_null = why_null

    def filter(self, value, strict=False, allow_downcast=None):
        raise ValueError(f"no value can be computed for a null gradient: {self.why_null}")

    def __eq__(self, other):
        return type(other) is NullType and other.why_null == self.why_null

    def __hash__(self):
        return hash((NullType, self.why_null))

    def __str__(self):
        return "NullType"


class DisconnectedType(Type):
    """The type of the gradient of an output with respect to an input it ignores."""

    def filter(self, value, strict=False, allow_downcast=None):
        raise ValueError("a disconnected gradient has no value")

    def __eq__(self, other):
        return type(other) is DisconnectedType

    def __hash__(self):
        return hash(DisconnectedType)

    def __str__(self):
        return "DisconnectedType"


class NullTypeGradError(TypeError):
    """A requested gradient passes through an op that does not define it."""


class DisconnectedInputError(ValueError):
    """A ``wrt`` variable that the cost does not depend on."""


def disconnected_type() -> Variable:
    return DisconnectedType().make_variable()


def grad_undefined(op: Op, position: int, variable: Variable, comment: str = "") -> Variable:
    """The gradient of ``op`` with respect to its input ``position`` is mathematically undefined."""
    reason = f"the gradient of {op} with respect to its input {position} is undefined"
    return NullType(f"{reason}{': ' + comment if comment else ''}").make_variable()


def grad_not_implemented(op: Op, position: int, variable: Variable, comment: str = "") -> Variable:
    """The gradient exists in principle but ``op`` does not implement it."""
    reason = f"{op} does not implement the gradient with respect to its input {position}"
    return NullType(f"{reason}{': ' + comment if comment else ''}").make_variable()


def _is_discrete(variable: Variable) -> bool:
    return getattr(variable.type, "dtype", None) in DISCRETE_DTYPES


def _float_zeros_like(variable: Variable) -> Variable:
    from arignote.tensor.basic import cast, constant
    from arignote.tensor.math import fill

    dtype = variable.dtype if variable.dtype in CONTINUOUS_DTYPES else config.floatX
    return fill(variable, cast(constant(0), dtype))


def _ones_like(variable: Variable) -> Variable:
    from arignote.tensor.basic import cast, constant
    from arignote.tensor.math import fill

    return fill(variable, cast(constant(1), variable.dtype))


def _sum_terms(terms: list[Variable]) -> Variable:
    from arignote.tensor.math import add

    return terms[0] if len(terms) == 1 else add(*terms)


def _nodes_between(wrt: Sequence[Variable], roots: Sequence[Variable], blocked: set) -> list:
    """Nodes on some path from a ``wrt`` variable to a root, in topological order."""
    nodes = io_toposort(list(blocked), roots)
    reached = set(wrt)
    relevant = []
    for node in nodes:
        if any(i in reached for i in node.inputs):
            relevant.append(node)
            reached.update(node.outputs)
    return relevant


def _as_gradient_of(term: Any, variable: Variable, source: str) -> Any:
    """``term`` checked against ``variable``: same ndim, cast to its dtype, spread to its shape.

    ``source`` says where the term came from, for the error message.
    """
    from arignote.tensor.basic import as_tensor_variable, cast
    from arignote.tensor.math import fill
    from arignote.tensor.type import TensorType

    if not isinstance(variable.type, TensorType):
        return term
    term = as_tensor_variable(term)
    if term.ndim != variable.ndim:
        raise ValueError(
            f"{source} gave a gradient of {term.ndim} dimensions for {variable!r}, "
            f"which has {variable.ndim}"
        )
    if term.dtype != variable.dtype:
        term = cast(term, variable.dtype)
    if any(t and not v for t, v in zip(term.broadcastable, variable.broadcastable)):
        term = fill(variable, term)
    return term


def grad(
    cost: Variable | None,
    wrt: Variable | Sequence[Variable],
    consider_constant: Sequence[Variable] | None = None,
    disconnected_inputs: str = "raise",
    add_names: bool = True,
    known_grads: dict[Variable, Any] | None = None,
    return_disconnected: str = "zero",
    null_gradients: str = "raise",
):
    """The gradient of a scalar ``cost`` with respect to ``wrt`` (a variable or a list).

    ``consider_constant`` variables are treated as constants (nothing flows
    through them); ``known_grads`` maps variables to gradients given from
    outside (with or without a cost). A ``wrt`` the cost does not depend on
    is an error unless ``disconnected_inputs`` is ``'ignore'`` or ``'warn'``;
    then ``return_disconnected`` picks what is returned for it: ``'zero'``,
    ``'None'`` or ``'Disconnected'`` (a ``DisconnectedType`` variable). An
    undefined gradient raises ``NullTypeGradError`` unless ``null_gradients``
    is ``'return'``, which returns the ``NullType`` variable.

    >>> import arignote.tensor as T
    >>> x = T.scalar("x")
    >>> float(grad(x ** 3, x).eval({x: 2.0}))
    12.0
    """
    from arignote.tensor.basic import as_tensor_variable

    if disconnected_inputs not in ("ignore", "warn", "raise"):
        raise ValueError("disconnected_inputs must be 'ignore', 'warn' or 'raise'")
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError("return_disconnected must be 'zero', 'None' or 'Disconnected'")
    if null_gradients not in ("raise", "return"):
        raise ValueError("null_gradients must be 'raise' or 'return'")
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    for position, variable in enumerate(wrt_list):
        if not isinstance(variable, Variable):
            raise TypeError(
                f"grad: wrt[{position}] must be a symbolic Variable, got {type(variable).__name__}"
            )

    seeds: dict[Variable, Variable] = {}
    if cost is not None:
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(
                f"grad: the cost must be a scalar (0-d), but {cost} has {cost.ndim} dimensions "
                f"(type {cost.type}); reduce it first, e.g. cost.sum() or cost.mean()"
            )
        if cost.dtype not in CONTINUOUS_DTYPES:
            raise TypeError(f"grad: the cost must be a float, but {cost} has dtype {cost.dtype}")
        seeds[cost] = _ones_like(cost)
    for variable, gradient in (known_grads or {}).items():
        seeds[variable] = _as_gradient_of(gradient, variable, "known_grads")
    if not seeds:
        raise ValueError("grad needs a cost, or known_grads")

    blocked = set(consider_constant or ())
    terms: dict[Variable, list[Variable]] = {v: [g] for v, g in seeds.items()}
    # A null (undefined) gradient wins over any sum it takes part in, and spreads to
    # everything upstream of it; discrete variables are exempt (their gradient is zero).
    null_reasons: dict[Variable, str] = {}
    for node in reversed(_nodes_between(wrt_list, list(seeds), blocked)):
        if _spread_null_gradients(node, null_reasons):
            continue
        output_grads = [
            _sum_terms(terms[o]) if o in terms and o not in null_reasons else None
            for o in node.outputs
        ]
        if all(g is None for g in output_grads):
            continue
        output_grads = [
            g if g is not None else _float_zeros_like(o) for g, o in zip(output_grads, node.outputs)
        ]
        input_grads = node.op.L_op(node.inputs, node.outputs, output_grads)
        if len(input_grads) != len(node.inputs):
            raise ValueError(
                f"{node.op}.L_op returned {len(input_grads)} gradients "
                f"for {len(node.inputs)} inputs"
            )
        for position, (variable, term) in enumerate(zip(node.inputs, input_grads)):
            if term is None or isinstance(getattr(term, "type", None), DisconnectedType):
                continue
            if variable in blocked or _is_discrete(variable):
                continue
            if isinstance(term.type, NullType):
                null_reasons.setdefault(variable, term.type.why_null)
                continue
            source = f"{node.op}.L_op, for its input {position},"
            terms.setdefault(variable, []).append(_as_gradient_of(term, variable, source))

    results = []
    for variable in wrt_list:
        if variable in null_reasons:
            if null_gradients == "raise":
                raise NullTypeGradError(
                    f"grad: cannot compute the gradient with respect to {variable!r}: "
                    f"{null_reasons[variable]}"
                )
            results.append(NullType(null_reasons[variable]).make_variable())
            continue
        if variable in terms and not _is_discrete(variable):
            gradient = _sum_terms(terms[variable])
            if add_names and gradient.name is None and variable.name and cost is not None:
                gradient.name = f"(d{cost.name or 'cost'}/d{variable.name})"
            results.append(gradient)
            continue
        if _is_discrete(variable) and variable in set(ancestors(list(seeds), blocked)):
            results.append(_float_zeros_like(variable))
            continue
        message = (
            f"grad: the cost does not depend on {variable!r} (it is not part of the cost's "
            "graph, or only reaches it through non-differentiable operations); pass "
            "disconnected_inputs='ignore' or 'warn' to allow this"
        )
        if disconnected_inputs == "raise":
            raise DisconnectedInputError(message)
        if disconnected_inputs == "warn":
            warnings.warn(message, stacklevel=2)
        if return_disconnected == "zero":
            results.append(_float_zeros_like(variable))
        elif return_disconnected == "None":
            results.append(None)
        else:
            results.append(disconnected_type())
    return results[0] if single else results


def _spread_null_gradients(node: Any, null_reasons: dict[Variable, str]) -> bool:
    """Mark the inputs that a null output gradient reaches; True if none is left to pull back."""
    null_outputs = [j for j, o in enumerate(node.outputs) if o in null_reasons]
    if not null_outputs:
        return False
    reason = null_reasons[node.outputs[null_outputs[0]]]
    pattern = node.op.connection_pattern(node)
    for position, variable in enumerate(node.inputs):
        if not _is_discrete(variable) and any(pattern[position][j] for j in null_outputs):
            null_reasons.setdefault(variable, reason)
    return all(v in null_reasons or _is_discrete(v) for v in node.inputs)


class GradientError(AssertionError):
    """``verify_grad`` found a symbolic gradient that disagrees with finite differences."""


def verify_grad(
    fun: Callable[..., Variable],
    pt: Sequence[Any],
    n_tests: int = 2,
    rng: np.random.Generator | np.random.RandomState | None = None,
    eps: float | None = None,
    out_type: str | None = None,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
    mode: Any = None,
) -> None:
    """Check ``grad`` of ``fun`` at ``pt`` against central finite differences.

    The arguments are Theano's, in Theano's order; ``out_type``, if given,
    is the dtype the output must have.

    The inputs get the points' dtypes, and a dimension of length 1 in a point
    is declared broadcastable (as Theano did), so ``fun`` may broadcast it.
    The output is projected on a random direction, so that one scalar cost
    covers every output element. Raises ``GradientError`` with the input,
    the largest errors and where they occur; a NaN on either side counts as
    a disagreement.

    >>> import numpy as np
    >>> import arignote.tensor as T
    >>> verify_grad(lambda x: T.tanh(x) * x, [np.array([0.3, -1.2])], rng=np.random.default_rng(0))
    """
    from arignote.compile.function import function
    from arignote.tensor.basic import as_tensor_variable
    from arignote.tensor.type import TensorType

    rng = rng if rng is not None else np.random.default_rng()
    points = [np.array(p, dtype=p.dtype if hasattr(p, "dtype") else config.floatX) for p in pt]
    for position, value in enumerate(points):
        if value.dtype.kind != "f":
            raise TypeError(f"verify_grad: point {position} has dtype {value.dtype}, not a float")
    lowest = min(np.finfo(p.dtype).bits for p in points) if points else 64
    eps = eps if eps is not None else (1e-6 if lowest >= 64 else 1e-3)
    abs_tol = abs_tol if abs_tol is not None else (1e-4 if lowest >= 64 else 1e-2)
    rel_tol = rel_tol if rel_tol is not None else (1e-4 if lowest >= 64 else 1e-2)

    inputs = [
        TensorType(p.dtype, shape=[1 if n == 1 else None for n in p.shape]).make_variable(
            f"input{i}"
        )
        for i, p in enumerate(points)
    ]
    output = as_tensor_variable(fun(*inputs))
    if output.dtype not in CONTINUOUS_DTYPES:
        raise TypeError(f"verify_grad: the function's output has dtype {output.dtype}, not a float")
    if out_type is not None and output.dtype != out_type:
        raise TypeError(f"verify_grad: the output has dtype {output.dtype}, not out_type={out_type}")
    direction = output.type.make_variable("direction")
    cost = (output * direction).sum()
    gradients = grad(cost, inputs, disconnected_inputs="ignore")
    output_shape = np.shape(function(inputs, output, mode=mode)(*points))
    cost_fn = function([*inputs, direction], cost, mode=mode, on_unused_input="ignore")
    gradient_fn = function([*inputs, direction], gradients, mode=mode, on_unused_input="ignore")
    for _ in range(n_tests):
        projection = np.asarray(rng.random(output_shape) + 0.5, dtype=output.dtype)
        symbolic = gradient_fn(*points, projection)
        for position, point in enumerate(points):
            analytic = np.asarray(symbolic[position])
            if analytic.shape != point.shape:
                raise GradientError(
                    f"verify_grad: the gradient of input {position} has shape {analytic.shape}, "
                    f"but the input has shape {point.shape}"
                )
            numeric = _central_differences(cost_fn, [*points, projection], position, eps)
            error = np.abs(numeric - analytic)
            relative = error / np.maximum(np.abs(numeric) + np.abs(analytic), 1e-8)
            bad = ~(error <= abs_tol) & ~(relative <= rel_tol)
            if np.any(bad):
                ranked = np.where(bad, np.nan_to_num(error, nan=np.inf), -1.0)
                where = np.unravel_index(int(np.argmax(ranked)), point.shape)
                raise GradientError(
                    f"verify_grad: gradient of input {position} (shape {point.shape}) disagrees "
                    f"with finite differences at {int(bad.sum())} of {bad.size} elements; worst at "
                    f"index {where}: analytic {analytic[where]!r} vs numeric {numeric[where]!r} "
                    f"(abs error {error[where]:.3g}, relative {relative[where]:.3g})"
                )


# Theano's tests catch ``verify_grad.E_grad``.
verify_grad.E_grad = GradientError  # type: ignore[attr-defined]


def _central_differences(cost_fn, points: list[np.ndarray], position: int, eps: float):
    base = [p.copy() for p in points]
    target = base[position]
    numeric = np.zeros(target.shape, dtype="float64")
    flat = target.reshape(-1)
    for index in range(flat.size):
        original = flat[index]
        flat[index] = original + eps
        plus = float(cost_fn(*base))
        flat[index] = original - eps
        minus = float(cost_fn(*base))
        flat[index] = original
        numeric.reshape(-1)[index] = (plus - minus) / (2 * eps)
    return numeric
