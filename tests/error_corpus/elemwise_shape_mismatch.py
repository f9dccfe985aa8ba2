"""A regression whose predictions and targets have different lengths (found at run time)."""

# EXPECT-ERROR: ValueError
# EXPECT: (4,)
# EXPECT: (5,)
import numpy as np

import arignote as theano
import arignote.tensor as T

X = T.matrix("X")
y = T.vector("y")
w = T.vector("w")
prediction = X.dot(w)
residual = prediction - y  # ERROR-LINE
cost = (residual**2).mean()
train_cost = theano.function([X, w, y], cost)
train_cost(np.ones((4, 3)), np.ones(3), np.ones(5))
