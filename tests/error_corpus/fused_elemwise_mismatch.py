"""Two signals of different lengths subtracted inside a fused elementwise loop (run time)."""

# EXPECT-ERROR: ValueError
# EXPECT: (4,)
# EXPECT: (5,)
import numpy as np

import arignote as theano
import arignote.tensor as T

signal = T.vector("signal")
reference = T.vector("reference")
error = signal - reference  # ERROR-LINE
mse = (error**2).mean()
compare = theano.function([signal, reference], mse)
compare(np.ones(4), np.ones(5))
