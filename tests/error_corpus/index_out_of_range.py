"""The last element of a sequence, read one past its end."""

# EXPECT-ERROR: IndexError
# EXPECT: index 3
# EXPECT: length 3
import numpy as np

import arignote as theano
import arignote.tensor as T

seq = T.vector("seq")
n = T.iscalar("n")
last = seq[n] * 2  # ERROR-LINE
read = theano.function([seq, n], last)
read(np.arange(3.0), 3)
