"""``theano.tensor``: symbolic tensors, their types and the op catalogue."""

from arignote.gradient import Lop, Rop, consider_constant, grad, hessian, jacobian, verify_grad
from arignote.tensor.alloc import *  # noqa: F403
from arignote.tensor.basic import (
    NotScalarConstantError,
    as_tensor,
    as_tensor_variable,
    cast,
    constant,
    get_scalar_constant_value,
)
from arignote.tensor.constructors import *  # noqa: F403
from arignote.tensor.elemwise import DimShuffle, Elemwise
from arignote.tensor.join import *  # noqa: F403
from arignote.tensor.math import *  # noqa: F403
from arignote.tensor.math import abs, pow, round  # noqa: A004  (Theano's names)
from arignote.tensor.products import *  # noqa: F403
from arignote.tensor.reduction import *  # noqa: F403
from arignote.tensor.type import TensorType, tensor
from arignote.tensor.variable import TensorConstant, TensorVariable
from arignote.tensor.shape import (
    MakeVector,
    Rebroadcast,
    Reshape,
    Shape,
    Shape_i,
    SpecifyShape,
    addbroadcast,
    expand_dims,
    flatten,
    patternbroadcast,
    ravel,
    reshape,
    shape,
    shape_i,
    shape_padaxis,
    shape_padleft,
    shape_padright,
    specify_shape,
    squeeze,
    swapaxes,
    transpose,
    unbroadcast,
)
from arignote.tensor.rearrange import *  # noqa: F403
from arignote.tensor.subtensor import IncSubtensor, Nonzero, Subtensor, inc_subtensor, nonzero, set_subtensor  # noqa: E501
from arignote.tensor.advanced_subtensor import *  # noqa: F403  (after math: its `where` wins)
from arignote.tensor import nnet  # T.nnet, as in Theano
from arignote.tensor.extra_ops import (  # the names Theano's tensor re-exported
    bartlett,
    bincount,
    cumprod,
    cumsum,
    fill_diagonal,
    fill_diagonal_offset,
    ravel_multi_index,
    unravel_index,
)
from arignote.tensor.sort import argsort, argtopk, sort, topk, topk_and_argtopk
from arignote.tensor import random  # noqa: F401  (T.random; shared_randomstreams needs compile)
from arignote.tensor import nlinalg, slinalg  # noqa: F401  (T.nlinalg, T.slinalg)
from arignote.tensor.assertions import Assert, CheckAndRaise, assert_op
