"""A scan step that adds a slice of the wrong length to its running total."""

# EXPECT-ERROR: ValueError
# EXPECT: (3,)
# EXPECT: (2,)
import numpy as np

import arignote as theano
import arignote.tensor as T

rows = T.matrix("rows")


def accumulate(row, total):
    return total + row[:2]  # ERROR-LINE


totals, _ = theano.scan(accumulate, sequences=[rows], outputs_info=[T.zeros(3)])
running = theano.function([rows], totals[-1])
running(np.ones((4, 3)))
