"""A batch of images flattened to the wrong number of features."""

# EXPECT-ERROR: ValueError
# EXPECT: (2, 3, 4)
# EXPECT: 10
import numpy as np

import arignote as theano
import arignote.tensor as T

images = T.tensor3("images")
flat = images.reshape((images.shape[0], 10))  # ERROR-LINE
features = theano.function([images], flat.sum(axis=1))
features(np.ones((2, 3, 4)))
