"""``theano.scan_module``: where Theano code finds ``until`` (and ``scan``).

>>> from arignote.scan_module import scan, until
>>> import arignote.tensor as T
>>> counts, _ = scan(lambda c: (c + 1, until(c + 1 >= 3)), outputs_info=T.constant(0, dtype="int64"), n_steps=10)
>>> counts.eval()
array([1, 2, 3])
"""

from arignote.scan.builder import scan
from arignote.scan.op import Scan
from arignote.scan.utils import until

__all__ = ["Scan", "scan", "until"]
