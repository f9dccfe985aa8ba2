"""A matrix input given a vector."""

# EXPECT-ERROR: TypeError
# EXPECT: input 0 ('images')
# EXPECT: expected 2
# EXPECT: (6,)
import numpy as np

import arignote as theano
import arignote.tensor as T

images = T.matrix("images")
brightness = theano.function([images], images.mean(axis=1))
brightness(np.ones(6))  # ERROR-LINE
