"""``theano.tensor.nnet``: neural-network activations and losses.

Activations (``activations``) are composites of elementwise ops; ``sigmoid``
and ``softplus`` are the scalar ops of ``arignote.tensor.math``. Softmax and
log-softmax (``softmax``) and two cross-entropies (``crossentropy``) are ops
of their own, for stability or for picking one entry per row.
Convolutions (``abstract_conv``, the old ``conv``), batch normalization
(``bn``) and ``neighbours`` are submodules, their main names re-exported.
"""

from arignote.tensor.math import sigmoid, softplus
from arignote.tensor.nnet import abstract_conv, bn, conv, neighbours
from arignote.tensor.nnet.abstract_conv import conv2d, conv2d_transpose, conv3d
from arignote.tensor.nnet.activations import (
    elu,
    hard_sigmoid,
    relu,
    selu,
    softsign,
    ultra_fast_sigmoid,
)
from arignote.tensor.nnet.bn import batch_normalization
from arignote.tensor.nnet.crossentropy import (
    CrossentropyCategorical1Hot,
    CrossentropySoftmaxArgmax1HotWithBias,
    binary_crossentropy,
    categorical_crossentropy,
    crossentropy_categorical_1hot,
    crossentropy_softmax_1hot,
    crossentropy_softmax_1hot_with_bias,
    crossentropy_softmax_argmax_1hot_with_bias,
    sigmoid_binary_crossentropy,
)
from arignote.tensor.nnet.neighbours import images2neibs, neibs2images
from arignote.tensor.nnet.softmax import (
    LogSoftmax,
    Softmax,
    h_softmax,
    log_softmax,
    logsoftmax,
    softmax,
)

__all__ = [
    "CrossentropyCategorical1Hot",
    "CrossentropySoftmaxArgmax1HotWithBias",
    "LogSoftmax",
    "Softmax",
    "abstract_conv",
    "batch_normalization",
    "binary_crossentropy",
    "bn",
    "categorical_crossentropy",
    "conv",
    "conv2d",
    "conv2d_transpose",
    "conv3d",
    "crossentropy_categorical_1hot",
    "crossentropy_softmax_1hot",
    "crossentropy_softmax_1hot_with_bias",
    "crossentropy_softmax_argmax_1hot_with_bias",
    "elu",
    "h_softmax",
    "hard_sigmoid",
    "images2neibs",
    "log_softmax",
    "logsoftmax",
    "neibs2images",
    "neighbours",
    "relu",
    "selu",
    "sigmoid",
    "sigmoid_binary_crossentropy",
    "softmax",
    "softplus",
    "softsign",
    "ultra_fast_sigmoid",
]
