"""A hidden layer whose weight matrix has the wrong number of rows (found at run time)."""

# EXPECT-ERROR: ValueError
# EXPECT: (4, 3)
# EXPECT: (5, 2)
import numpy as np

import arignote as theano
import arignote.tensor as T

x = T.matrix("x")
W = T.matrix("W")
b = T.vector("b")
hidden = T.tanh(x.dot(W) + b)  # ERROR-LINE
layer = theano.function([x, W, b], hidden)
layer(np.ones((4, 3)), np.ones((5, 2)), np.zeros(2))
