"""Scalar types and ops: the bodies of elementwise tensor ops (see ``basic``)."""

from arignote.scalar.basic import *  # noqa: F403  (basic first: math imports it)
from arignote.scalar.math import *  # noqa: F403
from arignote.scalar.special import *  # noqa: F403
