"""A function of two inputs called with one."""

# EXPECT-ERROR: TypeError
# EXPECT: missing input 1 ('y')
# EXPECT: TensorType(float64, vector)
import numpy as np

import arignote as theano
import arignote.tensor as T

x = T.vector("x")
y = T.vector("y")
distance = theano.function([x, y], T.sqrt(((x - y) ** 2).sum()))
distance(np.ones(3))  # ERROR-LINE
