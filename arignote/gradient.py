"""Symbolic differentiation: ``grad``, ``Lop``, ``Rop``, ``jacobian``, ``hessian``, ``verify_grad``.

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

Forward mode (``Rop``) pushes tangents through each node with the op's
``R_op`` where it has one; every other op is pushed through by the
double-pullback identity: its ``L_op`` is linear in the output cotangent
``u``, so ``J v = d<J^T u, v>/du``, which needs nothing but ``L_op``.

``zero_grad``, ``disconnected_grad``, ``grad_clip`` and ``grad_scale`` are
identity ops whose only job is to shape the gradient that flows back.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arignote.config import config
from arignote.graph.basic import Apply, Constant, Variable
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


def _zero_cotangent(output: Variable) -> Variable:
    """The gradient of an output nothing differentiates: zeros, or disconnected for non-tensors."""
    if getattr(output.type, "dtype", None) is None:
        return disconnected_type()
    return _float_zeros_like(output)


def _scalar_one(dtype: str) -> Variable:
    """The seed of a scalar cost: a constant, so the gradient does not read the cost itself."""
    from arignote.tensor.basic import constant

    return constant(1, dtype=dtype)


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
        seeds[cost] = _scalar_one(cost.dtype)
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
            g if g is not None else _zero_cotangent(o) for g, o in zip(output_grads, node.outputs)
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
            # A consider_constant variable still gets its own gradient (subgraph_grad
            # asks for it); it only passes nothing on, as its node is never visited.
            if _is_discrete(variable):
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
        raise TypeError(
            f"verify_grad: the output has dtype {output.dtype}, not out_type={out_type}"
        )
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


# ---- pullbacks and pushforwards -----------------------------------------------------------
def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _shaped_like(template: Any, results: list) -> Any:
    """``results`` as a list, a tuple or a single value, as ``template`` was given."""
    if isinstance(template, tuple):
        return tuple(results)
    if isinstance(template, list):
        return results
    return results[0]


def Lop(
    f: Variable | Sequence[Variable],
    wrt: Variable | Sequence[Variable],
    eval_points: Any,
    consider_constant: Sequence[Variable] | None = None,
    disconnected_inputs: str = "raise",
):
    """Reverse mode: ``eval_points`` (one cotangent per ``f``) pulled back to ``wrt`` (v^T J).

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x"); v = T.vector("v")
    >>> Lop(x ** 2, x, v).eval({x: [1.0, 3.0], v: [1.0, 0.5]})
    array([2., 3.])
    """
    outputs, cotangents = _as_list(f), _as_list(eval_points)
    if len(outputs) != len(cotangents):
        raise ValueError(
            f"Lop: {len(outputs)} expressions but {len(cotangents)} eval_points; "
            "give one cotangent per expression"
        )
    known: dict[Variable, Any] = {}
    for output, cotangent in zip(outputs, cotangents):
        known[output] = cotangent if output not in known else known[output] + cotangent
    results = grad(
        None,
        _as_list(wrt),
        consider_constant=consider_constant,
        disconnected_inputs=disconnected_inputs,
        known_grads=known,
    )
    return _shaped_like(wrt, results)


def Rop(
    f: Variable | Sequence[Variable],
    wrt: Variable | Sequence[Variable],
    eval_points: Any,
    disconnected_outputs: str = "raise",
    return_disconnected: str = "zero",
):
    """Forward mode: the Jacobian of ``f`` with respect to ``wrt`` times ``eval_points`` (J v).

    Each op pushes the tangent through with its ``R_op`` where it has one, and
    by the double-pullback identity otherwise, so every op with an ``L_op``
    works. An ``f`` that does not depend on ``wrt`` is an error unless
    ``disconnected_outputs`` is ``'ignore'`` or ``'warn'``; ``return_disconnected``
    (``'zero'``, ``'None'``, ``'Disconnected'``) says what it gets.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x"); v = T.vector("v")
    >>> Rop(T.sin(x), x, v).eval({x: [0.0, np.pi], v: [2.0, 1.0]})
    array([ 2., -1.])
    """
    if disconnected_outputs not in ("ignore", "warn", "raise"):
        raise ValueError("disconnected_outputs must be 'ignore', 'warn' or 'raise'")
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError("return_disconnected must be 'zero', 'None' or 'Disconnected'")
    outputs, wrt_list, points = _as_list(f), _as_list(wrt), _as_list(eval_points)
    if len(wrt_list) != len(points):
        raise ValueError(
            f"Rop: {len(wrt_list)} wrt variables but {len(points)} eval_points; "
            "give one tangent per wrt variable"
        )
    tangents: dict[Variable, Variable] = {}
    for position, (variable, point) in enumerate(zip(wrt_list, points)):
        if not isinstance(variable, Variable):
            raise TypeError(
                f"Rop: wrt[{position}] must be a symbolic Variable, got {type(variable).__name__}"
            )
        if not _is_discrete(variable):
            tangents[variable] = _as_tangent_of(point, variable, f"Rop: eval_points[{position}]")
    for node in _nodes_between(wrt_list, outputs, set()):
        input_tangents = [tangents.get(x) for x in node.inputs]
        if all(t is None for t in input_tangents):
            continue
        for output, tangent in zip(node.outputs, _pushforward(node, input_tangents)):
            if tangent is None or isinstance(tangent.type, DisconnectedType):
                continue
            if not _is_discrete(output):
                tangents[output] = _as_tangent_of(tangent, output, f"{node.op}.R_op")
    results = []
    for output in outputs:
        if output in tangents:
            results.append(tangents[output])
            continue
        message = (
            f"Rop: {output!r} does not depend on the wrt variables (or only through "
            "non-differentiable operations); pass disconnected_outputs='ignore' or 'warn' "
            "to allow this"
        )
        if disconnected_outputs == "raise":
            raise DisconnectedInputError(message)
        if disconnected_outputs == "warn":
            warnings.warn(message, stacklevel=2)
        if return_disconnected == "zero":
            results.append(_float_zeros_like(output))
        elif return_disconnected == "None":
            results.append(None)
        else:
            results.append(disconnected_type())
    return _shaped_like(f, results)


def _as_tangent_of(term: Any, variable: Variable, source: str) -> Variable:
    """``term`` with ``variable``'s type: ndim checked, dtype cast, static shape matched."""
    from arignote.tensor.type import TensorType

    term = _as_gradient_of(term, variable, source)
    if not isinstance(variable.type, TensorType) or variable.type.is_super(term.type):
        return term
    narrowed = variable.type.convert_variable(term)
    if narrowed is None:
        raise ValueError(
            f"{source} gave a tangent of static shape {term.type.shape} for {variable!r}, "
            f"whose static shape is {variable.type.shape}"
        )
    return narrowed


def _pushforward(node: Apply, input_tangents: list[Variable | None]) -> list[Variable | None]:
    """The tangents of ``node``'s outputs (None: zero) given its inputs' tangents."""
    if type(node.op).R_op is not Op.R_op:
        try:
            return list(node.op.R_op(node.inputs, input_tangents))
        except NotImplementedError:
            pass
    return _pushforward_by_pullback(node, input_tangents)


def _pushforward_by_pullback(node: Apply, input_tangents: list[Variable | None]) -> list:
    """``J v`` as ``d<J^T u, v>/du``: ``L_op`` is linear in the cotangent ``u``.

    The derivative of the pairing with respect to each pulled-back term is
    the input's tangent, so those are handed to ``grad`` as known gradients.
    The result does not depend on ``u``'s value, only on its shape, so ``u``
    is replaced by the node's own output (same type) afterwards.
    """
    from arignote.graph.replace import clone_replace

    cotangents = [
        _float_zeros_like(o) if _is_discrete(o) else o.type.make_variable("cotangent")
        for o in node.outputs
    ]
    dummies = [j for j, o in enumerate(node.outputs) if not _is_discrete(o)]
    pulled = node.op.L_op(node.inputs, node.outputs, cotangents)
    known: dict[Variable, Variable] = {}
    for position, (x, term, tangent) in enumerate(zip(node.inputs, pulled, input_tangents)):
        if tangent is None or term is None or isinstance(term.type, DisconnectedType):
            continue
        if isinstance(term.type, NullType):
            raise NullTypeGradError(
                f"Rop: cannot push a tangent through {node.op}, which has no R_op, and whose "
                f"L_op is null for input {position}: {term.type.why_null}"
            )
        term = _as_gradient_of(term, x, f"{node.op}.L_op, for its input {position},")
        known[term] = known[term] + tangent if term in known else tangent
    results: list[Variable | None] = [None] * len(node.outputs)
    if not known or not dummies:
        return results
    derivatives = grad(
        None,
        [cotangents[j] for j in dummies],
        known_grads=known,
        disconnected_inputs="ignore",
        return_disconnected="None",
    )
    present = [(j, d) for j, d in zip(dummies, derivatives) if d is not None]
    if present:
        replaced = clone_replace(
            [d for _, d in present], {cotangents[j]: node.outputs[j] for j in dummies}
        )
        for (j, _), tangent in zip(present, replaced):
            results[j] = tangent
    return results


# ---- Jacobians and Hessians ---------------------------------------------------------------
def jacobian(
    expression: Any,
    wrt: Variable | Sequence[Variable],
    consider_constant: Sequence[Variable] | None = None,
    disconnected_inputs: str = "raise",
):
    """The Jacobian of a vector ``expression``: shape ``(len(expression),) + wrt.shape``.

    A scalar ``expression`` gives its gradient. When the expression's length
    is static, the rows are ``grad(expression[i], wrt)``, unrolled into the
    graph; otherwise (Theano used ``scan`` here) one ``JacobianRows`` node
    pulls back each basis vector at run time.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x")
    >>> jacobian(x ** 2, x).eval({x: [1.0, 3.0]})
    array([[2., 0.],
           [0., 6.]])
    """
    from arignote.tensor.alloc import zeros
    from arignote.tensor.basic import as_tensor_variable
    from arignote.tensor.join import stack
    from arignote.tensor.shape import shape_i

    expression = as_tensor_variable(expression)
    wrt_list = _as_list(wrt)
    options = {"consider_constant": consider_constant, "disconnected_inputs": disconnected_inputs}
    if expression.ndim == 0:
        return _shaped_like(wrt, _as_list(grad(expression, wrt_list, **options)))
    if expression.ndim != 1:
        raise TypeError(
            f"jacobian: the expression must be a vector or a scalar, but {expression} has "
            f"{expression.ndim} dimensions; flatten it first (T.flatten(expression))"
        )
    length = expression.type.shape[0]
    if length is None:
        return _shaped_like(wrt, _jacobian_at_run_time(expression, wrt_list, options))
    rows = [grad(expression[i], wrt_list, **options) for i in range(length)]
    results = []
    for k, variable in enumerate(wrt_list):
        if length:
            results.append(stack([row[k] for row in rows]))
        else:
            lengths = [shape_i(variable, axis) for axis in range(variable.ndim)]
            results.append(zeros([0, *lengths], dtype=_float_zeros_like(variable).dtype))
    return _shaped_like(wrt, results)


def _jacobian_at_run_time(expression: Variable, wrt_list: list, options: dict) -> list:
    from arignote.compile.builders import OpFromGraph
    from arignote.graph.traversal import graph_inputs

    cotangent = expression.type.make_variable("cotangent")
    pullback = grad(None, wrt_list, known_grads={expression: cotangent}, **options)
    free = [v for v in graph_inputs(pullback) if v is not cotangent and not isinstance(v, Constant)]
    op = JacobianRows(OpFromGraph([cotangent, *free], pullback, name="pullback"), len(wrt_list))
    node = op.make_node(expression.shape[0], *wrt_list, *free)
    return list(node.outputs)


class JacobianRows(Op):
    """Jacobian rows computed at run time: the pullback of each basis vector ``e_i``.

    Inputs: the expression's length ``m``, the ``wrt`` variables (for their
    shapes), then the pullback's own inputs. ``pullback`` is an
    ``OpFromGraph`` from (cotangent, *inputs) to one gradient per ``wrt``.
    Differentiating the result again needs ``scan``, which does not exist yet;
    its gradient is declared not implemented.
    """

    __props__ = ("pullback", "n_wrt")

    def __init__(self, pullback: Op, n_wrt: int):
        self.pullback = pullback
        self.n_wrt = n_wrt

    def make_node(self, length: Any, *inputs: Variable) -> Apply:
        from arignote.tensor.basic import as_tensor_variable
        from arignote.tensor.type import TensorType

        length = as_tensor_variable(length)
        wrt_list = inputs[: self.n_wrt]
        gradient_types = self.pullback.inner_outputs
        outputs = [
            TensorType(g.type.dtype, shape=(None, *w.type.shape)).make_variable()
            for g, w in zip(gradient_types, wrt_list)
        ]
        return Apply(self, [length, *inputs], outputs)

    def perform(self, node, inputs, output_storage):
        length, *rest = inputs
        wrt_values, free_values = rest[: self.n_wrt], rest[self.n_wrt :]
        cotangent_dtype = self.pullback.inner_inputs[0].type.dtype
        function = self.pullback.fn
        rows: list[list[np.ndarray]] = [[] for _ in range(self.n_wrt)]
        for i in range(int(length)):
            basis = np.zeros(int(length), dtype=cotangent_dtype)
            basis[i] = 1
            for k, row in enumerate(function(basis, *free_values)):
                rows[k].append(row)
        for cell, row_list, value, output in zip(output_storage, rows, wrt_values, node.outputs):
            dtype = output.type.dtype
            cell[0] = (
                np.stack(row_list).astype(dtype, copy=False)
                if row_list
                else np.zeros((0, *np.shape(value)), dtype=dtype)
            )

    def infer_shape(self, node, input_shapes):
        length = node.inputs[0]
        return [(length, *shape) for shape in input_shapes[1 : 1 + self.n_wrt]]

    def L_op(self, inputs, outputs, output_grads):
        why = "differentiating a Jacobian of run-time length needs scan"
        rest = [grad_not_implemented(self, i, x, why) for i, x in enumerate(inputs) if i > 0]
        return [None, *rest]


def hessian(
    cost: Any,
    wrt: Variable | Sequence[Variable],
    consider_constant: Sequence[Variable] | None = None,
    disconnected_inputs: str = "raise",
):
    """The Hessian of a scalar ``cost`` with respect to each vector in ``wrt``.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x")
    >>> hessian((x ** 3).sum(), x).eval({x: [1.0, 2.0]})
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    from arignote.tensor.basic import as_tensor_variable

    cost = as_tensor_variable(cost)
    if cost.ndim != 0:
        raise TypeError(f"hessian: the cost must be a scalar, but {cost} has {cost.ndim} dims")
    results = []
    for position, variable in enumerate(_as_list(wrt)):
        if not isinstance(variable, Variable) or variable.ndim != 1:
            raise TypeError(
                f"hessian: wrt[{position}] must be a vector (1-d) variable, got {variable!r}; "
                "flatten the parameter and rebuild the cost from the flat vector"
            )
        gradient = grad(cost, variable, consider_constant, disconnected_inputs)
        results.append(jacobian(gradient, variable, consider_constant, disconnected_inputs))
    return _shaped_like(wrt, results)


def subgraph_grad(
    wrt: Sequence[Variable],
    end: Sequence[Variable],
    start: dict[Variable, Any] | None = None,
    cost: Variable | None = None,
    details: bool = False,
):
    """Gradients of ``cost`` and/or of the ``start`` gradients, back to ``end`` only.

    The ``end`` variables are held constant (nothing flows past them); the
    gradients with respect to them are returned too, so the next segment of a
    graph can start from them. Returns ``(wrt_grads, end_grads)``, and with
    ``details=True`` also the gradients with respect to ``wrt`` and ``end``
    coming from ``start`` alone and from ``cost`` alone. Disconnected inputs
    get zeros.

    >>> import arignote.tensor as T
    >>> x = T.scalar("x"); h = 2 * x; c = h ** 2
    >>> (gx,), (gh,) = subgraph_grad([x], [h], cost=c)
    >>> float(gh.eval({x: 1.5})), float(gx.eval({x: 1.5}))
    (6.0, 0.0)
    """
    from arignote.tensor.math import add

    if not isinstance(wrt, (list, tuple)) or not isinstance(end, (list, tuple)):
        raise TypeError("subgraph_grad: wrt and end must be lists of variables")
    if start is not None and not isinstance(start, dict):
        raise TypeError("subgraph_grad: start must be a dict from variables to their gradients")
    if cost is None and not start:
        raise ValueError("subgraph_grad needs a cost, or start gradients")
    params = list(dict.fromkeys([*wrt, *end]))
    options = {"consider_constant": list(end), "disconnected_inputs": "ignore"}
    start_grads = grad(None, params, known_grads=start, **options) if start else None
    cost_grads = grad(cost, params, **options) if cost is not None else None
    if start_grads is None or cost_grads is None:
        totals = start_grads if start_grads is not None else cost_grads
    else:
        totals = [add(a, b) for a, b in zip(start_grads, cost_grads)]
    by_param = dict(zip(params, totals))
    wrt_grads = [by_param[v] for v in wrt]
    end_grads = [by_param[v] for v in end]
    if details:
        return wrt_grads, end_grads, start_grads, cost_grads
    return wrt_grads, end_grads


# ---- identity ops that shape the gradient -------------------------------------------------
class _Identity:
    """Forward: the input itself (a view). Mixed into the gradient-shaping ops below."""

    def make_node(self, x: Any) -> Apply:
        from arignote.tensor.basic import as_tensor_variable

        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])  # type: ignore[arg-type]

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]


class ZeroGrad(_Identity, Op):
    """Identity whose gradient (and tangent) is zero: ``x`` acts as a constant."""

    def L_op(self, inputs, outputs, output_grads):
        return [_float_zeros_like(inputs[0])]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else _float_zeros_like(inputs[0])]


class DisconnectedGrad(_Identity, Op):
    """Identity that cuts the graph for ``grad``: ``x`` is disconnected from the output."""

    def connection_pattern(self, node):
        return [[False]]

    def L_op(self, inputs, outputs, output_grads):
        return [disconnected_type()]

    def R_op(self, inputs, eval_points):
        return [None]


class GradClip(_Identity, Op):
    """Identity whose gradient is clipped to ``[clip_lower_bound, clip_upper_bound]``."""

    __props__ = ("clip_lower_bound", "clip_upper_bound")

    def __init__(self, clip_lower_bound: float, clip_upper_bound: float):
        if not clip_lower_bound <= clip_upper_bound:
            raise ValueError(
                f"grad_clip: the lower bound {clip_lower_bound} is above the upper bound "
                f"{clip_upper_bound}"
            )
        self.clip_lower_bound = clip_lower_bound
        self.clip_upper_bound = clip_upper_bound

    def L_op(self, inputs, outputs, output_grads):
        from arignote.tensor.math import clip

        return [clip(output_grads[0], self.clip_lower_bound, self.clip_upper_bound)]

    def R_op(self, inputs, eval_points):
        return [eval_points[0]]


class GradScale(_Identity, Op):
    """Identity whose gradient is multiplied by ``multiplier`` (a number or a scalar variable)."""

    __props__ = ("multiplier",)

    def __init__(self, multiplier: Any):
        self.multiplier = multiplier

    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0] * self.multiplier]

    def R_op(self, inputs, eval_points):
        return [eval_points[0]]


def zero_grad(x: Any) -> Variable:
    """``x``, with a zero gradient: nothing is backpropagated through it.

    >>> import arignote.tensor as T
    >>> x = T.scalar("x")
    >>> float(grad(x * zero_grad(x), x).eval({x: 3.0}))
    3.0
    """
    return ZeroGrad()(x)


def consider_constant(x: Any) -> Variable:
    """Theano's older name for ``zero_grad``: ``x`` is a constant for ``grad``."""
    return ZeroGrad()(x)


def disconnected_grad(x: Any) -> Variable:
    """``x``, disconnected for ``grad``: a ``wrt`` reached only through it is disconnected.

    >>> import arignote.tensor as T
    >>> x = T.scalar("x")
    >>> float(grad(x * disconnected_grad(x), x).eval({x: 3.0}))
    3.0
    """
    return DisconnectedGrad()(x)


def grad_clip(x: Any, lower_bound: float, upper_bound: float) -> Variable:
    """``x``, with the gradient that flows back through it clipped to the bounds.

    >>> import arignote.tensor as T
    >>> x = T.scalar("x")
    >>> float(grad(grad_clip(x, -1.0, 1.0) ** 2, x).eval({x: 3.0}))
    1.0
    """
    return GradClip(lower_bound, upper_bound)(x)


def grad_scale(x: Any, multiplier: Any) -> Variable:
    """``x``, with the gradient that flows back through it multiplied by ``multiplier``.

    >>> import arignote.tensor as T
    >>> x = T.scalar("x")
    >>> float(grad(grad_scale(x, 0.5) ** 2, x).eval({x: 3.0}))
    3.0
    """
    return GradScale(multiplier)(x)
