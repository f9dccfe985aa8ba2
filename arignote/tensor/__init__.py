"""``theano.tensor``: symbolic tensors, their types and the op catalogue."""

from arignote.gradient import grad
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
    Reshape,
    Shape,
    Shape_i,
    SpecifyShape,
    flatten,
    reshape,
    shape,
    shape_i,
    specify_shape,
    transpose,
)
from arignote.tensor.subtensor import IncSubtensor, Nonzero, Subtensor, inc_subtensor, nonzero, set_subtensor  # noqa: E501
