"""A float32 parameter reset with a float64 array."""

# EXPECT-ERROR: TypeError
# EXPECT: 'w'
# EXPECT: float32
# EXPECT: float64
import numpy as np

import arignote as theano

w = theano.shared(np.zeros(3, dtype="float32"), name="w")
w.set_value(np.random.default_rng(0).normal(size=3))  # ERROR-LINE
