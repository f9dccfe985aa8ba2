"""Canonical forms of shape-handling ops: useless ones removed, chains merged, ``fill`` sunk.

- Removed when they change nothing: ``reshape`` to the shape ``x`` already has
  (known equal through the shape feature or the static types), a ``dimshuffle``
  that keeps every axis in place, a ``cast`` to the dtype ``x`` has, a
  ``subtensor`` ``x[:]``/``x[0:n]`` with ``n`` the length of ``x``, an ``alloc`` of a
  value that already has the output's broadcast pattern.
- Merged: ``reshape(reshape(x))``, ``dimshuffle(dimshuffle(x))``, ``alloc(alloc(v))``,
  ``cast(cast(x))`` when the inner cast is exact.
- ``fill(s, v)`` (``second``, which gradients make plenty of) becomes ``v`` when
  ``v`` already has the output's broadcast pattern, else ``alloc(v, *shape(s))``
  with the shape from the shape feature, so ``s`` need not be computed. An input
  of an elementwise op made by ``alloc`` or ``fill`` is replaced by the value
  when the other inputs already give the output its shape
  (``fill(s, -1) * (1 - y)`` → ``-1 * (1 - y)``), and an elementwise op of one
  ``alloc`` and scalars is computed on the small value before the ``alloc``.

What a removed op checked at run time (that a reshape's sizes agree, that
``alloc``'s value fits the requested shape, that the shapes of ``fill``'s
arguments broadcast) is no longer checked when the graph was wrong, as in
Theano; a correct graph computes the same values.
"""

from __future__ import annotations

import sys

import numpy as np

from arignote.graph.basic import Constant, Variable
from arignote.graph.rewriting.basic import node_rewriter
from arignote.graph.rewriting.stages import canonicalize
from arignote.scalar import math as scalar_math
from arignote.tensor.alloc import Alloc
from arignote.tensor.elemwise import DimShuffle, Elemwise, pad_left
from arignote.tensor.rewriting.canonicalize import elemwise_of, keeps_type
from arignote.tensor.rewriting.shape_feature import (
    is_shape_i_of,
    known_length,
    lengths_equal,
    shape_feature,
)
from arignote.tensor.shape import MakeVector, Reshape, Shape
from arignote.tensor.subtensor import IndexSlice, Subtensor, fill_entries


def _replaceable(old: Variable, new: Variable) -> bool:
    """Whether ``new`` may replace ``old``: same dtype and ndim. Where the static shape of
    ``new`` is less precise, the graph narrows it itself (with ``specify_shape``)."""
    return new.type.dtype == old.type.dtype and new.type.ndim == old.type.ndim


# ---- reshape ---------------------------------------------------------------------------------
def _requested_lengths(fgraph, shape_vector: Variable) -> list[Variable | int] | None:
    """The entries of a reshape's shape vector, when they can be read without computing it."""
    if isinstance(shape_vector, Constant):
        return [int(n) for n in np.asarray(shape_vector.data).reshape(-1)]
    node = shape_vector.owner
    if node is not None and isinstance(node.op, MakeVector):
        return [known_length(v) if known_length(v) is not None else v for v in node.inputs]
    if node is not None and isinstance(node.op, Shape):
        return list(shape_feature(fgraph).shape_of(node.inputs[0]))
    return None


@node_rewriter([Reshape])
def local_useless_reshape(fgraph, node):
    """``reshape(x, s)`` → ``x`` when ``s`` is ``x``'s shape (``-1`` allowed once, where every
    other length matches), or when both are vectors."""
    x, shape_vector = node.inputs
    out = node.outputs[0]
    if x.ndim != out.ndim:
        return None
    if x.ndim == 1 or (None not in x.type.shape and x.type.shape == out.type.shape):
        return [x]
    requested = _requested_lengths(fgraph, shape_vector)
    if requested is None:
        return None
    lengths = shape_feature(fgraph).shape_of(x)
    unmatched = []
    for axis, (wanted, length) in enumerate(zip(requested, lengths)):
        if isinstance(wanted, int):
            if wanted != known_length(length):
                unmatched.append(wanted)
        elif not (lengths_equal(wanted, length) or is_shape_i_of(wanted, x, axis)):
            unmatched.append(wanted)
    if unmatched == [] or unmatched == [-1]:
        return [x]
    return None


@node_rewriter([Reshape])
def local_reshape_chain(fgraph, node):
    """``reshape(reshape(x, s1), s2)`` → ``reshape(x, s2)``."""
    inner, shape_vector = node.inputs
    if inner.owner is None or not isinstance(inner.owner.op, Reshape):
        return None
    new = node.op(inner.owner.inputs[0], shape_vector)
    return [new] if _replaceable(node.outputs[0], new) else None


# ---- dimshuffle ------------------------------------------------------------------------------
@node_rewriter([DimShuffle])
def local_useless_dimshuffle(fgraph, node):
    """A ``dimshuffle`` that keeps every axis in place → its input."""
    if node.op.new_order != tuple(range(node.op.input_ndim)):
        return None
    return [node.inputs[0]]


@node_rewriter([DimShuffle])
def local_dimshuffle_dimshuffle(fgraph, node):
    """Two ``dimshuffle``s in a row → one (or none, when they cancel: ``x.T.T`` → ``x``)."""
    inner = node.inputs[0]
    if inner.owner is None or not isinstance(inner.owner.op, DimShuffle):
        return None
    inner_order = inner.owner.op.new_order
    order = tuple("x" if o == "x" else inner_order[o] for o in node.op.new_order)
    x = inner.owner.inputs[0]
    if order == tuple(range(x.ndim)):
        return [x]
    return [DimShuffle(x.ndim, order)(x)]


# ---- cast ------------------------------------------------------------------------------------
@node_rewriter([Elemwise])
def local_useless_cast(fgraph, node):
    """``cast(x, d)`` → ``x`` when ``x`` has dtype ``d``; ``cast(cast(x, w), d)`` →
    ``cast(x, d)`` when ``w`` holds every value of ``x`` exactly."""
    if not isinstance(node.op.scalar_op, scalar_math.Cast):
        return None
    (x,) = node.inputs
    if x.dtype == node.outputs[0].dtype:
        return [x]
    if elemwise_of(x, scalar_math.Cast) and holds_exactly(x.dtype, x.owner.inputs[0].dtype):
        return [node.op(x.owner.inputs[0])]
    return None


def holds_exactly(wide: str, narrow: str) -> bool:
    """Whether every value of dtype ``narrow`` is exactly a value of dtype ``wide`` (NumPy's
    "safe" casts, less integers too long for a float's mantissa: int64 in float64).

    >>> holds_exactly("float64", "int32"), holds_exactly("float64", "int64")
    (True, False)
    """
    narrow_type, wide_type = np.dtype(narrow), np.dtype(wide)
    if not np.can_cast(narrow_type, wide_type, "safe"):
        return False
    if narrow_type.kind in "iu" and wide_type.kind in "fc":
        magnitude_bits = 8 * narrow_type.itemsize - (narrow_type.kind == "i")
        return np.finfo(wide_type).nmant + 1 >= magnitude_bits
    return True


# ---- subtensor -------------------------------------------------------------------------------
def _bound_value(bound: Variable | int | None) -> int | None:
    """A slice bound's value when it is known now (an int, or a constant input)."""
    if bound is None or isinstance(bound, int):
        return bound
    return known_length(bound)


def _is_full_slice(fgraph, x: Variable, axis: int, entry: slice) -> bool:
    """Whether ``entry`` (bounds: None, ints or index inputs) takes all of ``x``'s axis."""
    if entry.step is not None and _bound_value(entry.step) != 1:
        return False
    if entry.start is not None and _bound_value(entry.start) != 0:
        return False
    if entry.stop is None:
        return True
    stop = _bound_value(entry.stop)
    static = x.type.shape[axis]
    if stop is not None:
        return stop >= sys.maxsize or (static is not None and stop >= static)
    length = shape_feature(fgraph).length(x, axis)
    return lengths_equal(entry.stop, length) or is_shape_i_of(entry.stop, x, axis)


@node_rewriter([Subtensor])
def local_useless_subtensor(fgraph, node):
    """``x[:]``, ``x[0:n, ::1]`` with ``n`` the length of ``x`` → ``x``."""
    x, *index_inputs = node.inputs
    idx_list = node.op.idx_list
    if not all(isinstance(e, IndexSlice) for e in idx_list):
        return None
    index = fill_entries(idx_list, iter(index_inputs))
    for axis, entry in enumerate(index):
        if not _is_full_slice(fgraph, x, axis, entry):
            return None
    return [x]


# ---- alloc and fill --------------------------------------------------------------------------
@node_rewriter([Alloc])
def local_useless_alloc(fgraph, node):
    """``alloc(v, *shape)`` → ``v`` when ``v`` already has the output's broadcast pattern
    (a leading length-1 axis the output adds becomes a ``dimshuffle``)."""
    value = node.inputs[0]
    out = node.outputs[0]
    extra = out.ndim - value.ndim
    if not all(out.broadcastable[:extra]):
        return None
    if value.broadcastable != out.broadcastable[extra:]:
        return None
    new = pad_left(value, out.ndim)
    return [new] if _replaceable(out, new) else None


@node_rewriter([Alloc])
def local_alloc_alloc(fgraph, node):
    """``alloc(alloc(v, *s1), *s2)`` → ``alloc(v, *s2)``."""
    inner = node.inputs[0]
    if inner.owner is None or not isinstance(inner.owner.op, Alloc):
        return None
    new = node.op(inner.owner.inputs[0], *node.inputs[1:])
    return [new] if _replaceable(node.outputs[0], new) else None


@node_rewriter([Elemwise])
def local_fill_to_alloc(fgraph, node):
    """``fill(s, v)`` → ``v`` when ``v`` has the output's broadcast pattern, else
    ``alloc(v, *shape)``: the shape comes from the shape feature, not from ``s``'s value."""
    if not isinstance(node.op.scalar_op, scalar_math.Second):
        return None
    _, value = node.inputs
    out = node.outputs[0]
    if value.broadcastable == out.broadcastable:
        return [value] if _replaceable(out, value) else None
    new = Alloc()(value, *shape_feature(fgraph).shape_of(out))
    return [new] if keeps_type(out, new) else None


def _filled_value(variable: Variable) -> Variable | None:
    """The value that an ``alloc`` or a ``fill`` broadcasts, padded to its output's ndim."""
    node = variable.owner
    if node is None:
        return None
    if isinstance(node.op, Alloc):
        return pad_left(node.inputs[0], variable.ndim)
    if elemwise_of(variable, scalar_math.Second):
        return node.inputs[1]
    return None


@node_rewriter([Elemwise])
def local_elemwise_alloc(fgraph, node):
    """An input made by ``alloc``/``fill`` → its value, when the other inputs already give the
    output its shape: ``fill(s, -1) * (1 - y)`` → ``-1 * (1 - y)``."""
    if len(node.inputs) < 2:
        return None
    inputs = list(node.inputs)
    changed = False
    for position, variable in enumerate(node.inputs):
        value = _filled_value(variable)
        if value is None:
            continue
        trial = inputs[:position] + [value] + inputs[position + 1 :]
        if covered_by_value(inputs, trial, position):
            inputs = trial
            changed = True
    if not changed:
        return None
    new = node.op(*inputs)
    new = new if isinstance(new, list) else [new]
    if not all(keeps_type(old, n) for old, n in zip(node.outputs, new)):
        return None
    return new


def covered_by_value(inputs: list[Variable], trial: list[Variable], position: int) -> bool:
    """Whether replacing input ``position`` by the broadcastable-er ``trial[position]`` keeps
    every length: each axis it stops giving is given by another input."""
    before, after = inputs[position], trial[position]
    return all(
        any(not other.broadcastable[axis] for j, other in enumerate(trial) if j != position)
        for axis in range(before.ndim)
        if not before.broadcastable[axis] and after.broadcastable[axis]
    )


@node_rewriter([Elemwise])
def local_elemwise_of_alloc(fgraph, node):
    """``f(alloc(v, *shape), c)`` → ``alloc(f(v, c), *shape)`` when the other inputs are
    broadcastable everywhere: ``f`` runs on the small value."""
    if len(node.outputs) != 1:
        return None
    allocs = [v for v in node.inputs if v.owner is not None and isinstance(v.owner.op, Alloc)]
    if len(allocs) != 1 or len(fgraph.clients.get(allocs[0], ())) != 1:
        return None
    (allocated,) = allocs
    if not all(all(v.broadcastable) for v in node.inputs if v is not allocated):
        return None
    value = pad_left(allocated.owner.inputs[0], allocated.ndim)
    computed = node.op(*(value if v is allocated else v for v in node.inputs))
    new = Alloc()(computed, *allocated.owner.inputs[1:])
    return [new] if keeps_type(node.outputs[0], new) else None


canonicalize.register(
    "local_useless_dimshuffle", local_useless_dimshuffle, "fast_run", "fast_compile", "shape"
)
canonicalize.register(
    "local_dimshuffle_dimshuffle", local_dimshuffle_dimshuffle, "fast_run", "fast_compile", "shape"
)
canonicalize.register("local_useless_cast", local_useless_cast, "fast_run", "fast_compile")
canonicalize.register("local_useless_reshape", local_useless_reshape, "fast_run", "shape")
canonicalize.register("local_reshape_chain", local_reshape_chain, "fast_run", "shape")
canonicalize.register("local_useless_subtensor", local_useless_subtensor, "fast_run", "shape")
canonicalize.register("local_useless_alloc", local_useless_alloc, "fast_run", "shape")
canonicalize.register("local_alloc_alloc", local_alloc_alloc, "fast_run", "shape")
canonicalize.register("local_fill_to_alloc", local_fill_to_alloc, "fast_run", "shape")
canonicalize.register("local_elemwise_alloc", local_elemwise_alloc, "fast_run", "shape")
canonicalize.register("local_elemwise_of_alloc", local_elemwise_of_alloc, "fast_run", "shape")
