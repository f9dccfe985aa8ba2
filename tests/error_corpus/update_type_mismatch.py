"""An SGD update of a float32 parameter that comes out float64 (found when compiling)."""

# EXPECT-ERROR: TypeError
# EXPECT: shared variable 'w'
# EXPECT: TensorType(float32, vector)
# EXPECT: TensorType(float64, vector)
# EXPECT: T.cast(new_value, 'float32')
import numpy as np

import arignote as theano
import arignote.tensor as T

w = theano.shared(np.zeros(3, dtype="float32"), name="w")
x = T.vector("x")  # float64: config.floatX is float64
cost = ((x - w) ** 2).sum()
step = theano.function([x], cost, updates=[(w, w - 0.1 * T.grad(cost, w))])  # ERROR-LINE
