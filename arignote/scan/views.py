"""``map``, ``reduce``, ``foldl`` and ``foldr``: common loops written with ``scan``.

As in Theano, ``reduce`` (and the folds) return only the last step of each
output; the loop that computes it keeps only that step in memory once the
scan rewrites have run (``scan_save_mem``).
"""

from __future__ import annotations

from typing import Any

from arignote.scan.builder import scan


def map(
    fn,
    sequences,
    non_sequences=None,
    truncate_gradient=-1,
    go_backwards=False,
    mode=None,
    name=None,
):
    """``fn`` applied to each entry of ``sequences``; returns ``(outputs, updates)``.

    >>> import arignote.tensor as T
    >>> x = T.vector("x")
    >>> squares, _ = map(lambda v: v ** 2, x)
    >>> squares.eval({x: [1.0, 2.0, 3.0]})
    array([1., 4., 9.])
    """
    return scan(
        fn,
        sequences=sequences,
        outputs_info=None,
        non_sequences=non_sequences,
        truncate_gradient=truncate_gradient,
        go_backwards=go_backwards,
        mode=mode,
        name=name,
    )


def reduce(
    fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None, name=None
):
    """The last step of the loop ``scan(fn, sequences, outputs_info, ...)``, and its updates.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x")
    >>> total, _ = reduce(lambda v, acc: acc + v, x, np.float64(0.0))
    >>> float(total.eval({x: [1.0, 2.0, 3.0]}))
    6.0
    """
    outputs, updates = scan(
        fn,
        sequences=sequences,
        outputs_info=outputs_info,
        non_sequences=non_sequences,
        go_backwards=go_backwards,
        mode=mode,
        name=name,
        return_list=True,
    )
    last = [output[-1] for output in outputs]
    return (last[0] if len(last) == 1 else last), updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``reduce`` from the first entry to the last."""
    return reduce(
        fn, sequences, outputs_info, non_sequences, go_backwards=False, mode=mode, name=name
    )


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``reduce`` from the last entry to the first.

    >>> import numpy as np, arignote.tensor as T
    >>> x = T.vector("x")
    >>> digits, _ = foldr(lambda v, acc: acc * 10 + v, x, np.float64(0.0))
    >>> float(digits.eval({x: [1.0, 2.0, 3.0]}))
    321.0
    """
    return reduce(
        fn, sequences, outputs_info, non_sequences, go_backwards=True, mode=mode, name=name
    )


__all__: list[Any] = ["foldl", "foldr", "map", "reduce"]
