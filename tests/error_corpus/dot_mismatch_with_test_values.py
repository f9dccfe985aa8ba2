"""With test values on, a dot of mismatched inputs fails at the line that builds it."""

# EXPECT-ERROR: ValueError
# EXPECT: (8, 4)
# EXPECT: (5, 2)
import numpy as np

import arignote as theano
import arignote.tensor as T

theano.config.compute_test_value = "raise"
x = T.matrix("x")
x.tag.test_value = np.ones((8, 4))
W = T.matrix("W")
W.tag.test_value = np.ones((5, 2))
hidden = T.tanh(x.dot(W))  # ERROR-LINE
output = hidden.sum()
