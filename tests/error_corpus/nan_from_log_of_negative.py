"""Per-item and total log-likelihoods, one of a negative probability: NanGuardMode stops it."""
# EXPECT: NaN
# EXPECT: log
# EXPECT: min -0.25
import numpy as np

import arignote as theano
import arignote.tensor as T
from arignote.compile.nanguardmode import NanGuardMode

p = T.vector("p")
loglik = T.log(p)  # ERROR-LINE
guard = NanGuardMode(nan_is_error=True, inf_is_error=True, big_is_error=True)
f = theano.function([p], [loglik, loglik.sum()], mode=guard)
f(np.array([0.5, -0.25, 0.25]))
