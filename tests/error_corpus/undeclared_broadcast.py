"""A bias passed as a (1, n) array to an input declared as a full matrix."""

# EXPECT-ERROR: ValueError
# EXPECT: (1, 3)
# EXPECT: (4, 3)
# EXPECT: T.row
import numpy as np

import arignote as theano
import arignote.tensor as T

x = T.matrix("x")
bias = T.matrix("bias")  # should be T.row("bias"): it is broadcast over the rows
shifted = x + bias  # ERROR-LINE
shift = theano.function([x, bias], shifted)
shift(np.ones((4, 3)), np.zeros((1, 3)))
