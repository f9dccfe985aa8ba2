"""A product of tensors whose declared inner lengths differ (found when the graph is built)."""

# EXPECT-ERROR: ValueError
# EXPECT: (8, 4)
# EXPECT: (5, 2)
import arignote.tensor as T

x = T.tensor("float64", shape=(8, 4), name="x")
W = T.tensor("float64", shape=(5, 2), name="W")
hidden = x.dot(W)  # ERROR-LINE
