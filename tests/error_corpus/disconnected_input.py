"""A gradient with respect to a bias that the cost forgot to use."""

# EXPECT-ERROR: DisconnectedInputError
# EXPECT: name='b'
# EXPECT: does not depend on
# EXPECT: disconnected_inputs='ignore'
import arignote.tensor as T

x = T.matrix("x")
w = T.vector("w")
b = T.scalar("b")
cost = ((x.dot(w) - 1) ** 2).sum()
gw, gb = T.grad(cost, [w, b])  # ERROR-LINE
