"""``theano.tensor.nnet``: neural-network activations and losses."""

from arignote.tensor.math import sigmoid, softplus
from arignote.tensor.nnet.softmax import softmax

__all__ = ["sigmoid", "softmax", "softplus"]
