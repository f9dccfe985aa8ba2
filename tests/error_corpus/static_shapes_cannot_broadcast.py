"""Two tensors whose declared shapes cannot broadcast (found when the graph is built)."""

# EXPECT-ERROR: ValueError
# EXPECT: (3, 4)
# EXPECT: (5, 4)
import arignote.tensor as T

a = T.tensor("float64", shape=(3, 4), name="a")
b = T.tensor("float64", shape=(5, 4), name="b")
total = a + b  # ERROR-LINE
