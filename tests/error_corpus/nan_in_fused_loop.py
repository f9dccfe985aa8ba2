"""A total log-likelihood of a negative probability: the log runs fused with the sum."""
# EXPECT: NaN
# EXPECT: log
import numpy as np

import arignote as theano
import arignote.tensor as T
from arignote.compile.nanguardmode import NanGuardMode

p = T.vector("p")
loglik = T.log(p)  # ERROR-LINE
total = loglik.sum()
guard = NanGuardMode(nan_is_error=True, inf_is_error=True, big_is_error=True)
f = theano.function([p], total, mode=guard)
f(np.array([0.5, -0.25, 0.25]))
