"""Exercise 8.5 calling the package's `topological_order` (the review: not switched off)."""

from dlbook.autograd import topological_order
from tests.wrong_solutions._engine import run_backward, same_device_zeros

SET = "ex08_backprop"
TESTS = ["test_gradients"]
MATCH = "topological_order"


def gradients(output, inputs, grad=None):  # type: ignore[no-untyped-def]
    return run_backward(output, inputs, grad, topological_order(output), same_device_zeros)
