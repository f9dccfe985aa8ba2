"""``theano.tensor.signal``: pooling (``pool``) and the old signal-processing ``conv``."""
