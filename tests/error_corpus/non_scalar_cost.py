"""A gradient of a per-example loss that was never summed."""

# EXPECT-ERROR: TypeError
# EXPECT: must be a scalar
# EXPECT: TensorType(float64, vector)
import arignote.tensor as T

x = T.matrix("x")
w = T.vector("w")
per_example = (x.dot(w) - 1) ** 2
gw = T.grad(per_example, w)  # ERROR-LINE
