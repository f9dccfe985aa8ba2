"""``theano.sandbox``: what legacy code imports from there (``rng_mrg``)."""
