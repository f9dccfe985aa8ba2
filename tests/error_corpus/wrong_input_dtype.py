"""A float32 input given a float64 array, without allow_input_downcast."""

# EXPECT-ERROR: TypeError
# EXPECT: input 0 ('x')
# EXPECT: float32
# EXPECT: float64
# EXPECT: allow_input_downcast
import numpy as np

import arignote as theano
import arignote.tensor as T

x = T.fmatrix("x")
double = theano.function([x], 2 * x)
double(np.random.default_rng(0).normal(size=(2, 3)))  # ERROR-LINE
